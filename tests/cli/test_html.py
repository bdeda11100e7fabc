"""report.html: self-contained, escaped, worst first, anchors, side-by-side gradients, heatmap."""
import re
import xml.etree.ElementTree as ET

import numpy as np

from gradcheck_suite.report import Report, render_html
from gradcheck_suite.report.html import CSP
from tests.cli.htmlcheck import external_references, parse_page
from tests.cli.sample import SCRIPT, case, mixed_table, row, table


def _arrays(shape):
    ours = np.arange(np.prod(shape), dtype=float).reshape(shape)
    err = np.full(shape, 1e-16)
    err.flat[-1] = 0.5
    return {"ours": ours, "torch": ours, "fd": ours + 1e-9, "abs_err": err}


def _page(tab=None, **kw):
    return render_html(Report(mixed_table() if tab is None else tab, **kw))


def test_no_external_references_and_a_csp_meta_tag():
    html = _page(cases=[case()], arrays={("sig", "float64", "x"): _arrays((2, 3))})
    assert external_references(html) == []
    metas = [a for t, a in parse_page(html).tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert metas and metas[0]["content"] == CSP and "default-src 'none'" in CSP
    assert not re.search(r"(?i)\b(src|href)\s*=\s*[\"']?\s*(https?:|//|file:|javascript:)", html)
    assert "@import" not in html and "url(" not in html


def test_text_from_case_files_is_escaped():
    evil = case(title=SCRIPT, description=f"desc {SCRIPT}", steps={"y": f"x  # {SCRIPT}"},
                expect={"x": SCRIPT})
    html = _page(table(row(message=SCRIPT, status="fail")), cases=[evil])
    assert SCRIPT not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 5
    scripts = [a.get("type", "") for t, a in parse_page(html).tags if t == "script"]
    assert sorted(scripts) == ["", "application/json"]  # the page's own script and its data, nothing else


def test_summary_counts_are_at_the_top():
    html = _page()
    summary = html[html.index('id="summary"'):html.index("</div>", html.index('id="summary"'))]
    for status, n in (("pass", 4), ("nondiff", 1), ("skip", 1), ("fail", 1), ("error", 2)):
        assert f'data-count="{status}">{status} {n}<' in summary
    assert html.index('id="summary"') < html.index('<section class="case"')


def test_cases_are_ordered_worst_first():
    sections = re.findall(r'<section class="case" id="([^"]+)" data-status="([^"]+)"', _page())
    statuses = [s for _, s in sections]
    order = {"error": 0, "fail": 1, "nondiff": 2, "skip": 3, "pass": 4}
    assert statuses == sorted(statuses, key=order.__getitem__)
    ids = [i for i, _ in sections]
    assert ids[0] == "case-nan_case" and ids[2:] == ["case-sig", "case-relu_kink", "case-skipped_case"]
    # a load-error row is named by its file; sanitising the path adds a hash so ids stay distinct
    assert ids[1].startswith("case-cases-broken.yaml-")


def test_every_check_row_and_its_numbers_are_shown():
    html = _page()
    assert html.count('<tr class="fail">') == 1 and html.count('<tr class="pass">') == 4
    assert "claim for x is wrong at (2,): 0.35 vs torch 0.25" in html


def test_failures_are_linked_from_the_top():
    html = _page()
    nav = html[html.index('id="problems"'):html.index("</nav>")]
    assert 'href="#case-sig"' in nav and 'href="#case-nan_case"' in nav and "relu_kink" not in nav


def test_gradients_side_by_side_and_heatmap_for_matrices():
    html = _page(table(row(shape=(2, 3))), cases=[case()], arrays={("sig", "float64", "x"): _arrays((2, 3))})
    assert "<th>ours</th><th>torch</th><th>FD</th>" in html
    assert html.count("<td>(1, 2)</td>") == 1
    svg = re.search(r"<svg class=\"heatmap\".*?</svg>", html, re.S).group(0)
    root = ET.fromstring(svg)
    rects = root.findall("rect")
    assert len(rects) == 6
    assert rects[-1].get("fill") == "#ff0000" and rects[0].get("fill") == "#ffffff"  # worst red, best white


def test_no_heatmap_for_vectors_and_nothing_above_the_element_limit():
    vec = _page(table(row()), arrays={("sig", "float64", "x"): _arrays((3,))})
    assert "<th>ours</th>" in vec and 'class="heatmap"' not in vec
    big = render_html(Report(table(row()), arrays={("sig", "float64", "x"): _arrays((10, 10))}), element_limit=50)
    assert "<th>ours</th>" not in big and 'class="heatmap"' not in big


def test_incomplete_banner():
    assert 'id="incomplete"' in _page(incomplete=True)
    assert 'id="incomplete"' not in _page()


def test_inputs_and_steps_of_the_case_are_shown():
    html = _page(table(row()), cases=[case()])
    assert "sigmoid(w * x)" in html and "normal(mean=0, std=1), seed 7" in html
    assert "[ 0.5, -1. ,  2. ]" in html
