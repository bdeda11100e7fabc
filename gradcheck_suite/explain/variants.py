"""Per-student variants and the random points a claim is graded at.

A *variant* moves a case's inputs to other values, chosen from a seed (a number, or a
student id turned into one by hashing), so each student gets their own numbers on the
exercise sheet and is graded on the same numbers.  The values are rounded to two
decimals (a sheet is read by people); a draw where the forward pass or the gradient is
not finite (log of a negative, a division by zero) is drawn again, and after
:data:`TRIES` failed draws the case's own point is used.

:func:`random_points` gives the extra points a claim is graded at: the case's point
moved by seeded random amounts, not rounded.  Constants never move.
"""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from .. import engine
from ..errors import GradcheckError

__all__ = ["variant_seed", "variant_leaves", "random_points", "TRIES"]

#: draws tried before falling back to the case's own point
TRIES = 20


def variant_seed(variant: int | str) -> int:
    """A seed from a number or a student id (stable across runs and machines)."""
    text = str(variant).strip()
    if text.lstrip("-").isdigit():
        return abs(int(text))
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def _finite_everywhere(case: Any, leaves: dict[str, np.ndarray]) -> bool:
    try:
        ev = engine.evaluate(case.graph, leaves, np.float64)
        if not all(np.all(np.isfinite(v)) for v in ev.values if v.dtype != np.bool_):
            return False
        grads = engine.vjp(ev, np.ones(ev.output.shape, dtype=ev.dtype))
    except (GradcheckError, ValueError, FloatingPointError, ZeroDivisionError):
        return False
    return all(np.all(np.isfinite(g)) for g in grads.values())


def _moved(case: Any, base: dict[str, np.ndarray], rng: np.random.Generator, *, rounded: bool
           ) -> dict[str, np.ndarray]:
    out = dict(base)
    for name in case.graph.inputs:
        x = np.asarray(base[name], dtype=np.float64)
        scale = np.maximum(0.25, 0.3 * np.abs(x))
        moved = x + rng.uniform(-1.0, 1.0, size=x.shape) * scale
        out[name] = np.round(moved, 2) if rounded else moved
    return out


def variant_leaves(case: Any, variant: int | str, run_seed: int = 0) -> dict[str, np.ndarray]:
    """The leaves of the case for one variant (the same variant always gives the same values)."""
    base = case.leaves(run_seed)
    rng = np.random.default_rng([variant_seed(variant), 0x5EED])
    for _ in range(TRIES):
        leaves = _moved(case, base, rng, rounded=True)
        if _finite_everywhere(case, leaves):
            return leaves
    return base


def random_points(case: Any, leaves: dict[str, np.ndarray], count: int, seed: int = 0
                  ) -> list[dict[str, np.ndarray]]:
    """``count`` seeded points near ``leaves`` where the case and its gradient are finite."""
    rng = np.random.default_rng([seed, 0xC1A1])
    points = []
    for _ in range(count * 4):
        if len(points) == count:
            break
        leaves_b = _moved(case, leaves, rng, rounded=False)
        if _finite_everywhere(case, leaves_b):
            points.append(leaves_b)
    return points
