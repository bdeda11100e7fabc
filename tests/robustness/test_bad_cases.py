"""The bad-input corpus: every file gives exactly its declared error, and ``run`` survives them all.

Each file of ``tests/bad_cases/`` declares what it must produce (``tests/bad_cases/README.md``).
Loading is checked file by file; then ``gradcheck-suite run`` (a subprocess) checks the whole
corpus together with good cases: the good cases pass, every bad file gets ``error`` rows
carrying its message, the exit code is 2, and no Python traceback is printed.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tracemalloc

import pandas as pd
import pytest

from gradcheck_suite import api
from gradcheck_suite.errors import CaseError, LimitError
from gradcheck_suite.loader import load_file, load_paths
from tests.robustness.corpus import BAD_CASES, GOOD_CASES, MARKER_PREFIX, corpus

CORPUS = corpus()
LOAD_ERRORS = [e for e in CORPUS if e.errors]
ROW_ERRORS = [e for e in CORPUS if e.rows]


def _load(expectation):
    """Cases and errors of one corpus file, loaded from inside the corpus folder."""
    if expectation.load_with:
        result = load_paths([expectation.load_with, expectation.name])
        return ([c for c in result.cases if c.file == expectation.name],
                [e for e in result.errors if e.file == expectation.name])
    return load_file(expectation.name)


def test_every_file_declares_what_it_must_produce():
    assert len(CORPUS) >= 40
    for e in CORPUS:
        assert e.about, f"{e.name}: no '# about:' line"
        assert e.errors or e.rows or e.passes, f"{e.name}: no expectation"
        assert not (e.errors and e.rows), f"{e.name}: a file either fails to load or loads"


@pytest.mark.parametrize("expectation", LOAD_ERRORS, ids=lambda e: e.name)
def test_load_gives_exactly_the_declared_errors(expectation, monkeypatch):
    monkeypatch.chdir(BAD_CASES)
    cases, errors = _load(expectation)
    assert cases == []
    assert all(isinstance(err, CaseError) for err in errors)
    assert [str(err) for err in errors] == expectation.errors


@pytest.mark.parametrize("expectation", ROW_ERRORS, ids=lambda e: e.name)
def test_checking_gives_exactly_the_declared_error_rows(expectation, monkeypatch):
    monkeypatch.chdir(BAD_CASES)
    cases, errors = _load(expectation)
    assert errors == [] and len(cases) == 1
    table = api.check_case(cases[0]).table
    assert "pass" not in set(table["status"])
    got = [(r["check"], r["status"], r["message"]) for _, r in table.iterrows()]
    assert got == expectation.rows


def test_unsafe_tags_never_run_anything(tmp_path, monkeypatch):
    for path in BAD_CASES.glob("unsafe_tag_*.yaml"):
        shutil.copy(path, tmp_path)
    monkeypatch.chdir(tmp_path)
    result = load_paths(["."])
    assert len(result.errors) == 5 and result.cases == []
    assert all("is not allowed in a case file" in e.message for e in result.errors)
    assert not list(tmp_path.glob(f"{MARKER_PREFIX}*"))


@pytest.mark.parametrize("name", ["element_limit_generator.yaml", "element_limit_broadcast.yaml"])
def test_element_limit_is_refused_before_allocating(name, monkeypatch):
    monkeypatch.chdir(BAD_CASES)
    tracemalloc.start()
    try:
        _, errors = load_file(name)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(errors) == 1 and isinstance(errors[0], LimitError)
    assert peak < 20_000_000  # 20,000,001 float64 would be 160 MB


def test_the_element_limit_is_configurable(monkeypatch):
    monkeypatch.chdir(BAD_CASES)
    cases, errors = load_file("duplicate_name_1.yaml", element_limit=1)
    assert len(cases) == 1 and not errors
    text = "name: big\ninputs:\n  x: [1.0, 2.0, 3.0]\nexpr: sum(x)\n"
    from gradcheck_suite.loader import load_text

    assert load_text(text, element_limit=3)[1] == []
    (err,) = load_text(text, "f.yaml", element_limit=2)[1]
    assert str(err) == ("f.yaml:3:17: case 'big', key 'inputs.x': inputs.x has more than 2 elements "
                        "(the element limit)")


def _run(args, cwd, timeout=240):
    return subprocess.run([sys.executable, "-m", "gradcheck_suite", "run", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def test_run_on_the_whole_corpus_with_good_cases(tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(BAD_CASES, bad)
    shutil.copy(GOOD_CASES, tmp_path / "good.yaml")
    done = _run([".", "../good.yaml", "--out", "../out", "--quiet"], cwd=bad)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout and "Traceback" not in done.stderr
    table = pd.read_csv(tmp_path / "out" / "results.csv", keep_default_na=False, dtype=str)

    good = table[table["file"] == "../good.yaml"]
    assert sorted(set(good["case"])) == ["good_scalar_chain", "good_tanh_layer"]
    assert set(good["status"]) == {"pass"} and len(good) == 9  # 3 inputs × 3 checks

    for e in CORPUS:
        rows = table[table["file"] == e.name]
        if e.passes:
            assert len(rows) and set(rows["status"]) == {"pass"}, e.name
            continue
        assert "pass" not in set(rows["status"]), e.name
        got = [(r["check"], r["status"], r["message"]) for _, r in rows.iterrows()]
        want = [("load", "error", m) for m in e.errors] + e.rows
        assert got == want, e.name
    assert not list(tmp_path.rglob(f"{MARKER_PREFIX}*"))
    assert set(table["file"]) == {e.name for e in CORPUS} | {"../good.yaml"}
