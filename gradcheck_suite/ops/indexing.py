"""Integer indexing: take (an embedding lookup), one_hot (a constant builder) and
cross_entropy with integer targets.

An index is a constant of integers (a case's constants arrive as floats: they must hold
whole numbers); it is declared NOT_DIFFERENTIABLE.  In a batched forward a constant
carries ``nb`` leading batch axes of size 1, so these primitives declare ``needs_nb``
and drop them from the index (an index is never perturbed).

take's VJP adds each upstream gradient back at the row it was read from
(``numpy.add.at``: a row read twice gets both), which is what an embedding layer's
backward does.  cross_entropy is torch's (mean over the rows of −log softmax at the
target); its gradient is (softmax − one_hot(target))/N.
"""
from __future__ import annotations

import numpy as np

from .lazy_torch import F, torch
from .registry import LINEAR, NOT_DIFFERENTIABLE, REAL, Domain, calls, register

__all__: list[str] = []  # this module only registers primitives


def _indices(index: np.ndarray, nb: int = 0, size: int | None = None, what: str = "an index") -> np.ndarray:
    """The index as integers, its batch axes (size 1) dropped; a ValueError for non-integers or out of range."""
    a = np.asarray(index)
    if nb:
        a = a.reshape(a.shape[nb:]) if all(n == 1 for n in a.shape[:nb]) else a
    real = np.real(a)
    if real.size and not np.all(real == np.round(real)):
        raise ValueError(f"{what} must hold whole numbers, not {real.ravel()[:4]}")
    ints = real.astype(np.int64)
    if size is not None and ints.size and (ints.min() < 0 or ints.max() >= size):
        raise ValueError(f"{what} must lie in [0, {size}), not in [{ints.min()}, {ints.max()}]")
    return ints


# ---- take -----------------------------------------------------------------------------------


def _take(x, index, axis, nb):
    a = _one_axis(axis)
    return np.take(x, _indices(index, nb, np.shape(x)[a], "take's index"), axis=a)


def _one_axis(axis: tuple[int, ...]) -> int:
    if len(axis) != 1:
        raise ValueError(f"take reads along one axis, not {len(axis)}")
    return axis[0]


def _take_shape(x, index, axis, nb=0):
    """x's shape with the axis replaced by the index's shape (numpy.take)."""
    a = len(x) + _one_axis(axis)
    return tuple(x[:a]) + tuple(index) + tuple(x[a + 1:])


def _take_vjp(g, ans, x, index, axis, nb=0):
    # x̄[i] = Σ over the positions p with index[p] = i of ḡ[p]
    a = x.ndim + axis[0]
    idx = _indices(index)
    lead = g.ndim - ans.ndim  # batch axes of the cotangent
    out = np.zeros(g.shape[:lead] + x.shape, dtype=g.dtype)
    moved_out = np.moveaxis(out, lead + a, lead)  # a view: ..., x's axis, rest
    first = lead + a
    gm = np.moveaxis(g, tuple(range(first, first + idx.ndim)), tuple(range(lead, lead + idx.ndim)))
    gm = gm.reshape(g.shape[:lead] + (idx.size,) + gm.shape[lead + idx.ndim:])
    for k, row in enumerate(idx.ravel()):
        moved_out[(slice(None),) * lead + (row,)] += gm[(slice(None),) * lead + (k,)]
    return out


def _torch_take(x, index, axis, nb=0):
    a = _one_axis(axis)
    idx = index.long()
    picked = torch.index_select(x, a % x.dim(), idx.reshape(-1))
    return picked.reshape(tuple(x.shape[:a % x.dim()]) + tuple(idx.shape) + tuple(x.shape[a % x.dim() + 1:]))


register(
    "take",
    forward=_take,
    args=("x", "index"),
    params={"axis": 0},
    param_kinds={"axis": "axis"},
    vjp=(_take_vjp, NOT_DIFFERENTIABLE),
    jvp=(lambda t, ans, x, index, axis, nb=0: np.take(t, _indices(index), axis=axis[0]), NOT_DIFFERENTIABLE),
    second_order=LINEAR,  # the VJP adds ḡ back at fixed rows: it does not depend on x's values
    torch=_torch_take,
    derivative=("∂take({x}, {index})/∂{x}: each upstream row is added back at the row of {x} it was read from",
                "{index} is an integer index: not differentiable"),
    category="indexing",
    doc="the slices of x at integer positions along one axis (default 0): take(E, ids) is an embedding "
        "lookup; index is a constant of whole numbers, of any shape",
    needs_nb=True,
    domain=(REAL, Domain(0, 3, kind="integer")),
    probes=calls([((4, 3), (5,)), ((3, 3), (2, 2)), ((3,), (4,))])
    + calls([((3, 4), (3,)), ((2, 3, 3), (3,))], {"axis": 1}),
    symbolic="none shown: an index of one element gives x itself",
    shape=_take_shape,
)


# ---- one_hot ---------------------------------------------------------------------------------


def _one_hot(labels, num_classes, nb):
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, not {num_classes!r}")
    raw = np.asarray(labels)
    ints = _indices(raw, 0, num_classes, "one_hot's labels")
    dtype = raw.dtype if np.issubdtype(raw.dtype, np.floating) else np.float64
    return (ints[..., None] == np.arange(num_classes)).astype(dtype)


register(
    "one_hot",
    forward=_one_hot,
    args=("labels",),
    params={"num_classes": 2},
    vjp=(NOT_DIFFERENTIABLE,),
    jvp=(NOT_DIFFERENTIABLE,),
    torch=lambda labels, num_classes, nb=0: F.one_hot(labels.long(), num_classes).to(labels.dtype),
    derivative=("one_hot({labels}) builds a constant: not differentiable",),
    category="indexing",
    doc="a constant of 0s and 1s with a new last axis of num_classes: 1 at each label (whole numbers "
        "in [0, num_classes)); for targets, masks and selections",
    needs_nb=True,
    differentiable_output=False,
    domain=Domain(0, 2, kind="integer"),
    probes=calls([((4,),), ((2, 3),)]),
    symbolic="none shown: a constant",
    shape=lambda labels, num_classes, nb=0: tuple(labels) + (int(num_classes),),
)


# ---- cross_entropy --------------------------------------------------------------------------------


def _log_softmax_last(z: np.ndarray) -> np.ndarray:
    shift = np.max(np.real(z), axis=-1, keepdims=True)
    z = z - np.where(np.isfinite(shift), shift, 0.0)
    return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


def _target_mask(logits_shape, target, nb: int = 0) -> np.ndarray:
    t = _indices(target, nb, logits_shape[-1], "cross_entropy's target")
    if t.shape != tuple(logits_shape[len(logits_shape) - 1 - t.ndim:-1]) or t.ndim != len(logits_shape) - 1 - nb:
        raise ValueError(f"cross_entropy needs logits (N, C) or (C,) and a target (N,) or (), "
                         f"not {tuple(logits_shape)[nb:]} and {t.shape}")
    return t[..., None] == np.arange(logits_shape[-1])


def _cross_entropy(logits, target, nb):
    rows = 1 if np.ndim(logits) - nb == 1 else np.shape(logits)[-2]
    picked = np.sum(_log_softmax_last(logits) * _target_mask(np.shape(logits), target, nb), axis=-1)
    out = -np.sum(picked, axis=-1) / rows if np.ndim(logits) - nb == 2 else -picked
    return out


def _cross_entropy_tangent(g, ans, dans, dargs, logits, target, nb=0):
    """The VJP ḡ·(softmax(z) − one_hot)/N when z moves by ż: ḡ·s∘(ż − Σ s ż)/N (softmax's JVP)."""
    rows = np.shape(logits)[-2] if np.ndim(logits) == 2 else 1
    s = np.exp(_log_softmax_last(logits))
    dz = dargs[0]
    ds = s * (dz - np.sum(s * dz, axis=-1, keepdims=True))
    return np.reshape(g, np.shape(g) + (1,) * logits.ndim) * ds / rows


def _cross_entropy_slope(logits, target) -> np.ndarray:
    # ∂/∂z of the mean of −log softmax(z)[target] = (softmax(z) − one_hot(target))/N
    rows = np.shape(logits)[-2] if np.ndim(logits) == 2 else 1
    return (np.exp(_log_softmax_last(logits)) - _target_mask(np.shape(logits), target)) / rows


register(
    "cross_entropy",
    forward=_cross_entropy,
    args=("logits", "target"),
    vjp=(lambda g, ans, logits, target, nb=0: np.reshape(g, np.shape(g) + (1,) * logits.ndim)
         * _cross_entropy_slope(logits, target), NOT_DIFFERENTIABLE),
    jvp=(lambda t, ans, logits, target, nb=0: np.sum(t * _cross_entropy_slope(logits, target),
                                                     axis=tuple(range(-logits.ndim, 0))), NOT_DIFFERENTIABLE),
    second_order=(_cross_entropy_tangent, NOT_DIFFERENTIABLE),
    torch=lambda logits, target, nb=0: F.cross_entropy(logits, target.long()),
    derivative=("∂cross_entropy({logits}, {target})/∂{logits} = (softmax({logits}) − one_hot({target}))/N",
                "{target} holds class indices: not differentiable"),
    category="nn",
    doc="the mean over the rows of −log softmax(logits)[target] (torch's cross_entropy with class "
        "indices): logits (N, C) or (C,), target (N,) or () of whole numbers in [0, C)",
    needs_nb=True,
    domain=(REAL, Domain(0, 4, kind="integer")),
    probes=calls([((3, 4), (3,)), ((4, 4), (4,)), ((4,), ())]),
    symbolic="none shown: one class gives a loss of 0",
    shape=lambda logits, target, nb=0: () if len(logits) <= 2 else tuple(logits[:-1]),
)


# ---- index_add (scatter-add) --------------------------------------------------------------------


def _scatter_add(base: np.ndarray, index: np.ndarray, source: np.ndarray, a: int) -> np.ndarray:
    """base with source's slices added at the positions ``index`` along axis ``a`` (repeats add up)."""
    # the batch axes in front of base and source broadcast (one of them may be batched)
    like = source.shape[:source.ndim + a] + (base.shape[a],) + source.shape[source.ndim + a + 1:]
    out = np.array(np.broadcast_to(base, np.broadcast_shapes(base.shape, like)), dtype=np.result_type(base, source))
    moved, src = np.moveaxis(out, a, 0), np.moveaxis(source, a, 0)
    for k, row in enumerate(index):
        moved[row] += src[k]
    return out


def _index_add_check(x, index, source, a: int) -> None:
    if index.ndim != 1:
        raise ValueError(f"index_add needs a 1-d index, not shape {index.shape}")
    expected = x.shape[x.ndim + a + 1:]
    if source.ndim < -a or source.shape[source.ndim + a] != index.size or source.shape[source.ndim + a + 1:] != expected:
        raise ValueError(f"index_add needs a source with {index.size} slices along the axis and the other "
                         f"trailing axes of x {expected}, not shape {source.shape}")


def _index_add_shape(x, index, source, axis, nb=0):
    """x's shape, broadcast against source's leading axes (as :func:`_scatter_add`)."""
    a = _one_axis(axis)
    like = tuple(source[:len(source) + a]) + (x[a],) + tuple(source[len(source) + a + 1:])
    return tuple(np.broadcast_shapes(tuple(x), like))


def _index_add(x, index, source, axis, nb):
    a = _one_axis(axis)
    idx = _indices(index, nb, np.shape(x)[a], "index_add's index")
    _index_add_check(np.asarray(x), idx, np.asarray(source), a)
    return _scatter_add(np.asarray(x), idx, np.asarray(source), a)


register(
    "index_add",
    forward=_index_add,
    args=("x", "index", "source"),
    params={"axis": 0},
    param_kinds={"axis": "axis"},
    vjp=(lambda g, ans, x, index, source, axis, nb=0: g,  # x passes through
         NOT_DIFFERENTIABLE,
         lambda g, ans, x, index, source, axis, nb=0: np.take(g, _indices(index), axis=axis[0])),  # read back
    jvp=(lambda t, ans, x, index, source, axis, nb=0: t,
         NOT_DIFFERENTIABLE,
         lambda t, ans, x, index, source, axis, nb=0: _scatter_add(
             np.zeros(t.shape[:t.ndim - source.ndim] + x.shape), _indices(index), t, axis[0])),
    second_order=LINEAR,  # x̄ = ḡ and s̄ = ḡ at fixed positions: neither depends on x's or source's values
    torch=lambda x, index, source, axis, nb=0: x.index_add(axis[0] % x.dim(), index.long(), source),
    derivative=("∂index_add({x}, {index}, {source})/∂{x} = 1 (x̄ = ḡ)",
                "{index} is an integer index: not differentiable",
                "∂index_add/∂{source}: s̄ = the slices of ḡ at {index} (a gather)"),
    category="indexing",
    doc="x with the slices of source added at the positions index (1-d, whole numbers; repeats add up) "
        "along one axis (default 0): torch's index_add, a scatter-add",
    needs_nb=True,
    domain=(REAL, Domain(0, 3, kind="integer"), REAL),
    probes=calls([((3, 2), (4,), (4, 2)), ((3, 3), (3,), (3, 3)), ((3,), (2,), (2,))])
    + calls([((2, 3), (3,), (2, 3))], {"axis": 1}),
    symbolic=lambda sp, x, index, source, **_: x + source,
    shape=_index_add_shape,
)


# ---- take_along_axis (gather) ------------------------------------------------------------------


def _along_axis_index(x_shape, index, a: int, nb: int = 0) -> np.ndarray:
    """The index as integers in [0, x.shape[a]), of x's rank (a ValueError otherwise)."""
    idx = np.asarray(index)
    if idx.ndim != len(x_shape):
        raise ValueError(f"take_along_axis needs an index of x's {len(x_shape) - nb} dimension(s), "
                         f"not {idx.ndim - nb}")
    return _indices(idx, 0, x_shape[a], "take_along_axis's index")


def _take_along_axis(x, index, axis, nb):
    a = _one_axis(axis)
    idx = _along_axis_index(np.shape(x), index, a, nb)
    try:
        return np.take_along_axis(x, idx, axis=a)
    except (ValueError, IndexError) as err:  # shapes that do not broadcast outside the axis
        raise ValueError(f"take_along_axis: x {np.shape(x)[nb:]} and index {idx.shape[nb:]} do not "
                         f"broadcast outside axis {a}") from err


def _take_along_axis_vjp(g, ans, x, index, axis, nb=0):
    # x̄[..., index[p], ...] += ḡ[p] for every position p of the result (a position read twice gets both)
    a = x.ndim + axis[0]
    idx = np.broadcast_to(_indices(index), ans.shape)
    where = []
    for d, n in enumerate(x.shape):
        if d == a:
            where.append(idx)
        elif n == 1:  # x broadcast along this axis: every position read its one element
            where.append(np.zeros(ans.shape, dtype=np.int64))
        else:
            shape = [1] * ans.ndim
            shape[d] = n
            where.append(np.broadcast_to(np.arange(n).reshape(shape), ans.shape))
    lead = g.ndim - ans.ndim
    out = np.zeros(g.shape[:lead] + x.shape, dtype=g.dtype)
    np.add.at(out, (slice(None),) * lead + tuple(where), g)
    return out


def _take_along_axis_jvp(t, ans, x, index, axis, nb=0):
    idx = _indices(index)
    lead = t.ndim - x.ndim
    return np.take_along_axis(t, idx.reshape((1,) * lead + idx.shape), axis=axis[0])


def _torch_take_along_axis(x, index, axis, nb=0):
    """torch.gather after broadcasting x and index outside the axis (torch.gather does not broadcast).

    The common shape is numpy's broadcast of the two shapes (tuples of ints): torch.broadcast_shapes
    would import sympy on its first call (about 1 s, paid by the torch reference of the first case
    that uses take_along_axis)."""
    a = _one_axis(axis) % x.dim()
    idx = index.long()
    shape = list(np.broadcast_shapes(tuple(x.shape[:a]) + (1,) + tuple(x.shape[a + 1:]),
                                     tuple(idx.shape[:a]) + (1,) + tuple(idx.shape[a + 1:])))
    x_shape, idx_shape = list(shape), list(shape)
    x_shape[a], idx_shape[a] = x.shape[a], idx.shape[a]
    return torch.gather(x.expand(x_shape), a, idx.expand(idx_shape))


def _take_along_axis_shape(x, index, axis, nb=0):
    """The index's size along the axis, x and index broadcast outside it (numpy.take_along_axis)."""
    if len(index) != len(x):
        raise ValueError(f"take_along_axis needs an index of x's {len(x)} dimension(s), not {len(index)}")
    a = len(x) + _one_axis(axis)
    outer = np.broadcast_shapes(tuple(x[:a]) + (1,) + tuple(x[a + 1:]), tuple(index[:a]) + (1,) + tuple(index[a + 1:]))
    return outer[:a] + (index[a],) + outer[a + 1:]


register(
    "take_along_axis",
    forward=_take_along_axis,
    args=("x", "index"),
    params={"axis": -1},
    param_kinds={"axis": "axis"},
    vjp=(_take_along_axis_vjp, NOT_DIFFERENTIABLE),
    jvp=(_take_along_axis_jvp, NOT_DIFFERENTIABLE),
    second_order=LINEAR,
    torch=_torch_take_along_axis,
    derivative=("∂take_along_axis({x}, {index})/∂{x}: each upstream element is added back at the element of "
                "{x} it was read from (a scatter-add)",
                "{index} is an integer index: not differentiable"),
    category="indexing",
    doc="out[..., i, ...] = x[..., index[..., i, ...], ...] along one axis (default −1): numpy.take_along_axis, "
        "torch.gather; index has x's rank, whole numbers in [0, x.shape[axis]), and broadcasts with x outside "
        "the axis — e.g. the score of each row's true class, take_along_axis(S, y[:, None])",
    needs_nb=True,
    domain=(REAL, Domain(0, 3, kind="integer")),
    probes=calls([((3, 4), (3, 2)), ((3, 3), (3, 3)), ((3, 4), (1, 2)), ((2, 3, 3), (2, 3, 3))])
    + calls([((3, 3), (4, 3)), ((4, 3), (2, 1)), ((3, 1, 3), (3, 2, 3))], {"axis": 0}),
    symbolic="none shown: an index of one element gives x itself",
    shape=_take_along_axis_shape,
)
