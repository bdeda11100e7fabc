"""What the workers' forkserver does once it has imported what every worker needs (imported last by
the server: :data:`.workers.PRELOAD`).

* **It freezes what it imported out of the garbage collector** (``gc.freeze``).  The server holds
  torch and the harness: hundreds of thousands of objects that live as long as the process.  Every
  worker forked from it inherits them, and each full collection in a worker walked them all again
  (0.1-0.2 s of each worker's time on the library) and wrote to the memory pages the worker shares
  with the server.  Frozen, a collection leaves them alone.
* **It leaves at once when its run is over.**  Left to itself, the server's exit tears all of torch
  down (0.4-1 s), and since it shares the run's stdout and stderr, whatever reads the run's output
  to its end — a CI log, ``| tee``, a program capturing it — waits that long after the run itself
  has ended.  The server has nothing to flush or clean up, so its first exit handler ends the
  process there.  (Workers forked from it end through multiprocessing's own ``os._exit``, which
  runs no exit handlers.)

Only in the forkserver: imported anywhere else — a test, a program — this module does nothing,
so it can never turn another process's exit code into 0 nor change how another process collects.
"""
from __future__ import annotations

import atexit
import gc
import os
import sys

__all__ = ["imported_by_the_forkserver"]


def imported_by_the_forkserver() -> bool:
    """Whether this import comes from the preload loop of multiprocessing's forkserver."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "main" and frame.f_globals.get("__name__") == "multiprocessing.forkserver":
            return True
        frame = frame.f_back
    return False


if imported_by_the_forkserver():
    gc.freeze()
    atexit.register(os._exit, 0)
