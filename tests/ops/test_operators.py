"""Property tests of the operators and comparisons against torch, plus pow's conventions at 0.

Every differentiable operator is checked by ``check_primitive`` (forward, VJP, JVP and
batching against torch, float64) on random, mutually broadcastable shapes including
0-d scalars; the comparisons are checked as forwards (bool arrays, ties included).
The complex-step test checks every analytic operator's VJP against Im f(x + ih)/h.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck_suite.ops import NOT_DIFFERENTIABLE, get
from tests.ops.checks import between, broadcastable, check_complex_step, check_primitive

EXAMPLES = settings(max_examples=20, deadline=None)



#: |y| ≥ 0.5, so that x / y stays tame
away_from_zero = st.one_of(between(0.5, 3), between(-3, -0.5))
#: small integers as floats, so that comparisons see ties
integers = st.integers(-2, 2).map(float)



# name: element strategies of the arguments, inside the domain
BINARY = [
    ("add", between(-3, 3), between(-3, 3)),
    ("sub", between(-3, 3), between(-3, 3)),
    ("mul", between(-3, 3), between(-3, 3)),
    ("div", between(-3, 3), away_from_zero),
    ("pow", between(0.2, 2), between(-2, 2)),
]
UNARY = [
    ("neg", between(-3, 3)),
    ("pos", between(-3, 3)),
]
COMPARISONS = [
    ("less", np.less), ("less_equal", np.less_equal), ("greater", np.greater),
    ("greater_equal", np.greater_equal), ("equal", np.equal), ("not_equal", np.not_equal),
]


@pytest.mark.parametrize("name, x_elements, y_elements", BINARY, ids=[row[0] for row in BINARY])
@EXAMPLES
@given(data=st.data())
def test_binary_operator_matches_torch(name, x_elements, y_elements, data):
    check_primitive(name, data.draw(broadcastable(x_elements, y_elements)))


@pytest.mark.parametrize("name, elements", UNARY, ids=[row[0] for row in UNARY])
@EXAMPLES
@given(data=st.data())
def test_unary_operator_matches_torch(name, elements, data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=3))
    check_primitive(name, [data.draw(hnp.arrays(np.float64, shape, elements=elements))])


# ---- pow: negative bases and torch's conventions at x = 0 --------------------------


@EXAMPLES
@given(data=st.data())
def test_pow_negative_base_integer_exponent(data):
    x, y = data.draw(broadcastable(between(-2, -0.5), st.integers(-3, 3).map(float)))
    check_primitive("pow", [x, y], differentiable=[True, False])  # d/dy needs log x: x > 0


@pytest.mark.parametrize("y", [0.0, 0.5, 1.0, 2.0, 3.0])
def test_pow_at_zero_base_matches_torch(y):
    # torch: d/dx = 0 where y == 0; d/dy = 0 where x == 0 and y >= 0
    check_primitive("pow", [np.array([0.0, 1.5]), np.array(y)])


def test_pow_at_zero_base_uses_torchs_zeros():
    x, y = np.array([0.0, 0.0]), np.array([0.0, 2.0])
    ans = get("pow").forward(x, y)
    np.testing.assert_array_equal(get("pow").vjp[0](np.ones(2), ans, x, y), [0.0, 0.0])
    np.testing.assert_array_equal(get("pow").vjp[1](np.ones(2), ans, x, y), [0.0, 0.0])


# ---- comparisons ----------------------------------------------------------------


@pytest.mark.parametrize("name, numpy_op", COMPARISONS, ids=[row[0] for row in COMPARISONS])
@EXAMPLES
@given(data=st.data())
def test_comparison_matches_torch(name, numpy_op, data):
    x, y = data.draw(broadcastable(integers, integers))
    check_primitive(name, [x, y])
    prim = get(name)
    out = prim.forward(x, y)
    assert out.dtype == np.bool_
    np.testing.assert_array_equal(out, numpy_op(x, y))
    gap = np.abs(x - y)
    assert prim.kink(x, y) == (gap.min() if gap.size else np.inf)


@pytest.mark.parametrize("name", [row[0] for row in COMPARISONS])
def test_comparison_is_declared_not_differentiable(name):
    prim = get(name)
    assert prim.vjp == (NOT_DIFFERENTIABLE, NOT_DIFFERENTIABLE)
    assert prim.jvp == (NOT_DIFFERENTIABLE, NOT_DIFFERENTIABLE)
    assert not prim.differentiable_output and not prim.analytic and prim.broadcasts
    assert prim.kink(np.array([1.0, 4.0]), np.array(1.25)) == 0.25


def test_comparison_torch_counterpart_agrees_at_ties():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0])
    for name, numpy_op in COMPARISONS:
        theirs = get(name).torch(torch.tensor(x), torch.tensor(y)).numpy()
        np.testing.assert_array_equal(theirs, numpy_op(x, y), err_msg=name)


# ---- complex step ---------------------------------------------------------------


ANALYTIC = {name: elements for name, *elements in BINARY + UNARY}


def test_every_analytic_operator_has_a_complex_step_domain():
    declared = {name for name, *_ in BINARY + UNARY}
    assert {n for n in declared if get(n).analytic} == set(ANALYTIC)


@pytest.mark.parametrize("name", sorted(ANALYTIC))
@EXAMPLES
@given(data=st.data())
def test_complex_step_equals_vjp(name, data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    check_complex_step(name, [data.draw(hnp.arrays(np.float64, shape, elements=e)) for e in ANALYTIC[name]])
