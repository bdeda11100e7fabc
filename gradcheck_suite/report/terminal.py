"""What a person sees in the terminal: a progress bar while running, then a summary.

The progress bar (rich) is drawn on stderr only when stderr is a terminal; in CI logs
the run is quiet and plain.  The summary goes to stdout: every failure and error with
its message, the baseline comparison, then the status line — counts by status and, when
a baseline was compared, the verdict and the exit code the process returns — then the
paths of the reports written.  Control, invisible and bidirectional characters are
spelt out (``\\x1b``), never printed raw.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence, TextIO

from ..gate import verdict_of
from ..untrusted import path_text, visible
from .junit import check_summary
from .results import Report, status_counts

__all__ = ["render_summary", "progress_bar"]

#: failure/error rows listed in the terminal before "… and N more"
MAX_LISTED = 50


def render_summary(report: Report, paths: Sequence[Path] = (), *, quiet: bool = False) -> str:
    """The end-of-run summary as plain text."""
    table = report.table
    counts = status_counts(table)
    lines = []
    if report.incomplete:
        lines.append("INCOMPLETE: interrupted; only the cases that finished are reported.")
    problems = table[table["status"].isin(["error", "fail"])]
    for n, (_, row) in enumerate(problems.iterrows()):
        if n == MAX_LISTED:
            lines.append(f"… and {len(problems) - MAX_LISTED} more (see the reports)")
            break
        where = f"{row['case']}[{row['dtype']}]" if row["dtype"] else (row["case"] or row["file"])
        # escape sequences and bidi controls are spelt out, never obeyed by the terminal
        lines.append(visible(f"{row['status'].upper():5} {where}: {check_summary(row)}", one_line=True))
    verdict = verdict_of(report)
    lines.extend(verdict.baseline)
    status = "FAILED" if verdict.exit_code else "OK"
    if report.incomplete:
        status = f"INTERRUPTED ({'failed' if counts['fail'] or counts['error'] else 'ok'} so far)"
    tally = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no checks"
    cases = table.loc[table["case"] != "", "case"].nunique()
    # the headline says more than the counts when a baseline decided, or nothing was checked
    said = f"{verdict.headline}; " if verdict.baseline or not len(table) else ""
    lines.append(f"{status}: {tally} ({_plural(len(table), 'check')}, {_plural(cases, 'case')}); "
                 f"{said}exit code {verdict.exit_code}")
    if not quiet:
        lines.extend(f"report: {path_text(p)}" for p in paths)
    return "\n".join(lines) + "\n"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


@contextmanager
def progress_bar(enabled: bool, stream: TextIO | None = None) -> Iterator[Callable[..., None] | None]:
    """A ``progress(done, total, label="")`` callable drawing a bar, or None when disabled.

    Enabled only when asked and the stream (stderr by default) is a terminal.
    """
    stream = stream or sys.stderr
    if not enabled or not stream.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(), console=Console(file=stream),
                   transient=True)
    task = bar.add_task("checking", total=None)

    def update(done: int, total: int | None = None, label: str = "", *_: object, **__: object) -> None:
        bar.update(task, completed=done, total=total, description=str(label or "checking")[:40])

    with bar:
        yield update
