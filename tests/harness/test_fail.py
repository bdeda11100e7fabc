"""Wrong gradients fail: wrong claims, broken VJP rules, wrong shapes — with messages a person can act on."""
from __future__ import annotations

import numpy as np

from gradcheck_suite import api
from tests.harness.verdicts import row, statuses


def test_claim_off_by_1e4_relative_fails_in_float64(load_case):
    case = load_case("""
        name: claim_off
        inputs: {x: [0.3, 1.2]}
        steps:
          y: sum(exp(x) * x)
        expect:
          x: exp(x) * (1 + x) * 1.0001
        dtypes: [float64, float32]
    """)
    table = api.check_case(case).table
    r = row(table, "expect_vs_torch")
    assert r["status"] == "fail"
    assert "expect_vs_torch failed for input 'x' at (" in r["message"] and "the claim" in r["message"]
    assert abs(r["max_rel_err"] - 1e-4) < 1e-9
    # the gradient itself is right
    assert statuses(table)["hand_vs_torch"] == "pass"


def test_wrong_claim_fails_and_right_claim_passes(load_case):
    case = load_case("""
        name: claims
        inputs: {x: 0.4, w: 2.0}
        steps:
          y: sigmoid(w * x)
        expect:
          x: y * (1 - y)
          w: x * y * (1 - y)
    """)
    table = api.check_case(case).table
    assert row(table, "expect_vs_torch", input="x")["status"] == "fail"
    assert row(table, "expect_vs_torch", input="w")["status"] == "pass"


def test_broken_vjp_rule_fails_hand_checks(load_case, broken):
    case = load_case("""
        name: tanh_case
        inputs: {x: [[0.1, -0.5], [0.9, 2.0]]}
        expr: sum(tanh(x) * 3.0)
        dtypes: [float64, float32]
    """)
    broken("tanh", vjp=(lambda g, ans, x: g * (1 - ans),))  # wrong: d tanh = 1 − tanh²
    table = api.check_case(case).table
    for dtype in ("float64", "float32"):
        assert statuses(table, dtype) == {"hand_vs_torch": "fail", "hand_vs_fd": "fail", "torch_vs_fd": "pass"}
    msg = row(table, "hand_vs_torch")["message"]
    assert msg.startswith("hand_vs_torch failed for input 'x' at (")
    assert "ours " in msg and " vs torch " in msg and "|err|" in msg and "> tol" in msg
    r = row(table, "hand_vs_fd")
    assert "finite differences" in r["message"] and r["method"] == "complex-step"
    # the worst element is reported with both values
    worst = tuple(int(i) for i in r["worst_index"].strip("()").split(","))
    x = np.array([[0.1, -0.5], [0.9, 2.0]])
    assert abs(r["expected"] - 3 * (1 - np.tanh(x[worst]) ** 2)) < 1e-9
    assert abs(r["actual"] - 3 * (1 - np.tanh(x[worst]))) < 1e-9


def test_broken_jvp_only_is_caught_in_projected_mode(load_case, broken):
    case = load_case("""
        name: jvp_case
        inputs: {x: {shape: [50], seed: 4}}
        expr: sum(sin(x) * x)
        mode: projected
    """)
    broken("sin", jvp=(lambda t, ans, x: t * np.cos(x) * 1.5,))
    table = api.check_case(case).table
    assert statuses(table)["hand_vs_fd"] == "fail"
    assert statuses(table)["torch_vs_fd"] == "pass"


def test_rule_returning_the_wrong_shape_is_a_fail_row(load_case, broken):
    case = load_case("""
        name: shape_case
        inputs: {x: [1.0, 2.0, 3.0]}
        expr: sum(exp(x))
    """)
    broken("exp", vjp=(lambda g, ans, x: (g * ans)[..., :2],))
    table = api.check_case(case).table
    assert statuses(table) == {"hand_vs_torch": "fail", "hand_vs_fd": "fail", "torch_vs_fd": "pass"}
    msg = row(table, "hand_vs_torch")["message"]
    assert "returned shape (2,), expected (3,)" in msg and "'x'" in msg


def test_projections_catch_a_wrong_rule_and_fall_back_to_the_worst_element(load_case, broken):
    case = load_case("""
        name: big_wrong
        inputs: {x: {shape: [2500], seed: 11}}
        expr: sum(sin(x) * 2.0)
    """)
    x = case.leaves(0)["x"]
    # wrong only where x > 2.5 (a handful of the 2,500 elements)
    broken("sin", vjp=(lambda g, ans, x: g * np.cos(x) * np.where(x > 2.5, 1.2, 1.0),))
    table = api.check_case(case).table
    for check in ("hand_vs_torch", "hand_vs_fd"):
        r = row(table, check)
        assert r["status"] == "fail" and r["mode"] == "full"
        assert r["message"].startswith("random projections disagreed (")
        worst = int(r["worst_index"].strip("(),"))
        assert x[worst] > 2.5
        assert abs(r["actual"] - 2 * np.cos(x[worst]) * 1.2) < 1e-9
    assert row(table, "torch_vs_fd")["status"] == "pass"
