"""The HTML renderer: a standalone page, or a fragment for the run report.

Self-contained (inline CSS and SVG, no script, no request to any network), with a
Content-Security-Policy meta tag; every text from a case is escaped by jinja2's
autoescaping.  The two pictures are SVG built by our own code (graph) and by
matplotlib (step-size plot, imported only here).
"""
from __future__ import annotations


import jinja2
from markupsafe import Markup

from . import graph_svg, stepsize, wording
from .model import Explanation

__all__ = ["render_html", "render_book", "html_fragment", "anchor", "CSS", "CSP"]

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

CSS = """
.answer-key{font-family:system-ui,-apple-system,Segoe UI,sans-serif;color:#1b2a41;max-width:1200px}
.answer-key h2,.answer-key h3{border-bottom:1px solid #dde3ea;padding-bottom:.2em}
.answer-key table{border-collapse:collapse;margin:.5em 0 1em}
.answer-key th,.answer-key td{border:1px solid #dde3ea;padding:.25em .6em;text-align:left;vertical-align:top}
.answer-key th{background:#f3f6fa}
.answer-key code,.answer-key .num{font-family:DejaVu Sans Mono,Menlo,Consolas,monospace;font-size:.92em}
.answer-key .deriv{color:#8e2a0b}
.answer-key .blank{display:inline-block;min-width:5em;border-bottom:1px solid #1b2a41;color:transparent}
.answer-key .right,.answer-key .pass{color:#1e7e34;font-weight:bold}
.answer-key .wrong,.answer-key .fail,.answer-key .error{color:#b00020;font-weight:bold}
.answer-key .nondiff,.answer-key .skip{color:#9a6700;font-weight:bold}
.answer-key .note{color:#5b6b7f;font-style:italic}
.answer-key .picture{overflow:auto;border:1px solid #dde3ea;padding:4px;max-height:90vh}
.answer-key details pre{white-space:pre-wrap}
"""

_TEMPLATE = r"""
{%- macro num(s, full=True) -%}
{%- if s is none -%}<span class="note">—</span>
{%- elif s.blank -%}<span class="blank" title="fill in">______</span>
{%- else -%}<span class="num{{ ' deriv' if s.derivative }}">{{ s.compact }}</span>
{%- if full and not s.is_scalar and s.full != s.compact %}<details><summary>every element</summary><pre>{{ s.full }}</pre></details>{% endif -%}
{%- endif -%}
{%- endmacro -%}
<section class="answer-key" id="{{ anchor }}">
<h{{ h }}>Answer key: {{ ex.case }}{% if ex.title %} — {{ ex.title }}{% endif %}</h{{ h }}>
{% if ex.blank %}<p><strong>Exercise sheet:</strong> fill in the blanks.</p>{% endif %}
{% if ex.description %}<p>{{ ex.description }}</p>{% endif %}
<p class="note">dtype {{ ex.dtype }} · inputs {{ ex.inputs|join(", ") }}{% if ex.constants %} · constants {{ ex.constants|join(", ") }}{% endif %} · output {{ ex.output }}{% if point %} · at {{ point }}{% endif %}</p>

<h{{ h + 1 }}>{{ S.decomposition }}</h{{ h + 1 }}>
<ul>{% for n, e in ex.steps %}<li><code>{{ n }} = {{ e }}</code></li>{% endfor %}</ul>
<table><tr><th>node</th><th>primitive</th><th>as an operation</th><th>from the text</th></tr>
{% for r in ex.forward if r.kind in ("step", "inner") %}<tr><td><code>{{ r.name }}</code></td><td>{{ r.op }}</td><td><code>{{ r.expression.split(" = ", 1)[1] }}</code></td><td><code>{{ r.source }}</code></td></tr>
{% endfor %}</table>

<h{{ h + 1 }}>{{ S.forward }}</h{{ h + 1 }}>
<table><tr><th>step</th><th>expression</th><th>shape</th><th>value</th></tr>
{% for r in ex.forward %}<tr><td><code>{{ r.name }}</code></td><td>{% if r.kind in ("step", "inner") %}<code>{{ r.expression }}</code>{% else %}{{ r.kind }}{% endif %}</td><td>{{ r.value.shape_text }}</td><td>{{ num(r.value) }}</td></tr>
{% endfor %}</table>

<h{{ h + 1 }}>{{ S.backward }}</h{{ h + 1 }}>
<p>Start: <code>{{ ex.backward_seed }}</code>.</p>
<table><tr><th>node</th><th>upstream ∂{{ ex.output }}/∂node</th><th>to</th><th>local derivative</th><th>its value</th><th></th><th>contribution = upstream × local</th></tr>
{% for row in ex.backward %}{% for t in row.terms %}<tr>{% if loop.first %}<td rowspan="{{ row.terms|length }}"><code>{{ row.expression }}</code></td><td rowspan="{{ row.terms|length }}">{{ num(row.upstream) }}</td>{% endif %}<td><code>{{ t.arg_name }}</code></td><td><code>{{ t.formula }}</code></td><td>{{ num(t.local) }}</td><td>{{ W.product_symbol(t) }}</td><td>{{ num(t.contribution) }}</td></tr>
{% endfor %}{% endfor %}</table>
{% if ex.path_sums %}<p>Where a value feeds several nodes, its gradient is the sum over the paths:</p><ul>
{% for ps in ex.path_sums %}<li><code>{{ W.path_sum_symbolic(ps) }}</code><br><code class="{{ 'deriv' if not ex.blank }}">{{ W.path_sum_numbers(ps) }}</code></li>
{% endfor %}</ul>{% endif %}
<table><tr><th>gradient</th><th>value</th></tr>
{% for n, g in ex.gradients.items() %}<tr><td><code>{{ W.partial(ex.output, n) }}</code></td><td>{{ num(g) }}</td></tr>{% endfor %}</table>

<h{{ h + 1 }}>{{ S.jacobian }}</h{{ h + 1 }}>
{% for ch in ex.chains %}<p><strong><code>{{ W.chain_symbolic(ch) }}</code></strong></p>
<table><tr><th>Jacobian</th><th>shape</th><th>entries</th></tr>
{% for f in ch.factors %}<tr><td><code>{{ W.jacobian_name(f.of, f.wrt) }}</code></td><td>{{ f.rows }}×{{ f.cols }}</td><td>{{ num(f.matrix) }}</td></tr>{% endfor %}
<tr><td>product</td><td></td><td>{{ num(ch.product) }}</td></tr>
<tr><td>full <code>{{ W.jacobian_name(ch.output, ch.input) }}</code> (engine)</td><td></td><td>{{ num(ch.full) }}</td></tr></table>
<p class="{{ 'pass' if ch.agree else 'fail' }}">Product and full Jacobian {{ "agree" if ch.agree else "DIFFER" }} (max difference {{ W.route_error(ch.max_abs_diff) }}).</p>
{% endfor %}{% if ex.chain_note %}<p class="note">{{ ex.chain_note }}</p>{% endif %}

<h{{ h + 1 }}>{{ S.closed }}</h{{ h + 1 }}>
{% if ex.closed_form.rows %}<p><code>{{ ex.output }} = {{ ex.closed_form.function_text }}</code> &nbsp; <span class="note">LaTeX: <code>{{ ex.closed_form.function_latex }}</code></span></p>
<table><tr><th>derivative</th><th>simplified</th><th>LaTeX</th><th>at the point</th><th>chain rule</th><th>difference</th></tr>
{% for r in ex.closed_form.rows %}<tr><td><code>{{ W.partial(ex.output, r.input) }}</code></td><td>{% if ex.blank %}<span class="blank">______</span>{% else %}<code class="deriv">{{ r.text }}</code>{% endif %}</td><td>{% if ex.blank %}<span class="blank">______</span>{% else %}<code>{{ r.latex }}</code>{% endif %}</td><td>{{ num(r.value) }}</td><td>{{ num(r.chain_rule) }}</td><td>{{ W.route_error(r.abs_diff) }}</td></tr>{% endfor %}</table>
{% else %}<p class="note">{{ ex.closed_form.note }}</p>{% endif %}

<h{{ h + 1 }}>{{ S.routes }}</h{{ h + 1 }}>
{% if ex.routes %}<table><tr><th>dtype</th><th>input</th><th>check</th><th>status</th><th>max abs err</th><th>max rel err</th><th>FD err est</th><th>actual</th><th>expected</th></tr>
{% for r in ex.routes %}<tr><td>{{ r.dtype }}</td><td><code>{{ r.input }}</code></td><td>{{ W.route_label(r) }}</td><td class="{{ r.status }}">{{ r.status }}</td><td>{{ W.route_error(r.max_abs_err) }}</td><td>{{ W.route_error(r.max_rel_err) }}</td><td>{{ W.route_error(r.fd_err_est) }}</td><td>{{ num(r.actual) }}</td><td>{{ num(r.expected) }}</td></tr>
{% endfor %}</table>{% else %}<p class="note">{{ ex.routes_note }}</p>{% endif %}

<h{{ h + 1 }}>{{ S.claims }}</h{{ h + 1 }}>
{% if ex.claims %}<table><tr><th>derivative</th><th>claim</th><th>verdict</th><th>where and by how much</th></tr>
{% for g in ex.claims %}<tr><td><code>{{ W.partial(ex.output, g.input) }}</code></td><td>{% if ex.blank %}<span class="blank">______</span>{% else %}<code>{{ g.claim }}</code>{% endif %}</td><td class="{{ g.verdict }}">{{ g.verdict }}</td><td>{{ W.claim_where(g) }}</td></tr>
{% endfor %}</table>{% else %}<p class="note">The case claims no derivatives.</p>{% endif %}

<h{{ h + 1 }}>{{ S.graph }}</h{{ h + 1 }}>
<div class="picture">{{ graph_svg }}</div>

<h{{ h + 1 }}>{{ S.stepsize }}</h{{ h + 1 }}>
{% if ex.stepsize %}<p>|central difference − chain rule| for ∂{{ ex.output }}/∂{{ ex.stepsize.input }}{{ ex.stepsize.index }}; step used h = {{ "%.3g"|format(ex.stepsize.step_used) }}, ε<sup>1/3</sup> = {{ "%.3g"|format(ex.stepsize.eps_cube_root) }}.</p>
{% if plot_svg %}<div class="picture">{{ plot_svg }}</div>{% endif %}
{% else %}<p class="note">{{ ex.stepsize_note or "no differentiable input" }}</p>{% endif %}
</section>
"""

_PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Answer key: {{ ex.case }}{{ " (exercise sheet)" if ex.blank }}</title>
<style>{{ css }}</style></head>
<body>
{{ body }}
</body></html>
"""

_BOOK = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>{{ css }} body{margin:1em 2em} .answer-key{margin-bottom:3em}</style></head>
<body>
<h1>{{ title }}</h1>
<p class="note">{{ note }}</p>
<nav><ul>{% for name, a in contents %}<li><a href="#{{ a }}">{{ name }}</a></li>{% endfor %}</ul></nav>
{% for section in sections %}{{ section }}
{% endfor %}
</body></html>
"""
_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=False)
_FRAGMENT = _ENV.from_string(_TEMPLATE)
_DOCUMENT = _ENV.from_string(_PAGE)
_BOOK_DOCUMENT = _ENV.from_string(_BOOK)


def anchor(case: str) -> str:
    """The id of a case's answer-key section (what the run report links to with ``#``)."""
    from ..report.results import unique_safe_name  # the report's own rule: one id per name

    return "answer-key-" + unique_safe_name(case)


def html_fragment(ex: Explanation, *, heading_level: int = 2, pictures: bool = True) -> str:
    """The answer key as one ``<section id="answer-key-CASE">`` (for embedding in a report).

    The page that embeds it should include :data:`CSS` once in its ``<style>``.
    """
    return _FRAGMENT.render(
        ex=ex, h=heading_level, anchor=anchor(ex.case), S=wording.SECTIONS, W=wording,
        point=wording.point_text(ex),
        graph_svg=Markup(graph_svg.render_svg(ex)) if pictures else "",
        plot_svg=Markup(stepsize.plot_svg(ex.stepsize)) if pictures and ex.stepsize else "",
    )


def render_html(ex: Explanation, *, pictures: bool = True) -> str:
    """The answer key as a standalone HTML page."""
    body = Markup(html_fragment(ex, heading_level=1, pictures=pictures))
    return _DOCUMENT.render(ex=ex, csp=CSP, css=Markup(CSS), body=body)


def render_book(sections: list[tuple[str, str]], *, title: str, note: str = "") -> str:
    """Many answer keys in one standalone page: ``sections`` are (case name, fragment HTML)
    pairs from :func:`html_fragment`; a table of contents links to each."""
    return _BOOK_DOCUMENT.render(
        title=title, note=note, csp=CSP, css=Markup(CSS),
        contents=[(name, anchor(name)) for name, _ in sections],
        sections=[Markup(fragment) for _, fragment in sections],
    )
