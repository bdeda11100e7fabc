"""Primitive registry: ``get``, ``lookup``, ``names``, ``all_primitives``."""
from .registry import (  # noqa: F401
    NOT_DIFFERENTIABLE,
    Primitive,
    RuleError,
    all_primitives,
    get,
    lookup,
    names,
    register,
    unbroadcast,
)

__all__ = ["NOT_DIFFERENTIABLE", "Primitive", "RuleError", "all_primitives", "get", "lookup",
           "names", "register", "unbroadcast"]
