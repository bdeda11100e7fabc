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
* a case file that cannot be read (or a case of it) → one *error* item
  (``file[load]`` / ``case[load]``) with the located message; the other items still
  run, serially as under xdist or ``--lf``.

``--gradcheck-shard K/N`` keeps the cases of shard K (1-based) of N, by a stable hash
of the case name, so a CI matrix of N jobs covers the library exactly once; a load
error belongs to the shard of its file's path (one job reports it, not N).  A shard
that holds none of the cases of a library is not an error: the session exits 0, not 5.

``gradcheck_paths`` in the ini file is collected beside ``testpaths``.  Each item is
given the CLI's per-case time limit (``--gradcheck-time-limit``, default the harness's
``DEFAULT_TIME_LIMIT``).  With ``--junitxml``, each gradcheck testcase gets a ``file``
attribute and a ``classname`` Jenkins splits into folder and file (``cases.nn.layer``
for ``cases/nn/layer.yaml``), whatever ``junit_family``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from .contract import MODES

__all__ = ["GradcheckFile", "GradcheckItem", "GradcheckErrorItem", "FILE_PROPERTY"]

_SUFFIXES = (".yaml", ".yml")
_NOTES = pytest.StashKey[list]()
#: the user property carrying a gradcheck item's case file into the JUnit post-processing
FILE_PROPERTY = "gradcheck_file"


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
    group.addoption("--gradcheck-time-limit", type=float, default=None, metavar="SECONDS",
                    help="give up on an item after SECONDS, like the CLI's --time-limit (an error); "
                         "default: the CLI's default limit per case")
    parser.addini("gradcheck_paths", "case-file paths collected by gradcheck-suite", type="paths", default=[])
    parser.addini("gradcheck_plugins", "gradcheck-suite plugin modules or files loaded before collecting",
                  type="args", default=[])
    parser.addini("gradcheck_time_limit", "seconds an item may take (default: the CLI's limit per case)",
                  default="")


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
    config._gradcheck_time_limit = _time_limit(config)  # type: ignore[attr-defined]
    source = getattr(config, "args_source", None)
    chosen = source == pytest.Config.ArgsSource.ARGS
    if not config.getoption("gradcheck"):
        # ini `gradcheck_paths` are collected beside `testpaths` (or the invocation folder),
        # not instead of them; paths named on the command line are the user's choice.
        if not chosen:
            given = [Path(a).resolve() for a in config.args]
            config.args.extend(str(p) for p in config.getini("gradcheck_paths") if not _under_roots(Path(p), given))
        return
    # `pytest --gradcheck cases/` with no test paths of its own collects the cases only;
    # explicit positional paths are collected as well.
    given = [str(Path(p)) for p in config.getoption("gradcheck")]
    if source is not None and not chosen:
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


def _time_limit(config: pytest.Config) -> float | None:
    limit = config.getoption("gradcheck_time_limit")
    if limit is None and str(config.getini("gradcheck_time_limit")).strip():
        try:
            limit = float(config.getini("gradcheck_time_limit"))
        except ValueError:
            raise pytest.UsageError("gradcheck_time_limit: a number of seconds") from None
    if limit is not None and not limit > 0:
        raise pytest.UsageError(f"--gradcheck-time-limit: {limit:g} must be positive")
    return limit


def _under_roots(path: Path, roots: list[Path]) -> bool:
    path = path.resolve()
    return any(path == r or r in path.parents for r in roots)


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    roots = getattr(parent.config, "_gradcheck_roots", [])
    if roots and file_path.suffix in _SUFFIXES and _under_roots(file_path, roots):
        return GradcheckFile.from_parent(parent, path=file_path)
    return None


class GradcheckFile(pytest.File):
    """One case file: yields an item per case × dtype, and an error item per load error.

    A file that cannot be read at all is one error item (``file[load]``), never a
    collection error: pytest stops a serial session at a collection error.
    """

    def collect(self):
        from .loader import load_file

        # named from the invocation folder, as the CLI names it: cases/x.yaml:3:6: …
        try:
            here = os.path.relpath(self.path)
        except ValueError:  # another drive (Windows)
            here = ".."
        cases, errors = load_file(self.path if here.startswith("..") else here)
        seen: dict[str, int] = {}
        for err in errors:
            name = f"{err.case or 'file'}[load]"
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{err.case or 'file'}[load {seen[name]}]"
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
        self.user_properties.append((FILE_PROPERTY, _relative(self.config, self.path)))
        for tag in case.tags:
            self.extra_keyword_matches.add(str(tag))

    def setup(self) -> None:
        from .api import run

        config = self.config
        # api.run, like the CLI: the default per-case limit (an in-process alarm), or the
        # given one (the case runs in a worker process that is terminated on time-out, and
        # loads the same plugins)
        from .plugins import loaded

        self.result = run([self.case], dtypes=[self.dtype], seed=config.getoption("gradcheck_seed"),
                          mode=config.getoption("gradcheck_mode"),
                          time_limit=getattr(config, "_gradcheck_time_limit", None),
                          plugins=list(loaded()), tolerances=getattr(config, "_gradcheck_tolerances", None))
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
        self.user_properties.append((FILE_PROPERTY, _relative(self.config, self.path)))

    def setup(self) -> None:
        pytest.fail(str(self.error), pytrace=False)

    def runtest(self) -> None:  # pragma: no cover - setup always fails
        pytest.fail(str(self.error), pytrace=False)

    def reportinfo(self):
        return self.path, max(0, (getattr(self.error, "line", None) or 1) - 1), f"gradcheck: {self.name}"


def _relative(config: pytest.Config, path: Path) -> str:
    """The path as the CLI names it when run from the root folder (``cases/x.yaml``)."""
    try:
        return Path(path).resolve().relative_to(config.rootpath.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    shard = getattr(config, "_gradcheck_shard", None)
    if not shard:
        return
    from .shard import error_in_shard, in_shard

    k, n = shard
    keep, drop = [], []
    for item in items:
        if isinstance(item, GradcheckItem):
            mine = in_shard(item.case.name, k, n)
        elif isinstance(item, GradcheckErrorItem):
            mine = error_in_shard(_relative(config, item.path), k, n)
        else:
            mine = True
        (keep if mine else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _holds_cases(config: pytest.Config) -> bool:
    roots = getattr(config, "_gradcheck_roots", [])
    return any(r.is_file() or any(p.suffix in _SUFFIXES for p in r.rglob("*.y*ml")) for r in roots if r.exists())


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    config = session.config
    shard = getattr(config, "_gradcheck_shard", None)
    if shard and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and _holds_cases(config):
        # a CI matrix with more jobs than cases: this job's shard is empty, which is fine
        session.exitstatus = pytest.ExitCode.OK
        config._gradcheck_empty_shard = True  # type: ignore[attr-defined]
    xmlpath = config.getoption("xmlpath", None)
    if xmlpath and not hasattr(config, "workerinput"):
        _fix_junit(Path(os.path.expandvars(os.path.expanduser(xmlpath))).resolve())


def _fix_junit(path: Path) -> None:
    """Give pytest's gradcheck testcases a ``file`` attribute and a Jenkins-friendly classname.

    pytest writes ``classname="cases.x.yaml"`` (Jenkins splits it at the last dot: class
    "yaml") and, under the default ``junit_family=xunit2``, drops ``file``.  The items
    carry their file as the user property :data:`FILE_PROPERTY`; this rewrites the file
    pytest has just written.
    """
    import xml.etree.ElementTree as ET

    from .report.junit import classname_of

    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError):
        return
    changed = False
    for case in tree.getroot().iter("testcase"):
        prop = case.find(f"properties/property[@name='{FILE_PROPERTY}']")
        if prop is not None:
            case.set("file", prop.get("value", ""))
            case.set("classname", classname_of(prop.get("value", "")))
            changed = True
    if changed:
        tree.write(path, encoding="utf-8", xml_declaration=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if getattr(config, "_gradcheck_empty_shard", False):
        k, n = config._gradcheck_shard
        terminalreporter.write_line(f"gradcheck: shard {k}/{n} holds none of the cases (not an error)")
    notes = config.stash.get(_NOTES, [])
    if notes:
        terminalreporter.section("gradcheck: passed with nondiff rows")
        for nodeid, note in notes:
            terminalreporter.write_line(f"{nodeid}: {note.splitlines()[0]}")
