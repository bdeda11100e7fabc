"""Property tests of the shape primitives against torch, their errors, and complex step.

* Random tests: ``check_primitive`` (forward, VJP, JVP, batching against torch, float64)
  on random shapes (0-d included) with random target shapes, permutations, axes and
  basic indices.
* Errors: squeezing an axis that is not size 1, advanced indices, concat of 0-d arrays.
* Complex step: every shape primitive is linear (analytic); Im f(x + ih·v)/h projected on
  a random cotangent equals the VJP projected on v.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck_suite import engine
from gradcheck_suite.errors import EvalError, GradcheckError
from gradcheck_suite.ops import get
from tests.ops.checks import axes_of, check_complex_step, check_primitive, one_node_graph

EXAMPLES = settings(max_examples=25, deadline=None)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, max_side=3)
finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)

#: every primitive of ops/shape.py
NAMES = ["reshape", "transpose", "expand_dims", "squeeze", "broadcast_to", "concat", "stack", "flip",
         "getitem"]


def array(shape) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, shape, elements=finite)


def test_every_primitive_is_registered_here():
    assert all(get(n).category == "shape" for n in NAMES)
    assert get("concat").variadic and get("stack").variadic


# ---- case generators ------------------------------------------------------------------------


@st.composite
def reshape_case(draw):
    """An array and a target shape of the same size (maybe with one -1)."""
    x = draw(array(SHAPES))
    target = list(draw(st.permutations(x.shape)))
    target.insert(draw(st.integers(0, len(target))), 1)  # a new size-1 axis somewhere
    if x.size > 1 and draw(st.booleans()):  # merge the last two axes
        target = target[:-2] + [target[-2] * target[-1]]
    if target and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return [x], {"shape": tuple(target)}


@st.composite
def permutation_case(draw):
    x = draw(array(SHAPES))
    perm = draw(st.permutations(range(x.ndim)))
    signed = [a - x.ndim if draw(st.booleans()) else a for a in perm]
    return [x], {"axes": draw(st.sampled_from([None, tuple(signed)]))}


@st.composite
def squeeze_case(draw):
    x = draw(array(hnp.array_shapes(min_dims=0, max_dims=4, max_side=2)))
    ones = [a for a, n in enumerate(x.shape) if n == 1]
    chosen = draw(st.lists(st.sampled_from(ones), unique=True)) if ones else []
    axis = draw(st.sampled_from([None, tuple(a - x.ndim if a % 2 else a for a in chosen)]
                                + ([chosen[0]] if chosen else [])))
    return [x], {"axis": axis}


@st.composite
def broadcast_case(draw):
    """A target shape and an array whose shape broadcasts to it."""
    target = draw(SHAPES)
    keep = draw(st.integers(0, len(target)))
    core = tuple(1 if draw(st.booleans()) else n for n in target[len(target) - keep:])
    return [draw(array(core))], {"shape": target}


@st.composite
def concat_case(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    arrays = []
    for _ in range(draw(st.integers(1, 3))):
        s = list(shape)
        s[axis] = draw(st.integers(1, 3))
        arrays.append(draw(array(tuple(s))))
    return arrays, {"axis": axis}


@st.composite
def stack_case(draw):
    shape = draw(SHAPES)
    arrays = [draw(array(shape)) for _ in range(draw(st.integers(1, 3)))]
    return arrays, {"axis": draw(st.integers(-len(shape) - 1, len(shape)))}


@st.composite
def index_of(draw, shape):
    """A basic index for an array of ``shape``: ints, slices, None and maybe one Ellipsis."""
    k = draw(st.integers(0, len(shape)))
    ellipsis = draw(st.sampled_from([None, "front", "back"]))
    items: list = []
    for n in (shape[len(shape) - k:] if ellipsis == "front" else shape[:k]):
        if draw(st.booleans()):
            items.append(draw(st.integers(-n, n - 1)))
        else:
            bound = st.one_of(st.none(), st.integers(-n - 1, n + 1))
            step = draw(st.one_of(st.none(), st.integers(-3, 3).filter(bool)))
            items.append(slice(draw(bound), draw(bound), step))
    if ellipsis:  # x[..., i, j] indexes the last axes, x[i, j, ...] the first
        items.insert(0 if ellipsis == "front" else len(items), Ellipsis)
    for _ in range(draw(st.integers(0, 2))):  # new axes, anywhere
        items.insert(draw(st.integers(0, len(items))), None)
    return items[0] if len(items) == 1 and draw(st.booleans()) else tuple(items)


# ---- random tests against torch ------------------------------------------------------------


@EXAMPLES
@given(reshape_case())
def test_reshape(case):
    check_primitive("reshape", *case)


@EXAMPLES
@given(permutation_case())
def test_transpose(case):
    check_primitive("transpose", *case)


@EXAMPLES
@given(st.data())
def test_flip(data):
    x = data.draw(array(SHAPES))
    check_primitive("flip", [x], {"axis": data.draw(axes_of(x.ndim))})


@EXAMPLES
@given(st.data())
def test_expand_dims(data):
    x = data.draw(array(SHAPES))
    check_primitive("expand_dims", [x], {"axis": data.draw(st.integers(-x.ndim - 1, x.ndim))})


@EXAMPLES
@given(squeeze_case())
def test_squeeze(case):
    check_primitive("squeeze", *case)


@EXAMPLES
@given(broadcast_case())
def test_broadcast_to(case):
    check_primitive("broadcast_to", *case)


@EXAMPLES
@given(concat_case())
def test_concat(case):
    check_primitive("concat", *case)


@EXAMPLES
@given(stack_case())
def test_stack(case):
    check_primitive("stack", *case)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_getitem(data):
    x = data.draw(array(SHAPES))
    check_primitive("getitem", [x], {"index": data.draw(index_of(x.shape))})


def test_transpose_none_reverses_every_axis():
    x = np.arange(24.0).reshape(2, 3, 4)
    out = engine.evaluate(one_node_graph("transpose", 1), {"a0": x}).output
    np.testing.assert_array_equal(out, x.T)


def test_getitem_gradient_lands_on_the_selected_elements():
    x = np.arange(12.0).reshape(3, 4)
    ev = engine.evaluate(one_node_graph("getitem", 1, {"index": (slice(None, None, -2), -1)}), {"a0": x})
    np.testing.assert_array_equal(ev.output, [11.0, 3.0])
    grad = engine.vjp(ev, np.array([1.0, 2.0]))["a0"]
    np.testing.assert_array_equal(grad, [[0, 0, 0, 2], [0, 0, 0, 0], [0, 0, 0, 1]])


def test_broadcast_to_sums_the_copies():
    ev = engine.evaluate(one_node_graph("broadcast_to", 1, {"shape": (2, 3)}), {"a0": np.array([1.0, 2.0, 3.0])})
    np.testing.assert_array_equal(ev.output, [[1, 2, 3], [1, 2, 3]])
    g = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])
    np.testing.assert_array_equal(engine.vjp(ev, g)["a0"], [11.0, 22.0, 33.0])


# ---- errors a case can cause ----------------------------------------------------------------


def forward_error(name: str, args, params) -> str:
    graph = one_node_graph(name, len(args), params)
    with pytest.raises(EvalError) as info:
        engine.evaluate(graph, {f"a{i}": np.asarray(a, dtype=float) for i, a in enumerate(args)})
    assert isinstance(info.value, GradcheckError)
    return str(info.value)


def test_squeeze_refuses_an_axis_that_is_not_size_1():
    text = forward_error("squeeze", [np.ones((2, 1, 3))], {"axis": 0})
    assert "cannot squeeze axis 0 of size 2" in text and "only axes of size 1" in text
    assert "step 'out'" in text


@pytest.mark.parametrize("index", [[0, 1], (0, [1]), True, 1.5, (slice(0.5, None),)])
def test_getitem_refuses_advanced_indices(index):
    assert "basic indexing" in forward_error("getitem", [np.ones((3, 2))], {"index": index})


def test_concat_refuses_0d_arrays():
    assert "0-d arrays cannot be concatenated" in forward_error("concat", [1.0, 2.0], {"axis": 0})


def test_reshape_needs_a_shape():
    assert "reshape needs a shape" in forward_error("reshape", [np.ones(3)], {})


def test_transpose_refuses_a_wrong_permutation():
    assert "not a permutation" in forward_error("transpose", [np.ones((2, 3))], {"axes": (0, 2)})


# ---- complex step -------------------------------------------------------------------------------


def test_every_shape_primitive_is_analytic():
    assert all(get(n).analytic for n in NAMES)


@pytest.mark.parametrize("name, generate", [
    ("reshape", reshape_case()),
    ("transpose", permutation_case()),
    ("squeeze", squeeze_case()),
    ("broadcast_to", broadcast_case()),
    ("concat", concat_case()),
    ("stack", stack_case()),
])
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_complex_step_equals_vjp(name, generate, data):
    check_complex_step(name, *data.draw(generate))


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_complex_step_of_flip_expand_dims_getitem(data):
    x = data.draw(array(SHAPES))
    check_complex_step("flip", [x], {"axis": data.draw(axes_of(x.ndim))})
    check_complex_step("expand_dims", [x], {"axis": data.draw(st.integers(-x.ndim - 1, x.ndim))})
    check_complex_step("getitem", [x], {"index": data.draw(index_of(x.shape))})
