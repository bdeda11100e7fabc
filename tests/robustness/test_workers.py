"""Worker processes (issue 18, items 6 and 16): a dying worker costs one case, a dead run leaves no worker.

A worker that dies (an OOM-kill, a segfault) used to break the whole pool: ``BrokenProcessPool``,
no reports. Here a case carries an object whose unpickling ends the worker process (what an
OOM-kill does, made deterministic); it gets an ``error`` row "worker died", every other case
is checked.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from gradcheck_suite import api
from tests.robustness.slow_cases import SLOW


class _DiesInTheWorker:
    """Unpickled only in a worker process: ends it at once, as the OOM killer would."""

    def __reduce__(self):
        return (os._exit, (3,))


def _cases(tmp_path):
    text = "cases:\n" + "".join(f"  - name: c{i}\n    inputs: {{x: 0.{i + 1}}}\n    expr: sin(x) * x\n"
                                for i in range(4))
    (tmp_path / "c.yaml").write_text(text)
    loaded = api.load([tmp_path / "c.yaml"])
    assert not loaded.errors
    cases = loaded.cases
    cases[1].tags = [_DiesInTheWorker()]
    return cases


@pytest.mark.parametrize("options", [{"jobs": 2}, {"jobs": 2, "time_limit": 120}])
def test_a_worker_that_dies_is_one_error_row_and_every_other_case_is_checked(tmp_path, options):
    result = api.run(_cases(tmp_path), **options)
    table = result.table
    died = table[table["case"] == "c1"]
    assert list(died["status"]) == ["error"] and list(died["check"]) == ["evaluate"]
    (message,) = died["message"]
    assert "worker died while checking this case (exit code 3); the other cases were checked" in message
    others = table[table["case"] != "c1"]
    assert set(others["case"]) == {"c0", "c2", "c3"} and set(others["status"]) == {"pass"}
    assert result.exit_code == 2


def _children(pid):
    """Every process descending from ``pid`` (from /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except OSError:
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process tree from /proc")
def test_workers_exit_when_the_run_is_killed(tmp_path):
    (tmp_path / "a.yaml").write_text(SLOW)
    (tmp_path / "b.yaml").write_text(SLOW.replace("slow_matmul_chain", "slow_two"))
    proc = subprocess.Popen([sys.executable, "-m", "gradcheck_suite", "run", ".", "--jobs", "2", "--out", "out",
                             "-q"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        workers: set[int] = set()
        while len(workers) < 3 and time.monotonic() < deadline:  # the forkserver and two workers
            time.sleep(0.5)
            workers = {p for p in _children(proc.pid)}
        assert len(workers) >= 3, workers
        time.sleep(2)  # they are computing
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        start = time.monotonic()
        while any(_alive(p) for p in workers) and time.monotonic() - start < 20:
            time.sleep(0.2)
        left = [p for p in workers if _alive(p)]
        assert left == [], f"still computing {time.monotonic() - start:.0f} s after the kill: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in _children(proc.pid) if proc.poll() is None else ():
            os.kill(p, signal.SIGKILL)
