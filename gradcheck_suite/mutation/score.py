"""The mutation score of a case library: does some case catch every wrong derivative rule?

For every mutant (:mod:`.mutants`):

1. compare it with the original rule on random probes (:mod:`.probes`); identical
   numbers on every one of them → *equivalent*, excluded from the score with the reason;
2. otherwise install it and check, in this process and in float64, the cases whose
   graphs (or ``expect:`` graphs) apply the primitive, cheapest first, stopping at the
   first case with a ``fail`` or ``error`` row → *caught*;
3. no such case → *survived*; the survivor is then compared with the original on the
   library's own node values, which says whether the library never exercises the
   difference (a case is missing) or exercises it without any check noticing.

The score is ``caught / (mutants − equivalent)``.  Cases that do not pass un-mutated
are not used (they would catch everything) and are reported as errors.
"""
from __future__ import annotations

import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .. import engine
from ..case import Case
from ..errors import GradcheckError, suggest
from ..harness.checks import check_case, x_size_ok
from ..ops import registry
from .mutants import KINDS, RULES, Mutant, installed, mutants_of
from .probes import Comparison, compare, library_probes, random_probes

__all__ = ["Outcome", "MutationResult", "mutation_score", "COLUMNS", "STATUSES", "primitives_used",
           "catching_case", "judge", "passing_cases"]

#: the columns of :attr:`MutationResult.table`, one row per mutant
COLUMNS = ("primitive", "rule", "argument", "kind", "status", "case", "check", "input", "cases_run", "reason",
           "time_s")
#: what can become of a mutant
STATUSES = ("caught", "survived", "equivalent")
#: the dtype the library is checked in under a mutant
DTYPE = "float64"


@dataclass
class Outcome:
    """What became of one mutant."""

    mutant: Mutant
    status: str
    case: str = ""         # the first case that caught it
    check: str = ""        # the check of the first fail/error row there
    input: str = ""
    cases_run: int = 0
    reason: str = ""       # the catching row's message, the equivalence reason or the survivor diagnosis
    time_s: float = 0.0

    def row(self) -> dict[str, Any]:
        m = self.mutant
        return dict(primitive=m.primitive, rule=m.rule, argument=m.argument, kind=m.kind, status=self.status,
                    case=self.case, check=self.check, input=self.input, cases_run=self.cases_run,
                    reason=self.reason, time_s=self.time_s)


@dataclass
class MutationResult:
    """Every mutant's outcome, the errors that make the score untrustworthy, and the timing."""

    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cases: int = 0
    elapsed_s: float = 0.0

    @property
    def table(self) -> pd.DataFrame:
        return pd.DataFrame([o.row() for o in self.outcomes], columns=list(COLUMNS))

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def survivors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "survived"]

    @property
    def equivalent(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "equivalent"]

    @property
    def score(self) -> float:
        """caught / (mutants − equivalent); 1.0 when no mutant is left to catch."""
        judged = len(self.outcomes) - self.count("equivalent")
        return self.count("caught") / judged if judged else 1.0

    @property
    def exit_code(self) -> int:
        """0 every non-equivalent mutant caught, 1 a survivor, 2 errors (or nothing to mutate)."""
        if self.errors or not self.outcomes:
            return 2
        return 0 if not self.survivors else 1

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "mutants": len(self.outcomes),
                **{s: self.count(s) for s in STATUSES}, "cases": self.cases, "elapsed_s": self.elapsed_s,
                "errors": list(self.errors), "outcomes": [o.row() for o in self.outcomes]}


# ---- which cases, in which order --------------------------------------------------------


def primitives_used(case: Case) -> set[str]:
    """The primitives a case applies, in its graph or in its ``expect:`` graphs."""
    used = set(case.graph.primitives_used())
    for graph in case.expect_graphs.values():
        used |= graph.primitives_used()
    return used


def _cost(case: Case) -> float:
    """A proxy for the time one check of ``case`` takes: graph elements × input elements."""
    try:
        ev = engine.evaluate(case.graph, case.leaves(), np.float64)
    except Exception:
        return math.inf
    graph_size = sum(int(np.size(v)) for v in ev.values)
    inputs = sum(int(np.size(ev.values[i])) for i in case.graph.inputs.values())
    return float(graph_size) * (1 + inputs)


def _failing_row(table: pd.DataFrame) -> dict[str, Any] | None:
    bad = table[table["status"].isin(("fail", "error"))]
    return None if bad.empty else bad.iloc[0].to_dict()


def _check(case: Case, seed: int) -> dict[str, Any] | None:
    """The first fail/error row of ``case`` in float64 (an exception counts as an error)."""
    try:
        return _failing_row(check_case(case, dtypes=[DTYPE], seed=seed).table)
    except Exception as exc:  # a rule that breaks the harness is caught as surely as a failing row
        return {"check": "evaluate", "input": "", "message": f"{type(exc).__name__}: {exc}".splitlines()[0]}


def catching_case(mutant: Mutant, cases: Sequence[Case], seed: int = 0) -> tuple[Case | None, dict | None, int]:
    """Install ``mutant`` and check ``cases`` in order until one has a fail/error row.

    Returns the catching case (or None), its first fail/error row and the number of cases run.
    The original rule is restored whatever happens.
    """
    with installed(mutant):
        for n, case in enumerate(cases, 1):
            row = _check(case, seed)
            if row is not None:
                return case, row, n
    return None, None, len(cases)


# ---- one mutant -------------------------------------------------------------------------

_NEVER = {
    "unbroadcast": "no argument is ever stretched by broadcasting",
    "swap": "the operands never have shapes that can be exchanged",
    "transpose": "the {rule} result is never a square matrix",
}
_SAME = {
    "swap": "the rule gives the same numbers with its operands in either order",
    "transpose": "the {rule} result is symmetric wherever it is a square matrix",
    "unbroadcast": "the {rule} result is the same in every broadcast copy",
}


def _equivalence_reason(mutant: Mutant, c: Comparison) -> str:
    shapes = sorted(set(c.shapes))
    where = (f"identical numbers on all {c.probes} random probes (argument shapes "
             f"{'; '.join(shapes[:8])}{'; …' if len(shapes) > 8 else ''})")
    if c.firing.applied == 0 and mutant.kind in _NEVER:
        why = _NEVER[mutant.kind]
    elif c.all_zero:
        why = f"the {mutant.rule.upper()} rule is zero everywhere (−0 = 2·0 = 0 and its transpose is 0)"
    else:
        why = _SAME.get(mutant.kind, "the change leaves the result as it was")
    return why.format(rule=mutant.rule.upper()) + "; " + where


def _exposing_case(mutant: Mutant, cases: Sequence[Case], seed: int) -> str:
    """The first case whose engine Jacobian changes under ``mutant`` (reverse mode for a VJP
    mutant, forward mode for a JVP one), as a sentence; "" when none does."""
    mode = "reverse" if mutant.rule == "vjp" else "forward"
    for case in cases:
        try:
            ev = engine.evaluate(case.graph, case.leaves(seed), np.float64)
        except Exception:
            continue
        for name in case.graph.inputs:
            if mode == "forward" and not x_size_ok(ev.values[case.graph.inputs[name]].size, ev):
                continue  # the harness computes no forward-mode Jacobian here either
            try:
                right = engine.jacobian(ev, [name], mode=mode)[name]
                with installed(mutant):
                    wrong = engine.jacobian(ev, [name], mode=mode)[name]
            except Exception as exc:
                return f"in case {case.name!r} the mutated engine raises {type(exc).__name__} for input {name!r}"
            if not np.allclose(wrong, right, rtol=1e-7, atol=1e-9 * max(1.0, float(np.max(np.abs(right), initial=0)))):
                delta = float(np.max(np.abs(wrong - right)))
                return (f"in case {case.name!r} the engine's {mode}-mode Jacobian for input {name!r} changes "
                        f"under the mutant (max |Δ| {delta:.3g})")
    return ""


def _survivor_reason(mutant: Mutant, cases: Sequence[Case], seed: int) -> str:
    """Why no case caught ``mutant``: the library never exposes it (a case is missing) or a check misses it."""
    if not cases:
        return f"no case applies {mutant.primitive}: a case is missing"
    c = compare(mutant, library_probes(mutant.primitive, cases), seed=seed)
    if c.probes == 0:
        return (f"no case differentiates through argument {mutant.argument!r} of {mutant.primitive} "
                f"({len(cases)} case(s) apply it): a case is missing")
    if not c.differs:
        return (f"the mutant gives the original numbers at every one of the {c.probes} library node(s) that "
                f"differentiate through {mutant.argument!r} (shapes {'; '.join(sorted(set(c.shapes))[:6])}): "
                "the library never exercises the difference, a case is missing")
    exposed = _exposing_case(mutant, cases, seed)
    if exposed:
        return f"{exposed}, yet no check failed: a blind spot of the checks"
    return (f"the mutant differs from the original at {c.differs} for a random "
            f"{'cotangent' if mutant.rule == 'vjp' else 'tangent'}, but in none of the {len(cases)} case(s) "
            "does the engine's Jacobian change (the gradients that reach the node hide it): a case is missing")


def judge(mutant: Mutant, cases: Sequence[Case], seed: int = 0) -> Outcome:
    """The outcome of one mutant against ``cases`` (already those that apply it, cheapest first)."""
    t0 = time.perf_counter()
    c = compare(mutant, random_probes(mutant.primitive, seed), seed=seed, stop_at_first=True)
    if c.equal:
        return Outcome(mutant, "equivalent", reason=_equivalence_reason(mutant, c),
                       time_s=time.perf_counter() - t0)
    case, row, n = catching_case(mutant, cases, seed)
    if case is not None and row is not None:
        return Outcome(mutant, "caught", case=case.name, check=str(row.get("check", "")),
                       input=str(row.get("input", "") or ""), cases_run=n,
                       reason=str(row.get("message", "")).splitlines()[0] if row.get("message") else "",
                       time_s=time.perf_counter() - t0)
    reason = _survivor_reason(mutant, cases, seed)
    if not c.probes:
        reason += " (no random probe reached the argument: the primitive's declared probes never differentiate it)"
    return Outcome(mutant, "survived", cases_run=n, reason=reason, time_s=time.perf_counter() - t0)


def _judge_all(mutants: Sequence[Mutant], cases: Sequence[Case], seed: int) -> list[Outcome]:
    """Worker entry: the mutants of one primitive against its cases."""
    return [judge(m, cases, seed) for m in mutants]


# ---- the whole library --------------------------------------------------------------------


def _load(paths_or_cases: Iterable[str | Path | Case] | str | Path | Case, element_limit: int):
    from ..loader import load_paths

    if isinstance(paths_or_cases, (str, Path, Case)):
        paths_or_cases = [paths_or_cases]
    items = list(paths_or_cases)
    cases = [c for c in items if isinstance(c, Case)]
    paths = [str(p) for p in items if not isinstance(p, Case)]
    errors: list[str] = []
    if paths:
        loaded = load_paths(paths, element_limit=element_limit)
        cases += loaded.cases
        errors += [str(e) for e in loaded.errors]
    return cases, errors


def _selected(primitives: Sequence[str] | None) -> list[registry.Primitive]:
    known = registry.names()
    if primitives is None:
        return [p for p in registry.all_primitives() if mutants_of(p)]
    out = []
    for name in dict.fromkeys(primitives):
        if name not in known:
            raise GradcheckError(f"unknown primitive {name!r}{suggest(name, known)}")
        out.append(registry.get(name))
    return out


def passing_cases(cases: Sequence[Case], seed: int = 0) -> tuple[list[Case], list[str]]:
    """The cases that pass un-mutated, and one error line per case that does not."""
    good, errors = [], []
    for case in cases:
        row = _check(case, seed)
        if row is None:
            good.append(case)
        else:
            errors.append(f"{case.file}: case {case.name!r} does not pass un-mutated ({row.get('check')}: "
                          f"{str(row.get('message', '')).splitlines()[0] if row.get('message') else row.get('status')})"
                          "; it is left out of the mutation run")
    return good, errors


def mutation_score(paths_or_cases: Iterable[str | Path | Case] | str | Path | Case,
                   primitives: Sequence[str] | None = None, *, rules: Sequence[str] = RULES,
                   kinds: Sequence[str] | None = None, jobs: int = 1, seed: int = 0,
                   baseline: bool = True, element_limit: int = 10**7,
                   progress: Callable[..., None] | None = None) -> MutationResult:
    """The mutation score of the cases under ``paths_or_cases`` (paths are loaded; cases used as they are).

    ``primitives`` limits the primitives mutated (default: every one with a rule),
    ``rules`` to ``vjp`` and/or ``jvp``, ``kinds`` to some of :data:`~.mutants.KINDS`.
    ``jobs > 1`` judges primitives in worker processes.  ``baseline`` checks that the
    cases pass un-mutated first (a case that does not is left out and reported).
    ``progress(done, total, primitive)`` is called after every primitive.
    Raises :class:`GradcheckError` for an unknown primitive, rule or kind.
    """
    for r in rules:
        if r not in RULES:
            raise GradcheckError(f"unknown rule {r!r}: use vjp or jvp")
    for k in kinds or ():
        if k not in KINDS:
            raise GradcheckError(f"unknown mutant kind {k!r}{suggest(k, KINDS)}: use one of {', '.join(KINDS)}")
    t0 = time.perf_counter()
    prims = _selected(primitives)
    cases, errors = _load(paths_or_cases, element_limit)
    wanted = {p.name for p in prims}
    used = {c.name: primitives_used(c) for c in cases}
    relevant = [c for c in cases if used[c.name] & wanted]
    if baseline:
        relevant, failed = passing_cases(relevant, seed)
        errors += failed
    cost = {c.name: _cost(c) for c in relevant}
    tasks = []
    for prim in prims:
        mutants = mutants_of(prim, rules, kinds)
        if mutants:
            users = sorted((c for c in relevant if prim.name in used[c.name]), key=lambda c: (cost[c.name], c.name))
            tasks.append((mutants, users))
    outcomes: dict[str, list[Outcome]] = {}

    def done(mutants: Sequence[Mutant], result: list[Outcome]) -> None:
        outcomes[mutants[0].primitive] = result
        if progress is not None:
            progress(len(outcomes), len(tasks), mutants[0].primitive)

    if jobs > 1 and len(tasks) > 1:
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("forkserver"))
        try:
            futures = {pool.submit(_judge_all, m, u, seed): m for m, u in tasks}
            for future in as_completed(futures):
                done(futures[future], future.result())
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
    else:
        for mutants, users in tasks:
            done(mutants, _judge_all(mutants, users, seed))
    ordered = [o for mutants, _ in tasks for o in outcomes[mutants[0].primitive]]
    return MutationResult(ordered, errors, len(cases), time.perf_counter() - t0)
