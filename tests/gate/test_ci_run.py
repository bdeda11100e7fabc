"""`.ci/run` runs the README's test command and installs chromium and pdflatex for their tests (issue 16).

The installer is run against stand-ins for ``id`` and ``apt-get`` on its PATH, so these
tests install nothing.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.promised import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / ".ci" / "install-chromium"
TOOLS = ("mktemp", "tail", "head", "rm", "cat", "chmod", "echo")


def fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/bash\n" + body + "\n")
    path.chmod(0o755)


def install(tmp_path, *, uid: int, apt: str | None, installer: Path = INSTALLER, binary: str = "GRADCHECK_CHROMIUM",
            stub: str = "chromium"):
    """Run the installer with only the given stand-ins (and a few coreutils) on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:
        if shutil.which(tool):
            (bin_dir / tool).symlink_to(shutil.which(tool))
    fake(bin_dir, "id", f"echo {uid}")
    if apt is not None:
        fake(bin_dir, "apt-get", f'echo "$*" >> {tmp_path}/apt.log\n{apt}')
    env = {"PATH": str(bin_dir), binary: str(tmp_path / stub), "HOME": str(tmp_path)}
    proc = subprocess.run([shutil.which("bash"), str(installer)], env=env, capture_output=True, text=True,
                          timeout=60)
    calls = (tmp_path / "apt.log").read_text().splitlines() if (tmp_path / "apt.log").exists() else []
    return proc, calls


CHROMIUM_STUB = 'printf "#!/bin/bash\\necho Chromium 140.0\\n" > {0}/chromium; chmod +x {0}/chromium'


def test_as_root_with_apt_it_updates_then_installs_and_says_so(tmp_path):
    apt = f'if [ "$1" = install ]; then {CHROMIUM_STUB.format(tmp_path)}; fi'
    proc, calls = install(tmp_path, uid=0, apt=apt)
    assert proc.returncode == 0 and proc.stderr == ""
    assert [c.split()[0] for c in calls] == ["update", "install"]
    assert "chromium" in calls[1].split() and "-y" in calls[1].split()
    assert proc.stdout == "chromium: installed Debian's chromium (Chromium 140.0); the browser test of " \
                          "report.html runs\n"


def test_without_root_it_does_not_try_and_says_why(tmp_path):
    proc, calls = install(tmp_path, uid=1000, apt="exit 1")
    assert proc.returncode == 0 and calls == []
    assert "apt-get needs root (this is uid 1000)" in proc.stdout and "will be skipped" in proc.stdout


def test_without_apt_get_it_says_why(tmp_path):
    proc, calls = install(tmp_path, uid=0, apt=None)
    assert proc.returncode == 0 and "no apt-get" in proc.stdout and "will be skipped" in proc.stdout


def test_a_failed_install_does_not_fail_ci_and_shows_apts_last_line(tmp_path):
    apt = 'if [ "$1" = install ]; then echo "E: Unable to locate package chromium" >&2; exit 100; fi'
    proc, calls = install(tmp_path, uid=0, apt=apt)
    assert proc.returncode == 0 and len(calls) == 2
    assert "could not install it (E: Unable to locate package chromium)" in proc.stdout


def test_an_installed_chromium_is_left_alone(tmp_path):
    (tmp_path / "chromium").write_text("#!/bin/bash\n")
    (tmp_path / "chromium").chmod(0o755)
    proc, calls = install(tmp_path, uid=0, apt="exit 1")
    assert calls == [] and "is installed; the browser test of report.html runs" in proc.stdout


def test_install_latex_installs_texlive_latex_base_as_root_and_says_so(tmp_path):
    stub = 'printf "#!/bin/bash\\necho pdfTeX 3.14\\n" > {0}/pdflatex; chmod +x {0}/pdflatex'.format(tmp_path)
    proc, calls = install(tmp_path, uid=0, apt=f'if [ "$1" = install ]; then {stub}; fi',
                          installer=ROOT / ".ci" / "install-latex", binary="GRADCHECK_PDFLATEX", stub="pdflatex")
    assert proc.returncode == 0 and proc.stderr == ""
    assert [c.split()[0] for c in calls] == ["update", "install"] and "texlive-latex-base" in calls[1].split()
    assert proc.stdout == "pdflatex: installed Debian's texlive-latex-base (pdfTeX 3.14); the LaTeX output test runs\n"


def test_install_latex_without_root_says_the_test_fails_under_ci(tmp_path):
    proc, calls = install(tmp_path, uid=1000, apt="exit 1", installer=ROOT / ".ci" / "install-latex",
                          binary="GRADCHECK_PDFLATEX", stub="pdflatex")
    assert proc.returncode == 0 and calls == []
    assert proc.stdout.startswith("pdflatex: not installed, and apt-get needs root") and "fails under CI" in proc.stdout


def test_ci_run_installs_chromium_then_runs_exactly_the_readmes_test_command():
    run = (ROOT / ".ci" / "run").read_text().splitlines()
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"```bash\n(python3 -m venv .*?-m pytest .*?)\n```", readme).group(1)
    steps = [s.strip() for s in command.split("&&")]
    # the README's steps, in order, each a line of .ci/run (the venv is .ci-venv there)
    lines = [line.strip() for line in run]
    positions = [lines.index(s.replace(".venv", ".ci-venv")) for s in steps]
    assert positions == sorted(positions)
    assert lines.index(".ci/install-chromium") < positions[0]
    assert lines.index(".ci/install-latex") < positions[0]  # and the LaTeX test is required under CI:
    assert lines.index('export CI="${CI:-true}"') < positions[-1]


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium not installed here")
def test_the_browser_test_is_not_skipped_where_chromium_is_installed():
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:randomly",
                           "tests/cli/test_browser.py"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "skipped" not in proc.stdout and "4 passed" in proc.stdout
