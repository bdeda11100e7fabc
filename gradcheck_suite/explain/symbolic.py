"""The symbolic backward pass in the forms a course teaches (scalar steps).

Each local derivative is written in the names of the forward nodes, from the
primitive's symbolic local derivative (:func:`.facts.local_derivative_form`): the
tutorial's ∂v/∂w = −1/w², σ'(u) = y(1 − y), ∂g/∂f = g for g = exp(f).  The local
derivatives are multiplied along every path from the output to an input, in path
order (``(−1/w²)·1·g·(−1)``), the paths are summed (``∂z/∂u·∂u/∂x + ∂z/∂v·∂v/∂x``),
and the sum is simplified *in terms of the forward nodes*: a step that can be solved
for its argument (w = 1 + g gives g = w − 1; v = 1/w gives w = 1/v) is used to move
the result toward the output, which turns g/w² into the tutorial's v(1 − v).  The
fully expanded closed form (:mod:`.closed_form`) comes second.

Only the structure of the graph and the primitives' symbolic derivatives are used:
nothing here evaluates a number.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ..graph import Graph
from .facts import local_derivative_form, sympy_form

__all__ = ["symbolic_backward", "SymbolicBackward", "SymbolicDerivative", "SymbolicPath",
           "teach_text", "normalise_sign", "safe_mathml", "PATH_LIMIT", "NODE_LIMIT"]

#: more paths than this from the output to one input: the sum is not written out
PATH_LIMIT = 12
#: graphs with more nodes than this get no symbolic pass (sympy's simplification grows fast)
NODE_LIMIT = 60
#: a step is solved for its argument only when its definition has at most this many operations
SOLVE_OPS = 6
#: a rewrite toward the output may add at most this many operations
REWRITE_SLACK = 3

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def teach_text(expr: sp.Expr) -> str:
    """An expression as the answer key writes it: ``v·(1 − v)``, ``−1/w²``."""
    text = sp.sstr(expr, order="none")
    text = re.sub(r"\*\*(?:\((-?\d+)\)|(\d+))", lambda m: (m.group(1) or m.group(2)).translate(_SUPERSCRIPT), text)
    text = text.replace("*", "·").replace(" - ", " − ")
    return re.sub(r"(^|[(\s·/])-", lambda m: m.group(1) + "−", text)


def safe_mathml(expr: sp.Expr) -> str:
    """Presentation MathML of ``expr``; "" if a symbol name holds markup (sympy does not escape)."""
    if any(set(str(s)) & set("<>&\"'") for s in expr.free_symbols):
        return ""
    return sp.mathml(expr, printer="presentation")


def normalise_sign(expr: sp.Expr) -> sp.Expr:
    """``−v·(v − 1)`` → ``v·(1 − v)``: a leading minus moves into a difference."""
    if isinstance(expr, sp.Mul):
        coeff, rest = expr.as_coeff_mul()
        if coeff < 0:
            factors = list(rest)
            for i, f in enumerate(factors):
                if isinstance(f, sp.Add):
                    factors[i] = sp.expand(-f)
                    return sp.Mul(-coeff, *factors)
    return expr


def _symbol(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def _wrap(expr: sp.Expr) -> str:
    text = teach_text(expr)
    if isinstance(expr, sp.Add) or text.startswith("−") or "/" in text:
        return f"({text})"
    return text


def _wrap_latex(expr: sp.Expr) -> str:
    text = sp.latex(expr)
    if isinstance(expr, sp.Add) or text.startswith("-") or "frac" in text:
        return rf"\left({text}\right)"
    return text


def _wrap_mathml(expr: sp.Expr) -> str:
    m = safe_mathml(expr)
    if isinstance(expr, sp.Add) or expr.could_extract_minus_sign() or isinstance(expr, sp.Pow):
        return f"<mrow><mo>(</mo>{m}<mo>)</mo></mrow>"
    return m


@dataclass
class SymbolicPath:
    """One path from the output to an input: the nodes passed and each local derivative."""

    nodes: list[str]                 # output … input
    factors: list[sp.Expr]
    factor_names: list[str]          # ∂v/∂w, ∂w/∂g, …

    @property
    def product(self) -> sp.Expr:
        return sp.Mul(*self.factors)

    def text(self, keep_ones: bool = True) -> str:
        fs = [f for f in self.factors if keep_ones or f != 1] or [sp.Integer(1)]
        return "·".join(_wrap(f) if len(fs) > 1 else teach_text(f) for f in fs)

    def latex(self) -> str:
        fs = [f for f in self.factors if f != 1] or [sp.Integer(1)]
        return r" \cdot ".join(_wrap_latex(f) if len(fs) > 1 else sp.latex(f) for f in fs)

    def mathml(self) -> str:
        fs = [f for f in self.factors if f != 1] or [sp.Integer(1)]
        return "<mo>·</mo>".join(_wrap_mathml(f) if len(fs) > 1 else safe_mathml(f) for f in fs)

    def chain(self) -> str:
        return "·".join(self.factor_names)


@dataclass
class SymbolicDerivative:
    """∂out/∂input: the paths, their product, the sum simplified in forward names."""

    input: str
    output: str
    paths: list[SymbolicPath]
    simplified: sp.Expr
    note: str = ""

    @property
    def chain_text(self) -> str:
        """``∂z/∂u·∂u/∂x + ∂z/∂v·∂v/∂x``."""
        return " + ".join(p.chain() for p in self.paths)

    @property
    def composed_text(self) -> str:
        """``(−1/w²)·1·g·(−1)`` — every local derivative, in path order."""
        return " + ".join(p.text(keep_ones=True) for p in self.paths)

    @property
    def taught_text(self) -> str:
        """The composed form without the factors 1: ``y·(1 − y)·w``."""
        return " + ".join(p.text(keep_ones=False) for p in self.paths)

    @property
    def simplified_text(self) -> str:
        return teach_text(self.simplified)

    @property
    def taught_latex(self) -> str:
        return " + ".join(p.latex() for p in self.paths)

    @property
    def simplified_latex(self) -> str:
        return sp.latex(self.simplified)

    def mathml(self) -> str:
        """``<math>∂out/∂in = taught form = simplified</math>`` (presentation MathML)."""
        lhs = (f"<mfrac><mrow><mo>∂</mo><mi>{_esc(self.output)}</mi></mrow>"
               f"<mrow><mo>∂</mo><mi>{_esc(self.input)}</mi></mrow></mfrac>")
        taught = "<mo>+</mo>".join(f"<mrow>{p.mathml()}</mrow>" for p in self.paths)
        simple = safe_mathml(self.simplified)
        return f'<math display="block"><mrow>{lhs}<mo>=</mo>{taught}<mo>=</mo>{simple}</mrow></math>'


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass
class SymbolicBackward:
    """The symbolic backward pass of a scalar graph, or why there is none."""

    locals: list[tuple[str, str, str]] = field(default_factory=list)   # (node, arg, "∂v/∂w = −1/w²")
    derivatives: list[SymbolicDerivative] = field(default_factory=list)
    note: str = ""


def _definitions(graph: Graph, needed: set[int]) -> tuple[dict[int, sp.Expr], dict[int, sp.Expr], str]:
    """Each node's symbol (inner nodes: their definition) and each node's sympy definition."""
    sym: dict[int, sp.Expr] = {}
    define: dict[int, sp.Expr] = {}
    steps = set(graph.steps.values())
    for node in graph:
        if node.id not in needed:
            continue
        if node.op == "literal":
            sym[node.id] = _literal(float(node.value))
            continue
        if node.is_leaf:
            sym[node.id] = _symbol(node.name)
            continue
        form = sympy_form(node.op)
        if form is None:
            return {}, {}, f"the primitive {node.op!r} has no symbolic form"
        from ..ops import registry

        params = dict(registry.get(node.op).params)
        params.update(node.params)
        try:
            define[node.id] = _defined(node.op, tuple(sym[a] for a in node.args), params)
        except (TypeError, ValueError) as exc:
            return {}, {}, f"{node.name}: {exc}"
        # a named step (and the output) keeps its name; a node inside a step is its definition
        sym[node.id] = _symbol(node.name) if (node.id in steps or node.id == graph.output) else define[node.id]
    return sym, define, ""


@functools.lru_cache(maxsize=1024)
def _literal(value: float) -> sp.Expr:
    """A literal as the symbols write it (an integer exactly, otherwise six digits)."""
    return sp.nsimplify(value) if value.is_integer() else sp.Float(value, 6)


def _defined(op: str, args: tuple, params: dict[str, Any]) -> sp.Expr:
    """``op`` applied to ``args`` in sympy (:func:`.facts.sympy_form`), kept per (op, args, params):
    building the expression asks sympy's assumptions, which cost milliseconds a node, and the same
    small definitions come back from case to case."""
    try:
        key = (op, args, tuple(sorted(params.items())))
        hash(key)
    except TypeError:  # a parameter that is a list: nothing to keep
        return sympy_form(op)(*args, **params)
    return _defined_cached(*key)


@functools.lru_cache(maxsize=4096)
def _defined_cached(op: str, args: tuple, params: tuple) -> sp.Expr:
    return sympy_form(op)(*args, **dict(params))


@functools.lru_cache(maxsize=4096)
def _taught_locals(op: str, out: sp.Expr, args: tuple) -> tuple[tuple[sp.Expr, str], ...]:
    """The local derivatives of ``out = op(*args)`` as sympy expressions and as the page writes them,
    kept per (op, symbols): sympy's printing costs more than everything else in a scalar step."""
    return tuple((e, teach_text(e)) for e in (sp.sympify(d) for d in local_derivative_form(op)(out, *args)))


def _inverses(graph: Graph, needed: set[int], sym: dict[int, sp.Expr], define: dict[int, sp.Expr],
              steps: set[int]) -> dict[sp.Symbol, sp.Expr]:
    """For each step n = f(a) with one symbolic argument: a written in terms of n (when unique)."""
    out: dict[sp.Symbol, sp.Expr] = {}
    for node in graph:
        if node.id not in define or node.id not in steps and node.id != graph.output:
            continue
        if sp.count_ops(define[node.id]) > SOLVE_OPS:
            continue
        free = define[node.id].free_symbols
        leaves = [a for a in free if a.name not in graph.constants]
        if len(leaves) != 1 or leaves[0].name in graph.inputs:
            continue
        a = leaves[0]
        try:
            sol = sp.solve(sp.Eq(sym[node.id], define[node.id]), a, dict=False)
        except (NotImplementedError, ValueError, TypeError):
            continue
        if len(sol) == 1 and sym[node.id] in sp.sympify(sol[0]).free_symbols:
            out[a] = sol[0]
    return out


def _toward_output(expr: sp.Expr, inverses: dict[sp.Symbol, sp.Expr]) -> sp.Expr:
    """Rewrite ``expr`` with the inverses while that does not make it much longer."""
    best = normalise_sign(sp.factor(sp.simplify(expr)))
    budget = sp.count_ops(best) + REWRITE_SLACK
    for _ in range(len(inverses) + 1):
        changed = False
        for a, h in inverses.items():
            if a not in best.free_symbols:
                continue
            cand = normalise_sign(sp.factor(sp.simplify(best.subs(a, h))))
            if sp.count_ops(cand) <= budget:
                best, changed = cand, True
        if not changed:
            break
    return best


def _step_path(graph: Graph, edges: list[tuple[int, int]], local: dict, steps: set[int],
               out_name: str) -> SymbolicPath:
    """One path, its nodes inside a step merged: ∂z/∂v = u·cos(v) rather than ∂z/∂z.1·∂z.1/∂v."""
    nodes, factors, names = [out_name], [], []
    start, group = out_name, []
    for j, k in edges:
        group.append(local[(j, k)])
        arg = graph[graph[j].args[k]]
        if arg.id in steps or arg.is_leaf:
            nodes.append(arg.name)
            factors.append(sp.Mul(*group))
            names.append(f"∂{start}/∂{arg.name}")
            start, group = arg.name, []
    return SymbolicPath(nodes=nodes, factors=factors, factor_names=names)


def symbolic_backward(graph: Graph, ev: Any, *, compose: bool = True) -> SymbolicBackward:
    """The symbolic backward pass of ``graph`` (every needed node a scalar), or a note why not.

    ``compose=False`` gives only the local derivatives in the forward names (cheap); the
    products along the paths and their simplification are the slow part.
    """
    needed = graph.ancestors(graph.output)
    if any(ev.values[i].size != 1 for i in needed):
        return SymbolicBackward(note="some step is an array: see the matrix form of the backward pass")
    if len(needed) > NODE_LIMIT:
        return SymbolicBackward(note=f"the graph has {len(needed)} nodes; the symbolic backward pass is written "
                                     f"out for at most {NODE_LIMIT}")
    sym, define, why = _definitions(graph, needed)
    if why:
        return SymbolicBackward(note=f"no symbolic backward pass: {why}")
    steps = set(graph.steps.values())
    local: dict[tuple[int, int], sp.Expr] = {}
    result = SymbolicBackward()
    for node in graph:
        if node.id not in define or not ev.requires_grad[node.id]:
            continue
        form = local_derivative_form(node.op)
        if form is None:
            return SymbolicBackward(note=f"no symbolic backward pass: the primitive {node.op!r} has no "
                                         "symbolic local derivative")
        out_sym = _symbol(node.name) if (node.id in steps or node.id == graph.output) else define[node.id]
        derivs = _taught_locals(node.op, out_sym, tuple(sym[a] for a in node.args))
        for k, a in enumerate(node.args):
            if not ev.requires_grad[a]:
                continue
            local[(node.id, k)], text = derivs[k]
            result.locals.append((node.name, graph[a].name, f"∂{node.name}/∂{graph[a].name} = {text}"))
    if not compose:
        result.note = "not computed here: gradcheck-suite explain CASE writes the backward pass in symbols"
        return result
    inverses = _inverses(graph, needed, sym, define, steps)
    users = graph.consumers()
    out_name = graph[graph.output].name
    for name, x in graph.inputs.items():
        if x not in needed or not ev.requires_grad[x]:
            continue
        paths: list[list[tuple[int, int]]] = []
        stack: list[tuple[int, list[tuple[int, int]]]] = [(x, [])]
        while stack and len(paths) <= PATH_LIMIT:
            n, edges = stack.pop()
            if n == graph.output:
                paths.append(edges)
                continue
            for j in sorted(users[n], reverse=True):
                for k, a in enumerate(graph[j].args):
                    if a == n and (j, k) in local:
                        stack.append((j, [(j, k)] + edges))
        if len(paths) > PATH_LIMIT:
            result.derivatives.append(SymbolicDerivative(name, out_name, [], sp.Integer(0),
                                                         note=f"more than {PATH_LIMIT} paths"))
            continue
        sym_paths = [_step_path(graph, edges, local, steps, out_name) for edges in
                     sorted(paths, key=lambda e: [j for j, _ in e])]
        total = sp.Add(*[p.product for p in sym_paths])
        result.derivatives.append(SymbolicDerivative(name, out_name, sym_paths, _toward_output(total, inverses)))
    return result
