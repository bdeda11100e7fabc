"""Random projections: a large input checked through K seeded probes instead of a full Jacobian.

For signed Gaussian probes ``u`` (output-shaped) and ``v`` (input-shaped) — never
non-negative ones, whose sums hide errors that cancel (a blind spot of the peers'
fast modes):

* ``hand_vs_torch`` compares our VJP ``uᵀJ`` with torch's element by element (and, for a
  one-element output, the full gradients, which cost one backward pass each);
* ``hand_vs_fd`` compares ``(uᵀJ)·v`` from our VJP and ``uᵀ(J v)`` from our JVP with
  ``uᵀ(J v)`` from the finite-difference directional derivative;
* ``torch_vs_fd`` compares ``(uᵀJ)·v`` from torch's VJP with the same FD number.

A projected scalar passes when ``|a − r| ≤ atol·max(1, M) + rtol·M + e`` with
``M = Σ|(uᵀJ)ᵢ vᵢ|`` (torch's terms: the size of what is summed, which bounds the
rounding of the sum) and ``e = Σ|u|·(FD error estimate)``.  Any disagreement (or a
kink the directional derivative straddles) sends the input back to the full
Jacobian, which names the worst element.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import engine
from ..reference import fd, torch_ref
from .tolerances import Tolerance, tolerance_for
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
            return "nondiff" if "kink" in self.note and check != "hand_vs_torch" else "skip"
        return "fail" if check == self.check else "skip"

    def message_of(self, check: str, name: str) -> str:
        if self.status_of(check) == "skip":
            return (f"not judged for input {name!r}: the projections disagreed ({self.note}) and the input is "
                    "too large for the full Jacobian")
        return f"{check} failed for input {name!r} in projected mode: {self.note}"


def _scalar_compare(a: np.ndarray, r: np.ndarray, mag: np.ndarray, tol: Tolerance, e: np.ndarray):
    bound = tol.atol * np.maximum(1.0, mag) + tol.rtol * mag + e
    err = np.abs(a - r)
    k = int(np.argmax(err / np.where(bound > 0, bound, np.finfo(float).tiny)))
    return bool(np.all(err <= bound)), k, float(err[k]), float(bound[k])


def check(run: Any, name: str, rng: np.random.Generator, probes: int) -> Outcome:
    """The projected rows of input ``name`` (``run`` is the harness's per-dtype run)."""
    ev, x = run.ev, run.point[name]
    out_shape = ev.output.shape
    scalar = ev.output.size == 1
    u = rng.standard_normal((probes,) + out_shape)
    v = rng.standard_normal((probes,) + x.shape)
    import time

    t0 = time.perf_counter()
    try:
        hand_vjp = engine.vjp(ev, u.astype(run.np_dtype), wrt=[name])[name].astype(np.float64)
        hand_jvp = engine.jvp(ev, {name: v.astype(run.np_dtype)}).astype(np.float64)
        hand_grad = engine.gradient(ev, wrt=[name])[name] if scalar else None
    except Exception as exc:  # a broken rule: the full path reports it with its message
        return Outcome(False, note=f"random projections could not be computed ({type(exc).__name__}: {exc})",
                       check="hand_vs_torch")
    t_hand = time.perf_counter() - t0 + run.t_forward
    t0 = time.perf_counter()
    torch_vjp = torch_ref.vjp(run.tev, u, [name])[name].astype(np.float64)
    torch_grad = torch_ref.gradient(run.tev, [name])[name] if scalar else None
    t_torch = time.perf_counter() - t0 + run.t_torch_forward
    t0 = time.perf_counter()
    dirs = fd.directional(run.graph, run.point64, name, v)
    t_fd = time.perf_counter() - t0
    timing = dict(time_hand_s=t_hand, time_torch_s=t_torch, time_fd_s=t_fd)
    for arr in (hand_vjp, hand_jvp, torch_vjp, dirs.value):
        if first_nonfinite(arr) is not None:
            return Outcome(False, note="a projection is not finite")
    axes = tuple(range(1, 1 + len(out_shape)))
    in_axes = tuple(range(1, 1 + x.ndim))
    s_fd = (u * dirs.value).sum(axis=axes)
    e_fd = (np.abs(u) * dirs.error).sum(axis=axes)
    s_vjp = (hand_vjp * v).sum(axis=in_axes)
    s_jvp = (u * hand_jvp).sum(axis=axes)
    s_torch = (torch_vjp * v).sum(axis=in_axes)
    mag = np.abs(torch_vjp * v).sum(axis=in_axes)
    if run.dtype != "float64":  # the float32 rounding of the projections, measured with torch in float64
        tev64 = torch_ref.replay(run.graph, run.point64, "float64", wrt=[name])
        s_exact = (torch_ref.vjp(tev64, u, [name])[name] * v).sum(axis=in_axes)
        e_fd = e_fd + 2.0 * np.abs(s_torch - s_exact).max(initial=0.0)
    if dirs.forward is not None:
        fwd = (u * dirs.forward).sum(axis=axes)
        bwd = (u * dirs.backward).sum(axis=axes)
        tol = tolerance_for("hand_vs_fd", run.dtype, s_fd, run.case.tolerance)
        if not _scalar_compare(fwd, bwd, mag, tol, e_fd)[0]:
            return Outcome(False, note="a random direction crosses a kink")
    rows: list[dict[str, Any]] = []
    # hand_vs_torch: the VJPs element by element (and the gradients when the output is a scalar)
    ours, ref = (hand_grad, torch_grad) if scalar else (hand_vjp, torch_vjp)
    tol = tolerance_for("hand_vs_torch", run.dtype, ref, run.case.tolerance)
    c = compare(ours, ref, tol)
    what = "gradients" if scalar else f"{probes} VJPs uᵀJ"
    if not c.passed:
        return Outcome(False, note=f"hand_vs_torch: the {what} differ", check="hand_vs_torch")
    rows.append(dict(check="hand_vs_torch", status="pass", max_abs_err=c.max_abs_err, max_rel_err=c.max_rel_err,
                     atol=tol.atol, rtol=tol.rtol, worst_index=index_text(c.worst_index) if scalar else "",
                     actual=c.actual, expected=c.expected, message=f"compared the {what} element by element",
                     **timing))
    for check, pairs in (("hand_vs_fd", (("VJP (uᵀJ)·v", s_vjp), ("JVP uᵀ(Jv)", s_jvp))),
                         ("torch_vs_fd", (("torch VJP (uᵀJ)·v", s_torch),))):
        tol = tolerance_for(check, run.dtype, s_fd, run.case.tolerance)
        worst = None
        for label, s in pairs:
            ok, k, err, bound = _scalar_compare(s, s_fd, mag, tol, e_fd)
            if not ok:
                return Outcome(False, note=f"{check}: probe {k} {label} {num(s[k])} vs finite differences "
                                           f"{num(s_fd[k])}, |err| {err:.3g} > tol {bound:.3g}", check=check)
            if worst is None or err / bound > worst[0]:
                worst = (err / bound, k, s, err)
        _, k, s, err = worst
        rel = float(np.max(np.abs(s - s_fd) / np.where(s_fd != 0, np.abs(s_fd), np.inf)))
        rows.append(dict(check=check, status="pass", max_abs_err=float(np.max(np.abs(s - s_fd))), max_rel_err=rel,
                         atol=tol.atol * max(1.0, float(mag[k])), rtol=tol.rtol, fd_err_est=float(e_fd[k]), worst_index="",
                         actual=float(s[k]), expected=float(s_fd[k]), method=dirs.method,
                         message=f"{probes} random projections agree (signed Gaussian probes); worst probe {k}: "
                                 f"|err| {err:.3g} ≤ atol·max(1, M) + rtol·M + FD error, M = Σ|terms| = "
                                 f"{float(mag[k]):.3g}", **timing))
    return Outcome(True, rows)
