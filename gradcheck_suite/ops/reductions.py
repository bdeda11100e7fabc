"""Reductions over axes (``axis`` None/int/tuple, ``keepdims``).

``axis`` arrives normalised to a tuple of negative axes (see the registry header), so
the rules never see the batch axes in front.  ``ans`` and ``x`` are unbatched in the
rules; ``g`` and ``t`` may carry leading batch axes, which numpy broadcasting carries
through every rule below.

Torch reduces *everything* when given ``dim=()``, numpy reduces nothing; the torch
counterparts therefore go through :func:`_torch_reduce`, which turns "no axis" into a
reduction over one appended axis of size 1 (the numpy meaning).

Forwards that complex step uses (``analytic=True``) are written to stay holomorphic:
squares are ``x·x`` (never ``|x|²``) and the stabilising shift of logsumexp is the max
of the *real* part, held constant.
"""
from __future__ import annotations

import math

import numpy as np
from .lazy_torch import torch
from .registry import LINEAR, PIECEWISE_LINEAR, REAL, Domain, calls, reduced_shape, register


__all__: list[str] = []  # this module only registers primitives


def _keep(g: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Re-insert the reduced axes into ``g`` (size 1) so that it broadcasts against the input."""
    return g if keepdims else np.expand_dims(g, axis)


def _count(x: np.ndarray, axis: tuple[int, ...]) -> int:
    """How many elements each reduction combines (1 for an empty axis tuple)."""
    return math.prod(x.shape[a] for a in axis)


def _spread(g: np.ndarray, ans: np.ndarray, x: np.ndarray, axis: tuple[int, ...], keepdims: bool,
            local: np.ndarray) -> np.ndarray:
    """VJP of a reduction whose local derivative ``∂out/∂xᵢ`` is ``local`` (x's shape)."""
    batch = g.shape[: g.ndim - ans.ndim]
    return np.broadcast_to(_keep(g, axis, keepdims) * local, batch + x.shape)


def _contract(t: np.ndarray, axis: tuple[int, ...], keepdims: bool, local: np.ndarray) -> np.ndarray:
    """JVP of a reduction whose local derivative is ``local``: Σᵢ (∂out/∂xᵢ)·tᵢ."""
    return np.sum(t * local, axis=axis, keepdims=keepdims)


def _torch_reduce(fn, x: torch.Tensor, axis: tuple[int, ...], keepdims: bool, **kw) -> torch.Tensor:
    """``fn(x, dim=axis, keepdim=keepdims)`` with numpy's meaning of an empty ``axis``."""
    if not axis:  # reduce over one appended axis of size 1, i.e. over nothing
        return fn(x.unsqueeze(-1), dim=(-1,), keepdim=False, **kw)
    return fn(x, dim=tuple(axis), keepdim=keepdims, **kw)


def _grouped(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """``x`` with the reduced axes moved to the end and flattened into one axis."""
    k = len(axis)
    moved = np.moveaxis(x, axis, tuple(range(-k, 0)))
    return moved.reshape(moved.shape[: moved.ndim - k] + (_count(x, axis),))


#: the probes of a reduction: whole arrays, one axis, several axes, with and without keepdims
REDUCE_CALLS = (calls([((5,),), ((3, 4),)]) + calls([((3, 4),), ((2, 3, 3),)], {"axis": 0})
                + calls([((3, 4),)], {"axis": -1, "keepdims": True}) + calls([((3, 3),)], {"axis": 1})
                + calls([((3, 3),)], {"axis": 0, "keepdims": True}) + calls([((2, 3, 4),)], {"axis": (0, 2)})
                + calls([((2, 3, 4),)], {"axis": 1, "keepdims": True}))


# ---- sums and means ---------------------------------------------------------------

register(
    "sum",
    forward=lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
    args=("x",),
    params={"axis": None, "keepdims": False},
    param_kinds={"axis": "axis"},
    vjp=(lambda g, ans, x, axis, keepdims: np.broadcast_to(
        _keep(g, axis, keepdims), g.shape[: g.ndim - ans.ndim] + x.shape),),  # d/dx_i Σx = 1
    jvp=(lambda t, ans, x, axis, keepdims: np.sum(t, axis=axis, keepdims=keepdims),),
    second_order=LINEAR,
    torch=lambda x, axis, keepdims: torch.sum(x, dim=axis, keepdim=keepdims) if axis else x * 1,
    derivative=("∂Σ{x}/∂{x}ᵢ = 1",),
    category="reductions",
    doc="sum of the elements over the given axes",
    domain=REAL,
    probes=REDUCE_CALLS,
    symbolic=lambda sp, x, **_: x,
    taught_derivative=lambda sp, out, x, **_: (1,),  # of one element: the identity
    shape=reduced_shape,
)

register(
    "mean",
    forward=lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims),
    args=("x",),
    params={"axis": None, "keepdims": False},
    param_kinds={"axis": "axis"},
    # d/dx_i (Σx)/n = 1/n
    vjp=(lambda g, ans, x, axis, keepdims: _spread(g, ans, x, axis, keepdims,
                                                    np.full(x.shape, 1.0 / _count(x, axis))),),
    jvp=(lambda t, ans, x, axis, keepdims: np.sum(t, axis=axis, keepdims=keepdims) / _count(x, axis),),
    second_order=LINEAR,
    torch=lambda x, axis, keepdims: _torch_reduce(torch.mean, x, axis, keepdims),
    derivative=("∂mean({x})/∂{x}ᵢ = 1/n",),
    category="reductions",
    doc="arithmetic mean over the given axes",
    domain=REAL,
    probes=REDUCE_CALLS,
    symbolic=lambda sp, x, **_: x,
    taught_derivative=lambda sp, out, x, **_: (1,),  # of one element: the identity
    shape=reduced_shape,
)


# ---- products ---------------------------------------------------------------------


def _exclusive_products(flat: np.ndarray) -> np.ndarray:
    """Π_{j≠i} flatⱼ along the last axis, from prefix and suffix products (exact with zeros)."""
    one = np.ones_like(flat[..., :1])
    before = np.cumprod(np.concatenate([one, flat[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([one, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return before * after


def _ungrouped(flat: np.ndarray, like: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """Undo :func:`_grouped`: ``flat`` (…, n) back to the shape of ``like`` (leading batch axes kept)."""
    k = len(axis)
    moved_shape = np.moveaxis(like, axis, tuple(range(-k, 0))).shape
    return np.moveaxis(flat.reshape(moved_shape), tuple(range(-k, 0)), axis)


def _prod_local(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """∂Πx/∂xᵢ = Π_{j≠i} xⱼ, from exclusive prefix and suffix products (exact with zeros)."""
    return _ungrouped(_exclusive_products(_grouped(x, axis)), x, axis)


def _prod_local_tangent(x: np.ndarray, dx: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """How ∂Πx/∂xᵢ changes when x moves by dx (leading batch axes): Σ_{l≠i} dxₗ·Π_{j≠i,l} xⱼ.

    Row i of the pair table is x with xᵢ := 1; its exclusive products are Π_{j≠i,l} xⱼ
    (exact with zeros, no division); the diagonal l = i is not a second derivative: 0.
    """
    flat = _grouped(x, axis)
    n = flat.shape[-1]
    rows = np.array(np.broadcast_to(flat[..., None, :], flat.shape + (n,)))
    rows[..., np.arange(n), np.arange(n)] = 1
    pairs = _exclusive_products(rows) * (1 - np.eye(n))  # [..., i, l] = ∂²Πx/∂xᵢ∂xₗ
    return _ungrouped(np.einsum("...il,...l->...i", pairs, _grouped(dx, axis)), dx, axis)


register(
    "prod",
    forward=lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims),
    args=("x",),
    params={"axis": None, "keepdims": False},
    param_kinds={"axis": "axis"},
    vjp=(lambda g, ans, x, axis, keepdims: _spread(g, ans, x, axis, keepdims, _prod_local(x, axis)),),
    jvp=(lambda t, ans, x, axis, keepdims: _contract(t, axis, keepdims, _prod_local(x, axis)),),
    # the VJP g·Π_{j≠i} xⱼ when x moves: g·Σ_{l≠i} ẋₗ Π_{j≠i,l} xⱼ
    second_order=(lambda g, ans, dans, dargs, x, axis, keepdims: _keep(g, axis, keepdims)
                  * _prod_local_tangent(x, dargs[0], axis),),
    torch=lambda x, axis, keepdims: _torch_prod(x, axis, keepdims),
    derivative=("∂Π{x}/∂{x}ᵢ = Π_{{j≠i}} {x}ⱼ",),
    category="reductions",
    doc="product of the elements over the given axes (gradient exact where elements are 0)",
    domain=Domain(0.5, 1.5),
    probes=REDUCE_CALLS,
    symbolic=lambda sp, x, **_: x,
    taught_derivative=lambda sp, out, x, **_: (1,),  # of one element: the identity
    shape=reduced_shape,
)


def _torch_prod(x: torch.Tensor, axis: tuple[int, ...], keepdims: bool) -> torch.Tensor:
    """torch.prod reduces one dim at a time; an empty axis tuple reduces nothing."""
    out = x
    for a in sorted(axis):  # negative axes, most negative first, so later ones stay valid
        out = torch.prod(out, dim=a, keepdim=True)
    return out if keepdims or not axis else out.squeeze(axis)


# ---- extrema (amax / amin: ties share the gradient evenly, as in torch) ----------------


def _extremum_local(x: np.ndarray, ans: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """1/k on each of the k elements equal to the extremum of their group, 0 elsewhere."""
    hit = (x == _keep(ans, axis, keepdims)).astype(x.dtype)
    return hit / np.sum(hit, axis=axis, keepdims=True)


def _extremum_gap(x: np.ndarray, axis: tuple[int, ...], top: bool) -> float:
    """Smallest gap between the extremum and the runner-up of a group (0 at a tie)."""
    flat = np.sort(_grouped(np.asarray(x).real, axis), axis=-1)
    if flat.shape[-1] < 2 or flat.size == 0:
        return math.inf
    gap = flat[..., -1] - flat[..., -2] if top else flat[..., 1] - flat[..., 0]
    return float(np.min(gap))


for _name, _np, _torch, _top, _word in (("max", np.max, torch.amax, True, "largest"),
                                        ("min", np.min, torch.amin, False, "smallest")):
    register(
        _name,
        forward=lambda x, axis, keepdims, _np=_np: _np(x, axis=axis, keepdims=keepdims),
        args=("x",),
        params={"axis": None, "keepdims": False},
        param_kinds={"axis": "axis"},
        vjp=(lambda g, ans, x, axis, keepdims: _spread(g, ans, x, axis, keepdims,
                                                        _extremum_local(x, ans, axis, keepdims)),),
        jvp=(lambda t, ans, x, axis, keepdims: _contract(t, axis, keepdims,
                                                          _extremum_local(x, ans, axis, keepdims)),),
        second_order=PIECEWISE_LINEAR,  # the tied extremal elements are constant between ties
        torch=lambda x, axis, keepdims, _torch=_torch: _torch_reduce(_torch, x, axis, keepdims),
        derivative=(f"∂{_name}({{x}})/∂{{x}}ᵢ = 1/k if {{x}}ᵢ is one of the k tied {_word} elements, else 0",),
        category="reductions",
        doc=f"{_word} element over the given axes (ties share the gradient evenly, like torch.a{_name})",
        analytic=False,
        kink=lambda x, axis, keepdims, _top=_top: _extremum_gap(x, axis, _top),
        domain=REAL,
        probes=REDUCE_CALLS,
        symbolic=lambda sp, x, **_: x,
        taught_derivative=lambda sp, out, x, **_: (1,),  # of one element: the identity
        shape=reduced_shape,
    )
del _name, _np, _torch, _top, _word


# ---- logsumexp ----------------------------------------------------------------------


def _logsumexp(x: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """log Σ exp(x), shifted by the max of the real part (a constant: stays holomorphic)."""
    shift = np.max(np.real(x), axis=axis, keepdims=True) if x.size else np.zeros(())
    shift = np.where(np.isfinite(shift), shift, 0.0)
    out = shift + np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


register(
    "logsumexp",
    forward=_logsumexp,
    args=("x",),
    params={"axis": None, "keepdims": False},
    param_kinds={"axis": "axis"},
    # d/dx_i log Σ exp(x) = exp(x_i − out) = softmax(x)_i
    vjp=(lambda g, ans, x, axis, keepdims: _spread(g, ans, x, axis, keepdims,
                                                    np.exp(x - _keep(ans, axis, keepdims))),),
    jvp=(lambda t, ans, x, axis, keepdims: _contract(t, axis, keepdims, np.exp(x - _keep(ans, axis, keepdims))),),
    # the VJP g·s with s = e^(x − out) when x and out move: g·s·(ẋ − ȯut)
    second_order=(lambda g, ans, dans, dargs, x, axis, keepdims: _keep(g, axis, keepdims)
                  * np.exp(x - _keep(ans, axis, keepdims)) * (dargs[0] - _keep(dans, axis, keepdims)),),
    torch=lambda x, axis, keepdims: _torch_reduce(torch.logsumexp, x, axis, keepdims),
    derivative=("∂logsumexp({x})/∂{x}ᵢ = exp({x}ᵢ − {out}) = softmax({x})ᵢ",),
    category="reductions",
    doc="log of the sum of exponentials over the given axes (computed stably)",
    domain=REAL,
    probes=REDUCE_CALLS,
    symbolic=lambda sp, x, **_: x,
    taught_derivative=lambda sp, out, x, **_: (1,),  # of one element: the identity
    shape=reduced_shape,
)


# ---- spread: var, std, norm -----------------------------------------------------------


def _centred(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    return x - np.mean(x, axis=axis, keepdims=True)


def _var(x: np.ndarray, axis: tuple[int, ...], keepdims: bool, ddof: int) -> np.ndarray:
    """Σ(x − mean)² / (n − ddof), with (x − mean)·(x − mean) so that it stays holomorphic."""
    d = _centred(x, axis)
    return np.sum(d * d, axis=axis, keepdims=keepdims) / (_count(x, axis) - ddof)


def _var_local(x: np.ndarray, axis: tuple[int, ...], ddof: int) -> np.ndarray:
    # d/dx_i Σ(x − mean)²/(n − ddof) = 2(x_i − mean)/(n − ddof)  (the mean's own term sums to 0)
    return 2.0 * _centred(x, axis) / (_count(x, axis) - ddof)


def _std_local(x: np.ndarray, ans: np.ndarray, axis: tuple[int, ...], keepdims: bool, ddof: int) -> np.ndarray:
    # d/dx_i √var = (x_i − mean)/((n − ddof)·std); 0 where std = 0 (torch's subgradient)
    std = _keep(ans, axis, keepdims)
    safe = np.where(std == 0, 1.0, std)
    return np.where(std == 0, 0.0, _centred(x, axis) / ((_count(x, axis) - ddof) * safe))


def _moved_local(g, ans, dans, x, dx, axis, keepdims, ddof, centred: bool):
    """The second-order rule of std (``centred``) and norm: how ``g·c/(k·s)`` changes when x and s = out
    move, with c = x − mean (std) or x (norm), k = n − ddof (std) or 1: ``g·(ċ/s − c·ṡ/s²)/k``, 0 where s = 0."""
    s_ = _keep(ans, axis, keepdims)
    ds = _keep(dans, axis, keepdims)
    safe = np.where(s_ == 0, 1.0, s_)
    c, dc = (_centred(x, axis), _centred(dx, axis)) if centred else (x, dx)
    k = (_count(x, axis) - ddof) if centred else 1
    return np.where(s_ == 0, 0.0, _keep(g, axis, keepdims) * (dc / safe - c * ds / (safe * safe)) / k)


def _torch_var(x: torch.Tensor, axis: tuple[int, ...], keepdims: bool, ddof: int) -> torch.Tensor:
    return _torch_reduce(torch.var, x, axis, keepdims, correction=ddof)


def _spread_kink(x: np.ndarray, axis: tuple[int, ...], **_: object) -> float:
    """Distance to the set where a group is constant (std = 0): min over groups of ‖x − mean‖."""
    if np.size(x) == 0:
        return math.inf
    d = np.real(_centred(np.asarray(x), axis))
    return float(np.min(np.sqrt(np.sum(d * d, axis=axis))))


register(
    "var",
    forward=_var,
    args=("x",),
    params={"axis": None, "keepdims": False, "ddof": 0},
    param_kinds={"axis": "axis"},
    vjp=(lambda g, ans, x, axis, keepdims, ddof: _spread(g, ans, x, axis, keepdims, _var_local(x, axis, ddof)),),
    jvp=(lambda t, ans, x, axis, keepdims, ddof: _contract(t, axis, keepdims, _var_local(x, axis, ddof)),),
    # the VJP g·2(x − mean)/(n − ddof) is linear in x: it moves by g·2(ẋ − mean ẋ)/(n − ddof)
    second_order=(lambda g, ans, dans, dargs, x, axis, keepdims, ddof: _keep(g, axis, keepdims)
                  * _var_local(dargs[0], axis, ddof),),
    torch=_torch_var,
    derivative=("∂var({x})/∂{x}ᵢ = 2({x}ᵢ − mean({x}))/(n − ddof)",),
    category="reductions",
    doc="variance over the given axes, Σ(x − mean)²/(n − ddof)",
    domain=REAL,
    probes=REDUCE_CALLS + calls([((3, 4),)], {"axis": 1, "ddof": 1}) + calls([((5,),)], {"ddof": 1}),
    symbolic="a variance of one element is 0 (or undefined with ddof=1)",
    shape=reduced_shape,
)

register(
    "std",
    forward=lambda x, axis, keepdims, ddof: np.sqrt(_var(x, axis, keepdims, ddof)),
    args=("x",),
    params={"axis": None, "keepdims": False, "ddof": 0},
    param_kinds={"axis": "axis"},
    vjp=(lambda g, ans, x, axis, keepdims, ddof: _spread(g, ans, x, axis, keepdims,
                                                          _std_local(x, ans, axis, keepdims, ddof)),),
    jvp=(lambda t, ans, x, axis, keepdims, ddof: _contract(t, axis, keepdims,
                                                            _std_local(x, ans, axis, keepdims, ddof)),),
    second_order=(lambda g, ans, dans, dargs, x, axis, keepdims, ddof: _moved_local(
        g, ans, dans, x, dargs[0], axis, keepdims, ddof, centred=True),),
    torch=lambda x, axis, keepdims, ddof: _torch_reduce(torch.std, x, axis, keepdims, correction=ddof),
    derivative=("∂std({x})/∂{x}ᵢ = ({x}ᵢ − mean({x}))/((n − ddof)·{out}), 0 where {out} = 0",),
    category="reductions",
    doc="standard deviation over the given axes, √var (kink where it is 0)",
    kink=_spread_kink,
    domain=REAL,
    probes=REDUCE_CALLS + calls([((3, 4),)], {"axis": 1, "ddof": 1}) + calls([((5,),)], {"ddof": 1}),
    symbolic="a standard deviation of one element is 0, at its kink",
    shape=reduced_shape,
)


def _norm_local(x: np.ndarray, ans: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
    # d/dx_i √Σx² = x_i/‖x‖; 0 at the zero vector (torch's subgradient)
    n = _keep(ans, axis, keepdims)
    return np.where(n == 0, 0.0, x / np.where(n == 0, 1.0, n))


def _norm_kink(x: np.ndarray, axis: tuple[int, ...], **_: object) -> float:
    """Distance to the kink set (a group that is the zero vector): the smallest group norm."""
    if np.size(x) == 0:
        return math.inf
    r = np.real(np.asarray(x))
    return float(np.min(np.sqrt(np.sum(r * r, axis=axis))))


def _norm(x: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """s·√Σ(x/s)·(x/s) with s the largest |Re x| of the group (a constant: no under/overflow).

    x·x rather than |x|² keeps it holomorphic, so complex step is allowed.
    """
    scale = np.max(np.abs(np.real(x)), axis=axis, keepdims=True) if x.size else np.ones(())
    scale = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
    y = x / scale
    out = scale * np.sqrt(np.sum(y * y, axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


register(
    "norm",
    forward=_norm,
    args=("x",),
    params={"axis": None, "keepdims": False},
    param_kinds={"axis": "axis"},
    vjp=(lambda g, ans, x, axis, keepdims: _spread(g, ans, x, axis, keepdims,
                                                    _norm_local(x, ans, axis, keepdims)),),
    jvp=(lambda t, ans, x, axis, keepdims: _contract(t, axis, keepdims, _norm_local(x, ans, axis, keepdims)),),
    second_order=(lambda g, ans, dans, dargs, x, axis, keepdims: _moved_local(
        g, ans, dans, x, dargs[0], axis, keepdims, 0, centred=False),),
    torch=lambda x, axis, keepdims: _torch_reduce(torch.linalg.vector_norm, x, axis, keepdims),
    derivative=("∂‖{x}‖/∂{x}ᵢ = {x}ᵢ/‖{x}‖, 0 at {x} = 0",),
    category="reductions",
    doc="Euclidean (2-, Frobenius) norm over the given axes, √Σx²",
    kink=_norm_kink,
    domain=REAL,
    probes=REDUCE_CALLS,
    symbolic=lambda sp, x, **_: sp.Abs(x),
    shape=reduced_shape,
)
