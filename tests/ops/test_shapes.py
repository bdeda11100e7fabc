"""Every primitive's shape rule (and cost rule) agrees with its forward, from the shapes alone.

The static bound on memory and time (:mod:`gradcheck_suite.budget`) trusts these rules for
every intermediate of a case before anything is computed; a rule that is wrong would let a
node through unbounded, or refuse a case that runs.  The probes of each registration (its
argument shapes and parameters, broadcasting included) are the test points.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from gradcheck_suite.ops import all_primitives
from gradcheck_suite.ops.registry import SAME, UNKNOWN, VIEW, ghost, normalise_params, output_cost, output_shape

PRIMITIVES = all_primitives()
IDS = [p.name for p in PRIMITIVES]


def _probe_points(prim):
    rng = np.random.default_rng(0)
    for call in prim.probes:
        args = [prim.domain[min(i, len(prim.domain) - 1)].draw(rng, s) for i, s in enumerate(call.shapes)]
        params = normalise_params(prim, call.params, [np.ndim(a) for a in args], 0, np.shape(args[0]))
        yield call, args, params


@pytest.mark.parametrize("prim", PRIMITIVES, ids=IDS)
def test_every_primitive_has_a_shape_rule_that_agrees_with_its_forward(prim):
    assert prim.shape and prim.shape != UNKNOWN, f"{prim.name}: no shape rule"
    for call, args, params in _probe_points(prim):
        out = prim.forward(*args, **params)
        shapes = [tuple(np.shape(a)) for a in args]
        assert output_shape(prim, shapes, params) == np.shape(out), (prim.name, call)
        cost = output_cost(prim, np.shape(out), shapes, params)
        assert isinstance(cost, int) and cost >= math.prod(np.shape(out)), (prim.name, call, cost)


@pytest.mark.parametrize("prim", [p for p in PRIMITIVES if p.shape == VIEW],
                         ids=[p.name for p in PRIMITIVES if p.shape == VIEW])
def test_a_view_rule_allocates_nothing(prim):
    # the shape of a view is found on ghost arrays (every element one shared float): the forward must
    # return a view of that float, never a copy of the size of its result
    for call, args, params in _probe_points(prim):
        ghosts = [ghost(np.shape(a)) for a in args]
        out = prim.forward(*ghosts, **params)
        assert all(s == 0 for s in out.strides) and np.shares_memory(out, ghosts[0]), (prim.name, call)
    huge = ghost((10**6, 10**6))  # 10^12 elements, one float of memory
    assert huge.nbytes > 10**12 and np.shares_memory(huge[:, :3].T, huge)


def test_elementwise_and_broadcasting_primitives_get_the_broadcast_rule():
    by_name = {p.name: p for p in PRIMITIVES}
    mul, where = by_name["mul"], by_name["where"]
    assert output_shape(mul, [(3, 1), (1, 4)], {}) == (3, 4)
    assert output_shape(where, [(2, 1, 1), (5, 1), (7,)], {}) == (2, 5, 7)
    with pytest.raises(ValueError):
        output_shape(mul, [(3,), (4,)], {})


def test_the_cost_of_a_contraction_counts_its_multiply_adds():
    by_name = {p.name: p for p in PRIMITIVES}
    matmul, einsum, inv = by_name["matmul"], by_name["einsum"], by_name["inv"]
    assert output_cost(matmul, (30, 20), [(30, 40), (40, 20)], {"nb": 0}) == 30 * 20 * 40
    params = {"subscripts": "ij,jk,kl->il", "nb": 0}
    assert output_shape(einsum, [(2, 3), (3, 4), (4, 5)], params) == (2, 5)
    assert output_cost(einsum, (2, 5), [(2, 3), (3, 4), (4, 5)], params) == 2 * 3 * 4 * 5
    assert output_cost(inv, (50, 50), [(50, 50)], {"nb": 0}) == 50 ** 3


def test_same_is_the_first_arguments_shape():
    prim = next(p for p in PRIMITIVES if p.shape == SAME)
    assert output_shape(prim, [(2, 5, 5)], normalise_params(prim, {}, [3], 0, (2, 5, 5))) == (2, 5, 5)
