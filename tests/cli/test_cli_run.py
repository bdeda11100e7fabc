"""``gradcheck-suite run`` against a stand-in harness: exit codes, reports, interrupts, errors.

The harness is replaced by a fake ``gradcheck_suite.api`` returning hand-built tables,
so these tests pin the command's own behaviour; ``test_commands.py`` runs the real thing.
"""
import json
import sys
import types
import xml.etree.ElementTree as ET

import pytest

import gradcheck_suite
from gradcheck_suite import cli
from gradcheck_suite.errors import CaseError
from tests.cli.sample import mixed_table, row, run_result, table


@pytest.fixture
def fake_api(monkeypatch):
    """Install a fake harness; set ``.outcome`` to a RunResult-like object or an exception."""
    api = types.ModuleType("gradcheck_suite.api")
    api.calls = []
    api.outcome = run_result(table(row()))

    def run(paths, **options):
        api.calls.append((paths, options))
        if isinstance(api.outcome, BaseException):
            raise api.outcome
        return api.outcome

    api.run = run
    monkeypatch.setitem(sys.modules, "gradcheck_suite.api", api)
    monkeypatch.setattr(gradcheck_suite, "api", api, raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return api


def run_cli(tmp_path, *extra):
    return cli.main(["run", str(tmp_path / "cases"), "--out", str(tmp_path / "out"), *extra])


@pytest.mark.parametrize("statuses, code", [
    (["pass"], 0), (["pass", "nondiff", "skip"], 0), (["pass", "fail"], 1), (["fail", "error"], 2),
    (["error"], 2),
])
def test_exit_code_follows_the_statuses(fake_api, tmp_path, statuses, code):
    fake_api.outcome = run_result(table(*[row(status=s, case=f"c{i}") for i, s in enumerate(statuses)]))
    assert run_cli(tmp_path) == code


def test_reports_and_summary(fake_api, tmp_path, capsys):
    fake_api.outcome = run_result(mixed_table())
    assert run_cli(tmp_path) == 2
    out = capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "answer-key.html", "junit.xml", "report.html", "results.csv", "results.json", "summary.md"]
    assert "FAIL  sig[float64]: expect_vs_torch x" in out
    assert "ERROR cases/broken.yaml: load — cases/broken.yaml:3:3: unknown key 'inptus'" in out
    assert "FAILED: 4 pass, 1 nondiff, 1 skip, 1 fail, 2 error (9 checks, 4 cases)" in out
    assert f"report: {tmp_path / 'out' / 'report.html'}" in out


def test_options_reach_the_harness(fake_api, tmp_path):
    run_cli(tmp_path, "-k", "sig", "--tag", "a", "--tag", "b", "--dtype", "float64,float32", "--dtype", "float32",
            "--seed", "7", "--jobs", "2", "--mode", "projected", "--threshold", "100", "--time-limit", "2.5",
            "--shard", "2/3")
    paths, options = fake_api.calls[0]
    assert paths == [str(tmp_path / "cases")]
    assert options["name_filter"] == "sig" and options["tags"] == ["a", "b"]
    assert options["dtypes"] == ["float64", "float32"] and options["seed"] == 7 and options["jobs"] == 2
    assert options["mode"] == "projected" and options["threshold"] == 100 and options["time_limit"] == 2.5
    assert options["shard"] == (2, 3)
    assert options["progress"] is None  # stderr is not a terminal under pytest
    assert "element_limit" not in options
    run_cli(tmp_path, "--element-limit", "500")
    assert fake_api.calls[1][1]["element_limit"] == 500


def test_default_path_and_formats(fake_api, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "--format", "csv,junit"]) == 0
    assert fake_api.calls[0][0] == ["cases/"]
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["junit.xml", "results.csv"]


def test_quiet_prints_only_problems_and_the_status(fake_api, tmp_path, capsys):
    fake_api.outcome = run_result(table(row(), row(case="b", status="fail", message="wrong")))
    assert run_cli(tmp_path, "--quiet") == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0].startswith("FAIL  b[float64]") and out[1].startswith("FAILED:")


def test_job_summary_is_appended(fake_api, tmp_path, monkeypatch):
    step = tmp_path / "step.md"
    step.write_text("previous step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    fake_api.outcome = run_result(table(row(status="fail")))
    assert run_cli(tmp_path) == 1
    text = step.read_text()
    assert text.startswith("previous step\n") and "## ❌ gradcheck-suite: 1 failure(s)" in text


def test_interrupt_reports_what_finished_marked_incomplete(fake_api, tmp_path, capsys):
    interrupt = KeyboardInterrupt()
    interrupt.partial = run_result(table(row(), row(case="b")))
    fake_api.outcome = interrupt
    assert run_cli(tmp_path) == cli.EXIT_INTERRUPTED == 130
    out = tmp_path / "out"
    assert len((out / "results.csv").read_text().splitlines()) == 3
    props = {p.get("name"): p.get("value") for p in ET.parse(out / "junit.xml").iter("property")}
    assert props["incomplete"] == "true"
    assert 'id="incomplete"' in (out / "report.html").read_text()
    assert "Incomplete run" in (out / "summary.md").read_text()
    assert json.loads((out / "results.json").read_text())["incomplete"] is True
    out = capsys.readouterr().out
    assert out.startswith("INCOMPLETE") and "INTERRUPTED (ok so far): 2 pass" in out


def test_interrupt_without_partial_results_still_writes_marked_reports(fake_api, tmp_path):
    fake_api.outcome = KeyboardInterrupt()
    assert run_cli(tmp_path) == 130
    assert json.loads((tmp_path / "out" / "results.json").read_text())["incomplete"] is True


def test_harness_reporting_incomplete_is_honoured(fake_api, tmp_path):
    fake_api.outcome = run_result(table(row()), incomplete=True)
    assert run_cli(tmp_path) == 130


def test_user_errors_are_one_line_without_traceback(fake_api, tmp_path, capsys):
    fake_api.outcome = CaseError("no such file or folder", file="nowhere/")
    assert run_cli(tmp_path) == 2
    err = capsys.readouterr().err
    assert err == "error: nowhere/: no such file or folder\n"


def test_debug_shows_the_traceback(fake_api, tmp_path):
    fake_api.outcome = CaseError("boom", file="x.yaml")
    with pytest.raises(CaseError):
        run_cli(tmp_path, "--debug")


def test_internal_errors_are_reported_without_traceback(fake_api, tmp_path, capsys):
    fake_api.outcome = RuntimeError("unexpected")
    assert run_cli(tmp_path) == 2
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: unexpected" in err and "--debug" in err and "Traceback" not in err


def test_no_case_found_is_an_error(fake_api, tmp_path, capsys):
    fake_api.outcome = run_result(table())
    assert run_cli(tmp_path, "-k", "nothing") == 2
    err = capsys.readouterr().err
    assert "no case found" in err and "matching -k 'nothing'" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv", [
    ["run", "--format", "pdf"], ["run", "--dtype", "float16"], ["run", "--jobs", "0"], ["run", "--shard", "3/2"],
    ["run", "--mode", "fast"], ["frobnicate"], [], ["run", "--time-limit", "-1"],
])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


def _baseline(tmp_path, tab, fmt):
    from gradcheck_suite.report import Report, write_reports

    write_reports(Report(tab), tmp_path / "old", [fmt])
    return str(tmp_path / "old" / ("results.csv" if fmt == "csv" else "results.json"))


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_baseline_known_failures_do_not_fail_the_gate(fake_api, tmp_path, capsys, fmt):
    known = table(row(), row(case="b", status="fail"))
    baseline = _baseline(tmp_path, known, fmt)
    fake_api.outcome = run_result(known)
    assert run_cli(tmp_path, "--baseline", baseline) == 1  # without the flag: the table decides
    assert run_cli(tmp_path, "--baseline", baseline, "--fail-on-regression") == 0
    assert "baseline: 0 newly failing" in capsys.readouterr().out


def test_baseline_regressions_fail_the_gate(fake_api, tmp_path, capsys):
    baseline = _baseline(tmp_path, table(row(), row(case="b", status="fail")), "csv")
    fake_api.outcome = run_result(table(row(status="fail"), row(case="b", status="fail")))
    assert run_cli(tmp_path, "--baseline", baseline, "--fail-on-regression") == 1
    assert "newly fail: sig" in capsys.readouterr().out
    fake_api.outcome = run_result(table(row(status="error"), row(case="b", status="fail")))
    assert run_cli(tmp_path, "--baseline", baseline, "--fail-on-regression") == 2
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["meta"]["baseline"]["regressions"] == 1


def test_fail_on_regression_needs_a_baseline(fake_api, tmp_path, capsys):
    assert run_cli(tmp_path, "--fail-on-regression") == 2
    assert "needs --baseline" in capsys.readouterr().err
