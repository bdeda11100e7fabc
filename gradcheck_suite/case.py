"""The parsed case: what a case file says, checked, with its expression graph.

``gradcheck_suite.loader`` reads YAML into :class:`Case` objects; everything
downstream (engine, references, harness, renderers) reads only these.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .contract import DTYPES
from .graph import Graph

__all__ = ["ValueSpec", "Case", "DTYPES", "MAX_DIMENSIONS"]

#: the most dimensions an input, constant or literal may have (numpy's own limit is 64)
MAX_DIMENSIONS = 32


@dataclass
class ValueSpec:
    """How an input or constant gets its value: a literal array or a seeded generator.

    ``literal`` is set for numbers and nested lists; otherwise ``shape``/``init`` and the
    generator parameters are, and ``seed`` is the resolved seed (from the file, or a
    stable hash of case name and value name).
    """

    name: str
    literal: Any = None
    shape: tuple[int, ...] | None = None
    init: str | None = None
    mean: float = 0.0
    std: float = 1.0
    low: float = -1.0
    high: float = 1.0
    seed: int | None = None
    line: int = 0

    @property
    def value_shape(self) -> tuple[int, ...]:
        """The shape of the value, known without making it."""
        if self.literal is not None:
            return tuple(np.shape(self.literal))
        return tuple(self.shape or ())

    @property
    def element_count(self) -> int:
        if self.literal is not None:
            return int(np.asarray(self.literal).size)
        return int(np.prod(self.shape or (), dtype=np.int64))

    def materialise(self, run_seed: int = 0) -> np.ndarray:
        """The value in float64 (cast to the case dtype later)."""
        if self.literal is not None:
            return np.array(self.literal, dtype=np.float64)
        seed = (self.seed or 0) + run_seed
        rng = np.random.default_rng(seed)
        shape = self.shape or ()
        if self.init == "uniform":
            return rng.uniform(self.low, self.high, size=shape).astype(np.float64)
        return rng.normal(self.mean, self.std, size=shape).astype(np.float64)


@dataclass
class Case:
    """One case, parsed and checked (names resolved, graph built)."""

    name: str
    file: str
    line: int
    inputs: dict[str, ValueSpec]
    constants: dict[str, ValueSpec]
    steps: dict[str, str]
    graph: Graph
    output: str
    title: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    expect: dict[str, str] = field(default_factory=dict)
    expect_graphs: dict[str, Graph] = field(default_factory=dict)
    dtypes: list[str] = field(default_factory=lambda: ["float64"])
    tolerance: dict[str, float] = field(default_factory=dict)
    mode: str = "auto"
    order: int = 1
    step_lines: dict[str, int] = field(default_factory=dict)

    def leaves(self, run_seed: int = 0) -> dict[str, np.ndarray]:
        """Values of every input and constant, in float64."""
        out = {n: s.materialise(run_seed) for n, s in self.inputs.items()}
        out.update({n: s.materialise(run_seed) for n, s in self.constants.items()})
        return out
