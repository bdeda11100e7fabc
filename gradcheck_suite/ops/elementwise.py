"""Elementwise functions of one argument (and the elementwise binary maximum/minimum/where).

Rules are written with numpy broadcasting, so leading batch axes pass through them.
"""
from __future__ import annotations

import numpy as np
import torch

from .registry import register

# ---- exponentials and logarithms ------------------------------------------------

register(
    "exp",
    forward=np.exp,
    args=("x",),
    vjp=(lambda g, ans, x: g * ans,),  # d/dx exp(x) = exp(x)
    jvp=(lambda t, ans, x: t * ans,),
    torch=torch.exp,
    derivative=("∂exp({x})/∂{x} = exp({x})",),
    category="elementwise",
    doc="e to the power x",
)
