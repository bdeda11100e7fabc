"""Is the point on a kink?  The registry's kink sets, confirmed by one-sided differences.

A primitive with a ``kink`` function (relu, abs, max, clip, where …) reports the
distance of its arguments to its kink set.  A node on the path from an input to the
output is *near* a kink when that distance is at most the change that the
finite-difference step causes in its arguments (measured on the numpy forward, not
with our rules: the rules are what is being judged).  Only then may an element whose
one-sided derivatives disagree be called ``nondiff``; everywhere else the FD
comparison is enforced.

A point *exactly* on a kink can also look smooth from both sides while the chain rule
does not see it so: an equality condition (``x == y`` inside ``where``) that holds only
at the point (every neighbour takes the other branch), or a composite that is smooth
although a primitive inside it is not (``sign(x)·abs(x) = x`` at 0, where the chain
rule multiplies the subgradient conventions sign'(0) = abs'(0) = 0).  Both one-sided
differences then agree with each other and describe the function around the point, not
the convention the point takes.  So on an exact kink the elements where the analytic
reference (torch) and finite differences differ are ``nondiff`` too (see
:func:`off_branch`); ``hand_vs_torch`` holds our rules to torch's conventions as
everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .. import engine
from ..graph import Graph
from ..ops import registry
from ..reference import fd

__all__ = ["KinkNode", "kinks_near", "disagreeing", "off_branch", "ISOLATED_OPS"]

#: comparisons whose kink set is a tie that no neighbour of the point takes
ISOLATED_OPS = ("equal", "not_equal")


@dataclass
class KinkNode:
    """A node on the path with a kink within the FD step of the point."""

    node_id: int
    op: str
    step: str
    distance: float
    reach: float

    @property
    def exact(self) -> bool:
        """The point lies on the kink set itself (not just within the FD step of it)."""
        return self.distance == 0.0

    def describe(self) -> str:
        where = f" at step {self.step!r}" if self.step else ""
        if self.exact and self.op in ISOLATED_OPS:
            return (f"{self.op}{where} holds its tie exactly here: every neighbour takes the other branch, "
                    "so finite differences describe that branch")
        if self.exact:
            return (f"{self.op}{where} sits exactly on its kink, where the chain rule takes the subgradient "
                    "convention")
        return f"{self.op}{where} is {self.distance:.3g} from its kink, within the FD step ({self.reach:.3g})"


def _distance(prim, args: list[np.ndarray], params: dict) -> float:
    p = dict(params)
    if not prim.needs_nb:
        p.pop("nb", None)
    try:
        return float(prim.kink(*args, **p))
    except Exception:  # a kink function that cannot tell: assume the worst, one-sided differences decide
        return 0.0


def _reach(graph: Graph, leaves: Mapping[str, np.ndarray], name: str, node_id: int, ev: engine.Evaluation,
           per_copy: int) -> float:
    """Largest change of the node's arguments over the +h copies of every element of ``name``."""
    x0 = leaves[name]
    steps = fd.default_step(x0).reshape(-1)
    rest = {k: v for k, v in leaves.items() if k != name}
    chunk = max(1, fd.CHUNK_BYTES // max(1, per_copy * 8))
    flat = x0.reshape(-1)
    reach = 0.0
    for a in graph[node_id].args:
        if not ev.requires_grad[a]:
            continue
        base = ev.values[a]
        for start in range(0, flat.size, chunk):
            rows = np.arange(start, min(flat.size, start + chunk))
            copies = np.repeat(flat[None], len(rows), axis=0)
            copies[np.arange(len(rows)), rows] += steps[rows]
            out = engine.evaluate_batched(graph, rest, {name: copies.reshape((len(rows),) + x0.shape)}, 1,
                                          np.float64, upto=a)
            with np.errstate(invalid="ignore"):
                change = np.abs(np.asarray(out, dtype=np.float64) - base)
            finite = change[np.isfinite(change)]
            if finite.size:
                reach = max(reach, float(finite.max()))
    return reach


def kinks_near(graph: Graph, leaves: Mapping[str, np.ndarray], name: str) -> list[KinkNode]:
    """Nodes between input ``name`` and the output whose kink lies within the FD step."""
    nodes = [i for i in fd.path_nodes(graph, name) if registry.get(graph[i].op).kink is not None]
    if not nodes:
        return []
    ev = engine.evaluate(graph, leaves, np.float64)
    per_copy = int(sum(np.size(v) for v in ev.values))
    near = []
    for i in nodes:
        node = graph[i]
        prim = registry.get(node.op)
        d = _distance(prim, [ev.values[a] for a in node.args], ev.params[i])
        if d == 0.0:
            near.append(KinkNode(i, node.op, node.step or node.name, 0.0, float("nan")))
            continue
        r = _reach(graph, leaves, name, i, ev, per_copy)
        if d <= 2.0 * r:  # a gap between two arguments can close from both sides
            near.append(KinkNode(i, node.op, node.step or node.name, d, r))
    return near


def disagreeing(forward: np.ndarray, backward: np.ndarray, rtol: float, atol: float,
                error: np.ndarray) -> np.ndarray:
    """Elements whose one-sided derivatives differ by more than the FD tolerance."""
    with np.errstate(invalid="ignore"):
        gap = np.abs(forward - backward)
        bound = atol + rtol * np.maximum(np.abs(forward), np.abs(backward)) + error
        return np.isfinite(gap) & (gap > bound)


def off_branch(analytic: np.ndarray, fd_value: np.ndarray, rtol: float, atol: float,
               error: np.ndarray) -> np.ndarray:
    """Elements where the analytic derivative (the point's branch or convention) and finite
    differences (the function around the point) differ by more than the FD tolerance."""
    with np.errstate(invalid="ignore"):
        gap = np.abs(np.asarray(analytic, dtype=np.float64) - fd_value)
        bound = atol + rtol * np.abs(fd_value) + error
        return np.isfinite(gap) & (gap > bound)
