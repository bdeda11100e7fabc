"""The references on their own: finite differences (estimates honest, complex step exact, V-shaped
step curve, directional derivatives) and the torch replay (gradient, Jacobian, VJP, plain function)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from gradcheck_suite import engine
from gradcheck_suite.graph import Graph
from gradcheck_suite.reference import fd, torch_ref


def chain(*ops: str, reduce: bool = True) -> Graph:
    """x → op1 → op2 … (→ sum): a graph built by hand."""
    g = Graph()
    node = g.add("input", name="x")
    g.inputs["x"] = node.id
    for op in ops:
        node = g.add(op, (node.id,), name=op)
    if reduce:
        node = g.add("sum", (node.id,), name="out")
    g.output = node.id
    return g


finite = st.floats(-2.0, 2.0, allow_nan=False)


@settings(max_examples=25, deadline=None)
@given(st.lists(finite, min_size=1, max_size=6), st.sampled_from([("tanh",), ("sin", "exp"), ("abs", "exp"),
                                                                  ("sigmoid", "square")]))
def test_richardson_error_estimate_is_honest(xs, ops):
    g = chain(*ops)
    x = np.array(xs)
    exact = engine.gradient(engine.evaluate(g, {"x": x}))["x"]
    got = fd.derivative(g, {"x": x}, "x", method="richardson")
    err = np.abs(got.value - exact)
    on_kink = ("abs" in ops) & (np.abs(x) < 1e-4)
    assert np.all((err <= got.error + 1e-12) | on_kink)
    assert np.all((got.error < 1e-6) | on_kink)


def test_complex_step_is_exact_and_chosen_for_analytic_paths():
    g = chain("sin", "exp")
    x = np.array([0.3, -1.1, 2.0])
    got = fd.derivative(g, {"x": x}, "x")
    assert got.method == "complex-step"
    np.testing.assert_allclose(got.value, np.exp(np.sin(x)) * np.cos(x), rtol=1e-15)
    assert fd.derivative(chain("relu", "exp"), {"x": x}, "x").method == "richardson"
    assert not fd.path_is_analytic(chain("relu"), "x") and fd.path_is_analytic(chain("tanh"), "x")


def test_domain_edge_shrinks_the_step():
    g = chain("relu", "sqrt")  # not analytic (relu): Richardson, with x − h < 0 at the default step
    x = np.array([1e-6, 4.0])
    got = fd.derivative(g, {"x": x}, "x")
    np.testing.assert_allclose(got.value, 0.5 / np.sqrt(x), rtol=1e-7)
    assert got.step[0] < fd.default_step(x)[0]


def test_one_sided_differences_disagree_at_a_kink_only():
    got = fd.derivative(chain("abs"), {"x": np.array([0.0, 0.7])}, "x")
    assert abs(got.backward[0] + 1.0) < 1e-9 and abs(got.forward[0] - 1.0) < 1e-9
    assert abs(got.forward[1] - got.backward[1]) < 1e-9


def test_step_error_curve_is_a_v():
    steps, estimates, errors, reference = fd.step_error_curve(chain("exp"), {"x": np.array([0.5])}, "x", (0,))
    assert abs(reference - np.exp(0.5)) < 1e-14
    best = int(np.argmin(errors))
    assert 0 < best < len(steps) - 1
    assert errors[0] > 1e3 * errors[best] and errors[-1] > 1e3 * errors[best]
    assert 1e-8 < steps[best] < 1e-3  # near ε^(1/3) ≈ 6e-6


def test_directional_derivative_equals_jacobian_times_v():
    g = chain("tanh", reduce=False)
    x = np.array([0.1, -0.4, 0.8])
    v = np.random.default_rng(0).standard_normal((2, 3))
    jac = np.diag(1 - np.tanh(x) ** 2)
    for method in ("complex-step", "richardson"):
        got = fd.directional(g, {"x": x}, "x", v, method=method)
        np.testing.assert_allclose(got.value, v @ jac.T, rtol=1e-8, atol=1e-10)


def test_jacobian_is_output_first():
    g = chain("exp", reduce=False)
    x = np.array([0.2, 0.4])
    got = fd.derivative(g, {"x": x}, "x")
    np.testing.assert_allclose(got.jacobian(got.value, 1), np.diag(np.exp(x)), rtol=1e-14, atol=1e-300)


def test_torch_replay_gradient_jacobian_vjp():
    g = chain("sin", reduce=False)
    x = np.array([0.1, 0.5, -0.3])
    tev = torch_ref.replay(g, {"x": x}, "float64")
    np.testing.assert_allclose(torch_ref.jacobian(tev)["x"], np.diag(np.cos(x)), atol=1e-15)
    u = np.eye(3)[:2]
    np.testing.assert_allclose(torch_ref.vjp(tev, u)["x"], np.diag(np.cos(x))[:2], atol=1e-15)
    tev32 = torch_ref.replay(chain("sin"), {"x": x}, "float32")
    grad = torch_ref.gradient(tev32)["x"]
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, np.cos(x), rtol=1e-6)


def _mlp(n: int, m: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(n * 1000 + m)
    x = torch.randn(n, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(m, n, dtype=torch.float64, generator=gen, requires_grad=True)
    return x, w, torch.sigmoid(torch.tanh(w @ x) * 2 + 1) * x[:m]


def test_pullback_gives_torch_explicit_seed_numbers_exactly():
    x, w, y = _mlp(5, 4)
    u = torch.tensor([0.3, -1.7, 2.5, 1e-3], dtype=torch.float64)
    want = torch.autograd.grad(y, [x, w], u, retain_graph=True)
    got = torch_ref.pullback(y, [x, w], u)
    assert all(torch.equal(a, b) for a, b in zip(got, want))
    # with create_graph, the pulled-back gradient differentiates as torch's own does
    v = torch.linspace(-1, 1, 5, dtype=torch.float64)
    (want2,) = torch.autograd.grad(torch.autograd.grad(y, x, u, create_graph=True)[0], x, v, retain_graph=True)
    (got2,) = torch.autograd.grad(torch_ref.pullback(y, [x], u, create_graph=True)[0], x, v, retain_graph=True)
    torch.testing.assert_close(got2, want2, rtol=1e-15, atol=0)
    # an output without a graph raises as torch.autograd.grad does (no silent zero gradient)
    with pytest.raises(RuntimeError):
        torch_ref.pullback(y.detach(), [x], u)
    # … and so does a cotangent of another shape, which the product would have broadcast
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        torch_ref.pullback(y, [x], u[:, None])


@pytest.mark.parametrize("m", [3, torch_ref.LOOP_ROWS + 8])
def test_vjp_rows_one_pass_each_or_batched_agree_with_torch(m):
    x, w, y = _mlp(m + 2, m)
    tev = torch_ref.TorchEvaluation(Graph(), [], {"x": x, "w": w})
    tev.graph.output = 0
    tev.values.append(y)
    seeds = np.random.default_rng(m).normal(size=(m, m))
    got = torch_ref.vjp(tev, seeds)
    want = torch.autograd.grad(y, [x, w], torch.from_numpy(seeds), retain_graph=True, is_grads_batched=True)
    np.testing.assert_allclose(got["x"], want[0].numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(got["w"], want[1].numpy(), rtol=1e-14, atol=1e-15)


def test_checking_a_vector_case_imports_no_sympy(tmp_path):
    """An explicit seed makes torch import sympy (0.3 s a process); the checks never give one."""
    case = tmp_path / "v.yaml"
    case.write_text("name: v\ninputs: {x: [0.3, 0.6, 0.9]}\nsteps:\n  y: tanh(x) * x\n")
    script = ("import sys, torch; before = 'sympy' in sys.modules; from gradcheck_suite import run; "
              f"r = run([{str(case)!r}], jobs=1); assert r.exit_code == 0, r.exit_code; "
              "print(before, 'sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    before, after = out.stdout.split()
    assert after == before == "False"  # (were torch ever to import sympy itself, the first would say so)


def test_torch_function_runs_under_gradcheck(load_case):
    case = load_case("""
        name: tf
        inputs: {x: [0.3, 0.6], w: 1.5}
        constants: {c: [1.0, -1.0]}
        expr: sum(tanh(w * x) * c)
    """)
    f = torch_ref.torch_function(case, "float64")
    assert f.input_names == ("x", "w")
    leaves = case.leaves(0)
    inputs = [torch.tensor(leaves[n], requires_grad=True) for n in f.input_names]
    assert torch.autograd.gradcheck(f, inputs)
    np.testing.assert_allclose(f(*inputs).item(), np.sum(np.tanh(1.5 * leaves["x"]) * [1, -1]))
