"""Property: correct gradients of random smooth compositions never fail, in float64 or float32;
and the API refuses options it does not know."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from gradcheck_suite import api
from gradcheck_suite.case import Case, ValueSpec
from gradcheck_suite.graph import Graph

SMOOTH = ["tanh", "sin", "cos", "sigmoid", "softplus", "arctan", "square", "exp", "sinh"]


def composition(ops: list[str], reduce: str) -> Graph:
    g = Graph()
    x = g.add("input", name="x")
    g.inputs["x"] = x.id
    node = x
    for op in ops:
        node = g.add(op, (node.id,), name=op)
        if op in ("exp", "sinh", "square"):  # keep values moderate: a tanh after a growing op
            node = g.add("tanh", (node.id,), name="tanh")
    out = g.add(reduce, (node.id,), name="y", step="y")
    g.steps["y"] = out.id
    g.output = out.id
    return g


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(SMOOTH), min_size=1, max_size=4), st.sampled_from(["sum", "logsumexp", "mean"]),
       st.lists(st.floats(-3, 3, allow_nan=False), min_size=1, max_size=5))
def test_correct_gradients_never_fail(ops, reduce, xs):
    case = Case(name="random", file="<generated>", line=1, inputs={"x": ValueSpec("x", literal=xs)},
                constants={}, steps={"y": ""}, graph=composition(ops, reduce), output="y",
                dtypes=["float64", "float32"])
    table = api.check_case(case).table
    assert set(table["status"]) <= {"pass", "nondiff"}, table[["dtype", "check", "status", "message"]].to_string()


@pytest.mark.parametrize("kw", [{"dtypes": ["float16"]}, {"mode": "fast"}, {"seed": -1}])
def test_unknown_options_are_refused(kw):
    with pytest.raises(ValueError):
        api.run([], **kw)
