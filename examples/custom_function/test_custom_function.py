"""The custom-Function example passes as shipped, from the CLI and from Python."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

HERE = Path(__file__).parent


def test_gate_passes_with_every_subject_check(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gradcheck_suite", "run", str(HERE / "cases"), "--plugin",
                           str(HERE / "plugin.py"), "--out", str(tmp_path), "--format", "csv", "--quiet"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    table = pd.read_csv(tmp_path / "results.csv", keep_default_na=False)
    checks = set(table["check"])
    assert {"subject_forward", "subject_vs_hand", "subject_vs_torch", "subject_vs_fd", "subject_forward_ad",
            "subject_double_backward"} <= checks
    assert set(table["status"]) == {"pass"}


def test_assert_function_without_a_case():
    sys.path.insert(0, str(HERE))
    try:
        from swish import Swish
    finally:
        sys.path.remove(str(HERE))
    from gradcheck_suite import assert_function

    table = assert_function(Swish.apply, [np.random.default_rng(0).normal(size=(3, 4))],
                            reference=lambda x: x * torch.sigmoid(x), dtypes=["float64", "float32"])
    assert (table["status"] == "pass").sum() >= 8
