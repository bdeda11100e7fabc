"""Tools a test needs from the machine (headless Chromium, pdflatex): skipped where they are
missing — except under CI, where ``.ci/run`` installs them (``.ci/install-chromium``,
``.ci/install-latex``) and sets ``CI``: there a missing tool fails the test instead of
silently skipping it, so the browser and LaTeX tests cannot vanish from a green CI run."""
from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("GRADCHECK_CHROMIUM", "/usr/bin/chromium")


def under_ci() -> bool:
    """The CI variable is set (GitHub Actions, GitLab and .ci/run set it): promised tools must be there."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def need(found: bool, message: str) -> None:
    """Skip with ``message`` when the tool is not ``found`` — fail under CI."""
    if found:
        return
    if under_ci():
        pytest.fail(f"{message}; under CI this test must run, not be skipped")
    pytest.skip(message)


def need_chromium() -> None:
    need(os.path.exists(CHROMIUM), f"headless Chromium not found at {CHROMIUM} (.ci/install-chromium: "
                                   "apt-get install chromium, where apt-get and root are available)")


def need_pdflatex() -> None:
    need(shutil.which("pdflatex") is not None,
         "pdflatex not installed (.ci/install-latex: apt-get install texlive-latex-base)")
