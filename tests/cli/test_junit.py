"""junit.xml: one testcase per case × dtype, counts that match the table, numbers in failures."""
import xml.etree.ElementTree as ET

import numpy as np

from gradcheck_suite.report import Report, render_junit
from gradcheck_suite.report.junit import classname_of
from tests.cli.sample import mixed_table, row, table


def _parse(tab, **kw):
    return ET.fromstring(render_junit(Report(tab, **kw)).encode("utf-8"))


def test_one_testcase_per_case_and_dtype():
    root = _parse(mixed_table())
    names = [(t.get("file"), t.get("name")) for t in root.iter("testcase")]
    assert names == [("cases/sig.yaml", "sig[float64]"), ("cases/sig.yaml", "sig[float32]"),
                     ("cases/kinks.yaml", "relu_kink[float64]"), ("cases/kinks.yaml", "skipped_case[float64]"),
                     ("cases/kinks.yaml", "nan_case[float64]"), ("cases/broken.yaml", "broken[load]")]


def test_classname_is_split_by_jenkins_into_folder_and_file_not_at_the_suffix():
    root = _parse(mixed_table())
    assert [t.get("classname") for t in root.iter("testcase")][::2] == ["cases.sig", "cases.kinks", "cases.kinks"]
    assert classname_of("cases/nn/v1.2/layer.norm.yml") == "cases.nn.v1_2.layer_norm"
    assert classname_of("x.yaml") == "x"


def test_counts_match_the_table():
    root = _parse(mixed_table())
    suite = root.find("testsuite")
    assert [suite.get(k) for k in ("tests", "failures", "errors", "skipped")] == ["6", "1", "2", "1"]
    assert len(root.findall(".//failure")) == 1 and len(root.findall(".//error")) == 2
    assert len(root.findall(".//skipped")) == 1
    assert root.get("tests") == "6"


def test_failure_has_the_numbers_in_message_and_body():
    failure = _parse(mixed_table()).find(".//failure")
    for text in (failure.get("message"), failure.text):
        assert "expect_vs_torch" in text and "max_abs_err=0.1" in text and "actual=0.35" in text
        assert "expected=0.25" in text and "(2,)" in text


def test_nondiff_passes_with_a_note_and_skip_only_when_all_skipped():
    root = _parse(table(row(status="nondiff", message="on a kink"), row(), row(case="b", status="skip"),
                        row(case="c", status="skip"), row(case="c")))
    cases = {t.get("name").split("[")[0]: t for t in root.iter("testcase")}
    assert cases["sig"].find("failure") is None and "on a kink" in cases["sig"].find("system-out").text
    assert cases["b"].find("skipped") is not None
    assert cases["c"].find("skipped") is None


def test_time_counts_each_inputs_timings_once():
    # the rows of one input repeat that input's timings (0.001 + 0.002 + 0.003 s)
    root = _parse(table(row(), row(check="hand_vs_fd"), row(input="y"), row(input="y", check="torch_vs_fd")))
    assert abs(float(root.find(".//testcase").get("time")) - 0.012) < 1e-9


def test_duplicate_names_get_a_stable_suffix():
    # a file-level load error of x.yaml and a load error of its case "x" would both be "x[load]"
    tab = table(row(case="", file="cases/x.yaml", dtype="", check="load", status="error"),
                row(case="x", file="cases/x.yaml", dtype="", check="load", status="error"))
    names = [t.get("name") for t in _parse(tab).iter("testcase")]
    assert names == ["x[load]", "x[load] #2"]
    assert names == [t.get("name") for t in _parse(tab).iter("testcase")]


def test_properties_carry_seed_versions_and_incompleteness():
    root = _parse(table(row()), meta={"seed": 42, "versions": {"numpy": np.__version__, "torch": "2.13.0"}},
                  incomplete=True)
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["seed"] == "42" and props["numpy"] == np.__version__ and props["torch"] == "2.13.0"
    assert props["incomplete"] == "true"


def test_markup_and_control_characters_in_messages_stay_valid_xml():
    root = _parse(table(row(status="fail", message="<b>&amp; \x1b[31m red")))
    assert "<b>&amp;" in root.find(".//failure").get("message")
