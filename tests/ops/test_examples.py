"""Property tests of the example primitives that define the registry's style."""
import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from tests.ops.checks import check_primitive

finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


@settings(max_examples=30, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3), st.data())
def test_add_broadcasting(shapes, data):
    x = data.draw(hnp.arrays(np.float64, shapes.input_shapes[0], elements=finite))
    y = data.draw(hnp.arrays(np.float64, shapes.input_shapes[1], elements=finite))
    check_primitive("add", [x, y])


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=3), elements=finite))
def test_exp(x):
    check_primitive("exp", [x])


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=3), elements=finite),
       st.booleans(), st.data())
def test_sum(x, keepdims, data):
    axis = data.draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1) if x.ndim else st.none()))
    check_primitive("sum", [x], {"axis": axis, "keepdims": keepdims})
