"""``report.html``: one self-contained page for a reviewer or a teacher.

Everything is inline (CSS, a few lines of JS, SVG): the page makes no request, and a
Content-Security-Policy meta tag forbids any.  The page leads with the run's verdict —
the exit code the process returned and why (``id="verdict"``), with the baseline
comparison when there was one (``id="baseline"``) — then shows the counts by status,
then the cases worst first; a status filter and a name search narrow them.  Per case:
its title, description, expression steps and claims, inputs, every check with its
numbers, the gradients side by side (ours / torch / finite differences) for small
inputs and an error heatmap (inline SVG) for matrices.  Each case has the anchor
``id="case-<name>"`` so the answer key can link to it.

The page is a jinja2 template with autoescape on: every text from a case file is
escaped.  This module only prepares plain view objects for the template.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import jinja2
import numpy as np

from ..gate import verdict_of
from .results import STATUS_ORDER, Report, anchor_id, case_groups, cell_text, number_text, status_counts, \
    worst_status

__all__ = ["render_html", "CSP", "ELEMENT_LIMIT"]

#: the page's Content-Security-Policy: nothing from outside, inline style/script/SVG only
CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "img-src data:; base-uri 'none'; form-action 'none'")
#: arrays with at most this many elements are shown in full (side by side, heatmap)
ELEMENT_LIMIT = 64
_CELL = 16  # heatmap cell size in px


@dataclass
class ArrayView:
    """The side-by-side gradients of one input of one case in one dtype."""

    dtype: str
    input: str
    shape: str
    rows: list[tuple[str, str, str, str, str]]  # index, ours, torch, fd, abs_err
    heatmap: dict[str, Any] | None = None


@dataclass
class CaseView:
    """What the template shows for one case."""

    name: str
    anchor: str
    status: str
    file: str
    title: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    dtypes: list[str] = field(default_factory=list)
    steps: list[tuple[str, str]] = field(default_factory=list)
    output: str = ""
    expect: list[tuple[str, str]] = field(default_factory=list)
    inputs: list[tuple[str, str, str]] = field(default_factory=list)  # name, shape, value/how
    constants: list[tuple[str, str, str]] = field(default_factory=list)
    checks: list[dict[str, str]] = field(default_factory=list)
    arrays: list[ArrayView] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    subject: str = ""  # the user's code under test bound to the case (run metadata), if any


def _num(value: Any) -> str:
    """A number for display: 4 significant digits (the exact value is in the CSV)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return cell_text(value)
    if math.isnan(x):
        return ""
    return f"{x:.4g}"


def _value_text(spec: Any, limit: int) -> tuple[str, str]:
    """(shape, how the value is given) of an input or constant spec."""
    if getattr(spec, "literal", None) is not None:
        arr = np.asarray(spec.literal, dtype=float)
        shape = cell_text(arr.shape)
        if arr.ndim == 0:
            return shape, number_text(arr)
        if arr.size <= limit:
            return shape, np.array2string(arr, precision=6, separator=", ", threshold=limit)
        return shape, f"literal array of {arr.size} elements"
    shape = cell_text(tuple(getattr(spec, "shape", ()) or ()))
    init = getattr(spec, "init", None) or "normal"
    if init == "uniform":
        how = f"uniform(low={spec.low:g}, high={spec.high:g})"
    else:
        how = f"normal(mean={spec.mean:g}, std={spec.std:g})"
    seed = getattr(spec, "seed", None)
    return shape, how + (f", seed {seed}" if seed is not None else "")


def _heatmap(err: np.ndarray) -> dict[str, Any]:
    """SVG geometry of a matrix of absolute errors, colour on a log scale (white → red)."""
    finite = err[np.isfinite(err)]
    logs = np.log10(np.maximum(np.abs(finite), 1e-300)) if finite.size else np.zeros(0)
    lo = float(logs.min()) if logs.size else 0.0
    hi = float(logs.max()) if logs.size else 0.0
    cells = []
    for (i, j), v in np.ndenumerate(err):
        if not np.isfinite(v):
            colour = "#000000"
        else:
            t = 0.0 if hi == lo else (math.log10(max(abs(float(v)), 1e-300)) - lo) / (hi - lo)
            fade = int(round(255 * (1.0 - t)))
            colour = f"#ff{fade:02x}{fade:02x}"
        cells.append({"x": j * _CELL, "y": i * _CELL, "fill": colour,
                      "title": f"[{i}, {j}] |error| = {number_text(v)}"})
    rows, cols = err.shape
    return {"width": cols * _CELL, "height": rows * _CELL, "cell": _CELL, "cells": cells,
            "low": f"{10 ** lo:.3g}" if logs.size else "", "high": f"{10 ** hi:.3g}" if logs.size else ""}


def _array_view(key: tuple[str, str, str], arrays: Mapping[str, np.ndarray], limit: int) -> ArrayView | None:
    _, dtype, name = key
    ours = np.asarray(arrays.get("ours")) if arrays.get("ours") is not None else None
    if ours is None or ours.size > limit:
        return None
    torch_ = arrays.get("torch")
    fd = arrays.get("fd")
    err = arrays.get("abs_err")
    parts = [np.broadcast_to(np.asarray(a, dtype=float), ours.shape) if a is not None else None
             for a in (ours, torch_, fd, err)]
    rows = []
    for index in np.ndindex(ours.shape):
        rows.append((cell_text(index) if index else "()",)
                    + tuple(_num(p[index]) if p is not None else "" for p in parts))
    heat = _heatmap(np.asarray(parts[3])) if parts[3] is not None and ours.ndim == 2 else None
    return ArrayView(dtype=dtype, input=name, shape=cell_text(ours.shape), rows=rows, heatmap=heat)


def _case_view(name: str, rows, report: Report, limit: int) -> CaseView:
    case = report.cases.get(name)
    view = CaseView(name=name or rows["file"].iloc[0] or "(unnamed)", anchor=anchor_id(name or rows["file"].iloc[0]),
                    status=worst_status(rows["status"]), file=rows["file"].iloc[0],
                    dtypes=[d for d in dict.fromkeys(rows["dtype"]) if d],
                    counts={s: n for s, n in status_counts(rows).items() if n})
    view.subject = str(dict(report.meta.get("subjects") or {}).get(name, ""))
    if case is not None:
        view.title, view.description = case.title or "", case.description or ""
        view.tags = list(case.tags)
        view.steps = list(case.steps.items())
        view.output = case.output
        view.expect = list(case.expect.items())
        view.inputs = [(n, *_value_text(s, limit)) for n, s in case.inputs.items()]
        view.constants = [(n, *_value_text(s, limit)) for n, s in case.constants.items()]
    for _, r in rows.iterrows():
        view.checks.append({
            "dtype": r["dtype"], "input": r["input"], "shape": cell_text(r["shape"]), "check": r["check"],
            "status": r["status"], "max_abs_err": _num(r["max_abs_err"]), "max_rel_err": _num(r["max_rel_err"]),
            "atol": _num(r["atol"]), "rtol": _num(r["rtol"]), "fd_err_est": _num(r["fd_err_est"]),
            "worst_index": cell_text(r["worst_index"]), "actual": _num(r["actual"]),
            "expected": _num(r["expected"]), "method": r["method"], "message": r["message"],
        })
    for key in sorted(k for k in report.arrays if k[0] == name):
        av = _array_view(key, report.arrays[key], limit)
        if av is not None:
            view.arrays.append(av)
    return view


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("gradcheck_suite", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    return env


def render_html(report: Report, element_limit: int = ELEMENT_LIMIT, answer_key: str | None = None) -> str:
    """The HTML page; ``answer_key`` is the file the cases' "answer key" links point into."""
    from ..explain.html import anchor as answer_anchor  # the answer key's page, only when it is rendered

    views = [_case_view(name, rows, report, element_limit) for name, rows in case_groups(report.table)]
    views.sort(key=lambda v: STATUS_ORDER[v.status])  # stable: worst first, then table order
    verdict = verdict_of(report)
    counts = status_counts(report.table)
    problems = [v for v in views if v.status in ("fail", "error")]
    meta = dict(report.meta)
    return _environment().get_template("report.html.j2").render(
        csp=CSP, cases=views, problems=problems, counts=counts, total=sum(counts.values()),
        incomplete=report.incomplete, seed=cell_text(meta.get("seed", "")),
        versions=dict(meta.get("versions", {})), started=str(meta.get("started", "")),
        command=str(meta.get("command", "")), statuses=list(counts), answer_key=answer_key,
        answer_anchors={name: answer_anchor(name) for name in report.cases}, verdict=verdict,
    )
