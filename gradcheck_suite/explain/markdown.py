"""The Markdown renderer: the answer key for notes (GitHub-flavoured tables).

Pictures are inline SVG (an HTML block), which most Markdown viewers show; full
arrays sit in ``<details>``.  Every text from the case is escaped for table cells.
"""
from __future__ import annotations

from html import escape

from . import graph_svg, stepsize, wording
from .model import BLANK, Explanation, Shown

__all__ = ["render_markdown"]


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
        return "\\_\\_\\_\\_\\_\\_"
    return _code(s.compact)


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _details(label: str, s: Shown) -> list[str]:
    if s.blank or s.is_scalar or s.full == s.compact:
        return []
    return [f"<details><summary>{escape(label)}: every element</summary>", "", "```", s.full, "```", "",
            "</details>", ""]


def render_markdown(ex: Explanation, *, pictures: bool = True) -> str:
    """The answer key as Markdown (``pictures`` adds the graph and the step-size plot)."""
    L: list[str] = []
    head = f"# Answer key: {_cell(ex.case)}" + (f" — {_cell(ex.title)}" if ex.title else "")
    L += [head, ""]
    if ex.blank:
        L += ["*Exercise sheet: fill in the blanks (" + BLANK.replace("_", "\\_") + ").*", ""]
    if ex.description:
        L += [_cell(ex.description), ""]
    meta = f"dtype `{ex.dtype}` · inputs {', '.join(_code(n) for n in ex.inputs)}"
    if ex.constants:
        meta += f" · constants {', '.join(_code(n) for n in ex.constants)}"
    L += [meta + f" · output {_code(ex.output)}", ""]
    if wording.point_text(ex):
        L += [f"At {_code(wording.point_text(ex))}.", ""]

    L += [f"## {wording.SECTIONS['decomposition']}", ""]
    L += [f"- {_code(f'{n} = {e}')}" for n, e in ex.steps] + [""]
    L += _table(["node", "primitive", "as an operation", "from the text"],
                [[_code(r.name), _code(r.op), _code(r.expression.split(' = ', 1)[1]), _code(r.source)]
                 for r in ex.forward if r.kind in ("step", "inner")]) + [""]

    L += [f"## {wording.SECTIONS['forward']}", ""]
    L += _table(["step", "expression", "shape", "value"],
                [[_code(r.name), _code(r.expression) if r.kind in ("step", "inner") else r.kind, r.value.shape_text,
                  _num(r.value)] for r in ex.forward]) + [""]
    for r in ex.forward:
        L += _details(r.name, r.value)

    L += [f"## {wording.SECTIONS['backward']}", "", f"Start: {_code(ex.backward_seed)}.", ""]
    rows = []
    for row in ex.backward:
        for term in row.terms:
            rows.append([_code(row.expression), _num(row.upstream), _code(term.arg_name), _code(term.formula),
                         _num(term.local), wording.product_symbol(term), _num(term.contribution)])
    L += _table(["node", "upstream ∂" + _cell(ex.output) + "/∂node", "to", "local derivative", "its value", "",
                 "contribution (upstream × local)"], rows) + [""]
    if ex.path_sums:
        L += ["Where a value feeds several nodes, its gradient is the sum over the paths:", ""]
        for ps in ex.path_sums:
            numbers = wording.path_sum_numbers(ps).replace(BLANK, "______")
            L += [f"- {_code(wording.path_sum_symbolic(ps))}", f"  {_code(numbers)}"]
        L += [""]
    L += _table(["input", "gradient"], [[_code(wording.partial(ex.output, n)), _num(g)]
                                          for n, g in ex.gradients.items()]) + [""]

    L += [f"## {wording.SECTIONS['jacobian']}", ""]
    for ch in ex.chains:
        L += [f"**{_code(wording.chain_symbolic(ch))}**", ""]
        L += _table(["Jacobian", "shape", "entries"],
                    [[_code(wording.jacobian_name(f.of, f.wrt)), f"{f.rows}×{f.cols}", _num(f.matrix)]
                     for f in ch.factors]
                    + [["product", "", _num(ch.product)],
                       [f"full {_code(wording.jacobian_name(ch.output, ch.input))} (engine)", "", _num(ch.full)]])
        L += ["", f"Product and full Jacobian {'agree' if ch.agree else 'DIFFER'} "
                  f"(max difference {wording.route_error(ch.max_abs_diff)}).", ""]
    if ex.chain_note:
        L += [f"*{_cell(ex.chain_note)}*", ""]

    L += [f"## {wording.SECTIONS['closed']}", ""]
    cf = ex.closed_form
    if cf.rows:
        L += [f"{_code(ex.output + ' = ' + cf.function_text)}", "", f"$${cf.function_latex}$$", ""]
        for r in cf.rows:
            text = "______" if ex.blank else r.text
            L += [f"- {_code(wording.partial(ex.output, r.input) + ' = ' + text)}"
                  + ("" if ex.blank else f" — $${r.latex}$$"),
                  f"  at the point {_num(r.value)}; chain rule {_num(r.chain_rule)}; "
                  f"difference {wording.route_error(r.abs_diff)}"]
        L += [""]
    else:
        L += [f"*{_cell(cf.note)}*", ""]

    L += [f"## {wording.SECTIONS['routes']}", ""]
    if ex.routes:
        L += _table(["dtype", "input", "check", "status", "max abs err", "max rel err", "FD err est", "actual",
                     "expected"],
                    [[r.dtype, _code(r.input), wording.route_label(r), f"**{r.status}**",
                      wording.route_error(r.max_abs_err), wording.route_error(r.max_rel_err),
                      wording.route_error(r.fd_err_est), _num(r.actual), _num(r.expected)] for r in ex.routes])
        L += [""]
    else:
        L += [f"*{_cell(ex.routes_note)}*", ""]

    L += [f"## {wording.SECTIONS['claims']}", ""]
    if ex.claims:
        L += _table(["derivative", "claim", "verdict", "where and by how much"],
                    [[_code(wording.partial(ex.output, g.input)), _code(g.claim) if not ex.blank else "\\_" * 6,
                      f"**{g.verdict}**", _cell(wording.claim_where(g))] for g in ex.claims]) + [""]
    else:
        L += ["*The case claims no derivatives.*", ""]

    L += [f"## {wording.SECTIONS['graph']}", ""]
    if pictures:
        L += [graph_svg.render_svg(ex), ""]
    L += [f"## {wording.SECTIONS['stepsize']}", ""]
    s = ex.stepsize
    if s is not None:
        L += [f"|central difference − chain rule| for ∂{_cell(ex.output)}/∂{_cell(s.input)}{s.index}: step used "
              f"h = {s.step_used:.3g}, ε^(1/3) = {s.eps_cube_root:.3g}.", ""]
        if pictures:
            L += [stepsize.plot_svg(s), ""]
    else:
        L += [f"*{_cell(ex.stepsize_note or 'no differentiable input')}*", ""]
    return "\n".join(L)
