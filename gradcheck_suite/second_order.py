"""Second order by the engine's own rules: Hessian-vector products, Hessians, uᵀHv.

Forward over reverse.  For the scalar ``s(x) = wᵀf(x)`` (``w`` = 1 for a one-element
output, else a fixed cotangent) one reverse pass computes the gradient ``∇s`` node by
node — every argument receives ``vjp[k](g, ans, *args)`` — and, alongside, the
*tangent* of that reverse pass in a direction ``v``: the inputs move by ``v``, every
node's value by its tangent (the JVP rules), so every contribution changes by

    d vjp[k] = vjp[k](ġ, ans, *args)                      (the VJP is linear in g)
             + vjp_tangent[k](g, ans, ȧns, ȧrgs, *args)    (the arguments moved)

and the tangent of the gradient at the inputs is ``H·v``.  ``vjp_tangent`` is what a
primitive declares as ``second_order`` in the registry (generated from its second
local derivative for an elementwise primitive; nothing for a linear one; the product
rule on its VJP for a bilinear one).  No finite differences anywhere: this module
knows no op, only the registry's declarations.

Directions may carry leading batch axes (many at once: the columns of a Hessian).
A primitive without a second-order rule raises :class:`SecondOrderUnavailable` naming it
(and why); :func:`missing` lists those on a path beforehand; :func:`describe` words a
declaration for ``gradcheck-suite ops``.  With a :class:`SecondOrderTrace`, :func:`hvp`
records what every node received and sent — the answer key's Hessian section is a view of it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from . import engine
from .engine import Evaluation
from .ops import registry
from .ops.registry import BILINEAR, LINEAR, PIECEWISE_LINEAR, NotDifferentiable, unbroadcast

__all__ = ["SecondOrderUnavailable", "SecondOrderTrace", "reason", "describe", "missing", "hvp", "hessian", "uhv"]

#: bytes one batched pass of directions may use for its largest array
CHUNK_BYTES = 64 * 2**20


@dataclass
class SecondOrderTrace:
    """What one HVP pass saw, for the answer key (every array with the directions' batch axes in front,
    except ``upstream``).

    ``tangents[i]`` is how node i's value moves along the direction (its JVP); ``upstream[i]``
    the gradient ∂s/∂node i and ``upstream_tangent[i]`` how it moves (∂²s/∂node i ∂v: the sum
    of ``contributions`` from its consumers).  What node j sends to its k-th argument moves by
    ``through_upstream[(j, k)]`` (its VJP rule applied to the moved upstream, ġ·∂u/∂a) plus
    ``through_arguments[(j, k)]`` (its second-order rule: g·∂(∂u/∂a) as the arguments move;
    absent for a linear or piecewise-linear primitive); ``contributions[(j, k)]`` is the sum.
    """

    tangents: dict[int, np.ndarray] = field(default_factory=dict)
    upstream: dict[int, np.ndarray] = field(default_factory=dict)
    upstream_tangent: dict[int, np.ndarray] = field(default_factory=dict)
    through_upstream: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    through_arguments: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    contributions: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)


class SecondOrderUnavailable(Exception):
    """A primitive on the path declares no second-order rule (the message says which and why)."""


def reason(prim: registry.Primitive) -> str:
    """Why ``prim`` has no second-order rule ("" when it has one)."""
    so = prim.second_order
    if not isinstance(so, str) or so in (LINEAR, PIECEWISE_LINEAR, BILINEAR):
        return ""
    return so or "declares no second-order rule yet"


#: how ``gradcheck-suite ops`` words each kind of declaration
_KIND_WORDS = {
    LINEAR: "linear: the VJP does not depend on the arguments' values (nothing to add)",
    BILINEAR: "bilinear: the product rule on the VJP rules",
    PIECEWISE_LINEAR: "piecewise linear: every second derivative is 0 away from the kinks",
}


def describe(prim: registry.Primitive) -> str:
    """One line for ``gradcheck-suite ops``: the kind of second-order rule ``prim`` declares, or why none."""
    so = prim.second_order
    if not isinstance(so, str):
        if prim.local_derivative is not None:
            return "second derivative ∂²out/∂argᵢ∂argⱼ declared (the rule is generated from it)"
        return "rule per argument: how its VJP moves with the arguments (vjp_tangent)"
    return _KIND_WORDS.get(so) or f"none: {reason(prim)}"


def missing(ev: Evaluation, wrt: Sequence[str] | None = None) -> dict[str, str]:
    """Primitives between the inputs ``wrt`` and the output that lack a second-order rule → why."""
    graph = ev.graph
    out: dict[str, str] = {}
    needed = graph.ancestors(graph.output)
    for node in graph.nodes[: graph.output + 1]:
        if node.is_leaf or not ev.requires_grad[node.id] or node.id not in needed:
            continue
        why = reason(registry.get(node.op))
        if why:
            out[node.op] = why
    return out


def _cotangent(ev: Evaluation, w: np.ndarray | None) -> np.ndarray:
    out = ev.output
    if w is None:
        if out.size != 1:
            raise ValueError(f"second order of an output of shape {out.shape} needs a cotangent w (of wᵀf)")
        return np.ones(out.shape, dtype=ev.dtype)
    w = np.asarray(w, dtype=ev.dtype)
    if w.shape != out.shape:
        raise ValueError(f"cotangent of shape {w.shape}, the output has shape {out.shape}")
    return w


def _bilinear(rule, prim, g, ans, args, dargs, params, k, batch):
    """Product rule: Σ_{j≠k} vjp[k] with argument j replaced by its tangent (one batch item at a time)."""
    total = None
    n = int(np.prod(batch, dtype=np.int64))
    for j, t in enumerate(dargs):
        if t is None or j == k:
            continue
        flat = t.reshape((n,) + t.shape[len(batch):])
        parts = []
        for b in range(n):
            moved = list(args)
            moved[j] = flat[b].reshape(args[j].shape)
            parts.append(np.asarray(engine._call(rule, prim, g, ans, moved, params, k)))
        term = np.stack(parts).reshape(batch + parts[0].shape)
        total = term if total is None else total + term
    return total


def hvp(ev: Evaluation, directions: Mapping[str, np.ndarray], *, cotangent: np.ndarray | None = None,
        wrt: Sequence[str] | None = None, trace: SecondOrderTrace | None = None
        ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(∇s, H·v)`` of ``s = wᵀf`` at the point, for directions ``v`` (input name → batch + shape).

    Inputs without a direction do not move.  Returns the gradient per input of ``wrt``
    (input shape) and ``H·v`` per input of ``wrt`` (batch + input shape).  With ``trace``,
    records what every node received and sent (the answer key's Hessian section).
    """
    graph = ev.graph
    names = list(graph.inputs) if wrt is None else list(wrt)
    g0 = _cotangent(ev, cotangent)
    tans, batch = engine.node_tangents(ev, directions)
    if trace is not None:
        trace.tangents.update(tans)
    grads: dict[int, np.ndarray] = {graph.output: g0}
    dgrads: dict[int, np.ndarray] = {}
    needed = graph.ancestors(graph.output)
    for node in reversed(graph.nodes[: graph.output + 1]):
        if node.id not in needed or node.is_leaf or node.id not in grads or not ev.requires_grad[node.id]:
            continue
        prim = registry.get(node.op)
        g, dg = grads[node.id], dgrads.get(node.id)
        ans, args, params = ev.values[node.id], [ev.values[a] for a in node.args], ev.params[node.id]
        dargs = [tans.get(a) for a in node.args]
        if prim.broadcasts:
            dargs = [None if t is None else t.reshape(batch + (1,) * (ans.ndim - a.ndim) + a.shape)
                     for t, a in zip(dargs, args)]
        moved = any(t is not None for t in dargs)
        if trace is not None:
            trace.upstream[node.id] = g
            trace.upstream_tangent[node.id] = np.zeros(batch + g.shape, dtype=ev.dtype) if dg is None else dg
        for k, a in enumerate(node.args):
            if not ev.requires_grad[a]:
                continue
            rule = engine._rule(prim, prim.vjp, k)
            if isinstance(rule, NotDifferentiable):
                continue
            contrib = np.asarray(engine._call(rule, prim, g, ans, args, params, k))
            first = None if dg is None else np.asarray(engine._call(rule, prim, dg, ans, args, params, k))
            dcontrib, extra = first, None
            if moved and prim.second_order not in (LINEAR, PIECEWISE_LINEAR):
                extra = _moved(node, prim, rule, g, ans, tans.get(node.id), args, dargs, params, k, batch)
                if extra is not None:
                    extra = np.broadcast_to(extra, batch + contrib.shape) if extra.shape != batch + contrib.shape \
                        else extra
                    dcontrib = extra if dcontrib is None else dcontrib + extra
            if trace is not None:  # a path that nothing moves on is recorded as zeros: the key shows every step
                still = None if dcontrib is not None else np.zeros(batch + contrib.shape, dtype=ev.dtype)
                _record(trace, (node.id, k), prim, {"through_upstream": first if still is None else still,
                                                    "through_arguments": extra,
                                                    "contributions": dcontrib if still is None else still},
                        args[k].shape, ans.ndim)
            if prim.broadcasts:
                contrib = unbroadcast(contrib, args[k].shape, ans.ndim)
                if dcontrib is not None:
                    dcontrib = unbroadcast(dcontrib, args[k].shape, ans.ndim)
            engine._check_shape(node, prim, k, contrib, args[k].shape, "VJP")
            grads[a] = contrib if a not in grads else grads[a] + contrib
            if dcontrib is not None:
                engine._check_shape(node, prim, k, dcontrib, batch + args[k].shape, "second-order")
                dgrads[a] = dcontrib if a not in dgrads else dgrads[a] + dcontrib
    grad, hv = {}, {}
    for name in names:
        i = graph.inputs[name]
        shape = ev.values[i].shape
        grad[name] = np.asarray(grads.get(i, np.zeros(shape)), dtype=ev.dtype)
        hv[name] = np.require(dgrads[i], dtype=ev.dtype, requirements="C") if i in dgrads \
            else np.zeros(batch + shape, dtype=ev.dtype)
    return grad, hv


def _record(trace: SecondOrderTrace, edge: tuple[int, int], prim, parts: Mapping[str, np.ndarray | None],
            shape: tuple[int, ...], out_ndim: int) -> None:
    """What node j sends to argument k (``edge``), each part in the argument's shape (broadcasting undone)."""
    for key, part in parts.items():
        if part is not None:
            getattr(trace, key)[edge] = unbroadcast(part, shape, out_ndim) if prim.broadcasts else np.array(part)


def _moved(node, prim, rule, g, ans, dans, args, dargs, params, k, batch):
    """How argument k's contribution changes because the arguments moved (None: not at all)."""
    so = prim.second_order
    if so == BILINEAR:
        return _bilinear(rule, prim, g, ans, args, dargs, params, k, batch)
    if isinstance(so, str):
        raise SecondOrderUnavailable(f"{prim.name} (at {node.label}) {reason(prim)}")
    tangent_rule = so[0] if prim.variadic else so[k]
    if isinstance(tangent_rule, NotDifferentiable):
        return None
    out = tangent_rule(g, ans, dans, dargs, *args, argnum=k, **params) if prim.variadic \
        else tangent_rule(g, ans, dans, dargs, *args, **params)
    return np.asarray(out)


def hessian(ev: Evaluation, name: str, *, cotangent: np.ndarray | None = None,
            wrt: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The columns ∂(∇s)/∂``name`` of the Hessian of ``s = wᵀf``: per input y of ``wrt``,
    an array of shape y.shape + name.shape (``∂²s/∂y∂name``), by batched HVPs."""
    graph = ev.graph
    x = ev.values[graph.inputs[name]]
    n = x.size
    names = list(graph.inputs) if wrt is None else list(wrt)
    largest = max((v.size for v in ev.values), default=1)
    step = max(1, min(n, CHUNK_BYTES // max(1, largest * ev.dtype.itemsize)))
    parts: dict[str, list[np.ndarray]] = {y: [] for y in names}
    for start in range(0, n, step):
        stop = min(n, start + step)
        seeds = np.zeros((stop - start, n), dtype=ev.dtype)
        seeds[np.arange(stop - start), np.arange(start, stop)] = 1
        _, hv = hvp(ev, {name: seeds.reshape((stop - start,) + x.shape)}, cotangent=cotangent, wrt=names)
        for y in names:
            parts[y].append(hv[y])
    out = {}
    for y in names:
        cols = np.concatenate(parts[y], axis=0) if n else np.zeros((0,) + ev.values[graph.inputs[y]].shape)
        out[y] = np.moveaxis(cols.reshape((n,) + cols.shape[1:]), 0, -1).reshape(
            ev.values[graph.inputs[y]].shape + x.shape)
    return out


def uhv(ev: Evaluation, u: Mapping[str, np.ndarray], v: Mapping[str, np.ndarray], *,
        cotangent: np.ndarray | None = None) -> np.ndarray:
    """Second-order directional derivatives ``uᵀ H v`` (u, v: input name → batch + shape, same batch)."""
    _, hv = hvp(ev, v, cotangent=cotangent)
    total = None
    for name, un in u.items():
        un = np.asarray(un, dtype=np.float64)
        nb = un.ndim - ev.values[ev.graph.inputs[name]].ndim
        term = (un * hv[name]).reshape(un.shape[:nb] + (-1,)).sum(axis=-1)
        total = term if total is None else total + term
    return np.asarray(total)
