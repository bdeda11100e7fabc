"""Activations: sigmoid, softplus, relu, leaky_relu, elu, gelu and erf (elementwise).

Same conventions as :mod:`.elementwise` (their category is "elementwise"): rules are
written with numpy broadcasting, analytic forwards are holomorphic (complex step), and
subgradients at kinks follow torch: relu'(0) = 0, leaky_relu'(0) = negative_slope,
elu'(0) = alpha.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .registry import distance_to_zero, register

__all__: list[str] = []  # this module only registers primitives


# ---- activations ---------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1/(1 + e^−x) = e^x/(1 + e^x), whichever form's exponential cannot overflow.

    The choice is made on the sign of the real part and both forms are the same
    holomorphic function, so a complex step still differentiates σ.
    """
    negative = np.real(x) < 0
    z = np.exp(np.where(negative, x, -x))  # e^−|Re x| (times a phase): at most 1 in size
    return np.where(negative, z / (1 + z), 1 / (1 + z))


register(
    "sigmoid",
    forward=_sigmoid,
    args=("x",),
    vjp=(lambda g, ans, x: g * ans * (1 - ans),),  # dσ/dx = σ(1 − σ)
    jvp=(lambda t, ans, x: t * ans * (1 - ans),),
    torch=torch.sigmoid,
    derivative=("∂σ({x})/∂{x} = σ({x})(1 − σ({x}))",),
    category="elementwise",
    doc="logistic sigmoid 1/(1 + e^−x), computed without overflow",
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


register(
    "softplus",
    forward=_softplus,
    args=("x",),
    vjp=(lambda g, ans, x: g * _softplus_slope(x),),
    jvp=(lambda t, ans, x: t * _softplus_slope(x),),
    torch=F.softplus,
    derivative=("∂softplus({x})/∂{x} = σ({x})",),
    category="elementwise",
    doc="log(1 + e^x), and x itself for x > 20 (torch's softplus with beta=1, threshold=20; "
        "the two differ there by less than 3e−9)",
)

register(
    "relu",
    forward=lambda x: np.maximum(x, 0),
    args=("x",),
    vjp=(lambda g, ans, x: g * (x > 0),),  # d/dx max(x, 0) = 1 for x > 0, else 0 (0 at 0: torch)
    jvp=(lambda t, ans, x: t * (x > 0),),
    torch=torch.relu,
    derivative=("∂relu({x})/∂{x} = 1 if {x} > 0 else 0",),
    category="elementwise",
    doc="max(x, 0); kink at 0, where the subgradient 0 is used (as torch)",
    analytic=False,
    kink=distance_to_zero,
)


def _leaky_slope(x: np.ndarray, negative_slope: float) -> np.ndarray:
    return np.where(x > 0, 1.0, negative_slope)  # negative_slope at 0, as torch


register(
    "leaky_relu",
    forward=lambda x, negative_slope: np.where(x > 0, x, negative_slope * x),
    args=("x",),
    params={"negative_slope": 0.01},
    vjp=(lambda g, ans, x, negative_slope: g * _leaky_slope(x, negative_slope),),
    jvp=(lambda t, ans, x, negative_slope: t * _leaky_slope(x, negative_slope),),
    torch=lambda x, negative_slope: F.leaky_relu(x, negative_slope),
    derivative=("∂leaky_relu({x})/∂{x} = 1 if {x} > 0 else negative_slope",),
    category="elementwise",
    doc="x for x > 0, negative_slope·x otherwise; at 0 the slope negative_slope is used (as torch)",
    analytic=False,
    kink=lambda x, negative_slope: distance_to_zero(x),
)


def _elu_slope(x: np.ndarray, alpha: float) -> np.ndarray:
    # d/dx α(eˣ − 1) = α·eˣ for x ≤ 0 (α at 0, as torch); 1 for x > 0
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0)))


register(
    "elu",
    forward=lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))),
    args=("x",),
    params={"alpha": 1.0},
    vjp=(lambda g, ans, x, alpha: g * _elu_slope(x, alpha),),
    jvp=(lambda t, ans, x, alpha: t * _elu_slope(x, alpha),),
    torch=lambda x, alpha: F.elu(x, alpha),
    derivative=("∂elu({x})/∂{x} = 1 if {x} > 0 else alpha·exp({x})",),
    category="elementwise",
    doc="x for x > 0, alpha·(eˣ − 1) otherwise; at 0 the slope alpha is used (as torch)",
    analytic=False,
    kink=lambda x, alpha: distance_to_zero(x),
)

_SQRT_2 = np.sqrt(2.0)
_SQRT_2PI = np.sqrt(2.0 * np.pi)


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Φ(x) = ½·erfc(−x/√2): no cancellation for very negative x; accepts complex x."""
    from scipy import special  # imported on first use: 0.25 s of start-up most runs never need

    return 0.5 * special.erfc(-x / _SQRT_2)


def _erf(x: np.ndarray) -> np.ndarray:
    """scipy.special.erf (accepts complex x), imported on first use."""
    from scipy import special

    return special.erf(x)


def _gelu_slope(x: np.ndarray) -> np.ndarray:
    # d/dx x·Φ(x) = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π)
    return _normal_cdf(x) + x * np.exp(-0.5 * x * x) / _SQRT_2PI


register(
    "gelu",
    forward=lambda x: x * _normal_cdf(x),
    args=("x",),
    vjp=(lambda g, ans, x: g * _gelu_slope(x),),
    jvp=(lambda t, ans, x: t * _gelu_slope(x),),
    torch=lambda x: F.gelu(x, approximate="none"),
    derivative=("∂gelu({x})/∂{x} = Φ({x}) + {x}·φ({x})",),
    category="elementwise",
    doc="x·Φ(x) with Φ the standard normal CDF (the exact erf form, torch approximate='none')",
)

register(
    "erf",
    forward=_erf,
    args=("x",),
    vjp=(lambda g, ans, x: g * (2 / np.sqrt(np.pi)) * np.exp(-x * x),),  # d/dx erf x = 2/√π·e^(−x²)
    jvp=(lambda t, ans, x: t * (2 / np.sqrt(np.pi)) * np.exp(-x * x),),
    torch=torch.erf,
    derivative=("∂erf({x})/∂{x} = 2/√π·exp(−{x}²)",),
    category="elementwise",
    doc="the error function",
)
