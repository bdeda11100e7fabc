"""Property tests of the elementwise primitives against torch, at kinks, and by complex step.

* Random tests: ``check_primitive`` (forward, VJP, JVP, batching against torch, float64)
  on random shapes including 0-d scalars, for every primitive declared by
  ``registry.elementwise`` (no list here: adding a primitive adds its tests), with each
  parameter set of its probes and values from the domain its registration declares.
* Kink tests: the subgradient conventions at the kink point itself, against torch.
* Complex step: for every analytic primitive Im f(x + ih)/h equals its VJP.
"""
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck_suite.ops import NOT_DIFFERENTIABLE, all_primitives, get
from gradcheck_suite.ops.registry import NotDifferentiable
from tests.ops.checks import between, broadcastable, check_complex_step, check_primitive, elements

EXAMPLES = settings(max_examples=20, deadline=None)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, max_side=3)

#: every primitive declared by ``registry.elementwise`` (operators included), with each
#: parameter set its probes use
ELEMENTWISE = [p for p in all_primitives() if p.local_derivative is not None]
ROWS = [(prim.name, dict(params)) for prim in ELEMENTWISE
        for params in {tuple(sorted(c.params.items())): c.params for c in prim.probes}.values()]
ANALYTIC = sorted({name for name, _ in ROWS if get(name).analytic})


def _id(row) -> str:
    return row[0] + "".join(f"-{k}={v}" for k, v in row[1].items())


def _arguments(data, name: str) -> list[np.ndarray]:
    strategies = [elements(d) for d in get(name).domain]
    if len(strategies) == 1:
        return [data.draw(hnp.arrays(np.float64, data.draw(SHAPES), elements=strategies[0]))]
    return data.draw(broadcastable(*strategies))


@pytest.mark.parametrize("name, params", ROWS, ids=[_id(row) for row in ROWS])
@EXAMPLES
@given(data=st.data())
def test_elementwise_matches_torch(name, params, data):
    check_primitive(name, _arguments(data, name), params)


def test_the_vjp_and_jvp_are_two_functions_generated_from_one_local_derivative():
    rng = np.random.default_rng(0)
    for prim in ELEMENTWISE:
        full = {**prim.params, **prim.probes[0].params}
        args = [d.draw(rng, (3,)) for d in prim.domain]
        ans = prim.forward(*args, **full)
        for k, local in enumerate(prim.local_derivative):
            if isinstance(local, NotDifferentiable):
                continue
            assert prim.vjp[k] is not prim.jvp[k], prim.name
            seed = rng.standard_normal(np.shape(ans))
            expected = seed * local(ans, *args, **full)
            np.testing.assert_array_equal(prim.vjp[k](seed, ans, *args, **full), expected, err_msg=prim.name)
            np.testing.assert_array_equal(prim.jvp[k](seed, ans, *args, **full), expected, err_msg=prim.name)


@EXAMPLES
@given(data=st.data())
def test_where_matches_torch(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3))
    condition = data.draw(hnp.arrays(np.bool_, shapes.input_shapes[0]))
    x, y = (data.draw(hnp.arrays(np.float64, s, elements=between(-3, 3))) for s in shapes.input_shapes[1:])
    check_primitive("where", [condition, x, y])


@EXAMPLES
@given(data=st.data())
def test_where_of_a_comparison_condition(data):
    x, y = data.draw(broadcastable(between(-3, 3), between(-3, 3)))
    condition = get("greater").forward(x, 0.0)
    check_primitive("where", [condition, x, y])


def test_where_condition_is_not_differentiable():
    assert get("where").vjp[0] is NOT_DIFFERENTIABLE and get("where").jvp[0] is NOT_DIFFERENTIABLE


# ---- stability: large |x| ---------------------------------------------------------------


@pytest.mark.parametrize("name, values, atol", [
    ("sigmoid", [-800.0, -40.0, -1e-3, 0.0, 40.0, 800.0], 1e-300),
    ("softplus", [-800.0, -40.0, 19.5, 20.0, 20.5, 40.0, 800.0], 1e-300),
    ("log1p", [1e-15, -1e-15, 1e-8], 1e-300),
    ("expm1", [1e-15, -1e-15, 1e-8], 1e-300),
    # torch's x·½(1 + erf(x/√2)) cancels for x ≪ 0 (2 % off at −8, by 1e−16); ours uses erfc
    ("gelu", [-40.0, -8.0, 8.0, 40.0], 1e-15),
    ("erf", [-8.0, 8.0], 1e-300),
    ("tanh", [-400.0, 400.0], 1e-300),
])
def test_stable_at_extreme_values(name, values, atol):
    x = np.array(values)
    prim = get(name)
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no overflow on the way
        ans = prim.forward(x)
        slope = prim.vjp[0](np.ones(x.shape), ans, x)
    assert np.all(np.isfinite(ans)) and np.all(np.isfinite(slope))
    check_primitive(name, [x], rtol=1e-12, atol=atol)


def test_gelu_is_accurate_far_left():
    x = np.array([-8.0, -20.0])
    exact = [float(v * mpmath.ncdf(v)) for v in (mpmath.mpf(-8), mpmath.mpf(-20))]
    np.testing.assert_allclose(get("gelu").forward(x), exact, rtol=1e-13)


# ---- kinks: torch's subgradient conventions at the kink itself ---------------------------


@pytest.mark.parametrize("name, x, params", [
    ("relu", [0.0, -1.0, 1.0], {}),  # relu'(0) = 0
    ("abs", [0.0, -1.0, 1.0], {}),  # abs'(0) = 0
    ("sign", [0.0, -1.0, 1.0], {}),  # sign' = 0
    ("leaky_relu", [0.0, -1.0, 1.0], {"negative_slope": 0.2}),  # slope at 0: negative_slope
    ("elu", [0.0, -1.0, 1.0], {"alpha": 0.5}),  # slope at 0: alpha
    ("clip", [-1.0, 1.0, 0.0, 2.0], {"a_min": -1.0, "a_max": 1.0}),  # gradient passes at the bounds
    ("clip", [-1.0, 1.0], {"a_min": -1.0, "a_max": None}),
    ("clip", [-1.0, 1.0], {"a_min": None, "a_max": 1.0}),
    ("clip", [-1.0, 1.0, 0.0], {"a_min": 1.0, "a_max": -1.0}),
], ids=lambda v: str(v) if isinstance(v, str) else None)
def test_unary_kink_convention_matches_torch(name, x, params):
    x = np.array(x)
    check_primitive(name, [x], params)
    assert get(name).kink(x, **{**get(name).params, **params}) == 0.0


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@pytest.mark.parametrize("x, y", [
    ([1.0, 2.0, 3.0], [1.0, 1.0, 3.0]),  # ties split ½ / ½
    ([[1.0], [2.0]], [1.0, 2.0, 2.0]),  # ties under broadcasting
    (2.0, 2.0),
])
def test_tie_convention_matches_torch(name, x, y):
    x, y = np.array(x), np.array(y)
    check_primitive(name, [x, y])
    assert get(name).kink(x, y) == 0.0


def test_tie_splits_evenly():
    x = y = np.array([1.0, -2.0])
    for name in ("maximum", "minimum"):
        prim = get(name)
        ans = prim.forward(x, y)
        for rule in prim.vjp:
            np.testing.assert_array_equal(rule(np.ones(2), ans, x, y), [0.5, 0.5])


@pytest.mark.parametrize("name, args, params, distance", [
    ("abs", ([-0.3, 2.0],), {}, 0.3),
    ("relu", ([0.5, -0.25],), {}, 0.25),
    ("sign", (1.0,), {}, 1.0),
    ("leaky_relu", ([-0.75],), {"negative_slope": 0.01}, 0.75),
    ("elu", ([-0.75, 3.0],), {"alpha": 1.0}, 0.75),
    ("clip", ([0.0, 2.25],), {"a_min": -0.5, "a_max": 2.0}, 0.25),
    ("clip", ([0.0, 2.25],), {"a_min": None, "a_max": 2.0}, 0.25),
    ("clip", ([0.0, 2.25],), {"a_min": -0.5, "a_max": None}, 0.5),
    ("maximum", ([1.0, 3.0], 1.5), {}, 0.5),
    ("minimum", ([[1.0], [4.0]], [3.0, 0.0]), {}, 1.0),
])
def test_kink_distance(name, args, params, distance):
    assert get(name).kink(*map(np.array, args), **params) == pytest.approx(distance)


def test_analytic_primitives_have_no_kink_and_kinked_ones_are_not_analytic():
    for prim in ELEMENTWISE:
        assert not (prim.analytic and prim.kink is not None), prim.name


# ---- complex step ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ANALYTIC)
@EXAMPLES
@given(data=st.data())
def test_complex_step_equals_vjp(name, data):
    check_complex_step(name, _arguments(data, name))


# sigmoid's VJP σ(1 − σ) cancels for x ≫ 0 (as torch's), so it is checked far out on the left only
@pytest.mark.parametrize("name, values", [
    ("sigmoid", [-40.0, -19.0, -5.0]),
    ("softplus", [-40.0, -19.0, 19.5, 20.5, 40.0]),
    ("gelu", [-20.0, -8.0, 8.0, 40.0]),
])
def test_complex_step_far_out(name, values):
    check_complex_step(name, [np.array(values)], atol=1e-300)
