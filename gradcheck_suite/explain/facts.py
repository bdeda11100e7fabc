"""Per-primitive facts the answer key needs, read through two accessors.

``sympy_form(op)``
    the primitive written in sympy (for the expanded closed form), from the registry
    entry's ``symbolic``.
``local_derivative_form(op)``
    the primitive's local derivatives as sympy expressions *in the names of the forward
    nodes*: ``f(out, *args, **params) -> tuple`` with one entry per argument, ``out``
    the symbol of the node's own value.  This is the form a course teaches: ∂(1/w)/∂w =
    −1/w², σ'(u) = y(1 − y) where y = σ(u), tanh' = 1 − y².  Declared in each
    primitive's registration (``taught_derivative``, see ``ops/registry.py``).
``matrix_vjp_form(op)``
    how the VJP of an array step is written as a matrix formula (δx = Wᵀ·δy, dW = δ·xᵀ);
    see :mod:`.matrix_form`.
"""
from __future__ import annotations

from typing import Any, Callable

import sympy as sp

__all__ = ["sympy_form", "local_derivative_form"]


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


def local_derivative_form(op: str) -> Callable[..., tuple] | None:
    """The local derivatives of ``op`` in terms of its output and arguments: its registry entry's
    ``taught_derivative`` (None where it declares none)."""
    from ..ops import registry

    prim = registry.lookup(op)
    if prim is None or prim.taught_derivative is None:
        return None
    taught = prim.taught_derivative

    def form(out: Any, *args: Any, **params: Any) -> tuple:
        return tuple(sp.sympify(e) for e in taught(sp, out, *args, **params))
    return form
