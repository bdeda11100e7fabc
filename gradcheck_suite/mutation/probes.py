"""Probes: calls of one primitive on which a mutant is compared with the original rule.

A :class:`Probe` is one call — argument values, parameters, which arguments are
differentiable — run through the engine as a one-node graph, so the comparison sees
exactly what the engine makes of a rule (parameter normalisation, ``unbroadcast``,
batch axes).  Two sources:

* :func:`random_probes` — random arguments inside each primitive's domain, in several
  shapes, broadcasting ones included: the ``domain`` and ``probes`` its registration
  declares.  A mutant that gives the
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
from typing import Any, Iterable

import numpy as np

from .. import engine
from ..case import Case
from ..graph import Graph
from ..ops import registry
from ..ops.registry import NotDifferentiable
from .mutants import Firing, Mutant, installed

__all__ = ["Probe", "Comparison", "random_probes", "library_probes", "compare"]

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


def _seed(text: str) -> int:
    return zlib.crc32(text.encode())


def _flags(name: str, args: list[np.ndarray]) -> list[bool]:
    prim = registry.get(name)
    rules = prim.vjp * len(args) if prim.variadic else prim.vjp
    return [not isinstance(r, NotDifferentiable) and np.asarray(a).dtype != np.bool_ for r, a in zip(rules, args)]


#: independent random draws of every table entry
DRAWS = 2


def random_probes(name: str, seed: int = 0) -> list[Probe]:
    """Random calls of primitive ``name``: its declared probe calls, values from its declared domain."""
    prim = registry.get(name)
    rng = np.random.default_rng([seed, _seed(name)])
    probes = []
    for call in prim.probes * DRAWS:
        args = [prim.domain[min(i, len(prim.domain) - 1)].draw(rng, s) for i, s in enumerate(call.shapes)]
        where = f"random {' & '.join(map(str, call.shapes))}"
        probes.append(Probe(name, args, dict(call.params), _flags(name, args), where))
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
