"""``gradcheck-suite ops`` documents every primitive completely, and without importing torch.

Completeness is checked against the registry itself: every fact a registration declares
(derivative text, rule kind, torch counterpart, complex step, kinks, domain of every
argument, probe count, symbolic form or the reason there is none) is in the listing.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from gradcheck_suite import cli
from gradcheck_suite.ops import all_primitives
from gradcheck_suite.ops.lazy_torch import Deferred, counterpart_name

PRIMITIVES = all_primitives()


@pytest.fixture(scope="module")
def listing():
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["ops"]) == 0
    return out.getvalue()


def _entry(listing: str, name: str) -> str:
    """The block of the listing that documents ``name``."""
    start = listing.index(f"\n  {name}(")
    end = listing.find("\n  ", listing.index("symbolic:", start))
    return listing[start:end if end > 0 else None]


@pytest.mark.parametrize("prim", PRIMITIVES, ids=[p.name for p in PRIMITIVES])
def test_ops_documents_everything_the_registration_declares(listing, prim):
    block = _entry(listing, prim.name)
    assert prim.signature() in block and prim.doc in block
    for text in (prim.derivative_text() if prim.differentiable_output else ["not differentiable"]):
        assert text in block
    assert f"torch:        {counterpart_name(prim.torch)}" in block
    assert ("generated from one local derivative" in block) == (prim.local_derivative is not None)
    assert ("complex step: yes" in block) == prim.analytic
    assert ("kinks:        declared" in block) == (prim.kink is not None)
    for domain in prim.domain:
        assert domain.describe() in block
    assert f"probes:       {len(prim.probes)} call(s)" in block
    symbolic = block[block.index("symbolic:"):]
    if isinstance(prim.symbolic, str):
        assert prim.symbolic in symbolic
    else:
        assert "declared, not shown" not in symbolic and symbolic.split(":", 1)[1].strip()


def test_ops_counts_every_primitive(listing):
    assert listing.rstrip().endswith(f"{len(PRIMITIVES)} primitive(s)")


def test_a_torch_counterpart_is_named_without_importing_torch():
    assert repr(Deferred(("torch", "linalg", "solve"))) == "torch.linalg.solve"
    assert counterpart_name(Deferred(("torch", "exp"))) == "torch.exp"


# `list` and `validate` load cases: every intermediate is bounded from the primitives' shape rules
# (gradcheck_suite/budget.py) and evaluated once with numpy; nothing needs torch (issue 17 B4)
@pytest.mark.parametrize("argv", [["ops"], ["ops", "--format", "md"], ["--help"], ["list", "cases/"],
                                  ["validate", "cases/"], ["list", "tests/bad_cases"],
                                  ["validate", "tests/bad_cases"]])
def test_commands_that_compute_no_gradient_do_not_import_torch(argv):
    code = ("import sys\nfrom gradcheck_suite import cli\n"
            f"try:\n    cli.main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=str(__import__("pathlib").Path(__file__).parents[2]))
    assert done.stderr.strip().splitlines()[-1] == "False", done.stderr
