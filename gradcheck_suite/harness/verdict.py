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
    "BlockedComparison",
    "BLOCK_CANDIDATES",
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


#: what a zero bound is replaced by when the worst element is sought (err / bound)
_TINY = float(np.finfo(np.float64).tiny)


def compare(actual: np.ndarray, reference: np.ndarray, tol: Tolerance, fd_err: np.ndarray | None = None,
            exclude: np.ndarray | None = None) -> Comparison:
    """Compare finite arrays of the same shape element-wise (``exclude``: elements to skip).

    Without an FD error estimate ``e`` is 0 and without ``exclude`` every element counts: the
    arithmetic below then leaves out the zeros and the all-true mask (most comparisons are of
    small arrays, where each of those array operations costs as much as the comparison itself)."""
    a = np.asarray(actual, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    err = np.abs(a - r)
    abs_r = np.abs(r)
    bound = tol.atol + tol.rtol * abs_r
    if fd_err is not None:
        e = np.asarray(fd_err, dtype=np.float64)
        if e.shape != r.shape:  # (broadcast_to costs more than this comparison when the shapes agree)
            e = np.broadcast_to(e, r.shape)
        bound = bound + e
    ok = err <= bound
    mask = None if exclude is None else ~np.asarray(exclude, dtype=bool)
    compared = r.size if mask is None else int(mask.sum())
    if compared == 0:
        return Comparison(True, 0.0, 0.0, None, float("nan"), float("nan"), float("nan"), float("nan"), 0, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = err / np.where(bound > 0, bound, _TINY)
        rel = np.where(r != 0, err / abs_r, 0.0)
    if mask is not None:
        ratio = np.where(mask, ratio, -1.0)
        rel = np.where(mask, rel, 0.0)
    worst = np.unravel_index(int(ratio.argmax()), r.shape) if r.ndim else ()
    return Comparison(
        passed=bool(ok.all() if mask is None else ok[mask].all()),
        max_abs_err=float(err.max() if mask is None else err[mask].max()),
        max_rel_err=float(rel.max()),
        worst_index=tuple(int(i) for i in worst),
        actual=float(a[worst]),
        expected=float(r[worst]),
        bound=float(bound[worst]),
        fd_err=0.0 if fd_err is None else float(e[worst]),
        n_bad=compared - int(np.count_nonzero(ok if mask is None else ok & mask)),
        n_compared=compared,
    )


#: a row with every column empty ("" for text, NaN for numbers), copied by :func:`make_row`
_EMPTY_ROW = {c: ("" if c in TEXT_COLUMNS else float("nan")) for c in COLUMNS}


def make_row(**fields: Any) -> dict[str, Any]:
    """A table row with every column (missing ones empty: "" for text, NaN for numbers)."""
    row = dict(_EMPTY_ROW)
    unknown = fields.keys() - _EMPTY_ROW.keys()
    if unknown:
        raise KeyError(f"unknown result columns {sorted(unknown)}")
    row.update(fields)
    if row.get("seed") is not None and not (isinstance(row["seed"], float) and np.isnan(row["seed"])):
        row["seed"] = int(row["seed"])
    return row


#: candidate elements (for the worst entry and the out-of-tolerance count) a blocked comparison keeps before
#: it asks for a second pass with the tolerance known
BLOCK_CANDIDATES = 1_000_000


class BlockedComparison:
    """:func:`compare` of a ``(rows, columns)`` array given in blocks of columns, without the whole arrays.

    A block is the columns ``start .. start + k`` laid out ``(k, rows)`` (a Hessian's columns as HVPs
    give them); flat index ``row·columns + column`` as in the whole array.  The tolerance depends on
    the largest finite ``|reference|`` (``tolerance(array)`` is asked with a one-element array of it),
    which is known only after the last block; so each block keeps, besides its maxima, the elements
    that could still be the worst one or out of tolerance once the tolerance has grown — those whose
    ratio at the tolerance so far reaches the ratio of the block's largest error (the ratio of an
    element with a smaller error falls behind as the tolerance grows), and those out of tolerance so
    far (the bound only grows).  :meth:`result` judges them with the final tolerance: the same
    statuses, worst element, bound and counts as :func:`compare` of the whole arrays (the tests say
    so).  Above :data:`BLOCK_CANDIDATES` kept elements :meth:`result` gives None: feed the blocks
    again to a comparison made with ``fixed=`` the tolerance of :attr:`reference_max`.
    """

    def __init__(self, shape: tuple[int, ...], tolerance, fixed: Tolerance | None = None) -> None:
        self.shape = tuple(int(s) for s in shape)  # the whole array's: (rows,) + the columns' shape
        self.rows, self.columns = self.shape[0], int(np.prod(self.shape[1:], dtype=np.int64))
        self.tolerance, self.fixed = tolerance, fixed
        self.reference_max = -1.0  # largest finite |reference| (-1: none yet)
        self.nonfinite: dict[str, tuple[int, float]] = {}  # "actual"/"reference" → first flat index, value
        self.max_abs_err = self.max_rel_err = 0.0
        self.n_compared = 0
        self.overflow = False
        self._kept: list[np.ndarray] = []  # (5, K): flat index, actual, reference, fd error, bad-so-far flag
        self._n_kept = 0
        self._n_bad = 0  # with a fixed tolerance: counted as the blocks come
        self._buffers: dict[str, np.ndarray] = {}

    def current(self) -> Tolerance:
        if self.fixed is not None:
            return self.fixed
        return self.tolerance(np.array([self.reference_max]) if self.reference_max >= 0 else np.zeros(0))

    def _flat(self, start: int, positions: np.ndarray, k: int) -> np.ndarray:
        """Flat indices in the whole array of positions in a block (k, rows) of columns ``start ..``."""
        d, row = np.divmod(positions, self.rows)
        return row * self.columns + start + d

    def _note_nonfinite(self, key: str, start: int, block: np.ndarray) -> bool:
        if np.isfinite(block).all():
            return False
        where = np.flatnonzero(~np.isfinite(block))
        flat = self._flat(start, where, block.shape[0])
        i = int(np.argmin(flat))
        if key not in self.nonfinite or flat[i] < self.nonfinite[key][0]:
            self.nonfinite[key] = (int(flat[i]), float(block.reshape(-1)[where[i]]))
        return True

    def add(self, start: int, actual: np.ndarray, reference: np.ndarray, fd_err: np.ndarray | None = None,
            exclude: np.ndarray | None = None) -> None:
        """Columns ``start ..`` of both arrays (and of the FD error estimate, the elements to skip), (k, rows).

        Few passes over the block, in pieces of about :data:`PIECE` elements (the passes stay in the
        cache): a NaN or infinity shows in two maxima (of ``|r|`` and ``|a − r|``) before anything
        looks for it; one threshold on the ratios picks what :meth:`result` needs.
        """
        k = actual.shape[0]
        step = max(1, self.PIECE // max(1, self.rows))

        def part(x, lo, hi):
            return None if x is None else np.asarray(x).reshape(k, self.rows)[lo:hi]
        for lo in range(0, k, step):
            hi = min(k, lo + step)
            self._add(start + lo, part(actual, lo, hi), part(reference, lo, hi), part(fd_err, lo, hi),
                      part(exclude, lo, hi))

    #: elements of one piece of a block (five work arrays of it fit in a core's cache)
    PIECE = 2**15

    def _add(self, start: int, actual: np.ndarray, reference: np.ndarray, fd_err: np.ndarray | None,
             exclude: np.ndarray | None) -> None:
        k = actual.shape[0]
        a = np.asarray(actual, dtype=np.float64).reshape(k, self.rows)
        r = np.asarray(reference, dtype=np.float64).reshape(k, self.rows)
        if not a.size:
            return
        absr = np.abs(r, out=self._buffer("absr", r.shape))
        err = np.subtract(a, r, out=self._buffer("err", r.shape))
        np.abs(err, out=err)
        top_r = float(absr.max())
        top_err = float(err.reshape(-1)[int(np.argmax(err))])  # NaN wins argmax
        if not (np.isfinite(top_r) and np.isfinite(top_err)):
            bad_a, bad_r = self._note_nonfinite("actual", start, a), self._note_nonfinite("reference", start, r)
            fin = absr[np.isfinite(absr)]
            top_r = float(fin.max()) if fin.size else -1.0
            if bad_a or bad_r:
                self.reference_max = max(self.reference_max, top_r)
                return
        self.reference_max = max(self.reference_max, top_r)
        if self.nonfinite:  # an error row: nothing to compare
            return
        e = np.zeros(1) if fd_err is None else np.asarray(fd_err, dtype=np.float64).reshape(k, self.rows)
        tol = self.current()
        bound = np.multiply(absr, tol.rtol, out=self._buffer("bound", r.shape))
        bound += tol.atol                 # = atol + rtol·|r| (+ e), as compare() adds them
        if fd_err is not None:
            bound += e
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.divide(err, bound if tol.atol > 0 and fd_err is None else
                              np.where(bound > 0, bound, np.finfo(float).tiny), out=self._buffer("ratio", r.shape))
            rel = np.divide(err, absr, out=self._buffer("rel", r.shape))  # 0/0 is NaN, ignored by fmax; x/0 = inf
            top_rel = float(np.fmax.reduce(rel, axis=None))
            if not np.isfinite(top_rel):  # all 0/0, or an error where the reference is 0 (compare() says 0 there)
                rel = np.divide(err, absr, out=np.zeros_like(err), where=absr != 0)
                top_rel = float(rel.max())
        keep = None if exclude is None else ~np.asarray(exclude, dtype=bool).reshape(k, self.rows)
        if keep is not None:
            if not keep.any():
                return
            rel = np.divide(err, absr, out=np.zeros_like(err), where=absr != 0)
            err, ratio, rel = np.where(keep, err, -1.0), np.where(keep, ratio, -1.0), np.where(keep, rel, 0.0)
            self.n_compared += int(keep.sum())
            top_err, top_rel = float(err.max()), float(rel.max())
        else:
            self.n_compared += err.size
        self.max_abs_err = max(self.max_abs_err, top_err)
        self.max_rel_err = max(self.max_rel_err, top_rel)
        flat_ratio = ratio.reshape(-1)
        if self.fixed is not None:  # the tolerance is final: count here, keep the block's worst only
            over = err > bound
            self._n_bad += int(np.count_nonzero(over if keep is None else over & keep))
            ties = np.flatnonzero(flat_ratio == flat_ratio.max())
            self._keep(start, k, ties[[int(np.argmin(self._flat(start, ties, k)))]], a, r, e, fd_err is not None)
            return
        # an element of largest error: every later winner reaches (nearly) its ratio now, as the tolerance
        # only grows; every element out of tolerance (err > bound) has a ratio of at least 1
        floor = float(flat_ratio[int(np.argmax(err))])
        if floor > 0:
            where = np.flatnonzero(flat_ratio >= min(floor * (1 - 1e-9), 1.0))
        else:  # every error is 0: the compared element of least flat index is the worst
            compared = np.flatnonzero(keep) if keep is not None else np.zeros(1, dtype=np.int64)
            where = compared[[int(np.argmin(self._flat(start, compared, k)))]]
        self._keep(start, k, where, a, r, e, fd_err is not None)

    def _buffer(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        """A work array reused from block to block (a fresh large array costs its page faults every time)."""
        size = int(np.prod(shape))
        buf = self._buffers.get(key)
        if buf is None or buf.size < size:
            buf = self._buffers[key] = np.empty(size)
        return buf[:size].reshape(shape)

    def _keep(self, start: int, k: int, where: np.ndarray, a: np.ndarray, r: np.ndarray, e: np.ndarray,
              has_err: bool) -> None:
        self._n_kept += where.size
        if self._n_kept > BLOCK_CANDIDATES or self.overflow:
            self.overflow, self._kept = True, []
            return
        self._kept.append(np.stack([self._flat(start, where, k).astype(np.float64), a.reshape(-1)[where],
                                    r.reshape(-1)[where], np.broadcast_to(e, a.shape).reshape(-1)[where]
                                    if has_err else np.zeros(where.size)]))

    def result(self) -> Comparison | None:
        """The comparison of the whole arrays (None: a second pass is needed, see the class)."""
        if self.overflow:
            return None
        if self.n_compared == 0:
            return Comparison(True, 0.0, 0.0, None, float("nan"), float("nan"), float("nan"), float("nan"), 0, 0)
        tol = self.current()
        kept = np.concatenate(self._kept, axis=1)
        flat, a, r, e = kept[0].astype(np.int64), kept[1], kept[2], kept[3]
        order = np.argsort(flat, kind="stable")  # ties go to the first element, as argmax of the whole array
        flat, a, r, e = flat[order], a[order], r[order], e[order]
        err = np.abs(a - r)
        bound = tol.atol + tol.rtol * np.abs(r) + e
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = err / np.where(bound > 0, bound, np.finfo(float).tiny)
        w = int(np.argmax(ratio))
        n_bad = self._n_bad if self.fixed is not None else int((err > bound).sum())
        shape = self.shape
        return Comparison(
            passed=n_bad == 0, max_abs_err=self.max_abs_err, max_rel_err=self.max_rel_err,
            worst_index=tuple(int(i) for i in np.unravel_index(int(flat[w]), shape)),
            actual=float(a[w]), expected=float(r[w]), bound=float(bound[w]), fd_err=float(e[w]),
            n_bad=n_bad, n_compared=self.n_compared)
