"""Property tests of the linear-algebra primitives: matmul, dot, outer, trace, diag, inv, det, solve.

Each primitive is checked against torch (forward, VJP, JVP, batching) by
``check_primitive``, against numpy's own function for the semantics the registry
promises, by the complex step (all of them are real-analytic), and by a batched
forward with two batch axes on every argument in turn (what the finite-difference
reference relies on).
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from gradcheck_suite import engine
from gradcheck_suite.errors import EvalError
from gradcheck_suite.ops import get
from tests.ops.checks import check_batched_forward, check_complex_step, check_primitive, one_node_graph

finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
few = settings(max_examples=25, deadline=None)


def arrays(shape):
    return hnp.arrays(np.float64, shape, elements=finite)


@st.composite
def well_conditioned(draw, stack=(), n=None):
    """Square matrices (n+1)·I + noise in [-1, 1], rows flipped at random: strictly diagonally
    dominant, so invertible with a small condition number, and determinants of both signs."""
    n = draw(st.integers(1, 4)) if n is None else n
    noise = draw(hnp.arrays(np.float64, tuple(stack) + (n, n), elements=st.floats(-1, 1)))
    signs = draw(hnp.arrays(np.float64, tuple(stack) + (n, 1), elements=st.sampled_from([-1.0, 1.0])))
    return signs * ((n + 1) * np.eye(n) + noise)


stacks = hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)


# ---- matmul and dot -----------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(hnp.mutually_broadcastable_shapes(signature="(m?,n),(n,p?)->(m?,p?)", max_dims=2, max_side=3),
       st.data())
def test_matmul_vectors_matrices_and_stacks(shapes, data):
    x_shape, y_shape = shapes.input_shapes
    x, y = data.draw(arrays(x_shape)), data.draw(arrays(y_shape))
    check_primitive("matmul", [x, y])
    np.testing.assert_allclose(get("matmul").forward(x, y), np.matmul(x, y), rtol=1e-12, atol=1e-12)


@few
@given(st.sampled_from([1, 2]), st.sampled_from([1, 2]), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 3), st.data())
def test_dot_one_and_two_dimensional(x_rank, y_rank, m, n, p, data):
    x = data.draw(arrays((n,) if x_rank == 1 else (m, n)))
    y = data.draw(arrays((n,) if y_rank == 1 else (n, p)))
    check_primitive("dot", [x, y])
    np.testing.assert_allclose(get("dot").forward(x, y), np.dot(x, y), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["matmul", "dot"])
def test_matmul_and_dot_refuse_scalars(name):
    with pytest.raises(ValueError, match="(at least 1 dimension|1-D or 2-D)"):
        get(name).forward(np.float64(2.0), np.ones(3))


def test_dot_refuses_three_dimensional_operands_with_a_clear_message():
    with pytest.raises(ValueError, match=r"dot takes 1-D or 2-D operands, but x has 3 dimension\(s\)"):
        get("dot").forward(np.ones((2, 2, 2)), np.ones(2))
    graph = one_node_graph("dot", 2)
    with pytest.raises(EvalError, match="dot"):
        engine.evaluate(graph, {"a0": np.ones(2), "a1": np.ones((2, 2, 2))})


def test_matmul_names_mismatched_inner_sizes():
    with pytest.raises(ValueError, match="last axis of x has size 3 but the length of y has size 4"):
        get("matmul").forward(np.ones((2, 3)), np.ones(4))


# ---- outer, trace, diag -------------------------------------------------------------

@few
@given(arrays(hnp.array_shapes(min_dims=0, max_dims=3, max_side=3)),
       arrays(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)))
def test_outer_flattens_like_numpy(x, y):
    check_primitive("outer", [x, y])
    np.testing.assert_array_equal(get("outer").forward(x, y), np.outer(x, y))


@few
@given(arrays(hnp.array_shapes(min_dims=2, max_dims=4, max_side=3)))
def test_trace_of_last_two_axes(x):
    check_primitive("trace", [x])
    np.testing.assert_allclose(get("trace").forward(x), np.trace(x, axis1=-2, axis2=-1), rtol=1e-12)


@few
@given(arrays(hnp.array_shapes(min_dims=1, max_dims=2, max_side=4)))
def test_diag_builds_or_extracts_like_numpy(x):
    check_primitive("diag", [x])
    np.testing.assert_array_equal(get("diag").forward(x), np.diag(x))


def test_trace_and_diag_refuse_other_ranks():
    with pytest.raises(ValueError, match="trace needs a matrix"):
        get("trace").forward(np.ones(3))
    with pytest.raises(ValueError, match="diag takes a 1-D array"):
        get("diag").forward(np.ones((2, 2, 2)))


# ---- inv, det, solve ----------------------------------------------------------------

@few
@given(stacks.flatmap(lambda s: well_conditioned(stack=s)))
def test_inv(a):
    check_primitive("inv", [a])


@few
@given(stacks.flatmap(lambda s: well_conditioned(stack=s)))
def test_det(a):
    check_primitive("det", [a], rtol=1e-6)


def _cofactors(a):
    """Cofactor matrix from minors, the schoolbook way (independent of the registry's SVD)."""
    n = a.shape[0]
    c = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, axis=0), j, axis=1)
            c[i, j] = (-1) ** (i + j) * (np.linalg.det(minor) if n > 1 else 1.0)
    return c


@few
@given(st.integers(1, 4), st.integers(0, 3), st.integers(0, 2 ** 32 - 1))
def test_det_gradient_at_singular_matrices_is_the_cofactor_matrix(n, drop, seed):
    """det is a polynomial: its gradient is adj(a)ᵀ, singular or not.

    torch.linalg.det's backward returns 0 at exactly singular matrices (pytorch #104675,
    #80761), so the reference here is the cofactor matrix from minors, not torch."""
    rng = np.random.default_rng(seed)
    rank = max(n - 1 - drop, 0)
    a = rng.standard_normal((n, rank)) @ rng.standard_normal((rank, n))
    grad = engine.gradient(engine.evaluate(one_node_graph("det", 1), {"a0": a}))["a0"]
    np.testing.assert_allclose(grad, _cofactors(a), rtol=1e-7, atol=1e-9)


@st.composite
def solve_operands(draw):
    a_stack, b_stack = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3)).input_shapes
    n = draw(st.integers(1, 4))
    a = draw(well_conditioned(stack=a_stack, n=n))
    vector = draw(st.booleans())
    b_shape = (n,) if vector else b_stack + (n, draw(st.integers(1, 3)))
    return a, draw(arrays(b_shape))


@settings(max_examples=40, deadline=None)
@given(solve_operands())
def test_solve_vector_or_matrix_right_hand_side(ab):
    a, b = ab
    check_primitive("solve", [a, b], rtol=1e-6)
    np.testing.assert_allclose(get("solve").forward(a, b), np.linalg.solve(a, b), rtol=1e-10, atol=1e-12)


def test_solve_reads_b_of_rank_one_less_than_a_as_a_matrix_like_numpy_2():
    """a (3, 3, 3), b (3, 3): numpy 2 solves three 3×3 systems with the same 3 right-hand sides;
    torch.linalg.solve alone would read b as a stack of three vectors."""
    rng = np.random.default_rng(1)
    a = 4 * np.eye(3) + rng.uniform(-1, 1, (3, 3, 3))
    b = rng.standard_normal((3, 3))
    x = get("solve").forward(a, b)
    assert x.shape == (3, 3, 3)
    np.testing.assert_allclose(a @ x, np.broadcast_to(b, (3, 3, 3)), atol=1e-12)
    check_primitive("solve", [a, b])


@pytest.mark.parametrize("name, args, message", [
    ("inv", [np.ones((2, 3))], "inv needs a square matrix"),
    ("det", [np.ones(3)], "det needs a square matrix"),
    ("solve", [np.eye(3), np.ones(2)], "a is 3×3 but b has length 2"),
    ("solve", [np.eye(3), np.ones((2, 1))], "a is 3×3 but b has number of rows 2"),
])
def test_linalg_shape_errors_say_what_is_wrong(name, args, message):
    with pytest.raises(ValueError, match=message):
        get(name).forward(*args)


# ---- complex step: Im f(x + ih·v)/h = J v, projected on a cotangent = ⟨VJP(ḡ), v⟩ --------

def _representative(rng):
    def r(*s):
        return rng.standard_normal(s)

    def m(*s):
        return (s[-1] + 1) * np.eye(s[-1]) + rng.uniform(-1, 1, s)

    return [
        ("matmul", [r(3), r(3)]), ("matmul", [r(2, 3), r(3)]), ("matmul", [r(3), r(2, 3, 4)]),
        ("matmul", [r(2, 1, 3, 4), r(3, 4, 2)]), ("dot", [r(2, 3), r(3, 2)]), ("dot", [r(3), r(3)]),
        ("outer", [r(3), r(2, 2)]), ("trace", [r(2, 3, 3)]), ("diag", [r(4)]), ("diag", [r(3, 2)]),
        ("inv", [m(3, 3)]), ("inv", [m(2, 2, 2)]), ("det", [m(4, 4)]), ("det", [m(3, 2, 2)]),
        ("solve", [m(3, 3), r(3)]), ("solve", [m(2, 3, 3), r(3, 2)]), ("solve", [m(3, 3), r(2, 3, 1)]),
    ]


CASES = _representative(np.random.default_rng(7))


@pytest.mark.parametrize("name, args", CASES, ids=[f"{n}-{'x'.join(map(str, a[0].shape))}" for n, a in CASES])
def test_complex_step_agrees_with_vjp(name, args):
    assert get(name).analytic, f"{name} is declared analytic, so complex step applies"
    check_complex_step(name, args, seed=3)


# ---- batched forward: two batch axes on each argument in turn -----------------------

@pytest.mark.parametrize("name, args", CASES, ids=[f"{n}-{'x'.join(map(str, a[0].shape))}" for n, a in CASES])
def test_batched_forward_with_two_batch_axes_on_any_argument(name, args):
    check_batched_forward(name, args)


# ---- logdet, slogdet, matrix_power, cholesky ----------------------------------------------


@st.composite
def positive_definite(draw, stack=()):
    b = draw(well_conditioned(stack=stack))
    return b @ np.swapaxes(b, -1, -2) / b.shape[-1] + np.eye(b.shape[-1])


@few
@given(data=st.data())
def test_log_determinants_against_torch_and_complex_step(data):
    stack = data.draw(stacks)
    spd = data.draw(positive_definite(stack))
    check_primitive("logdet", [spd], rtol=1e-6)
    check_complex_step("logdet", [spd])
    a = data.draw(well_conditioned(stack=stack))  # determinants of both signs
    check_primitive("slogdet", [a], rtol=1e-6)
    np.testing.assert_allclose(get("slogdet").forward(a), np.log(np.abs(np.linalg.det(a))))


def test_logdet_of_a_negative_determinant_is_nan_as_torch():
    a = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert np.isnan(get("logdet").forward(a))
    assert get("slogdet").kink(np.array([[1.0, 2.0], [2.0, 4.0]])) < 1e-12  # singular: the kink


@few
@given(data=st.data(), n=st.integers(0, 4))
def test_matrix_power_against_torch_and_complex_step(data, n):
    a = data.draw(well_conditioned(stack=data.draw(stacks))) / 3
    check_primitive("matrix_power", [a], {"n": n}, rtol=1e-6)
    check_complex_step("matrix_power", [a], {"n": n})


@few
@given(data=st.data())
def test_cholesky_against_torch(data):
    a = data.draw(positive_definite(data.draw(stacks)))
    check_primitive("cholesky", [a], rtol=1e-6)
    low = get("cholesky").forward(a)
    np.testing.assert_allclose(low @ np.swapaxes(low, -1, -2), a, atol=1e-12)


def test_cholesky_vjp_is_the_adjoint_of_the_jvp_for_symmetric_tangents():
    rng = np.random.default_rng(3)
    b = rng.standard_normal((3, 3))
    a = b @ b.T / 3 + np.eye(3)
    prim = get("cholesky")
    ans = prim.forward(a)
    g, t = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    t = t + t.T
    assert np.sum(prim.vjp[0](g, ans, a) * t) == pytest.approx(np.sum(g * prim.jvp[0](t, ans, a)))


def test_matrix_power_refuses_a_negative_exponent():
    with pytest.raises(ValueError, match="n ≥ 0"):
        get("matrix_power").forward(np.eye(2), n=-1)


@few
@given(data=st.data())
def test_spectra_against_torch(data):
    stack = data.draw(stacks)
    spd = data.draw(positive_definite(stack))
    if get("eigvalsh").kink(spd) > 1e-3:  # a repeated eigenvalue is a kink: its eigenvectors are not unique
        check_primitive("eigvalsh", [spd], rtol=1e-6)
    rows, cols = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    a = data.draw(hnp.arrays(np.float64, tuple(stack) + (rows, cols), elements=st.floats(-1, 1)))
    a = a + 3 * np.eye(rows, cols)  # distinct, non-zero singular values most of the time
    if get("svdvals").kink(a) > 1e-3:
        check_primitive("svdvals", [a], rtol=1e-6)


def test_repeated_eigenvalues_and_singular_values_are_kinks():
    assert get("eigvalsh").kink(np.eye(3)) == 0.0
    assert get("svdvals").kink(np.diag([2.0, 1.0, 0.0])) == 0.0
    assert get("svdvals").kink(np.diag([3.0, 2.0, 1.0])) == pytest.approx(1.0)
