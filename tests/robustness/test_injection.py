"""Injection through reports and terminals: CSV formulas, Markdown links and mentions, escapes.

Issue 18, items 11–13: a case file's texts and a file's name reach ``results.csv``,
``summary.md`` (a GitHub job summary) and the terminal; none of them may act there.
"""
from __future__ import annotations

import csv
import io
import re
import subprocess
import sys

import pytest
from markdown_it import MarkdownIt

from gradcheck_suite.loader import load_text
from gradcheck_suite.report.csv import neutralise, restore
from gradcheck_suite.untrusted import markdown_text, visible

PIXEL_KEY = "![pixel](https://evil.example/pixel.png) [click](https://evil.example/x) @some-org/some-team"
FORMULA_FILE = '=HYPERLINK("http:evil.example","x").yaml'
ESCAPE_FILE = "esc\x1b]8;;evil.example\x07link\x1b[2J.yaml"


def _run(args, cwd):
    return subprocess.run([sys.executable, "-m", "gradcheck_suite", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=240)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    work = tmp_path_factory.mktemp("inject")
    (work / "pixel.yaml").write_text(f"name: pixel\n'{PIXEL_KEY}': 1\ninputs: {{x: 0.5}}\nexpr: sin(x)\n")
    (work / FORMULA_FILE).write_text("name: [unclosed\n")
    (work / ESCAPE_FILE).write_text("name: esc\ninputs: {x: 0.5}\nexpr: x * log(-1.0)\n")
    (work / "minus.yaml").write_text("name: -A1\ninputs: {x: 0.5}\nexpr: sin(x)\n")
    run = _run(["run", ".", "--out", "out"], work)
    listed = _run(["list", "."], work)
    return {"run": run, "list": listed, "out": work / "out"}


def test_csv_cells_that_start_a_formula_are_neutralised(hostile):
    rows = list(csv.DictReader(io.StringIO((hostile["out"] / "results.csv").read_text("utf-8"))))
    files = {r["file"] for r in rows}
    assert "'" + FORMULA_FILE in files and FORMULA_FILE not in files
    assert any(r["case"] == "'-A1" for r in rows)
    for r in rows:
        for column in ("case", "file", "message"):
            assert not r[column].startswith(("=", "+", "-", "@", "\t", "\r")), (column, r[column])
    numbers = [r["max_abs_err"] for r in rows if r["max_abs_err"]]
    assert numbers and all(re.fullmatch(r"-?[0-9.e+-]+|-?inf|nan", n) for n in numbers)


@pytest.mark.parametrize("text", ["=1+1", "+1", "-A1", "@SUM(A1)", "\tx", "\rx", "'=x", "'plain", "plain", ""])
def test_neutralise_and_restore_round_trip(text):
    assert restore(neutralise(text)) == text
    assert not neutralise(text).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_the_baseline_reads_a_neutralised_case_name_back(hostile, tmp_path):
    from gradcheck_suite.baseline import read_table

    table = read_table(hostile["out"] / "results.csv")
    assert "-A1" in set(table["case"]) and FORMULA_FILE in set(table["file"])


def test_markdown_holds_no_live_link_image_or_mention(hostile):
    md = (hostile["out"] / "summary.md").read_text("utf-8")
    assert "unknown key" in md
    html = MarkdownIt("commonmark").enable("table").render(md)
    assert "<img" not in html and "<a " not in html
    assert "@some-org" not in re.sub(r"<!--.*?-->", "", md.replace("@<!-- -->", "@\0"))  # the mention is broken
    assert "https://evil" not in md  # no bare autolink either


def test_markdown_text_keeps_the_words():
    rendered = MarkdownIt("commonmark").render(markdown_text(PIXEL_KEY + " a|b `c` \\[x] <b>&"))
    text = re.sub(r"<!--.*?-->", "", rendered)
    assert "<a " not in rendered and "<img" not in rendered and "<code>" not in rendered and "<b>" not in rendered
    assert "![pixel](https://evil.example/pixel.png)" in text.replace("&amp;", "&")


def test_terminal_output_spells_out_escapes(hostile):
    for done in (hostile["run"], hostile["list"]):
        text = done.stdout + done.stderr
        assert "\x1b" not in text and "\x07" not in text, text
    assert "esc\\x1b]8;;evil.example\\x07link\\x1b[2J.yaml" in hostile["run"].stdout


@pytest.mark.parametrize("char", ["\u200b", "\u200f", "\u061c", "\u202e", "\u2066", "\ufeff", "\ud800"])
def test_invisible_bidi_and_surrogate_characters_are_refused_in_texts(char):
    cases, (err,) = load_text(f'name: t\ntitle: "a{char.encode("unicode_escape").decode()}b"\n'
                              "inputs: {x: 0.5}\nexpr: sin(x)\n", "f.yaml")
    assert cases == [] and f"U+{ord(char):04X} is not allowed in 'title'" in str(err)
    cases, (err,) = load_text(f'name: t\ninputs: {{x: 0.5}}\nexpr: "sin(x){char.encode("unicode_escape").decode()}"\n',
                              "f.yaml")
    assert cases == [] and f"U+{ord(char):04X} is not allowed in an expression" in str(err)
    assert "\\u" in visible(char) or "\\x" in visible(char)


def test_a_lone_surrogate_title_gives_a_row_and_list_works(tmp_path):
    (tmp_path / "s.yaml").write_text('name: s\ntitle: "bad \\ud800 title"\ninputs: {x: 0.5}\nexpr: sin(x)\n')
    (tmp_path / "ok.yaml").write_text("name: ok\ninputs: {x: 0.5}\nexpr: sin(x)\n")
    for command in (["validate", "."], ["list", "."], ["run", ".", "--out", "out", "-q"]):
        done = _run(command, tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr and "internal error" not in done.stderr
        assert "U+D800 is not allowed in 'title'" in done.stdout + done.stderr
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {"results.csv", "report.html", "junit.xml",
                                                               "summary.md", "results.json"}
