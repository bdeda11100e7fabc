"""The new-primitive example: usable only with the plugin, checked by every route when loaded."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent


def run(tmp_path, *extra):
    return subprocess.run([sys.executable, "-m", "gradcheck_suite", "run", str(HERE / "cases"), "--out",
                           str(tmp_path), "--format", "csv", "--quiet", *extra], capture_output=True, text=True,
                          cwd=tmp_path)


def test_without_the_plugin_the_primitive_is_unknown(tmp_path):
    done = run(tmp_path)
    assert done.returncode == 2
    assert "unknown primitive 'squareplus'" in done.stdout + done.stderr


def test_with_the_plugin_every_route_checks_it(tmp_path):
    done = run(tmp_path, "--plugin", str(HERE / "squareplus_plugin.py"), "--jobs", "2", "--time-limit", "120")
    assert done.returncode == 0, done.stdout + done.stderr
    table = pd.read_csv(tmp_path / "results.csv", keep_default_na=False)
    assert set(table["check"]) == {"hand_vs_torch", "hand_vs_fd", "torch_vs_fd", "expect_vs_torch"}
    assert set(table["status"]) == {"pass"}
