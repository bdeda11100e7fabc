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
* :mod:`.run` — many cases: selection, shards, processes, time limits.
"""
from .checks import CaseResult, check_case
from .run import RunResult, run_cases, select
from .verdict import CHECKS, COLUMNS, STATUSES

__all__ = ["CaseResult", "RunResult", "check_case", "run_cases", "select", "CHECKS", "COLUMNS", "STATUSES"]
