"""The plugin as a CI job runs it: serial sessions, ini paths, shards, JUnit, time limits (issue 16)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import torch  # noqa: F401  (imported once here: in-process pytester runs must not re-import torch)

import gradcheck_suite.api  # noqa: F401
from gradcheck_suite.shard import in_shard
from tests.gate.test_plugin import GOOD, KINK, WRONG
from tests.robustness.slow_cases import SLOW

pytest_plugins = ["pytester"]

SYNTAX = "name: torn\ninputs: {x: [1.0, 2.0\nsteps: {y: x}\n"


@pytest.fixture
def library(pytester):
    pytester.mkdir("cases")
    pytester.makefile(".yaml", **{"cases/good": GOOD, "cases/wrong": WRONG, "cases/kink": KINK})
    return pytester


def outcomes(result) -> dict:
    got = result.parseoutcomes()
    if "error" in got:
        got["errors"] = got.pop("error")
    return got


def test_broken_yaml_file_is_one_error_item_in_a_serial_session(library):
    library.makefile(".yaml", **{"cases/torn": SYNTAX})
    result = library.runpytest("--gradcheck", "cases", "-q", "-p", "no:cacheprovider")
    out = result.stdout.str()
    assert "Interrupted" not in out and "during collection" not in out
    assert outcomes(result) == {"passed": 4, "failed": 1, "errors": 1}
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "torn.yaml" in out and "Traceback" not in out


def test_last_failed_reruns_the_broken_file_and_the_failure(library):
    library.makefile(".yaml", **{"cases/torn": SYNTAX})
    library.runpytest("--gradcheck", "cases", "-q")
    result = library.runpytest("--gradcheck", "cases", "-q", "--lf")
    assert "Interrupted" not in result.stdout.str()
    assert outcomes(result) == {"failed": 1, "errors": 1, "deselected": 4} or \
        {k: v for k, v in outcomes(result).items() if k != "deselected"} == {"failed": 1, "errors": 1}


def test_ini_paths_are_collected_beside_testpaths(library):
    library.makeini("[pytest]\ntestpaths = tests\ngradcheck_paths = cases\n")
    library.mkdir("tests")
    library.makepyfile(**{"tests/test_unit": "def test_one():\n    assert 1 + 1 == 2\n"})
    result = library.runpytest("-q")
    assert outcomes(result) == {"passed": 5, "failed": 1}


def test_a_load_error_belongs_to_one_shard_only(library):
    library.makefile(".yaml", **{"cases/torn": SYNTAX})
    owners = []
    for k in (1, 2, 3):
        result = library.runpytest("--gradcheck", "cases", "--collect-only", "-q", f"--gradcheck-shard={k}/3")
        owners += [k for line in result.stdout.lines if "torn.yaml::" in line]
    assert len(owners) == 1


def test_an_empty_shard_of_a_valid_library_passes(pytester):
    pytester.mkdir("cases")
    pytester.makefile(".yaml", **{"cases/wrong": WRONG})
    empty = next(k for k in (1, 2, 3) if not in_shard("wrong_claim", k, 3))
    result = pytester.runpytest("--gradcheck", "cases", "-q", f"--gradcheck-shard={empty}/3")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert f"shard {empty}/3" in result.stdout.str()


def test_junit_has_the_file_and_a_classname_jenkins_does_not_split_at_the_suffix(library):
    library.runpytest("--gradcheck", "cases", "-q", "--junitxml=out.xml")
    cases = {c.get("name"): c for c in ET.parse(library.path / "out.xml").getroot().iter("testcase")}
    wrong = cases["wrong_claim[float64]"]
    assert wrong.get("file") == "cases/wrong.yaml"
    assert wrong.get("classname") == "cases.wrong"
    assert cases["square_sin[float32]"].get("classname") == "cases.good"


def test_items_have_a_time_limit(pytester):
    pytester.mkdir("cases")
    pytester.makefile(".yaml", **{"cases/slow": SLOW})
    result = pytester.runpytest("--gradcheck", "cases", "-q", "--gradcheck-time-limit", "2")
    assert outcomes(result) == {"errors": 1}
    assert "timed out after 2 s" in result.stdout.str()


def test_items_have_the_clis_default_time_limit_without_the_option(pytester, monkeypatch):
    import gradcheck_suite.harness.run as harness_run

    monkeypatch.setattr(harness_run, "DEFAULT_TIME_LIMIT", 1.0)  # the CLI's default, made short
    pytester.mkdir("cases")
    pytester.makefile(".yaml", **{"cases/slow": SLOW})
    result = pytester.runpytest("--gradcheck", "cases", "-q")
    assert outcomes(result) == {"errors": 1}
    assert "timed out after 1 s (the default limit per case" in result.stdout.str()


def test_junit_file_attribute_under_xdist_too(library):
    library.makefile(".yaml", **{"cases/torn": SYNTAX})
    library.runpytest("--gradcheck", "cases", "-q", "-n", "2", "--junitxml=out.xml")
    cases = {c.get("name"): c for c in ET.parse(library.path / "out.xml").getroot().iter("testcase")}
    assert cases["file[load]"].get("file") == "cases/torn.yaml" and cases["file[load]"].get("classname") == "cases.torn"
    assert cases["tanh_sum[float64]"].get("file") == "cases/good.yaml"
