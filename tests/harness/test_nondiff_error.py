"""Kinks give nondiff (never fail) with hand_vs_torch enforced; NaN and broken evaluation give error."""
from __future__ import annotations

import pytest
import torch

from gradcheck_suite import api
from gradcheck_suite.ops import get
from tests.harness.verdicts import row, statuses

NONDIFF = {"hand_vs_torch": "pass", "hand_vs_fd": "nondiff", "torch_vs_fd": "nondiff"}


@pytest.mark.parametrize("expr, value, left, right", [
    ("relu(x)", "0.0", 0, 1),
    ("abs(x)", "0.0", -1, 1),
    ("max(x)", "[1.0, 3.0, 3.0, -2.0]", 0, 1),
])
def test_kinks_are_nondiff_in_both_dtypes(load_case, expr, value, left, right):
    case = load_case(f"""
        name: kink
        inputs: {{x: {value}}}
        expr: {expr}
        dtypes: [float64, float32]
    """)
    table = api.check_case(case).table
    for dtype in ("float64", "float32"):
        assert statuses(table, dtype) == NONDIFF
    msg = row(table, "hand_vs_fd")["message"]
    assert f"left {left} vs right {right}" in msg and "kink" in msg


def test_tied_max_other_elements_still_judged(load_case, broken):
    case = load_case("""
        name: tied
        inputs: {x: [1.0, 3.0, 3.0, -2.0]}
        expr: max(x) + sum(x * x)
    """)
    assert statuses(api.check_case(case).table) == NONDIFF
    # a wrong rule for mul must still fail at the smooth elements, kink or not
    from gradcheck_suite.ops import get
    right = get("mul").vjp
    broken("mul", vjp=(lambda g, ans, x, y: right[0](g, ans, x, y) * 1.01, right[1]))
    table = api.check_case(case).table
    assert statuses(table)["hand_vs_fd"] == "fail" and statuses(table)["hand_vs_torch"] == "fail"


def test_wrong_subgradient_convention_fails_hand_vs_torch(load_case, broken):
    case = load_case("""
        name: relu_convention
        inputs: {x: [0.0, 1.0]}
        expr: sum(relu(x))
    """)
    broken("relu", vjp=(lambda g, ans, x: g * (x >= 0),))  # relu'(0) = 1: torch says 0
    table = api.check_case(case).table
    r = row(table, "hand_vs_torch")
    assert r["status"] == "fail" and r["worst_index"] == "(0,)"
    assert statuses(table)["hand_vs_fd"] == "nondiff"


def test_an_equality_tie_is_nondiff_though_both_sides_agree(load_case, broken):
    # x == y holds exactly at the point: both one-sided differences see the other branch
    case = load_case("""
        name: equality_tie
        inputs: {x: [0.0, 0.5, 1.0], y: [0.0, -0.5, 1.0]}
        steps:
          out: sum(where(y != x, x, y) * x)
    """)
    table = api.check_case(case).table
    assert statuses(table) == NONDIFF
    msg = row(table, "hand_vs_fd")["message"]
    assert "agree" in msg and "not_equal" in msg and "other branch" in msg and "1 element(s)" in msg
    # the smooth element (1,) is still judged, and our rule is still held to torch's convention
    where = get("where")
    broken("where", vjp=(where.vjp[0], lambda g, ans, c, x, y: where.vjp[1](g, ans, c, x, y) * 1.5, where.vjp[2]))
    table = api.check_case(case).table
    assert statuses(table)["hand_vs_torch"] == "fail" and statuses(table)["hand_vs_fd"] == "fail"


def test_a_smooth_composite_of_kinks_is_nondiff_not_fail(load_case):
    # sign(x)·abs(x) = x is smooth, but the chain rule at 0 multiplies the conventions
    # sign'(0) = abs'(0) = 0 (as torch does): finite differences cannot judge that convention
    case = load_case("""
        name: sign_times_abs
        inputs: {x: [0.0, 0.7, -1.2]}
        expr: sum(sign(x) * abs(x))
    """)
    table = api.check_case(case).table
    assert statuses(table) == NONDIFF
    msg = row(table, "hand_vs_fd")["message"]
    assert "left 1 vs right 1 agree" in msg and "subgradient convention" in msg and "1 element(s)" in msg
    # (test_wrong_subgradient_convention_fails_hand_vs_torch: a convention unlike torch's still fails)


def test_nan_output_is_an_error_row(load_case):
    case = load_case("""
        name: log_negative
        inputs: {x: [1.0, -1.0]}
        expr: sum(log(x))
    """)
    table = api.check_case(case).table
    assert list(table["check"]) == ["evaluate"] and list(table["status"]) == ["error"]
    msg = table["message"].iloc[0]
    assert "log_negative" in msg and "not finite" in msg and "log" in msg and "\n" not in msg
    assert api.run([case]).exit_code == 2


def test_infinite_gradient_is_an_error_not_a_pass(load_case):
    case = load_case("""
        name: sqrt_zero
        inputs: {x: [0.0, 4.0]}
        expr: sum(sqrt(x))
    """)
    table = api.check_case(case).table
    assert statuses(table)["hand_vs_torch"] == "error"
    assert "not finite" in row(table, "hand_vs_torch")["message"]
    assert "pass" not in set(table["status"])


def test_torch_counterpart_in_the_wrong_dtype_is_a_fail_row(load_case, broken):
    case = load_case("""
        name: dtype_case
        inputs: {x: [0.5, 1.5]}
        expr: sum(exp(x))
        dtypes: [float32]
    """)
    broken("exp", torch=lambda x: torch.exp(x.double()))
    table = api.check_case(case).table
    r = row(table, "hand_vs_torch", dtype="float32")
    assert r["status"] == "fail" and "wrong dtype" in r["message"] and "float64" in r["message"]
    assert row(table, "hand_vs_fd", dtype="float32")["status"] == "pass"


def test_load_errors_become_error_rows(tmp_path):
    (tmp_path / "bad.yaml").write_text("name: bad\ninputs: {x: 1.0}\nexpr: sigmoidd(x)\n")
    (tmp_path / "good.yaml").write_text("name: good\ninputs: {x: 1.0}\nexpr: exp(x)\n")
    result = api.run([tmp_path])
    loads = result.table[result.table["check"] == "load"]
    assert list(loads["status"]) == ["error"] and loads["file"].iloc[0].endswith("bad.yaml")
    assert "sigmoidd" in loads["message"].iloc[0] and loads["input"].iloc[0] == ""
    assert set(result.table[result.table["case"] == "good"]["status"]) == {"pass"}
    assert result.exit_code == 2 and len(result.errors) == 1
