"""The answer key is bounded: no re-evaluation of failed cases, an element limit, time budgets (issue 18, item 3)."""
from __future__ import annotations

import time

from gradcheck_suite import api
from gradcheck_suite.explain import build, explain_case
from gradcheck_suite.loader import load_text
from gradcheck_suite.report import answer_key
from gradcheck_suite.report.results import Report


def _case(text):
    (case,), errors = load_text(text, "f.yaml")
    assert not errors
    return case


def _pages(report) -> str:
    """Every page of the run's answer key, one after the other."""
    return "".join(answer_key.render_answer_key(report).values())


def _report(cases, table=None):
    result = api.run(cases) if table is None else None
    return Report(table=result.table if table is None else table, cases={c.name: c for c in cases}, arrays={},
                  meta={}, incomplete=False)


def test_a_case_over_the_element_limit_gets_a_note_not_every_element(monkeypatch):
    # issue: x of 2,000,000 elements took > 300 s for the HTML reports; here 3,000 with a limit of 1,000
    big = _case("name: big\ninputs: {x: {shape: [3000]}}\nexpr: sum(sin(x) * x)\n")
    small = _case("name: small\ninputs: {x: 0.5}\nexpr: sin(x) * x\n")
    monkeypatch.setattr(answer_key, "ELEMENT_LIMIT", 1000)
    pages = answer_key.render_answer_key(_report([big, small]))
    big_page = pages["answer-key/big.html"]
    assert "No answer key here: its values have 9,001 elements; the pages show cases of up to 1,000." in big_page
    assert "gradcheck-suite explain big" in big_page
    assert "No answer key here" not in pages["answer-key/small.html"]  # the small case has its key
    assert len(big_page) < 20_000 and "(no answer key: see its page)" in pages["answer-key.html"]


def test_a_case_that_could_not_be_evaluated_is_not_evaluated_again(monkeypatch):
    slow = _case("name: slow\ninputs: {x: 0.5}\nexpr: sin(x)\n")
    report = _report([slow])
    table = report.table.copy()
    table.loc[:, "check"] = "evaluate"
    table.loc[:, "status"] = "error"
    calls = []
    monkeypatch.setattr("gradcheck_suite.explain.explain_case", lambda *a, **k: calls.append(a))
    page = _pages(Report(table=table, cases=report.cases, arrays={}, meta={}))
    assert calls == []
    assert "the case could not be evaluated in this run (see its error row)" in page


def test_the_page_has_a_time_budget(monkeypatch):
    cases = [_case(f"name: c{i}\ninputs: {{x: 0.5}}\nexpr: sin(x)\n") for i in range(3)]
    report = _report(cases)

    def slow(*args, **kwargs):
        time.sleep(5)

    monkeypatch.setattr("gradcheck_suite.explain.explain_case", slow)
    monkeypatch.setattr(answer_key, "CASE_TIME_BUDGET", 0.3)
    monkeypatch.setattr(answer_key, "PAGE_TIME_BUDGET", 0.5)
    monkeypatch.setattr(answer_key, "PER_CASE_TIME", 0.0)
    start = time.monotonic()
    page = _pages(report)
    assert time.monotonic() - start < 3
    assert page.count("No answer key here") == 3
    assert "it took more than 0.3 s here" in page and "the answer key of this run used up its time (0.5 s + 0 s a case)" in page


def test_the_time_of_the_pages_grows_with_the_cases():
    assert answer_key.time_budget(0) == answer_key.PAGE_TIME_BUDGET == 120
    assert answer_key.time_budget(3000) == 120 + 3000 * answer_key.PER_CASE_TIME == 870


def test_sympy_has_a_time_budget_and_a_fallback(monkeypatch):
    # issue: `explain` on sin(sin(…)) nested 20 deep never returned
    expr = "x"
    for _ in range(20):
        expr = f"sin({expr})"
    case = _case(f"name: nest\ninputs: {{x: 0.3}}\nexpr: {expr}\n")
    monkeypatch.setattr(build, "SYMPY_TIME_BUDGET", 1.0)
    start = time.monotonic()
    ex = explain_case(case, harness=False, sweep=False)
    assert time.monotonic() - start < 30
    assert ex.closed_form.note.startswith("No closed form shown: sympy did not finish within 1 s")
    assert "sympy did not finish within 1 s" in ex.symbolic.note  # the symbolic backward pass has the budget too
    assert ex.gradients  # the chain-rule part is all there
