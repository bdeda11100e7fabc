"""``conform_rows`` (a worker's rows, no DataFrame) equals ``conform`` read back row by row."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gradcheck_suite import api
from gradcheck_suite.explain.routes import records
from gradcheck_suite.harness.checks import check_case
from gradcheck_suite.harness.table import CaseResult
from gradcheck_suite.report.results import COLUMNS, conform, conform_rows


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if a is pd.NA or b is pd.NA:
        return a is b
    return type(a) is type(b) and a == b


def _assert_equal(rows):
    expected = records(conform(pd.DataFrame(rows, columns=list(COLUMNS))))
    got = conform_rows(rows)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert list(g) == list(e)
        bad = {k: (g[k], e[k]) for k in COLUMNS if not _same(g[k], e[k])}
        assert not bad, bad


@pytest.mark.parametrize("folder", ["cases/seed", "cases/course", "cases/kinks", "cases/second_order"])
def test_the_rows_of_real_cases(folder):
    for case in api.load([folder]).cases[:12]:
        _assert_equal(check_case(case, dtypes=["float64", "float32"]).rows)


def test_error_rows_missing_columns_and_odd_values():
    (case,) = api.load(["cases/seed/01_sigmoid_affine.yaml"]).cases
    rows = check_case(case).rows
    odd = [dict(rows[0], max_abs_err=None, atol="1e-3", rtol="n/a", seed=None, message=None, method=np.nan,
                actual=np.float32(0.5), expected=True, worst_index=None),
           {k: v for k, v in rows[1].items() if k not in ("fd_err_est", "seed", "message", "shape")},
           dict(rows[2], seed=np.int64(7), dtype=None, actual=np.inf, expected=-np.inf)]
    _assert_equal(odd)
    result = CaseResult(case, rows=rows)
    assert conform_rows(result.rows)[0]["case"] == case.name
