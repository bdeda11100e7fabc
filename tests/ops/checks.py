"""One helper for every primitive's property tests: engine rules against torch.autograd.

``check_primitive("div", [x, y])`` builds a one-node graph applying the primitive to
inputs ``a0, a1, ...`` and checks, in float64:

* the forward value against the torch counterpart;
* every VJP rule (through the engine, so unbroadcasting and shape checks included)
  against ``torch.autograd.grad`` with a random cotangent;
* the JVP (sum of the per-argument rules) against ``torch.func.jvp``;
* batching: a batch of two cotangents / tangents gives the two single results, and a
  batched forward of two perturbed copies gives the two single forwards.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from gradcheck_suite import engine
from gradcheck_suite.graph import Graph
from gradcheck_suite.ops import get
from gradcheck_suite.ops.registry import Domain, NotDifferentiable, normalise_params
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = ["axes_of", "between", "broadcastable", "elements", "check_batched_forward", "check_complex_step",
           "check_primitive", "one_node_graph"]


def one_node_graph(name: str, n_args: int, params: dict[str, Any] | None = None,
                   differentiable: Sequence[bool] | None = None) -> Graph:
    """A graph ``out = name(a0, a1, ...; params)``; non-differentiable args are constants."""
    g = Graph()
    ids = []
    for i in range(n_args):
        diff = True if differentiable is None else differentiable[i]
        node = g.add("input" if diff else "constant", name=f"a{i}")
        (g.inputs if diff else g.constants)[f"a{i}"] = node.id
        ids.append(node.id)
    out = g.add(name, tuple(ids), params=dict(params or {}), name="out", step="out")
    g.steps["out"] = out.id
    g.output = out.id
    return g


def _torch_out(name: str, tensors: list[torch.Tensor], params: dict[str, Any]) -> torch.Tensor:
    prim = get(name)
    p = normalise_params(prim, params, [t.dim() for t in tensors], 0, tuple(tensors[0].shape) if tensors else ())
    p.pop("nb", None) if not prim.needs_nb else None
    return prim.torch(*tensors, **p)


def check_primitive(name: str, args: Sequence[np.ndarray], params: dict[str, Any] | None = None, *,
                    rtol: float = 1e-7, atol: float = 1e-9, seed: int = 0,
                    differentiable: Sequence[bool] | None = None) -> None:
    """Assert that the primitive's forward, VJP and JVP rules agree with torch (float64)."""
    params = dict(params or {})
    prim = get(name)
    rules = prim.vjp * len(args) if prim.variadic else prim.vjp
    if differentiable is None:
        differentiable = [not isinstance(r, NotDifferentiable) and np.asarray(a).dtype != np.bool_
                          for r, a in zip(rules, args)]
    args = [np.asarray(a) if np.asarray(a).dtype == np.bool_ else np.asarray(a, dtype=np.float64) for a in args]
    graph = one_node_graph(name, len(args), params, differentiable)
    leaves = {f"a{i}": a for i, a in enumerate(args)}
    ev = engine.evaluate(graph, leaves, np.float64)
    out = ev.output
    rng = np.random.default_rng(seed)

    tensors = [torch.tensor(a, requires_grad=bool(d)) for a, d in zip(args, differentiable)]
    t_out = _torch_out(name, tensors, params)
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=rtol, atol=atol,
                               err_msg=f"{name}: forward differs from torch")
    diff_idx = [i for i, d in enumerate(differentiable) if d]
    if not diff_idx or not prim.differentiable_output:
        return
    names = [f"a{i}" for i in diff_idx]

    # VJP against torch.autograd.grad
    g = rng.standard_normal(out.shape)
    ours = engine.vjp(ev, g, wrt=names)
    theirs = torch.autograd.grad(t_out, [tensors[i] for i in diff_idx], torch.tensor(g), allow_unused=True)
    for n, i, th in zip(names, diff_idx, theirs):
        th = np.zeros(args[i].shape) if th is None else th.numpy()
        np.testing.assert_allclose(ours[n], th, rtol=rtol, atol=atol,
                                   err_msg=f"{name}: VJP for argument {i} differs from torch")

    # JVP against torch.func.jvp
    tans = {n: rng.standard_normal(args[i].shape) for n, i in zip(names, diff_idx)}
    ours_t = engine.jvp(ev, tans)

    def f(*diff_tensors):
        full = [t.detach() for t in tensors]
        for i, t in zip(diff_idx, diff_tensors):
            full[i] = t
        return _torch_out(name, full, params)

    _, theirs_t = torch.func.jvp(f, tuple(torch.tensor(args[i]) for i in diff_idx),
                                 tuple(torch.tensor(tans[n]) for n in names))
    np.testing.assert_allclose(ours_t, theirs_t.numpy(), rtol=rtol, atol=atol,
                               err_msg=f"{name}: JVP differs from torch")

    # batching: two cotangents / tangents in one pass
    g2 = np.stack([g, rng.standard_normal(out.shape)])
    both = engine.vjp(ev, g2, wrt=names)
    second = engine.vjp(ev, g2[1], wrt=names)
    for n in names:
        np.testing.assert_allclose(both[n][0], ours[n], rtol=1e-12, atol=1e-12,
                                   err_msg=f"{name}: batched VJP (item 0) differs")
        np.testing.assert_allclose(both[n][1], second[n], rtol=1e-12, atol=1e-12,
                                   err_msg=f"{name}: batched VJP (item 1) differs")
    t2 = {n: np.stack([tans[n], rng.standard_normal(tans[n].shape)]) for n in names}
    both_t = engine.jvp(ev, t2)
    second_t = engine.jvp(ev, {n: t2[n][1] for n in names})
    np.testing.assert_allclose(both_t[0], ours_t, rtol=1e-12, atol=1e-12, err_msg=f"{name}: batched JVP differs")
    np.testing.assert_allclose(both_t[1], second_t, rtol=1e-12, atol=1e-12, err_msg=f"{name}: batched JVP differs")

    # batched forward: two perturbed copies of the first differentiable input
    n0, i0 = names[0], diff_idx[0]
    copies = np.stack([args[i0], args[i0] + 1e-3 * rng.standard_normal(args[i0].shape)])
    rest = {k: v for k, v in leaves.items() if k != n0}
    batched = engine.evaluate_batched(graph, rest, {n0: copies}, 1, np.float64)
    for j in range(2):
        single = engine.evaluate(graph, {**rest, n0: copies[j]}, np.float64).output
        np.testing.assert_allclose(batched[j], single, rtol=1e-12, atol=1e-12,
                                   err_msg=f"{name}: batched forward (copy {j}) differs")


# ---- strategies and the complex-step check shared by the section tests ----------------


def between(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Finite floats in [lo, hi]."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def elements(domain: Domain) -> st.SearchStrategy[float]:
    """Values of a real :class:`Domain` as its registration declares it (grid included)."""
    if domain.kind != "real":
        raise ValueError(f"no element strategy for a {domain.kind!r} domain")
    if domain.grid is None:
        return between(domain.low, domain.high)
    first, last = domain.integers()
    return st.builds(lambda k, u: k + u, st.integers(first, last), between(*domain.grid))


@st.composite
def broadcastable(draw, *elements):
    """Arrays of mutually broadcastable shapes (0-d included), one per element strategy."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=len(elements), min_dims=0, max_dims=3,
                                                    max_side=3))
    return [draw(hnp.arrays(np.float64, s, elements=e)) for s, e in zip(shapes.input_shapes, elements)]

@st.composite
def axes_of(draw, ndim: int):
    """None, one axis, or a tuple of distinct axes (each maybe negative) of an ndim array."""
    if ndim == 0:
        return draw(st.sampled_from([None, 0, -1, ()]))
    signed = st.tuples(st.integers(0, ndim - 1), st.booleans())
    picks = st.lists(signed, unique_by=lambda p: p[0], max_size=ndim)
    return draw(st.one_of(
        st.none(),
        st.integers(-ndim, ndim - 1),
        picks.map(lambda ps: tuple(a - ndim if neg else a for a, neg in ps)),
    ))


def check_complex_step(name: str, args: Sequence[np.ndarray], params: dict[str, Any] | None = None,
                       seed: int = 0, atol: float = 1e-12) -> None:
    """For each argument in turn: ⟨g, Im f(x + ih·v)/h⟩ equals ⟨VJP(g), v⟩ (random g, v; h = 1e-20)."""
    params = dict(params or {})
    prim = get(name)
    args = [np.asarray(a, dtype=np.float64) for a in args]
    graph = one_node_graph(name, len(args), params)
    ev = engine.evaluate(graph, {f"a{i}": a for i, a in enumerate(args)}, np.float64)
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(ev.output.shape)
    grads = engine.vjp(ev, g)
    h = 1e-20
    p = normalise_params(prim, params, [a.ndim for a in args], 0, args[0].shape)
    for i, a in enumerate(args):
        v = rng.standard_normal(a.shape)
        shifted = [x + 1j * h * v if k == i else x.astype(complex) for k, x in enumerate(args)]
        out = prim.forward(*shifted, **p)
        assert np.iscomplexobj(out), f"{name}: the forward drops the imaginary part"
        complex_step = np.sum(g * np.imag(out) / h)  # gᵀ J v to machine precision
        np.testing.assert_allclose(np.sum(grads[f"a{i}"] * v), complex_step, rtol=1e-10, atol=atol,
                                   err_msg=f"{name}: VJP of argument {i} differs from the complex step")


def check_batched_forward(name: str, args: Sequence[np.ndarray], params: dict[str, Any] | None = None, *,
                          rtol: float = 1e-12, scale: float = 1e-2, seed: int = 5) -> None:
    """Two batch axes (2, 3) on each argument in turn: the batched forward equals the single ones
    (what the finite-difference reference relies on)."""
    rng = np.random.default_rng(seed)
    graph = one_node_graph(name, len(args), params)
    leaves = {f"a{i}": a for i, a in enumerate(args)}
    for i, a in enumerate(args):
        copies = a + scale * rng.standard_normal((2, 3) + a.shape)
        rest = {k: v for k, v in leaves.items() if k != f"a{i}"}
        batched = engine.evaluate_batched(graph, rest, {f"a{i}": copies}, 2)
        for j in np.ndindex(2, 3):
            single = engine.evaluate(graph, {**rest, f"a{i}": copies[j]}).output
            np.testing.assert_allclose(batched[j], single, rtol=rtol, atol=1e-12,
                                       err_msg=f"{name}: batched forward over argument {i}, copy {j}")
