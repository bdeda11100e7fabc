"""Every planted bug of planted/bugs.py is caught — from the CLI (serial and --jobs 2), from
``pytest --gradcheck`` and from the Python API — with a message naming the input, the element and
what to compare; the correct versions pass.  (Issue 12, section 5.)"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

HERE = Path(__file__).parent / "planted"

#: case → the checks that must fail (every other row of the case passes or is a stated skip)
CAUGHT = {
    "stale_forward": {("", "subject_forward"), ("x", "subject_vs_fd")},
    "slightly_off": {("x", "subject_vs_hand"), ("x", "subject_vs_torch"), ("x", "subject_vs_fd")},
    "wrong_double_backward": {("x", "subject_double_backward")},
    "db_mean": {("b", "subject_vs_hand"), ("b", "subject_vs_torch"), ("b", "subject_vs_fd")},
    "transposed_dw": {("w", "subject_vs_hand"), ("w", "subject_vs_torch"), ("w", "subject_vs_fd")},
    "batch_one": {("w", "subject_vs_hand"), ("w", "subject_vs_torch"), ("w", "subject_vs_fd")},
    "affine_ok": set(),
}
#: what the message of each bug must say, so that a person can act on it
SAYS = {
    "stale_forward": "a forward that changed while its backward did not",
    "slightly_off": "subject 'SlightlyOff' 0.8990318022 vs finite differences of the subject 0.898941908",
    "wrong_double_backward": "the subject's double backward",
    "db_mean": "failed for input 'b'",
    "transposed_dw": "the gradient for 'w' has shape (2, 3), the input (3, 2)",
    "batch_one": "subject 'affine_backward_batch_one' 0 vs",
}


def _planted(tmp_path: Path) -> Path:
    folder = tmp_path / "planted"
    shutil.copytree(HERE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def _judge(table: pd.DataFrame) -> None:
    for case, failing in CAUGHT.items():
        rows = table[table["case"] == case]
        assert len(rows), case
        failed = {(r["input"], r["check"]) for _, r in rows.iterrows() if r["status"] == "fail"}
        assert failed == failing, (case, failed)
        others = rows[rows["status"] != "fail"]
        assert set(others["status"]) <= {"pass", "skip"}, others[["check", "status", "message"]]
        assert all("forward-mode AD" in m for m in others[others["status"] == "skip"]["message"])
        if case in SAYS:
            assert any(SAYS[case] in m for m in rows["message"]), (case, list(rows["message"]))


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_cli_catches_every_planted_bug(tmp_path, jobs):
    folder = _planted(tmp_path)
    done = subprocess.run([sys.executable, "-m", "gradcheck_suite", "run", "cases", "--plugin", "plugin.py",
                           "--out", str(tmp_path / "out"), "--format", "csv,junit,json,html", "--quiet", "--jobs", jobs],
                          capture_output=True, text=True, cwd=folder)
    assert done.returncode == 1, done.stdout + done.stderr
    _judge(pd.read_csv(tmp_path / "out" / "results.csv", keep_default_na=False))
    junit = (tmp_path / "out" / "junit.xml").read_text()
    assert "subject_double_backward" in junit and "StaleForward" in junit
    subjects = json.loads((tmp_path / "out" / "results.json").read_text())["meta"]["subjects"]
    assert subjects["db_mean"].startswith("subject 'affine_backward_db_mean' (") and len(subjects) == len(CAUGHT)
    page = (tmp_path / "out" / "report.html").read_text()
    assert "code under test: <code>subject &#39;WrongDoubleBackward&#39;" in page


def test_pytest_gradcheck_catches_every_planted_bug(tmp_path):
    folder = _planted(tmp_path)
    done = subprocess.run([sys.executable, "-m", "pytest", "--gradcheck", "cases", "--gradcheck-plugin", "plugin.py",
                           "-p", "no:cacheprovider", "-q", "-W", "ignore::DeprecationWarning"],
                          capture_output=True, text=True, cwd=folder)
    assert done.returncode == 1, done.stdout + done.stderr
    failed = set(re.findall(r"FAILED cases/planted\.yaml::(\w+)\[float64\]", done.stdout))
    assert failed == {c for c, f in CAUGHT.items() if f}
    assert "1 passed" in done.stdout
    assert "the gradient for 'w' has shape (2, 3), the input (3, 2)" in done.stdout


def _bugs():
    sys.path.insert(0, str(HERE))
    try:
        import bugs
    finally:
        sys.path.remove(str(HERE))
    return bugs


def test_the_api_catches_every_planted_bug():
    from gradcheck_suite import assert_function
    from gradcheck_suite.gate import GradcheckFailure

    bugs = _bugs()
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 4))
    swish = lambda t: t * torch.sigmoid(t)  # noqa: E731 - the reference
    for fn in (bugs.StaleForward.apply, bugs.SlightlyOff.apply, bugs.WrongDoubleBackward.apply):
        with pytest.raises(GradcheckFailure):
            assert_function(fn, [x], reference=swish)
    affine = {"x": rng.normal(size=(4, 3)), "w": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    assert_function(bugs.affine_forward, affine, backward=bugs.affine_backward)  # the correct one
    for backward in (bugs.affine_backward_db_mean, bugs.affine_backward_transposed_dw,
                     bugs.affine_backward_batch_one):
        with pytest.raises(GradcheckFailure) as caught:
            assert_function(bugs.affine_forward, affine, backward=backward)
        assert "subject_vs_fd" in str(caught.value)


def test_a_relative_1e4_error_passes_torch_gradcheck_but_not_ours():
    from gradcheck_suite import check_function

    bugs = _bugs()
    x = torch.tensor(np.random.default_rng(4).normal(size=(3, 4)), requires_grad=True)
    assert torch.autograd.gradcheck(bugs.SlightlyOff.apply, (x,))  # rtol 1e-3: torch lets it through
    result = check_function(bugs.SlightlyOff.apply, [x.detach().numpy()])
    assert result.exit_code == 1
    row = result.table[result.table["check"] == "subject_vs_fd"].iloc[0]
    assert row["status"] == "fail" and 0.9e-4 < row["max_rel_err"] < 1.1e-4


def test_right_for_a_batch_of_one_is_only_caught_with_a_batch_of_more():
    from gradcheck_suite import check_function

    bugs = _bugs()
    rng = np.random.default_rng(5)
    one = {"x": rng.normal(size=(1, 3)), "w": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    assert check_function(bugs.affine_forward, one, backward=bugs.affine_backward_batch_one).exit_code == 0
    four = dict(one, x=rng.normal(size=(4, 3)))
    assert check_function(bugs.affine_forward, four, backward=bugs.affine_backward_batch_one).exit_code == 1
