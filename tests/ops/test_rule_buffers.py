"""The VJP and JVP generated from an elementwise local derivative multiply into the array the rule
has just made (one full-size temporary fewer), into the upstream when the engine says it owns it, by
one number when the upstream is one number everywhere — and never into anything else the rule was given."""
from __future__ import annotations

import numpy as np

from gradcheck_suite.ops.registry import Constant, _times_local, constant, single_value

N = 10_000


def test_a_fresh_local_derivative_holds_the_product():
    made = []

    def local(ans, x):
        made.append(1 - ans * ans)
        return made[-1]

    vjp, jvp = _times_local(local)
    x = np.linspace(-1, 1, N)
    ans, g = np.tanh(x), np.full(N, 2.0)
    out = vjp(g, ans, x)
    assert out is made[-1] and np.allclose(out, 2 * (1 - ans * ans))
    t = np.ones((3, N))  # a batch of tangents: the product has the batch's shape, a new array
    assert jvp(t, ans, x).shape == (3, N) and jvp(t, ans, x) is not made[-1]


def test_an_argument_or_answer_handed_back_is_never_written():
    x, y = np.linspace(1, 2, N), np.linspace(3, 4, N)
    ans = x * y
    before = x.copy(), y.copy(), ans.copy()
    g = np.full(N, 5.0)
    for rule in (lambda ans, x, y: y, lambda ans, x, y: x, lambda ans, x, y: ans, lambda ans, x, y: y[:]):
        vjp, _ = _times_local(rule)
        out = vjp(g, ans, x, y)
        assert np.allclose(out, 5 * rule(before[2], before[0], before[1]))
    assert all(np.array_equal(a, b) for a, b in zip((x, y, ans), before))


def test_a_product_of_another_dtype_or_shape_is_a_new_array():
    vjp, _ = _times_local(lambda ans, x: np.ones(N, dtype=np.float32))
    out = vjp(np.full(N, 3.0), np.zeros(N), np.zeros(N))
    assert out.dtype == np.float64 and np.all(out == 3.0)
    vjp, _ = _times_local(lambda ans, x: np.ones((1, N)))
    assert vjp(np.ones((4, N)), np.zeros(N), np.zeros(N)).shape == (4, N)


# ---- an upstream that is one number everywhere, and an upstream the engine owns ---------------------

def test_an_upstream_of_ones_hands_the_local_derivative_on_untouched():
    x, y = np.linspace(1, 2, N), np.linspace(3, 4, N)
    ones = np.broadcast_to(np.ones(()), (N,))  # what a sum's VJP hands down
    vjp, _ = _times_local(lambda ans, x, y: y)
    assert vjp(ones, x * y, x, y) is y
    threes = np.broadcast_to(np.float64(3.0), (N,))
    out = vjp(threes, x * y, x, y)
    assert out is not y and np.array_equal(out, np.full(N, 3.0) * y)
    assert np.array_equal(y, np.linspace(3, 4, N))


def test_ones_in_another_dtype_or_a_complex_local_still_multiply():
    ones = np.broadcast_to(np.ones(()), (N,))
    vjp, _ = _times_local(lambda ans, x: x)
    x32 = np.linspace(1, 2, N, dtype=np.float32)
    out = vjp(ones, x32, x32)
    assert out.dtype == np.float64 and out is not x32 and np.array_equal(out, x32.astype(np.float64))
    z = np.full(N, np.inf + 1j)  # (inf + 1j)·1 is not inf + 1j in complex arithmetic: no shortcut
    with np.errstate(invalid="ignore"):
        assert np.array_equal(vjp(ones, z, z), np.ones(N) * z, equal_nan=True)


def test_single_value_only_for_large_broadcast_views():
    assert single_value(np.broadcast_to(np.float32(2), (N,))).shape == ()
    assert single_value(np.broadcast_to(np.float32(2), (N,))).dtype == np.float32
    assert single_value(np.full(N, 2.0)) is None  # the same number, but N places in memory
    assert single_value(np.broadcast_to(1.0, (3,))) is None  # small: the plain product is cheaper
    assert single_value(np.broadcast_to(np.arange(4.0), (N, 4))) is None


def test_a_constant_derivative_keeps_a_broadcast_upstream_a_view():
    vjp, _ = _times_local(constant(-1))
    twos = np.broadcast_to(np.float64(2.0), (N,))
    out = vjp(twos, np.zeros(N), np.zeros(N), np.zeros(N))
    assert out.shape == (N,) and not any(out.strides) and out[0] == -2.0


def test_a_private_upstream_holds_the_result_and_a_shared_one_is_never_written():
    x, y = np.linspace(1, 2, N), np.linspace(3, 4, N)
    for local in (lambda ans, x, y: y, constant(-1)):
        vjp, _ = _times_local(local)
        assert vjp.takes_private
        g = np.linspace(-1, 1, N)
        want = g * (-1.0 if isinstance(local, Constant) else y)
        shared = vjp(g, x * y, x, y)
        assert shared is not g and np.array_equal(g, np.linspace(-1, 1, N)) and np.array_equal(shared, want)
        assert vjp(g, x * y, x, y, private=True) is g and np.array_equal(g, want)
