"""Renderers of the results table: CSV, HTML, JUnit XML, Markdown, JSON and the terminal.

Every renderer reads one :class:`~gradcheck_suite.report.results.Report` (the harness
table, the parsed cases, the small arrays, the run's metadata) and returns text;
:func:`write_reports` writes the files as one set, atomically.  No renderer computes a gradient.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

from ..contract import ANSWER_KEY_DIR, ANSWER_KEY_FILE, FORMAT_FILES, FORMATS as FORMAT_NAMES
from .answer_key import render_answer_key
from ..errors import GradcheckError
from .atomic import append_text, write_set
from .csv import render_csv
from .html import ELEMENT_LIMIT, render_html
from .json import render_json
from .junit import render_junit
from .markdown import render_markdown
from .results import COLUMNS, STATUSES, Report, exit_code, status_counts
from .terminal import progress_bar, render_summary

__all__ = [
    "FORMATS", "Report", "COLUMNS", "STATUSES", "write_reports", "exit_code", "status_counts",
    "render_csv", "render_html", "render_json", "render_junit", "render_markdown",
    "render_summary", "progress_bar", "ReportWriteError",
]

#: format name (as ``--format`` spells it) → (file name, renderer)
_RENDERERS: dict[str, Callable[[Report], str]] = {
    "csv": render_csv, "html": render_html, "junit": render_junit, "md": render_markdown, "json": render_json,
}
FORMATS: dict[str, tuple[str, Callable[[Report], str]]] = {name: (FORMAT_FILES[name], _RENDERERS[name])
                                                           for name in FORMAT_NAMES}


def write_reports(report: Report, out_dir: str | os.PathLike, formats: Iterable[str] = tuple(FORMATS), *,
                  element_limit: int = ELEMENT_LIMIT, answer_key: bool = True) -> list[Path]:
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
    files: dict[str, str] = {}
    for name in formats:
        file_name, render = FORMATS[name]
        if name == "html":
            if answer_key:
                files.update(render_answer_key(report))
            files[file_name] = render_html(report, element_limit, answer_key=answer_key)
        else:
            files[file_name] = render(report)
    every = [f for f, _ in FORMATS.values()] + [ANSWER_KEY_FILE, ANSWER_KEY_DIR]
    try:
        written = write_set(out_dir, files, stale=every)
    except OSError as exc:
        raise ReportWriteError(f"cannot write the reports ({exc.strerror or exc}); the reports already there "
                               "were left as they were", file=str(out_dir)) from None
    if "md" in formats and os.environ.get("GITHUB_STEP_SUMMARY"):
        append_text(os.environ["GITHUB_STEP_SUMMARY"], files[FORMATS["md"][0]])
    return written


class ReportWriteError(GradcheckError):
    """The reports could not be written (a full disk, a folder that went away)."""
