"""Property tests of the reductions against torch, at their kinks, and by complex step.

* Random tests: ``check_primitive`` (forward, VJP, JVP, batching against torch, float64)
  on random shapes (0-d included) with random ``axis`` (None, int, tuple) and ``keepdims``.
* Ties and zeros: max/min split the gradient evenly among tied elements (torch.amax),
  prod is exact with one and with two zeros (torch.prod); kink distances.
* Complex step: for every analytic reduction Im f(x + ih·v)/h, projected on a random
  cotangent, equals the VJP projected on v (:func:`check_complex_step`, shared with the
  shape and nn tests).
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck_suite import engine
from gradcheck_suite.ops import get
from gradcheck_suite.ops.registry import normalise_params
from tests.ops.checks import axes_of, check_complex_step, check_primitive, one_node_graph

EXAMPLES = settings(max_examples=25, deadline=None)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, max_side=3)
#: 0 or 1e-3 ≤ |x| ≤ 3: no underflow of x² (torch's 2-norm underflows there, see test_norm_of_tiny_vectors)
finite = st.one_of(st.just(0.0), st.floats(1e-3, 3), st.floats(-3, -1e-3))
#: multiples of 1/8: exact ties (std = 0, zero vectors) or spreads of at least 1/8, never a near-tie
eighths = st.integers(-24, 24).map(lambda k: k / 8)

#: every primitive of ops/reductions.py
NAMES = ["sum", "mean", "prod", "max", "min", "logsumexp", "var", "std", "norm"]


@st.composite
def reduction_case(draw, elements=finite, unique=False):
    """An array, an axis and keepdims."""
    x = draw(hnp.arrays(np.float64, draw(SHAPES), elements=elements, unique=unique))
    return x, {"axis": draw(axes_of(x.ndim)), "keepdims": draw(st.booleans())}


def reduced_count(x: np.ndarray, axis) -> int:
    """How many elements one reduction combines."""
    if axis is None:
        return x.size
    axes = axis if isinstance(axis, tuple) else (axis,)
    return int(np.prod([x.shape[a] for a in axes])) if x.ndim else 1


def test_every_primitive_is_registered_here():
    assert {p.name for p in map(get, NAMES)} == set(NAMES)
    assert all(get(n).category == "reductions" for n in NAMES)


# ---- random tests against torch -------------------------------------------------------


@pytest.mark.parametrize("name", ["mean", "prod", "logsumexp", "norm"])
@EXAMPLES
@given(case=reduction_case())
def test_against_torch(name, case):
    x, params = case
    check_primitive(name, [x], params)


@pytest.mark.parametrize("name", ["max", "min"])
@EXAMPLES
@given(case=reduction_case(unique=True))
def test_extremum_away_from_ties(name, case):
    x, params = case
    check_primitive(name, [x], params)


@pytest.mark.parametrize("name", ["var", "std"])
@EXAMPLES
@given(case=reduction_case(elements=eighths), data=st.data())
def test_spread_against_torch(name, case, data):
    x, params = case
    n = reduced_count(x, params["axis"])
    params["ddof"] = data.draw(st.integers(0, min(1, n - 1)))
    check_primitive(name, [x], params)


@EXAMPLES
@given(case=reduction_case(elements=eighths))
def test_norm_at_zero_vectors(case):
    x, params = case
    check_primitive("norm", [x * (x > 0)], params)


def test_norm_of_tiny_vectors():
    """Our norm is scaled: no underflow where x² does (torch's gradient is 0 there)."""
    x = np.array([3e-201, 4e-201])
    np.testing.assert_allclose(get("norm").forward(x, axis=(-1,), keepdims=False), 5e-201)
    np.testing.assert_allclose(local("norm", x), [0.6, 0.8])
    check_primitive("norm", [x * 1e190])  # where torch does not underflow, it agrees


# ---- ties: the gradient is split evenly, as in torch.amax / torch.amin --------------------


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_ties_against_torch(name, axis, keepdims):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [3.0, -1.0, 3.0]])
    check_primitive(name, [x], {"axis": axis, "keepdims": keepdims})


def local(name: str, x: np.ndarray, **params) -> np.ndarray:
    """The Jacobian of one primitive at x, from the engine (shape out + x)."""
    graph = one_node_graph(name, 1, params)
    ev = engine.evaluate(graph, {"a0": x}, np.float64)
    return engine.jacobian(ev)["a0"]


def test_max_ties_split_evenly():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    np.testing.assert_allclose(local("max", x, axis=1).sum(axis=0), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(local("max", x), [[0, 0.5, 0.5], [0, 0, 0]])


def test_min_ties_split_evenly():
    x = np.array([[1.0, 3.0, 1.0], [2.0, 0.0, 2.0]])
    np.testing.assert_allclose(local("min", x, axis=0).sum(axis=0), [[1, 0, 1], [0, 1, 0]])
    np.testing.assert_allclose(local("min", x, axis=-1).sum(axis=0), [[0.5, 0, 0.5], [0, 1, 0]])


def test_extremum_kink_is_the_gap_to_the_runner_up():
    x = np.array([[1.0, 3.0, 2.5], [0.0, 4.0, 1.0]])
    p = lambda **kw: normalise_params(get("max"), kw, [2], 0)  # noqa: E731
    assert get("max").kink(x, **p(axis=1)) == pytest.approx(0.5)
    assert get("max").kink(x, **p(axis=None)) == pytest.approx(1.0)
    assert get("min").kink(x, **p(axis=1)) == pytest.approx(1.0)
    assert get("min").kink(x, **p(axis=0)) == pytest.approx(1.0)
    assert get("max").kink(np.array([[1.0, 3.0, 3.0]]), **p(axis=1)) == 0.0
    assert get("max").kink(np.array([[1.0], [2.0]]), **p(axis=1)) == np.inf  # one element: no tie possible


def test_spread_and_norm_kinks():
    p = normalise_params(get("std"), {"axis": 1}, [2], 0)
    assert get("std").kink(np.array([[2.0, 2.0], [1.0, 3.0]]), **p) == 0.0
    assert get("std").kink(np.array([[1.0, 3.0]]), **p) == pytest.approx(np.sqrt(2.0))  # ‖x − mean‖
    q = normalise_params(get("norm"), {"axis": 1}, [2], 0)
    assert get("norm").kink(np.array([[3.0, 4.0], [0.0, 0.0]]), **q) == 0.0
    assert get("norm").kink(np.array([[3.0, 4.0], [0.0, 1.0]]), **q) == pytest.approx(1.0)
    assert not get("max").analytic and not get("min").analytic


# ---- prod with zeros ---------------------------------------------------------------------


@pytest.mark.parametrize("x, expected", [
    ([2.0, 0.0, 3.0], [0.0, 6.0, 0.0]),  # one zero: only the zero's neighbours' product survives
    ([2.0, 0.0, 0.0], [0.0, 0.0, 0.0]),  # two zeros: every partial product has a zero
    ([2.0, -1.0, 3.0], [-3.0, 6.0, -2.0]),
])
def test_prod_gradient_with_zeros(x, expected):
    x = np.array(x)
    np.testing.assert_allclose(local("prod", x), expected)
    check_primitive("prod", [x])


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 2), -1])
def test_prod_with_zeros_against_torch(axis):
    x = np.arange(1.0, 25.0).reshape(2, 3, 4) / 4
    x[0, 1, 2] = 0.0
    x[1, 0, 0] = x[1, 0, 3] = 0.0
    check_primitive("prod", [x], {"axis": axis})
    check_primitive("prod", [x], {"axis": axis, "keepdims": True})


# ---- stability and no-axis reductions ------------------------------------------------------


def test_logsumexp_is_stable():
    x = np.array([[1000.0, 1000.0], [-1000.0, -1001.0]])
    check_primitive("logsumexp", [x], {"axis": 1})
    ans = get("logsumexp").forward(x, axis=(-1,), keepdims=False)
    np.testing.assert_allclose(ans, [1000 + np.log(2), -1000 + np.log1p(np.exp(-1))])
    check_complex_step("logsumexp", [x], {"axis": -1})


@pytest.mark.parametrize("name", NAMES)
def test_empty_axis_tuple_reduces_nothing(name):
    """numpy: axis=() reduces nothing; torch's dim=() would reduce everything."""
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    check_primitive(name, [x], {"axis": ()})


# ---- complex step ----------------------------------------------------------------------------

ANALYTIC = ["sum", "mean", "prod", "logsumexp", "var", "std", "norm"]


def test_every_analytic_reduction_is_complex_step_tested():
    assert {n for n in NAMES if get(n).analytic} == set(ANALYTIC)


@pytest.mark.parametrize("name", ANALYTIC)
@EXAMPLES
@given(case=reduction_case(elements=st.floats(0.5, 3)), data=st.data())
def test_complex_step_equals_vjp(name, case, data):
    x, params = case
    if name in ("var", "std"):
        x = x + 3 * np.arange(x.size).reshape(x.shape)  # elements in [0.5, 3]: strictly increasing, std > 0
        params["ddof"] = data.draw(st.integers(0, min(1, reduced_count(x, params["axis"]) - 1)))
    check_complex_step(name, [x], params)


def test_torch_reference_on_empty_axis_matches_numpy_meaning():
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    assert get("sum").torch(x, axis=(), keepdims=False).shape == (1, 2)
    assert get("max").torch(x, axis=(), keepdims=True).shape == (1, 2)
