"""How the answer key shows a value: the fast text of small arrays is numpy's, and every element
is formatted only when a renderer asks for it."""
from __future__ import annotations

import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck_suite.explain.model import COMPACT_THRESHOLD, format_number, show


def _numpy_compact(a: np.ndarray) -> str:
    """The compact text as numpy's array2string writes it (what the fast path must reproduce)."""
    fmt = ({"bool": lambda v: str(bool(v))} if a.dtype == np.bool_ else
           {"float_kind": lambda v: format_number(v, 4), "int_kind": lambda v: str(v)})
    return np.array2string(a, separator=", ", formatter=fmt, threshold=COMPACT_THRESHOLD, edgeitems=2,
                           max_line_width=sys.maxsize).replace("\n", "")


small_arrays = st.one_of(*(hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=6),
                                      elements=elements)
                           for dtype, elements in ((np.float64, st.floats(allow_subnormal=False, width=64)),
                                                   (np.int64, st.integers(-10**6, 10**6)),
                                                   (np.bool_, st.booleans()))))


@settings(max_examples=400, deadline=None)
@given(small_arrays)
def test_the_compact_text_of_an_array_is_numpys(a):
    assert show(a).compact == _numpy_compact(a)


def test_every_element_is_formatted_from_a_copy_only_when_asked():
    a = np.arange(40.0)
    shown = show(a, derivative=True)
    a[:] = -1.0  # the engine may reuse its buffers: the page shows the value as it was
    assert isinstance(shown.every, np.ndarray) and shown.elided
    assert shown.full.startswith("[0, 1, 2, 3,") and "39]" in shown.full and isinstance(shown.every, str)
    assert shown == show(np.arange(40.0), derivative=True)


def _numpy_full(a: np.ndarray) -> str:
    """Every element as numpy's array2string writes it at ten digits, lines of 100 characters."""
    fmt = ({"bool": lambda v: str(bool(v))} if a.dtype == np.bool_ else
           {"float_kind": lambda v: format_number(v, 10), "int_kind": lambda v: str(v)})
    return np.array2string(a, separator=", ", formatter=fmt, threshold=sys.maxsize, edgeitems=2,
                           max_line_width=100)


# up to 4-D and long rows: summaries of every axis, numpy's line wrapping, nested brackets
any_arrays = st.one_of(*(hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=9),
                                    elements=elements)
                         for dtype, elements in ((np.float64, st.floats(allow_subnormal=False, width=64)),
                                                 (np.float32, st.floats(allow_subnormal=False, width=32)),
                                                 (np.int64, st.integers(-10**12, 10**12)),
                                                 (np.bool_, st.booleans()))))


@settings(max_examples=400, deadline=None)
@given(any_arrays)
def test_the_texts_of_any_array_are_numpys_layout(a):
    shown = show(a)
    assert shown.compact == _numpy_compact(a)
    assert shown.full == _numpy_full(a)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
                  elements=st.floats(allow_subnormal=False, width=64)))
def test_a_small_matrix_is_a_grid_of_four_digit_numbers(a):
    assert show(a).grid == tuple(tuple(format_number(v, 4) for v in row) for row in a)
