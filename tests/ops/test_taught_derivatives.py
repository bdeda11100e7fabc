"""The taught local derivatives live in the registry, one per primitive, and they are right.

``taught_derivative`` (ops/registry.py's header) is what the answer key writes as a
step's local derivative in the forward nodes' names (σ' = out·(1 − out)); these tests
hold each one to the primitive's own VJP rule at scalar points, ask that every
primitive the taught forms need declares one, and that no second table exists.
"""
from pathlib import Path

import numpy as np
import pytest

from gradcheck_suite.ops import RuleError, all_primitives, names, register
from gradcheck_suite.ops.registry import NotDifferentiable, lookup
from tests.ops.test_registry import _entry, _size_one_points

TAUGHT = [p for p in all_primitives() if p.taught_derivative is not None]
SEED = Path(__file__).resolve().parents[2] / "cases" / "seed"


@pytest.mark.parametrize("prim", TAUGHT, ids=[p.name for p in TAUGHT])
def test_the_taught_form_agrees_with_the_vjp_rule_at_scalar_points(prim):
    sp = pytest.importorskip("sympy")
    rng = np.random.default_rng(2)
    checked = 0
    points = list(_size_one_points(prim, rng))
    if not points:  # reshape, broadcast_to: no probe of one element; of one element they are the identity
        assert [sp.sympify(f) for f in prim.taught_derivative(sp, sp.Symbol("out"), sp.Symbol("x"))] == [1]
        assert prim.category == "shape", prim.name
        return
    for args, raw, params, out in points:
        value = lambda a: sp.Float(float(np.ravel(a)[0]), 17)  # noqa: E731
        forms = prim.taught_derivative(sp, value(out), *[value(a) for a in args], **{**prim.params, **raw})
        assert len(forms) == len(prim.args), f"{prim.name}: one taught form per argument"
        for k, (form, rule) in enumerate(zip(forms, prim.vjp)):
            if isinstance(rule, NotDifferentiable):
                continue
            local = float(np.sum(rule(np.ones_like(out), out, *args, **params)))
            assert float(sp.sympify(form).evalf(30)) == pytest.approx(local, rel=1e-9, abs=1e-12), \
                f"{prim.name}: the taught ∂out/∂{prim.args[k]} differs from its VJP rule"
        checked += 1
    assert checked, f"{prim.name}: no scalar probe point to check the taught form at"


ELEMENTWISE = ("operators", "elementwise", "activations", "special")


def test_every_primitive_the_taught_forms_need_declares_one():
    """The seed cases' scalar steps (the backward pass in symbols) and elementwise steps (their
    matrix form's ``δu ⊙ (1 − u²)``), and every elementwise operator."""
    from gradcheck_suite import engine
    from gradcheck_suite.loader import load_paths

    loaded = load_paths([str(SEED)])
    assert loaded.cases and not loaded.errors
    needed = {p.name for p in all_primitives() if p.category == "operators" and p.differentiable_output
              and p.name != "matmul"}
    for case in loaded.cases:
        ev = engine.evaluate(case.graph, case.leaves())
        for node in case.graph:
            if node.is_leaf:
                continue
            scalar = all(np.size(ev.values[i]) == 1 for i in (node.id, *node.args))
            if scalar or lookup(node.op).category in ELEMENTWISE and node.op != "matmul":
                needed.add(node.op)
    assert {"sigmoid", "div", "add", "mul", "exp", "neg", "tanh", "sin"} <= needed  # the tutorial's steps
    lacking = sorted(op for op in needed if lookup(op).taught_derivative is None)
    assert not lacking, f"primitives the taught forms need, without taught_derivative: {lacking}"
    # the forms the tutorial is about, exactly as taught
    sp = pytest.importorskip("sympy")
    out, x, y = sp.symbols("out x y")
    assert lookup("sigmoid").taught_derivative(sp, out, x) == (out * (1 - out),)
    assert lookup("tanh").taught_derivative(sp, out, x) == (1 - out ** 2,)
    assert lookup("div").taught_derivative(sp, out, x, y) == (1 / y, -x / y ** 2)


def test_the_answer_key_reads_the_registry_and_keeps_no_table_of_its_own():
    from gradcheck_suite.explain import facts

    assert not [n for n in vars(facts) if n.isupper() and "DERIVATIVE" in n]
    sp = pytest.importorskip("sympy")
    out = sp.Symbol("out")
    assert facts.local_derivative_form("exp")(out, sp.Symbol("x")) == (out,)
    assert facts.local_derivative_form("add")(out, sp.Symbol("x"), sp.Symbol("y")) == (1, 1)
    assert facts.local_derivative_form("relu") is None  # declares none: the answer key uses its text


def test_register_refuses_a_taught_form_that_is_not_a_function():
    with pytest.raises(RuleError, match="probe_taught: taught_derivative must be a function"):
        register("probe_taught", **_entry(taught_derivative="1/x"))
    assert "probe_taught" not in names()
