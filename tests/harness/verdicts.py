"""One helper for the harness tests: the status of each check of a result table."""
from __future__ import annotations

import pandas as pd

__all__ = ["statuses", "row"]


def statuses(table: pd.DataFrame, dtype: str = "float64", input: str = "x") -> dict[str, str]:
    """check → status for one dtype and input."""
    rows = table[(table["dtype"] == dtype) & (table["input"] == input)]
    return dict(zip(rows["check"], rows["status"]))


def row(table: pd.DataFrame, check: str, dtype: str = "float64", input: str = "x") -> dict:
    """The single row of one check."""
    rows = table[(table["dtype"] == dtype) & (table["input"] == input) & (table["check"] == check)]
    assert len(rows) == 1, rows
    return rows.iloc[0].to_dict()
