"""Property tests of softmax, log_softmax, normalize and cosine_similarity against torch, for stability, and by complex step."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck_suite import engine
from gradcheck_suite.ops import get
from tests.ops.checks import axes_of, check_complex_step, check_primitive, one_node_graph

EXAMPLES = settings(max_examples=25, deadline=None)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, max_side=3)
finite = st.floats(-5, 5, allow_nan=False, allow_infinity=False)

#: the softmax family (normalize and cosine_similarity are tested at the end)
NAMES = ["softmax", "log_softmax"]


@st.composite
def softmax_case(draw, elements=finite):
    x = draw(hnp.arrays(np.float64, draw(SHAPES), elements=elements))
    axis = draw(st.one_of(st.just("default"), axes_of(x.ndim)))
    return [x], {} if axis == "default" else {"axis": axis}


@pytest.mark.parametrize("name", NAMES)
@EXAMPLES
@given(case=softmax_case())
def test_against_torch(name, case):
    check_primitive(name, *case)


@pytest.mark.parametrize("name", NAMES)
def test_stable_at_large_values(name):
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1000.0, -2000.0]])
    check_primitive(name, [x], {"axis": -1})
    out = engine.evaluate(one_node_graph(name, 1), {"a0": x}).output
    assert np.all(np.isfinite(out))
    check_complex_step(name, [x])


def test_softmax_rows_sum_to_one_and_local_jacobian():
    x = np.array([0.5, -1.0, 2.0])
    ev = engine.evaluate(one_node_graph("softmax", 1), {"a0": x})
    s = ev.output
    assert s.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(engine.jacobian(ev)["a0"], np.diag(s) - np.outer(s, s))  # sᵢ(δᵢⱼ − sⱼ)
    log_ev = engine.evaluate(one_node_graph("log_softmax", 1), {"a0": x})
    np.testing.assert_allclose(np.exp(log_ev.output), s)
    np.testing.assert_allclose(engine.jacobian(log_ev)["a0"], np.eye(3) - s[None, :])  # δᵢⱼ − sⱼ


def test_derivative_texts_name_the_argument():
    assert get("softmax").derivative_text({"x": "z"}) == ["∂sᵢ/∂zⱼ = sᵢ(δᵢⱼ − sⱼ)   (s = softmax(z))"]


def test_every_nn_primitive_is_analytic():
    assert all(get(n).analytic for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=15, deadline=None)
@given(case=softmax_case())
def test_complex_step_equals_vjp(name, case):
    check_complex_step(name, *case)


# ---- normalize and cosine_similarity ------------------------------------------------------

#: vectors of length ≥ 1 along the axis, away from the eps kink (a length of at least 0.3)
away_from_zero = st.floats(0.3, 3, allow_nan=False) | st.floats(-3, -0.3, allow_nan=False)


@st.composite
def along_one_axis(draw, count: int):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
    xs = [draw(hnp.arrays(np.float64, shape, elements=away_from_zero)) for _ in range(count)]
    axis = draw(st.one_of(st.just("default"), st.integers(-len(shape), len(shape) - 1)))
    return xs, {} if axis == "default" else {"axis": axis}


@pytest.mark.parametrize("name, count", [("normalize", 1), ("cosine_similarity", 2)])
@EXAMPLES
@given(data=st.data())
def test_normalisation_against_torch_and_complex_step(name, count, data):
    args, params = data.draw(along_one_axis(count))
    check_primitive(name, args, params)
    check_complex_step(name, args, params)


def test_normalize_below_eps_divides_by_eps_as_torch():
    x = np.array([[1e-13, -2e-13], [3.0, 4.0]])
    check_primitive("normalize", [x], {"axis": -1})
    assert get("normalize").kink(x, axis=(-1,), eps=1e-12) < 1e-12


def test_cosine_similarity_refuses_arguments_of_different_shapes():
    with pytest.raises(ValueError, match="same shape"):
        get("cosine_similarity").forward(np.ones((3, 4)), np.ones((4,)), axis=(-1,), eps=1e-8)


def test_normalize_refuses_several_axes():
    with pytest.raises(ValueError, match="one axis"):
        get("normalize").forward(np.ones((3, 4)), axis=(-2, -1), eps=1e-12)
