"""The gate's Python face: assert a case from your own tests, the compact failure table,
and the verdict of a run — the exit code the process returns and the line every report
headlines with it (:func:`decide`, :func:`verdict_of`).

``assert_case`` is the documented one-function API for users' own test suites; the
pytest plugin uses the same :func:`failure_table`, so a failing case reads the same
wherever it fails::

    from gradcheck_suite import assert_case

    def test_my_layer():
        assert_case("cases/my_layer.yaml", name="my_layer")   # raises AssertionError with a table
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .case import Case
from .errors import CaseError, GradcheckError

__all__ = ["GradcheckFailure", "Verdict", "assert_case", "assert_function", "decide", "failure_table",
           "nondiff_note", "verdict", "verdict_of"]

#: statuses that make an item fail / error; everything else passes
FAIL, ERROR = "fail", "error"


class GradcheckFailure(AssertionError):
    """A case whose checks failed; ``str()`` is the compact table."""


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return "—"
    if isinstance(value, (float, np.floating)):
        return f"{value:.6g}"
    return str(value)


def _value_at(arrays: Mapping | None, row: Mapping, which: str) -> Any:
    """The ``which`` (ours/torch/fd) gradient at the row's worst element, when kept."""
    if not arrays:
        return None
    entry = arrays.get((row["case"], row["dtype"], row["input"]))
    if not entry or entry.get(which) is None or not row.get("worst_index"):
        return None
    try:
        idx = tuple(int(i) for i in str(row["worst_index"]).strip("()").split(",") if i.strip())
        return float(np.asarray(entry[which])[idx])
    except (ValueError, IndexError, TypeError):
        return None


def failure_table(table: pd.DataFrame, arrays: Mapping | None = None,
                  statuses: Iterable[str] = (FAIL, ERROR)) -> str:
    """A compact text table of the rows with the given statuses.

    Columns: the check, the input, the worst element, ours / torch / FD at that element
    (where the harness kept the arrays; otherwise the compared value and its reference;
    for ``expect_vs_torch`` rows the claim stands in the "ours" column), the error and
    the tolerance, then each row's message.
    """
    rows = table[table["status"].isin(list(statuses))]
    header = ["check", "input", "worst", "ours", "torch", "fd", "|err|", "tol"]
    body = []
    messages = []
    for row in rows.to_dict("records"):
        ours = _value_at(arrays, row, "ours")
        torch = _value_at(arrays, row, "torch")
        fd = _value_at(arrays, row, "fd")
        check = row["check"]
        if check == "expect_vs_torch":  # the claim stands where our value would
            ours, torch = row.get("actual"), row.get("expected")
        elif ours is None and torch is None and fd is None:
            first, second = check.split("_vs_") if "_vs_" in check else ("", "")
            named = {first: row.get("actual"), second: row.get("expected")}
            ours, torch, fd = named.get("hand"), named.get("torch"), named.get("fd")
        tol = row.get("atol", float("nan")) + row.get("rtol", float("nan")) * abs(row.get("expected") or 0.0)
        if isinstance(row.get("fd_err_est"), float) and not np.isnan(row["fd_err_est"]) and "fd" in check:
            tol += row["fd_err_est"]
        body.append([check, f"{row['input']}", _fmt(row.get("worst_index")), _fmt(ours), _fmt(torch), _fmt(fd),
                     _fmt(row.get("max_abs_err")), _fmt(tol)])
        messages.append(f"- [{row['status']}] {row['message']}")
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in body]
    return "\n".join(lines + [""] + messages)


def nondiff_note(table: pd.DataFrame) -> str:
    """One line per nondiff row (these never fail an item, but they are worth knowing)."""
    rows = table[table["status"] == "nondiff"]
    return "\n".join(f"nondiff {r['check']} for {r['input']!r}: {r['message']}" for r in rows.to_dict("records"))


def verdict(table: pd.DataFrame) -> str:
    """``"error"`` if any row errored, else ``"fail"`` if any failed, else ``"pass"``."""
    statuses = set(table["status"])
    return ERROR if ERROR in statuses else FAIL if FAIL in statuses else "pass"


@dataclass(frozen=True)
class Verdict:
    """What a run returns: ``exit_code`` (the process's), the ``headline`` every report
    leads with, and the baseline comparison's lines (empty without ``--baseline``)."""

    exit_code: int
    headline: str
    baseline: list[str] = field(default_factory=list)
    fail_on_regression: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(table: pd.DataFrame, *, diff: Any = None, fail_on_regression: bool = False,
           incomplete: bool = False, harness_code: int = 0, note: str = "") -> Verdict:
    """The verdict of a run (the exit-code contract of the README, in one place).

    Interrupted: 130.  With a baseline ``diff`` and ``fail_on_regression``: the worst of
    the regressions (2 for an error, 1 for a fail, 0 for none), whatever else fails.
    Otherwise the table decides (2 any error, 1 any fail, else 0), or ``harness_code``
    if that is worse.  ``note`` is appended to the headline (e.g. an empty shard).
    """
    from .contract import EXIT_ERROR, EXIT_FAIL, EXIT_INTERRUPTED, EXIT_OK
    from .report.results import exit_code, status_counts

    counts = status_counts(table)
    if counts[ERROR]:
        found = f"{counts[ERROR]} error(s), {counts[FAIL]} failure(s)"
    elif counts[FAIL]:
        found = f"{counts[FAIL]} failure(s)"
    else:
        found = "all checks passed" if len(table) else "no checks"
    lines = diff.summary_lines() if diff is not None else []
    if incomplete:
        code, headline = EXIT_INTERRUPTED, f"incomplete run; of the finished checks, {found}"
    elif diff is not None and fail_on_regression:
        regressions = diff.regressions
        code = max((EXIT_ERROR if r["status"] == ERROR else EXIT_FAIL for r in regressions), default=EXIT_OK)
        if regressions:
            headline = f"{len(regressions)} regression(s) against the baseline ({found})"
        else:
            headline = "no regression against the baseline" + (f" ({found}, already in it)"
                                                                if counts[ERROR] or counts[FAIL] else "")
    else:
        code, headline = max(exit_code(table), int(harness_code or 0)), found
    if diff is not None and diff.loosened:
        headline += f"; {len(diff.loosened)} tolerance(s) loosened"
    if note:
        headline += f"; {note}"
    return Verdict(code, headline, lines, bool(fail_on_regression and diff is not None))


def verdict_of(report: Any) -> Verdict:
    """The verdict a :class:`~gradcheck_suite.report.Report` carries (``meta["verdict"]``,
    set by ``run`` before any report is written), else the one its table implies."""
    given = dict(getattr(report, "meta", {}) or {}).get("verdict")
    if given:
        return Verdict(**given)
    return decide(report.table, incomplete=bool(getattr(report, "incomplete", False)))


def _resolve(case: Case | str | Path, name: str | None) -> Case:
    if isinstance(case, Case):
        return case
    from .loader import load_paths

    loaded = load_paths([case])
    if loaded.errors:
        raise loaded.errors[0]
    matches = [c for c in loaded.cases if name is None or c.name == name]
    if len(matches) != 1:
        known = ", ".join(c.name for c in loaded.cases)
        what = f"no case named {name!r}" if name else f"{len(matches)} cases (pass name=...)"
        raise CaseError(f"{what}; the file holds: {known}", file=str(case))
    return matches[0]


def assert_case(case: Case | str | Path, *, name: str | None = None, dtypes: list[str] | None = None,
                seed: int = 0, mode: str | None = None) -> pd.DataFrame:
    """Check one case; raise :class:`GradcheckFailure` (an AssertionError) with the table if it fails.

    ``case`` is a :class:`Case` or the path of a case file (``name`` picks one case of a
    file that holds several).  Evaluation errors raise the located
    :class:`~gradcheck_suite.errors.GradcheckError`.  Returns the results table.
    """
    from .api import check_case

    resolved = _resolve(case, name)
    result = check_case(resolved, dtypes=dtypes, seed=seed, mode=mode)
    table = result.table
    status = verdict(table)
    if status == ERROR:
        row = table[table["status"] == ERROR].iloc[0]
        raise GradcheckError(str(row["message"]))
    if status == FAIL:
        raise GradcheckFailure(f"case {resolved.name!r} failed its gradient checks:\n"
                               + failure_table(table, getattr(result, "arrays", None)))
    return table


def assert_function(fn: Any, inputs: Any = None, **options: Any) -> pd.DataFrame:
    """Check your own gradient code (see :func:`gradcheck_suite.api.check_function`, same arguments);
    raise :class:`GradcheckFailure` (an AssertionError) with the table when a check fails or
    errs — an exception in the code under test is a failure of the test.  Returns the table."""
    from .api import check_function

    result = check_function(fn, inputs, **options)
    table = result.table
    status = verdict(table)
    if status != "pass":
        name = table["case"].iloc[0] if len(table) else "the function"
        raise GradcheckFailure(f"{name!r} failed its gradient checks:\n"
                               + failure_table(table, getattr(result, "arrays", None)))
    return table
