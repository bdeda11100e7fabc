"""Baseline comparison: what changed between an earlier run's results and this one.

A check is identified by ``(file, case, dtype, input, check)`` — the file is part of the
key, so the same case name in two files is two checks, and a load error (``check ==
"load"``, no case, dtype or input) is told apart from another by its file, its case and
its *kind*: the message without its location, digits masked (a load error that only
moved to another line is the same error; a new one in the same file is new).  Paths
are compared in POSIX form without a leading ``./``.

Against a baseline table (``results.csv`` or ``results.json`` of an earlier run) a new
table is classified into:

* **newly failing** — ``fail``/``error`` now, anything else before (a regression);
* **newly passing** — ``pass``/``nondiff``/``skip`` now, ``fail``/``error`` before, with
  the same tolerance;
* **loosened** — checks whose tolerance grew: ``rtol`` larger at all, or ``atol`` more
  than :data:`ATOL_SLACK` times larger (the harness scales ``atol`` with the magnitude
  of the reference gradient, which a new seed moves by a few times).  A check that
  passes only because its tolerance was loosened is *not* newly passing: it is listed
  here, with a warning in every report;
* **new** and **removed** checks (a new check that fails is a regression too);
* **grown errors** — still passing, but judged against its own tolerance the error grew:
  ``ratio = max_abs_err / (atol + rtol·|expected| [+ fd_err_est for FD rows])``, the
  share of the bound the error uses, in the row's dtype; a regression when the new ratio
  exceeds ``factor`` (default 10) times the old one *and* ``factor`` ×
  :data:`RATIO_FLOOR` (1%) — so float32 round-off of 6e-8 against an atol of 1e-5
  (0.6% of the bound) never counts, however small the old error was.

``--fail-on-regression`` makes only regressions fail the gate, so that a known failure
already in the baseline does not block unrelated work.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import CaseError
from .report.results import bound_share

__all__ = ["BaselineDiff", "KEY", "ATOL_SLACK", "RATIO_FLOOR", "compare", "read_table"]

#: the columns that identify one check across runs (plus the kind of a load error)
KEY = ["file", "case", "dtype", "input", "check"]
_BAD = {"fail", "error"}
#: a share of its tolerance bound below this is noise: growth from it is not a regression
RATIO_FLOOR = 0.01
#: atol growing by less than this is the data (atol is scaled by the reference's size)
ATOL_SLACK = 10.0
#: numeric columns a comparison reads beyond the key (absent ones count as unknown)
_NUMBERS = ["max_abs_err", "atol", "rtol", "expected", "fd_err_est"]
_ID = KEY + ["kind", "nth"]


@dataclass
class BaselineDiff:
    """The classified differences; each list holds dicts with the key columns and statuses."""

    newly_failing: list[dict] = field(default_factory=list)
    newly_passing: list[dict] = field(default_factory=list)
    new: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    grown_errors: list[dict] = field(default_factory=list)
    loosened: list[dict] = field(default_factory=list)
    factor: float = 10.0

    @property
    def regressions(self) -> list[dict]:
        """Newly failing checks, new checks that fail, and errors that grew toward their bound."""
        return self.newly_failing + [r for r in self.new if r["status"] in _BAD] + self.grown_errors

    def summary_lines(self) -> list[str]:
        """One line per category, then one per regression and per loosened tolerance."""
        lines = [
            f"baseline: {len(self.newly_failing)} newly failing, {len(self.newly_passing)} newly passing, "
            f"{len(self.new)} new, {len(self.removed)} removed, {len(self.grown_errors)} errors grown "
            f">{self.factor:g}x toward their tolerance, {len(self.loosened)} tolerance(s) loosened"
        ]
        for row in self.newly_failing:
            lines.append(f"  newly {row['status']}: {_label(row)} (was {row['old_status']})")
        for row in self.new:
            if row["status"] in _BAD:
                lines.append(f"  new {row['status']}: {_label(row)}")
        for row in self.grown_errors:
            lines.append(f"  error grew: {_label(row)} {row['old_max_abs_err']:.3g} -> {row['max_abs_err']:.3g} "
                         f"({row['old_ratio']:.1%} -> {row['ratio']:.1%} of its tolerance)")
        for row in self.loosened:
            lines.append(f"  tolerance loosened: {_label(row)} rtol {row['old_rtol']:.3g} -> {row['rtol']:.3g}, "
                         f"atol {row['old_atol']:.3g} -> {row['atol']:.3g} (now {row['status']}, was "
                         f"{row['old_status']}): a loosened tolerance is not a fix")
        return lines


def _label(row: dict) -> str:
    if row["check"] == "load":
        what = f"{row['file']}" + (f" case {row['case']}" if row.get("case") else "")
        return f"{what} load error ({row['kind']})"
    where = f"/{row['input']}" if row.get("input") else ""
    return f"{row['case']}[{row['dtype']}]{where} {row['check']} ({row['file']})"


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a baseline written by ``gradcheck-suite run`` (CSV, or the JSON report)."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = data.get("results", data) if isinstance(data, dict) else data
            table = pd.DataFrame(rows)
        else:
            table = pd.read_csv(path, keep_default_na=False, dtype={"input": str, "case": str, "file": str})
    except FileNotFoundError:
        raise CaseError("baseline file not found", file=str(path)) from None
    except (OSError, ValueError, json.JSONDecodeError, pd.errors.ParserError) as exc:
        raise CaseError(f"cannot read the baseline: {str(exc).splitlines()[0]}", file=str(path)) from None
    missing = [c for c in KEY + ["status", "max_abs_err"] if c not in table.columns]
    if missing:
        raise CaseError(f"not a gradcheck-suite results table: missing column(s) {', '.join(missing)}",
                        file=str(path))
    if path.suffix.lower() != ".json":  # text cells were neutralised against formula injection
        from .report.csv import restore

        table = table.copy()
        for column in ("case", "file", "message"):
            if column in table.columns:
                table[column] = table[column].map(lambda v: restore(v) if isinstance(v, str) else v)
    return _keyed(table)


def _posix(file: object) -> str:
    text = str(file or "").replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    return text


def _kind(file: str, message: str) -> str:
    """A load error's message without its location, digits masked: stable across line moves."""
    text = str(message or "")
    for prefix in (file, _posix(file)):
        if prefix and text.replace("\\", "/").startswith(_posix(prefix)):
            text = text[len(prefix):]
            break
    text = re.sub(r"^(:\d+)*:\s*", "", text)
    return re.sub(r"\d+", "#", text).strip()


def _keyed(table: pd.DataFrame) -> pd.DataFrame:
    """The table with normalised key columns, the numbers as floats, and ``kind``/``nth``."""
    t = table.copy()
    for col in ("message", *_NUMBERS):
        if col not in t.columns:
            t[col] = "" if col == "message" else np.nan
    for col in ("file", "case", "dtype", "input", "check", "status", "message"):
        t[col] = t[col].fillna("").astype(str)
    t["file"] = t["file"].map(_posix)
    for col in _NUMBERS:
        t[col] = pd.to_numeric(t[col], errors="coerce").astype("float64")
    t["kind"] = [(_kind(f, m) if c == "load" else "") for f, m, c in zip(t["file"], t["message"], t["check"])]
    t["nth"] = t.groupby(KEY + ["kind"], sort=False).cumcount()
    return t


def _ratio(row: dict, prefix: str = "") -> float:
    """The share of its tolerance bound a row's error uses (NaN when the bound is unknown)."""
    return bound_share(*(row[prefix + c] for c in ("max_abs_err", "atol", "rtol", "expected", "fd_err_est")),
                       row["check"])


def _loosened(row: dict) -> bool:
    rtol, old_rtol, atol, old_atol = row["rtol"], row["old_rtol"], row["atol"], row["old_atol"]
    return bool((np.isfinite(rtol) and np.isfinite(old_rtol) and rtol > old_rtol * (1 + 1e-9))
                or (np.isfinite(atol) and np.isfinite(old_atol) and atol > ATOL_SLACK * old_atol))


def compare(old: pd.DataFrame, new: pd.DataFrame, *, factor: float = 10.0) -> BaselineDiff:
    """Classify the checks of ``new`` against those of ``old``."""
    cols = _ID + ["status", *_NUMBERS, "message"]
    a = _keyed(old)[cols].drop_duplicates(_ID)
    a = a.rename(columns={c: f"old_{c}" for c in ["status", *_NUMBERS, "message"]})
    b = _keyed(new)[cols].drop_duplicates(_ID)
    merged = b.merge(a, on=_ID, how="outer", indicator=True).sort_values(_ID, kind="stable")
    diff = BaselineDiff(factor=factor)
    for row in merged.to_dict("records"):
        where = row.pop("_merge")
        if where == "left_only":
            diff.new.append(row)
            continue
        if where == "right_only":
            row["status"] = row["old_status"]
            diff.removed.append(row)
            continue
        loosened = _loosened(row)
        if loosened:
            diff.loosened.append(row)
        if row["status"] in _BAD and row["old_status"] not in _BAD:
            diff.newly_failing.append(row)
        elif row["status"] not in _BAD and row["old_status"] in _BAD:
            if not loosened:
                diff.newly_passing.append(row)
        elif row["status"] == "pass" and row["old_status"] == "pass" and not loosened:
            row["ratio"], row["old_ratio"] = _ratio(row), _ratio(row, "old_")
            if np.isfinite(row["ratio"]) and row["ratio"] > factor * max(
                    row["old_ratio"] if np.isfinite(row["old_ratio"]) else 0.0, RATIO_FLOOR):
                diff.grown_errors.append(row)
    return diff
