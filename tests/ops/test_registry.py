"""Registry-wide invariants: every primitive tells its whole story, and the registry guards itself.

These tests look at the table as a whole (count, completeness of every entry, kinks,
the refusals of ``register``) and check that every registered primitive has a
property test somewhere in ``tests/ops/test_*.py``.
"""
from pathlib import Path

import numpy as np
import pytest

from gradcheck_suite.ops import NOT_DIFFERENTIABLE, RuleError, all_primitives, names, register
from gradcheck_suite.ops.registry import NotDifferentiable

#: the issue's acceptance number: ``gradcheck-suite ops`` lists at least this many
MINIMUM_PRIMITIVES = 55

#: non-analytic primitives that declare no kink function, and why that is right
NO_KINK_NEEDED = {
    "where": "it switches on its condition, a non-differentiable argument: the kink belongs to the "
             "comparison that computes the condition (which declares it); in x and y it is linear",
}

PRIMITIVES = all_primitives()
IDS = [p.name for p in PRIMITIVES]
TESTS_DIR = Path(__file__).parent


def _n_rules(prim):
    return 1 if prim.variadic else len(prim.args)


def test_at_least_the_acceptance_number_of_primitives_is_registered():
    assert len(names()) >= MINIMUM_PRIMITIVES, f"only {len(names())} primitives: {names()}"


@pytest.mark.parametrize("prim", PRIMITIVES, ids=IDS)
def test_every_primitive_declares_forward_torch_category_and_doc(prim):
    assert callable(prim.forward), f"{prim.name}: forward is not callable"
    assert callable(prim.torch), f"{prim.name}: torch counterpart is not callable"
    assert isinstance(prim.category, str) and prim.category.strip(), f"{prim.name}: no category"
    assert isinstance(prim.doc, str) and prim.doc.strip(), f"{prim.name}: no doc"
    assert prim.signature().startswith(f"{prim.name}("), f"{prim.name}: odd signature {prim.signature()}"


@pytest.mark.parametrize("prim", PRIMITIVES, ids=IDS)
def test_every_rule_table_has_one_entry_per_argument(prim):
    for label, table in (("vjp", prim.vjp), ("jvp", prim.jvp)):
        assert len(table) == _n_rules(prim), f"{prim.name}: {label} table has {len(table)} entries"
        for arg, rule in zip(prim.args, table):
            assert isinstance(rule, NotDifferentiable) or callable(rule), \
                f"{prim.name}: {label} rule for {arg!r} is neither callable nor NOT_DIFFERENTIABLE"
    for arg, v, j in zip(prim.args, prim.vjp, prim.jvp):
        assert isinstance(v, NotDifferentiable) == isinstance(j, NotDifferentiable), \
            f"{prim.name}: argument {arg!r} is differentiable in one mode only"


@pytest.mark.parametrize("prim", [p for p in PRIMITIVES if p.differentiable_output],
                         ids=[p.name for p in PRIMITIVES if p.differentiable_output])
def test_derivative_texts_one_per_argument_and_format_without_key_error(prim):
    assert len(prim.derivative) == _n_rules(prim), f"{prim.name}: {len(prim.derivative)} derivative texts"
    mapping = {a: f"<{a}>" for a in prim.args}
    for template in prim.derivative:
        text = template.format(**mapping, out="<out>")  # KeyError/IndexError = a broken template
        assert text.strip(), f"{prim.name}: empty derivative text"
    # the texts a user reads name the arguments as the case wrote them
    filled = prim.derivative_text({a: f"arg_{a}" for a in prim.args})
    assert any(f"arg_{a}" in t for t in filled for a in prim.args) or not prim.args, \
        f"{prim.name}: no derivative text mentions an argument: {filled}"


@pytest.mark.parametrize("prim", [p for p in PRIMITIVES if not p.analytic],
                         ids=[p.name for p in PRIMITIVES if not p.analytic])
def test_non_analytic_primitives_declare_their_kinks(prim):
    if prim.name in NO_KINK_NEEDED:
        assert prim.kink is None, f"{prim.name} now declares a kink: drop it from NO_KINK_NEEDED"
        return
    assert callable(prim.kink), f"{prim.name} is not analytic but declares no kink function"


def test_the_kink_exceptions_name_registered_non_analytic_primitives():
    for name in NO_KINK_NEEDED:
        prim = next((p for p in PRIMITIVES if p.name == name), None)
        assert prim is not None and not prim.analytic, f"stale entry in NO_KINK_NEEDED: {name}"


# ---- register guards the table --------------------------------------------------------

def _entry(**overrides):
    entry = dict(forward=np.negative, args=("x",), vjp=(lambda g, ans, x: -g,), jvp=(lambda t, ans, x: -t,),
                 torch=lambda x: -x, derivative=("∂(−{x})/∂{x} = −1",), category="test", doc="probe")
    entry.update(overrides)
    return entry


def test_register_refuses_a_missing_vjp_rule_naming_op_and_argument():
    with pytest.raises(RuleError, match=r"probe_missing_vjp: no vjp rule for argument 'y'"):
        register("probe_missing_vjp", **_entry(args=("x", "y"), vjp=(lambda g, ans, x, y: g, None),
                                               jvp=(lambda t, ans, x, y: t,) * 2, derivative=("1", "1")))
    assert "probe_missing_vjp" not in names()


def test_register_refuses_a_missing_jvp_rule_naming_op_and_argument():
    with pytest.raises(RuleError, match=r"probe_missing_jvp: no jvp rule for argument 'x'"):
        register("probe_missing_jvp", **_entry(jvp=(None,)))
    assert "probe_missing_jvp" not in names()


def test_register_refuses_a_rule_table_of_the_wrong_length():
    with pytest.raises(RuleError, match="probe_short: vjp declares 1 rules for 2 arguments"):
        register("probe_short", **_entry(args=("x", "y"), derivative=("1", "1")))
    assert "probe_short" not in names()


def test_register_refuses_none_even_where_the_other_mode_says_not_differentiable():
    with pytest.raises(RuleError, match="probe_nd: no vjp rule for argument 'x'"):
        register("probe_nd", **_entry(vjp=(None,), jvp=(NOT_DIFFERENTIABLE,)))
    assert "probe_nd" not in names()


def test_register_refuses_a_duplicate_name():
    existing = names()[0]
    before = len(names())
    with pytest.raises(RuleError, match=f"primitive '{existing}' registered twice"):
        register(existing, **_entry())
    assert len(names()) == before


# ---- every primitive has a property test ------------------------------------------------

def test_every_primitive_is_named_in_a_property_test_file():
    files = sorted(TESTS_DIR.glob("test_*.py"))
    texts = [f.read_text(encoding="utf-8") for f in files if f.name != Path(__file__).name]
    untested = [n for n in names() if not any(f'"{n}"' in t or f"'{n}'" in t for t in texts)]
    assert not untested, f"primitives without a property test in tests/ops/test_*.py: {untested}"
