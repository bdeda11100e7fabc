"""The references on their own: finite differences (estimates honest, complex step exact, V-shaped
step curve, directional derivatives) and the torch replay (gradient, Jacobian, VJP, plain function)."""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings, strategies as st

from gradcheck_suite import engine
from gradcheck_suite.graph import Graph
from gradcheck_suite.reference import fd, torch_ref


def chain(*ops: str, reduce: bool = True) -> Graph:
    """x → op1 → op2 … (→ sum): a graph built by hand."""
    g = Graph()
    node = g.add("input", name="x")
    g.inputs["x"] = node.id
    for op in ops:
        node = g.add(op, (node.id,), name=op)
    if reduce:
        node = g.add("sum", (node.id,), name="out")
    g.output = node.id
    return g


finite = st.floats(-2.0, 2.0, allow_nan=False)


@settings(max_examples=25, deadline=None)
@given(st.lists(finite, min_size=1, max_size=6), st.sampled_from([("tanh",), ("sin", "exp"), ("abs", "exp"),
                                                                  ("sigmoid", "square")]))
def test_richardson_error_estimate_is_honest(xs, ops):
    g = chain(*ops)
    x = np.array(xs)
    exact = engine.gradient(engine.evaluate(g, {"x": x}))["x"]
    got = fd.derivative(g, {"x": x}, "x", method="richardson")
    err = np.abs(got.value - exact)
    on_kink = ("abs" in ops) & (np.abs(x) < 1e-4)
    assert np.all((err <= got.error + 1e-12) | on_kink)
    assert np.all((got.error < 1e-6) | on_kink)


def test_complex_step_is_exact_and_chosen_for_analytic_paths():
    g = chain("sin", "exp")
    x = np.array([0.3, -1.1, 2.0])
    got = fd.derivative(g, {"x": x}, "x")
    assert got.method == "complex-step"
    np.testing.assert_allclose(got.value, np.exp(np.sin(x)) * np.cos(x), rtol=1e-15)
    assert fd.derivative(chain("relu", "exp"), {"x": x}, "x").method == "richardson"
    assert not fd.path_is_analytic(chain("relu"), "x") and fd.path_is_analytic(chain("tanh"), "x")


def test_domain_edge_shrinks_the_step():
    g = chain("relu", "sqrt")  # not analytic (relu): Richardson, with x − h < 0 at the default step
    x = np.array([1e-6, 4.0])
    got = fd.derivative(g, {"x": x}, "x")
    np.testing.assert_allclose(got.value, 0.5 / np.sqrt(x), rtol=1e-7)
    assert got.step[0] < fd.default_step(x)[0]


def test_one_sided_differences_disagree_at_a_kink_only():
    got = fd.derivative(chain("abs"), {"x": np.array([0.0, 0.7])}, "x")
    assert abs(got.backward[0] + 1.0) < 1e-9 and abs(got.forward[0] - 1.0) < 1e-9
    assert abs(got.forward[1] - got.backward[1]) < 1e-9


def test_step_error_curve_is_a_v():
    steps, estimates, errors, reference = fd.step_error_curve(chain("exp"), {"x": np.array([0.5])}, "x", (0,))
    assert abs(reference - np.exp(0.5)) < 1e-14
    best = int(np.argmin(errors))
    assert 0 < best < len(steps) - 1
    assert errors[0] > 1e3 * errors[best] and errors[-1] > 1e3 * errors[best]
    assert 1e-8 < steps[best] < 1e-3  # near ε^(1/3) ≈ 6e-6


def test_directional_derivative_equals_jacobian_times_v():
    g = chain("tanh", reduce=False)
    x = np.array([0.1, -0.4, 0.8])
    v = np.random.default_rng(0).standard_normal((2, 3))
    jac = np.diag(1 - np.tanh(x) ** 2)
    for method in ("complex-step", "richardson"):
        got = fd.directional(g, {"x": x}, "x", v, method=method)
        np.testing.assert_allclose(got.value, v @ jac.T, rtol=1e-8, atol=1e-10)


def test_jacobian_is_output_first():
    g = chain("exp", reduce=False)
    x = np.array([0.2, 0.4])
    got = fd.derivative(g, {"x": x}, "x")
    np.testing.assert_allclose(got.jacobian(got.value, 1), np.diag(np.exp(x)), rtol=1e-14, atol=1e-300)


def test_torch_replay_gradient_jacobian_vjp():
    g = chain("sin", reduce=False)
    x = np.array([0.1, 0.5, -0.3])
    tev = torch_ref.replay(g, {"x": x}, "float64")
    np.testing.assert_allclose(torch_ref.jacobian(tev)["x"], np.diag(np.cos(x)), atol=1e-15)
    u = np.eye(3)[:2]
    np.testing.assert_allclose(torch_ref.vjp(tev, u)["x"], np.diag(np.cos(x))[:2], atol=1e-15)
    tev32 = torch_ref.replay(chain("sin"), {"x": x}, "float32")
    grad = torch_ref.gradient(tev32)["x"]
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, np.cos(x), rtol=1e-6)


def test_torch_function_runs_under_gradcheck(load_case):
    case = load_case("""
        name: tf
        inputs: {x: [0.3, 0.6], w: 1.5}
        constants: {c: [1.0, -1.0]}
        expr: sum(tanh(w * x) * c)
    """)
    f = torch_ref.torch_function(case, "float64")
    assert f.input_names == ("x", "w")
    leaves = case.leaves(0)
    inputs = [torch.tensor(leaves[n], requires_grad=True) for n in f.input_names]
    assert torch.autograd.gradcheck(f, inputs)
    np.testing.assert_allclose(f(*inputs).item(), np.sum(np.tanh(1.5 * leaves["x"]) * [1, -1]))
