"""The answer key of a run, which ``report.html`` links to: an index page and one page per case.

Each case gets the teaching answer key of :mod:`gradcheck_suite.explain` (a view of the
engine's own trace) with the run's own rows as its "three routes agree" table.  The
slow, optional parts — the symbolic composition along the paths, the sympy closed form
and the step-size sweep — are left to
``gradcheck-suite explain CASE``, so the pages cost a fraction of the run.  A case whose
answer key cannot be built gets a note instead; it never stops the other reports.

One page per case (``answer-key/CASE.html``, :data:`~gradcheck_suite.contract.ANSWER_KEY_DIR`)
rather than one page for all: a library's single page was 13.8 MB at 328 cases and grows
with every case, while a case's page stays the size of that case (tens of kB) and a
browser opens only the one it is asked for.  The index (``answer-key.html``,
:data:`~gradcheck_suite.contract.ANSWER_KEY_FILE`) lists every case with its status.
"""
from __future__ import annotations

import hashlib
import math
import time

import jinja2
from markupsafe import Markup, escape

from ..contract import ANSWER_KEY_DIR, ANSWER_KEY_FILE, FORMAT_FILES
from .results import Report, anchor_id, unique_safe_name, worst_status

__all__ = ["FILE_NAME", "render_answer_key", "case_section", "page_of", "link_of", "time_budget"]

#: the index page report.html's header links to (each case's card links to its own page)
FILE_NAME = ANSWER_KEY_FILE

#: the most elements, all nodes together, a case may have to get an answer key in the run's pages
ELEMENT_LIMIT = 50_000
#: seconds one case's answer key may take, and all the pages of a run together: PAGE_TIME_BUDGET
#: plus PER_CASE_TIME for each case (:func:`time_budget`), so that a library of 3,000 cases is not cut
#: short on a busy machine while one pathological run still ends
CASE_TIME_BUDGET = 20.0
PAGE_TIME_BUDGET = 120.0
PER_CASE_TIME = 0.25

#: names Windows keeps for devices, with any extension (``nul.html`` cannot be created there)
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def page_of(case: str) -> str:
    """The file of a case's answer-key page, relative to the report folder (``answer-key/CASE.html``).

    The file name is the case name when that is a safe, lower-case file name; otherwise it
    carries a short hash of the name, so two cases never share a page — not even on a file
    system that ignores case (``Loss`` and ``loss``) or on Windows (``nul``).
    """
    stem = unique_safe_name(case)
    if stem != stem.lower() or stem.split(".")[0].lower() in _RESERVED:
        stem = stem.lower() + "-" + hashlib.sha256(str(case).encode("utf-8")).hexdigest()[:8]
    return f"{ANSWER_KEY_DIR}/{stem}.html"


def link_of(case: str) -> str:
    """The link from report.html to a case's section of the answer key."""
    from ..explain.html import anchor

    return f"{page_of(case)}#{anchor(case)}"


def time_budget(cases: int) -> float:
    """Seconds all the pages of a run of ``cases`` cases may take together."""
    return PAGE_TIME_BUDGET + PER_CASE_TIME * cases


def render_answer_key(report: Report) -> dict[str, str]:
    """The answer-key pages of every loaded case of the run (cases with load errors have none):
    ``{file name relative to the report folder: HTML}`` — the index first, then one page per case.

    Bounded: a case that could not be evaluated in the run (an ``evaluate`` error row: timed
    out, non-finite output) is not evaluated again; a case over :data:`ELEMENT_LIMIT` elements, or beyond its
    :data:`CASE_TIME_BUDGET` or the run's :func:`time_budget`, gets a note pointing to
    ``gradcheck-suite explain CASE`` instead.
    """
    from ..explain.html import CSP, CSS

    from ..explain.routes import records

    groups: dict[str, list] = {}
    for row in records(report.table):  # one conversion of the table, not a DataFrame per case
        groups.setdefault(row["case"], []).append(row)
    names = list(report.cases)
    end = time.monotonic() + time_budget(len(names))
    tasks = [(report.cases[name], groups.get(name, []), end) for name in names]
    sections = [report.pages[name].section if name in report.pages else case_section(*t)
                for name, t in zip(names, tasks)]
    entries, pages = [], {}
    links = {name: link_of(name) for name in names}  # each case's link, for its entry and its neighbours' pages
    css = Markup(CSS)
    for i, (name, (why, fragment)) in enumerate(zip(names, sections)):
        rows = tasks[i][1]
        entries.append({"name": name, "title": getattr(report.cases[name], "title", "") or "",
                        "status": worst_status(r["status"] for r in rows) if rows else "", "href": links[name],
                        "note": bool(why)})
        neighbours = {"previous": names[i - 1] if i else None, "next": names[i + 1] if i + 1 < len(names) else None}
        pages[page_of(name)] = _case_page(
            name, fragment or _note(name, why), CSP, css,
            index=f"../{ANSWER_KEY_FILE}", report=f"../{FORMAT_FILES['html']}#{anchor_id(name)}",
            links={k: (v, "../" + links[v]) for k, v in neighbours.items() if v is not None})
    index = _INDEX_PAGE.render(csp=CSP, css=css, entries=entries, note=_INDEX_NOTE,
                               report=FORMAT_FILES["html"])
    return {ANSWER_KEY_FILE: index, **pages}


def case_section(case, rows, end: float) -> tuple[str, str]:
    """(why the case gets no answer key, "") or ("", its section's HTML); ``end`` on the monotonic clock.
    ``rows`` are the case's harness rows: a DataFrame or row mappings.  Built here for the cases
    ``Report.pages`` lacks, in a worker for the others (:class:`~gradcheck_suite.report.pages.CasePages`)."""
    from ..budget import OutOfTime, deadline
    from ..explain import explain_case, html_fragment
    from ..explain.routes import records

    rows = records(rows)

    why = _why_not(case, rows, end - time.monotonic())
    if why:
        return why, ""
    try:
        with deadline(min(CASE_TIME_BUDGET, max(0.001, end - time.monotonic()))):
            return "", html_fragment(explain_case(case, table=rows, sweep=False, closed=False), heading_level=2)
    except OutOfTime:
        return (f"it took more than {CASE_TIME_BUDGET:g} s here (or the answer key of this run ran out of its "
                f"{time_budget(0):g} s + {PER_CASE_TIME:g} s a case)"), ""
    except Exception as exc:  # noqa: BLE001 - one case's page must not sink the report
        return f"{type(exc).__name__}: {exc}", ""


_INDEX_NOTE = ("Each case step by step, one page per case: decomposition, forward values, backward pass with local "
               "derivatives (also in the forward nodes' names, and as matrix formulas for array steps) and path sums, "
               "Jacobian chains, the three routes of this run, claims graded, the graph. The backward pass composed "
               "in symbols, closed forms and the step-size plot: gradcheck-suite explain CASE.")

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>{{ css }} body{margin:1em 2em;max-width:1200px} nav.pages{color:#5b6b7f;font:.9em system-ui,sans-serif;margin:.4em 0}
nav.pages a{margin-right:1em} td.status{font-weight:600}</style></head>
<body>
"""
#: a case's page is its head, its links, the case's section, the links again: the section (tens of kB,
#: built in a worker) is joined in as it is, not passed through the template engine
_CASE_HEAD = _ENV.from_string(_HEAD.replace("{{ title }}", "answer key: {{ name }}"))
_CASE_NAV = _ENV.from_string("""\
<nav class="pages"><a href="{{ index }}">all cases</a><a href="{{ report }}">this case in the report</a>
{%- if "previous" in links %}<a rel="prev" href="{{ links.previous[1] }}">← {{ links.previous[0] }}</a>{% endif %}
{%- if "next" in links %}<a rel="next" href="{{ links.next[1] }}">{{ links.next[0] }} →</a>{% endif %}</nav>""")


def _case_page(name: str, fragment: str, csp: str, css: Markup, **nav) -> str:
    """A case's answer-key page: ``fragment`` (its section's HTML) between the links of :data:`_CASE_NAV`."""
    links = _CASE_NAV.render(**nav)
    # (jinja drops the head's last newline: the blank line after <body> is the one the page always had)
    return "".join((_CASE_HEAD.render(csp=csp, css=css, name=name), "\n\n", links, "\n", fragment, "\n", links,
                    "\n</body></html>"))


_INDEX_PAGE = _ENV.from_string(_HEAD.replace("{{ title }}", "gradcheck-suite answer key") + """\
<div class="answer-key">
<h1>gradcheck-suite answer key</h1>
<p class="note">{{ note }}</p>
<nav class="pages"><a href="{{ report }}">the report</a></nav>
<table><tr><th>case</th><th>status in this run</th><th>title</th></tr>
{% for e in entries %}<tr><td><a href="{{ e.href }}">{{ e.name }}</a>{% if e.note %} <span class="note">(no answer key: see its page)</span>{% endif %}</td><td class="status {{ e.status }}">{{ e.status }}</td><td>{{ e.title }}</td></tr>
{% endfor %}</table>
</div>
</body></html>
""")


def _why_not(case, rows, time_left: float) -> str:
    """Why a case gets no answer key in the run's pages ("" when it gets one)."""
    if time_left <= 0:
        return f"the answer key of this run used up its time ({PAGE_TIME_BUDGET:g} s + {PER_CASE_TIME:g} s a case)"
    if any(r["check"] == "evaluate" and r["status"] == "error" for r in rows):
        return "the case could not be evaluated in this run (see its error row)"
    from ..budget import static_shapes

    shapes, _ = static_shapes(case.graph, {n: v.value_shape for n, v in {**case.inputs, **case.constants}.items()})
    elements = sum(math.prod(s) for s in shapes)
    if elements > ELEMENT_LIMIT:
        return f"its values have {elements:,} elements; the pages show cases of up to {ELEMENT_LIMIT:,}"
    return ""


def _note(name: str, why: str) -> str:
    from ..explain.html import anchor

    return (f'<section class="answer-key" id="{anchor(name)}"><h2>Answer key: {escape(name)}</h2>'
            f'<p class="note">No answer key here: {escape(why)}. Run <code>gradcheck-suite explain '
            f'{escape(name)}</code> for it.</p></section>')
