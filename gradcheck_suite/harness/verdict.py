"""Verdicts: element-wise comparison of a gradient with a reference, and the table's rows.

An element passes when ``|a − r| ≤ atol + rtol·|r| + e`` where ``e`` is the
finite-difference error estimate (FD rows only).  NaN and infinity never pass: a
non-finite value makes the row an ``error``.  The *worst* element is the one most out
of tolerance (largest ``|a − r| / bound``); its index, both values and the error go
into the row and, for a failure, into a message a person can act on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..contract import CHECK_ORDER, CHECKS, STATUSES, TEXT_COLUMNS
from ..contract import COLUMNS as _COLUMNS
from .tolerances import Tolerance

__all__ = [
    "COLUMNS",
    "CHECKS",
    "CHECK_ORDER",
    "STATUSES",
    "LABELS",
    "Comparison",
    "compare",
    "make_row",
    "index_text",
    "num",
    "first_nonfinite",
]

COLUMNS = list(_COLUMNS)  # a list: pandas takes it as the column order
#: what the compared value and the reference are called in messages
LABELS = {
    "hand_vs_torch": ("ours", "torch"),
    "hand_vs_fd": ("ours", "finite differences"),
    "torch_vs_fd": ("torch", "finite differences"),
    "expect_vs_torch": ("the claim", "torch"),
}


def num(x: float) -> str:
    """A number as a message shows it."""
    return f"{float(x):.10g}"


def index_text(index: tuple[int, ...] | None) -> str:
    """``(1, 2)``, ``(3,)``, ``()`` for a scalar; "" for no index."""
    if index is None:
        return ""
    return str(tuple(int(i) for i in index))


def first_nonfinite(a: np.ndarray) -> tuple[tuple[int, ...], float] | None:
    """Index and value of the first NaN/inf of ``a`` (None if every element is finite)."""
    a = np.asarray(a)
    finite = np.isfinite(a)
    if finite.all():  # the common case: no index search over a large array
        return None
    bad = np.argwhere(~finite)
    if a.ndim == 0:
        return None if np.isfinite(a) else ((), float(a))
    idx = tuple(int(i) for i in bad[0])
    return idx, float(a[idx])


@dataclass
class Comparison:
    """The outcome of one element-wise comparison."""

    passed: bool
    max_abs_err: float
    max_rel_err: float
    worst_index: tuple[int, ...] | None
    actual: float
    expected: float
    bound: float
    fd_err: float
    n_bad: int
    n_compared: int


def compare(actual: np.ndarray, reference: np.ndarray, tol: Tolerance, fd_err: np.ndarray | None = None,
            exclude: np.ndarray | None = None) -> Comparison:
    """Compare finite arrays of the same shape element-wise (``exclude``: elements to skip)."""
    a = np.asarray(actual, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    e = np.zeros(r.shape) if fd_err is None else np.broadcast_to(np.asarray(fd_err, dtype=np.float64), r.shape)
    mask = np.ones(r.shape, dtype=bool) if exclude is None else ~np.asarray(exclude, dtype=bool)
    err = np.abs(a - r)
    bound = tol.atol + tol.rtol * np.abs(r) + e
    ok = err <= bound
    compared = int(mask.sum())
    if compared == 0:
        return Comparison(True, 0.0, 0.0, None, float("nan"), float("nan"), float("nan"), float("nan"), 0, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(mask, err / np.where(bound > 0, bound, np.finfo(float).tiny), -1.0)
        rel = np.where(mask & (r != 0), err / np.abs(r), 0.0)
    worst = np.unravel_index(int(np.argmax(ratio)), r.shape) if r.ndim else ()
    return Comparison(
        passed=bool(ok[mask].all()),
        max_abs_err=float(err[mask].max()),
        max_rel_err=float(rel.max()),
        worst_index=tuple(int(i) for i in worst),
        actual=float(a[worst]),
        expected=float(r[worst]),
        bound=float(bound[worst]),
        fd_err=float(e[worst]),
        n_bad=int((~ok & mask).sum()),
        n_compared=compared,
    )


def make_row(**fields: Any) -> dict[str, Any]:
    """A table row with every column (missing ones empty: "" for text, NaN for numbers)."""
    row = {c: ("" if c in TEXT_COLUMNS else float("nan")) for c in COLUMNS}
    unknown = set(fields) - set(COLUMNS)
    if unknown:
        raise KeyError(f"unknown result columns {sorted(unknown)}")
    row.update(fields)
    if row.get("seed") is not None and not (isinstance(row["seed"], float) and np.isnan(row["seed"])):
        row["seed"] = int(row["seed"])
    return row
