"""Imports every section of the primitive table, which registers its primitives."""
from . import operators, elementwise, activations, special, reductions, shape, scans, contractions, indexing, linalg, decompositions, nn, conv  # noqa: F401
