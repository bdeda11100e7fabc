"""The LaTeX renderer: the answer key (or the exercise sheet) as a document that compiles.

English pages compile with ``pdflatex``; Chinese pages (``--lang zh``) use ``xeCJK``
and compile with ``xelatex``.  Formulas come from sympy's LaTeX printer; every text
from the case is escaped (:func:`tex_text`), and the symbols our texts use (∂, ·, ⊙,
ᵀ, σ, …) become math-mode commands, so no Unicode font is needed in English.  The two
pictures (graph, step-size plot) are SVG and stay in the HTML page.
"""
from __future__ import annotations

import re

from . import wording
from .model import BLANK, Explanation, Shown

__all__ = ["render_tex", "tex_text"]

_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
            "^": r"\^{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}"}
_MATH = {"∂": r"\partial ", "·": r"\cdot ", "⊙": r"\odot ", "⊘": r"\oslash ", "×": r"\times ", "−": "-",
         "σ": r"\sigma ", "Σ": r"\Sigma ", "δ": r"\delta ", "ε": r"\varepsilon ", "π": r"\pi ", "Π": r"\Pi ",
         "ᵀ": r"^{\top}", "²": "^{2}", "³": "^{3}", "⁻": "^{-}", "¹": "^{1}", "√": r"\surd ", "≤": r"\le ",
         "≥": r"\ge ", "≠": r"\ne ", "←": r"\leftarrow ", "→": r"\rightarrow ", "⟨": r"\langle ",
         "⟩": r"\rangle ", "‖": r"\|", "½": r"\tfrac12 ", "ḡ": r"\bar g ", "𝟏": r"\mathbf{1}", "φ": r"\varphi ",
         "Φ": r"\Phi ", "ᵢ": "_{i}", "ⱼ": "_{j}", "ₖ": "_{k}", "⁰": "^{0}", "⁴": "^{4}", "—": "---", "…": r"\dots ",
         "ġ": r"\dot g ", "Δ": r"\Delta ", "∇": r"\nabla ", "λ": r"\lambda "}


def tex_text(text: str) -> str:
    """Plain text for LaTeX: specials escaped, our maths symbols as math-mode commands, blanks as lines."""
    return r"\blank{}".join(_escape(part) for part in str(text).split(BLANK))


def _escape(text: str) -> str:
    out = []
    for ch in text:
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ch in _MATH:
            m = _MATH[ch]
            out.append(m if ch in "—" else f"\\ensuremath{{{m.strip()}}}")
        elif ord(ch) < 128 or "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef":
            out.append(ch)
        else:
            out.append("?")  # a character no LaTeX font of ours has
    return "".join(out)


def _code(text: str) -> str:
    return r"\texttt{" + tex_text(text) + "}"


def _num(s: Shown | None) -> str:
    if s is None:
        return "---"
    if s.blank:
        return r"\blank"
    if s.grid is not None:
        cols = "r" * len(s.grid[0])
        rows = r" \\ ".join(" & ".join(c for c in row) for row in s.grid)
        return rf"$\left[\begin{{array}}{{{cols}}} {rows} \end{{array}}\right]$"
    return _code(s.compact)


def _table(headers: list[str], rows: list[list[str]], spec: str | None = None) -> list[str]:
    spec = spec or "l" * len(headers)
    out = [r"\begin{longtable}{" + spec + "}", r"\hline", " & ".join(rf"\textbf{{{tex_text(h)}}}" for h in headers)
           + r" \\ \hline"]
    out += [" & ".join(r) + r" \\" for r in rows]
    return out + [r"\hline", r"\end{longtable}"]


def _preamble(ex: Explanation) -> list[str]:
    lines = [r"\documentclass[10pt,a4paper]{article}"]
    if ex.lang == "zh":
        lines += ["% compile with xelatex (Chinese)", r"\usepackage{xeCJK}"]
    else:
        lines += [r"\usepackage[utf8]{inputenc}", r"\usepackage[T1]{fontenc}"]
    lines += [r"\usepackage{amsmath,amssymb}", r"\usepackage{longtable}", r"\usepackage[margin=18mm]{geometry}",
              r"\newcommand{\blank}{\underline{\hspace{4em}}}", r"\setlength{\parindent}{0pt}",
              r"\title{" + tex_text(wording.heading(ex)) + "}", r"\date{}", r"\begin{document}", r"\maketitle"]
    return lines


def _hessian(ex: Explanation) -> list[str]:
    from .hessian import blocks

    out: list[str] = []
    for kind, *body in blocks(ex):
        if kind == "table":
            out += _table(body[0], [[_code(c) if isinstance(c, str) else _num(c) for c in row] for row in body[1]])
        elif kind == "value":
            out += [tex_text(body[0]) + " " + _num(body[1]), ""]
        elif kind == "codes":
            out += [r"\begin{itemize}"] + [r"\item " + _code(line) for line in body[0]] + [r"\end{itemize}"]
        else:
            out += [{"heading": r"\textbf{%s}", "note": r"\emph{%s}"}.get(kind, "%s") % tex_text(body[0]), ""]
    return out


def render_tex(ex: Explanation) -> str:
    """The answer key as a LaTeX document."""
    L = wording.labels(ex.lang)
    seed = wording.seed_name(ex)
    out = _preamble(ex)
    if ex.blank:
        out += [r"\textbf{" + tex_text(L["sheet_intro"]) + "}", ""]
    if ex.description:
        out += [tex_text(ex.description), ""]
    point = wording.point_text(ex)
    out += [r"\emph{" + tex_text(f"{L['inputs']} {', '.join(ex.inputs)} · {L['output']} {ex.output}"
                                 + (f" · {L['at']} {point}" if point else "")
                                 + (f" · {L['variant']} {ex.variant}" if ex.variant else "")) + "}", ""]
    for key, title in wording.sections(ex):
        out += [r"\section*{" + tex_text(title) + "}"]
        if key == "decomposition":
            out += [r"\begin{itemize}"] + [r"\item " + _code(f"{n} = {e}") for n, e in ex.steps] + [r"\end{itemize}"]
            if ex.inner_nodes:
                out += [r"\emph{" + tex_text(L["inner_note"].format(names=", ".join(ex.inner_nodes))) + "}", ""]
        elif key == "forward":
            out += _table([L["step"], L["expression"], L["shape"], L["value"]],
                          [[_code(r.name), _code(r.expression) if r.kind in ("step", "inner")
                            else tex_text(wording.kind_label(ex, r.kind)),
                            tex_text(r.value.shape_text if r.value.shape else L["scalar"]), _num(r.value)]
                           for r in ex.forward])
        elif key == "backward":
            out += [tex_text(f"{L['start']}: {ex.backward_seed}"), ""]
            rows = []
            for row in ex.backward:
                for t in row.terms:
                    rows.append([_code(row.expression), _num(row.upstream), _code(t.arg_name),
                                 _code(t.taught or t.formula), _num(t.local) if t.local is not None
                                 else _code(t.matrix or "J"), _num(t.contribution)])
            out += _table([L["node"], L["upstream"], L["to"], L["local"], L["its_value"], L["contribution"]], rows,
                          "llllll")
            for ps in ex.path_sums:
                out += [_code(wording.path_sum_symbolic(ps)) + r"\\", _code(wording.path_sum_numbers(ps)), ""]
            out += [r"\begin{itemize}"] + [r"\item " + _code(wording.partial(seed, n) + " = ") + " " + _num(g)
                                           for n, g in ex.gradients.items()] + [r"\end{itemize}"]
        elif key == "symbolic":
            sym = ex.symbolic
            if sym.locals:
                out += [r"\begin{itemize}"] + [r"\item " + _code(t) for _, _, t in sym.locals] + [r"\end{itemize}"]
            for r in sym.rows:
                if r.note:
                    out += [tex_text(f"{wording.partial(r.output, r.input)}: {r.note}"), ""]
                    continue
                lhs = rf"\frac{{\partial {_ident(r.output)}}}{{\partial {_ident(r.input)}}}"
                if ex.blank:
                    out += [r"\[" + lhs + r" = \blank \]"]
                else:
                    out += [r"\begin{align*}", lhs + " &= " + r.taught_latex + r" \\", " &= " + r.simplified_latex,
                            r"\end{align*}"]
            if sym.matrix:
                out += [r"\textbf{" + tex_text(L["matrix"]) + "}", ""]
                out += _table([L["gradient"], L["shape"]], [[_code(t), tex_text(s)] for t, s in sym.matrix])
            if sym.note and not sym.rows and not sym.matrix:
                out += [r"\emph{" + tex_text(sym.note) + "}", ""]
        elif key == "jacobian":
            for ch in ex.chains:
                out += [_code(wording.chain_symbolic(ch)), ""]
                rows = [[_code(wording.jacobian_name(f.of, f.wrt) + (f" = {f.formula}" if f.formula else "")),
                         tex_text(f"{f.rows}×{f.cols}"), _num(f.matrix)]
                        for f in ch.factors] + [[tex_text(L["product"]), "", _num(ch.product)]]
                out += _table([L["jac"], L["shape"], L["entries"]], rows)
            for note in (ex.flatten_note, wording.chain_note(ex)):
                if note:
                    out += [r"\emph{" + tex_text(note) + "}", ""]
        elif key == "closed":
            cf = ex.closed_form
            if not cf.rows:
                out += [r"\emph{" + tex_text(cf.note) + "}", ""]
            else:
                out += [r"\[" + _ident(ex.output) + " = " + cf.function_latex + r"\]"]
                for r in cf.rows:
                    lhs = rf"\frac{{\partial {_ident(ex.output)}}}{{\partial {_ident(r.input)}}}"
                    out += [r"\[" + lhs + " = " + (r"\blank" if ex.blank else r.latex) + r"\]"]
        elif key == "routes":
            if ex.routes:
                out += _table([L["input"], L["check"], L["status"], L["max_abs"], L["element"]],
                              [[_code(r.input), tex_text(wording.route_label(r, ex.lang)), tex_text(r.status),
                                tex_text(wording.route_error(r.max_abs_err)), _code(r.element or "-")]
                               for r in ex.routes])
            else:
                out += [r"\emph{" + tex_text(ex.routes_note) + "}", ""]
        elif key == "claims":
            if ex.claims:
                out += _table([L["derivative"], L["claim"], L["verdict"]],
                              [[_code(wording.partial(ex.output, g.input)), _code(g.claim), tex_text(g.verdict)]
                               for g in ex.claims])
            else:
                out += [r"\emph{" + tex_text(L["no_claims"]) + "}", ""]
        elif key == "hessian":
            out += _hessian(ex)
        elif key in ("graph", "stepsize"):
            out += [r"\emph{" + tex_text(L["graph_note"]) + "}", ""]
    out += [r"\end{document}", ""]
    return "\n".join(out)


def _ident(name: str) -> str:
    """A node name in math mode: ``u.1`` → ``u_{1}``."""
    name = re.sub(r"[^A-Za-z0-9_.]", "", name) or "?"
    base, _, sub = name.partition(".")
    base = base.replace("_", r"\_")
    return rf"\mathit{{{base}}}" + (f"_{{{sub}}}" if sub else "")
