"""The usual mistakes of a backpropagation exercise, recognised from numbers.

A wrong claim is compared, at every grading point, with what each usual mistake would
have given; a diagnosis is named only when it matches at *every* point:

* ``sign``: the claim is −(the derivative);
* ``factor``: the claim is a constant multiple of the derivative (a factor of 2 named);
* ``transpose``: the claim is the derivative transposed;
* ``missing_path``: the claim is the derivative minus the contribution of one path
  through a value that feeds several nodes (the path is named: the sum over paths of
  ∂z/∂x = ∂z/∂u·∂u/∂x + ∂z/∂v·∂v/∂x lost one term);
* ``local``: the claim is what the chain rule gives with one step's local derivative
  replaced by a classic wrong one (σ' = y instead of y(1 − y), tanh' = 1 − x² in the
  input instead of the output, a sign lost in the quotient rule …), see
  :data:`WRONG_LOCALS`.

A student's *code* (:func:`diagnose_code`) gets the same diagnoses and, for a gradient
of the wrong shape, which shape mistake it is: ``transpose`` (dW = g·xᵀ for xᵀ·g),
``batch_sum`` (the sum over the batch axis left out: db = g instead of Σ_rows g), or
``shape`` (the right numbers with a kept axis, or a shape that explains nothing), always
naming the expected and the received shape; and a factor 1/N or N where N is an axis
length of the case (a mean where a sum belongs).

Every number comes from the engine (its trace and its VJPs); nothing here applies
the chain rule by hand beyond multiplying one scalar edge's change by the engine's
upstream gradient and the engine's derivative of that edge's argument.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .. import engine
from .matrix_form import descendants

__all__ = ["GradingPoint", "diagnose", "diagnose_code", "WRONG_LOCALS", "close"]


@dataclass
class GradingPoint:
    """One point a claim is graded at: the leaves, the forward pass, the claim and the truth."""

    leaves: dict[str, np.ndarray]
    ev: engine.Evaluation
    correct: np.ndarray
    claimed: np.ndarray | None = None
    _trace: engine.Trace | None = None

    @property
    def trace(self) -> engine.Trace:
        if self._trace is None:
            self._trace = engine.Trace()
            seed = np.ones(self.ev.output.shape, dtype=self.ev.dtype)
            engine.vjp(self.ev, seed, trace=self._trace)
        return self._trace


def close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    """Every element of ``a`` within atol + rtol·|b| of ``b`` (NaN is never close)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    with np.errstate(all="ignore"):
        return bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


# ---- wrong local derivatives: (what the student wrote, its value from out and the args) ----
Wrong = tuple[str, Callable[..., Any]]

#: per primitive and argument position, the classic wrong local derivatives
WRONG_LOCALS: dict[tuple[str, int], list[Wrong]] = {
    ("sigmoid", 0): [("{out}", lambda o, x: o), ("1 − {out}", lambda o, x: 1 - o),
                     ("{out}·(1 + {out})", lambda o, x: o * (1 + o))],
    ("tanh", 0): [("1 − {x}²", lambda o, x: 1 - x ** 2), ("1 + {out}²", lambda o, x: 1 + o ** 2),
                  ("{out}", lambda o, x: o)],
    ("exp", 0): [("{x}", lambda o, x: x), ("exp(−{x})", lambda o, x: np.exp(-x))],
    ("log", 0): [("{x}", lambda o, x: x), ("−1/{x}²", lambda o, x: -1 / x ** 2)],
    ("sin", 0): [("−cos({x})", lambda o, x: -np.cos(x))],
    ("cos", 0): [("sin({x})", lambda o, x: np.sin(x))],
    ("sqrt", 0): [("1/{out}", lambda o, x: 1 / o), ("1/(2{x})", lambda o, x: 1 / (2 * x))],
    ("square", 0): [("{x}", lambda o, x: x)],
    ("div", 0): [("−1/{y}", lambda o, x, y: -1 / y)],
    ("div", 1): [("{x}/{y}²", lambda o, x, y: x / y ** 2), ("1/{y}²", lambda o, x, y: 1 / y ** 2),
                 ("−1/{y}", lambda o, x, y: -1 / y)],
    ("mul", 0): [("{x}", lambda o, x, y: x)],
    ("mul", 1): [("{y}", lambda o, x, y: y)],
    ("pow", 0): [("{x}^({y}−1)", lambda o, x, y: x ** (y - 1)), ("{y}·{x}^{y}", lambda o, x, y: y * x ** y)],
    ("neg", 0): [("1", lambda o, x: np.ones_like(x))],
    ("sub", 1): [("1", lambda o, x, y: np.ones_like(y))],
}


def _consistent_factor(points: Sequence[GradingPoint], rtol: float) -> float | None:
    ratios = []
    for p in points:
        c, t = np.ravel(p.claimed), np.ravel(p.correct)
        mask = np.abs(t) > 1e-12
        if not mask.any() or np.any(np.abs(c[~mask]) > 1e-12):
            return None
        ratios.extend((c[mask] / t[mask]).tolist())
    if not ratios:
        return None
    r = float(np.median(ratios))
    if r == 0 or not all(abs(q - r) <= 10 * rtol * abs(r) + 1e-12 for q in ratios):
        return None
    return r


def _missing_path(graph, x_name: str, points: Sequence[GradingPoint], rtol: float, atol: float) -> str:
    """A path whose contribution is exactly what the claim lacks, named; "" if none."""
    x_id = graph.inputs[x_name]
    p0 = points[0]
    incoming: dict[int, list[tuple[int, int]]] = {}
    for (j, k) in p0.trace.contributions:
        incoming.setdefault(graph[j].args[k], []).append((j, k))
    out = graph[graph.output].name
    for node_id, edges in sorted(incoming.items()):
        if len(edges) < 2 or node_id not in descendants(graph, x_id):
            continue
        for j, k in sorted(edges):
            ok = True
            lost0 = None
            for p in points:
                c = p.trace.contributions[(j, k)]
                lost = c if node_id == x_id else engine.vjp(p.ev, c, output=node_id, wrt=[x_name])[x_name]
                lost0 = lost if lost0 is None else lost0
                if not close(p.claimed, p.correct - lost, rtol, atol) or close(lost, np.zeros_like(lost), 0, atol):
                    ok = False
                    break
            if ok:
                through = graph[j].step or graph[j].name
                arg = graph[node_id].name
                return (f"missing the path through {through}: the claim lacks exactly "
                        f"∂{out}/∂{through}·∂{through}/∂{arg}"
                        + ("" if node_id == x_id else f"·∂{arg}/∂{x_name}")
                        + f" = {float(np.ravel(lost0)[0]):.6g}")
    return ""


def _wrong_local(graph, x_name: str, points: Sequence[GradingPoint], rtol: float, atol: float,
                 right_text: Callable[[int, int], str]) -> str:
    """A step whose classic wrong local derivative explains the claim at every point; "" if none."""
    x_id = graph.inputs[x_name]
    p0 = points[0]
    if p0.ev.output.size != 1:
        return ""
    reach = descendants(graph, x_id)
    for (j, k) in sorted(p0.trace.contributions, reverse=True):
        node = graph[j]
        arg = node.args[k]
        if arg not in reach or p0.ev.values[j].size != 1 or p0.ev.values[arg].size != 1:
            continue  # scalar edges only: an array step's wrong rule is not one number
        for text, wrong in WRONG_LOCALS.get((node.op, k), []):
            ok = True
            for p in points:
                args = [p.ev.values[a] for a in node.args]
                right = engine.local_jacobian(p.ev, j, k).reshape(())
                with np.errstate(all="ignore"):
                    alt = np.asarray(wrong(p.ev.values[j], *args), dtype=np.float64).reshape(())
                up = p.trace.upstream[j]
                dp = np.ones(()) if arg == x_id else \
                    engine.vjp(p.ev, np.ones(()), output=arg, wrt=[x_name])[x_name]
                would = p.correct + up * (alt - right) * dp
                if close(alt, right, rtol, atol) or not close(p.claimed, would, rtol, atol):
                    ok = False
                    break
            if ok:
                names = {"out": node.name, **{a: graph[i].name for a, i in zip(("x", "y"), node.args)}}
                step = node.step or node.name
                return (f"a wrong local derivative at step {step}: ∂{node.name}/∂{graph[arg].name} taken as "
                        f"{text.format(**names)} instead of {right_text(j, k)}")
    return ""


def diagnose(graph, x_name: str, points: Sequence[GradingPoint], rtol: float, atol: float,
             right_text: Callable[[int, int], str]) -> tuple[str, str]:
    """(kind, sentence) of the usual mistake every point agrees on, or ("", "")."""
    if all(close(p.claimed, -p.correct, rtol, atol) for p in points):
        return "sign", "a sign error: the claim is −(the derivative)"
    if all(p.claimed.ndim == 2 and p.claimed.shape[::-1] == p.correct.shape
           and close(p.claimed.T, p.correct, rtol, atol) for p in points):
        return "transpose", "transposed: the claim is the derivative's transpose (match the shapes: dW has W's shape)"
    if all(p.claimed.shape == p.correct.shape for p in points):
        if points[0].ev.output.size == 1:
            path = _missing_path(graph, x_name, points, rtol, atol)
            if path:
                return "missing_path", path
            local = _wrong_local(graph, x_name, points, rtol, atol, right_text)
            if local:
                return "local", local
        r = _consistent_factor(points, rtol)
        if r is not None and not np.isclose(r, 1.0):
            if np.isclose(r, 2.0) or np.isclose(r, 0.5):
                return "factor", f"a factor of 2: the claim is {r:g} × the derivative"
            return "factor", f"a constant factor: the claim is {r:.6g} × the derivative"
    return "", ""


# ---- students' code ---------------------------------------------------------------------


def _shape(shape: tuple[int, ...]) -> str:
    return str(tuple(shape))


def _reduced(claimed: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """``claimed`` summed over the axes that broadcasting added to an array of ``shape`` (None if not so)."""
    try:
        if np.broadcast_shapes(claimed.shape, shape) != claimed.shape:
            return None
    except ValueError:
        return None
    lead = claimed.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and claimed.shape[lead + i] != 1)
    return claimed.sum(axis=axes).reshape(shape) if axes else None


def diagnose_code(graph, x_name: str, points: Sequence[GradingPoint], rtol: float = 1e-6, atol: float = 1e-9
                  ) -> tuple[str, str, str]:
    """(verdict, kind, sentence) for a student's gradient of ``x_name`` that the checks found wrong.

    Each point's ``claimed`` is what the student's backward returned for one seeded
    cotangent, ``correct`` the engine's VJP of the same cotangent.
    """
    first = points[0]
    want, got = first.correct.shape, first.claimed.shape
    if got != want:
        expected = f"d{x_name} must have {x_name}'s shape {_shape(want)}, got {_shape(got)}"
        if all(p.claimed.ndim == 2 and p.claimed.shape[::-1] == p.correct.shape
               and close(p.claimed.T, p.correct, rtol, atol) for p in points):
            return "shape", "transpose", f"transposed: the gradient's transpose is right ({expected})"
        if all(p.claimed.size == p.correct.size and close(p.claimed.reshape(p.correct.shape), p.correct, rtol, atol)
               for p in points):
            return "shape", "shape", (f"the right numbers in the wrong shape (an axis kept, e.g. keepdims=True, "
                                      f"or added): {expected}")
        reduced = [_reduced(p.claimed, p.correct.shape) for p in points]
        if all(r is not None and close(r, p.correct, rtol, atol) for r, p in zip(reduced, points)):
            return "shape", "batch_sum", (f"the sum over the batch axis is missing: summed over the axes that "
                                          f"broadcasting added it is right ({expected})")
        return "shape", "shape", f"shape error: {expected}"
    batch = {np.shape(v)[0] for v in points[0].leaves.values() if np.ndim(v) >= 2}
    for n in sorted(n for n in batch if n > 2):  # (a factor of 2 is named as such below)
        if all(close(p.claimed, p.correct / n, rtol, atol) for p in points):
            return "wrong", "factor", (f"a factor of 1/{n}: a mean over an axis of length {n} where the sum "
                                       "belongs (the batch axis?)")
        if all(close(p.claimed, p.correct * n, rtol, atol) for p in points):
            return "wrong", "factor", f"a factor of {n}: a sum over an axis of length {n} where the mean belongs"
    from .grade import local_text

    kind, sentence = diagnose(graph, x_name, points, rtol, atol, lambda j, k: local_text(graph, j, k))
    return "wrong", kind, sentence
