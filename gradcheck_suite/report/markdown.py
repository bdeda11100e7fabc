"""``summary.md``: the status of a run for a CI job summary or a pull-request comment.

Status first (one heading a reader can stop at: the verdict the process returned, with
its exit code — under ``--fail-on-regression`` that is the baseline's verdict, not the
table's), then the baseline comparison, a table of the failures and errors, then
everything else folded inside ``<details>``.  The text is kept under
:data:`MAX_BYTES` (GitHub refuses job summaries over 1 MiB): rows that do not fit are
dropped with a note saying how many and where to find them.  Every cell is escaped
(:func:`~gradcheck_suite.untrusted.markdown_text`): no link, image, mention, inline HTML or
emphasis can form — a case named ``__dunder__`` stays ``__dunder__``.
"""
from __future__ import annotations

from ..contract import EXIT_ERROR, EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK
from ..gate import verdict_of
from ..untrusted import markdown_text
from .results import Report, cell_text, status_counts

__all__ = ["render_markdown", "MAX_BYTES"]

#: size limit of the summary (GitHub's job-summary limit is 1 MiB; keep a margin)
MAX_BYTES = 1_000_000

#: the heading's icon by exit code
_ICON = {EXIT_OK: "✅", EXIT_FAIL: "❌", EXIT_ERROR: "💥", EXIT_INTERRUPTED: "⚠️"}
_PROBLEM_COLUMNS = ("status", "case", "dtype", "input", "check", "max_abs_err", "max_rel_err",
                    "worst_index", "message")
_ALL_COLUMNS = ("case", "dtype", "input", "check", "status", "max_abs_err", "max_rel_err",
                "atol", "rtol", "method")


def _cell(value: object, column: str = "") -> str:
    if column in ("max_abs_err", "max_rel_err", "atol", "rtol") and isinstance(value, float):
        text = "" if value != value else f"{value:.3g}"
    else:
        text = cell_text(value)
    return markdown_text(text)  # no link, image, mention, HTML or broken table from a case file


def _row(values: list[str]) -> str:
    return "| " + " | ".join(values) + " |\n"


def _rows(table, columns: tuple[str, ...]):
    """The table's rows as Markdown lines, one at a time (column by column, no row objects; a cell
    that repeats — a case, a check, a status — is escaped once)."""
    seen: dict[tuple, str] = {}

    def cell(value: object, column: str) -> str:
        key = (column, type(value), value)  # the type: 1, 1.0 and True are equal keys, not equal cells
        try:
            return seen[key]
        except KeyError:
            text = seen[key] = _cell(value, column)
            return text
        except TypeError:  # unhashable (a list)
            return _cell(value, column)

    for values in zip(*(table[c].tolist() for c in columns)):
        yield _row([cell(v, c) for v, c in zip(values, columns)])


def _header(columns: tuple[str, ...]) -> str:
    return _row(list(columns)) + _row(["---"] * len(columns))


def status_line(report: Report) -> str:
    """The first line: the run's verdict (as the exit code says) and the number of checks."""
    verdict = verdict_of(report)
    total = len(report.table)
    icon = _ICON.get(verdict.exit_code, _ICON[EXIT_ERROR])
    return f"## {icon} gradcheck-suite: {_cell(verdict.headline)} ({total} checks)\n"


def render_markdown(report: Report, max_bytes: int = MAX_BYTES) -> str:
    """The Markdown summary, at most ``max_bytes`` bytes of UTF-8."""
    table = report.table
    counts = status_counts(table)
    head = [status_line(report), "\n"]
    if report.incomplete:
        head.append("> **Incomplete run** — interrupted before every case finished; "
                    "only the finished cases are reported.\n\n")
    verdict = verdict_of(report)
    rule = " (`--fail-on-regression`: only regressions against the baseline fail the gate)" \
        if verdict.fail_on_regression else ""
    head.append(f"exit code **{verdict.exit_code}**{rule}\n\n")
    head.append(" · ".join(f"{s} **{n}**" for s, n in counts.items()) + "\n\n")
    if verdict.baseline:
        head.append("### Against the baseline\n\n" + "".join(f"- {_cell(line)}\n" for line in verdict.baseline)
                    + "\n")
    meta = report.meta
    facts = [f"seed `{_cell(meta.get('seed', ''))}`", f"{table.loc[table['case'] != '', 'case'].nunique()} case(s)"]
    versions = dict(meta.get("versions", {}))
    facts += [f"{_cell(k)} {_cell(v)}" for k, v in versions.items()]
    head.append(", ".join(facts) + "\n\n")

    writer = _Budget(max_bytes - 2000)  # room for the forced structure and notes
    writer.force("".join(head))
    problems = table[table["status"].isin(["fail", "error"])]
    if len(problems):
        writer.force("### Failures and errors\n\n" + _header(_PROBLEM_COLUMNS))
        shown = writer.add_rows(_rows(problems, _PROBLEM_COLUMNS))
        if shown < len(problems):
            writer.force(f"\n*{len(problems) - shown} more failure/error rows not shown "
                         "(size limit); see results.csv.*\n")
        writer.force("\n")
    writer.force(f"<details><summary>All {len(table)} checks</summary>\n\n" + _header(_ALL_COLUMNS))
    shown = writer.add_rows(_rows(table, _ALL_COLUMNS))
    if shown < len(table):
        writer.force(f"\n*{len(table) - shown} more rows not shown (summary kept under "
                     f"{max_bytes // 1000} kB); see results.csv.*\n")
    writer.force("\n</details>\n")
    return writer.text()


class _Budget:
    """Collects text while it fits in a byte budget; ``force`` always appends (notes)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.full = False

    def add(self, text: str) -> bool:
        n = len(text.encode("utf-8"))
        if self.full or self.size + n > self.limit:
            self.full = True
            return False
        self.parts.append(text)
        self.size += n
        return True

    def add_rows(self, rows) -> int:
        count = 0
        for row in rows:
            if not self.add(row):
                break
            count += 1
        return count

    def force(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text.encode("utf-8"))

    def text(self) -> str:
        return "".join(self.parts)

