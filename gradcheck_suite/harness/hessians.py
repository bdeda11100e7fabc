"""Second-order routes: the Hessian of a case by our engine, by torch, and by two finite differences.

Asked for by ``order: 2`` in a case or ``--order 2`` on ``run``.  What is differentiated
twice is the scalar ``s = wᵀf``: ``w = 1`` for a one-element output, otherwise a seeded
Gaussian cotangent (as gradgradcheck does with its ``grad_outputs``).  For an input
``x`` every route gives the columns ``∂(∇s)/∂x`` of the Hessian — shape ``(N,) + x.shape``
with ``N`` the elements of every input, concatenated in the case's order — so the
cross blocks (``∂²s/∂W∂x`` of ``W @ x``) are checked too:

``hess_hand``     our engine: forward-over-reverse HVPs from the registry's second-order
                  rules (:mod:`gradcheck_suite.second_order`); ``skip`` naming the
                  primitives on the path that declare none, and why;
``hess_torch``    torch double backward on the case's graph (``torch.autograd.grad`` with
                  ``create_graph=True``, then the Jacobian of that gradient);
``hess_grad_fd``  finite differences (Richardson) of our own gradient, float64;
``hess_fd2``      second differences of the forward (Richardson, with an error
                  estimate), float64, independent of every gradient; polarization
                  ``¼(q(u+v) − q(u−v))`` for the off-diagonal entries and for the probes
                  ``uᵀHv`` of projected mode.

Where a primitive's kink lies within a finite-difference route's stencil of the point,
elements whose one-sided and central differences disagree, or disagree with torch's
Hessian, are ``nondiff`` on that route: relu'' at 0 is a distribution, never a false
``fail`` (``hessian_vs_torch`` still holds ours to torch's convention there).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from .. import engine, second_order
from ..ops import registry
from ..reference import fd
from . import kinks
from .point import Point
from .routes import Derivative, Route, _Evaluation, _from_fd

__all__ = ["hessian_routes", "HessianRoute", "TorchHessianRoute", "GradientFDRoute", "SecondDifferenceRoute",
           "FD2_PAIRS", "GRAD_FD_ENTRIES", "cotangent"]

#: the full Hessian columns by second differences cost 2·n·N quadratic forms (six forward
#: evaluations each); above this many (auto mode goes projected sooner: contract.HESSIAN_ENTRIES)
#: they are not computed and the full row is a skip
FD2_PAIRS = 200_000
#: the full Hessian columns by differences of our gradient hold six gradients (three steps, two signs) of N
#: elements per input element: above this many columns × N entries (48 bytes each, 192 MB) they are not
#: computed in full mode and the row is a skip (judged by probes uᵀHv in projected and auto mode)
GRAD_FD_ENTRIES = 4_000_000
#: above this many entries of an input's Hessian columns (where the FD routes skip in full mode), the
#: check of ours against torch computes both in blocks of columns and judges them block by block
#: (:class:`~.verdict.BlockedComparison`): no route keeps the whole n·N array
BLOCKED_ENTRIES = GRAD_FD_ENTRIES
#: bytes of one block of columns (directions × N): small enough to stay in cache, large enough for few passes
BLOCK_BYTES = 16 * 2**20


def cotangent(point: Point) -> np.ndarray:
    """``w`` of ``s = wᵀf``: ones for a one-element output, else seeded Gaussian."""
    if point.scalar:
        return np.ones(point.out_shape)
    return np.random.default_rng([int(point.seed) % 2**32, 0x2E55]).standard_normal(point.out_shape)


def _sizes(point: Point) -> list[int]:
    return [int(np.size(point.values[n])) for n in point.inputs]


def _element_words(point: Point, name: str, index: tuple[int, ...] | None) -> str:
    """``(∂²s/∂W(1, 2)∂x(0))`` for an element of Hessian columns ``(N,) + x.shape``."""
    if index is None or not index:
        return ""
    j, rest = int(index[0]), index[1:]
    offset = 0
    for n, size in zip(point.inputs, _sizes(point)):
        if j < offset + size:
            shape = point.values[n].shape
            at = np.unravel_index(j - offset, shape) if shape else ()
            left = f"{n}({', '.join(str(int(i)) for i in at)})" if shape else n
            right = f"{name}({', '.join(str(int(i)) for i in rest)})" if rest else name
            return f" (∂²s/∂{left}∂{right})"
        offset += size
    return ""


class _SecondOrder(Route):
    """What every second-order route shares: the cotangent and the shape of the columns."""

    def __init__(self, point: Point, w: np.ndarray) -> None:
        super().__init__(point)
        self.w = w

    def out_shape(self, name: str) -> tuple[int, ...]:
        return (int(np.sum(_sizes(self.point))),)

    def columns_shape(self, name: str) -> tuple[int, ...]:
        return self.out_shape(name) + tuple(self.point.values[name].shape)

    def element_words(self, name: str, index: tuple[int, ...] | None) -> str:
        return _element_words(self.point, name, index)

    def too_large(self, name: str) -> Derivative | None:
        """A ``skip`` when the whole columns are too costly for this route (judged by probes instead)."""
        return None

    def blocks(self, name: str) -> list[tuple[int, int]]:
        """The column ranges (elements of input ``name``) of :meth:`block`: the same for every route, so a
        route's whole columns are its blocks put together and a blocked check sees the very same numbers."""
        n, total = self.point.values[name].size, int(np.sum(_sizes(self.point)))
        largest = max([total] + [int(np.size(v)) for v in getattr(self.point.ev, "values", [])])
        width = max(1, min(n, BLOCK_BYTES // max(1, 8 * largest)))
        return [(start, min(n, start + width)) for start in range(0, n, width)]

    def _unit(self, name: str, start: int, stop: int) -> np.ndarray:
        """Unit directions ``e_start .. e_(stop-1)`` of input ``name`` (k + its shape)."""
        x = self.point.values[name]
        seeds = np.zeros((stop - start, x.size), dtype=x.dtype)
        seeds[np.arange(stop - start), np.arange(start, stop)] = 1
        return seeds.reshape((stop - start,) + x.shape)

    def joined(self, parts: Mapping[str, np.ndarray], k: int) -> np.ndarray:
        """Per input (k + its shape) → (k, N), the inputs in the case's order."""
        if len(self.point.inputs) == 1:
            return parts[self.point.inputs[0]].reshape(k, -1)
        return np.concatenate([parts[y].reshape(k, -1) for y in self.point.inputs], axis=1)

    def block(self, name: str, start: int, stop: int) -> np.ndarray | Derivative:
        """Columns ``start .. stop`` of input ``name`` laid out (k, N); a Derivative with the problem if the
        route fails (what :meth:`full` would report)."""
        try:
            return self._block(name, start, stop)
        except Exception as exc:
            return self._failure(exc)

    def _compute(self, name: str) -> Derivative:
        """The whole columns: the blocks put together, (N,) + x.shape."""
        parts = []
        for start, stop in self.blocks(name):
            got = self.block(name, start, stop)
            if isinstance(got, Derivative):
                return got
            parts.append(got)
        n, total = self.point.values[name].size, int(np.sum(_sizes(self.point)))
        value = np.concatenate(parts, axis=0) if parts else np.zeros((0, total), dtype=self.point.np_dtype)
        return Derivative(np.ascontiguousarray(value.reshape(n, total).T).reshape(self.columns_shape(name)))

    def split(self, u: np.ndarray) -> dict[str, np.ndarray]:
        """(K, N) → input name → K + input shape."""
        out, offset = {}, 0
        for n, size in zip(self.point.inputs, _sizes(self.point)):
            out[n] = u[:, offset:offset + size].reshape((u.shape[0],) + self.point.values[n].shape)
            offset += size
        return out


class HessianRoute(_SecondOrder):
    """Our engine: Hessian-vector products by its own second-order rules (no finite differences)."""

    name, label, timing_column = "hess_hand", "ours (HVP)", "time_hand_s"
    has_jvp = True

    def unsupported(self, name: str) -> Derivative | None:
        lacking = second_order.missing(self.point.ev)
        if not lacking:
            return None
        why = "; ".join(f"{op}: {text}" for op, text in sorted(lacking.items()))
        return Derivative(problem=f"second order not checked: {why}", status="skip")

    def missing_jvp(self, name: str) -> list[str]:
        return []

    def _block(self, name: str, start: int, stop: int) -> np.ndarray:
        p = self.point
        _, hv = second_order.hvp(p.ev, {name: self._unit(name, start, stop)}, cotangent=self.w.astype(p.np_dtype),
                                 wrt=list(p.inputs))
        return self.joined(hv, stop - start)

    def _failure(self, exc: Exception) -> Derivative:
        if isinstance(exc, registry.RuleError):
            return Derivative(problem=f"our second-order rule is broken: {exc}")
        return Derivative(problem=f"our engine failed in second order: {self.point.located(exc)}", status="error")

    def vjp(self, name: str, u: np.ndarray) -> np.ndarray:
        p = self.point
        directions = {k: v.astype(p.np_dtype) for k, v in self.split(u).items()}
        _, hv = second_order.hvp(p.ev, directions, cotangent=self.w.astype(p.np_dtype), wrt=[name])
        return hv[name].astype(np.float64)  # uᵀH[:, x] = (H u)[x]: the Hessian is symmetric

    def jvp(self, name: str, v: np.ndarray) -> np.ndarray:
        p = self.point
        _, hv = second_order.hvp(p.ev, {name: v.astype(p.np_dtype)}, cotangent=self.w.astype(p.np_dtype))
        return np.concatenate([hv[y].reshape(v.shape[0], -1) for y in p.inputs], axis=1).astype(np.float64)


class TorchHessianRoute(_SecondOrder):
    """torch double backward on the case's graph: the Jacobian of ``torch.autograd.grad(..., create_graph=True)``."""

    name, label, timing_column = "hess_torch", "torch double backward", "time_torch_s"

    def _gradient_graph(self, name: str, values: dict[str, np.ndarray] | None = None, dtype: str | None = None):
        import torch

        from ..reference import torch_ref

        p = self.point
        tev = torch_ref.replay(p.graph, p.values if values is None else values, dtype or p.dtype)
        inputs = [tev.inputs[n] for n in p.inputs]
        w = torch.from_numpy(np.array(self.w, dtype=np.float64)).to(tev.output.dtype)
        if not tev.output.requires_grad:
            grads = [torch.zeros_like(t) for t in inputs]
        else:
            grads = torch_ref.pullback(tev.output, inputs, w, create_graph=True)
            grads = [torch.zeros_like(t) if g is None else g for g, t in zip(grads, inputs)]
        return _Evaluation(torch.cat([g.reshape(-1) for g in grads]), {name: tev.inputs[name]})

    def _input_gradient(self, name: str) -> _Evaluation:
        """``∂s/∂name`` (flat, with its graph) as a function of every input: its VJPs along the unit
        directions of ``name`` are the columns ``∂²s/∂(every input)∂name`` (computed once per input)."""
        import torch

        from ..reference import torch_ref

        cache = self.__dict__.setdefault("_gradients", {})
        if name not in cache:
            p = self.point
            tev = torch_ref.replay(p.graph, p.values, p.dtype)
            x = tev.inputs[name]
            w = torch.from_numpy(np.array(self.w, dtype=np.float64)).to(tev.output.dtype)
            g = torch_ref.pullback(tev.output, [x], w, create_graph=True)[0] \
                if tev.output.requires_grad else None
            cache[name] = _Evaluation(torch.zeros_like(x).reshape(-1) if g is None else g.reshape(-1),
                                      {n: tev.inputs[n] for n in p.inputs})
        return cache[name]

    def _block(self, name: str, start: int, stop: int) -> np.ndarray:
        from ..reference import torch_ref

        k = stop - start
        seeds = self._unit(name, start, stop).reshape(k, -1)
        return self.joined(torch_ref.vjp(self._input_gradient(name), seeds, list(self.point.inputs)), k)

    def _failure(self, exc: Exception) -> Derivative:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        status = "skip" if "not implemented" in text.lower() else "error"
        return Derivative(problem=f"torch double backward failed: {text}", status=status)

    def vjp(self, name: str, u: np.ndarray) -> np.ndarray:
        from ..reference import torch_ref

        return torch_ref.vjp(self._gradient_graph(name), u, [name])[name].astype(np.float64)

    def rounding(self, name: str) -> float:
        """float32 only: 2·max|torch's Hessian columns in float32 − in float64| at the same point."""
        from ..reference import torch_ref

        p = self.point
        theirs = self.full(name)
        if p.dtype == "float64" or not theirs.usable:
            return 0.0
        try:
            exact = torch_ref.jacobian(self._gradient_graph(name, p.values64, "float64"), [name])[name]
        except Exception:  # only an estimate: without it no allowance
            return 0.0
        diff = np.abs(theirs.value.astype(np.float64) - exact.reshape(theirs.value.shape))
        diff = diff[np.isfinite(diff)]
        return 2.0 * float(diff.max()) if diff.size else 0.0


def _disagree(a: np.ndarray, b: np.ndarray, error: np.ndarray | None, scale: float) -> np.ndarray:
    """Elements where two estimates differ by far more than their own accuracy (a kink, not noise)."""
    with np.errstate(invalid="ignore"):
        gap = np.abs(a - b)
        bound = 0.05 * np.maximum(np.abs(a), np.abs(b)) + 1e-3 * scale + (0 if error is None else 10 * error)
        return np.isfinite(gap) & (gap > bound)


class _FDSecondOrder(_SecondOrder):
    kind, timing_column = "fd", "time_fd_s"
    has_vjp = False
    kink_words = ""
    #: float32: the rounding allowance is measured on torch's Hessian, not on its gradient
    rounding_from = "hess_torch"
    #: how much further than one first-order central difference (harness/kinks.py) the stencil reaches
    reach_factor = 1.0
    #: full columns are refused (a skip: projections judge the input) above :attr:`limit` ``unit``, and
    #: the skip's message says what they would take: "the full Hessian ``how`` needs n·N ``unit`` …"
    unit, how, cost = "entries", "", ""

    @property
    def limit(self) -> int:
        """The most ``unit`` this route computes full columns for (a module constant, read when asked)."""
        raise NotImplementedError

    def too_large(self, name: str) -> Derivative | None:
        n, total = self.point.values[name].size, int(np.sum(_sizes(self.point)))
        if n * total > self.limit:
            return Derivative(problem=f"the full Hessian {self.how} needs {n}·{total} {self.unit} (more than "
                                      f"{self.limit}{self.cost}); this input is judged by projections uᵀHv only "
                                      "(mode: projected)", status="skip")
        return None

    def __init__(self, point: Point, w: np.ndarray, reference: Route | None = None) -> None:
        super().__init__(point, w)
        self.reference = reference  # torch's Hessian: the convention at a kink, where FD cannot judge
        self._near: list[str] | None = None

    def near_kinks(self) -> list[str]:
        """The kinks on the path within this route's stencil of the point, described (computed once).

        As in first order (harness/kinks.py): a node is near when its distance to its kink
        set is at most twice the change the stencil causes in its arguments, here the change
        of a first-order step (the largest over every input) times :attr:`reach_factor`.
        """
        if self._near is None:
            p = self.point
            ev = engine.evaluate(p.graph, p.values64, np.float64)
            per_copy = int(sum(np.size(v) for v in ev.values))
            ids = sorted({i for m in p.inputs for i in fd.path_nodes(p.graph, m)
                          if registry.get(p.graph[i].op).kink is not None})
            self._near = []
            for i in ids:
                node = p.graph[i]
                d = kinks._distance(registry.get(node.op), [ev.values[a] for a in node.args], ev.params[i])
                reach = self.reach_factor * max(kinks._reach(p.graph, p.values64, m, i, ev, per_copy)
                                                for m in p.inputs)
                if d <= 2.0 * reach:
                    where = f" at step {node.step!r}" if node.step else ""
                    self._near.append(f"{node.op}{where} is {d:.3g} from its kink, within the stencil "
                                      f"({reach:.3g})" if d else f"{node.op}{where} sits exactly on its kink")
        return self._near

    def kink_mask(self, name: str, fdd: Derivative, tol: Any) -> tuple[np.ndarray | None, str]:
        """Which elements a kink within the stencil makes unjudgeable: where the one-sided and central
        differences disagree, where their error estimate exceeds the tolerance, or where they disagree
        with torch's Hessian (the analytic convention; ``hessian_vs_torch`` still holds ours to it).
        None when no kink is near."""
        near = self.near_kinks()
        if not near or fdd.forward is None:
            return None, ""
        scale = max(1.0, float(np.nanmax(np.abs(fdd.value), initial=0.0)))
        mask = _disagree(fdd.forward, fdd.backward, fdd.error, scale)
        mask |= _disagree(fdd.value, fdd.forward, fdd.error, scale)
        mask |= _disagree(fdd.value, fdd.backward, fdd.error, scale)
        with np.errstate(invalid="ignore"):  # the differences' own uncertainty exceeds the tolerance: a
            mask |= fdd.error > tol.atol + tol.rtol * np.abs(fdd.value)  # pass would judge nothing
        theirs = self.reference.full(name) if self.reference is not None else None
        if theirs is not None and theirs.usable:
            mask |= kinks.off_branch(theirs.value.reshape(fdd.value.shape), fdd.value, tol.rtol, tol.atol, fdd.error)
        return (mask if mask.any() else None), f"{'; '.join(near)}: {self.kink_words}"


class GradientFDRoute(_FDSecondOrder):
    """Finite differences (Richardson) of our own gradient of ``s = wᵀf``, in float64."""

    name, label = "hess_grad_fd", "finite differences of our gradient"
    unit, how, cost = "entries", "by differences of our gradient", ", six gradients each"

    @property
    def limit(self) -> int:
        return GRAD_FD_ENTRIES
    kink_words = ("the one-sided differences of the gradient disagree here (the gradient jumps: its derivative "
                  "is a distribution)")

    def _function(self, name: str) -> Callable[[np.ndarray], np.ndarray]:
        p = self.point
        values = dict(p.values64)
        w = np.asarray(self.w, dtype=np.float64)

        def gradient(x: np.ndarray) -> np.ndarray:
            values[name] = x
            ev = engine.evaluate(p.graph, values, np.float64)
            grads = engine.vjp(ev, w, wrt=p.inputs)
            flat = np.concatenate([grads[n].reshape(-1) for n in p.inputs])
            if not np.all(np.isfinite(ev.output)):  # outside the domain (log of a negative number): a
                flat[:] = np.nan                    # rule's formula may still be finite there; shrink the step
            return flat
        return gradient

    def _batched(self, name: str) -> tuple[Callable[[np.ndarray], np.ndarray] | None, int]:
        """Our gradient at many perturbed copies of input ``name`` in one pass (copies B + x.shape → B × N),
        and the elements one copy uses; None when the batched pass is not exactly the one-at-a-time one.

        The batched reverse pass calls VJP rules with batched arguments, which the rule table does not
        promise (only ``g`` carries batch axes there); so it is used only after it has given, on two
        copies (the point, and the point with its first and last element moved), the gradients of the
        one-at-a-time pass to rounding.  Otherwise the differences take one gradient per copy.
        """
        p = self.point
        w = np.asarray(self.w, dtype=np.float64)
        rest = {k: v for k, v in p.values64.items() if k != name}

        def gradients(copies: np.ndarray) -> np.ndarray:
            out, grads = engine.gradients_batched(p.graph, rest, {name: copies}, w, p.inputs)
            flat = np.concatenate([grads[n].reshape(len(copies), -1) for n in p.inputs], axis=1)
            flat[~np.isfinite(out.reshape(len(copies), -1)).all(axis=1)] = np.nan  # as _function does
            return flat

        x0 = np.asarray(p.values64[name], dtype=np.float64)
        moved = x0.copy().reshape(-1)
        if moved.size:
            steps = fd.default_step(x0).reshape(-1)
            moved[0] += steps[0]
            moved[-1] -= steps[-1]
        trial = np.stack([x0, moved.reshape(x0.shape)])
        one = self._function(name)
        try:
            fast = gradients(trial.copy())
            slow = np.stack([one(c.copy()) for c in trial])
        except Exception:  # a rule that cannot take batched arguments: one gradient per copy
            return None, 0
        scale = max(1.0, float(np.nanmax(np.abs(slow), initial=0.0)))
        if fast.shape != slow.shape or not np.allclose(fast, slow, rtol=1e-12, atol=1e-13 * scale, equal_nan=True):
            return None, 0
        ev = engine.evaluate(p.graph, p.values64, np.float64)
        return gradients, 2 * int(sum(np.size(v) for v in ev.values))

    def _compute(self, name: str) -> Derivative:
        too_large = self.too_large(name)
        if too_large is not None:
            return too_large
        p = self.point
        batched, per_copy = self._batched(name)
        try:  # the one-sided differences only where a kink is near: they are for the kink test alone
            result = fd.derivative_of(self._function(name), p.values64[name], batched=batched, per_copy=per_copy,
                                      sides=bool(self.near_kinks()))
        except Exception as exc:
            return Derivative(problem=f"finite differences of our gradient failed: {p.located(exc)}", status="error")
        return _from_fd(result, p.values[name].ndim, self.columns_shape(name))

    def directional(self, name: str, v: np.ndarray) -> fd.FDResult:
        return fd.directional_of(self._function(name), self.point.values64[name], v)


class SecondDifferenceRoute(_FDSecondOrder):
    """Second differences of the forward (Richardson, error estimate), float64: no gradient involved."""

    #: steps ε^(1/6) instead of ε^(1/3), two coordinates at once (polarization)
    reach_factor = 2.0 * fd.EPS ** (1 / 6 - 1 / 3)
    unit, how = "pairs", "by second differences"

    @property
    def limit(self) -> int:
        return FD2_PAIRS

    name, label = "hess_fd2", "second differences of the forward"
    kink_words = ("the one-sided and central second differences disagree here (the second derivative is a "
                  "distribution at a kink)")
    #: projected mode asks this route for ``uᵀHv`` directly (see projections._against_fd)
    projects_pairs = True

    def _compute(self, name: str) -> Derivative:
        p = self.point
        too_large = self.too_large(name)
        if too_large is not None:
            return too_large
        try:
            r = fd.hessian_columns(p.graph, p.values64, list(p.inputs), name, self.w)
        except Exception as exc:
            return Derivative(problem=f"second differences failed: {p.located(exc)}", status="error")
        shape = self.columns_shape(name)

        def cols(a: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(a.T).reshape(shape)  # (n, N) → (N,) + x.shape

        value = cols(r.value)
        if not np.all(np.isfinite(value)):
            return Derivative(value, problem="second differences could not be evaluated: the function is not "
                                             "finite near the point", status="error", method=r.method)
        return Derivative(value, error=cols(r.error), forward=cols(r.forward), backward=cols(r.backward),
                          method=r.method)

    def pairs(self, name: str, u: np.ndarray, v: np.ndarray) -> fd.FDResult:
        """``uᵀ H[:, x] v`` for K probes (u: K × N, v: K + x.shape), by polarization of second differences."""
        p = self.point
        full_v = np.zeros_like(u)
        offset = int(np.sum(_sizes(p)[:p.inputs.index(name)]))
        full_v[:, offset:offset + p.values[name].size] = v.reshape(v.shape[0], -1)
        r = fd.bilinear_forms(p.graph, p.values64, list(p.inputs), u, full_v, self.w)
        if not self.near_kinks():  # no kink near: no kink test (the one-sided estimates are only O(h²))
            r.forward = r.backward = None
        return r


def hessian_routes(point: Point, torch_available: bool) -> dict[str, Route]:
    """The second-order routes of a case point (``hess_torch`` only where the torch replay exists)."""
    w = cotangent(point)
    theirs = TorchHessianRoute(point, w) if torch_available else None
    routes: dict[str, Route] = {"hess_hand": HessianRoute(point, w),
                                "hess_grad_fd": GradientFDRoute(point, w, theirs),
                                "hess_fd2": SecondDifferenceRoute(point, w, theirs)}
    if theirs is not None:
        routes["hess_torch"] = theirs
    return routes
