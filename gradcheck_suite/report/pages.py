"""What the HTML pages need of each case, built in the worker process that checked it.

A run's workers check the cases in parallel; right after a case's checks the same worker builds
its section of the answer key and its card's details in ``report.html`` — ``run_cases(after=
CasePages())`` — and the main process only lays the pages out (``Report.pages``): the answer key
with :func:`~gradcheck_suite.report.answer_key.render_answer_key`, the report with
:func:`~gradcheck_suite.report.html.render_html`, which keeps the cards to its size budget as
before.  Byte for byte what one process builds (without a pool, the renderers build it all).

Light on purpose: a worker imports this module (to unpickle :class:`CasePages`), the renderers'
per-case parts and the explainer, never pandas.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from .answer_key import case_section, time_budget
from .html import card_details
from .results import conform_rows

__all__ = ["Pages", "CasePages", "prepare"]


@dataclass(frozen=True)
class Pages:
    """One case's parts of the HTML pages."""

    #: (why the case gets no answer key, "") or ("", its answer-key section's HTML)
    section: tuple[str, str]
    #: its card's details in report.html, whole (:func:`~gradcheck_suite.report.html.card_details`)
    card: str
    #: whether they hold gradients side by side (without which report.html may show them, to keep to its budget)
    lighter: bool
    #: how many rows of the table they were built from (the renderer rebuilds a card whose rows differ)
    rows: int


class CasePages:
    """``run_cases(after=CasePages())``: each case's :class:`Pages`, built where it was checked.  The
    run's answer-key time budget counts from when this object was made (the monotonic clock is the
    machine's, the same in every process)."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self, result, cases: int) -> Pages:
        from ..harness.table import sorted_rows  # the table's row order (no pandas)

        case = result.case
        rows = conform_rows(result.rows)  # as the main process's table reads them back
        at = {id(row): i for i, row in enumerate(result.rows)}
        ordered = [rows[at[id(row)]]  # … and in its order
                   for row in sorted_rows(result.rows, {case.name: {n: i for i, n in enumerate(case.graph.inputs)}})]
        card, lighter = card_details(case, ordered, {k: v for k, v in result.arrays.items() if k[0] == case.name})
        return Pages(section=case_section(case, rows, self.start + time_budget(cases)), card=card, lighter=lighter,
                     rows=len(rows))


def prepare(spread: bool = True) -> None:
    """What laying the pages out needs in the main process — the answer key's renderer and report.html's
    templates, compiled — made ready while the workers check (``run_cases(meanwhile=prepare)``); and,
    when the pages are not built in the workers (``spread`` False: a pool of one worker, for one
    case), what building them takes (the explainer, sympy: 0.3-0.45 s that would otherwise come after
    the case)."""
    import importlib

    from .html import compile_templates

    importlib.import_module("gradcheck_suite.explain.html")
    if not spread:
        importlib.import_module("gradcheck_suite.explain.build")
    compile_templates()
