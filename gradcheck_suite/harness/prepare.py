"""Setting up a point and its routes: a case's forward passes, a subject's call, a bare function.

:func:`case_point` evaluates a case in one dtype (our forward, then torch's replay) and
turns anything that goes wrong into one ``evaluate`` error row; :func:`case_routes`
gives the case's own routes; :func:`subject_routes` adds the user's code bound to it
(and its ``subject_forward`` row); :func:`function_point` is the point of
``check_function`` — a subject with no case.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

import numpy as np

from .. import engine
from ..case import Case
from ..errors import EvalError
from .point import Point
from .routes import (ClaimRoute, DoubleBackwardFDRoute, DoubleBackwardRoute, FDGraphRoute, ForwardADRoute,
                     HandRoute, NumpySubject, Route, SubjectFDRoute, SubjectRoute, TorchCallable, TorchGraphRoute,
                     UnavailableRoute, USER_ERRORS)
from .verdict import compare, first_nonfinite, index_text, make_row, num

__all__ = ["case_point", "case_routes", "subject_routes", "function_point", "subject_code"]

Rows = list[dict[str, Any]]


def _error(point_or_case: Any, dtype: str, seed: int, rows: Rows, message: str, check: str = "evaluate") -> None:
    rows.append(make_row(case=point_or_case.name if isinstance(point_or_case, Case) else point_or_case.case,
                         file=point_or_case.file, dtype=dtype, seed=seed, check=check, status="error",
                         message=message))


def case_point(case: Case, dtype: str, seed: int, mode: str,
               defaults: Mapping[tuple[str, str], tuple[float, float]] | None, rows: Rows) -> Point | None:
    """The case at its point in ``dtype`` with our forward evaluated; None (and an error row) if impossible."""
    np_dtype = np.dtype(dtype)
    point = Point(case=case.name, file=case.file, line=case.line, dtype=dtype, seed=seed, values={},
                  inputs=list(case.graph.inputs), tolerance=case.tolerance, defaults=defaults, graph=case.graph,
                  claims=case.expect_graphs, mode=mode)
    try:
        leaves = case.leaves(seed)
        with np.errstate(over="ignore"):
            values = {k: np.asarray(v, dtype=np_dtype) for k, v in leaves.items()}
        for k, v in values.items():
            bad = first_nonfinite(v) if np.all(np.isfinite(leaves[k])) else None
            if bad is not None:
                _error(case, dtype, seed, rows, point.located(EvalError(
                    f"{k!r} does not fit in {dtype}: {num(leaves[k][bad[0]])} at {index_text(bad[0])} "
                    f"becomes {num(bad[1])} (the largest {dtype} is {np.finfo(np_dtype).max:.3g})")))
                return None
        point.values = values
        point.values64 = {k: v.astype(np.float64) for k, v in values.items()}
        t0 = time.perf_counter()
        point.ev = engine.evaluate(case.graph, values, np_dtype)
        point.forward_time["time_hand_s"] = time.perf_counter() - t0
    except Exception as exc:  # EvalError located; anything else is reported, never a traceback
        _error(case, dtype, seed, rows, point.located(exc))
        return None
    point.output = point.ev.output
    bad = first_nonfinite(point.ev.output)
    if bad is not None:
        _error(case, dtype, seed, rows, point.located(EvalError(
            f"the output is not finite in {dtype}: {num(bad[1])} at {index_text(bad[0])}{_culprit(point)}")))
        return None
    return point


def _culprit(point: Point) -> str:
    for node in point.graph:
        if node.is_leaf or first_nonfinite(point.ev.values[node.id]) is None:
            continue
        where = f"step {node.step!r}" if node.step else f"node {node.name or node.op}"
        return f"; the first non-finite value comes from {node.label} ({where})"
    return ""


def case_routes(point: Point, rows: Rows) -> dict[str, Route] | None:
    """``hand``, ``torch``, ``fd`` and ``claim`` of a case point (torch replayed here); None if torch fails."""
    from ..ops import registry
    from ..reference import torch_ref

    routes: dict[str, Route] = {"hand": HandRoute(point), "fd": FDGraphRoute(point), "claim": ClaimRoute(point)}
    lacking = sorted(op for op in point.graph.primitives_used() if registry.get(op).torch is None)
    if lacking:  # a plugin primitive without a torch counterpart: the torch checks say so
        routes["torch"] = UnavailableRoute(point, "torch", "torch", f"no torch counterpart: {', '.join(lacking)} "
                                                                    "declare(s) none")
        return routes
    try:
        t0 = time.perf_counter()
        point.tev = torch_ref.replay(point.graph, point.values, point.dtype)
        point.forward_time["time_torch_s"] = time.perf_counter() - t0
    except torch_ref.TorchReplayError as exc:
        node = exc.node
        _error(point, point.dtype, point.seed, rows, str(EvalError(
            str(exc), file=point.file, case=point.case, step=node.step, line=node.line or None,
            col=node.col or None)))
        return None
    out = point.tev.output.detach().numpy()
    bad = first_nonfinite(out)
    if bad is not None:
        _error(point, point.dtype, point.seed, rows, point.located(EvalError(
            f"the torch reference's output is not finite: {num(bad[1])} at {index_text(bad[0])} "
            "(our forward is finite there)")))
        return None
    routes["torch"] = TorchGraphRoute(point, _torch_dtype_problem(point))
    return routes


def _torch_dtype_problem(point: Point) -> str:
    from ..reference import torch_ref

    wrong = point.tev.first_wrong_dtype(torch_ref.torch_dtype(point.dtype))
    if wrong is None:
        return ""
    node = point.graph[wrong]
    got = str(point.tev.values[wrong].dtype).replace("torch.", "")
    return (f"wrong dtype: the torch counterpart of {node.op} (step {node.step or node.name!r}) computes in "
            f"{got}, the case runs in {point.dtype}")


# ---- subjects ------------------------------------------------------------------------


def subject_code(subject: Any, names: list[str]) -> TorchCallable | NumpySubject:
    """How to call ``subject`` with the point's values named ``names`` (its ``args``, or the inputs)."""
    args = list(subject.args) if subject.args is not None else names
    what = subject.describe()
    if subject.kind == "numpy":
        return NumpySubject(subject.fn, subject.backward, args, subject.cache, what)
    return TorchCallable(subject.fn, args, what)


def subject_routes(point: Point, subject: Any, rows: Rows, case_routes: Mapping[str, Route] | None = None,
                   reference: bool = True) -> dict[str, Route]:
    """The routes of the user's code at ``point``, and its ``subject_forward`` row (when ``reference``).

    A numpy subject without a forward is held to finite differences of the case's
    forward (``case_routes["fd"]``) instead of its own.
    """
    what = subject.describe()
    missing = [a for a in (subject.args or ()) if a not in point.values]
    if missing:
        _error(point, point.dtype, point.seed, rows, point.located(EvalError(
            f"{what} takes {', '.join(map(repr, missing))}, which the case does not define "
            f"(it has {', '.join(point.values)})")), check="subject_forward")
        return {}
    code = subject_code(subject, point.inputs)
    routes: dict[str, Route] = {"subject": SubjectRoute(point, code, what)}
    routes["subject"].label = subject.label
    has_forward = subject.fn is not None
    if reference:
        rows.append(make_row(case=point.case, file=point.file, dtype=point.dtype, seed=point.seed,
                             **_forward_row(point, code, has_forward, what)))
    if has_forward:
        routes["subject_fd"] = SubjectFDRoute(point, code.forward, what)
    elif case_routes and "fd" in case_routes:  # no forward: the case's own forward stands in
        routes["subject_fd"] = case_routes["fd"]
    if isinstance(code, TorchCallable):  # forward_ad / double_backward: None auto, True asked, False off
        if subject.forward_ad is not False:
            routes["subject_forward_ad"] = ForwardADRoute(point, code, subject.forward_ad, what)
        if subject.double_backward is not False:
            rng = np.random.default_rng([int(point.seed) % 2**32, 0x5EC0D])
            u = rng.standard_normal(point.out_shape)
            routes["subject_ggrad"] = DoubleBackwardRoute(point, code, subject.double_backward, u, what)
            routes["subject_ggrad_fd"] = DoubleBackwardFDRoute(point, code, u)
    return routes


def _forward_row(point: Point, code: TorchCallable | NumpySubject, has_forward: bool, what: str) -> dict:
    fields: dict[str, Any] = dict(check="subject_forward", input="", shape=str(point.out_shape))
    if not has_forward:
        return dict(fields, status="skip", message=f"{what} has no forward: only its backward is checked")
    try:
        out = np.asarray(code.forward(point.values, point.dtype))
    except USER_ERRORS as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return dict(fields, status="error", message=f"{what} raised {type(exc).__name__}: {text}")
    ref = np.asarray(point.output, dtype=np.float64)
    if out.shape != ref.shape and not (out.size == 1 and ref.size == 1):
        return dict(fields, status="fail", message=f"subject_forward failed: {what} returns shape {out.shape}, "
                                                   f"the reference {ref.shape}")
    out = out.reshape(ref.shape).astype(np.float64)
    bad = first_nonfinite(out)
    if bad is not None:
        return dict(fields, status="error", message=f"{what}'s output is not finite at {index_text(bad[0])} "
                                                     f"({num(bad[1])})")
    tol = point.tolerance_of("analytic", ref)
    c = compare(out, ref, tol)
    nums = dict(max_abs_err=c.max_abs_err, max_rel_err=c.max_rel_err, atol=tol.atol, rtol=tol.rtol,
                worst_index=index_text(c.worst_index), actual=c.actual, expected=c.expected)
    if c.passed:
        return dict(fields, status="pass", **nums, message="")
    return dict(fields, status="fail", **nums, message=(
        f"subject_forward failed at {index_text(c.worst_index)}: {what} computes {num(c.actual)}, the reference "
        f"forward {num(c.expected)} (|err| {abs(c.actual - c.expected):.3g} > tol {c.bound:.3g}); a forward that "
        "changed while its backward did not is caught here and by subject_vs_fd"))


def function_point(name: str, file: str, values: dict[str, np.ndarray], dtype: str, seed: int, mode: str,
                   output: np.ndarray, tolerance: Mapping[str, float] | None = None,
                   defaults: Mapping[tuple[str, str], tuple[float, float]] | None = None) -> Point:
    """The point of a bare function under test (no case): its inputs, in ``dtype``."""
    cast = {k: np.asarray(v, dtype=dtype) for k, v in values.items()}
    return Point(case=name, file=file, line=0, dtype=dtype, seed=seed, values=cast, inputs=list(values),
                 output=np.asarray(output), tolerance=tolerance or {}, defaults=defaults, mode=mode)
