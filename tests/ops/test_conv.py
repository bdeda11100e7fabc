"""Property tests of convolution and pooling against torch (VJP, JVP, batching) and by complex step.

Random geometries: batch, channels, groups, kernel, stride, padding, dilation and input
size drawn together so that the output is never empty; values in [−2, 2].
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck_suite.ops import get
from tests.ops.checks import between, check_complex_step, check_primitive

EXAMPLES = settings(max_examples=20, deadline=None)
values = between(-2, 2)


def _array(draw, shape):
    return draw(hnp.arrays(np.float64, shape, elements=values))


@st.composite
def convolution(draw, nd: int, transposed: bool = False):
    groups = draw(st.integers(1, 2))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = draw(st.integers(1, 2))
    dilation = draw(st.integers(1, 2))
    padding = draw(st.integers(0, 1))
    size = tuple(draw(st.integers(dilation * (k - 1) + 1, 6)) for k in kernel)
    n = draw(st.integers(1, 2))
    params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    if transposed:
        params["output_padding"] = draw(st.integers(0, max(stride, dilation) - 1))
        small = tuple(max(s // 2, 1) for s in size)
        if any((m - 1) * stride - 2 * padding + dilation * (k - 1) + 1 < 1 for m, k in zip(small, kernel)):
            params["padding"] = 0  # the output would be empty
        return [_array(draw, (n, cin) + small),
                _array(draw, (cin, cout // groups) + kernel)], params
    return [_array(draw, (n, cin) + size), _array(draw, (cout, cin // groups) + kernel)], params


@pytest.mark.parametrize("name, nd", [("conv1d", 1), ("conv2d", 2)])
@EXAMPLES
@given(data=st.data())
def test_convolution_against_torch_and_complex_step(name, nd, data):
    args, params = data.draw(convolution(nd))
    check_primitive(name, args, params)
    check_complex_step(name, args, params)


@EXAMPLES
@given(data=st.data())
def test_transposed_convolution_against_torch_and_complex_step(data):
    args, params = data.draw(convolution(2, transposed=True))
    check_primitive("conv_transpose2d", args, params)
    check_complex_step("conv_transpose2d", args, params)


@st.composite
def pooling(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.one_of(st.none(), st.integers(1, 2)))
    padding = draw(st.integers(0, min(k) // 2))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(k[0], 5)), draw(st.integers(k[1], 5)))
    # distinct values: no tie in a window (ties are the kinks, tested below)
    x = np.random.default_rng(draw(st.integers(0, 2 ** 16))).permutation(np.prod(shape)).reshape(shape) / 7.0
    return [x - 1.0], {"kernel_size": k, "stride": stride, "padding": padding}


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
@EXAMPLES
@given(case=pooling())
def test_pooling_against_torch(name, case):
    check_primitive(name, *case)


@EXAMPLES
@given(case=pooling())
def test_average_pooling_complex_step(case):
    check_complex_step("avg_pool2d", *case)


def test_max_pool_tie_goes_to_the_first_largest_as_torch():
    x = np.array([[[[1.0, 1.0], [0.0, 1.0]]]])
    check_primitive("max_pool2d", [x], {"kernel_size": 2})
    assert get("max_pool2d").kink(x, kernel_size=2, stride=None, padding=0) == 0.0


def test_overlapping_max_pool_windows_add_their_gradients():
    x = np.array([[[[0.0, 5.0, 0.1], [0.2, 0.3, 0.4], [0.5, 0.6, 0.7]]]])
    check_primitive("max_pool2d", [x], {"kernel_size": 2, "stride": 1})


@st.composite
def padding(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4))
    axes = draw(st.integers(1, min(len(shape), 2)))
    reflect = draw(st.booleans())
    top = 1 if reflect else 3
    widths = tuple(draw(st.integers(0, top)) for _ in range(2 * axes))
    params = {"widths": widths, "reflect": reflect}
    if not reflect:
        params["value"] = draw(values)
    return [_array(draw, shape)], params


@EXAMPLES
@given(case=padding())
def test_pad_against_torch_and_complex_step(case):
    check_primitive("pad", *case)
    check_complex_step("pad", *case)


@pytest.mark.parametrize("name, args, params, message", [
    ("conv2d", [(1, 3, 4, 4), (2, 2, 3, 3)], {}, "3 channels, the weight expects 2"),
    ("conv2d", [(1, 2, 2, 2), (1, 2, 3, 3)], {}, "larger than the padded input"),
    ("conv2d", [(1, 2, 4, 4), (2, 2, 3, 3)], {"stride": 0}, "stride and dilation must be"),
    ("conv1d", [(1, 2, 4, 4), (2, 2, 3)], {"stride": (1, 2)}, "stride must be an int or 1 ints"),
    ("max_pool2d", [(4, 4)], {}, "pooling needs an input"),
    ("pad", [(3,)], {"widths": (4, 0), "reflect": True}, "smaller than the axis"),
    ("pad", [(3,)], {"widths": (1, 0, 1)}, "widths must be non-negative ints"),
    ("pad", [(3,)], {"widths": (1, 0, 1, 1)}, "pad 2 axes of an array of 1"),
])
def test_bad_geometry_is_a_clear_error(name, args, params, message):
    prim = get(name)
    with pytest.raises(ValueError, match=message):
        prim.forward(*[np.ones(s) for s in args], **{**prim.params, **params})
