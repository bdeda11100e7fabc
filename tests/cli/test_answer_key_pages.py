"""The answer key of a run: an index page and one page per case, linked both ways (issue 17)."""
from gradcheck_suite.loader import load_text
from gradcheck_suite.report import Report
from gradcheck_suite.report.answer_key import link_of, page_of, render_answer_key
from tests.cli.htmlcheck import external_references
from tests.cli.sample import row, table


def test_a_page_per_case_with_a_file_name_no_two_cases_share():
    assert page_of("seed_two_paths") == "answer-key/seed_two_paths.html"
    names = ["Loss", "loss", "nul", "a b", "a-b", "x/../y"]
    pages = [page_of(n) for n in names]
    assert len({p.lower() for p in pages}) == len(names)  # distinct even where case is ignored
    assert all(p.startswith("answer-key/") and p.count("/") == 1 and p == p.lower() for p in pages)
    assert page_of("nul").startswith("answer-key/nul-")  # a device name on Windows
    assert link_of("Loss") == page_of("Loss") + "#answer-key-Loss"


def test_the_index_lists_every_case_and_each_page_links_back():
    cases = [load_text(f"name: {n}\ninputs: {{x: 0.5}}\nexpr: sin(x)\n", "c.yaml")[0][0] for n in ("one", "two")]
    pages = render_answer_key(Report(table(row(case="one"), row(case="two", status="fail")), cases=cases))
    assert list(pages) == ["answer-key.html", "answer-key/one.html", "answer-key/two.html"]
    index = pages["answer-key.html"]
    assert '<a href="answer-key/one.html#answer-key-one">one</a>' in index
    assert '<td class="status fail">fail</td>' in index
    one, two = pages["answer-key/one.html"], pages["answer-key/two.html"]
    assert 'id="answer-key-one"' in one and 'href="../report.html#case-one"' in one
    assert 'href="../answer-key.html"' in one and 'rel="next" href="../answer-key/two.html#answer-key-two"' in one
    assert 'rel="prev" href="../answer-key/one.html#answer-key-one"' in two and 'rel="next"' not in two
    assert all(external_references(p) == [] for p in pages.values())
