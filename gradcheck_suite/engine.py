"""The hand-written chain-rule engine: forward values, VJP, JVP, Jacobians and the trace.

The engine walks a :class:`~gradcheck_suite.graph.Graph` and calls the rules of the
primitive registry; it knows no op by name.  Reverse mode visits the nodes in reverse
topological order (the graph's own order, so no recursion) and *accumulates* where a
value feeds several nodes — that sum is the chain rule's
``∂z/∂x = ∂z/∂u·∂u/∂x + ∂z/∂v·∂v/∂x``.  After every rule one shape check: a gradient
has its argument's shape.

Cotangents and tangents may carry leading batch axes (many of them in one pass): that
is how full Jacobians are built without a Python loop over every element.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Collection, Mapping, Sequence

import numpy as np

from .errors import EvalError
from .graph import LEAF_OPS, Graph, Node
from .ops import registry
from .ops.registry import BIG, NotDifferentiable, RuleError, normalise_params, unbroadcast

__all__ = [
    "Evaluation",
    "Trace",
    "evaluate",
    "evaluate_batched",
    "gradients_batched",
    "vjp",
    "jvp",
    "node_tangents",
    "gradient",
    "jacobian",
    "local_jacobian",
    "RuleError",
]

#: bytes one batched pass may use for its largest array (chunks are sized to this)
CHUNK_BYTES = 64 * 2**20
#: what a primitive's forward may raise on arguments it cannot take (an EvalError naming the step)
_FORWARD_ERRORS = (ValueError, TypeError, IndexError, np.linalg.LinAlgError, ZeroDivisionError)


@dataclass
class Evaluation:
    """A forward pass: every node's value and its normalised parameters."""

    graph: Graph
    dtype: np.dtype
    values: list[np.ndarray]
    params: list[dict[str, Any]]
    requires_grad: list[bool]

    def value(self, name: str) -> np.ndarray:
        """The value of an input, constant or step by name."""
        g = self.graph
        for table in (g.steps, g.inputs, g.constants):
            if name in table:
                return self.values[table[name]]
        raise KeyError(name)

    @property
    def output(self) -> np.ndarray:
        return self.values[self.graph.output]


@dataclass
class Trace:
    """What a reverse pass saw, for the answer key.

    ``upstream[i]`` is the gradient of the output with respect to node ``i`` (the sum
    of ``contributions`` from its consumers); ``contributions[(j, k)]`` is what node
    ``j`` sent back to its ``k``-th argument (upstream × local derivative).
    """

    upstream: dict[int, np.ndarray] = field(default_factory=dict)
    contributions: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)


# ---- forward ----------------------------------------------------------------------


def _where(node: Node) -> dict[str, Any]:
    return {"step": node.step, "line": node.line or None, "col": node.col or None}


def _fail(node: Node, args: Sequence[np.ndarray], exc: Exception) -> EvalError:
    shapes = ", ".join(str(tuple(a.shape)) for a in args)
    text = str(exc).split("\n")[0]
    what = node.label
    return EvalError(f"{what} failed on arguments of shapes {shapes}: {text}", **_where(node))


def _leaf_value(node: Node, leaves: Mapping[str, np.ndarray], dtype: np.dtype) -> np.ndarray:
    if node.op == "literal":
        return np.asarray(node.value, dtype=dtype)
    if node.name not in leaves:
        raise EvalError(f"no value given for {node.op} {node.name!r}", **_where(node))
    return np.asarray(leaves[node.name], dtype=dtype)


def _requires_grad(graph: Graph) -> list[bool]:
    flags = [False] * len(graph)
    for node in graph:
        if node.op == "input":
            flags[node.id] = True
        elif node.op not in LEAF_OPS:
            flags[node.id] = _carries_gradient(registry.get(node.op), node, flags)
    return flags


def _carries_gradient(prim: registry.Primitive, node: Node, flags: Sequence[bool]) -> bool:
    """Does a gradient reach ``node``: an argument carries one (``flags``) and its VJP rule is not NOT_DIFFERENTIABLE."""
    if not prim.differentiable_output:
        return False
    for k, a in enumerate(node.args):  # a loop, not any(): this runs for every node of every forward pass
        if flags[a] and not isinstance(_rule(prim, prim.vjp, k), NotDifferentiable):
            return True
    return False


def evaluate(graph: Graph, leaves: Mapping[str, np.ndarray], dtype: Any = np.float64,
             keep: Collection[int] | None = None) -> Evaluation:
    """Forward pass in ``dtype``; raises :class:`EvalError` naming the failing step.

    With ``keep`` (node ids), every other value is dropped (``None``) as soon as its last
    consumer has run: peak memory is then that of the live values, not of the whole graph
    (for passes that only need a few values, such as the loader's shape check).
    """
    dtype = np.dtype(dtype)
    values: list[np.ndarray] = []
    params: list[dict[str, Any]] = []
    requires = [False] * len(graph)  # as _requires_grad(graph) gives them, made on the way
    last_use: dict[int, int] = {}
    if keep is not None:
        for node in graph:
            for a in node.args:
                last_use[a] = node.id
    with np.errstate(all="ignore"):
        for node in graph.nodes:
            if node.op in LEAF_OPS:
                values.append(_leaf_value(node, leaves, dtype))
                params.append({})
                requires[node.id] = node.op == "input"
                continue
            prim = registry.get(node.op)
            args = [values[a] for a in node.args]
            try:
                p = normalise_params(prim, node.params, [a.ndim for a in args], 0,
                                     args[0].shape if args else ())
                out = np.asarray(prim.forward(*args, **p))
            except _FORWARD_ERRORS as exc:
                raise _fail(node, args, exc) from None
            if out.dtype != dtype and out.dtype != np.bool_:
                out = out.astype(dtype)
            values.append(out)
            params.append(p)
            requires[node.id] = _carries_gradient(prim, node, requires)
            if keep is not None:  # drop what no later node needs
                for a in set(node.args) | {node.id}:
                    if last_use.get(a, -1) <= node.id and a not in keep:
                        values[a] = None  # type: ignore[call-overload]
    return Evaluation(graph, dtype, values, params, requires)


def evaluate_batched(graph: Graph, leaves: Mapping[str, np.ndarray], batched: Mapping[str, np.ndarray],
                     nb: int, dtype: Any = np.float64, upto: int | None = None) -> np.ndarray:
    """Forward pass where the leaves in ``batched`` carry ``nb`` leading batch axes.

    Every other leaf is shared by all copies.  Returns the value of node ``upto`` (the
    output by default) with the batch axes in front.  Used by the finite-difference
    reference to evaluate many perturbed copies in one vectorised pass.
    """
    target = graph.output if upto is None else upto
    values, _, is_batched, bshape = _forward_batched(graph, leaves, batched, nb, np.dtype(dtype), target)
    out = values[target]
    if not is_batched[target]:
        out = np.broadcast_to(out, bshape + out.shape)
    return out


def _lift(prim: registry.Primitive, raw: Sequence[np.ndarray], flags: Sequence[bool], nb: int) -> list[np.ndarray]:
    """Arguments of a batched call: unbatched ones get ``nb`` size-1 axes, broadcasting cores a common rank
    (a batched argument that needs neither is handed on as it is)."""
    if not prim.broadcasts:
        return [v if f else v.reshape((1,) * nb + v.shape) for v, f in zip(raw, flags)]
    cores = [v.ndim - nb if f else v.ndim for v, f in zip(raw, flags)]
    top = max(cores)
    return [v if f and c == top else v.reshape((v.shape[:nb] if f else (1,) * nb) + (1,) * (top - c)
                                               + (v.shape[nb:] if f else v.shape))
            for v, f, c in zip(raw, flags, cores)]


def _forward_batched(graph: Graph, leaves: Mapping[str, np.ndarray], batched: Mapping[str, np.ndarray], nb: int,
                     dtype: np.dtype, target: int):
    """The batched forward of :func:`evaluate_batched`: every needed node's value (batched or not),
    its normalised parameters, whether it is batched, and the batch shape."""
    values: dict[int, np.ndarray] = {}
    params: dict[int, dict[str, Any]] = {}
    is_batched: dict[int, bool] = {}
    bshape: tuple[int, ...] = next(iter(batched.values())).shape[:nb] if batched else ()
    with np.errstate(all="ignore"):
        for node in graph.ancestor_nodes(target):
            if node.op in LEAF_OPS:
                if node.name in batched and node.op != "literal":
                    values[node.id] = np.asarray(batched[node.name], dtype=dtype)
                    is_batched[node.id] = True
                else:
                    values[node.id] = _leaf_value(node, leaves, dtype)
                    is_batched[node.id] = False
                continue
            prim = registry.get(node.op)
            args = [values[a] for a in node.args]
            flags = [is_batched[a] for a in node.args]
            k = nb if any(flags) else 0
            if k:
                args = _lift(prim, args, flags, nb)
            cores = [a.ndim - k for a in args]
            try:
                p = normalise_params(prim, node.params, cores, k, args[0].shape if args else ())
                out = np.asarray(prim.forward(*args, **p))
            except _FORWARD_ERRORS as exc:
                raise _fail(node, args, exc) from None
            if out.dtype != dtype and out.dtype != np.bool_:
                out = out.astype(dtype)
            values[node.id] = out
            params[node.id] = p
            is_batched[node.id] = bool(k)
    return values, params, is_batched, bshape


def gradients_batched(graph: Graph, leaves: Mapping[str, np.ndarray], batched: Mapping[str, np.ndarray],
                      cotangent: np.ndarray, wrt: Sequence[str], dtype: Any = np.float64
                      ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The gradient of ``cotangentᵀ·output`` at many points in one pass: the leaves in ``batched`` carry one
    leading batch axis (a copy per point).  Returns the outputs (B + output shape) and, per input of
    ``wrt``, the gradients (B + input shape).

    The reverse pass calls the VJP rules with *batched* ``ans`` and arguments (the rule table promises
    batch axes on ``g`` only), so this is a fast path, not a contract: it raises :class:`RuleError`
    when a rule returns a shape other than the copies' (and the caller compares copies with
    :func:`vjp` one at a time before trusting it, see ``harness/hessians.py``).
    """
    dtype = np.dtype(dtype)
    values, params, is_batched, bshape = _forward_batched(graph, leaves, batched, 1, dtype, graph.output)
    requires = _requires_grad(graph)
    out = values[graph.output]
    if not is_batched[graph.output]:
        out = np.broadcast_to(out, bshape + out.shape)

    def core(i: int) -> tuple[int, ...]:
        return values[i].shape[1:] if is_batched[i] else values[i].shape

    g0 = np.broadcast_to(np.asarray(cotangent, dtype=dtype), bshape + core(graph.output))
    grads: dict[int, np.ndarray] = {graph.output: g0}
    with np.errstate(all="ignore"):
        for node in reversed(graph.nodes[: graph.output + 1]):
            if node.id not in values or node.is_leaf or node.id not in grads or not requires[node.id]:
                continue
            prim = registry.get(node.op)
            g, ans, p = grads[node.id], values[node.id], params[node.id]
            raw = [values[a] for a in node.args]
            flags = [is_batched[a] for a in node.args]
            args = _lift(prim, raw, flags, 1) if prim.broadcasts and any(flags) else raw
            for k, a, rule in _edges(node, prim, requires):
                contrib = np.asarray(_call(rule, prim, g, ans, args, p, k))
                if prim.broadcasts:
                    contrib = unbroadcast(contrib, core(a), len(core(node.id)))
                _check_shape(node, prim, k, contrib, bshape + core(a), "batched VJP")
                grads[a] = contrib if a not in grads else grads[a] + contrib
    result = {}
    for name in wrt:
        i = graph.inputs[name]
        shape = np.shape(batched[name])[1:] if name in batched else np.shape(leaves[name])
        result[name] = np.asarray(grads[i], dtype=dtype) if i in grads else np.zeros(bshape + shape, dtype=dtype)
    return np.asarray(out), result


# ---- reverse mode -----------------------------------------------------------------


def _rule(prim: registry.Primitive, table: tuple, k: int):
    return table[0] if prim.variadic else table[k]


def _edges(node: Node, prim: registry.Primitive, requires: Sequence[bool]):
    """(k, argument id, VJP rule) of every argument of ``node`` a gradient flows to."""
    for k, a in enumerate(node.args):
        rule = _rule(prim, prim.vjp, k)
        if requires[a] and not isinstance(rule, NotDifferentiable):
            yield k, a, rule


def _call(rule, prim, seed, ans, args, params, k, private=False):
    if private:  # only ever True for a rule marked takes_private (see the registry header)
        params = {**params, "private": True}
    if prim.variadic:
        return rule(seed, ans, *args, argnum=k, **params)
    return rule(seed, ans, *args, **params)


def _check_shape(node: Node, prim, k: int, got: np.ndarray, want: tuple[int, ...], mode: str) -> None:
    if tuple(got.shape) != want:
        arg = prim.args[0] if prim.variadic else prim.args[k]
        raise RuleError(
            f"{prim.name}: the {mode} rule for argument {arg!r} (argument {k} of {node.name or node.op}) "
            f"returned shape {tuple(got.shape)}, expected {want}"
        )


def _fresh(contrib: np.ndarray, g: np.ndarray, ans: np.ndarray, args: Sequence[np.ndarray],
           grads: Mapping[int, np.ndarray]) -> bool:
    """Is ``contrib`` an array the rule has just allocated (nothing else refers to it)?

    A rule may hand back its upstream, its answer or an argument unchanged (or a view of
    one); only an array that owns its memory and is none of those may be summed into in place.
    """
    if not (contrib.flags.owndata and contrib.flags.writeable) or contrib.size < BIG:
        return False
    if contrib is g or contrib is ans or any(contrib is a for a in args):
        return False
    return not any(contrib is v for v in grads.values())


def vjp(ev: Evaluation, cotangent: np.ndarray, *, output: int | None = None,
        wrt: Sequence[str] | None = None, trace: Trace | None = None) -> dict[str, np.ndarray]:
    """Pull ``cotangent`` back from ``output`` to the inputs named in ``wrt``.

    ``cotangent`` has the output's shape, optionally with leading batch axes; each
    returned gradient has the same batch axes followed by its input's shape.  When a
    :class:`Trace` is given, every upstream gradient and contribution is recorded.
    """
    graph = ev.graph
    out_id = graph.output if output is None else output
    out_shape = ev.values[out_id].shape
    g0 = np.asarray(cotangent, dtype=ev.dtype)
    nbatch = g0.ndim - len(out_shape)
    if nbatch < 0 or g0.shape[nbatch:] != out_shape:
        raise ValueError(f"cotangent of shape {g0.shape} does not end with the output shape {out_shape}")
    batch = g0.shape[:nbatch]
    names = list(graph.inputs) if wrt is None else list(wrt)
    grads: dict[int, np.ndarray] = {out_id: g0}
    # nodes whose gradient is a large array only ``grads`` refers to (made by the engine or by a rule for
    # this call; never with a trace, which keeps every array): the engine may sum into it in place and
    # hand it to the node's last rule as a buffer to write into (``private``, see the registry header)
    owned: set[int] = set()
    track = trace is None
    for node in reversed(graph.ancestor_nodes(out_id)):
        if node.op in LEAF_OPS or node.id not in grads:
            continue
        g = grads.pop(node.id) if track else grads[node.id]  # nobody reads it after this node
        if trace is not None:
            trace.upstream[node.id] = g
        if not ev.requires_grad[node.id]:
            continue
        prim = registry.get(node.op)
        ans = ev.values[node.id]
        args = [ev.values[a] for a in node.args]
        params = ev.params[node.id]
        edges = _edges(node, prim, ev.requires_grad)
        last = None  # the argument whose rule may write into g: the last one, when g is the engine's
        if node.id in owned:
            edges = list(edges)
            last = edges[-1][0] if edges else None
            sent: list[np.ndarray] = []  # what this node has handed back so far
        for k, a, rule in edges:
            private = (k == last and getattr(rule, "takes_private", False)
                       and not any(np.may_share_memory(c, g) for c in sent))
            contrib = np.asarray(_call(rule, prim, g, ans, args, params, k, private))
            if prim.broadcasts and args[k].shape != ans.shape:
                contrib = unbroadcast(contrib, args[k].shape, ans.ndim)
            want = batch + args[k].shape
            if contrib.shape != want:
                _check_shape(node, prim, k, contrib, want, "VJP")
            if contrib.dtype != ev.dtype:
                contrib = contrib.astype(ev.dtype)
            if trace is not None:
                trace.contributions[(node.id, k)] = contrib
            elif last is not None:
                sent.append(contrib)
            big = track and contrib.size >= BIG
            if a not in grads:  # (then ``a`` is not in ``owned`` either)
                if big and ((private and contrib is g) or _fresh(contrib, g, ans, args, grads)):
                    owned.add(a)
                grads[a] = contrib
            elif big and ((private and contrib is g) or _fresh(contrib, g, ans, args, grads)):
                contrib += grads[a]  # a buffer the rule just made: no new array for the sum
                grads[a] = contrib
                owned.add(a)
            elif a in owned:
                grads[a] += contrib  # the engine's own sum so far
            else:
                grads[a] = grads[a] + contrib
                if big:
                    owned.add(a)
    result = {}
    for name in names:
        i = graph.inputs[name]
        if i in grads:
            # an array the engine does not own may be a value of the evaluation or the cotangent: a copy
            result[name] = np.require(grads[i], requirements="C") if i in owned else np.array(grads[i], order="C")
            if trace is not None:
                trace.upstream[i] = grads[i]
        else:
            result[name] = np.zeros(batch + ev.values[i].shape, dtype=ev.dtype)
    return result


def gradient(ev: Evaluation, wrt: Sequence[str] | None = None, trace: Trace | None = None) -> dict[str, np.ndarray]:
    """Gradient of a scalar output with respect to the inputs."""
    out = ev.output
    if out.size != 1:
        raise ValueError(f"gradient needs a scalar output; the output has shape {out.shape}")
    return vjp(ev, np.ones(out.shape, dtype=ev.dtype), wrt=wrt, trace=trace)


# ---- forward mode -----------------------------------------------------------------


def jvp(ev: Evaluation, tangents: Mapping[str, np.ndarray], *, output: int | None = None) -> np.ndarray:
    """Push ``tangents`` (input name → batch axes + input shape) forward to ``output``.

    Inputs without a tangent have a zero tangent.  Returns batch axes + output shape.
    """
    out_id = ev.graph.output if output is None else output
    tans, batch = node_tangents(ev, tangents, output=out_id)
    if out_id in tans:
        out = tans[out_id]  # a rule may hand on a value (x·1 = x): the caller gets an array of its own
        if any(np.may_share_memory(out, v) for v in ev.values if v is not None):
            return np.array(out, order="C")
        return np.require(out, requirements="C")
    return np.zeros(batch + ev.values[out_id].shape, dtype=ev.dtype)


def node_tangents(ev: Evaluation, tangents: Mapping[str, np.ndarray], *, output: int | None = None
                  ) -> tuple[dict[int, np.ndarray], tuple[int, ...]]:
    """The tangent of every node that depends on the given input tangents (node id → batch + shape),
    and the batch axes.  Nodes absent from the dict have a zero tangent."""
    graph = ev.graph
    out_id = graph.output if output is None else output
    tans: dict[int, np.ndarray] = {}
    batch: tuple[int, ...] | None = None
    for name, t in tangents.items():
        i = graph.inputs[name]
        t = np.asarray(t, dtype=ev.dtype)
        b = t.shape[: t.ndim - ev.values[i].ndim]
        if t.ndim < ev.values[i].ndim or t.shape[len(b):] != ev.values[i].shape:
            raise ValueError(f"tangent for {name!r} of shape {t.shape} does not end with {ev.values[i].shape}")
        if batch is not None and b != batch:
            raise ValueError("all tangents must have the same batch axes")
        batch = b
        tans[i] = t
    batch = batch or ()
    for node in graph.ancestor_nodes(out_id):
        if node.op in LEAF_OPS or not ev.requires_grad[node.id]:
            continue
        prim = registry.get(node.op)
        ans = ev.values[node.id]
        args = [ev.values[a] for a in node.args]
        params = ev.params[node.id]
        total = None
        for k, a in enumerate(node.args):
            if a not in tans:
                continue
            rule = _rule(prim, prim.jvp, k)
            if isinstance(rule, NotDifferentiable):
                continue
            t = tans[a]
            if prim.broadcasts and args[k].ndim < ans.ndim:
                t = t.reshape(batch + (1,) * (ans.ndim - args[k].ndim) + args[k].shape)
            contrib = np.asarray(_call(rule, prim, t, ans, args, params, k))
            want = batch + ans.shape
            if contrib.shape != want:
                try:
                    contrib = np.broadcast_to(contrib, want)
                except ValueError:
                    _check_shape(node, prim, k, contrib, want, "JVP")
            total = contrib if total is None else total + contrib
        if total is not None:
            tans[node.id] = total.astype(ev.dtype, copy=False)
    return tans, batch


# ---- Jacobians --------------------------------------------------------------------


def _chunk(n_batch: int, per_item_elems: int, itemsize: int) -> int:
    return max(1, min(n_batch, CHUNK_BYTES // max(1, per_item_elems * itemsize)))


def _largest(ev: Evaluation) -> int:
    return max((v.size for v in ev.values), default=1)


def jacobian(ev: Evaluation, wrt: Sequence[str] | None = None, *, output: int | None = None,
             mode: str = "auto") -> dict[str, np.ndarray]:
    """Full Jacobian of ``output`` with respect to each input: shape output + input.

    ``mode`` is ``"reverse"`` (one batched VJP per chunk of output elements),
    ``"forward"`` (one batched JVP per chunk of input elements) or ``"auto"`` (the
    cheaper of the two).
    """
    graph = ev.graph
    out_id = graph.output if output is None else output
    out_shape = ev.values[out_id].shape
    m = int(np.prod(out_shape, dtype=np.int64))
    names = list(graph.inputs) if wrt is None else list(wrt)
    n_total = sum(ev.values[graph.inputs[n]].size for n in names)
    if mode == "auto":
        mode = "reverse" if m <= n_total else "forward"
    big = _largest(ev)
    result: dict[str, np.ndarray] = {}
    if mode == "reverse":
        parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
        step = _chunk(m, big, ev.dtype.itemsize)
        for start in range(0, m, step):
            stop = min(m, start + step)
            seeds = np.zeros((stop - start, m), dtype=ev.dtype)
            seeds[np.arange(stop - start), np.arange(start, stop)] = 1
            got = vjp(ev, seeds.reshape((stop - start,) + out_shape), output=out_id, wrt=names)
            for n in names:
                parts[n].append(got[n])
        for n in names:
            in_shape = ev.values[graph.inputs[n]].shape
            result[n] = np.concatenate(parts[n], axis=0).reshape(out_shape + in_shape)
        return result
    for n in names:
        in_shape = ev.values[graph.inputs[n]].shape
        size = int(np.prod(in_shape, dtype=np.int64))
        step = _chunk(size, big, ev.dtype.itemsize)
        cols = []
        for start in range(0, size, step):
            stop = min(size, start + step)
            seeds = np.zeros((stop - start, size), dtype=ev.dtype)
            seeds[np.arange(stop - start), np.arange(start, stop)] = 1
            cols.append(jvp(ev, {n: seeds.reshape((stop - start,) + in_shape)}, output=out_id)
                        .reshape(stop - start, m))
        jac = np.concatenate(cols, axis=0) if cols else np.zeros((0, m), dtype=ev.dtype)
        result[n] = np.ascontiguousarray(jac.T).reshape(out_shape + in_shape)
    return result


def local_jacobian(ev: Evaluation, node_id: int, argpos: int) -> np.ndarray:
    """The Jacobian of one node with respect to one of its arguments: shape node + argument.

    Built from the node's own VJP rule with a batch of unit cotangents, so it shows
    exactly what the engine multiplies by (the answer key's per-step Jacobians).
    """
    node = ev.graph[node_id]
    prim = registry.get(node.op)
    ans = ev.values[node_id]
    args = [ev.values[a] for a in node.args]
    rule = _rule(prim, prim.vjp, argpos)
    m = ans.size
    if isinstance(rule, NotDifferentiable):
        return np.zeros(ans.shape + args[argpos].shape, dtype=ev.dtype)
    seeds = np.eye(m, dtype=ev.dtype).reshape((m,) + ans.shape)
    contrib = np.asarray(_call(rule, prim, seeds, ans, args, ev.params[node_id], argpos))
    if prim.broadcasts:
        contrib = unbroadcast(contrib, args[argpos].shape, ans.ndim)
    _check_shape(node, prim, argpos, contrib, (m,) + args[argpos].shape, "VJP")
    return contrib.reshape(ans.shape + args[argpos].shape)
