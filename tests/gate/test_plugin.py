"""The pytest plugin, run in real pytest sessions (pytester), and the assert_case API."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import torch  # noqa: F401  (imported once here: in-process pytester runs must not re-import torch)

import gradcheck_suite.api  # noqa: F401
import gradcheck_suite.reference.fd  # noqa: F401
from gradcheck_suite import assert_case
from gradcheck_suite.gate import GradcheckFailure
from gradcheck_suite.errors import GradcheckError
from gradcheck_suite.shard import in_shard, parse_shard

pytest_plugins = ["pytester"]

GOOD = """\
cases:
  - name: square_sin
    title: sin of a square
    description: d/dx sin(x^2) = 2x cos(x^2)
    inputs: {x: 0.7}
    steps: {u: x ** 2, y: sin(u)}
    expect: {x: 2 * x * cos(u)}
    dtypes: [float64, float32]
  - name: tanh_sum
    title: sum of tanh
    description: a vector input
    inputs: {v: [0.1, -0.4, 0.9]}
    steps: {y: sum(tanh(v))}
"""
WRONG = """\
name: wrong_claim
title: a wrong claim
description: the claim forgets the chain rule's inner factor
inputs: {x: 0.7}
steps: {y: sin(x ** 2)}
expect: {x: cos(x ** 2)}
"""
KINK = """\
name: relu_at_zero
title: relu at its kink
description: expected nondiff
inputs: {x: [0.0, 1.5]}
steps: {y: sum(relu(x))}
"""
NAN = """\
name: log_of_negative
title: log of a negative constant
description: cannot be evaluated
inputs: {x: 0.5}
constants: {c: -1.0}
steps: {y: log(c) * x}
"""
BROKEN = """\
name: broken
inptus: {x: 1.0}
steps: {y: x}
"""


@pytest.fixture
def library(pytester):
    pytester.mkdir("cases")
    pytester.makefile(".yaml", **{"cases/good": GOOD, "cases/wrong": WRONG, "cases/kink": KINK})
    return pytester


def test_inactive_without_the_option(library):
    result = library.runpytest("cases", "--collect-only", "-q")
    assert "no tests collected" in result.stdout.str() or result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_collects_one_item_per_case_and_dtype(library):
    result = library.runpytest("--gradcheck", "cases", "--collect-only", "-q")
    out = result.stdout.str()
    for nodeid in ("cases/good.yaml::square_sin[float64]", "cases/good.yaml::square_sin[float32]",
                   "cases/good.yaml::tanh_sum[float64]", "cases/wrong.yaml::wrong_claim[float64]",
                   "cases/kink.yaml::relu_at_zero[float64]"):
        assert nodeid in out
    assert "5 tests collected" in out


def test_ini_option_collects_too(library):
    library.makeini("[pytest]\ngradcheck_paths = cases\n")
    result = library.runpytest("cases", "--collect-only", "-q")
    assert "5 tests collected" in result.stdout.str()


def test_failing_case_reports_a_compact_table(library):
    result = library.runpytest("--gradcheck", "cases", "-q")
    result.assert_outcomes(passed=4, failed=1)
    out = result.stdout.str()
    assert "gradient checks failed for wrong_claim[float64]" in out
    header = next(line for line in out.splitlines() if line.startswith("check ") and "worst" in line)
    for column in ("input", "worst", "ours", "torch", "fd", "|err|", "tol"):
        assert column in header
    assert "expect_vs_torch" in out
    assert "Traceback" not in out


def test_nondiff_passes_with_a_note(library):
    result = library.runpytest("--gradcheck", "cases", "-q", "-k", "relu")
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    assert "passed with nondiff rows" in out and "relu_at_zero[float64]" in out


def test_unevaluable_case_and_broken_case_are_error_items(library):
    library.makefile(".yaml", **{"cases/nan": NAN, "cases/broken": BROKEN})
    result = library.runpytest("--gradcheck", "cases", "-q")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1 and outcomes.get("passed") == 4
    assert outcomes.get("errors", outcomes.get("error")) == 2
    out = result.stdout.str()
    assert "log_of_negative[float64] could not be evaluated" in out
    assert "broken.yaml" in out and "did you mean 'inputs'" in out
    assert "Traceback" not in out


def test_k_and_x_and_last_failed(library):
    result = library.runpytest("--gradcheck", "cases", "-q", "-k", "square_sin")
    result.assert_outcomes(passed=2)
    result = library.runpytest("--gradcheck", "cases", "-q", "-x", "-p", "no:randomly")
    assert result.parseoutcomes().get("failed") == 1
    library.runpytest("--gradcheck", "cases", "-q")
    result = library.runpytest("--gradcheck", "cases", "-q", "--lf")
    result.assert_outcomes(failed=1, passed=0)
    assert "wrong_claim[float64]" in result.stdout.str()


def test_junit_output(library):
    result = library.runpytest("--gradcheck", "cases", "-q", "--junitxml=out.xml")
    assert result.ret == 1
    root = ET.parse(library.path / "out.xml").getroot()
    cases = root.iter("testcase")
    names = sorted(c.get("name") for c in cases)
    assert names == ["relu_at_zero[float64]", "square_sin[float32]", "square_sin[float64]",
                     "tanh_sum[float64]", "wrong_claim[float64]"]
    failures = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failures] == ["wrong_claim[float64]"]
    assert "expect_vs_torch" in failures[0].find("failure").text


def test_xdist_with_two_workers(library):
    result = library.runpytest("--gradcheck", "cases", "-q", "-n", "2")
    result.assert_outcomes(passed=4, failed=1)


def test_shards_cover_every_item_exactly_once(library):
    seen = []
    for k in (1, 2, 3):
        result = library.runpytest("--gradcheck", "cases", "--collect-only", "-q", f"--gradcheck-shard={k}/3")
        seen += [line for line in result.stdout.lines if "::" in line]
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 5


def test_bad_shard_is_a_usage_error(library):
    result = library.runpytest("--gradcheck", "cases", "--gradcheck-shard=4/3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "K must be between 1 and N" in result.stderr.str()


def test_dtype_option_replaces_the_cases_dtypes(library):
    result = library.runpytest("--gradcheck", "cases", "--collect-only", "-q", "--gradcheck-dtype", "float32")
    out = result.stdout.str()
    assert "5 tests collected" not in out and "4 tests collected" in out and "[float64]" not in out


# ---- sharding -------------------------------------------------------------------------

def test_in_shard_partitions_any_name_set():
    names = [f"case_{i}" for i in range(500)]
    for n in (1, 2, 3, 7):
        owners = [[k for k in range(1, n + 1) if in_shard(name, k, n)] for name in names]
        assert all(len(o) == 1 for o in owners)
        if n > 1:  # and the split is not degenerate
            assert len({o[0] for o in owners}) == n


def test_parse_shard():
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/4", "5/4", "x/4", "2"):
        with pytest.raises(ValueError):
            parse_shard(bad)


# ---- assert_case ------------------------------------------------------------------------

def test_assert_case_passes_and_returns_the_table(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    table = assert_case(path, name="square_sin")
    assert set(table["status"]) == {"pass"} and set(table["dtype"]) == {"float64", "float32"}


def test_assert_case_raises_an_assertion_error_with_the_table(tmp_path):
    path = tmp_path / "wrong.yaml"
    path.write_text(WRONG)
    with pytest.raises(AssertionError) as info:
        assert_case(path)
    assert isinstance(info.value, GradcheckFailure)
    text = str(info.value)
    assert "expect_vs_torch" in text and "worst" in text and "wrong_claim" in text


def test_assert_case_reports_evaluation_errors_and_ambiguity(tmp_path):
    (tmp_path / "nan.yaml").write_text(NAN)
    with pytest.raises(GradcheckError, match="log_of_negative|non-finite|nan"):
        assert_case(tmp_path / "nan.yaml")
    (tmp_path / "good.yaml").write_text(GOOD)
    with pytest.raises(GradcheckError, match="pass name="):
        assert_case(tmp_path / "good.yaml")
