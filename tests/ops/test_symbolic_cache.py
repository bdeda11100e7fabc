"""``gradcheck-suite ops`` keeps the symbolic texts between runs: the same listing, without sympy.

The cache is an optimisation only: every test here holds the listing to the one written
with sympy from the registrations, whatever state the cache folder is in.
"""
from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import types

import pytest

from gradcheck_suite import cli
from gradcheck_suite.contract import CACHE_ENV
from gradcheck_suite.ops import all_primitives
from gradcheck_suite.ops.symbolic_text import cache_folder, fingerprint, symbolic_text, symbolic_texts

PRIMITIVES = all_primitives()


def _listing() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["ops"]) == 0
    return out.getvalue()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


def test_the_cached_texts_are_the_texts_sympy_writes(cache):
    cold = symbolic_texts(PRIMITIVES)
    assert cold == {p.name: symbolic_text(p) for p in PRIMITIVES}
    (file,) = cache.glob("symbolic-*.json")
    assert file.name == f"symbolic-{fingerprint(PRIMITIVES)}.json"
    assert symbolic_texts(PRIMITIVES) == cold


def test_a_warm_listing_is_the_same_and_never_imports_sympy(cache):
    # both in fresh processes: the listing names torch counterparts as a process without torch does
    code = ("import sys; from gradcheck_suite.cli import main\n"
            "code = main(['ops'])\n"
            "sys.stderr.write('sympy' if 'sympy' in sys.modules else 'no sympy')\n"
            "raise SystemExit(code)")
    cold, warm = (subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                  for _ in range(2))
    assert cold.stderr.endswith("sympy") and not cold.stderr.endswith("no sympy")  # sympy wrote the texts
    assert list(cache.glob("symbolic-*.json"))
    assert warm.stdout == cold.stdout and "primitive(s)" in warm.stdout
    assert warm.stderr.endswith("no sympy")


def test_a_damaged_cache_file_is_written_again(cache):
    cold = _listing()
    (file,) = cache.glob("symbolic-*.json")
    for damage in ("{not json", json.dumps({"texts": {"exp": 3}}), json.dumps(["texts"]),
                   json.dumps({"texts": {"exp": "only one primitive"}})):
        file.write_text(damage, encoding="utf-8")
        assert _listing() == cold
        assert json.loads(file.read_text(encoding="utf-8"))["texts"] == symbolic_texts(PRIMITIVES)


def test_a_cache_folder_that_cannot_be_written_leaves_the_listing_right(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "cache"))
    assert symbolic_texts(PRIMITIVES) == {p.name: symbolic_text(p) for p in PRIMITIVES}


def test_an_empty_setting_turns_the_cache_off(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_folder() is None
    symbolic_texts(PRIMITIVES)
    assert not list(tmp_path.rglob("symbolic-*.json"))


def test_without_a_setting_the_users_cache_folder_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_folder() == tmp_path / "gradcheck-suite"


def _prim(name="p", symbolic=lambda sp, x, **_: sp.exp(x), args=("x",), params=None):
    return types.SimpleNamespace(name=name, symbolic=symbolic, args=args, variadic=False, params=params or {})


def test_any_change_to_a_form_gives_another_fingerprint():
    base = fingerprint([_prim()])
    assert fingerprint([_prim()]) == base  # the same registration, the same file
    changed = [_prim(symbolic=lambda sp, x, **_: sp.exp(2 * x)),  # another expression
               _prim(symbolic=lambda sp, x, **_: sp.sin(x)),  # another function
               _prim(symbolic=lambda sp, x, k=2, **_: sp.exp(k * x)),  # a default
               _prim(symbolic="no closed form"),  # a reason instead of a form
               _prim(args=("y",)), _prim(name="q"), _prim(params={"axis": 0})]
    prints = {fingerprint([p]) for p in changed}
    assert base not in prints and len(prints) == len(changed)
    assert fingerprint([_prim(), _prim(name="q")]) != base  # a plugin's primitive added


def test_a_stale_file_of_another_fingerprint_is_not_read(cache):
    cache.mkdir(parents=True)
    (cache / "symbolic-000000000000000000000000.json").write_text(
        json.dumps({"texts": {p.name: "stale" for p in PRIMITIVES}}), encoding="utf-8")
    assert "stale" not in symbolic_texts(PRIMITIVES).values()


def test_the_folder_keeps_only_the_latest_files(cache):
    import os

    from gradcheck_suite.ops.symbolic_text import KEEP

    cache.mkdir(parents=True)
    for i in range(KEEP + 3):  # files other registries or installations wrote, oldest first
        old = cache / f"symbolic-{i:024d}.json"
        old.write_text(json.dumps({"texts": {}}), encoding="utf-8")
        os.utime(old, (1_000_000 + i, 1_000_000 + i))
    symbolic_texts(PRIMITIVES)
    kept = sorted(f.name for f in cache.glob("symbolic-*.json"))
    assert len(kept) == KEEP and f"symbolic-{fingerprint(PRIMITIVES)}.json" in kept
    assert "symbolic-000000000000000000000000.json" not in kept  # the oldest went first


def test_a_memory_address_in_a_parameter_is_not_part_of_the_fingerprint():
    class Opaque:  # a plugin's parameter whose repr shows where it lives
        pass

    assert fingerprint([_prim(params={"f": Opaque()})]) == fingerprint([_prim(params={"f": Opaque()})])


def test_without_a_home_folder_there_is_no_cache_and_the_texts_are_still_written(monkeypatch):
    from pathlib import Path

    def nowhere():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(nowhere))
    assert cache_folder() is None
    assert symbolic_texts(PRIMITIVES) == {p.name: symbolic_text(p) for p in PRIMITIVES}
