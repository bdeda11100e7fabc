"""Property tests of the decompositions: eigh_vectors, svd_u, svd_v, qr_q, qr_r, pinv, lstsq.

Each is checked against torch (forward with the declared sign convention, VJP, JVP and
batching) by ``check_primitive`` away from its kinks, against the defining identities
(A = V·diag(λ)·Vᵀ, A = U·diag(s)·Vᵀ, A = Q·R, numpy's pinv and lstsq), and by a batched
forward with two batch axes (what the finite-difference reference relies on).
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck_suite.ops import get
from tests.ops.checks import check_batched_forward, check_primitive
from tests.ops.test_linalg import positive_definite, stacks, well_conditioned

few = settings(max_examples=25, deadline=None)


def _swap(a):
    return np.swapaxes(a, -1, -2)


def _assert_convention(vectors):
    """Every column's largest-|component| entry is positive."""
    top = np.take_along_axis(vectors, np.argmax(np.abs(vectors), axis=-2)[..., None, :], axis=-2)
    assert np.all(top > 0), f"a column breaks the sign convention: {top}"


@st.composite
def rectangular(draw, tall_only=False):
    """A (stack of) m×n matrix, noise in [-1, 1] plus max(m, n) + 1 on the main diagonal: full rank
    (the top square block is strictly diagonally dominant by at least 1, so ‖A⁻¹‖∞ ≤ 1 by Varah's
    bound; with 3 on the diagonal a 4×4 block could be singular, and hypothesis found one)."""
    stack = draw(stacks)
    n = draw(st.integers(1, 4))
    m = draw(st.integers(n, 5)) if tall_only else draw(st.integers(1, 4))
    noise = draw(hnp.arrays(np.float64, tuple(stack) + (m, n), elements=st.floats(-1, 1)))
    return noise + (max(m, n) + 1) * np.eye(m, n)


# ---- eigenvectors --------------------------------------------------------------------------------


@few
@given(data=st.data())
def test_eigh_vectors_against_torch_and_the_decomposition(data):
    a = data.draw(positive_definite(data.draw(stacks)))
    v = get("eigh_vectors").forward(a)
    np.testing.assert_allclose(v * np.linalg.eigvalsh(a)[..., None, :] @ _swap(v), a, atol=1e-10)
    np.testing.assert_allclose(_swap(v) @ v, np.broadcast_to(np.eye(a.shape[-1]), a.shape), atol=1e-10)
    _assert_convention(v)
    if get("eigh_vectors").kink(a) > 1e-2:  # repeated eigenvalues, or a tie of the convention: a kink
        check_primitive("eigh_vectors", [a], rtol=1e-6, atol=1e-8)


def test_eigh_vectors_do_not_depend_on_the_sign_lapack_returns():
    """The convention, not LAPACK, fixes the signs: V of A and of PAPᵀ (P a permutation) agree up to
    the permutation of rows, whatever signs the two LAPACK calls chose."""
    rng = np.random.default_rng(4)
    b = rng.standard_normal((4, 4))
    a = b @ b.T + np.eye(4)
    perm = np.eye(4)[[2, 0, 3, 1]]
    v = get("eigh_vectors").forward(a)
    np.testing.assert_allclose(get("eigh_vectors").forward(perm @ a @ perm.T), perm @ v, atol=1e-10)


# ---- singular vectors ------------------------------------------------------------------------------


@few
@given(a=rectangular())
def test_svd_vectors_against_torch_and_the_decomposition(a):
    u, v = get("svd_u").forward(a), get("svd_v").forward(a)
    s = np.linalg.svd(a, compute_uv=False)
    np.testing.assert_allclose((u * s[..., None, :]) @ _swap(v), a, atol=1e-10)
    _assert_convention(u)
    if get("svd_u").kink(a) > 1e-2:
        check_primitive("svd_u", [a], rtol=1e-6, atol=1e-8)
        check_primitive("svd_v", [a], rtol=1e-6, atol=1e-8)


# ---- QR --------------------------------------------------------------------------------------------


@few
@given(a=rectangular(tall_only=True))
def test_qr_against_torch_and_the_decomposition(a):
    q, r = get("qr_q").forward(a), get("qr_r").forward(a)
    np.testing.assert_allclose(q @ r, a, atol=1e-10)
    np.testing.assert_array_equal(r, np.triu(r))
    assert np.all(np.diagonal(r, axis1=-2, axis2=-1) > 0), "R's diagonal is positive by convention"
    check_primitive("qr_q", [a], rtol=1e-6, atol=1e-8)
    check_primitive("qr_r", [a], rtol=1e-6, atol=1e-8)


def test_qr_refuses_a_wide_matrix():
    with pytest.raises(ValueError, match=r"qr_q needs a tall or square matrix \(m ≥ n"):
        get("qr_q").forward(np.ones((2, 3)))


# ---- pinv and lstsq ----------------------------------------------------------------------------------


@few
@given(a=rectangular())
def test_pinv_against_torch_and_numpy(a):
    np.testing.assert_allclose(get("pinv").forward(a), np.linalg.pinv(a), atol=1e-12)
    check_primitive("pinv", [a], rtol=1e-6, atol=1e-9)


@st.composite
def least_squares(draw):
    a = draw(rectangular(tall_only=True))
    m = a.shape[-2]
    if draw(st.booleans()):
        b_shape = (m,)
    else:
        b_shape = tuple(draw(stacks)) + (m, draw(st.integers(1, 3)))
    return a, draw(hnp.arrays(np.float64, b_shape, elements=st.floats(-3, 3)))


@settings(max_examples=40, deadline=None)
@given(ab=least_squares())
def test_lstsq_against_torch_and_numpy(ab):
    a, b = ab
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2] if b.ndim > 1 else ())
    except ValueError:
        with pytest.raises(ValueError):
            get("lstsq").forward(a, b)
        return
    check_primitive("lstsq", [a, b], rtol=1e-6, atol=1e-9)
    if a.ndim == 2 and b.ndim <= 2:
        np.testing.assert_allclose(get("lstsq").forward(a, b), np.linalg.lstsq(a, b, rcond=None)[0], atol=1e-10)


def test_lstsq_of_a_square_system_is_solve():
    rng = np.random.default_rng(2)
    a, b = 4 * np.eye(3) + rng.uniform(-1, 1, (3, 3)), rng.standard_normal((3, 3))
    np.testing.assert_allclose(get("lstsq").forward(a, b), np.linalg.solve(a, b), atol=1e-12)


@pytest.mark.parametrize("args, message", [
    ([np.ones((2, 3)), np.ones(2)], r"lstsq needs a tall or square matrix"),
    ([np.eye(3), np.ones(2)], "a has 3 rows but b has length 2"),
    ([np.eye(3), np.ones((2, 2))], "a has 3 rows but b has number of rows 2"),
    ([np.eye(3), np.float64(1.0)], "b must be a vector"),
    ([np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]]), np.ones(3)], "full column rank"),
])
def test_lstsq_shape_errors_say_what_is_wrong(args, message):
    with pytest.raises(ValueError, match=message):
        get("lstsq").forward(*args)


# ---- kinks -------------------------------------------------------------------------------------------


def test_repeated_values_rank_loss_and_sign_ties_are_kinks():
    assert get("eigh_vectors").kink(np.eye(3)) == 0.0  # a repeated eigenvalue
    # distinct eigenvalues, but the eigenvectors (1, −1)/√2 and (1, 1)/√2 tie in the convention
    assert get("eigh_vectors").kink(np.array([[2.0, 1.0], [1.0, 2.0]])) < 1e-12
    assert get("eigh_vectors").kink(np.diag([1.0, 2.0, 4.0])) == pytest.approx(1.0)
    assert get("svd_u").kink(np.diag([2.0, 1.0, 0.0])) == 0.0
    assert get("svd_v").kink(np.diag([3.0, 3.0, 1.0])) == 0.0
    assert get("qr_r").kink(np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]])) < 1e-12
    assert get("pinv").kink(np.array([[1.0, 2.0], [2.0, 4.0]])) < 1e-12
    assert get("lstsq").kink(np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]]), np.ones(3)) < 1e-12


@pytest.mark.parametrize("name", ["eigh_vectors", "svd_u", "svd_v", "qr_q", "qr_r", "pinv", "lstsq"])
def test_decompositions_are_not_complex_stepped_and_declare_kinks(name):
    prim = get(name)
    assert not prim.analytic and prim.kink is not None


# ---- batched forward: two batch axes ------------------------------------------------------------------


def _batch_cases():
    rng = np.random.default_rng(9)
    b = rng.standard_normal((3, 3))
    spd = b @ b.T / 3 + np.diag([1.0, 2.0, 3.0])

    def m(*s):
        return 3 * np.eye(*s[-2:]) + rng.uniform(-1, 1, s)

    return [("eigh_vectors", [spd]), ("svd_u", [m(4, 3)]), ("svd_v", [m(3, 4)]), ("qr_q", [m(4, 3)]),
            ("qr_r", [m(3, 3)]), ("pinv", [m(2, 3)]), ("lstsq", [m(4, 3), rng.standard_normal(4)]),
            ("lstsq", [m(2, 4, 2), rng.standard_normal((4, 3))])]


BATCH = _batch_cases()


@pytest.mark.parametrize("name, args", BATCH, ids=[f"{n}-{'x'.join(map(str, a[0].shape))}" for n, a in BATCH])
def test_batched_forward_with_two_batch_axes_on_any_argument(name, args):
    check_batched_forward(name, args, rtol=1e-10, scale=1e-3)
