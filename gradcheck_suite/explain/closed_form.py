"""Closed forms with sympy: the graph translated primitive by primitive, then differentiated.

``SYMPY_FORMS`` is the translation table — one entry per primitive, mapping the
sympy expressions of the arguments (and the node's static parameters) to the sympy
expression of the result.  A primitive without an entry means "no closed form shown".
Only cases whose inputs, constants, steps and output are all scalars get a closed form.
The derivative is sympy's, simplified; the chain-rule number next to it is the engine's.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

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

__all__ = ["SYMPY_FORMS", "closed_form", "to_sympy", "OPS_LIMIT"]

#: expressions with more operations than this are not simplified (sympy gets slow)
OPS_LIMIT = 400


def _scalar_reduction(x, **_):
    # a reduction over a scalar is the scalar itself
    return x


def _heaviside_relu(x, **_):
    return sp.Max(0, x)


def _leaky(x, negative_slope=0.01, **_):
    return sp.Piecewise((x, x > 0), (negative_slope * x, True))


def _elu(x, alpha=1.0, **_):
    return sp.Piecewise((x, x > 0), (alpha * (sp.exp(x) - 1), True))


def _clip(x, *bounds, a_min=None, a_max=None, min=None, max=None, **_):
    lo = bounds[0] if len(bounds) > 0 else (a_min if a_min is not None else min)
    hi = bounds[1] if len(bounds) > 1 else (a_max if a_max is not None else max)
    out = x
    if lo is not None:
        out = sp.Max(out, lo)
    if hi is not None:
        out = sp.Min(out, hi)
    return out


SYMPY_FORMS: dict[str, Callable[..., sp.Expr]] = {
    # ---- operators ----
    "add": lambda x, y, **_: x + y,
    "sub": lambda x, y, **_: x - y,
    "mul": lambda x, y, **_: x * y,
    "div": lambda x, y, **_: x / y,
    "pow": lambda x, y, **_: x ** y,
    "neg": lambda x, **_: -x,
    "pos": lambda x, **_: x,
    # ---- elementwise ----
    "exp": lambda x, **_: sp.exp(x),
    "expm1": lambda x, **_: sp.exp(x) - 1,
    "log": lambda x, **_: sp.log(x),
    "log1p": lambda x, **_: sp.log(1 + x),
    "sqrt": lambda x, **_: sp.sqrt(x),
    "square": lambda x, **_: x ** 2,
    "abs": lambda x, **_: sp.Abs(x),
    "sign": lambda x, **_: sp.sign(x),
    "sin": lambda x, **_: sp.sin(x),
    "cos": lambda x, **_: sp.cos(x),
    "tan": lambda x, **_: sp.tan(x),
    "arcsin": lambda x, **_: sp.asin(x),
    "arccos": lambda x, **_: sp.acos(x),
    "arctan": lambda x, **_: sp.atan(x),
    "sinh": lambda x, **_: sp.sinh(x),
    "cosh": lambda x, **_: sp.cosh(x),
    "tanh": lambda x, **_: sp.tanh(x),
    "sigmoid": lambda x, **_: 1 / (1 + sp.exp(-x)),
    "relu": _heaviside_relu,
    "leaky_relu": _leaky,
    "elu": _elu,
    "softplus": lambda x, **_: sp.log(1 + sp.exp(x)),
    "gelu": lambda x, **_: x / 2 * (1 + sp.erf(x / sp.sqrt(2))),
    "erf": lambda x, **_: sp.erf(x),
    "clip": _clip,
    "maximum": lambda x, y, **_: sp.Max(x, y),
    "minimum": lambda x, y, **_: sp.Min(x, y),
    "where": lambda c, x, y, **_: sp.Piecewise((x, c), (y, True)),
    # ---- reductions (of a scalar) ----
    "sum": _scalar_reduction,
    "mean": _scalar_reduction,
    "prod": _scalar_reduction,
    "max": _scalar_reduction,
    "min": _scalar_reduction,
    "amax": _scalar_reduction,
    "amin": _scalar_reduction,
    "logsumexp": _scalar_reduction,
    "norm": lambda x, **_: sp.Abs(x),
    # ---- shape (of a scalar) ----
    "reshape": _scalar_reduction,
    "transpose": _scalar_reduction,
    "squeeze": _scalar_reduction,
    "expand_dims": _scalar_reduction,
    "broadcast_to": _scalar_reduction,
    "flip": _scalar_reduction,
    # ---- nn (of a scalar) ----
    "softmax": lambda x, **_: sp.Integer(1),
    "log_softmax": lambda x, **_: sp.Integer(0),
}


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
                return None, symbols, f"the primitive {node.op!r} has no entry in the closed-form table"
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
