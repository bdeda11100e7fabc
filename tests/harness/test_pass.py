"""Correct gradients pass, in float64 and float32 — including the cases peers falsely fail."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from gradcheck_suite import api
from gradcheck_suite.harness.verdict import COLUMNS
from gradcheck_suite.reference.torch_ref import torch_function
from tests.harness.verdicts import row, statuses

ALL_PASS = {"hand_vs_torch": "pass", "hand_vs_fd": "pass", "torch_vs_fd": "pass"}


def test_sigmoid_with_claim_passes_in_both_dtypes(load_case):
    case = load_case("""
        name: sigmoid_wx
        inputs: {x: 0.7, w: -1.3, b: 0.2}
        steps:
          y: sigmoid(w * x + b)
        expect:
          x: w * y * (1 - y)
        dtypes: [float64, float32]
    """)
    table = api.check_case(case).table
    assert list(table.columns) == COLUMNS
    for dtype in ("float64", "float32"):
        assert statuses(table, dtype) == dict(ALL_PASS, expect_vs_torch="pass")
        assert statuses(table, dtype, "w") == ALL_PASS
    assert row(table, "hand_vs_fd")["method"] == "complex-step"


def test_sqrt_near_1e6_and_logsumexp_at_1000(load_case):
    case = load_case("""
        name: numerics
        inputs:
          x: [1.0e-6, 2.0e-6, 0.5]
          z: [1000.0, 1000.5, 999.0]
        steps:
          y: sum(sqrt(x)) + logsumexp(z)
        expect:
          x: 0.5 / sqrt(x)
        dtypes: [float64, float32]
    """)
    table = api.check_case(case).table
    assert set(table["status"]) == {"pass"}, table[["dtype", "input", "check", "message"]]
    assert row(table, "expect_vs_torch")["max_rel_err"] < 1e-12


def test_richardson_path_with_a_kink_nearby_but_not_on_it(load_case):
    # abs is not analytic: Richardson is used; |x| = 3e-7 is within the default step of the kink
    case = load_case("""
        name: near_kink
        inputs: {x: [3.0e-7, -0.4, 1.5]}
        expr: sum(abs(x) * exp(x))
        dtypes: [float64, float32]
    """)
    table = api.check_case(case).table
    assert set(table["status"]) == {"pass"}, table[["dtype", "check", "message"]]
    assert row(table, "hand_vs_fd")["method"] == "richardson"


def test_vector_output_full_jacobian(load_case):
    case = load_case("""
        name: softmax_jac
        inputs: {x: {shape: [4], seed: 3}}
        expr: softmax(x * 2.0)
        dtypes: [float64, float32]
    """)
    result = api.check_case(case)
    assert set(result.table["status"]) == {"pass"}
    arrays = result.arrays[("softmax_jac", "float64", "x")]
    assert arrays["kind"] == "jacobian" and arrays["ours"].shape == (4, 4)
    np.testing.assert_allclose(arrays["ours"], arrays["fd"], atol=1e-12)


def test_float32_case_that_torch_gradcheck_falsely_fails(load_case):
    case = load_case("""
        name: f32_mlp
        inputs:
          x: {shape: [20], seed: 1}
          W: {shape: [20, 20], seed: 2, std: 0.5}
        expr: sum(tanh(W @ x) * exp(x[0:20]))
        dtypes: [float32]
    """)
    table = api.check_case(case).table
    assert set(table["status"]) == {"pass"}, table[["input", "check", "message"]]
    f = torch_function(case, "float32")
    leaves = case.leaves(0)
    inputs = [torch.tensor(leaves[n], dtype=torch.float32, requires_grad=True) for n in f.input_names]
    with pytest.warns(UserWarning):  # torch warns that float32 is not precise enough — and fails
        assert not torch.autograd.gradcheck(f, inputs, raise_exception=False)


def test_10000_element_input_in_full_mode(load_case):
    case = load_case("""
        name: big_x
        inputs:
          x: {shape: [10000], seed: 5}
        expr: sum(tanh(x))
        mode: full
    """)
    start = time.perf_counter()
    table = api.check_case(case).table
    elapsed = time.perf_counter() - start
    assert set(table["status"]) == {"pass"} and set(table["mode"]) == {"full"}
    assert set(table["shape"]) == {"(10000,)"} and len(table) == 3
    print(f"10,000-element full check: {elapsed:.2f} s; FD {table['time_fd_s'].iloc[0]:.2f} s")


def test_large_input_goes_projected_and_passes(load_case):
    case = load_case("""
        name: big_projected
        inputs:
          x: {shape: [3000], seed: 7}
        expr: sum(sin(x) * x)
        dtypes: [float64, float32]
    """)
    table = api.check_case(case).table
    assert set(table["mode"]) == {"projected"}
    assert set(table["status"]) == {"pass"}, table[["dtype", "check", "message"]]
