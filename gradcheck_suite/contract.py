"""The results contract, in one place: columns, statuses, checks, modes, defaults, formats.

Everything a user's CI, a renderer or a baseline comparison may rely on is defined
here and imported everywhere else; ``docs/reports.md`` documents the same facts for
people.  Nothing in this module computes anything.
"""
from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "COLUMNS", "TEXT_COLUMNS", "TIME_COLUMNS", "FLOAT_COLUMNS",
    "STATUSES", "STATUS_ORDER", "FAILING_STATUSES",
    "CHECKS", "CASE_CHECKS", "SUBJECT_CHECKS", "SECOND_ORDER_CHECKS", "ERROR_CHECKS", "CHECK_ORDER", "CHECK_DOCS",
    "ORDERS", "HESSIAN_ENTRIES",
    "MODES", "DEFAULT_MODE", "JOBS_AUTO", "DEFAULT_JOBS", "AUTO_MAX_WORKERS", "DEFAULT_THRESHOLD", "DTYPES", "TOLERANCE_KINDS", "FORMATS", "FORMAT_FILES",
    "ANSWER_KEY_FILE", "ANSWER_KEY_DIR",
    "EXIT_OK", "EXIT_FAIL", "EXIT_ERROR", "EXIT_INTERRUPTED",
]

# ---- the table ---------------------------------------------------------------------

#: the results table's columns, in the order every tabular report writes them
COLUMNS = (
    "case", "file", "dtype", "input", "shape", "check", "status",
    "max_abs_err", "max_rel_err", "atol", "rtol", "fd_err_est", "worst_index",
    "actual", "expected", "method", "mode", "message", "seed",
    "time_hand_s", "time_torch_s", "time_fd_s",
)
#: columns holding text ("" when empty)
TEXT_COLUMNS = ("case", "file", "dtype", "input", "shape", "check", "status", "worst_index", "method", "mode",
                "message")
#: timing columns: the only ones allowed to differ between two runs with the same seed
TIME_COLUMNS = ("time_hand_s", "time_torch_s", "time_fd_s")
#: columns holding floating-point numbers (NaN when empty)
FLOAT_COLUMNS = ("max_abs_err", "max_rel_err", "atol", "rtol", "fd_err_est", "actual", "expected") + TIME_COLUMNS

# ---- statuses ----------------------------------------------------------------------

#: row statuses, in the order every report lists and counts them
STATUSES = ("pass", "nondiff", "skip", "fail", "error")
#: how bad a status is, for "worst first" orderings (0 is the worst; a skip judged nothing,
#: a nondiff judged everything but the kinks, so it ranks as the worse of the two)
STATUS_ORDER = MappingProxyType({"error": 0, "fail": 1, "nondiff": 2, "skip": 3, "pass": 4})
#: statuses that make the gate fail (exit 1 for fail, 2 for error)
FAILING_STATUSES = ("fail", "error")

# ---- checks ------------------------------------------------------------------------

#: checks of a case's own routes: our engine, torch.autograd on the case's graph, finite
#: differences of the case's graph, the case's ``expect:`` claims
CASE_CHECKS = ("hand_vs_torch", "hand_vs_fd", "torch_vs_fd", "expect_vs_torch")
#: checks of a user's code under test (a *subject*, see docs/subjects.md)
SUBJECT_CHECKS = ("subject_forward", "subject_vs_hand", "subject_vs_torch", "subject_vs_fd",
                  "subject_forward_ad", "subject_double_backward")
#: second-order checks of a case (``order: 2`` or ``run --order 2``): the Hessian of s = wᵀf
SECOND_ORDER_CHECKS = ("hessian_vs_torch", "hessian_vs_grad_fd", "hessian_vs_fd")
#: every gradient check, in table order
CHECKS = CASE_CHECKS + ("hand_jvp",) + SUBJECT_CHECKS + SECOND_ORDER_CHECKS
#: checks of error rows: a file or case that could not be loaded, a case that could not be evaluated
ERROR_CHECKS = ("load", "evaluate")
#: every check name, in table order
CHECK_ORDER = ERROR_CHECKS + CHECKS
#: what each check compares (the text of docs/reports.md's table)
CHECK_DOCS = MappingProxyType({
    "load": "the file or case could not be loaded (status error)",
    "evaluate": "the case could not be evaluated in this dtype (status error)",
    "hand_vs_torch": "our engine's gradient (VJP rules, and JVP rules where affordable) against torch.autograd "
                     "on the case's graph",
    "hand_vs_fd": "our engine's gradient against finite differences of the case's forward (float64)",
    "torch_vs_fd": "torch.autograd on the case's graph against finite differences (float64)",
    "expect_vs_torch": "an expect: claim against torch.autograd",
    "hand_jvp": "present only as skip: a primitive on the path declares no JVP rule, so forward mode is not "
                "checked",
    "subject_forward": "the subject's output against the reference's forward value",
    "subject_vs_hand": "the subject's gradient against our engine on the case's graph",
    "subject_vs_torch": "the subject's gradient against torch.autograd on the case's graph (or the reference "
                        "function)",
    "subject_vs_fd": "the subject's gradient against finite differences of the subject's own forward (float64)",
    "subject_forward_ad": "torch subjects: forward-mode AD (JVP) against the subject's reverse mode",
    "subject_double_backward": "torch subjects: the double backward (derivative of the VJP) against finite "
                               "differences of the subject's first backward",
    "hessian_vs_torch": "order 2: our engine's Hessian of s = wᵀf (HVPs by its own second-order rules) against "
                        "torch double backward on the case's graph",
    "hessian_vs_grad_fd": "order 2: our engine's Hessian against finite differences of our own gradient (float64)",
    "hessian_vs_fd": "order 2: our engine's Hessian against second differences of the case's forward (Richardson, "
                      "with an error estimate; float64)",
})

# ---- modes, dtypes, defaults -------------------------------------------------------

#: how an input is checked: full Jacobians, seeded random projections, or auto by size
MODES = ("auto", "full", "projected")
DEFAULT_MODE = "auto"
#: inputs with more elements than this are checked by random projections in auto mode
DEFAULT_THRESHOLD = 2000
#: in auto mode the second-order rows of an input whose Hessian columns (input elements × all input
#: elements) have more entries than this are judged by projections uᵀHv (full columns on disagreement)
HESSIAN_ENTRIES = 20_000
#: derivative orders a case may ask for (``order:``, ``run --order``); 1 is the default
ORDERS = (1, 2)
#: ``run --jobs`` (and ``jobs =`` in [tool.gradcheck-suite]): a number of worker processes, or ``auto`` —
#: one per usable core (at most :data:`AUTO_MAX_WORKERS`), at most one per case, none on a one-core
#: machine (the cases are then checked in the main process, as with ``--jobs 1``).  With workers the
#: main process reads the case files and writes the reports while they import torch and check; results
#: are identical either way.
JOBS_AUTO = "auto"
DEFAULT_JOBS = JOBS_AUTO
#: the most workers ``auto`` starts: each holds its own torch (100-250 MB once its pages part from the
#: server's), and beyond a few the main process's reading and writing is what the run waits for (the
#: bundled library: 2.2 s of it against 7.5 s of checking spread over the workers)
AUTO_MAX_WORKERS = 8
#: environment variable naming the folder where ``gradcheck-suite ops`` keeps the primitives' symbolic
#: texts between runs (empty: no cache; unset: the user's cache folder — ops/symbolic_text.py)
CACHE_ENV = "GRADCHECK_SUITE_CACHE"
#: dtypes a case or a subject may be checked in
DTYPES = ("float64", "float32")
#: kinds of tolerance a check uses (defaults per dtype in harness/tolerances.py; a team's
#: [tool.gradcheck-suite.tolerances] replaces them by these names)
TOLERANCE_KINDS = ("analytic", "fd", "expect")

# ---- reports -----------------------------------------------------------------------

#: report formats of ``run --format`` and the file each writes into ``--out``
FORMAT_FILES = MappingProxyType({
    "csv": "results.csv",
    "html": "report.html",
    "junit": "junit.xml",
    "md": "summary.md",
    "json": "results.json",
})
FORMATS = tuple(FORMAT_FILES)
#: with ``html``, the answer key is written beside ``report.html``: an index page of every case …
ANSWER_KEY_FILE = "answer-key.html"
#: … and one page per case in this folder (``answer-key/CASE.html``), which report.html's cards link to
ANSWER_KEY_DIR = "answer-key"

# ---- exit codes --------------------------------------------------------------------

EXIT_OK, EXIT_FAIL, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
