"""Elementwise functions of one argument (and the elementwise binary maximum/minimum/where).

The activations live in :mod:`.activations`, the special functions, rounding and the
two-argument functions (atan2, hypot, logaddexp, fmod, remainder) in :mod:`.special`.

Each primitive is declared by :func:`~.registry.elementwise` with its local derivative
written once; the VJP and the JVP are generated from it.  Rules are written with numpy
broadcasting, so leading batch axes pass through them.

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

from .lazy_torch import torch
from .registry import (LINEAR, NOT_DIFFERENTIABLE, PIECEWISE_LINEAR, REAL, Domain, calls, distance_to_zero, elementwise,
                       register)

__all__: list[str] = []  # this module only registers primitives

#: |x| ≥ 0.1 and clear of every integer: k + [0.1, 0.4] for k in −3..2
OFF_ZERO = Domain(-3.0, 3.0, grid=(0.1, 0.4))
#: paired with OFF_ZERO, |x − y| ≥ 0.2: no ties
OFF_TIE = Domain(-3.0, 3.0, grid=(0.6, 0.9))
POSITIVE = Domain(0.1, 5.0)
UNIT = Domain(-0.95, 0.95)


def _distance_to_tie(x: np.ndarray, y: np.ndarray) -> float:
    """min |x − y| over the broadcast elements (inf when there are none)."""
    return distance_to_zero(np.subtract(x, y))


def _one_minus_square(a: np.ndarray) -> np.ndarray:
    """1 − a², written into the square's array (one full-size temporary instead of two)."""
    square = a * a
    return np.subtract(1, square, out=square) if isinstance(square, np.ndarray) else 1 - square


# ---- exponentials and logarithms ------------------------------------------------

elementwise(
    "exp",
    forward=np.exp,
    local_derivative=lambda ans, x: ans,  # d/dx exp(x) = exp(x)
    second_derivative=lambda ans, x: ans,  # d²/dx² eˣ = eˣ
    torch=torch.exp,
    derivative=("∂exp({x})/∂{x} = exp({x})",),
    doc="e to the power x",
    domain=Domain(-3.0, 3.0),
    symbolic=lambda sp, x, **_: sp.exp(x),
    taught_derivative=lambda sp, out, x, **_: (out,),  # (eˣ)' = eˣ = out
)

elementwise(
    "expm1",
    forward=np.expm1,
    local_derivative=lambda ans, x: ans + 1,  # d/dx (eˣ − 1) = eˣ
    second_derivative=lambda ans, x: ans + 1,
    torch=torch.expm1,
    derivative=("∂expm1({x})/∂{x} = exp({x})",),
    doc="exp(x) − 1, accurate for small x",
    domain=Domain(-3.0, 3.0),
    symbolic=lambda sp, x, **_: sp.exp(x) - 1,
    taught_derivative=lambda sp, out, x, **_: (out + 1,),
)

elementwise(
    "exp2",
    forward=np.exp2,
    local_derivative=lambda ans, x: ans * np.log(2.0),  # d/dx 2ˣ = 2ˣ·ln 2
    second_derivative=lambda ans, x: ans * np.log(2.0) ** 2,
    torch=torch.exp2,
    derivative=("∂2^{x}/∂{x} = 2^{x}·ln 2",),
    doc="2 to the power x",
    domain=Domain(-3.0, 3.0),
    symbolic=lambda sp, x, **_: 2 ** x,
)

elementwise(
    "log",
    forward=np.log,
    local_derivative=lambda ans, x: 1 / x,  # d/dx log(x) = 1/x
    second_derivative=lambda ans, x: -1 / (x * x),  # d²/dx² log x = −1/x²
    torch=torch.log,
    derivative=("∂log({x})/∂{x} = 1/{x}",),
    doc="natural logarithm (x > 0)",
    domain=POSITIVE,
    symbolic=lambda sp, x, **_: sp.log(x),
    taught_derivative=lambda sp, out, x, **_: (1 / x,),
)

elementwise(
    "log2",
    forward=np.log2,
    local_derivative=lambda ans, x: 1 / (x * np.log(2.0)),  # d/dx log₂ x = 1/(x ln 2)
    second_derivative=lambda ans, x: -1 / (x * x * np.log(2.0)),
    torch=torch.log2,
    derivative=("∂log2({x})/∂{x} = 1/({x}·ln 2)",),
    doc="base-2 logarithm (x > 0)",
    domain=POSITIVE,
    symbolic=lambda sp, x, **_: sp.log(x, 2),
)

elementwise(
    "log10",
    forward=np.log10,
    local_derivative=lambda ans, x: 1 / (x * np.log(10.0)),  # d/dx log₁₀ x = 1/(x ln 10)
    second_derivative=lambda ans, x: -1 / (x * x * np.log(10.0)),
    torch=torch.log10,
    derivative=("∂log10({x})/∂{x} = 1/({x}·ln 10)",),
    doc="base-10 logarithm (x > 0)",
    domain=POSITIVE,
    symbolic=lambda sp, x, **_: sp.log(x, 10),
)

elementwise(
    "log1p",
    forward=np.log1p,
    local_derivative=lambda ans, x: 1 / (1 + x),  # d/dx log(1 + x) = 1/(1 + x)
    second_derivative=lambda ans, x: -1 / ((1 + x) * (1 + x)),
    torch=torch.log1p,
    derivative=("∂log1p({x})/∂{x} = 1/(1 + {x})",),
    doc="log(1 + x), accurate for small x (x > −1)",
    domain=Domain(-0.9, 5.0),
    symbolic=lambda sp, x, **_: sp.log(1 + x),
    taught_derivative=lambda sp, out, x, **_: (1 / (1 + x),),
)

# ---- powers and roots -------------------------------------------------------------

elementwise(
    "sqrt",
    forward=np.sqrt,
    local_derivative=lambda ans, x: 1 / (2 * ans),  # d/dx √x = 1/(2√x)
    second_derivative=lambda ans, x: -1 / (4 * ans * ans * ans),  # d²/dx² √x = −1/(4·x^(3/2))
    torch=torch.sqrt,
    derivative=("∂√{x}/∂{x} = 1/(2√{x})",),
    doc="square root (x ≥ 0; the derivative is infinite at 0)",
    domain=POSITIVE,
    symbolic=lambda sp, x, **_: sp.sqrt(x),
    taught_derivative=lambda sp, out, x, **_: (1 / (2 * out),),  # (√x)' = 1/(2√x)
)

elementwise(
    "rsqrt",
    forward=lambda x: 1 / np.sqrt(x),
    local_derivative=lambda ans, x: -0.5 * ans * ans * ans,  # d/dx x^(−½) = −½·x^(−3/2)
    second_derivative=lambda ans, x: 0.75 * ans ** 5,  # d²/dx² x^(−½) = ¾·x^(−5/2)
    torch=torch.rsqrt,
    derivative=("∂(1/√{x})/∂{x} = −1/(2·{x}^(3/2))",),
    doc="1/√x (x > 0)",
    domain=POSITIVE,
    symbolic=lambda sp, x, **_: 1 / sp.sqrt(x),
)

elementwise(
    "cbrt",
    forward=np.cbrt,
    local_derivative=lambda ans, x: 1 / (3 * ans * ans),  # d/dx ∛x = 1/(3∛x²)
    second_derivative=lambda ans, x: -2 / (9 * ans ** 5),  # d²/dx² ∛x = −2/(9·x^(5/3))
    torch=lambda x: torch.sign(x) * torch.abs(x).pow(1 / 3),
    derivative=("∂∛{x}/∂{x} = 1/(3·∛{x}²)",),
    doc="real cube root (negative for x < 0); the derivative is infinite at 0, a kink; "
        "torch has no cbrt: its counterpart is sign(x)·|x|^⅓",
    domain=REAL,
    analytic=False,
    kink=distance_to_zero,
    symbolic=lambda sp, x, **_: sp.sign(x) * sp.Abs(x) ** sp.Rational(1, 3),
)

elementwise(
    "square",
    forward=lambda x: x * x,
    local_derivative=lambda ans, x: 2 * x,  # d/dx x² = 2x
    second_derivative=lambda ans, x: np.full_like(x, 2.0),  # d²/dx² x² = 2
    torch=torch.square,
    derivative=("∂({x}²)/∂{x} = 2{x}",),
    doc="x²",
    domain=Domain(-3.0, 3.0),
    symbolic=lambda sp, x, **_: x ** 2,
    taught_derivative=lambda sp, out, x, **_: (2 * x,),
)

elementwise(
    "reciprocal",
    forward=lambda x: 1 / x,
    local_derivative=lambda ans, x: -ans * ans,  # d/dx 1/x = −1/x²
    second_derivative=lambda ans, x: 2 * ans * ans * ans,  # d²/dx² 1/x = 2/x³
    torch=torch.reciprocal,
    derivative=("∂(1/{x})/∂{x} = −1/{x}²",),
    doc="1/x (x ≠ 0)",
    domain=REAL,
    symbolic=lambda sp, x, **_: 1 / x,
)

# ---- sign and absolute value --------------------------------------------------------

elementwise(
    "abs",
    forward=np.abs,
    local_derivative=lambda ans, x: np.sign(x),  # d/dx |x| = sign(x), 0 at 0 (torch)
    second_derivative=lambda ans, x: np.zeros_like(x),  # 0 off the kink (a delta at 0: nondiff)
    torch=torch.abs,
    derivative=("∂|{x}|/∂{x} = sign({x})  (0 at {x} = 0)",),
    doc="|x|; kink at 0, where the subgradient 0 is used (as torch)",
    analytic=False,
    kink=distance_to_zero,
    domain=OFF_ZERO,
    symbolic=lambda sp, x, **_: sp.Abs(x),
    taught_derivative=lambda sp, out, x, **_: (sp.sign(x),),
)

elementwise(
    "sign",
    forward=np.sign,
    local_derivative=lambda ans, x: np.zeros_like(x),  # piecewise constant: derivative 0
    second_derivative=lambda ans, x: np.zeros_like(x),
    torch=torch.sign,
    derivative=("∂sign({x})/∂{x} = 0  (jumps at {x} = 0)",),
    doc="−1, 0 or +1; its derivative is 0 everywhere (as torch), it jumps at 0",
    analytic=False,
    kink=distance_to_zero,
    domain=OFF_ZERO,
    symbolic=lambda sp, x, **_: sp.sign(x),
)

# ---- trigonometric functions ---------------------------------------------------------

elementwise(
    "sin",
    forward=np.sin,
    local_derivative=lambda ans, x: np.cos(x),  # d/dx sin x = cos x
    second_derivative=lambda ans, x: -ans,  # d²/dx² sin x = −sin x
    torch=torch.sin,
    derivative=("∂sin({x})/∂{x} = cos({x})",),
    doc="sine (radians)",
    domain=Domain(-4.0, 4.0),
    symbolic=lambda sp, x, **_: sp.sin(x),
    taught_derivative=lambda sp, out, x, **_: (sp.cos(x),),
)

elementwise(
    "cos",
    forward=np.cos,
    local_derivative=lambda ans, x: -np.sin(x),  # d/dx cos x = −sin x
    second_derivative=lambda ans, x: -ans,  # d²/dx² cos x = −cos x
    torch=torch.cos,
    derivative=("∂cos({x})/∂{x} = −sin({x})",),
    doc="cosine (radians)",
    domain=Domain(-4.0, 4.0),
    symbolic=lambda sp, x, **_: sp.cos(x),
    taught_derivative=lambda sp, out, x, **_: (-sp.sin(x),),
)

elementwise(
    "tan",
    forward=np.tan,
    local_derivative=lambda ans, x: 1 + ans * ans,  # d/dx tan x = 1 + tan² x
    second_derivative=lambda ans, x: 2 * ans * (1 + ans * ans),  # d²/dx² tan = 2 tan (1 + tan²)
    torch=torch.tan,
    derivative=("∂tan({x})/∂{x} = 1 + tan²({x})",),
    doc="tangent (radians)",
    domain=Domain(-1.4, 1.4),
    symbolic=lambda sp, x, **_: sp.tan(x),
    taught_derivative=lambda sp, out, x, **_: (1 + out ** 2,),  # tan' = 1 + tan²
)

def _sinc_curvature(ans: np.ndarray, x: np.ndarray) -> np.ndarray:
    """d²/dx² sinc x = (−π·sin πx − 2·sinc'(x))/x, and −π²/3 at 0."""
    safe = np.where(x == 0, 1.0, x)
    slope = (np.cos(np.pi * x) - ans) / safe
    return np.where(x == 0, -np.pi ** 2 / 3, (-np.pi * np.sin(np.pi * x) - 2 * slope) / safe)


elementwise(
    "sinc",
    forward=np.sinc,
    # d/dx sin(πx)/(πx) = (cos(πx) − sinc(x))/x, and 0 at x = 0
    local_derivative=lambda ans, x: np.where(x == 0, 0.0, (np.cos(np.pi * x) - ans) / np.where(x == 0, 1.0, x)),
    second_derivative=lambda ans, x: _sinc_curvature(ans, x),
    torch=torch.sinc,
    derivative=("∂sinc({x})/∂{x} = (cos(π{x}) − sinc({x}))/{x}  (0 at {x} = 0)",),
    doc="the normalised sinc, sin(πx)/(πx), 1 at 0 (as numpy and torch)",
    domain=REAL,
    symbolic=lambda sp, x, **_: sp.sin(sp.pi * x) / (sp.pi * x),
)

elementwise(
    "arcsin",
    forward=np.arcsin,
    local_derivative=lambda ans, x: 1 / np.sqrt(1 - x * x),  # d/dx arcsin x = 1/√(1 − x²)
    second_derivative=lambda ans, x: x / (1 - x * x) ** 1.5,  # d²/dx² arcsin x = x/(1 − x²)^(3/2)
    torch=torch.asin,
    derivative=("∂arcsin({x})/∂{x} = 1/√(1 − {x}²)",),
    doc="inverse sine (−1 ≤ x ≤ 1; the derivative is infinite at ±1)",
    domain=UNIT,
    symbolic=lambda sp, x, **_: sp.asin(x),
    taught_derivative=lambda sp, out, x, **_: (1 / sp.sqrt(1 - x ** 2),),
)

elementwise(
    "arccos",
    forward=np.arccos,
    local_derivative=lambda ans, x: -1 / np.sqrt(1 - x * x),  # d/dx arccos x = −1/√(1 − x²)
    second_derivative=lambda ans, x: -x / (1 - x * x) ** 1.5,  # d²/dx² arccos x = −x/(1 − x²)^(3/2)
    torch=torch.acos,
    derivative=("∂arccos({x})/∂{x} = −1/√(1 − {x}²)",),
    doc="inverse cosine (−1 ≤ x ≤ 1; the derivative is infinite at ±1)",
    domain=UNIT,
    symbolic=lambda sp, x, **_: sp.acos(x),
    taught_derivative=lambda sp, out, x, **_: (-1 / sp.sqrt(1 - x ** 2),),
)

elementwise(
    "arctan",
    forward=np.arctan,
    local_derivative=lambda ans, x: 1 / (1 + x * x),  # d/dx arctan x = 1/(1 + x²)
    second_derivative=lambda ans, x: -2 * x / (1 + x * x) ** 2,  # d²/dx² arctan x = −2x/(1 + x²)²
    torch=torch.atan,
    derivative=("∂arctan({x})/∂{x} = 1/(1 + {x}²)",),
    doc="inverse tangent",
    domain=Domain(-4.0, 4.0),
    symbolic=lambda sp, x, **_: sp.atan(x),
    taught_derivative=lambda sp, out, x, **_: (1 / (1 + x ** 2),),
)

# ---- hyperbolic functions ----------------------------------------------------------

elementwise(
    "sinh",
    forward=np.sinh,
    local_derivative=lambda ans, x: np.cosh(x),  # d/dx sinh x = cosh x
    second_derivative=lambda ans, x: ans,
    torch=torch.sinh,
    derivative=("∂sinh({x})/∂{x} = cosh({x})",),
    doc="hyperbolic sine",
    domain=Domain(-3.0, 3.0),
    symbolic=lambda sp, x, **_: sp.sinh(x),
    taught_derivative=lambda sp, out, x, **_: (sp.cosh(x),),
)

elementwise(
    "cosh",
    forward=np.cosh,
    local_derivative=lambda ans, x: np.sinh(x),  # d/dx cosh x = sinh x
    second_derivative=lambda ans, x: ans,
    torch=torch.cosh,
    derivative=("∂cosh({x})/∂{x} = sinh({x})",),
    doc="hyperbolic cosine",
    domain=Domain(-3.0, 3.0),
    symbolic=lambda sp, x, **_: sp.cosh(x),
    taught_derivative=lambda sp, out, x, **_: (sp.sinh(x),),
)

elementwise(
    "tanh",
    forward=np.tanh,
    local_derivative=lambda ans, x: _one_minus_square(ans),  # d/dx tanh x = 1 − tanh² x
    second_derivative=lambda ans, x: -2 * ans * (1 - ans * ans),  # d²/dx² tanh = −2 tanh (1 − tanh²)
    torch=torch.tanh,
    derivative=("∂tanh({x})/∂{x} = 1 − tanh²({x})",),
    doc="hyperbolic tangent",
    domain=Domain(-3.0, 3.0),
    symbolic=lambda sp, x, **_: sp.tanh(x),
    taught_derivative=lambda sp, out, x, **_: (1 - out ** 2,),  # tanh' = 1 − tanh²
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


def _sympy_clip(sp, x, a_min=None, a_max=None, **_):
    out = x if a_min is None else sp.Max(x, a_min)
    return out if a_max is None else sp.Min(out, a_max)


elementwise(
    "clip",
    forward=_clip,
    params={"a_min": None, "a_max": None},
    local_derivative=lambda ans, x, a_min, a_max: _inside_clip(x, a_min, a_max),
    second_derivative=PIECEWISE_LINEAR,
    torch=lambda x, a_min, a_max: torch.clamp(x, a_min, a_max),
    derivative=("∂clip({x})/∂{x} = 1 if a_min ≤ {x} ≤ a_max else 0",),
    doc="x limited to [a_min, a_max] (numbers; either may be None); kinks at the bounds, "
        "where the gradient passes (as torch.clamp)",
    analytic=False,
    kink=_distance_to_bounds,
    domain=OFF_ZERO,
    examples=({"a_min": -1.5, "a_max": 1.5}, {"a_min": -0.5, "a_max": None}, {"a_min": None, "a_max": 0.5},
              {"a_min": 1.5, "a_max": -0.5}),  # the last: a_min > a_max, everything is a_max
    symbolic=_sympy_clip,
)


def _share(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The share of the gradient that goes to x in maximum(x, y): 1, 0, or ½ at a tie."""
    return np.where(x == y, 0.5, np.where(x > y, 1.0, 0.0))


elementwise(
    "maximum",
    forward=np.maximum,
    args=("x", "y"),
    local_derivative=(lambda ans, x, y: _share(x, y), lambda ans, x, y: _share(y, x)),
    second_derivative=PIECEWISE_LINEAR,
    torch=torch.maximum,
    derivative=("∂max({x}, {y})/∂{x} = 1 if {x} > {y}, ½ if {x} = {y}, else 0",
                "∂max({x}, {y})/∂{y} = 1 if {y} > {x}, ½ if {x} = {y}, else 0"),
    doc="elementwise larger of x and y; at ties the gradient is split evenly (as torch)",
    analytic=False,
    kink=_distance_to_tie,
    domain=(OFF_ZERO, OFF_TIE),
    symbolic=lambda sp, x, y, **_: sp.Max(x, y),
)

elementwise(
    "minimum",
    forward=np.minimum,
    args=("x", "y"),
    local_derivative=(lambda ans, x, y: _share(y, x), lambda ans, x, y: _share(x, y)),
    second_derivative=PIECEWISE_LINEAR,
    torch=torch.minimum,
    derivative=("∂min({x}, {y})/∂{x} = 1 if {x} < {y}, ½ if {x} = {y}, else 0",
                "∂min({x}, {y})/∂{y} = 1 if {y} < {x}, ½ if {x} = {y}, else 0"),
    doc="elementwise smaller of x and y; at ties the gradient is split evenly (as torch)",
    analytic=False,
    kink=_distance_to_tie,
    domain=(OFF_ZERO, OFF_TIE),
    symbolic=lambda sp, x, y, **_: sp.Min(x, y),
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
    second_order=LINEAR,  # the VJP of x and y is g·cond or g·¬cond: the condition is a constant
    torch=lambda condition, x, y: torch.where(condition.to(torch.bool), x, y),
    derivative=("{condition} is a branch condition: not differentiable",
                "∂where({condition}, {x}, {y})/∂{x} = 1 where {condition}, else 0",
                "∂where({condition}, {x}, {y})/∂{y} = 0 where {condition}, else 1"),
    category="elementwise",
    doc="x where condition holds, y elsewhere (condition: a bool array, e.g. x > 0); "
        "its kinks are those of the comparison in the condition",
    analytic=False,
    no_kink="it switches on its condition, a non-differentiable argument: the kink belongs to the comparison "
            "that computes the condition (which declares it); in x and y it is linear",
    broadcasts=True,
    domain=(Domain(kind="bool"), Domain(-3.0, 3.0), Domain(-3.0, 3.0)),
    probes=calls([((3, 3), (3, 3), (3, 3)), ((2, 3, 3), (3, 3), (3, 3)), ((3, 4), (4,), (3, 4)),
                  ((3, 4), (3, 4), (4,)), ((3, 4), (3, 1), ()), ((2, 3), (), (1, 3))]),
    symbolic=lambda sp, c, x, y, **_: sp.Piecewise((x, c), (y, True)),
)
