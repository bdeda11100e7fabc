"""Property tests of einsum, tensordot and cross against torch and by complex step."""
import string

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck_suite.errors import CaseError
from gradcheck_suite.expr import parse_expression
from gradcheck_suite.graph import Graph
from gradcheck_suite.ops import get
from tests.ops.checks import between, broadcastable, check_complex_step, check_primitive

EXAMPLES = settings(max_examples=25, deadline=None)


def _array(draw, shape):
    return draw(hnp.arrays(np.float64, shape, elements=between(-2, 2)))


@st.composite
def contraction(draw):
    """Random subscripts over up to three operands, sizes per letter, explicit or implicit output."""
    letters = string.ascii_lowercase[:5]
    size = {c: draw(st.integers(1, 3)) for c in letters}
    count = draw(st.integers(1, 3))
    parts = ["".join(draw(st.lists(st.sampled_from(letters), min_size=0, max_size=3, unique=True)))
             for _ in range(count)]
    used = sorted(set("".join(parts)))
    if draw(st.booleans()):
        output = "".join(draw(st.permutations(used))[:draw(st.integers(0, len(used)))])
        subscripts = ",".join(parts) + "->" + output
    else:
        subscripts = ",".join(parts)
    return [_array(draw, tuple(size[c] for c in p)) for p in parts], {"subscripts": subscripts}


@EXAMPLES
@given(case=contraction())
def test_einsum_against_torch_and_complex_step(case):
    check_primitive("einsum", *case)
    check_complex_step("einsum", *case)


@pytest.mark.parametrize("subscripts, shapes, message", [
    ("ii->i", [(3, 3)], "repeat a letter"),
    ("...i->i", [(3,)], "may not use '...'"),
    ("ij,jk", [(2, 3)], "name 2 operands, 1 given"),
    ("ij->k", [(2, 3)], "letter no operand has"),
    ("ijk->i", [(2, 3)], "name 3 axes"),
])
def test_einsum_refuses_what_it_cannot_differentiate(subscripts, shapes, message):
    with pytest.raises(ValueError, match=message):
        get("einsum").forward(*[np.ones(s) for s in shapes], subscripts=subscripts, nb=0)


def _parsed(text: str):
    g = Graph()
    for name in ("a", "b"):
        g.inputs[name] = g.add("input", name=name).id
    return g.nodes[parse_expression(text, g, dict(g.inputs))]


def test_einsum_subscripts_are_a_string_parameter_of_the_expression_language():
    node = _parsed("einsum([a, b], subscripts='ij,jk->ik')")
    assert node.op == "einsum" and node.params == {"subscripts": "ij,jk->ik"}


def test_a_string_is_refused_where_the_primitive_declares_no_string_parameter():
    with pytest.raises(CaseError, match="must be a literal"):
        _parsed("sum(a, axis='0')")


@st.composite
def tensordot_case(draw):
    axes = draw(st.integers(0, 2))
    shared = tuple(draw(st.integers(1, 3)) for _ in range(axes))
    x_free = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
    y_free = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
    return [_array(draw, x_free + shared), _array(draw, shared + y_free)], {"axes": axes}


@EXAMPLES
@given(case=tensordot_case())
def test_tensordot_against_torch_and_complex_step(case):
    check_primitive("tensordot", *case)
    check_complex_step("tensordot", *case)


@EXAMPLES
@given(data=st.data())
def test_cross_against_torch_and_complex_step(data):
    x, y = data.draw(broadcastable(between(-2, 2), between(-2, 2)))
    x, y = x[..., None] * np.array([1.0, -0.5, 2.0]), y[..., None] * np.array([0.3, 1.0, -1.5]) + 0.1
    check_primitive("cross", [x, y])
    check_complex_step("cross", [x, y])
