"""Every declared second-order rule against torch double backward, primitive by primitive.

For each primitive whose second order is declared (a second derivative, LINEAR, BILINEAR
or rules) and each of its probe calls: the Hessian of ``s = wᵀ prim(args)`` by our
engine's HVPs equals torch's (``create_graph=True`` then the Jacobian of the gradient),
cross blocks between the arguments included.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gradcheck_suite import engine, second_order
from gradcheck_suite.ops import registry
from gradcheck_suite.ops.registry import NotDifferentiable
from tests.ops.checks import _torch_out, one_node_graph

DECLARED = [p.name for p in registry.all_primitives()
            if p.differentiable_output and not second_order.reason(p)]


def _torch_hessian(name, args, differentiable, params, w):
    tensors = [torch.tensor(a, requires_grad=bool(d)) for a, d in zip(args, differentiable)]
    out = _torch_out(name, tensors, params)
    wanted = [t for t, d in zip(tensors, differentiable) if d]
    grads = torch.autograd.grad(out, wanted, torch.tensor(w), create_graph=True, allow_unused=True)
    flat = torch.cat([(torch.zeros_like(t) if g is None else g).reshape(-1) for g, t in zip(grads, wanted)])
    rows = []
    for i in range(flat.numel()):
        if not flat.requires_grad:
            rows.append(torch.zeros(flat.numel(), dtype=torch.float64))
            continue
        gi = torch.autograd.grad(flat[i], wanted, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([(torch.zeros_like(t) if g is None else g).reshape(-1) for g, t in zip(gi, wanted)]))
    return torch.stack(rows).detach().numpy() if rows else np.zeros((0, 0))


def test_the_core_primitives_declare_second_order():
    core = {"add", "sub", "mul", "div", "pow", "neg", "pos", "sum", "mean", "matmul", "dot", "outer", "tanh",
            "sigmoid", "exp", "log", "sqrt", "square", "sin", "cos", "relu", "abs", "softplus", "reshape",
            "transpose", "getitem", "broadcast_to", "concat", "stack"}
    assert core <= set(DECLARED)


@pytest.mark.parametrize("name", DECLARED)
def test_declared_second_order_matches_torch_double_backward(name):
    prim = registry.get(name)
    rng = np.random.default_rng(7)
    for call in prim.probes[:6]:
        assert_hessian_matches_torch(name, call, rng)


def assert_hessian_matches_torch(name, call, rng, args=None):
    """Our Hessian of ``s = wᵀ prim(args)`` (w random) equals torch's double backward, cross blocks included;
    where torch has no double backward, our own gradient differenced.  ``args`` default to draws from the
    primitive's domains in the call's shapes."""
    prim = registry.get(name)
    n = len(call.shapes)
    domains = prim.domain * n if prim.variadic else prim.domain
    if args is None:
        args = [np.asarray(d.draw(rng, tuple(s))) for d, s in zip(domains, call.shapes)]
    rules = prim.vjp * n if prim.variadic else prim.vjp
    differentiable = [not isinstance(r, NotDifferentiable) and a.dtype.kind == "f" for r, a in zip(rules, args)]
    args = [a if a.dtype.kind != "f" else a.astype(np.float64) for a in args]
    graph = one_node_graph(name, n, dict(call.params), differentiable)
    ev = engine.evaluate(graph, {f"a{i}": a for i, a in enumerate(args)}, np.float64)
    w = rng.standard_normal(ev.output.shape)
    names = [f"a{i}" for i, d in enumerate(differentiable) if d]
    blocks = []
    for x in names:
        cols = second_order.hessian(ev, x, cotangent=w, wrt=names)
        n_x = ev.value(x).size
        blocks.append(np.concatenate([cols[y].reshape(-1, n_x) for y in names], axis=0))
    ours = np.concatenate(blocks, axis=1)
    try:
        theirs = _torch_hessian(name, args, differentiable, dict(call.params), w)
    except RuntimeError as exc:  # torch has no double backward (hardsigmoid): our own gradient, differenced
        assert "not implemented" in str(exc)
        theirs = _differenced_gradient(graph, ev, names, w)
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-8, err_msg=f"{name}: Hessian vs FD")
        return
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9,
                               err_msg=f"{name}{call.shapes} {dict(call.params)}: Hessian differs from torch")


def _differenced_gradient(graph, ev, names, w, h=1e-6):
    """Central differences of our engine's gradient of wᵀf (columns of the Hessian)."""
    base = {k: ev.value(k) for k in list(graph.inputs) + list(graph.constants)}
    cols = []
    for x in names:
        for i in range(base[x].size):
            grads = []
            for sign in (1, -1):
                moved = dict(base)
                flat = base[x].astype(np.float64).reshape(-1).copy()
                flat[i] += sign * h
                moved[x] = flat.reshape(base[x].shape)
                g = engine.vjp(engine.evaluate(graph, moved, np.float64), w, wrt=names)
                grads.append(np.concatenate([g[n].reshape(-1) for n in names]))
            cols.append((grads[0] - grads[1]) / (2 * h))
    return np.stack(cols, axis=1)
