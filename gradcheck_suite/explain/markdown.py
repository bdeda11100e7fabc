"""The Markdown renderer: the answer key for notes (GitHub-flavoured tables).

Pictures are inline SVG (an HTML block), which most Markdown viewers show; full
arrays sit in ``<details>`` where the compact form leaves elements out; formulas are
also given as ``$$…$$`` LaTeX, which GitHub renders.  Every text from the case is
escaped for table cells; labels come from :mod:`.wording` in the page's language.
"""
from __future__ import annotations

from html import escape

from . import graph_svg, stepsize, wording
from .model import BLANK, Explanation, Shown

__all__ = ["render_markdown"]

_MD_BLANK = "\\_" * len(BLANK)


def _cell(text: str) -> str:
    return escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ").replace("*", "\\*") \
        .replace("_", "\\_").replace("`", "\\`")


def _code(text: str) -> str:
    text = str(text).replace("\n", " ")
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def _num(s: Shown | None) -> str:
    if s is None:
        return "—"
    if s.blank:
        return _MD_BLANK
    return _code(s.compact)


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _details(label: str, s: Shown) -> list[str]:
    if s.blank or s.is_scalar or not (s.elided or s.grid is not None):
        return []
    return [f"<details><summary>{escape(label)}</summary>", "", "```", s.full, "```", "", "</details>", ""]


def _decomposition(ex, L):
    out = [f"- {_code(f'{n} = {e}')}" for n, e in ex.steps] + [""]
    out += _table([L["node"], L["primitive"], L["as_operation"], L["from_text"]],
                  [[_code(r.name), _code(r.op), _code(r.expression.split(' = ', 1)[1]), _code(r.source)]
                   for r in ex.forward if r.kind in ("step", "inner")]) + [""]
    if ex.inner_nodes:
        out += [f"*{_cell(L['inner_note'].format(names=', '.join(ex.inner_nodes)))}*", ""]
    return out


def _forward(ex, L):
    out = _table([L["step"], L["expression"], L["shape"], L["value"]],
                 [[_code(r.name), _code(r.expression) if r.kind in ("step", "inner") else wording.kind_label(ex, r.kind),
                   r.value.shape_text if r.value.shape else L["scalar"], _num(r.value)] for r in ex.forward]) + [""]
    for r in ex.forward:
        out += _details(f"{r.name}: {L['entries']}", r.value)
    return out


def _backward(ex, L):
    seed = wording.seed_name(ex)
    out = [f"{L['start']}: {_code(ex.backward_seed)}", ""]
    rows = []
    for row in ex.backward:
        for term in row.terms:
            local = term.formula + (f" — {term.taught}" if term.taught and term.taught not in term.formula else "")
            if term.matrix:
                local += f" — δ{term.arg_name} ← {term.matrix}"
            rows.append([_code(row.expression), _num(row.upstream), _code(term.arg_name), _code(local),
                         _num(term.local) if term.local is not None else _cell(L["full_jacobians"]),
                         wording.product_symbol(term), _num(term.contribution)])
    out += _table([L["node"], f"{L['upstream']} {_code(wording.partial(seed, L['node_word']))}", L["to"], L["local"],
                   L["its_value"], "", L["contribution"]], rows) + [""]
    if ex.path_sums:
        out += [L["paths_intro"], ""]
        for ps in ex.path_sums:
            out += [f"- {_code(wording.path_sum_symbolic(ps))}", f"  {_code(wording.path_sum_numbers(ps))}"]
        out += [""]
    out += _table([L["gradient"], L["value"]], [[_code(wording.partial(seed, n)), _num(g)]
                                                 for n, g in ex.gradients.items()]) + [""]
    return out


def _symbolic(ex, L):
    sym = ex.symbolic
    out = [f"- {_code(t)}" for _, _, t in sym.locals] + ([""] if sym.locals else [])
    for r in sym.rows:
        if r.note:
            out += [f"*{_code(wording.partial(r.output, r.input))}: {_cell(r.note)}*", ""]
            continue
        out += [f"{_code(wording.partial(r.output, r.input) + ' = ' + r.chain)}", "",
                f"- {L['composed']}: {_code('= ' + r.composed)}",
                f"- {L['in_forward_names']}: {_code('= ' + r.simplified)}", ""]
        if not ex.blank and r.taught_latex:
            out += [f"$$\\frac{{\\partial {r.output}}}{{\\partial {r.input}}} = {r.taught_latex} = {r.simplified_latex}$$",
                    ""]
    if sym.matrix:
        out += [f"**{L['matrix']}** ({L['start']}: {_code('δ' + ex.output + ' = ' + wording.partial(wording.seed_name(ex), ex.output))})", ""]
        out += _table([L["gradient"], L["shape"]], [[_code(t), s] for t, s in sym.matrix]) + [""]
    if sym.note and not sym.rows and not sym.matrix:
        out += [f"*{_cell(sym.note)}*", ""]
    return out


def _jacobian(ex, L):
    out = []
    for ch in ex.chains:
        rows = [[_code(wording.jacobian_name(f.of, f.wrt) + (f" = {f.formula}" if f.formula else "")),
                 f"{f.rows}×{f.cols}", _num(f.matrix)] for f in ch.factors]
        rows.append([L["product"], "", _num(ch.product)])
        if not ex.blank:
            rows.append([f"{L['full_jacobian']} {_code(wording.jacobian_name(ch.output, ch.input))}", "", _num(ch.full)])
        out += [f"**{_code(wording.chain_symbolic(ch))}**", ""] + _table([L["jac"], L["shape"], L["entries"]], rows)
        if not ex.blank:
            out += ["", f"{L['agree'] if ch.agree else L['differ']} ({L['max_diff']} {wording.route_error(ch.max_abs_diff)})."]
        out += [""]
    for note in (ex.flatten_note, wording.chain_note(ex)):
        if note:
            out += [f"*{_cell(note)}*", ""]
    return out


def _closed(ex, L):
    cf = ex.closed_form
    if not cf.rows:
        return [f"*{_cell(cf.note)}*", ""]
    out = [f"{_code(ex.output + ' = ' + cf.function_text)}", "", f"$${cf.function_latex}$$", ""]
    for r in cf.rows:
        text = BLANK if ex.blank else r.text
        out += [f"- {_code(wording.partial(ex.output, r.input) + ' = ' + text)}" + ("" if ex.blank else f" — $${r.latex}$$"),
                f"  {L['at_point']} {_num(r.value)}; {L['chain_rule']} {_num(r.chain_rule)}"
                + ("" if ex.blank else f"; {L['difference']} {wording.route_error(r.abs_diff)}")]
    return out + [""]


def _routes(ex, L):
    if not ex.routes:
        return [f"*{_cell(ex.routes_note)}*", ""]
    return _table([L["dtype"], L["input"], L["check"], L["status"], L["max_abs"], L["max_rel"], L["fd_est"],
                   L["element"], L["actual"], L["expected"]],
                  [[r.dtype, _code(r.input), wording.route_label(r, ex.lang), f"**{r.status}**",
                    wording.route_error(r.max_abs_err), wording.route_error(r.max_rel_err),
                    wording.route_error(r.fd_err_est), _code(r.element or "—"), _num(r.actual), _num(r.expected)]
                   for r in ex.routes]) + ["", f"*{_cell(L['routes_element'])}*", ""]


def _claims(ex, L):
    if not ex.claims:
        return [f"*{_cell(L['no_claims'])}*", ""]
    return _table([L["derivative"], L["claim"], L["verdict"], L["where"]],
                  [[_code(wording.partial(ex.output, g.input)), _code(g.claim), f"**{g.verdict}**",
                    _cell(wording.claim_where(g))] for g in ex.claims]) + [""]


def _hessian(ex, L):
    from .hessian import blocks

    out: list[str] = []
    for kind, *body in blocks(ex):
        if kind == "table":
            out += _table([_cell(h) for h in body[0]],
                          [[_code(c) if isinstance(c, str) else _num(c) for c in row] for row in body[1]]) + [""]
        elif kind == "value":
            out += [f"{_cell(body[0])} {_num(body[1])}", ""] + _details(body[0], body[1])
        elif kind == "codes":
            out += [f"- {_code(line)}" for line in body[0]] + [""]
        else:
            out += [{"heading": "**{}**", "note": "*{}*"}.get(kind, "{}").format(_cell(body[0])), ""]
    return out


def render_markdown(ex: Explanation, *, pictures: bool = True) -> str:
    """The answer key as Markdown (``pictures`` adds the graph and the step-size plot)."""
    L = wording.labels(ex.lang)
    out: list[str] = [f"# {_cell(wording.heading(ex))}", ""]
    if ex.blank:
        out += [f"*{_cell(L['sheet_intro'])}*", ""]
    if ex.description:
        out += [_cell(ex.description), ""]
    meta = f"{L['dtype']} `{ex.dtype}` · {L['inputs']} {', '.join(_code(n) for n in ex.inputs)}"
    if ex.constants:
        meta += f" · {L['constants']} {', '.join(_code(n) for n in ex.constants)}"
    if ex.variant:
        meta += f" · {L['variant']} {_code(ex.variant)}"
    out += [meta + f" · {L['output']} {_code(ex.output)}", ""]
    if wording.point_text(ex):
        out += [f"{L['at']} {_code(wording.point_text(ex))}.", ""]
    parts = {"decomposition": _decomposition, "forward": _forward, "backward": _backward, "symbolic": _symbolic,
             "jacobian": _jacobian, "closed": _closed, "routes": _routes, "claims": _claims, "hessian": _hessian}
    for key, title in wording.sections(ex):
        out += [f"## {_cell(title)}", ""]
        if key in parts:
            out += parts[key](ex, L)
        elif key == "graph" and pictures:
            out += [graph_svg.render_svg(ex), ""]
        elif key == "stepsize":
            s = ex.stepsize
            if s is None:
                out += [f"*{_cell(ex.stepsize_note or 'no differentiable input')}*", ""]
            else:
                out += [_cell(L["stepsize_text"].format(what=f"∂{ex.output}/∂{s.input}{s.index}",
                                                        h=f"{s.step_used:.3g}", e=f"{s.eps_cube_root:.3g}")), ""]
                if pictures:
                    out += [stepsize.plot_svg(s), ""]
    return "\n".join(out)
