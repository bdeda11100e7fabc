"""``results.csv``: the harness table, long format, one row per check.

Columns are exactly :data:`~gradcheck_suite.report.results.COLUMNS`, in that order.
Floats are written in shortest round-trip form (``repr``), so two runs with the same
seed give byte-identical files except the ``time_*`` columns.  An empty cell means
"not applicable or not a number" (a row that could not be evaluated has no errors to
report; a non-finite gradient is an ``error`` row whose message says so); infinities
are written ``inf``/``-inf``.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return) as a formula, so such a *text* cell (a file, case or message from a case file:
``=HYPERLINK(...).yaml``) is written with a leading ``'``, as OWASP recommends against CSV
injection; :func:`restore` takes it off again (the baseline reader uses it).  Number
columns are never touched (``-0.5`` stays a number).
"""
from __future__ import annotations

import csv
import io

from .results import COLUMNS, FLOAT_COLUMNS, Report, cell_text, number_text

__all__ = ["render_csv", "neutralise", "restore", "FORMULA_STARTS"]

#: the first characters that make a spreadsheet read a cell as a formula (OWASP), and the quote itself
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def render_csv(report: Report) -> str:
    """The CSV text of the table."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(zip(*(_column(report.table[col].tolist(), col) for col in COLUMNS)))
    return buf.getvalue()


def _column(values: list, column: str) -> list[str]:
    """One column's cells, formatted column by column (no row objects)."""
    if column in FLOAT_COLUMNS:
        return [number_text(v) if v == v else "" for v in values]  # NaN: ""
    return [neutralise(v if type(v) is str else cell_text(v)) for v in values]


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it: a leading ``'`` before a formula start
    (and before a leading ``'``, so that :func:`restore` is exact)."""
    return "'" + text if text.startswith(FORMULA_STARTS + ("'",)) else text


def restore(text: str) -> str:
    """The text :func:`neutralise` was given."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS + ("'",)) else text
