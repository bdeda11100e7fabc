"""The numpy-layers example passes as shipped, from the CLI (serial and --jobs 2) and from Python."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HERE = Path(__file__).parent


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_gate_passes(tmp_path, jobs):
    done = subprocess.run([sys.executable, "-m", "gradcheck_suite", "run", str(HERE / "cases"), "--plugin",
                           str(HERE / "plugin.py"), "--out", str(tmp_path), "--format", "csv", "--quiet",
                           "--jobs", jobs], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    table = pd.read_csv(tmp_path / "results.csv", keep_default_na=False)
    subject_rows = table[table["check"].str.startswith("subject_")]
    assert set(subject_rows["case"]) == {"course_affine", "course_relu", "course_batchnorm", "course_softmax_loss"}
    assert len(subject_rows) == 4 + 3 * (3 + 1 + 3 + 1)  # a forward row per case, three per input
    assert set(table["status"]) == {"pass"}


def test_assert_function_with_a_cache():
    sys.path.insert(0, str(HERE))
    try:
        from layers import batchnorm_backward, batchnorm_forward
    finally:
        sys.path.remove(str(HERE))
    from gradcheck_suite import assert_function

    rng = np.random.default_rng(1)
    table = assert_function(batchnorm_forward, {"x": rng.normal(size=(5, 3)), "gamma": rng.normal(size=3),
                                                "beta": rng.normal(size=3)},
                            backward=batchnorm_backward, cache=True)
    assert set(table["check"]) == {"subject_vs_fd"} and set(table["input"]) == {"x", "gamma", "beta"}
