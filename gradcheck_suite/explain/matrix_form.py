"""The backward pass of array steps written as matrix formulas, with shapes.

A course writes the reverse pass of a layer as δ₁ = (W₂ᵀ·δ₂) ⊙ σ'(a₁) and dW₁ = δ₁·xᵀ,
not as a 4-D tensor of mostly zeros.  Here every node's upstream gradient is called
``δnode`` and every contribution is written from the node's primitive
(:func:`matrix_vjp_text`, one entry per primitive kind): a product with a transposed
matrix, an elementwise product ⊙ with the local derivative in the forward names
(:func:`.facts.local_derivative_form`), a sum over broadcast axes.  The shapes of
every operand are printed next to the formula.  The numbers stay in the backward table.

:func:`link_formula` writes one link of the Jacobian chain the same way, as a product of
matrices along a single chain of nodes: J_u(v) = diag(1 − u²)·A for u = tanh(A @ v + c).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..graph import Graph
from .facts import local_derivative_form
from .symbolic import teach_text

__all__ = ["MatrixLine", "matrix_backward", "matrix_vjp_text", "jacobian_text", "link_formula", "descendants",
           "delta", "shape_text"]


def delta(name: str) -> str:
    """The name of the upstream gradient of node ``name``: ``δname``."""
    return f"δ{name}"


def shape_text(shape: tuple[int, ...]) -> str:
    return "scalar" if not shape else "×".join(str(s) for s in shape)


@dataclass
class MatrixLine:
    """δarg = formula, for one argument of one node (the contributions of several consumers add)."""

    target: str
    terms: list[str]
    shapes: str

    @property
    def text(self) -> str:
        sums = [t for t in self.terms if not t.startswith("= ")]
        notes = [t for t in self.terms if t.startswith("= ")]
        return " ".join([f"{delta(self.target)} = {' + '.join(sums)}"] + notes)


def _paren(text: str) -> str:
    return f"({text})" if any(c in text for c in " +−") else text


def matrix_vjp_text(op: str, k: int, names: list[str], shapes: list[tuple[int, ...]], out: str,
                    out_shape: tuple[int, ...]) -> str | None:
    """The contribution of node ``out = op(*names)`` to its ``k``-th argument, as a formula."""
    d = delta(out)
    me, shape = names[k], shapes[k]

    def unbroadcast(text: str) -> str:
        if tuple(shape) == tuple(out_shape):
            return text
        return f"Σ_broadcast({text})"

    if op == "matmul":
        x, y = names
        (sx, sy) = shapes
        if k == 0:
            if len(sy) == 1 and len(sx) == 2:
                return f"{d}·{y}ᵀ"          # an outer product: dW = δ·xᵀ
            if len(sx) == 1:
                return f"{y}·{d}"
            return f"{d}·{y}ᵀ"
        if len(sx) == 1 and len(sy) == 2:
            return f"{x}·{d}ᵀ" if len(out_shape) else f"{x}·{d}"
        return f"{x}ᵀ·{d}"
    if op in ("add", "pos"):
        return unbroadcast(d)
    if op == "sub":
        return unbroadcast(d if k == 0 else f"−{d}")
    if op == "neg":
        return f"−{d}"
    if op == "mul":
        other = names[1 - k]
        sym = "·" if not shapes[1 - k] or not out_shape else " ⊙ "
        return unbroadcast(f"{d}{sym}{other}")
    if op == "div":
        x, y = names
        if k == 0:
            return unbroadcast(f"{d} ⊘ {y}")
        return unbroadcast(f"−{d} ⊙ {x} ⊘ {y}²")
    if op == "sum":
        return f"{d}·𝟏" + (f" (broadcast to {shape_text(shape)})" if shape else "")
    if op == "mean":
        n = 1
        for s in shape:
            n *= s
        return f"{d}·𝟏/{n}"
    if op == "transpose":
        return f"{d}ᵀ"
    if op in ("reshape", "squeeze", "expand_dims"):
        return f"reshape({d}, {shape_text(shape)})"
    if op == "log_softmax":
        return f"{d} − softmax({me})·Σ{d}"
    if op == "softmax":
        return f"{out} ⊙ ({d} − ⟨{d}, {out}⟩)"
    if len(names) == 1 and _elementwise(op):
        local = _unary_local(op, out, me)
        if local is not None:
            return d if local == "1" else f"{d} ⊙ {_paren(local)}"
    return None


def _unary_local(op: str, out: str, arg: str) -> str | None:
    """The taught local derivative of the elementwise ``out = op(arg)`` in those names (None when the
    primitive declares none).

    sympy builds and prints it once per primitive and per order of the two names: its canonical
    order of factors and terms compares two symbols by their names only, so the text written with
    two stand-in names in the same order, the stand-ins then replaced, is the text sympy writes for
    the real names (``tests/explain/test_taught_forms.py`` checks it for every primitive).  Names
    that are not plain identifiers are written by sympy directly.
    """
    if out == arg or not (_PLAIN.match(out) and _PLAIN.match(arg)):
        return _unary_local_text(op, out, arg)
    first, second = _STAND_INS if out < arg else _STAND_INS[::-1]
    text = _unary_local_text(op, first, second)
    return None if text is None else text.replace(first, out).replace(second, arg)


#: names of two symbols, in sympy's (string) order, that no case name contains
_STAND_INS = ("Ψa", "Ψb")
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")


@functools.lru_cache(maxsize=1024)
def _unary_local_text(op: str, out: str, arg: str) -> str | None:
    form = local_derivative_form(op)
    if form is None:
        return None
    local = form(sp.Symbol(out), sp.Symbol(arg))[0]
    return "1" if local == 1 else teach_text(local)


def _cross_entropy(graph: Graph, ev: Any, lines: dict[int, MatrixLine]) -> None:
    """Softmax + cross-entropy, −Σ t ⊙ log_softmax(z) with Σt = 1: say that δz = softmax(z) − t."""
    users = graph.consumers()
    for node in graph:
        if node.op != "log_softmax" or node.args[0] not in lines or len(users[node.id]) != 1:
            continue
        mul = graph[users[node.id][0]]
        if mul.op != "mul" or len(users[mul.id]) != 1:
            continue
        other = [a for a in mul.args if a != node.id]
        total = graph[users[mul.id][0]]
        if len(other) != 1 or graph[other[0]].op != "constant" or total.op != "sum" or len(users[total.id]) != 1:
            continue
        neg = graph[users[total.id][0]]
        t = ev.values[other[0]]
        if neg.op == "neg" and neg.id == graph.output and abs(float(t.sum()) - 1.0) < 1e-12:
            z = graph[node.args[0]].name
            lines[node.args[0]].terms.append(f"= softmax({z}) − {graph[other[0]].name}   "
                                             "(softmax + cross-entropy, Σ" + graph[other[0]].name + " = 1)")


def matrix_backward(graph: Graph, ev: Any, contributions: Any) -> tuple[list[MatrixLine], str]:
    """One line δarg = Σ formulas per node that receives a gradient, in reverse order."""
    lines: dict[int, MatrixLine] = {}
    missing = []
    for node in reversed(graph.nodes):
        if node.is_leaf:
            continue
        names = [graph[a].name for a in node.args]
        shapes = [tuple(ev.values[a].shape) for a in node.args]
        for k, a in enumerate(node.args):
            if (node.id, k) not in contributions:
                continue
            text = matrix_vjp_text(node.op, k, names, shapes, node.name, tuple(ev.values[node.id].shape))
            if text is None:
                missing.append(node.op)
                text = f"vjp_{node.op}({delta(node.name)})"
            line = lines.setdefault(a, MatrixLine(graph[a].name, [], ""))
            line.terms.append(text)
    for a, line in lines.items():
        line.shapes = shape_text(tuple(ev.values[a].shape))
    _cross_entropy(graph, ev, lines)
    order = sorted(lines, key=lambda i: -i)
    note = ""
    if missing:
        note = "no matrix formula for " + ", ".join(sorted(set(missing))) + " (its registry text is in the table)"
    return [lines[i] for i in order], note


def jacobian_text(op: str, k: int, names: list[str], shapes: list[tuple[int, ...]], out: str,
                  varies: list[bool], out_shape: tuple[int, ...] = ()) -> str | None:
    """The Jacobian of ``out = op(*names)`` w.r.t. argument ``k`` as a matrix: ``A``,
    ``diag(1 − u²)``, ``I`` (None when there is no short formula).  ``varies[i]`` says
    whether argument ``i`` depends on the link's start (the others are fixed)."""
    if sum(varies) != 1:
        return None
    if op == "matmul" and len(shapes[1 - k]) == 2:
        other = names[1 - k]
        if k == 1 and len(shapes[1]) == 1:
            return other                       # J of A·v w.r.t. v is A
        if k == 0 and len(shapes[0]) == 1:
            return f"{other}ᵀ"                 # J of vᵀ·B w.r.t. v is Bᵀ
        return None
    same = tuple(shapes[k]) == tuple(out_shape)     # no broadcasting of the varying argument
    if op in ("add", "pos") or (op == "sub" and k == 0):
        return "I" if same else None
    if op == "neg" or (op == "sub" and k == 1):
        return "(−I)" if same else None
    if op == "mul" and len(shapes) == 2 and same:
        other = names[1 - k]
        return other if not shapes[1 - k] else (f"diag({other})" if shapes[1 - k] == shapes[k] else None)
    if op in ("reshape", "squeeze", "expand_dims"):
        return "I"                              # the same elements in the same (row-major) order
    if op == "sum" and len(names) == 1 and not out_shape:
        return "𝟏ᵀ"
    if len(names) == 1 and _elementwise(op):
        local = _unary_local(op, out, names[0])
        if local is not None:
            return "I" if local == "1" else f"diag({local})"
    return None


def link_formula(graph: Graph, ev: Any, start: int, end: int) -> str:
    """J_end(start) as a product of matrix formulas along a single chain of nodes ("" if none)."""
    inside = {n.id for n in graph if start < n.id <= end}
    depends = {start}
    for node in graph:
        if node.id in inside and any(a in depends for a in node.args):
            depends.add(node.id)
    path = sorted(i for i in depends if i != start and end in descendants(graph, i))
    parts: list[str] = []
    for i in path:
        node = graph[i]
        varies = [a in depends for a in node.args]
        if sum(varies) != 1:
            return ""
        k = varies.index(True)
        text = jacobian_text(node.op, k, [graph[a].name for a in node.args],
                             [tuple(ev.values[a].shape) for a in node.args], node.name, varies,
                             tuple(ev.values[node.id].shape))
        if text is None:
            return ""
        if text != "I":
            parts.append(text)
    return "·".join(reversed(parts)) or "I"


def _elementwise(op: str) -> bool:
    """A primitive applied element by element (its local Jacobian is diagonal)."""
    from ..ops import registry

    prim = registry.lookup(op)
    return prim is not None and prim.category == "elementwise"


def descendants(graph: Graph, i: int) -> set[int]:
    """Node ``i`` and every node that depends on it."""
    users = graph.consumers()
    seen, stack = {i}, [i]
    while stack:
        for u in users[stack.pop()]:
            if u not in seen:
                seen.add(u)
                stack.append(u)
    return seen
