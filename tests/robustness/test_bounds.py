"""Bounded memory and time at load: intermediates, cost, file size, dimensions, big literals.

Each test is the reproduction of issue 18 scaled down: the limits are configured small, so
that a test that fails allocates megabytes, never gigabytes.
"""
from __future__ import annotations

import resource
import time

import pytest

from gradcheck_suite import engine
from gradcheck_suite.budget import OutOfTime, deadline
from gradcheck_suite.errors import CaseError, LimitError
from gradcheck_suite.loader import load_file, load_text

MEM_BOMB = "name: mem_bomb\ninputs: {{x: {{shape: [{n}]}}}}\nexpr: sum(exp(x[None, :] + x[:, None]))\n"


def _only_error(text, **limits):
    cases, errors = load_text(text, "f.yaml", **limits)
    assert cases == [] and len(errors) == 1, errors
    return errors[0]


def test_an_intermediate_over_the_element_limit_is_refused_from_its_shape():
    # the 85-byte case: x has 400 elements (under the limit), x[None, :] + x[:, None] 160,000
    err = _only_error(MEM_BOMB.format(n=400), element_limit=100_000)
    assert isinstance(err, LimitError)
    assert str(err) == ("f.yaml:3:15: case 'mem_bomb', step 'y': x[None, :] + x[:, None] would have shape "
                        "(400, 400), 160,000 elements; the limit is 100,000 per array (--element-limit raises it)")


def test_the_mem_bomb_at_full_size_is_refused_without_allocating():
    # 25,000 elements: 625,000,000 intermediate elements (5 GB); refused before any is made
    start = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    err = _only_error(MEM_BOMB.format(n=25000))
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert "625,000,000 elements; the limit is 10,000,000" in str(err)
    assert grown_kb < 200_000 and time.monotonic() - start < 10


def test_the_load_time_pass_keeps_only_what_is_still_needed():
    text = "name: chain\ninputs: {x: {shape: [1000]}}\nsteps:\n" + "".join(
        f"  s{i}: sin({'x' if i == 0 else f's{i - 1}'})\n" for i in range(50))
    (case,), _ = load_text(text)
    ev = engine.evaluate(case.graph, case.leaves(), keep={case.graph.output})
    alive = [v for v in ev.values if v is not None]
    assert len(alive) == 1 and ev.output.shape == (1000,)
    full = engine.evaluate(case.graph, case.leaves())  # the default keeps everything (the VJP needs it)
    assert all(v is not None for v in full.values)


def test_a_graph_over_the_cost_limit_is_refused_before_it_runs():
    # issue: 5 steps of 50 × `A @ …` with A 3000 × 3000 ran for minutes; here 30 × 30, a small limit
    steps = "".join(f"  s{k}: {' @ '.join(['A'] * 50)} @ {'v' if k == 0 else f's{k - 1}'}\n" for k in range(5))
    text = f"name: matmul_bomb\ninputs: {{v: {{shape: [30]}}}}\nconstants: {{A: {{shape: [30, 30]}}}}\nsteps:\n{steps}"
    err = _only_error(text, cost_limit=100_000)
    assert isinstance(err, LimitError)
    assert "multiply-adds" in str(err) and "the limit is 100,000 (--cost-limit raises it)" in str(err)
    assert str(err).startswith("f.yaml:5:7: case 'matmul_bomb', step 's0': one forward pass would need about")
    assert load_text(text)[1] == []  # the default limit lets this small one through


@pytest.mark.parametrize("op", ["eigh_vectors", "svd_u", "svd_v", "qr_q", "qr_r", "pinv"])
def test_a_decomposition_costs_its_cubic_work_not_its_size(op):
    # a 200 × 200 matrix: 40,000 elements in and out, but about 200³ = 8,000,000 multiply-adds
    text = f"name: cubic\ninputs: {{A: {{shape: [200, 200]}}}}\nexpr: sum({op}(A))\n"
    err = _only_error(text, cost_limit=1_000_000)
    assert isinstance(err, LimitError) and f"multiply-adds by {op}" in str(err), str(err)


def test_the_full_size_matmul_bomb_is_refused_up_front():
    steps = "".join(f"  s{k}: {' @ '.join(['A'] * 50)} @ {'v' if k == 0 else f's{k - 1}'}\n" for k in range(5))
    text = ("name: matmul_bomb\ninputs: {v: {shape: [3000, 3000]}}\nconstants: {A: {shape: [3000, 3000]}}\n"
            f"steps:\n{steps}")
    start = time.monotonic()
    err = _only_error(text)
    assert "multiply-adds" in str(err) and time.monotonic() - start < 20


def test_the_time_limit_covers_the_load_time_pass():
    # within the cost limit, but seconds of transcendental functions on a million elements
    text = "name: slow\ninputs: {x: {shape: [1000000]}}\nsteps:\n" + "".join(
        f"  s{i}: exp(sin({'x' if i == 0 else f's{i - 1}'}))\n" for i in range(200))
    start = time.monotonic()
    err = _only_error(text, time_limit=0.5)
    assert time.monotonic() - start < 10
    assert isinstance(err, LimitError)
    assert "loading the case took more than 0.5 s" in str(err)


def test_deadlines_nest():
    with pytest.raises(OutOfTime):
        with deadline(0.3):
            with deadline(5):
                pass
            time.sleep(2)  # the outer deadline is still armed after the inner one ended


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("name: big\ninputs: {x: [" + ", ".join(["1.0"] * 20_000) + "]}\nexpr: sum(x)\n")
    cases, (err,) = load_file(big, max_file_size=50_000)
    assert str(err) == f"{big}: the file is {big.stat().st_size:,} bytes; the limit is 50,000 " \
                       "(--max-file-size raises it)"
    assert len(load_file(big, max_file_size=200_000)[0]) == 1


def test_the_default_file_size_limit_is_one_mebibyte(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * 2**20 + b"\n")
    start = time.monotonic()
    _, (err,) = load_file(big)
    assert "the limit is 1,048,576" in str(err) and time.monotonic() - start < 1


@pytest.mark.parametrize("text, message", [
    ("name: d\ninputs: {x: {shape: [" + ", ".join(["1"] * 65) + "]}}\nexpr: sum(x)\n",
     "f.yaml:2:21: case 'd', key 'inputs.x.shape': inputs.x.shape has 65 dimensions; the limit is 32"),
    ("name: d\ninputs: {x: " + "[" * 65 + "1.0" + "]" * 65 + "}\nexpr: sum(x)\n",
     "f.yaml:2:45: case 'd', key 'inputs.x': inputs.x: the array nests more than 32 deep (the limit on "
     "dimensions)"),
    ("name: d\ninputs: {x: 1.0}\nexpr: x * sum(" + "[" * 65 + "1.0" + "]" * 65 + ")\n",
     "f.yaml:3:47: case 'd', step 'y': an array literal nests more than 32 deep (the limit on dimensions)"),
])
def test_too_many_dimensions_is_a_located_error(text, message):
    err = _only_error(text)
    assert isinstance(err, CaseError) and str(err) == message


def test_a_400_digit_literal_is_the_users_mistake():
    err = _only_error("name: big\ninputs: {x: 1.0}\nexpr: x * " + "9" * 400 + "\n")
    assert str(err) == ("f.yaml:3:11: case 'big', step 'y': the integer literal has 400 digits: beyond the range "
                        "of a float (about 1.8e308); write a smaller number")
    assert "bug" not in str(err)


def test_a_400_digit_input_is_the_users_mistake():
    err = _only_error("name: big\ninputs: {x: " + "9" * 400 + "}\nexpr: x * 2\n")
    assert str(err) == ("f.yaml:2:13: case 'big', key 'inputs.x': inputs.x is an integer of 400 digits, beyond "
                        "a float's range; inputs and constants must be finite")


def test_static_shapes_are_the_shapes_of_every_bundled_case():
    """Every primitive's shape rule agrees with the numpy forward on every bundled case:
    the bounds above see every node (a primitive that cannot would leave the rest unbounded)."""
    from pathlib import Path

    from gradcheck_suite.budget import static_shapes
    from gradcheck_suite.loader import load_paths
    from gradcheck_suite.ops import all_primitives

    loaded = load_paths([Path(__file__).parents[2] / "cases"])
    assert not loaded.errors
    used = set()
    for case in loaded.cases:
        shapes, failed = static_shapes(case.graph, {n: v.value_shape for n, v in {**case.inputs,
                                                                                   **case.constants}.items()})
        assert failed is None, (case.name, case.graph[failed].op)
        ev = engine.evaluate(case.graph, case.leaves())
        assert shapes == [tuple(v.shape) for v in ev.values], case.name
        used |= case.graph.primitives_used()
    assert used >= {p.name for p in all_primitives()}  # every primitive's shape rule is met
