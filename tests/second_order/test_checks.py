"""The second-order checks in the results table: asked for, judged, skipped, nondiff, projected."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from gradcheck_suite import api, cli
from gradcheck_suite.contract import SECOND_ORDER_CHECKS
from gradcheck_suite.ops import registry
from tests.harness.verdicts import row, statuses

SIGMOID = """
    name: sig
    order: 2
    inputs: {x: 0.7}
    constants: {w: 1.3, b: -0.4}
    steps:
      u: w * x + b
      y: sigmoid(u)
"""

LAYER = """
    name: layer
    order: 2
    inputs:
      W: {shape: [3, 4], init: normal, std: 0.7}
      x: {shape: [4], init: normal}
    expr: sum(tanh(W @ x))
    dtypes: [float64, float32]
"""


def _second(table: pd.DataFrame, dtype: str = "float64", input: str = "x") -> dict[str, str]:
    return {k: v for k, v in statuses(table, dtype, input).items() if k in SECOND_ORDER_CHECKS}


def test_order_two_adds_three_rows_and_order_one_none(load_case):
    case = load_case(SIGMOID)
    assert case.order == 2
    table = api.check_case(case).table
    assert _second(table) == dict.fromkeys(SECOND_ORDER_CHECKS, "pass")
    plain = api.check_case(dataclasses.replace(case, order=1)).table
    assert not set(plain["check"]) & set(SECOND_ORDER_CHECKS)
    asked = api.check_case(dataclasses.replace(case, order=1), order=2).table
    assert _second(asked) == dict.fromkeys(SECOND_ORDER_CHECKS, "pass")


def test_the_seed_sigmoids_second_derivative_is_s_1_minus_s_1_minus_2s(load_case):
    table = api.check_case(load_case(SIGMOID)).table
    s = 1 / (1 + np.exp(-(1.3 * 0.7 - 0.4)))
    closed_form = s * (1 - s) * (1 - 2 * s) * 1.3 ** 2  # d²y/dx² = σ''(u)·w²
    r = row(table, "hessian_vs_torch")
    assert abs(r["actual"] - closed_form) < 1e-14 and abs(r["expected"] - closed_form) < 1e-14
    assert abs(row(table, "hessian_vs_fd")["expected"] - closed_form) < 1e-8


def test_a_wrong_second_derivative_fails_every_second_order_row_and_no_first_order_row(load_case, broken):
    case = load_case(SIGMOID)
    wrong = registry.get("sigmoid").second_order[0]
    broken("sigmoid", second_order=(lambda g, ans, dans, dargs, x: 1.01 * wrong(g, ans, dans, dargs, x),))
    table = api.check_case(case).table
    assert _second(table) == dict.fromkeys(SECOND_ORDER_CHECKS, "fail")
    assert statuses(table)["hand_vs_torch"] == "pass"
    msg = row(table, "hessian_vs_torch")["message"]
    assert msg.startswith("hessian_vs_torch failed for input 'x'") and "ours (HVP)" in msg


def test_a_broken_bilinear_cross_term_is_caught_on_the_cross_block(load_case, broken):
    case = load_case(LAYER)
    broken("matmul", second_order=registry.LINEAR)  # forgets the product rule: ∂²/∂W∂x goes missing
    table = api.check_case(case, dtypes=["float64"]).table
    for name in ("W", "x"):
        assert _second(table, input=name) == dict.fromkeys(SECOND_ORDER_CHECKS, "fail"), name
    assert "(∂²s/∂" in row(table, "hessian_vs_torch", input="x")["message"]


def test_float32_and_float64_pass_with_cross_blocks(load_case):
    table = api.check_case(load_case(LAYER)).table
    for dtype in ("float64", "float32"):
        for name in ("W", "x"):
            assert _second(table, dtype, name) == dict.fromkeys(SECOND_ORDER_CHECKS, "pass"), (dtype, name)
    assert row(table, "hessian_vs_torch", input="W")["shape"] == "(3, 4)"


PROD = """
    name: soft
    order: 2
    inputs: {x: [0.2, -0.4, 1.1]}
    expr: sum(prod(x) * x)
"""


def test_a_primitive_without_second_order_makes_the_rows_skip_with_its_name(load_case, broken):
    broken("prod", second_order="the second order of a product is withheld for this test")
    table = api.check_case(load_case(PROD)).table
    assert _second(table) == dict.fromkeys(SECOND_ORDER_CHECKS, "skip")
    message = row(table, "hessian_vs_torch")["message"]
    assert "prod" in message and "withheld for this test" in message
    assert statuses(table)["hand_vs_torch"] == "pass"


def test_prod_declares_its_second_order_and_passes(load_case):
    table = api.check_case(load_case(PROD)).table
    assert _second(table) == dict.fromkeys(SECOND_ORDER_CHECKS, "pass")


def test_relu_on_its_kink_is_nondiff_never_fail(load_case):
    table = api.check_case(load_case("""
        name: kink
        order: 2
        inputs: {x: [0.5, 0.0, -0.7]}
        expr: sum(relu(x) * x + x * x * x)
    """)).table
    assert _second(table) == {"hessian_vs_torch": "pass", "hessian_vs_grad_fd": "nondiff",
                              "hessian_vs_fd": "nondiff"}
    assert "relu" in row(table, "hessian_vs_fd")["message"]


def test_large_inputs_are_judged_by_probes_and_a_wrong_rule_still_fails(load_case, broken):
    case = load_case(LAYER)
    table = api.check_case(case, dtypes=["float64"], threshold=5).table
    r = row(table, "hessian_vs_fd", input="W")
    assert (r["status"], r["mode"]) == ("pass", "projected")
    assert _second(table, input="W") == dict.fromkeys(SECOND_ORDER_CHECKS, "pass")
    broken("tanh", second_order=(lambda g, ans, dans, dargs, x: 0.0 * g,))  # tanh'' forgotten
    table = api.check_case(case, dtypes=["float64"], threshold=5).table
    assert _second(table, input="W") == dict.fromkeys(SECOND_ORDER_CHECKS, "fail")


def test_order_on_the_command_line_and_a_bad_order_in_a_case(tmp_path):
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "a.yaml").write_text("name: plain\ninputs: {x: [0.3, 0.9]}\nexpr: sum(exp(x) * sin(x))\n")
    (cases / "b.yaml").write_text("name: bad\norder: 3\ninputs: {x: 1.0}\nexpr: exp(x)\n")
    code = cli.main(["run", str(cases), "--out", str(tmp_path / "out"), "--format", "csv", "--order", "2", "-q"])
    table = pd.read_csv(tmp_path / "out" / "results.csv", keep_default_na=False)
    assert code == 2  # the bad case is an error row
    plain = table[table["case"] == "plain"]
    assert set(SECOND_ORDER_CHECKS) <= set(plain["check"]) and set(plain["status"]) == {"pass"}
    bad = table[table["check"] == "load"]
    assert len(bad) == 1 and "unknown order 3" in bad.iloc[0]["message"] and "b.yaml" in bad.iloc[0]["message"]


def test_a_zero_double_backward_from_torch_at_a_kink_is_not_an_error(load_case):
    # abs'' comes back from torch as its lazy ZeroTensor; x[2] sits exactly on abs's kink
    table = api.check_case(load_case("""
        name: zero
        order: 2
        inputs: {x: [0.2, 0.5, 0.3]}
        expr: sum(log(x) + abs(x - 0.3) * 2.0)
    """)).table
    assert _second(table) == {"hessian_vs_torch": "pass", "hessian_vs_grad_fd": "nondiff", "hessian_vs_fd": "nondiff"}
    assert "abs at step 'y' sits exactly on its kink" in row(table, "hessian_vs_fd")["message"]


def test_the_finite_differences_of_our_gradient_stay_in_the_forwards_domain(load_case):
    # log near 0: the step must shrink where log(x − h) is not finite, although 1/x is
    table = api.check_case(load_case("""
        name: domain
        order: 2
        inputs: {x: [1.0e-8, 0.5]}
        expr: sum(log(x))
    """)).table
    assert _second(table) == dict.fromkeys(SECOND_ORDER_CHECKS, "pass")
    assert abs(row(table, "hessian_vs_torch")["expected"] + 1e16) < 1e6  # d²/dx² log x = −1/x² at 1e-8


def test_a_kink_near_the_point_but_inside_the_stencil_is_nondiff_not_fail(load_case):
    table = api.check_case(load_case("""
        name: near
        order: 2
        inputs: {x: [1.0e-8, 0.5, -0.3]}
        expr: sum(log(abs(x)) + abs(x) * 2.0)
    """)).table
    assert _second(table) == {"hessian_vs_torch": "pass", "hessian_vs_grad_fd": "nondiff", "hessian_vs_fd": "nondiff"}
    assert "from its kink, within the stencil" in row(table, "hessian_vs_fd")["message"]


def test_float32_projections_of_the_hessian_pass(load_case):
    table = api.check_case(load_case(LAYER), dtypes=["float32"], threshold=5).table
    assert _second(table, "float32", "W") == dict.fromkeys(SECOND_ORDER_CHECKS, "pass")
    assert set(table[table["check"].isin(SECOND_ORDER_CHECKS) & (table["input"] == "W")]["mode"]) == {"projected"}
