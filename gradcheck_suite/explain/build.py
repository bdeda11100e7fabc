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
                    PathTerm, Shown, SymbolicPass, SymbolicRow, show)

__all__ = ["explain_case", "explain_graph", "node_expression", "LOCAL_JACOBIAN_LIMIT"]

#: local Jacobians with more entries than this are not computed for the page
LOCAL_JACOBIAN_LIMIT = 250_000
#: a local Jacobian is printed as numbers only when it is a matrix with at most this many
#: entries (or ``full=True``); otherwise its matrix formula stands for it
SMALL_JACOBIAN = 64

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


def _forward(graph: Graph, ev: engine.Evaluation, trace: engine.Trace, show=show) -> list[ForwardRow]:
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
            gradient=None if grad is None else show(grad, derivative=node.id != graph.output),
            consumers=len(users[node.id]),
        ))
    return rows


def _local(ev: engine.Evaluation, node: Node, k: int, full: bool = False
           ) -> tuple[Shown | None, str, np.ndarray | None]:
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
    if not full and (jac.ndim > 2 or jac.size > SMALL_JACOBIAN):
        return None, "jacobian", jac  # a tensor of mostly zeros: the matrix formula says it better
    return show(jac, derivative=True), "jacobian", jac


def _formula(prim: registry.Primitive, graph: Graph, node: Node, k: int) -> str:
    if prim.variadic:
        texts = prim.derivative_text({prim.args[0]: graph[node.args[k]].name}, out=node.name)
        return texts[0] if texts else ""
    mapping = {a: graph[i].name for a, i in zip(prim.args, node.args)}
    texts = prim.derivative_text(mapping, out=node.name)
    return texts[k] if k < len(texts) else ""


def _backward(graph: Graph, ev: engine.Evaluation, trace: engine.Trace, full: bool = False,
              taught: Mapping[tuple[str, str], str] | None = None, show=show):
    from .matrix_form import matrix_vjp_text

    taught = taught or {}
    rows: list[BackwardRow] = []
    locals_: dict[tuple[int, int], Shown | None] = {}
    for node in reversed(graph.nodes):
        if node.is_leaf or node.id not in trace.upstream or not ev.requires_grad[node.id]:
            continue
        prim = registry.get(node.op)
        row = BackwardRow(node.id, node.name, node.op, f"{node.name} = {node_expression(graph, node)}",
                          show(trace.upstream[node.id], derivative=node.id != graph.output))
        names = [graph[a].name for a in node.args]
        shapes = [tuple(ev.values[a].shape) for a in node.args]
        for k, a in enumerate(node.args):
            if (node.id, k) not in trace.contributions:
                if graph[a].name not in row.constant_args:
                    row.constant_args.append(graph[a].name)
                continue
            local, kind, _ = _local(ev, node, k, full)
            locals_[(node.id, k)] = local
            array = ev.values[node.id].size > 1 or ev.values[a].size > 1
            row.terms.append(LocalTerm(
                arg_id=a, arg_name=graph[a].name, argpos=k, formula=_formula(prim, graph, node, k),
                local=local, local_kind=kind,
                contribution=show(trace.contributions[(node.id, k)], derivative=True),
                taught=taught.get((node.name, graph[a].name), ""),
                matrix=(matrix_vjp_text(node.op, k, names, shapes, node.name, tuple(ev.values[node.id].shape))
                        or "") if array else "",
            ))
        rows.append(row)
    return rows, locals_


def _path_sums(graph: Graph, trace: engine.Trace, locals_: Mapping, output: str, show=show) -> list[PathSum]:
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


class _ShowOnce:
    """:func:`show` once per array and kind: an upstream gradient is in the forward table, the
    backward table and the path sums, a contribution in the last two (the same text each time;
    formatting was a third of building the model).  Keeps each array, so its id stays its own."""

    def __init__(self) -> None:
        self._memo: dict[tuple[int, bool], tuple[Any, Shown]] = {}

    def __call__(self, value: Any, *, derivative: bool = False) -> Shown:
        key = (id(value), derivative)
        hit = self._memo.get(key)
        if hit is None or hit[0] is not value:
            hit = self._memo[key] = (value, show(value, derivative=derivative))
        return hit[1]


def explain_graph(graph: Graph, leaves: Mapping[str, Any], *, case: str = "", title: str = "",
                  description: str = "", file: str = "", steps: Mapping[str, str] | None = None,
                  dtype: str = "float64", expect: Mapping[str, str] | None = None,
                  expect_graphs: Mapping[str, Graph] | None = None, table: Any = None,
                  routes_note: str = "", sweep: bool = True, tolerance: Mapping[str, float] | None = None,
                  closed: bool = True, lang: str = "en", full: bool = False, variant: str = "",
                  order: int = 1) -> Explanation:
    """The answer key of a graph evaluated at ``leaves`` (a case without a loader).

    ``table`` is the harness table for the case (the "three routes agree" section);
    ``sweep`` asks for the finite-difference step-size sweep; ``closed`` for the sympy
    closed form (the slow part: the run report leaves it to ``gradcheck-suite explain``);
    ``order=2`` adds the Hessian section (:mod:`.hessian`).
    """
    ev = engine.evaluate(graph, leaves, dtype)
    out = ev.output
    trace = engine.Trace()
    seed = np.ones(out.shape, dtype=ev.dtype)
    grads = engine.vjp(ev, seed, trace=trace)  # each gradient has its input's shape
    output_name = graph[graph.output].name
    from .wording import labels

    lab = labels(lang)
    if out.size == 1:
        seed_text = lab["seed_scalar"].format(o=output_name)
    else:
        seed_text = lab["seed_vector"].format(o=output_name, shape="×".join(map(str, out.shape)))
    symbolic = _symbolic(graph, ev, trace, closed)
    taught = {(n, a): t.split(" = ", 1)[1] for n, a, t in symbolic.locals}
    once = _ShowOnce()  # the trace's arrays appear in several sections: each is formatted once
    forward = _forward(graph, ev, trace, once)
    backward, locals_ = _backward(graph, ev, trace, full, taught, once)
    gradients = {n: once(g, derivative=True) for n, g in grads.items()}
    chain_list, chain_note = chains.jacobian_chains(graph, ev, leaves)
    needed = graph.ancestors(graph.output)
    route_list = routes.route_rows(table, case)
    claims: list[ClaimGrade] = []
    for name, text in (expect or {}).items():
        claims.append(grade.grade_claim(case, name, text, (expect_graphs or {}).get(name), ev, leaves,
                                        tolerance=tolerance))
    return Explanation(
        case=case, title=title, description=description, file=file, dtype=str(ev.dtype),
        inputs=list(graph.inputs), constants=list(graph.constants),
        steps=list((steps or {}).items()), output=output_name, output_shape=tuple(out.shape),
        forward=forward, backward=backward, backward_seed=seed_text,
        path_sums=_path_sums(graph, trace, locals_, output_name, once), gradients=gradients,
        chains=chain_list, chain_note=chain_note,
        closed_form=(_closed_form(graph, ev, grads) if closed else
                     ClosedForm(note=f"Not computed here: `gradcheck-suite explain {case}` shows the closed form.")),
        routes=route_list, routes_note=routes_note or routes.note(table, case, route_list),
        claims=claims,
        stepsize=stepsize.sweep(graph, leaves, ev, grads) if sweep else None,
        stepsize_note="" if sweep else "not computed",
        symbolic=symbolic, lang=lang, variant=variant,
        inner_nodes=[n.name for n in graph if not n.is_leaf and graph.steps.get(n.name) != n.id
                     and n.id in needed],
        flatten_note=_flatten_note(graph, ev, chain_list, lab),
        hessian=_hessian(graph, ev, grads, closed, lang) if order >= 2 else None,
    )


def _hessian(graph: Graph, ev: engine.Evaluation, grads: Mapping[str, Any], closed: bool, lang: str):
    """The Hessian section; with ``closed``, in symbols too (sympy: the run report leaves that out)."""
    from .hessian import hessian_section  # sympy (second local derivatives) only for order 2

    from ..budget import OutOfTime, deadline
    from .hessian import symbolic_hessian
    from .wording import labels

    expressions = {n.id: f"{n.name} = {node_expression(graph, n)}" for n in graph if not n.is_leaf}
    section = hessian_section(graph, ev, grads, expressions, lang)
    if closed and section is not None and section.columns:
        try:
            with deadline(SYMPY_TIME_BUDGET):
                section.symbolic = symbolic_hessian(graph, ev)
        except OutOfTime:
            section.note = (section.note + " " if section.note else "") + \
                labels(lang)["hessian_no_symbols"].format(s=f"{SYMPY_TIME_BUDGET:g}")
    return section


#: seconds sympy may spend on one case's closed form, and again on its symbolic backward pass
#: (simplification can run for ever)
SYMPY_TIME_BUDGET = 10.0


def _flatten_note(graph: Graph, ev: engine.Evaluation, chain_list: list, lab: Mapping[str, str]) -> str:
    """Say how Jacobians of matrices are flattened, when some link has a matrix at either end."""
    by_name = {n.name: n.id for n in graph}
    for ch in chain_list:
        for f in ch.factors:
            of, wrt = ev.values[by_name[f.of]], ev.values[by_name[f.wrt]]
            if of.ndim > 1 or wrt.ndim > 1:
                return lab["flatten"].format(of=f.of, wrt=f.wrt, m=f.of if of.ndim > 1 else f.wrt)
    return ""


def _symbolic(graph: Graph, ev: engine.Evaluation, trace: engine.Trace, closed: bool = True) -> SymbolicPass:
    """The backward pass in symbols (scalar steps; with ``closed``, as it needs sympy's
    simplification) or as matrix formulas (array steps: cheap, always)."""
    from .matrix_form import matrix_backward
    from .symbolic import symbolic_backward

    from ..budget import OutOfTime, deadline

    late = ""
    try:
        with deadline(SYMPY_TIME_BUDGET):
            sb = symbolic_backward(graph, ev, compose=closed)
    except OutOfTime:  # the composed, simplified forms are what can run for ever; the local ones are cheap
        sb = symbolic_backward(graph, ev, compose=False)
        late = (f"The derivatives are not composed and simplified in symbols here: sympy did not finish within "
                f"{SYMPY_TIME_BUDGET:g} s (the chain-rule numbers do not depend on it).")
    rows = [SymbolicRow(input=d.input, output=d.output, chain=d.chain_text, composed=d.composed_text,
                        taught=d.taught_text, simplified=d.simplified_text, taught_latex=d.taught_latex,
                        simplified_latex=d.simplified_latex, mathml=d.mathml(), note=d.note)
            if not d.note else SymbolicRow(d.input, d.output, "", "", "", "", note=d.note)
            for d in sb.derivatives]
    result = SymbolicPass(locals=sb.locals, rows=rows, note=" ".join(n for n in (late, sb.note) if n))
    if ev.output.size > 1 or any(ev.values[i].size > 1 for i in graph.ancestors(graph.output)):
        lines, note = matrix_backward(graph, ev, trace.contributions)
        result.matrix = [(line.text, line.shapes) for line in lines]
        result.matrix_note = note
        result.note = ""
    return result


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
                 harness: bool = True, sweep: bool = True, closed: bool = True, lang: str = "en",
                 full: bool = False, variant: int | str | None = None, order: int | None = None) -> Explanation:
    """The answer key of a loaded :class:`~gradcheck_suite.case.Case`.

    The harness table (three routes) is taken from ``table`` or, with ``harness=True``,
    computed by :func:`gradcheck_suite.api.check_case` when that is available.  ``order``
    (default: the case's ``order``) 2 adds the Hessian section.
    """
    dtype = dtype or (case.dtypes[0] if case.dtypes else "float64")
    note = ""
    leaves = case.leaves(run_seed)
    if variant not in (None, ""):
        from .variants import variant_leaves

        leaves = variant_leaves(case, variant, run_seed)
        harness = False  # the harness checks the case's own point, not this variant's
        note = "skipped"
    if table is None and harness:
        table, note = routes.harness_table(case, dtype, run_seed, order)
    elif table is None:
        note = "skipped"
    return explain_graph(
        case.graph, leaves, case=case.name, title=case.title,
        description=case.description, file=case.file, steps=case.steps, dtype=dtype,
        expect=case.expect, expect_graphs=case.expect_graphs, table=table, routes_note=note,
        sweep=sweep, tolerance=getattr(case, "tolerance", None) or None, closed=closed, lang=lang,
        full=full, variant="" if variant in (None, "") else str(variant),
        order=order or getattr(case, "order", 1) or 1,
    )
