"""A team's defaults, once: ``[tool.gradcheck-suite]`` in the project's ``pyproject.toml``.

Read the way pytest, ruff and mypy read theirs: the nearest ``pyproject.toml`` from the
current folder upwards that has the table.  Command-line options override it::

    [tool.gradcheck-suite]
    paths = ["gradcases"]                 # default PATHs of run, list, validate
    dtypes = ["float64", "float32"]
    out = "build/gradcheck"
    formats = ["csv", "junit", "md"]
    threshold = 5000                      # inputs above it are checked by projections
    mode = "auto"
    seed = 0
    jobs = "auto"                         # the default: a worker process per core; or a number
    time_limit = 120                      # seconds per case
    plugins = ["mylib.grad_subjects", "tests/grad_plugin.py"]

    [tool.gradcheck-suite.tolerances]     # replaces default tolerances (see harness/tolerances.py)
    float32 = { fd = { rtol = 5e-3, atol = 5e-5 } }

Relative paths (``paths``, ``out``, plugin files) are relative to the ``pyproject.toml``.
An unknown key or a value of the wrong type is a :class:`ConfigError` naming the file
and the key.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .contract import DTYPES, FORMATS, JOBS_AUTO, MODES, TOLERANCE_KINDS as KINDS
from .errors import GradcheckError, suggest

__all__ = ["Config", "ConfigError", "find_config", "read_config", "TABLE", "KEYS"]

#: the table name in pyproject.toml
TABLE = "gradcheck-suite"
#: every key the table may hold, with what it takes
KEYS = {
    "paths": "a list of case files or folders",
    "dtypes": f"a list drawn from {list(DTYPES)}",
    "out": "a folder for the reports",
    "formats": f"a list drawn from {list(FORMATS)}",
    "threshold": "a whole number ≥ 1",
    "mode": f"one of {list(MODES)}",
    "seed": "a whole number ≥ 0",
    "jobs": f"a whole number ≥ 1 or {JOBS_AUTO!r}",
    "time_limit": "seconds per case (> 0)",
    "plugins": "a list of plugin modules or .py files",
    "tolerances": "a table: dtype → kind (analytic, fd, expect) → {rtol, atol}",
}


class ConfigError(GradcheckError):
    """A ``[tool.gradcheck-suite]`` table that cannot be used."""


@dataclass
class Config:
    """The table's values (None where the table says nothing) and the file it came from."""

    file: str | None = None
    paths: list[str] | None = None
    dtypes: list[str] | None = None
    out: str | None = None
    formats: list[str] | None = None
    threshold: int | None = None
    mode: str | None = None
    seed: int | None = None
    jobs: int | str | None = None
    time_limit: float | None = None
    plugins: list[str] = field(default_factory=list)
    tolerances: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)


def _toml():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


def find_config(start: str | Path | None = None) -> Path | None:
    """The nearest pyproject.toml from ``start`` (default: the current folder) upwards with our table."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                data = _toml().loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError):
                continue  # not ours to judge unless it holds our table; read_config says what is wrong
            if TABLE in data.get("tool", {}):
                return candidate
    return None


def read_config(path: str | Path | None = None) -> Config:
    """The configuration in ``path`` (default: :func:`find_config`); an empty Config when there is none."""
    path = Path(path) if path is not None else find_config()
    if path is None:
        return Config()
    try:
        data = _toml().loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(path)) from None
    except ValueError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(path)) from None
    table = data.get("tool", {}).get(TABLE)
    if table is None:
        return Config(file=str(path))
    if not isinstance(table, dict):
        raise ConfigError(f"[tool.{TABLE}] must be a table", file=str(path))
    return _parse(table, Path(path))


def _parse(table: Mapping[str, Any], path: Path) -> Config:
    base = path.parent
    cfg = Config(file=str(path))

    def bad(key: str, value: Any) -> ConfigError:
        return ConfigError(f"[tool.{TABLE}] {key} = {value!r}: expected {KEYS[key]}", file=str(path), key=key)

    def str_list(key: str, value: Any, choices: tuple[str, ...] | None = None) -> list[str]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise bad(key, value)
        if choices and any(v not in choices for v in value):
            raise bad(key, value)
        return list(value)

    def whole(key: str, value: Any, low: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise bad(key, value)
        return value

    def relative(p: str) -> str:
        return str(base / p) if not Path(p).is_absolute() else p

    for key, value in table.items():
        if key not in KEYS:
            raise ConfigError(f"[tool.{TABLE}] unknown key {key!r}{suggest(key, KEYS)} (known: {', '.join(KEYS)})",
                              file=str(path), key=key)
        if key == "paths":
            cfg.paths = [relative(p) for p in str_list(key, value)]
        elif key == "dtypes":
            cfg.dtypes = str_list(key, value, DTYPES)
        elif key == "formats":
            cfg.formats = str_list(key, value, FORMATS)
        elif key == "plugins":
            cfg.plugins = [relative(p) if p.endswith(".py") else p for p in str_list(key, value)]
        elif key == "out":
            if not isinstance(value, str) or not value:
                raise bad(key, value)
            cfg.out = relative(value)
        elif key == "mode":
            if value not in MODES:
                raise bad(key, value)
            cfg.mode = value
        elif key == "jobs" and value == JOBS_AUTO:
            cfg.jobs = JOBS_AUTO
        elif key in ("threshold", "jobs"):
            setattr(cfg, key, whole(key, value, 1))
        elif key == "seed":
            cfg.seed = whole(key, value, 0)
        elif key == "time_limit":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
                raise bad(key, value)
            cfg.time_limit = float(value)
        elif key == "tolerances":
            cfg.tolerances = _tolerances(value, bad)
    return cfg


def _tolerances(value: Any, bad) -> dict[tuple[str, str], tuple[float, float]]:
    from .harness.tolerances import DEFAULTS

    if not isinstance(value, dict):
        raise bad("tolerances", value)
    out = {}
    for dtype, kinds in value.items():
        if dtype not in DTYPES or not isinstance(kinds, dict):
            raise bad("tolerances", {dtype: kinds})
        for kind, pair in kinds.items():
            if kind not in KINDS or not isinstance(pair, dict) or not set(pair) <= {"rtol", "atol"} or not pair:
                raise bad("tolerances", {dtype: {kind: pair}})
            rtol, atol = DEFAULTS[(dtype, kind)]
            try:
                rtol, atol = float(pair.get("rtol", rtol)), float(pair.get("atol", atol))
            except (TypeError, ValueError):
                raise bad("tolerances", {dtype: {kind: pair}}) from None
            if not (rtol >= 0 and atol >= 0):
                raise bad("tolerances", {dtype: {kind: pair}})
            out[(dtype, kind)] = (rtol, atol)
    return out
