"""The tutorial's worked examples (cases/seed/): engine gradients equal the closed forms.

Each closed form is computed here, independently, with numpy from the case's own
input values — never from the engine's intermediate values.
"""
from pathlib import Path

import numpy as np
import pytest

from gradcheck_suite import engine
from gradcheck_suite.loader import load_paths

SEED_DIR = Path(__file__).resolve().parents[1] / "cases" / "seed"


@pytest.fixture(scope="module")
def seeds():
    result = load_paths([SEED_DIR])
    assert result.errors == [], [str(e) for e in result.errors]
    return {case.name: case for case in result.cases}


def sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def run(case):
    leaves = case.leaves()
    return leaves, engine.evaluate(case.graph, leaves, np.float64)


def claim(case, name, leaves):
    """The value of the case's own expect: claim for input ``name``."""
    return engine.evaluate(case.expect_graphs[name], leaves, np.float64).output


def test_the_four_seed_cases_load_as_teaching_examples(seeds):
    assert sorted(seeds) == ["seed_sigmoid_affine", "seed_sigmoid_primitive_steps", "seed_two_paths",
                             "seed_vector_chain"]
    for case in seeds.values():
        assert case.title and case.description and "\n" not in case.description
        assert case.tags == ["seed", "teaching"]


def test_sigmoid_of_an_affine_map(seeds):
    case = seeds["seed_sigmoid_affine"]
    assert case.steps == {"u": "w * x + b", "y": "sigmoid(u)"} and case.expect == {"x": "y * (1 - y) * w"}
    assert list(case.inputs) == ["x"] and sorted(case.constants) == ["b", "w"]
    leaves, ev = run(case)
    x, w, b = leaves["x"], leaves["w"], leaves["b"]
    closed = sigmoid(w * x + b) * (1 - sigmoid(w * x + b)) * w  # dy/dx = σ(wx+b)(1 − σ(wx+b))·w
    np.testing.assert_allclose(ev.output, sigmoid(w * x + b), rtol=1e-14)
    np.testing.assert_allclose(engine.gradient(ev)["x"], closed, rtol=1e-12)
    np.testing.assert_allclose(claim(case, "x", leaves), closed, rtol=1e-12)
    assert 0 < abs(closed) and 0.1 < sigmoid(w * x + b) < 0.9  # not a special point


def test_sigmoid_in_four_primitive_steps(seeds):
    case = seeds["seed_sigmoid_primitive_steps"]
    assert case.steps == {"f": "-x", "g": "exp(f)", "w": "1 + g", "v": "1 / w"}
    assert [case.graph[case.graph.steps[s]].op for s in case.steps] == ["neg", "exp", "add", "div"]
    leaves, ev = run(case)
    s = sigmoid(leaves["x"])
    closed = s * (1 - s)  # S' = S(1 − S)
    np.testing.assert_allclose(ev.output, s, rtol=1e-14)
    np.testing.assert_allclose(engine.gradient(ev)["x"], closed, rtol=1e-12)
    np.testing.assert_allclose(claim(case, "x", leaves), closed, rtol=1e-12)
    # the tutorial's first form of the same derivative: e^-x / (1 + e^-x)²
    x = leaves["x"]
    np.testing.assert_allclose(closed, np.exp(-x) / (1 + np.exp(-x)) ** 2, rtol=1e-12)


def test_two_paths_are_summed(seeds):
    case = seeds["seed_two_paths"]
    leaves, ev = run(case)
    x, y = leaves["x"], leaves["y"]
    u, v = x * y, x + y
    dz_du, dz_dv = np.sin(v), u * np.cos(v)
    closed = {
        "x": dz_du * y + dz_dv * 1.0,  # ∂z/∂x = ∂z/∂u·∂u/∂x + ∂z/∂v·∂v/∂x
        "y": dz_du * x + dz_dv * 1.0,  # ∂z/∂y = ∂z/∂u·∂u/∂y + ∂z/∂v·∂v/∂y
    }
    grads = engine.gradient(ev)
    for name in ("x", "y"):
        np.testing.assert_allclose(grads[name], closed[name], rtol=1e-12)
        np.testing.assert_allclose(claim(case, name, leaves), closed[name], rtol=1e-12)
        # both paths matter: neither alone gives the derivative
        assert abs(dz_dv) > 1e-3 and abs(closed[name] - dz_dv) > 1e-3


def test_vector_chain_jacobian_is_the_product_of_the_layers(seeds):
    case = seeds["seed_vector_chain"]
    leaves, ev = run(case)
    v, A, c, B = leaves["v"], leaves["A"], leaves["c"], leaves["B"]
    assert (v.shape, A.shape, c.shape, B.shape) == ((4,), (4, 4), (4,), (3, 4))
    u = np.tanh(A @ v + c)
    J_u_v = np.diag(1 - u ** 2) @ A  # J_u(v) = diag(1 − tanh²)·A, n × n
    J_y_u = B  # J_y(u) = B, m × n
    closed = J_y_u @ J_u_v  # J_y(v) = J_y(u)·J_u(v), m × n
    np.testing.assert_allclose(ev.output, B @ u, rtol=1e-13)
    for mode in ("reverse", "forward"):
        jac = engine.jacobian(ev, mode=mode)["v"]
        assert jac.shape == (3, 4)
        np.testing.assert_allclose(jac, closed, rtol=1e-12, atol=1e-15)
    assert np.all(np.abs(A @ v + c) > 0.01)  # no pre-activation sits at a special point


def test_scalar_input_gradients_keep_their_shape(seeds):
    """A 0-d input's gradient is 0-d (the answer key prints it as a number)."""
    for name in ("seed_sigmoid_affine", "seed_sigmoid_primitive_steps", "seed_two_paths"):
        leaves, ev = run(seeds[name])
        for input_name, grad in engine.gradient(ev).items():
            assert np.shape(grad) == np.shape(leaves[input_name]) == ()


# ---- the answer keys of the seed cases are written in the tutorial's forms ----


@pytest.fixture(scope="module")
def keys(seeds):
    """name → the text answer key (without the harness: the forms are what is checked here)."""
    from gradcheck_suite.explain import explain_case, render_text

    return {n: render_text(explain_case(c, harness=False, sweep=False), width=200) for n, c in seeds.items()}


def test_key_of_the_sigmoid_in_steps_has_s_one_minus_s(keys):
    key = keys["seed_sigmoid_primitive_steps"]
    # the tutorial's f = −x, g = exp(f), w = 1 + g, v = 1/w and its S' = S(1 − S)
    for step in ("f = -x", "g = exp(f)", "w = 1 + g", "v = 1 / w"):
        assert step in key
    assert "∂v/∂w = −1/w²" in key and "= (−1/w²)·1·g·(−1)" in key and "= v·(1 − v)" in key


def test_key_of_the_affine_sigmoid_has_y_one_minus_y_times_w(keys):
    key = keys["seed_sigmoid_affine"]
    assert "∂y/∂x = ∂y/∂u·∂u/∂x" in key and "y·(1 − y)·w" in key   # dy/dx = dy/du·du/dx = y(1−y)·w


def test_key_of_two_paths_has_both_path_terms(keys):
    key = keys["seed_two_paths"]
    assert "∂z/∂x = ∂z/∂u·∂u/∂x + ∂z/∂v·∂v/∂x" in key
    assert "∂z/∂y = ∂z/∂u·∂u/∂y + ∂z/∂v·∂v/∂y" in key
    assert "sin(v)·y + u·cos(v)" in key and "sin(v)·x + u·cos(v)" in key


def test_key_of_the_vector_chain_has_the_jacobian_product(keys):
    key = keys["seed_vector_chain"]
    assert "J_y(v) = J_y(u) · J_u(v)" in key and "product and full Jacobian agree" in key
    assert "δu = Bᵀ·δy" in key and "δu.2 = δu ⊙ (1 − u²)" in key   # B·diag(1 − u²)·A, as a VJP
