"""Closed forms with sympy: the graph translated primitive by primitive, then differentiated.

Each primitive declares its symbolic form in its registration (``symbolic``: the sympy
expression of the result from the sympy expressions of the arguments and the node's
static parameters, or a string saying why there is none).
Only cases whose inputs, constants, steps and output are all scalars get a closed form.
The derivative is sympy's, simplified; the chain-rule number next to it is the engine's.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import sympy as sp

from .. import engine
from ..graph import Graph
from ..ops import registry
from .model import ClosedForm, ClosedFormRow, show
from .symbolic import safe_mathml


def sympy_form(op: str):
    """The sympy translation of ``op``, through the one accessor (:func:`.facts.sympy_form`)."""
    from .facts import sympy_form as form

    return form(op)

__all__ = ["closed_form", "to_sympy", "OPS_LIMIT"]

#: expressions with more operations than this are not simplified (sympy gets slow)
OPS_LIMIT = 400


def _number(v: Any) -> sp.Expr:
    """A literal as sympy sees it: exact where the number is a short fraction."""
    f = float(np.asarray(v))
    if f.is_integer():
        return sp.Integer(int(f))
    frac = sp.Rational(f).limit_denominator(1000)
    return frac if abs(float(frac) - f) <= 1e-12 * abs(f) else sp.Float(f)


def _symbol(name: str) -> sp.Symbol:
    return sp.Symbol(name.replace(".", "_"), real=True)


def to_sympy(graph: Graph, ev: engine.Evaluation) -> tuple[sp.Expr | None, dict[str, sp.Symbol], str]:
    """The output as a sympy expression of input and constant symbols, or why not."""
    symbols: dict[str, sp.Symbol] = {}
    exprs: dict[int, sp.Expr] = {}
    needed = graph.ancestors(graph.output)
    # the size of the expression written out as a tree (shared steps are repeated)
    size: dict[int, int] = {}
    for node in graph:
        if node.id in needed:
            size[node.id] = 1 + sum(size[a] for a in node.args)
            if size[node.id] > OPS_LIMIT:
                return None, symbols, f"written out, the expression has more than {OPS_LIMIT} operations"
    for node in graph:
        if node.id not in needed:
            continue
        if ev.values[node.id].size != 1:
            return None, symbols, f"{node.name} is an array, not a scalar"
        if node.op in ("input", "constant"):
            symbols[node.name] = _symbol(node.name)
            exprs[node.id] = symbols[node.name]
        elif node.op == "literal":
            exprs[node.id] = _number(node.value)
        else:
            form = sympy_form(node.op)
            if form is None:
                prim = registry.get(node.op)
                return None, symbols, f"the primitive {node.op!r} has none ({prim.symbolic})"
            params = dict(registry.get(node.op).params)
            params.update(node.params)
            try:
                exprs[node.id] = form(*[exprs[a] for a in node.args], **params)
            except (TypeError, ValueError) as exc:
                return None, symbols, f"{node.name}: {exc}"
    return exprs[graph.output], symbols, ""


def closed_form(graph: Graph, ev: engine.Evaluation, grads: Mapping[str, np.ndarray]) -> ClosedForm:
    """The closed form of the output and its derivative for each input (scalar cases)."""
    expr, symbols, why = to_sympy(graph, ev)
    if expr is None:
        return ClosedForm(note=f"No closed form shown: {why}.")
    if sp.count_ops(expr) > OPS_LIMIT:
        return ClosedForm(note=f"No closed form shown: the expression has more than {OPS_LIMIT} operations.")
    point = {symbols[n]: sp.Float(float(np.asarray(ev.values[i]).reshape(())), 17)
             for n, i in list(graph.inputs.items()) + list(graph.constants.items()) if n in symbols}
    form = ClosedForm(function_text=str(expr), function_latex=sp.latex(expr),
                      function_mathml=safe_mathml(expr))
    for name in graph.inputs:
        if name not in symbols:
            continue
        d = sp.simplify(sp.diff(expr, symbols[name]))
        try:
            value = complex(d.evalf(30, subs=point))
            value = value.real if abs(value.imag) == 0 else np.nan
        except (TypeError, ValueError):
            value = np.nan
        chain = float(np.asarray(grads[name]).reshape(()))
        form.rows.append(ClosedFormRow(
            input=name, text=str(d), latex=sp.latex(d), mathml=safe_mathml(d),
            value=show(value, derivative=True),
            chain_rule=show(chain, derivative=True),
            abs_diff=float(abs(value - chain)) if np.isfinite(value) else float("nan"),
        ))
    return form
