"""Every report states the verdict the process returns; shards and load errors (issue 16)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gradcheck_suite.shard import error_in_shard, in_shard
from tests.cli.sample import mixed_table, row, run_result, table
from tests.cli.test_cli_run import _baseline, fake_api, run_cli  # noqa: F401  (fake_api is a fixture)
from tests.gate.test_plugin import GOOD, WRONG


def reports(tmp_path) -> dict[str, str]:
    out = tmp_path / "out"
    return {name: (out / name).read_text(encoding="utf-8")
            for name in ("summary.md", "report.html", "results.json")}


KNOWN = table(row(), row(case="b", status="fail"), row(case="c", check="evaluate", status="error", input=""))


@pytest.mark.parametrize("scenario, code, icon, words", [
    ("known failures, --fail-on-regression", 0, "✅", "no regression against the baseline"),
    ("a regression, --fail-on-regression", 1, "❌", "1 regression(s) against the baseline"),
    ("known failures, no flag", 2, "💥", "1 error(s), 1 failure(s)"),
])
def test_every_report_states_the_exit_code_the_process_returns(fake_api, tmp_path, capsys, scenario, code,
                                                               icon, words):
    baseline = _baseline(tmp_path, KNOWN, "csv")
    now = KNOWN.copy()
    if "a regression" in scenario:
        now.loc[0, "status"] = "fail"
    fake_api.outcome = run_result(now)
    flags = ["--fail-on-regression"] if "--fail-on-regression" in scenario else []
    assert run_cli(tmp_path, "--baseline", baseline, *flags) == code
    out = capsys.readouterr().out
    got = reports(tmp_path)
    doc = json.loads(got["results.json"])
    assert doc["exit_code"] == code and doc["verdict"]["exit_code"] == code and words in doc["verdict"]["headline"]
    first = got["summary.md"].splitlines()[0]
    assert first.startswith(f"## {icon} gradcheck-suite:") and words in first
    assert f"exit code **{code}**" in got["summary.md"] and "baseline:" in got["summary.md"]
    html = got["report.html"]
    verdict = html[html.index('id="verdict"'):]
    assert f"exit code {code}" in verdict[:400] and words in verdict[:400]
    status = next(line for line in out.splitlines() if line.startswith(("OK:", "FAILED:")))
    assert status.startswith("OK:" if code == 0 else "FAILED:") and status.endswith(f"; exit code {code}")
    assert words in status


def test_summary_and_html_list_the_regressions_and_loosened_tolerances(fake_api, tmp_path):
    baseline = _baseline(tmp_path, KNOWN, "csv")
    now = KNOWN.copy()
    now.loc[0, "status"] = "fail"
    now.loc[1, ["status", "rtol"]] = ["pass", 1.0]
    fake_api.outcome = run_result(now)
    run_cli(tmp_path, "--baseline", baseline, "--fail-on-regression")
    got = reports(tmp_path)
    for text in (got["summary.md"].replace("\\", ""), got["report.html"]):  # Markdown escapes undone
        assert "newly fail: sig[float64]/x hand_vs_torch" in text
        assert "tolerance loosened" in text and "1 tolerance(s) loosened" in text


def test_without_a_baseline_results_json_still_matches_the_process(fake_api, tmp_path):
    fake_api.outcome = run_result(mixed_table())
    assert run_cli(tmp_path) == 2
    assert json.loads(reports(tmp_path)["results.json"])["exit_code"] == 2


# ---- the real command: shards, load errors, a newly broken file -----------------------------

def gate(cwd, *args):
    return subprocess.run([sys.executable, "-m", "gradcheck_suite", "run", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def library(tmp_path):
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "good.yaml").write_text(GOOD)
    (tmp_path / "cases" / "wrong.yaml").write_text(WRONG)
    (tmp_path / "cases" / "broken.yaml").write_text("name: torn\ninputs: {x: [1.0\n")
    return tmp_path


def test_a_load_error_is_reported_by_one_shard_and_an_empty_shard_passes(library):
    names = ["square_sin", "tanh_sum", "wrong_claim"]
    n = next(n for n in range(3, 12)
             if any(not any(in_shard(c, k, n) for c in names) and not error_in_shard("cases/broken.yaml", k, n)
                    for k in range(1, n + 1)))
    codes, with_error = {}, []
    for k in range(1, n + 1):
        proc = gate(library, "cases", "--out", f"r{k}", "--shard", f"{k}/{n}", "--format", "json", "-q")
        codes[k] = proc.returncode
        doc = json.loads((library / f"r{k}" / "results.json").read_text())
        assert doc["exit_code"] == proc.returncode
        if any(r["check"] == "load" for r in doc["results"]):
            with_error.append(k)
    assert len(with_error) == 1 and codes[with_error[0]] == 2
    empty = [k for k in codes if not any(in_shard(c, k, n) for c in names) and k not in with_error]
    assert empty and all(codes[k] == 0 for k in empty)
    proc = gate(library, "cases", "--out", "e", "--shard", f"{empty[0]}/{n}", "-q")
    assert "holds none of the 3 selected case(s)" in proc.stdout


def test_a_newly_broken_file_fails_the_regression_gate(library):
    assert gate(library, "cases", "--out", "old", "--format", "csv", "-q").returncode == 2
    (library / "cases" / "broken2.yaml").write_text("name: torn2\ninputs: {x: [1.0\n")
    proc = gate(library, "cases", "--out", "new", "--format", "json", "--baseline", "old/results.csv",
                "--fail-on-regression")
    assert proc.returncode == 2, proc.stdout
    assert "new error: cases/broken2.yaml load error" in proc.stdout
    assert json.loads((library / "new" / "results.json").read_text())["exit_code"] == 2
