"""The workers' forkserver leaves at once when its run is over (imported last by the server:
:data:`.workers.PRELOAD`).

The server is an interpreter holding torch.  Left to itself, its exit tears all of that down
(0.4-1 s), and since it shares the run's stdout and stderr, whatever reads the run's output to
its end — a CI log, ``| tee``, a program capturing it — waits that long after the run itself
has ended.  The server has nothing to flush or clean up, so its first exit handler ends the
process there.  (Workers forked from it end through multiprocessing's own ``os._exit``,
which runs no exit handlers.)

Only in the forkserver: imported anywhere else — a test, a program — this module does nothing,
so it can never turn another process's exit code into 0.
"""
from __future__ import annotations

import atexit
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
    atexit.register(os._exit, 0)
