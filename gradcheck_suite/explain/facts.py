"""Per-primitive facts the answer key needs, read through two accessors.

``sympy_form(op)``
    the primitive written in sympy (for the expanded closed form), from the registry
    entry's ``symbolic``.
``local_derivative_form(op)``
    the primitive's local derivatives as sympy expressions *in the names of the forward
    nodes*: ``f(out, *args, **params) -> tuple`` with one entry per argument, ``out``
    the symbol of the node's own value.  This is the form a course teaches: ∂(1/w)/∂w =
    −1/w², σ'(u) = y(1 − y) where y = σ(u), tanh' = 1 − u².  The registry has only
    the texts of these derivatives, not sympy expressions; the table below is meant to
    move into the registry entries (one place per primitive) at the merge.
``matrix_vjp_form(op)``
    how the VJP of an array step is written as a matrix formula (δx = Wᵀ·δy, dW = δ·xᵀ);
    see :mod:`.matrix_form`.
"""
from __future__ import annotations

from typing import Any, Callable

import sympy as sp

__all__ = ["sympy_form", "local_derivative_form", "LOCAL_DERIVATIVE_FORMS"]


def sympy_form(op: str) -> Callable[..., Any] | None:
    """The sympy translation of primitive ``op``: its registry entry's ``symbolic`` form
    (None where the entry says why it has none)."""
    from ..ops import registry

    prim = registry.lookup(op)
    if prim is None or not callable(prim.symbolic):
        return None

    def form(*args: Any, **params: Any) -> Any:
        return prim.symbolic(sp, *args, **params)
    return form


def _same(out, x, **_):
    return (sp.Integer(1),)


def _sigmoid(out, x, **_):
    return (out * (1 - out),)  # σ' = σ(1 − σ), the tutorial's S(1 − S)


LOCAL_DERIVATIVE_FORMS: dict[str, Callable[..., tuple]] = {
    # ---- operators ----
    "add": lambda out, x, y, **_: (sp.Integer(1), sp.Integer(1)),
    "sub": lambda out, x, y, **_: (sp.Integer(1), sp.Integer(-1)),
    "mul": lambda out, x, y, **_: (y, x),
    "div": lambda out, x, y, **_: (1 / y, -x / y ** 2),
    "pow": lambda out, x, y, **_: (y * x ** (y - 1), out * sp.log(x)),
    "neg": lambda out, x, **_: (sp.Integer(-1),),
    "pos": _same,
    # ---- elementwise ----
    "exp": lambda out, x, **_: (out,),
    "expm1": lambda out, x, **_: (out + 1,),
    "log": lambda out, x, **_: (1 / x,),
    "log1p": lambda out, x, **_: (1 / (1 + x),),
    "sqrt": lambda out, x, **_: (1 / (2 * out),),
    "square": lambda out, x, **_: (2 * x,),
    "sin": lambda out, x, **_: (sp.cos(x),),
    "cos": lambda out, x, **_: (-sp.sin(x),),
    "tan": lambda out, x, **_: (1 + out ** 2,),
    "arcsin": lambda out, x, **_: (1 / sp.sqrt(1 - x ** 2),),
    "arccos": lambda out, x, **_: (-1 / sp.sqrt(1 - x ** 2),),
    "arctan": lambda out, x, **_: (1 / (1 + x ** 2),),
    "sinh": lambda out, x, **_: (sp.cosh(x),),
    "cosh": lambda out, x, **_: (sp.sinh(x),),
    "tanh": lambda out, x, **_: (1 - out ** 2,),
    "sigmoid": _sigmoid,
    "softplus": lambda out, x, **_: (1 / (1 + sp.exp(-x)),),
    "erf": lambda out, x, **_: (2 / sp.sqrt(sp.pi) * sp.exp(-x ** 2),),
    "abs": lambda out, x, **_: (sp.sign(x),),
    # ---- reductions and shape ops of a scalar: the identity ----
    **{op: _same for op in ("sum", "mean", "max", "min", "amax", "amin", "logsumexp", "reshape",
                            "transpose", "squeeze", "expand_dims", "broadcast_to", "flip", "prod")},
}


def local_derivative_form(op: str) -> Callable[..., tuple] | None:
    """The local derivatives of ``op`` in terms of its output and arguments (None: none known)."""
    from ..ops import registry

    prim = registry.lookup(op)
    form = getattr(prim, "local_sympy", None) if prim is not None else None
    return form if form is not None else LOCAL_DERIVATIVE_FORMS.get(op)
