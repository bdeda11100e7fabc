"""Arithmetic operators and comparisons: add, sub, mul, div, pow, neg, pos, < <= > >= == !=.

Binary operators broadcast like numpy: each VJP rule returns the gradient in the
output's shape and the registry sums it back to the argument's shape.  (matmul lives
in linalg.)

The comparisons are what the parser makes of ``< <= > >= == !=``; they only appear in
the condition of ``where``.  Their output is a bool array and is not differentiable;
their kink is where the two sides meet, because that is where ``where`` switches branch.
"""
from __future__ import annotations

import numpy as np
from .lazy_torch import torch
from .registry import BROADCAST_PAIRS, LINEAR, NOT_DIFFERENTIABLE, REAL, Domain, calls, constant, elementwise, register

__all__: list[str] = []  # this module only registers primitives


# ---- operators ----------------------------------------------------------------


def _zero(ans, x, y):  # a second derivative that vanishes
    return 0.0


def _one(ans, x, y):
    return 1.0


elementwise(
    "add",
    forward=np.add,
    args=("x", "y"),
    local_derivative=(constant(1), constant(1)),  # d(x+y)/dx = d(x+y)/dy = 1: ḡ passes through
    second_derivative=LINEAR,  # the VJP does not depend on x or y
    torch=torch.add,
    derivative=("∂({x}+{y})/∂{x} = 1", "∂({x}+{y})/∂{y} = 1"),
    category="operators",
    doc="x + y",
    domain=REAL,
    symbolic=lambda sp, x, y, **_: x + y,
    taught_derivative=lambda sp, out, x, y, **_: (1, 1),
)

elementwise(
    "sub",
    forward=np.subtract,
    args=("x", "y"),
    local_derivative=(constant(1), constant(-1)),  # d(x−y)/dx = 1, d(x−y)/dy = −1
    second_derivative=LINEAR,
    torch=torch.sub,
    derivative=("∂({x}−{y})/∂{x} = 1", "∂({x}−{y})/∂{y} = −1"),
    category="operators",
    doc="x − y",
    domain=REAL,
    symbolic=lambda sp, x, y, **_: x - y,
    taught_derivative=lambda sp, out, x, y, **_: (1, -1),
)

elementwise(
    "mul",
    forward=np.multiply,
    args=("x", "y"),
    local_derivative=(lambda ans, x, y: y,  # d(xy)/dx = y
                      lambda ans, x, y: x),  # d(xy)/dy = x
    second_derivative=((_zero, _one), (_one, _zero)),  # ∂²(xy)/∂x∂y = 1
    torch=torch.mul,
    derivative=("∂({x}·{y})/∂{x} = {y}", "∂({x}·{y})/∂{y} = {x}"),
    category="operators",
    doc="x · y (elementwise)",
    domain=REAL,
    symbolic=lambda sp, x, y, **_: x * y,
    taught_derivative=lambda sp, out, x, y, **_: (y, x),
)

elementwise(
    "div",
    forward=np.divide,
    args=("x", "y"),
    local_derivative=(lambda ans, x, y: 1 / y,  # d(x/y)/dx = 1/y
                      lambda ans, x, y: -x / (y * y)),  # d(x/y)/dy = −x/y²
    second_derivative=((_zero, lambda ans, x, y: -1 / (y * y)),  # ∂²(x/y)/∂x∂y = −1/y²
                       (lambda ans, x, y: -1 / (y * y), lambda ans, x, y: 2 * x / (y * y * y))),  # ∂²/∂y² = 2x/y³
    torch=torch.div,
    derivative=("∂({x}/{y})/∂{x} = 1/{y}", "∂({x}/{y})/∂{y} = −{x}/{y}²"),
    category="operators",
    doc="x / y (true division)",
    domain=REAL,
    symbolic=lambda sp, x, y, **_: x / y,
    taught_derivative=lambda sp, out, x, y, **_: (1 / y, -x / y ** 2),
)


def _pow_dx(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d/dx x**y = y·x**(y−1), and 0 where y == 0 (torch's convention, also at x == 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y == 0, 0.0, y * np.power(x, y - 1))


def _pow_dy(ans: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d/dy x**y = x**y·log x, and 0 where x == 0 and y >= 0 (torch's convention)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((x == 0) & (y >= 0), 0.0, ans * np.log(x))


def _pow_dxx(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∂²(x**y)/∂x² = y(y−1)·x**(y−2), and 0 where y is 0 or 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((y == 0) | (y == 1), 0.0, y * (y - 1) * np.power(x, y - 2))


def _pow_dxy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∂²(x**y)/∂x∂y = x**(y−1)·(1 + y·log x)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y == 0, np.where(x == 0, 0.0, 1 / x), np.power(x, y - 1) * (1 + y * np.log(x)))


elementwise(
    "pow",
    forward=np.power,
    args=("x", "y"),
    local_derivative=(lambda ans, x, y: _pow_dx(x, y), lambda ans, x, y: _pow_dy(ans, x, y)),
    second_derivative=((lambda ans, x, y: _pow_dxx(x, y), lambda ans, x, y: _pow_dxy(x, y)),
                       (lambda ans, x, y: _pow_dxy(x, y), lambda ans, x, y: _pow_dy(ans, x, y) * np.log(x))),
    torch=torch.pow,
    derivative=("∂({x}^{y})/∂{x} = {y}·{x}^({y}−1)", "∂({x}^{y})/∂{y} = {x}^{y}·log {x}"),
    category="operators",
    doc="x ** y; the exponent may be a tensor (log x needs x > 0; at x = 0 torch's zeros are used)",
    domain=(Domain(0.3, 3.0), REAL),
    symbolic=lambda sp, x, y, **_: x ** y,
    taught_derivative=lambda sp, out, x, y, **_: (y * x ** (y - 1), out * sp.log(x)),
)

elementwise(
    "neg",
    forward=np.negative,
    local_derivative=lambda ans, x: -np.ones_like(x),  # d(−x)/dx = −1
    second_derivative=LINEAR,
    torch=torch.neg,
    derivative=("∂(−{x})/∂{x} = −1",),
    category="operators",
    doc="−x",
    domain=REAL,
    symbolic=lambda sp, x, **_: -x,
    taught_derivative=lambda sp, out, x, **_: (-1,),
)

elementwise(
    "pos",
    forward=np.positive,
    local_derivative=lambda ans, x: np.ones_like(x),  # d(+x)/dx = 1
    second_derivative=LINEAR,
    torch=torch.positive,
    derivative=("∂(+{x})/∂{x} = 1",),
    category="operators",
    doc="+x (the identity)",
    domain=REAL,
    symbolic=lambda sp, x, **_: x,
    taught_derivative=lambda sp, out, x, **_: (1,),
)


# ---- comparisons ----------------------------------------------------------------


def _distance_to_tie(x: np.ndarray, y: np.ndarray) -> float:
    """min |x − y| over the broadcast elements (inf when there are none)."""
    gap = np.abs(np.subtract(x, y))
    return float(np.min(gap)) if gap.size else float("inf")


def _comparison(name: str, symbol: str, forward, torch_op, symbolic) -> None:
    register(
        name,
        forward=forward,
        args=("x", "y"),
        vjp=(NOT_DIFFERENTIABLE, NOT_DIFFERENTIABLE),
        jvp=(NOT_DIFFERENTIABLE, NOT_DIFFERENTIABLE),
        torch=torch_op,
        derivative=(f"{{x}} {symbol} {{y}} is a condition: not differentiable in {{x}}",
                    f"{{x}} {symbol} {{y}} is a condition: not differentiable in {{y}}"),
        category="comparisons",
        doc=f"x {symbol} y as a bool array (only inside the condition of where)",
        analytic=False,
        kink=_distance_to_tie,
        broadcasts=True,
        differentiable_output=False,
        domain=REAL,
        probes=calls(BROADCAST_PAIRS),
        symbolic=symbolic,
    )


_comparison("less", "<", np.less, torch.lt, lambda sp, x, y, **_: sp.Lt(x, y))
_comparison("less_equal", "<=", np.less_equal, torch.le, lambda sp, x, y, **_: sp.Le(x, y))
_comparison("greater", ">", np.greater, torch.gt, lambda sp, x, y, **_: sp.Gt(x, y))
_comparison("greater_equal", ">=", np.greater_equal, torch.ge, lambda sp, x, y, **_: sp.Ge(x, y))
_comparison("equal", "==", np.equal, torch.eq, lambda sp, x, y, **_: sp.Eq(x, y))
_comparison("not_equal", "!=", np.not_equal, torch.ne, lambda sp, x, y, **_: sp.Ne(x, y))
