"""pytest plugin: ``pytest --gradcheck PATH`` collects case files as test items.

Inactive until asked: without ``--gradcheck`` (or the ini option ``gradcheck_paths``)
it collects nothing.  It follows pytest's own pattern for non-Python tests: a
``pytest.File`` per case file yields one ``pytest.Item`` per case × dtype, with ids
``case[dtype]``.  Items are plain pytest items, so ``-k``, ``-x``, ``--lf``,
``--junitxml`` and ``-n`` (pytest-xdist) work as usual.

* a case whose checks fail → a failed item whose report is the compact table of
  :func:`gradcheck_suite.gate.failure_table`;
* a case that cannot be evaluated → an *error* (raised in setup) with the located message;
* a case whose only non-pass rows are ``nondiff`` → passes, with a note in its report
  sections, its JUnit properties and the terminal summary;
* a case file that cannot be read → a collection error with the located message.

``--gradcheck-shard K/N`` keeps the cases of shard K (1-based) of N, by a stable hash
of the case name, so a CI matrix of N jobs covers the library exactly once.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .contract import MODES

__all__ = ["GradcheckFile", "GradcheckItem"]

_SUFFIXES = (".yaml", ".yml")
_NOTES = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradcheck", "gradcheck-suite case files")
    group.addoption("--gradcheck", action="append", default=[], metavar="PATH",
                    help="collect gradcheck-suite case files under PATH as tests (repeatable)")
    group.addoption("--gradcheck-shard", default=None, metavar="K/N",
                    help="only the cases of shard K of N (stable split by case name)")
    group.addoption("--gradcheck-dtype", action="append", default=[], metavar="DTYPE",
                    help="check every case in this dtype instead of the case's own dtypes (repeatable)")
    group.addoption("--gradcheck-seed", type=int, default=0, metavar="SEED",
                    help="seed for generated inputs and projections (default 0)")
    group.addoption("--gradcheck-mode", default=None, choices=list(MODES),
                    help="full Jacobians or random projections for large inputs")
    group.addoption("--gradcheck-plugin", action="append", default=[], metavar="MODULE_OR_FILE",
                    help="load a gradcheck-suite plugin (subjects, primitives) before collecting (repeatable)")
    parser.addini("gradcheck_paths", "case-file paths collected by gradcheck-suite", type="paths", default=[])
    parser.addini("gradcheck_plugins", "gradcheck-suite plugin modules or files loaded before collecting",
                  type="args", default=[])


def _roots(config: pytest.Config) -> list[Path]:
    given = [Path(p).resolve() for p in config.getoption("gradcheck")]
    ini = [Path(p).resolve() for p in config.getini("gradcheck_paths")]
    return given + ini


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    from .shard import parse_shard

    try:
        return parse_shard(text)
    except ValueError as exc:
        raise pytest.UsageError(f"--gradcheck-shard: {exc}") from None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gradcheck: a gradcheck-suite case (collected by --gradcheck)")
    roots = _roots(config)
    config._gradcheck_roots = roots  # type: ignore[attr-defined]
    config._gradcheck_shard = _parse_shard(config.getoption("gradcheck_shard"))  # type: ignore[attr-defined]
    config._gradcheck_tolerances = _load_team_settings(config) if roots else None  # type: ignore[attr-defined]
    if not config.getoption("gradcheck"):
        return
    # `pytest --gradcheck cases/` with no test paths of its own collects the cases only;
    # explicit positional paths are collected as well.
    given = [str(Path(p)) for p in config.getoption("gradcheck")]
    source = getattr(config, "args_source", None)
    if source is not None and source != pytest.Config.ArgsSource.ARGS:
        config.args[:] = given
    else:
        config.args.extend(p for p in given if p not in config.args)


def _load_team_settings(config: pytest.Config):
    """Load the plugins the CLI would load ([tool.gradcheck-suite] plugins, entry points) plus
    ``--gradcheck-plugin`` and the ini's ``gradcheck_plugins``; return the team's tolerances."""
    from .config import read_config
    from .errors import GradcheckError
    from .plugins import load_plugins

    try:
        team = read_config()
        load_plugins(list(team.plugins) + list(config.getini("gradcheck_plugins"))
                     + list(config.getoption("gradcheck_plugin")))
    except GradcheckError as exc:
        raise pytest.UsageError(f"gradcheck-suite: {exc}") from None
    return team.tolerances or None


def _under_roots(path: Path, roots: list[Path]) -> bool:
    path = path.resolve()
    return any(path == r or r in path.parents for r in roots)


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    roots = getattr(parent.config, "_gradcheck_roots", [])
    if roots and file_path.suffix in _SUFFIXES and _under_roots(file_path, roots):
        return GradcheckFile.from_parent(parent, path=file_path)
    return None


class GradcheckFile(pytest.File):
    """One case file: yields an item per case × dtype, or an error item per broken case."""

    def collect(self):
        from .loader import load_file

        cases, errors = load_file(self.path)
        if errors and not cases and all(e.case is None for e in errors):
            raise self.CollectError("\n".join(str(e) for e in errors))
        for err in errors:
            name = f"{err.case or 'file'}[load]"
            yield GradcheckErrorItem.from_parent(self, name=name, nodeid=self._child_id(name), error=err)
        forced = _dtypes(self.config)
        for case in cases:
            for dtype in forced or case.dtypes:
                name = f"{case.name}[{dtype}]"
                yield GradcheckItem.from_parent(self, name=name, nodeid=self._child_id(name), case=case, dtype=dtype)

    def _child_id(self, name: str) -> str:
        # Given as a string so pytest parses "case[dtype]" the way it parses the ids it
        # stores for --lf (pytest 9 keeps the bracket as structured params).
        return f"{self.nodeid}::{name}"


def _dtypes(config: pytest.Config) -> list[str]:
    out: list[str] = []
    for item in config.getoption("gradcheck_dtype"):
        out.extend(d.strip() for d in item.split(",") if d.strip())
    return out


class GradcheckItem(pytest.Item):
    """One case in one dtype."""

    def __init__(self, *, case: Any, dtype: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.case = case
        self.dtype = dtype
        self.result = None
        self.add_marker(pytest.mark.gradcheck)
        for tag in case.tags:
            self.extra_keyword_matches.add(str(tag))

    def setup(self) -> None:
        from .api import check_case

        config = self.config
        self.result = check_case(self.case, dtypes=[self.dtype], seed=config.getoption("gradcheck_seed"),
                                 mode=config.getoption("gradcheck_mode"),
                                 tolerances=getattr(config, "_gradcheck_tolerances", None))
        table = self.result.table
        errors = table[table["status"] == "error"]
        if len(errors):
            # pytest.fail without a Python traceback; raised in setup, so reported as an error
            pytest.fail(f"{self.name} could not be evaluated:\n" + "\n".join(str(m) for m in errors["message"]),
                        pytrace=False)

    def runtest(self) -> None:
        from .gate import GradcheckFailure, failure_table, nondiff_note

        table = self.result.table
        for status, count in table["status"].value_counts().items():
            self.user_properties.append((f"gradcheck_{status}", int(count)))
        note = nondiff_note(table)
        if note:
            self.add_report_section("call", "gradcheck nondiff", note)
            self.user_properties.append(("gradcheck_note", note))
            self.config.stash.setdefault(_NOTES, []).append((self.nodeid, note))
        if (table["status"] == "fail").any():
            raise GradcheckFailure(failure_table(table, getattr(self.result, "arrays", None)))

    def repr_failure(self, excinfo, style=None):
        from .errors import GradcheckError
        from .gate import GradcheckFailure

        if isinstance(excinfo.value, GradcheckFailure):
            return f"gradient checks failed for {self.name} ({self.path.name}):\n{excinfo.value}"
        if isinstance(excinfo.value, GradcheckError):
            return f"{self.name} could not be evaluated:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, max(0, getattr(self.case, "line", 1) - 1), f"gradcheck: {self.name}"


class GradcheckErrorItem(pytest.Item):
    """A case of a file that could not be loaded: an error with the located message."""

    def __init__(self, *, error: Exception, **kw: Any) -> None:
        super().__init__(**kw)
        self.error = error

    def setup(self) -> None:
        pytest.fail(str(self.error), pytrace=False)

    def runtest(self) -> None:  # pragma: no cover - setup always fails
        pytest.fail(str(self.error), pytrace=False)

    def reportinfo(self):
        return self.path, max(0, (getattr(self.error, "line", None) or 1) - 1), f"gradcheck: {self.name}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    shard = getattr(config, "_gradcheck_shard", None)
    if not shard:
        return
    from .shard import in_shard

    k, n = shard
    keep, drop = [], []
    for item in items:
        case = getattr(item, "case", None)
        (drop if case is not None and not in_shard(case.name, k, n) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    notes = config.stash.get(_NOTES, [])
    if notes:
        terminalreporter.section("gradcheck: passed with nondiff rows")
        for nodeid, note in notes:
            terminalreporter.write_line(f"{nodeid}: {note.splitlines()[0]}")
