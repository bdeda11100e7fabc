"""The teaching answer key: every case explained step by step, claimed derivatives graded.

One model (:mod:`.model`, filled in by :mod:`.build` from the engine's own trace), four
renderers (:mod:`.text`, :mod:`.markdown`, :mod:`.html`, :mod:`.tex`), two pictures
(:mod:`.graph_svg`, :mod:`.stepsize`), the backward pass in symbols (:mod:`.symbolic`,
:mod:`.matrix_form`), the closed forms (:mod:`.closed_form`), the grader (:mod:`.grade`,
:mod:`.mistakes`, :mod:`.variants`, :mod:`.gradebook`) and the commands (:mod:`.cli`).
Renderers are imported lazily: matplotlib only loads when a picture is asked for.

The package itself can be called, for notebooks::

    import gradcheck_suite
    gradcheck_suite.explain("seed_two_paths")     # an Explanation; Jupyter shows it inline
"""
import importlib
import sys
import types

from .model import Explanation

#: names of the package defined in its modules that import sympy (build, grade): imported on first
#: use, so that a process that only lays out pages already built (the run's main process, which
#: needs the answer key's CSS and anchors) does not import sympy (0.4 s)
_LAZY = {"explain_case": "build", "explain_graph": "build", "grade_answers": "grade", "grade_claim": "grade"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value

__all__ = ["explain", "explain_case", "explain_graph", "grade_answers", "grade_claim", "Explanation",
           "render_text", "render_markdown", "render_html", "render_tex", "html_fragment", "anchor"]


def explain(case, paths=None, **options) -> Explanation:
    """The answer key of ``case`` (a loaded Case, or a case name looked up under ``paths``,
    default ``cases/``); ``options`` go to :func:`explain_case` (``lang``, ``variant``, …).
    In Jupyter the result shows itself as HTML (``Explanation._repr_html_``)."""
    if isinstance(case, str):
        from ..cli import DEFAULT_PATHS
        from .cli import find_case

        case = find_case(case, list(paths or DEFAULT_PATHS))
    from .build import explain_case

    return explain_case(case, **options)


def render_tex(ex, **kw):
    """The answer key as a LaTeX document (see :func:`.tex.render_tex`)."""
    from .tex import render_tex as r
    return r(ex, **kw)


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


class _CallableModule(types.ModuleType):
    """``gradcheck_suite.explain(...)`` calls :func:`explain`; the module stays a module."""

    def __call__(self, case, paths=None, **options) -> Explanation:
        return explain(case, paths, **options)


sys.modules[__name__].__class__ = _CallableModule
