"""The command line as a user runs it: ``python -m gradcheck_suite ...`` in a subprocess.

Case files are written into ``tmp_path`` in the case-file format v1.  The ``run`` tests
need the harness (``gradcheck_suite.api``); ``list``/``validate``/``ops`` need only the
loader and the registry.
"""
from __future__ import annotations

import csv
import gc
import importlib.util
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gradcheck_suite import cli
from gradcheck_suite.report.results import COLUMNS, TIME_COLUMNS, worst_status
from tests.cli.htmlcheck import external_references
from tests.cli.sample import SCRIPT

needs_harness = pytest.mark.skipif(importlib.util.find_spec("gradcheck_suite.api") is None,
                                   reason="the harness (gradcheck_suite/api.py) has not landed yet")

PASSING = """\
cases:
  - name: square_sum
    title: Sum of squares
    tags: [smoke]
    inputs:
      x: [0.5, -1.0, 2.0]
    expr: sum(x ** 2)
    expect:
      x: 2 * x
  - name: matrix_tanh
    inputs:
      W: {shape: [3, 4], init: normal, seed: 3}
    constants:
      v: [1.0, -2.0, 0.5, 0.25]
    expr: sum(tanh(W @ v))
"""
WRONG_CLAIM = """\
name: wrong_claim
title: A claim that forgets the chain rule
inputs:
  x: 0.7
expr: exp(x ** 2)
expect:
  x: x * exp(x ** 2)
"""
BROKEN = """\
name: broken
inptus:
  x: 1.0
expr: exp(x)
"""
ESCAPED = f"""\
name: escaped
title: "{SCRIPT}"
description: "{SCRIPT} in the description"
tags: ["{SCRIPT}"]
inputs:
  x: 1.5
expr: sin(x)
"""


def gradcheck(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "gradcheck_suite", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=300)


def write_cases(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stdout and "Traceback" not in proc.stderr, proc.stderr


# ---- run ----------------------------------------------------------------------------


@needs_harness
def test_all_pass_exits_0_and_runs_are_reproducible(tmp_path):
    write_cases(tmp_path / "cases", passing=PASSING)
    first = gradcheck("run", "cases", "--out", "a", "--seed", "3", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    # the second run in this process: the point is the file, not the process
    assert cli.main(["run", str(tmp_path / "cases"), "--out", str(tmp_path / "b"), "--seed", "3",
                     "--format", "csv", "--quiet"]) == 0
    header, rows_a = read_csv(tmp_path / "a" / "results.csv")
    _, rows_b = read_csv(tmp_path / "b" / "results.csv")
    for r in rows_b:  # the in-process run saw absolute paths
        r["file"] = r["file"].replace(str(tmp_path) + os.sep, "")
    assert header == list(COLUMNS)
    assert {r["case"] for r in rows_a} == {"square_sum", "matrix_tanh"}
    assert {r["status"] for r in rows_a} <= {"pass", "nondiff", "skip"}
    strip = [{k: v for k, v in r.items() if k not in TIME_COLUMNS} for r in rows_a]
    assert strip == [{k: v for k, v in r.items() if k not in TIME_COLUMNS} for r in rows_b]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [
        "answer-key", "answer-key.html", "junit.xml", "report.html", "results.csv", "results.json", "summary.md"]
    assert sorted(p.name for p in (tmp_path / "a" / "answer-key").iterdir()) == ["matrix_tanh.html", "square_sum.html"]
    assert "OK:" in first.stdout


@needs_harness
def test_a_wrong_claim_exits_1_and_reaches_every_report(tmp_path):
    write_cases(tmp_path / "cases", claim=WRONG_CLAIM)
    step_summary = tmp_path / "step_summary.md"
    proc = gradcheck("run", "cases", "--out", "out", cwd=tmp_path,
                     env={"GITHUB_STEP_SUMMARY": str(step_summary)})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    no_traceback(proc)
    _, rows = read_csv(tmp_path / "out" / "results.csv")
    failing = [r for r in rows if r["status"] == "fail"]
    assert failing and all(r["check"] == "expect_vs_torch" and r["input"] == "x" for r in failing)
    assert "wrong_claim" in proc.stdout and "expect_vs_torch" in proc.stdout
    junit = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    failure = junit.find(".//testcase[@name='wrong_claim[float64]']/failure")
    assert failure is not None and "max_abs_err=" in failure.get("message") and "max_abs_err=" in failure.text
    summary = step_summary.read_text(encoding="utf-8")
    assert summary.startswith("## ❌") and "wrong\\_claim" in summary  # `_` escaped for Markdown


@needs_harness
def test_mixed_run_broken_file_exits_2_without_traceback(tmp_path):
    write_cases(tmp_path / "cases", passing=PASSING, claim=WRONG_CLAIM, broken=BROKEN, escaped=ESCAPED)
    proc = gradcheck("run", "cases", "--out", "out", "--dtype", "float64,float32", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    no_traceback(proc)
    assert "broken.yaml:2:1" in proc.stdout + proc.stderr and "did you mean 'inputs'" in proc.stdout + proc.stderr
    out = tmp_path / "out"

    header, rows = read_csv(out / "results.csv")
    assert header == list(COLUMNS)
    assert {r["dtype"] for r in rows if r["check"] != "load"} == {"float64", "float32"}
    load_rows = [r for r in rows if r["status"] == "error"]
    assert load_rows and all("broken.yaml" in r["file"] for r in load_rows)

    # JUnit: one testcase per case × dtype, counts equal to what the CSV says
    junit = ET.parse(out / "junit.xml").getroot()
    testcases = list(junit.iter("testcase"))
    groups: dict[tuple, list[str]] = {}
    for r in rows:
        groups.setdefault((r["file"], r["case"], r["dtype"] or r["check"]), []).append(r["status"])
    worst = [worst_status(s) for s in groups.values()]
    assert len(testcases) == len(groups)
    assert len(junit.findall(".//failure")) == worst.count("fail")
    assert len(junit.findall(".//error")) == worst.count("error")
    assert len(junit.findall(".//skipped")) == sum(all(s == "skip" for s in v) for v in groups.values())
    names = [(t.get("classname"), t.get("name")) for t in testcases]
    assert len(names) == len(set(names)) and ("cases/claim.yaml".replace("/", os.sep), "wrong_claim[float32]") \
        in [(c, n) for c, n in names] or any(n == "wrong_claim[float32]" for _, n in names)
    props = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert props["seed"] == "0" and "numpy" in props and "torch" in props and "gradcheck-suite" in props

    # HTML: self-contained, the case file's script text escaped, anchors per case
    html = (out / "report.html").read_text(encoding="utf-8")
    assert external_references(html) == []
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'id="case-wrong_claim"' in html and 'id="case-square_sum"' in html
    # every case links to its section of its page of the answer key written beside the report
    index = (out / "answer-key.html").read_text(encoding="utf-8")
    for name in ("wrong_claim", "square_sum"):
        assert f'href="answer-key/{name}.html#answer-key-{name}"' in html
        assert f'href="answer-key/{name}.html#answer-key-{name}"' in index
        page = (out / "answer-key" / f"{name}.html").read_text(encoding="utf-8")
        assert f'id="answer-key-{name}"' in page and f'href="../report.html#case-{name}"' in page
        assert external_references(page) == [] and SCRIPT not in page
    assert external_references(index) == [] and SCRIPT not in index


# ---- validate, list, ops ------------------------------------------------------------
# (in the same process where the point is the output, in a subprocess where it is the
# absence of a traceback or the exit status a shell sees)


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_validate_locates_errors_without_traceback(tmp_path):
    write_cases(tmp_path / "good", passing=PASSING)
    write_cases(tmp_path / "bad", broken=BROKEN)
    bad = gradcheck("validate", "good", "bad", cwd=tmp_path)
    assert bad.returncode == 2
    no_traceback(bad)
    assert f"{Path('bad') / 'broken.yaml'}:2:1" in bad.stderr and "unknown key 'inptus'" in bad.stderr
    assert "1 error(s); 2 case(s) in 2 file(s)" in bad.stdout


def test_validate_accepts_good_files(tmp_path, capsys):
    write_cases(tmp_path / "good", passing=PASSING)
    code, out, _ = run_main(capsys, "validate", str(tmp_path / "good"))
    assert code == 0 and "OK: 2 case(s) in 1 file(s)" in out


def test_validate_reports_a_shape_error(tmp_path, capsys):
    write_cases(tmp_path / "cases", shapes="name: shapes\ninputs:\n  A: [[1.0, 2.0], [3.0, 4.0]]\n"
                                           "  v: [1.0, 2.0, 3.0]\nexpr: sum(A @ v)\n")
    code, _, err = run_main(capsys, "validate", str(tmp_path / "cases"))
    assert code == 2 and "shapes.yaml" in err and "matmul" in err


def test_validate_honours_the_element_limit(tmp_path, capsys):
    write_cases(tmp_path / "cases", passing=PASSING)
    code, _, err = run_main(capsys, "validate", str(tmp_path / "cases"), "--element-limit", "5")
    assert code == 2 and "matrix_tanh" in err


def test_list_shows_tags_inputs_with_shapes_and_dtypes(tmp_path, capsys):
    write_cases(tmp_path / "cases", passing=PASSING)
    code, out, _ = run_main(capsys, "list", str(tmp_path / "cases"), "--tag", "smoke")
    assert code == 0
    assert "square_sum" in out and "inputs: x (3,)" in out and "tags: smoke" in out
    assert "dtypes: float64" in out and "matrix_tanh" not in out
    code, out, _ = run_main(capsys, "list", str(tmp_path / "cases"), "-k", "tanh")
    assert "inputs: W (3, 4)" in out and "constants: v (4,)" in out and "square_sum" not in out


def test_missing_path_is_a_located_error(tmp_path, capsys):
    code, _, err = run_main(capsys, "validate", str(tmp_path / "nowhere"))
    assert code == 2 and f"{tmp_path / 'nowhere'}: no such file or directory" in err


def test_ops_lists_every_primitive(capsys):
    from gradcheck_suite.ops import all_primitives

    prims = all_primitives()
    code, out, _ = run_main(capsys, "ops")
    assert code == 0
    for prim in prims:
        assert prim.signature() in out
    assert "∂exp(x)/∂x = exp(x)" in out and f"{len(prims)} primitive(s)" in out
    _, md, _ = run_main(capsys, "ops", "--format", "md")
    assert md.count("\n| `") == len(prims)
    _, some, _ = run_main(capsys, "ops", "--category", "reductions")
    assert "sum(x, axis=None, keepdims=False)" in some and "\n  exp(x)" not in some


def test_ops_shows_each_primitives_second_order_or_why_it_has_none(capsys, monkeypatch):
    import dataclasses

    from gradcheck_suite.ops import all_primitives, registry

    _, out, _ = run_main(capsys, "ops")
    assert out.count("second order:") == len(all_primitives())
    blocks = dict(re.findall(r"\n  (\w+)\(.*?second order: ([^\n]*)", out, re.S))
    assert blocks["sigmoid"].startswith("second derivative") and blocks["matmul"].startswith("bilinear")
    assert blocks["reshape"].startswith("linear") and blocks["relu"].startswith(("second derivative", "piecewise"))
    assert blocks["det"].startswith("rule per argument") and blocks["less"].startswith("none: its output is not")
    withheld = dataclasses.replace(registry.get("det"), second_order="withheld: a test of the ops listing")
    monkeypatch.setitem(registry._REGISTRY, "det", withheld)
    _, md, _ = run_main(capsys, "ops", "--format", "md", "--category", "linalg")
    assert "| second order |" in md and "none: withheld: a test of the ops listing" in md


def test_console_script_and_module_agree(tmp_path):
    script = Path(sys.executable).with_name("gradcheck-suite")
    if not script.exists():
        pytest.skip("gradcheck-suite console script not installed (pip install -e .)")
    a = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    b = gradcheck("--help", cwd=tmp_path)
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout and "exit codes:" in a.stdout


def test_the_command_returns_mains_code_and_leaves_the_exit_no_collection_to_do(tmp_path):
    code = ("import gc, sys\nfrom gradcheck_suite.cli import entry\n"
            "sys.argv = ['gradcheck-suite', 'list', 'nowhere']\ncode = entry()\n"
            "print(code, gc.get_freeze_count() > 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.stdout.split()[-2:] == ["2", "True"], done.stderr  # the missing path: a usage error, code 2
    assert cli.main(["list", str(tmp_path / "nowhere")]) == 2 and gc.get_freeze_count() == 0  # main() alone: nothing frozen


def test_usage_error_exits_2(tmp_path):
    proc = gradcheck("run", "--format", "pdf", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown format 'pdf'" in proc.stderr
    no_traceback(proc)


@needs_harness
def test_ctrl_c_reports_the_finished_cases_marked_incomplete(tmp_path, monkeypatch, capsys):
    """Ctrl-C during the real harness: what finished is written, marked, exit 130."""
    import contextlib

    write_cases(tmp_path / "cases", passing=PASSING, claim=WRONG_CLAIM)

    @contextlib.contextmanager
    def interrupting_progress(enabled):
        def progress(done, total, name=""):
            if done == 2:  # Ctrl-C arrives after the second case finished
                raise KeyboardInterrupt
        yield progress

    monkeypatch.setattr("gradcheck_suite.report.progress_bar", interrupting_progress)
    code = cli.main(["run", str(tmp_path / "cases"), "--out", str(tmp_path / "out")])
    assert code == 130
    _, rows = read_csv(tmp_path / "out" / "results.csv")
    assert len({r["case"] for r in rows}) == 2  # of three cases
    props = {p.get("name"): p.get("value") for p in ET.parse(tmp_path / "out" / "junit.xml").iter("property")}
    assert props["incomplete"] == "true"
    assert "INTERRUPTED" in capsys.readouterr().out
