"""A synthetic run of many cases for the report's size and speed tests (no harness: the renderers alone)."""
from __future__ import annotations

import numpy as np

from gradcheck_suite.report import Report
from tests.cli.sample import case, row, table

__all__ = ["big_report"]

CHECKS = ("hand_vs_torch", "hand_vs_fd", "torch_vs_fd", "expect_vs_torch")


def big_report(cases: int, seed: int = 0) -> Report:
    """``cases`` cases in float64 and float32, four checks each, errors spread over ten decades below their bound,
    one failure in a hundred, a 2×3 gradient of each kept for the side-by-side view."""
    rng = np.random.default_rng(seed)
    rows, parsed, arrays = [], [], {}
    for i in range(cases):
        name = f"generated_case_{i:04d}"
        parsed.append(case(name, title=f"variant {i}", description="a generated variation of a library case"))
        for dtype in ("float64", "float32"):
            for check in CHECKS:
                err = 10 ** rng.uniform(-21, -11.5)  # up to about a third of the bound 2.6e-11
                status = "fail" if i % 100 == 7 and check == "expect_vs_torch" else "pass"
                rows.append(row(case=name, file=f"cases/gen/{i // 50}.yaml", dtype=dtype, check=check, shape=(2, 3),
                                status=status, max_abs_err=err * (1e12 if status == "fail" else 1),
                                time_fd_s=float(rng.uniform(0, 0.01))))
            arrays[(name, dtype, "x")] = {k: rng.normal(size=(2, 3)) for k in ("ours", "torch", "fd", "abs_err")}
    return Report(table(*rows), cases=parsed, arrays=arrays)
