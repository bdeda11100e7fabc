"""Each primitive's symbolic form as text (``gradcheck-suite ops``), kept in a cache between runs.

Writing the forms takes sympy: 0.2-0.45 s to import and ~0.1 s to build and print 138 forms,
more than the rest of the listing together.  The texts depend only on the registrations'
symbolic forms and on sympy, so they are kept in one small JSON file per *fingerprint* — a
hash of every primitive's name, arguments, parameters and the bytecode of its form, and of
the sympy and Python versions — under the user's cache folder (:data:`CACHE_ENV` names
another; an empty value turns the cache off).  A changed registration, a plugin's primitive or
another sympy gives another fingerprint, so a stale text is never shown; a cache that cannot
be read is ignored and one that cannot be written is skipped.  Nothing in the file is
executed: it is read as JSON and only its strings are used.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import types
from pathlib import Path
from typing import Any, Iterable

from ..contract import CACHE_ENV

__all__ = ["symbolic_texts", "symbolic_text", "fingerprint", "cache_folder", "CACHE_ENV"]

#: the layout of the cache file; another value is another fingerprint
_FORMAT = 1
#: cache files kept (the most recently written): one per installation or registry in use, not one per
#: change ever made
KEEP = 8
#: a memory address in a repr (``<object at 0x7f…>``): not part of what a form means
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def symbolic_text(prim) -> str:
    """The primitive's symbolic form written with its argument names, or why it has none (sympy)."""
    if not callable(prim.symbolic):
        return prim.symbolic
    import sympy as sp

    names = [f"{prim.args[0]}{i}" for i in (1, 2)] if prim.variadic else list(prim.args)
    try:
        return str(prim.symbolic(sp, *[sp.Symbol(n, real=True) for n in names], **prim.params))
    except (TypeError, ValueError) as exc:  # pragma: no cover - the registry tests evaluate every form
        return f"declared, not shown ({exc})"


def symbolic_texts(prims: Iterable[Any]) -> dict[str, str]:
    """``{primitive name: symbolic_text(primitive)}``, from the cache when it holds this fingerprint."""
    prims = list(prims)
    if not any(callable(p.symbolic) for p in prims):  # nothing for sympy to write
        return {p.name: p.symbolic for p in prims}
    folder = cache_folder()
    file = folder / f"symbolic-{fingerprint(prims)}.json" if folder is not None else None
    if file is not None:
        texts = _read(file)
        if texts is not None and all(p.name in texts for p in prims):
            return {p.name: texts[p.name] for p in prims}
    texts = {p.name: symbolic_text(p) for p in prims}
    if file is not None:
        _write(file, texts)
    return texts


def cache_folder() -> Path | None:
    """Where the texts are kept: ``$GRADCHECK_SUITE_CACHE`` (empty: nowhere), else the user's cache
    folder (``$XDG_CACHE_HOME`` or ``~/.cache``; ``%LOCALAPPDATA%`` on Windows) / gradcheck-suite."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return Path(chosen) if chosen.strip() else None
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"])
    elif os.environ.get("XDG_CACHE_HOME"):
        base = Path(os.environ["XDG_CACHE_HOME"])
    else:
        try:
            base = Path.home() / ".cache"
        except RuntimeError:  # no home folder to be found (a service account): no cache
            return None
    return base / "gradcheck-suite"


def fingerprint(prims: Iterable[Any]) -> str:
    """A hash of everything the texts of ``prims`` depend on (sympy's version read from its metadata:
    importing sympy is what the cache saves)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        sympy_version = version("sympy")
    except PackageNotFoundError:  # pragma: no cover - sympy is a dependency
        sympy_version = "?"
    h = hashlib.sha256(repr((_FORMAT, sys.version_info[:2], sympy_version)).encode())
    for p in prims:
        h.update(_ADDRESS.sub("", repr((p.name, tuple(p.args), bool(p.variadic),
                                        sorted(p.params.items(), key=str)))).encode())
        h.update(_form_bytes(p.symbolic))
    return h.hexdigest()[:24]


def _form_bytes(form: Any) -> bytes:
    """The symbolic form's identity: a reason's text, or a function's code, constants, names and defaults."""
    if not callable(form):
        return b"text:" + str(form).encode()
    code = getattr(form, "__code__", None)
    if code is None:  # a callable object: its type's qualified name and its state
        return _ADDRESS.sub("", repr((type(form).__qualname__, getattr(form, "__dict__", None)))).encode()
    return b"code:" + _code_bytes(code) + _ADDRESS.sub("", repr((form.__defaults__, form.__kwdefaults__))).encode()


def _code_bytes(code: types.CodeType) -> bytes:
    parts = [code.co_code, repr(code.co_names).encode(), repr(code.co_varnames).encode()]
    for const in code.co_consts:
        parts.append(_code_bytes(const) if isinstance(const, types.CodeType) else repr(const).encode())
    return b"\0".join(parts)


def _read(file: Path) -> dict[str, str] | None:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    texts = data.get("texts") if isinstance(data, dict) else None
    if not isinstance(texts, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in texts.items()):
        return None
    return texts


def _write(file: Path, texts: dict[str, str]) -> None:
    """Write the cache file whole or not at all (a reader never sees half a file), then prune the folder."""
    from ..report.atomic import write_atomic

    try:
        write_atomic(file, json.dumps({"texts": texts}, ensure_ascii=False, sort_keys=True))
        _prune(file.parent)
    except OSError:  # a read-only home, a full disk: the listing is still right, only slower next time
        pass


def _prune(folder: Path) -> None:
    """Remove all but the :data:`KEEP` most recently written cache files."""
    def written(f: Path) -> float:
        try:
            return f.stat().st_mtime
        except OSError:
            return 0.0

    for old in sorted(folder.glob("symbolic-*.json"), key=written, reverse=True)[KEEP:]:
        old.unlink(missing_ok=True)
