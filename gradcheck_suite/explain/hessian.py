"""The answer key's Hessian section: a view of the engine's second-order trace.

For a case asked at order 2 (``order: 2``, or ``explain --order 2``) with a scalar output
and a few input elements, one batched Hessian-vector pass of
:func:`gradcheck_suite.second_order.hvp` — one direction per input element, with a
:class:`~gradcheck_suite.second_order.SecondOrderTrace` — gives every column of the
Hessian and, node by node, how it was made:

    ∂²s/∂a∂xⱼ  =  Σ over the consumers u of a of
                  ġᵤ·∂u/∂a          (the VJP rule applied to the moved upstream ġᵤ = ∂²s/∂u∂xⱼ)
                + gᵤ·d(∂u/∂a)/dxⱼ   (the second-order rule: u's local derivative moves with its arguments)

This module copies those numbers from the trace into :class:`HessianSection`; it applies
no chain rule.  The second local derivatives are written in the forward nodes' names
(σ'' = y·(1 − y)·(1 − 2·y) for y = σ(u)), from the taught first-order forms by the chain
rule on them (∂L/∂a + ∂L/∂out·∂out/∂a), with sympy.  A Newton step x − H⁻¹∇s closes the
section when the Hessian is invertible.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from .. import engine, second_order
from ..graph import Graph
from .model import Shown, show

__all__ = ["HessianTerm", "HessianEntry", "HessianColumn", "NewtonStep", "HessianSection", "hessian_section",
           "second_local_derivatives", "entry_equation", "newton_text", "blocks", "HESSIAN_KEY_ELEMENTS",
           "DERIVATION_ELEMENTS"]

#: the Hessian is shown for at most this many input elements in all (a 12 × 12 grid)
HESSIAN_KEY_ELEMENTS = 12
#: each column's derivation node by node is written out for at most this many input elements
DERIVATION_ELEMENTS = 4


@dataclass
class HessianTerm:
    """What node u sends to its argument a in the pass along one direction xⱼ."""

    node: str
    expression: str
    arg: str
    upstream: Shown             # gᵤ = ∂s/∂u
    upstream_tangent: Shown     # ġᵤ = ∂²s/∂u∂xⱼ
    through_upstream: Shown     # ġᵤ·∂u/∂a (u's VJP rule applied to ġᵤ)
    through_arguments: Shown | None  # gᵤ·d(∂u/∂a)/dxⱼ (None: u is linear, nothing moves)
    total: Shown                # their sum: u's part of ∂²s/∂a∂xⱼ


@dataclass
class HessianEntry:
    """∂²s/∂xᵢ∂xⱼ as the sum of what each consumer of xᵢ sent back along direction xⱼ."""

    row: str
    column: str
    parts: list[tuple[str, Shown]]  # (consumer, its contribution at element i)
    value: Shown


@dataclass
class HessianColumn:
    """Column j of the Hessian: the pass along direction xⱼ."""

    direction: str
    tangents: list[tuple[str, Shown]]  # (node, ∂node/∂xⱼ): the forward tangents
    terms: list[HessianTerm]           # the reverse pass, output first
    entries: list[HessianEntry]


@dataclass
class NewtonStep:
    """One Newton step x − H⁻¹∇s from the point, and s before and after."""

    gradient: Shown
    step: Shown         # −H⁻¹∇s
    new_point: Shown
    before: Shown
    after: Shown
    note: str = ""


@dataclass
class HessianSection:
    """The Hessian of the scalar output with respect to every input element, and how it was made."""

    output: str
    elements: list[str]                 # x, x[0], W[1, 2], … (rows and columns)
    matrix: Shown
    second_locals: list[str] = field(default_factory=list)  # ∂²y/∂u² = y·(1 − y)·(1 − 2·y)
    symbolic: list[tuple[str, Shown]] = field(default_factory=list)  # (∂²y/∂x², y·(1 − y)·(1 − 2·y)·w²)
    columns: list[HessianColumn] = field(default_factory=list)
    newton: NewtonStep | None = None
    note: str = ""


def _element_names(name: str, shape: tuple[int, ...]) -> list[str]:
    if not shape:
        return [name]
    return [f"{name}[{', '.join(map(str, idx))}]" for idx in np.ndindex(*shape)]


def hessian_section(graph: Graph, ev: engine.Evaluation, grads: Mapping[str, np.ndarray],
                    expression: Mapping[int, str], lang: str = "en") -> HessianSection:
    """The Hessian section of an evaluated graph (``grads``: the engine's gradient per input;
    ``expression``: node id → its decomposition text), or a section with only a note saying why not
    (the notes in ``lang``)."""
    from .wording import labels

    L = labels(lang)
    out_name = graph[graph.output].name
    inputs = [(n, i) for n, i in graph.inputs.items() if ev.requires_grad[i]]
    elements = [e for n, i in inputs for e in _element_names(n, ev.values[i].shape)]
    empty = Shown("", "", ())
    if ev.output.size != 1:
        return HessianSection(out_name, [], empty, note=L["hessian_not_scalar"].format(o=out_name))
    if not elements or len(elements) > HESSIAN_KEY_ELEMENTS:
        return HessianSection(out_name, [], empty,
                              note=L["hessian_too_many"].format(n=len(elements), most=HESSIAN_KEY_ELEMENTS))
    missing = second_order.missing(ev)
    if missing:
        why = "; ".join(f"{op}: {reason}" for op, reason in missing.items())
        return HessianSection(out_name, elements, empty, note=L["hessian_none"].format(why=why))
    n = len(elements)
    directions, start = {}, 0
    for name, i in inputs:
        size = ev.values[i].size
        seeds = np.zeros((n, size), dtype=ev.dtype)
        seeds[np.arange(start, start + size), np.arange(size)] = 1
        directions[name] = seeds.reshape((n,) + ev.values[i].shape)
        start += size
    trace = second_order.SecondOrderTrace()
    _, hv = second_order.hvp(ev, directions, trace=trace, wrt=[nm for nm, _ in inputs])
    # column j is H·eⱼ; row i of it is element i of the inputs, in order
    matrix = np.concatenate([hv[nm].reshape(n, -1) for nm, _ in inputs], axis=1).T
    section = HessianSection(out_name, elements, show(matrix if n > 1 else matrix.reshape(()), derivative=True),
                             second_locals=second_local_derivatives(graph, ev))
    if n <= DERIVATION_ELEMENTS:
        section.columns = [_derivation(graph, ev, trace, expression, elements, inputs, j, matrix)
                           for j in range(n)]
    section.newton = _newton(graph, ev, grads, inputs, matrix, L)
    return section


def _via(graph: Graph, u: int, k: int) -> str:
    """The argument k of node u, numbered when u uses the same value twice (x · x)."""
    args = graph[u].args
    name = graph[args[k]].name
    return f"{name} (#{k + 1})" if args.count(args[k]) > 1 else name


def _derivation(graph, ev, trace, expression, elements, inputs, j, matrix) -> HessianColumn:
    tangents = [(graph[i].name, show(t[j], derivative=True)) for i, t in sorted(trace.tangents.items())
                if not graph[i].is_leaf]
    terms = []
    for (u, k), total in sorted(trace.contributions.items(), key=lambda e: (-e[0][0], e[0][1])):
        a = graph[u].args[k]
        moved = trace.through_arguments.get((u, k))
        first = trace.through_upstream.get((u, k))
        terms.append(HessianTerm(
            node=graph[u].name, expression=expression.get(u, graph[u].name), arg=_via(graph, u, k),
            upstream=show(trace.upstream[u], derivative=u != graph.output),
            upstream_tangent=show(trace.upstream_tangent[u][j], derivative=True),
            through_upstream=show(np.zeros_like(total[j]) if first is None else first[j], derivative=True),
            through_arguments=None if moved is None else show(moved[j], derivative=True),
            total=show(total[j], derivative=True)))
    entries, start = [], 0
    for name, i in inputs:
        size = ev.values[i].size
        arriving = sorted(e for e in trace.contributions if graph[e[0]].args[e[1]] == i)
        for flat in range(size):
            parts = [(graph[u].name + (f" #{k + 1}" if graph[u].args.count(i) > 1 else ""),
                      show(trace.contributions[(u, k)][j].reshape(-1)[flat], derivative=True)) for u, k in arriving]
            entries.append(HessianEntry(elements[start + flat], elements[j], parts,
                                        show(matrix[start + flat, j], derivative=True)))
        start += size
    return HessianColumn(elements[j], tangents, terms, entries)


def _newton(graph, ev, grads, inputs, matrix, L: Mapping[str, str]) -> NewtonStep | None:
    """x − H⁻¹∇s, and s at the new point (one forward pass of the engine); None when H is singular.
    ``L``: the labels of the key's language, for the note."""
    gradient = np.concatenate([np.asarray(grads[nm]).reshape(-1) for nm, _ in inputs])
    if np.linalg.matrix_rank(matrix) < matrix.shape[0]:
        return None
    step = -np.linalg.solve(matrix, gradient)
    point = np.concatenate([ev.values[i].reshape(-1) for _, i in inputs])
    leaves = {n: ev.values[i] for n, i in list(graph.inputs.items()) + list(graph.constants.items())}
    start = 0
    for name, i in inputs:
        size = ev.values[i].size
        leaves[name] = (point[start:start + size] + step[start:start + size]).reshape(ev.values[i].shape)
        start += size
    if bool(np.all(np.linalg.eigvalsh(0.5 * (matrix + matrix.T)) > 0)):
        note = L["newton_pd"]
    else:
        note = L["newton_not_pd"]
    try:
        after = np.asarray(engine.evaluate(graph, leaves, ev.dtype).output)
    except engine.EvalError as exc:  # the step left the domain (a log of a negative number)
        after, note = np.asarray(np.nan), L["newton_outside"].format(why=exc)
    else:
        if not np.all(np.isfinite(after)):
            note = L["newton_outside"].format(why=L["newton_not_finite"].format(o=graph[graph.output].name))
    shaped = (lambda a: a.reshape(())) if point.size == 1 else (lambda a: a)  # noqa: E731
    return NewtonStep(gradient=show(shaped(gradient), derivative=True), step=show(shaped(step), derivative=True),
                      new_point=show(shaped(point + step), derivative=True), before=show(ev.output.reshape(())),
                      after=show(after.reshape(()), derivative=True), note=note)


def second_local_derivatives(graph: Graph, ev: engine.Evaluation) -> list[str]:
    """``∂²y/∂u² = y·(1 − y)·(1 − 2·y)``: each node's non-zero second local derivatives in the forward
    nodes' names, from its taught first-order form L (∂²out/∂a∂b = ∂L_a/∂b + ∂L_a/∂out·L_b)."""
    import sympy as sp

    from .facts import local_derivative_form
    from .symbolic import teach_text

    lines = []
    needed = graph.ancestors(graph.output)
    for node in graph:
        if node.is_leaf or node.id not in needed or not ev.requires_grad[node.id]:
            continue
        form = local_derivative_form(node.op)
        if form is None:
            continue
        out = sp.Symbol(node.name, real=True)
        # one symbol per argument position (x · x has two), named back after differentiating
        slots = [sp.Dummy(f"a{k}", real=True) for k in range(len(node.args))]
        names = {s: sp.Symbol(graph[a].name, real=True) for s, a in zip(slots, node.args)}
        try:
            first = [sp.sympify(d) for d in form(out, *slots)]
        except (TypeError, ValueError):
            continue
        live = [k for k, a in enumerate(node.args) if ev.requires_grad[a] and k < len(first)]
        for pos, k in enumerate(live):
            for m in live[pos:]:
                second = (sp.diff(first[k], slots[m]) + sp.diff(first[k], out) * first[m]).subs(names)
                if second == 0:
                    continue
                a, b = graph[node.args[k]].name, graph[node.args[m]].name
                lhs = f"∂²{node.name}/∂{a}²" if k == m else f"∂²{node.name}/∂{a}∂{b}"
                lines.append(f"{lhs} = {teach_text(second)}")
    return lines


def symbolic_hessian(graph: Graph, ev: engine.Evaluation) -> list[tuple[str, Shown]]:
    """The Hessian in the forward names, for an all-scalar graph: each first derivative of the taught
    backward pass (:func:`.symbolic.symbolic_backward`) differentiated once more along every input, the
    forward nodes moving by their taught local derivatives (a symbolic forward pass):
    ∂²y/∂x² = ∂(y·(1 − y)·w)/∂y · ∂y/∂x = (1 − 2·y)·w · y·(1 − y)·w.  [] where there is none."""
    import sympy as sp

    from .facts import local_derivative_form, sympy_form
    from .symbolic import normalise_sign, symbolic_backward, teach_text

    backward = symbolic_backward(graph, ev)
    if backward.note or not backward.derivatives or any(d.note for d in backward.derivatives):
        return []
    needed = graph.ancestors(graph.output)
    steps = set(graph.steps.values()) | {graph.output}
    name = {n.id: sp.Symbol(n.name, real=True) for n in graph if n.id in needed}
    inner: dict[sp.Symbol, sp.Expr] = {}  # a node inside a step is its definition (as symbolic.py writes it)
    for node in graph:
        if node.id in needed and not node.is_leaf and node.id not in steps:
            inner[name[node.id]] = sympy_form(node.op)(*[name[a] for a in node.args], **node.params)
    inputs = [(n, i) for n, i in graph.inputs.items() if i in needed and ev.requires_grad[i]]
    lines = []
    for xj, j in inputs:
        tangent: dict[int, sp.Expr] = {i: sp.Integer(1 if i == j else 0) for _, i in inputs}
        for node in graph:
            if node.id not in needed or node.is_leaf or not ev.requires_grad[node.id]:
                continue
            local = local_derivative_form(node.op)(name[node.id], *[name[a] for a in node.args], **node.params)
            tangent[node.id] = sp.Add(*[sp.sympify(d) * tangent.get(a, 0) for d, a in zip(local, node.args)])
        moves = {name[i]: t.subs(inner) for i, t in tangent.items() if graph[i].op != "literal"}
        for d in backward.derivatives:
            first = d.simplified
            # each symbol's term: how the first derivative changes with it (factored), times how it moves
            second = sp.Add(*[moves.get(s, 0) * normalise_sign(sp.factor(sp.diff(first, s)))
                              for s in sorted(first.free_symbols, key=str)])
            second = _constants_last(second, set(graph.constants))
            lhs = f"∂²{d.output}/∂{d.input}²" if d.input == xj else f"∂²{d.output}/∂{d.input}∂{xj}"
            text = teach_text(second)
            lines.append((lhs, Shown(text, text, (), derivative=True)))
    return lines


def _constants_last(expr, constants: set[str]):
    """A product with the factors made of constants only moved to the end: y·(1 − y)·(1 − 2·y)·w²."""
    import sympy as sp

    if not isinstance(expr, sp.Mul):
        return expr
    factors = sorted(expr.args, key=lambda f: bool(f.free_symbols) and all(s.name in constants
                                                                             for s in f.free_symbols))
    return sp.Mul(*factors, evaluate=False)


def entry_equation(entry: HessianEntry, output: str) -> str:
    """``∂²s/∂x∂y = 0.12 (u) + 0.3 (v) = 0.42``: what each consumer of the row's input sent back."""
    lhs = f"∂²{output}/∂{entry.row}²" if entry.row == entry.column else f"∂²{output}/∂{entry.row}∂{entry.column}"
    if len(entry.parts) < 2:
        via = f" ({entry.parts[0][0]})" if entry.parts else ""
        return f"{lhs} = {entry.value.text}{via}"
    return f"{lhs} = " + " + ".join(f"{p.text} ({via})" for via, p in entry.parts) + f" = {entry.value.text}"


def newton_text(step: NewtonStep, elements: list[str], output: str) -> list[str]:
    """The Newton step in three lines (shared by every renderer)."""
    x = ", ".join(elements)
    x = f"({x})" if len(elements) > 1 else x
    return [f"∇{output} = {step.gradient.text}", f"Δ = −H⁻¹∇{output} = {step.step.text}",
            f"{x} + Δ = {step.new_point.text}", f"{output}: {step.before.text} → {step.after.text}"]


def blocks(ex) -> list[tuple]:
    """The Hessian section as renderer-neutral blocks, in order:

    ``("para", text)``, ``("heading", text)``, ``("note", text)``, ``("codes", [text, …])`` (formulas,
    one a line), ``("value", label, Shown)`` and ``("table", headers, rows)`` whose cells are a text
    (set as code), a :class:`Shown` or None.  Each renderer only adds its markup.
    """
    from .wording import labels

    h: HessianSection = ex.hessian
    L, o = labels(ex.lang), ex.output
    if not h.elements or not h.matrix.compact:
        return [("note", h.note)]
    out: list[tuple] = [("para", L["hessian_intro"].format(o=o))]
    if h.second_locals:
        out += [("heading", L["hessian_locals"]), ("codes", h.second_locals)]
    if h.symbolic:
        out += [("heading", L["hessian_symbols"]), ("codes", [f"{lhs} = {rhs.text}" for lhs, rhs in h.symbolic])]
    out += [("value", f"H ({L['hessian_order']} {', '.join(h.elements)}) =", h.matrix)]
    for col in h.columns:
        x = col.direction
        out.append(("heading", L["hessian_along"].format(x=x)))
        if col.tangents:
            out.append(("codes", [f"∂{n}/∂{x} = {s.text}" for n, s in col.tangents]))
        headers = [L["node"], L["to"], L["hessian_g"].format(o=o), L["hessian_dg"].format(o=o, x=x),
                   L["hessian_first"], L["hessian_moved"], L["hessian_sent"]]
        rows = [[t.expression, t.arg, t.upstream, t.upstream_tangent, t.through_upstream, t.through_arguments,
                 t.total] for t in col.terms]
        out += [("table", headers, rows), ("codes", [entry_equation(e, o) for e in col.entries])]
    if h.newton is not None:
        out += [("heading", L["newton"].format(o=o)), ("codes", newton_text(h.newton, h.elements, o)),
                ("note", h.newton.note)]
    if h.note:
        out.append(("note", h.note))
    return out
