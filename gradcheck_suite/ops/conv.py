"""Convolution and pooling: conv1d, conv2d, conv_transpose2d, max_pool2d, avg_pool2d, pad.

Layouts are torch's: an input is ``(N, C, L)`` or ``(N, C, H, W)``, a convolution weight
``(O, C/groups, k…)``, a transposed convolution's weight ``(C, O/groups, k…)``.  Every
array may carry leading batch axes in front of that core (see the registry header);
the helpers index from the end and ``einsum``'s ``...`` broadcasts the batch axes.

Three kernels carry the whole section, for ``nd`` = 1 or 2 spatial axes:

* :func:`_correlate` — the forward convolution (a cross-correlation, as in torch);
* :func:`_correlate_input_vjp` — its transpose in the input: the gradient patches
  scattered back (``+=``, overlapping windows add) into the padded input, then cropped;
  it is also the forward of ``conv_transpose2d``;
* :func:`_correlate_weight_vjp` — its transpose in the weight: the cotangent contracted
  with the input's patches over N and the output positions.

A convolution is bilinear, so every JVP is the forward with one argument replaced by
its tangent.  Pooling windows are read by ``numpy.lib.stride_tricks.sliding_window_view``.
max_pool2d sends the gradient of a window to the *first* largest element (torch's
argmax); a tie in a window is a kink.
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .lazy_torch import F
from .registry import LINEAR, PIECEWISE_LINEAR, REAL, calls, ghost, register

__all__: list[str] = []  # this module only registers primitives

_LETTERS = "hw"  # the spatial axes in einsum subscripts (nd ≤ 2)


def _tuple(value: Any, nd: int, name: str) -> tuple[int, ...]:
    """An int or a tuple of ``nd`` ints (stride, padding, dilation, kernel size)."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,) * nd
    if len(items) != nd or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items):
        raise ValueError(f"{name} must be an int or {nd} ints, not {value!r}")
    return tuple(int(v) for v in items)


def _geometry(nd: int, kernel: tuple[int, ...], stride, padding, dilation):
    s, p, d = _tuple(stride, nd, "stride"), _tuple(padding, nd, "padding"), _tuple(dilation, nd, "dilation")
    if min(s) < 1 or min(d) < 1 or min(p) < 0:
        raise ValueError(f"stride and dilation must be ≥ 1 and padding ≥ 0 (stride {s}, dilation {d}, padding {p})")
    return s, p, d


def _pad_spatial(x: np.ndarray, padding: tuple[int, ...], value: float = 0.0) -> np.ndarray:
    nd = len(padding)
    return np.pad(x, [(0, 0)] * (x.ndim - nd) + [(q, q) for q in padding], constant_values=value)


def _patches(xp: np.ndarray, kernel, stride, dilation) -> np.ndarray:
    """(..., C, out…, k…): the windows of the padded input, strided and dilated."""
    nd = len(kernel)
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(e > n for e, n in zip(extent, xp.shape[-nd:])):
        raise ValueError(f"the kernel (extent {extent}) is larger than the padded input {xp.shape[-nd:]}")
    win = sliding_window_view(xp, extent, axis=tuple(range(-nd, 0)))
    index = (Ellipsis,) + tuple(slice(None, None, s) for s in stride) + tuple(slice(None, None, d) for d in dilation)
    return win[index]


def _out_size(n: int, k: int, s: int, p: int, d: int) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _grouped(a: np.ndarray, axis_from_end: int, groups: int) -> np.ndarray:
    """Split the axis ``axis_from_end`` (negative) of ``a`` into (groups, size/groups)."""
    n = a.shape[axis_from_end]
    if n % groups:
        raise ValueError(f"{n} channels cannot be split into {groups} groups")
    cut = a.ndim + axis_from_end
    return a.reshape(a.shape[:cut] + (groups, n // groups) + a.shape[cut + 1:])


def _check(x: np.ndarray, w: np.ndarray, nd: int, groups: int, what: str) -> None:
    if x.ndim < nd + 2 or w.ndim < nd + 2:
        raise ValueError(f"{what} needs an input (N, C, {'L' if nd == 1 else 'H, W'}) and a weight "
                         f"(O, C/groups, {'k' if nd == 1 else 'kH, kW'}), not shapes {x.shape} and {w.shape}")
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"groups must be a positive int, not {groups!r}")


def _correlate(x, w, stride, padding, dilation, groups, nd):
    """The convolution (cross-correlation) of x (..., N, C, sp…) with w (..., O, C/g, k…)."""
    _check(x, w, nd, groups, f"conv{nd}d")
    kernel = w.shape[-nd:]
    s, p, d = _geometry(nd, kernel, stride, padding, dilation)
    if x.shape[-nd - 1] != w.shape[-nd - 1] * groups:
        raise ValueError(f"the input has {x.shape[-nd - 1]} channels, the weight expects "
                         f"{w.shape[-nd - 1]} × {groups} groups")
    cols = _grouped(_patches(_pad_spatial(x, p), kernel, s, d), -(2 * nd + 1), groups)  # ..., N, g, c, out…, k…
    wg = _grouped(w, -(nd + 2), groups)  # ..., g, o, c, k…
    sp, ks = _LETTERS[:nd], "ij"[:nd]
    out = np.einsum(f"...ngc{sp}{ks},...goc{ks}->...ngo{sp}", cols, wg)
    return out.reshape(out.shape[:-(nd + 2)] + (-1,) + out.shape[-nd:])


def _correlate_input_vjp(g, w, in_shape, stride, padding, dilation, groups, nd):
    """x̄ of the convolution: ``g`` (..., N, O, out…) through the weight, scattered into x's shape."""
    kernel = w.shape[-nd:]
    s, p, d = _geometry(nd, kernel, stride, padding, dilation)
    gg = _grouped(g, -(nd + 1), groups)  # ..., N, g, o, out…
    wg = _grouped(w, -(nd + 2), groups)  # ..., g, o, c, k…
    sp, ks = _LETTERS[:nd], "ij"[:nd]
    cols = np.einsum(f"...ngo{sp},...goc{ks}->...ngc{sp}{ks}", gg, wg)  # ..., N, g, c, out…, k…
    cols = cols.reshape(cols.shape[:-(2 * nd + 2)] + (-1,) + cols.shape[-2 * nd:])  # ..., N, C, out…, k…
    out = g.shape[-nd:]
    padded = tuple(n + 2 * q for n, q in zip(in_shape[-nd:], p))
    grad = np.zeros(cols.shape[:-2 * nd] + padded, dtype=np.result_type(g, w))
    for offset in itertools.product(*(range(k) for k in kernel)):
        # each kernel element k touches the positions k·d + s·(0 … out−1)
        index = (Ellipsis,) + tuple(slice(k * dd, k * dd + ss * (o - 1) + 1, ss)
                                    for k, dd, ss, o in zip(offset, d, s, out))
        grad[index] += cols[(Ellipsis,) + (slice(None),) * nd + offset]
    crop = (Ellipsis,) + tuple(slice(q, q + n) for q, n in zip(p, in_shape[-nd:]))
    return grad[crop]


def _correlate_weight_vjp(g, x, w_shape, stride, padding, dilation, groups, nd):
    """w̄ of the convolution: ``g`` (..., N, O, out…) against the input's patches, over N and out…."""
    kernel = tuple(w_shape[-nd:])
    s, p, d = _geometry(nd, kernel, stride, padding, dilation)
    cols = _patches(_pad_spatial(x, p), kernel, s, d)  # N, C, out…, k…
    # (conv_transpose2d with output_padding ≥ stride has windows past its input's size: not used)
    cols = cols[(Ellipsis,) + tuple(slice(0, n) for n in g.shape[-nd:]) + (slice(None),) * nd]
    cols = _grouped(cols, -(2 * nd + 1), groups)  # N, g, c, out…, k…
    gg = _grouped(g, -(nd + 1), groups)  # ..., N, g, o, out…
    sp, ks = _LETTERS[:nd], "ij"[:nd]
    wbar = np.einsum(f"...ngo{sp},...ngc{sp}{ks}->...goc{ks}", gg, cols)
    return wbar.reshape(wbar.shape[:-(nd + 3)] + (-1,) + wbar.shape[-(nd + 1):])


# ---- convolutions -------------------------------------------------------------------------

_CONV_PARAMS = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1}


def _moved(tangent, vjp_with):
    """The change of a bilinear VJP: the same VJP with the other argument replaced by its tangent
    (0 where that argument does not move)."""
    return 0.0 if tangent is None else vjp_with(tangent)


def _correlate_shape(x, w, stride, padding, dilation, groups, nd):
    """The shape of :func:`_correlate`'s result, from the shapes alone."""
    gx, gw = ghost(x), ghost(w)
    _check(gx, gw, nd, groups, f"conv{nd}d")
    kernel = w[-nd:]
    s, p, d = _geometry(nd, kernel, stride, padding, dilation)
    spatial = tuple(_out_size(n, k, ss, pp, dd) for n, k, ss, pp, dd in zip(x[-nd:], kernel, s, p, d))
    if min(spatial) < 1:
        raise ValueError(f"the kernel is larger than the padded input {x[-nd:]}")
    batch = np.broadcast_shapes(tuple(x[:-(nd + 2)]), tuple(w[:-(nd + 2)]))
    return batch + (x[-(nd + 2)], w[-(nd + 2)]) + spatial
def _conv(nd: int, name: str, torch_op, probes, doc: str) -> None:
    def forward(x, w, stride, padding, dilation, groups):
        return _correlate(x, w, stride, padding, dilation, groups, nd)

    register(
        name,
        forward=forward,
        args=("x", "w"),
        params=dict(_CONV_PARAMS),
        vjp=(lambda g, ans, x, w, **p: _correlate_input_vjp(g, w, x.shape, nd=nd, **p),
             lambda g, ans, x, w, **p: _correlate_weight_vjp(g, x, w.shape, nd=nd, **p)),
        # bilinear: the JVP in one argument is the forward with that argument's tangent
        jvp=(lambda t, ans, x, w, **p: _correlate(t, w, nd=nd, **p),
             lambda t, ans, x, w, **p: _correlate(x, t, nd=nd, **p)),
        # bilinear: x̄ = conv_transpose(ḡ, w) moves with w only, w̄ with x only (the tangents carry batch axes)
        second_order=(lambda g, ans, dans, dargs, x, w, **p: _moved(dargs[1], lambda dw: _correlate_input_vjp(
                          g, dw, x.shape, nd=nd, **p)),
                      lambda g, ans, dans, dargs, x, w, **p: _moved(dargs[0], lambda dx: _correlate_weight_vjp(
                          g, dx, w.shape, nd=nd, **p))),
        torch=lambda x, w, **p: torch_op(x, w, **p),
        derivative=(f"∂{name}({{x}}, {{w}})/∂{{x}} = the weight {{w}} scattered back over every window: "
                    f"x̄ = conv_transpose(ḡ, {{w}})",
                    f"∂{name}({{x}}, {{w}})/∂{{w}} = the windows of {{x}} weighted by the upstream gradient: "
                    f"w̄ = Σ_n,positions ḡ · window({{x}})"),
        category="conv",
        doc=doc,
        domain=REAL,
        probes=probes,
        symbolic=lambda sp, x, w, **_: x * w,
        shape=lambda x, w, **p: _correlate_shape(x, w, nd=nd, **p),
        cost=lambda out, x, w, **p: math.prod(out) * math.prod(w[-(nd + 1):]),  # each output: one window · w
    )


_conv(1, "conv1d", F.conv1d,
      calls([((2, 2, 6), (3, 2, 3)), ((1, 3, 5), (3, 3, 2))])
      + calls([((2, 2, 7), (2, 2, 3))], {"stride": 2, "padding": 1})
      + calls([((1, 4, 7), (4, 2, 3))], {"groups": 2, "dilation": 2}),
      "1-d convolution (cross-correlation, as torch): x (N, C, L), w (O, C/groups, k); "
      "stride, padding (zeros), dilation, groups as in torch.nn.functional.conv1d")

_conv(2, "conv2d", F.conv2d,
      calls([((2, 2, 5, 5), (3, 2, 3, 3)), ((1, 3, 4, 4), (3, 3, 2, 2))])
      + calls([((1, 2, 6, 6), (2, 2, 3, 3))], {"stride": 2, "padding": 1})
      + calls([((1, 2, 6, 5), (2, 2, 2, 3))], {"stride": (1, 2), "padding": (1, 0), "dilation": (2, 1)})
      + calls([((2, 4, 4, 4), (4, 2, 3, 3))], {"groups": 2, "padding": 1}),
      "2-d convolution (cross-correlation, as torch): x (N, C, H, W), w (O, C/groups, kH, kW); "
      "stride, padding (zeros), dilation, groups (ints or pairs) as in torch.nn.functional.conv2d")


def _transposed_shape(x, w, stride, padding, output_padding, dilation, groups, nd=2):
    """The output shape of conv_transpose: (..., N, O, (n − 1)·s − 2p + d·(k − 1) + output_padding + 1)."""
    _check(x, w, nd, groups, "conv_transpose2d")
    kernel = w.shape[-nd:]
    s, p, d = _geometry(nd, kernel, stride, padding, dilation)
    op = _tuple(output_padding, nd, "output_padding")
    if any(o >= max(ss, dd) or o < 0 for o, ss, dd in zip(op, s, d)):
        raise ValueError(f"output_padding {op} must be smaller than the stride or the dilation")
    if x.shape[-nd - 1] != w.shape[-nd - 2]:
        raise ValueError(f"the input has {x.shape[-nd - 1]} channels, the weight expects {w.shape[-nd - 2]}")
    spatial = tuple((n - 1) * ss - 2 * pp + dd * (k - 1) + o + 1
                    for n, ss, pp, dd, k, o in zip(x.shape[-nd:], s, p, d, kernel, op))
    if min(spatial) < 1:
        raise ValueError(f"conv_transpose2d would give an empty output {spatial}")
    return x.shape[-(nd + 2)], w.shape[-(nd + 1)] * groups, spatial


def _conv_transpose(x, w, stride, padding, output_padding, dilation, groups):
    n, o, spatial = _transposed_shape(x, w, stride, padding, output_padding, dilation, groups)
    return _correlate_input_vjp(x, w, (n, o) + spatial, stride, padding, dilation, groups, 2)


_TRANSPOSE_PARAMS = {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1, "groups": 1}


def _without_output_padding(p: dict) -> dict:
    return {k: v for k, v in p.items() if k != "output_padding"}


register(
    "conv_transpose2d",
    forward=_conv_transpose,
    args=("x", "w"),
    params=dict(_TRANSPOSE_PARAMS),
    # y = Aᵀ x where A = conv2d(·, w): x̄ = A ḡ = conv2d(ḡ, w); w̄ from ⟨conv2d(ḡ, w), x⟩
    vjp=(lambda g, ans, x, w, **p: _correlate(g, w, nd=2, **_without_output_padding(p))[
        ..., :x.shape[-2], :x.shape[-1]],
         lambda g, ans, x, w, **p: _correlate_weight_vjp(x, g, w.shape, nd=2, **_without_output_padding(p))),
    jvp=(lambda t, ans, x, w, **p: _conv_transpose(t, w, **p),
         lambda t, ans, x, w, **p: _conv_transpose(x, t, **p)),
    second_order=(lambda g, ans, dans, dargs, x, w, **p: _moved(dargs[1], lambda dw: _correlate(
                      g, dw, nd=2, **_without_output_padding(p))[..., :x.shape[-2], :x.shape[-1]]),
                  lambda g, ans, dans, dargs, x, w, **p: _moved(dargs[0], lambda dx: _correlate_weight_vjp(
                      dx, g, w.shape, nd=2, **_without_output_padding(p)))),
    torch=lambda x, w, **p: F.conv_transpose2d(x, w, **p),
    derivative=("∂conv_transpose2d({x}, {w})/∂{x}: x̄ = conv2d(ḡ, {w}) (the transpose of the transpose)",
                "∂conv_transpose2d({x}, {w})/∂{w}: w̄ = Σ_n,positions {x} · window(ḡ)"),
    category="conv",
    doc="transposed 2-d convolution (the gradient of conv2d in its input, as torch): x (N, C, H, W), "
        "w (C, O/groups, kH, kW); stride, padding, output_padding, dilation, groups",
    domain=REAL,
    probes=calls([((1, 2, 3, 3), (2, 3, 2, 2)), ((2, 3, 3, 3), (3, 2, 3, 3))])
    + calls([((1, 2, 3, 3), (2, 2, 3, 3))], {"stride": 2, "padding": 1, "output_padding": 1})
    + calls([((1, 4, 3, 3), (4, 1, 2, 2))], {"groups": 2, "dilation": 2}),
    symbolic=lambda sp, x, w, **_: x * w,
    shape=lambda x, w, **p: (lambda n, o, spatial: tuple(x[:-4]) + (n, o) + spatial)(
        *_transposed_shape(ghost(x), ghost(w), **p)),
    cost=lambda out, x, w, **p: math.prod(x) * math.prod(w[-3:]),  # each input element: one window · w
)


# ---- pooling ----------------------------------------------------------------------------------


def _pool_geometry(x, kernel_size, stride, padding):
    if x.ndim < 3:
        raise ValueError(f"pooling needs an input (N, C, H, W) or (C, H, W), not shape {x.shape}")
    k = _tuple(kernel_size, 2, "kernel_size")
    s = k if stride is None else _tuple(stride, 2, "stride")
    p = _tuple(padding, 2, "padding")
    if min(k) < 1 or min(s) < 1 or any(2 * q > kk for q, kk in zip(p, k)):
        raise ValueError(f"pooling needs kernel and stride ≥ 1 and padding at most half the kernel "
                         f"(kernel {k}, stride {s}, padding {p})")
    return k, s, p


def _pool_shape(x, kernel_size, stride, padding):
    """The shape of a pooling's result: the window count along the last two axes."""
    k, s, p = _pool_geometry(ghost(x), kernel_size, stride, padding)
    spatial = tuple((n + 2 * pp - kk) // ss + 1 for n, kk, ss, pp in zip(x[-2:], k, s, p))
    if min(spatial) < 1:
        raise ValueError(f"the kernel {k} is larger than the padded input {x[-2:]}")
    return tuple(x[:-2]) + spatial


def _windows(x, kernel_size, stride, padding, fill):
    k, s, p = _pool_geometry(x, kernel_size, stride, padding)
    return _patches(_pad_spatial(x, p, fill), k, s, (1, 1)), k, s, p


def _scatter_windows(cols: np.ndarray, x_shape, k, s, p) -> np.ndarray:
    """Add each window's values (..., out…, k…) back at its input positions, then crop the padding."""
    out = cols.shape[-4:-2]
    padded = tuple(n + 2 * q for n, q in zip(x_shape[-2:], p))
    grad = np.zeros(cols.shape[:-4] + padded, dtype=cols.dtype)
    for i, j in itertools.product(range(k[0]), range(k[1])):
        grad[..., i:i + s[0] * (out[0] - 1) + 1:s[0], j:j + s[1] * (out[1] - 1) + 1:s[1]] += cols[..., i, j]
    return grad[..., p[0]:p[0] + x_shape[-2], p[1]:p[1] + x_shape[-1]]


def _first_max(x, kernel_size, stride, padding) -> np.ndarray:
    """One-hot (…, out…, k…) of the first largest element of each window (torch's argmax)."""
    win = _windows(np.real(x), kernel_size, stride, padding, -np.inf)[0]
    flat = win.reshape(win.shape[:-2] + (-1,))
    hot = np.arange(flat.shape[-1]) == np.argmax(flat, axis=-1)[..., None]
    return hot.reshape(win.shape)


def _max_pool_vjp(g, ans, x, kernel_size, stride, padding):
    k, s, p = _pool_geometry(x, kernel_size, stride, padding)
    return _scatter_windows(g[..., None, None] * _first_max(x, kernel_size, stride, padding), x.shape, k, s, p)


def _max_pool_jvp(t, ans, x, kernel_size, stride, padding):
    win = _windows(t, kernel_size, stride, padding, 0.0)[0]
    return np.sum(win * _first_max(x, kernel_size, stride, padding), axis=(-2, -1))


def _max_pool_gap(x, kernel_size, stride, padding) -> float:
    """Smallest gap between the largest and the runner-up of a window (0 at a tie: a kink)."""
    win = _windows(np.real(np.asarray(x)), kernel_size, stride, padding, -np.inf)[0]
    flat = np.sort(win.reshape(win.shape[:-2] + (-1,)), axis=-1)
    if flat.shape[-1] < 2 or flat.size == 0:
        return math.inf
    gap = flat[..., -1] - flat[..., -2]
    return float(np.min(np.where(np.isfinite(gap), gap, np.inf)))


_POOL_PARAMS = {"kernel_size": 2, "stride": None, "padding": 0}
_POOL_PROBES = (calls([((1, 2, 4, 4),), ((2, 1, 6, 6),)]) + calls([((1, 2, 5, 5),)], {"kernel_size": 3, "stride": 2, "padding": 1})
                + calls([((1, 1, 5, 6),)], {"kernel_size": (2, 3), "stride": 1}))

register(
    "max_pool2d",
    forward=lambda x, kernel_size, stride, padding: np.max(
        _windows(x, kernel_size, stride, padding, -np.inf)[0], axis=(-2, -1)),
    args=("x",),
    params=dict(_POOL_PARAMS),
    vjp=(_max_pool_vjp,),
    jvp=(_max_pool_jvp,),
    second_order=PIECEWISE_LINEAR,  # selects the window maxima
    torch=lambda x, kernel_size, stride, padding: F.max_pool2d(x, kernel_size, stride, padding),
    derivative=("∂max_pool2d({x})/∂{x}ᵢ = 1 if {x}ᵢ is the (first) largest element of a window, else 0; "
                "overlapping windows add",),
    category="conv",
    doc="the largest element of each window of x (N, C, H, W); kernel_size, stride (default: the kernel), "
        "padding (−∞); a tie in a window is a kink, the gradient goes to the first largest (as torch)",
    analytic=False,
    kink=_max_pool_gap,
    domain=REAL,
    probes=_POOL_PROBES,
    symbolic="none shown: a window of one element gives x itself",
    shape=_pool_shape,
)


def _avg_pool(x, kernel_size, stride, padding):
    win, k, _, _ = _windows(x, kernel_size, stride, padding, 0.0)
    return np.sum(win, axis=(-2, -1)) / (k[0] * k[1])


def _avg_pool_vjp(g, ans, x, kernel_size, stride, padding):
    k, s, p = _pool_geometry(x, kernel_size, stride, padding)
    cols = np.broadcast_to(g[..., None, None] / (k[0] * k[1]), g.shape + k)
    return _scatter_windows(np.array(cols), x.shape, k, s, p)


register(
    "avg_pool2d",
    forward=_avg_pool,
    args=("x",),
    params=dict(_POOL_PARAMS),
    vjp=(_avg_pool_vjp,),
    jvp=(lambda t, ans, x, **p: _avg_pool(t, **p),),  # linear
    second_order=LINEAR,
    torch=lambda x, kernel_size, stride, padding: F.avg_pool2d(x, kernel_size, stride, padding),
    derivative=("∂avg_pool2d({x})/∂{x}ᵢ = 1/(kH·kW) for every window that contains {x}ᵢ (the zero padding "
                "counts, as torch's count_include_pad=True)",),
    category="conv",
    doc="the mean of each window of x (N, C, H, W); kernel_size, stride (default: the kernel), padding "
        "(zeros, counted in the mean as torch's default)",
    domain=REAL,
    probes=_POOL_PROBES,
    # one input element in one window: the rest of the window is zero padding, counted in the mean
    symbolic=lambda sp, x, kernel_size=2, **_: x / math.prod(_tuple(kernel_size, 2, "kernel_size")),
    shape=_pool_shape,
)


# ---- padding -------------------------------------------------------------------------------------


def _pad_widths(x_ndim: int, widths) -> list[tuple[int, int]]:
    """((before, after), ...) for every axis of x from the flat ``widths`` of its last axes."""
    items = tuple(widths) if isinstance(widths, (tuple, list)) else (widths,)
    if len(items) % 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0
                                 for v in items):
        raise ValueError(f"widths must be non-negative ints, (before, after) for each padded axis, not {widths!r}")
    pairs = [(int(items[i]), int(items[i + 1])) for i in range(0, len(items), 2)]
    if len(pairs) > x_ndim:
        raise ValueError(f"widths {items} pad {len(pairs)} axes of an array of {x_ndim}")
    return [(0, 0)] * (x_ndim - len(pairs)) + pairs


def _pad(x, widths, reflect, value):
    pairs = _pad_widths(x.ndim, widths)
    if reflect:
        if value != 0:
            raise ValueError("reflect padding takes no value")
        if any(max(a, b) >= n for (a, b), n in zip(pairs, x.shape) if a or b):
            raise ValueError(f"reflect padding must be smaller than the axis it pads ({pairs} for {x.shape})")
        return np.pad(x, pairs, mode="reflect")
    return np.pad(x, pairs, mode="constant", constant_values=value)


def _pad_matrix(n: int, before: int, after: int, reflect: bool) -> np.ndarray:
    """The 0/1 matrix (n + before + after, n) that pads one axis (a filled position is a zero row)."""
    m = np.zeros((n + before + after, n))
    for row in range(n + before + after):
        src = row - before
        if reflect:
            src = -src if src < 0 else (2 * (n - 1) - src if src >= n else src)
        if 0 <= src < n:
            m[row, src] = 1.0
    return m


def _pad_apply(a: np.ndarray, core_shape, widths, reflect: bool, transpose: bool) -> np.ndarray:
    """The padding map (or its transpose) applied to the last axes of ``a``, one axis at a time."""
    ndim = len(core_shape)
    for axis, ((before, after), n) in enumerate(zip(_pad_widths(ndim, widths), core_shape)):
        if not (before or after):
            continue
        m = _pad_matrix(n, before, after, reflect)
        moved = np.moveaxis(a, axis - ndim, -1)
        a = np.moveaxis(moved @ (m if transpose else m.T), -1, axis - ndim)
    return a


def _torch_pad(x, widths, reflect, value):
    flat = tuple(v for a, b in reversed(_pad_widths(x.dim(), widths)) for v in (a, b))  # torch: last axis first
    if not reflect:
        return F.pad(x, flat, mode="constant", value=value)
    while len(flat) > 2 and flat[-2:] == (0, 0):  # torch reflects the last k ≤ 3 axes of ≥ k + 1
        flat = flat[:-2]
    lead = max(len(flat) // 2 + 1 - x.dim(), 0)
    out = F.pad(x.reshape((1,) * lead + tuple(x.shape)), flat, mode="reflect")
    return out.reshape(tuple(out.shape[lead:]))


register(
    "pad",
    forward=_pad,
    args=("x",),
    params={"widths": (1, 1), "reflect": False, "value": 0.0},
    vjp=(lambda g, ans, x, widths, reflect, value: _pad_apply(g, x.shape, widths, reflect, transpose=True),),
    jvp=(lambda t, ans, x, widths, reflect, value: _pad_apply(t, x.shape, widths, reflect, transpose=False),),
    second_order=LINEAR,
    torch=_torch_pad,
    derivative=("∂pad({x})/∂{x}: the gradient of the padded array cropped back, plus (reflect) the "
                "reflected borders added onto the elements they copy",),
    category="conv",
    doc="x padded on its last axes: widths (before, after, before, after, ...) for the last len(widths)/2 "
        "axes in axis order (numpy's order; torch's F.pad lists the last axis first); with the constant "
        "value, or reflect=True (mirror without repeating the edge, numpy's and torch's 'reflect')",
    domain=REAL,
    probes=calls([((3, 4),), ((2, 3, 3),)], {"widths": (1, 2)})
    + calls([((3, 4),), ((1, 2, 4, 4),)], {"widths": (1, 1, 2, 1), "reflect": True})
    + calls([((3, 3),)], {"widths": (0, 1, 1, 0), "value": 1.5}),
    symbolic="none shown: padding a scalar gives an array",
    shape=lambda x, widths, **_: tuple(n + a + b for n, (a, b) in zip(x, _pad_widths(len(x), widths))),
)
