"""The sentences of the answer key, shared by the text, Markdown and HTML renderers.

Each function turns one part of the model into the words and equations a page shows;
the renderers add only their own markup.  Blanked values print as the blank.
"""
from __future__ import annotations

from .model import (BackwardRow, ClaimGrade, Explanation, JacobianChain, LocalTerm, PathSum, RouteRow,
                    Shown, format_number)

__all__ = ["SECTIONS", "product_symbol", "term_equation", "path_sum_symbolic", "path_sum_numbers",
           "chain_symbolic", "jacobian_name", "route_error", "route_label", "claim_where", "point_text",
           "partial"]

#: section titles, in the order of the issue
SECTIONS = {
    "decomposition": "1. Decomposition into primitive steps",
    "forward": "2. Forward pass",
    "backward": "3. Backward pass (reverse order)",
    "jacobian": "4. Jacobian chain",
    "closed": "5. Closed form",
    "routes": "6. Three routes agree",
    "claims": "7. Claimed derivatives",
    "graph": "8. Computation graph",
    "stepsize": "9. Step size of the finite difference",
}

_SYMBOL = {"scalar": "×", "elementwise": "⊙", "jacobian": "·", "too large": "·"}


def partial(of: str, wrt: str) -> str:
    """``∂of/∂wrt``."""
    return f"∂{of}/∂{wrt}"


def product_symbol(term: LocalTerm) -> str:
    """× for scalars, ⊙ for an elementwise local derivative, · for a Jacobian (a VJP)."""
    return _SYMBOL.get(term.local_kind, "·")


def term_equation(row: BackwardRow, term: LocalTerm) -> str:
    """``upstream × local = contribution`` with the numbers."""
    local = term.local.text if term.local is not None else "(local Jacobian too large to show)"
    return f"{row.upstream.text} {product_symbol(term)} {local} = {term.contribution.text}"


def path_sum_symbolic(ps: PathSum) -> str:
    """``∂z/∂x = ∂z/∂u·∂u/∂x + ∂z/∂v·∂v/∂x``."""
    terms = " + ".join(f"{partial(ps.output, t.consumer)}·{partial(t.consumer, ps.name)}" for t in ps.terms)
    return f"{partial(ps.output, ps.name)} = {terms}"


def _factor(s: Shown | None) -> str:
    if s is None:
        return "J"
    return f"({s.text})" if s.text.startswith("-") or not s.is_scalar else s.text


def path_sum_numbers(ps: PathSum) -> str:
    """``= (a)(b) + (c)(d) = e + f = total`` (the products only where every factor is a scalar)."""
    scalar = all(t.upstream.is_scalar and t.local is not None and t.local.is_scalar for t in ps.terms)
    pieces = []
    if scalar:
        pieces.append(" + ".join(f"{_factor(t.upstream)}·{_factor(t.local)}" for t in ps.terms))
    pieces.append(" + ".join(_factor(t.contribution) for t in ps.terms))
    pieces.append(ps.total.text)
    return "= " + " = ".join(pieces)


def jacobian_name(of: str, wrt: str) -> str:
    """``J_of(wrt)`` as the tutorial writes it."""
    return f"J_{of}({wrt})"


def chain_symbolic(chain: JacobianChain) -> str:
    """``J_y(v) = J_y(u) · J_u(v)``."""
    right = " · ".join(jacobian_name(f.of, f.wrt) for f in chain.factors)
    return f"{jacobian_name(chain.output, chain.input)} = {right}"


def route_error(value: float | None) -> str:
    return "—" if value is None else format_number(value, 3)


def claim_where(g: ClaimGrade) -> str:
    """Where and by how much a claim differs (or why it could not be graded)."""
    if g.verdict == "wrong" and g.abs_diff is not None and g.claimed_at_worst is not None:
        return (f"at {g.worst_index}: claimed {g.claimed_at_worst.text}, correct {g.correct_at_worst.text}; "
                f"off by {format_number(g.abs_diff, 3)} (relative {format_number(g.rel_diff, 3)}); "
                f"{g.wrong_elements} of {g.total_elements} wrong")
    if g.verdict == "right" and g.claimed is not None and g.correct is not None:
        return f"claimed {g.claimed.text}, chain rule {g.correct.text}; {g.message}"
    return g.message


def point_text(ex: Explanation) -> str:
    """``x = 0.5, w = 2`` — the point, for scalar leaves (arrays are in the forward table)."""
    parts = []
    for r in ex.forward:
        if r.kind in ("input", "constant") and r.value.is_scalar:
            parts.append(f"{r.name} = {r.value.text}")
    return ", ".join(parts)


def route_label(r: RouteRow) -> str:
    names = {"hand_vs_torch": "chain rule vs torch", "hand_vs_fd": "chain rule vs FD",
             "torch_vs_fd": "torch vs FD", "expect_vs_torch": "claim vs torch"}
    return names.get(r.check, r.check)

