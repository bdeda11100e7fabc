"""The terminal renderer: the answer key as text, with colour where it helps (rich).

Derivative values are shown in one colour, blanks in another, verdicts in green/red.
Without colour (a file, a pipe) the same text is plain.  Small matrices print as grids.
The pictures (graph, step-size plot) are the HTML and Markdown renderers' job; the
terminal gets the numbers of the step-size sweep as a short table.  Every label comes
from :mod:`.wording` in the page's language.
"""
from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import wording
from .model import BLANK, Explanation, Shown

__all__ = ["render_text", "grid_text"]

_DERIV = "magenta"
_BLANK = "bold yellow"


def grid_text(s: Shown) -> str:
    """A small matrix as aligned rows: ``[ 0.6  -0.45]`` on one line per row."""
    if s.grid is None:
        return s.compact
    width = max(len(c) for row in s.grid for c in row)
    return "\n".join("      [" + "  ".join(c.rjust(width) for c in row) + "]" for row in s.grid)


def _num(s: Shown | None, *, full: bool = False, grid: bool = True) -> Text:
    if s is None:
        return Text("—", style="dim")
    if s.blank:
        return Text(BLANK, style=_BLANK)
    text = grid_text(s) if grid and s.grid is not None else (s.full if full else s.compact)
    return Text(text, style=_DERIV if s.derivative else "")


def _table(*headers: str) -> Table:
    t = Table(show_edge=False, header_style="bold", pad_edge=False, box=None, padding=(0, 2, 0, 0))
    for h in headers:
        t.add_column(h, overflow="fold")
    return t


def _verdict(v: str) -> Text:
    return Text(v, style={"right": "bold green", "wrong": "bold red", "pass": "green", "fail": "bold red",
                          "error": "bold red", "nondiff": "yellow"}.get(v, ""))


def _head(ex: Explanation, L: dict) -> list:
    out: list = [Text(wording.heading(ex), style="bold underline")]
    if ex.blank:
        out.append(Text(L["sheet_intro"]))
    if ex.description:
        out.append(Text(ex.description))
    meta = f"{L['dtype']} {ex.dtype}; {L['inputs']} {', '.join(ex.inputs)}"
    if ex.constants:
        meta += f"; {L['constants']} {', '.join(ex.constants)}"
    shape = L["scalar"] if not ex.output_shape else "×".join(map(str, ex.output_shape))
    meta += f"; {L['output']} {ex.output} ({shape})"
    if ex.variant:
        meta += f"; {L['variant']} {ex.variant}"
    out.append(Text(meta, style="dim"))
    point = wording.point_text(ex)
    if point:
        out.append(Text(f"{L['at']} {point}"))
    return out


def _decomposition(ex, L, full):
    out = [Text(f"  {n} = {e}") for n, e in ex.steps]
    t = _table(L["node"], L["primitive"], L["as_operation"], L["from_text"])
    for r in ex.forward:
        if r.kind in ("step", "inner"):
            t.add_row(Text(r.name, style="bold" if r.kind == "step" else ""), r.op,
                      r.expression.split(" = ", 1)[1], r.source)
    out.append(t)
    if ex.inner_nodes:
        out.append(Text("  " + L["inner_note"].format(names=", ".join(ex.inner_nodes)), style="dim"))
    return out


def _forward(ex, L, full):
    t = _table(L["step"], L["expression"], L["shape"], L["value"])
    for r in ex.forward:
        kind = wording.kind_label(ex, r.kind)
        t.add_row(r.name, r.expression if r.kind not in ("input", "constant", "literal") else kind,
                  r.value.shape_text if r.value.shape else L["scalar"], _num(r.value, full=full))
    return [t]


def _backward(ex, L, full):
    seed = wording.seed_name(ex)
    out = [Text(f"  {L['start']}: {ex.backward_seed}", style="dim")]
    for row in ex.backward:
        line = Text(f"  {row.expression}", style="bold")
        line.append(f"    {L['upstream']} {wording.partial(seed, row.name)} = ", style="")
        line.append_text(_num(row.upstream, full=full))
        out.append(line)
        for term in row.terms:
            formula = term.formula + (f"   [{L['local_forward']}: {term.taught}]" if term.taught else "")
            out.append(Text(f"    → {term.arg_name}: {formula}"))
            if term.matrix:
                out.append(Text(f"        δ{term.arg_name} ← {term.matrix}"))
            t2 = Text(f"        {L['local']} ")
            t2.append_text(_num(term.local, full=full, grid=False) if term.local is not None
                           else Text(L["full_jacobians"], style="dim"))
            t2.append(f"  ({L.get('local_' + term.local_kind, term.local_kind)});  {L['contribution']}: ")
            t2.append(wording.term_equation(row, term), style=_BLANK if ex.blank else _DERIV)
            out.append(t2)
        if row.constant_args:
            out.append(Text("    (" + L["no_gradient"].format(names=", ".join(row.constant_args)) + ")",
                            style="dim"))
    if ex.path_sums:
        out.append(Text("\n  " + L["paths_intro"], style="bold"))
        for ps in ex.path_sums:
            out.append(Text(f"    {wording.path_sum_symbolic(ps)}"))
            out.append(Text(f"      {wording.path_sum_numbers(ps)}", style=_BLANK if ex.blank else _DERIV))
    out.append(Text(f"\n  {L['gradients']}:", style="bold"))
    for name, g in ex.gradients.items():
        line = Text(f"    {wording.partial(seed, name)} = " + ("\n" if g.grid is not None and not g.blank else ""))
        line.append_text(_num(g, full=full))
        out.append(line)
    return out


def _symbolic(ex, L, full):
    sp_ = ex.symbolic
    out = []
    for n, a, text in sp_.locals:
        out.append(Text(f"  {text}"))
    for r in sp_.rows:
        if r.note:
            out.append(Text(f"  {wording.partial(r.output, r.input)}: {r.note}", style="dim"))
            continue
        out.append(Text(f"  {wording.partial(r.output, r.input)} = {r.chain}", style="bold"))
        line = Text("      = ")
        line.append(r.composed, style=_BLANK if ex.blank else _DERIV)
        line.append(f"   ({L['composed']})", style="dim")
        out.append(line)
        line = Text("      = ")
        line.append(r.simplified, style=_BLANK if ex.blank else _DERIV)
        line.append(f"   ({L['in_forward_names']})", style="dim")
        out.append(line)
    if sp_.matrix:
        out.append(Text(f"  {L['matrix']} ({L['start']}: δ{ex.output} = {wording.partial(wording.seed_name(ex), ex.output)}):",
                        style="bold"))
        for text, shape in sp_.matrix:
            out.append(Text(f"    {text}    [{shape}]"))
        if sp_.matrix_note:
            out.append(Text(f"  {sp_.matrix_note}", style="dim"))
    if sp_.note and not sp_.rows and not sp_.matrix:
        out.append(Text(f"  {sp_.note}", style="dim"))
    return out


def _jacobian(ex, L, full):
    out = []
    for ch in ex.chains:
        out.append(Text(f"  {wording.chain_symbolic(ch)}", style="bold"))
        for f in ch.factors:
            formula = f" = {f.formula}" if f.formula else ""
            line = Text(f"    {wording.jacobian_name(f.of, f.wrt)}{formula}  ({f.rows}×{f.cols}) =\n")
            line.append_text(_num(f.matrix, full=full))
            out.append(line)
        for label, value in ((L["product"], ch.product), (L["full_jacobian"], ch.full)):
            if ex.blank and label == L["full_jacobian"]:
                continue
            line = Text(f"    {label} {wording.jacobian_name(ch.output, ch.input)} =\n")
            line.append_text(_num(value, full=full))
            out.append(line)
        if not ex.blank:
            out.append(Text(f"    {L['agree'] if ch.agree else L['differ']} ({L['max_diff']} "
                            f"{wording.route_error(ch.max_abs_diff)})", style="green" if ch.agree else "bold red"))
    for note in (ex.flatten_note, wording.chain_note(ex)):
        if note:
            out.append(Text(f"  {note}", style="dim"))
    return out


def _closed(ex, L, full):
    cf = ex.closed_form
    if not cf.rows:
        return [Text(f"  {cf.note}", style="dim")]
    out = [Text(f"  {ex.output} = {cf.function_text}")]
    for r in cf.rows:
        line = Text(f"  {wording.partial(ex.output, r.input)} = ")
        line.append(BLANK if ex.blank else r.text, style=_BLANK if ex.blank else _DERIV)
        out.append(line)
        line = Text(f"    {L['at_point']}: ")
        line.append_text(_num(r.value))
        line.append(f"   {L['chain_rule']}: ")
        line.append_text(_num(r.chain_rule))
        if not ex.blank:
            line.append(f"   |{L['difference']}| {wording.route_error(r.abs_diff)}", style="dim")
        out.append(line)
    return out


def _routes(ex, L, full):
    if not ex.routes:
        return [Text(f"  {ex.routes_note}", style="dim")]
    t = _table(L["dtype"], L["input"], L["check"], L["status"], L["max_abs"], L["max_rel"], L["fd_est"],
               L["element"], L["actual"], L["expected"])
    for r in ex.routes:
        t.add_row(r.dtype, r.input, wording.route_label(r, ex.lang), _verdict(r.status), wording.route_error(r.max_abs_err),
                  wording.route_error(r.max_rel_err), wording.route_error(r.fd_err_est), r.element or "—",
                  _num(r.actual), _num(r.expected))
    return [t, Text(f"  {L['routes_element']}", style="dim")]


def _claims(ex, L, full):
    if not ex.claims:
        return [Text(f"  {L['no_claims']}", style="dim")]
    out = []
    for g in ex.claims:
        line = Text(f"  {wording.partial(ex.output, g.input)} {L['claim']} {g.claim}: ")
        line.append_text(_verdict(g.verdict))
        out.append(line)
        where = wording.claim_where(g)
        if where:
            out.append(Text(f"    {where}", style="dim"))
    return out


def _graph(ex, L, full):
    return [Text(f"  {L['graph_note']}", style="dim")]


def _stepsize(ex, L, full):
    s = ex.stepsize
    if s is None:
        return [Text(f"  {ex.stepsize_note or 'no differentiable input'}", style="dim")]
    out = [Text("  " + L["stepsize_text"].format(what=f"∂/∂{s.input}{s.index}", h=f"{s.step_used:.3g}",
                                                 e=f"{s.eps_cube_root:.3g}") + " (plot: --format html)")]
    t = _table("h", "error")
    for h, e in list(zip(s.steps, s.errors))[::3]:
        t.add_row(f"{h:.1e}", f"{e:.2e}")
    out.append(t)
    return out


def _hessian(ex, L, full):
    from .hessian import blocks

    out: list = []
    for kind, *body in blocks(ex):
        if kind == "table":
            t = _table(*body[0])
            for row in body[1]:
                t.add_row(*[Text(c) if isinstance(c, str) else _num(c, full=full, grid=False) for c in row])
            out.append(t)
        elif kind == "value":
            out.append(Text(f"  {body[0]}" + ("\n" if body[1].grid is not None and not body[1].blank else " "))
                       + _num(body[1], full=full))
        elif kind == "codes":
            out += [Text(f"    {line}", style=_BLANK if ex.blank and BLANK in line else "") for line in body[0]]
        else:
            out.append(Text(f"  {body[0]}", style={"heading": "bold", "note": "dim"}.get(kind, "")))
    return out


_SECTION = {"decomposition": _decomposition, "forward": _forward, "backward": _backward, "symbolic": _symbolic,
            "jacobian": _jacobian, "closed": _closed, "routes": _routes, "claims": _claims, "graph": _graph,
            "stepsize": _stepsize, "hessian": _hessian}


def render_text(ex: Explanation, *, colour: bool = False, width: int = 110, full: bool = False) -> str:
    """The answer key as terminal text (ANSI colour when ``colour``)."""
    L = wording.labels(ex.lang)
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=colour, color_system="standard" if colour else None,
                      width=width, no_color=not colour, highlight=False, emoji=False)
    for part in _head(ex, L):
        console.print(part)
    for key, title in wording.sections(ex):
        console.print(Text("\n" + title, style="bold cyan"))
        for part in _SECTION[key](ex, L, full):
            console.print(part)
    return buf.getvalue()
