"""What a graph keeps of itself (Graph.derived) and the per-point shortcuts of the checks: each gives what
the long way gives, is made again when the graph changes, and never travels with a pickled case."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from gradcheck_suite import engine
from gradcheck_suite.errors import CaseError
from gradcheck_suite.expr import Origin, parse_expression
from gradcheck_suite.graph import Graph
from gradcheck_suite.harness.tolerances import Tolerance
from gradcheck_suite.harness.verdict import compare
from gradcheck_suite.loader import load_paths
from gradcheck_suite.reference import fd


def xy_graph(expression: str) -> Graph:
    g = Graph()
    for name in ("x", "y"):
        g.inputs[name] = g.add("input", name=name).id
    g.output = parse_expression(expression, g, dict(g.inputs), origin=Origin(file="f.yaml", case="c"))
    return g


def walked_ancestors(g: Graph, node_id: int) -> set[int]:
    """The ancestors by a walk of their own (what Graph.ancestors must keep agreeing with)."""
    seen, stack = {node_id}, [node_id]
    while stack:
        for a in g[stack.pop()].args:
            if a not in seen:
                seen.add(a)
                stack.append(a)
    return seen


def test_ancestors_follow_a_graph_that_is_cut_back_and_grows_again():
    g = xy_graph("sin(x) * 2")
    end = g.output
    assert g.ancestors(end) == walked_ancestors(g, end)
    assert 1 not in g.ancestors(end)  # y is not used
    # a failed expression is rolled back and another one takes the same ids: what was kept is not reused
    with pytest.raises(CaseError):
        parse_expression("cos(y) + nope", g, dict(g.inputs), origin=Origin())
    del g.nodes[end + 1:]
    g.nodes[end:] = []  # the output node itself goes too: a node of the same id, built from y
    new = parse_expression("cos(y) * 3", g, dict(g.inputs), origin=Origin())
    assert new >= end and g[end].op == "cos"
    assert g.ancestors(end) == walked_ancestors(g, end) == {1, end}  # asked before, under another node
    assert g.ancestors(new) == walked_ancestors(g, new)
    assert 1 in g.ancestors(new) and 0 not in g.ancestors(new)
    assert [n.id for n in g.ancestor_nodes(new)] == sorted(walked_ancestors(g, new))


def test_paths_are_kept_per_input_and_output():
    g = xy_graph("sin(x) * exp(y) + x")
    on_x, on_y = fd.path_nodes(g, "x"), fd.path_nodes(g, "y")
    assert {g[i].op for i in on_x} == {"sin", "mul", "add"} and {g[i].op for i in on_y} == {"exp", "mul", "add"}
    on_x.append(-1)  # the caller's list is its own
    assert fd.path_nodes(g, "x") == on_x[:-1]


def test_what_a_graph_keeps_is_not_pickled_or_compared():
    g = xy_graph("tanh(x * y) + y")
    before = pickle.dumps(g)
    g.ancestors(g.output), fd.path_nodes(g, "x"), g.ancestor_nodes(g.output)
    assert "_derived" in g.__dict__
    assert pickle.dumps(g) == before  # a case sent to a worker is no larger
    again = pickle.loads(pickle.dumps(g))
    assert "_derived" not in again.__dict__ and again == g
    assert "_derived" not in copy.deepcopy(g).__dict__
    assert again.ancestors(again.output) == g.ancestors(g.output)


def test_base_of_our_forward_is_the_base_of_a_fresh_one():
    """FD's per-point base from the evaluation the harness already has equals the base fd makes itself,
    including the largest finite magnitude when some values are not finite and many values are small."""
    g = xy_graph("sum(log(x) * 0 + y) + sum(x * 1e300 * 1e300 - x * 1e300 * 1e300)")
    leaves = {"x": np.array([-1.0, 2.0, 3.0]), "y": np.array([4.0, -7.5, 0.5])}
    ev = engine.evaluate(g, leaves, np.float64)
    assert not all(np.all(np.isfinite(v)) for v in ev.values)
    got, want = fd.base_of(ev), fd.base(g, leaves)
    assert np.array_equal(got.output, want.output, equal_nan=True)
    assert (got.elements, got.magnitude) == (want.elements, want.magnitude)
    manual = max(float(np.max(np.abs(v[np.isfinite(v)]), initial=0.0)) for v in ev.values if v.dtype != bool)
    assert got.magnitude == manual


def test_base_of_a_deep_library_case():
    case = next(c for c in load_paths(["cases/"]).cases if c.name == "deep_scalar_chain_400")
    leaves = {k: np.asarray(v, dtype=np.float64) for k, v in case.leaves(0).items()}
    ev = engine.evaluate(case.graph, leaves, np.float64)
    manual = max(float(np.max(np.abs(v[np.isfinite(v)]), initial=0.0)) for v in ev.values)
    assert fd.base_of(ev).magnitude == manual and fd.base_of(ev).elements == sum(v.size for v in ev.values)


@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 4)])
def test_compare_without_a_mask_or_fd_error_is_compare_with_nothing_masked_and_zero_error(shape):
    rng = np.random.default_rng(len(shape))
    for _ in range(50):
        r = rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 3)
        r = np.where(rng.random(shape) < 0.3, 0.0, r)
        a = r + rng.standard_normal(shape) * 10.0 ** rng.integers(-12, -5)
        tol = Tolerance(1e-8, float(10.0 ** rng.integers(-13, -9)))
        short = compare(a, r, tol)
        long = compare(a, r, tol, np.zeros(shape), np.zeros(shape, dtype=bool))
        assert short == long
