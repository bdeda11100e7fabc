"""Fixtures of the answer-key tests: the seed cases, loaded through the loader."""
from __future__ import annotations

from pathlib import Path

import pytest

from gradcheck_suite.explain.build import explain_case
from gradcheck_suite.loader import load_paths, load_text

SEED = Path(__file__).resolve().parents[2] / "cases" / "seed"


@pytest.fixture(scope="session")
def seed_cases():
    result = load_paths([str(SEED)])
    assert not result.errors, result.errors
    return {c.name: c for c in result.cases}


@pytest.fixture(scope="session")
def explained(seed_cases):
    """name → Explanation of each seed case (without the harness: that is tested on its own)."""
    return {n: explain_case(c, harness=False) for n, c in seed_cases.items()}


def case_from_yaml(text: str):
    cases, errors = load_text(text, file="<test>")
    assert not errors, errors
    return cases[0]
