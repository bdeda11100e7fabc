"""The reverse pass on large arrays writes into buffers it owns (sums in place, a node's last rule into
its upstream) and hands a value on instead of multiplying it by ones: none of that may change a number
or touch an array the engine does not own.  Every expression here is checked bit for bit against the
pass with a trace (which keeps every array, so nothing is written in place), against torch, and for
the evaluation's values and the caller's cotangent left as they were."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gradcheck_suite import engine
from gradcheck_suite.loader import load_text
from gradcheck_suite.reference import torch_ref

N = 5000  # above registry.BIG: the large-array paths

EXPRESSIONS = [
    "sum(tanh(x) * exp(0.1 * y) + x * y)",  # B3's workload
    "sum(tanh(x - y))",  # sub hands g on to x: its last rule must not negate g in place
    "sum(tanh(x + x) * y)",  # one node twice in one add
    "sum(exp(x) * exp(x) * y)",  # one node twice in one mul
    "sum(-(tanh(x) * y) + x * x)",  # neg with an upstream the engine owns
    "sum(tanh(x * y) * 2.0 - x)",
    "mean(x * y) + sum(sin(x) * cos(y) / (2.0 + y))",  # an upstream of 1/n everywhere
]


def _case(expr: str):
    text = f"""
cases:
  - name: buffers
    inputs:
      x: {{shape: [{N}], init: normal, seed: 3}}
      y: {{shape: [{N}], init: normal, seed: 4}}
    expr: {expr}
"""
    cases, errors = load_text(text, "buffers.yaml")
    assert not errors, errors
    case = cases[0]
    return case.graph, {k: np.asarray(v, dtype=np.float64) for k, v in case.leaves(0).items()}


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_in_place_buffers_change_no_number_and_no_value(expr):
    graph, point = _case(expr)
    ev = engine.evaluate(graph, point)
    before = [None if v is None else v.copy() for v in ev.values]
    fast = engine.gradient(ev)
    plain = engine.vjp(ev, np.ones(()), trace=engine.Trace())
    tev = torch_ref.replay(graph, point, "float64")
    names = list(graph.inputs)
    peer = torch.autograd.grad(tev.output, [tev.inputs[n] for n in names])
    for n, want in zip(names, peer):
        assert np.array_equal(fast[n], plain[n]), n
        assert np.allclose(fast[n], want.numpy(), rtol=1e-12, atol=1e-12), n
        assert not any(np.may_share_memory(fast[n], v) for v in ev.values), n
    assert all(np.array_equal(v, b) for v, b in zip(ev.values, before))
    fast["x"][:] = np.nan  # the caller's array: a second pass does not see it
    assert np.array_equal(engine.gradient(ev)["y"], plain["y"])
    assert np.array_equal(engine.gradient(ev)["x"], plain["x"])


def test_a_gradient_that_is_the_cotangent_or_a_value_is_a_copy():
    graph, point = _case("x * y")
    ev = engine.evaluate(graph, point)
    ones = np.broadcast_to(np.ones(()), (N,))
    grads = engine.vjp(ev, ones)  # ∂(x·y)/∂x · 1 = y: y's own array handed on, then copied
    assert np.array_equal(grads["x"], point["y"]) and grads["x"].flags.writeable
    assert not any(np.may_share_memory(grads[n], v) for n in grads for v in ev.values)
    graph, point = _case("x + y")
    ev = engine.evaluate(graph, point)
    c = np.linspace(0, 1, N)
    grads = engine.vjp(ev, c)
    assert np.array_equal(grads["x"], c) and not np.may_share_memory(grads["x"], c)


def test_a_tangent_that_is_a_value_is_a_copy():
    graph, point = _case("x * y")
    ev = engine.evaluate(graph, point)
    out = engine.jvp(ev, {"x": np.broadcast_to(np.ones(()), (N,))})
    assert np.array_equal(out, point["y"]) and not any(np.may_share_memory(out, v) for v in ev.values)
