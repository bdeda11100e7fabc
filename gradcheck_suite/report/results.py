"""The results model every renderer reads: the harness table, conformed, plus run facts.

The harness produces one tidy table (one row per check).  Renderers never compute a
gradient; they read a :class:`Report` — that table with its columns in the contract
order, the parsed cases (for expressions, steps and inputs), the small arrays kept
for side-by-side display, and the run's metadata — and turn it into text.

This module also holds the few facts every renderer shares: the column contract,
the statuses and checks, how a cell is written as text (reproducibly), how a case's
status is summarised and how the exit code follows from the table.
"""
from __future__ import annotations

import hashlib

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import numpy as np

if TYPE_CHECKING:  # pandas is imported where a table is made: a worker building a page needs none
    import pandas as pd

    from .pages import Pages

__all__ = [
    "COLUMNS", "TIME_COLUMNS", "FLOAT_COLUMNS", "STATUSES", "CHECKS", "STATUS_ORDER",
    "Report", "conform", "conform_rows", "cell_text", "status_counts", "worst_status", "exit_code",
    "anchor_id", "safe_name", "case_groups", "bound_share", "seconds",
]

from ..contract import CHECKS, COLUMNS, EXIT_ERROR, EXIT_FAIL, EXIT_OK, FLOAT_COLUMNS, STATUS_ORDER, STATUSES, \
    TIME_COLUMNS


@dataclass
class Report:
    """Everything a renderer may read.

    ``table`` has exactly :data:`COLUMNS` (see :func:`conform`); ``cases`` maps a case
    name to its parsed :class:`~gradcheck_suite.case.Case`; ``arrays`` maps
    ``(case, dtype, input)`` to ``{"ours", "torch", "fd", "abs_err"}`` arrays for small
    inputs; ``meta`` holds the run's facts (seed, versions, paths, options);
    ``incomplete`` is true when the run was interrupted before every case finished;
    ``pages`` maps a case name to its parts of the HTML pages (its answer-key section, its card's
    details) when they were built where the case was checked (:class:`~gradcheck_suite.report.pages.Pages`);
    the renderers build the others.
    """

    table: pd.DataFrame
    cases: Mapping[str, Any] = field(default_factory=dict)
    arrays: Mapping[tuple[str, str, str], Mapping[str, np.ndarray]] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)
    incomplete: bool = False
    pages: Mapping[str, Pages] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.table = conform(self.table)
        if not isinstance(self.cases, Mapping):
            self.cases = {c.name: c for c in self.cases}


#: the columns :func:`conform` and :func:`conform_rows` write as text
_TEXT = ("case", "file", "dtype", "input", "check", "status", "method", "mode", "message")


def conform(table: pd.DataFrame | None) -> pd.DataFrame:
    """The table with exactly :data:`COLUMNS`, in order (missing ones empty), index 0..n-1."""
    import pandas as pd

    if table is None:
        table = pd.DataFrame(columns=list(COLUMNS))
    out = table.reindex(columns=list(COLUMNS)).reset_index(drop=True)
    for col in FLOAT_COLUMNS:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    out["seed"] = pd.to_numeric(out["seed"], errors="coerce").astype("Int64")
    for col in _TEXT:
        out[col] = out[col].map(lambda v: "" if _missing(v) else str(v)).astype(object)
    return out


def conform_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Row dicts as the rows of :func:`conform`'s table read back (``to_numpy(dtype=object)``), without
    a DataFrame: every column of :data:`COLUMNS` (an absent one NaN), floats as float (NaN when
    missing or not a number), the seed an int (``pd.NA`` when missing), text as str ("" when
    missing), None elsewhere NaN.  For one case's rows in a worker process, where building and conforming a DataFrame
    cost more than the answer-key section it feeds (tests hold the two equal)."""
    out = []
    for row in rows:
        item: dict[str, Any] = {}
        for col in COLUMNS:
            if col not in row:
                value = "" if col in _TEXT else _na() if col == "seed" else math.nan
            else:
                value = row[col]
                if col in FLOAT_COLUMNS:
                    value = _number(value)
                elif col == "seed":
                    value = _na() if _missing(value) else int(value)
                elif col in _TEXT:
                    value = "" if _missing(value) else str(value)
                elif value is None:  # shape, worst_index: pandas reads None back as NaN
                    value = math.nan
            item[col] = value
        out.append(item)
    return out


def _number(value: Any) -> float:
    """A cell as ``pd.to_numeric(errors="coerce")`` then float64 reads it."""
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return math.nan
    return math.nan


def _missing(value: Any) -> bool:
    """What ``pd.isna`` says of a cell (False for a sequence); the cells a row holds answered without
    pandas, so that a worker process building an answer-key section never imports it."""
    if value is None:
        return True
    if isinstance(value, (str, bool, int, np.integer, np.bool_, tuple, list, np.ndarray)):
        return False
    if isinstance(value, (float, np.floating)):
        return bool(value != value)
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _na() -> Any:
    """pandas' missing value (what a missing seed reads back as), imported only when one is missing."""
    import pandas as pd

    return pd.NA


def cell_text(value: Any) -> str:
    """A cell as text, the same on every run: floats in shortest round-trip form.

    Missing values (None, NaN in a non-result sense) are written as "" — but a NaN
    *result* is a real finding, so callers that must show it use :func:`number_text`.
    """
    if _missing(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return number_text(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(cell_text(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return str(value)


def number_text(value: Any) -> str:
    """A float in shortest round-trip form (``repr``); "nan", "inf", "-inf" as such."""
    x = float(value)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)


def status_counts(table: pd.DataFrame) -> dict[str, int]:
    """Rows per status, every status present (0 when absent), in :data:`STATUSES` order."""
    counts = table["status"].value_counts() if len(table) else {}
    return {s: int(counts.get(s, 0)) for s in STATUSES}


def worst_status(statuses: Iterable[str]) -> str:
    """The worst of several statuses (error > fail > nondiff > skip > pass); "pass" if none."""
    seen = [s for s in statuses if s in STATUS_ORDER]
    return min(seen, key=STATUS_ORDER.__getitem__) if seen else "pass"


def exit_code(table: pd.DataFrame) -> int:
    """0 every check passed (nondiff/skip allowed), 1 a fail, 2 an error."""
    statuses = set(table["status"])
    if "error" in statuses:
        return EXIT_ERROR
    if "fail" in statuses:
        return EXIT_FAIL
    return EXIT_OK


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(name: str) -> str:
    """A name usable in a file name or an HTML id: letters, digits, ``_ . -`` only, no ``..``."""
    text = _UNSAFE.sub("-", str(name)).strip(".-") or "unnamed"
    return re.sub(r"\.{2,}", ".", text)


def unique_safe_name(name: str) -> str:
    """:func:`safe_name`, plus a short hash of the name whenever sanitising changed it, so
    that distinct names (``a..b`` and ``a.b``) never share a file name or an HTML id."""
    safe = safe_name(name)
    if safe != name:
        safe += "-" + hashlib.sha256(str(name).encode("utf-8")).hexdigest()[:8]
    return safe


def anchor_id(case: str) -> str:
    """The HTML anchor of a case in report.html (``case-<name>``)."""
    return "case-" + unique_safe_name(case)


def case_groups(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``(case, rows)`` in first-seen order; rows keep the table's order."""
    if not len(table):
        return []
    return list(table.groupby("case", sort=False))


def bound_share(max_abs_err, atol, rtol, expected, fd_err_est, check):
    """The share of its tolerance bound a check's error uses: ``max_abs_err / (atol + rtol·|expected|
    (+ fd_err_est on a row against finite differences))`` — below 1 passes, near 1 is close to the
    line.  Scalars or arrays (columns of the table); NaN where the bound is unknown or not positive.
    """
    err, atol, rtol, expected, est = (np.asarray(v, dtype=float) for v in (max_abs_err, atol, rtol, expected,
                                                                           fd_err_est))
    against_fd = np.asarray(np.char.find(np.asarray(check, dtype=str), "fd") >= 0)
    bound = atol + rtol * np.abs(expected) + np.where(against_fd & np.isfinite(est), est, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(np.isfinite(bound) & (bound > 0), err / np.where(bound > 0, bound, 1.0), np.nan)
    return share if share.ndim else float(share)


def seconds(rows: pd.DataFrame, by: Iterable[str] = ()) -> pd.Series | float:
    """Time spent on ``rows`` (all three routes): each input's timings once — the rows of one
    input repeat them — summed; per group of ``by`` columns (a Series) or in all (a float)."""
    by = list(by)
    times = rows[by + ["input", *TIME_COLUMNS]].fillna({c: 0.0 for c in TIME_COLUMNS})
    per_input = times.groupby(by + ["input"], sort=False)[list(TIME_COLUMNS)].max().sum(axis=1)
    return per_input.groupby(level=by, sort=False).sum() if by else float(per_input.sum())
