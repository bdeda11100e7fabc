"""Scans and order along one axis (cumsum, cumprod, sort, topk), and moving copies of
elements: roll, tril, triu, tile, repeat, swapaxes, moveaxis.

``axis`` arrives normalised to a tuple of negative axes (see the registry header), so
leading batch axes pass through every rule.  Each of the movers copies or selects
elements, so its VJP is the same movement backwards (summing where an element was
copied several times) and its JVP is the movement itself.

sort and topk send the gradient of each output to the element it came from (a stable
argsort); where two elements are equal the order between them is arbitrary: a tie is a
kink.  cumprod's VJP is exact where elements are zero (no division by x).
"""
from __future__ import annotations

import math

import numpy as np

from .lazy_torch import torch
from .registry import LINEAR, PIECEWISE_LINEAR, REAL, SAME, VIEW, Domain, calls, ghost, register

__all__: list[str] = []  # this module only registers primitives

_AXIS = {"axis": "axis"}


def _one(name: str, axis: tuple[int, ...]) -> int:
    if len(axis) != 1:
        raise ValueError(f"{name} works along one axis, not {len(axis)}")
    return axis[0]


def _identity_form(sp, x, **_):
    return x


# ---- scans --------------------------------------------------------------------------------

register(
    "cumsum",
    forward=lambda x, axis: np.cumsum(x, axis=_one("cumsum", axis)),
    args=("x",),
    params={"axis": -1},
    param_kinds=_AXIS,
    # ȳ_k reaches every x_i with i ≤ k: x̄_i = Σ_{k ≥ i} ḡ_k, a cumulative sum from the end
    vjp=(lambda g, ans, x, axis: np.flip(np.cumsum(np.flip(g, axis), axis=axis[0]), axis),),
    jvp=(lambda t, ans, x, axis: np.cumsum(t, axis=axis[0]),),
    second_order=LINEAR,
    torch=lambda x, axis: torch.cumsum(x, dim=_one("cumsum", axis)),
    derivative=("∂cumsum({x})ₖ/∂{x}ᵢ = 1 if i ≤ k else 0 (x̄ is the cumulative sum of ḡ from the end)",),
    category="scans",
    doc="running sums along one axis (default −1)",
    domain=REAL,
    probes=calls([((5,),), ((3, 4),), ((2, 3, 3),)]) + calls([((3, 3),), ((3, 4),)], {"axis": 0}),
    symbolic=_identity_form,
    shape=SAME,
)


def _cumprod_matrix(x: np.ndarray, axis: int) -> np.ndarray:
    """M[..., i, k] = Π_{j ≤ k, j ≠ i} x_j for i ≤ k, else 0 (x's axis moved last): exact with zeros."""
    v = np.moveaxis(x, axis, -1)
    n = v.shape[-1]
    rows = np.broadcast_to(v[..., None, :], v.shape[:-1] + (n, n)).copy()
    rows[..., np.arange(n), np.arange(n)] = 1  # row i leaves x_i out
    return np.cumprod(rows, axis=-1) * np.triu(np.ones((n, n)))


def _cumprod_vjp(g, ans, x, axis):
    m = _cumprod_matrix(x, axis[0])
    gm = np.moveaxis(g, axis[0], -1)
    return np.moveaxis(np.einsum("...ik,...k->...i", m, gm), -1, axis[0])


def _cumprod_vjp_tangent(g, ans, dans, dargs, x, axis):
    """How the VJP Σ_k M[i, k]·g_k changes when x moves by ẋ (leading batch axes):
    dM[i, k] = Σ_{l ≤ k, l ≠ i} ẋ_l·Π_{j ≤ k, j ≠ i, l} x_j for i ≤ k — the running products of x
    with both x_i and x_l set to 1 (an n×n×n table per group: exact with zeros, no division)."""
    v = np.moveaxis(x, axis[0], -1)
    n = v.shape[-1]
    i, l, j = np.ogrid[:n, :n, :n]
    rows = np.where((j == i) | (j == l), 1, v[..., None, None, :])  # [..., i, l, j]
    pairs = np.cumprod(rows, axis=-1) * ((j >= i) & (j >= l) & (i != l))  # [..., i, l, k]
    dm = np.einsum("...ilk,...l->...ik", pairs, np.moveaxis(dargs[0], axis[0], -1))
    return np.moveaxis(np.einsum("...ik,...k->...i", dm, np.moveaxis(g, axis[0], -1)), -1, axis[0])


def _cumprod_jvp(t, ans, x, axis):
    m = _cumprod_matrix(x, axis[0])
    tm = np.moveaxis(t, axis[0], -1)
    return np.moveaxis(np.einsum("...ik,...i->...k", m, tm), -1, axis[0])


register(
    "cumprod",
    forward=lambda x, axis: np.cumprod(x, axis=_one("cumprod", axis)),
    args=("x",),
    params={"axis": -1},
    param_kinds=_AXIS,
    vjp=(_cumprod_vjp,),
    jvp=(_cumprod_jvp,),
    second_order=(_cumprod_vjp_tangent,),
    torch=lambda x, axis: torch.cumprod(x, dim=_one("cumprod", axis)),
    derivative=("∂cumprod({x})ₖ/∂{x}ᵢ = Π_{{j ≤ k, j ≠ i}} {x}ⱼ for i ≤ k, else 0 (exact where elements are 0)",),
    category="scans",
    doc="running products along one axis (default −1); the gradient is exact where elements are zero",
    domain=Domain(0.5, 1.5),
    probes=calls([((5,),), ((3, 4),), ((2, 3, 3),)]) + calls([((3, 3),), ((3, 4),)], {"axis": 0}),
    symbolic=_identity_form,
    shape=SAME,
)


# ---- order ---------------------------------------------------------------------------------------


def _adjacent_gap(values: np.ndarray, axis: int) -> float:
    """The smallest gap between neighbours after sorting along ``axis`` (0 at a tie)."""
    s = np.sort(np.real(np.asarray(values)), axis=axis)
    gaps = np.diff(s, axis=axis)
    return float(np.min(gaps)) if gaps.size else math.inf


def _order(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """A stable argsort of the real part along ``axis`` (largest first when ``descending``)."""
    key = np.real(x)
    return np.argsort(-key if descending else key, axis=axis, kind="stable")


def _scatter_back(g: np.ndarray, index: np.ndarray, shape, axis: int) -> np.ndarray:
    """x̄ of x ↦ take_along_axis(x, index): each ḡ added back at the position it was taken from."""
    out = np.zeros(g.shape[:g.ndim - len(shape)] + tuple(shape), dtype=g.dtype)
    index = np.broadcast_to(index, g.shape)
    np.put_along_axis(out, index, g, axis=axis)  # the positions are distinct: put is an add
    return out


register(
    "sort",
    forward=lambda x, axis: np.take_along_axis(x, _order(x, _one("sort", axis), False), axis=axis[0]),
    args=("x",),
    params={"axis": -1},
    param_kinds=_AXIS,
    vjp=(lambda g, ans, x, axis: _scatter_back(g, _order(x, axis[0], False), x.shape, axis[0]),),
    jvp=(lambda t, ans, x, axis: np.take_along_axis(
        t, np.broadcast_to(_order(x, axis[0], False), t.shape), axis=axis[0]),),
    second_order=PIECEWISE_LINEAR,  # a permutation, constant between ties
    torch=lambda x, axis: torch.sort(x, dim=_one("sort", axis), stable=True).values,
    derivative=("∂sort({x})ₖ/∂{x}ᵢ = 1 if {x}ᵢ is the k-th smallest, else 0 (the gradient goes back "
                "to where each value came from)",),
    category="scans",
    doc="the values sorted ascending along one axis (default −1); ties are kinks",
    analytic=False,
    kink=lambda x, axis: _adjacent_gap(x, axis[0]),
    domain=REAL,
    probes=calls([((5,),), ((3, 4),), ((2, 3, 3),)]) + calls([((3, 3),), ((4, 3),)], {"axis": 0}),
    symbolic=_identity_form,
    shape=SAME,
)


def _topk_index(x: np.ndarray, k: int, axis: int) -> np.ndarray:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k <= x.shape[axis]:
        raise ValueError(f"topk needs 1 ≤ k ≤ {x.shape[axis]} (the length of the axis), not {k!r}")
    index = _order(x, axis, True)
    return np.take(index, np.arange(k), axis=axis)


def _topk_gap(x, k, axis) -> float:
    """Ties among the k largest or at the k-th place: the smallest gap among the k + 1 largest."""
    a = axis[0]
    top = -np.sort(-np.real(np.asarray(x)), axis=a)
    top = np.take(top, np.arange(min(k + 1, top.shape[a])), axis=a)
    gaps = -np.diff(top, axis=a)
    return float(np.min(gaps)) if gaps.size else math.inf


register(
    "topk",
    forward=lambda x, k, axis: np.take_along_axis(x, _topk_index(x, k, _one("topk", axis)), axis=axis[0]),
    args=("x",),
    params={"k": 1, "axis": -1},
    param_kinds=_AXIS,
    vjp=(lambda g, ans, x, k, axis: _scatter_back(g, _topk_index(x, k, axis[0]), x.shape, axis[0]),),
    jvp=(lambda t, ans, x, k, axis: np.take_along_axis(
        t, np.broadcast_to(_topk_index(x, k, axis[0]), t.shape[:t.ndim - x.ndim] + ans.shape), axis=axis[0]),),
    second_order=PIECEWISE_LINEAR,
    torch=lambda x, k, axis: torch.topk(x, k, dim=_one("topk", axis)).values,
    derivative=("∂topk({x})ₖ/∂{x}ᵢ = 1 if {x}ᵢ is the k-th largest, else 0",),
    category="scans",
    doc="the k largest values along one axis (default −1), largest first (torch.topk's values); "
        "ties among them or at the k-th place are kinks",
    analytic=False,
    kink=_topk_gap,
    domain=REAL,
    probes=calls([((5,),), ((3, 4),), ((2, 3, 3),)], {"k": 2}) + calls([((3, 3),)], {"k": 3, "axis": 0}),
    symbolic=_identity_form,
    shape=lambda x, k, axis: tuple(x[:len(x) + axis[0]]) + (int(k),) + tuple(x[len(x) + axis[0] + 1:]),
)


# ---- movers: roll, tril, triu, tile, repeat, swapaxes, moveaxis --------------------------------

register(
    "roll",
    forward=lambda x, shift, axis: np.roll(x, shift, axis=_one("roll", axis)),
    args=("x",),
    params={"shift": 1, "axis": -1},
    param_kinds=_AXIS,
    vjp=(lambda g, ans, x, shift, axis: np.roll(g, -shift, axis=axis[0]),),  # rolled back
    jvp=(lambda t, ans, x, shift, axis: np.roll(t, shift, axis=axis[0]),),
    second_order=LINEAR,
    torch=lambda x, shift, axis: torch.roll(x, shift, dims=_one("roll", axis)),
    derivative=("∂roll({x})/∂{x}: a permutation; x̄ is ḡ rolled back by −shift",),
    category="shape",
    doc="the elements shifted by shift positions along one axis (default −1), wrapping around",
    domain=REAL,
    probes=calls([((5,),), ((3, 4),), ((2, 3, 3),)], {"shift": 2}) + calls([((3, 3),)], {"shift": -1, "axis": 0}),
    symbolic=_identity_form,
    shape=SAME,
)


def _triangle(name: str, np_op, torch_op, keep: str, keeps_one_element) -> None:
    def mask(x: np.ndarray, k: int) -> np.ndarray:
        return np_op(np.ones(x.shape[-2:]), k)

    def forward(x, k):
        if np.ndim(x) < 2:
            raise ValueError(f"{name} needs a matrix (or a stack of them), not shape {np.shape(x)}")
        return np_op(x, k)

    register(
        name,
        forward=forward,
        args=("x",),
        params={"k": 0},
        vjp=(lambda g, ans, x, k: g * mask(x, k),),
        jvp=(lambda t, ans, x, k: t * mask(x, k),),
        second_order=LINEAR,
        torch=lambda x, k: torch_op(x, diagonal=k),
        derivative=(f"∂{name}({{x}})ᵢⱼ/∂{{x}}ᵢⱼ = 1 {keep}, else 0",),
        category="shape",
        doc=f"the matrix with the elements {keep} kept and the others zero (k shifts the diagonal)",
        domain=REAL,
        probes=calls([((3, 3),), ((3, 4),), ((2, 3, 3),)]) + calls([((3, 3),)], {"k": 1}) + calls([((4, 3),)], {"k": -1}),
        # a 1×1 matrix keeps its element when the k-th diagonal includes the main one
        symbolic=lambda sp, x, k=0, **_: x if keeps_one_element(k) else sp.Integer(0),
        shape=SAME,
    )


_triangle("tril", np.tril, torch.tril, "on and below the k-th diagonal (j ≤ i + k)", lambda k: k >= 0)
_triangle("triu", np.triu, torch.triu, "on and above the k-th diagonal (j ≥ i + k)", lambda k: k <= 0)


def _reps(x: np.ndarray, reps) -> tuple[int, ...]:
    reps = tuple(reps) if isinstance(reps, (tuple, list)) else (reps,)
    if not reps or len(reps) > np.ndim(x) or any(not isinstance(r, (int, np.integer)) or r < 1 for r in reps):
        raise ValueError(f"reps must be 1 to {np.ndim(x)} positive ints (one per last axis), not {reps!r}")
    return tuple(int(r) for r in reps)


def _tile_shape(x, reps):
    """x's shape with its last len(reps) axes multiplied by reps (numpy.tile)."""
    r = _reps(ghost(x), reps)
    lead = len(x) - len(r)
    return tuple(x[:lead]) + tuple(n * k for n, k in zip(x[lead:], r))


def _tile_vjp(g, ans, x, reps):
    # split every tiled axis n·r into (r, n) and sum over the copies r
    reps = _reps(x, reps)
    lead = g.ndim - len(reps)
    shape = g.shape[:lead] + tuple(v for r, n in zip(reps, x.shape[-len(reps):]) for v in (r, n))
    return g.reshape(shape).sum(axis=tuple(lead + 2 * i for i in range(len(reps))))


register(
    "tile",
    forward=lambda x, reps: np.tile(x, _reps(x, reps)),
    args=("x",),
    params={"reps": 2},
    vjp=(_tile_vjp,),
    jvp=(lambda t, ans, x, reps: np.tile(t, _reps(x, reps)),),
    second_order=LINEAR,
    torch=lambda x, reps: torch.tile(x, tuple(reps) if isinstance(reps, (tuple, list)) else (reps,)),
    derivative=("∂tile({x})/∂{x}: every copy passes its gradient back; x̄ is the sum of ḡ over the copies",),
    category="shape",
    doc="x repeated as a whole reps times along its last len(reps) axes (numpy.tile; reps at most x's rank)",
    domain=REAL,
    probes=calls([((3,),), ((3, 3),)], {"reps": 2}) + calls([((3, 3),), ((2, 3, 3),)], {"reps": (2, 1)})
    + calls([((2, 3),)], {"reps": (2, 3)}),
    symbolic=lambda sp, x, **_: x,
    shape=_tile_shape,
)


def _repeat_vjp(g, ans, x, repeats, axis):
    a = g.ndim + axis[0]
    shape = g.shape[:a] + (x.shape[axis[0]], repeats) + g.shape[a + 1:]
    return g.reshape(shape).sum(axis=a + 1)


def _repeats(repeats) -> int:
    if not isinstance(repeats, (int, np.integer)) or isinstance(repeats, bool) or repeats < 1:
        raise ValueError(f"repeats must be a positive int, not {repeats!r}")
    return int(repeats)


register(
    "repeat",
    forward=lambda x, repeats, axis: np.repeat(x, _repeats(repeats), axis=_one("repeat", axis)),
    args=("x",),
    params={"repeats": 2, "axis": -1},
    param_kinds=_AXIS,
    vjp=(_repeat_vjp,),
    jvp=(lambda t, ans, x, repeats, axis: np.repeat(t, repeats, axis=axis[0]),),
    second_order=LINEAR,
    torch=lambda x, repeats, axis: torch.repeat_interleave(x, repeats, dim=_one("repeat", axis)),
    derivative=("∂repeat({x})/∂{x}: each element is copied repeats times; x̄ sums ḡ over its copies",),
    category="shape",
    doc="each element repeated repeats times along one axis (default −1; numpy.repeat, torch.repeat_interleave)",
    domain=REAL,
    probes=calls([((3,),), ((3, 3),), ((2, 3, 3),)], {"repeats": 2}) + calls([((3, 4),)], {"repeats": 3, "axis": 0}),
    symbolic=lambda sp, x, **_: x,
    shape=lambda x, repeats, axis: tuple(n * _repeats(repeats) if i == len(x) + _one("repeat", axis) else n
                                         for i, n in enumerate(x)),
)


def _single(name: str, axis: tuple[int, ...]) -> int:
    return _one(name, axis)


register(
    "swapaxes",
    forward=lambda x, axis1, axis2: np.swapaxes(x, _single("swapaxes", axis1), _single("swapaxes", axis2)),
    args=("x",),
    params={"axis1": -2, "axis2": -1},
    param_kinds={"axis1": "axis", "axis2": "axis"},
    vjp=(lambda g, ans, x, axis1, axis2: np.swapaxes(g, axis1[0], axis2[0]),),  # its own inverse
    jvp=(lambda t, ans, x, axis1, axis2: np.swapaxes(t, axis1[0], axis2[0]),),
    second_order=LINEAR,
    torch=lambda x, axis1, axis2: torch.swapaxes(x, _single("swapaxes", axis1), _single("swapaxes", axis2)),
    derivative=("∂swapaxes({x})/∂{x}: a permutation of the elements; x̄ is ḡ with the axes swapped back",),
    category="shape",
    doc="x with two axes exchanged (default the last two: a batched matrix transpose)",
    domain=REAL,
    probes=calls([((3, 4),), ((2, 3, 3),), ((3, 3),)]) + calls([((2, 3, 4),)], {"axis1": 0, "axis2": 2}),
    symbolic=_identity_form,
    shape=VIEW,
)


def _axes(name: str, axes: tuple[int, ...], other: tuple[int, ...]) -> None:
    if len(axes) != len(other):
        raise ValueError(f"{name}: source and destination name {len(axes)} and {len(other)} axes")


register(
    "moveaxis",
    forward=lambda x, source, destination: (_axes("moveaxis", source, destination),
                                            np.moveaxis(x, source, destination))[1],
    args=("x",),
    params={"source": 0, "destination": -1},
    param_kinds={"source": "axis", "destination": "axis"},
    vjp=(lambda g, ans, x, source, destination: np.moveaxis(g, destination, source),),  # moved back
    jvp=(lambda t, ans, x, source, destination: np.moveaxis(t, source, destination),),
    second_order=LINEAR,
    torch=lambda x, source, destination: torch.movedim(x, source, destination),
    derivative=("∂moveaxis({x})/∂{x}: a permutation of the elements; x̄ is ḡ with the axes moved back",),
    category="shape",
    doc="x with the source axes moved to the destination positions (numpy.moveaxis, torch.movedim)",
    domain=REAL,
    probes=calls([((3, 4),), ((2, 3, 4),), ((3, 3, 2),)]) + calls([((2, 3, 3),)], {"source": (0, 1), "destination": (2, 0)}),
    symbolic=_identity_form,
    shape=VIEW,
)
