"""Case files are composed by libyaml (PyYAML's C composer) when it is safe, with the very nodes,
tags and marks the Python composer gives; every error and every deep text is read by the Python
composer, whose located messages the tests of the loader pin down."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gradcheck_suite.loader import _SLOW, _compose_with_libyaml, load_text

ROOT = Path(__file__).resolve().parents[1]
def _utf8(path: Path) -> bool:
    try:
        path.read_text("utf-8")
    except UnicodeDecodeError:  # tests/bad_cases/not_utf8.yaml: refused before anything is composed
        return False
    return True


YAML_FILES = sorted(p for folder in ("cases", "tests") for p in (ROOT / folder).rglob("*.yaml") if _utf8(p))

pytestmark = pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml")


def _nodes(root):
    """Every node as (kind, tag, line, column, value of a scalar, style of a scalar), in order."""
    out, stack = [], [root] if root is not None else []
    while stack:
        n = stack.pop()
        scalar = isinstance(n, yaml.ScalarNode)
        out.append((type(n).__name__, n.tag, n.start_mark.line, n.start_mark.column,
                    n.value if scalar else None, n.style if scalar else None))
        if isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
        elif isinstance(n, yaml.MappingNode):
            stack.extend(x for pair in n.value for x in pair)
    return out


def _python_nodes(text):
    try:
        loader = yaml.SafeLoader(text)
        return _nodes(loader.get_single_node())
    except yaml.YAMLError:
        return "error"


@pytest.mark.parametrize("path", YAML_FILES, ids=[p.relative_to(ROOT).as_posix() for p in YAML_FILES])
def test_libyaml_gives_the_nodes_and_marks_of_the_python_composer(path):
    text = path.read_text("utf-8")
    fast = _compose_with_libyaml(text)
    expected = _python_nodes(text)
    if fast is _SLOW:  # read again by the Python composer: only for errors (none of these nests deep)
        assert expected == "error"
    else:
        assert _nodes(fast) == expected


@pytest.mark.parametrize("text", ["a: [1, 2\nb: 3\n", "name: x\n\tinputs: 1\n", "a: \x07\n", "a: 1\na: 2\n- b\n"])
def test_what_libyaml_refuses_is_read_again_by_the_python_composer(text):
    assert _compose_with_libyaml(text) is _SLOW or _python_nodes(text) != "error"


def test_a_text_that_could_nest_beyond_libyamls_stack_is_never_given_to_it():
    # libyaml's composer recurses in C: 10^5 levels overflow the stack (a crash); the Python
    # composer raises RecursionError, which the loader reports as a located error
    deep = "name: d\ninputs: {x: " + "[" * 100_000 + "]" * 100_000 + "}\nexpr: x\n"
    assert _compose_with_libyaml(deep) is _SLOW
    code = ("import sys; from gradcheck_suite.loader import load_text\n"
            "cases, errors = load_text(sys.stdin.read(), 'd.yaml')\nprint(len(cases), str(errors[0])[:200])")
    done = subprocess.run([sys.executable, "-c", code], input=deep, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.startswith("0 d.yaml") and "deep" in done.stdout


def test_a_plain_scalar_keeps_its_yaml_1_2_reading():
    # `1e3` is a string to YAML 1.1 (the resolver) and a number to YAML 1.2: the loader tells them
    # apart by the scalar's style, which libyaml writes as '' and Python as None
    (case,), errors = load_text("name: s\ninputs: {x: 1e3}\nexpr: x * 2\n", "s.yaml")
    assert errors == [] and float(case.leaves()["x"]) == 1000.0
