"""``results.json``: the same table for programs, plus the run's metadata.

Shape::

    {"format": "gradcheck-suite/results", "version": 1,
     "incomplete": false,
     "meta": {"seed": 0, "versions": {...}, ...},
     "counts": {"pass": 10, "nondiff": 0, "skip": 0, "fail": 1, "error": 0},
     "exit_code": 1,                              # the code the process returned
     "verdict": {"exit_code": 1, "headline": "...", "baseline": [...], "fail_on_regression": false},
     "columns": ["case", ...],
     "results": [{"case": "...", ...}, ...]}    # pandas "records" orient

Not-a-number cells are ``null``; infinities are the strings ``"inf"``/``"-inf"`` so the
file stays strict JSON.
"""
from __future__ import annotations

import json
import math
from typing import Any

from ..gate import verdict_of
from .results import COLUMNS, FLOAT_COLUMNS, Report, cell_text, status_counts

__all__ = ["render_json", "FORMAT_VERSION"]

FORMAT_VERSION = 1


def render_json(report: Report) -> str:
    """The JSON text of the table and the run metadata."""
    table = report.table
    rows = [dict(zip(COLUMNS, values))  # column by column, no row objects
            for values in zip(*(_column(table[col].tolist(), col) for col in COLUMNS))]
    verdict = verdict_of(report)
    doc = {
        "format": "gradcheck-suite/results",
        "version": FORMAT_VERSION,
        "incomplete": bool(report.incomplete),
        "meta": _plain({k: v for k, v in report.meta.items() if k != "verdict"}),  # it has its own key
        "counts": status_counts(report.table),
        "exit_code": verdict.exit_code,
        "verdict": _plain(verdict.as_dict()),
        "columns": list(COLUMNS),
    }
    # the run's facts indented, then one row per line: still a file to read and diff, and the rows
    # go through json's C encoder (an indented dump is pure Python: most of this report's time)
    head = json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False)
    encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
    body = ",\n  ".join(encode(row) for row in rows)
    return head[:-2] + ',\n "results": [' + ("\n  " + body + "\n ]" if rows else "]") + "\n}\n"


def _column(values: list, column: str) -> list:
    """A column's cells as JSON values (the common cells — a finite float, a string — taken as they are)."""
    if column in FLOAT_COLUMNS:
        return [v if type(v) is float and v - v == 0.0 else _number(v) for v in values]  # v - v: 0 iff finite
    if column == "seed":
        return [_seed(v) for v in values]
    if column in ("shape", "worst_index"):
        return [cell_text(v) for v in values]
    return [v if type(v) is str else _plain(v) for v in values]


def _number(value: Any) -> Any:
    x = float(value)
    if math.isnan(x):
        return None
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _seed(value: Any) -> int | None:
    text = cell_text(value)
    return int(text) if text else None


def _plain(value: Any) -> Any:
    """Metadata made JSON-safe (tuples to lists, numpy scalars to Python, others to str)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):
        return _plain(value.item())
    return str(value)
