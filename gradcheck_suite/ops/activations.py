"""Activations: sigmoid, softplus, relu and its relatives, gelu, silu, mish, the "hard" ones.

Same conventions as :mod:`.elementwise` (their category is "elementwise"): one local
derivative per primitive, numpy broadcasting, holomorphic forwards where analytic
(complex step), and torch's subgradients at kinks: relu'(0) = 0, leaky_relu'(0) =
negative_slope, elu'(0) = alpha, selu'(0) = scale·alpha; hardtanh, hardsigmoid pass no
gradient at their bounds, hardswish'(−3) = 0 and hardswish'(3) = 1.5.

Piecewise forwards whose pieces meet with the same slope (softsign, celu, logsigmoid)
are C¹: they have no kink, and a branch on the sign of the real part keeps each piece
holomorphic, so complex step applies to them.
"""
from __future__ import annotations

import numpy as np

from .lazy_torch import F, torch
from .registry import PIECEWISE_LINEAR, Domain, distance_to_zero, elementwise

__all__: list[str] = []  # this module only registers primitives

#: |x| ≥ 0.1 and clear of every integer: k + [0.1, 0.4] for k in −3..2
OFF_ZERO = Domain(-3.0, 3.0, grid=(0.1, 0.4))
#: clear of the integers in −5..5 (the kinks of the "hard" activations are at ±3 and ±1)
OFF_INTEGERS = Domain(-5.0, 5.0, grid=(0.2, 0.8))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1/(1 + e^−x) = e^x/(1 + e^x), whichever form's exponential cannot overflow.

    The choice is made on the sign of the real part and both forms are the same
    holomorphic function, so a complex step still differentiates σ.
    """
    negative = np.real(x) < 0
    z = np.exp(np.where(negative, x, -x))  # e^−|Re x| (times a phase): at most 1 in size
    return np.where(negative, z / (1 + z), 1 / (1 + z))


def _sympy_sigmoid(sp, x):
    return 1 / (1 + sp.exp(-x))


# ---- the logistic family ----------------------------------------------------------------

elementwise(
    "sigmoid",
    forward=_sigmoid,
    local_derivative=lambda ans, x: ans * (1 - ans),  # dσ/dx = σ(1 − σ)
    second_derivative=lambda ans, x: ans * (1 - ans) * (1 - 2 * ans),  # σ'' = σ(1 − σ)(1 − 2σ)
    torch=torch.sigmoid,
    derivative=("∂σ({x})/∂{x} = σ({x})(1 − σ({x}))",),
    doc="logistic sigmoid 1/(1 + e^−x), computed without overflow",
    domain=Domain(-8.0, 8.0),
    symbolic=lambda sp, x, **_: _sympy_sigmoid(sp, x),
    taught_derivative=lambda sp, out, x, **_: (out * (1 - out),),  # σ' = σ(1 − σ): the tutorial's S(1 − S)
)


def _logsigmoid(x: np.ndarray) -> np.ndarray:
    """log σ(x) = x − log(1 + eˣ) = −log(1 + e^−x), whichever exponential cannot overflow."""
    negative = np.real(x) < 0
    return np.where(negative, x - np.log1p(np.exp(np.where(negative, x, 0))),
                    -np.log1p(np.exp(-np.where(negative, 0, x))))


elementwise(
    "logsigmoid",
    forward=_logsigmoid,
    local_derivative=lambda ans, x: _sigmoid(-x),  # d/dx log σ(x) = 1 − σ(x) = σ(−x)
    second_derivative=lambda ans, x: -_sigmoid(x) * _sigmoid(-x),  # −σ(x)σ(−x)
    torch=F.logsigmoid,
    derivative=("∂log σ({x})/∂{x} = σ(−{x})",),
    doc="log σ(x) = −softplus(−x), computed without overflow",
    domain=Domain(-8.0, 8.0),
    symbolic=lambda sp, x, **_: -sp.log(1 + sp.exp(-x)),
)

#: softplus is x itself above this (as torch.nn.functional.softplus with beta=1)
SOFTPLUS_THRESHOLD = 20.0


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) for x ≤ 20 and x above (torch's beta=1, threshold=20)."""
    linear = np.real(x) > SOFTPLUS_THRESHOLD
    return np.where(linear, x, np.log1p(np.exp(np.where(linear, 0, x))))


def _softplus_slope(x: np.ndarray) -> np.ndarray:
    """d/dx softplus = σ(x) for x ≤ 20 and exactly 1 above (as torch)."""
    return np.where(x > SOFTPLUS_THRESHOLD, 1.0, _sigmoid(x))


elementwise(
    "softplus",
    forward=_softplus,
    local_derivative=lambda ans, x: _softplus_slope(x),
    second_derivative=lambda ans, x: np.where(x > 20, 0.0, _sigmoid(x) * (1 - _sigmoid(x))),  # σ' (0 past the threshold)
    torch=F.softplus,
    derivative=("∂softplus({x})/∂{x} = σ({x})",),
    doc="log(1 + e^x), and x itself for x > 20 (torch's softplus with beta=1, threshold=20; "
        "the two differ there by less than 3e−9)",
    domain=Domain(-8.0, 8.0),
    symbolic=lambda sp, x, **_: sp.log(1 + sp.exp(x)),
    taught_derivative=lambda sp, out, x, **_: (1 / (1 + sp.exp(-x)),),
)

elementwise(
    "silu",
    forward=lambda x: x * _sigmoid(x),
    local_derivative=lambda ans, x: _sigmoid(x) * (1 + x * (1 - _sigmoid(x))),  # σ + xσ(1 − σ)
    second_derivative=lambda ans, x: _sigmoid(x) * (1 - _sigmoid(x)) * (2 + x * (1 - 2 * _sigmoid(x))),
    torch=F.silu,
    derivative=("∂({x}·σ({x}))/∂{x} = σ({x})(1 + {x}(1 − σ({x})))",),
    doc="x·σ(x) (swish)",
    domain=Domain(-6.0, 6.0),
    symbolic=lambda sp, x, **_: x * _sympy_sigmoid(sp, x),
)


def _mish_slope(x: np.ndarray) -> np.ndarray:
    # d/dx x·tanh(softplus x) = tanh(sp) + x·(1 − tanh²(sp))·σ(x)
    t = np.tanh(_softplus(x))
    return t + x * (1 - t * t) * _softplus_slope(x)


def _mish_curvature(x: np.ndarray) -> np.ndarray:
    # d²/dx² x·tanh(sp) = (1 − t²)·s·(2 + x(1 − s − 2ts)), t = tanh(softplus x), s = σ(x)
    t, s = np.tanh(_softplus(x)), _softplus_slope(x)
    return (1 - t * t) * s * (2 + x * (1 - s - 2 * t * s))


elementwise(
    "mish",
    forward=lambda x: x * np.tanh(_softplus(x)),
    local_derivative=lambda ans, x: _mish_slope(x),
    second_derivative=lambda ans, x: _mish_curvature(x),
    torch=F.mish,
    derivative=("∂({x}·tanh(softplus({x})))/∂{x} = tanh(s) + {x}·(1 − tanh²(s))·σ({x}),  s = softplus({x})",),
    doc="x·tanh(softplus(x))",
    domain=Domain(-6.0, 6.0),
    symbolic=lambda sp, x, **_: x * sp.tanh(sp.log(1 + sp.exp(x))),
)


def _softsign(x: np.ndarray) -> np.ndarray:
    """x/(1 + |x|), with |x| written as ±x by the sign of the real part (holomorphic pieces)."""
    return x / (1 + np.sign(np.real(x)) * x)


elementwise(
    "softsign",
    forward=_softsign,
    local_derivative=lambda ans, x: 1 / (1 + np.abs(x)) ** 2,  # d/dx x/(1 + |x|) = 1/(1 + |x|)²
    second_derivative=lambda ans, x: -2 * np.sign(x) / (1 + np.abs(x)) ** 3,
    torch=F.softsign,
    derivative=("∂({x}/(1 + |{x}|))/∂{x} = 1/(1 + |{x}|)²",),
    doc="x/(1 + |x|); its derivative is continuous (1 at 0): no kink",
    domain=Domain(-4.0, 4.0),
    symbolic=lambda sp, x, **_: x / (1 + sp.Abs(x)),
)

# ---- the rectifier family -------------------------------------------------------------------

elementwise(
    "relu",
    forward=lambda x: np.maximum(x, 0),
    local_derivative=lambda ans, x: x > 0,  # d/dx max(x, 0) = 1 for x > 0, else 0 (0 at 0: torch)
    second_derivative=lambda ans, x: np.zeros_like(x),  # 0 off the kink (a delta at 0: nondiff)
    torch=torch.relu,
    derivative=("∂relu({x})/∂{x} = 1 if {x} > 0 else 0",),
    doc="max(x, 0); kink at 0, where the subgradient 0 is used (as torch)",
    analytic=False,
    kink=distance_to_zero,
    domain=OFF_ZERO,
    symbolic=lambda sp, x, **_: sp.Max(0, x),
)

elementwise(
    "leaky_relu",
    forward=lambda x, negative_slope: np.where(x > 0, x, negative_slope * x),
    params={"negative_slope": 0.01},
    # 1 for x > 0, negative_slope otherwise (also at 0, as torch)
    local_derivative=lambda ans, x, negative_slope: np.where(x > 0, 1.0, negative_slope),
    second_derivative=PIECEWISE_LINEAR,
    torch=lambda x, negative_slope: F.leaky_relu(x, negative_slope),
    derivative=("∂leaky_relu({x})/∂{x} = 1 if {x} > 0 else negative_slope",),
    doc="x for x > 0, negative_slope·x otherwise; at 0 the slope negative_slope is used (as torch)",
    analytic=False,
    kink=lambda x, negative_slope: distance_to_zero(x),
    domain=OFF_ZERO,
    examples=({}, {"negative_slope": 0.2}),
    symbolic=lambda sp, x, negative_slope=0.01, **_: sp.Piecewise((x, x > 0), (negative_slope * x, True)),
)


def _elu(x: np.ndarray, alpha: float, scale: float = 1.0) -> np.ndarray:
    return scale * np.where(np.real(x) > 0, x, alpha * np.expm1(np.where(np.real(x) > 0, 0, x)))


def _elu_slope(x: np.ndarray, alpha: float, scale: float = 1.0) -> np.ndarray:
    # d/dx α(eˣ − 1) = α·eˣ for x ≤ 0 (α at 0, as torch); 1 for x > 0; times scale
    return scale * np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0)))


elementwise(
    "elu",
    forward=_elu,
    params={"alpha": 1.0},
    local_derivative=lambda ans, x, alpha: _elu_slope(x, alpha),
    second_derivative=lambda ans, x, alpha: np.where(x > 0, 0.0, alpha * np.exp(np.minimum(x, 0))),
    torch=lambda x, alpha: F.elu(x, alpha),
    derivative=("∂elu({x})/∂{x} = 1 if {x} > 0 else alpha·exp({x})",),
    doc="x for x > 0, alpha·(eˣ − 1) otherwise; at 0 the slope alpha is used (as torch)",
    analytic=False,
    kink=lambda x, alpha: distance_to_zero(x),
    domain=OFF_ZERO,
    examples=({}, {"alpha": 0.5}),
    symbolic=lambda sp, x, alpha=1.0, **_: sp.Piecewise((x, x > 0), (alpha * (sp.exp(x) - 1), True)),
)

#: the constants of selu (Klambauer et al. 2017, as torch)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

elementwise(
    "selu",
    forward=lambda x: _elu(x, SELU_ALPHA, SELU_SCALE),
    local_derivative=lambda ans, x: _elu_slope(x, SELU_ALPHA, SELU_SCALE),
    second_derivative=lambda ans, x: np.where(x > 0, 0.0, SELU_SCALE * SELU_ALPHA * np.exp(np.minimum(x, 0))),
    torch=F.selu,
    derivative=("∂selu({x})/∂{x} = scale if {x} > 0 else scale·alpha·exp({x})",),
    doc="scale·elu(x, alpha) with torch's constants (alpha ≈ 1.6733, scale ≈ 1.0507); "
        "at 0 the slope scale·alpha is used (as torch)",
    analytic=False,
    kink=distance_to_zero,
    domain=OFF_ZERO,
    symbolic=lambda sp, x, **_: SELU_SCALE * sp.Piecewise((x, x > 0), (SELU_ALPHA * (sp.exp(x) - 1), True)),
)

elementwise(
    "celu",
    forward=lambda x, alpha: np.where(np.real(x) > 0, x, alpha * np.expm1(np.where(np.real(x) > 0, 0, x) / alpha)),
    params={"alpha": 1.0},
    # 1 for x > 0, exp(x/alpha) otherwise: both 1 at 0, so no kink
    local_derivative=lambda ans, x, alpha: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0) / alpha)),
    second_derivative=lambda ans, x, alpha: np.where(x > 0, 0.0, np.exp(np.minimum(x, 0) / alpha) / alpha),
    torch=lambda x, alpha: F.celu(x, alpha),
    derivative=("∂celu({x})/∂{x} = 1 if {x} > 0 else exp({x}/alpha)",),
    doc="x for x > 0, alpha·(exp(x/alpha) − 1) otherwise (alpha > 0); its slope is continuous",
    domain=Domain(-4.0, 4.0),
    examples=({}, {"alpha": 0.5}),
    symbolic=lambda sp, x, alpha=1.0, **_: sp.Piecewise((x, x > 0), (alpha * (sp.exp(x / alpha) - 1), True)),
)


def _strictly_inside(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """1 where low < x < high: the "hard" activations pass no gradient at their bounds (torch)."""
    return (x > low) & (x < high)


def _distance_to(points):
    return lambda x, **_: min(distance_to_zero(np.subtract(x, p)) for p in points)


elementwise(
    "hardtanh",
    forward=lambda x, min_val, max_val: np.clip(x, min_val, max_val),
    params={"min_val": -1.0, "max_val": 1.0},
    local_derivative=lambda ans, x, min_val, max_val: _strictly_inside(x, min_val, max_val),
    second_derivative=PIECEWISE_LINEAR,
    torch=lambda x, min_val, max_val: F.hardtanh(x, min_val, max_val),
    derivative=("∂hardtanh({x})/∂{x} = 1 if min_val < {x} < max_val else 0",),
    doc="x limited to [min_val, max_val]; unlike clip, no gradient passes at the bounds (as torch)",
    analytic=False,
    kink=lambda x, min_val, max_val: _distance_to((min_val, max_val))(x),
    domain=OFF_INTEGERS,
    examples=({}, {"min_val": -2.0, "max_val": 3.0}),
    symbolic=lambda sp, x, min_val=-1.0, max_val=1.0, **_: sp.Min(sp.Max(x, min_val), max_val),
)

elementwise(
    "hardsigmoid",
    forward=lambda x: np.clip(x / 6 + 0.5, 0.0, 1.0),
    local_derivative=lambda ans, x: _strictly_inside(x, -3.0, 3.0) / 6.0,  # 1/6 on (−3, 3)
    second_derivative=PIECEWISE_LINEAR,
    # torch's own hardsigmoid backward multiplies by 1/6 rounded to float32 (3e−8 off in float64);
    # relu6(x + 3)/6 is the same function with the same zero gradient at the bounds, exactly
    torch=lambda x: F.relu6(x + 3) / 6,
    derivative=("∂hardsigmoid({x})/∂{x} = 1/6 if −3 < {x} < 3 else 0",),
    doc="relu6(x + 3)/6: 0 below −3, 1 above 3; kinks at ±3, with no gradient there (as torch; the torch "
        "counterpart is relu6(x + 3)/6, because torch.nn.functional.hardsigmoid's float64 backward uses 1/6 "
        "rounded to float32, 3e−8 off)",
    analytic=False,
    kink=_distance_to((-3.0, 3.0)),
    domain=OFF_INTEGERS,
    symbolic=lambda sp, x, **_: sp.Min(sp.Max(x / 6 + sp.Rational(1, 2), 0), 1),
)


def _hardswish_slope(x: np.ndarray) -> np.ndarray:
    # 0 below −3 (and at −3), (2x + 3)/6 up to 3 (1.5 at 3), 1 above: torch's convention
    return np.where(x < -3, 0.0, np.where(x <= 3, x / 3 + 0.5, 1.0))


elementwise(
    "hardswish",
    forward=lambda x: x * np.clip(x + 3, 0.0, 6.0) / 6,
    local_derivative=lambda ans, x: _hardswish_slope(x),
    second_derivative=lambda ans, x: np.where((x > -3) & (x < 3), 1 / 3, 0.0),
    torch=F.hardswish,
    derivative=("∂hardswish({x})/∂{x} = 0 if {x} < −3, (2{x} + 3)/6 if {x} ≤ 3, else 1",),
    doc="x·relu6(x + 3)/6; kinks at ±3, where the slopes 0 and 1.5 are used (as torch)",
    analytic=False,
    kink=_distance_to((-3.0, 3.0)),
    domain=OFF_INTEGERS,
    symbolic=lambda sp, x, **_: x * sp.Min(sp.Max(x + 3, 0), 6) / 6,
)

# ---- the Gaussian family ----------------------------------------------------------------

_SQRT_2 = np.sqrt(2.0)
_SQRT_2PI = np.sqrt(2.0 * np.pi)


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Φ(x) = ½·erfc(−x/√2): no cancellation for very negative x; accepts complex x."""
    from scipy import special  # imported on first use: 0.25 s of start-up most runs never need

    return 0.5 * special.erfc(-x / _SQRT_2)


def _gelu_slope(x: np.ndarray) -> np.ndarray:
    # d/dx x·Φ(x) = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π)
    return _normal_cdf(x) + x * np.exp(-0.5 * x * x) / _SQRT_2PI


elementwise(
    "gelu",
    forward=lambda x: x * _normal_cdf(x),
    local_derivative=lambda ans, x: _gelu_slope(x),
    second_derivative=lambda ans, x: np.exp(-0.5 * x * x) / _SQRT_2PI * (2 - x * x),  # φ(x)(2 − x²)
    torch=lambda x: F.gelu(x, approximate="none"),
    derivative=("∂gelu({x})/∂{x} = Φ({x}) + {x}·φ({x})",),
    doc="x·Φ(x) with Φ the standard normal CDF (the exact erf form, torch approximate='none')",
    domain=Domain(-4.0, 4.0),
    symbolic=lambda sp, x, **_: x / 2 * (1 + sp.erf(x / sp.sqrt(2))),
)
