"""Registry-wide invariants: every primitive tells its whole story, and the registry guards itself.

These tests look at the table as a whole (count, completeness of every entry, kinks,
the refusals of ``register``) and check that every registered primitive has a
property test somewhere in ``tests/ops/test_*.py``.
"""
from pathlib import Path

import numpy as np
import pytest

from gradcheck_suite.ops import NOT_DIFFERENTIABLE, RuleError, all_primitives, names, register
from gradcheck_suite.ops import registry
from gradcheck_suite.ops.registry import Domain, NotDifferentiable, calls, normalise_params

#: the issue's acceptance number: ``gradcheck-suite ops`` lists at least this many
MINIMUM_PRIMITIVES = 55

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
def test_non_analytic_primitives_declare_their_kinks_or_why_they_have_none(prim):
    if prim.kink is None:
        assert prim.no_kink.strip() or not prim.differentiable_output, \
            f"{prim.name} is not analytic but declares neither a kink function nor no_kink"
    else:
        assert callable(prim.kink) and not prim.no_kink, f"{prim.name}: a kink and a no_kink reason"


def test_register_refuses_a_non_analytic_primitive_without_kink_or_reason():
    with pytest.raises(RuleError, match="probe_smooth: not analytic: declare its kink, or no_kink"):
        register("probe_smooth", **_entry(analytic=False))
    assert "probe_smooth" not in names()


# ---- register guards the table --------------------------------------------------------

def _entry(**overrides):
    entry = dict(forward=np.negative, args=("x",), vjp=(lambda g, ans, x: -g,), jvp=(lambda t, ans, x: -t,),
                 torch=lambda x: -x, derivative=("∂(−{x})/∂{x} = −1",), category="test", doc="probe",
                 domain=Domain(), probes=calls([((3,),)]), symbolic=lambda sp, x, **_: -x)
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


@pytest.mark.parametrize("overrides, message", [
    ({"domain": (Domain(), Domain())}, "probe_facts: declare one Domain, or one per argument"),
    ({"probes": ()}, "probe_facts: no probe calls"),
    ({"probes": calls([()])}, "probe_facts: .*without a shape for every argument"),
    ({"symbolic": ""}, "probe_facts: declare a symbolic form, or a string saying why there is none"),
])
def test_register_refuses_a_primitive_without_domain_probes_or_symbolic_form(overrides, message):
    with pytest.raises(RuleError, match=message):
        register("probe_facts", **_entry(**overrides))
    assert "probe_facts" not in names()


def test_a_domain_of_an_unknown_kind_is_refused():
    with pytest.raises(RuleError, match="unknown domain kind 'complex'"):
        Domain(kind="complex")


def test_register_refuses_a_duplicate_name():
    existing = names()[0]
    before = len(names())
    with pytest.raises(RuleError, match=f"primitive '{existing}' registered twice"):
        register(existing, **_entry())
    assert len(names()) == before


def test_register_refuses_a_primitive_that_is_not_elementwise_without_a_shape_rule():
    with pytest.raises(RuleError, match="probe_shapeless: declare its shape rule"):
        register("probe_shapeless", **_entry())
    with pytest.raises(RuleError, match="probe_shapeless: unknown shape rule 'same shape'"):
        register("probe_shapeless", **_entry(shape="same shape"))
    assert "probe_shapeless" not in names()


def test_a_broadcasting_primitive_needs_no_shape_rule():
    prim = register("probe_broadcasting", **_entry(args=("x", "y"), vjp=(lambda g, ans, x, y: g,) * 2,
                                                   jvp=(lambda t, ans, x, y: t,) * 2, derivative=("1", "1"),
                                                   forward=np.add, broadcasts=True,
                                                   probes=calls([((3,), (3,))])))
    try:
        assert registry.output_shape(prim, [(4, 1), (3,)], {}) == (4, 3)
    finally:
        del registry._REGISTRY["probe_broadcasting"]


# ---- every primitive has a property test ------------------------------------------------

def test_every_primitive_is_named_in_a_property_test_file():
    # elementwise primitives are property-tested by test_elementwise.py straight from the registry
    files = sorted(TESTS_DIR.glob("test_*.py"))
    texts = [f.read_text(encoding="utf-8") for f in files if f.name != Path(__file__).name]
    untested = [p.name for p in PRIMITIVES if p.local_derivative is None
                and not any(f'"{p.name}"' in t or f"'{p.name}'" in t for t in texts)]
    assert not untested, f"primitives without a property test in tests/ops/test_*.py: {untested}"


# ---- every primitive declares its domain, probes and symbolic form ----------------------


def _call(prim, call, rng, shapes=None):
    """The arguments and normalised parameters of one probe call, values from the declared domain."""
    shapes = call.shapes if shapes is None else shapes
    args = [prim.domain[min(i, len(prim.domain) - 1)].draw(rng, s) for i, s in enumerate(shapes)]
    params = normalise_params(prim, call.params, [np.ndim(a) for a in args], 0, np.shape(args[0]))
    return args, params


@pytest.mark.parametrize("prim", PRIMITIVES, ids=IDS)
def test_every_primitive_declares_domain_probes_and_symbolic_form(prim):
    assert len(prim.domain) == _n_rules(prim) and all(isinstance(d, Domain) for d in prim.domain), prim.name
    assert prim.probes, f"{prim.name}: no probe calls"
    assert callable(prim.symbolic) or prim.symbolic.strip(), f"{prim.name}: no symbolic form and no reason"
    rng = np.random.default_rng(0)
    for call in prim.probes:  # the forward runs, finite, on every probe call drawn from the domain
        args, params = _call(prim, call, rng)
        out = prim.forward(*args, **params)
        assert np.all(np.isfinite(out)), f"{prim.name}: non-finite forward on its domain, {call}"


def _size_one_points(prim, rng):
    """Probe calls with every argument of size 1 (the scalar cases the answer key's closed form sees)."""
    seen = set()
    for call in prim.probes:
        shapes = tuple((1,) * len(s) for s in call.shapes)
        key = (shapes, repr(sorted(call.params.items())))
        if key in seen:
            continue
        seen.add(key)
        args, params = _call(prim, call, rng, shapes)
        try:
            out = prim.forward(*args, **params)
        except (ValueError, IndexError):  # e.g. a reshape to (4, 3) of one element
            continue
        if np.size(out) == 1:
            yield args, call.params, params, out


SYMBOLIC = [p for p in PRIMITIVES if callable(p.symbolic) and p.differentiable_output]


@pytest.mark.parametrize("prim", SYMBOLIC, ids=[p.name for p in SYMBOLIC])
def test_symbolic_form_agrees_with_the_forward_and_the_rules_at_scalar_points(prim):
    sp = pytest.importorskip("sympy")
    rng = np.random.default_rng(1)
    symbols = [sp.Symbol(f"a{i}", real=True) for i in range(4)]
    checked = 0
    for args, raw, params, out in _size_one_points(prim, rng):
        syms = symbols[:len(args)]
        expr = prim.symbolic(sp, *syms, **{**prim.params, **raw})
        point = {s: (sp.true if np.ravel(a)[0] else sp.false) if np.asarray(a).dtype == bool
                 else sp.Float(float(np.ravel(a)[0]), 17) for s, a in zip(syms, args)}
        assert float(expr.evalf(30, subs=point)) == pytest.approx(float(np.ravel(out)[0]), rel=1e-9, abs=1e-12), \
            f"{prim.name}: the symbolic form's value differs from the forward at {point}"
        rules = prim.vjp * len(args) if prim.variadic else prim.vjp
        for k, (s, rule) in enumerate(zip(syms, rules)):
            if isinstance(rule, NotDifferentiable):
                continue
            extra = {"argnum": k} if prim.variadic else {}
            local = rule(np.ones_like(out), out, *args, **params, **extra)
            expected = float(sp.diff(expr, s).evalf(30, subs=point))
            assert float(np.sum(local)) == pytest.approx(expected, rel=1e-7, abs=1e-10), \
                f"{prim.name}: d/d{prim.args[min(k, len(prim.args) - 1)]} of the symbolic form differs from the VJP"
        checked += 1
    # a primitive with no size-1 call at least yields a sympy expression of its arguments
    if not checked:
        expr = prim.symbolic(sp, *symbols[:len(prim.probes[0].shapes)], **prim.params)
        assert isinstance(expr, sp.Basic), prim.name
