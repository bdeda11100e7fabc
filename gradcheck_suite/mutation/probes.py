"""Probes: calls of one primitive on which a mutant is compared with the original rule.

A :class:`Probe` is one call — argument values, parameters, which arguments are
differentiable — run through the engine as a one-node graph, so the comparison sees
exactly what the engine makes of a rule (parameter normalisation, ``unbroadcast``,
batch axes).  Two sources:

* :func:`random_probes` — random arguments inside each primitive's domain, in several
  shapes, broadcasting ones included (:data:`PROBE_TABLE`).  A mutant that gives the
  original's numbers on every one of them, for random cotangents/tangents with and
  without a batch axis, is *equivalent*: excluded from the score, with the reason.
* :func:`library_probes` — the actual argument values of every node of a case library
  that applies the primitive.  A mutant that differs on random probes but not on these
  is a survivor by construction: the library never exercises the difference.

Rules are linear in the cotangent/tangent, so agreement for random seeds at one point
means agreement for every seed at that point.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from .. import engine
from ..case import Case
from ..graph import Graph
from ..ops import registry
from ..ops.registry import NotDifferentiable
from .mutants import Firing, Mutant, installed

__all__ = ["Probe", "Comparison", "PROBE_TABLE", "random_probes", "library_probes", "compare"]

#: relative and absolute closeness under which a mutant's numbers count as the original's
RTOL, ATOL = 1e-10, 1e-12


@dataclass
class Probe:
    """One call of a primitive: argument values, static parameters, differentiable flags."""

    primitive: str
    args: list[np.ndarray]
    params: dict[str, Any]
    differentiable: list[bool]
    where: str

    def graph(self) -> Graph:
        """``out = primitive(a0, a1, ...)``; non-differentiable arguments are constants."""
        g = Graph()
        ids = []
        for i, diff in enumerate(self.differentiable):
            node = g.add("input" if diff else "constant", name=f"a{i}")
            (g.inputs if diff else g.constants)[f"a{i}"] = node.id
            ids.append(node.id)
        out = g.add(self.primitive, tuple(ids), params=dict(self.params), name="out", step="out")
        g.steps["out"] = out.id
        g.output = out.id
        return g

    def shapes(self) -> str:
        return " & ".join(str(tuple(np.shape(a))) for a in self.args)


# ---- random arguments in each primitive's domain -------------------------------------

Draw = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]


def _real(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Magnitudes in [0.2, 2] with random signs: away from every kink at 0."""
    return rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def _uniform(low: float, high: float) -> Draw:
    return lambda rng, shape: rng.uniform(low, high, shape)


def _condition(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.random(shape) < 0.5


def _matrix(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Square matrices (last two axes) that are well conditioned: noise plus 3·I."""
    return rng.standard_normal(shape) + 3.0 * np.eye(shape[-1])


_POSITIVE = _uniform(0.3, 3.0)
_UNIT = _uniform(-0.9, 0.9)

#: one-argument elementwise primitives whose domain is not the whole real line
_UNARY_DOMAINS: dict[str, Draw] = {
    "log": _POSITIVE, "sqrt": _POSITIVE, "log1p": _uniform(-0.7, 2.0),
    "arcsin": _UNIT, "arccos": _UNIT, "tan": _uniform(-1.2, 1.2),
}
_UNARY = ("abs arccos arcsin arctan cos cosh elu erf exp expm1 gelu leaky_relu log log1p neg pos relu "
          "sigmoid sign sin sinh softplus sqrt square tan tanh").split()
_UNARY_SHAPES = [((),), ((4,),), ((3, 3),), ((3, 4),), ((2, 3, 3),)]

#: argument shape pairs of a broadcasting binary operator
_PAIRS = [((3, 3), (3, 3)), ((3, 4), (4,)), ((4,), (3, 4)), ((3, 1), (1, 4)), ((), (2, 3)), ((2, 3), ()),
          ((2, 1, 3), (4, 1)), ((3, 3), (3, 1))]
_BINARY_DOMAINS: dict[str, tuple[Draw, Draw]] = {
    "add": (_real, _real), "sub": (_real, _real), "mul": (_real, _real), "div": (_real, _real),
    "pow": (_POSITIVE, _real), "maximum": (_real, _real), "minimum": (_real, _real),
}
_WHERE_SHAPES = [((3, 3), (3, 3), (3, 3)), ((2, 3, 3), (3, 3), (3, 3)), ((3, 4), (4,), (3, 4)), ((3, 4), (3, 4), (4,)), ((3, 4), (3, 1), ()),
                 ((2, 3), (), (1, 3))]

_REDUCE_SHAPES = [((5,), {}), ((3, 4), {}), ((3, 4), {"axis": 0}), ((3, 4), {"axis": -1, "keepdims": True}),
                  ((3, 3), {"axis": 1}), ((3, 3), {"axis": 0, "keepdims": True}), ((2, 3, 4), {"axis": (0, 2)}),
                  ((2, 3, 4), {"axis": 1, "keepdims": True}), ((2, 3, 3), {"axis": 0})]
_DDOF = [((3, 4), {"axis": 1, "ddof": 1}), ((5,), {"ddof": 1})]

Entry = list[tuple[tuple[Draw, ...], tuple[tuple[int, ...], ...], dict[str, Any]]]


def _entry(draws: tuple[Draw, ...], cases: Iterable[tuple[tuple[tuple[int, ...], ...], dict[str, Any]]]) -> Entry:
    return [(draws, shapes, params) for shapes, params in cases]


def _table() -> dict[str, Entry]:
    table: dict[str, Entry] = {}
    for name in _UNARY:
        draw = _UNARY_DOMAINS.get(name, _real)
        table[name] = _entry((draw,), ((s, {}) for s in _UNARY_SHAPES))
    table["clip"] = _entry((_real,), [(((3, 3),), {"a_min": -0.5, "a_max": 0.5}), (((4,),), {"a_min": -0.5}),
                                      (((2, 3, 3),), {"a_max": 0.3})])
    table["leaky_relu"] += _entry((_real,), [(((3, 3),), {"negative_slope": 0.2})])
    table["elu"] += _entry((_real,), [(((3, 3),), {"alpha": 0.5})])
    for name, draws in _BINARY_DOMAINS.items():
        table[name] = _entry(draws, ((pair, {}) for pair in _PAIRS))
    table["where"] = _entry((_condition, _real, _real), ((s, {}) for s in _WHERE_SHAPES))
    for name in ("sum", "mean", "max", "min", "logsumexp", "norm", "var", "std"):
        table[name] = _entry((_real,), (((s,), p) for s, p in _REDUCE_SHAPES))
    for name in ("var", "std"):
        table[name] += _entry((_real,), (((s,), p) for s, p in _DDOF))
    table["prod"] = _entry((_uniform(0.5, 1.5),), (((s,), p) for s, p in _REDUCE_SHAPES))
    for name in ("softmax", "log_softmax"):
        table[name] = _entry((_real,), [(((4,),), {}), (((3, 4),), {}), (((3, 3),), {"axis": 0}),
                                        (((2, 3, 3),), {"axis": 1})])
    table["reshape"] = _entry((_real,), [(((3, 4),), {"shape": (4, 3)}), (((3, 4),), {"shape": (12,)}),
                                         (((2, 3, 4),), {"shape": (6, 4)}), (((6,),), {"shape": (2, 3)}),
                                         (((3, 3),), {"shape": (9,)}), (((9,),), {"shape": (3, 3)})])
    table["transpose"] = _entry((_real,), [(((3, 4),), {}), (((3, 3),), {}), (((2, 3, 4),), {"axes": (1, 0, 2)}),
                                           (((2, 3, 3),), {})])
    table["flip"] = _entry((_real,), [(((3, 4),), {}), (((3, 4),), {"axis": 0}), (((3, 3),), {"axis": 1}),
                                      (((5,),), {})])
    table["expand_dims"] = _entry((_real,), [(((3,),), {"axis": 0}), (((3, 4),), {"axis": -1}),
                                             (((3, 3),), {"axis": 1}), (((3,),), {"axis": 1}),
                                             (((3, 3),), {"axis": 0})])
    table["squeeze"] = _entry((_real,), [(((3, 1, 4),), {}), (((1, 3),), {"axis": 0}), (((3, 1, 3),), {"axis": 1}),
                                         (((1, 3, 3),), {})])
    table["broadcast_to"] = _entry((_real,), [(((3, 1),), {"shape": (3, 4)}), (((4,),), {"shape": (2, 3, 4)}),
                                              (((),), {"shape": (3, 3)}), (((1, 3),), {"shape": (3, 3)}),
                                              (((3, 3),), {"shape": (2, 3, 3)})])
    table["getitem"] = _entry((_real,), [(((4, 5),), {"index": (slice(1, 3), slice(None, None, 2))}),
                                         (((3, 3),), {"index": (1,)}), (((3, 3),), {"index": (slice(None), slice(0, 2))}),
                                         (((4, 4),), {"index": (slice(0, 3), slice(1, 4))}),
                                         (((3, 4),), {"index": (slice(None), None, 2)})])
    joins = [(((3, 2), (3, 4)), {"axis": -1}), (((2, 3), (4, 3)), {}), (((3, 3), (3, 3)), {}),
             (((2, 2), (2, 2), (2, 2)), {"axis": 1}), (((3,), (4,)), {}), (((2, 3), (1, 3)), {})]
    table["concat"] = _entry((_real, _real, _real), joins)
    stacks = [(((3,), (3,)), {}), (((3,), (3,), (3,)), {}), (((3, 3), (3, 3)), {"axis": -1}), (((2, 2), (2, 2), (2, 2)), {"axis": 1}),
              (((3, 3), (3, 3)), {})]
    table["stack"] = _entry((_real, _real, _real), stacks)
    products = [(((3, 4), (4, 2)), {}), (((3, 3), (3, 3)), {}), (((4,), (4, 3)), {}), (((3, 4), (4,)), {}),
                (((4,), (4,)), {})]
    table["dot"] = _entry((_real, _real), products)
    table["matmul"] = _entry((_real, _real), products + [(((2, 3, 3), (3, 3)), {}), (((3, 3), (2, 3, 3)), {}),
                                                         (((2, 3, 4), (4, 2)), {})])
    table["outer"] = _entry((_real, _real), [(((3,), (4,)), {}), (((3,), (3,)), {}), (((2, 2), (3,)), {}),
                                             (((2, 2), (2, 2)), {})])
    table["trace"] = _entry((_real,), [(((3, 3),), {}), (((3, 4),), {}), (((2, 3, 3),), {})])
    table["diag"] = _entry((_real,), [(((3,),), {}), (((3, 3),), {}), (((3, 4),), {})])
    square = [(((3, 3),), {}), (((2, 2),), {}), (((2, 3, 3),), {})]
    table["inv"] = _entry((_matrix,), square)
    table["det"] = _entry((_matrix,), square)
    table["solve"] = _entry((_matrix, _real), [(((3, 3), (3,)), {}), (((3, 3), (3, 2)), {}), (((3, 3), (3, 3)), {}),
                                               (((2, 3, 3), (2, 3, 2)), {}), (((2, 3, 3), (3, 3)), {})])
    return table


#: for every differentiable primitive: (value generators per argument, argument shapes, parameters)
PROBE_TABLE: dict[str, Entry] = _table()


def _seed(text: str) -> int:
    return zlib.crc32(text.encode())


def _flags(name: str, args: list[np.ndarray]) -> list[bool]:
    prim = registry.get(name)
    rules = prim.vjp * len(args) if prim.variadic else prim.vjp
    return [not isinstance(r, NotDifferentiable) and np.asarray(a).dtype != np.bool_ for r, a in zip(rules, args)]


#: independent random draws of every table entry
DRAWS = 2


def random_probes(name: str, seed: int = 0) -> list[Probe]:
    """Random calls of primitive ``name`` inside its domain (empty when it has no table entry)."""
    rng = np.random.default_rng([seed, _seed(name)])
    probes = []
    for draws, shapes, params in PROBE_TABLE.get(name, []) * DRAWS:
        args = [draws[min(i, len(draws) - 1)](rng, s) for i, s in enumerate(shapes)]
        probes.append(Probe(name, args, dict(params), _flags(name, args), f"random {' & '.join(map(str, shapes))}"))
    return probes


def library_probes(name: str, cases: Iterable[Case], limit: int = 200) -> list[Probe]:
    """Every node of ``cases`` that applies ``name``, with its actual values (float64, run seed 0).

    An argument that the case does not differentiate through stays non-differentiable.
    At most ``limit`` probes, one per distinct (case, shapes, parameters).
    """
    probes: list[Probe] = []
    seen: set[tuple] = set()
    for case in cases:
        nodes = [n for n in case.graph if n.op == name]
        if not nodes:
            continue
        try:
            ev = engine.evaluate(case.graph, case.leaves(), np.float64)
        except Exception:  # a case that does not evaluate is reported by the baseline, not here
            continue
        for node in nodes:
            args = [ev.values[a] for a in node.args]
            key = (case.name, tuple(np.shape(a) for a in args), repr(sorted(node.params.items())))
            if key in seen:
                continue
            seen.add(key)
            flags = [f and ev.requires_grad[a] for f, a in zip(_flags(name, args), node.args)]
            probes.append(Probe(name, args, dict(node.params), flags, f"case {case.name!r}, {node.name or name}"))
            if len(probes) >= limit:
                return probes
    return probes


# ---- comparing a mutant with the original on probes ------------------------------------


@dataclass
class Comparison:
    """How a mutant compared with the original on a set of probes."""

    probes: int = 0          # probes where the mutated argument is differentiable and the original runs
    differs: str = ""        # where the first difference was seen ("" when none)
    firing: Firing = field(default_factory=Firing)
    all_zero: bool = True    # the original rule's result was zero on every probe
    raised: str = ""         # the first exception the mutated engine raised ("" when none)
    shapes: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return self.probes > 0 and not self.differs


def _pull(mutant: Mutant, ev: engine.Evaluation, seed: np.ndarray) -> np.ndarray:
    name = f"a{mutant.argnum}"
    if mutant.rule == "vjp":
        return engine.vjp(ev, seed, wrt=[name])[name]
    return engine.jvp(ev, {name: seed})


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    if np.shape(a) != np.shape(b):
        return False
    scale = float(np.max(np.abs(b), initial=0.0)) if np.all(np.isfinite(b)) else 1.0
    return bool(np.allclose(a, b, rtol=RTOL, atol=ATOL * max(1.0, scale), equal_nan=True))


def compare(mutant: Mutant, probes: Iterable[Probe], seed: int = 0, stop_at_first: bool = True) -> Comparison:
    """Run the original and the mutated rule on every probe with random seeds (2 unbatched, 1 batched)."""
    rng = np.random.default_rng([seed, _seed(mutant.label)])
    result = Comparison()
    for probe in probes:
        if mutant.argnum >= len(probe.args) or not probe.differentiable[mutant.argnum]:
            continue
        try:
            ev = engine.evaluate(probe.graph(), {f"a{i}": a for i, a in enumerate(probe.args)}, np.float64)
            core = ev.output.shape if mutant.rule == "vjp" else np.shape(probe.args[mutant.argnum])
            seeds = [rng.standard_normal(core), rng.standard_normal(core), rng.standard_normal((2,) + core)]
            originals = [_pull(mutant, ev, s) for s in seeds]
        except Exception:  # a probe the original rule cannot handle says nothing about the mutant
            continue
        if not all(np.all(np.isfinite(o)) for o in originals):
            continue
        result.probes += 1
        result.shapes.append(probe.shapes())
        result.all_zero = result.all_zero and not any(np.any(o != 0) for o in originals)
        try:
            with installed(mutant, result.firing):
                wrong = [_pull(mutant, ev, s) for s in seeds]
        except Exception as exc:
            result.raised = result.raised or f"{probe.where} ({probe.shapes()}): {type(exc).__name__}: {exc}"
            result.differs = result.differs or f"{probe.where}: the mutant raises {type(exc).__name__}"
        else:
            if not all(_close(w, o) for w, o in zip(wrong, originals)):
                result.differs = result.differs or f"{probe.where} ({probe.shapes()})"
        if result.differs and stop_at_first:
            break
    return result
