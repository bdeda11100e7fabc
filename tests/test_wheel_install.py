"""gradcheck-suite installed into *another* repository, from its wheel (issue 12, section 6).

The wheel is built from this checkout, installed into a fresh virtualenv in a temporary
folder that holds only what a team's repository would: a ``cases/`` folder, a plugin
module with their layers and a ``pyproject.toml`` with ``[tool.gradcheck-suite]``.  The
gate runs there with no arguments (templates, schema and entry points must have shipped
in the wheel).  The fresh virtualenv reaches the heavy dependencies (torch, numpy …)
through a ``.pth`` line to this environment's site-packages, appended *after* its own, so
that ``gradcheck_suite`` itself can only come from the wheel.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ROOT / "examples" / "numpy_layers"


def _run(cmd, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, **kw)


@pytest.fixture(scope="module")
def team_repo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("team")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"), str(ROOT)])
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp / "dist").glob("gradcheck_suite-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    own = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    outer = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    Path(own, "zz_outer_dependencies.pth").write_text("\n".join(outer) + "\n")
    installed = _run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed",
                      "--target", own, str(wheel)])
    assert installed.returncode == 0, installed.stdout + installed.stderr
    script = env_dir / "bin" / "gradcheck-suite"
    script.write_text(f"#!{python}\nimport sys\nfrom gradcheck_suite.cli import main\n\nif __name__ == \"__main__\":\n    sys.exit(main())\n")
    script.chmod(0o755)
    repo = tmp / "repo"
    shutil.copytree(LAYERS / "cases", repo / "cases")
    (repo / "mylib").mkdir()
    shutil.copy(LAYERS / "layers.py", repo / "mylib" / "layers.py")
    (repo / "mylib" / "__init__.py").write_text("")
    (repo / "tests").mkdir()
    (repo / "tests" / "grad_plugin.py").write_text(
        (LAYERS / "plugin.py").read_text().replace("from layers import", "from mylib.layers import"))
    (repo / "pyproject.toml").write_text(textwrap.dedent("""\
        [project]
        name = "team-project"
        version = "1.0"

        [tool.gradcheck-suite]
        paths = ["cases"]
        plugins = ["tests/grad_plugin.py"]
        dtypes = ["float64", "float32"]
        out = "build/gradcheck"
        jobs = 2
    """))
    return python, repo


def test_the_package_comes_from_the_wheel(team_repo):
    python, repo = team_repo
    where = _run([str(python), "-c", "import gradcheck_suite, sys; print(gradcheck_suite.__file__)"], cwd=repo)
    assert where.returncode == 0, where.stderr
    assert str(python.parents[1]) in where.stdout and str(ROOT) not in where.stdout


def test_the_gate_runs_from_the_teams_configuration(team_repo):
    python, repo = team_repo
    done = _run([str(python.parent / "gradcheck-suite"), "run", "--quiet"], cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr
    out = repo / "build" / "gradcheck"
    for name in ("results.csv", "report.html", "answer-key.html", "junit.xml", "summary.md", "results.json"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert set(table["dtype"]) == {"float64", "float32"}
    assert (table["check"] == "subject_vs_fd").sum() == 2 * 8 and set(table["status"]) == {"pass"}
    assert 'name="gradcheck-suite"' in (out / "junit.xml").read_text()
    validated = _run([str(python), "-m", "gradcheck_suite", "validate"], cwd=repo)
    assert validated.returncode == 0, validated.stdout + validated.stderr


def test_a_broken_backward_in_the_team_repo_fails_the_gate(team_repo):
    python, repo = team_repo
    layers = repo / "mylib" / "layers.py"
    good = layers.read_text()
    try:
        layers.write_text(good.replace("g.sum(axis=0)\n", "g.mean(axis=0)\n", 1))
        done = _run([str(python.parent / "gradcheck-suite"), "run", "--quiet", "--format", "csv"], cwd=repo)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "subject_vs_fd" in done.stdout and "course_affine" in done.stdout
        pytest_run = _run([str(python), "-m", "pytest", "--gradcheck", "cases", "-q", "-p", "no:cacheprovider",
                           "-W", "ignore::DeprecationWarning"], cwd=repo)
        assert pytest_run.returncode == 1, pytest_run.stdout + pytest_run.stderr
        assert "FAILED cases/layers.yaml::course_affine[float64]" in pytest_run.stdout
    finally:
        layers.write_text(good)
