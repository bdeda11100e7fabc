"""Special functions, rounding, and elementwise functions of two arguments.

Same conventions as :mod:`.elementwise` (category "elementwise", one local derivative per
argument).  scipy is imported on first use (it costs start-up most runs never need).

Rounding (floor, ceil, round, trunc) has derivative 0 everywhere, as in torch, and jumps
at the integers (round: at the half-integers): the jumps are its kinks.  fmod and
remainder jump where x/y is an integer; their derivatives follow torch: 1 for x and
−trunc(x/y) (fmod) or −floor(x/y) (remainder) for y.
"""
from __future__ import annotations

import numpy as np

from .lazy_torch import torch
from .registry import PIECEWISE_LINEAR, REAL, Domain, distance_to_zero, elementwise

__all__: list[str] = []  # this module only registers primitives

POSITIVE = Domain(0.3, 5.0)
UNIT = Domain(-0.95, 0.95)


def _mix(ans, x, y):
    """∂²logaddexp/∂x² = a·b with a = e^(x−out), b = e^(y−out) (a + b = 1)."""
    return np.exp(x - ans) * np.exp(y - ans)


def _special():
    from scipy import special

    return special


# ---- error and gamma functions --------------------------------------------------------------

elementwise(
    "erf",
    forward=lambda x: _special().erf(x),
    local_derivative=lambda ans, x: (2 / np.sqrt(np.pi)) * np.exp(-x * x),  # d/dx erf x = 2/√π·e^(−x²)
    second_derivative=lambda ans, x: -2 * x * (2 / np.sqrt(np.pi)) * np.exp(-x * x),
    torch=torch.erf,
    derivative=("∂erf({x})/∂{x} = 2/√π·exp(−{x}²)",),
    doc="the error function",
    domain=Domain(-3.0, 3.0),
    symbolic=lambda sp, x, **_: sp.erf(x),
    taught_derivative=lambda sp, out, x, **_: (2 / sp.sqrt(sp.pi) * sp.exp(-x ** 2),),
)

elementwise(
    "erfc",
    forward=lambda x: _special().erfc(x),
    local_derivative=lambda ans, x: -(2 / np.sqrt(np.pi)) * np.exp(-x * x),  # d/dx (1 − erf x)
    second_derivative=lambda ans, x: 2 * x * (2 / np.sqrt(np.pi)) * np.exp(-x * x),
    torch=torch.erfc,
    derivative=("∂erfc({x})/∂{x} = −2/√π·exp(−{x}²)",),
    doc="the complementary error function 1 − erf(x), accurate where erf is near 1",
    domain=Domain(-3.0, 3.0),
    symbolic=lambda sp, x, **_: sp.erfc(x),
)

elementwise(
    "erfinv",
    forward=lambda x: _special().erfinv(x),
    local_derivative=lambda ans, x: (np.sqrt(np.pi) / 2) * np.exp(ans * ans),  # 1/erf'(erfinv x)
    second_derivative=lambda ans, x: 2 * ans * ((np.sqrt(np.pi) / 2) * np.exp(ans * ans)) ** 2,
    torch=torch.erfinv,
    derivative=("∂erfinv({x})/∂{x} = √π/2·exp(erfinv({x})²)",),
    doc="the inverse error function (−1 < x < 1); smooth, but scipy's erfinv takes no complex "
        "argument, so finite differences use central differences, not the complex step",
    analytic=False,
    no_kink="smooth on (−1, 1); not analytic only because scipy's erfinv takes no complex argument",
    domain=UNIT,
    symbolic=lambda sp, x, **_: sp.erfinv(x),
)


def _lgamma(x: np.ndarray) -> np.ndarray:
    """log Γ(x): gammaln for real x; loggamma (holomorphic, equal on x > 0) for complex x."""
    special = _special()
    return special.loggamma(x) if np.iscomplexobj(x) else special.gammaln(x)


elementwise(
    "lgamma",
    forward=_lgamma,
    local_derivative=lambda ans, x: _special().psi(x),  # d/dx log Γ(x) = ψ(x)
    second_derivative=lambda ans, x: _special().polygamma(1, x),  # ψ₁
    torch=torch.lgamma,
    derivative=("∂lgamma({x})/∂{x} = digamma({x})",),
    doc="log Γ(x) (x > 0 here: torch's log|Γ| for negative x has poles at the integers)",
    domain=POSITIVE,
    symbolic=lambda sp, x, **_: sp.loggamma(x),
)

elementwise(
    "digamma",
    forward=lambda x: _special().psi(x),
    local_derivative=lambda ans, x: _special().polygamma(1, x),  # d/dx ψ(x) = ψ₁(x), the trigamma
    second_derivative=lambda ans, x: _special().polygamma(2, x),  # ψ₂
    torch=torch.digamma,
    derivative=("∂digamma({x})/∂{x} = polygamma(1, {x})",),
    doc="ψ(x) = d/dx log Γ(x) (x > 0 here)",
    domain=POSITIVE,
    symbolic=lambda sp, x, **_: sp.polygamma(0, x),
)

# ---- rounding: derivative 0, jumps are kinks --------------------------------------------------


def _distance_to_integers(x: np.ndarray, offset: float = 0.0) -> float:
    """min over the elements of the distance from x to the nearest k + offset, k an integer."""
    shifted = np.real(np.asarray(x, dtype=float)) - offset
    return distance_to_zero(shifted - np.round(shifted))


#: why rounding has no symbolic form (sympy leaves the derivative of floor unevaluated)
_NO_FORM = "none: sympy cannot differentiate {} (its derivative is 0 between the jumps)"


def _rounding(name: str, forward, torch_op, what: str, offset: float) -> None:
    elementwise(
        name,
        forward=forward,
        local_derivative=lambda ans, x: np.zeros_like(x),  # piecewise constant: derivative 0
        second_derivative=PIECEWISE_LINEAR,
        torch=torch_op,
        derivative=(f"∂{name}({{x}})/∂{{x}} = 0  (jumps at {what})",),
        doc=f"{name}(x); derivative 0 everywhere (as torch), jumps at {what}",
        analytic=False,
        kink=lambda x: _distance_to_integers(x, offset),
        # clear of the jumps: the integers, or for round the half-integers
        domain=Domain(-3.0, 3.0, grid=(0.2, 0.8) if offset == 0 else (-0.3, 0.3)),
        symbolic=_NO_FORM.format(name),
    )


_rounding("floor", np.floor, torch.floor, "the integers", 0.0)
_rounding("ceil", np.ceil, torch.ceil, "the integers", 0.0)
_rounding("trunc", np.trunc, torch.trunc, "the integers", 0.0)
_rounding("round", np.round, torch.round, "the half-integers (ties to even, as numpy and torch)", 0.5)

# ---- functions of two arguments -------------------------------------------------------------


def _atan2_kink(y: np.ndarray, x: np.ndarray) -> float:
    """Distance to the branch cut (x < 0, y = 0) and the origin, where atan2 jumps or has no limit."""
    y, x = np.broadcast_arrays(np.real(y), np.real(x))
    radius = np.sqrt(x * x + y * y)
    cut = np.where(x < 0, np.abs(y), radius)
    return float(np.min(np.minimum(cut, radius))) if cut.size else float("inf")


elementwise(
    "atan2",
    forward=np.arctan2,
    args=("y", "x"),
    # ∂atan2(y, x)/∂y = x/(x² + y²), ∂/∂x = −y/(x² + y²)
    local_derivative=(lambda ans, y, x: x / (x * x + y * y), lambda ans, y, x: -y / (x * x + y * y)),
    second_derivative=((lambda ans, y, x: -2 * x * y / (x * x + y * y) ** 2,  # ∂²/∂y²
                        lambda ans, y, x: (y * y - x * x) / (x * x + y * y) ** 2),  # ∂²/∂y∂x
                       (lambda ans, y, x: (y * y - x * x) / (x * x + y * y) ** 2,
                        lambda ans, y, x: 2 * x * y / (x * x + y * y) ** 2)),  # ∂²/∂x²
    torch=torch.atan2,
    derivative=("∂atan2({y}, {x})/∂{y} = {x}/({x}² + {y}²)", "∂atan2({y}, {x})/∂{x} = −{y}/({x}² + {y}²)"),
    doc="the angle of the point (x, y), in (−π, π]; jumps across the negative x axis",
    analytic=False,
    kink=_atan2_kink,
    domain=REAL,
    symbolic=lambda sp, y, x, **_: sp.atan2(y, x),
)

elementwise(
    "hypot",
    forward=np.hypot,
    args=("x", "y"),
    # ∂√(x² + y²)/∂x = x/out; 0/0 at the origin, a kink
    local_derivative=(lambda ans, x, y: x / ans, lambda ans, x, y: y / ans),
    second_derivative=((lambda ans, x, y: y * y / ans ** 3, lambda ans, x, y: -x * y / ans ** 3),
                       (lambda ans, x, y: -x * y / ans ** 3, lambda ans, x, y: x * x / ans ** 3)),
    torch=torch.hypot,
    derivative=("∂hypot({x}, {y})/∂{x} = {x}/{out}", "∂hypot({x}, {y})/∂{y} = {y}/{out}"),
    doc="√(x² + y²) without overflow; a kink at the origin",
    analytic=False,
    kink=lambda x, y: distance_to_zero(np.hypot(np.real(x), np.real(y))),
    domain=REAL,
    symbolic=lambda sp, x, y, **_: sp.sqrt(x ** 2 + y ** 2),
)


def _logaddexp(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """log(eˣ + eʸ), shifted by the larger real part (a constant: stays holomorphic)."""
    shift = np.maximum(np.real(x), np.real(y))
    shift = np.where(np.isfinite(shift), shift, 0.0)
    return shift + np.log(np.exp(x - shift) + np.exp(y - shift))


elementwise(
    "logaddexp",
    forward=_logaddexp,
    args=("x", "y"),
    # ∂log(eˣ + eʸ)/∂x = eˣ/(eˣ + eʸ) = exp(x − out)
    local_derivative=(lambda ans, x, y: np.exp(x - ans), lambda ans, x, y: np.exp(y - ans)),
    second_derivative=((lambda ans, x, y: _mix(ans, x, y), lambda ans, x, y: -_mix(ans, x, y)),  # a = e^(x−out),
                       (lambda ans, x, y: -_mix(ans, x, y), lambda ans, x, y: _mix(ans, x, y))),  # ∂a/∂x = a·b
    torch=torch.logaddexp,
    derivative=("∂logaddexp({x}, {y})/∂{x} = exp({x} − {out})", "∂logaddexp({x}, {y})/∂{y} = exp({y} − {out})"),
    doc="log(eˣ + eʸ), computed stably",
    domain=Domain(-4.0, 4.0),
    symbolic=lambda sp, x, y, **_: sp.log(sp.exp(x) + sp.exp(y)),
)


def _distance_to_multiples(x: np.ndarray, y: np.ndarray) -> float:
    """min |x − k·y|: how far x is from the jumps of fmod/remainder (x/y an integer)."""
    x, y = np.broadcast_arrays(np.real(x), np.real(y))
    return distance_to_zero(x - y * np.round(x / y))


#: x clear of the multiples of y ∈ {1, 2}: k + [0.1, 0.4] (k/2 + [0.05, 0.2] for y = 2)
_DIVIDEND = Domain(-3.0, 3.0, grid=(0.1, 0.4))
_DIVISOR = Domain(1.0, 3.0, grid=(0.0, 0.0))

def _modulo(name: str, forward, torch_op, quotient, rounding: str, sign_of: str, like: str) -> None:
    elementwise(
        name,
        forward=forward,
        args=("x", "y"),
        # x − q(x/y)·y: 1 for x, −q(x/y) for y (q = trunc or floor, piecewise constant)
        local_derivative=(lambda ans, x, y: np.ones_like(ans), lambda ans, x, y: -quotient(x / y)),
        second_derivative=PIECEWISE_LINEAR,
        torch=torch_op,
        derivative=(f"∂{name}({{x}}, {{y}})/∂{{x}} = 1", f"∂{name}({{x}}, {{y}})/∂{{y}} = −{rounding}({{x}}/{{y}})"),
        doc=f"x − {rounding}(x/y)·y, the remainder with the sign of {sign_of} ({like}); "
            "jumps where x/y is an integer",
        analytic=False,
        kink=_distance_to_multiples,
        domain=(_DIVIDEND, _DIVISOR),
        symbolic=_NO_FORM.format(rounding),
    )


_modulo("fmod", np.fmod, torch.fmod, np.trunc, "trunc", "x", "C's fmod")
_modulo("remainder", np.remainder, torch.remainder, np.floor, "floor", "y", "Python's %")
