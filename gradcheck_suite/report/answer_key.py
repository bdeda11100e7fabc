"""``answer-key.html``: the answer key of every case of a run, which ``report.html`` links to.

Each case gets the teaching answer key of :mod:`gradcheck_suite.explain` (a view of the
engine's own trace) with the run's own rows as its "three routes agree" table.  The
slow, optional parts — the symbolic composition along the paths, the sympy closed form
and the step-size sweep — are left to
``gradcheck-suite explain CASE``, so the page costs a fraction of the run.  A case whose
answer key cannot be built gets a note instead; it never stops the other reports.
"""
from __future__ import annotations

import math
import time

from markupsafe import escape

from .results import Report

__all__ = ["FILE_NAME", "render_answer_key"]

#: the file name report.html links to
FILE_NAME = "answer-key.html"


#: the most elements, all nodes together, a case may have to get an answer key in the run's page
ELEMENT_LIMIT = 50_000
#: seconds one case's answer key may take, and the whole page
CASE_TIME_BUDGET = 20.0
PAGE_TIME_BUDGET = 120.0


def render_answer_key(report: Report) -> str:
    """The answer-key page of every loaded case of the run (cases with load errors have none).

    Bounded: a case that could not be evaluated in the run (an ``evaluate`` error row: timed
    out, non-finite output) is not evaluated again; a case over :data:`ELEMENT_LIMIT`
    elements, or beyond its :data:`CASE_TIME_BUDGET` or the page's :data:`PAGE_TIME_BUDGET`,
    gets a note pointing to ``gradcheck-suite explain CASE`` instead.
    """
    from ..budget import OutOfTime, deadline
    from ..explain import explain_case, html_fragment

    sections: list[tuple[str, str]] = []
    end = time.monotonic() + PAGE_TIME_BUDGET
    by_case = dict(tuple(report.table.groupby("case", sort=False))) if len(report.table) else {}
    for name, case in report.cases.items():
        rows = by_case.get(name, report.table.iloc[0:0])  # one grouping, not one scan per case
        why = _why_not(case, rows, end - time.monotonic())
        if not why:
            try:
                with deadline(min(CASE_TIME_BUDGET, max(0.001, end - time.monotonic()))):
                    fragment = html_fragment(explain_case(case, table=rows, sweep=False, closed=False),
                                             heading_level=2)
            except OutOfTime:
                why = f"it took more than {CASE_TIME_BUDGET:g} s here (or the page ran out of its {PAGE_TIME_BUDGET:g} s)"
            except Exception as exc:  # noqa: BLE001 - one case's page must not sink the report
                why = f"{type(exc).__name__}: {exc}"
        if why:
            fragment = _note(name, why)
        sections.append((name, fragment))
    from ..explain.html import render_book

    note = ("Each case step by step: decomposition, forward values, backward pass with local derivatives "
            "(also in the forward nodes' names, and as matrix formulas for array steps) and path sums, "
            "Jacobian chains, the three routes of this run, claims graded, the graph. The backward pass "
            "composed in symbols, closed forms and the step-size plot: gradcheck-suite explain CASE.")
    return render_book(sections, title="gradcheck-suite answer key", note=note)


def _why_not(case, rows, time_left: float) -> str:
    """Why a case gets no answer key in this page ("" when it gets one)."""
    if time_left <= 0:
        return f"the page used up its {PAGE_TIME_BUDGET:g} s"
    if len(rows) and ((rows["check"] == "evaluate") & (rows["status"] == "error")).any():
        return "the case could not be evaluated in this run (see its error row)"
    from ..budget import static_shapes

    shapes, _ = static_shapes(case.graph, {n: v.value_shape for n, v in {**case.inputs, **case.constants}.items()})
    elements = sum(math.prod(s) for s in shapes)
    if elements > ELEMENT_LIMIT:
        return f"its values have {elements:,} elements; the page shows cases of up to {ELEMENT_LIMIT:,}"
    return ""


def _note(name: str, why: str) -> str:
    from ..explain.html import anchor

    return (f'<section class="answer-key" id="{anchor(name)}"><h2>Answer key: {escape(name)}</h2>'
            f'<p class="note">No answer key here: {escape(why)}. Run <code>gradcheck-suite explain '
            f'{escape(name)}</code> for it.</p></section>')
