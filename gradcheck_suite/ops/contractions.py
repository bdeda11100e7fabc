"""Contractions: einsum (a subscripts string), tensordot, cross.

einsum and tensordot share one machinery: a contraction written as explicit subscripts
(``"ij,jk->ik"``), whose VJP for operand k is again a contraction — of the cotangent
with the other operands, onto operand k's subscripts — and whose JVP is the contraction
with operand k replaced by its tangent.  Leading batch axes ride on an ellipsis put in
front of every subscript (user subscripts may not contain one).  A letter that only
operand k has (summed away, as j in ``"ij->i"``) is broadcast back over its axis.
"""
from __future__ import annotations

import math
import string

import numpy as np

from .lazy_torch import torch
from .registry import BILINEAR, REAL, calls, register

__all__: list[str] = []  # this module only registers primitives


def _parse(subscripts: str, count: int) -> tuple[list[str], str]:
    """The operands' subscripts and the explicit output subscripts; a ValueError when not supported."""
    if not isinstance(subscripts, str):
        raise ValueError(f"einsum needs a subscripts string such as 'ij,jk->ik', not {subscripts!r}")
    text = subscripts.replace(" ", "")
    if "." in text:
        raise ValueError("einsum subscripts may not use '...' here (batch axes are handled for you)")
    inputs, arrow, output = text.partition("->")
    parts = inputs.split(",")
    if len(parts) != count:
        raise ValueError(f"einsum subscripts {subscripts!r} name {len(parts)} operands, {count} given")
    letters = "".join(parts)
    if any(c not in string.ascii_letters for c in letters + output):
        raise ValueError(f"einsum subscripts {subscripts!r} may hold only letters, commas and '->'")
    if any(len(set(p)) != len(p) for p in parts) or len(set(output)) != len(output):
        raise ValueError(f"einsum subscripts {subscripts!r} repeat a letter within one operand "
                         "(a diagonal): write diag or trace instead")
    if not arrow:  # numpy's implicit output: the letters that appear once, in alphabetical order
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    if any(c not in letters for c in output):
        raise ValueError(f"einsum output {output!r} has a letter no operand has")
    return parts, output


def _check_ranks(parts: list[str], operands, nb: int) -> None:
    for p, a in zip(parts, operands):
        if np.ndim(a) - nb != len(p):
            raise ValueError(f"einsum subscripts {p!r} name {len(p)} axes of an operand of shape "
                             f"{np.shape(a)[nb:]}")


def _sizes(parts: list[str], shapes) -> dict[str, int]:
    """The size of every letter, from the operands' shapes (a ValueError where they disagree)."""
    sizes: dict[str, int] = {}
    for p, shape in zip(parts, shapes):
        if len(shape) != len(p):
            raise ValueError(f"einsum subscripts {p!r} name {len(p)} axes of an operand of shape {tuple(shape)}")
        for c, n in zip(p, shape):
            if sizes.setdefault(c, n) != n:
                raise ValueError(f"einsum letter {c!r} has sizes {sizes[c]} and {n}")
    return sizes


def _contract_shape(parts: list[str], output: str, shapes) -> tuple[int, ...]:
    sizes = _sizes(parts, shapes)
    return tuple(sizes[c] for c in output)


def _contract_cost(parts: list[str], shapes) -> int:
    """The multiply-adds of the contraction done naively: one per combination of every letter."""
    return math.prod(_sizes(parts, shapes).values())


def _contract(parts: list[str], output: str, operands) -> np.ndarray:
    spec = ",".join("..." + p for p in parts) + "->..." + output
    return np.einsum(spec, *operands)


def _contract_vjp(parts: list[str], output: str, g, operands, k: int) -> np.ndarray:
    """x̄_k: the cotangent contracted with the other operands onto operand k's subscripts."""
    others = [p for j, p in enumerate(parts) if j != k]
    available = set(output).union(*others) if others else set(output)
    kept = "".join(c for c in parts[k] if c in available)
    spec = ",".join(["..." + output] + others) + "->..." + kept
    out = np.einsum(spec, g, *[a for j, a in enumerate(operands) if j != k])
    # letters only operand k has were summed away in the forward: every element gets ḡ
    batch = out.shape[:out.ndim - len(kept)]
    for pos, c in enumerate(parts[k]):
        if c not in available:
            out = np.expand_dims(out, len(batch) + pos)
    return np.broadcast_to(out, batch + np.shape(operands[k]))


def _contract_jvp(parts: list[str], output: str, t, operands, k: int) -> np.ndarray:
    return _contract(parts, output, [t if j == k else a for j, a in enumerate(operands)])


# ---- einsum ---------------------------------------------------------------------------------


def _einsum(*operands, subscripts, nb):
    parts, output = _parse(subscripts, len(operands))
    _check_ranks(parts, operands, nb)
    return _contract(parts, output, operands)


register(
    "einsum",
    forward=_einsum,
    args=("operands",),
    params={"subscripts": "ij,jk->ik"},
    vjp=(lambda g, ans, *ops, subscripts, nb, argnum: _contract_vjp(*_parse(subscripts, len(ops)), g, ops, argnum),),
    jvp=(lambda t, ans, *ops, subscripts, nb, argnum: _contract_jvp(*_parse(subscripts, len(ops)), t, ops, argnum),),
    second_order=BILINEAR,  # linear in each operand: the product rule
    torch=lambda *tensors, subscripts, nb: torch.einsum(subscripts, *tensors),
    derivative=("∂einsum({operands})/∂operand k: the same contraction of the upstream gradient with the other "
                "operands, onto operand k's subscripts (e.g. 'ij,jk->ik': x̄ = ḡ·yᵀ, ȳ = xᵀ·ḡ)",),
    category="contractions",
    doc="Einstein summation of a list of operands, e.g. einsum([a, b], subscripts='ij,jk->ik'); "
        "letters only (no '...', no letter twice in one operand); without '->' the output is numpy's implicit one",
    variadic=True,
    needs_nb=True,
    domain=REAL,
    probes=calls([((3, 4), (4, 2)), ((3, 3), (3, 3))]) + calls([((3, 4), (3, 4))], {"subscripts": "ij,ij->i"})
    + calls([((2, 3), (3, 4), (4, 2))], {"subscripts": "ij,jk,kl->il"})
    + calls([((3, 3), (3, 3))], {"subscripts": "ij,kj->ik"}) + calls([((3, 4), (2,))], {"subscripts": "ij,k->jki"}),
    symbolic=lambda sp, *xs, **_: sp.Mul(*xs),
    shape=lambda *shapes, subscripts, nb=0: _contract_shape(*_parse(subscripts, len(shapes)), shapes),
    cost=lambda out, *shapes, subscripts, nb=0: _contract_cost(_parse(subscripts, len(shapes))[0], shapes),
)


# ---- tensordot ------------------------------------------------------------------------------


def _tensordot_parts(x_ndim: int, y_ndim: int, axes) -> tuple[list[str], str]:
    """numpy.tensordot(x, y, axes=n) as subscripts: the last n axes of x with the first n of y."""
    if not isinstance(axes, (int, np.integer)) or isinstance(axes, bool) or not 0 <= axes <= min(x_ndim, y_ndim):
        raise ValueError(f"tensordot axes must be an int from 0 to {min(x_ndim, y_ndim)}, not {axes!r}")
    letters = string.ascii_letters
    xs = letters[:x_ndim]
    ys = xs[x_ndim - axes:] + letters[x_ndim:x_ndim + y_ndim - axes]
    return [xs, ys], xs[:x_ndim - axes] + ys[axes:]


def _tensordot(x, y, axes, nb):
    parts, output = _tensordot_parts(np.ndim(x) - nb, np.ndim(y) - nb, axes)
    _check_ranks(parts, (x, y), nb)
    return _contract(parts, output, (x, y))


def _tensordot_rule(which, k: int):
    def rule(seed, ans, x, y, axes, nb=0):
        parts, output = _tensordot_parts(np.ndim(x), np.ndim(y), axes)
        return which(parts, output, seed, (x, y), k)
    return rule


register(
    "tensordot",
    forward=_tensordot,
    args=("x", "y"),
    params={"axes": 2},
    vjp=(_tensordot_rule(_contract_vjp, 0), _tensordot_rule(_contract_vjp, 1)),
    jvp=(_tensordot_rule(_contract_jvp, 0), _tensordot_rule(_contract_jvp, 1)),
    second_order=BILINEAR,
    torch=lambda x, y, axes, nb=0: torch.tensordot(x, y, dims=axes),
    derivative=("∂tensordot({x}, {y})/∂{x}: x̄ = ḡ contracted with {y} over {y}'s free axes",
                "∂tensordot({x}, {y})/∂{y}: ȳ = {x} contracted with ḡ over {x}'s free axes"),
    category="contractions",
    doc="the sum over the last axes (an int) of x against the first as many axes of y (numpy.tensordot)",
    needs_nb=True,
    domain=REAL,
    probes=calls([((3, 4, 2), (4, 2, 3)), ((3, 3), (3, 3))]) + calls([((3, 4), (4, 3))], {"axes": 1})
    + calls([((2, 3), (3, 3))], {"axes": 1}) + calls([((3,), (2,))], {"axes": 0}),
    symbolic=lambda sp, x, y, **_: x * y,
    shape=lambda x, y, axes, nb=0: _contract_shape(*_tensordot_parts(len(x), len(y), axes), (x, y)),
    cost=lambda out, x, y, axes, nb=0: _contract_cost(_tensordot_parts(len(x), len(y), axes)[0], (x, y)),
)


# ---- cross ----------------------------------------------------------------------------------


def _cross_axis(axis: tuple[int, ...]) -> int:
    if len(axis) != 1:
        raise ValueError(f"cross works along one axis of length 3, not {len(axis)} axes")
    return axis[0]


def _cross(x, y, axis):
    a = _cross_axis(axis)
    if np.shape(x)[a] != 3 or np.shape(y)[a] != 3:
        raise ValueError(f"cross needs vectors of length 3 along axis {a}, not shapes {np.shape(x)} and {np.shape(y)}")
    return np.cross(x, y, axis=a)


register(
    "cross",
    forward=_cross,
    args=("x", "y"),
    params={"axis": -1},
    param_kinds={"axis": "axis"},
    # ⟨ḡ, x × y⟩ = ⟨y × ḡ, x⟩ = ⟨ḡ × x, y⟩
    vjp=(lambda g, ans, x, y, axis: np.cross(y, g, axis=axis[0]),
         lambda g, ans, x, y, axis: np.cross(g, x, axis=axis[0])),
    jvp=(lambda t, ans, x, y, axis: np.cross(t, y, axis=axis[0]),
         lambda t, ans, x, y, axis: np.cross(x, t, axis=axis[0])),
    second_order=BILINEAR,
    torch=lambda x, y, axis: torch.linalg.cross(*torch.broadcast_tensors(x, y), dim=_cross_axis(axis)),
    derivative=("∂({x} × {y})/∂{x}: x̄ = {y} × ḡ", "∂({x} × {y})/∂{y}: ȳ = ḡ × {x}"),
    category="contractions",
    doc="the cross product of 3-vectors along one axis (default −1), broadcasting the others",
    broadcasts=True,
    domain=REAL,
    probes=calls([((3,), (3,)), ((3, 3), (3, 3)), ((2, 3), (3,)), ((3,), (4, 3)), ((2, 1, 3), (4, 3))])
    + calls([((3, 3), (3, 3)), ((3, 2), (3, 1))], {"axis": 0}),
    symbolic="none shown: the cross product needs vectors of three elements",
)
