"""Limits: a per-case time limit through the command line, and the element limit option."""
from __future__ import annotations

import subprocess
import sys
import time

import pandas as pd

from tests.robustness.slow_cases import QUICK, SLOW


def _run(args, cwd):
    return subprocess.run([sys.executable, "-m", "gradcheck_suite", "run", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_a_pathological_case_times_out_and_the_others_run(tmp_path):
    (tmp_path / "a_slow.yaml").write_text(SLOW)  # first: the forkserver's start counts against it
    (tmp_path / "b_quick.yaml").write_text(QUICK)
    start = time.monotonic()
    done = _run(["a_slow.yaml", "b_quick.yaml", "--time-limit", "2", "--out", "out", "-q"], tmp_path)
    elapsed = time.monotonic() - start
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert elapsed < 60  # the slow case alone needs ~100 s
    table = pd.read_csv(tmp_path / "out" / "results.csv", keep_default_na=False, dtype=str)
    slow = table[table["case"] == "slow_matmul_chain"]
    assert list(slow["status"]) == ["error"] and list(slow["check"]) == ["evaluate"]
    assert list(slow["message"]) == ["a_slow.yaml: case 'slow_matmul_chain': timed out after 2 s"]
    quick = table[table["case"] != "slow_matmul_chain"]
    assert set(quick["case"]) == {"quick_sin", "quick_layer", "quick_projected"}
    assert set(quick["status"]) == {"pass"}
    assert "timed out after 2 s" in done.stdout


def test_the_element_limit_option_refuses_large_inputs(tmp_path):
    (tmp_path / "c.yaml").write_text("cases:\n  - name: six\n    inputs: {x: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}\n"
                                     "    expr: sum(x)\n  - name: gen\n    inputs: {x: {shape: [2, 3]}}\n"
                                     "    expr: sum(x)\n  - name: five\n    inputs: {x: [1.0, 2.0, 3.0, 4.0, 5.0]}\n"
                                     "    expr: sum(x)\n")
    done = _run(["c.yaml", "--element-limit", "5", "--out", "out", "-q", "--format", "csv"], tmp_path)
    assert done.returncode == 2, done.stderr
    table = pd.read_csv(tmp_path / "out" / "results.csv", keep_default_na=False, dtype=str)
    errors = table[table["status"] == "error"]
    assert list(errors["message"]) == [
        "c.yaml:6:25: case 'gen', key 'inputs.x.shape': inputs.x would have 6 elements; the limit is 5",
        "c.yaml:3:43: case 'six', key 'inputs.x': inputs.x has more than 5 elements (the element limit)"]
    assert set(table.loc[table["case"] == "five", "status"]) == {"pass"}
