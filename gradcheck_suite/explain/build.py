"""Fill in the explanation object from one forward pass and one traced reverse pass.

This is a *view* of the engine: values come from :func:`engine.evaluate`, upstream
gradients and contributions from :func:`engine.vjp` with a :class:`engine.Trace`, local
derivatives from :func:`engine.local_jacobian` (the node's own VJP rule), formula texts
from the primitive registry.  Nothing here applies the chain rule itself.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .. import engine
from ..graph import Graph, Node
from ..ops import registry
from . import chains, grade, routes, stepsize
from .model import (BackwardRow, ClaimGrade, ClosedForm, Explanation, ForwardRow, LocalTerm, PathSum,
                    PathTerm, Shown, show)

__all__ = ["explain_case", "explain_graph", "node_expression", "LOCAL_JACOBIAN_LIMIT"]

#: local Jacobians with more entries than this are not computed for the page
LOCAL_JACOBIAN_LIMIT = 250_000

#: how operators are written in the decomposition (display only)
_INFIX = {"add": "+", "sub": "−", "mul": "·", "div": "/", "pow": "**", "matmul": "@"}
_PREFIX = {"neg": "−", "pos": "+"}


def node_expression(graph: Graph, node: Node) -> str:
    """The node written with its arguments' names, e.g. ``exp(y.1)`` or ``1 / y.3``."""
    names = [graph[a].name for a in node.args]
    if node.op in _INFIX and len(names) == 2:
        return f"{names[0]} {_INFIX[node.op]} {names[1]}"
    if node.op in _PREFIX and len(names) == 1:
        return f"{_PREFIX[node.op]}{names[0]}"
    parts = list(names)
    parts += [f"{k}={v!r}" for k, v in node.params.items()]
    return f"{node.op}({', '.join(parts)})"


def _kind(graph: Graph, node: Node) -> str:
    if node.is_leaf:
        return node.op
    return "step" if graph.steps.get(node.name) == node.id else "inner"


def _forward(graph: Graph, ev: engine.Evaluation, trace: engine.Trace) -> list[ForwardRow]:
    users = graph.consumers()
    needed = graph.ancestors(graph.output)
    rows = []
    for node in graph:
        if node.id not in needed:
            continue
        grad = trace.upstream.get(node.id)
        if grad is not None and not ev.requires_grad[node.id]:
            grad = None
        expression = node.name if node.is_leaf else f"{node.name} = {node_expression(graph, node)}"
        rows.append(ForwardRow(
            node_id=node.id, name=node.name, op=node.op, kind=_kind(graph, node),
            expression=expression, source=node.source, args=node.args,
            value=show(ev.values[node.id]),
            gradient=None if grad is None else show(grad, derivative=True),
            consumers=len(users[node.id]),
        ))
    return rows


def _local(ev: engine.Evaluation, node: Node, k: int) -> tuple[Shown | None, str, np.ndarray | None]:
    """The local derivative of ``node`` w.r.t. argument ``k`` as the page shows it."""
    ans = ev.values[node.id]
    arg = ev.values[node.args[k]]
    if ans.size * arg.size > LOCAL_JACOBIAN_LIMIT:
        return None, "too large", None
    jac = engine.local_jacobian(ev, node.id, k)
    if ans.size == 1 and arg.size == 1:
        return show(jac.reshape(()), derivative=True), "scalar", jac.reshape(())
    matrix = jac.reshape(ans.size, arg.size)
    if ans.shape == arg.shape and np.count_nonzero(matrix - np.diag(np.diag(matrix))) == 0:
        diag = np.diag(matrix).reshape(arg.shape)
        return show(diag, derivative=True), "elementwise", diag
    return show(jac, derivative=True), "jacobian", jac


def _formula(prim: registry.Primitive, graph: Graph, node: Node, k: int) -> str:
    if prim.variadic:
        texts = prim.derivative_text({prim.args[0]: graph[node.args[k]].name}, out=node.name)
        return texts[0] if texts else ""
    mapping = {a: graph[i].name for a, i in zip(prim.args, node.args)}
    texts = prim.derivative_text(mapping, out=node.name)
    return texts[k] if k < len(texts) else ""


def _backward(graph: Graph, ev: engine.Evaluation, trace: engine.Trace):
    rows: list[BackwardRow] = []
    locals_: dict[tuple[int, int], Shown | None] = {}
    for node in reversed(graph.nodes):
        if node.is_leaf or node.id not in trace.upstream or not ev.requires_grad[node.id]:
            continue
        prim = registry.get(node.op)
        row = BackwardRow(node.id, node.name, node.op, f"{node.name} = {node_expression(graph, node)}",
                          show(trace.upstream[node.id], derivative=True))
        for k, a in enumerate(node.args):
            if (node.id, k) not in trace.contributions:
                if graph[a].name not in row.constant_args:
                    row.constant_args.append(graph[a].name)
                continue
            local, kind, _ = _local(ev, node, k)
            locals_[(node.id, k)] = local
            row.terms.append(LocalTerm(
                arg_id=a, arg_name=graph[a].name, argpos=k, formula=_formula(prim, graph, node, k),
                local=local, local_kind=kind,
                contribution=show(trace.contributions[(node.id, k)], derivative=True),
            ))
        rows.append(row)
    return rows, locals_


def _path_sums(graph: Graph, trace: engine.Trace, locals_: Mapping, output: str) -> list[PathSum]:
    incoming: dict[int, list[tuple[int, int]]] = {}
    for (j, k) in trace.contributions:
        incoming.setdefault(graph[j].args[k], []).append((j, k))
    sums = []
    for node in graph:
        paths = sorted(incoming.get(node.id, []))
        if len(paths) < 2:
            continue
        terms = [PathTerm(consumer=graph[j].name, argpos=k,
                          upstream=show(trace.upstream[j], derivative=True),
                          local=locals_.get((j, k)),
                          contribution=show(trace.contributions[(j, k)], derivative=True))
                 for j, k in paths]
        sums.append(PathSum(node.name, output, terms, show(trace.upstream[node.id], derivative=True)))
    return sums


def explain_graph(graph: Graph, leaves: Mapping[str, Any], *, case: str = "", title: str = "",
                  description: str = "", file: str = "", steps: Mapping[str, str] | None = None,
                  dtype: str = "float64", expect: Mapping[str, str] | None = None,
                  expect_graphs: Mapping[str, Graph] | None = None, table: Any = None,
                  routes_note: str = "", sweep: bool = True, tolerance: Mapping[str, float] | None = None,
                  closed: bool = True) -> Explanation:
    """The answer key of a graph evaluated at ``leaves`` (a case without a loader).

    ``table`` is the harness table for the case (the "three routes agree" section);
    ``sweep`` asks for the finite-difference step-size sweep; ``closed`` for the sympy
    closed form (the slow part: the run report leaves it to ``gradcheck-suite explain``).
    """
    ev = engine.evaluate(graph, leaves, dtype)
    out = ev.output
    trace = engine.Trace()
    seed = np.ones(out.shape, dtype=ev.dtype)
    grads = engine.vjp(ev, seed, trace=trace)  # each gradient has its input's shape
    output_name = graph[graph.output].name
    if out.size == 1:
        seed_text = f"∂{output_name}/∂{output_name} = 1"
    else:
        seed_text = (f"{output_name} has shape {out.shape}: the reverse pass starts from the cotangent "
                     f"of ones, so it computes the gradient of sum({output_name}); the Jacobian chain "
                     "below shows every element")
    forward = _forward(graph, ev, trace)
    backward, locals_ = _backward(graph, ev, trace)
    gradients = {n: show(g, derivative=True) for n, g in grads.items()}
    chain_list, chain_note = chains.jacobian_chains(graph, ev, leaves)
    claims: list[ClaimGrade] = []
    for name, text in (expect or {}).items():
        claims.append(grade.grade_claim(case, name, text, (expect_graphs or {}).get(name), ev, leaves,
                                        tolerance=tolerance))
    return Explanation(
        case=case, title=title, description=description, file=file, dtype=str(ev.dtype),
        inputs=list(graph.inputs), constants=list(graph.constants),
        steps=list((steps or {}).items()), output=output_name, output_shape=tuple(out.shape),
        forward=forward, backward=backward, backward_seed=seed_text,
        path_sums=_path_sums(graph, trace, locals_, output_name), gradients=gradients,
        chains=chain_list, chain_note=chain_note,
        closed_form=(_closed_form(graph, ev, grads) if closed else
                     ClosedForm(note=f"Not computed here: `gradcheck-suite explain {case}` shows the closed form.")),
        routes=routes.route_rows(table, case), routes_note=routes_note or routes.note(table, case),
        claims=claims,
        stepsize=stepsize.sweep(graph, leaves, ev, grads) if sweep else None,
        stepsize_note="" if sweep else "not computed",
    )


#: seconds sympy may spend on one case's closed form (simplification can run for ever)
SYMPY_TIME_BUDGET = 10.0


def _closed_form(graph: Graph, ev: engine.Evaluation, grads: Mapping[str, Any]) -> ClosedForm:
    from ..budget import OutOfTime, deadline
    from .closed_form import closed_form  # sympy is imported only when a closed form is asked for

    try:
        with deadline(SYMPY_TIME_BUDGET):
            return closed_form(graph, ev, grads)
    except OutOfTime:
        return ClosedForm(note=f"No closed form shown: sympy did not finish within {SYMPY_TIME_BUDGET:g} s "
                               "(the chain-rule numbers above do not depend on it).")


def explain_case(case: Any, *, dtype: str | None = None, run_seed: int = 0, table: Any = None,
                 harness: bool = True, sweep: bool = True, closed: bool = True) -> Explanation:
    """The answer key of a loaded :class:`~gradcheck_suite.case.Case`.

    The harness table (three routes) is taken from ``table`` or, with ``harness=True``,
    computed by :func:`gradcheck_suite.api.check_case` when that is available.
    """
    dtype = dtype or (case.dtypes[0] if case.dtypes else "float64")
    note = ""
    if table is None and harness:
        table, note = routes.harness_table(case, dtype, run_seed)
    return explain_graph(
        case.graph, case.leaves(run_seed), case=case.name, title=case.title,
        description=case.description, file=case.file, steps=case.steps, dtype=dtype,
        expect=case.expect, expect_graphs=case.expect_graphs, table=table, routes_note=note,
        sweep=sweep, tolerance=getattr(case, "tolerance", None) or None, closed=closed,
    )
