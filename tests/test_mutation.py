"""Mutation score (issue 7): the bundled library catches every wrong derivative rule.

The library run is parametrised by primitive so that ``pytest -n 2`` spreads it over
both cores; every worker loads the library and checks it un-mutated once.  The unit
tests below pin the machinery: a mutant is always restored, the equivalence detector
tells an equivalent mutant from a real one, the kinds do what docs/mutation.md says,
and ``gradcheck-suite mutate`` exits 0 / 1 / 2.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from gradcheck_suite import cli, engine
from gradcheck_suite.loader import load_paths
from gradcheck_suite.mutation import (Firing, Mutant, installed, judge, mutants_of, mutated, mutation_score,
                                      passing_cases)
from gradcheck_suite.mutation import score as score_module
from gradcheck_suite.mutation.probes import Probe, compare, random_probes
from gradcheck_suite.mutation.render import render
from gradcheck_suite.ops import all_primitives, registry

CASES = Path(__file__).resolve().parent.parent / "cases"
MUTABLE = [p.name for p in all_primitives() if mutants_of(p)]


@lru_cache(maxsize=1)
def library():
    """The bundled library: the cases that pass un-mutated in float64, and the ones that do not."""
    loaded = load_paths([str(CASES)])
    assert not loaded.errors, [str(e) for e in loaded.errors]
    return passing_cases(loaded.cases)


def test_the_library_passes_unmutated_so_a_failure_under_a_mutant_is_the_mutant():
    good, failing = library()
    assert failing == []
    assert len(good) >= 150


@pytest.mark.parametrize("primitive", MUTABLE)
def test_the_library_catches_every_mutant_of(primitive):
    good, _ = library()
    result = mutation_score(good, [primitive], baseline=False)
    assert result.outcomes, f"no mutant of {primitive}"
    survivors = "\n".join(f"{o.mutant.label}: {o.reason}" for o in result.survivors)
    assert result.score == 1.0, f"mutation score of {primitive} is {result.score:.1%}; survivors:\n{survivors}"
    assert result.count("caught") + result.count("equivalent") == len(result.outcomes)


# ---- installing and restoring ---------------------------------------------------------


def test_a_mutant_is_restored_after_the_block_even_when_it_raises():
    original = registry.get("exp")
    mutant = Mutant("exp", "vjp", 0, "x", "sign")
    with pytest.raises(RuntimeError):
        with installed(mutant):
            assert registry.get("exp") is not original
            raise RuntimeError("boom")
    assert registry.get("exp") is original


def test_a_mutant_is_restored_when_the_library_run_is_interrupted(monkeypatch):
    original = registry.get("mul")

    def interrupted(*_, **__):
        assert registry.get("mul") is not original  # the run sees the mutant
        raise KeyboardInterrupt

    monkeypatch.setattr(score_module, "check_case", interrupted)
    with pytest.raises(KeyboardInterrupt):
        score_module.catching_case(Mutant("mul", "jvp", 1, "y", "scale2"), library()[0][:3])
    assert registry.get("mul") is original


def test_a_mutant_changes_only_its_own_rule():
    prim = registry.get("div")
    wrong = mutated(prim, Mutant("div", "vjp", 1, "y", "zero"))
    assert wrong.vjp[0] is prim.vjp[0] and wrong.jvp == prim.jvp and wrong.vjp[1] is not prim.vjp[1]


# ---- which mutants exist ----------------------------------------------------------------


def test_non_differentiable_arguments_have_no_mutants():
    assert mutants_of(registry.get("less")) == []
    assert {m.argument for m in mutants_of(registry.get("where"))} == {"x", "y"}


def test_unbroadcast_only_for_broadcasting_primitives_and_swap_only_for_two_operands():
    for prim in all_primitives():
        kinds = {m.kind for m in mutants_of(prim)}
        assert ("unbroadcast" in kinds) == (prim.broadcasts and bool(kinds)), prim.name
        assert ("swap" not in kinds) or len(prim.args) >= 2, prim.name


def test_every_mutable_primitive_has_random_probes_in_its_declared_domain():
    for name in MUTABLE:
        prim = registry.get(name)
        probes = random_probes(name)
        assert len(probes) == 2 * len(prim.probes) > 0, name
        for probe, call in zip(probes, prim.probes):
            assert [np.shape(a) for a in probe.args] == list(call.shapes), name
            assert probe.params == dict(call.params), name


# ---- what the kinds do ------------------------------------------------------------------


def _one_node(name, *args):
    probe = Probe(name, [np.asarray(a, dtype=float) for a in args], {}, [True] * len(args), "test")
    return engine.evaluate(probe.graph(), {f"a{i}": a for i, a in enumerate(probe.args)}, np.float64)


def test_unbroadcast_vjp_takes_the_first_slice_instead_of_the_sum():
    rng = np.random.default_rng(0)
    ev = _one_node("add", rng.standard_normal((3, 1)), rng.standard_normal((3, 4)))
    g = rng.standard_normal((3, 4))
    with installed(Mutant("add", "vjp", 0, "x", "unbroadcast")):
        wrong = engine.vjp(ev, g)["a0"]
    np.testing.assert_array_equal(wrong, g[:, :1])
    np.testing.assert_allclose(engine.vjp(ev, g)["a0"], g.sum(axis=1, keepdims=True))


def test_unbroadcast_jvp_mutant_is_the_transpose_of_the_vjp_mutant():
    rng = np.random.default_rng(1)
    ev = _one_node("mul", rng.standard_normal((4,)), rng.standard_normal((3, 4)))
    with installed(Mutant("mul", "vjp", 0, "x", "unbroadcast")):
        reverse = engine.jacobian(ev, ["a0"], mode="reverse")["a0"]
    with installed(Mutant("mul", "jvp", 0, "x", "unbroadcast")):
        forward = engine.jacobian(ev, ["a0"], mode="forward")["a0"]
    np.testing.assert_allclose(forward, reverse)
    assert not np.allclose(forward, engine.jacobian(ev, ["a0"])["a0"])


def test_transpose_never_moves_batch_axes():
    firing = Firing()
    ev = _one_node("exp", np.arange(3.0))
    with installed(Mutant("exp", "vjp", 0, "x", "transpose"), firing):
        batched = engine.vjp(ev, np.ones((3, 3)))["a0"]  # 3 cotangents of a (3,) output: (3, 3)
    assert firing.calls == 1 and firing.applied == 0
    np.testing.assert_allclose(batched, np.exp(np.arange(3.0)) * np.ones((3, 3)))


# ---- equivalent mutants -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sign", "scale2", "zero"])
def test_scaling_the_zero_rule_of_sign_is_detected_as_equivalent(kind):
    outcome = judge(Mutant("sign", "vjp", 0, "x", kind), [])
    assert outcome.status == "equivalent"
    assert "zero everywhere" in outcome.reason


def test_swapping_the_operands_of_add_is_equivalent_but_of_mul_is_not():
    add = compare(Mutant("add", "vjp", 0, "x", "swap"), random_probes("add"))
    mul = compare(Mutant("mul", "vjp", 0, "x", "swap"), random_probes("mul"))
    assert add.equal and not mul.equal


def test_a_real_mutant_is_not_declared_equivalent_and_survives_without_cases():
    outcome = judge(Mutant("exp", "vjp", 0, "x", "scale2"), [])
    assert outcome.status == "survived"
    assert "no case applies exp" in outcome.reason


def test_a_mutant_equal_only_on_the_library_values_is_a_survivor():
    # the seed cases apply exp only to scalars: a transposed exp rule differs on square
    # random probes, not on them, so it survives and the reason says a case is missing
    seed = load_paths([str(CASES / "seed")]).cases
    result = mutation_score(seed, ["exp"], rules=["vjp"], kinds=["transpose"])
    assert [o.mutant.label for o in result.survivors] == ["exp.vjp[x]:transpose"]
    assert "a case is missing" in result.survivors[0].reason
    assert result.exit_code == 1 and result.score == 0.0


# ---- the command --------------------------------------------------------------------------


def test_mutate_exits_0_when_every_mutant_is_caught(capsys):
    code = cli.main(["mutate", str(CASES / "mutation" / "square_elementwise.yaml"), "--primitive", "exp", "-q"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("mutation score 100.0%")


def test_mutate_exits_1_with_a_survivor_and_writes_json(tmp_path, capsys):
    out_file = tmp_path / "mutation.json"
    code = cli.main(["mutate", str(CASES / "seed"), "--primitive", "exp", "--rule", "vjp", "--format", "json",
                     "--out", str(out_file), "-q"])
    assert code == 1
    data = json.loads(out_file.read_text())
    assert data["survived"] == 1 and data["score"] == pytest.approx(0.75)
    assert {r["kind"] for r in data["outcomes"] if r["status"] == "survived"} == {"transpose"}


@pytest.mark.parametrize("argv", [["--primitive", "expp"], ["--primitive", "less"], ["--kind", "negate"],
                                  ["does/not/exist.yaml", "--primitive", "exp"]])
def test_mutate_exits_2_on_errors(argv, capsys):
    assert cli.main(["mutate", *argv, "-q"]) == 2
    assert "error" in capsys.readouterr().err


def test_markdown_report_lists_every_mutant():
    seed = load_paths([str(CASES / "seed")]).cases
    result = mutation_score(seed, ["exp"], rules=["vjp"])
    text = render(result, "md")
    assert text.startswith("# Mutation score")
    assert text.count("| exp | vjp | x |") == len(result.outcomes) == 4


def test_no_mutant_breaks_the_engine_on_any_random_probe():
    # a mutant must change numbers, never shapes: otherwise it is "caught" by a shape error
    raised = []
    for prim in all_primitives():
        probes = random_probes(prim.name)
        for mutant in mutants_of(prim):
            c = compare(mutant, probes, stop_at_first=False)
            if c.raised:
                raised.append(f"{mutant.label}: {c.raised}")
    assert raised == []
