"""Neural-network primitives: softmax and log_softmax along ``axis`` (default -1).

``axis`` arrives normalised to a tuple of negative axes, so ``g``/``t`` with leading
batch axes pass through the rules.  The forwards subtract the max of the *real* part
(held constant), which keeps them stable and holomorphic, so complex step is allowed.
"""
from __future__ import annotations

import numpy as np
from .lazy_torch import torch
from .registry import REAL, calls, register

__all__: list[str] = []  # this module only registers primitives


def _shifted(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    """x minus the max of its real part over ``axis`` (a constant shift; non-finite → 0)."""
    if x.size == 0:
        return x
    shift = np.max(np.real(x), axis=axis, keepdims=True)
    return x - np.where(np.isfinite(shift), shift, 0.0)


def _softmax(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    e = np.exp(_shifted(x, axis))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x: np.ndarray, axis: tuple[int, ...]) -> np.ndarray:
    z = _shifted(x, axis)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _torch_log_softmax(x: torch.Tensor, axis: tuple[int, ...]) -> torch.Tensor:
    if len(axis) == 1:
        return torch.log_softmax(x, dim=axis[0])
    if not axis:  # over no axis: every element is its own group
        return x - x
    return x - torch.logsumexp(x, dim=axis, keepdim=True)


def _torch_softmax(x: torch.Tensor, axis: tuple[int, ...]) -> torch.Tensor:
    if len(axis) == 1:
        return torch.softmax(x, dim=axis[0])
    return torch.exp(_torch_log_softmax(x, axis))


# ---- softmax family -------------------------------------------------------------------

register(
    "softmax",
    forward=_softmax,
    args=("x",),
    params={"axis": -1},
    param_kinds={"axis": "axis"},
    # ∂s_i/∂x_j = s_i(δ_ij − s_j), so (Jᵀg)_j = s_j (g_j − Σ_i g_i s_i)
    vjp=(lambda g, ans, x, axis: ans * (g - np.sum(g * ans, axis=axis, keepdims=True)),),
    jvp=(lambda t, ans, x, axis: ans * (t - np.sum(t * ans, axis=axis, keepdims=True)),),
    torch=_torch_softmax,
    derivative=("∂sᵢ/∂{x}ⱼ = sᵢ(δᵢⱼ − sⱼ)   (s = softmax({x}))",),
    category="nn",
    doc="exp(x) / Σ exp(x) along axis (computed stably)",
    domain=REAL,
    probes=calls([((4,),), ((3, 4),)]) + calls([((3, 3),)], {"axis": 0}) + calls([((2, 3, 3),)], {"axis": 1}),
    symbolic=lambda sp, x, **_: sp.Integer(1),
)

register(
    "log_softmax",
    forward=_log_softmax,
    args=("x",),
    params={"axis": -1},
    param_kinds={"axis": "axis"},
    # ∂(log s)_i/∂x_j = δ_ij − s_j, so (Jᵀg)_j = g_j − s_j Σ_i g_i
    vjp=(lambda g, ans, x, axis: g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True),),
    jvp=(lambda t, ans, x, axis: t - np.sum(np.exp(ans) * t, axis=axis, keepdims=True),),
    torch=_torch_log_softmax,
    derivative=("∂log sᵢ/∂{x}ⱼ = δᵢⱼ − sⱼ   (s = softmax({x}))",),
    category="nn",
    doc="x − logsumexp(x) along axis: the log of softmax, computed stably",
    domain=REAL,
    probes=calls([((4,),), ((3, 4),)]) + calls([((3, 3),)], {"axis": 0}) + calls([((2, 3, 3),)], {"axis": 1}),
    symbolic=lambda sp, x, **_: sp.Integer(0),
)
