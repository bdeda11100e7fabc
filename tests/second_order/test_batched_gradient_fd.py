"""hessian_vs_grad_fd's batched pass (our gradient at many perturbed copies at once, issue 15 §4):
the same finite differences as one gradient per copy, to rounding; kinks still nondiff."""
from __future__ import annotations

import numpy as np
import pytest

from gradcheck_suite import api, engine
from gradcheck_suite.harness import hessians
from gradcheck_suite.harness.prepare import case_point
from tests.harness.verdicts import row

CASES = {
    "layer": """
    name: layer
    inputs:
      W: {shape: [3, 4], init: normal, std: 0.7}
    constants:
      x: {shape: [4], init: normal}
    expr: sum(tanh(W @ x))
""",
    # both operands of W @ x move: matmul's VJP rules take a 1-D operand unbatched, so the batched pass
    # is not trusted here and the differences take one gradient per copy (same numbers)
    "layer_both": """
    name: layer_both
    inputs:
      W: {shape: [3, 4], init: normal, std: 0.7}
      x: {shape: [4], init: normal}
    expr: sum(tanh(W @ x))
""",
    "broadcast": """
    name: broadcast
    inputs:
      a: {shape: [3, 1], init: normal}
      b: {shape: [4], init: normal}
    expr: sum(exp(a * b) / (1 + b * b))
""",
    "vector_output": """
    name: vector_output
    inputs:
      x: {shape: [5], init: normal}
    expr: log(1 + x * x) * sin(x)
""",
    # relu's kink exactly at the point: the gradient jumps there
    "kink": """
    name: kink
    inputs: {x: [0.0, 0.5, -0.3]}
    constants: {c: [2.0, 1.0, 3.0]}
    expr: sum(relu(x) * relu(x) * c + relu(x))
""",
}


def _routes(load_case, text):
    case = load_case(text)
    point = case_point(case, "float64", 0, "full", None, [])
    return point, hessians.GradientFDRoute(point, hessians.cotangent(point))


@pytest.mark.parametrize("name", sorted(set(CASES) - {"layer_both"}))
def test_the_batched_gradient_is_the_one_at_a_time_gradient(load_case, name):
    point, route = _routes(load_case, CASES[name])
    one_name = point.inputs[0]
    gradients, per_copy = route._batched(one_name)
    assert gradients is not None and per_copy > 0  # the batched pass is trusted on these functions
    rng = np.random.default_rng(3)
    x0 = point.values64[one_name]
    copies = x0[None] + 1e-3 * rng.standard_normal((7,) + x0.shape)
    one = route._function(one_name)
    slow = np.stack([one(c.copy()) for c in copies])
    np.testing.assert_allclose(gradients(copies), slow, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_batched_differences_equal_one_gradient_per_copy(load_case, monkeypatch, name):
    point, route = _routes(load_case, CASES[name])
    for n in point.inputs:
        fast = route._compute(n)
        slow_route = hessians.GradientFDRoute(point, route.w)
        monkeypatch.setattr(slow_route, "_batched", lambda name: (None, 0))
        slow = slow_route._compute(n)
        assert fast.status == slow.status and fast.method == slow.method
        scale = max(1.0, float(np.abs(slow.value).max()))
        np.testing.assert_allclose(fast.value, slow.value, rtol=1e-7, atol=1e-9 * scale)
        # the one-sided estimates serve the kink test only: computed where a kink is near, else none
        assert (fast.forward is not None) == bool(route.near_kinks()) == (name == "kink")
        if fast.forward is not None:
            np.testing.assert_allclose(fast.forward, slow.forward, rtol=1e-7, atol=1e-9 * scale)
            np.testing.assert_allclose(fast.backward, slow.backward, rtol=1e-7, atol=1e-9 * scale)
        else:
            assert slow.forward is None and slow.backward is None


def test_a_pass_the_rules_cannot_batch_is_not_used(load_case):
    point, route = _routes(load_case, CASES["layer_both"])
    assert route._batched("W") == (None, 0)


def test_the_kink_is_still_nondiff_with_the_batched_pass(load_case):
    table = api.check_case(load_case(CASES["kink"]), order=2, mode="full").table
    assert row(table, "hessian_vs_grad_fd", input="x")["status"] == "nondiff"


def test_a_rule_that_mixes_the_copies_is_caught_and_the_differences_go_one_copy_at_a_time(load_case, monkeypatch):
    point, route = _routes(load_case, CASES["layer"])
    real = engine.gradients_batched

    def mixing(*args, **kwargs):  # what a rule summing over the batch axis would give: every copy the same
        out, grads = real(*args, **kwargs)
        return out, {k: np.broadcast_to(v.mean(axis=0), v.shape).copy() for k, v in grads.items()}

    monkeypatch.setattr(engine, "gradients_batched", mixing)
    assert route._batched("W") == (None, 0)
    monkeypatch.setattr(engine, "gradients_batched", lambda *a, **k: (_ for _ in ()).throw(ValueError("no batch")))
    assert route._batched("W") == (None, 0)
    assert route.full("W").usable


def test_full_columns_too_large_for_the_gradient_differences_are_a_skip_that_says_why(load_case, monkeypatch):
    monkeypatch.setattr(hessians, "GRAD_FD_ENTRIES", 100)  # layer: 12 columns of 12 entries = 144
    table = api.check_case(load_case(CASES["layer"]), order=2, mode="full").table
    r = row(table, "hessian_vs_grad_fd", input="W")
    assert r["status"] == "skip" and "12·12 entries" in r["message"] and "projected" in r["message"]
    assert row(table, "hessian_vs_torch", input="W")["status"] == "pass"
