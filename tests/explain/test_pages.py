"""The pictures are well-formed SVG; --blank removes every derivative value; the pages are safe."""
from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from gradcheck_suite.cli import main as cli_main
from gradcheck_suite.explain.build import explain_case
from gradcheck_suite.explain.graph_svg import BOX_W, layout, render_svg
from gradcheck_suite.explain.html import anchor, html_fragment, render_html
from gradcheck_suite.explain.markdown import render_markdown
from gradcheck_suite.explain.model import BLANK, derivative_values
from gradcheck_suite.explain.routes import route_rows
from gradcheck_suite.explain.stepsize import plot_svg
from gradcheck_suite.explain.text import render_text
from tests.explain.conftest import SEED, case_from_yaml

SVG = "{http://www.w3.org/2000/svg}"


def _names_in(svg: str) -> set[str]:
    root = ET.fromstring(svg)
    return {g.get("data-name") for g in root.iter(f"{SVG}g") if g.get("data-name") is not None}


@pytest.mark.parametrize("name", ["seed_sigmoid_primitive_steps", "seed_two_paths", "seed_vector_chain",
                                  "seed_sigmoid_affine"])
def test_graph_svg_is_xml_with_every_node(explained, name):
    ex = explained[name]
    svg = render_svg(ex)
    assert _names_in(svg) == {r.name for r in ex.forward}
    texts = " ".join(t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text"))
    for r in ex.forward:
        assert r.name in texts


def test_step_size_plot_is_xml_and_marks_both_steps(explained):
    s = explained["seed_two_paths"].stepsize
    root = ET.fromstring(plot_svg(s))
    assert root.tag == f"{SVG}svg"
    assert min(s.errors) < 1e-9 < s.errors[0] and s.errors[-1] > 1e-6  # the V: both ends high


def test_sixty_node_graph_layout_has_no_overlaps():
    steps = {"s0": "x"}
    for i in range(1, 21):
        steps[f"s{i}"] = f"sin(s{i - 1}) * x + s{max(0, i - 2)}"
    text = "name: big\ninputs: {x: 0.3}\nsteps:\n" + "".join(f"  {k}: {v}\n" for k, v in steps.items() if k != "s0")
    text = text.replace("s0", "x")
    ex = explain_case(case_from_yaml(text), harness=False, sweep=False)
    assert len(ex.forward) >= 60
    lay = layout(ex.forward)
    by_row: dict[float, list[float]] = {}
    for x, y in lay.pos.values():
        by_row.setdefault(y, []).append(x)
    for xs in by_row.values():
        xs.sort()
        assert all(b - a >= BOX_W for a, b in zip(xs, xs[1:]))
    assert _names_in(render_svg(ex)) == {r.name for r in ex.forward}


def _squash(text: str) -> str:
    return "".join(text.split())


def _numbers(shown_values) -> set[str]:
    """What each value prints as: its compact text, or each cell of a matrix shown as a grid."""
    out = set()
    for s in shown_values:
        out |= {c for row in s.grid for c in row} if s.grid is not None else {s.compact}
    return out


@pytest.mark.parametrize("render", [render_text, render_markdown, render_html])
@pytest.mark.parametrize("name", ["seed_sigmoid_primitive_steps", "seed_two_paths", "seed_vector_chain",
                                  "seed_sigmoid_affine"])
def test_blank_removes_every_derivative_value(explained, render, name):
    ex = explained[name]
    forward = _numbers(r.value for r in ex.forward)
    derivative = _numbers(derivative_values(ex)) - forward
    # numbers that would match inside other text by accident are not evidence either way
    derivative = {d for d in derivative if not re.fullmatch(r"-?\d(\.\d\d?)?", d)}
    assert derivative
    sheet = ex.blanked()
    assert all(s.blank for s in derivative_values(sheet))
    # compare without whitespace: the terminal renderer wraps long arrays
    page = _squash(render(sheet))
    full = _squash(render(ex))
    derivative = {_squash(d) for d in derivative}
    forward = {_squash(f) for f in forward}
    for d in derivative:
        assert d in full
        assert d not in page, d
    for f in forward:
        assert f in page
    assert BLANK in page
    for g in ex.claims:
        assert g.claim not in page


def test_html_page_is_standalone_and_escaped():
    case = case_from_yaml("name: x_script\ntitle: '<script>alert(1)</script>'\ninputs: {x: 0.3}\n"
                          "steps: {y: exp(x)}\n")
    page = render_html(explain_case(case, harness=False))
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'http-equiv="Content-Security-Policy"' in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<script" not in page.replace("&lt;script", "")


def test_fragment_has_the_anchor_the_report_links_to(explained):
    frag = html_fragment(explained["seed_two_paths"])
    assert frag.startswith('<section class="answer-key" id="answer-key-seed_two_paths" ')
    assert anchor("a b<c").startswith("answer-key-a-b-c-") and anchor("a b<c") != anchor("a-b-c")
    assert anchor("seed_two_paths") == "answer-key-seed_two_paths"


def test_three_routes_rows_come_from_the_harness_table(explained):
    table = pd.DataFrame([
        {"case": "seed_two_paths", "file": "f", "dtype": "float64", "input": "x", "check": "hand_vs_fd",
         "status": "pass", "max_abs_err": 3e-11, "max_rel_err": 6e-11, "fd_err_est": 1e-10,
         "actual": -0.515624, "expected": -0.51562401, "message": ""},
        {"case": "seed_two_paths", "file": "f", "dtype": "float64", "input": "x", "check": "hand_vs_torch",
         "status": "pass", "max_abs_err": 0.0, "max_rel_err": 0.0, "fd_err_est": float("nan"),
         "actual": -0.515624, "expected": -0.515624, "message": ""},
        {"case": "other", "file": "f", "dtype": "float64", "input": "x", "check": "hand_vs_torch",
         "status": "fail", "max_abs_err": 1.0, "max_rel_err": 1.0, "fd_err_est": None,
         "actual": 1.0, "expected": 2.0, "message": ""},
    ])
    rows = route_rows(table, "seed_two_paths")
    assert [r.check for r in rows] == ["hand_vs_torch", "hand_vs_fd"]
    assert rows[1].fd_err_est == 1e-10 and rows[0].fd_err_est is None
    ex = dataclasses.replace(explained["seed_two_paths"], routes=rows)
    page = render_markdown(ex, pictures=False)
    assert "chain rule vs FD" in page and "3e-11" in page and "**pass**" in page
    assert "3e-11" in render_text(ex)


def test_explain_command_writes_each_format(tmp_path, capsys):
    for fmt in ("text", "md", "html"):
        out = tmp_path / f"key.{fmt}"
        code = cli_main(["explain", "seed_two_paths", "--path", str(SEED), "--format", fmt, "--out", str(out),
                         "--no-harness"])
        assert code == 0
        assert "∂z/∂x = ∂z/∂u·∂u/∂x + ∂z/∂v·∂v/∂x" in out.read_text(encoding="utf-8")
    assert cli_main(["explain", "seed_two_paths", "--path", str(SEED), "--blank", "--no-harness"]) == 0
    assert BLANK in capsys.readouterr().out
    assert cli_main(["explain", "seed_two_path", "--path", str(SEED)]) == 2
    assert "did you mean 'seed_two_paths'" in capsys.readouterr().err


def test_three_routes_from_the_real_harness(seed_cases):
    ex = explain_case(seed_cases["seed_sigmoid_affine"], sweep=False)
    checks = {(r.input, r.check): r for r in ex.routes}
    for check in ("hand_vs_torch", "hand_vs_fd", "torch_vs_fd", "expect_vs_torch"):
        assert checks[("x", check)].status == "pass"
    assert checks[("x", "hand_vs_fd")].fd_err_est is not None
    assert ex.routes_note == ""
