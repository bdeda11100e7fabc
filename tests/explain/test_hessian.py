"""The answer key's Hessian section (issue 15 §3): a view of the engine's second-order trace.

S'' = S(1 − S)(1 − 2S) in the taught form; every entry as the sum of what each consumer sent
back; the Newton-step case's Hessian and step; all four renderers; the exercise sheet; and a
wrong second-order rule changes the key (it is the engine's trace, not a second computation).
"""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from gradcheck_suite import cli
from gradcheck_suite.explain.build import explain_case
from gradcheck_suite.explain.hessian import HESSIAN_KEY_ELEMENTS, blocks
from gradcheck_suite.explain.html import render_html
from gradcheck_suite.explain.markdown import render_markdown
from gradcheck_suite.explain.model import BLANK
from gradcheck_suite.explain.tex import render_tex
from gradcheck_suite.explain.text import render_text
from gradcheck_suite.loader import load_paths
from gradcheck_suite.ops import registry
from tests.explain.conftest import case_from_yaml

SECOND = Path(__file__).resolve().parents[2] / "cases" / "second_order"
RENDERERS = (render_text, render_markdown, render_html, render_tex)


@pytest.fixture(scope="module")
def second_cases():
    result = load_paths([str(SECOND)])
    assert not result.errors, result.errors
    return {c.name: c for c in result.cases}


def _number(shown) -> np.ndarray:
    return np.array(ast.literal_eval(shown.full.replace("\n", " ")), dtype=float)


def _sigmoid_second(x=0.7, w=1.3, b=-0.4):
    s = 1 / (1 + np.exp(-(w * x + b)))
    return s * (1 - s) * (1 - 2 * s) * w * w, s * (1 - s) * w


def test_the_seed_sigmoid_key_shows_s_double_prime_in_the_taught_form_and_its_value(second_cases):
    """S'' = S(1 − S)(1 − 2S) as the second local derivative, and d²y/dx² = S''·w² composed."""
    ex = explain_case(second_cases["second_sigmoid"], harness=False)
    h = ex.hessian
    assert "∂²y/∂u² = y·(1 − y)·(1 − 2·y)" in h.second_locals
    expected, _ = _sigmoid_second()
    assert float(h.matrix.full) == pytest.approx(expected, rel=1e-14)
    (column,) = h.columns
    (entry,) = column.entries
    assert float(entry.value.full) == pytest.approx(expected, rel=1e-14)
    # sigmoid's row: ġ = 0 at the output, so all of it is g·σ''(u)·u̇ = σ''(u)·w (the moved local derivative)
    sig = next(t for t in column.terms if t.node == "y")
    assert float(sig.through_upstream.full) == 0
    assert float(sig.through_arguments.full) == pytest.approx(expected / 1.3, rel=1e-13)
    for render in RENDERERS:
        page = render(ex)
        assert "Second order: the Hessian" in page, render.__name__
        assert "-0.0988905" in page, render.__name__
    assert "y·(1 − y)·(1 − 2·y)" in render_text(ex) and "y·(1 − y)·(1 − 2·y)" in render_html(ex)
    # and composed in symbols: the first derivative y·(1 − y)·w differentiated once more along x
    assert [(lhs, rhs.text) for lhs, rhs in h.symbolic] == [("∂²y/∂x²", "y·(1 − y)·(1 − 2·y)·w²")]
    assert "∂²y/∂x² = y·(1 − y)·(1 − 2·y)·w²" in render_markdown(ex)
    sheet = ex.blanked()
    assert sheet.hessian.symbolic[0][1].text == BLANK and "y·(1 − y)·(1 − 2·y)·w²" not in render_text(sheet)


def test_each_entry_is_the_sum_of_what_the_consumers_sent_back(second_cases):
    ex = explain_case(second_cases["second_newton_step"], harness=False)
    h = ex.hessian
    matrix = _number(h.matrix)
    assert len(h.columns) == 3
    for j, column in enumerate(h.columns):
        for i, entry in enumerate(column.entries):
            parts = sum(float(p.full) for _, p in entry.parts)
            assert parts == pytest.approx(float(entry.value.full), abs=1e-15)
            assert float(entry.value.full) == pytest.approx(matrix[i, j], rel=1e-9)  # the grid prints 10 digits
            assert len(entry.parts) == 3  # through z = A @ x and through both operands of x · x
        for term in column.terms:  # every row: ġ·local + g·Δlocal = what was sent back
            moved = 0.0 if term.through_arguments is None else _number(term.through_arguments)
            np.testing.assert_allclose(_number(term.through_upstream) + moved, _number(term.total), atol=1e-15)


def test_the_newton_case_shows_its_hessian_and_the_newton_step(second_cases):
    case = second_cases["second_newton_step"]
    ex = explain_case(case, harness=False)
    a = np.array(case.leaves(0)["A"])
    x = np.array(case.leaves(0)["x"])
    lam = 0.1
    s = 1 / (1 + np.exp(-(a @ x)))
    closed = a.T @ np.diag(s * (1 - s)) @ a + lam * np.eye(3)  # Aᵀ diag(σ(1 − σ)) A + λI
    np.testing.assert_allclose(_number(ex.hessian.matrix), closed, rtol=1e-6)  # the page prints 10 digits
    newton = ex.hessian.newton
    gradient = a.T @ s + lam * x
    np.testing.assert_allclose(_number(newton.step), -np.linalg.solve(closed, gradient), rtol=1e-6)
    f = lambda v: np.sum(np.log1p(np.exp(a @ v))) + 0.5 * lam * v @ v  # noqa: E731
    assert float(newton.after.full) == pytest.approx(f(x - np.linalg.solve(closed, gradient)), rel=1e-9)
    assert float(newton.after.full) < float(newton.before.full)
    assert "positive definite" in newton.note
    for render in RENDERERS:
        page = render(ex)
        assert "Newton step" in page and "0.4372" in page, render.__name__


def test_a_wrong_second_order_rule_changes_the_key(second_cases, monkeypatch):
    right = registry.get("sigmoid")
    rule = right.second_order[0]
    wrong = dataclasses.replace(right, second_order=(lambda g, ans, dans, dargs, x: 2 * rule(g, ans, dans, dargs, x),))
    monkeypatch.setitem(registry._REGISTRY, "sigmoid", wrong)
    ex = explain_case(second_cases["second_sigmoid"], harness=False)
    expected, _ = _sigmoid_second()
    assert float(ex.hessian.matrix.full) == pytest.approx(2 * expected, rel=1e-13)


def test_the_exercise_sheet_blanks_every_second_derivative_and_keeps_the_formulas(second_cases):
    sheet = explain_case(second_cases["second_newton_step"], harness=False).blanked()
    assert sheet.hessian.matrix.blank and sheet.hessian.newton.step.blank
    assert all(e.value.blank for c in sheet.hessian.columns for e in c.entries)
    assert "∂²f.4/∂x∂x = 1" in sheet.hessian.second_locals
    page = render_text(sheet)
    assert "Second order: the Hessian" in page and BLANK in page and "0.4372" not in page
    for render in (render_markdown, render_html, render_tex):
        assert "0.4372" not in render(sheet), render.__name__


def test_order_one_has_no_hessian_section_and_order_2_adds_it(second_cases):
    case = dataclasses.replace(second_cases["second_sigmoid"], order=1)
    assert explain_case(case, harness=False).hessian is None
    assert "Second order" not in render_text(explain_case(case, harness=False))
    assert explain_case(case, harness=False, order=2).hessian is not None


def test_explain_order_2_on_the_command_line(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("cases:\n  - name: cube\n    inputs: {x: 0.5}\n    expr: x * x * x\n")
    assert cli.main(["explain", "cube", "--path", str(tmp_path), "--no-harness"]) == 0
    assert "Second order" not in capsys.readouterr().out
    assert cli.main(["explain", "cube", "--path", str(tmp_path), "--order", "2"]) == 0
    out = capsys.readouterr().out
    assert "Second order: the Hessian" in out and "H (rows and columns in the order x) = 3" in out
    assert "hessian_vs_torch" in out or "Hessian vs torch" in out  # the harness ran at order 2 too


def test_large_or_vector_cases_say_why_there_is_no_hessian_shown():
    layer = case_from_yaml("""
        name: layer
        order: 2
        inputs:
          W: {shape: [3, 4], init: normal}
          x: {shape: [4], init: normal}
        expr: sum(tanh(W @ x))
    """)
    h = explain_case(layer, harness=False).hessian
    assert 16 > HESSIAN_KEY_ELEMENTS and "16 input elements" in h.note
    assert blocks(explain_case(layer, harness=False)) == [("note", h.note)]
    vector = case_from_yaml("name: vec\norder: 2\ninputs: {x: [0.4, -1.2]}\nexpr: exp(x)\n")
    assert "not a scalar" in explain_case(vector, harness=False).hessian.note


def test_the_run_reports_key_shows_the_hessian_without_composing_symbols(second_cases, monkeypatch):
    import gradcheck_suite.explain.hessian as hessian

    def no_sympy(*_):
        raise AssertionError("the run report's answer key must not compose symbols")

    monkeypatch.setattr(hessian, "symbolic_hessian", no_sympy)
    ex = explain_case(second_cases["second_sigmoid"], harness=False, closed=False, sweep=False)
    assert ex.hessian.symbolic == [] and ex.hessian.second_locals and ex.hessian.columns


def test_a_newton_step_that_leaves_the_domain_says_so():
    # f = log(x) − x/2 has f'' = −1/x² < 0: from x = 3 the step x − f'/f'' = 3 + (1/3 − 1/2)·9 = 1.5 stays;
    # from x = 5 it reaches 5 + (1/5 − 1/2)·25 = −2.5, where log is not defined
    case = case_from_yaml("name: lg\norder: 2\ninputs: {x: 5.0}\nexpr: log(x) - x / 2\n")
    newton = explain_case(case, harness=False).hessian.newton
    assert float(newton.new_point.full) == pytest.approx(-2.5)
    assert "outside the function's domain" in newton.note and newton.after.full == "nan"
    ok = explain_case(case_from_yaml("name: lg3\norder: 2\ninputs: {x: 3.0}\nexpr: log(x) - x / 2\n"),
                      harness=False).hessian.newton
    assert float(ok.new_point.full) == pytest.approx(1.5) and "not positive definite" in ok.note


def test_the_newton_notes_are_in_the_keys_language():
    """--lang zh: the Newton step's note (and the section's notes) are Chinese like its headings."""
    case = case_from_yaml("name: lg\norder: 2\ninputs: {x: 5.0}\nexpr: log(x) - x / 2\n")
    zh = explain_case(case, harness=False, lang="zh").hessian.newton
    assert zh.note.startswith("新的点在函数的定义域之外") and "domain" not in zh.note.split("：")[0]
    ok = explain_case(case_from_yaml("name: lg3\norder: 2\ninputs: {x: 3.0}\nexpr: log(x) - x / 2\n"),
                      harness=False, lang="zh").hessian.newton
    assert ok.note.startswith("H 不是正定的")
    vector = case_from_yaml("name: v\norder: 2\ninputs: {x: [1.0, 2.0]}\nexpr: x * x\n")
    assert explain_case(vector, harness=False, lang="zh").hessian.note.startswith("y 不是标量")
