"""Arithmetic operators: add, sub, mul, div, pow, neg, pos (matmul lives in linalg).

Binary operators broadcast like numpy: each VJP rule returns the gradient in the
output's shape and the registry sums it back to the argument's shape.
"""
from __future__ import annotations

import numpy as np
import torch

from .registry import register

# ---- operators ----------------------------------------------------------------

register(
    "add",
    forward=np.add,
    args=("x", "y"),
    vjp=(lambda g, ans, x, y: g,  # d(x+y)/dx = 1
         lambda g, ans, x, y: g),  # d(x+y)/dy = 1
    jvp=(lambda t, ans, x, y: t,
         lambda t, ans, x, y: t),
    torch=torch.add,
    derivative=("∂({x}+{y})/∂{x} = 1", "∂({x}+{y})/∂{y} = 1"),
    category="operators",
    doc="x + y",
    broadcasts=True,
)
