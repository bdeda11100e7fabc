"""Case files → Case objects: every key, defaults, generators, and located errors."""
import copy
import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import yaml
from hypothesis import given, settings, strategies as st

from gradcheck_suite.errors import CaseError, LimitError
from gradcheck_suite.loader import case_schema, load_file, load_paths, load_text, stable_seed

ROOT = Path(__file__).resolve().parents[1]


def load(text: str, **kw):
    return load_text(textwrap.dedent(text), "t.yaml", **kw)


def one(text: str, **kw):
    cases, errors = load(text, **kw)
    assert errors == [], [str(e) for e in errors]
    assert len(cases) == 1
    return cases[0]


def error(text: str, **kw) -> CaseError:
    cases, errors = load(text, **kw)
    assert cases == [] and len(errors) == 1, [str(e) for e in errors]
    assert "\n" not in str(errors[0])
    return errors[0]


# ---- keys and defaults -----------------------------------------------------------------

def test_a_minimal_case_gets_the_defaults():
    case = one("""
        name: tiny
        inputs:
          x: 0.5
        expr: exp(x)
    """)
    assert case.steps == {"y": "exp(x)"} and case.output == "y"
    assert (case.title, case.description, case.tags) == ("", "", [])
    assert case.constants == {} and case.expect == {} and case.expect_graphs == {}
    assert case.dtypes == ["float64"] and case.tolerance == {} and case.mode == "auto"
    assert (case.file, case.line) == ("t.yaml", 2)
    assert case.graph.nodes[case.graph.output].name == "y"


def test_every_key_is_read():
    case = one("""
        name: full.case-1
        title: A title
        description: One line.
        tags: [seed, teaching]
        inputs:
          x: 0.5
          v: [1.0, 2.0]
        constants:
          w: 2
        steps:
          u: w * x
          y: sum(u * v)
          z: y + 1
        output: y
        expect:
          x: w * sum(v)
          v: u
        dtypes: [float32, float64]
        tolerance: {rtol: 1.0e-5, atol: 0}
        mode: projected
    """)
    assert (case.name, case.title, case.description, case.tags) == ("full.case-1", "A title", "One line.",
                                                                      ["seed", "teaching"])
    assert list(case.inputs) == ["x", "v"] and list(case.constants) == ["w"]
    assert case.inputs["v"].literal == [1.0, 2.0] and case.constants["w"].literal == 2.0
    assert case.steps == {"u": "w * x", "y": "sum(u * v)", "z": "y + 1"}
    assert case.output == "y" and case.graph.output == case.graph.steps["y"]
    assert case.dtypes == ["float32", "float64"]
    assert case.tolerance == {"rtol": 1e-5, "atol": 0.0} and case.mode == "projected"
    assert case.step_lines == {"u": 12, "y": 13, "z": 14}
    assert case.expect == {"x": "w * sum(v)", "v": "u"}


def test_expect_graphs_extend_a_copy_of_the_case_graph():
    case = one("""
        name: claims
        inputs: {x: 0.3}
        constants: {w: 1.5}
        steps:
          u: w * x
          y: sigmoid(u)
        expect:
          x: y * (1 - y) * w
    """)
    claim = case.expect_graphs["x"]
    n = len(case.graph)
    assert [node.name for node in claim.nodes[:n]] == [node.name for node in case.graph]
    assert claim.nodes[claim.output].name == "expect.x"
    assert [node.name for node in claim.nodes[n:]] == ["1", "expect.x.1", "expect.x.2", "expect.x"]
    assert claim.steps == case.graph.steps and len(case.graph) == n  # the case graph is untouched


def test_a_claim_is_evaluated_from_the_values_of_the_steps_it_reads():
    # the claim's own nodes run on the kept values of y and u (the case is not evaluated again):
    # a claim of the wrong shape is still found, and a claim reading a bool step still evaluates
    errors = load("""
        name: claims
        inputs: {x: [0.3, 0.4]}
        steps:
          u: 2 * x
          y: sum(sigmoid(u))
        expect:
          x: y * (1 - y) * concat([u, u])
    """)[1]
    assert [str(e) for e in errors] == ["t.yaml:8:6: case 'claims', key 'expect.x': the claimed derivative has "
                                        "shape (4,), but input 'x' has shape (2,)"]
    case = one("""
        name: mask
        inputs: {x: [0.3, -0.4]}
        steps:
          m: greater(x, 0)
          y: sum(where(m, x, 0))
        expect:
          x: where(m, 1, 0)
    """)
    assert case.expect_graphs["x"].nodes[-1].op == "where"


def test_a_claim_is_checked_after_the_case_it_claims_about():
    # a case with a shape mismatch and a claim that does not parse: the mismatch is the message
    # (the case is checked first); with the case right, the claim's own error
    bad_case = """
        name: order
        inputs: {x: [1.0, 2.0], w: [1.0, 2.0, 3.0]}
        steps:
          y: sum(x * w)
        expect:
          x: w +
    """
    (error,) = load(bad_case)[1]
    assert "x * w failed on arguments of shapes (2,), (3,)" in str(error)
    (error,) = load(bad_case.replace("x * w", "x * x"))[1]
    assert str(error).startswith("t.yaml:7:9: case 'order', key 'expect.x': invalid syntax")
    # the first claim's error comes before the second claim's
    (error,) = load(bad_case.replace("x * w", "x * x").replace("x: w +", "x: '[1, 2, 3]'\n" + " " * 10 + "w: w +"))[1]
    assert "the claimed derivative has shape (3,), but input 'x' has shape (2,)" in str(error)


def test_the_cost_of_a_claim_adds_to_its_cases():
    # the case alone fits the cost limit, the case and its claim together do not
    text = """
        name: costly
        inputs: {x: {shape: [20, 20]}}
        steps:
          y: sum(x @ x)
        expect:
          x: x @ x @ x
    """
    # x @ x costs 8,000 (+ 401 for the sum): the case and a claim of two products fit 30,000
    assert load(text, cost_limit=30_000)[1] == []
    # three products (24,000) would fit alone, not after the case's 8,401
    (error,) = load(text.replace("x @ x @ x", "x @ x @ x @ x"), cost_limit=30_000)[1]
    assert isinstance(error, LimitError) and "about 32,401 multiply-adds by x @ x @ x @ x" in str(error)
    assert str(error).startswith("t.yaml:7:6: case 'costly', step 'expect.x': ")


def test_several_cases_in_one_file():
    cases, errors = load("""
        cases:
          - name: a
            inputs: {x: 1.0}
            expr: exp(x)
          - name: b
            inputs: {x: 2.0}
            expr: sin(x)
    """)
    assert errors == [] and [c.name for c in cases] == ["a", "b"]


def test_expr_shorthand_step_avoids_an_input_named_y():
    case = one("""
        name: two
        inputs: {x: 1.0, y: 2.0}
        expr: maximum(x, y)
    """)
    assert case.steps == {"out": "maximum(x, y)"} and case.output == "out"


def test_yaml_12_exponent_numbers_are_numbers():
    case = one("""
        name: big
        inputs:
          x: [1.0e6, 2e-3]
        expr: sum(x)
    """)
    assert case.inputs["x"].literal == [1.0e6, 2e-3]


# ---- generators ------------------------------------------------------------------------

def test_generator_fields_and_explicit_seed():
    case = one("""
        name: gen
        inputs:
          a: {shape: [2, 3], init: normal, mean: 1.0, std: 0.5, seed: 7}
          b: {shape: [4], init: uniform, low: 2.0, high: 3.0, seed: 8}
          c: {shape: []}
        expr: sum(a) + sum(b) + c
    """)
    a, b, c = case.inputs["a"], case.inputs["b"], case.inputs["c"]
    assert (a.shape, a.init, a.mean, a.std, a.seed) == ((2, 3), "normal", 1.0, 0.5, 7)
    assert (b.shape, b.init, b.low, b.high, b.seed) == ((4,), "uniform", 2.0, 3.0, 8)
    assert (c.shape, c.init) == ((), "normal")
    np.testing.assert_array_equal(a.materialise(), np.random.default_rng(7).normal(1.0, 0.5, (2, 3)))
    values = b.materialise()
    assert values.dtype == np.float64 and np.all((values >= 2.0) & (values < 3.0))


def test_generated_seed_is_a_stable_hash_of_case_and_name():
    case = one("""
        name: hashed
        inputs:
          x: {shape: [3]}
        expr: sum(x)
    """)
    want = int.from_bytes(hashlib.sha256(b"hashed/x").digest()[:8], "big")
    assert case.inputs["x"].seed == stable_seed("hashed", "x") == want


def test_generated_values_are_the_same_in_another_process(tmp_path):
    path = tmp_path / "gen.yaml"
    path.write_text("name: proc\ninputs:\n  x: {shape: [5], init: uniform}\n  z: {shape: [2, 2]}\nexpr: sum(x) + sum(z)\n")
    here = one(path.read_text())
    script = ("import json, sys; from gradcheck_suite.loader import load_file; "
              "c = load_file(sys.argv[1])[0][0]; "
              "print(json.dumps({k: v.tolist() for k, v in c.leaves().items()}))")
    for hashseed in ("12345",):
        out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                             check=True, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": hashseed})
        there = json.loads(out.stdout)
        assert there == {k: v.tolist() for k, v in here.leaves().items()}


@pytest.mark.parametrize("value, message", [
    ("{shape: [3], sead: 1}", "unknown generator key 'sead' (did you mean 'seed'?)"),
    ("{init: normal}", "needs a 'shape'"),
    ("{shape: [3, 0]}", "shape must be a list of positive integers"),
    ("{shape: 3}", "shape must be a list of positive integers"),
    ("{shape: [3], init: gaussian}", "unknown init 'gaussian'"),
    ("{shape: [3], init: uniform, std: 2}", "'std' does not apply to init: uniform"),
    ("{shape: [3], low: 0}", "'low' does not apply to init: normal"),
    ("{shape: [3], init: uniform, low: 1, high: 0}", "low must be less than high"),
    ("{shape: [3], std: -1}", "std must be >= 0"),
    ("{shape: [3], seed: -4}", "seed must be a non-negative integer"),
    ("{shape: [3], mean: .nan}", "mean must be a finite number"),
])
def test_generator_mistakes_are_located(value, message):
    err = error(f"""
        name: g
        inputs:
          x: {value}
        expr: sum(x)
    """)
    assert message in err.message and err.case == "g" and err.line == 4


def test_element_limit_refused_before_allocating():
    tracemalloc.start()
    start = time.perf_counter()
    err = error("""
        name: huge
        inputs:
          x: {shape: [100000, 100000]}
        expr: sum(x)
    """)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert isinstance(err, LimitError)
    assert "10,000,000,000 elements; the limit is 10,000,000" in err.message
    assert (err.line, err.col) == (4, 14)
    assert elapsed < 5 and peak < 50 * 2**20


def test_element_limit_is_configurable_and_covers_literals():
    text = """
        name: lit
        inputs:
          x: [1.0, 2.0, 3.0, 4.0]
        expr: sum(x)
    """
    assert one(text, element_limit=4).inputs["x"].literal == [1.0, 2.0, 3.0, 4.0]
    err = error(text, element_limit=3)
    assert isinstance(err, LimitError) and "more than 3 elements" in err.message


# ---- values ----------------------------------------------------------------------------

@pytest.mark.parametrize("value, at", [(".nan", 6), ("-.inf", 6), ("[1.0, .inf]", 12), ("[[1.0], [.NaN]]", 15)])
def test_non_finite_values_are_located_errors(value, at):
    err = error(f"""
        name: nf
        inputs:
          x: 1.0
        constants:
          c: {value}
        expr: x * sum(c)
    """)
    assert "must be finite" in err.message and (err.line, err.col) == (6, at) and err.key == "constants.c"


@pytest.mark.parametrize("value, message", [
    ("[[1, 2], [3]]", "not rectangular"),
    ("[]", "cannot be empty"),
    ("[1, two]", "an array holds numbers only"),
    ("[1, true]", "an array holds numbers only"),
    ("hello", "must be a number, a nested list of numbers or a generator"),
    ("true", "must be a number"),
])
def test_bad_values_are_refused(value, message):
    err = error(f"""
        name: bv
        inputs:
          x: {value}
        expr: sum(x)
    """)
    assert message in err.message and err.line == 4


# ---- structural errors -------------------------------------------------------------------

def test_unknown_key_suggests_the_nearest():
    err = error("""
        name: typo
        tittle: A
        inputs: {x: 1.0}
        expr: x
    """)
    assert str(err) == "t.yaml:3:1: case 'typo', key 'tittle': unknown key 'tittle' (did you mean 'title'?)"


def test_missing_inputs():
    err = error("""
        name: noin
        expr: 1 + 1
    """)
    assert "missing required key 'inputs'" in err.message and err.case == "noin" and err.line == 2


def test_missing_name():
    err = error("""
        inputs: {x: 1.0}
        expr: x
    """)
    assert "has no 'name'" in err.message and err.line == 2


@pytest.mark.parametrize("text, message, line", [
    ("name: a\ninputs: {x: 1.0}\nsteps: {y: x}\nexpr: x\n", "give either 'steps' or 'expr'", 4),
    ("name: a\ninputs: {x: 1.0}\n", "missing 'steps' (or the shorthand 'expr')", 1),
    ("name: a\ninputs: {x: 1.0}\nsteps: {u: x, y: u}\noutput: yy\n", "output 'yy' is not a step (did you mean 'y'?)", 4),
    ("name: a\ninputs: {x: 1.0}\nexpr: x\nexpect: {xx: 1}\n", "expect names 'xx', which is not an input (did you mean 'x'?)", 4),
    ("name: a\ninputs: {x: [1.0, 2.0]}\nexpr: x * 2\nexpect: {x: 2}\n", "needs a scalar output", 4),
    ("name: a\ninputs: {x: [1.0, 2.0]}\nexpr: sum(x)\nexpect: {x: '[1, 1, 1]'}\n", "has shape (3,), but input 'x' has shape (2,)", 4),
    ("name: a\ninputs: {x: 1.0}\nexpr: x\ndtypes: [float16]\n", "unknown dtype 'float16'", 4),
    ("name: a\ninputs: {x: 1.0}\nexpr: x\ndtypes: float64\n", "'dtypes' must be a non-empty list", 4),
    ("name: a\ninputs: {x: 1.0}\nexpr: x\ntolerance: {rtl: 1}\n", "unknown tolerance 'rtl' (did you mean 'rtol'?)", 4),
    ("name: a\ninputs: {x: 1.0}\nexpr: x\ntolerance: {rtol: -1}\n", "tolerance rtol must be a finite number >= 0", 4),
    ("name: a\ninputs: {x: 1.0}\nexpr: x\nmode: ful\n", "unknown mode 'ful' (did you mean 'full'?)", 4),
    ("name: a b\ninputs: {x: 1.0}\nexpr: x\n", "the name 'a b' is not valid", 1),
    ("name: 12\ninputs: {x: 1.0}\nexpr: x\n", "quote it if YAML reads it as a number", 1),
    ("name: a\ninputs: {}\nexpr: 1\n", "'inputs' needs at least one input", 2),
    ("name: a\ninputs: [1, 2]\nexpr: 1\n", "'inputs' must be a mapping", 2),
    ("name: a\ninputs: {1x: 1.0}\nexpr: 1\n", "'1x' cannot be used in expressions", 2),
    ("name: a\ninputs: {lambda: 1.0}\nexpr: 1\n", "'lambda' cannot be used in expressions", 2),
    ("name: a\ninputs: {__x: 1.0}\nexpr: 1\n", "'__x' cannot be used in expressions", 2),
    ("name: a\ninputs: {x: 1.0}\nconstants: {x: 2.0}\nexpr: x\n", "'x' is both an input and a constant", 3),
    ("name: a\ninputs: {x: 1.0}\nsteps: {x: x}\n", "step 'x' has the name of an input or constant", 3),
    ("name: a\ninputs: {x: 1.0}\nsteps: {y: [x]}\n", "step 'y' must be an expression", 3),
    ("name: a\ninputs: {x: 1.0}\nexpr: x\ntags: seed\n", "'tags' must be a list of words", 4),
    ("name: a\ninputs: {x: 1.0}\nexpr: x\ntitle: [a]\n", "'title' must be text", 4),
    ("name: a\ninputs: {x: 1.0, x: 2.0}\nexpr: x\n", "duplicate key 'x'", 2),
    ("name: a\ninputs:\n  x: &v [1.0, 2.0]\nconstants:\n  c: *v\nexpr: sum(x * c)\n", "aliases", 3),
])
def test_structural_mistakes_are_located(text, message, line):
    err = error(text)
    assert message in err.message, str(err)
    assert err.line == line and err.file == "t.yaml"


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("# only a comment\n", "the file is empty"),
    ("- name: a\n  inputs: {x: 1}\n  expr: x\n", "this file holds a list"),
    ("just text\n", "this file holds the value 'just text'"),
    ("cases: {name: a}\n", "`cases:` must be a non-empty list"),
    ("cases: []\n", "`cases:` must be a non-empty list"),
    ("cases: [{name: a, inputs: {x: 1}, expr: x}]\nname: b\n", "a file with `cases:` holds nothing else"),
    ("name: a\ninputs: {x: 1.0\n", "YAML:"),
    ("a: 1\n---\nb: 2\n", "YAML: expected a single document"),
])
def test_files_that_are_not_a_case_mapping(text, message):
    cases, errors = load_text(text, "t.yaml")
    assert cases == [] and len(errors) == 1 and message in errors[0].message, [str(e) for e in errors]
    assert errors[0].file == "t.yaml"


@pytest.mark.parametrize("tagged", [
    '!!python/object/apply:os.system ["touch {marker}"]',
    '!!python/object/apply:subprocess.check_call [["touch", "{marker}"]]',
    '!!python/name:os.system',
    '!!python/object/new:os.system ["touch {marker}"]',
    '!custom 3',
    '!!binary aGVsbG8=',
])
@pytest.mark.parametrize("where", ["root", "value", "case-in-list"])
def test_unsafe_tags_are_refused_and_never_run(tmp_path, tagged, where):
    marker = tmp_path / "pwned"
    tagged = tagged.format(marker=marker)
    text = {
        "root": f"{tagged}\n",
        "value": f"name: a\ninputs:\n  x: {tagged}\nexpr: x\n",
        "case-in-list": f"cases:\n  - name: a\n    inputs: {{x: 1.0}}\n    expr: x\n    title: {tagged}\n",
    }[where]
    path = tmp_path / "evil.yaml"
    path.write_text(text)
    cases, errors = load_file(path)
    assert cases == [] and len(errors) == 1
    assert "is not allowed in a case file" in errors[0].message or "could not determine" in errors[0].message
    assert errors[0].line is not None
    assert not marker.exists()


def test_shape_mismatch_names_the_step_and_both_shapes():
    err = error("""
        name: shapes
        inputs:
          a: {shape: [3]}
          b: {shape: [4]}
        steps:
          s: a * 2
          t: s + b
    """)
    assert err.file == "t.yaml" and err.case == "shapes" and err.step == "t"
    assert "(3,)" in err.message and "(4,)" in err.message
    assert (err.line, err.col) == (8, 6)
    assert str(err).startswith("t.yaml:8:6: case 'shapes', step 't': ")


@pytest.mark.parametrize("step, line, col", [
    ("  y: w * sigmoidd(x)", 5, 10),
    ('  y: "w * sigmoidd(x)"', 5, 11),
    ("  y: 'w * sigmoidd(x)'", 5, 11),
    ("  y: |\n    w *\n      sigmoidd(x)", 7, 7),
])
def test_expression_errors_point_into_the_file(step, line, col):
    err = error("name: sig\ninputs: {x: 1.0}\nconstants: {w: 2.0}\nsteps:\n" + step + "\n")
    assert (err.line, err.col) == (line, col)
    assert str(err) == f"t.yaml:{line}:{col}: case 'sig', step 'y': unknown primitive 'sigmoidd' (did you mean 'sigmoid'?)"


def test_a_bad_case_does_not_stop_the_others_in_its_file():
    cases, errors = load("""
        cases:
          - name: good
            inputs: {x: 1.0}
            expr: exp(x)
          - name: bad
            inputs: {x: 1.0}
            expr: exp(x, x)
          - name: good2
            inputs: {x: 1.0}
            expr: sin(x)
    """)
    assert [c.name for c in cases] == ["good", "good2"]
    assert len(errors) == 1 and errors[0].case == "bad" and errors[0].line == 8


# ---- many files ------------------------------------------------------------------------

GOOD = "name: {name}\ninputs: {{x: 1.0}}\nexpr: exp(x)\n"


def test_load_paths_walks_directories_in_sorted_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a.yml").write_text(GOOD.format(name="a"))
    (tmp_path / "b" / "c.yaml").write_text(GOOD.format(name="c"))
    (tmp_path / "b" / "a.yaml").write_text(GOOD.format(name="ba"))
    (tmp_path / "notes.txt").write_text("not a case")
    result = load_paths([tmp_path])
    assert result.errors == []
    assert [Path(f).relative_to(tmp_path).as_posix() for f in result.files] == ["a.yml", "b/a.yaml", "b/c.yaml"]
    assert [c.name for c in result.cases] == ["a", "ba", "c"]


def test_one_bad_file_does_not_stop_the_good_ones(tmp_path):
    (tmp_path / "1.yaml").write_text(GOOD.format(name="one"))
    (tmp_path / "2.yaml").write_text("name: two\ninputs: {x: 1.0\n")
    (tmp_path / "3.yaml").write_bytes(b"name: three\xff\n")
    (tmp_path / "4.yaml").write_text(GOOD.format(name="four"))
    result = load_paths([tmp_path, tmp_path / "missing.yaml"])
    assert [c.name for c in result.cases] == ["one", "four"]
    assert [(Path(e.file).name, e.message.split(":")[0]) for e in result.errors] == [
        ("2.yaml", "YAML"), ("3.yaml", "not UTF-8 text (byte 11)"), ("missing.yaml", "no such file or directory")]


def test_duplicate_names_across_files_name_both_files(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD.format(name="same"))
    (tmp_path / "b.yaml").write_text("# another\n" + GOOD.format(name="same"))
    result = load_paths([tmp_path])
    assert [c.file for c in result.cases] == [str(tmp_path / "a.yaml")]
    (err,) = result.errors
    assert err.file == str(tmp_path / "b.yaml") and err.line == 2
    assert f"duplicate case name 'same': already defined at {tmp_path / 'a.yaml'}:1" in str(err)


def test_duplicate_names_in_one_file():
    cases, errors = load("""
        cases:
          - {name: d, inputs: {x: 1.0}, expr: x}
          - {name: d, inputs: {x: 2.0}, expr: x}
    """)
    assert len(cases) == 1 and len(errors) == 1 and "duplicate case name 'd'" in errors[0].message
    assert errors[0].line == 4


# ---- the JSON Schema agrees with the loader ---------------------------------------------------

class _Yaml12Loader(yaml.SafeLoader):
    """An independent reading of case files, as a YAML 1.2 editor sees them (1.0e6 is a number)."""


_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)$"),
    list("-+0123456789."))


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(case_schema())


CASE_FILES = sorted(p for p in (ROOT / "cases").rglob("*") if p.suffix in (".yaml", ".yml"))


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.relative_to(ROOT).as_posix() for p in CASE_FILES])
def test_every_bundled_case_file_passes_the_loader_and_the_schema(path):
    cases, errors = load_file(path)
    assert errors == [], [str(e) for e in errors]
    data = yaml.load(path.read_text("utf-8"), Loader=_Yaml12Loader)
    jsonschema.validate(data, case_schema(), cls=jsonschema.Draft202012Validator)
    assert len(cases) == len(data.get("cases", [data]))


BAD_CASES = [
    {"name": "a", "inputs": {"x": 1.0}, "expr": "x", "tittle": "t"},
    {"name": "a", "expr": "x"},
    {"inputs": {"x": 1.0}, "expr": "x"},
    {"name": "a b", "inputs": {"x": 1.0}, "expr": "x"},
    {"name": "a", "inputs": {"x": 1.0}},
    {"name": "a", "inputs": {"x": 1.0}, "expr": "x", "steps": {"y": "x"}},
    {"name": "a", "inputs": {"x": 1.0}, "expr": "x", "dtypes": ["float16"]},
    {"name": "a", "inputs": {"x": 1.0}, "expr": "x", "dtypes": []},
    {"name": "a", "inputs": {"x": 1.0}, "expr": "x", "mode": "fast"},
    {"name": "a", "inputs": {"x": 1.0}, "expr": "x", "tolerance": {"rtl": 1}},
    {"name": "a", "inputs": {"x": 1.0}, "expr": "x", "tolerance": {"rtol": -1}},
    {"name": "a", "inputs": {"x": {"shape": [2], "init": "gaussian"}}, "expr": "x"},
    {"name": "a", "inputs": {"x": {"shape": [2], "sead": 1}}, "expr": "x"},
    {"name": "a", "inputs": {"x": {"shape": [0]}}, "expr": "x"},
    {"name": "a", "inputs": {"x": {"shape": [2], "init": "uniform", "std": 1}}, "expr": "x"},
    {"name": "a", "inputs": {"x": {"init": "normal"}}, "expr": "x"},
    {"name": "a", "inputs": {"x": []}, "expr": "x"},
    {"name": "a", "inputs": {"x": "one"}, "expr": "x"},
    {"name": "a", "inputs": {"lambda": 1.0}, "expr": "1"},
    {"name": "a", "inputs": {}, "expr": "1"},
    {"name": "a", "inputs": {"x": 1.0}, "steps": {}},
    {"name": "a", "inputs": {"x": 1.0}, "expr": "x", "tags": "seed"},
    {"name": "a", "inputs": {"x": {"shape": [2], "seed": None}}, "expr": "x"},  # found by the property below
]


@pytest.mark.parametrize("data", BAD_CASES, ids=[str(i) for i in range(len(BAD_CASES))])
def test_loader_and_schema_both_refuse(data):
    cases, errors = load_text(yaml.safe_dump(data), "t.yaml")
    assert cases == [] and len(errors) == 1
    assert not jsonschema.Draft202012Validator(case_schema()).is_valid(data)


# ---- property: the loader's checks (the only ones that run) never let through what the schema refuses --

_BASE_CASE = {"name": "p", "title": "t", "tags": ["a"], "inputs": {"x": {"shape": [2], "init": "uniform", "low": 0.5,
                                                                   "high": 1.5, "seed": 1}, "u": [1.0, 2.0]},
              "constants": {"c": 2.0}, "steps": {"h": "x * c", "y": "sum(h * u)"}, "output": "y",
              "tolerance": {"rtol": 1e-6, "atol": 1e-9}, "dtypes": ["float64"], "mode": "full", "order": 1,
              "description": "d", "expect": {"x": "c * u"}}
_ODD_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(-2, 2), st.sampled_from(
    ["", "x", "full", "float32", "normal", "sum(x)", "1e3"]), st.lists(st.integers(0, 3), max_size=3),
    st.dictionaries(st.sampled_from(["shape", "rtol", "x", "init", "seed"]), st.integers(0, 3), max_size=2))


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_whatever_the_loader_accepts_the_schema_accepts(data):
    case = copy.deepcopy(_BASE_CASE)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from([p for p in _paths(case) if p]))
        parent = case
        for part in path[:-1]:
            parent = parent[part]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            parent[data.draw(st.sampled_from(["extra", "shape", "std", "rtol", "expr", "title"]))] = \
                data.draw(_ODD_VALUES)
        elif data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(_ODD_VALUES)
    cases, errors = load_text(yaml.safe_dump(case, sort_keys=False), "p.yaml")
    if cases:
        jsonschema.validate(yaml.load(yaml.safe_dump(case), Loader=_Yaml12Loader), case_schema(),
                            cls=jsonschema.Draft202012Validator)


# ---- property: a damaged file gives cases or located errors, never a crash -----------------------

SEED_TEXT = (ROOT / "cases" / "seed" / "01_sigmoid_affine.yaml").read_text("utf-8")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(SEED_TEXT) - 1), st.sampled_from(["replace", "delete", "insert"]),
                          st.sampled_from(list("\x0b\x00:-[]{}&*!|>'\"#\n\t ,.xσ0.5e") + ["!!python/name:os.system "])),
                min_size=1, max_size=6))
def test_damaged_files_give_cases_or_located_errors(edits):
    text = list(SEED_TEXT)
    for pos, op, ch in edits:
        pos = min(pos, len(text) - 1)
        if op == "replace":
            text[pos] = ch
        elif op == "delete":
            del text[pos]
        else:
            text.insert(pos, ch)
    cases, errors = load_text("".join(text), "d.yaml")
    assert len(cases) + len(errors) >= 1
    for err in errors:
        assert isinstance(err, CaseError) and err.file == "d.yaml" and "\n" not in str(err)
