"""Gradient routes: every source of derivatives behind one small interface.

A route answers, for one input of a :class:`~.point.Point`:

``full(name) -> Derivative``
    the whole gradient (one-element output) or Jacobian (output shape + input shape), or
    the problem that prevented it, with the status a row then gets (fail, error, skip);
``vjp(name, u)``  K cotangents pulled back (K + input shape) — analytic routes;
``jvp(name, v)``  K tangents pushed forward (K + output shape) — where a forward mode exists;
``directional(name, v)`` an :class:`~gradcheck_suite.reference.fd.FDResult` — finite-difference routes.

The routes: ``hand`` (our engine), ``torch`` (torch.autograd on the case's graph, or on a
reference function), ``fd`` (finite differences of the case's graph), ``claim`` (an
``expect:`` formula), and for a subject — the user's code under test — ``subject`` (its
gradient: torch.autograd on the subject, or its numpy backward), ``subject_fd`` (finite
differences of the subject's own forward), ``subject_forward_ad``, ``subject_ggrad`` (the
derivative of its VJP, i.e. its double backward) and ``subject_ggrad_fd`` (finite
differences of its first backward).  Which routes are compared is declared in
:mod:`.checks`; nothing here judges anything.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .. import engine
from ..ops import registry
from ..ops.registry import RuleError
from ..reference import fd
from .point import Point
from .verdict import first_nonfinite, index_text

__all__ = ["Derivative", "Route", "UnavailableRoute", "opaque_fd", "HandRoute", "TorchGraphRoute", "FDGraphRoute", "ClaimRoute",
           "SubjectRoute", "SubjectFDRoute", "ForwardADRoute", "DoubleBackwardRoute", "DoubleBackwardFDRoute",
           "TorchCallable", "NumpySubject", "FORWARD_BUDGET", "x_size_ok"]

#: what the user's code may raise and still be reported as an error row (a sys.exit() in a
#: subject must not end the run)
USER_ERRORS = (Exception, SystemExit)

#: a forward-mode Jacobian (one JVP per input element) is computed when
#: input elements × graph elements stays under this
FORWARD_BUDGET = 20_000_000


def x_size_ok(n: int, ev: engine.Evaluation) -> bool:
    """Is a forward-mode Jacobian of an input of ``n`` elements affordable?"""
    return n * sum(int(np.size(v)) for v in ev.values) <= FORWARD_BUDGET


@dataclass
class Derivative:
    """One route's derivative for one input, or why there is none.

    ``status`` is the status of a row whose side has ``problem`` (``fail`` for a wrong
    rule, ``error`` for code that raised, ``skip`` for something not supported).
    ``error``/``forward``/``backward`` are the FD error estimate and one-sided
    estimates (FD routes); ``also`` is the same derivative by a second mode of the same
    route (our JVP rules) with its label.
    """

    value: np.ndarray | None = None
    problem: str = ""
    status: str = "fail"
    error: np.ndarray | None = None
    forward: np.ndarray | None = None
    backward: np.ndarray | None = None
    method: str = ""
    also: tuple[np.ndarray, str] | None = None
    note: str = ""

    @property
    def usable(self) -> bool:
        return self.value is not None and not self.problem


class Route:
    """Base: caches ``full`` per input and times it into the point's timing column."""

    name = ""
    label = ""
    kind = "analytic"            # analytic | fd | claim
    timing_column: str | None = None

    def __init__(self, point: Point) -> None:
        self.point = point
        self._full: dict[str, Derivative] = {}

    def full(self, name: str) -> Derivative:
        if name not in self._full:
            t0 = time.perf_counter()
            self._full[name] = self._compute(name)
            if self.timing_column:
                self.point.timing[self.timing_column] = (time.perf_counter() - t0
                                                         + self.point.forward_time.get(self.timing_column, 0.0))
        return self._full[name]

    def _compute(self, name: str) -> Derivative:
        raise NotImplementedError

    def out_shape(self, name: str) -> tuple[int, ...]:
        """Shape of what this route differentiates (the case's output, unless the route says otherwise)."""
        return self.point.out_shape

    def unsupported(self, name: str) -> Derivative | None:
        """A cheap pre-flight: a ``skip`` Derivative when the route cannot serve this input at all."""
        return None

    def rounding(self, name: str) -> float:
        """The measured float32 rounding of this route's derivative (added to float32 tolerances
        against float64 truth); 0 where the route cannot measure it."""
        return 0.0

    #: the analytic route whose float32 rounding widens a float32 check against this (FD) route
    rounding_from = "torch"
    #: an FD route that gives the projected uᵀJv itself (second differences), not directional Jv
    projects_pairs = False

    def kink_mask(self, name: str, fdd: Derivative, tol: Any) -> tuple[np.ndarray | None, str] | None:
        """An FD route's own verdict on which elements sit on a kink; None: the harness decides
        from the case's graph (or, for opaque code, from the one-sided differences)."""
        return None

    def element_words(self, name: str, index: tuple[int, ...] | None) -> str | None:
        """How a message names element ``index`` of this route's derivative; None: as a Jacobian entry."""
        return None

    has_vjp = True
    has_jvp = False

    def vjp(self, name: str, u: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def gradient(self, name: str) -> np.ndarray:
        """The gradient of a one-element output (one pull-back of the cotangent 1)."""
        return self.vjp(name, np.ones((1,) + self.out_shape(name)))[0]

    def jvp(self, name: str, v: np.ndarray) -> np.ndarray:
        raise NotImplementedError


def _reshape(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return np.asarray(value).reshape(shape)


# ---- the case's own routes ----------------------------------------------------------


class HandRoute(Route):
    """Our engine: the VJP rules (and the JVP rules where a forward-mode Jacobian is affordable)."""

    name, label, timing_column = "hand", "ours", "time_hand_s"
    has_jvp = True

    def __init__(self, point: Point) -> None:
        super().__init__(point)
        self._missing: dict[str, list[str]] = {}

    def missing_jvp(self, name: str) -> list[str]:
        """Primitives between ``name`` and the output that declare no JVP rule (plugin primitives may not;
        kept per input: the harness and this route both ask)."""
        if name not in self._missing:
            graph = self.point.graph
            self._missing[name] = sorted({graph[i].op for i in fd.path_nodes(graph, name)
                                          if any(r is registry.NOT_DECLARED for r in registry.get(graph[i].op).jvp)})
        return list(self._missing[name])

    def _compute(self, name: str) -> Derivative:
        p = self.point
        shape = p.compared_shape(name)
        try:
            value = (engine.gradient(p.ev, wrt=[name]) if p.scalar else engine.jacobian(p.ev, wrt=[name]))[name]
        except RuleError as exc:
            return Derivative(problem=f"our rule is broken: {exc}")
        except Exception as exc:
            return Derivative(problem=f"our engine failed: {p.located(exc)}", status="error")
        if value.dtype != p.np_dtype:
            return Derivative(problem=f"wrong dtype: our gradient is {value.dtype}, the case runs in {p.dtype}")
        value = value.reshape(shape)
        if self.missing_jvp(name) or not x_size_ok(p.values[name].size, p.ev):
            return Derivative(value)
        try:
            forward = engine.jacobian(p.ev, wrt=[name], mode="forward")[name].reshape(shape)
        except RuleError as exc:
            return Derivative(value, problem=f"our JVP rule is broken: {exc}")
        except Exception as exc:
            return Derivative(value, problem=f"our engine failed in forward mode: {p.located(exc)}", status="error")
        return Derivative(value, also=(forward, "ours (forward mode, JVP rules)"))

    def gradient(self, name: str) -> np.ndarray:
        return engine.gradient(self.point.ev, wrt=[name])[name].astype(np.float64)

    def vjp(self, name: str, u: np.ndarray) -> np.ndarray:
        p = self.point
        return engine.vjp(p.ev, u.astype(p.np_dtype), wrt=[name])[name].astype(np.float64)

    def jvp(self, name: str, v: np.ndarray) -> np.ndarray:
        return engine.jvp(self.point.ev, {name: v.astype(self.point.np_dtype)}).astype(np.float64)


class TorchGraphRoute(Route):
    """torch.autograd on the case's graph replayed with torch ops (or on a reference function)."""

    name, label, timing_column = "torch", "torch", "time_torch_s"

    def __init__(self, point: Point, dtype_problem: str = "") -> None:
        super().__init__(point)
        self.dtype_problem = dtype_problem

    def _compute(self, name: str) -> Derivative:
        from ..reference import torch_ref

        p = self.point
        try:
            value = (torch_ref.gradient(p.tev, [name]) if p.scalar else torch_ref.jacobian(p.tev, [name]))[name]
            value = value.reshape(p.compared_shape(name))
        except Exception as exc:
            return Derivative(problem=f"torch.autograd failed: {p.located(exc)}", status="error")
        if self.dtype_problem:
            return Derivative(value, problem=self.dtype_problem)
        if value.dtype != p.np_dtype:
            return Derivative(value, problem=f"wrong dtype: the torch gradient is {value.dtype}, the case runs in "
                                             f"{p.dtype}")
        return Derivative(value)

    def gradient(self, name: str) -> np.ndarray:
        from ..reference import torch_ref

        return torch_ref.gradient(self.point.tev, [name])[name].astype(np.float64)

    def vjp(self, name: str, u: np.ndarray) -> np.ndarray:
        from ..reference import torch_ref

        return torch_ref.vjp(self.point.tev, u, [name])[name].astype(np.float64)

    def float64_vjp(self, name: str, u: np.ndarray) -> np.ndarray | None:
        """The same VJP in float64 at the same point (the float32 rounding allowance); None if impossible."""
        from ..reference import torch_ref

        p = self.point
        if p.graph is None:
            return None
        tev = torch_ref.replay(p.graph, p.values64, "float64", wrt=[name])
        return torch_ref.vjp(tev, u, [name])[name]

    def rounding(self, name: str) -> float:
        """float32 only: 2·max|torch in this dtype − torch in float64| at the same point."""
        from ..reference import torch_ref

        p = self.point
        theirs = self.full(name)
        if p.dtype == "float64" or theirs.value is None or p.graph is None:
            return 0.0
        try:
            tev = torch_ref.replay(p.graph, p.values64, "float64", wrt=[name])
            exact = (torch_ref.gradient(tev, [name]) if p.scalar else torch_ref.jacobian(tev, [name]))[name]
            diff = np.abs(theirs.value.astype(np.float64) - exact.reshape(theirs.value.shape))
        except Exception:  # the float64 replay is only an estimate; without it no allowance
            return 0.0
        diff = diff[np.isfinite(diff)]
        return 2.0 * float(diff.max()) if diff.size else 0.0


class FDGraphRoute(Route):
    """Finite differences of the case's graph (the primitives' numpy forwards), in float64."""

    name, label, kind, timing_column = "fd", "finite differences", "fd", "time_fd_s"
    has_vjp = False

    def __init__(self, point: Point) -> None:
        super().__init__(point)
        self._base: fd.Base | None = None

    def base(self) -> fd.Base:
        """The unperturbed float64 forward every input's differences start from: made once per point (kept:
        each input would make it again), from our own forward when the point is float64 (the same values)."""
        if self._base is None:
            p = self.point
            same = p.np_dtype == np.float64 and p.ev is not None and p.ev.graph is p.graph
            self._base = fd.base_of(p.ev) if same else fd.base(p.graph, p.values64)
        return self._base

    def _compute(self, name: str) -> Derivative:
        p = self.point
        try:
            result = fd.derivative(p.graph, p.values64, name, at=self.base())
        except Exception as exc:
            return Derivative(problem=f"finite differences failed: {p.located(exc)}", status="error")
        return _from_fd(result, p.values[name].ndim, p.compared_shape(name))

    def directional(self, name: str, v: np.ndarray) -> fd.FDResult:
        return fd.directional(self.point.graph, self.point.values64, name, v, at=self.base())


def opaque_fd(point: Point, function: Callable[[np.ndarray], np.ndarray], name: str, shape: tuple[int, ...],
              what: str, batched: Callable[[np.ndarray], np.ndarray] | None = None, per_copy: int = 0) -> Derivative:
    """Richardson finite differences of ``function`` (of input ``name`` alone, float64) as a Derivative
    of ``shape``: for code the engine cannot batch — the user's, or our own gradient (``batched``: the
    same function of many copies at once, see :func:`fd.derivative_of`).  Whatever it raises is an
    ``error`` naming ``what``."""
    try:
        result = fd.derivative_of(function, point.values64[name], batched=batched, per_copy=per_copy)
    except USER_ERRORS as exc:
        return Derivative(problem=f"{what} failed: {type(exc).__name__}: {_first_line(exc)}", status="error")
    return _from_fd(result, point.values[name].ndim, shape)


def _from_fd(result: fd.FDResult, n_rows: int, shape: tuple[int, ...]) -> Derivative:
    value = result.jacobian(result.value, n_rows).reshape(shape)
    error = result.jacobian(result.error, n_rows).reshape(shape)
    fwd = bwd = None
    if result.forward is not None:
        fwd = result.jacobian(result.forward, n_rows).reshape(shape)
        bwd = result.jacobian(result.backward, n_rows).reshape(shape)
    bad = first_nonfinite(value)
    if bad is not None:
        return Derivative(value, problem=f"finite differences could not be evaluated at {index_text(bad[0])}: the "
                                         f"function is not finite near the point for any step down to "
                                         f"{np.min(result.step):.3g}", status="error", method=result.method)
    return Derivative(value, error=error, forward=fwd, backward=bwd, method=result.method)


class ClaimRoute(Route):
    """The case's ``expect:`` claim for an input: a formula evaluated at the point (float64)."""

    name, label, kind = "claim", "the claim", "claim"

    def _compute(self, name: str) -> Derivative:
        p = self.point
        graph = p.claims.get(name)
        if graph is None:
            return Derivative(problem="no claim", status="skip")
        if not p.scalar:
            return Derivative(problem=f"expect: claims are gradients of a scalar output; the output has shape "
                                      f"{p.out_shape}", status="skip")
        try:
            claim = np.asarray(engine.evaluate(graph, p.values64, np.float64).output, dtype=np.float64)
        except Exception as exc:
            return Derivative(problem=f"the claimed derivative for {name!r} could not be evaluated: "
                                      f"{p.located(exc)}", status="error")
        shape = p.values[name].shape
        try:
            return Derivative(np.broadcast_to(claim, shape))
        except ValueError:
            return Derivative(problem=f"the claim has shape {claim.shape}, the input {shape}")


class UnavailableRoute(Route):
    """A route that cannot exist for this point (e.g. no torch counterpart): every check using it is a skip."""

    def __init__(self, point: Point, name: str, label: str, problem: str) -> None:
        super().__init__(point)
        self.name, self.label, self.problem = name, label, problem

    def unsupported(self, name: str) -> Derivative | None:
        return Derivative(problem=self.problem, status="skip")

    def _compute(self, name: str) -> Derivative:
        return Derivative(problem=self.problem, status="skip")


# ---- a subject: the user's code ------------------------------------------------------


class TorchCallable:
    """Calls a torch function of the point's values (the ones it takes, in order)."""

    def __init__(self, fn: Callable[..., Any], args: list[str], what: str) -> None:
        self.fn, self.args, self.what = fn, args, what

    def tensors(self, values: dict[str, np.ndarray], dtype: str, wrt: list[str]) -> dict[str, Any]:
        import torch

        from ..reference.torch_ref import torch_dtype

        out = {}
        for a in self.args:
            t = torch.from_numpy(np.array(values[a], dtype=np.float64)).to(torch_dtype(dtype))
            out[a] = t.requires_grad_(a in wrt)
        return out

    def call(self, tensors: dict[str, Any]) -> Any:
        import torch

        out = self.fn(*(tensors[a] for a in self.args))
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"{self.what} returned {type(out).__name__}, not a torch tensor")
        return out

    def forward(self, values: dict[str, np.ndarray], dtype: str) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.call(self.tensors(values, dtype, [])).detach().numpy()

    def evaluation(self, values: dict[str, np.ndarray], dtype: str, wrt: list[str]) -> Any:
        """What torch_ref's gradient/vjp/jacobian take: ``.output`` and ``.inputs``."""
        tensors = self.tensors(values, dtype, wrt)
        return _Evaluation(self.call(tensors), {n: tensors[n] for n in wrt})


@dataclass
class _Evaluation:
    output: Any
    inputs: dict[str, Any]


class NumpySubject:
    """Calls a numpy forward/backward pair the way a course writes them (no batch axes)."""

    def __init__(self, forward: Callable | None, backward: Callable, args: list[str], cache: bool,
                 what: str) -> None:
        self.fwd, self.bwd, self.args, self.cache, self.what = forward, backward, args, cache, what

    def forward(self, values: dict[str, np.ndarray], dtype: str) -> np.ndarray:
        arrays = [np.array(values[a], dtype=dtype) for a in self.args]
        out = self.fwd(*arrays)
        return np.asarray(out[0] if self.cache else out)

    def vjp(self, values: dict[str, np.ndarray], dtype: str, name: str, u: np.ndarray) -> np.ndarray:
        """One backward call per cotangent in ``u`` (K + output shape) → K + input shape."""
        arrays = [np.array(values[a], dtype=dtype) for a in self.args]
        cache = self.fwd(*arrays)[1] if self.cache else None
        k = self.args.index(name)
        rows = []
        for g in u:
            g = np.array(g, dtype=dtype)
            grads = self.bwd(g, cache) if self.cache else self.bwd(g, *arrays)
            if not isinstance(grads, (tuple, list)):
                grads = (grads,)
            if len(grads) != len(self.args):
                raise TypeError(f"{self.what}: backward returned {len(grads)} gradient(s) for {len(self.args)} "
                                f"argument(s) {tuple(self.args)}")
            grad = np.asarray(grads[k])
            want = np.shape(values[name])
            if grad.shape != want:
                raise _ShapeProblem(f"the gradient for {name!r} has shape {grad.shape}, the input {want}")
            rows.append(grad.astype(np.float64))
        return np.stack(rows)


class _ShapeProblem(Exception):
    """A user backward returned a gradient of the wrong shape (a ``fail``, not an ``error``)."""


def _unit_cotangents(shape: tuple[int, ...]) -> np.ndarray:
    m = int(np.prod(shape, dtype=np.int64))
    return np.eye(m).reshape((m,) + shape)


class SubjectRoute(Route):
    """The subject's own gradient: torch.autograd on the subject, or its numpy backward."""

    name, label = "subject", "the subject"

    def __init__(self, point: Point, code: TorchCallable | NumpySubject, what: str) -> None:
        super().__init__(point)
        self.code, self.what = code, what

    def _compute(self, name: str) -> Derivative:
        p = self.point
        try:
            u = np.ones((1,) + p.out_shape) if p.scalar else _unit_cotangents(p.out_shape)
            value = self.vjp(name, u)
        except _ShapeProblem as exc:
            return Derivative(problem=f"{self.what}: {exc}")
        except USER_ERRORS as exc:
            return Derivative(problem=f"{self.what} raised {type(exc).__name__}: {_first_line(exc)}",
                              status="error")
        return Derivative(value.reshape(p.compared_shape(name)))

    def vjp(self, name: str, u: np.ndarray) -> np.ndarray:
        p = self.point
        if isinstance(self.code, NumpySubject):
            return self.code.vjp(p.values, p.dtype, name, u)
        from ..reference import torch_ref

        ev = self.code.evaluation(p.values, p.dtype, [name])
        if tuple(ev.output.shape) != p.out_shape:
            raise _ShapeProblem(f"the output has shape {tuple(ev.output.shape)}, the reference {p.out_shape}")
        if p.scalar and u.shape[0] == 1:
            return torch_ref.gradient(ev, [name])[name][None].astype(np.float64)
        return torch_ref.vjp(ev, u, [name])[name].astype(np.float64)


def _missing_feature(route: Any, problem: str, feature: str, flag: str) -> Derivative | None:
    """The pre-flight verdict of an optional feature of a torch subject (forward AD, double backward):
    None when it works; ``error`` when the subject fails outright; else ``skip`` with the
    reason — ``fail`` when the subject asked for the feature (``flag=True``)."""
    if not problem:
        return None
    broken = _raises(lambda: route.code.forward(route.point.values, route.point.dtype), route.what)
    if broken is not None:  # not a missing feature: the subject itself fails
        return broken
    text = f"{route.what} does not support {feature} ({problem})"
    if route.asked:
        return Derivative(problem=text + f"; {flag}=True asks for it", status="fail")
    return Derivative(problem=text, status="skip")


def _raises(call: Callable[[], Any], what: str) -> Derivative | None:
    """An ``error`` Derivative when ``call`` raises (the user's code is broken), else None."""
    try:
        call()
    except USER_ERRORS as exc:
        return Derivative(problem=f"{what} raised {type(exc).__name__}: {_first_line(exc)}", status="error")
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


class SubjectFDRoute(Route):
    """Finite differences of the subject's own forward, in float64 (Richardson: arbitrary code need not
    be complex-safe), one call of the subject per perturbed copy."""

    name, label, kind, timing_column = "subject_fd", "finite differences of the subject", "fd", "time_fd_s"
    has_vjp = False

    def __init__(self, point: Point, forward: Callable[[dict[str, np.ndarray], str], np.ndarray], what: str) -> None:
        super().__init__(point)
        self.forward, self.what = forward, what

    def _function(self, name: str) -> Callable[[np.ndarray], np.ndarray]:
        values = dict(self.point.values64)

        def f(x: np.ndarray) -> np.ndarray:
            values[name] = x
            return np.asarray(self.forward(values, "float64"), dtype=np.float64)
        return f

    def _compute(self, name: str) -> Derivative:
        return opaque_fd(self.point, self._function(name), name, self.point.compared_shape(name),
                         f"finite differences of {self.what}")

    def directional(self, name: str, v: np.ndarray) -> fd.FDResult:
        return fd.directional_of(self._function(name), self.point.values64[name], v)


class ForwardADRoute(Route):
    """A torch subject's forward-mode AD (``torch.autograd.forward_ad``): its Jacobian column by column."""

    name, label = "subject_forward_ad", "the subject's forward mode (JVP)"
    has_vjp, has_jvp = False, True

    def __init__(self, point: Point, code: TorchCallable, asked: bool | None, what: str) -> None:
        super().__init__(point)
        self.code, self.asked, self.what = code, asked, what
        self._support: str | None = None

    def _tangents(self, name: str, v: np.ndarray) -> np.ndarray:
        import torch
        import torch.autograd.forward_ad as fwad

        p = self.point
        tensors = self.code.tensors(p.values, p.dtype, [])
        rows = []
        for t in v:
            with fwad.dual_level():
                dual = dict(tensors)
                dual[name] = fwad.make_dual(tensors[name], torch.from_numpy(np.array(t)).to(tensors[name].dtype))
                out = self.code.call(dual)
                tangent = fwad.unpack_dual(out).tangent
                rows.append(np.zeros(tuple(out.shape)) if tangent is None else tangent.detach().numpy())
        return np.stack(rows).astype(np.float64)

    def unsupported(self, name: str) -> Derivative | None:
        if self._support is None:
            try:
                self._tangents(name, np.zeros((1,) + self.point.values[name].shape))
                self._support = ""
            except USER_ERRORS as exc:
                self._support = f"{type(exc).__name__}: {_first_line(exc)}"
        return _missing_feature(self, self._support, "forward-mode AD", "forward_ad")

    def _compute(self, name: str) -> Derivative:
        p = self.point
        n = p.values[name].size
        try:
            cols = self._tangents(name, np.eye(n).reshape((n,) + p.values[name].shape))  # (n, out)
        except USER_ERRORS as exc:
            return Derivative(problem=f"{self.what} failed in forward mode: {type(exc).__name__}: "
                                      f"{_first_line(exc)}", status="error")
        jac = np.moveaxis(cols.reshape((n,) + p.out_shape), 0, -1)  # out + (n,)
        return Derivative(jac.reshape(p.compared_shape(name)))

    def jvp(self, name: str, v: np.ndarray) -> np.ndarray:
        return self._tangents(name, v)


class DoubleBackwardRoute(Route):
    """A torch subject's double backward: the derivative of its VJP ``G(x) = uᵀJ(x)`` (u a fixed seeded
    cotangent), by torch.autograd through the subject's backward (``create_graph=True``)."""

    name, label = "subject_ggrad", "the subject's double backward"

    def __init__(self, point: Point, code: TorchCallable, asked: bool | None, cotangent: np.ndarray,
                 what: str) -> None:
        super().__init__(point)
        self.code, self.asked, self.u, self.what = code, asked, cotangent, what
        self._support: dict[str, str] = {}

    def out_shape(self, name: str) -> tuple[int, ...]:
        return tuple(self.point.values[name].shape)

    def _vjp_graph(self, name: str) -> Any:
        import torch

        from ..reference import torch_ref

        p = self.point
        ev = self.code.evaluation(p.values, p.dtype, [name])
        x = ev.inputs[name]
        u = torch.from_numpy(np.array(self.u)).to(ev.output.dtype)
        (g,) = torch_ref.pullback(ev.output, [x], u, create_graph=True)
        if g is None:
            g = torch.zeros_like(x)
        return _Evaluation(g, {name: x})

    def unsupported(self, name: str) -> Derivative | None:
        if name not in self._support:
            try:
                ev = self._vjp_graph(name)
                if not ev.output.requires_grad:
                    raise RuntimeError("its backward is not differentiable by torch (the gradient it returns "
                                       "does not require grad)")
                import torch

                from ..reference import torch_ref

                torch_ref.pullback(ev.output, [ev.inputs[name]], torch.ones_like(ev.output), retain=False)
                self._support[name] = ""
            except USER_ERRORS as exc:
                self._support[name] = f"{type(exc).__name__}: {_first_line(exc)}" \
                    if not isinstance(exc, RuntimeError) or "differentiable" not in str(exc) else _first_line(exc)
        return _missing_feature(self, self._support[name], "double backward", "double_backward")

    def _compute(self, name: str) -> Derivative:
        from ..reference import torch_ref

        x_shape = tuple(self.point.values[name].shape)
        try:
            value = torch_ref.jacobian(self._vjp_graph(name), [name])[name]
        except USER_ERRORS as exc:
            return Derivative(problem=f"{self.what}'s double backward raised {type(exc).__name__}: "
                                      f"{_first_line(exc)}", status="error")
        return Derivative(value.reshape(x_shape + x_shape))

    def vjp(self, name: str, u: np.ndarray) -> np.ndarray:
        from ..reference import torch_ref

        return torch_ref.vjp(self._vjp_graph(name), u, [name])[name].astype(np.float64)


class DoubleBackwardFDRoute(Route):
    """Finite differences of the subject's first backward ``G(x) = uᵀJ(x)``, in float64."""

    name, label, kind, timing_column = "subject_ggrad_fd", "finite differences of the subject's backward", \
        "fd", "time_fd_s"
    has_vjp = False

    def __init__(self, point: Point, code: TorchCallable, cotangent: np.ndarray) -> None:
        super().__init__(point)
        self.code, self.u = code, cotangent

    def out_shape(self, name: str) -> tuple[int, ...]:
        return tuple(self.point.values[name].shape)

    def _function(self, name: str) -> Callable[[np.ndarray], np.ndarray]:
        from ..reference import torch_ref

        values = dict(self.point.values64)

        def g(x: np.ndarray) -> np.ndarray:
            values[name] = x
            ev = self.code.evaluation(values, "float64", [name])
            return torch_ref.vjp(ev, self.u[None], [name])[name][0]
        return g

    def _compute(self, name: str) -> Derivative:
        x_shape = tuple(self.point.values[name].shape)
        return opaque_fd(self.point, self._function(name), name, x_shape + x_shape,
                         "finite differences of the subject's backward")

    def directional(self, name: str, v: np.ndarray) -> fd.FDResult:
        return fd.directional_of(self._function(name), self.point.values64[name], v)

