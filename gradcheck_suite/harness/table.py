"""One case's rows and the run's table, in the contract's order — without torch.

The main process of a run with worker processes gathers these and never imports torch
(the workers do the checking: :mod:`.checks`), so that it can read the case files and
write the reports while the workers start.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..case import Case
from .verdict import CHECK_ORDER, COLUMNS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CaseResult", "sorted_rows", "sort_table"]

_DTYPE_ORDER = {"float64": 0, "float32": 1}


class CaseResult:
    """The rows of one case (all requested dtypes) and the arrays kept for the report.

    ``table`` is the case's rows as a DataFrame in the contract's order, built on first
    use: a run of many cases gathers the plain ``rows`` (a DataFrame per case and
    ``to_dict`` back took a third of the library's run time).
    """

    def __init__(self, case: Case, table: pd.DataFrame | None = None,
                 arrays: dict[tuple[str, str, str], dict[str, Any]] | None = None, *,
                 rows: list[dict[str, Any]] | None = None) -> None:
        if table is None and rows is None:
            raise ValueError("CaseResult needs a table or rows")
        self.case = case
        self.arrays = {} if arrays is None else arrays
        #: what ``run_cases(after=...)`` returned for this case, where it was checked (None without it)
        self.after: Any = None
        self._table = table
        self._rows = rows

    @property
    def table(self) -> pd.DataFrame:
        import pandas as pd  # only where a table is asked for: a worker hands on plain rows

        if self._table is None:
            self._table = pd.DataFrame(self._rows, columns=COLUMNS)
        return self._table

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows as dicts, in table order."""
        if self._rows is None:
            self._rows = self._table.to_dict("records")
        return self._rows

    def __repr__(self) -> str:
        return f"CaseResult(case={self.case.name!r}, rows={len(self.rows)}, arrays={len(self.arrays)})"


def sorted_rows(rows: list[dict[str, Any]], input_order: dict[str, dict[str, int]] | None = None
                ) -> list[dict[str, Any]]:
    """The rows in the contract's row order (case, file, dtype, input, check)."""
    order = {c: i for i, c in enumerate(CHECK_ORDER)}
    input_order = input_order or {}

    def key(r: dict[str, Any]):
        inputs = input_order.get(r["case"], {})
        return (r["case"], r["file"], _DTYPE_ORDER.get(r["dtype"], 9), r["dtype"],
                -1 if r["input"] == "" else inputs.get(r["input"], len(inputs)), r["input"],
                order.get(r["check"], 99), r["message"])

    return sorted(rows, key=key)


def sort_table(rows: list[dict[str, Any]], input_order: dict[str, dict[str, int]] | None = None) -> pd.DataFrame:
    """The rows as a DataFrame in the contract's column and row order."""
    import pandas as pd

    return pd.DataFrame(sorted_rows(rows, input_order), columns=COLUMNS).reset_index(drop=True)
