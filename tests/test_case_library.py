"""The bundled case library (issue 7, "The library"): it loads, it is big enough, and it
covers every primitive.

These tests read the cases and walk their expression graphs; they run one forward pass
per case (to see argument shapes) but no gradient checks — the full-library run belongs
to ``.ci/run`` through the command line.
"""
from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from gradcheck_suite import engine
from gradcheck_suite.loader import load_paths
from gradcheck_suite.ops import get, names

CASES = Path(__file__).resolve().parent.parent / "cases"

#: theme folders issue 7 asks for (seed/ holds the tutorial's worked examples)
THEMES = ("elementwise", "broadcasting", "reductions", "shape", "linalg", "nn", "conv", "contractions", "course", "jacobians",
          "multipath", "deep", "numerics", "float32", "kinks", "mutation")

#: comparisons only appear as where()'s condition; they count through where
COMPARISONS = {"less", "less_equal", "greater", "greater_equal", "equal", "not_equal"}

MIN_CASES = 150
MIN_CASES_PER_PRIMITIVE = 3
DEEP_STEPS = 100


@lru_cache(maxsize=1)
def library():
    """The whole library, loaded once for this module."""
    return load_paths([str(CASES)])


def theme_of(case) -> str:
    """The first folder under cases/ that holds the case's file."""
    return Path(case.file).resolve().relative_to(CASES).parts[0]


@lru_cache(maxsize=1)
def primitive_uses() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """For each primitive: the cases that apply it, and those that apply it to arguments
    of different shapes, a differentiable one among them broadcast to the result's shape
    (one forward pass per case to learn the shapes)."""
    used: dict[str, set[str]] = defaultdict(set)
    broadcast: dict[str, set[str]] = defaultdict(set)
    for case in library().cases:
        for op in case.graph.primitives_used():
            used[op].add(case.name)
        ev = engine.evaluate(case.graph, case.leaves(), np.float64)
        differentiable = case.graph.depends_on_inputs()
        for node in case.graph:
            if node.is_leaf:
                continue
            shapes = {np.shape(ev.values[a]) for a in node.args}
            # a differentiable argument stretched to the output's shape: its gradient
            # has to be summed back (unbroadcast), which is what such a case exercises
            stretched = any(differentiable[a] and np.shape(ev.values[a]) != np.shape(ev.values[node.id])
                            for a in node.args)
            if len(shapes) > 1 and stretched:
                broadcast[node.op].add(case.name)
    return used, broadcast


def output_size(case) -> int:
    """Number of elements of the case's output (one forward pass)."""
    return int(np.size(engine.evaluate(case.graph, case.leaves(), np.float64).output))


def covered_primitives() -> list[str]:
    return [n for n in names() if n not in COMPARISONS]


def test_library_loads_without_errors():
    result = library()
    assert [str(e) for e in result.errors] == []


def test_library_has_at_least_150_cases():
    assert len(library().cases) >= MIN_CASES


@pytest.mark.parametrize("theme", THEMES)
def test_theme_folder_exists_and_holds_cases(theme):
    assert (CASES / theme).is_dir(), f"cases/{theme}/ is missing"
    in_theme = [c.name for c in library().cases if theme_of(c) == theme]
    assert in_theme, f"cases/{theme}/ holds no case"


@pytest.mark.parametrize("primitive", covered_primitives())
def test_primitive_appears_in_three_cases(primitive):
    used, _ = primitive_uses()
    assert len(used[primitive]) >= MIN_CASES_PER_PRIMITIVE, (
        f"{primitive} is used by {sorted(used[primitive])}")


@pytest.mark.parametrize("primitive", [n for n in covered_primitives() if get(n).broadcasts])
def test_broadcasting_primitive_is_used_with_broadcasting(primitive):
    _, broadcast = primitive_uses()
    assert broadcast[primitive], (
        f"no case applies {primitive} to arguments of different shapes with a differentiable one broadcast")


def test_comparisons_appear_inside_where():
    used, _ = primitive_uses()
    for comparison in sorted(COMPARISONS & set(names())):
        assert used[comparison], f"no case uses {comparison} in a where() condition"


def test_every_case_has_a_title_and_a_one_line_description():
    for case in library().cases:
        assert case.title.strip(), f"{case.name} has no title"
        assert case.description.strip(), f"{case.name} has no description"
        assert "\n" not in case.description.strip(), f"{case.name}: description is not one line"


def test_teaching_cases_carry_expect_claims():
    # expect: claims a gradient, so it needs a scalar output; a teaching case with a
    # vector output (a Jacobian chain) is taught by the answer key's Jacobians instead
    teaching = [c for c in library().cases if "teaching" in c.tags]
    assert teaching
    for case in teaching:
        if output_size(case) == 1:
            assert case.expect, f"teaching case {case.name} has no expect:"


def test_expect_claims_name_inputs_of_their_case():
    for case in library().cases:
        assert set(case.expect) <= set(case.inputs), case.name


def test_cases_are_tagged_with_their_theme():
    for case in library().cases:
        theme = theme_of(case)
        if theme in THEMES:
            assert theme in case.tags, f"{case.name} in cases/{theme}/ lacks the tag {theme!r}"


def test_a_deep_case_has_at_least_100_steps():
    deep = [c for c in library().cases if theme_of(c) == "deep"]
    assert max(len(c.steps) for c in deep) >= DEEP_STEPS
    for case in deep:
        assert len(case.steps) >= DEEP_STEPS, f"{case.name} has only {len(case.steps)} steps"


def test_float32_cases_exist_and_the_float32_folder_uses_float32():
    assert any("float32" in c.dtypes for c in library().cases)
    for case in library().cases:
        if theme_of(case) == "float32":
            assert "float32" in case.dtypes, f"{case.name} does not run in float32"


def test_kink_cases_say_they_expect_nondiff():
    kinks = [c for c in library().cases if theme_of(c) == "kinks"]
    assert kinks
    for case in kinks:
        assert "nondiff" in case.description, f"{case.name} does not document the expected nondiff"
        assert "kink" in case.tags
