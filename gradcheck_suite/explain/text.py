"""The terminal renderer: the answer key as text, with colour where it helps (rich).

Derivative values are shown in one colour, blanks in another, verdicts in green/red.
Without colour (a file, a pipe) the same text is plain.  The pictures (graph,
step-size plot) are the HTML and Markdown renderers' job; the terminal gets the
numbers of the step-size sweep as a short table.
"""
from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import wording
from .model import BLANK, Explanation, Shown

__all__ = ["render_text"]

_DERIV = "magenta"
_BLANK = "bold yellow"


def _num(s: Shown | None, *, full: bool = False) -> Text:
    if s is None:
        return Text("—", style="dim")
    if s.blank:
        return Text(BLANK, style=_BLANK)
    return Text(s.full if full else s.compact, style=_DERIV if s.derivative else "")


def _table(*headers: str) -> Table:
    t = Table(show_edge=False, header_style="bold", pad_edge=False, box=None, padding=(0, 2, 0, 0))
    for h in headers:
        t.add_column(h, overflow="fold")
    return t


def _verdict(v: str) -> Text:
    return Text(v, style={"right": "bold green", "wrong": "bold red", "pass": "green", "fail": "bold red",
                          "error": "bold red", "nondiff": "yellow"}.get(v, ""))


def _sections(ex: Explanation, full: bool) -> list:
    out: list = []
    head = f"Answer key: {ex.case}" + (f" — {ex.title}" if ex.title else "")
    if ex.blank:
        head += "  (exercise sheet: fill in the blanks)"
    out.append(Text(head, style="bold underline"))
    if ex.description:
        out.append(Text(ex.description))
    meta = f"dtype {ex.dtype}; inputs {', '.join(ex.inputs)}"
    if ex.constants:
        meta += f"; constants {', '.join(ex.constants)}"
    meta += f"; output {ex.output} ({'scalar' if not ex.output_shape else '×'.join(map(str, ex.output_shape))})"
    out.append(Text(meta, style="dim"))
    point = wording.point_text(ex)
    if point:
        out.append(Text(f"at {point}"))

    out.append(Text("\n" + wording.SECTIONS["decomposition"], style="bold cyan"))
    for name, expr in ex.steps:
        out.append(Text(f"  {name} = {expr}"))
    t = _table("node", "primitive", "as an operation", "from the text")
    for r in ex.forward:
        if r.kind in ("step", "inner"):
            t.add_row(Text(r.name, style="bold" if r.kind == "step" else ""), r.op,
                      r.expression.split(" = ", 1)[1], r.source)
    out.append(t)

    out.append(Text("\n" + wording.SECTIONS["forward"], style="bold cyan"))
    t = _table("step", "expression", "shape", "value")
    for r in ex.forward:
        t.add_row(r.name, r.expression if r.kind not in ("input", "constant", "literal") else r.kind,
                  r.value.shape_text, _num(r.value, full=full))
    out.append(t)

    out.append(Text("\n" + wording.SECTIONS["backward"], style="bold cyan"))
    out.append(Text(f"  start: {ex.backward_seed}", style="dim"))
    for row in ex.backward:
        line = Text(f"  {row.expression}", style="bold")
        line.append("    upstream ")
        line.append(wording.partial(ex.output, row.name) + " = ", style="")
        line.append_text(_num(row.upstream, full=full))
        out.append(line)
        for term in row.terms:
            t1 = Text(f"    → {term.arg_name}: {term.formula}", style="")
            out.append(t1)
            t2 = Text("        local ")
            t2.append_text(_num(term.local, full=full))
            t2.append(f"  ({term.local_kind});  contribution upstream {wording.product_symbol(term)} local = ")
            t2.append(wording.term_equation(row, term), style=_BLANK if ex.blank else _DERIV)
            out.append(t2)
        if row.constant_args:
            out.append(Text(f"    (no gradient sent to {', '.join(row.constant_args)}: constant)", style="dim"))
    if ex.path_sums:
        out.append(Text("\n  Where a value feeds several nodes, its gradient is the sum over the paths:",
                        style="bold"))
        for ps in ex.path_sums:
            out.append(Text(f"    {wording.path_sum_symbolic(ps)}"))
            out.append(Text(f"      {wording.path_sum_numbers(ps)}", style=_BLANK if ex.blank else _DERIV))
    out.append(Text("\n  Gradients:", style="bold"))
    for name, g in ex.gradients.items():
        line = Text(f"    {wording.partial(ex.output, name)} = ")
        line.append_text(_num(g, full=full))
        out.append(line)

    out.append(Text("\n" + wording.SECTIONS["jacobian"], style="bold cyan"))
    for ch in ex.chains:
        out.append(Text(f"  {wording.chain_symbolic(ch)}", style="bold"))
        for f in ch.factors:
            line = Text(f"    {wording.jacobian_name(f.of, f.wrt)}  ({f.rows}×{f.cols}) = ")
            line.append_text(_num(f.matrix, full=full))
            out.append(line)
        line = Text("    product = ")
        line.append_text(_num(ch.product, full=full))
        out.append(line)
        line = Text(f"    full Jacobian {wording.jacobian_name(ch.output, ch.input)} from the engine = ")
        line.append_text(_num(ch.full, full=full))
        out.append(line)
        verdict = "equal" if ch.agree else "NOT equal"
        out.append(Text(f"    product and full Jacobian are {verdict} (max |difference| "
                        f"{wording.route_error(ch.max_abs_diff)})", style="green" if ch.agree else "bold red"))
    if ex.chain_note:
        out.append(Text(f"  {ex.chain_note}", style="dim"))

    out.append(Text("\n" + wording.SECTIONS["closed"], style="bold cyan"))
    cf = ex.closed_form
    if cf.rows:
        out.append(Text(f"  {ex.output} = {cf.function_text}"))
        for r in cf.rows:
            line = Text(f"  {wording.partial(ex.output, r.input)} = ")
            line.append(BLANK if ex.blank else r.text, style=_BLANK if ex.blank else _DERIV)
            out.append(line)
            line = Text("    at the point: ")
            line.append_text(_num(r.value))
            line.append("   chain rule: ")
            line.append_text(_num(r.chain_rule))
            line.append(f"   |difference| {wording.route_error(r.abs_diff)}", style="dim")
            out.append(line)
    else:
        out.append(Text(f"  {cf.note}", style="dim"))

    out.append(Text("\n" + wording.SECTIONS["routes"], style="bold cyan"))
    if ex.routes:
        t = _table("dtype", "input", "check", "status", "max abs err", "max rel err", "FD err est", "actual",
                   "expected")
        for r in ex.routes:
            t.add_row(r.dtype, r.input, wording.route_label(r), _verdict(r.status), wording.route_error(r.max_abs_err),
                      wording.route_error(r.max_rel_err), wording.route_error(r.fd_err_est),
                      _num(r.actual), _num(r.expected))
        out.append(t)
    else:
        out.append(Text(f"  {ex.routes_note}", style="dim"))

    out.append(Text("\n" + wording.SECTIONS["claims"], style="bold cyan"))
    if ex.claims:
        for g in ex.claims:
            line = Text(f"  {wording.partial(ex.output, g.input)} claimed {g.claim}: ")
            line.append_text(_verdict(g.verdict))
            out.append(line)
            where = wording.claim_where(g)
            if where:
                out.append(Text(f"    {where}", style="dim"))
    else:
        out.append(Text("  the case claims no derivatives (no expect:)", style="dim"))

    out.append(Text("\n" + wording.SECTIONS["stepsize"], style="bold cyan"))
    s = ex.stepsize
    if s is not None:
        out.append(Text(f"  |central difference − chain rule| for ∂/∂{s.input}{s.index}; step used "
                        f"h = {s.step_used:.3g}, ε^(1/3) = {s.eps_cube_root:.3g} (plot: --format html or md)"))
        t = _table("h", "error")
        for h, e in list(zip(s.steps, s.errors))[::2]:
            t.add_row(f"{h:.1e}", f"{e:.2e}")
        out.append(t)
    else:
        out.append(Text(f"  {ex.stepsize_note or 'no differentiable input'}", style="dim"))
    out.append(Text(f"\n{wording.SECTIONS['graph']}: see the HTML or Markdown page.", style="dim"))
    return out


def render_text(ex: Explanation, *, colour: bool = False, width: int = 110, full: bool = False) -> str:
    """The answer key as terminal text (ANSI colour when ``colour``)."""
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=colour, color_system="standard" if colour else None,
                      width=width, no_color=not colour, highlight=False, emoji=False)
    for part in _sections(ex, full):
        console.print(part)
    return buf.getvalue()
