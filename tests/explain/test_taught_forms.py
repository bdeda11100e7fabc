"""The backward pass in the forms a course teaches: symbols in the forward names, matrix formulas.

Issue 13's observed defects, each asserted gone: the closed form alone (1/(4cosh²(x/2)))
instead of S(1 − S); a vector output's upstream gradients named ∂y/∂node; 4-D Jacobians
of mostly zeros for a matrix step; matrices as Python list literals; "every element"
under 2-element vectors; the three routes not saying which element they show.
"""
from __future__ import annotations

import pytest

from gradcheck_suite.explain.build import explain_case
from gradcheck_suite.explain.html import render_html
from gradcheck_suite.explain.text import render_text
from tests.explain.conftest import case_from_yaml

MLP = """\
name: mlp2
inputs:
  W1: [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6], [0.2, 0.1, 0.0], [-0.3, 0.2, 0.1]]
  W2: [[0.3, -0.1, 0.2, 0.5], [0.1, 0.4, -0.2, 0.3]]
constants:
  x: [0.5, -1.0, 2.0]
  t: [0.0, 1.0]
steps:
  a1: W1 @ x
  h1: sigmoid(a1)
  z: W2 @ h1
  L: -sum(t * log_softmax(z))
"""


def _row(ex, name):
    (r,) = [r for r in ex.symbolic.rows if r.input == name]
    return r


def test_sigmoid_in_steps_gives_the_tutorials_s_one_minus_s(explained):
    ex = explained["seed_sigmoid_primitive_steps"]
    r = _row(ex, "x")
    assert r.chain == "∂v/∂w·∂w/∂g·∂g/∂f·∂f/∂x"
    assert r.composed == "(−1/w²)·1·g·(−1)"     # every local derivative, in the forward names
    assert r.simplified == "v·(1 − v)"          # S' = S(1 − S)
    assert ("v", "w", "∂v/∂w = −1/w²") in ex.symbolic.locals
    text = render_text(ex)
    # the taught form comes before the fully expanded closed form
    assert text.index("v·(1 − v)") < text.index("cosh")


def test_sigmoid_of_an_affine_map_gives_y_one_minus_y_times_w(explained):
    ex = explained["seed_sigmoid_affine"]
    r = _row(ex, "x")
    assert r.chain == "∂y/∂u·∂u/∂x" and r.taught == "y·(1 − y)·w"
    assert r.simplified == "w·y·(1 − y)"
    (term,) = [t for row in ex.backward if row.name == "y" for t in row.terms]
    assert term.taught == "y·(1 − y)"          # the local derivative in the forward names


def test_two_paths_are_summed_term_by_term(explained):
    ex = explained["seed_two_paths"]
    assert _row(ex, "x").chain == "∂z/∂u·∂u/∂x + ∂z/∂v·∂v/∂x"
    assert _row(ex, "x").taught == "sin(v)·y + u·cos(v)"
    assert _row(ex, "y").chain == "∂z/∂u·∂u/∂y + ∂z/∂v·∂v/∂y"


def test_vector_output_names_its_seed_and_the_matrix_form(explained):
    ex = explained["seed_vector_chain"]
    text = render_text(ex)
    assert "upstream ∂(Σy)/∂u" in text and "∂(Σy)/∂v =" in text
    assert "∂y/∂v =" not in text                    # that name belongs to the 3×4 Jacobian
    assert ("δu = Bᵀ·δy", "4") in ex.symbolic.matrix
    assert ("δu.2 = δu ⊙ (1 − u²)", "4") in ex.symbolic.matrix
    assert "J_y(v) = J_y(u) · J_u(v) = B·diag(1 − u²)·A" in text   # the tutorial's B·diag(1 − tanh²)·A
    assert [f.formula for f in ex.chains[0].factors] == ["B", "diag(1 − u²)·A"]
    assert "J_y(v) = J_y(u) · J_u(v) = ______·______" in render_text(ex.blanked())


def test_matrix_steps_are_formulas_not_four_dimensional_tensors():
    ex = explain_case(case_from_yaml(MLP), harness=False, sweep=False)
    lines = dict(ex.symbolic.matrix)
    assert "δW1 = δa1·xᵀ" in lines and lines["δW1 = δa1·xᵀ"] == "4×3"    # dW = δ·xᵀ
    assert "δh1 = W2ᵀ·δz" in lines and "δa1 = δh1 ⊙ (h1·(1 − h1))" in lines  # δ₁ = (W₂ᵀδ₂) ⊙ σ'(a₁)
    assert any(t.startswith("δz = ") and "= softmax(z) − t" in t for t in lines)  # softmax + CE → p − y
    formulas = {(f.of, f.wrt): f.formula for ch in ex.chains for f in ch.factors}
    assert formulas[("z", "h1")] == "W2" and formulas[("h1", "a1")] == "diag(h1·(1 − h1))"
    (w2,) = [t for row in ex.backward for t in row.terms if t.arg_name == "W2"]
    assert w2.local is None and w2.matrix == "δz·h1ᵀ"   # no 2×2×4 tensor of mostly zeros
    full = explain_case(case_from_yaml(MLP), harness=False, sweep=False, full=True)
    (w2,) = [t for row in full.backward for t in row.terms if t.arg_name == "W2"]
    assert w2.local is not None and w2.local.shape == (2, 2, 4)   # on request


def test_matrices_print_as_grids_and_small_vectors_have_no_every_element(explained):
    ex = explained["seed_vector_chain"]
    A = ex.row("A").value
    assert A.grid is not None and A.grid[0] == ("0.5", "-0.3", "0.8", "0.1")
    page = render_html(ex, pictures=False)
    assert '<table class="grid' in page and "[[0.5, -0.3" not in page
    two = explain_case(case_from_yaml("name: t\ninputs: {x: [0.5, 1.5]}\nsteps: {y: sum(x * x)}\n"),
                       harness=False, sweep=False)
    assert "<details>" not in render_html(two, pictures=False)


def test_jacobians_of_matrices_say_how_they_are_flattened():
    ex = explain_case(case_from_yaml("name: m\ninputs: {W: [[0.1, 0.2], [0.3, 0.4]]}\n"
                                     "constants: {x: [1.0, 2.0]}\nsteps: {a: W @ x, h: tanh(a)}\n"),
                      harness=False, sweep=False)
    assert "columns those of W" in ex.flatten_note and "row-major (C) order (W[0,0], W[0,1], …)" in ex.flatten_note
    assert "row-major (C) order" in render_text(ex, width=400)


@pytest.mark.parametrize("name", ["seed_sigmoid_affine", "seed_two_paths"])
def test_three_routes_say_which_element_they_show(seed_cases, name):
    ex = explain_case(seed_cases[name], sweep=False, closed=False)
    text = render_text(ex)
    assert "the element where the two routes differ most" in text
    vec = explain_case(seed_cases["seed_vector_chain"], sweep=False, closed=False)
    assert all(r.element.startswith("(") for r in vec.routes)


def test_teaching_text_of_powers_keeps_its_brackets():
    import sympy as sp

    from gradcheck_suite.explain.symbolic import teach_text

    x, w = sp.symbols("x w")
    assert teach_text(-1 / sp.sqrt(1 - x ** 2)) == "−1/sqrt(1 − x²)"
    assert teach_text(-1 / w ** 2) == "−1/w²" and teach_text(x ** -3) == "x⁻³"


@pytest.mark.parametrize("step", ["sum(flip(x, 0) * w)", "sum(transpose(m) * w2)", "max(x) * 2"])
def test_shape_ops_and_reductions_get_no_elementwise_formula(step):
    case = case_from_yaml("name: p\ninputs: {x: [0.3, -0.2, 0.5], m: [[0.1, 0.2], [0.3, 0.4]]}\n"
                          "constants: {w: [1.0, 2.0, 3.0], w2: [[1.0, 2.0], [3.0, 4.0]]}\n"
                          f"steps: {{y: '{step}'}}\n")
    ex = explain_case(case, harness=False, sweep=False, closed=False)
    # a permutation or a reduction is not the identity: no "diag(…)" or "I" may stand for it
    for ch in ex.chains:
        assert not all(f.formula for f in ch.factors), [f.formula for f in ch.factors]
    lines = dict(ex.symbolic.matrix)
    assert not any(t in ("δy.1 = δy.2", "δx = δy.1") for t in lines)


def _unary_elementwise() -> list[str]:
    from gradcheck_suite.ops import registry

    return sorted(p.name for p in registry.all_primitives()
                  if p.category == "elementwise" and len(p.args) == 1 and p.taught_derivative is not None)


@pytest.mark.parametrize("op", _unary_elementwise())
def test_a_unary_local_derivative_written_once_reads_the_same_for_any_names(op):
    """The matrix form writes an elementwise step's local derivative from a text sympy printed once
    with stand-in names: it must be the text sympy prints for the real names, in either order."""
    from gradcheck_suite.explain.matrix_form import _unary_local, _unary_local_text

    pairs = [("y", "x"), ("a", "b"), ("h.1", "h"), ("u10", "u2"), ("out", "arg"), ("Z", "z"), ("s_1", "S")]
    for out, arg in pairs + [(b, a) for a, b in pairs]:
        assert _unary_local(op, out, arg) == _unary_local_text(op, out, arg), (op, out, arg)
