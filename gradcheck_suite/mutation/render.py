"""The mutation report as text, Markdown or JSON (a view of :class:`~.score.MutationResult`)."""
from __future__ import annotations

import json
from typing import Any

from .mutants import KINDS, RULES
from .score import STATUSES, MutationResult

__all__ = ["FORMATS", "render", "render_text", "render_markdown", "render_json", "kind_counts"]

FORMATS = ("text", "md", "json")


def kind_counts(result: MutationResult) -> list[dict[str, Any]]:
    """Per kind and rule: mutants, caught, survived, equivalent (kinds that occur only)."""
    rows = []
    for kind in KINDS:
        for rule in RULES:
            mine = [o for o in result.outcomes if o.mutant.kind == kind and o.mutant.rule == rule]
            if mine:
                rows.append({"kind": kind, "rule": rule, "mutants": len(mine),
                             **{s: sum(1 for o in mine if o.status == s) for s in STATUSES}})
    return rows


def _primitive_counts(result: MutationResult) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for o in result.outcomes:
        row = rows.setdefault(o.mutant.primitive, {"primitive": o.mutant.primitive, "mutants": 0,
                                                   **{s: 0 for s in STATUSES}})
        row["mutants"] += 1
        row[o.status] += 1
    return list(rows.values())


def _headline(result: MutationResult) -> str:
    judged = len(result.outcomes) - result.count("equivalent")
    return (f"mutation score {100 * result.score:.1f}%: {result.count('caught')} of {judged} mutants caught "
            f"({len(result.outcomes)} mutants, {result.count('equivalent')} equivalent excluded, "
            f"{result.count('survived')} survived; {result.cases} cases, {result.elapsed_s:.1f} s)")


def _table(rows: list[dict[str, Any]], columns: list[str], markdown: bool) -> list[str]:
    cells = [[str(r[c]) for c in columns] for r in rows]
    if markdown:
        return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)] + \
               ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
    widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(columns)]
    line = lambda row: "  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip()  # noqa: E731
    return [line(columns)] + [line(row) for row in cells]


def _body(result: MutationResult, markdown: bool) -> list[str]:
    h = (lambda t: ["", f"## {t}", ""]) if markdown else (lambda t: ["", t])
    bullet = "- " if markdown else "  "
    out = (["# Mutation score", ""] if markdown else []) + [_headline(result)]
    for error in result.errors:
        out.append(f"{bullet}error: {error}")
    out += h("by kind") + _table(kind_counts(result), ["kind", "rule", "mutants", *STATUSES], markdown)
    out += h("by primitive") + _table(_primitive_counts(result), ["primitive", "mutants", *STATUSES], markdown)
    out += h(f"survivors ({result.count('survived')})")
    out += [f"{bullet}{o.mutant.label} — {o.reason}" for o in result.survivors] or [f"{bullet}none"]
    out += h(f"equivalent mutants, excluded ({result.count('equivalent')})")
    out += [f"{bullet}{o.mutant.label} — {o.reason}" for o in result.equivalent] or [f"{bullet}none"]
    return out


def render_text(result: MutationResult) -> str:
    return "\n".join(_body(result, markdown=False)) + "\n"


def render_markdown(result: MutationResult) -> str:
    out = _body(result, markdown=True)
    rows = [dict(o.row(), time_s=f"{o.time_s:.2f}", reason=o.reason[:160]) for o in result.outcomes]
    out += ["", "## every mutant", ""] + _table(rows, ["primitive", "rule", "argument", "kind", "status", "case",
                                                      "check", "cases_run", "time_s", "reason"], True)
    return "\n".join(out) + "\n"


def render_json(result: MutationResult) -> str:
    data = result.as_dict()
    data["by_kind"] = kind_counts(result)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def render(result: MutationResult, fmt: str) -> str:
    """The report in ``fmt`` (one of :data:`FORMATS`)."""
    return {"text": render_text, "md": render_markdown, "json": render_json}[fmt](result)
