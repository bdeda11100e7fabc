"""Property tests of the scans, order and mover primitives against torch and by complex step."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck_suite.ops import get
from tests.ops.checks import between, check_complex_step, check_primitive

EXAMPLES = settings(max_examples=20, deadline=None)
SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


@st.composite
def along_an_axis(draw, elements=st.floats(-2, 2, allow_subnormal=False), distinct=False):
    # (no subnormals: torch's cumprod JVP divides by x and gives inf there; ours is exact)
    shape = draw(SHAPES)
    if distinct:  # no ties: sort and topk have kinks there
        x = np.random.default_rng(draw(st.integers(0, 2 ** 16))).permutation(int(np.prod(shape))).reshape(shape)
        x = x / 3.0 - 1.0
    else:
        x = draw(hnp.arrays(np.float64, shape, elements=elements))
    return x, draw(st.integers(-len(shape), len(shape) - 1))


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@EXAMPLES
@given(case=along_an_axis())
def test_scans_against_torch_and_complex_step(name, case):
    x, axis = case
    check_primitive(name, [x], {"axis": axis})
    check_complex_step(name, [x], {"axis": axis})


@pytest.mark.parametrize("x", [[2.0, 0.0, 3.0, 0.5], [0.0, 0.0, 1.5], [[1.0, 0.0], [0.0, 2.0]]])
def test_cumprod_gradient_is_exact_with_zeros(x):
    check_primitive("cumprod", [np.array(x)], {"axis": -1})
    check_primitive("cumprod", [np.array(x)], {"axis": 0})


@EXAMPLES
@given(case=along_an_axis(distinct=True), data=st.data())
def test_order_against_torch(case, data):
    x, axis = case
    check_primitive("sort", [x], {"axis": axis})
    k = data.draw(st.integers(1, x.shape[axis]))
    check_primitive("topk", [x], {"k": k, "axis": axis})


def test_ties_are_the_kinks_of_sort_and_topk():
    x = np.array([0.5, 2.0, 0.5, -1.0])
    assert get("sort").kink(x, axis=(-1,)) == 0.0
    assert get("topk").kink(x, k=1, axis=(-1,)) == pytest.approx(1.5)  # the two largest differ
    assert get("topk").kink(x, k=2, axis=(-1,)) == 0.0  # 0.5 and 0.5 tie for the 2nd place
    assert get("sort").kink(np.array([1.0, 3.0, 2.5]), axis=(-1,)) == pytest.approx(0.5)


@EXAMPLES
@given(case=along_an_axis(), shift=st.integers(-5, 5))
def test_roll_against_torch(case, shift):
    x, axis = case
    check_primitive("roll", [x], {"shift": shift, "axis": axis})


@pytest.mark.parametrize("name", ["tril", "triu"])
@EXAMPLES
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=3, max_side=4), elements=between(-2, 2)),
       k=st.integers(-2, 2))
def test_triangles_against_torch(name, x, k):
    check_primitive(name, [x], {"k": k})


@EXAMPLES
@given(x=hnp.arrays(np.float64, SHAPES, elements=between(-2, 2)), data=st.data())
def test_copies_against_torch_and_complex_step(x, data):
    reps = tuple(data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=x.ndim)))
    check_primitive("tile", [x], {"reps": reps})
    check_complex_step("tile", [x], {"reps": reps})
    params = {"repeats": data.draw(st.integers(1, 3)), "axis": data.draw(st.integers(-x.ndim, x.ndim - 1))}
    check_primitive("repeat", [x], params)
    check_complex_step("repeat", [x], params)


@EXAMPLES
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=4, max_side=3), elements=between(-2, 2)),
       data=st.data())
def test_axis_movers_against_torch(x, data):
    axes = st.integers(-x.ndim, x.ndim - 1)
    check_primitive("swapaxes", [x], {"axis1": data.draw(axes), "axis2": data.draw(axes)})
    source = data.draw(st.lists(st.integers(0, x.ndim - 1), min_size=1, max_size=x.ndim, unique=True))
    destination = data.draw(st.permutations(range(x.ndim)))[:len(source)]
    check_primitive("moveaxis", [x], {"source": tuple(source), "destination": tuple(destination)})


@pytest.mark.parametrize("name, shape, params, message", [
    ("cumsum", (3, 4), {"axis": (0, 1)}, "one axis"),
    ("topk", (3, 4), {"k": 5}, "1 ≤ k ≤ 4"),
    ("tile", (3,), {"reps": (2, 2)}, "reps must be 1 to 1 positive ints"),
    ("repeat", (3,), {"repeats": 0}, "repeats must be a positive int"),
    ("tril", (3,), {}, "needs a matrix"),
])
def test_bad_parameters_are_clear_errors(name, shape, params, message):
    from gradcheck_suite.ops.registry import normalise_params

    prim = get(name)
    p = normalise_params(prim, params, [len(shape)], 0, shape)
    with pytest.raises(ValueError, match=message):
        prim.forward(np.ones(shape), **p)
