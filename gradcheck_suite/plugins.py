"""Loading the user's plugin modules — only the ones the user names.

A plugin is a Python module that declares subjects (:mod:`gradcheck_suite.subjects`)
and/or new primitives (:mod:`gradcheck_suite.extend`).  It is code, so it runs only
when named:

* ``--plugin MODULE_OR_FILE`` on the command line (repeatable), ``--gradcheck-plugin``
  in pytest;
* ``plugins = ["my_project.gradients", "tests/grad_plugin.py"]`` under
  ``[tool.gradcheck-suite]`` in the project's ``pyproject.toml``;
* an installed package's entry point in the group :data:`ENTRY_POINT_GROUP`.

A spec ending in ``.py`` (or naming a path) is loaded from that file, with its folder
and the current folder (the project) importable; any other spec is imported as a
module, with the current folder on ``sys.path`` as ``python -m`` would have it.  Loading is idempotent (the CLI, its worker processes and
the pytest plugin all call :func:`load_plugins` with the same specs) and a plugin that
cannot be loaded is a :class:`PluginError` naming it, never a traceback.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Iterable

from .errors import GradcheckError

__all__ = ["ENTRY_POINT_GROUP", "PluginError", "load_plugins", "entry_point_specs", "loaded"]

#: the entry point group an installed package uses to offer a plugin
ENTRY_POINT_GROUP = "gradcheck_suite.plugins"

_LOADED: dict[str, str] = {}  # spec → module name


class PluginError(GradcheckError):
    """A plugin module that could not be loaded."""


def _is_file(spec: str) -> bool:
    return spec.endswith(".py") or os.sep in spec or "/" in spec


def _module_name(path: Path) -> str:
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    return f"gradcheck_plugin_{path.stem}_{digest}"


def _load_file(spec: str) -> str:
    path = Path(spec).expanduser().resolve()
    if not path.is_file():
        raise PluginError(f"plugin {spec!r}: no such file", file=spec)
    name = _module_name(path)
    if name in sys.modules:
        return name
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise PluginError(f"plugin {spec!r}: not a Python file", file=spec)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    for folder in (os.getcwd(), str(path.parent)):  # its neighbours, and the project it runs in
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return name


def _load_module(spec: str) -> str:
    try:
        importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        cwd = os.getcwd()
        if exc.name != spec.split(".")[0] or cwd in sys.path or "" in sys.path:
            raise
        sys.path.insert(0, cwd)  # as `python -m` would: the user's project folder
        importlib.import_module(spec)
    return spec


def load_plugins(specs: Iterable[str], *, entry_points: bool = True) -> list[str]:
    """Load each named plugin (and, with ``entry_points``, the installed ones); returns the module names."""
    wanted = list(dict.fromkeys(str(s) for s in specs))
    if entry_points:
        wanted += [s for s in entry_point_specs() if s not in wanted]
    names = []
    for spec in wanted:
        if spec in _LOADED:
            names.append(_LOADED[spec])
            continue
        try:
            name = _load_file(spec) if _is_file(spec) else _load_module(spec)
        except PluginError:
            raise
        except BaseException as exc:  # a plugin is the user's code: say which and what, no traceback
            if isinstance(exc, KeyboardInterrupt):
                raise
            text = str(exc).splitlines()[0] if str(exc) else ""
            raise PluginError(f"plugin {spec!r} could not be loaded: {type(exc).__name__}: {text}",
                              file=spec if _is_file(spec) else None) from exc
        _LOADED[spec] = name
        names.append(name)
    return names


def entry_point_specs() -> list[str]:
    """The modules installed packages offer in :data:`ENTRY_POINT_GROUP` (``module`` or ``module:attr``)."""
    from importlib.metadata import entry_points

    return sorted({ep.value.split(":")[0].strip() for ep in entry_points(group=ENTRY_POINT_GROUP)})


def loaded() -> dict[str, str]:
    """spec → module name of every plugin loaded so far."""
    return dict(_LOADED)
