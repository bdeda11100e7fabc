"""A comparison fed in blocks of columns gives exactly what comparing the whole arrays gives."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gradcheck_suite.harness import verdict
from gradcheck_suite.harness.tolerances import tolerance_for
from gradcheck_suite.harness.verdict import BlockedComparison, compare


def _tolerance(kind="fd", override=None):
    return lambda reference: tolerance_for(kind, "float64", reference, override)


def _blocked(a, r, e=None, exclude=None, width=3, tolerance=None, fixed=None):
    tolerance = tolerance or _tolerance()
    acc = BlockedComparison(a.shape, tolerance, fixed)
    rows = a.shape[0]

    def block(x, start, stop):
        return None if x is None else np.ascontiguousarray(x.reshape(rows, -1)[:, start:stop].T)

    n = acc.columns
    for start in range(0, n, width):
        stop = min(n, start + width)
        acc.add(start, block(a, start, stop), block(r, start, stop), block(e, start, stop), block(exclude, start, stop))
    return acc


def _same(c1, c2):
    for f in dataclasses.fields(c1):
        x, y = getattr(c1, f.name), getattr(c2, f.name)
        if isinstance(x, float) and np.isnan(x):
            assert isinstance(y, float) and np.isnan(y), f.name
        else:
            assert x == y, (f.name, x, y)


def _whole(a, r, e=None, exclude=None, tolerance=None):
    tol = (tolerance or _tolerance())(r)
    return compare(a, r, tol, e, exclude)


CASES = []
rng = np.random.default_rng(7)
for shape in ((12, 12), (10, 2, 5), (7, 9)):
    r = rng.standard_normal(shape)
    a = r + 1e-9 * rng.standard_normal(shape)
    CASES.append(("pass", a, r, None, None))
    late = r.copy()
    late.reshape(shape[0], -1)[3, -1] = 40.0  # the largest |reference| (the tolerance's scale) in the last block
    a2 = late + 1e-9 * rng.standard_normal(shape)
    a2.reshape(shape[0], -1)[1, 0] += 5e-5     # bad at the first block's tolerance, fine at the final one
    a2.reshape(shape[0], -1)[5, -2] += 2e-2    # the worst: in a later block
    CASES.append(("late scale, late worst", a2, late, None, None))
    bad = r * 1.01
    CASES.append(("every element fails", bad, r, None, None))
    e = np.abs(rng.standard_normal(shape)) * 1e-7
    mixed = r + rng.choice([0, 1e-6, 1e-4], size=shape)
    CASES.append(("fd errors", mixed, r, e, None))
    ex = rng.random(shape) < 0.3
    CASES.append(("excluded", mixed, r, e, ex))
    CASES.append(("all excluded", mixed, r, e, np.ones(shape, dtype=bool)))
    CASES.append(("equal", r.copy(), r, None, None))
    tie = r.copy()
    tie.reshape(shape[0], -1)[:, :] = 2.0
    tie_a = tie.copy()
    tie_a.reshape(shape[0], -1)[4, -1] += 1e-3   # two equal worst entries: the one of least flat index wins
    tie_a.reshape(shape[0], -1)[4, 0] += 1e-3
    CASES.append(("tie", tie_a, tie, None, None))


@pytest.mark.parametrize("width", [1, 2, 5, 1000])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_blocks_give_the_whole_arrays_comparison(case, width):
    _, a, r, e, ex = case
    first = _blocked(a, r, e, ex, width)
    _same(first.result(), _whole(a, r, e, ex))
    _same(_blocked(a, r, e, ex, width, fixed=first.current()).result(), _whole(a, r, e, ex))


def test_the_worst_entry_in_a_later_block_is_found():
    _, a, r, _, _ = CASES[1]
    whole = _whole(a, r)
    assert not whole.passed and whole.worst_index[0] == 5  # the case is what its name says
    got = _blocked(a, r, width=2).result()
    assert got.worst_index == whole.worst_index and got.bound == whole.bound and got.n_bad == whole.n_bad


def test_an_override_tolerance_and_the_analytic_kind():
    _, a, r, e, ex = CASES[4]
    for tolerance in (_tolerance("analytic"), _tolerance("fd", {"rtol": 1e-5, "atol": 1e-7})):
        _same(_blocked(a, r, e, ex, 4, tolerance).result(), _whole(a, r, e, ex, tolerance))


def test_too_many_candidates_asks_for_a_second_pass(monkeypatch):
    _, a, r, _, _ = CASES[2]
    monkeypatch.setattr(verdict, "BLOCK_CANDIDATES", 10)
    first = _blocked(a, r, width=3)
    assert first.result() is None
    again = _blocked(a, r, width=3, fixed=first.current()).result()  # the tolerance is known: one worst per block
    _same(again, _whole(a, r))


def test_nonfinite_entries_are_located_at_their_least_flat_index():
    _, a, r, _, _ = CASES[0]
    a = a.copy()
    a.reshape(a.shape[0], -1)[6, 1] = np.nan
    a.reshape(a.shape[0], -1)[2, 11] = np.inf
    acc = _blocked(a, r, width=4)
    flat, value = acc.nonfinite["actual"]
    whole = verdict.first_nonfinite(a)
    assert np.unravel_index(flat, a.shape) == whole[0] and value == whole[1]
    assert "reference" not in acc.nonfinite


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_second_order_checks_whole_arrays_compare_as_compare_does(case, monkeypatch):
    from gradcheck_suite.harness.checks import _compare_whole

    _, a, r, e, ex = case
    monkeypatch.setattr(BlockedComparison, "PIECE", 7)  # many pieces
    _same(_compare_whole(a, r, _tolerance()(r), e, ex), _whole(a, r, e, ex))


def test_a_scalar_compares_as_compare_does():
    from gradcheck_suite.harness.checks import _compare_whole

    a, r = np.array(1.0 + 1e-5), np.array(1.0)
    _same(_compare_whole(a, r, _tolerance()(r), None, None), _whole(a, r))
