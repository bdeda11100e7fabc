"""Three routes agree: the harness table's rows for one case, as the answer key shows them.

The numbers come from the harness (:func:`gradcheck_suite.api.check_case`): the
chain-rule result, torch.autograd and finite differences with their errors.  This
module only selects and formats rows; it computes nothing.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import GradcheckError
from .model import RouteRow, Shown, show

__all__ = ["harness_table", "route_rows", "note", "ROUTE_CHECKS"]

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


def route_rows(table: Any, case: str) -> list[RouteRow]:
    """The harness rows of ``case`` (every check, the three routes first)."""
    if table is None or len(table) == 0:
        return []
    rows = table[table["case"] == case] if "case" in table.columns and case else table
    order = {c: i for i, c in enumerate(ROUTE_CHECKS)}
    out = []
    columns = list(rows.columns)
    for values in rows.itertuples(index=False, name=None):  # plain tuples: iterrows builds a Series per row
        r = dict(zip(columns, values))
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
