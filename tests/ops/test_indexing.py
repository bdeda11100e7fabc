"""Property tests of take, one_hot and cross_entropy against torch and by complex step."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck_suite.ops import NOT_DIFFERENTIABLE, get
from tests.ops.checks import between, check_complex_step, check_primitive

EXAMPLES = settings(max_examples=25, deadline=None)


@st.composite
def lookup(draw):
    x = draw(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), elements=between(-2, 2)))
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    index = draw(hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=2, max_side=4),
                            elements=st.integers(0, x.shape[axis] - 1)))
    return [x, index.astype(np.float64)], {"axis": axis}


@EXAMPLES
@given(case=lookup())
def test_take_against_torch_and_complex_step(case):
    check_primitive("take", *case)
    check_complex_step("take", *case)


def test_an_embedding_row_read_twice_gets_both_gradients():
    from gradcheck_suite import engine
    from tests.ops.checks import one_node_graph

    table, ids = np.arange(6.0).reshape(3, 2), np.array([2.0, 0.0, 2.0])
    ev = engine.evaluate(one_node_graph("take", 2, differentiable=[True, False]), {"a0": table, "a1": ids})
    g = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    np.testing.assert_array_equal(engine.vjp(ev, g)["a0"], [[3.0, 4.0], [0.0, 0.0], [6.0, 8.0]])


@EXAMPLES
@given(labels=hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=2, max_side=4), elements=st.integers(0, 3)))
def test_one_hot_against_torch(labels):
    check_primitive("one_hot", [labels.astype(np.float64)], {"num_classes": 4})
    assert get("one_hot").vjp[0] is NOT_DIFFERENTIABLE and not get("one_hot").differentiable_output


@st.composite
def classification(draw):
    rows = draw(st.one_of(st.none(), st.integers(1, 4)))
    classes = draw(st.integers(1, 4))
    shape = (classes,) if rows is None else (rows, classes)
    logits = draw(hnp.arrays(np.float64, shape, elements=between(-3, 3)))
    target = draw(hnp.arrays(np.int64, shape[:-1], elements=st.integers(0, classes - 1)))
    return [logits, target.astype(np.float64)]


@EXAMPLES
@given(args=classification())
def test_cross_entropy_against_torch_and_complex_step(args):
    check_primitive("cross_entropy", args)
    check_complex_step("cross_entropy", args)


@pytest.mark.parametrize("name, args, params, message", [
    ("take", [np.ones((3, 2)), np.array([0.0, 3.0])], {"axis": (-2,), "nb": 0}, r"must lie in \[0, 3\)"),
    ("take", [np.ones((3, 2)), np.array([0.5])], {"axis": (-2,), "nb": 0}, "whole numbers"),
    ("one_hot", [np.array([1.0, 4.0])], {"num_classes": 4, "nb": 0}, r"must lie in \[0, 4\)"),
    ("cross_entropy", [np.ones((3, 4)), np.array([0.0, 1.0])], {"nb": 0}, "needs logits"),
])
def test_bad_indices_are_clear_errors(name, args, params, message):
    with pytest.raises(ValueError, match=message):
        get(name).forward(*args, **params)


@st.composite
def scatter(draw):
    x = draw(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), elements=between(-2, 2)))
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    index = draw(hnp.arrays(np.int64, (draw(st.integers(1, 4)),), elements=st.integers(0, x.shape[axis] - 1)))
    shape = list(x.shape)
    shape[axis] = index.size
    source = draw(hnp.arrays(np.float64, tuple(shape), elements=between(-2, 2)))
    return [x, index.astype(np.float64), source], {"axis": axis}


@EXAMPLES
@given(case=scatter())
def test_index_add_against_torch_and_complex_step(case):
    check_primitive("index_add", *case)
    check_complex_step("index_add", *case)


def test_index_add_adds_repeated_positions_and_gathers_back():
    prim = get("index_add")
    x, index, source = np.zeros((3, 2)), np.array([2.0, 2.0, 0.0]), np.arange(6.0).reshape(3, 2)
    out = prim.forward(x, index, source, axis=(-2,), nb=0)
    np.testing.assert_array_equal(out, [[4.0, 5.0], [0.0, 0.0], [2.0, 4.0]])
    g = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    np.testing.assert_array_equal(prim.vjp[2](g, out, x, index, source, axis=(-2,)), [[5.0, 6.0], [5.0, 6.0], [1.0, 2.0]])


@st.composite
def along_axis(draw):
    """x and an index of x's rank that broadcast outside the axis (either may hold the size-1 axis)."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, max_side=3)).input_shapes
    ndim = max(len(s) for s in shapes)
    x_shape, i_shape = ((1,) * (ndim - len(s)) + tuple(s) for s in shapes)
    axis = draw(st.integers(-ndim, ndim - 1))
    x_shape = x_shape[:axis % ndim] + (draw(st.integers(1, 4)),) + x_shape[axis % ndim + 1:]
    i_shape = i_shape[:axis % ndim] + (draw(st.integers(1, 4)),) + i_shape[axis % ndim + 1:]
    x = draw(hnp.arrays(np.float64, x_shape, elements=between(-2, 2)))
    index = draw(hnp.arrays(np.int64, i_shape, elements=st.integers(0, x_shape[axis] - 1)))
    return [x, index.astype(np.float64)], {"axis": axis}


@EXAMPLES
@given(case=along_axis())
def test_take_along_axis_against_torch_gather_numpy_and_complex_step(case):
    check_primitive("take_along_axis", *case)
    check_complex_step("take_along_axis", *case)
    (x, index), params = case
    np.testing.assert_array_equal(get("take_along_axis").forward(x, index, axis=(params["axis"] - x.ndim
                                                                                if params["axis"] >= 0
                                                                                else params["axis"],), nb=0),
                                  np.take_along_axis(x, index.astype(np.int64), axis=params["axis"]))


def test_take_along_axis_adds_back_an_element_read_twice():
    from gradcheck_suite import engine
    from tests.ops.checks import one_node_graph

    scores, picks = np.arange(6.0).reshape(2, 3), np.array([[2.0, 2.0], [0.0, 1.0]])
    graph = one_node_graph("take_along_axis", 2, differentiable=[True, False])
    ev = engine.evaluate(graph, {"a0": scores, "a1": picks})
    np.testing.assert_array_equal(ev.output, [[2.0, 2.0], [3.0, 4.0]])
    grad = engine.vjp(ev, np.array([[1.0, 10.0], [100.0, 1000.0]]))["a0"]
    np.testing.assert_array_equal(grad, [[0.0, 0.0, 11.0], [100.0, 1000.0, 0.0]])


@pytest.mark.parametrize("x, index, message", [
    (np.ones((2, 3)), np.zeros(2), "index of x's 2 dimension"),
    (np.ones((2, 3)), np.full((2, 1), 3.0), r"must lie in \[0, 3\)"),
    (np.ones((2, 3)), np.full((2, 1), 0.5), "whole numbers"),
    (np.ones((2, 3)), np.zeros((3, 1)), "do not broadcast outside axis"),
])
def test_take_along_axis_refuses_bad_indices_with_a_clear_message(x, index, message):
    with pytest.raises(ValueError, match=message):
        get("take_along_axis").forward(x, index, axis=(-1,), nb=0)
