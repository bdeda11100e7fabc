"""``report.html``: one self-contained page for a reviewer or a teacher.

Everything is inline (CSS, one script and its data, SVG): the page makes no request, and a
Content-Security-Policy meta tag forbids any.  The page leads with the run's verdict —
the exit code the process returned and why (``id="verdict"``), with the baseline
comparison when there was one (``id="baseline"``) — then the counts by status, then an
overview that scales to thousands of cases: a histogram of every check's error ÷ bound
(how close it came to its tolerance; failures red, the zone just under the line shaded),
the passing checks nearest their bound (the flaky ones), the slowest cases, and a
sortable table of every case × dtype (its worst check, error ÷ bound, time) built by the
page's script from one compact JSON data island.  Below, the cases worst first, as cards
(folded unless failing); a status filter and a name search narrow table and cards.  Per
case: its title, description, expression steps and claims, inputs, every check with its
numbers, the gradients side by side (ours / torch / finite differences) for small inputs
and an error heatmap (inline SVG) for matrices — within a page budget (:data:`PAGE_BUDGET`),
worst cases first.  Each case has the anchor ``id="case-<name>"`` so the answer key can link
to it.

The page is a jinja2 template with autoescape on: every text from a case file is
escaped.  This module only prepares plain view objects for the template.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

import jinja2
import numpy as np

from ..contract import ANSWER_KEY_FILE
from ..harness.verdict import index_text
from .results import STATUS_ORDER, STATUSES, Report, anchor_id, bound_share, cell_text, number_text, seconds, \
    status_counts, worst_status

if TYPE_CHECKING:  # pandas for the overview only: a worker building a case's card needs none
    import pandas as pd

__all__ = ["render_html", "card_details", "compile_templates", "CSP", "ELEMENT_LIMIT", "PAGE_BUDGET"]

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
    # column by column, each array's elements as Python floats in index order (not a numpy scalar each)
    columns = [[_num(v) for v in p.ravel().tolist()] if p is not None else [""] * ours.size for p in parts]
    rows = list(zip([index_text(index) for index in np.ndindex(ours.shape)], *columns))
    heat = _heatmap(np.asarray(parts[3])) if parts[3] is not None and ours.ndim == 2 else None
    return ArrayView(dtype=dtype, input=name, shape=cell_text(ours.shape), rows=rows, heatmap=heat)



def _headline(name: str, rows: list[Mapping[str, Any]], case: Any, subject: str) -> CaseView:
    """What a card shows folded: its name, status, file, title, dtypes, counts and subject."""
    file = rows[0]["file"]
    statuses = [r["status"] for r in rows]
    view = CaseView(name=name or file or "(unnamed)", anchor=anchor_id(name or file),
                    status=worst_status(statuses), file=file,
                    dtypes=[d for d in dict.fromkeys(r["dtype"] for r in rows) if d],
                    counts={s: statuses.count(s) for s in STATUSES if s in statuses})
    view.subject = subject
    if case is not None:
        view.title = case.title or ""
    return view


def _case_view(name: str, rows: list[Mapping[str, Any]], case: Any, arrays: Mapping[tuple[str, str, str], Any],
               limit: int, subject: str = "") -> CaseView:
    """A card with its details: the headline, then the case's text, inputs, checks and small gradients
    (``arrays``: the case's, keyed ``(case, dtype, input)``)."""
    view = _headline(name, rows, case, subject)
    if case is not None:
        view.description = case.description or ""
        view.tags = list(case.tags)
        view.steps = list(case.steps.items())
        view.output = case.output
        view.expect = list(case.expect.items())
        view.inputs = [(n, *_value_text(s, limit)) for n, s in case.inputs.items()]
        view.constants = [(n, *_value_text(s, limit)) for n, s in case.constants.items()]
    for r in rows:
        view.checks.append({
            "dtype": r["dtype"], "input": r["input"], "shape": cell_text(r["shape"]), "check": r["check"],
            "status": r["status"], "max_abs_err": _num(r["max_abs_err"]), "max_rel_err": _num(r["max_rel_err"]),
            "atol": _num(r["atol"]), "rtol": _num(r["rtol"]), "fd_err_est": _num(r["fd_err_est"]),
            "worst_index": cell_text(r["worst_index"]), "actual": _num(r["actual"]),
            "expected": _num(r["expected"]), "method": r["method"], "message": r["message"],
        })
    for key in sorted(arrays):
        av = _array_view(key, arrays[key], limit)
        if av is not None:
            view.arrays.append(av)
    return view


def card_details(case: Any, rows: list[Mapping[str, Any]], arrays: Mapping[tuple[str, str, str], Any],
                 limit: int = ELEMENT_LIMIT) -> tuple[str, bool]:
    """A case's card details in report.html, whole, and whether they hold gradients side by side (then,
    should the page's budget not hold them whole, :func:`render_html` builds them without).  ``rows``
    are the case's rows in the table's order, as the table reads them back; ``arrays`` the case's.  A
    worker process builds these right after the case's checks (:class:`~gradcheck_suite.report.pages.CasePages`)."""
    view = _case_view(case.name, rows, case, arrays, limit)
    return next(_candidates(view, _environment())), bool(view.arrays)


# ---- the overview: one row per case × dtype, how close each check came, the slowest --------------


def _overview(table: pd.DataFrame) -> dict[str, Any]:
    """The top of the page: the compact table's rows (for the page's script, as compact JSON), the
    histogram of error ÷ bound, the passing checks nearest their bound and the slowest cases.

    Read from the table alone: ``share`` is :func:`bound_share` of each row, a case × dtype's time
    is :func:`seconds` of its rows, its "worst check" the row of its worst status with the largest share.
    """
    import pandas as pd

    if not len(table):
        return {"data": {"cases": [], "rows": []}, "histogram": _histogram(np.zeros(0), []), "nearest": [],
                "slowest": [], "rows": 0}
    label = table["case"].where(table["case"] != "", table["file"])
    frame = pd.DataFrame({
        "case": label, "dtype": table["dtype"], "status": table["status"], "check": table["check"],
        "input": table["input"], "rank": table["status"].map(STATUS_ORDER),
        "share": bound_share(table["max_abs_err"], table["atol"], table["rtol"], table["expected"],
                             table["fd_err_est"], table["check"]),
    })
    secs = seconds(table.assign(case=label), by=["case", "dtype"])
    worst = frame.sort_values(["rank", "share"], ascending=[True, False], na_position="last", kind="stable") \
        .drop_duplicates(["case", "dtype"])
    names = list(dict.fromkeys(label))
    index = {n: i for i, n in enumerate(names)}
    rows = [[index[r.case], r.dtype, r.status, r.check, r.input, _round(r.share), _round(secs.get((r.case, r.dtype)))]
            for r in worst.itertuples(index=False)]
    judged = frame[frame["status"].isin(_PLOTTED) & np.isfinite(frame["share"])]
    near = judged[judged["status"] == "pass"].nlargest(_LIST_LENGTH, "share", keep="first")
    slow = secs.sort_values(ascending=False, kind="stable").head(_LIST_LENGTH)
    return {
        "data": {"cases": [[n, anchor_id(n)] for n in names], "rows": rows},
        "histogram": _histogram(judged["share"].to_numpy(), judged["status"].tolist()),
        "nearest": [{"case": r.case, "anchor": anchor_id(r.case), "dtype": r.dtype, "check": r.check,
                     "input": r.input, "share": f"{r.share:.3g}"} for r in near.itertuples(index=False)],
        "slowest": [{"case": c, "anchor": anchor_id(c), "dtype": d, "seconds": f"{t:.3g}"}
                    for (c, d), t in slow.items()],
        "rows": len(rows),
    }


#: statuses whose checks the histogram shows (a skip or an error judged nothing)
_PLOTTED = ("pass", "nondiff", "fail")
#: entries of the "nearest the line" and "slowest" lists
_LIST_LENGTH = 10
#: the histogram's bins: decades of error ÷ bound from 10^_LOW to 10^_HIGH in steps of _STEP, plus one
#: bin below (zero errors included) and one above
_LOW, _HIGH, _STEP = -8.0, 2.0, 0.5
_BAR, _PLOT_HEIGHT, _LEFT, _TOP = 28, 120, 30, 18


def _round(x: Any) -> float | None:
    """A number for the page's data: 3 significant digits, None (JSON null) when missing."""
    if x is None:
        return None
    x = float(x)
    return float(f"{x:.3g}") if math.isfinite(x) else None


def _histogram(shares: np.ndarray, statuses: list[str]) -> dict[str, Any]:
    """SVG geometry of the histogram of log10(error ÷ bound), stacked by status; bar heights on a
    log scale of the count (a handful of checks near the line stay visible beside thousands far below)."""
    edges = np.arange(_LOW, _HIGH + _STEP / 2, _STEP)
    with np.errstate(divide="ignore"):
        logs = np.log10(shares) if shares.size else np.zeros(0)
    where = np.searchsorted(edges, logs, side="right")  # 0: below _LOW (or zero), len(edges): at or above _HIGH
    counts = {s: np.bincount(where[np.asarray(statuses) == s], minlength=len(edges) + 1) if shares.size
              else np.zeros(len(edges) + 1, dtype=int) for s in _PLOTTED}
    total = sum(counts.values())
    scale = _PLOT_HEIGHT / math.log10(1 + max(int(total.max()), 1))
    bars = []
    for b in range(len(edges) + 1):
        lo = f"{edges[b - 1]:g}" if b else "-Infinity"  # as the page's script reads them (Number("-Infinity"))
        hi = f"{edges[b]:g}" if b < len(edges) else "Infinity"
        x = _LEFT + b * _BAR
        height = math.log10(1 + int(total[b])) * scale
        y = _TOP + _PLOT_HEIGHT - height
        parts = []
        for s in ("fail", "nondiff", "pass"):  # failures on top, where the eye starts
            n = int(counts[s][b])
            if n:
                h = height * n / int(total[b])
                parts.append({"status": s, "y": round(y, 1), "height": round(h, 1)})
                y += h
        span = ("below 1e" + hi if not b else f"1e{lo} and above" if b == len(edges) else f"1e{lo} to 1e{hi}")
        bars.append({"x": x, "lo": lo, "hi": hi, "total": int(total[b]), "parts": parts,
                     "title": f"error ÷ bound {span}: " + (", ".join(f"{int(counts[s][b])} {s}" for s in _PLOTTED
                                                                   if counts[s][b]) or "no check")})
    line = _LEFT + (np.searchsorted(edges, 0.0, side="right")) * _BAR  # the left edge of the bin [1, …)
    ticks = [{"x": _LEFT + (i + 1) * _BAR, "label": f"1e{e:g}"} for i, e in enumerate(edges) if float(e).is_integer()
             and int(e) % 2 == 0]
    return {"bars": bars, "bar": _BAR, "width": _LEFT + (len(edges) + 1) * _BAR + 10,
            "height": _TOP + _PLOT_HEIGHT + 34, "base": _TOP + _PLOT_HEIGHT, "top": _TOP, "line": line,
            "near": line - 2 * _BAR, "ticks": ticks, "checks": int(total.sum()), "left": _LEFT}


# ---- the page -------------------------------------------------------------------------------------

#: bytes report.html may take: the cards' details (steps, inputs, checks, gradients side by side)
#: fill what the rest of the page leaves, worst cases first (failures and errors before everything
#: else); a card past the budget keeps its headline and links and says where its checks are
#: (results.csv, the answer key).  A library of 3,000 cases stays under 5 MB.
PAGE_BUDGET = 4_500_000
#: failing cases named in the list at the top (the table below names every one)
PROBLEMS_SHOWN = 100


@functools.lru_cache(maxsize=None)
def _environment() -> jinja2.Environment:
    """The templates' environment, made (and each template compiled) once per process."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("gradcheck_suite", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    # the page's data as compact JSON; tojson escapes <, >, & and ' so it cannot end its <script>
    env.policies["json.dumps_kwargs"] = {"separators": (",", ":"), "ensure_ascii": False}
    return env


def compile_templates() -> None:
    """Compile the page's templates now, rather than when the page is first rendered."""
    for name in ("report.html.j2", "report_card.html.j2"):
        _environment().get_template(name)


def _candidates(view: CaseView, env: jinja2.Environment, whole: bool = True) -> Iterator[str]:
    """A card's details, best first, each rendered when asked for: whole (unless ``whole`` is false: it is
    known already), else (when it has any) without the gradients side by side."""
    details = env.get_template("report_card.html.j2").module.details
    if whole:
        yield str(details(view, bool(view.arrays)))
    if view.arrays:
        yield str(details(view, False))


def _prebuilt(pages: Any, view: Callable[[], CaseView], env: jinja2.Environment) -> Iterator[str]:
    """A card's details as its worker built them (:func:`card_details`), then, only when asked for (the
    page's budget did not hold them whole), built here without the gradients side by side."""
    yield pages.card
    if pages.lighter:
        yield from _candidates(view(), env, whole=False)


def _details(views: list[CaseView], candidates: Mapping[str, Iterable[str]], budget: int) -> dict[str, str]:
    """Each card's details as HTML, worst cases first, within ``budget`` bytes: the first of its
    ``candidates`` (whole, else without the gradients side by side) that fits, else left out ("")."""
    out: dict[str, str] = {}
    for v in views:  # worst first: failures and errors get theirs before any other card
        out[v.anchor] = ""
        for text in candidates[v.anchor]:
            size = len(text.encode("utf-8"))
            if size <= budget:
                out[v.anchor], budget = text, budget - size
                break
    return out


def render_html(report: Report, element_limit: int = ELEMENT_LIMIT, answer_key: bool = False,
                page_budget: int = PAGE_BUDGET) -> str:
    """The HTML page; with ``answer_key`` each case links to its page of the answer key written beside it.

    A card's details come from ``report.pages`` when a worker built them (:func:`card_details`, for
    the default ``element_limit``); the others are built here.  The page is rendered once without the
    cards' details, to learn what they may take of ``page_budget`` bytes, then with them.
    """
    from ..gate import verdict_of

    table = report.table
    groups: dict[str, list[int]] = {}  # the rows of each case, in first-seen order
    for i, name in enumerate(table["case"].tolist()):
        groups.setdefault(name, []).append(i)
    heads = {c: table[c].tolist() for c in ("file", "status", "dtype")}
    subjects = dict(report.meta.get("subjects") or {})
    env = _environment()
    records: list[dict[str, Any]] = []
    arrays: dict[str, dict] = {}

    def full_view(name: str, index: list[int]) -> CaseView:  # the table's rows as dicts: made on first use
        if not records:
            records.extend(table.to_dict("records"))
            for key, value in report.arrays.items():
                arrays.setdefault(key[0], {})[key] = value
        return _case_view(name, [records[i] for i in index], report.cases.get(name), arrays.get(name, {}),
                          element_limit, str(subjects.get(name, "")))

    views: list[CaseView] = []
    candidates: dict[str, Iterable[str]] = {}
    for name, index in groups.items():
        built = report.pages.get(name) if element_limit == ELEMENT_LIMIT else None
        if built is not None and built.rows == len(index):
            view = _headline(name, [{c: heads[c][i] for c in heads} for i in index], report.cases.get(name),
                             str(subjects.get(name, "")))
            candidates[view.anchor] = _prebuilt(built, lambda name=name, index=index: full_view(name, index), env)
        else:
            view = full_view(name, index)
            candidates[view.anchor] = _candidates(view, env)
        views.append(view)
    views.sort(key=lambda v: STATUS_ORDER[v.status])  # stable: worst first, then table order
    counts = status_counts(table)
    meta = dict(report.meta)
    links: dict[str, str] = {}
    if answer_key:
        from .answer_key import link_of  # the answer key's pages, only when they are written

        links = {name: link_of(name) for name in report.cases}
    page = env.get_template("report.html.j2")
    context = dict(
        csp=CSP, cases=views, problems=[v for v in views if v.status in ("fail", "error")], counts=counts,
        total=sum(counts.values()), incomplete=report.incomplete, seed=cell_text(meta.get("seed", "")),
        versions=dict(meta.get("versions", {})), started=str(meta.get("started", "")),
        command=str(meta.get("command", "")), statuses=list(counts), answer_links=links,
        answer_index=ANSWER_KEY_FILE if answer_key else "", verdict=verdict_of(report),
        overview=_overview(table), problems_shown=PROBLEMS_SHOWN,
    )
    skeleton = page.render(details={}, **context)
    return page.render(details=_details(views, candidates, page_budget - len(skeleton.encode("utf-8"))), **context)
