"""The HTML renderer: a standalone page, a fragment for the run report, a notebook cell.

Self-contained (inline CSS and SVG, no script, no request to any network), with a
Content-Security-Policy meta tag; every text from a case is escaped by jinja2's
autoescaping.  Formulas are MathML, which browsers render natively (no script, no web
font, so the strict CSP stays).  Small matrices are grids; "every element" is offered
only where the compact form leaves elements out.  A print style sheet keeps a seed
case's exercise sheet on at most two pages.  Headings and labels come from
:mod:`.wording` in the page's language, with a CJK font stack.
"""
from __future__ import annotations

import jinja2
from markupsafe import Markup, escape

from . import graph_svg, stepsize, wording
from .model import Explanation, Shown

__all__ = ["render_html", "render_book", "html_fragment", "notebook_html", "anchor", "CSS", "CSP"]

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

CSS = """
.answer-key{font-family:%(fonts)s;color:#1b2a41;max-width:1200px}
.answer-key h1,.answer-key h2,.answer-key h3{border-bottom:1px solid #dde3ea;padding-bottom:.2em}
.answer-key table{border-collapse:collapse;margin:.5em 0 1em}
.answer-key th,.answer-key td{border:1px solid #dde3ea;padding:.25em .6em;text-align:left;vertical-align:top}
.answer-key th{background:#f3f6fa}
.answer-key:lang(zh-Hans) th{white-space:nowrap}
.answer-key code,.answer-key .num{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.92em}
.answer-key table.grid{margin:0;font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.85em}
.answer-key table.grid td{border:none;border-left:1px solid #c5ced9;padding:0 .4em;text-align:right}
.answer-key table.grid{border-left:2px solid #1b2a41;border-right:2px solid #1b2a41}
.answer-key .deriv{color:#8e2a0b}
.answer-key .blank{display:inline-block;min-width:5em;border-bottom:1px solid #1b2a41;color:transparent}
.answer-key .right,.answer-key .pass{color:#1e7e34;font-weight:bold}
.answer-key .wrong,.answer-key .fail,.answer-key .error{color:#b00020;font-weight:bold}
.answer-key .nondiff,.answer-key .skip{color:#9a6700;font-weight:bold}
.answer-key .note{color:#5b6b7f;font-style:italic}
.answer-key .picture{overflow:auto;border:1px solid #dde3ea;padding:4px;max-height:90vh}
.answer-key details pre{white-space:pre-wrap}
.answer-key math{font-size:1.1em}
.answer-key .steps math{display:inline}
@media print{
 @page{size:A4;margin:12mm}
 body{margin:0}
 .answer-key{font-size:9.5pt;max-width:none}
 .answer-key h1{font-size:14pt;margin:.2em 0}
 .answer-key h2,.answer-key h3{font-size:11pt;margin:.5em 0 .2em;break-after:avoid}
 .answer-key table{margin:.2em 0 .4em;break-inside:avoid}
 .answer-key th,.answer-key td{padding:.1em .4em}
 .answer-key details{display:none}
 .answer-key .picture{border:none;max-height:none;overflow:visible;break-inside:avoid}
 .answer-key .picture svg{max-width:100%%;height:auto;max-height:95mm}
 .answer-key .deriv{color:#000}
}
""" % {"fonts": wording.CJK_FONT_STACK}

_TEMPLATE = r"""
{%- macro blank() -%}<span class="blank" title="fill in">______</span>{%- endmacro -%}
<section class="answer-key" id="{{ anchor }}" lang="{{ 'zh-Hans' if ex.lang == 'zh' else 'en' }}">
<h{{ h }}>{{ W.heading(ex) }}</h{{ h }}>
{% if ex.blank %}<p><strong>{{ L.sheet_intro }}</strong></p>{% endif %}
{% if ex.description %}<p>{{ ex.description }}</p>{% endif %}
<p class="note">{{ L.dtype }} {{ ex.dtype }} · {{ L.inputs }} {{ ex.inputs|join(", ") }}{% if ex.constants %} · {{ L.constants }} {{ ex.constants|join(", ") }}{% endif %} · {{ L.output }} {{ ex.output }}{% if ex.variant %} · {{ L.variant }} {{ ex.variant }}{% endif %}{% if point %} · {{ L.at }} {{ point }}{% endif %}</p>
{% for key, title in sections %}
<h{{ h + 1 }}>{{ title }}</h{{ h + 1 }}>
{%- if key == "decomposition" %}
<ul>{% for n, e in ex.steps %}<li><code>{{ n }} = {{ e }}</code></li>{% endfor %}</ul>
<table><tr><th>{{ L.node }}</th><th>{{ L.primitive }}</th><th>{{ L.as_operation }}</th><th>{{ L.from_text }}</th></tr>
{% for r in ex.forward if r.kind in ("step", "inner") %}<tr><td><code>{{ r.name }}</code></td><td>{{ r.op }}</td><td><code>{{ r.expression.split(" = ", 1)[1] }}</code></td><td><code>{{ r.source }}</code></td></tr>
{% endfor %}</table>
{% if ex.inner_nodes %}<p class="note">{{ L.inner_note.format(names=ex.inner_nodes|join(", ")) }}</p>{% endif %}
{%- elif key == "forward" %}
<table><tr><th>{{ L.step }}</th><th>{{ L.expression }}</th><th>{{ L.shape }}</th><th>{{ L.value }}</th></tr>
{% for r in ex.forward %}<tr><td><code>{{ r.name }}</code></td><td>{% if r.kind in ("step", "inner") %}<code>{{ r.expression }}</code>{% else %}{{ W.kind_label(ex, r.kind) }}{% endif %}</td><td>{{ r.value.shape_text if r.value.shape else L.scalar }}</td><td>{{ r.value|num }}</td></tr>
{% endfor %}</table>
{%- elif key == "backward" %}
<p>{{ L.start }}: <code>{{ ex.backward_seed }}</code></p>
<table><tr><th>{{ L.node }}</th><th>{{ L.upstream }} <code>{{ W.partial(seed, L.node_word) }}</code></th><th>{{ L.to }}</th><th>{{ L.local }}</th><th>{{ L.its_value }}</th><th></th><th>{{ L.contribution }}</th></tr>
{% for row in ex.backward %}{% for t in row.terms %}<tr>{% if loop.first %}<td rowspan="{{ row.terms|length }}"><code>{{ row.expression }}</code></td><td rowspan="{{ row.terms|length }}">{{ row.upstream|num }}</td>{% endif %}<td><code>{{ t.arg_name }}</code></td><td><code>{{ t.formula }}</code>{% if t.taught and t.taught not in t.formula %}<br><span class="note">{{ L.local_forward }}:</span> <code>{{ t.taught }}</code>{% endif %}{% if t.matrix %}<br><code>δ{{ t.arg_name }} ← {{ t.matrix }}</code>{% endif %}</td><td>{% if t.local is none %}<span class="note">{{ L.full_jacobians }}</span>{% else %}{{ t.local|num }}{% endif %}</td><td>{{ W.product_symbol(t) }}</td><td>{{ t.contribution|num }}</td></tr>
{% endfor %}{% endfor %}</table>
{% if ex.path_sums %}<p>{{ L.paths_intro }}</p><ul>
{% for ps in ex.path_sums %}<li><code>{{ W.path_sum_symbolic(ps) }}</code><br><code class="{{ 'deriv' if not ex.blank }}">{{ W.path_sum_numbers(ps) }}</code></li>
{% endfor %}</ul>{% endif %}
<table><tr><th>{{ L.gradient }}</th><th>{{ L.value }}</th></tr>
{% for n, g in ex.gradients.items() %}<tr><td><code>{{ W.partial(seed, n) }}</code></td><td>{{ g|num }}</td></tr>{% endfor %}</table>
{%- elif key == "symbolic" %}
{% if ex.symbolic.locals %}<ul class="steps">{% for n, a, t in ex.symbolic.locals %}<li><code>{{ t }}</code></li>{% endfor %}</ul>{% endif %}
{% for r in ex.symbolic.rows %}{% if r.note %}<p class="note"><code>{{ W.partial(r.output, r.input) }}</code>: {{ r.note }}</p>{% else %}
<p><code>{{ W.partial(r.output, r.input) }} = {{ r.chain }}</code><br>
<span class="note">{{ L.composed }}:</span> <code class="deriv">= {% if ex.blank %}{{ blank() }}{% else %}{{ r.composed }}{% endif %}</code><br>
<span class="note">{{ L.in_forward_names }}:</span> <code class="deriv">= {% if ex.blank %}{{ blank() }}{% else %}{{ r.simplified }}{% endif %}</code></p>
{% if r.mathml and not ex.blank %}{{ Markup(r.mathml) }}{% endif %}{% endif %}
{% endfor %}
{% if ex.symbolic.matrix %}<p><strong>{{ L.matrix }}</strong> ({{ L.start }}: <code>δ{{ ex.output }} = {{ W.partial(seed, ex.output) }}</code>)</p>
<table><tr><th>{{ L.gradient }}</th><th>{{ L.shape }}</th></tr>{% for t, s in ex.symbolic.matrix %}<tr><td><code>{{ t }}</code></td><td>{{ s }}</td></tr>{% endfor %}</table>
{% if ex.symbolic.matrix_note %}<p class="note">{{ ex.symbolic.matrix_note }}</p>{% endif %}{% endif %}
{% if ex.symbolic.note and not ex.symbolic.rows and not ex.symbolic.matrix %}<p class="note">{{ ex.symbolic.note }}</p>{% endif %}
{%- elif key == "jacobian" %}
{% for ch in ex.chains %}<p><strong><code>{{ W.chain_symbolic(ch) }}</code></strong></p>
<table><tr><th>{{ L.jac }}</th><th>{{ L.shape }}</th><th>{{ L.entries }}</th></tr>
{% for f in ch.factors %}<tr><td><code>{{ W.jacobian_name(f.of, f.wrt) }}</code>{% if f.formula %} = <code class="deriv">{{ f.formula }}</code>{% endif %}</td><td>{{ f.rows }}×{{ f.cols }}</td><td>{{ f.matrix|num }}</td></tr>{% endfor %}
<tr><td>{{ L.product }}</td><td></td><td>{{ ch.product|num }}</td></tr>
{% if not ex.blank %}<tr><td>{{ L.full_jacobian }} <code>{{ W.jacobian_name(ch.output, ch.input) }}</code></td><td></td><td>{{ ch.full|num }}</td></tr>{% endif %}</table>
{% if not ex.blank %}<p class="{{ 'pass' if ch.agree else 'fail' }}">{{ L.agree if ch.agree else L.differ }} ({{ L.max_diff }} {{ ch.max_abs_diff|error }}).</p>{% endif %}
{% endfor %}{% if ex.flatten_note %}<p class="note">{{ ex.flatten_note }}</p>{% endif %}{% if ex.chain_note %}<p class="note">{{ W.chain_note(ex) }}</p>{% endif %}
{%- elif key == "closed" %}
{% if ex.closed_form.rows %}<p>{% if ex.closed_form.function_mathml %}<math display="block"><mrow><mi>{{ ex.output }}</mi><mo>=</mo>{{ Markup(ex.closed_form.function_mathml) }}</mrow></math>{% else %}<code>{{ ex.output }} = {{ ex.closed_form.function_text }}</code>{% endif %}</p>
<table><tr><th>{{ L.derivative }}</th><th>{{ L.simplified }}</th><th>{{ L.at_point }}</th><th>{{ L.chain_rule }}</th>{% if not ex.blank %}<th>{{ L.difference }}</th>{% endif %}</tr>
{% for r in ex.closed_form.rows %}<tr><td><code>{{ W.partial(ex.output, r.input) }}</code></td><td>{% if ex.blank %}{{ blank() }}{% elif r.mathml %}<math>{{ Markup(r.mathml) }}</math>{% else %}<code class="deriv">{{ r.text }}</code>{% endif %}</td><td>{{ r.value|num }}</td><td>{{ r.chain_rule|num }}</td>{% if not ex.blank %}<td>{{ r.abs_diff|error }}</td>{% endif %}</tr>{% endfor %}</table>
{% else %}<p class="note">{{ ex.closed_form.note }}</p>{% endif %}
{%- elif key == "routes" %}
{% if ex.routes %}<table><tr><th>{{ L.dtype }}</th><th>{{ L.input }}</th><th>{{ L.check }}</th><th>{{ L.status }}</th><th>{{ L.max_abs }}</th><th>{{ L.max_rel }}</th><th>{{ L.fd_est }}</th><th>{{ L.element }}</th><th>{{ L.actual }}</th><th>{{ L.expected }}</th></tr>
{% for r in ex.routes %}<tr><td>{{ r.dtype }}</td><td><code>{{ r.input }}</code></td><td>{{ W.route_label(r, ex.lang) }}</td><td class="{{ r.status }}">{{ r.status }}</td><td>{{ r.max_abs_err|error }}</td><td>{{ r.max_rel_err|error }}</td><td>{{ r.fd_err_est|error }}</td><td><code>{{ r.element or "—" }}</code></td><td>{{ r.actual|num }}</td><td>{{ r.expected|num }}</td></tr>
{% endfor %}</table><p class="note">{{ L.routes_element }}</p>{% else %}<p class="note">{{ ex.routes_note }}</p>{% endif %}
{%- elif key == "claims" %}
{% if ex.claims %}<table><tr><th>{{ L.derivative }}</th><th>{{ L.claim }}</th><th>{{ L.verdict }}</th><th>{{ L.where }}</th></tr>
{% for g in ex.claims %}<tr><td><code>{{ W.partial(ex.output, g.input) }}</code></td><td><code>{{ g.claim }}</code></td><td class="{{ g.verdict }}">{{ g.verdict }}</td><td>{{ W.claim_where(g) }}</td></tr>
{% endfor %}</table>{% else %}<p class="note">{{ L.no_claims }}</p>{% endif %}
{%- elif key == "hessian" %}
{% for b in hessian_blocks %}{% if b[0] == "table" %}<table><tr>{% for head in b[1] %}<th>{{ head }}</th>{% endfor %}</tr>
{% for r in b[2] %}<tr>{% for c in r %}<td>{% if c is string %}<code>{{ c }}</code>{% else %}{{ c|num }}{% endif %}</td>{% endfor %}</tr>
{% endfor %}</table>
{% elif b[0] == "codes" %}<ul>{% for line in b[1] %}<li><code class="{{ 'deriv' if not ex.blank }}">{{ line }}</code></li>{% endfor %}</ul>
{% elif b[0] == "value" %}<p>{{ b[1] }}</p>{{ b[2]|num }}
{% elif b[0] == "heading" %}<p><strong>{{ b[1] }}</strong></p>
{% elif b[0] == "note" %}<p class="note">{{ b[1] }}</p>
{% else %}<p>{{ b[1] }}</p>
{% endif %}{% endfor %}
{%- elif key == "graph" %}
<div class="picture">{{ graph_svg }}</div>
{%- elif key == "stepsize" %}
{% if ex.stepsize %}<p>{{ L.stepsize_text.format(what="∂" ~ ex.output ~ "/∂" ~ ex.stepsize.input ~ ex.stepsize.index, h="%.3g"|format(ex.stepsize.step_used), e="%.3g"|format(ex.stepsize.eps_cube_root)) }}</p>
{% if plot_svg %}<div class="picture">{{ plot_svg }}</div>{% endif %}
{% else %}<p class="note">{{ ex.stepsize_note or "no differentiable input" }}</p>{% endif %}
{%- endif %}
{% endfor %}
</section>
"""

_PAGE = r"""<!DOCTYPE html>
<html lang="{{ 'zh-Hans' if ex.lang == 'zh' else 'en' }}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ W.heading(ex) }}</title>
<style>{{ css }} body{margin:1em 2em}</style></head>
<body>
{{ body }}
</body></html>
"""

_BOOK = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>{{ css }} body{margin:1em 2em;font-family:{{ fonts }};color:#1b2a41} .answer-key{margin-bottom:3em}</style></head>
<body>
<h1>{{ title }}</h1>
<p class="note">{{ note }}</p>
<nav><ul>{% for name, a in contents %}<li><a href="#{{ a }}">{{ name }}</a></li>{% endfor %}</ul></nav>
{% for section in sections %}{{ section }}
{% endfor %}
</body></html>
"""
@jinja2.pass_context
def _num(context, s: Shown | None) -> Markup:
    """The cell of one shown value (the ``num`` filter): a span, a grid for a small matrix, the blank
    on the sheet, and "every element" folded under an array whose compact form leaves some out.
    A filter in Python rather than a template macro: it is applied to every value on the page (tens
    of thousands in a library's key), where a macro call cost ten times as much."""
    if s is None:
        return _NONE
    if s.blank:
        return _BLANK
    deriv = " deriv" if s.derivative else ""
    if s.grid is not None:
        rows = "".join("<tr>" + "".join(f"<td>{_text(c)}</td>" for c in row) + "</tr>" for row in s.grid)
        return Markup(f'<table class="grid num{deriv}">{rows}</table>')
    cell = f'<span class="num{deriv}">{_text(s.compact)}</span>'
    if s.elided:
        cell += (f"<details><summary>{escape(context['L']['entries'])}</summary><pre>{_text(s.full)}</pre>"
                 "</details>")
    return Markup(cell)


def _text(text: str) -> str:
    """``text`` escaped as markupsafe escapes it, as a plain str: a number's text (nearly every cell)
    has nothing to escape, and a Markup object per cell was a third of the filter's time."""
    if "&" in text or "<" in text or ">" in text or "'" in text or '"' in text:
        return str(escape(text))
    return text


_NONE = Markup('<span class="note">—</span>')
_BLANK = Markup('<span class="blank" title="fill in">______</span>')


_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=False)
_ENV.filters.update(num=_num, error=wording.route_error)
_FRAGMENT = _ENV.from_string(_TEMPLATE)
_DOCUMENT = _ENV.from_string(_PAGE)
_BOOK_DOCUMENT = _ENV.from_string(_BOOK)


def anchor(case: str) -> str:
    """The id of a case's answer-key section (what the run report links to with ``#``)."""
    from ..report.results import unique_safe_name  # the report's own rule: one id per name

    return "answer-key-" + unique_safe_name(case)


def html_fragment(ex: Explanation, *, heading_level: int = 2, pictures: bool = True) -> str:
    """The answer key as one ``<section id="answer-key-CASE">`` (for embedding in a report).

    The page that embeds it should include :data:`CSS` once in its ``<style>``.  MathML
    comes from sympy's presentation printer (its text is built from our own symbols).
    """
    return _FRAGMENT.render(
        ex=ex, h=heading_level, anchor=anchor(ex.case), W=wording, L=wording.labels(ex.lang),
        sections=wording.sections(ex), seed=wording.seed_name(ex), point=wording.point_text(ex),
        Markup=Markup,
        graph_svg=Markup(graph_svg.render_svg(ex)) if pictures else "",
        plot_svg=Markup(stepsize.plot_svg(ex.stepsize)) if pictures and ex.stepsize else "",
        hessian_blocks=_hessian_blocks(ex),
    )


def _hessian_blocks(ex: Explanation) -> list:
    from .hessian import blocks

    return blocks(ex) if ex.hessian is not None else []


def render_html(ex: Explanation, *, pictures: bool = True) -> str:
    """The answer key as a standalone HTML page."""
    body = Markup(html_fragment(ex, heading_level=1, pictures=pictures))
    return _DOCUMENT.render(ex=ex, csp=CSP, css=Markup(CSS), body=body, W=wording)


def notebook_html(ex: Explanation) -> str:
    """The answer key for a Jupyter cell: the fragment with its style (no page around it)."""
    return f"<style>{CSS}</style>\n" + html_fragment(ex, heading_level=2)


def render_book(sections: list[tuple[str, str]], *, title: str, note: str = "") -> str:
    """Many answer keys in one standalone page: ``sections`` are (case name, fragment HTML)
    pairs from :func:`html_fragment`; a table of contents links to each."""
    return _BOOK_DOCUMENT.render(
        title=title, note=note, csp=CSP, css=Markup(CSS), fonts=Markup(wording.CJK_FONT_STACK),
        contents=[(name, anchor(name)) for name, _ in sections],
        sections=[Markup(fragment) for _, fragment in sections],
    )
