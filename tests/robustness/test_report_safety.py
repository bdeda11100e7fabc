"""Reports are safe web pages: hostile text from case files stays text in every format.

One ``gradcheck-suite run`` (a subprocess) over case files whose titles, descriptions,
tags, expressions, file names and error messages carry markup, quotes, ampersands,
``</style>``, control characters, pipes and newlines; then each report is read back
with a real parser (html.parser, xml.etree, the Markdown table's own grammar).
"""
from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from gradcheck_suite.report.results import anchor_id
from tests.cli.htmlcheck import external_references, parse_page

HOSTILE = r'''
cases:
  - name: hostile_text
    title: "<script>alert('title')</script> & \"quoted\" </style>"
    description: "</style><img src=x onerror=alert(1)> <a href='https://evil.example/x'>link</a> & 'single'"
    tags: ["<b>bold</b>", "a&b", "\"q\"", "</style>"]
    inputs:
      x: [0.5, -0.25]
    steps:
      y: "sum(where(x < 0, x, x * 2))"
    expect:
      x: "where(x<0, 1, 2)"
  - name: control_characters
    title: controls hidden in a comment of the expression
    inputs: {x: 0.5}
    steps:
      y: "x * log(-1.0  # \e[2J\e]0;owned\a\r\n)"
  - name: control_characters_in_title
    title: "bell \a escape \e nul \0 end"
    inputs: {x: 0.5}
    expr: sin(x)
  - name: newline_in_message
    inputs: {x: 0.5}
    steps:
      y: "x * log(\n-1.0)"
  - name: ".."
    inputs: {x: 0.5}
    expr: sin(x)
  - name: "..."
    inputs: {x: 0.25}
    expr: cos(x)
'''
BAD_KEY = "name: bad_key\n'<script>alert(\"key\")</script>|a|b': 1\ninputs: {x: 1.0}\nexpr: sin(x)\n"
HOSTILE_FILE = "<img src=x onerror=alert(1)> & 'q'.yaml"
CONTROL_FILE = "ctl\x01\x1b[2J\x0c.yaml"  # a file name may hold control characters
PAYLOADS = ["<script>alert(", "<img src=x", "</style><img", "<b>bold</b>", "<a href='https://evil"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Run the hostile cases once; every file in the folder before and after."""
    root = tmp_path_factory.mktemp("hostile")
    work = root / "work"
    work.mkdir()
    (work / "hostile.yaml").write_text(HOSTILE, encoding="utf-8")
    (work / "bad_key.yaml").write_text(BAD_KEY, encoding="utf-8")
    (work / HOSTILE_FILE).write_text("name: [unclosed\n", encoding="utf-8")
    (work / CONTROL_FILE).write_text("name: ctl\ninputs: {x: 0.5}\nexpr: x * log(-1.0)\n", encoding="utf-8")
    before = {p for p in root.rglob("*")}
    done = subprocess.run([sys.executable, "-m", "gradcheck_suite", "run", ".", "--out", "out", "--quiet"],
                          cwd=work, capture_output=True, text=True, timeout=240)
    after = {p for p in root.rglob("*")}
    out = work / "out"
    return {"done": done, "out": out, "new": after - before,
            "html": (out / "report.html").read_text("utf-8"), "md": (out / "summary.md").read_text("utf-8"),
            "junit": (out / "junit.xml").read_text("utf-8"),
            "csv": pd.read_csv(out / "results.csv", keep_default_na=False, dtype=str)}


def test_the_run_reports_every_case_and_no_traceback(run):
    done = run["done"]
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    table = run["csv"]
    assert {"hostile_text", "control_characters", "control_characters_in_title", "newline_in_message", "..",
            "...", "bad_key", "ctl"} \
        <= set(table["case"])
    # a file name's control characters are spelt out, never written raw (docs/robustness.md)
    assert {HOSTILE_FILE, "ctl\\x01\\x1b[2J\\x0c.yaml"} <= set(table["file"])
    hostile = table[table["case"] == "hostile_text"]
    assert set(hostile["status"]) == {"pass"}


def test_html_escapes_every_text_from_case_files(run):
    html = run["html"]
    for payload in PAYLOADS:
        assert payload not in html, payload
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; &amp; &#34;quoted&#34; &lt;/style&gt;" in html
    assert "&lt;/style&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "a&amp;b" in html
    assert "where(x &lt; 0, x, x * 2)" in html and "where(x&lt;0, 1, 2)" in html
    assert "&lt;script&gt;alert(&#34;key&#34;)&lt;/script&gt;|a|b" in html  # an error message
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &#39;q&#39;.yaml" in html  # a file name
    page = parse_page(html)
    tags = [t for t, _ in page.tags]
    scripts = [a.get("type", "") for t, a in page.tags if t == "script"]
    assert sorted(scripts) == ["", "application/json"]  # the page's script and its data island, no other
    assert tags.count("style") == 1 and "img" not in tags
    assert html.count("</style>") == 1 and html.count("</script>") == 2
    text = "".join(page.text)
    assert "<script>alert('title')</script> & \"quoted\" </style>" in text  # shown as the author wrote it


def test_html_loads_nothing_from_outside_and_has_a_csp(run):
    html = run["html"]
    # nothing is loaded (src & co.); links stay in the page or go to a sibling report of --out
    loads = [r for r in external_references(html) if not r.startswith("<a href=")]
    assert loads == []
    for tag, attrs in parse_page(html).tags:
        for name, value in attrs.items():
            assert not re.match(r"\s*([a-z][a-z0-9+.-]*:|//|/)", value, re.I) or value.startswith("data:"), \
                (tag, name, value)
            assert "../" not in value and "..\\" not in value, (tag, name, value)
            assert not name.startswith("on"), (tag, name)  # no event handler from anywhere
        if tag == "a" and "href" in attrs:
            assert re.fullmatch(r"((answer-key/)?[A-Za-z0-9_.-]+\.html)?(#[A-Za-z0-9_.-]+)?", attrs["href"]), \
                attrs["href"]
    assert not re.search(r"url\(|@import", html, re.I)
    (csp,) = [a for t, a in parse_page(html).tags if t == "meta" and
              a.get("http-equiv", "").lower() == "content-security-policy"]
    assert "default-src 'none'" in csp["content"]
    assert "script-src 'unsafe-inline'" in csp["content"] or "script-src" not in csp["content"]


def test_junit_is_valid_xml_with_the_text_intact(run):
    root = ET.fromstring(run["junit"].encode("utf-8"))
    messages = [el.get("message") for el in root.iter() if el.tag in ("error", "failure")]
    assert any('<script>alert("key")</script>|a|b' in m for m in messages)  # escaped, then read back
    control = [m for m in messages if "log(-1.0)" in m and "ctl" in m]
    assert control and not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", "".join(control))
    names = [el.get("name") for el in root.iter("testcase")]
    assert len(names) == len(set(names))


def test_control_characters_in_expressions_never_reach_a_report_or_the_terminal(run):
    done, table = run["done"], run["csv"]
    (message,) = table.loc[table["case"] == "control_characters", "message"]
    assert message.endswith("step 'y': control character U+001B is not allowed in an expression")
    (message,) = table.loc[table["case"] == "control_characters_in_title", "message"]
    assert message.endswith("key 'title': control character U+0007 is not allowed in 'title'")
    for text in (done.stdout, done.stderr, run["html"], run["md"]):
        assert "\x1b]0;owned" not in text and "\x1b[2J\x1b" not in text and "\r" not in text
        assert "\x1b" not in text and "\x07" not in text  # not one escape byte, wherever it came from
    assert not any("\n" in m for m in table["message"])  # a message is one line


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_markdown_tables_hold_and_carry_no_live_html(run):
    md = run["md"]
    for payload in PAYLOADS + ["<script", "<img"]:
        assert payload not in md, payload
    lines = md.split("\n")
    tables = 0
    for i, line in enumerate(lines):
        if line.startswith("| ---"):
            tables += 1
            width = _unescaped_pipes(lines[i - 1])
            j = i + 1
            while j < len(lines) and lines[j]:
                assert lines[j].startswith("| ") and _unescaped_pipes(lines[j]) == width, lines[j]
                j += 1
    assert tables == 2
    assert "comes from log( -1.0) (step 'y')" in md  # the expression's newline did not break its row


def test_every_file_the_run_writes_is_inside_out(run):
    out = run["out"].resolve()
    written = [p for p in run["new"] if p.is_file()]
    assert written
    for path in written:
        assert out in path.resolve().parents, path
    assert {"junit.xml", "report.html", "results.csv", "results.json", "summary.md"} <= {p.name for p in written}


def test_html_anchors_of_distinct_case_names_are_distinct(run):
    """Case names may be '..' and '...' (and 'a..b' next to 'a.b'); each needs its own anchor."""
    names = ["..", "...", "a..b", "a.b", "-a", "a-", "a", ".a"]
    anchors = [anchor_id(n) for n in names]
    assert len(set(anchors)) == len(names), dict(zip(names, anchors))
    ids = re.findall(r'<section class="case" id="([^"]+)"', run["html"])
    assert len(ids) == len(set(ids)), ids
