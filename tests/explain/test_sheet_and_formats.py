"""The exercise sheet is clean; MathML, LaTeX and print; English and Chinese; notebooks.

Issue 13's observed defects of the sheet, each asserted gone: titled "Answer key …
(exercise sheet)"; verdicts, differences, an empty claims table and a step-size table
on it; ``start: ∂z/∂z = 1`` printed and then ``upstream ∂z/∂z`` blanked; section 9
before 8; LaTeX as raw source in HTML.
"""
from __future__ import annotations

import html
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

import gradcheck_suite
from gradcheck_suite.cli import main as cli_main
from gradcheck_suite.explain import wording
from gradcheck_suite.explain.html import CSP, render_html
from gradcheck_suite.explain.markdown import render_markdown
from gradcheck_suite.explain.model import BLANK
from gradcheck_suite.explain.tex import render_tex, tex_text
from gradcheck_suite.explain.text import render_text
from tests.explain.conftest import SEED
from tests.promised import CHROMIUM, need_chromium, need_pdflatex

SEEDS = ["seed_sigmoid_affine", "seed_sigmoid_primitive_steps", "seed_two_paths", "seed_vector_chain"]


@pytest.mark.parametrize("render", [render_text, render_markdown, render_html, render_tex])
def test_the_sheet_is_an_exercise_without_verdicts_routes_or_step_sizes(explained, render):
    sheet = explained["seed_two_paths"].blanked()
    page = render(sheet).replace("\\_", "_")  # Markdown and LaTeX escape the underscores
    assert "Exercise: seed_two_paths" in page and "Answer key" not in page
    for gone in ("Three routes", "Claimed derivatives", "Step size", "right within", "agree", "status"):
        assert gone not in page, gone
    seed = tex_text("∂z/∂z = 1") if render is render_tex else "∂z/∂z = 1"
    assert seed in page                              # the seed is given …
    assert not re.search(r"upstream[^\n]*\n?[^\n]*∂z/∂z = ______", page)  # … and not asked for again


def test_sheet_sections_are_numbered_in_order(explained):
    text = render_text(explained["seed_two_paths"].blanked())
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", text, flags=re.M)]
    first_order = [k for k in wording.SHEET_SECTIONS if k != "hessian"]  # the Hessian: order-2 cases only
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) == len(first_order)
    key = render_text(explained["seed_two_paths"])
    assert key.index("Computation graph") < key.index("Step size")   # 9 before 10, not the other way


def test_sheet_blanks_the_symbolic_answers_but_keeps_the_local_formulas(explained):
    sheet = explained["seed_sigmoid_primitive_steps"].blanked()
    text = render_text(sheet)
    assert "v·(1 − v)" not in text and "(−1/w²)·1·g·(−1)" not in text
    assert "∂v/∂w = −1/w²" in text and BLANK in text


def test_html_formulas_are_mathml_and_the_csp_stays_strict(explained):
    page = render_html(explained["seed_sigmoid_primitive_steps"])
    assert html.unescape(page).count(CSP) == 1 and "script-src" not in CSP and "<script" not in page
    maths = re.findall(r"<math[ >].*?</math>", page, flags=re.S)
    assert len(maths) >= 3
    for m in maths:
        # well-formed XML once the HTML5 named entities sympy uses (&InvisibleTimes; …) are resolved
        ET.fromstring(re.sub(r"&(?!lt;|gt;|amp;)[A-Za-z]+;", lambda e: html.unescape(e.group(0)), m))
    assert "\\frac" not in page and "\\left(" not in page  # no raw LaTeX source on the page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)


@pytest.mark.parametrize("name", SEEDS)
def test_tex_document_structure(explained, name):
    for ex in (explained[name], explained[name].blanked()):
        doc = render_tex(ex)
        assert doc.startswith("\\documentclass") and doc.rstrip().endswith("\\end{document}")
        assert doc.count("\\begin{") == doc.count("\\end{")
        body = doc.split("\\begin{document}", 1)[1]
        assert not re.search(r"[^\x00-\x7f]", body)   # English: every symbol became a LaTeX command
    assert tex_text("a_b & 50% #1 {x}") == r"a\_b \& 50\% \#1 \{x\}"


def test_the_latex_and_browser_tests_fail_rather_than_skip_under_ci(monkeypatch):
    import tests.promised as promised
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(promised, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", "true")
    for need in (need_pdflatex, promised.need_chromium):
        with pytest.raises(pytest.fail.Exception, match="must run, not be skipped"):
            need()
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="texlive-latex-base"):
        need_pdflatex()
    with pytest.raises(pytest.skip.Exception, match="install-chromium"):
        promised.need_chromium()


@pytest.mark.parametrize("name", SEEDS)
def test_tex_compiles_with_pdflatex(explained, name, tmp_path):
    need_pdflatex()
    for i, ex in enumerate((explained[name], explained[name].blanked())):
        (tmp_path / f"k{i}.tex").write_text(render_tex(ex), encoding="utf-8")
        proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"k{i}.tex"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert (tmp_path / f"k{i}.pdf").stat().st_size > 1000


@pytest.mark.parametrize("name", SEEDS)
def test_each_seed_sheet_prints_on_at_most_two_pages(name, tmp_path):
    need_chromium()
    page = tmp_path / "sheet.html"
    assert cli_main(["explain", name, "--path", str(SEED), "--blank", "--format", "html", "--out", str(page)]) == 0
    pdf = tmp_path / "sheet.pdf"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}",
                    f"--print-to-pdf={pdf}", page.resolve().as_uri()], capture_output=True, timeout=120, check=True)
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes()))
    assert 1 <= pages <= 2, pages


@pytest.mark.parametrize("render", [render_text, render_markdown, render_html, render_tex])
def test_chinese_headings_and_labels(seed_cases, render):
    from gradcheck_suite.explain.build import explain_case

    ex = explain_case(seed_cases["seed_two_paths"], harness=False, sweep=False, lang="zh")
    for sheet in (ex, ex.blanked()):
        page = render(sheet)
        for key, title in wording.sections(sheet):
            assert wording.LABELS["zh"][key] in page, key
            assert wording.LABELS["en"][key] not in page, key
        for label in ("Backward pass", "Forward pass", "upstream", "contribution", "Exercise", "Answer key"):
            assert label not in page, label
    assert "练习" in render(ex.blanked()) and "答案" in render(ex)


def test_every_label_exists_in_both_languages():
    assert set(wording.LABELS["en"]) == set(wording.LABELS["zh"])
    assert all(wording.LABELS["zh"][k] for k in wording.LABELS["zh"])


def test_html_has_a_cjk_font_stack(seed_cases):
    from gradcheck_suite.explain.build import explain_case

    page = render_html(explain_case(seed_cases["seed_sigmoid_affine"], harness=False, sweep=False, lang="zh"),
                       pictures=False)
    assert 'lang="zh-Hans"' in page
    for font in ("PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC"):
        assert font in page


def test_the_explain_command_takes_lang_format_tex_and_variant(tmp_path, capsys):
    assert cli_main(["explain", "seed_two_paths", "--path", str(SEED), "--lang", "zh", "--no-harness"]) == 0
    assert "反向传播" in capsys.readouterr().out
    out = tmp_path / "k.tex"
    assert cli_main(["explain", "seed_two_paths", "--path", str(SEED), "--format", "tex", "--blank",
                     "--variant", "s7", "--out", str(out)]) == 0
    doc = out.read_text(encoding="utf-8")
    assert "Exercise" in doc and "variant s7" in doc


def test_notebooks_show_the_key_inline():
    ex = gradcheck_suite.explain("seed_two_paths", [str(SEED)], harness=False, sweep=False)
    html = ex._repr_html_()
    assert html.startswith("<style>") and 'id="answer-key-seed_two_paths"' in html
    assert "∂z/∂u·∂u/∂x + ∂z/∂v·∂v/∂x" in html
    from gradcheck_suite.explain import explain_case  # still a package with its functions
    assert callable(explain_case)
