"""Usage problems are said at once, plainly, with exit 2, before any case is checked (issue 18, item 15)."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from gradcheck_suite import api, cli

CASE = "name: quick\ninputs: {x: 0.5}\nexpr: sin(x)\n"


@pytest.mark.parametrize("options, message", [
    (["--seed", "-1"], "argument --seed: '-1' must be 0 or more"),
    (["--time-limit", "inf"], "argument --time-limit: 'inf' must be a positive, finite number"),
    (["--time-limit", "nan"], "argument --time-limit: 'nan' must be a positive, finite number"),
    (["--out", "a_file"], "error: --out a_file: is a file, not a folder"),
    (["--out", "a_file/sub"], "error: --out a_file/sub: cannot write there (a_file is not a folder)"),
])
def test_a_usage_problem_is_a_plain_message_and_exit_2(tmp_path, options, message):
    (tmp_path / "c.yaml").write_text(CASE)
    (tmp_path / "a_file").write_text("not a folder")
    done = subprocess.run([sys.executable, "-m", "gradcheck_suite", "run", "c.yaml", *options], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert message in done.stderr
    assert "internal error" not in done.stderr and "This is a bug" not in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "reports").exists()


def test_a_read_only_out_folder_is_refused_before_any_check_runs(tmp_path, monkeypatch, capsys):
    (tmp_path / "c.yaml").write_text(CASE)
    (tmp_path / "ro").mkdir()
    monkeypatch.chdir(tmp_path)

    def read_only(*args, **kwargs):  # as a read-only folder answers (the tests may run as root)
        raise PermissionError(13, "Permission denied")

    def must_not_run(*args, **kwargs):
        raise AssertionError("a check ran before the usage problem was said")

    monkeypatch.setattr(cli.tempfile, "TemporaryFile", read_only)
    monkeypatch.setattr(api, "run", must_not_run)
    start = time.monotonic()
    assert cli.main(["run", "c.yaml", "--out", "ro"]) == 2
    err = capsys.readouterr().err
    assert err == "error: --out ro: cannot write there (Permission denied)\n"
    assert time.monotonic() - start < 30
