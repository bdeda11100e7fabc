"""Case files (YAML) → checked :class:`~gradcheck_suite.case.Case` objects.

The YAML is *composed* (a node tree with line and column marks) by PyYAML's safe
loader and then turned into values here, tag by tag, from a short whitelist: no
constructor that could build an object or run anything is ever called.  Every problem
becomes a :class:`~gradcheck_suite.errors.CaseError` located at the file, line and
column of the key or value at fault; one bad case or file never stops the others.

The hand-written checks give the friendly messages; they are the only checks that run
(once, not twice): the JSON Schema shipped in ``gradcheck_suite/schema/case.schema.json``
is for editors, and the tests hold it to the loader — every case the loader accepts
satisfies the schema, and the refusals agree (``tests/test_loader.py``).
After the checks every node of each case's graph is
bounded from its static shapes (the element and cost limits, :mod:`gradcheck_suite.budget`),
and the graph is evaluated once in float64 so that shape mismatches are reported at load
time, all within the load time limit; a claim of ``expect`` extends the case's graph, and only
its own nodes are bounded and evaluated again (from the values of the steps it reads).  Finding and reading the files (the folder walk, the
size limit, links and FIFOs) is :mod:`gradcheck_suite.files`.
"""
from __future__ import annotations

import hashlib
import json
import keyword
import math
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import yaml

from . import engine
from .budget import DEFAULT_COST_LIMIT, OutOfTime, check_graph, deadline, shapes_and_params, warm_up
from .case import MAX_DIMENSIONS, Case, ValueSpec
from .contract import DTYPES, MODES, ORDERS
from .errors import CaseError, GradcheckError, LimitError, SkippedPath, suggest
from .expr import CONTROL_CHARACTERS, DEFAULT_LIMITS, Limits, Origin, parse_expression
from .files import DEFAULT_MAX_FILE_SIZE, case_files, read_text
from .graph import Graph
from .untrusted import excerpt, path_text

__all__ = [
    "LoadResult",
    "load_file",
    "load_paths",
    "load_text",
    "case_schema",
    "stable_seed",
    "CASE_KEYS",
    "GENERATOR_KEYS",
    "TOLERANCE_KEYS",
    "MODES",
    "DEFAULT_ELEMENT_LIMIT",
    "DEFAULT_MAX_FILE_SIZE",
    "DEFAULT_LOAD_TIME_LIMIT",
    "MAX_DIMENSIONS",
    "EXPR_STEPS",
    "read_yaml",
]

#: the keys of a case, in the order the documentation lists them
CASE_KEYS = ("name", "title", "description", "tags", "inputs", "constants", "steps", "output",
             "expr", "expect", "dtypes", "tolerance", "mode", "order")
GENERATOR_KEYS = ("shape", "init", "mean", "std", "low", "high", "seed")
TOLERANCE_KEYS = ("rtol", "atol")
INITS = ("normal", "uniform")
#: the most elements one array may have: an input, a constant or any intermediate value
#: (checked from the shapes, before anything is allocated)
DEFAULT_ELEMENT_LIMIT = 10**7
#: seconds one case may take to load (parse, shapes, the float64 forward pass)
DEFAULT_LOAD_TIME_LIMIT = 600.0
#: the step name of the ``expr:`` shorthand: the first of these that is not an input or constant
EXPR_STEPS = ("y", "out", "result")

_CASE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML12_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)$")
_YAML = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_YAML + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_STR = _YAML + "str"


@dataclass
class LoadResult:
    """Everything loaded from some paths: good cases, errors, and the files read."""

    cases: list[Case] = field(default_factory=list)
    errors: list[CaseError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    #: what a folder walk left out, and why (links leaving the folder, FIFOs, loops)
    skipped: list[SkippedPath] = field(default_factory=list)


def stable_seed(case: str, name: str) -> int:
    """The seed of a generated value without ``seed:``: a SHA-256 of ``case/name`` (never hash())."""
    return int.from_bytes(hashlib.sha256(f"{case}/{name}".encode("utf-8")).digest()[:8], "big")


@lru_cache(maxsize=1)
def case_schema() -> dict:
    """The JSON Schema of a case file (draft 2020-12)."""
    text = resources.files("gradcheck_suite").joinpath("schema/case.schema.json").read_text("utf-8")
    return json.loads(text)


# ---- public entry points ------------------------------------------------------------


def load_paths(paths: Iterable[str | Path], *, element_limit: int = DEFAULT_ELEMENT_LIMIT,
               limits: Limits = DEFAULT_LIMITS, max_file_size: int = DEFAULT_MAX_FILE_SIZE,
               cost_limit: int = DEFAULT_COST_LIMIT, time_limit: float | None = DEFAULT_LOAD_TIME_LIMIT,
               follow_symlinks: bool = False) -> LoadResult:
    """Load every case file under ``paths`` (directories are walked for *.yaml/*.yml, sorted).

    Case names must be unique across everything loaded together: a later duplicate is
    an error naming both places and is left out of ``cases``.  A folder that cannot be
    read is an error; a symbolic link that leaves the folder being walked (unless
    ``follow_symlinks``), a FIFO or device, and a folder met twice (a link loop) are
    left out and listed in ``skipped``.  ``time_limit`` bounds the loading of each case.
    """
    result = LoadResult()
    first_seen: dict[str, Case] = {}
    read: set[Path] = set()
    for path in paths:
        files, errors, skipped = case_files(Path(path), follow_symlinks=follow_symlinks)
        result.errors.extend(errors)
        result.skipped.extend(skipped)
        for file, shown in files:
            real = Path(os.path.realpath(file))
            if real in read:  # named twice (a folder and a file in it): read once
                continue
            read.add(real)
            result.files.append(shown)
            cases, errors = load_file(file, element_limit=element_limit, limits=limits, shown=shown,
                                      max_file_size=max_file_size, cost_limit=cost_limit, time_limit=time_limit)
            result.errors.extend(errors)
            for case in cases:
                other = first_seen.get(case.name)
                if other is not None:
                    result.errors.append(CaseError(
                        f"duplicate case name {case.name!r}: already defined at {other.file}:{other.line}",
                        file=case.file, line=case.line, case=case.name, key="name"))
                    continue
                first_seen[case.name] = case
                result.cases.append(case)
    return result


def load_file(path: str | Path, *, element_limit: int = DEFAULT_ELEMENT_LIMIT,
              limits: Limits = DEFAULT_LIMITS, shown: str | None = None,
              max_file_size: int = DEFAULT_MAX_FILE_SIZE, cost_limit: int = DEFAULT_COST_LIMIT,
              time_limit: float | None = DEFAULT_LOAD_TIME_LIMIT) -> tuple[list[Case], list[CaseError]]:
    """The cases of one file and the errors found in it (a bad case does not stop the others).

    ``shown`` is how messages name the file (by default the path, with bytes that are
    not UTF-8 and control characters spelt out).
    """
    file = shown if shown is not None else path_text(path)
    try:
        text = read_text(path, file, max_file_size)
    except CaseError as exc:
        return [], [exc]
    return load_text(text, file, element_limit=element_limit, limits=limits, cost_limit=cost_limit,
                     time_limit=time_limit)


def read_yaml(path: str | Path, *, max_file_size: int = DEFAULT_MAX_FILE_SIZE, what: str = "file"
              ) -> tuple[Any, yaml.Node]:
    """Any YAML file read by the case files' guarded reader: (plain value, node tree).

    The size limit, UTF-8, the tag whitelist, no aliases of lists or mappings (no
    "billion laughs") and no duplicate keys, exactly as for a case file; every problem
    is a located :class:`CaseError`.  Used for the answers file of ``grade``.
    """
    file = path_text(path)
    doc = _Document(read_text(path, file, max_file_size), file, DEFAULT_ELEMENT_LIMIT, DEFAULT_LIMITS)
    root = doc._compose()
    if root is None:
        raise doc.error(f"the {what} is empty")
    doc.check_tree(root)
    return doc.plain(root), root


def load_text(text: str, file: str = "<text>", *, element_limit: int = DEFAULT_ELEMENT_LIMIT,
              limits: Limits = DEFAULT_LIMITS, cost_limit: int = DEFAULT_COST_LIMIT,
              time_limit: float | None = DEFAULT_LOAD_TIME_LIMIT) -> tuple[list[Case], list[CaseError]]:
    """Like :func:`load_file`, for YAML text already in memory (``file`` names it in errors)."""
    doc = _Document(text, file, element_limit, limits, cost_limit)
    if time_limit:  # one-time start-up costs are not the case's: pay them before the clock runs
        warm_up()
    try:
        with deadline(time_limit):
            nodes = doc.case_nodes()
    except CaseError as exc:
        return [], [exc]
    except OutOfTime:
        return [], [LimitError(f"reading the file took more than {time_limit:g} s (the load time limit)",
                               file=file)]
    cases: list[Case] = []
    errors: list[CaseError] = []
    seen: dict[str, Case] = {}
    for index, node in enumerate(nodes):
        reader = _CaseReader(doc, node, index)
        try:
            with deadline(time_limit):
                case = reader.read()
        except GradcheckError as exc:
            errors.append(_as_case_error(exc, file).located(case=reader.name))
            continue
        except RecursionError:
            errors.append(doc.error("the case nests too deeply", node, case=reader.name))
            continue
        except OutOfTime:
            errors.append(doc.error(f"loading the case took more than {time_limit:g} s (the time limit, which "
                                    "covers the load-time forward pass; --time-limit sets it)", node,
                                    kind=LimitError, case=reader.name))
            continue
        if case.name in seen:
            errors.append(CaseError(
                f"duplicate case name {case.name!r}: already defined at {file}:{seen[case.name].line}",
                file=file, line=case.line, case=case.name, key="name"))
            continue
        seen[case.name] = case
        cases.append(case)
    return cases, errors


def _as_case_error(exc: GradcheckError, file: str) -> CaseError:
    if isinstance(exc, CaseError):
        return exc.located(file=file)
    # one line, no trailing blank (numpy's broadcast message ends in a space)
    message = " ".join(exc.message.split("\n")).strip()
    return CaseError(message, file=exc.file or file, line=exc.line, col=exc.col, case=exc.case,
                     step=exc.step, key=exc.key)


# ---- YAML nodes ---------------------------------------------------------------------


class _Document:
    """One file's YAML node tree and the means to turn nodes into values and locations."""

    def __init__(self, text: str, file: str, element_limit: int, limits: Limits,
                 cost_limit: int = DEFAULT_COST_LIMIT) -> None:
        self.text = text
        self.file = file
        self.lines = text.splitlines()
        self.element_limit = element_limit
        self.limits = limits
        self.cost_limit = cost_limit
        self.constructor = yaml.constructor.SafeConstructor()
        self.builders = {"int": self.constructor.construct_yaml_int,
                         "float": self.constructor.construct_yaml_float,
                         "bool": self.constructor.construct_yaml_bool,
                         "null": self.constructor.construct_yaml_null}

    def error(self, message: str, node: yaml.Node | None = None, *, kind: type[CaseError] = CaseError,
              **where: Any) -> CaseError:
        line = col = None
        if node is not None:
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
        return kind(message, file=self.file, line=line, col=col, **where)

    def case_nodes(self) -> list[yaml.Node]:
        """The mapping node of each case in the file."""
        root = self._compose()
        if root is None:
            raise self.error("the file is empty; a case file holds one case (a mapping) "
                             "or `cases:` with a list of cases")
        self.check_tag(root)
        if not isinstance(root, yaml.MappingNode):
            raise self.error(f"a case file holds one case (a mapping) or `cases:` with a list of cases; "
                             f"this file holds {_kind(root)}", root)
        keys = {}
        for key, _ in root.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in keys:  # YAML would keep only the last: a whole list of cases could vanish
                    raise self.error(f"duplicate key {key.value!r} (already at line "
                                     f"{keys[key.value].start_mark.line + 1})", key, key=key.value)
                keys[key.value] = key
        if "cases" not in keys:
            return [root]
        others = [k for k in keys if k != "cases"]
        if others:
            raise self.error(f"a file with `cases:` holds nothing else; move {others[0]!r} into a case",
                             keys[others[0]], key=others[0])
        value = next(v for k, v in root.value if k is keys["cases"])
        self.check_tag(value)
        if not isinstance(value, yaml.SequenceNode) or not value.value:
            raise self.error(f"`cases:` must be a non-empty list of cases; found {_kind(value)}", value,
                             key="cases")
        return list(value.value)

    def _compose(self) -> yaml.Node | None:
        fast = _compose_with_libyaml(self.text)
        if fast is not _SLOW:
            return fast
        # the pure-Python composer: slower, and the one whose messages (and marks) the errors quote
        loader = None
        try:
            loader = yaml.SafeLoader(self.text)
            return loader.get_single_node()
        except yaml.reader.ReaderError as exc:  # a character YAML does not allow
            before = self.text[: exc.position]
            line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
            code = exc.character if isinstance(exc.character, int) else ord(exc.character)
            raise CaseError(f"YAML: character U+{code:04X} is not allowed (control characters are not)",
                            file=self.file, line=line, col=col) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            what = " ".join(p for p in (exc.context, exc.problem) if p) or "unreadable YAML"
            line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
            raise CaseError(f"YAML: {what}", file=self.file, line=line, col=col) from None
        except yaml.YAMLError as exc:
            raise CaseError(f"YAML: {exc}", file=self.file) from None
        except RecursionError:
            raise CaseError("YAML: the document nests too deeply", file=self.file) from None
        finally:
            if loader is not None:
                loader.dispose()

    def check_tag(self, node: yaml.Node, **where: Any) -> None:
        """Refuse every tag outside plain YAML (e.g. ``!!python/object/apply``)."""
        if isinstance(node, yaml.ScalarNode):
            ok = node.tag in _SCALAR_TAGS
        elif isinstance(node, yaml.SequenceNode):
            ok = node.tag == _YAML + "seq"
        else:
            ok = node.tag == _YAML + "map"
        if not ok:
            raise self.error(f"YAML tag {node.tag!r} is not allowed in a case file "
                             "(only plain values, lists and mappings are)", node, **where)

    def check_tree(self, node: yaml.Node, **where: Any) -> None:
        """Check every tag below ``node`` and refuse aliases of lists and mappings (iteratively)."""
        seen: set[int] = set()
        stack = [node]
        scalar, scalar_tags = yaml.ScalarNode, _SCALAR_TAGS
        while stack:
            n = stack.pop()
            if type(n) is scalar and n.tag in scalar_tags:  # (the common case, without a call)
                continue
            self.check_tag(n, **where)
            if isinstance(n, yaml.ScalarNode):
                continue
            if id(n) in seen:
                raise self.error("YAML aliases of lists and mappings (*name) are not supported "
                                 "in case files; write the value out", n, **where)
            seen.add(id(n))
            if isinstance(n, yaml.SequenceNode):
                stack.extend(reversed(n.value))
            else:
                keys: set[str] = set()
                for k, _ in n.value:
                    if isinstance(k, yaml.ScalarNode):
                        if k.value in keys:
                            raise self.error(f"duplicate key {excerpt(k.value, 40)!r}", k, **where)
                        keys.add(k.value)
                for k, v in reversed(n.value):
                    stack.extend((v, k))

    def scalar(self, node: yaml.ScalarNode, **where: Any) -> Any:
        """The value of a scalar node (str, int, float, bool or None)."""
        tag = node.tag
        if tag == _STR:
            if node.style is None and _YAML12_FLOAT.match(node.value):
                return float(node.value)  # YAML 1.1 reads 1.0e6 as text; YAML 1.2 and people read a number
            return node.value
        self.check_tag(node, **where)
        tag = tag[len(_YAML):]
        if tag == "timestamp":
            return node.value
        build = self.builders[tag]
        try:
            return build(node)
        except (ValueError, yaml.YAMLError):
            raise self.error(f"{node.value!r} is not a valid {tag}", node, **where) from None

    def plain(self, node: yaml.Node, **where: Any) -> Any:
        """The whole subtree as Python values (tags checked; aliases of collections refused)."""
        if isinstance(node, yaml.ScalarNode):  # (most: a generator's init, mean, seed ...)
            return self.scalar(node, **where)
        seen: set[int] = set()

        def convert(n: yaml.Node) -> Any:
            if isinstance(n, yaml.ScalarNode):
                return self.scalar(n, **where)
            self.check_tag(n, **where)
            if id(n) in seen:
                raise self.error("YAML aliases of lists and mappings (*name) are not supported "
                                 "in case files; write the value out", n, **where)
            seen.add(id(n))
            if isinstance(n, yaml.SequenceNode):
                return [convert(v) for v in n.value]
            out = {}
            for k, v in n.value:
                key = convert(k)
                if isinstance(key, (list, dict)):
                    raise self.error("a key must be a plain value", k, **where)
                if key in out:
                    raise self.error(f"duplicate key {key!r}", k, **where)
                out[key] = convert(v)
            return out

        return convert(node)

    def items(self, node: yaml.Node, what: str, **where: Any) -> list[tuple[str, yaml.Node, yaml.Node]]:
        """The (key, key node, value node) of a mapping whose keys are text; duplicates refused."""
        self.check_tag(node, **where)
        if not isinstance(node, yaml.MappingNode):
            raise self.error(f"{what} must be a mapping; found {_kind(node)}", node, **where)
        out = []
        seen: set[str] = set()
        for k, v in node.value:
            key = self.scalar(k, **where) if isinstance(k, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise self.error(f"the keys of {what} must be names (text)", k, **where)
            if key in seen:
                raise self.error(f"duplicate key {key!r} in {what}", k, **where)
            seen.add(key)
            out.append((key, k, v))
        return out

    def origin(self, node: yaml.ScalarNode, **where: Any) -> Origin:
        """Where the text of an expression scalar starts (exact for single-line scalars)."""
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        style = node.style
        if style in ("'", '"'):
            return Origin(file=self.file, line=line, col=col + 1, **where)
        if style in ("|", ">"):
            first = line  # 0-based index of the line after the indicator
            while first < len(self.lines) and not self.lines[first].strip():
                first += 1
            if first >= len(self.lines):
                return Origin(file=self.file, line=line, col=col, **where)
            indent = len(self.lines[first]) - len(self.lines[first].lstrip(" "))
            if style == "|":
                return Origin(file=self.file, line=line + 1, col=indent + 1, block_indent=indent, **where)
            return Origin(file=self.file, line=first + 1, col=indent + 1, **where)
        return Origin(file=self.file, line=line, col=col, **where)


#: libyaml's composer recurses in C: beyond some 10^5 levels it overflows the C stack (a crash, not
#: an exception), so a text that might nest that deep takes the Python composer
_LIBYAML_MAX_NESTING = 10_000
_SLOW = object()


def _compose_with_libyaml(text: str) -> Any:
    """The node tree from PyYAML's C composer (libyaml, about 10 times faster; the same nodes, tags and
    line/column marks), or ``_SLOW`` when the text is to be read by the Python composer: no libyaml,
    a text that could nest deeper than :data:`_LIBYAML_MAX_NESTING` (bounded by counting every
    character that can open a level, and every line), a character YAML does not allow, or any
    error — the Python composer then reads it again and gives the located message."""
    loader_class = getattr(yaml, "CSafeLoader", None)
    if loader_class is None or yaml.reader.Reader.NON_PRINTABLE.search(text):
        return _SLOW
    if sum(text.count(c) for c in "[{-:?\n") >= _LIBYAML_MAX_NESTING:
        return _SLOW
    loader = None
    try:
        loader = loader_class(text)
        root = loader.get_single_node()
    except Exception:  # noqa: BLE001 - whatever it is, the Python composer says it in its words
        return _SLOW
    finally:
        if loader is not None:
            loader.dispose()
    seen: set[int] = set()
    stack = [root] if root is not None else []
    while stack:  # libyaml marks a plain scalar with style '', the Python composer with None
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            node.style = node.style or None
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend(n for pair in node.value for n in pair)
    return root


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    # a short excerpt only: the file may not be a case file at all (a credentials file)
    return f"the value {excerpt(node.value)!r}" if node.value else "nothing"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number_text(value: int | float) -> str:
    if isinstance(value, int) and not _fits_float(value):
        return f"an integer of {len(str(abs(value)))} digits, beyond a float's range"
    return str(value)


def _fits_float(value: int | float) -> bool:
    """Finite, and (an int of 400 digits) within a float's range."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


# ---- one case -----------------------------------------------------------------------


class _CaseReader:
    """Reads one case mapping: checks every key, builds the graph, checks the shapes."""

    def __init__(self, doc: _Document, node: yaml.Node, index: int) -> None:
        self.doc = doc
        self.node = node
        self.index = index
        self.name: str | None = None

    def error(self, message: str, node: yaml.Node | None, *, kind: type[CaseError] = CaseError,
              key: str | None = None, step: str | None = None) -> CaseError:
        return self.doc.error(message, node, kind=kind, case=self.name, key=key, step=step)

    def _scalar(self, node: yaml.Node, key: str | None = None, step: str | None = None) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return None
        return self.doc.scalar(node, case=self.name, key=key, step=step)

    def _plain(self, node: yaml.Node, key: str | None = None) -> Any:
        return self.doc.plain(node, case=self.name, key=key)

    def _items(self, node: yaml.Node, what: str, key: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        return self.doc.items(node, what, case=self.name, key=key)

    def read(self) -> Case:
        doc = self.doc
        if not isinstance(self.node, yaml.MappingNode):
            raise doc.error(f"case #{self.index + 1} must be a mapping (name, inputs, steps, ...); "
                            f"found {_kind(self.node)}", self.node)
        entries = doc.items(self.node, "a case")
        keys = {k: (kn, vn) for k, kn, vn in entries}
        self.name = self._name(keys)
        doc.check_tree(self.node, case=self.name)
        for k, kn, _ in entries:
            if k not in CASE_KEYS:
                raise self.error(f"unknown key {k!r}{suggest(k, CASE_KEYS)}", kn, key=k)

        title = self._text(keys, "title")
        description = self._text(keys, "description")
        tags = self._tags(keys)
        if "inputs" not in keys:
            raise self.error("missing required key 'inputs' (the differentiable leaves)", self.node,
                             key="inputs")
        inputs = self._values(keys, "inputs")
        if not inputs:
            raise self.error("'inputs' needs at least one input", keys["inputs"][1], key="inputs")
        constants = self._values(keys, "constants", taken=set(inputs)) if "constants" in keys else {}
        steps = self._steps(keys, set(inputs) | set(constants))
        output = self._output(keys, steps)
        expect = self._expect(keys, inputs)
        dtypes = self._dtypes(keys)
        tolerance = self._tolerance(keys)
        mode = self._mode(keys)
        order = self._order(keys)

        graph = self._graph(inputs, constants, steps, output)
        leaf_shapes = {n: s.value_shape for n, s in {**inputs, **constants}.items()}
        bound = self._bound(graph, leaf_shapes)  # before any value
        claims = self._claims(graph, expect)
        leaves = {n: s.materialise() for n, s in inputs.items()}
        leaves.update({n: s.materialise() for n, s in constants.items()})
        # the values the claims read from the case's graph are kept for them (see _claim_value)
        read = {a for _, _, claim in claims if isinstance(claim, tuple) for a in claim[2]}
        ev = self._evaluate(graph, leaves, keep=set(graph.inputs.values()) | {graph.output} | read)
        expect_graphs = self._expect_graphs(graph, ev, claims, bound, leaf_shapes, leaves, keys)
        return Case(
            name=self.name, file=doc.file, line=self.node.start_mark.line + 1,
            inputs=inputs, constants=constants,
            steps={s: text for s, (text, _) in steps.items()},
            graph=graph, output=output, title=title, description=description, tags=tags,
            expect={k: text for k, (text, _) in expect.items()}, expect_graphs=expect_graphs,
            dtypes=dtypes, tolerance=tolerance, mode=mode, order=order,
            step_lines={s: vn.start_mark.line + 1 for s, (_, vn) in steps.items()},
        )

    # ---- simple keys ------------------------------------------------------------

    def _name(self, keys: dict) -> str:
        if "name" not in keys:
            raise self.doc.error(f"case #{self.index + 1} has no 'name' (required: letters, digits, _ . -)",
                                 self.node, key="name")
        node = keys["name"][1]
        value = self._scalar(node, "name")
        if not isinstance(value, str) or not _CASE_NAME.match(value):
            shown = node.value if isinstance(node, yaml.ScalarNode) else _kind(node)
            raise self.doc.error(f"the name {shown!r} is not valid: a case name is text of letters, "
                                 "digits, '_', '.' and '-' (quote it if YAML reads it as a number)",
                                 node, key="name")
        return value

    def _text(self, keys: dict, key: str) -> str:
        if key not in keys:
            return ""
        node = keys[key][1]
        value = self._scalar(node, key)
        if not isinstance(value, str):
            raise self.error(f"{key!r} must be text", node, key=key)
        return self._printable(value, node, key)

    def _printable(self, value: str, node: yaml.Node, key: str) -> str:
        # a title or tag is printed on terminals and in reports: no escape sequences in it
        bad = CONTROL_CHARACTERS.search(value)
        if bad:
            raise self.error(f"control character U+{ord(bad.group()):04X} is not allowed in {key!r}", node, key=key)
        return value

    def _tags(self, keys: dict) -> list[str]:
        if "tags" not in keys:
            return []
        node = keys["tags"][1]
        value = self._plain(node, "tags")
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise self.error("'tags' must be a list of words, e.g. [seed, teaching]", node, key="tags")
        return [self._printable(t, node, "tags") for t in value]

    def _dtypes(self, keys: dict) -> list[str]:
        if "dtypes" not in keys:
            return ["float64"]
        node = keys["dtypes"][1]
        value = self._plain(node, "dtypes")
        if not isinstance(value, list) or not value:
            raise self.error(f"'dtypes' must be a non-empty list drawn from {list(DTYPES)}", node, key="dtypes")
        for item, item_node in zip(value, node.value):
            if item not in DTYPES:
                raise self.error(f"unknown dtype {item!r}{suggest(str(item), DTYPES)} "
                                 f"(allowed: {', '.join(DTYPES)})", item_node, key="dtypes")
        if len(set(value)) != len(value):
            raise self.error("'dtypes' lists a dtype twice", node, key="dtypes")
        return value

    def _tolerance(self, keys: dict) -> dict[str, float]:
        if "tolerance" not in keys:
            return {}
        out = {}
        for k, kn, vn in self._items(keys["tolerance"][1], "'tolerance'", "tolerance"):
            if k not in TOLERANCE_KEYS:
                raise self.error(f"unknown tolerance {k!r}{suggest(k, TOLERANCE_KEYS)} "
                                 "(tolerance has rtol and atol)", kn, key=f"tolerance.{k}")
            value = self._scalar(vn, f"tolerance.{k}")
            if not _is_number(value) or not _fits_float(value) or value < 0:
                raise self.error(f"tolerance {k} must be a finite number >= 0", vn, key=f"tolerance.{k}")
            out[k] = float(value)
        return out

    def _mode(self, keys: dict) -> str:
        if "mode" not in keys:
            return "auto"
        node = keys["mode"][1]
        value = self._scalar(node, "mode")
        if value not in MODES:
            raise self.error(f"unknown mode {value!r}{suggest(str(value), MODES)} "
                             f"(allowed: {', '.join(MODES)})", node, key="mode")
        return value

    def _order(self, keys: dict) -> int:
        if "order" not in keys:
            return 1
        node = keys["order"][1]
        value = self._scalar(node, "order")
        if isinstance(value, bool) or value not in ORDERS:
            raise self.error(f"unknown order {value!r} (allowed: {', '.join(map(str, ORDERS))}; 2 adds the "
                             "second-order checks)", node, key="order")
        return int(value)

    # ---- values -------------------------------------------------------------------

    def _check_name(self, name: str, node: yaml.Node, key: str) -> None:
        if not _IDENTIFIER.match(name) or keyword.iskeyword(name) or name.startswith("__"):
            raise self.error(f"{name!r} cannot be used in expressions: a name is letters, digits and '_', "
                             "not starting with a digit or '__', and not a Python keyword", node, key=key)

    def _values(self, keys: dict, section: str, taken: set[str] = frozenset()) -> dict[str, ValueSpec]:
        out = {}
        for name, kn, vn in self._items(keys[section][1], f"'{section}'", section):
            where = f"{section}.{name}"
            self._check_name(name, kn, where)
            if name in taken:
                raise self.error(f"{name!r} is both an input and a constant", kn, key=where)
            out[name] = self._value(name, vn, where, kn.start_mark.line + 1)
        return out

    def _value(self, name: str, node: yaml.Node, where: str, line: int) -> ValueSpec:
        if isinstance(node, yaml.MappingNode):
            return self._generator(name, node, where, line)
        if isinstance(node, yaml.SequenceNode):
            return ValueSpec(name=name, literal=self._array(node, where), line=line)
        value = self._scalar(node, where)
        if not _is_number(value):
            raise self.error(f"{where} must be a number, a nested list of numbers or a generator "
                             f"{{shape: [..], init: normal}}; found {_kind(node)}", node, key=where)
        if not _fits_float(value):
            raise self.error(f"{where} is {_number_text(value)}; inputs and constants must be finite", node,
                             key=where)
        return ValueSpec(name=name, literal=float(value), line=line)

    def _array(self, node: yaml.SequenceNode, where: str) -> list:
        """A rectangular nested list of finite numbers; the element limit is checked as it is read."""
        limit = self.doc.element_limit
        count = 0

        def convert(n: yaml.Node, depth: int = 1) -> tuple[Any, tuple[int, ...]]:
            nonlocal count
            if isinstance(n, yaml.SequenceNode):
                self.doc.check_tag(n, case=self.name, key=where)
                if not n.value:
                    raise self.error(f"{where}: an array cannot be empty", n, key=where)
                if depth > MAX_DIMENSIONS:
                    raise self.error(f"{where}: the array nests more than {MAX_DIMENSIONS} deep (the limit "
                                     "on dimensions)", n, kind=LimitError, key=where)
                items = [convert(v, depth + 1) for v in n.value]
                shape = items[0][1]
                for v, (_, s) in zip(n.value, items):
                    if s != shape:
                        raise self.error(f"{where}: the array is not rectangular (an element of shape {s} "
                                         f"next to one of shape {shape})", v, key=where)
                return [v for v, _ in items], (len(items),) + shape
            if isinstance(n, yaml.MappingNode):
                raise self.error(f"{where}: an array holds numbers only", n, key=where)
            value = self._scalar(n, where)
            if not _is_number(value):
                raise self.error(f"{where}: an array holds numbers only; found {n.value!r}", n, key=where)
            if not _fits_float(value):
                raise self.error(f"{where} holds {_number_text(value)}; inputs and constants must be finite", n,
                                 key=where)
            count += 1
            if count > limit:
                raise self.error(f"{where} has more than {limit:,} elements (the element limit)", n,
                                 kind=LimitError, key=where)
            return float(value), ()

        return convert(node)[0]

    def _generator(self, name: str, node: yaml.MappingNode, where: str, line: int) -> ValueSpec:
        fields: dict[str, Any] = {}
        nodes: dict[str, yaml.Node] = {}
        for k, kn, vn in self._items(node, f"the generator of {where}", where):
            if k not in GENERATOR_KEYS:
                raise self.error(f"unknown generator key {k!r}{suggest(k, GENERATOR_KEYS)} "
                                 f"(allowed: {', '.join(GENERATOR_KEYS)})", kn, key=f"{where}.{k}")
            fields[k] = self._plain(vn, f"{where}.{k}")
            nodes[k] = vn
        if "shape" not in fields:
            raise self.error(f"the generator of {where} needs a 'shape', e.g. shape: [3, 2]", node, key=where)
        shape = fields["shape"]
        if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1
                                                  for s in shape):
            raise self.error(f"{where}.shape must be a list of positive integers, e.g. [3, 2]",
                             nodes["shape"], key=f"{where}.shape")
        if len(shape) > MAX_DIMENSIONS:
            raise self.error(f"{where}.shape has {len(shape)} dimensions; the limit is {MAX_DIMENSIONS}",
                             nodes["shape"], kind=LimitError, key=f"{where}.shape")
        size = math.prod(shape)  # Python ints: no overflow, nothing allocated
        if size > self.doc.element_limit:
            raise self.error(f"{where} would have {size:,} elements; the limit is {self.doc.element_limit:,}",
                             nodes["shape"], kind=LimitError, key=f"{where}.shape")
        init = fields.get("init", "normal")
        if init not in INITS:
            raise self.error(f"unknown init {init!r}{suggest(str(init), INITS)} (allowed: normal, uniform)",
                             nodes["init"], key=f"{where}.init")
        unused = ("low", "high") if init == "normal" else ("mean", "std")
        for k in unused:
            if k in fields:
                raise self.error(f"{k!r} does not apply to init: {init} (normal takes mean and std, "
                                 "uniform takes low and high)", nodes[k], key=f"{where}.{k}")
        numbers = {}
        for k, default in (("mean", 0.0), ("std", 1.0), ("low", -1.0), ("high", 1.0)):
            value = fields.get(k, default)
            if not _is_number(value) or not _fits_float(value):
                raise self.error(f"{where}.{k} must be a finite number", nodes[k], key=f"{where}.{k}")
            numbers[k] = float(value)
        if numbers["std"] < 0:
            raise self.error(f"{where}.std must be >= 0", nodes["std"], key=f"{where}.std")
        if init == "uniform" and not numbers["low"] < numbers["high"]:
            raise self.error(f"{where}: low must be less than high", node, key=where)
        seed = fields.get("seed")
        if "seed" not in fields:
            seed = stable_seed(self.name or "", name)
        elif not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:  # `seed:` left empty too
            raise self.error(f"{where}.seed must be a non-negative integer", nodes["seed"], key=f"{where}.seed")
        return ValueSpec(name=name, shape=tuple(shape), init=init, seed=seed, line=line, **numbers)

    # ---- steps, output, expect ------------------------------------------------------

    def _expression(self, node: yaml.Node, where: str, **located: Any) -> str:
        if isinstance(node, yaml.ScalarNode):
            value = self.doc.scalar(node, case=self.name, **located)
            if isinstance(value, str) or _is_number(value):
                return node.value
        raise self.error(f"{where} must be an expression (text); found {_kind(node)}", node, **located)

    def _steps(self, keys: dict, leaves: set[str]) -> dict[str, tuple[str, yaml.Node]]:
        if "steps" in keys and "expr" in keys:
            raise self.error("give either 'steps' or 'expr' (a single step), not both", keys["expr"][0],
                             key="expr")
        if "expr" in keys:
            free = [s for s in EXPR_STEPS if s not in leaves]
            if not free:
                raise self.error(f"the expr shorthand names its step {EXPR_STEPS[0]!r} (or {EXPR_STEPS[1]!r}, "
                                 f"{EXPR_STEPS[2]!r}), but all are inputs or constants; use steps: instead",
                                 keys["expr"][0], key="expr")
            node = keys["expr"][1]
            return {free[0]: (self._expression(node, "'expr'", step=free[0]), node)}
        if "steps" not in keys:
            raise self.error("missing 'steps' (or the shorthand 'expr')", self.node, key="steps")
        out = {}
        for name, kn, vn in self._items(keys["steps"][1], "'steps'", "steps"):
            self._check_name(name, kn, f"steps.{name}")
            if name in leaves:
                raise self.error(f"step {name!r} has the name of an input or constant", kn, step=name)
            out[name] = (self._expression(vn, f"step {name!r}", step=name), vn)
        if not out:
            raise self.error("'steps' needs at least one step", keys["steps"][1], key="steps")
        return out

    def _output(self, keys: dict, steps: dict) -> str:
        if "output" not in keys:
            return list(steps)[-1]
        node = keys["output"][1]
        value = self._scalar(node, "output")
        if value not in steps:
            raise self.error(f"output {value!r} is not a step{suggest(str(value), steps)}", node, key="output")
        return value

    def _expect(self, keys: dict, inputs: dict) -> dict[str, tuple[str, yaml.Node]]:
        if "expect" not in keys:
            return {}
        out = {}
        for name, kn, vn in self._items(keys["expect"][1], "'expect'", "expect"):
            if name not in inputs:
                raise self.error(f"expect names {name!r}, which is not an input{suggest(name, inputs)}; "
                                 "a claim is the derivative with respect to an input", kn, key=f"expect.{name}")
            out[name] = (self._expression(vn, f"expect {name!r}", key=f"expect.{name}"), vn)
        return out

    # ---- the graph --------------------------------------------------------------------

    def _graph(self, inputs: dict, constants: dict, steps: dict, output: str) -> Graph:
        graph = Graph()
        for op, table, values, section in (("input", graph.inputs, inputs, "inputs"),
                                           ("constant", graph.constants, constants, "constants")):
            for name, spec in values.items():
                node = graph.add(op, name=name, line=spec.line, col=0, source=name)
                table[name] = node.id
        names = {**graph.inputs, **graph.constants}
        order = list(steps)
        for i, (step, (text, vn)) in enumerate(steps.items()):
            origin = self.doc.origin(vn, case=self.name, step=step)
            node_id = parse_expression(text, graph, names, origin=origin, limits=self.doc.limits,
                                       later=order[i + 1:])
            graph.steps[step] = node_id
            names[step] = node_id
        graph.output = graph.steps[output]
        return graph

    def _bound(self, graph: Graph, leaf_shapes: dict, known: tuple | None = None) -> tuple:
        """Every node within the element limit, the pass within the cost limit (from shapes only).

        Returns what a claim's graph, which extends this one, continues from: the shapes and
        parameters found and the cost so far (``known``, for a claim's graph, is its case's)."""
        shapes, params, _ = shapes_and_params(graph, leaf_shapes, known[:2] if known else None)
        total = check_graph(graph, shapes, element_limit=self.doc.element_limit, cost_limit=self.doc.cost_limit,
                            file=self.doc.file, case=self.name, params=params,
                            start=len(known[0]) if known else 0, total=known[2] if known else 0)
        return shapes, params, total

    def _evaluate(self, graph: Graph, leaves: dict, keep: set[int]) -> engine.Evaluation:
        """One float64 pass (the graph is bounded already) so that shape mismatches are reported now,
        naming the step.  Only the values of the nodes in ``keep`` are kept (the rest is dropped as
        soon as it is used)."""
        try:
            return engine.evaluate(graph, leaves, np.float64, keep=keep)
        except GradcheckError as exc:
            raise _as_case_error(exc, self.doc.file).located(case=self.name) from None
        except MemoryError:
            raise self.error("evaluating the case needs more memory than this machine has", self.node,
                             kind=LimitError) from None
        except Exception as exc:  # a primitive that fails in an undeclared way: report, do not crash
            raise self.error(f"evaluating the case failed ({type(exc).__name__}: {exc}); "
                             "this is probably a bug in a primitive", self.node) from None

    def _claims(self, graph: Graph, expect: dict) -> list[tuple[str, yaml.Node, tuple | CaseError]]:
        """Each claim of ``expect`` parsed into a copy of the case's graph, in order, with the
        :meth:`~gradcheck_suite.graph.Graph.tail` of its own nodes: (claim graph, tail, the ids of
        the case's nodes it reads).  The first claim that does not parse ends the list with its
        error, which is raised in its turn, after the case's own pass and the claims before it
        (:meth:`_expect_graphs`): the order of the messages is the order of the checks."""
        names = {**graph.inputs, **graph.constants, **graph.steps}
        claims: list[tuple[str, yaml.Node, tuple | CaseError]] = []
        for name, (text, vn) in expect.items():
            claim = graph.copy()
            origin = self.doc.origin(vn, case=self.name, key=f"expect.{name}")
            try:
                claim.output = parse_expression(text, claim, names, origin=origin, limits=self.doc.limits)
            except CaseError as exc:
                claims.append((name, vn, exc))
                break
            claims.append((name, vn, (claim, *claim.tail(len(graph)))))
        return claims

    def _claim_value(self, claim: Graph, tail: Graph, read: list[int], ev: engine.Evaluation, bound: tuple,
                     leaf_shapes: dict, leaves: dict) -> np.ndarray:
        """The claimed derivative's value: the claim's own nodes bounded after the case's (the cost
        adds up over both) and evaluated from the values of the case's nodes they read — the value
        of evaluating the whole claim graph, without evaluating the case twice."""
        self._bound(claim, leaf_shapes, known=bound)
        values = [ev.values[a] for a in read]
        if any(v is None or v.dtype != np.float64 for v in values):  # (a bool value would become float)
            return self._evaluate(claim, leaves, keep=set(claim.inputs.values()) | {claim.output}).output
        return self._evaluate(tail, {tail[i].name: v for i, v in enumerate(values)}, keep={tail.output}).output

    def _expect_graphs(self, graph: Graph, ev: engine.Evaluation, claims: list, bound: tuple, leaf_shapes: dict,
                       leaves: dict, keys: dict) -> dict[str, Graph]:
        if not claims:
            return {}
        out_value = ev.values[graph.output]
        if out_value.size != 1:
            raise self.error(f"'expect' claims a gradient, which needs a scalar output; the output "
                             f"{graph.nodes[graph.output].name!r} has shape {tuple(out_value.shape)}",
                             keys["expect"][0], key="expect")
        graphs = {}
        for name, vn, claim in claims:
            if isinstance(claim, CaseError):
                raise claim
            claim, tail, read = claim
            value = self._claim_value(claim, tail, read, ev, bound, leaf_shapes, leaves)
            want = ev.values[graph.inputs[name]].shape
            try:
                fits = np.broadcast_shapes(value.shape, want) == want
            except ValueError:
                fits = False
            if not fits:
                raise self.error(f"the claimed derivative has shape {tuple(value.shape)}, but input {name!r} "
                                 f"has shape {tuple(want)}", vn, key=f"expect.{name}")
            graphs[name] = claim
        return graphs
