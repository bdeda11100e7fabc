"""The seed cases' answer keys contain the tutorial's numbers."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings, strategies as st

from gradcheck_suite.explain.build import explain_case
from gradcheck_suite.explain.model import format_number
from gradcheck_suite.explain.text import render_text
from tests.explain.conftest import case_from_yaml


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_stepwise_sigmoid_contributions_multiply_to_v_times_one_minus_v(explained):
    ex = explained["seed_sigmoid_primitive_steps"]
    assert [r.name for r in ex.backward] == ["v", "w", "g", "f"]  # reverse order
    locals_ = [t.local for r in ex.backward for t in r.terms]
    product = np.prod([float(s.full) for s in locals_])
    v = _sigmoid(0.45)
    assert math.isclose(product, v * (1 - v), rel_tol=1e-12)
    # the last contribution is the gradient, and it is S(1 − S)
    assert math.isclose(float(ex.backward[-1].terms[0].contribution.full), v * (1 - v), rel_tol=1e-12)
    text = render_text(ex)
    for s in locals_:
        assert s.compact in text
    assert format_number(v * (1 - v)) in text
    assert "∂(1/w)/∂w = −1/w²" in text  # the registry's formula, with the argument's name


def test_affine_sigmoid_shows_y_one_minus_y_times_w(explained):
    ex = explained["seed_sigmoid_affine"]
    y = _sigmoid(1.3 * 0.7 - 0.4)
    want = y * (1 - y) * 1.3
    assert math.isclose(float(ex.gradients["x"].full), want, rel_tol=1e-12)
    assert format_number(want) in render_text(ex)
    row = ex.closed_form.rows[0]
    assert math.isclose(float(row.value.full), want, rel_tol=1e-12)
    assert "w" in row.text and row.latex


def test_two_paths_sum_of_two_contributions_is_the_gradient(explained):
    ex = explained["seed_two_paths"]
    x, y = 0.8, -1.1
    sums = {p.name: p for p in ex.path_sums}
    assert set(sums) == {"x", "y"}
    px = sums["x"]
    assert [t.consumer for t in px.terms] == ["u", "v"]
    parts = [float(t.contribution.full) for t in px.terms]
    # ∂z/∂x = ∂z/∂u·∂u/∂x + ∂z/∂v·∂v/∂x with u = xy, v = x + y, z = u sin v
    assert math.isclose(parts[0], math.sin(x + y) * y, rel_tol=1e-12)
    assert math.isclose(parts[1], x * y * math.cos(x + y), rel_tol=1e-12)
    assert math.isclose(float(px.total.full), sum(parts), rel_tol=1e-12)
    text = render_text(ex)
    assert "∂z/∂x = ∂z/∂u·∂u/∂x + ∂z/∂v·∂v/∂x" in text
    assert f"= {format_number(sum(parts))}" in text
    assert format_number(parts[0]) in text and format_number(parts[1]) in text


def test_vector_chain_two_jacobians_whose_product_is_the_full_one(explained, seed_cases):
    ex = explained["seed_vector_chain"]
    (chain,) = ex.chains
    assert [(f.of, f.wrt, f.rows, f.cols) for f in chain.factors] == [("y", "u", 3, 4), ("u", "v", 4, 4)]
    case = seed_cases["seed_vector_chain"]
    leaves = case.leaves()
    A, B, c, v = leaves["A"], leaves["B"], leaves["c"], leaves["v"]
    u = np.tanh(A @ v + c)
    expected = B @ np.diag(1 - u ** 2) @ A  # the tutorial's J_y(u)·J_u(v), by hand
    full = np.array(eval_matrix(chain.full.full))
    product = np.array(eval_matrix(chain.product.full))
    np.testing.assert_allclose(full, expected, rtol=1e-8)
    np.testing.assert_allclose(product, expected, rtol=1e-8)
    assert chain.agree and chain.max_abs_diff < 1e-12
    text = render_text(ex)
    assert "J_y(v) = J_y(u) · J_u(v)" in text and "(3×4)" in text and "(4×4)" in text
    assert "product and full Jacobian agree" in text


def eval_matrix(text: str) -> list:
    """Parse the page's full array text (numbers, brackets, commas) without eval."""
    import json
    return json.loads(text.replace("\n", " "))


def test_one_expression_is_split_into_named_nodes():
    case = case_from_yaml("name: one\ninputs: {x: 0.3}\nexpr: 1 / (1 + exp(-x))\n")
    ex = explain_case(case, harness=False)
    names = [r.name for r in ex.forward if r.kind in ("step", "inner")]
    assert names == ["y.1", "y.2", "y.3", "y"]
    assert [r.op for r in ex.forward if r.kind in ("step", "inner")] == ["neg", "exp", "add", "div"]
    assert ex.row("y.2").expression == "y.2 = exp(y.1)"


def test_closed_form_only_for_scalar_cases(explained):
    assert explained["seed_vector_chain"].closed_form.rows == []
    assert "No closed form shown" in explained["seed_vector_chain"].closed_form.note
    rows = explained["seed_two_paths"].closed_form.rows
    assert [r.input for r in rows] == ["x", "y"]
    assert all(r.abs_diff < 1e-12 for r in rows)


@settings(max_examples=15, deadline=None)
@given(st.floats(-4, 4, allow_nan=False))
def test_stepwise_sigmoid_chain_is_s_times_one_minus_s_anywhere(x):
    text = f"name: s\ninputs: {{x: {x!r}}}\nsteps: {{f: -x, g: exp(f), w: 1 + g, v: 1 / w}}\n"
    ex = explain_case(case_from_yaml(text), harness=False, sweep=False)
    product = np.prod([float(t.local.full) for r in ex.backward for t in r.terms])
    s = _sigmoid(x)
    assert math.isclose(product, s * (1 - s), rel_tol=1e-10, abs_tol=1e-300)
