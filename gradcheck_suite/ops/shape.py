"""Shape primitives: reshape, transpose (``.T``), expand_dims, squeeze, broadcast_to,
concat, stack, flip and basic indexing (``getitem``, what ``x[...]`` parses to).

Each of them moves, copies or selects elements without changing them, so every local
derivative is a 0/1 matrix and every rule is the same movement applied to ``g`` or
``t`` (backwards for a VJP, forwards for a JVP).  Parameters arrive normalised (negative
axes, shapes and indices prefixed for batch axes; see the registry header), so rules
count batch axes as ``g.ndim − ans.ndim`` (resp. ``t.ndim − x.ndim``) and never use a
positive axis.

concat, stack, squeeze and broadcast_to declare ``needs_nb``: their forwards must tell
batch axes from core axes (to broadcast the batch axes of the arrays they join, to
squeeze only core axes, to pad the core of the broadcast argument).
"""
from __future__ import annotations

import numpy as np
from .lazy_torch import torch
from .registry import LINEAR, REAL, VIEW, _normalise_axis, calls, register, unbroadcast

__all__: list[str] = []  # this module only registers primitives


def _batch(g: np.ndarray, core: np.ndarray) -> tuple[int, ...]:
    """The leading batch axes of ``g`` whose core has ``core``'s rank."""
    return g.shape[: g.ndim - core.ndim]


# ---- reshape, transpose, flip ------------------------------------------------------


def _reshape(x: np.ndarray, shape: tuple[int, ...] | None) -> np.ndarray:
    if shape is None:
        raise ValueError("reshape needs a shape, e.g. reshape(x, shape=(2, 3))")
    return np.reshape(x, shape)


register(
    "reshape",
    forward=_reshape,
    args=("x",),
    params={"shape": None},
    param_kinds={"shape": "shape"},
    vjp=(lambda g, ans, x, shape: g.reshape(_batch(g, ans) + x.shape),),
    jvp=(lambda t, ans, x, shape: t.reshape(_batch(t, x) + ans.shape),),
    second_order=LINEAR,
    torch=lambda x, shape: torch.reshape(x, shape),
    derivative=("∂reshape({x})/∂{x} = identity on the elements (the gradient is reshaped back)",),
    category="shape",
    doc="the same elements in a new shape (one entry may be -1)",
    domain=REAL,
    probes=calls([((3, 4),)], {"shape": (4, 3)}) + calls([((3, 4),)], {"shape": (12,)}) + calls([((2, 3, 4),)], {"shape": (6, 4)}) + calls([((6,),)], {"shape": (2, 3)}) + calls([((3, 3),)], {"shape": (9,)}) + calls([((9,),)], {"shape": (3, 3)}),
    symbolic=lambda sp, x, **_: x,
    taught_derivative=lambda sp, out, x, **_: (1,),  # of one element: the identity
    shape=VIEW,
)


def _permute(a: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Permute the last ``len(axes)`` axes of ``a`` by the negative permutation ``axes``."""
    lead = a.ndim - len(axes)
    return np.transpose(a, tuple(range(lead)) + tuple(a.ndim + k for k in axes))


def _inverse(axes: tuple[int, ...]) -> tuple[int, ...]:
    """The negative permutation that undoes ``axes``."""
    core = len(axes)
    return tuple(int(k) - core for k in np.argsort([k + core for k in axes]))


register(
    "transpose",
    forward=_permute,
    args=("x",),
    params={"axes": None},
    param_kinds={"axes": "axes"},
    vjp=(lambda g, ans, x, axes: _permute(g, _inverse(axes)),),
    jvp=(lambda t, ans, x, axes: _permute(t, axes),),
    second_order=LINEAR,
    torch=lambda x, axes: x.permute(axes),
    derivative=("∂transpose({x})/∂{x} = a permutation of the axes (the gradient is transposed back)",),
    category="shape",
    doc="permute the axes (None reverses them; x.T is transpose(x))",
    domain=REAL,
    probes=calls([((3, 4),), ((3, 3),), ((2, 3, 3),)]) + calls([((2, 3, 4),)], {"axes": (1, 0, 2)}),
    symbolic=lambda sp, x, **_: x,
    taught_derivative=lambda sp, out, x, **_: (1,),  # of one element: the identity
    shape=VIEW,
)

register(
    "flip",
    forward=lambda x, axis: np.flip(x, axis=axis),
    args=("x",),
    params={"axis": None},
    param_kinds={"axis": "axis"},
    vjp=(lambda g, ans, x, axis: np.flip(g, axis=axis),),
    jvp=(lambda t, ans, x, axis: np.flip(t, axis=axis),),
    second_order=LINEAR,
    torch=lambda x, axis: torch.flip(x, dims=axis),
    derivative=("∂flip({x})/∂{x} = the reversal (the gradient is flipped back)",),
    category="shape",
    doc="reverse the order of the elements along the given axes (None: all)",
    domain=REAL,
    probes=calls([((3, 4),), ((5,),)]) + calls([((3, 4),)], {"axis": 0}) + calls([((3, 3),)], {"axis": 1}),
    symbolic=lambda sp, x, **_: x,
    taught_derivative=lambda sp, out, x, **_: (1,),  # of one element: the identity
    shape=VIEW,
)


# ---- adding and removing axes ------------------------------------------------------

register(
    "expand_dims",
    forward=lambda x, axis: np.expand_dims(x, axis),
    args=("x",),
    params={"axis": 0},
    param_kinds={"axis": "newaxis"},
    vjp=(lambda g, ans, x, axis: np.squeeze(g, axis=axis),),
    jvp=(lambda t, ans, x, axis: np.expand_dims(t, axis),),
    second_order=LINEAR,
    torch=lambda x, axis: torch.unsqueeze(x, axis),
    derivative=("∂expand_dims({x})/∂{x} = identity (the new axis is squeezed out of the gradient)",),
    category="shape",
    doc="insert a size-1 axis at position axis of the result",
    domain=REAL,
    probes=calls([((3,),), ((3, 3),)], {"axis": 0}) + calls([((3, 4),)], {"axis": -1}) + calls([((3, 3),), ((3,),)], {"axis": 1}),
    symbolic=lambda sp, x, **_: x,
    taught_derivative=lambda sp, out, x, **_: (1,),  # of one element: the identity
    shape=VIEW,
)


def _squeezed(shape: tuple[int, ...], axis, nb: int) -> tuple[int, ...]:
    """The negative core axes squeeze removes; a ValueError for an axis that is not size 1."""
    core = shape[nb:]
    if axis is None:
        return tuple(k - len(core) for k, n in enumerate(core) if n == 1)
    axes = _normalise_axis(axis, len(core))
    if not core:  # a 0-d array: axis 0 / -1 name the array itself (as in torch)
        return ()
    for k in axes:
        if core[k] != 1:
            raise ValueError(f"cannot squeeze axis {k + len(core)} of size {core[k]}: "
                             "only axes of size 1 can be squeezed")
    return axes


def _torch_squeeze(x: torch.Tensor, axis, nb: int) -> torch.Tensor:
    axes = _squeezed(tuple(x.shape), axis, nb)
    return torch.squeeze(x, dim=axes) if axes else x * 1  # torch: dim=() would squeeze nothing anyway


register(
    "squeeze",
    forward=lambda x, axis, nb: np.squeeze(x, axis=_squeezed(x.shape, axis, nb)),
    args=("x",),
    params={"axis": None},
    vjp=(lambda g, ans, x, axis, nb: g.reshape(_batch(g, ans) + x.shape),),
    jvp=(lambda t, ans, x, axis, nb: t.reshape(_batch(t, x) + ans.shape),),
    second_order=LINEAR,
    torch=_torch_squeeze,
    derivative=("∂squeeze({x})/∂{x} = identity (the gradient gets its size-1 axes back)",),
    category="shape",
    doc="remove size-1 axes (None: every size-1 axis; naming another axis is an error)",
    needs_nb=True,
    domain=REAL,
    probes=calls([((3, 1, 4),), ((1, 3, 3),)]) + calls([((1, 3),)], {"axis": 0}) + calls([((3, 1, 3),)], {"axis": 1}),
    symbolic=lambda sp, x, **_: x,
    taught_derivative=lambda sp, out, x, **_: (1,),  # of one element: the identity
    shape=VIEW,
)


# ---- broadcasting --------------------------------------------------------------------


def _pad_core(a: np.ndarray, nb: int, rank: int) -> np.ndarray:
    """``a`` with size-1 axes inserted after its ``nb`` batch axes up to ``rank`` axes."""
    return a.reshape(a.shape[:nb] + (1,) * max(rank - a.ndim, 0) + a.shape[nb:])


def _broadcast_to(x: np.ndarray, shape: tuple[int, ...] | None, nb: int) -> np.ndarray:
    if shape is None:
        raise ValueError("broadcast_to needs a shape, e.g. broadcast_to(x, shape=(2, 3))")
    return np.array(np.broadcast_to(_pad_core(x, nb, len(shape)), shape))


def _broadcast_target(x: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """``shape``, once x's shape is known to broadcast to it."""
    if shape is None or tuple(np.broadcast_shapes(tuple(x), tuple(shape))) != tuple(shape):
        raise ValueError(f"shape {x} does not broadcast to {shape}")
    return tuple(shape)


register(
    "broadcast_to",
    forward=_broadcast_to,
    args=("x",),
    params={"shape": None},
    param_kinds={"shape": "shape"},
    # every copy of x_i receives its own upstream gradient: they add up
    vjp=(lambda g, ans, x, shape, nb: unbroadcast(g, x.shape, ans.ndim),),
    jvp=(lambda t, ans, x, shape, nb: np.broadcast_to(
        _pad_core(t, t.ndim - x.ndim, t.ndim - x.ndim + ans.ndim), _batch(t, x) + ans.shape),),
    second_order=LINEAR,
    torch=lambda x, shape, nb: torch.broadcast_to(x, shape),
    derivative=("∂broadcast_to({x})/∂{x}ᵢ = 1 for every copy of {x}ᵢ (the gradient sums over the copies)",),
    category="shape",
    doc="repeat x along new or size-1 axes to the given shape (numpy broadcasting)",
    needs_nb=True,
    domain=REAL,
    probes=calls([((3, 1),)], {"shape": (3, 4)}) + calls([((4,),)], {"shape": (2, 3, 4)}) + calls([((),), ((1, 3),)], {"shape": (3, 3)}) + calls([((3, 3),)], {"shape": (2, 3, 3)}),
    symbolic=lambda sp, x, **_: x,
    taught_derivative=lambda sp, out, x, **_: (1,),  # of one element: the identity
    shape=lambda x, shape, nb=0: _broadcast_target(x, shape),
)


# ---- joining arrays (variadic: one rule, called with argnum=k) ---------------------------


def _common_batch(arrays: tuple[np.ndarray, ...], nb: int) -> list[np.ndarray]:
    """The arrays with their ``nb`` batch axes broadcast to a common batch shape."""
    if not nb:
        return list(arrays)
    batch = np.broadcast_shapes(*(a.shape[:nb] for a in arrays))
    return [np.broadcast_to(a, batch + a.shape[nb:]) for a in arrays]


def _concat_axis(axis: tuple[int, ...]) -> int:
    if not axis:  # normalisation leaves no axis only for 0-d arrays
        raise ValueError("0-d arrays cannot be concatenated; use stack")
    if len(axis) != 1:
        raise ValueError(f"concat joins along one axis, got {len(axis)} axes")
    return axis[0]


def _concat(*arrays: np.ndarray, axis: tuple[int, ...], nb: int) -> np.ndarray:
    return np.concatenate(_common_batch(arrays, nb), axis=_concat_axis(axis))


def _concat_shape(*shapes: tuple[int, ...], axis: tuple[int, ...], nb: int = 0) -> tuple[int, ...]:
    """The first array's shape with the joined axis the sum of every array's (the others must agree)."""
    a = len(shapes[0]) + _concat_axis(axis)
    if any(len(s) != len(shapes[0]) or s[:a] + s[a + 1:] != shapes[0][:a] + shapes[0][a + 1:] for s in shapes):
        raise ValueError(f"concat: arrays of shapes {shapes} do not fit along axis {a}")
    return shapes[0][:a] + (sum(s[a] for s in shapes),) + shapes[0][a + 1:]


def _stack_shape(shapes, axis: int) -> tuple[int, ...]:
    """The common shape of the arrays with a new axis of their count at ``axis`` (negative)."""
    if any(s != shapes[0] for s in shapes):
        raise ValueError(f"stack: arrays of shapes {shapes} differ")
    first = tuple(shapes[0])
    a = len(first) + 1 + axis
    return first[:a] + (len(shapes),) + first[a:]


def _concat_vjp(g, ans, *arrays, axis, nb, argnum):
    a = axis[0]
    start = sum(x.shape[a] for x in arrays[:argnum])
    block = slice(start, start + arrays[argnum].shape[a])
    return g[(Ellipsis, block) + (slice(None),) * (-a - 1)]


def _concat_jvp(t, ans, *arrays, axis, nb, argnum):
    batch = _batch(t, arrays[argnum])
    blocks = [t if j == argnum else np.zeros(batch + x.shape, dtype=t.dtype) for j, x in enumerate(arrays)]
    return np.concatenate(blocks, axis=axis[0])


register(
    "concat",
    forward=_concat,
    args=("arrays",),
    params={"axis": 0},
    param_kinds={"axis": "axis"},  # an axis of the first array's core
    vjp=(_concat_vjp,),
    jvp=(_concat_jvp,),
    second_order=LINEAR,
    torch=lambda *tensors, axis, nb: torch.cat(tensors, dim=_concat_axis(axis)),
    derivative=("∂concat({arrays})/∂{arrays}ₖ = identity on the k-th block, 0 elsewhere",),
    category="shape",
    doc="join arrays along an existing axis",
    variadic=True,
    needs_nb=True,
    domain=REAL,
    probes=calls([((3, 2), (3, 4)), ((2, 2), (2, 2), (2, 2))], {"axis": -1}) + calls([((2, 3), (4, 3)), ((3, 3), (3, 3)), ((3,), (4,)), ((2, 3), (1, 3))]),
    symbolic="joining arrays never gives one element",
    shape=_concat_shape,
)


def _stack_jvp(t, ans, *arrays, axis, nb, argnum):
    batch = _batch(t, arrays[argnum])
    slices = [t if j == argnum else np.zeros(batch + x.shape, dtype=t.dtype) for j, x in enumerate(arrays)]
    return np.stack(slices, axis=axis)


register(
    "stack",
    forward=lambda *arrays, axis, nb: np.stack(_common_batch(arrays, nb), axis=axis),
    args=("arrays",),
    params={"axis": 0},
    param_kinds={"axis": "newaxis"},  # a position in the result's core
    vjp=(lambda g, ans, *arrays, axis, nb, argnum: g[(Ellipsis, argnum) + (slice(None),) * (-axis - 1)],),
    jvp=(_stack_jvp,),
    second_order=LINEAR,
    torch=lambda *tensors, axis, nb: torch.stack(tensors, dim=axis),
    derivative=("∂stack({arrays})/∂{arrays}ₖ = identity on slice k of the new axis, 0 elsewhere",),
    category="shape",
    doc="join arrays of one shape along a new axis",
    variadic=True,
    needs_nb=True,
    domain=REAL,
    probes=calls([((3,), (3,)), ((3,), (3,), (3,)), ((3, 3), (3, 3))]) + calls([((3, 3), (3, 3))], {"axis": -1}) + calls([((2, 2), (2, 2), (2, 2))], {"axis": 1}),
    symbolic=lambda sp, *xs, **_: xs[0],
    shape=lambda *shapes, axis, nb=0: _stack_shape(shapes, axis),
)


# ---- basic indexing ----------------------------------------------------------------------


def _basic(index: tuple) -> tuple:
    """The index itself, or a ValueError when it is not basic (ints, slices, None, ...)."""
    for item in index:
        if item is None or item is Ellipsis:
            continue
        if isinstance(item, slice):
            parts = (item.start, item.stop, item.step)
            if all(p is None or (isinstance(p, (int, np.integer)) and not isinstance(p, bool)) for p in parts):
                continue
        elif isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
            continue
        raise ValueError(f"index {item!r} is not supported: only integers, slices, None and ... "
                         "(basic indexing)")
    return index


def _getitem_vjp(g, ans, x, index):
    batch = _batch(g, ans)
    out = np.zeros(batch + x.shape, dtype=g.dtype)
    out[(slice(None),) * len(batch) + index] = g  # basic indexing selects each element once
    return out


def _torch_getitem(x: torch.Tensor, index: tuple) -> torch.Tensor:
    """x[index] one axis at a time (torch refuses negative slice steps; index_select does not)."""
    items = list(_basic(index))
    if Ellipsis in items:  # normalised indices have none; expanded here for direct calls
        at = items.index(Ellipsis)
        consumed = sum(1 for i in items if i is not None and i is not Ellipsis)
        items[at:at + 1] = [slice(None)] * (x.dim() - consumed)
    out, dim = x, 0
    for item in items:
        if item is None:
            out, dim = out.unsqueeze(dim), dim + 1
        elif isinstance(item, slice):
            rows = torch.tensor(list(range(*item.indices(out.shape[dim]))), dtype=torch.long)
            out, dim = out.index_select(dim, rows), dim + 1
        else:
            out = out.select(dim, int(item))
    return out


register(
    "getitem",
    forward=lambda x, index: x[_basic(index)],
    args=("x",),
    params={"index": ()},
    param_kinds={"index": "index"},
    vjp=(_getitem_vjp,),
    jvp=(lambda t, ans, x, index: t[(slice(None),) * (t.ndim - x.ndim) + index],),
    second_order=LINEAR,
    torch=_torch_getitem,
    derivative=("∂{x}[index]/∂{x} = 1 at each selected element, 0 elsewhere",),
    category="shape",
    doc="basic indexing and slicing, x[i, a:b:s, None, ...]",
    domain=REAL,
    probes=calls([((4, 5),)], {"index": (slice(1, 3), slice(None, None, 2))}) + calls([((3, 3),)], {"index": (1,)}) + calls([((3, 3),)], {"index": (slice(None), slice(0, 2))}) + calls([((4, 4),)], {"index": (slice(0, 3), slice(1, 4))}) + calls([((3, 4),)], {"index": (slice(None), None, 2)}),
    symbolic=lambda sp, x, **_: x,
    shape=VIEW,
)
