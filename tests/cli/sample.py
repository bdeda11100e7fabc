"""Hand-built results tables, so the renderers are tested without the harness."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from gradcheck_suite.case import Case, ValueSpec
from gradcheck_suite.graph import Graph
from gradcheck_suite.report.results import COLUMNS

__all__ = ["row", "table", "mixed_table", "case", "run_result", "SCRIPT"]

SCRIPT = "<script>alert(1)</script>"


def row(**fields) -> dict:
    """One check row: a passing hand_vs_torch check unless told otherwise."""
    base = dict(case="sig", file="cases/sig.yaml", dtype="float64", input="x", shape=(3,),
                check="hand_vs_torch", status="pass", max_abs_err=1.1e-17, max_rel_err=2.2e-16,
                atol=1e-12, rtol=1e-10, fd_err_est=np.nan, worst_index=(1,), actual=0.25,
                expected=0.25, method="full", mode="full", message="", seed=0,
                time_hand_s=0.001, time_torch_s=0.002, time_fd_s=0.003)
    base.update(fields)
    return base


def table(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(COLUMNS))


def mixed_table() -> pd.DataFrame:
    """Every status, two dtypes, a load error without a case name."""
    return table(
        row(),
        row(check="hand_vs_fd", fd_err_est=1e-10),
        row(check="expect_vs_torch", status="fail", max_abs_err=0.1, max_rel_err=0.4, worst_index=(2,),
            actual=0.35, expected=0.25, message="claim for x is wrong at (2,): 0.35 vs torch 0.25"),
        row(dtype="float32", atol=1e-5, rtol=1e-4),
        row(case="relu_kink", file="cases/kinks.yaml", check="hand_vs_fd", status="nondiff",
            message="x sits on a kink of relu: one-sided derivatives 0 and 1"),
        row(case="relu_kink", file="cases/kinks.yaml"),
        row(case="skipped_case", file="cases/kinks.yaml", status="skip", message="no float32 for solve"),
        row(case="nan_case", file="cases/kinks.yaml", check="evaluate", input="", shape="", status="error",
            max_abs_err=np.nan, max_rel_err=np.nan, worst_index="", actual=np.nan, expected=np.nan,
            message="cases/kinks.yaml:9:5: case 'nan_case', step 'y': log of a negative number gives nan"),
        row(case="", file="cases/broken.yaml", dtype="", check="load", input="", shape="", status="error",
            max_abs_err=np.nan, max_rel_err=np.nan, atol=np.nan, rtol=np.nan, worst_index="",
            actual=np.nan, expected=np.nan, method="", mode="", time_hand_s=np.nan, time_torch_s=np.nan,
            time_fd_s=np.nan, message="cases/broken.yaml:3:3: unknown key 'inptus' (did you mean 'inputs'?)"),
    )


def case(name: str = "sig", *, title: str = "", description: str = "", steps=None, expect=None) -> Case:
    """A Case object as the loader would give it (the graph is not needed by renderers)."""
    return Case(name=name, file=f"cases/{name}.yaml", line=1,
                inputs={"x": ValueSpec("x", literal=[0.5, -1.0, 2.0])},
                constants={"w": ValueSpec("w", shape=(3,), init="normal", seed=7)},
                steps=dict(steps or {"y": "sigmoid(w * x)", "z": "sum(y)"}), graph=Graph(), output="z",
                title=title, description=description, tags=["teaching"], expect=dict(expect or {}))


def run_result(tab: pd.DataFrame, **extra) -> SimpleNamespace:
    """An object shaped like the harness's RunResult."""
    fields = dict(table=tab, cases=[], errors=[], arrays={}, exit_code=0)
    fields.update(extra)
    return SimpleNamespace(**fields)
