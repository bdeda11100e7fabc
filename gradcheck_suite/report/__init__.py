"""Renderers of the results table: CSV, HTML, JUnit XML, Markdown, JSON and the terminal.

Every renderer reads one :class:`~gradcheck_suite.report.results.Report` (the harness
table, the parsed cases, the small arrays, the run's metadata) and returns text;
:func:`write_reports` writes the files as one set, atomically.  No renderer computes a gradient.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..contract import ANSWER_KEY_DIR, ANSWER_KEY_FILE, FORMAT_FILES, FORMATS as FORMAT_NAMES
from ..errors import GradcheckError
from .atomic import append_text, write_set

if TYPE_CHECKING:  # imported on first use at run time (see _LAZY)
    from .results import Report

__all__ = [
    "FORMATS", "Report", "COLUMNS", "STATUSES", "write_reports", "exit_code", "status_counts",
    "render_csv", "render_html", "render_json", "render_junit", "render_markdown",
    "render_summary", "progress_bar", "ReportWriteError",
]

#: the names this package offers, and the module of the package each comes from: imported on first
#: use (PEP 562), so that a worker process that imports the modules building each case's parts of the
#: HTML pages (:class:`~gradcheck_suite.report.pages.CasePages`) does not import every renderer and
#: pandas with them (0.3 s of CPU in each worker)
_LAZY = {
    "Report": "results", "COLUMNS": "results", "STATUSES": "results", "exit_code": "results",
    "status_counts": "results", "render_csv": "csv", "render_html": "html", "render_json": "json",
    "render_junit": "junit", "render_markdown": "markdown", "render_summary": "terminal",
    "progress_bar": "terminal", "render_answer_key": "answer_key", "ELEMENT_LIMIT": "html",
}
#: format name (as ``--format`` spells it) → the renderer's name in :data:`_LAZY`
_RENDERERS = {"csv": "render_csv", "html": "render_html", "junit": "render_junit", "md": "render_markdown",
              "json": "render_json"}


def __getattr__(name: str) -> Any:
    if name == "FORMATS":
        value: Any = _formats()
    elif name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def _formats() -> dict[str, tuple[str, Callable[[Report], str]]]:
    """Format name (as ``--format`` spells it) → (file name, renderer): the package's ``FORMATS``."""
    return {f: (FORMAT_FILES[f], __getattr__(_RENDERERS[f])) for f in FORMAT_NAMES}


def write_reports(report: Report, out_dir: str | os.PathLike, formats: Iterable[str] = FORMAT_NAMES, *,
                  element_limit: int | None = None, answer_key: bool = True) -> list[Path]:
    """Write the requested reports into ``out_dir`` (created if needed) as one set; returns their paths.

    Every report is rendered first, then all are written together (:func:`write_set`):
    the folder holds the complete old set or the complete new one, and reports of formats
    not asked for this time are removed, so no file of another run is left beside them.
    Raises :class:`ReportWriteError` (the old set untouched) when they cannot be written.
    With ``md`` among the formats and ``$GITHUB_STEP_SUMMARY`` set, the summary is also
    appended to that file.  With ``html`` (and ``answer_key``), the answer key is written
    beside ``report.html``: ``answer-key.html`` (the index) and ``answer-key/CASE.html``,
    one page per case, which report.html's cards link to.
    """
    from .answer_key import render_answer_key
    from .html import ELEMENT_LIMIT, render_html

    table = _formats()
    files: dict[str, str] = {}
    for name in formats:
        file_name, render = table[name]
        if name == "html":
            if answer_key:
                files.update(render_answer_key(report))
            files[file_name] = render_html(report, ELEMENT_LIMIT if element_limit is None else element_limit,
                                           answer_key=answer_key)
        else:
            files[file_name] = render(report)
    every = [f for f, _ in table.values()] + [ANSWER_KEY_FILE, ANSWER_KEY_DIR]
    try:
        written = write_set(out_dir, files, stale=every)
    except OSError as exc:
        raise ReportWriteError(f"cannot write the reports ({exc.strerror or exc}); the reports already there "
                               "were left as they were", file=str(out_dir)) from None
    if "md" in formats and os.environ.get("GITHUB_STEP_SUMMARY"):
        append_text(os.environ["GITHUB_STEP_SUMMARY"], files[table["md"][0]])
    return written


class ReportWriteError(GradcheckError):
    """The reports could not be written (a full disk, a folder that went away)."""
