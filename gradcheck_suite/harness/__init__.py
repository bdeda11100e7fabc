"""The judge: verdicts of every gradient route (our engine, torch.autograd, finite differences,
claims, the user's code under test) in one table.

* :mod:`.point` — one case (or function) in one dtype: what every route shares;
* :mod:`.routes` — one source of derivatives each, behind full/vjp/jvp/directional;
* :mod:`.prepare` — a case's forward passes and routes, a subject's routes;
* :mod:`.tolerances` — per-dtype defaults and case overrides;
* :mod:`.verdict` — element-wise comparison and the table's rows;
* :mod:`.kinks` — kink sets confirmed by one-sided differences (``nondiff``);
* :mod:`.projections` — random projections for large inputs, over the same routes;
* :mod:`.checks` — the declared checks and the one function that judges them;
* :mod:`.table` — one case's rows and the run's table, in the contract's order (no torch);
* :mod:`.run` — many cases: selection, shards, processes, time limits.
"""
from importlib import import_module

__all__ = ["CaseResult", "RunResult", "check_case", "run_cases", "select", "CHECKS", "COLUMNS", "STATUSES"]

#: where each name lives: imported on first use, so that the main process of a run with
#: worker processes (which only gathers tables) never imports torch through this package
_HOME = {"CaseResult": ".table", "check_case": ".checks", "RunResult": ".run", "run_cases": ".run",
         "select": ".run", "CHECKS": ".verdict", "COLUMNS": ".verdict", "STATUSES": ".verdict"}


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_HOME[name], __name__), name)
