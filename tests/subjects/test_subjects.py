"""Subjects, plugins, the team's configuration and the primitive-registration helpers (issue 12)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from gradcheck_suite import api, check_function, extend, subjects
from gradcheck_suite.config import ConfigError, read_config
from gradcheck_suite.ops import registry

from tests.harness.verdicts import statuses

X = np.random.default_rng(7).normal(size=(3, 4))


@pytest.fixture
def declared():
    """Subjects declared by a test are forgotten afterwards."""
    before = subjects.subjects()
    yield
    subjects.clear()
    for s in before:
        subjects._SUBJECTS.append(s)


@pytest.fixture
def primitive():
    """Primitives registered by a test are removed afterwards."""
    names = []

    def register(helper, *args, **kw):
        prim = helper(*args, **kw)
        names.append(prim.name)
        return prim

    yield register
    for n in names:
        registry._REGISTRY.pop(n, None)


def _case(tmp_path, text):
    path = tmp_path / "case.yaml"
    path.write_text(textwrap.dedent(text))
    loaded = api.load([path])
    assert not loaded.errors, [str(e) for e in loaded.errors]
    return loaded.cases[0]


TANH_CASE = """\
    name: my_tanh
    tags: [activations]
    inputs: {x: {shape: [5]}}
    steps:
      y: tanh(x)
"""


def test_a_subject_binds_by_tag_and_an_exception_is_an_error_row_naming_it(tmp_path, declared):
    case = _case(tmp_path, TANH_CASE)

    def broken(x):
        raise ValueError("operands could not be broadcast")

    subjects.subject(tag="activations")(broken)
    table = api.check_case(case).table
    rows = table[table["check"].str.startswith("subject_")]
    assert set(rows["status"]) == {"error"}
    assert all("subject 'test_a_subject_binds_by_tag_and_an_exception_is_an_error_row_naming_it.<locals>.broken'"
               in m and "ValueError: operands could not be broadcast" in m for m in rows["message"])
    assert statuses(table)["hand_vs_torch"] == "pass"  # the case's own checks still run


def test_two_subjects_for_one_case_are_refused(declared):
    subjects.subject("c")(torch.tanh)
    with pytest.raises(subjects.SubjectError, match="two subjects"):
        subjects.subject("c")(torch.sin)


def test_a_subject_of_a_large_input_is_checked_by_projections_and_passes():
    x = np.random.default_rng(1).normal(size=(60, 50))
    table = check_function(torch.tanh, [x], reference=torch.tanh).table
    grads = table[table["input"] == "x0"]
    assert set(grads["mode"]) == {"projected"} and set(grads["status"]) <= {"pass", "skip"}


def test_forward_ad_asked_for_but_missing_is_a_failure():
    class NoJvp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin()

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x.cos()

    auto = check_function(NoJvp.apply, [X]).table
    assert statuses(auto, input="x0")["subject_forward_ad"] == "skip"
    asked = check_function(NoJvp.apply, [X], forward_ad=True)
    assert statuses(asked.table, input="x0")["subject_forward_ad"] == "fail" and asked.exit_code == 1
    off = check_function(NoJvp.apply, [X], forward_ad=False).table
    assert "subject_forward_ad" not in set(off["check"])


def test_a_wrong_jvp_is_caught_by_forward_ad():
    class BadJvp(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return x.sin()

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])
            ctx.save_for_forward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x.cos()

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return -t * x.cos()

    table = check_function(BadJvp.apply, [X]).table
    assert statuses(table, input="x0")["subject_forward_ad"] == "fail"
    assert statuses(table, input="x0")["subject_vs_fd"] == "pass"


def test_elementwise_helper_primitive_is_checked_and_a_missing_jvp_is_a_skip_row(tmp_path, primitive):
    primitive(extend.elementwise, "t_cube", forward=lambda x: x ** 3, derivative=lambda x, out: 3 * x ** 2,
              torch=lambda x: x ** 3, jvp=False)
    case = _case(tmp_path, "name: cube\ninputs: {x: {shape: [4]}}\nsteps:\n  y: sum(t_cube(x))\n")
    got = statuses(api.check_case(case).table)
    assert got == {"hand_jvp": "skip", "hand_vs_torch": "pass", "hand_vs_fd": "pass", "torch_vs_fd": "pass"}


def test_a_wrong_plugin_derivative_is_caught(tmp_path, primitive):
    primitive(extend.elementwise, "t_cube_bad", forward=lambda x: x ** 3, derivative=lambda x, out: 2 * x ** 2,
              torch=lambda x: x ** 3)
    case = _case(tmp_path, "name: cube\ninputs: {x: {shape: [4]}}\nsteps:\n  y: sum(t_cube_bad(x))\n")
    got = statuses(api.check_case(case).table)
    assert got["hand_vs_fd"] == "fail" and got["hand_vs_torch"] == "fail" and got["torch_vs_fd"] == "pass"


def test_numpy_layer_without_torch_counterpart_skips_the_torch_checks(tmp_path, primitive):
    primitive(extend.from_numpy_layer, "t_scale", lambda x, w: x * w, lambda g, x, w: (g * w, (g * x).sum()),
              args=("x", "w"))
    case = _case(tmp_path, """\
        name: scale
        inputs: {x: {shape: [2, 3]}}
        constants: {w: 1.5}
        steps:
          y: sum(t_scale(x, w) ** 2)
    """)
    table = api.check_case(case).table
    got = statuses(table)
    assert got["hand_vs_fd"] == "pass" and got["hand_jvp"] == "skip"
    assert got["hand_vs_torch"] == "skip" and got["torch_vs_fd"] == "skip"
    assert "no torch counterpart: t_scale" in table[table["check"] == "torch_vs_fd"]["message"].iloc[0]


def test_from_autograd_function_checks_the_functions_backward(tmp_path, primitive):
    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3.3 * x ** 2  # wrong: 3.3, not 3

    primitive(extend.from_autograd_function, Cube, "t_cube_fn")
    case = _case(tmp_path, "name: cube\ninputs: {x: {shape: [4]}}\nsteps:\n  y: sum(t_cube_fn(x))\n")
    got = statuses(api.check_case(case).table)
    assert got["hand_vs_fd"] == "fail" and got["torch_vs_fd"] == "fail" and got["hand_jvp"] == "skip"


def test_the_teams_configuration_is_read_and_checked(tmp_path):
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""\
        [tool.gradcheck-suite]
        paths = ["gradcases"]
        dtypes = ["float32"]
        threshold = 10
        plugins = ["plug.py", "some.module"]
        [tool.gradcheck-suite.tolerances]
        float32 = { fd = { rtol = 0.5 } }
    """))
    cfg = read_config(tmp_path / "pyproject.toml")
    assert cfg.paths == [str(tmp_path / "gradcases")] and cfg.dtypes == ["float32"] and cfg.threshold == 10
    assert cfg.plugins == [str(tmp_path / "plug.py"), "some.module"]
    assert cfg.tolerances == {("float32", "fd"): (0.5, 2e-5)}
    (tmp_path / "pyproject.toml").write_text('[tool.gradcheck-suite]\npath = ["x"]\n')
    with pytest.raises(ConfigError, match="unknown key 'path' \\(did you mean 'paths'\\?\\)"):
        read_config(tmp_path / "pyproject.toml")
    (tmp_path / "pyproject.toml").write_text('[tool.gradcheck-suite]\njobs = 0\n')
    with pytest.raises(ConfigError, match="jobs = 0: expected a whole number"):
        read_config(tmp_path / "pyproject.toml")


def test_team_tolerances_reach_the_checks(tmp_path):
    case = _case(tmp_path, TANH_CASE)
    loose = api.check_case(case, tolerances={("float64", "analytic"): (0.25, 0.0)}).table
    row = loose[loose["check"] == "hand_vs_torch"].iloc[0]
    assert row["rtol"] == 0.25 and row["atol"] == 0.0


def _cli(cwd, *args):
    return subprocess.run([sys.executable, "-m", "gradcheck_suite", *args], capture_output=True, text=True, cwd=cwd)


def test_the_cli_reads_the_configuration_and_a_bad_plugin_stops_it_cleanly(tmp_path):
    (tmp_path / "gradcases").mkdir()
    (tmp_path / "gradcases" / "c.yaml").write_text(TANH_CASE)
    (tmp_path / "plug.py").write_text("import gradcheck_suite, torch\ngradcheck_suite.subject('my_tanh')(torch.tanh)\n")
    (tmp_path / "pyproject.toml").write_text('[tool.gradcheck-suite]\npaths = ["gradcases"]\nout = "rep"\n'
                                             'formats = ["csv"]\nplugins = ["plug.py"]\n')
    done = _cli(tmp_path, "run", "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr
    table = pd.read_csv(tmp_path / "rep" / "results.csv", keep_default_na=False)
    assert "subject_vs_fd" in set(table["check"])
    (tmp_path / "bad.py").write_text("import no_such_module_here\n")
    failed = _cli(tmp_path, "run", "--plugin", "bad.py", "--quiet")
    assert failed.returncode == 2
    assert "plugin 'bad.py' could not be loaded: ModuleNotFoundError: No module named 'no_such_module_here'" \
        in failed.stderr and "Traceback" not in failed.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.gradcheck-suite]\nthreshhold = 3\n')
    wrong = _cli(tmp_path, "list")
    assert wrong.returncode == 2 and "unknown key 'threshhold' (did you mean 'threshold'?)" in wrong.stderr


def test_an_installed_entry_point_plugin_is_loaded_by_the_cli(tmp_path):
    site = tmp_path / "site"
    (site / "teamplug-1.0.dist-info").mkdir(parents=True)
    (site / "teamplug-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: teamplug\nVersion: 1.0\n")
    (site / "teamplug-1.0.dist-info" / "entry_points.txt").write_text(
        "[gradcheck_suite.plugins]\nteam = teamplug_subjects\n")
    (site / "teamplug_subjects.py").write_text(
        "import gradcheck_suite, torch\ngradcheck_suite.subject('my_tanh')(torch.tanh)\n")
    (tmp_path / "c.yaml").write_text(TANH_CASE)
    import os

    env = dict(os.environ, PYTHONPATH=str(site))
    done = subprocess.run([sys.executable, "-m", "gradcheck_suite", "run", "c.yaml", "--out", "rep", "--format",
                           "csv", "--quiet", "--jobs", "2"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    table = pd.read_csv(tmp_path / "rep" / "results.csv", keep_default_na=False)
    assert {"subject_forward", "subject_vs_fd"} <= set(table["check"])
