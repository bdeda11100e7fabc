"""For tests/harness/test_workers.py: a forkserver preload whose exit handler leaves a file behind
(at $GRADCHECK_TEST_EXIT_MARKER), to see whether the server's exit handlers run; and a worker's
target that tells by its exit code whether it inherited frozen objects."""
import atexit
import gc
import os
import sys
from pathlib import Path


def exit_frozen() -> None:
    """A worker's target: exit 0 when objects are frozen out of the garbage collector here, else 3."""
    sys.exit(0 if gc.get_freeze_count() > 0 else 3)

_marker = os.environ.get("GRADCHECK_TEST_EXIT_MARKER")
if _marker:
    atexit.register(Path(_marker).write_text, "the server ran its exit handlers")
