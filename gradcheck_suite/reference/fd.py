"""Finite differences on the numpy forward, always in float64 — the third opinion.

The engine's forward (the same graph, the primitives' numpy code) is evaluated on
many perturbed copies of one input at once (:func:`gradcheck_suite.engine.evaluate_batched`,
chunked so that one pass stays under :data:`CHUNK_BYTES`); no Python call per element.

Methods
-------
``complex-step``  when every primitive between the input and the output is
                  real-analytic: ``f'(x) ≈ Im f(x + i·h)/h`` with ``h = 1e-20``. No
                  subtraction, so it is exact to machine precision; the error estimate
                  is a few ulps.  It is first validated along one random direction
                  against Richardson (a primitive whose numpy code is not complex-safe
                  would otherwise go unnoticed); on disagreement Richardson is used.
``richardson``    central differences ``D(h) = (f(x+h) − f(x−h))/2h`` at the steps
                  ``h, h/2, h/4`` with ``h = ε^(1/3)·max(|x|, 1)`` (ε of float64),
                  extrapolated as ``R = (4·D(h/2) − D(h))/3`` (cancels the h² term).
                  Error estimate per element: ``2·|R(h/2,h/4) − R(h,h/2)|`` (the spread of
                  successive estimates) plus a round-off term ``10·ε·|f|/h``.  Elements
                  whose spread is dominated by truncation (steep curvature, a kink
                  nearby) are redone with steps 10, 100, 1000 times smaller and the
                  estimate with the smallest error is kept; elements whose perturbed
                  values leave the domain (sqrt near 0) get their steps shrunk until
                  every evaluation is finite.

The one-sided estimates (forward and backward, Richardson-extrapolated
``2·Df(h/4) − Df(h/2)``) come from the same evaluations; the harness compares them
to confirm a kink.  :func:`directional` gives the derivative along given vectors (for
the random projections) and :func:`step_error_curve` the error of a plain central
difference against the step over a log range (the answer key's V-shaped plot).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from contextlib import contextmanager
from typing import Callable, Iterator, Mapping, NamedTuple, Union

import numpy as np

from .. import engine
from ..graph import Graph
from ..ops import registry

__all__ = [
    "FDResult",
    "CHUNK_BYTES",
    "EPS",
    "COMPLEX_STEP",
    "default_step",
    "Base",
    "base",
    "base_of",
    "path_nodes",
    "path_is_analytic",
    "derivative",
    "directional",
    "step_error_curve",
    "derivative_of",
    "directional_of",
    "quadratic_forms",
    "bilinear_forms",
    "hessian_columns",
]

#: bytes one batched pass may hold (all perturbed copies of every node of the graph);
#: small chunks stay in cache and measured faster than 64 MiB ones on 2 cores
CHUNK_BYTES = 4 * 2**20
#: machine epsilon of float64
EPS = float(np.finfo(np.float64).eps)
#: the complex step
COMPLEX_STEP = 1e-20
#: values up to this many elements are joined before :func:`base_of` looks for the largest
_JOINED = 4096
_FACTORS = (1.0, 0.5, 0.25)
_REFINE = (0.1, 0.01, 0.001)
_DOMAIN_TRIES = 8


@dataclass
class FDResult:
    """A finite-difference derivative and its error estimate.

    ``value`` and ``error`` have shape ``rows + output shape`` where ``rows`` is the
    input's shape (:func:`derivative`) or the number of directions (:func:`directional`);
    :meth:`jacobian` moves the output axes in front.  ``forward``/``backward`` are the
    one-sided estimates (None for the complex step); ``step`` the step used per row;
    NaN marks rows that could not be evaluated finitely at any step.
    """

    value: np.ndarray
    error: np.ndarray
    method: str
    step: np.ndarray
    forward: np.ndarray | None = None
    backward: np.ndarray | None = None

    def jacobian(self, array: np.ndarray, row_ndim: int) -> np.ndarray:
        """``array`` (rows + output) with the output axes moved in front (output + rows)."""
        # np.moveaxis(array, rows → the end) as the transpose moveaxis makes (without its argument checks)
        return array.transpose(tuple(range(row_ndim, array.ndim)) + tuple(range(row_ndim)))


def default_step(x: np.ndarray) -> np.ndarray:
    """The central-difference step ``ε^(1/3)·max(|x|, 1)`` per element."""
    return EPS ** (1 / 3) * np.maximum(np.abs(np.asarray(x, dtype=np.float64)), 1.0)


# ---- which nodes lie between an input and the output ------------------------------


def path_nodes(graph: Graph, name: str) -> list[int]:
    """Ids of the primitive nodes on a path from input ``name`` to the output (kept by the graph: every
    FD derivative and check of the input asks; they lie between the input and the output)."""
    start, out = graph.inputs[name], graph.output
    return list(graph.derived(("path", start, out), out, lambda: _path_nodes(graph, start, out)))


def _path_nodes(graph: Graph, start: int, out: int) -> tuple[int, ...]:
    reach = [False] * len(graph)
    reach[start] = True
    for node in graph:
        if node.id != start and any(reach[a] for a in node.args):
            reach[node.id] = True
    upstream = graph.ancestors(out)
    return tuple(n.id for n in graph if reach[n.id] and n.id in upstream and not n.is_leaf)


def path_is_analytic(graph: Graph, name: str) -> bool:
    """Is every primitive between input ``name`` and the output real-analytic?"""
    return all(registry.get(graph[i].op).analytic for i in path_nodes(graph, name))


# ---- batched evaluation of perturbed copies ---------------------------------------


class _UnitCopies:
    """Copies of ``x0``, copy ``r`` with element ``rows[r]`` moved by ``deltas[r]``.

    One buffer of copies is filled with ``x0`` once; each chunk rewrites only its moved
    elements and puts them back afterwards.  (Filling every copy afresh wrote n elements
    per copy — as much memory traffic as the perturbed forward pass itself.)
    """

    def __init__(self, x0: np.ndarray) -> None:
        self.x0 = x0
        self.flat = x0.reshape(-1)
        self.buffer: np.ndarray | None = None

    @contextmanager
    def copies(self, rows: np.ndarray, deltas: np.ndarray) -> Iterator[np.ndarray]:
        dtype = np.result_type(self.flat, deltas)
        buf = self.buffer
        if buf is None or buf.dtype != dtype or len(buf) < len(rows):
            buf = self.buffer = np.empty((len(rows), self.flat.size), dtype=dtype)
            buf[...] = self.flat
        view = buf[:len(rows)]
        index = np.arange(len(rows))
        view[index, rows] += deltas
        try:
            yield view.reshape((len(rows),) + self.x0.shape)
        finally:
            view[index, rows] = self.flat[rows]


class _DirectionCopies:
    """Copies ``x0 + deltas[r]·directions[rows[r]]`` (dense: a fresh array per chunk)."""

    def __init__(self, x0: np.ndarray, directions: np.ndarray) -> None:
        self.x0, self.directions = x0, directions

    @contextmanager
    def copies(self, rows: np.ndarray, deltas: np.ndarray) -> Iterator[np.ndarray]:
        shape = (len(rows),) + (1,) * self.x0.ndim
        yield self.x0[None] + deltas.reshape(shape) * self.directions[rows]


Perturb = Union[_UnitCopies, _DirectionCopies]


def _graph_elements(graph: Graph, leaves: Mapping[str, np.ndarray]) -> int:
    return base(graph, leaves).elements


class Base(NamedTuple):
    """What the differences of every input at one point start from (one forward pass): the unperturbed
    output (float64), the elements of one copy of the graph, and the largest finite magnitude of any
    value in it.

    That magnitude scales the round-off term of the error estimate: an output that is a
    small sum of large, cancelling terms carries the round-off of the terms, not its own.
    """

    output: np.ndarray
    elements: int
    magnitude: float


def base(graph: Graph, leaves: Mapping[str, np.ndarray]) -> Base:
    """The :class:`Base` of ``graph`` at ``leaves`` (float64)."""
    return base_of(engine.evaluate(graph, leaves, np.float64))


def base_of(ev: engine.Evaluation) -> Base:
    """The :class:`Base` of a float64 forward pass already made (the same as :func:`base` at its leaves)."""
    numbers = [np.asarray(v) for v in ev.values]
    numbers = [v for v in numbers if v.size and v.dtype != np.bool_]
    small = [v.reshape(-1) for v in numbers if v.size <= _JOINED]
    parts = [v for v in numbers if v.size > _JOINED] + ([np.concatenate(small)] if small else [])
    magnitude = 0.0
    for v in parts:  # a deep graph's many small values as one array: one pass, not four numpy calls per node
        a = np.abs(np.asarray(v, dtype=np.float64))
        top = a.max()  # NaN or inf when some element is not finite: then the largest finite one
        if not np.isfinite(top):
            finite = a[np.isfinite(a)]
            top = finite.max() if finite.size else 0.0
        magnitude = max(magnitude, float(top))
    return Base(np.asarray(ev.output, dtype=np.float64), int(sum(np.size(v) for v in ev.values)), magnitude)


def _evaluate(graph: Graph, leaves: Mapping[str, np.ndarray], name: str, perturb: Perturb,
              rows: np.ndarray, deltas: np.ndarray, per_copy: int, dtype=np.float64) -> np.ndarray:
    """Outputs (B, m) of the copies ``perturb(rows, deltas)``, chunked by memory."""
    itemsize = np.dtype(dtype).itemsize
    chunk = max(1, CHUNK_BYTES // max(1, per_copy * itemsize))
    rest = {k: v for k, v in leaves.items() if k != name}
    parts = []
    for start in range(0, len(rows), chunk):
        with perturb.copies(rows[start:start + chunk], deltas[start:start + chunk]) as copies:
            out = engine.evaluate_batched(graph, rest, {name: copies}, 1, dtype)
            # a copy: the output may be a view of the copies, whose buffer is reused
            parts.append(np.array(out).reshape(len(copies), -1))
    if not parts:
        return np.zeros((0, 0), dtype=dtype)
    return np.concatenate(parts, axis=0)


def _unit_perturb(x0: np.ndarray) -> _UnitCopies:
    return _UnitCopies(x0)


def _direction_perturb(x0: np.ndarray, directions: np.ndarray) -> _DirectionCopies:
    return _DirectionCopies(x0, directions)


# ---- the three estimators ---------------------------------------------------------


@dataclass
class _Central:
    value: np.ndarray      # (R, m)
    error: np.ndarray      # (R, m)
    forward: np.ndarray    # (R, m)
    backward: np.ndarray   # (R, m)
    spread: np.ndarray     # (R,) worst truncation spread over the outputs
    roundoff: np.ndarray   # (R,)
    finite: np.ndarray     # (R,) bool


def _central(evaluate: Callable[[np.ndarray, np.ndarray], np.ndarray], rows: np.ndarray,
             steps: np.ndarray, f0: np.ndarray, magnitude: float = 0.0, order: int = 1,
             sides: bool = True) -> _Central:
    """Richardson-extrapolated central and one-sided differences for ``rows`` (``sides=False``: no
    one-sided ones, ``forward``/``backward`` are None — nobody looks for a kink).

    ``order=2``: second differences ``(f(x+h) − 2f(x) + f(x−h))/h²`` from the same
    evaluations (their error is also even in h, so the same extrapolation applies), and
    one-sided ``(f(x±2s) − 2f(x±s) + f(x))/s²`` at s = h/2, h/4.
    """
    nf = len(_FACTORS)
    hs = steps[:, None] * np.asarray(_FACTORS)[None, :]                       # (R, 3)
    deltas = np.stack([hs, -hs], axis=-1).reshape(-1)                         # (R*3*2,)
    out = evaluate(np.repeat(rows, 2 * nf), deltas).reshape(len(rows), nf, 2, -1)
    plus, minus = out[:, :, 0], out[:, :, 1]                                  # (R, 3, m)
    h = hs[:, :, None]
    with np.errstate(all="ignore"):
        if order == 2:
            d = (plus - 2 * f0[None, None, :] + minus) / (h * h)
        else:
            d = np.subtract(plus, minus)
            d /= 2 * h                                                        # D(h), D(h/2), D(h/4)
        # the same arithmetic as (4·D(h/2) − D(h))/3 etc., each result made once and then updated in
        # place: on a 10^3-input Hessian these are ~10^6-entry arrays, and every fresh one costs page faults
        r1 = np.multiply(d[:, 1], 4)                                          # (4·D(h/2) − D(h))/3:
        r1 -= d[:, 0]                                                         # cancels the h² term
        r1 /= 3
        r2 = np.multiply(d[:, 2], 4)                                          # (4·D(h/4) − D(h/2))/3
        r2 -= d[:, 1]
        r2 /= 3
        top = out.max(axis=(1, 2))                                            # max |out| without |out|
        np.maximum(top, np.negative(out.min(axis=(1, 2))), out=top)
        finite = np.isfinite(top).all(axis=1)                                 # a NaN or ±inf shows in top
        roundoff = np.maximum(np.abs(f0)[None, :], top)                       # the scale, then
        np.maximum(roundoff, magnitude, out=roundoff)
        roundoff *= 10 * EPS                                                  # 10·EPS·scale / h^order
        roundoff /= steps[:, None] ** order
        spread = np.subtract(r2, r1)                                          # 2·|r2 − r1|
        np.abs(spread, out=spread)
        spread *= 2
        if not sides:
            forward = backward = None
        elif order == 2:
            f = f0[None, :]
            fwd_d = [(plus[:, k - 1] - 2 * plus[:, k] + f) / (h[:, k] * h[:, k]) for k in (1, 2)]
            bwd_d = [(minus[:, k - 1] - 2 * minus[:, k] + f) / (h[:, k] * h[:, k]) for k in (1, 2)]
            forward = 2 * fwd_d[1] - fwd_d[0]                                 # cancels the O(s) term
            backward = 2 * bwd_d[1] - bwd_d[0]
        else:
            fwd_d = [(plus[:, k] - f0[None, :]) / h[:, k] for k in (1, 2)]    # one-sided forward
            bwd_d = [(f0[None, :] - minus[:, k]) / h[:, k] for k in (1, 2)]
            forward = 2 * fwd_d[1] - fwd_d[0]                                 # cancels the O(h) term
            backward = 2 * bwd_d[1] - bwd_d[0]
    worst = np.where(finite, spread.max(axis=1, initial=0.0), np.inf)
    spread += roundoff                                                        # now the error
    return _Central(r2, spread, forward, backward, worst, roundoff.max(axis=1, initial=0.0), finite)


def _richardson(evaluate, n_rows: int, steps: np.ndarray, f0: np.ndarray, magnitude: float = 0.0,
                order: int = 1, sides: bool = True):
    """Adaptive Richardson over every row: shrink for the domain, refine for truncation
    (``order=2``: second differences; ``sides``: one-sided estimates too, see :func:`_central`)."""
    rows = np.arange(n_rows)
    best = _central(evaluate, rows, steps.copy(), f0, magnitude, order, sides)
    used = steps.copy()
    # the domain: shrink the step of rows whose perturbed values are not finite
    shrink = steps.copy()
    for _ in range(_DOMAIN_TRIES):
        bad = np.flatnonzero(~best.finite)
        if bad.size == 0:
            break
        shrink[bad] *= 0.1
        again = _central(evaluate, bad, shrink[bad], f0, magnitude, order, sides)
        _take(best, again, bad, np.ones(bad.size, dtype=bool))
        used[bad] = np.where(again.finite, shrink[bad], used[bad])
    # truncation: redo rows whose spread is well above round-off with smaller steps
    for factor in _REFINE:
        poor = np.flatnonzero(best.finite & (best.spread > 4 * best.roundoff)
                              & (best.spread > 1e-13 * np.abs(best.value).max(axis=1, initial=0.0)))
        if poor.size == 0:
            break
        again = _central(evaluate, poor, used[poor] * factor, f0, magnitude, order, sides)
        better = again.finite & (again.error.max(axis=1, initial=0.0) < best.error[poor].max(axis=1, initial=0.0))
        _take(best, again, poor, better)
        used[poor[better]] = used[poor[better]] * factor
    value = np.where(best.finite[:, None], best.value, np.nan)
    error = np.where(best.finite[:, None], best.error, np.inf)
    return value, error, best.forward, best.backward, used


def _take(best: _Central, again: _Central, rows: np.ndarray, mask: np.ndarray) -> None:
    sel, src = rows[mask], np.flatnonzero(mask)
    for field in ("value", "error", "forward", "backward", "spread", "roundoff", "finite"):
        if getattr(best, field) is not None:
            getattr(best, field)[sel] = getattr(again, field)[src]


def _complex_step(evaluate_c, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    out = evaluate_c(np.arange(n_rows), np.full(n_rows, COMPLEX_STEP * 1j))
    value = out.imag / COMPLEX_STEP
    return value, 16 * EPS * np.abs(value)


@functools.lru_cache(maxsize=256)
def _probe_direction(shape: tuple[int, ...]) -> np.ndarray:
    """The fixed random direction the complex step is validated along, for an input of ``shape`` (kept: the
    same numbers for every input of that shape, and a generator costs more to seed than a small check;
    read-only, as it is shared)."""
    v = np.random.default_rng(20240531).standard_normal((1,) + shape)
    v.setflags(write=False)
    return v


def _complex_step_trusted(graph, leaves, name, x0, f0, per_copy) -> bool:
    """Validate the complex step along one random direction against Richardson."""
    perturb = _direction_perturb(x0, _probe_direction(tuple(x0.shape)))
    try:
        cs = _evaluate(graph, leaves, name, perturb, np.zeros(1, int), np.array([COMPLEX_STEP * 1j]),
                       per_copy, np.complex128).imag / COMPLEX_STEP
    except Exception:  # a forward that cannot take complex numbers
        return False
    if not np.all(np.isfinite(cs)):
        return False
    evaluate = lambda rows, deltas: _evaluate(graph, leaves, name, perturb, rows, deltas, per_copy)  # noqa: E731
    step = np.array([EPS ** (1 / 3) * max(1.0, float(np.abs(x0).max(initial=0.0)))])
    value, error, *_ = _richardson(evaluate, 1, step, f0, sides=False)  # no kink test: no one-sided estimates
    if not np.all(np.isfinite(value)):
        return True  # nothing to contradict it with (e.g. a domain edge)
    return bool(np.all(np.abs(cs - value) <= error + 1e-6 * (np.abs(value) + np.abs(value).max(initial=0.0))))


# ---- public entry points ----------------------------------------------------------



def _auto_method(graph: Graph, leaves: Mapping[str, np.ndarray], name: str, x0: np.ndarray, f0: np.ndarray,
                 per_copy: int) -> str:
    """Complex step where every primitive on the path is analytic and a probe confirms it, else Richardson."""
    if path_is_analytic(graph, name) and _complex_step_trusted(graph, leaves, name, x0, f0.reshape(-1), per_copy):
        return "complex-step"
    return "richardson"

def _estimate(graph: Graph, leaves: Mapping[str, np.ndarray], name: str, x0: np.ndarray, perturb: Perturb,
              n_rows: int, steps: np.ndarray, f0: np.ndarray, magnitude: float, per_copy: int, method: str):
    """Derivatives along ``n_rows`` perturbations: complex step or adaptive Richardson.

    Returns ``(value, error, method, step used, forward, backward)`` as flat rows (the
    one-sided estimates are None for the complex step).
    """
    if method == "auto":
        method = _auto_method(graph, leaves, name, x0, f0, per_copy)

    def evaluate(rows, deltas, dtype=np.float64):
        return _evaluate(graph, leaves, name, perturb, rows, deltas, per_copy, dtype)

    if method == "complex-step":
        value, error = _complex_step(lambda rows, deltas: evaluate(rows, deltas, np.complex128), n_rows)
        return value, error, method, np.full(n_rows, COMPLEX_STEP), None, None
    value, error, fwd, bwd, used = _richardson(evaluate, n_rows, steps, f0.reshape(-1), magnitude)
    return value, error, method, used, fwd, bwd


def _one_sided(fwd, bwd, shape) -> tuple:
    return () if fwd is None else (fwd.reshape(shape), bwd.reshape(shape))


def derivative(graph: Graph, leaves: Mapping[str, np.ndarray], name: str, *,
               method: str = "auto", per_copy: int | None = None, at: Base | None = None) -> FDResult:
    """The derivative of the output with respect to every element of input ``name``.

    ``leaves`` are the values of the point (cast to float64 here).  ``method`` is
    ``"auto"`` (complex step where the path is analytic and the check along a random
    direction agrees, Richardson otherwise), ``"complex-step"`` or ``"richardson"``.
    ``at``: the point's :class:`Base`, when the caller has it (every input of a point shares it).
    Returns value/error of shape input shape + output shape.
    """
    leaves = {k: np.asarray(v, dtype=np.float64) for k, v in leaves.items()}
    x0 = leaves[name]
    f0, elements, magnitude = base(graph, leaves) if at is None else at
    per_copy = per_copy or elements
    out_shape = f0.shape
    n = x0.size
    perturb = _unit_perturb(x0)
    shape = x0.shape + out_shape
    value, error, method, used, fwd, bwd = _estimate(graph, leaves, name, x0, perturb, n,
                                                     default_step(x0).reshape(-1), f0, magnitude, per_copy, method)
    return FDResult(value.reshape(shape), error.reshape(shape), method, used.reshape(x0.shape),
                    *_one_sided(fwd, bwd, shape))


def directional(graph: Graph, leaves: Mapping[str, np.ndarray], name: str, directions: np.ndarray, *,
                method: str = "auto", per_copy: int | None = None, at: Base | None = None) -> FDResult:
    """Directional derivatives ``J·v`` along each ``v`` in ``directions`` (K + input shape).

    ``at`` as for :func:`derivative`.  Returns value/error of shape (K,) + output shape.
    """
    leaves = {k: np.asarray(v, dtype=np.float64) for k, v in leaves.items()}
    x0 = leaves[name]
    directions = np.asarray(directions, dtype=np.float64)
    k = directions.shape[0]
    f0, elements, magnitude = base(graph, leaves) if at is None else at
    per_copy = per_copy or elements
    perturb = _direction_perturb(x0, directions)
    shape = (k,) + f0.shape
    size = np.abs(directions.reshape(k, -1)).max(axis=1, initial=0.0)
    steps = EPS ** (1 / 3) * max(1.0, float(np.abs(x0).max(initial=0.0))) / np.where(size > 0, size, 1.0)
    value, error, method, used, fwd, bwd = _estimate(graph, leaves, name, x0, perturb, k, steps, f0, magnitude,
                                                     per_copy, method)
    return FDResult(value.reshape(shape), error.reshape(shape), method, used, *_one_sided(fwd, bwd, shape))


def step_error_curve(graph: Graph, leaves: Mapping[str, np.ndarray], name: str, index: tuple[int, ...],
                     steps: np.ndarray | None = None, output_index: tuple[int, ...] = (),
                     reference: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Error of a plain central difference against the step, for one element (the V plot).

    Returns ``(steps, estimates, errors, reference)``: the steps (default 10^-16 … 10^0,
    49 of them, times max(|x|, 1)), the central-difference estimate at each, its absolute
    error against ``reference`` (default: the best estimate of :func:`derivative`), and
    the reference used.  The step the harness uses is :func:`default_step`.
    """
    leaves = {k: np.asarray(v, dtype=np.float64) for k, v in leaves.items()}
    x0 = leaves[name]
    flat_index = int(np.ravel_multi_index(tuple(index), x0.shape)) if x0.ndim else 0
    scale = max(1.0, abs(float(x0.reshape(-1)[flat_index])))
    steps = np.logspace(-16, 0, 49) * scale if steps is None else np.asarray(steps, dtype=np.float64)
    per_copy = _graph_elements(graph, leaves)
    rows = np.full(2 * len(steps), flat_index)
    deltas = np.stack([steps, -steps], axis=-1).reshape(-1)
    out = _evaluate(graph, leaves, name, _unit_perturb(x0), rows, deltas, per_copy).reshape(len(steps), 2, -1)
    f0_shape = np.shape(engine.evaluate(graph, leaves, np.float64).output)
    out_flat = int(np.ravel_multi_index(tuple(output_index), f0_shape)) if f0_shape else 0
    with np.errstate(all="ignore"):
        estimates = (out[:, 0, out_flat] - out[:, 1, out_flat]) / (2 * steps)
    if reference is None:
        best = derivative(graph, leaves, name, per_copy=per_copy)
        reference = float(best.value.reshape(x0.size, -1)[flat_index, out_flat])
    return steps, estimates, np.abs(estimates - reference), float(reference)


# ---- an opaque function (a user's code under test) ----------------------------------


def _opaque(f: Callable[[np.ndarray], np.ndarray], perturb: Perturb,
            batched: Callable[[np.ndarray], np.ndarray] | None = None,
            chunk: int = 1) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``evaluate(rows, deltas)`` for a function of one array that knows no batch axes: one call per copy;
    or, given ``batched`` (copies B + x.shape → outputs B × m), ``chunk`` copies per call."""
    def evaluate(rows: np.ndarray, deltas: np.ndarray) -> np.ndarray:
        if batched is not None:
            out = None  # filled chunk by chunk: no list of parts to join
            for start in range(0, len(rows), chunk):
                with perturb.copies(rows[start:start + chunk], deltas[start:start + chunk]) as copies:
                    part = np.asarray(batched(copies), dtype=np.float64).reshape(len(copies), -1)
                    if out is None:
                        out = np.empty((len(rows), part.shape[1]))
                    out[start:start + len(copies)] = part
            return out if out is not None else np.zeros((0, 0))
        with perturb.copies(rows, deltas) as copies:
            outs = [np.asarray(f(np.array(c)), dtype=np.float64).reshape(-1) for c in copies]
        return np.stack(outs) if outs else np.zeros((0, 0))
    return evaluate


def derivative_of(f: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, *,
                  batched: Callable[[np.ndarray], np.ndarray] | None = None, per_copy: int = 0,
                  sides: bool = True) -> FDResult:
    """Richardson derivative of an opaque ``f`` (one float64 array in, one array out) at ``x0``.

    For code that is not ours (no complex step: arbitrary code need not be complex-safe);
    ``f`` is called once per perturbed copy — or, given ``batched`` (the same function of many
    copies at once: B + x.shape → B × outputs, using about ``per_copy`` elements per copy),
    once per chunk of copies (:data:`CHUNK_BYTES`), with the same differences.  Shapes as
    :func:`derivative`.
    """
    x0 = np.asarray(x0, dtype=np.float64)
    f0 = np.asarray(f(x0.copy()), dtype=np.float64)
    magnitude = float(np.abs(f0[np.isfinite(f0)]).max(initial=0.0))
    chunk = max(1, CHUNK_BYTES // max(1, (per_copy or x0.size + f0.size) * 8))
    evaluate = _opaque(f, _unit_perturb(x0), batched, chunk)
    value, error, fwd, bwd, used = _richardson(evaluate, x0.size, default_step(x0).reshape(-1), f0.reshape(-1),
                                               magnitude, sides=sides)
    shape = x0.shape + f0.shape
    return FDResult(value.reshape(shape), error.reshape(shape), "richardson", used.reshape(x0.shape),
                    None if fwd is None else fwd.reshape(shape), None if bwd is None else bwd.reshape(shape))


def directional_of(f: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, directions: np.ndarray) -> FDResult:
    """Richardson directional derivatives of an opaque ``f`` along ``directions`` (K + input shape)."""
    x0 = np.asarray(x0, dtype=np.float64)
    directions = np.asarray(directions, dtype=np.float64)
    k = directions.shape[0]
    f0 = np.asarray(f(x0.copy()), dtype=np.float64)
    magnitude = float(np.abs(f0[np.isfinite(f0)]).max(initial=0.0))
    size = np.abs(directions.reshape(k, -1)).max(axis=1, initial=0.0)
    steps = EPS ** (1 / 3) * max(1.0, float(np.abs(x0).max(initial=0.0))) / np.where(size > 0, size, 1.0)
    evaluate = _opaque(f, _direction_perturb(x0, directions))
    value, error, fwd, bwd, used = _richardson(evaluate, k, steps, f0.reshape(-1), magnitude)
    shape = (k,) + f0.shape
    return FDResult(value.reshape(shape), error.reshape(shape), "richardson", used, fwd.reshape(shape),
                    bwd.reshape(shape))


# ---- second differences of the forward (second order) ------------------------------


def _flat_evaluator(graph: Graph, leaves: Mapping[str, np.ndarray], names: list[str], cotangent: np.ndarray,
                    x0: np.ndarray, directions: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``evaluate(rows, deltas)`` of ``s = wᵀf`` at ``x0 + delta·direction`` where ``x0`` is every input of
    ``names`` flattened and concatenated; batched through the numpy forward, chunked by memory."""
    rest = {k: v for k, v in leaves.items() if k not in names}
    shapes = [np.shape(leaves[n]) for n in names]
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    offsets = np.cumsum([0] + sizes)
    per_copy = _graph_elements(graph, leaves) + x0.size
    chunk = max(1, CHUNK_BYTES // max(1, per_copy * 8))
    w = np.asarray(cotangent, dtype=np.float64).reshape(-1)

    def evaluate(rows: np.ndarray, deltas: np.ndarray) -> np.ndarray:
        parts = []
        for start in range(0, len(rows), chunk):
            r, d = rows[start:start + chunk], deltas[start:start + chunk]
            copies = x0[None] + d[:, None] * directions[r]
            batched = {n: copies[:, offsets[i]:offsets[i + 1]].reshape((len(r),) + shapes[i])
                       for i, n in enumerate(names)}
            out = np.asarray(engine.evaluate_batched(graph, rest, batched, 1, np.float64), dtype=np.float64)
            parts.append(out.reshape(len(r), -1) @ w)
        return np.concatenate(parts)[:, None] if parts else np.zeros((0, 1))
    return evaluate


def quadratic_forms(graph: Graph, leaves: Mapping[str, np.ndarray], names: list[str], directions: np.ndarray,
                    cotangent: np.ndarray) -> FDResult:
    """``dᵀ H d`` of ``s = wᵀf`` (``w`` = ``cotangent``) along each row ``d`` of ``directions`` (K, N; N the
    elements of every input in ``names``, concatenated) by Richardson-extrapolated second central differences
    of the numpy forward, with an error estimate and one-sided second differences (shapes (K,))."""
    leaves = {k: np.asarray(v, dtype=np.float64) for k, v in leaves.items()}
    x0 = np.concatenate([leaves[n].reshape(-1) for n in names])
    directions = np.asarray(directions, dtype=np.float64)
    k = directions.shape[0]
    f0, _, magnitude = base(graph, leaves)
    s0 = np.array([float(np.asarray(f0).reshape(-1) @ np.asarray(cotangent, dtype=np.float64).reshape(-1))])
    size = np.abs(directions).max(axis=1, initial=0.0)
    # the error after extrapolation is ε/h² + h⁴: best near h ∝ ε^(1/6)
    steps = EPS ** (1 / 6) * max(1.0, float(np.abs(x0).max(initial=0.0))) / np.where(size > 0, size, 1.0)
    evaluate = _flat_evaluator(graph, leaves, names, cotangent, x0, directions)
    magnitude *= float(np.abs(np.asarray(cotangent)).sum()) or 1.0
    value, error, fwd, bwd, used = _richardson(evaluate, k, steps, s0, magnitude, order=2)
    return FDResult(value[:, 0], error[:, 0], "second differences (richardson)", used, fwd[:, 0], bwd[:, 0])


def bilinear_forms(graph: Graph, leaves: Mapping[str, np.ndarray], names: list[str], u: np.ndarray,
                   v: np.ndarray, cotangent: np.ndarray) -> FDResult:
    """``uᵀ H v`` for each pair of rows of ``u`` and ``v`` (K, N) by polarization,
    ``¼·((u+v)ᵀH(u+v) − (u−v)ᵀH(u−v))``, of :func:`quadratic_forms` (shapes (K,))."""
    k = u.shape[0]
    q = quadratic_forms(graph, leaves, names, np.concatenate([u + v, u - v]), cotangent)

    def polar(a: np.ndarray) -> np.ndarray:
        return (a[:k] - a[k:]) / 4

    return FDResult(polar(q.value), (q.error[:k] + q.error[k:]) / 4, q.method, q.step,
                    polar(q.forward), polar(q.backward))


def hessian_columns(graph: Graph, leaves: Mapping[str, np.ndarray], names: list[str], name: str,
                    cotangent: np.ndarray) -> FDResult:
    """The columns ``∂²s/∂(every input)∂name`` of the Hessian of ``s = wᵀf`` by second differences:
    value/error/forward/backward of shape (n, N) — n the elements of ``name``, N of every input in
    ``names`` — diagonal entries ``e_jᵀHe_j`` directly, the others by polarization."""
    sizes = [int(np.size(leaves[m])) for m in names]
    offset = int(np.sum(sizes[:names.index(name)]))
    n, total = sizes[names.index(name)], int(np.sum(sizes))
    eye = np.eye(total)
    cols = eye[offset:offset + n]                                             # (n, N): e_i of input ``name``
    u = np.repeat(cols, total, axis=0)                                        # (n·N, N)
    v = np.tile(eye, (n, 1))
    same = np.all(u == v, axis=1)
    v[same] = 0                                                               # diagonal: ¼·(q(e) − q(e)) → q(e)
    r = bilinear_forms(graph, leaves, names, u, v, cotangent)
    diagonal = quadratic_forms(graph, leaves, names, u[same], cotangent)
    fields = []
    for arr, diag in ((r.value, diagonal.value), (r.error, diagonal.error), (r.forward, diagonal.forward),
                      (r.backward, diagonal.backward)):
        arr = arr.copy()
        arr[same] = diag
        fields.append(arr.reshape(n, total))
    return FDResult(fields[0], fields[1], r.method, r.step, fields[2], fields[3])
