"""Worker processes of a run: how many, and the forkserver they come from.

Light on purpose (no pandas, no torch): the command line starts the forkserver with this
module before it imports anything heavy, so that the server's imports (torch: seconds)
overlap with the main process's own imports and with reading the case files.  Workers
come from a *forkserver* that imported the package before torch did any work, so no
thread pool is forked mid-flight.
"""
from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.connection
import os
import threading

from ..contract import AUTO_MAX_WORKERS, JOBS_AUTO

__all__ = ["pool_size", "usable_cores", "AUTO_MAX_WORKERS", "context", "start_workers", "watch_parent", "init_worker", "PRELOAD",
           "TIMED_PRELOAD", "GC_THRESHOLD", "collect_less"]


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system says it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def pool_size(jobs: int | str, cases: int | None = None) -> int:
    """How many worker processes check ``cases`` cases for ``jobs`` (a number or ``auto``);
    0: in this process.  ``auto`` takes one per usable core (at most :data:`AUTO_MAX_WORKERS`), at
    most one per case, and none on a one-core machine; a number takes that many when there is more
    than one case.  ``cases`` None: before the cases are known (may the run use workers at all?)."""
    many = cases is None or cases > 1
    if jobs == JOBS_AUTO:
        cores = min(usable_cores(), AUTO_MAX_WORKERS)
        return 0 if cores < 2 or cases == 0 else min(cores, cores if cases is None else cases)
    jobs = int(jobs or 1)
    return min(jobs, jobs if cases is None else cases) if jobs > 1 and many else 0


#: what every worker needs, imported once in the forkserver (the harness imports torch lazily; a
#: worker makes no DataFrame, so pandas is not among them); last, what the server does once it is
#: ready (:mod:`.server_ready`: it freezes its objects out of the garbage collector, and leaves at
#: once at the end)
PRELOAD = ("torch", "gradcheck_suite.harness.run", "gradcheck_suite.harness.checks", "gradcheck_suite.ops.table",
           "gradcheck_suite.harness.server_ready")
#: … and under a time limit also what torch imports lazily on its first batched backward pass
#: (sympy, for the seed's shape check: 0.3-2 s that would count against that case's limit; the
#: harness pulls up to ``torch_ref.LOOP_ROWS`` cotangents back one at a time, which needs none)
TIMED_PRELOAD = PRELOAD[:-1] + ("torch.fx.experimental.symbolic_shapes",) + PRELOAD[-1:]


def context(timed: bool = False):
    """The forkserver context every worker process of a run comes from (``timed``: for a run under a
    time limit; only the call that starts the server decides what it imports)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(TIMED_PRELOAD if timed else PRELOAD))
    return ctx


def start_workers(timed: bool = False) -> None:
    """Start the forkserver now, so that it imports torch while the caller loads its cases.

    The server is a fresh interpreter: its imports (2-3 s) would otherwise come after
    loading, before the first case.  Calling this more than once is harmless.
    """
    context(timed)
    from multiprocessing import forkserver

    forkserver.ensure_running()


def watch_parent() -> None:
    """Exit this worker process as soon as the run that started it is gone (a daemon thread).

    The worker's parent process keeps a pipe to it open; when that process dies, even by
    SIGKILL, the pipe reaches end-of-file and the worker stops at once instead of
    finishing a case nobody will read.  (The forkserver cannot do this for us: the
    workers hold its "alive" pipe themselves, so it outlives its parent as long as they do.)
    """
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="gradcheck-watch-parent", daemon=True).start()


#: the first generation's threshold of the garbage collector in the processes of a run (the command's and
#: its workers'; Python's default is 700): a run makes container objects by the million — rows, trace
#: entries, parts of pages — nearly all freed by their reference counts, and a collection every 700 of
#: them cost each worker 0.10 s and the command 0.15 s of the library's run (0.03 and 0.06 s at 10,000).
#: Cycles are still collected, a little later.
GC_THRESHOLD = 10_000


def collect_less() -> None:
    """Collect garbage less often in this process (:data:`GC_THRESHOLD`): for processes of our own
    only — the command's and the pool's workers — never a program that calls the API."""
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


def init_worker(workers: int) -> None:
    """A pool worker's start: it stops with its parent (:func:`watch_parent`), collects garbage less
    often (:func:`collect_less`), and torch's intra-op threads are shared out among the ``workers`` of
    the pool (two workers of two threads each on two cores spent 30% more CPU on the library, the
    threads waiting for each other)."""
    watch_parent()
    collect_less()
    import torch

    torch.set_num_threads(max(1, usable_cores() // max(1, workers)))
