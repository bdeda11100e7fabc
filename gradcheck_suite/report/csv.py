"""``results.csv``: the harness table, long format, one row per check.

Columns are exactly :data:`~gradcheck_suite.report.results.COLUMNS`, in that order.
Floats are written in shortest round-trip form (``repr``), so two runs with the same
seed give byte-identical files except the ``time_*`` columns.  An empty cell means
"not applicable or not a number" (a row that could not be evaluated has no errors to
report; a non-finite gradient is an ``error`` row whose message says so); infinities
are written ``inf``/``-inf``.
"""
from __future__ import annotations

import csv
import io

from .results import COLUMNS, FLOAT_COLUMNS, Report, cell_text, number_text

__all__ = ["render_csv"]


def render_csv(report: Report) -> str:
    """The CSV text of the table."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in report.table.itertuples(index=False, name=None):
        writer.writerow([_cell(col, v) for col, v in zip(COLUMNS, row)])
    return buf.getvalue()


def _cell(column: str, value) -> str:
    if column in FLOAT_COLUMNS and value == value:  # NaN falls through to ""
        return number_text(value)
    return cell_text(value)
