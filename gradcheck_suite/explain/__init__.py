"""The teaching answer key: every case explained step by step, claimed derivatives graded.

One model (:mod:`.model`, filled in by :mod:`.build` from the engine's own trace), three
renderers (:mod:`.text`, :mod:`.markdown`, :mod:`.html`), two pictures (:mod:`.graph_svg`,
:mod:`.stepsize`), the closed forms (:mod:`.closed_form`), the grader (:mod:`.grade`)
and the commands (:mod:`.cli`).  Renderers are imported lazily: matplotlib only loads
when a picture is asked for.
"""
from .build import explain_case, explain_graph
from .grade import grade_answers, grade_claim
from .model import Explanation

__all__ = ["explain_case", "explain_graph", "grade_answers", "grade_claim", "Explanation",
           "render_text", "render_markdown", "render_html", "html_fragment", "anchor"]


def render_text(ex, **kw):
    """The answer key as terminal text (see :func:`.text.render_text`)."""
    from .text import render_text as r
    return r(ex, **kw)


def render_markdown(ex, **kw):
    """The answer key as Markdown (see :func:`.markdown.render_markdown`)."""
    from .markdown import render_markdown as r
    return r(ex, **kw)


def render_html(ex, **kw):
    """The answer key as a standalone HTML page (see :func:`.html.render_html`)."""
    from .html import render_html as r
    return r(ex, **kw)


def html_fragment(ex, **kw):
    """The answer key as a ``<section>`` for the run report (see :func:`.html.html_fragment`)."""
    from .html import html_fragment as r
    return r(ex, **kw)


def anchor(case: str) -> str:
    """The id of a case's answer-key section."""
    from .html import anchor as a
    return a(case)
