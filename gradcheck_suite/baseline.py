"""Baseline comparison: what changed between an earlier run's results and this one.

A check is identified by ``(case, dtype, input, check)``.  Against a baseline table
(``results.csv`` or ``results.json`` of an earlier run) a new table is classified into:

* **newly failing** — ``fail``/``error`` now, anything else before (a regression);
* **newly passing** — ``pass``/``nondiff``/``skip`` now, ``fail``/``error`` before;
* **new** and **removed** checks (a new check that fails is a regression too);
* **grown errors** — still passing, but ``max_abs_err`` grew by more than ``factor``
  (default 10×) over a baseline error that was not negligible (a regression: a gradient
  that drifts toward its tolerance is worth a look before it fails).

``--fail-on-regression`` makes only regressions fail the gate (exit 1), so that a known
failure already in the baseline does not block unrelated work.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import CaseError

__all__ = ["BaselineDiff", "KEY", "compare", "read_table"]

#: the columns that identify one check across runs
KEY = ["case", "dtype", "input", "check"]
_BAD = {"fail", "error"}
#: errors below this are round-off: growth from 1e-17 to 1e-15 is not a regression
_NEGLIGIBLE = 1e-12


@dataclass
class BaselineDiff:
    """The classified differences; each list holds dicts with the key columns and statuses."""

    newly_failing: list[dict] = field(default_factory=list)
    newly_passing: list[dict] = field(default_factory=list)
    new: list[dict] = field(default_factory=list)
    removed: list[dict] = field(default_factory=list)
    grown_errors: list[dict] = field(default_factory=list)

    @property
    def regressions(self) -> list[dict]:
        """Newly failing checks, new checks that fail, and errors that grew by more than the factor."""
        return self.newly_failing + [r for r in self.new if r["status"] in _BAD] + self.grown_errors

    def summary_lines(self) -> list[str]:
        """One line per category, then one per regression (for the terminal and Markdown)."""
        lines = [
            f"baseline: {len(self.newly_failing)} newly failing, {len(self.newly_passing)} newly passing, "
            f"{len(self.new)} new, {len(self.removed)} removed, {len(self.grown_errors)} errors grown >10x"
        ]
        for row in self.newly_failing:
            lines.append(f"  newly {row['status']}: {_label(row)} (was {row['old_status']})")
        for row in self.grown_errors:
            lines.append(f"  error grew: {_label(row)} {row['old_max_abs_err']:.3g} -> {row['max_abs_err']:.3g}")
        return lines


def _label(row: dict) -> str:
    where = f"/{row['input']}" if row.get("input") else ""
    return f"{row['case']}[{row['dtype']}]{where} {row['check']}"


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a baseline written by ``gradcheck-suite run`` (CSV, or the JSON report)."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            rows = data.get("results", data) if isinstance(data, dict) else data
            table = pd.DataFrame(rows)
        else:
            table = pd.read_csv(path, keep_default_na=False, dtype={"input": str, "case": str})
    except FileNotFoundError:
        raise CaseError("baseline file not found", file=str(path)) from None
    except (OSError, ValueError, json.JSONDecodeError, pd.errors.ParserError) as exc:
        raise CaseError(f"cannot read the baseline: {str(exc).splitlines()[0]}", file=str(path)) from None
    missing = [c for c in KEY + ["status", "max_abs_err"] if c not in table.columns]
    if missing:
        raise CaseError(f"not a gradcheck-suite results table: missing column(s) {', '.join(missing)}",
                        file=str(path))
    table = table.copy()
    if path.suffix.lower() != ".json":  # text cells were neutralised against formula injection
        from .report.csv import restore

        for column in ("case", "file", "message"):
            if column in table.columns:
                table[column] = table[column].map(lambda v: restore(v) if isinstance(v, str) else v)
    table["input"] = table["input"].fillna("").astype(str)
    table["max_abs_err"] = pd.to_numeric(table["max_abs_err"], errors="coerce")
    return table


def compare(old: pd.DataFrame, new: pd.DataFrame, *, factor: float = 10.0) -> BaselineDiff:
    """Classify the checks of ``new`` against those of ``old``."""
    cols = KEY + ["status", "max_abs_err"]
    a = old[cols].drop_duplicates(KEY).rename(columns={"status": "old_status", "max_abs_err": "old_max_abs_err"})
    b = new[cols].drop_duplicates(KEY)
    a = a.assign(input=a["input"].fillna("").astype(str))
    b = b.assign(input=b["input"].fillna("").astype(str))
    merged = b.merge(a, on=KEY, how="outer", indicator=True).sort_values(KEY, kind="stable")
    diff = BaselineDiff()
    for row in merged.to_dict("records"):
        where = row.pop("_merge")
        if where == "left_only":
            diff.new.append(row)
        elif where == "right_only":
            diff.removed.append(row)
        elif row["status"] in _BAD and row["old_status"] not in _BAD:
            diff.newly_failing.append(row)
        elif row["status"] not in _BAD and row["old_status"] in _BAD:
            diff.newly_passing.append(row)
        elif row["status"] not in _BAD:
            old_err, new_err = row["old_max_abs_err"], row["max_abs_err"]
            if pd.notna(old_err) and pd.notna(new_err) and new_err > factor * max(old_err, _NEGLIGIBLE):
                diff.grown_errors.append(row)
    return diff
