"""Elementwise functions of one argument (and the elementwise binary maximum/minimum/where).

The activations (sigmoid, softplus, relu, leaky_relu, elu, gelu, erf) are elementwise too
and live in :mod:`.activations`.

Rules are written with numpy broadcasting, so leading batch axes pass through them.

Analytic primitives (``analytic=True``) have forwards that also accept complex arrays
and are the holomorphic extension of the real function, so the complex step
``Im f(x + ih)/h`` is their derivative: no ``abs``, ``maximum`` or branch on the value
inside them (a branch on the sign of the *real part* between two formulas of the same
holomorphic function, as in sigmoid, is fine).

Subgradients at kinks follow torch: abs'(0) = 0, sign' = 0, clip passes the gradient
at its bounds, maximum/minimum split it evenly (½ each) at ties.
"""
from __future__ import annotations

import numpy as np
import torch

from .registry import NOT_DIFFERENTIABLE, distance_to_zero, register

__all__: list[str] = []  # this module only registers primitives


def _distance_to_tie(x: np.ndarray, y: np.ndarray) -> float:
    """min |x − y| over the broadcast elements (inf when there are none)."""
    return distance_to_zero(np.subtract(x, y))


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

register(
    "expm1",
    forward=np.expm1,
    args=("x",),
    vjp=(lambda g, ans, x: g * (ans + 1),),  # d/dx (eˣ − 1) = eˣ
    jvp=(lambda t, ans, x: t * (ans + 1),),
    torch=torch.expm1,
    derivative=("∂expm1({x})/∂{x} = exp({x})",),
    category="elementwise",
    doc="exp(x) − 1, accurate for small x",
)

register(
    "log",
    forward=np.log,
    args=("x",),
    vjp=(lambda g, ans, x: g / x,),  # d/dx log(x) = 1/x
    jvp=(lambda t, ans, x: t / x,),
    torch=torch.log,
    derivative=("∂log({x})/∂{x} = 1/{x}",),
    category="elementwise",
    doc="natural logarithm (x > 0)",
)

register(
    "log1p",
    forward=np.log1p,
    args=("x",),
    vjp=(lambda g, ans, x: g / (1 + x),),  # d/dx log(1 + x) = 1/(1 + x)
    jvp=(lambda t, ans, x: t / (1 + x),),
    torch=torch.log1p,
    derivative=("∂log1p({x})/∂{x} = 1/(1 + {x})",),
    category="elementwise",
    doc="log(1 + x), accurate for small x (x > −1)",
)

# ---- powers and roots -------------------------------------------------------------

register(
    "sqrt",
    forward=np.sqrt,
    args=("x",),
    vjp=(lambda g, ans, x: g / (2 * ans),),  # d/dx √x = 1/(2√x)
    jvp=(lambda t, ans, x: t / (2 * ans),),
    torch=torch.sqrt,
    derivative=("∂√{x}/∂{x} = 1/(2√{x})",),
    category="elementwise",
    doc="square root (x ≥ 0; the derivative is infinite at 0)",
)

register(
    "square",
    forward=lambda x: x * x,
    args=("x",),
    vjp=(lambda g, ans, x: g * 2 * x,),  # d/dx x² = 2x
    jvp=(lambda t, ans, x: t * 2 * x,),
    torch=torch.square,
    derivative=("∂({x}²)/∂{x} = 2{x}",),
    category="elementwise",
    doc="x²",
)

# ---- sign and absolute value --------------------------------------------------------

register(
    "abs",
    forward=np.abs,
    args=("x",),
    vjp=(lambda g, ans, x: g * np.sign(x),),  # d/dx |x| = sign(x), 0 at 0 (torch)
    jvp=(lambda t, ans, x: t * np.sign(x),),
    torch=torch.abs,
    derivative=("∂|{x}|/∂{x} = sign({x})  (0 at {x} = 0)",),
    category="elementwise",
    doc="|x|; kink at 0, where the subgradient 0 is used (as torch)",
    analytic=False,
    kink=distance_to_zero,
)

register(
    "sign",
    forward=np.sign,
    args=("x",),
    vjp=(lambda g, ans, x: np.zeros_like(g),),  # piecewise constant: derivative 0
    jvp=(lambda t, ans, x: np.zeros_like(t),),
    torch=torch.sign,
    derivative=("∂sign({x})/∂{x} = 0  (jumps at {x} = 0)",),
    category="elementwise",
    doc="−1, 0 or +1; its derivative is 0 everywhere (as torch), it jumps at 0",
    analytic=False,
    kink=distance_to_zero,
)

# ---- trigonometric functions ---------------------------------------------------------

register(
    "sin",
    forward=np.sin,
    args=("x",),
    vjp=(lambda g, ans, x: g * np.cos(x),),  # d/dx sin x = cos x
    jvp=(lambda t, ans, x: t * np.cos(x),),
    torch=torch.sin,
    derivative=("∂sin({x})/∂{x} = cos({x})",),
    category="elementwise",
    doc="sine (radians)",
)

register(
    "cos",
    forward=np.cos,
    args=("x",),
    vjp=(lambda g, ans, x: -g * np.sin(x),),  # d/dx cos x = −sin x
    jvp=(lambda t, ans, x: -t * np.sin(x),),
    torch=torch.cos,
    derivative=("∂cos({x})/∂{x} = −sin({x})",),
    category="elementwise",
    doc="cosine (radians)",
)

register(
    "tan",
    forward=np.tan,
    args=("x",),
    vjp=(lambda g, ans, x: g * (1 + ans * ans),),  # d/dx tan x = 1 + tan² x
    jvp=(lambda t, ans, x: t * (1 + ans * ans),),
    torch=torch.tan,
    derivative=("∂tan({x})/∂{x} = 1 + tan²({x})",),
    category="elementwise",
    doc="tangent (radians)",
)

register(
    "arcsin",
    forward=np.arcsin,
    args=("x",),
    vjp=(lambda g, ans, x: g / np.sqrt(1 - x * x),),  # d/dx arcsin x = 1/√(1 − x²)
    jvp=(lambda t, ans, x: t / np.sqrt(1 - x * x),),
    torch=torch.asin,
    derivative=("∂arcsin({x})/∂{x} = 1/√(1 − {x}²)",),
    category="elementwise",
    doc="inverse sine (−1 ≤ x ≤ 1; the derivative is infinite at ±1)",
)

register(
    "arccos",
    forward=np.arccos,
    args=("x",),
    vjp=(lambda g, ans, x: -g / np.sqrt(1 - x * x),),  # d/dx arccos x = −1/√(1 − x²)
    jvp=(lambda t, ans, x: -t / np.sqrt(1 - x * x),),
    torch=torch.acos,
    derivative=("∂arccos({x})/∂{x} = −1/√(1 − {x}²)",),
    category="elementwise",
    doc="inverse cosine (−1 ≤ x ≤ 1; the derivative is infinite at ±1)",
)

register(
    "arctan",
    forward=np.arctan,
    args=("x",),
    vjp=(lambda g, ans, x: g / (1 + x * x),),  # d/dx arctan x = 1/(1 + x²)
    jvp=(lambda t, ans, x: t / (1 + x * x),),
    torch=torch.atan,
    derivative=("∂arctan({x})/∂{x} = 1/(1 + {x}²)",),
    category="elementwise",
    doc="inverse tangent",
)

# ---- hyperbolic functions ----------------------------------------------------------

register(
    "sinh",
    forward=np.sinh,
    args=("x",),
    vjp=(lambda g, ans, x: g * np.cosh(x),),  # d/dx sinh x = cosh x
    jvp=(lambda t, ans, x: t * np.cosh(x),),
    torch=torch.sinh,
    derivative=("∂sinh({x})/∂{x} = cosh({x})",),
    category="elementwise",
    doc="hyperbolic sine",
)

register(
    "cosh",
    forward=np.cosh,
    args=("x",),
    vjp=(lambda g, ans, x: g * np.sinh(x),),  # d/dx cosh x = sinh x
    jvp=(lambda t, ans, x: t * np.sinh(x),),
    torch=torch.cosh,
    derivative=("∂cosh({x})/∂{x} = sinh({x})",),
    category="elementwise",
    doc="hyperbolic cosine",
)

register(
    "tanh",
    forward=np.tanh,
    args=("x",),
    vjp=(lambda g, ans, x: g * (1 - ans * ans),),  # d/dx tanh x = 1 − tanh² x
    jvp=(lambda t, ans, x: t * (1 - ans * ans),),
    torch=torch.tanh,
    derivative=("∂tanh({x})/∂{x} = 1 − tanh²({x})",),
    category="elementwise",
    doc="hyperbolic tangent",
)

# ---- clipping, maximum, minimum, where -----------------------------------------------


def _clip(x: np.ndarray, a_min: float | None, a_max: float | None) -> np.ndarray:
    if a_min is None and a_max is None:
        raise ValueError("clip needs a_min or a_max (or both)")
    return np.clip(x, a_min, a_max)


def _inside_clip(x: np.ndarray, a_min: float | None, a_max: float | None) -> np.ndarray:
    """1 where the gradient passes: a_min ≤ x ≤ a_max, bounds included (as torch.clamp)."""
    inside = np.ones(np.shape(x), dtype=bool)
    if a_min is not None:
        inside &= x >= a_min
    if a_max is not None:
        inside &= x <= a_max
    return inside


def _distance_to_bounds(x: np.ndarray, a_min: float | None, a_max: float | None) -> float:
    bounds = [b for b in (a_min, a_max) if b is not None]
    return min((distance_to_zero(np.subtract(x, b)) for b in bounds), default=float("inf"))


register(
    "clip",
    forward=_clip,
    args=("x",),
    params={"a_min": None, "a_max": None},
    vjp=(lambda g, ans, x, a_min, a_max: g * _inside_clip(x, a_min, a_max),),
    jvp=(lambda t, ans, x, a_min, a_max: t * _inside_clip(x, a_min, a_max),),
    torch=lambda x, a_min, a_max: torch.clamp(x, a_min, a_max),
    derivative=("∂clip({x})/∂{x} = 1 if a_min ≤ {x} ≤ a_max else 0",),
    category="elementwise",
    doc="x limited to [a_min, a_max] (numbers; either may be None); kinks at the bounds, "
        "where the gradient passes (as torch.clamp)",
    analytic=False,
    kink=_distance_to_bounds,
)


def _share(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The share of the gradient that goes to x in maximum(x, y): 1, 0, or ½ at a tie."""
    return np.where(x == y, 0.5, np.where(x > y, 1.0, 0.0))


register(
    "maximum",
    forward=np.maximum,
    args=("x", "y"),
    vjp=(lambda g, ans, x, y: g * _share(x, y),
         lambda g, ans, x, y: g * _share(y, x)),
    jvp=(lambda t, ans, x, y: t * _share(x, y),
         lambda t, ans, x, y: t * _share(y, x)),
    torch=torch.maximum,
    derivative=("∂max({x}, {y})/∂{x} = 1 if {x} > {y}, ½ if {x} = {y}, else 0",
                "∂max({x}, {y})/∂{y} = 1 if {y} > {x}, ½ if {x} = {y}, else 0"),
    category="elementwise",
    doc="elementwise larger of x and y; at ties the gradient is split evenly (as torch)",
    analytic=False,
    kink=_distance_to_tie,
    broadcasts=True,
)

register(
    "minimum",
    forward=np.minimum,
    args=("x", "y"),
    vjp=(lambda g, ans, x, y: g * _share(y, x),
         lambda g, ans, x, y: g * _share(x, y)),
    jvp=(lambda t, ans, x, y: t * _share(y, x),
         lambda t, ans, x, y: t * _share(x, y)),
    torch=torch.minimum,
    derivative=("∂min({x}, {y})/∂{x} = 1 if {x} < {y}, ½ if {x} = {y}, else 0",
                "∂min({x}, {y})/∂{y} = 1 if {y} < {x}, ½ if {x} = {y}, else 0"),
    category="elementwise",
    doc="elementwise smaller of x and y; at ties the gradient is split evenly (as torch)",
    analytic=False,
    kink=_distance_to_tie,
    broadcasts=True,
)


def _as_condition(condition: np.ndarray) -> np.ndarray:
    """The condition as bools (a constant condition may arrive cast to the case's dtype)."""
    return np.asarray(condition).astype(bool)


register(
    "where",
    forward=lambda condition, x, y: np.where(_as_condition(condition), x, y),
    args=("condition", "x", "y"),
    vjp=(NOT_DIFFERENTIABLE,
         lambda g, ans, condition, x, y: np.where(_as_condition(condition), g, 0.0),
         lambda g, ans, condition, x, y: np.where(_as_condition(condition), 0.0, g)),
    jvp=(NOT_DIFFERENTIABLE,
         lambda t, ans, condition, x, y: np.where(_as_condition(condition), t, 0.0),
         lambda t, ans, condition, x, y: np.where(_as_condition(condition), 0.0, t)),
    torch=lambda condition, x, y: torch.where(condition.to(torch.bool), x, y),
    derivative=("{condition} is a branch condition: not differentiable",
                "∂where({condition}, {x}, {y})/∂{x} = 1 where {condition}, else 0",
                "∂where({condition}, {x}, {y})/∂{y} = 0 where {condition}, else 1"),
    category="elementwise",
    doc="x where condition holds, y elsewhere (condition: a bool array, e.g. x > 0); "
        "its kinks are those of the comparison in the condition",
    analytic=False,
    broadcasts=True,
)
