"""The judge: three-way verdicts (our engine, torch.autograd, finite differences) in one table.

* :mod:`.tolerances` — per-dtype defaults and case overrides;
* :mod:`.verdict` — element-wise comparison, the table's columns and rows;
* :mod:`.kinks` — kink sets confirmed by one-sided differences (``nondiff``);
* :mod:`.projections` — random projections for large inputs;
* :mod:`.checks` — one case: every dtype, input and check;
* :mod:`.run` — many cases: selection, shards, processes, time limits.
"""
from .checks import CaseResult, check_case
from .run import RunResult, run_cases, select
from .verdict import CHECKS, COLUMNS, STATUSES

__all__ = ["CaseResult", "RunResult", "check_case", "run_cases", "select", "CHECKS", "COLUMNS", "STATUSES"]
