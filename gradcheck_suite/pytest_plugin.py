"""pytest plugin: ``pytest --gradcheck PATH`` collects case files as test items.

Inactive until asked: without ``--gradcheck`` (or the ini option ``gradcheck_paths``)
it collects nothing.
"""
from __future__ import annotations


def pytest_addoption(parser):
    group = parser.getgroup("gradcheck", "gradcheck-suite case files")
    group.addoption("--gradcheck", action="append", default=[], metavar="PATH",
                    help="collect gradcheck-suite case files under PATH as tests")
    parser.addini("gradcheck_paths", "case-file paths collected by gradcheck-suite", type="args", default=[])
