"""gradcheck-suite: a PyTorch-verified gradient checker with a hand-written chain-rule engine.

The Python API (imported lazily, so ``import gradcheck_suite`` stays cheap)::

    from gradcheck_suite import load, run, check_case, assert_case

    result = run(["cases/"], dtypes=["float64"])     # RunResult: .table, .exit_code, ...
    print(result.table.status.value_counts())

    gradcheck_suite.explain("seed_two_paths")         # the answer key; Jupyter shows it inline

Your own gradient code (docs/subjects.md)::

    from gradcheck_suite import check_function, assert_function, subject

    assert_function(MyFunction.apply, [x])            # torch callable: FD of its own forward, ...
    assert_function(affine_forward, [x, w, b], backward=affine_backward)   # numpy backward

    @subject("layer_norm")                            # in a plugin module: bind code to a case
    def fused(x, w, b): ...
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["load", "run", "check_case", "assert_case", "check_function", "assert_function", "subject",
           "add_subject", "__version__"]

_LAZY = {"load": "api", "run": "api", "check_case": "api", "assert_case": "gate", "check_function": "api",
         "assert_function": "gate", "subject": "subjects", "add_subject": "subjects"}


def __getattr__(name: str) -> Any:
    if name == "explain":  # the answer-key package, callable: gradcheck_suite.explain("seed_two_paths")
        from importlib import import_module

        return import_module(".explain", __name__)
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
