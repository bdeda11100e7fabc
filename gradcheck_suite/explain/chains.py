"""The Jacobian chain J_y(v) = J_y(u) · J_u(v) for vector-valued steps.

For each input x, the nodes every path from x to the output passes through (its
dominators) cut the computation into links; each link's Jacobian comes from the
engine (:func:`engine.jacobian` on the graph with the link's start made a leaf), and
their matrix product is compared with the engine's full Jacobian.  Named steps are
preferred as links; a case written as one expression falls back to its nodes.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np

from .. import engine
from ..graph import Graph
from .matrix_form import link_formula
from .model import JacobianChain, JacobianFactor, show

__all__ = ["jacobian_chains", "dominators", "SCALAR_NOTE", "FACTOR_LIMIT", "GRAPH_LIMIT"]

#: the note of a case that is scalar all the way (translated by :mod:`.wording`)
SCALAR_NOTE = "every step on the way from the inputs to the output is scalar: the backward pass is the chain"

#: links with more Jacobian entries than this are not computed
FACTOR_LIMIT = 40_000
#: graphs with more nodes than this get no chain (the dominator search is quadratic)
GRAPH_LIMIT = 200


def _reaches(graph: Graph, start: int, target: int, skip: int | None) -> bool:
    users = graph.consumers()
    seen = {start}
    stack = [start]
    while stack:
        n = stack.pop()
        if n == target:
            return True
        for u in users[n]:
            if u != skip and u not in seen:
                seen.add(u)
                stack.append(u)
    return False


def dominators(graph: Graph, source: int, target: int) -> list[int]:
    """Nodes (other than the ends) on every path from ``source`` to ``target``, in order."""
    on_path = graph.ancestors(target)
    found = []
    for node in graph:
        if node.id in (source, target) or node.id not in on_path or node.is_leaf:
            continue
        if node.id > source and not _reaches(graph, source, target, node.id):
            found.append(node.id)
    return found


def _cut(graph: Graph, node_id: int) -> Graph:
    """A copy of ``graph`` in which node ``node_id`` is an input leaf of the same name (the other
    nodes shared: a node is never changed once made, see :meth:`Graph.copy`)."""
    cut = graph.copy()
    old = cut.nodes[node_id]
    cut.nodes[node_id] = dataclasses.replace(old, op="input", args=(), params={})
    cut.inputs[old.name] = node_id
    return cut


def _link(graph: Graph, ev: engine.Evaluation, leaves: Mapping[str, Any], start: int, end: int) -> np.ndarray:
    """J_end(start) as an (end.size, start.size) matrix, from the engine."""
    name = graph[start].name
    if graph[start].op == "input":
        jac = engine.jacobian(ev, [name], output=end)[name]
    else:
        cut = _cut(graph, start)
        sub_leaves = dict(leaves)
        sub_leaves[name] = ev.values[start]
        sub = engine.evaluate(cut, sub_leaves, ev.dtype)
        jac = engine.jacobian(sub, [name], output=end)[name]
    return jac.reshape(ev.values[end].size, ev.values[start].size)


def jacobian_chains(graph: Graph, ev: engine.Evaluation, leaves: Mapping[str, Any]
                    ) -> tuple[list[JacobianChain], str]:
    """One chain per input whose links are vector-valued; and a note on what is not shown."""
    if len(graph) > GRAPH_LIMIT:
        return [], f"the graph has {len(graph)} nodes; the Jacobian chain is shown for at most {GRAPH_LIMIT}"
    out_id = graph.output
    output = graph[out_id].name
    step_ids = set(graph.steps.values())
    found: list[JacobianChain] = []
    notes: list[str] = []
    between = graph.ancestors(out_id)
    for name, x in graph.inputs.items():
        if x not in between or not ev.requires_grad[x]:
            continue
        if all(ev.values[i].size == 1 for i in between if not graph[i].is_leaf) and ev.values[x].size == 1:
            continue  # scalar all the way: the backward pass is the chain
        doms = dominators(graph, x, out_id)
        links = [d for d in doms if d in step_ids] or doms
        chain = [x] + links + [out_id]
        sizes = [ev.values[i].size for i in chain]
        if len(chain) < 3 or max(sizes) == 1:
            if len(chain) < 3 and max(sizes) > 1:
                notes.append(f"{name} reaches {output} along several paths (or in one step), so its "
                             "Jacobian is the sum over paths shown in the backward pass")
            continue
        if any(a * b > FACTOR_LIMIT for a, b in zip(sizes, sizes[1:])):
            notes.append(f"the Jacobians between {name} and {output} are too large to show")
            continue
        factors = []
        product = None
        for start, end in zip(reversed(chain[:-1]), reversed(chain[1:])):
            m = _link(graph, ev, leaves, start, end)
            factors.append(JacobianFactor(of=graph[end].name, wrt=graph[start].name, rows=m.shape[0],
                                          cols=m.shape[1], matrix=show(m, derivative=True),
                                          formula=link_formula(graph, ev, start, end)))
            product = m if product is None else product @ m
        full = engine.jacobian(ev, [name])[name].reshape(ev.values[out_id].size, ev.values[x].size)
        diff = float(np.max(np.abs(product - full))) if full.size else 0.0
        scale = float(np.max(np.abs(full))) if full.size else 0.0
        tol = 64 * np.finfo(ev.dtype).eps * max(1.0, scale) * len(factors)
        found.append(JacobianChain(
            input=name, output=output, factors=factors, product=show(product, derivative=True),
            full=show(full, derivative=True), max_abs_diff=diff, agree=bool(diff <= tol),
        ))
    note = "; ".join(notes)
    if not found and not note:
        note = SCALAR_NOTE
    return found, note
