"""The Python API: load case files, check them, get one tidy table.

::

    from gradcheck_suite import api

    loaded = api.load(["cases/"])                 # LoadResult: .cases, .errors, .files
    one = api.check_case(loaded.cases[0])         # CaseResult: .table, .arrays
    result = api.run(["cases/"], dtypes=["float64", "float32"], jobs=2)
    result.table        # pandas DataFrame, one row per check (columns below)
    result.exit_code    # 0 all pass/nondiff/skip · 1 any fail · 2 any error

``load(paths, *, element_limit=10**7) -> LoadResult``
    Every case file under ``paths`` (files or directories); errors are collected, never raised.

``check_case(case, *, dtypes=None, seed=0, mode=None, threshold=2000, order=None) -> CaseResult``
    All checks of one :class:`~gradcheck_suite.case.Case`.  ``dtypes`` replaces the
    case's own list (``["float64"]`` by default in a case file); ``seed`` shifts every
    generated input value and the projection probes; ``mode`` (``auto``/``full``/
    ``projected``) replaces the case's; in ``auto`` mode an input with more than
    ``threshold`` elements is checked by random projections; ``order=2`` adds the
    second-order (Hessian) checks to a case that does not ask for them itself.

``run(paths_or_cases, *, name_filter=None, tags=None, dtypes=None, seed=0, mode=None,
threshold=2000, jobs=1, shard=None, time_limit=None, progress=None, order=None) -> RunResult``
    Paths are loaded (their load errors become ``error`` rows with check ``load``);
    :class:`Case` objects are used as they are.  ``name_filter`` keeps names containing
    the substring, ``tags`` cases with any of the tags, ``shard=(k, n)`` the k-th of n
    stable shards (1-based, by SHA-256 of the name; a load error goes to the shard of its
    file's path, so exactly one shard reports it).  ``jobs > 1`` runs cases in
    worker processes (identical results), ``jobs="auto"`` one per usable core (the command
    line's default; none on a one-core machine); ``time_limit`` (seconds per case) runs each
    case in a process that is terminated on time-out (an ``error`` row "timed out
    after N s"); without it a case is still stopped after
    ``harness.run.DEFAULT_TIME_LIMIT`` (600 s) by an in-process alarm.  ``progress(done, total, case_name)`` is called after every case.
    ``RunResult`` has ``.table``, ``.cases`` (the cases run), ``.errors`` (load
    errors), ``.arrays`` and ``.exit_code``.  On Ctrl-C the KeyboardInterrupt carries
    ``.partial``: the RunResult of the cases that finished (``incomplete=True``).

The table (:data:`COLUMNS`, in this order), one row per case × dtype × input × check:
``case, file, dtype, input, shape, check, status, max_abs_err, max_rel_err, atol, rtol,
fd_err_est, worst_index, actual, expected, method, mode, message, seed, time_hand_s,
time_torch_s, time_fd_s``.  ``check`` is one of ``hand_vs_torch``, ``hand_vs_fd``,
``torch_vs_fd``, ``expect_vs_torch``, the subject checks (``contract.CHECKS``), or
``evaluate``/``load`` for error rows, whose ``input`` is empty; ``status`` one of ``pass``, ``fail``, ``nondiff``, ``error``,
``skip``.  An element passes when ``|actual − expected| ≤ atol + rtol·|expected|``
(+ ``fd_err_est`` for FD rows); ``atol`` is the value actually used (already scaled)
and ``fd_err_est`` the FD error estimate at the worst element, so the rule holds with
the row's own numbers.  The defaults are documented in
:mod:`gradcheck_suite.harness.tolerances`.  ``worst_index`` indexes the compared
array (the gradient, or the Jacobian ``output shape + input shape``); ``actual`` and
``expected`` are the two values there.  Rows with ``mode == "projected"`` compare
projected scalars: their bound is ``atol + rtol·M + fd_err_est`` with ``M`` (the sum of
the magnitudes of the projected terms) given in the message, and ``worst_index`` is "".
``method`` is the FD method (``complex-step``, ``richardson``; "" for non-FD rows).

``check_function(fn, inputs, *, reference=None, backward=None, cache=False, dtypes=("float64",),
seed=0, mode=None, threshold=2000, name=None, forward_ad=None, double_backward=None,
tolerance=None, tolerances=None) -> RunResult``
    Your own gradient code (a torch callable, or a numpy forward with its ``backward``)
    checked against finite differences of its own forward and, where given, a
    reference; see docs/subjects.md.  ``check_case(..., subject=...)`` binds a subject
    to a case directly; ``run(..., plugins=[...])`` loads plugin modules (also in the
    worker processes); ``tolerances`` replaces default tolerances per ``(dtype, kind)``.

Scripts that use ``jobs > 1``, ``jobs="auto"`` or ``time_limit`` start worker processes with the
``forkserver`` method and need the usual ``if __name__ == "__main__":`` guard.

``arrays[(case, dtype, input)]`` holds, for compared arrays of at most 400 elements,
``ours``, ``torch``, ``fd``, ``abs_err`` (|ours − torch|), ``fd_err_est``, ``nondiff``
(bool mask) and ``kind`` (``gradient``/``jacobian``) for the HTML report.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from .case import Case
from .contract import DEFAULT_THRESHOLD, DTYPES, JOBS_AUTO, MODES, ORDERS
from .harness.table import CaseResult
from .harness.run import DEFAULT_TIME_LIMIT, RunResult, pool_size, run_cases, select, start_workers
from .harness.verdict import CHECKS, COLUMNS, STATUSES
from .shard import error_in_shard

__all__ = ["load", "check_case", "run", "check_function", "CaseResult", "RunResult", "COLUMNS", "CHECKS",
           "STATUSES"]


def load(paths: Iterable[str | Path] | str | Path, *, element_limit: int = 10**7, **options: Any):
    """Load every case file under ``paths``; returns the loader's ``LoadResult``.

    ``options`` are those of :func:`gradcheck_suite.loader.load_paths` (``max_file_size``,
    ``cost_limit``, ``time_limit``, ``follow_symlinks``; see docs/robustness.md).
    """
    from .loader import load_paths

    if isinstance(paths, (str, Path)):
        paths = [paths]
    return load_paths(list(paths), element_limit=element_limit, **options)




def _validate(dtypes: Sequence[str] | None, mode: str | None, seed: int, order: int | None = None) -> None:
    for d in dtypes or ():
        if d not in DTYPES:
            raise ValueError(f"unknown dtype {d!r}: use one of {', '.join(DTYPES)}")
    if mode is not None and mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    if seed is not None and int(seed) < 0:
        raise ValueError(f"the seed must be a non-negative integer, got {seed}")
    if order is not None and order not in ORDERS:
        raise ValueError(f"unknown order {order!r}: use one of {', '.join(map(str, ORDERS))}")


def check_case(case: Case, *, dtypes: Sequence[str] | None = None, seed: int = 0, mode: str | None = None,
               threshold: int = DEFAULT_THRESHOLD, subject: Any = None,
               tolerances: Mapping[tuple[str, str], tuple[float, float]] | None = None,
               order: int | None = None) -> CaseResult:
    """Every check of one case; see the module docstring (ValueError for an unknown dtype, mode or order)."""
    from .harness.checks import check_case as _check_case

    _validate(dtypes, mode, seed, order)
    return _check_case(case, dtypes=list(dtypes) if dtypes else None, seed=seed, mode=mode,
                       threshold=DEFAULT_THRESHOLD if threshold is None else int(threshold), subject=subject,
                       tolerances=tolerances, order=order)


def run(paths_or_cases: Iterable[str | Path | Case] | str | Path | Case, *, name_filter: str | None = None,
        tags: Sequence[str] | None = None, dtypes: Sequence[str] | None = None, seed: int = 0,
        mode: str | None = None, threshold: int = DEFAULT_THRESHOLD, jobs: int | str = 1,
        shard: tuple[int, int] | None = None,
        time_limit: float | None = None, progress: Callable[..., None] | None = None,
        element_limit: int = 10**7, load_options: dict[str, Any] | None = None, plugins: Sequence[str] = (),
        tolerances: Mapping[tuple[str, str], tuple[float, float]] | None = None,
        order: int | None = None, after: Callable[..., Any] | None = None,
        meanwhile: Callable[[bool], Any] | None = None) -> RunResult:
    """Load (where given paths), select and check cases; see the module docstring (``after`` and
    ``meanwhile``: :func:`gradcheck_suite.harness.run.run_cases`)."""
    _validate(dtypes, mode, seed, order)
    jobs = 1 if jobs is None else jobs
    if jobs != JOBS_AUTO and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be a whole number ≥ 1 or {JOBS_AUTO!r}, got {jobs!r}")
    if plugins:  # idempotent: the CLI has loaded them already; a script may not have
        from .plugins import load_plugins

        load_plugins(plugins, entry_points=False)
    if isinstance(paths_or_cases, (str, Path, Case)):
        paths_or_cases = [paths_or_cases]
    items = list(paths_or_cases)
    cases = [c for c in items if isinstance(c, Case)]
    paths = [p for p in items if not isinstance(p, Case)]
    errors: list[Any] = []
    if paths and (pool_size(jobs) or time_limit):
        start_workers(timed=bool(time_limit))  # the worker server imports torch while the files are read
    if paths:
        options = {"time_limit": time_limit or DEFAULT_TIME_LIMIT, **(load_options or {})}
        loaded = load(paths, element_limit=element_limit, **options)
        cases += loaded.cases
        errors = list(loaded.errors) + list(loaded.skipped)  # skipped paths become `skip` rows
        if shard:  # a load error belongs to one shard: the shard of its file's path
            errors = [e for e in errors if error_in_shard(e.file or "", *shard)]
    chosen = select(cases, name_filter=name_filter, tags=tags, shard=tuple(shard) if shard else None)
    return run_cases(chosen, errors=errors, dtypes=list(dtypes) if dtypes else None, seed=seed, mode=mode,
                     threshold=DEFAULT_THRESHOLD if threshold is None else int(threshold),
                     jobs=jobs, time_limit=time_limit, progress=progress,
                     plugins=list(plugins), tolerances=tolerances, order=order, after=after,
                     meanwhile=meanwhile)


def check_function(fn: Callable[..., Any] | None, inputs: Sequence[Any] | Mapping[str, Any] | None = None, *,
                   reference: Case | Callable[..., Any] | None = None, backward: Callable[..., Any] | None = None,
                   cache: bool = False, dtypes: Sequence[str] = ("float64",), seed: int = 0,
                   mode: str | None = None, threshold: int = DEFAULT_THRESHOLD, name: str | None = None,
                   forward_ad: bool | None = None, double_backward: bool | None = None,
                   tolerance: Mapping[str, float] | None = None,
                   tolerances: Mapping[tuple[str, str], tuple[float, float]] | None = None) -> RunResult:
    """Check your own gradient code; the same table and exit code as :func:`run`.

    Without ``backward``, ``fn`` is a torch callable (``MyFunction.apply``, a module's
    forward) differentiated by torch.autograd; with it, ``fn`` is a numpy forward and
    ``backward(g, *inputs)`` its hand-written backward (``cache=True``: ``fn`` returns
    ``(out, cache)`` and ``backward(g, cache)``).  ``inputs`` is a list of arrays (named
    ``x0, x1, …``) or a mapping name → array.

    ``reference`` is what the function is held to besides finite differences of its own
    forward: a :class:`Case` (then ``inputs`` stay None: the case's point is used, with
    every check of the case), or a torch callable of the same inputs (``subject_forward``
    and ``subject_vs_torch`` against torch.autograd on it).  Torch subjects are also
    checked in forward mode and through their double backward where they support them
    (or where asked: ``forward_ad=True``, ``double_backward=True``; ``False`` turns a
    check off).
    """
    from .harness.checks import check_case as _check_case, check_point, sort_table
    from .harness.prepare import function_point, subject_code, subject_routes
    from .harness.routes import USER_ERRORS, TorchCallable, TorchGraphRoute
    from .harness.verdict import make_row
    from .subjects import make_subject

    _validate(dtypes, mode, seed)
    subject = make_subject(fn, backward=backward, cache=cache, forward_ad=forward_ad,
                           double_backward=double_backward, name=name)
    label = subject.name
    if isinstance(reference, Case):
        if inputs is not None:
            raise ValueError("check_function: with a case as the reference the case's inputs are used; "
                             "leave inputs=None")
        result = _check_case(reference, dtypes=list(dtypes), seed=seed, mode=mode, threshold=int(threshold),
                             subject=subject, tolerances=tolerances)
        rows = result.rows
        return RunResult(sort_table(rows, {reference.name: {n: i for i, n in enumerate(reference.graph.inputs)}}),
                         [reference], [], result.arrays)
    if inputs is None:
        raise ValueError("check_function needs inputs (a list of arrays or a mapping name → array)")
    import numpy as np

    named = dict(inputs) if isinstance(inputs, Mapping) else {f"x{i}": v for i, v in enumerate(inputs)}
    values = {k: np.asarray(v, dtype=np.float64) for k, v in named.items()}
    if fn is None:
        raise ValueError("check_function needs the forward (fn) to take finite differences of")
    file = subject.origin
    rows: list[dict[str, Any]] = []
    for dtype in dtypes:
        code = subject_code(subject, list(values))
        try:
            if reference is not None:
                ref = TorchCallable(reference, list(values), "the reference")
                tev = ref.evaluation(values, dtype, list(values))
                output = tev.output.detach().numpy()
            else:
                tev, output = None, np.asarray(code.forward(values, dtype))
        except USER_ERRORS as exc:
            who = "the reference" if reference is not None else subject.describe()
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            rows.append(make_row(case=label, file=file, dtype=dtype, seed=seed, check="evaluate", status="error",
                                 message=f"{who} raised {type(exc).__name__}: {text}"))
            continue
        point = function_point(label, file, values, dtype, seed, mode or "auto", output, tolerance, tolerances)
        routes = subject_routes(point, subject, rows, reference=reference is not None)
        if tev is not None:
            point.tev = tev
            routes["torch"] = TorchGraphRoute(point)
        check_point(point, routes, rows, None, int(threshold))
    return RunResult(sort_table(rows, {label: {n: i for i, n in enumerate(values)}}), [], [], {})
