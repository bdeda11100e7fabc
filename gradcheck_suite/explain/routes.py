"""Three routes agree: the harness table's rows for one case, as the answer key shows them.

The numbers come from the harness (:func:`gradcheck_suite.api.check_case`): the
chain-rule result, torch.autograd and finite differences with their errors.  This
module only selects and formats rows; it computes nothing.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from ..errors import GradcheckError
from .model import RouteRow, Shown, show

__all__ = ["harness_table", "route_rows", "records", "note", "ROUTE_CHECKS"]

#: the checks of the "three routes" section, in the order shown
ROUTE_CHECKS = ("hand_vs_torch", "hand_vs_fd", "torch_vs_fd", "expect_vs_torch")


def harness_table(case: Any, dtype: str, run_seed: int = 0, order: int | None = None) -> tuple[Any, str]:
    """Run the harness on one case (at ``order``, default the case's); returns (table or None, note why not)."""
    try:
        from ..api import check_case
    except ImportError:
        return None, "the harness (gradcheck_suite.api) is not available in this installation"
    try:
        result = check_case(case, dtypes=[dtype], seed=run_seed, **({"order": order} if order else {}))
    except TypeError:
        result = check_case(case)
    except GradcheckError as exc:
        return None, f"the harness could not check this case: {exc}"
    return getattr(result, "table", result), ""


def _float(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _shown(v: Any) -> Shown | None:
    if v is None or isinstance(v, str) and not v.strip():
        return None
    if isinstance(v, str):
        return Shown(v, v, (), derivative=True)
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        return Shown(str(v), str(v), (), derivative=True)
    if a.ndim == 0 and math.isnan(float(a)):
        return None
    return show(a, derivative=True)


def _element(v: Any) -> str:
    if v is None or isinstance(v, float) and math.isnan(v):
        return ""
    text = str(v).strip()
    return "" if text in ("", "nan", "None", "()") else text


def records(table: Any) -> list[Mapping[str, Any]]:
    """The rows of a harness table as plain dicts: a DataFrame's rows, or ``table`` itself when it is
    already a sequence of row mappings (the answer key of a run splits the table once, not per case).

    One conversion of the whole frame: iterating a DataFrame row by row, or selecting a case's rows
    from it, costs a pandas object per column and was most of the time of this section.
    """
    if hasattr(table, "columns"):
        columns = list(table.columns)
        return [dict(zip(columns, values)) for values in table.to_numpy(dtype=object).tolist()]
    return list(table)


def route_rows(table: Any, case: str) -> list[RouteRow]:
    """The harness rows of ``case`` (every check, the three routes first); ``table`` is a DataFrame
    or a sequence of row mappings (see :func:`records`)."""
    if table is None or len(table) == 0:
        return []
    order = {c: i for i, c in enumerate(ROUTE_CHECKS)}
    out = []
    for r in records(table):
        if case and r.get("case", case) != case:
            continue
        out.append(RouteRow(
            dtype=str(r.get("dtype", "")), input=str(r.get("input", "")), check=str(r.get("check", "")),
            status=str(r.get("status", "")), max_abs_err=_float(r.get("max_abs_err")),
            max_rel_err=_float(r.get("max_rel_err")), fd_err_est=_float(r.get("fd_err_est")),
            actual=_shown(r.get("actual")), expected=_shown(r.get("expected")),
            message=str(r.get("message", "") or ""), element=_element(r.get("worst_index")),
        ))
    out.sort(key=lambda r: (r.dtype, r.input, order.get(r.check, len(order)), r.check))
    return out


def note(table: Any, case: str, rows: list[RouteRow] | None = None) -> str:
    """Why the section is empty, if it is (``rows``: :func:`route_rows` of the case, if known)."""
    if table is None:
        return "the harness was not run for this page"
    if not (route_rows(table, case) if rows is None else rows):
        return "the harness table has no rows for this case"
    return ""
