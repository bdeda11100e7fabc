"""Baseline diff classification (issues 6 and 16)."""
import json

import pandas as pd
import pytest

from gradcheck_suite.baseline import compare, read_table
from gradcheck_suite.errors import CaseError

FIELDS = ["case", "dtype", "input", "check", "status", "max_abs_err"]


def table(*rows, **common):
    """Rows of (case, dtype, input, check, status, max_abs_err[, extra fields]); float64 tolerances."""
    out = []
    for r in rows:
        extra = r[6] if len(r) > 6 else {}
        out.append({"file": f"cases/{r[0]}.yaml", "atol": 1e-8, "rtol": 1e-6, "expected": 1.0, "fd_err_est": 0.0,
                    "message": "", **common, **dict(zip(FIELDS, r)), **extra})
    return pd.DataFrame(out)


def load_row(file, message, case=""):
    return ("" if not case else case, "", "", "load", "error", float("nan"),
            {"file": file, "message": message, "atol": float("nan"), "rtol": float("nan")})


OLD = table(
    ("a", "float64", "x", "hand_vs_torch", "pass", 1e-16),
    ("a", "float64", "x", "hand_vs_fd", "pass", 1e-9),
    ("b", "float64", "x", "hand_vs_torch", "fail", 0.3),
    ("c", "float64", "x", "hand_vs_torch", "pass", 1e-8),
    ("gone", "float64", "x", "hand_vs_torch", "pass", 0.0),
)
NEW = table(
    ("a", "float64", "x", "hand_vs_torch", "fail", 0.5),   # newly failing
    ("a", "float64", "x", "hand_vs_fd", "pass", 2e-9),     # grew 2x: not reported
    ("b", "float64", "x", "hand_vs_torch", "pass", 1e-16),  # newly passing
    ("c", "float64", "x", "hand_vs_torch", "pass", 5e-7),  # grew 50x to half its tolerance: reported
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
    assert not (d.newly_failing or d.newly_passing or d.new or d.removed or d.grown_errors or d.loosened)


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


# ---- issue 16: the key includes the file; load errors are told apart --------------------------

def test_a_newly_broken_file_is_a_new_error_and_a_regression():
    old = table(load_row("cases/broken.yaml", "cases/broken.yaml:2:1: unknown key 'inptus'"))
    new = table(load_row("cases/broken.yaml", "cases/broken.yaml:2:1: unknown key 'inptus'"),
                load_row("cases/broken2.yaml", "cases/broken2.yaml:3:6: YAML: expected ',' or ']'"))
    d = compare(old, new)
    assert [r["file"] for r in d.new] == ["cases/broken2.yaml"]
    assert [r["file"] for r in d.regressions] == ["cases/broken2.yaml"]
    assert "1 new" in d.summary_lines()[0] and "broken2.yaml" in "\n".join(d.summary_lines())


def test_a_second_load_error_in_the_same_file_is_new_but_a_moved_line_is_not():
    before = load_row("cases/x.yaml", "cases/x.yaml:2:1: case 'p', key 'inptus': unknown key", case="p")
    moved = load_row("cases/x.yaml", "cases/x.yaml:7:1: case 'p', key 'inptus': unknown key", case="p")
    other = load_row("cases/x.yaml", "cases/x.yaml:9:3: case 'p', step 'y': unknown primitive 'sinn'", case="p")
    assert compare(table(before), table(moved)).regressions == []
    assert len(compare(table(before), table(moved, other)).regressions) == 1


def test_the_same_case_name_in_two_files_is_two_checks():
    old = table(("dup", "float64", "x", "hand_vs_torch", "pass", 0.0, {"file": "cases/a.yaml"}))
    new = table(("dup", "float64", "x", "hand_vs_torch", "pass", 0.0, {"file": "cases/a.yaml"}),
                ("dup", "float64", "x", "hand_vs_torch", "fail", 1.0, {"file": "cases/b.yaml"}))
    assert [r["file"] for r in compare(old, new).regressions] == ["cases/b.yaml"]


def test_paths_written_differently_are_the_same_file():
    old = table(("a", "float64", "x", "hand_vs_torch", "pass", 0.0, {"file": "./cases/a.yaml"}))
    new = table(("a", "float64", "x", "hand_vs_torch", "pass", 0.0, {"file": "cases/a.yaml"}))
    d = compare(old, new)
    assert not (d.new or d.removed)


# ---- issue 16: a loosened tolerance is not a fix --------------------------------------------

def test_a_loosened_tolerance_is_flagged_not_counted_as_newly_passing():
    old = table(("w", "float64", "x", "expect_vs_torch", "fail", 0.3))
    new = table(("w", "float64", "x", "expect_vs_torch", "pass", 0.3, {"rtol": 1.0, "atol": 10.0}))
    d = compare(old, new)
    assert d.newly_passing == []
    assert [r["case"] for r in d.loosened] == ["w"]
    text = "\n".join(d.summary_lines())
    assert "1 tolerance(s) loosened" in text and "tolerance loosened: w[float64]/x expect_vs_torch" in text


def test_atol_scaled_by_the_data_is_not_a_loosening():
    # the harness scales atol by the reference's magnitude: a few times more is the data, not the case
    d = compare(table(("a", "float64", "x", "hand_vs_torch", "pass", 0.0)),
                table(("a", "float64", "x", "hand_vs_torch", "pass", 0.0, {"atol": 6e-8})))
    assert d.loosened == []


# ---- issue 16: growth is judged against the tolerance bound, per dtype -----------------------

def test_float32_round_off_growth_is_not_a_regression():
    f32 = {"atol": 1e-5, "rtol": 1e-3}
    d = compare(table(("o", "float32", "u", "hand_vs_torch", "pass", 0.0, f32)),
                table(("o", "float32", "u", "hand_vs_torch", "pass", 5.96e-8, f32)))
    assert d.grown_errors == []


def test_growth_toward_the_bound_is_a_regression_in_either_dtype():
    f32 = {"atol": 1e-5, "rtol": 1e-3, "expected": 0.0}
    d = compare(table(("o", "float32", "u", "hand_vs_torch", "pass", 1e-7, f32)),
                table(("o", "float32", "u", "hand_vs_torch", "pass", 6e-6, f32)))
    assert [r["case"] for r in d.grown_errors] == ["o"]
    assert "of its tolerance" in "\n".join(d.summary_lines())


def test_fd_rows_count_the_fd_error_estimate_in_the_bound():
    fd = {"atol": 1e-8, "rtol": 0.0, "fd_err_est": 1e-6}
    d = compare(table(("f", "float64", "x", "hand_vs_fd", "pass", 1e-10, fd)),
                table(("f", "float64", "x", "hand_vs_fd", "pass", 5e-8, fd)))
    assert d.grown_errors == []  # 5e-8 is 5% of the bound 1.01e-6


def test_a_seed_change_on_float32_cases_grows_no_error():
    """The reported case: only --seed changed, float32 rows grew from 0 to ~6e-8."""
    from gradcheck_suite import api

    files = ["cases/shape/shape.yaml", "cases/multipath/multipath.yaml"]
    old = api.run(files, dtypes=["float32"], seed=0).table
    new = api.run(files, dtypes=["float32"], seed=1).table
    merged = old.merge(new, on=["file", "case", "dtype", "input", "check"])
    # the raw-error rule (10x over a 1e-12 floor) would fire here
    assert (merged["max_abs_err_y"] > 10 * merged["max_abs_err_x"].clip(lower=1e-12)).any()
    d = compare(old, new)
    assert d.grown_errors == [] and d.regressions == [] and d.loosened == []
