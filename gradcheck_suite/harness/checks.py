"""The declared checks, and the one function that judges them.

A check compares an *actual* route with a *reference* route (:mod:`.routes`) under one
kind of tolerance (:mod:`.tolerances`).  :data:`DECLARED` lists them; for every input of
a point the harness asks each applicable route for its derivative and :func:`judge`
turns a pair into a row.  A case gives ``hand_vs_torch``, ``hand_vs_fd``,
``torch_vs_fd`` and (when it claims a derivative) ``expect_vs_torch``; a subject bound
to it adds ``subject_forward``, ``subject_vs_hand``, ``subject_vs_torch``,
``subject_vs_fd`` and, for torch subjects, ``subject_forward_ad`` and
``subject_double_backward``.  A case that cannot be evaluated gives one ``error`` row
(check ``evaluate``) per dtype instead.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from ..case import Case
from ..contract import CHECKS as CONTRACT_CHECKS
from ..contract import DEFAULT_THRESHOLD, HESSIAN_ENTRIES
from . import kinks, projections
from .point import Point
from .routes import Derivative, Route, TorchGraphRoute, x_size_ok
from .table import CaseResult, sort_table, sorted_rows
from .verdict import BlockedComparison, Comparison, compare, first_nonfinite, index_text, make_row, num

__all__ = ["Check", "DECLARED", "CaseResult", "check_case", "check_point", "judge", "sort_table", "sorted_rows",
           "ARRAY_LIMIT", "PROBES", "x_size_ok"]

#: arrays (ours / torch / fd / abs_err) are kept for the report up to this many elements
ARRAY_LIMIT = 400
#: number of random projections per input in projected mode
PROBES = 6
#: largest input for which a failing projection falls back to the full Jacobian
FALLBACK_LIMIT = 100_000


@dataclass(frozen=True)
class Check:
    """A declared check: ``actual`` judged against ``reference`` with a ``tolerance`` kind.

    ``projected`` checks are judged through seeded random probes when the input is
    above the projection threshold; the others (a claim, which is cheap to evaluate in
    full) always compare whole derivatives.  ``order`` 2 marks the Hessian checks, which
    go projected in auto mode also when an input's Hessian columns have more than
    ``contract.HESSIAN_ENTRIES`` entries.
    """

    name: str
    actual: str
    reference: str
    tolerance: str
    projected: bool = True
    order: int = 1


#: every gradient check, in table order (names and meanings: ``contract.CHECK_DOCS``)
DECLARED = (
    Check("hand_vs_torch", "hand", "torch", "analytic"),
    Check("hand_vs_fd", "hand", "fd", "fd"),
    Check("torch_vs_fd", "torch", "fd", "fd"),
    Check("expect_vs_torch", "claim", "torch", "expect", projected=False),
    Check("subject_vs_hand", "subject", "hand", "analytic"),
    Check("subject_vs_torch", "subject", "torch", "analytic"),
    Check("subject_vs_fd", "subject", "subject_fd", "fd"),
    Check("subject_forward_ad", "subject_forward_ad", "subject", "analytic"),
    Check("subject_double_backward", "subject_ggrad", "subject_ggrad_fd", "fd"),
    Check("hessian_vs_torch", "hess_hand", "hess_torch", "analytic", order=2),
    Check("hessian_vs_grad_fd", "hess_hand", "hess_grad_fd", "fd", order=2),
    Check("hessian_vs_fd", "hess_hand", "hess_fd2", "fd", order=2),
)
if not {c.name for c in DECLARED} <= set(CONTRACT_CHECKS):  # pragma: no cover - a developer's slip
    raise ImportError("a declared check is missing from contract.CHECKS")


def check_case(case: Case, *, dtypes: list[str] | None = None, seed: int = 0, mode: str | None = None,
               threshold: int = DEFAULT_THRESHOLD, subject: Any = None,
               tolerances: Mapping[tuple[str, str], tuple[float, float]] | None = None,
               order: int | None = None) -> CaseResult:
    """Every check of ``case`` in each dtype (default: the case's own ``dtypes``).

    ``subject`` is the user's code bound to the case (a :class:`~gradcheck_suite.subjects.Subject`;
    by default the one declared for the case's name or tags, if any); ``tolerances``
    replaces default tolerances per ``(dtype, kind)``; ``order=2`` (or the case's
    ``order: 2``) adds the second-order checks (:mod:`.hessians`).
    """
    from ..subjects import subject_for
    from .prepare import case_point, case_routes, subject_routes

    if subject is None:
        subject = subject_for(case.name, case.tags)
    rows: list[dict[str, Any]] = []
    arrays: dict[tuple[str, str, str], dict[str, Any]] = {}
    for dtype in dtypes or case.dtypes:
        point = case_point(case, dtype, seed, mode or case.mode or "auto", tolerances, rows)
        if point is None:
            continue
        routes = case_routes(point, rows)
        if routes is None:
            continue
        if max(order or 1, case.order) >= 2:
            from .hessians import hessian_routes

            routes.update(hessian_routes(point, isinstance(routes.get("torch"), TorchGraphRoute)))
        if subject is not None:
            routes.update(subject_routes(point, subject, rows, routes))
        check_point(point, routes, rows, arrays, threshold)
    order = {case.name: {n: i for i, n in enumerate(case.graph.inputs)}}
    return CaseResult(case, arrays=arrays, rows=sorted_rows(rows, order))


def check_point(point: Point, routes: Mapping[str, Route], rows: list[dict[str, Any]],
                arrays: dict | None = None, threshold: int = DEFAULT_THRESHOLD) -> None:
    """Every declared check whose two routes exist, for every input of ``point``, appended to ``rows``."""
    _Checker(point, dict(routes), rows, {} if arrays is None else arrays, threshold).all_inputs()


class _Checker:
    """The declared checks of one point: which apply, their derivatives, their rows."""

    def __init__(self, point: Point, routes: dict[str, Route], rows: list[dict[str, Any]], arrays: dict,
                 threshold: int) -> None:
        self.point, self.routes, self.rows, self.arrays, self.threshold = point, routes, rows, arrays, threshold
        self._kinks: dict[tuple[str, str], tuple[np.ndarray | None, str]] = {}
        self._rounding: dict[str, float] = {}

    def row(self, **fields: Any) -> None:
        p = self.point
        self.rows.append(make_row(case=p.case, file=p.file, dtype=p.dtype, seed=p.seed, **fields))

    def applicable(self, name: str, projected: bool | None = None, order: int | None = None) -> list[Check]:
        out = []
        for spec in DECLARED:
            if order is not None and spec.order != order:
                continue
            if spec.actual not in self.routes or spec.reference not in self.routes:
                continue
            if spec.actual == "claim" and name not in self.point.claims:
                continue
            if projected is not None and spec.projected != projected:
                continue
            out.append(spec)
        return out

    # ---- per input ------------------------------------------------------------------

    def all_inputs(self) -> None:
        with np.errstate(all="ignore"):  # non-finite values become error rows, not warnings
            for name in self.point.inputs:
                self.point.timing = {}
                self.one_input(name)

    def one_input(self, name: str) -> None:
        p = self.point
        x = p.values[name]
        common = {"input": name, "shape": str(tuple(x.shape))}
        hand = self.routes.get("hand")
        missing = hand.missing_jvp(name) if hand is not None else []
        if missing:
            self.row(check="hand_jvp", status="skip", **common, message=(
                f"forward mode not checked for input {name!r}: {', '.join(missing)} declare(s) no JVP rule"))
        self.judge_input(name, common, 1, p.mode == "projected" or (p.mode == "auto" and x.size > self.threshold))
        second = self.applicable(name, order=2)
        if second:  # the Hessian columns of x: x.size·N entries, so they go projected sooner
            entries = x.size * int(np.prod(self.routes[second[0].actual].out_shape(name), dtype=np.int64))
            self.judge_input(name, common, 2, p.mode == "projected" or (p.mode == "auto" and (
                x.size > self.threshold or entries > HESSIAN_ENTRIES)))

    def judge_input(self, name: str, common: dict[str, Any], order: int, projected: bool) -> None:
        """The rows of the checks of one derivative ``order`` for input ``name``: projected or full."""
        p = self.point
        x = p.values[name]
        if projected:
            specs = self.applicable(name, projected=True, order=order)
            rng = np.random.default_rng(_probe_seed(p.seed, p.case, name if order == 1 else f"{name}\0order {order}"))
            try:
                outcome = projections.check(self, name, rng, PROBES, specs)
            except Exception as exc:  # a reference that cannot project: the full path says what is wrong
                outcome = projections.Outcome(False, note=f"{type(exc).__name__}: {exc}".splitlines()[0])
            if not outcome.ok and x.size > FALLBACK_LIMIT:
                outcome.rows = [dict(check=s.name, status=outcome.status_of(s.name),
                                     message=outcome.message_of(s.name, name)) for s in specs]
            if outcome.ok or x.size > FALLBACK_LIMIT:
                for r in outcome.rows:
                    self.row(**common, mode="projected", **r)
                self.full(name, common, "projected", specs=self.applicable(name, projected=False, order=order))
                return
            self.full(name, common, "full", note=f"random projections disagreed ({outcome.note})",
                      specs=self.applicable(name, order=order))
            return
        self.full(name, common, "full", specs=self.applicable(name, order=order))

    def full(self, name: str, common: dict[str, Any], mode: str, note: str = "",
             specs: list[Check] | None = None) -> None:
        specs = self.applicable(name) if specs is None else specs
        blocked = {spec.name: self.blocked(spec, name) for spec in specs}  # Hessians too large to keep whole
        pairs = [(spec, *self.derivatives(spec, name)) for spec in specs if blocked[spec.name] is None]
        base = dict(common, mode=mode, **self.point.timing)  # every route first: the times
        pre = f"{note}; full Jacobian: " if note else ""
        for spec in specs:
            if blocked[spec.name] is not None:
                self.row(**judge_blocked(self, spec, name, blocked[spec.name], base, pre))
        for spec, actual, reference in pairs:
            self.row(**judge(self, spec, name, actual, reference, base, pre))
        self.keep_arrays(name)

    def blocked(self, spec: Check, name: str) -> BlockedComparison | None:
        """A second-order check whose columns have more than ``hessians.BLOCKED_ENTRIES`` entries, computed
        and compared block by block by both routes (None: the whole arrays, as every other check).
        Anything but numbers (a route that skips or fails) goes the whole-array way, which reports it."""
        from . import hessians

        a, r = self.routes[spec.actual], self.routes[spec.reference]
        if spec.order != 2 or not (hasattr(a, "block") and hasattr(r, "block")) or spec.tolerance != "analytic":
            return None
        if self.point.values[name].size * int(np.prod(a.out_shape(name))) <= hessians.BLOCKED_ENTRIES:
            return None
        if a.unsupported(name) or r.unsupported(name):
            return None
        p = self.point
        shape = a.columns_shape(name)
        fixed = None
        while True:
            comparison = BlockedComparison(shape, lambda reference: p.tolerance_of(spec.tolerance, reference), fixed)
            spent = {a.timing_column: 0.0, r.timing_column: 0.0}
            for start, stop in a.blocks(name):
                got = []
                for route in (a, r):
                    t0 = time.perf_counter()
                    got.append(route.block(name, start, stop))
                    spent[route.timing_column] += time.perf_counter() - t0
                    if isinstance(got[-1], Derivative) or got[-1].shape != got[0].shape:
                        return None
                comparison.add(start, got[0], got[1])
            if not comparison.overflow:
                break
            fixed = comparison.current()  # too many candidates: again, the tolerance now known
        for column, seconds in spent.items():
            p.timing[column] = seconds + p.forward_time.get(column, 0.0)
        return comparison

    def derivatives(self, spec: Check, name: str) -> tuple[Derivative, Derivative]:
        a, r = self.routes[spec.actual], self.routes[spec.reference]
        skipped = a.unsupported(name) or r.unsupported(name) or (r.too_large(name) if spec.order == 2 else None)
        if skipped is not None:
            return skipped, Derivative()
        actual = a.full(name)
        if actual.problem and actual.status in ("skip", "error"):
            return actual, Derivative()
        return actual, r.full(name)

    def keep_arrays(self, name: str) -> None:
        """Small compared arrays of the case's three routes, for the HTML report."""
        if not all(k in self.routes for k in ("hand", "torch", "fd")):
            return
        if self.point.values[name].size > ARRAY_LIMIT:  # too large to keep: never compute full Jacobians for it
            return
        hand, theirs, fdd = (self.routes[k].full(name) for k in ("hand", "torch", "fd"))
        if not (hand.usable and theirs.usable and fdd.value is not None) or hand.value.size > ARRAY_LIMIT:
            return
        nondiff, _ = self.kinks(self.routes["fd"], name)
        p = self.point
        self.arrays[(p.case, p.dtype, name)] = {
            "ours": hand.value, "torch": theirs.value, "fd": fdd.value,
            "abs_err": np.abs(hand.value.astype(np.float64) - theirs.value), "fd_err_est": fdd.error,
            "kind": "gradient" if p.scalar else "jacobian",
            "nondiff": nondiff if nondiff is not None else np.zeros(hand.value.shape, dtype=bool),
        }

    # ---- what the tolerances need ----------------------------------------------------

    def rounding(self, name: str, source: str = "torch") -> float:
        """float32 only: the measured float32 rounding of the case's function (from torch, or from the
        analytic route ``source`` — ``hess_torch`` for the Hessian), else 0."""
        key = name if source == "torch" else f"{source}\0{name}"
        if key not in self._rounding:
            route = self.routes.get(source)
            self._rounding[key] = route.rounding(name) if route is not None and self.point.dtype != "float64" \
                else 0.0
        return self._rounding[key]

    def kinks(self, fd_route: Route, name: str) -> tuple[np.ndarray | None, str]:
        """Which elements finite differences cannot judge (a kink), and why — per FD route and input."""
        key = (fd_route.name, name)
        if key not in self._kinks:
            self._kinks[key] = self._kink_mask(fd_route, name)
        return self._kinks[key]

    def _kink_mask(self, fd_route: Route, name: str) -> tuple[np.ndarray | None, str]:
        p = self.point
        fdd = fd_route.full(name)
        if fdd.forward is None or fdd.problem:
            return None, ""
        tol = p.tolerance_of("fd", fdd.value, self.rounding(name))
        own = fd_route.kink_mask(name, fdd, tol)  # a route that knows its own kinks (second order)
        if own is not None:
            return own
        if p.graph is not None and fd_route.name in ("fd", "subject_fd"):
            near = kinks.kinks_near(p.graph, p.values64, name)
            if not near:
                return None, ""
            nondiff = kinks.disagreeing(fdd.forward, fdd.backward, tol.rtol, tol.atol, fdd.error)
            if any(k.exact for k in near):  # torch's convention is the reference; hand_vs_torch judges ours
                reference = next((d.value for d in (self.routes[k].full(name) for k in ("torch", "hand")
                                                    if k in self.routes) if d.usable), None)
                if reference is not None:
                    nondiff |= kinks.off_branch(reference.reshape(fdd.value.shape), fdd.value, tol.rtol, tol.atol,
                                                fdd.error)
            text = min(near, key=lambda k: (k.distance, k.op not in kinks.ISOLATED_OPS)).describe()
        else:  # opaque code: the one-sided differences are all there is to go on
            nondiff = kinks.disagreeing(fdd.forward, fdd.backward, tol.rtol, tol.atol, fdd.error)
            text = "the one-sided finite differences of the subject disagree here (a kink)"
        return (nondiff if nondiff.any() else None), text


def judge(checker: _Checker, spec: Check, name: str, actual: Derivative, reference: Derivative,
          base: dict[str, Any], pre: str = "") -> dict[str, Any]:
    """The row of ``spec`` for input ``name``: pass, fail, nondiff, error or skip, with a message."""
    p = checker.point
    a_route, r_route = checker.routes[spec.actual], checker.routes[spec.reference]
    fd_row = r_route.kind == "fd"
    extra = {"method": reference.method if fd_row else ""}
    row = dict(check=spec.name, **base, **extra)
    problems = [(d.problem, d.status) for d in (actual, reference) if d.problem]
    if problems:
        statuses = {s for _, s in problems}
        status = "error" if "error" in statuses else "fail" if "fail" in statuses else "skip"
        text = "; ".join(t for t, _ in problems)
        return dict(row, status=status, message=pre + f"{spec.name} for input {name!r}: {text}")
    a, r = actual.value, reference.value
    labels = (a_route.label, r_route.label)
    for label, arr in ((labels[0], a), (labels[1], r), (actual.also[1] if actual.also else "", actual.also[0]
                                                          if actual.also else None)):
        if arr is None:
            continue
        bad = first_nonfinite(arr)
        if bad is not None:
            return _nonfinite_row(row, spec, name, label, bad, pre)
    if tuple(np.shape(a)) != tuple(np.shape(r)):
        return dict(row, status="fail", message=pre + f"{spec.name} failed for input {name!r}: {labels[0]} has "
                                                      f"shape {np.shape(a)}, {labels[1]} {np.shape(r)}")
    nondiff, kink_text = checker.kinks(r_route, name) if fd_row else (None, "")
    fde = reference.error if fd_row else None
    rounding = checker.rounding(name, r_route.rounding_from) \
        if spec.tolerance != "analytic" and spec.actual != "subject_ggrad" else 0.0
    tol = p.tolerance_of(spec.tolerance, r, rounding)
    c = compare(a, r, tol, fde, nondiff) if spec.order == 1 else _compare_whole(a, r, tol, fde, nondiff)
    if actual.also is not None and c.passed:
        c_also = compare(actual.also[0], r, tol, fde, nondiff)
        if not c_also.passed:  # the VJP rules agree but a JVP rule does not
            a, c, labels = actual.also[0], c_also, (actual.also[1], labels[1])
    words = _jacobian_words(p, a_route, name)
    nums, failed = _compared_row(row, spec, name, c, tol, fde is not None, labels, words, pre)
    if failed is not None:
        return failed
    if nondiff is not None and nondiff.any():
        idx = tuple(int(i) for i in np.argwhere(nondiff)[0]) if nondiff.ndim else ()
        where = index_text(idx)
        left, right = float(reference.backward[idx]), float(reference.forward[idx])
        enforced = "hand_vs_torch is still enforced" if spec.name in ("hand_vs_fd", "torch_vs_fd") else \
            "the analytic comparisons are still enforced"
        return dict(row, status="nondiff", **dict(nums, worst_index=where, actual=float(a[idx]),
                                                  expected=float(r[idx])), message=(
            f"input {name!r} is at a kink at {where}{words(idx)}: one-sided derivatives left {num(left)} vs right "
            f"{num(right)} {'agree' if np.isclose(left, right, rtol=1e-6, atol=1e-8) else 'differ'} ({kink_text}), "
            f"so finite differences cannot judge it; {labels[0]} {num(a[idx])}, {labels[1]} {num(r[idx])}. "
            f"{int(nondiff.sum())} element(s) at kinks skipped"
            + (f"; the other {c.n_compared} agree" if c.n_compared else "") + f"; {enforced}"))
    return dict(row, status="pass", **nums, message=pre.rstrip(": ") if pre else "")


def _compare_whole(a: np.ndarray, r: np.ndarray, tol: Any, fd_err: np.ndarray | None,
                   exclude: np.ndarray | None) -> Comparison:
    """:func:`compare` of a second-order check's whole arrays (up to millions of entries) as one block of a
    :class:`BlockedComparison` with the tolerance known: the same comparison, in cache-sized pieces."""
    def flat(x):
        return None if x is None else np.asarray(x).reshape(-1, 1)
    size = int(np.size(r))
    blocked = BlockedComparison((1, size), None, tol)
    blocked.add(0, flat(a), flat(r), flat(fd_err if fd_err is None else np.broadcast_to(fd_err, np.shape(r))),
                flat(exclude))
    c = blocked.result()
    if c.worst_index is not None:
        c.worst_index = tuple(int(i) for i in np.unravel_index(c.worst_index[1], np.shape(r)))
    return c


def _nonfinite_row(row: dict[str, Any], spec: Check, name: str, label: str, bad: tuple[tuple[int, ...], float],
                   pre: str) -> dict[str, Any]:
    return dict(row, status="error", worst_index=index_text(bad[0]), message=pre + (
        f"{spec.name} for input {name!r}: {label} is not finite at {index_text(bad[0])} ({num(bad[1])}); "
        "non-finite gradients never pass"))


def _compared_row(row: dict[str, Any], spec: Check, name: str, c: Comparison, tol: Any, has_fd: bool,
                  labels: tuple[str, str], words: Callable, pre: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The numbers of a comparison's row, and the whole row if it failed (None: it did not)."""
    nums = dict(max_abs_err=c.max_abs_err, max_rel_err=c.max_rel_err, atol=tol.atol, rtol=tol.rtol,
                fd_err_est=c.fd_err if has_fd else float("nan"),  # at the worst element
                worst_index=index_text(c.worst_index), actual=c.actual, expected=c.expected)
    if c.passed:
        return nums, None
    where = index_text(c.worst_index)
    err_note = f" + FD error estimate {c.fd_err:.3g}" if has_fd else ""
    count = f" ({c.n_bad} of {c.n_compared} elements out of tolerance)" if c.n_compared > 1 else ""
    return nums, dict(row, status="fail", **nums, message=pre + (
        f"{spec.name} failed for input {name!r} at {where}{words(c.worst_index)}: {labels[0]} {num(c.actual)} "
        f"vs {labels[1]} {num(c.expected)}, |err| {abs(c.actual - c.expected):.3g} > tol {c.bound:.3g} "
        f"(atol {tol.atol:.3g} + rtol {tol.rtol:.3g}·|{labels[1]}|{err_note}){count}"))


def judge_blocked(checker: _Checker, spec: Check, name: str, comparison: BlockedComparison, base: dict[str, Any],
                  pre: str = "") -> dict[str, Any]:
    """The row of a second-order check judged block by block (:meth:`_Checker.blocked`): what :func:`judge`
    gives for the whole arrays (an analytic check: no kinks, no FD error, no rounding allowance)."""
    a_route, r_route = checker.routes[spec.actual], checker.routes[spec.reference]
    row = dict(check=spec.name, **base, method="")
    labels = (a_route.label, r_route.label)
    for key, label in zip(("actual", "reference"), labels):
        if key in comparison.nonfinite:
            flat, value = comparison.nonfinite[key]
            index = tuple(int(i) for i in np.unravel_index(flat, comparison.shape))
            return _nonfinite_row(row, spec, name, label, (index, value), pre)
    tol = comparison.current()
    c = comparison.result()
    nums, failed = _compared_row(row, spec, name, c, tol, False, labels,
                                 _jacobian_words(checker.point, a_route, name), pre)
    return failed if failed is not None else dict(row, status="pass", **nums, message=pre.rstrip(": ") if pre else "")


def _jacobian_words(point: Point, route: Route, name: str) -> Callable[[tuple[int, ...] | None], str]:
    """``(∂output(i)/∂x(j))`` for an element of a Jacobian ("" for a gradient); worked out when a message
    asks (most rows pass and never do)."""
    def words(index: tuple[int, ...] | None) -> str:
        own = route.element_words(name, index)  # second order: the two inputs of the Hessian entry
        if own is not None:
            return own
        out_shape = route.out_shape(name)
        out_ndim = 0 if int(np.prod(out_shape, dtype=np.int64)) == 1 else len(out_shape)
        if not out_ndim or index is None:
            return ""
        what = "∂(uᵀJ)" if route.name.startswith("subject_ggrad") else "∂output"
        return f" ({what}{index_text(index[:out_ndim])}/∂{name}{index_text(index[out_ndim:])})"
    return words


def _probe_seed(seed: int, case: str, name: str) -> list[int]:
    import hashlib

    digest = hashlib.sha256(f"{case}\0{name}".encode()).digest()
    return [int(seed) % 2**32, int.from_bytes(digest[:4], "big")]
