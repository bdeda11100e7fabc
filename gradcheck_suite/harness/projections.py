"""Random projections: a large input checked through K seeded probes instead of a full Jacobian.

For signed Gaussian probes ``u`` (output-shaped) and ``v`` (input-shaped) — never
non-negative ones, whose sums hide errors that cancel (a blind spot of the peers'
fast modes) — every declared check is judged from its two routes:

* two analytic routes (``hand_vs_torch``, ``subject_vs_hand`` …) compare their VJPs
  ``uᵀJ`` element by element (for a one-element output, the full gradients, which cost
  one backward pass each); a route with only a forward mode (``subject_forward_ad``)
  gives ``uᵀ(J v)``, compared with the reference's ``(uᵀJ)·v``;
* an analytic route against a finite-difference route (``hand_vs_fd``,
  ``subject_vs_fd`` …) compares ``(uᵀJ)·v`` from its VJP (and ``uᵀ(J v)`` from its JVP,
  where it has one) with ``uᵀ(J v)`` from the directional finite difference.

A projected scalar passes when ``|a − r| ≤ atol·max(1, M) + rtol·M + e`` with
``M = Σ|(uᵀJ)ᵢ vᵢ|`` (torch's terms: the size of what is summed, which bounds the
rounding of the sum) and ``e = Σ|u|·(FD error estimate)``.  Any disagreement (or a
kink the directional derivative straddles) sends the input back to the full
Jacobian, which names the worst element.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .tolerances import Tolerance
from .verdict import compare, first_nonfinite, index_text, num

__all__ = ["Outcome", "check"]


@dataclass
class Outcome:
    """Rows for the projected checks; ``ok`` False means: fall back to the full Jacobian."""

    ok: bool
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    check: str = ""  # the check that disagreed ("" when unknown or a kink)

    def status_of(self, check: str) -> str:
        """Status of ``check`` when there is no full Jacobian to fall back to."""
        if self.check == "":
            return "nondiff" if "kink" in self.note and not _analytic_pair(check) else "skip"
        return "fail" if check == self.check else "skip"

    def message_of(self, check: str, name: str) -> str:
        if self.status_of(check) == "skip":
            return (f"not judged for input {name!r}: the projections disagreed ({self.note}) and the input is "
                    "too large for the full Jacobian")
        return f"{check} failed for input {name!r} in projected mode: {self.note}"


def _analytic_pair(check: str) -> bool:
    return not check.endswith("_fd") and check != "subject_double_backward"


def _scalar_compare(a: np.ndarray, r: np.ndarray, mag: np.ndarray, tol: Tolerance, e: np.ndarray):
    bound = tol.atol * np.maximum(1.0, mag) + tol.rtol * mag + e
    err = np.abs(a - r)
    k = int(np.argmax(err / np.where(bound > 0, bound, np.finfo(float).tiny)))
    return bool(np.all(err <= bound)), k, float(err[k]), float(bound[k])


class _Probes:
    """The probes of one input and every route's answer to them, computed once and timed."""

    def __init__(self, checker: Any, name: str, rng: np.random.Generator, probes: int) -> None:
        self.checker, self.name, self.k = checker, name, probes
        p = checker.point
        u = rng.standard_normal((probes,) + p.out_shape)  # u then v: the seeded probes of every run
        self.v = rng.standard_normal((probes,) + p.values[name].shape)
        self._u = {p.out_shape: u}
        self.rng = rng
        self._cache: dict[tuple[str, str], Any] = {}

    def u(self, route: Any) -> np.ndarray:
        shape = route.out_shape(self.name)
        if shape not in self._u:
            self._u[shape] = self.rng.standard_normal((self.k,) + shape)
        return self._u[shape]

    def _timed(self, route: Any, what: str, fn):
        key = (route.name, what)
        if key not in self._cache:
            t0 = time.perf_counter()
            self._cache[key] = fn()
            if route.timing_column:
                timing = self.checker.point.timing
                timing[route.timing_column] = timing.get(route.timing_column, 0.0) + time.perf_counter() - t0
        return self._cache[key]

    def vjp(self, route: Any) -> np.ndarray:
        u = self.u(route)
        return self._timed(route, "vjp", lambda: np.asarray(route.vjp(self.name, u), dtype=np.float64))

    def gradient(self, route: Any) -> np.ndarray:
        return self._timed(route, "grad", lambda: np.asarray(route.gradient(self.name), dtype=np.float64))

    def jvp(self, route: Any) -> np.ndarray:
        return self._timed(route, "jvp", lambda: np.asarray(route.jvp(self.name, self.v), dtype=np.float64))

    def directional(self, route: Any):
        return self._timed(route, "dir", lambda: route.directional(self.name, self.v))

    def pairs(self, route: Any):
        """``uᵀJv`` straight from a route that computes it itself (second differences of the forward)."""
        return self._timed(route, "pairs", lambda: route.pairs(self.name, self.u(route), self.v))


def check(checker: Any, name: str, rng: np.random.Generator, probes: int, specs: list) -> Outcome:
    """The projected rows of input ``name`` for the declared ``specs`` (``checker``: the harness's point)."""
    p = checker.point
    routes = checker.routes
    pr = _Probes(checker, name, rng, probes)
    in_axes = tuple(range(1, 1 + p.values[name].ndim))
    forward_time = dict(p.forward_time)
    rows: list[dict[str, Any]] = []
    try:
        for spec in specs:
            a, r = routes[spec.actual], routes[spec.reference]
            skipped = a.unsupported(name) or r.unsupported(name)
            if skipped is not None:
                rows.append(dict(check=spec.name, status=skipped.status,
                                 message=f"{spec.name} for input {name!r}: {skipped.problem}"))
                if skipped.status == "fail":
                    return Outcome(False, note=skipped.problem, check=spec.name)
                continue
            outcome = (_against_fd if r.kind == "fd" else _analytic)(checker, pr, spec, a, r, in_axes, rows)
            if outcome is not None:
                return outcome
    except Exception as exc:  # a broken rule or user code: the full path reports it with its message
        return Outcome(False, note=f"random projections could not be computed ({type(exc).__name__}: "
                                   f"{str(exc).splitlines()[0] if str(exc) else ''})", check=spec.name)
    timing = {k: forward_time.get(k, 0.0) + v for k, v in p.timing.items()}
    for row in rows:
        row.update(timing)
    return Outcome(True, rows)


def _analytic(checker, pr: _Probes, spec, a, r, in_axes, rows) -> Outcome | None:
    """Two analytic routes: VJPs element by element (gradients for a one-element output)."""
    p = checker.point
    name = pr.name
    scalar = int(np.prod(a.out_shape(name), dtype=np.int64)) == 1
    if not a.has_vjp:  # forward mode only: uᵀ(J v) against (uᵀJ)·v
        s_a = (pr.u(a) * pr.jvp(a)).sum(axis=tuple(range(1, 1 + len(a.out_shape(name)))))
        r_vjp = pr.vjp(r)
        s_r = (r_vjp * pr.v).sum(axis=in_axes)
        mag = np.abs(r_vjp * pr.v).sum(axis=in_axes)
        tol = p.tolerance_of(spec.tolerance, s_r)
        ok, k, err, bound = _scalar_compare(s_a, s_r, mag, tol, np.zeros_like(s_r))
        if not ok:
            return Outcome(False, note=f"{spec.name}: probe {k} {a.label} uᵀ(Jv) {num(s_a[k])} vs {r.label} "
                                       f"(uᵀJ)·v {num(s_r[k])}", check=spec.name)
        rows.append(dict(check=spec.name, status="pass", max_abs_err=float(np.max(np.abs(s_a - s_r))),
                         atol=tol.atol, rtol=tol.rtol, worst_index="", actual=float(s_a[k]), expected=float(s_r[k]),
                         message=f"{pr.k} random projections agree: uᵀ(Jv) by forward mode against (uᵀJ)·v"))
        return None
    ours, ref = (pr.gradient(a), pr.gradient(r)) if scalar else (pr.vjp(a), pr.vjp(r))
    tol = p.tolerance_of(spec.tolerance, ref)
    c = compare(ours, ref, tol)
    what = "gradients" if scalar else f"{pr.k} VJPs uᵀJ"
    if not c.passed:
        return Outcome(False, note=f"{spec.name}: the {what} differ", check=spec.name)
    rows.append(dict(check=spec.name, status="pass", max_abs_err=c.max_abs_err, max_rel_err=c.max_rel_err,
                     atol=tol.atol, rtol=tol.rtol, worst_index=index_text(c.worst_index) if scalar else "",
                     actual=c.actual, expected=c.expected, message=f"compared the {what} element by element"))
    return None


def _against_fd(checker, pr: _Probes, spec, a, r, in_axes, rows) -> Outcome | None:
    """An analytic route against directional finite differences: (uᵀJ)·v and uᵀ(Jv)."""
    p = checker.point
    name = pr.name
    u = pr.u(r)
    out_axes = tuple(range(1, 1 + len(r.out_shape(name))))
    paired = r.projects_pairs  # the route gives uᵀJv itself, not Jv
    dirs = pr.pairs(r) if paired else pr.directional(r)
    a_vjp = pr.vjp(a)
    for arr in (a_vjp, dirs.value):
        if first_nonfinite(arr) is not None:
            return Outcome(False, note="a projection is not finite")
    s_fd = dirs.value if paired else (u * dirs.value).sum(axis=out_axes)
    e_fd = dirs.error if paired else (np.abs(u) * dirs.error).sum(axis=out_axes)
    torch_route = checker.routes.get("torch")
    reference_terms = a_vjp
    if torch_route is not None and r.name in ("fd", "subject_fd"):  # torch's terms bound the sum's rounding
        reference_terms = pr.vjp(torch_route)
        if p.dtype != "float64" and p.graph is not None:  # float32 rounding of the projections, from float64
            s_torch = (reference_terms * pr.v).sum(axis=in_axes)
            s_exact = (torch_route.float64_vjp(name, u) * pr.v).sum(axis=in_axes)
            e_fd = e_fd + 2.0 * np.abs(s_torch - s_exact).max(initial=0.0)
    mag = np.abs(reference_terms * pr.v).sum(axis=in_axes)
    if dirs.forward is not None:
        fwd = dirs.forward if paired else (u * dirs.forward).sum(axis=out_axes)
        bwd = dirs.backward if paired else (u * dirs.backward).sum(axis=out_axes)
        tol = p.tolerance_of("fd", s_fd)
        if not _scalar_compare(fwd, bwd, mag, tol, e_fd)[0]:
            return Outcome(False, note="a random direction crosses a kink")
    pairs = [(f"{a.label} VJP (uᵀJ)·v", (a_vjp * pr.v).sum(axis=in_axes))]
    if a.has_jvp and not (a.name == "hand" and a.missing_jvp(name)):
        pairs.append((f"{a.label} JVP uᵀ(Jv)", (u * pr.jvp(a)).sum(axis=out_axes)))
    tol = p.tolerance_of(spec.tolerance, s_fd)
    worst = None
    for label, s in pairs:
        ok, k, err, bound = _scalar_compare(s, s_fd, mag, tol, e_fd)
        if not ok:
            return Outcome(False, note=f"{spec.name}: probe {k} {label} {num(s[k])} vs {r.label} {num(s_fd[k])}, "
                                       f"|err| {err:.3g} > tol {bound:.3g}", check=spec.name)
        if worst is None or err / bound > worst[0]:
            worst = (err / bound, k, s, err)
    _, k, s, err = worst
    rel = float(np.max(np.abs(s - s_fd) / np.where(s_fd != 0, np.abs(s_fd), np.inf)))
    rows.append(dict(check=spec.name, status="pass", max_abs_err=float(np.max(np.abs(s - s_fd))), max_rel_err=rel,
                     atol=tol.atol * max(1.0, float(mag[k])), rtol=tol.rtol, fd_err_est=float(e_fd[k]),
                     worst_index="", actual=float(s[k]), expected=float(s_fd[k]), method=dirs.method,
                     message=f"{pr.k} random projections agree (signed Gaussian probes); worst probe {k}: "
                             f"|err| {err:.3g} ≤ atol·max(1, M) + rtol·M + FD error, M = Σ|terms| = "
                             f"{float(mag[k]):.3g}"))
    return None
