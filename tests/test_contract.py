"""The results contract lives in one module and the documentation states all of it."""
from __future__ import annotations

import re
from pathlib import Path

from gradcheck_suite import contract
from gradcheck_suite.harness import checks, verdict
from gradcheck_suite.report import results

DOCS = Path(__file__).resolve().parents[1] / "docs" / "reports.md"


def test_every_module_uses_the_contracts_own_objects():
    assert results.STATUSES is contract.STATUSES and verdict.STATUSES is contract.STATUSES
    assert results.COLUMNS is contract.COLUMNS and tuple(verdict.COLUMNS) == contract.COLUMNS
    assert verdict.CHECK_ORDER is contract.CHECK_ORDER
    assert results.STATUS_ORDER is contract.STATUS_ORDER


def test_the_declared_checks_are_the_contracts_gradient_checks_in_order():
    declared = [c.name for c in checks.DECLARED]
    order = [c for c in contract.CHECKS if c in declared]
    assert declared == order
    # rows that compare no two gradient routes: a skip-only row and the forward value of a subject
    assert set(contract.CHECKS) - set(declared) == {"hand_jvp", "subject_forward"}


def test_every_check_and_status_is_documented():
    text = DOCS.read_text()
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", text, flags=re.M))
    assert set(contract.CHECK_ORDER) <= documented
    assert set(contract.STATUSES) <= documented
    assert set(contract.CHECK_DOCS) == set(contract.CHECK_ORDER)


def test_status_order_ranks_every_status():
    assert sorted(contract.STATUS_ORDER, key=contract.STATUS_ORDER.get)[0] == "error"
    assert set(contract.STATUS_ORDER) == set(contract.STATUSES)
