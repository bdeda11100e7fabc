"""Every registered primitive declares its second order, or says why it has none; and the rules
added for issue 15's list hold against torch double backward at random points (hypothesis).

Generic over the registry: a primitive registered later (by a plugin section or another
branch) is held to the same rule the moment it is registered.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from gradcheck_suite import engine, second_order
from gradcheck_suite.ops import registry
from gradcheck_suite.ops.registry import BILINEAR, LINEAR, NO_DERIVATIVE, PIECEWISE_LINEAR, NotDifferentiable
from tests.ops.checks import one_node_graph
from tests.second_order.test_rules import assert_hessian_matches_torch

KINDS = (LINEAR, BILINEAR, PIECEWISE_LINEAR)
#: words that stand in for a reason without giving one
PLACEHOLDERS = {"todo", "tbd", "later", "n/a", "none", "unknown", "not implemented", "no", "-", "?"}

#: the primitives issue 15 listed as lacking a second-order rule, and the others that had ""
NEWLY_RULED = ("prod", "cumprod", "inv", "det", "logdet", "slogdet", "solve", "matrix_power", "cholesky",
               "eigvalsh", "svdvals", "normalize", "cosine_similarity", "cross_entropy", "conv1d", "conv2d",
               "conv_transpose2d", "take", "index_add")


def _declaration(prim: registry.Primitive) -> str:
    """What ``prim`` declares: 'rules', one of the kinds, or its sentence (the test's verdict on each)."""
    so = prim.second_order
    if not isinstance(so, str):
        n = 1 if prim.variadic else len(prim.args)
        assert len(so) == n, f"{prim.name}: {len(so)} second-order rules for {n} arguments"
        for arg, rule, first in zip(prim.args, so, prim.vjp):
            assert callable(rule) or isinstance(rule, NotDifferentiable), f"{prim.name}: rule for {arg!r}"
            assert isinstance(rule, NotDifferentiable) == isinstance(first, NotDifferentiable), \
                f"{prim.name}: argument {arg!r} is differentiable in one order and not the other"
        return "rules"
    return so


@pytest.mark.parametrize("name", registry.names())
def test_every_primitive_declares_second_order_or_says_why_not(name):
    prim = registry.get(name)
    declared = _declaration(prim)
    if declared == "rules" or declared in KINDS:
        assert not second_order.reason(prim)
        return
    sentence = declared.strip()
    assert sentence, f"{name}: second_order is empty — declare a rule, a kind, or a sentence saying why not"
    assert sentence.lower().strip(" .") not in PLACEHOLDERS and len(sentence.split()) >= 5, \
        f"{name}: {sentence!r} is not a reason"
    assert second_order.reason(prim) == sentence  # the reason a case's second-order rows are skipped with


def test_the_completeness_check_refuses_an_empty_declaration_and_a_placeholder(monkeypatch):
    import dataclasses

    for bad in ("", "  ", "TODO", "not implemented"):
        prim = dataclasses.replace(registry.get("exp"), second_order=bad)
        monkeypatch.setitem(registry._REGISTRY, "exp", prim)
        with pytest.raises(AssertionError):
            test_every_primitive_declares_second_order_or_says_why_not("exp")


def test_a_primitive_without_a_differentiable_output_says_so():
    assert registry.get("less").second_order == NO_DERIVATIVE
    assert registry.get("one_hot").second_order == NO_DERIVATIVE
    assert second_order.reason(registry.get("one_hot")) == NO_DERIVATIVE
    assert not second_order.reason(registry.get("det"))


def test_every_primitive_issue_15_listed_now_has_a_rule():
    for name in NEWLY_RULED:
        assert _declaration(registry.get(name)) in ("rules",) + KINDS, name


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(NEWLY_RULED), data=st.data())
def test_the_new_rules_match_torch_double_backward_at_random_points(name, data):
    prim = registry.get(name)
    call = data.draw(st.sampled_from(prim.probes), label="call")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    assert_hessian_matches_torch(name, call, np.random.default_rng(seed))


def test_det_second_order_is_exact_at_a_singular_matrix():
    # rank 2 of 3: det = 0 and det(a)·a⁻ᵀ is undefined, but det is a polynomial; its Hessian is the
    # cofactor tangent, here against torch on the Faddeev–LeVerrier form (see ops/linalg._torch_det)
    rng = np.random.default_rng(3)
    b = rng.standard_normal((3, 2))
    a = b @ rng.standard_normal((2, 3))
    assert abs(np.linalg.det(a)) < 1e-12
    call = registry.ProbeCall(((3, 3),))
    assert_hessian_matches_torch("det", call, rng, args=[a])


def test_det_second_order_at_a_rank_one_matrix_is_not_zero():
    # at rank n − 2 the cofactor matrix is 0 but its change is not: ∂²det/∂a₀₀∂a₁₁ = a₂₂ − … ≠ 0
    a = np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 2.0])
    ev = engine.evaluate(one_node_graph("det", 1), {"a0": a}, np.float64)
    cols = second_order.hessian(ev, "a0")["a0"].reshape(9, 9)
    t = torch.tensor(a, requires_grad=True)
    poly = torch.autograd.functional.hessian(lambda m: registry.get("det").torch(m), t).reshape(9, 9)
    np.testing.assert_allclose(cols, poly.numpy(), atol=1e-12)
    assert np.abs(cols).max() > 0.5
