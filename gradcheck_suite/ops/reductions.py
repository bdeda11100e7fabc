"""Reductions over axes (``axis`` None/int/tuple, ``keepdims``).

``axis`` arrives normalised to a tuple of negative axes (see the registry header), so
the rules never see the batch axes in front.
"""
from __future__ import annotations

import numpy as np
import torch

from .registry import register


def _keep(g: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
    """Re-insert the reduced axes into ``g`` (size 1) so that it broadcasts against the input."""
    return g if keepdims else np.expand_dims(g, axis)


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
    torch=lambda x, axis, keepdims: torch.sum(x, dim=axis, keepdim=keepdims) if axis else x * 1,
    derivative=("∂Σ{x}/∂{x}ᵢ = 1",),
    category="reductions",
    doc="sum of the elements over the given axes",
)
