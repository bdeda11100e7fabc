"""The point a check runs at: one case (or one function under test) in one dtype.

The point is materialised in float64, cast to the dtype, and that dtype's value (back in
float64) is what the finite differences and the claims see: a float32 gradient is judged
at exactly the point where it was computed.  Every route of :mod:`.routes` reads the
point; none of them changes it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..errors import EvalError, GradcheckError
from .tolerances import Tolerance, tolerance_for

__all__ = ["Point"]


@dataclass
class Point:
    """What every route of one (case, dtype) shares.

    ``values`` holds every leaf (inputs and constants) in the dtype, ``values64`` the same
    values in float64; ``inputs`` names the differentiable ones in order.  ``graph``,
    ``ev`` (our forward) and ``tev`` (torch's replay) are set for a case and None for a
    bare function; ``output`` is the reference forward value the subject is held to;
    ``claims`` maps an input to the graph of its ``expect:`` claim.
    """

    case: str
    file: str
    line: int
    dtype: str
    seed: int
    values: dict[str, np.ndarray]
    inputs: list[str]
    output: np.ndarray | None = None
    tolerance: Mapping[str, float] = field(default_factory=dict)
    defaults: Mapping[str, Any] | None = None
    graph: Any = None
    ev: Any = None
    tev: Any = None
    claims: Mapping[str, Any] = field(default_factory=dict)
    mode: str = "auto"
    #: seconds of the forward passes (our engine, torch), added to each route's time
    forward_time: dict[str, float] = field(default_factory=dict)
    #: the time columns of the input being checked (filled by the routes)
    timing: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.np_dtype = np.dtype(self.dtype)
        self.values64 = {k: np.asarray(v, dtype=np.float64) for k, v in self.values.items()}

    @property
    def scalar(self) -> bool:
        """Is the output a single element (gradients) rather than a vector (Jacobians)?"""
        return self.output is None or np.size(self.output) == 1

    @property
    def out_shape(self) -> tuple[int, ...]:
        return () if self.output is None else tuple(np.shape(self.output))

    def compared_shape(self, name: str) -> tuple[int, ...]:
        """The shape of what is compared for input ``name``: gradient or Jacobian (output + input)."""
        x_shape = tuple(self.values[name].shape)
        return x_shape if self.scalar else self.out_shape + x_shape

    def tolerance_of(self, kind: str, reference: np.ndarray, rounding: float = 0.0) -> Tolerance:
        return tolerance_for(kind, self.dtype, reference, self.tolerance, rounding, self.defaults)

    def located(self, exc: BaseException) -> str:
        """A one-line message naming the file and the case (never a traceback)."""
        if isinstance(exc, GradcheckError):
            return str(exc.located(file=self.file, case=self.case))
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return str(EvalError(f"{type(exc).__name__}: {text}", file=self.file, case=self.case,
                             line=self.line or None))
