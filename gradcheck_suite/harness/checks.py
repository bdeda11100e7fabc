"""One case, one dtype, one input: our gradient against torch.autograd and finite differences.

For every input the rows ``hand_vs_torch``, ``hand_vs_fd``, ``torch_vs_fd`` and (when
the case claims a derivative for it) ``expect_vs_torch``.  A case that cannot be
evaluated gives one ``error`` row (check ``evaluate``) per dtype instead.

The point is materialised in float64, cast to the case dtype, and that dtype's value
(back in float64) is what the finite differences and the claims see: the float32
gradient is judged at exactly the point where it was computed.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from .. import engine
from ..case import Case
from ..errors import EvalError, GradcheckError
from ..ops.registry import RuleError
from ..reference import fd, torch_ref
from . import kinks, projections
from .tolerances import tolerance_for
from .verdict import CHECK_ORDER, COLUMNS, LABELS, compare, first_nonfinite, index_text, make_row, num

__all__ = ["CaseResult", "check_case", "sort_table", "sorted_rows", "ARRAY_LIMIT", "PROBES"]

#: arrays (ours / torch / fd / abs_err) are kept for the report up to this many elements
ARRAY_LIMIT = 400
#: number of random projections per input in projected mode
PROBES = 6
#: largest input for which a failing projection falls back to the full Jacobian
FALLBACK_LIMIT = 100_000
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
        self._table = table
        self._rows = rows

    @property
    def table(self) -> pd.DataFrame:
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
                inputs.get(r["input"], len(inputs)), r["input"], order.get(r["check"], 99), r["message"])

    return sorted(rows, key=key)


def sort_table(rows: list[dict[str, Any]], input_order: dict[str, dict[str, int]] | None = None) -> pd.DataFrame:
    """The rows as a DataFrame in the contract's column and row order."""
    return pd.DataFrame(sorted_rows(rows, input_order), columns=COLUMNS).reset_index(drop=True)


def check_case(case: Case, *, dtypes: list[str] | None = None, seed: int = 0, mode: str | None = None,
               threshold: int = 2000) -> CaseResult:
    """Every check of ``case`` in each dtype (default: the case's own ``dtypes``)."""
    rows: list[dict[str, Any]] = []
    arrays: dict[tuple[str, str, str], dict[str, Any]] = {}
    for dtype in dtypes or case.dtypes:
        _Run(case, dtype, seed, mode or case.mode or "auto", threshold, rows, arrays).all_inputs()
    order = {case.name: {n: i for i, n in enumerate(case.graph.inputs)}}
    return CaseResult(case, arrays=arrays, rows=sorted_rows(rows, order))


class _Run:
    """The checks of one case in one dtype (a small object so the steps can share the point)."""

    def __init__(self, case: Case, dtype: str, seed: int, mode: str, threshold: int,
                 rows: list[dict[str, Any]], arrays: dict) -> None:
        self.case, self.dtype, self.seed, self.mode, self.threshold = case, dtype, seed, mode, threshold
        self.rows, self.arrays = rows, arrays
        self.np_dtype = np.dtype(dtype)
        self.graph = case.graph

    # ---- rows ---------------------------------------------------------------------

    def row(self, **fields: Any) -> None:
        self.rows.append(make_row(case=self.case.name, file=self.case.file, dtype=self.dtype, seed=self.seed,
                                  **fields))

    def error(self, message: str, check: str = "evaluate", **fields: Any) -> None:
        self.row(check=check, status="error", message=message, **fields)

    def located(self, exc: Exception) -> str:
        if isinstance(exc, GradcheckError):
            return str(exc.located(file=self.case.file, case=self.case.name))
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return str(EvalError(f"{type(exc).__name__}: {text}", file=self.case.file, case=self.case.name,
                             line=self.case.line or None))

    # ---- the forward passes -------------------------------------------------------

    def all_inputs(self) -> None:
        try:
            leaves = self.case.leaves(self.seed)
            with np.errstate(over="ignore"):
                self.point = {k: np.asarray(v, dtype=self.np_dtype) for k, v in leaves.items()}
            for k, v in self.point.items():
                bad = first_nonfinite(v) if np.all(np.isfinite(leaves[k])) else None
                if bad is not None:
                    return self.error(self.located(EvalError(
                        f"{k!r} does not fit in {self.dtype}: {num(leaves[k][bad[0]])} at {index_text(bad[0])} "
                        f"becomes {num(bad[1])} (the largest {self.dtype} is {np.finfo(self.np_dtype).max:.3g})")))
            self.point64 = {k: v.astype(np.float64) for k, v in self.point.items()}
            t0 = time.perf_counter()
            self.ev = engine.evaluate(self.graph, self.point, self.np_dtype)
            self.t_forward = time.perf_counter() - t0
        except Exception as exc:  # EvalError located; anything else is reported, never a traceback
            return self.error(self.located(exc))
        if not self._output_finite():
            return
        try:
            t0 = time.perf_counter()
            self.tev = torch_ref.replay(self.graph, self.point, self.dtype)
            self.t_torch_forward = time.perf_counter() - t0
        except torch_ref.TorchReplayError as exc:
            node = exc.node
            return self.error(str(EvalError(str(exc), file=self.case.file, case=self.case.name, step=node.step,
                                            line=node.line or None, col=node.col or None)))
        out = self.tev.output.detach().numpy()
        bad = first_nonfinite(out)
        if bad is not None:
            return self.error(self.located(EvalError(
                f"the torch reference's output is not finite: {num(bad[1])} at {index_text(bad[0])} "
                "(our forward is finite there)")))
        self.torch_dtype_problem = self._torch_dtype_problem()
        with np.errstate(all="ignore"):  # non-finite values become error rows, not warnings
            for name in self.graph.inputs:
                self.one_input(name)

    def _output_finite(self) -> bool:
        bad = first_nonfinite(self.ev.output)
        if bad is None:
            return True
        culprit = ""
        for node in self.graph:
            value = self.ev.values[node.id]
            if node.is_leaf or first_nonfinite(value) is None:
                continue
            where = f"step {node.step!r}" if node.step else f"node {node.name or node.op}"
            what = node.label
            culprit = f"; the first non-finite value comes from {what} ({where})"
            break
        self.error(self.located(EvalError(
            f"the output is not finite in {self.dtype}: {num(bad[1])} at {index_text(bad[0])}{culprit}")))
        return False

    def _torch_dtype_problem(self) -> str:
        wrong = self.tev.first_wrong_dtype(torch_ref.torch_dtype(self.dtype))
        if wrong is None:
            return ""
        node = self.graph[wrong]
        got = str(self.tev.values[wrong].dtype).replace("torch.", "")
        return (f"wrong dtype: the torch counterpart of {node.op} (step {node.step or node.name!r}) computes in "
                f"{got}, the case runs in {self.dtype}")

    # ---- one input ----------------------------------------------------------------

    def one_input(self, name: str) -> None:
        x = self.point[name]
        projected = self.mode == "projected" or (self.mode == "auto" and x.size > self.threshold)
        common = {"input": name, "shape": str(tuple(x.shape))}
        if projected:
            rng = np.random.default_rng(_probe_seed(self.seed, self.case.name, name))
            try:
                outcome = projections.check(self, name, rng, PROBES)
            except Exception as exc:  # a reference that cannot project: the full path says what is wrong
                outcome = projections.Outcome(False, note=f"{type(exc).__name__}: {exc}".splitlines()[0])
            if not outcome.ok and x.size > FALLBACK_LIMIT:
                outcome.rows = [dict(check=c, status=outcome.status_of(c), message=outcome.message_of(c, name))
                                for c in ("hand_vs_torch", "hand_vs_fd", "torch_vs_fd")]
            if outcome.ok or x.size > FALLBACK_LIMIT:
                for r in outcome.rows:
                    self.row(**common, mode="projected", **r)
                self.expect_row(name, common, "projected")
                return
            self.full(name, common, note=f"random projections disagreed ({outcome.note})")
            return
        self.full(name, common)

    def full(self, name: str, common: dict[str, Any], note: str = "") -> None:
        scalar = self.ev.output.size == 1
        x_shape = self.point[name].shape
        out_shape = self.ev.output.shape
        cmp_shape = x_shape if scalar else out_shape + x_shape
        timing = {}
        # ours
        hand, hand_problem, hand_status = None, "", "fail"
        t0 = time.perf_counter()
        try:
            hand = (engine.gradient(self.ev, wrt=[name]) if scalar else engine.jacobian(self.ev, wrt=[name]))[name]
        except RuleError as exc:
            hand_problem = f"our rule is broken: {exc}"
        except Exception as exc:
            hand_problem, hand_status = f"our engine failed: {self.located(exc)}", "error"
        timing["time_hand_s"] = time.perf_counter() - t0 + self.t_forward
        if hand is not None and hand.dtype != self.np_dtype:
            hand_problem = f"wrong dtype: our gradient is {hand.dtype}, the case runs in {self.dtype}"
        if hand is not None and not hand_problem:
            hand = hand.reshape(cmp_shape)
        # ours again in forward mode (the JVP rules), where a Jacobian column by column is affordable
        hand_fwd = None
        if hand is not None and not hand_problem and x_size_ok(self.point[name].size, self.ev):
            t0 = time.perf_counter()
            try:
                hand_fwd = engine.jacobian(self.ev, wrt=[name], mode="forward")[name].reshape(cmp_shape)
            except RuleError as exc:
                hand_problem = f"our JVP rule is broken: {exc}"
            except Exception as exc:
                hand_problem, hand_status = f"our engine failed in forward mode: {self.located(exc)}", "error"
            timing["time_hand_s"] += time.perf_counter() - t0
        # torch
        theirs, torch_problem, torch_status = None, self.torch_dtype_problem, "fail"
        t0 = time.perf_counter()
        try:
            theirs = (torch_ref.gradient(self.tev, [name]) if scalar else torch_ref.jacobian(self.tev, [name]))[name]
            theirs = theirs.reshape(cmp_shape)
        except Exception as exc:
            torch_problem, torch_status = f"torch.autograd failed: {self.located(exc)}", "error"
        timing["time_torch_s"] = time.perf_counter() - t0 + self.t_torch_forward
        if theirs is not None and not torch_problem and theirs.dtype != self.np_dtype:
            torch_problem = f"wrong dtype: the torch gradient is {theirs.dtype}, the case runs in {self.dtype}"
        # finite differences
        t0 = time.perf_counter()
        fdr, fd_problem = None, ""
        try:
            fdr = fd.derivative(self.graph, self.point64, name)
        except Exception as exc:
            fd_problem = f"finite differences failed: {self.located(exc)}"
        timing["time_fd_s"] = time.perf_counter() - t0
        fdv = fde = fwd = bwd = None
        method = ""
        if fdr is not None:
            method = fdr.method
            n_rows = len(x_shape)
            fdv = fdr.jacobian(fdr.value, n_rows).reshape(cmp_shape)
            fde = fdr.jacobian(fdr.error, n_rows).reshape(cmp_shape)
            if fdr.forward is not None:
                fwd = fdr.jacobian(fdr.forward, n_rows).reshape(cmp_shape)
                bwd = fdr.jacobian(fdr.backward, n_rows).reshape(cmp_shape)
            bad = first_nonfinite(fdv)
            if bad is not None:
                fd_problem = (f"finite differences could not be evaluated at {index_text(bad[0])}: the function is "
                              f"not finite near the point for any step down to {np.min(fdr.step):.3g}")
        self.rounding = self._rounding(name, scalar, theirs, cmp_shape) if not torch_problem else 0.0
        base = dict(common, mode="full", **timing)
        pre = f"{note}; full Jacobian: " if note else ""
        # kinks: which elements are nondiff
        nondiff = None
        kink_text = ""
        if fwd is not None and not fd_problem:
            near = kinks.kinks_near(self.graph, self.point64, name)
            if near:
                tol = tolerance_for("hand_vs_fd", self.dtype, fdv, self.case.tolerance, self.rounding)
                nondiff = kinks.disagreeing(fwd, bwd, tol.rtol, tol.atol, fde)
                exact = [k for k in near if k.exact]
                if exact:  # torch's convention is the reference; hand_vs_torch still judges ours
                    reference = theirs if theirs is not None and not torch_problem else \
                        hand if hand is not None and not hand_problem else None
                    if reference is not None:
                        nondiff |= kinks.off_branch(reference.reshape(fdv.shape), fdv, tol.rtol, tol.atol, fde)
                if not nondiff.any():
                    nondiff = None
                kink_text = min(near, key=lambda k: (k.distance, k.op not in kinks.ISOLATED_OPS)).describe()
        pairs = {
            "hand_vs_torch": (hand, hand_problem, hand_status, theirs, torch_problem, torch_status),
            "hand_vs_fd": (hand, hand_problem, hand_status, fdv, fd_problem, "error"),
            "torch_vs_fd": (theirs, torch_problem, torch_status, fdv, fd_problem, "error"),
        }
        for check, (a, a_problem, a_status, r, r_problem, r_status) in pairs.items():
            fd_row = check.endswith("_fd")
            extra = {"method": method if fd_row else ""}
            if a_problem or r_problem:
                status = "error" if "error" in ((a_status if a_problem else ""), (r_status if r_problem else "")) \
                    else "fail"
                self.row(check=check, status=status, message=pre + f"{check} for input {name!r}: "
                         + "; ".join(p for p in (a_problem, r_problem) if p), **base, **extra)
                continue
            self.compare_row(check, name, a, r, fde if fd_row else None, nondiff if fd_row else None,
                             fwd, bwd, kink_text, base, extra, pre, hand_fwd if a is hand else None)
        if hand is not None and theirs is not None and fdv is not None and hand.size <= ARRAY_LIMIT \
                and not hand_problem and not torch_problem:
            self.arrays[(self.case.name, self.dtype, name)] = {
                "ours": hand, "torch": theirs, "fd": fdv, "abs_err": np.abs(hand.astype(np.float64) - theirs),
                "fd_err_est": fde, "kind": "gradient" if scalar else "jacobian",
                "nondiff": nondiff if nondiff is not None else np.zeros(cmp_shape, dtype=bool),
            }
        self.expect_row(name, common, "full", theirs if not torch_problem else None)

    def _rounding(self, name: str, scalar: bool, theirs: np.ndarray | None, shape: tuple[int, ...]) -> float:
        """float32 only: 2·max|torch in this dtype − torch in float64| at the same point."""
        if self.dtype == "float64" or theirs is None:
            return 0.0
        try:
            tev = torch_ref.replay(self.graph, self.point64, "float64", wrt=[name])
            exact = (torch_ref.gradient(tev, [name]) if scalar else torch_ref.jacobian(tev, [name]))[name]
            diff = np.abs(theirs.astype(np.float64) - exact.reshape(shape))
        except Exception:  # the float64 replay is only an estimate; without it no allowance
            return 0.0
        diff = diff[np.isfinite(diff)]
        return 2.0 * float(diff.max()) if diff.size else 0.0

    def compare_row(self, check, name, a, r, fde, nondiff, fwd, bwd, kink_text, base, extra, pre,
                    a_forward: np.ndarray | None = None) -> None:
        labels = LABELS[check]
        for label, arr in zip(labels + ("ours (forward mode)",), (a, r, a_forward)):
            if arr is None:
                continue
            bad = first_nonfinite(arr)
            if bad is not None:
                self.row(check=check, status="error", worst_index=index_text(bad[0]), **base, **extra,
                         message=pre + f"{check} for input {name!r}: {label} is not finite at "
                                       f"{index_text(bad[0])} ({num(bad[1])}); non-finite gradients never pass")
                return
        tol = tolerance_for(check, self.dtype, r, self.case.tolerance, getattr(self, "rounding", 0.0))
        c = compare(a, r, tol, fde, nondiff)
        if a_forward is not None and c.passed:
            c_forward = compare(a_forward, r, tol, fde, nondiff)
            if not c_forward.passed:  # the VJP rules agree but a JVP rule does not
                a, c, labels = a_forward, c_forward, ("ours (forward mode, JVP rules)", labels[1])
        nums = dict(max_abs_err=c.max_abs_err, max_rel_err=c.max_rel_err, atol=tol.atol, rtol=tol.rtol,
                    fd_err_est=c.fd_err if fde is not None else float("nan"),  # at the worst element
                    worst_index=index_text(c.worst_index), actual=c.actual, expected=c.expected)
        if not c.passed:
            where = index_text(c.worst_index)
            err_note = f" + FD error estimate {c.fd_err:.3g}" if fde is not None else ""
            count = f" ({c.n_bad} of {c.n_compared} elements out of tolerance)" if c.n_compared > 1 else ""
            jac = self._jacobian_words(name, c.worst_index)
            self.row(check=check, status="fail", **base, **extra, **nums, message=pre + (
                f"{check} failed for input {name!r} at {where}{jac}: {labels[0]} {num(c.actual)} vs "
                f"{labels[1]} {num(c.expected)}, |err| {abs(c.actual - c.expected):.3g}"
                f" > tol {c.bound:.3g} (atol {tol.atol:.3g} + rtol {tol.rtol:.3g}·|{labels[1]}|{err_note}){count}"))
            return
        if nondiff is not None and nondiff.any():
            idx = tuple(int(i) for i in np.argwhere(nondiff)[0]) if nondiff.ndim else ()
            where = index_text(idx)
            left, right = float(bwd[idx]), float(fwd[idx])
            self.row(check=check, status="nondiff", **base, **extra, **dict(nums, worst_index=where,
                     actual=float(a[idx]), expected=float(r[idx])), message=(
                f"input {name!r} is at a kink at {where}{self._jacobian_words(name, idx)}: one-sided derivatives "
                f"left {num(left)} vs right {num(right)} "
                f"{'agree' if np.isclose(left, right, rtol=1e-6, atol=1e-8) else 'differ'} ({kink_text}), "
                f"so finite differences cannot judge "
                f"it; {labels[0]} {num(a[idx])}, {labels[1]} {num(r[idx])}. {int(nondiff.sum())} element(s) at "
                f"kinks skipped" + (f"; the other {c.n_compared} agree" if c.n_compared else "")
                + "; hand_vs_torch is still enforced"))
            return
        self.row(check=check, status="pass", **base, **extra, **nums, message=pre.rstrip(": ") if pre else "")

    def _jacobian_words(self, name: str, index: tuple[int, ...] | None) -> str:
        out_ndim = self.ev.output.ndim if self.ev.output.size != 1 else 0
        if not out_ndim or index is None:
            return ""
        return f" (∂output{index_text(index[:out_ndim])}/∂{name}{index_text(index[out_ndim:])})"

    # ---- claims -------------------------------------------------------------------

    def expect_row(self, name: str, common: dict[str, Any], mode: str, theirs: np.ndarray | None = None) -> None:
        graph = self.case.expect_graphs.get(name)
        if graph is None:
            return
        base = dict(common, mode=mode)
        if self.ev.output.size != 1:
            self.row(check="expect_vs_torch", status="skip", **base,
                     message=f"expect: claims are gradients of a scalar output; the output has shape "
                             f"{tuple(self.ev.output.shape)}")
            return
        try:
            if theirs is None:
                theirs = torch_ref.gradient(self.tev, [name])[name].reshape(self.point[name].shape)
            claim = np.asarray(engine.evaluate(graph, self.point64, np.float64).output, dtype=np.float64)
        except Exception as exc:
            self.row(check="expect_vs_torch", status="error", **base,
                     message=f"the claimed derivative for {name!r} could not be evaluated: {self.located(exc)}")
            return
        shape = self.point[name].shape
        try:
            claim = np.broadcast_to(claim, shape)
        except ValueError:
            self.row(check="expect_vs_torch", status="fail", **base,
                     message=f"expect_vs_torch failed for input {name!r}: the claim has shape {claim.shape}, "
                             f"the input {shape}")
            return
        if not hasattr(self, "rounding") or mode == "projected":
            self.rounding = self._rounding(name, True, theirs, shape)
        self.compare_row("expect_vs_torch", name, claim, theirs, None, None, None, None, "", base, {}, "")


#: a forward-mode Jacobian (one JVP per input element) is computed when
#: input elements × graph elements stays under this
FORWARD_BUDGET = 20_000_000


def x_size_ok(n: int, ev: engine.Evaluation) -> bool:
    """Is a forward-mode Jacobian of an input of ``n`` elements affordable?"""
    return n * sum(int(np.size(v)) for v in ev.values) <= FORWARD_BUDGET


def _probe_seed(seed: int, case: str, name: str) -> list[int]:
    import hashlib

    digest = hashlib.sha256(f"{case}\0{name}".encode()).digest()
    return [int(seed) % 2**32, int.from_bytes(digest[:4], "big")]
