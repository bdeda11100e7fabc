"""Baseline diff classification (issue 6)."""
import json

import pandas as pd
import pytest

from gradcheck_suite.baseline import compare, read_table
from gradcheck_suite.errors import CaseError


def table(*rows):
    return pd.DataFrame([dict(zip(["case", "dtype", "input", "check", "status", "max_abs_err"], r)) for r in rows])


OLD = table(
    ("a", "float64", "x", "hand_vs_torch", "pass", 1e-16),
    ("a", "float64", "x", "hand_vs_fd", "pass", 1e-9),
    ("b", "float64", "x", "hand_vs_torch", "fail", 0.3),
    ("c", "float64", "x", "hand_vs_torch", "pass", 1e-10),
    ("gone", "float64", "x", "hand_vs_torch", "pass", 0.0),
)
NEW = table(
    ("a", "float64", "x", "hand_vs_torch", "fail", 0.5),   # newly failing
    ("a", "float64", "x", "hand_vs_fd", "pass", 2e-9),     # grew 2x: not reported
    ("b", "float64", "x", "hand_vs_torch", "pass", 1e-16),  # newly passing
    ("c", "float64", "x", "hand_vs_torch", "pass", 5e-9),  # grew 50x: reported
    ("fresh", "float64", "x", "hand_vs_torch", "pass", 0.0),   # new
    ("broken", "float64", "", "evaluate", "error", float("nan")),  # new and bad
)


def test_classification():
    d = compare(OLD, NEW)
    assert [(r["case"], r["check"]) for r in d.newly_failing] == [("a", "hand_vs_torch")]
    assert [r["case"] for r in d.newly_passing] == ["b"]
    assert sorted(r["case"] for r in d.new) == ["broken", "fresh"]
    assert [r["case"] for r in d.removed] == ["gone"]
    assert [r["case"] for r in d.grown_errors] == ["c"]
    assert sorted(r["case"] for r in d.regressions) == ["a", "broken", "c"]


def test_growth_from_round_off_is_not_a_regression():
    d = compare(table(("a", "float64", "x", "hand_vs_torch", "pass", 1e-17)),
                table(("a", "float64", "x", "hand_vs_torch", "pass", 1e-15)))
    assert d.grown_errors == [] and d.regressions == []


def test_identical_tables_have_no_differences():
    d = compare(OLD, OLD)
    assert not (d.newly_failing or d.newly_passing or d.new or d.removed or d.grown_errors)


def test_summary_names_each_regression():
    text = "\n".join(compare(OLD, NEW).summary_lines())
    assert "1 newly failing" in text and "a[float64]/x hand_vs_torch" in text and "error grew" in text


def test_read_csv_and_json(tmp_path):
    OLD.to_csv(tmp_path / "results.csv", index=False)
    (tmp_path / "results.json").write_text(json.dumps({"results": OLD.to_dict("records")}))
    for name in ("results.csv", "results.json"):
        back = read_table(tmp_path / name)
        assert compare(OLD, back).regressions == []
        assert len(back) == len(OLD)


def test_unreadable_baselines_are_located_errors(tmp_path):
    with pytest.raises(CaseError, match="not found"):
        read_table(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(CaseError, match="missing column") as info:
        read_table(bad)
    assert str(bad) in str(info.value)
