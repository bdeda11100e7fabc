"""``answer-key.html``: the answer key of every case of a run, which ``report.html`` links to.

Each case gets the teaching answer key of :mod:`gradcheck_suite.explain` (a view of the
engine's own trace) with the run's own rows as its "three routes agree" table.  The
slow, optional parts — the symbolic composition along the paths, the sympy closed form
and the step-size sweep — are left to
``gradcheck-suite explain CASE``, so the page costs a fraction of the run.  A case whose
answer key cannot be built gets a note instead; it never stops the other reports.
"""
from __future__ import annotations

from markupsafe import escape

from .results import Report

__all__ = ["FILE_NAME", "render_answer_key"]

#: the file name report.html links to
FILE_NAME = "answer-key.html"


def render_answer_key(report: Report) -> str:
    """The answer-key page of every loaded case of the run (cases with load errors have none)."""
    from ..explain import explain_case, html_fragment

    sections: list[tuple[str, str]] = []
    for name, case in report.cases.items():
        rows = report.table[report.table["case"] == name]
        try:
            fragment = html_fragment(explain_case(case, table=rows, sweep=False, closed=False), heading_level=2)
        except Exception as exc:  # noqa: BLE001 - one case's page must not sink the report
            from ..explain.html import anchor

            fragment = (f'<section class="answer-key" id="{anchor(name)}"><h2>Answer key: {escape(name)}</h2>'
                        f'<p class="note">No answer key: {escape(type(exc).__name__)}: {escape(str(exc))}</p></section>')
        sections.append((name, fragment))
    from ..explain.html import render_book

    note = ("Each case step by step: decomposition, forward values, backward pass with local derivatives "
            "(also in the forward nodes' names, and as matrix formulas for array steps) and path sums, "
            "Jacobian chains, the three routes of this run, claims graded, the graph. The backward pass "
            "composed in symbols, closed forms and the step-size plot: gradcheck-suite explain CASE.")
    return render_book(sections, title="gradcheck-suite answer key", note=note)
