"""The step-size plot: finite-difference error against the step h for one input element.

Central differences have error ≈ ε/h (round-off) + h²·M/6 (truncation): on log-log
axes a V whose bottom lies near h ∝ ε^(1/3).  The sweep's numbers come from the
finite-difference reference (``gradcheck_suite.reference.fd.step_error_curve``); the
error is measured against the engine's derivative of the same element.  The picture is drawn with
matplotlib (Agg backend), imported only when a renderer asks for it.
"""
from __future__ import annotations

import io
import re
from typing import Any, Mapping

import numpy as np

from .. import engine
from ..graph import Graph
from .model import StepSizeSweep

__all__ = ["sweep", "plot_svg"]

def sweep(graph: Graph, leaves: Mapping[str, Any], ev: engine.Evaluation,
          grads: Mapping[str, np.ndarray]) -> StepSizeSweep | None:
    """FD error against h for the first element of the first input (None if there is none).

    For an array output the element is that of the output's first element.  The curve
    comes from :func:`gradcheck_suite.reference.fd.step_error_curve`; the reference it is
    measured against is the engine's derivative of the same element.
    """
    from ..reference import fd

    names = [n for n, i in graph.inputs.items() if ev.requires_grad[i] and ev.values[i].size]
    if not names:
        return None
    name = names[0]
    x = np.asarray(leaves[name], dtype=np.float64)
    index = (0,) * x.ndim
    out = ev.output
    output_index = (0,) * out.ndim
    if out.size == 1:
        row = np.asarray(grads[name])
    else:
        unit = np.zeros(out.shape, dtype=ev.dtype)
        unit[output_index] = 1
        row = engine.vjp(ev, unit, wrt=[name])[name]
    reference = float(np.asarray(row, dtype=np.float64).reshape(-1)[0])
    steps, _, errors, _ = fd.step_error_curve(graph, leaves, name, index, output_index=output_index,
                                              reference=reference)
    label = "[" + ", ".join("0" for _ in index) + "]" if index else ""
    of = graph[graph.output].name + ("[" + ", ".join("0" for _ in output_index) + "]" if output_index else "")
    return StepSizeSweep(input=name, index=label, steps=[float(h) for h in steps],
                         errors=[float(e) for e in errors],
                         step_used=float(np.asarray(fd.default_step(x)).reshape(-1)[0]),
                         eps_cube_root=float(fd.EPS ** (1 / 3)), reference=f"chain rule, ∂{of}")


def plot_svg(s: StepSizeSweep, title: str = "") -> str:
    """The V-shaped curve as an inline ``<svg>`` element (no XML prologue)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    hs = np.asarray(s.steps)
    errs = np.asarray(s.errors)
    floor = np.finfo(np.float64).tiny
    shown = np.where(errs > 0, errs, np.nan)
    fig = Figure(figsize=(6.0, 3.6))
    ax = fig.add_subplot()
    ax.loglog(hs, shown, "o-", color="#1f5fa8", markersize=3.5, label="|FD(h) − chain rule|")
    zeros = errs <= floor
    if zeros.any():
        ax.plot(hs[zeros], np.full(zeros.sum(), np.nanmin(shown) if np.isfinite(shown).any() else 1e-17),
                "v", color="#1f5fa8", markersize=4, label="error exactly 0")
    ax.axvline(s.step_used, color="#c0392b", linestyle="--", linewidth=1.2,
               label=f"step used h = {s.step_used:.3g}")
    ax.axvline(s.eps_cube_root, color="#27ae60", linestyle=":", linewidth=1.4,
               label=f"ε^(1/3) = {s.eps_cube_root:.3g}")
    ax.set_xlabel("step h")
    ax.set_ylabel("absolute error")
    ax.set_title(title or f"central difference of {s.reference.split(', ')[-1]}/∂{s.input}{s.index}")
    ax.grid(True, which="major", linewidth=0.4, alpha=0.6)
    ax.legend(fontsize=7, loc="upper center")
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = re.sub(r"<!--.*?-->", "", svg[svg.index("<svg"):], flags=re.S)  # no case text in comments
    return "\n".join(line for line in svg.splitlines() if line.strip())
