"""Default tolerances per dtype and per kind of check, and how a case overrides them.

An element passes when ``|a − r| ≤ atol + rtol·|r|`` (plus the finite-difference
error estimate for the FD rows).  The defaults:

============  =================  ======  =====  ==========================================
dtype         checks             rtol    atol   why
============  =================  ======  =====  ==========================================
float64       hand_vs_torch      1e-8    1e-10  two analytic gradients in the same dtype:
                                                they differ by rounding only (op order,
                                                libm vs SLEEF), ~1e-15 typically
float64       hand_vs_fd,        1e-6    1e-8   the FD reference is exact (complex step)
              torch_vs_fd                       or ~1e-10 (Richardson) and its own error
                                                estimate is added; a wrong rule is off by
                                                far more than 1e-6
float64       expect_vs_torch    1e-8    1e-10  a claim in float64 against torch in
                                                float64: tight, so a claim off by 1e-4
                                                relative fails by four orders
float32       hand_vs_torch      1e-3    1e-5   both gradients carry float32 rounding
                                                (ε ≈ 1.2e-7) amplified by the condition
                                                of the chain (large intermediates,
                                                cancellation in var/std at an offset)
float32       hand_vs_fd,        2e-3    2e-5   the float32 gradient against the float64
              torch_vs_fd,                      FD derivative of the same point: float32
              expect_vs_torch                   rounding only — no float32 FD noise, the
                                                source of the peers' false failures
============  =================  ======  =====  ==========================================

``atol`` is scaled by ``max(1, max|r|)`` (the largest magnitude of the reference
array), because rounding errors in an element are proportional to the size of the
terms summed into it, not to the element itself (a gradient entry that cancels to
~0 still carries ε·|terms|).  The table's ``atol`` column records the scaled value,
so the pass rule above holds with the numbers shown.

A case's ``tolerance: {rtol, atol}`` replaces the defaults for every check of that
case, literally (no scaling): a case author who sets it means those numbers.

float32 against float64 truth (``hand_vs_fd``, ``torch_vs_fd``, ``expect_vs_torch``):
a float32 gradient can be far from the exact derivative without any rule being wrong
(``var`` of values near 1e4 loses most digits in ``x − mean``).  The harness measures
that rounding at the point — ``2·max|torch in float32 − torch in float64|`` — and adds
it to ``atol`` (the table's ``atol`` column includes it).  A wrong rule is still
caught: by ``hand_vs_torch`` (both float32) and by every float64 row.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..contract import TOLERANCE_KINDS

__all__ = ["Tolerance", "DEFAULTS", "KINDS", "tolerance_for"]


@dataclass(frozen=True)
class Tolerance:
    """``rtol`` and the (already scaled) ``atol`` of one comparison."""

    rtol: float
    atol: float


#: the kinds of tolerance; each declared check names one (see ``harness/checks.py``)
KINDS = TOLERANCE_KINDS

#: (dtype, class) → (rtol, atol before scaling)
DEFAULTS: Mapping[tuple[str, str], tuple[float, float]] = {
    ("float64", "analytic"): (1e-8, 1e-10),
    ("float64", "fd"): (1e-6, 1e-8),
    ("float64", "expect"): (1e-8, 1e-10),
    ("float32", "analytic"): (1e-3, 1e-5),
    ("float32", "fd"): (2e-3, 2e-5),
    ("float32", "expect"): (2e-3, 2e-5),
}


def tolerance_for(kind: str, dtype: str, reference: np.ndarray,
                  override: Mapping[str, float] | None = None, rounding: float = 0.0,
                  defaults: Mapping[tuple[str, str], tuple[float, float]] | None = None) -> Tolerance:
    """The tolerance of a check of ``kind`` in ``dtype`` against ``reference`` (see the module docstring).

    ``rounding`` is the measured float32 rounding of the gradient, added to ``atol`` for
    the checks against float64 truth.  ``defaults`` replaces entries of :data:`DEFAULTS`
    (a team's ``[tool.gradcheck-suite.tolerances]``); a case's ``override`` wins over both.
    """
    rtol, atol = (defaults or {}).get((dtype, kind)) or DEFAULTS[(dtype, kind)]
    extra = rounding if kind != "analytic" else 0.0
    if override:
        return Tolerance(float(override.get("rtol", rtol)), float(override.get("atol", atol)) + extra)
    ref = np.abs(np.asarray(reference, dtype=np.float64))
    finite = ref[np.isfinite(ref)]
    scale = max(1.0, float(finite.max())) if finite.size else 1.0
    return Tolerance(rtol, atol * scale + extra)
