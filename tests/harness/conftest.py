"""Shared fixtures of the harness tests: cases from YAML text, and a primitive swapped for a broken one."""
from __future__ import annotations

import dataclasses
import textwrap

import pytest

from gradcheck_suite import api
from gradcheck_suite.ops import get, registry


@pytest.fixture
def load_case(tmp_path):
    """``load_case(yaml_text)`` → the single Case written in a file under tmp_path."""
    counter = {"n": 0}

    def load(text: str):
        counter["n"] += 1
        path = tmp_path / f"case{counter['n']}.yaml"
        path.write_text(textwrap.dedent(text))
        loaded = api.load([path])
        assert not loaded.errors, [str(e) for e in loaded.errors]
        assert len(loaded.cases) == 1
        return loaded.cases[0]

    return load


@pytest.fixture
def broken():
    """``broken(name, vjp=..., jvp=...)`` swaps a primitive's rules until the test ends."""
    saved = {}

    def swap(name: str, **changes):
        old = get(name)
        saved.setdefault(name, old)
        registry.replace(name, dataclasses.replace(old, **changes))

    yield swap
    for name, old in saved.items():
        registry.replace(name, old)
