"""The VJP and JVP generated from an elementwise local derivative multiply into the array the rule
has just made (one full-size temporary fewer), and never into anything the rule was given."""
from __future__ import annotations

import numpy as np

from gradcheck_suite.ops.registry import _times_local

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
