"""Many cases: selection, shards, parallel processes, time limits, progress — one table.

Cases run in this process (``jobs=1``), in a pool of worker processes (``jobs>1`` or
``auto``: :mod:`.workers`; results identical to a serial run: every number depends only
on the case and the seed), or — when ``time_limit`` is set — each in its own worker process that is
terminated when it runs out of time.  Without ``time_limit`` a case still stops after
:data:`DEFAULT_TIME_LIMIT` seconds: a cheap in-process alarm (no process per case),
so that one pathological case cannot hang the gate; it interrupts Python code between
numpy calls, while the explicit limit's process can be killed anywhere.
"""
from __future__ import annotations

import functools
import multiprocessing
import multiprocessing.connection
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from ..budget import OutOfTime, deadline
from ..case import Case
from ..contract import DEFAULT_THRESHOLD
from ..errors import EvalError, GradcheckError, SkippedPath
from ..shard import in_shard
from .table import CaseResult, sort_table, sorted_rows
from .workers import collect_less, context, init_worker, pool_size, start_workers, usable_cores, watch_parent
from .verdict import COLUMNS, make_row

if TYPE_CHECKING:  # pandas only where a table is made: a worker process hands on plain rows
    import pandas as pd

__all__ = ["RunResult", "run_cases", "select", "load_error_rows", "start_workers", "pool_size", "usable_cores",
           "DEFAULT_TIME_LIMIT"]

#: seconds a case may take when no time limit is given (generous: the slowest bundled case takes ~1 s)
DEFAULT_TIME_LIMIT = 600.0


@dataclass
class RunResult:
    """All rows of a run (load errors included), the cases run, the load errors and the arrays."""

    table: pd.DataFrame
    cases: list[Case] = field(default_factory=list)
    errors: list[GradcheckError] = field(default_factory=list)
    arrays: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    incomplete: bool = False
    #: case name → what ``run_cases(after=...)`` returned for the case (where it was checked)
    per_case: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0: every row passed (nondiff/skip allowed); 1: a ``fail``; 2: an ``error``."""
        statuses = set(self.table["status"]) if len(self.table) else set()
        return 2 if "error" in statuses else 1 if "fail" in statuses else 0


def select(cases: Iterable[Case], *, name_filter: str | None = None, tags: Sequence[str] | None = None,
           shard: tuple[int, int] | None = None) -> list[Case]:
    """Cases whose name contains ``name_filter``, carrying any of ``tags``, in shard ``(k, n)`` (1-based)."""
    if shard is not None:
        k, n = shard
        if not 1 <= k <= n:
            raise ValueError(f"shard ({k}, {n}): K must be between 1 and N (shards are numbered from 1)")
    out = []
    for case in cases:
        if name_filter and name_filter not in case.name:
            continue
        if tags and not set(tags) & set(case.tags):
            continue
        if shard is not None and not in_shard(case.name, *shard):
            continue
        out.append(case)
    return out


def load_error_rows(errors: Iterable[GradcheckError], seed: int) -> list[dict[str, Any]]:
    """One ``error`` row (check ``load``) per file or case that could not be loaded, and one
    ``skip`` row per path a folder walk left out (a link leaving the folder, a FIFO, a loop)."""
    return [make_row(case=err.case or "", file=err.file or "", check="load",
                     status="skip" if isinstance(err, SkippedPath) else "error", message=str(err),
                     seed=seed) for err in errors]


def _work(case: Case, dtypes, seed, mode, threshold, plugins=(), tolerances=None, order=None, after=None,
          total: int = 0, *, alarm: bool = True) -> CaseResult:
    result = _check(case, dtypes, seed, mode, threshold, plugins, tolerances, order, alarm)
    if after is not None:
        result.after = after(result, total)
    return result


def _pooled_work(*args) -> CaseResult:
    """:func:`_work` in a pool's worker: the result goes back without its case, which the run that
    sent it still holds (half of what a worker would pickle and the main process unpickle)."""
    result = _work(*args)
    result.case = None
    return result


def _check(case: Case, dtypes, seed, mode, threshold, plugins, tolerances, order, alarm: bool) -> CaseResult:
    from .checks import check_case  # torch: in the process that checks, never in a pool's main process

    limit = DEFAULT_TIME_LIMIT
    try:
        if plugins:  # a worker process loads what the parent loaded (idempotent in the parent itself)
            from ..plugins import load_plugins

            load_plugins(plugins, entry_points=False)
        options = dict(dtypes=dtypes, seed=seed, mode=mode, threshold=threshold, tolerances=tolerances)
        if order is not None:
            options["order"] = order
        if not alarm:  # the caller's process-level limit is in charge
            return check_case(case, **options)
        with deadline(limit):
            return check_case(case, **options)
    except OutOfTime:
        return _error_result(case, dtypes, seed, str(EvalError(
            f"timed out after {limit:g} s (the default limit per case; --time-limit sets another)",
            file=case.file, case=case.name)))
    except GradcheckError as exc:  # a plugin that cannot be loaded in the worker
        return _error_result(case, dtypes, seed, str(exc))
    except Exception as exc:  # a bug in the harness or a primitive: an error row, never a lost case
        text = f"internal error while checking: {type(exc).__name__}: {exc}".splitlines()[0]
        return _error_result(case, dtypes, seed, str(EvalError(text, file=case.file, case=case.name)))


def _error_result(case: Case, dtypes, seed, message: str) -> CaseResult:
    rows = [make_row(case=case.name, file=case.file, dtype=d, check="evaluate", status="error", message=message,
                     seed=seed) for d in (dtypes or case.dtypes)]
    return CaseResult(case, rows=sorted_rows(rows))


def _timed_entry(conn, args) -> None:
    watch_parent()
    collect_less()
    try:
        conn.send(_work(*args, alarm=False))
    finally:
        conn.close()


def _with_limit(cases: list[Case], args: Callable[[Case], tuple], jobs: int, limit: float,
                done: Callable[[Case, CaseResult], None]) -> None:
    """Each case in its own process, at most ``jobs`` at once, terminated after ``limit`` seconds."""
    ctx = context(timed=True)
    queue = list(cases)
    live: dict[Any, tuple[Case, Any, float]] = {}
    try:
        while queue or live:
            while queue and len(live) < jobs:
                case = queue.pop(0)
                parent, child = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_timed_entry, args=(child, args(case)), daemon=True)
                proc.start()
                child.close()
                live[parent] = (case, proc, time.monotonic() + limit)
            now = time.monotonic()
            wait = max(0.0, min(d for _, _, d in live.values()) - now)
            ready = multiprocessing.connection.wait(list(live), timeout=wait)
            for conn in ready:
                case, proc, _ = live.pop(conn)
                try:
                    result = conn.recv()
                except EOFError:
                    proc.join()
                    result = _error_result(case, args(case)[1], args(case)[2], str(EvalError(
                        f"worker died while checking this case ({_death(proc.exitcode)}); the other cases "
                        "were checked", file=case.file, case=case.name)))
                proc.join()
                done(case, result)
            now = time.monotonic()
            for conn, (case, proc, deadline) in list(live.items()):
                if now >= deadline:
                    proc.terminate()
                    proc.join()
                    live.pop(conn)
                    done(case, _error_result(case, args(case)[1], args(case)[2], str(EvalError(
                        f"timed out after {limit:g} s", file=case.file, case=case.name))))
    finally:
        for _, proc, _ in live.values():
            proc.terminate()
            proc.join()


def run_cases(cases: list[Case], *, errors: Sequence[GradcheckError] = (), dtypes: list[str] | None = None,
              seed: int = 0, mode: str | None = None, threshold: int = DEFAULT_THRESHOLD, jobs: int | str = 1,
              time_limit: float | None = None, progress: Callable[..., None] | None = None,
              plugins: Sequence[str] = (), tolerances: Mapping | None = None, order: int | None = None,
              after: Callable[[CaseResult, int], Any] | None = None,
              meanwhile: Callable[[bool], Any] | None = None) -> RunResult:
    """Check ``cases`` (already selected) and gather one table; see :func:`gradcheck_suite.api.run`.

    ``after(result, cases)`` — a picklable function of a case's :class:`CaseResult` and the run's
    number of cases — is per-case work worth spreading over the workers (a renderer's, e.g. the
    answer key's page): it runs in the worker that checked the case, right after its checks, and
    what it returns is kept in ``RunResult.per_case[case name]``.  Only in a pool of two or more
    workers: with one process there is nothing to spread, and under ``time_limit`` each case has a
    fresh process that would import what ``after`` needs again; the caller then does the work
    itself for the cases missing from ``per_case``.  ``meanwhile(spread)`` runs once in this process, in
    a thread, while a pool's workers start and check, e.g. to import what the caller needs next —
    ``spread``: whether ``after`` runs in the workers (False: the caller will do that work itself, and
    may want to import what it takes now).  The run waits for it before it returns, and raises what
    it raised.
    """
    results: dict[str, CaseResult] = {}
    total = len(cases)

    def done(case: Case, result: CaseResult) -> None:
        results[case.name] = result
        if progress is not None:
            progress(len(results), total, case.name)

    workers = pool_size(jobs, len(cases))
    spread = after if workers >= 2 and not time_limit else None

    def args(case: Case) -> tuple:
        return (case, dtypes, seed, mode, threshold, tuple(plugins), dict(tolerances or {}) or None, order,
                spread, total)

    try:
        if time_limit:
            _with_limit(cases, args, max(1, workers), float(time_limit), done)
        elif workers:
            # before the pool: its first submit waits until the workers' server has imported torch
            finish_meanwhile = _aside(None if meanwhile is None else functools.partial(meanwhile, spread is not None))
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=context(), initializer=init_worker,
                                       initargs=(workers,))
            broken: list[Case] = []
            try:
                futures = {pool.submit(_pooled_work, *args(c)): c for c in cases}
                for future in _as_completed(futures):
                    try:
                        result = future.result()
                    except BrokenProcessPool:  # a worker died (OOM-kill, segfault): which case killed it?
                        broken.append(futures[future])
                        continue
                    result.case = futures[future]
                    done(futures[future], result)
            except KeyboardInterrupt:  # Ctrl-C: drop the cases not started, stop the running ones
                _stop(pool)
                raise
            finally:
                pool.shutdown(wait=False, cancel_futures=True)
            finish_meanwhile()
            if broken:  # each again in a process of its own: the one that dies again gets the error row
                position = {c.name: i for i, c in enumerate(cases)}  # (``order`` is the derivative order)
                _with_limit(sorted(broken, key=lambda c: position[c.name]), args, workers, DEFAULT_TIME_LIMIT, done)
        else:
            for case in cases:
                done(case, _work(*args(case)))
    except KeyboardInterrupt as exc:
        exc.partial = _gather(cases, results, errors, seed, incomplete=True)  # type: ignore[attr-defined]
        raise
    return _gather(cases, results, errors, seed)


def _aside(work: Callable[[], Any] | None) -> Callable[[], None]:
    """Start ``work()`` in a thread of this process; the function returned waits for it to end and
    raises what it raised.  (A daemon thread: an interrupted run does not wait for it.)"""
    if work is None:
        return lambda: None
    failed: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread below
            failed.append(exc)

    thread = threading.Thread(target=run, name="gradcheck-meanwhile", daemon=True)
    thread.start()

    def finish() -> None:
        thread.join()
        if failed:
            raise failed[0]

    return finish


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool at once: cancel the cases not started and terminate the workers, so that the
    interpreter's exit does not wait for a case still running (the executor keeps its processes
    in ``_processes``; Python 3.14's ``terminate_workers`` does the same)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        proc.terminate()


def _death(exitcode: int | None) -> str:
    """How a worker process ended, in words."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = ": killed, perhaps by the out-of-memory killer" if name == "SIGKILL" else ""
        return f"{name}{hint}"
    return f"exit code {exitcode}"


def _as_completed(futures):
    from concurrent.futures import as_completed

    return as_completed(futures)


def _gather(cases: list[Case], results: dict[str, CaseResult], errors: Sequence[GradcheckError], seed: int,
            incomplete: bool = False) -> RunResult:
    rows: list[dict[str, Any]] = load_error_rows(errors, seed)
    arrays: dict = {}
    per_case: dict[str, Any] = {}
    finished = [c for c in cases if c.name in results]
    for case in finished:
        rows.extend(results[case.name].rows)
        arrays.update(results[case.name].arrays)
        if results[case.name].after is not None:
            per_case[case.name] = results[case.name].after
    order = {c.name: {n: i for i, n in enumerate(c.graph.inputs)} for c in finished}
    if rows:
        table = sort_table(rows, order)
    else:
        import pandas as pd

        table = pd.DataFrame(columns=COLUMNS)
    return RunResult(table, finished, list(errors), arrays, incomplete, per_case)
