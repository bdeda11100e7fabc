"""Worker processes by default (``--jobs auto``): how many, what the main process does without
torch, answer-key sections built in the workers, and the same reports as one process."""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from gradcheck_suite import api
from gradcheck_suite.contract import DEFAULT_JOBS, JOBS_AUTO
from gradcheck_suite.harness import workers

LIBRARY = """
cases:
  - name: a_sigmoid
    inputs: {x: {shape: [3], seed: 1}, w: {shape: [3]}}
    expr: sum(sigmoid(w * x))
  - name: b_matrix
    inputs: {A: {shape: [3, 3]}, v: {shape: [3]}}
    expr: tanh(A @ v)
  - name: c_broken
    inputs: {x: [-1.0]}
    expr: sum(log(x))
"""


@pytest.mark.parametrize("cores, cases, expected", [
    (2, 549, 2), (2, 1, 1), (8, 3, 3), (1, 549, 0), (2, 0, 0), (2, None, 2), (1, None, 0),
    (64, 549, workers.AUTO_MAX_WORKERS), (64, None, workers.AUTO_MAX_WORKERS), (64, 3, 3),
])
def test_auto_takes_one_worker_per_core_at_most_one_per_case_none_on_one_core(monkeypatch, cores, cases,
                                                                              expected):
    monkeypatch.setattr(workers, "usable_cores", lambda: cores)
    assert workers.pool_size(JOBS_AUTO, cases) == expected


@pytest.mark.parametrize("jobs, cases, expected", [(1, 10, 0), (2, 10, 2), (4, 2, 2), (3, 1, 0), (2, None, 2)])
def test_a_number_of_jobs_is_that_many_workers_for_more_than_one_case(jobs, cases, expected):
    assert workers.pool_size(jobs, cases) == expected


def test_the_command_line_default_is_auto_and_the_api_default_one_process():
    import inspect

    assert DEFAULT_JOBS == JOBS_AUTO
    assert inspect.signature(api.run).parameters["jobs"].default == 1


@pytest.mark.parametrize("jobs", [0, -1, "two", 1.5, True])
def test_the_api_refuses_a_bad_number_of_jobs(tmp_path, jobs):
    with pytest.raises(ValueError, match="jobs must be a whole number"):
        api.run([tmp_path], jobs=jobs)


_MAIN = """
import sys
import threading
from gradcheck_suite.cli import main
code = main(sys.argv[1:])
print("TORCH-IN-MAIN-PROCESS", "torch" in sys.modules)
sys.exit(code)
"""


def _run(tmp_path: Path, out: str, *jobs: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _MAIN, "run", "lib.yaml", "--out", out, "-q", *jobs],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_with_workers_the_main_process_never_imports_torch_and_writes_the_same_reports(tmp_path):
    (tmp_path / "lib.yaml").write_text(LIBRARY)
    pooled = _run(tmp_path, "pooled", "--jobs", "2")
    single = _run(tmp_path, "single", "--jobs", "1")
    assert pooled.returncode == single.returncode == 2, pooled.stdout + pooled.stderr  # c_broken: an error row
    assert "TORCH-IN-MAIN-PROCESS False" in pooled.stdout
    assert "TORCH-IN-MAIN-PROCESS True" in single.stdout  # the same question can say yes
    a = pd.read_csv(tmp_path / "pooled" / "results.csv").drop(columns=["time_hand_s", "time_torch_s", "time_fd_s"])
    b = pd.read_csv(tmp_path / "single" / "results.csv").drop(columns=["time_hand_s", "time_torch_s", "time_fd_s"])
    pd.testing.assert_frame_equal(a, b)
    pages = sorted(p.relative_to(tmp_path / "pooled") for p in (tmp_path / "pooled" / "answer-key").iterdir())
    assert [p.name for p in pages] == ["a_sigmoid.html", "b_matrix.html", "c_broken.html"]
    for page in pages:  # built in the workers, byte for byte what one process builds
        assert (tmp_path / "pooled" / page).read_text() == (tmp_path / "single" / page).read_text()
    assert "Answer key: b_matrix" in (tmp_path / "pooled" / "answer-key" / "b_matrix.html").read_text()
    assert "could not be evaluated" in (tmp_path / "pooled" / "answer-key" / "c_broken.html").read_text()


def test_pages_are_built_where_the_case_is_checked(tmp_path):
    from gradcheck_suite.report.pages import CasePages

    (tmp_path / "lib.yaml").write_text(LIBRARY)
    result = api.run([tmp_path / "lib.yaml"], jobs=2, after=CasePages())
    assert set(result.per_case) == {"a_sigmoid", "b_matrix", "c_broken"}
    why, fragment = result.per_case["b_matrix"].section
    assert why == "" and 'class="answer-key"' in fragment
    assert "<h3>Checks</h3>" in result.per_case["b_matrix"].card
    assert result.per_case["b_matrix"].rows == int((result.table["case"] == "b_matrix").sum())
    why, fragment = result.per_case["c_broken"].section
    assert "could not be evaluated" in why and fragment == ""
    assert api.run([tmp_path / "lib.yaml"], jobs=1).per_case == {}  # nothing asked, nothing kept
    # one process: nothing to spread; the renderers build the pages' parts when they render
    assert api.run([tmp_path / "lib.yaml"], jobs=1, after=CasePages()).per_case == {}


def test_jobs_auto_in_the_teams_configuration_and_on_the_command_line(tmp_path, capsys):
    from gradcheck_suite.cli import main
    from gradcheck_suite.config import ConfigError, read_config

    (tmp_path / "pyproject.toml").write_text('[tool.gradcheck-suite]\njobs = "auto"\n')
    assert read_config(tmp_path / "pyproject.toml").jobs == JOBS_AUTO
    (tmp_path / "pyproject.toml").write_text('[tool.gradcheck-suite]\njobs = "many"\n')
    with pytest.raises(ConfigError, match="jobs = 'many': expected a whole number ≥ 1 or 'auto'"):
        read_config(tmp_path / "pyproject.toml")
    with pytest.raises(SystemExit) as stop:  # argparse's usage error
        main(["run", str(tmp_path), "--jobs", "lots"])
    assert stop.value.code == 2
    assert "--jobs/-j: 'lots' is not a whole number (or auto)" in capsys.readouterr().err


def _torch_threads(result, cases):  # an ``after`` function: runs in the worker that checked the case
    import torch

    return torch.get_num_threads()


def test_pool_workers_share_the_cores_among_their_torch_threads(tmp_path):
    (tmp_path / "lib.yaml").write_text(LIBRARY)
    result = api.run([tmp_path / "lib.yaml"], jobs=2, after=_torch_threads)
    assert set(result.per_case.values()) == {max(1, workers.usable_cores() // 2)}


def test_meanwhile_runs_once_in_this_process_while_a_pool_checks(tmp_path):
    (tmp_path / "lib.yaml").write_text(LIBRARY)
    calls: list[int] = []
    result = api.run([tmp_path / "lib.yaml"], jobs=2, after=_torch_threads, meanwhile=calls.append)
    assert calls == [True] and len(set(result.table["case"])) == 3  # `after` ran in the workers
    api.run([tmp_path / "lib.yaml"], jobs=2, meanwhile=calls.append)
    assert calls == [True, False]  # nothing to spread
    api.run([tmp_path / "lib.yaml"], jobs="auto", after=_torch_threads, meanwhile=calls.append, name_filter="a_")
    one_case = [False] if workers.pool_size("auto", 1) else []  # a pool of one worker: `after` is the caller's
    assert calls == [True, False] + one_case
    api.run([tmp_path / "lib.yaml"], jobs=1, after=_torch_threads, meanwhile=calls.append)
    assert calls == [True, False] + one_case  # in one process nothing runs meanwhile


def test_meanwhile_runs_beside_the_pool_not_before_it(tmp_path):
    # meanwhile waits for the first case's result: it can only come while meanwhile still runs
    (tmp_path / "lib.yaml").write_text(LIBRARY)
    first = threading.Event()
    seen: list[bool] = []
    result = api.run([tmp_path / "lib.yaml"], jobs=2, meanwhile=lambda spread: seen.append(first.wait(120)),
                     progress=lambda done, total, name: first.set())
    assert seen == [True] and len(set(result.table["case"])) == 3


def test_what_meanwhile_raises_reaches_the_caller(tmp_path):
    (tmp_path / "lib.yaml").write_text(LIBRARY)

    def broken(spread: bool) -> None:
        raise LookupError("meanwhile failed")

    with pytest.raises(LookupError, match="meanwhile failed"):
        api.run([tmp_path / "lib.yaml"], jobs=2, meanwhile=broken)


_SERVER_SCRIPT = """
import multiprocessing, os, sys
from multiprocessing import forkserver
if __name__ == "__main__":
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(sys.argv[1:])
    proc = ctx.Process(target=os.getpid)
    proc.start()
    proc.join()
    print(forkserver._forkserver._forkserver_pid)
"""


def _server_exit_handlers_ran(tmp_path, preload: list[str]) -> bool:
    """Start a forkserver with ``preload`` in a program that then ends; did the server's exit
    handlers run when it followed?"""
    import os
    import time

    marker = tmp_path / f"marker-{len(list(tmp_path.iterdir()))}"
    env = {**os.environ, "GRADCHECK_TEST_EXIT_MARKER": str(marker)}
    done = subprocess.run([sys.executable, "-c", _SERVER_SCRIPT, *preload], capture_output=True, text=True,
                          env=env, cwd=Path(__file__).resolve().parents[2], timeout=120, check=True)
    pid = int(done.stdout.split()[-1])
    for _ in range(1200):  # the server follows its program within moments; generous for a loaded machine
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the forkserver outlived its program by a minute")
    return marker.exists()


def test_the_workers_server_leaves_without_tearing_down_what_it_imported(tmp_path):
    assert workers.PRELOAD[-1] == workers.TIMED_PRELOAD[-1] == "gradcheck_suite.harness.server_ready"
    assert _server_exit_handlers_ran(tmp_path, ["tests.harness.exit_marker"])  # the control: they run
    assert not _server_exit_handlers_ran(tmp_path, ["tests.harness.exit_marker",
                                                    "gradcheck_suite.harness.server_ready"])


_FROZEN_SCRIPT = """
import multiprocessing, sys
if __name__ == "__main__":
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(sys.argv[1:])
    from tests.harness.exit_marker import exit_frozen
    proc = ctx.Process(target=exit_frozen)
    proc.start()
    proc.join()
    sys.exit(proc.exitcode)
"""


def _worker_inherits_frozen_objects(preload: list[str]) -> bool:
    done = subprocess.run([sys.executable, "-c", _FROZEN_SCRIPT, *preload], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert done.returncode in (0, 3), done.stderr[-2000:]
    return done.returncode == 0


def test_pool_workers_collect_garbage_less_often_than_the_program_that_started_them():
    import gc
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=workers.context(), initializer=workers.init_worker, initargs=(1,)) as pool:
        assert pool.submit(gc.get_threshold).result()[0] == workers.GC_THRESHOLD
    assert gc.get_threshold()[0] != workers.GC_THRESHOLD  # a program using the API is left alone


def test_workers_inherit_the_servers_imports_frozen_out_of_the_garbage_collector():
    assert not _worker_inherits_frozen_objects(["tests.harness.exit_marker"])  # the control
    assert _worker_inherits_frozen_objects(["tests.harness.exit_marker", "gradcheck_suite.harness.server_ready"])


def test_the_quick_exit_is_only_the_servers():
    code = ("import gc, sys, gradcheck_suite.harness.server_ready as s\n"
            "assert not s.imported_by_the_forkserver() and gc.get_freeze_count() == 0\n"
            "sys.exit(3)")
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 3
