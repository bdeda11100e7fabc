"""Hessians too large to keep whole are computed and judged in blocks of columns: the very rows of the whole
arrays (statuses, worst entry, its values and bound, messages), with no route's n·N array kept."""
from __future__ import annotations

import numpy as np
import pytest

from gradcheck_suite import api
from gradcheck_suite.harness import hessians
from gradcheck_suite.ops import registry
from gradcheck_suite.second_order import hvp

LAYER = """
    name: layer
    order: 2
    mode: full
    inputs:
      W: {shape: [5, 6], init: normal, std: 0.7}
      x: {shape: [6], init: normal}
    expr: sum(tanh(W @ x)) + 3 * sum(W * W)
    dtypes: [float64, float32]
"""

TIMES = ["time_hand_s", "time_torch_s", "time_fd_s"]


def _rows(case, **kw):
    table = api.check_case(case, **kw).table
    return table[[c for c in table.columns if c not in TIMES]]


def _blocked(monkeypatch, width_bytes):
    monkeypatch.setattr(hessians, "BLOCKED_ENTRIES", 0)
    monkeypatch.setattr(hessians, "BLOCK_BYTES", width_bytes)


@pytest.mark.parametrize("width_bytes", [1, 8 * 36 * 4, 2**30])  # one column per block, four, all
def test_blocked_rows_are_the_whole_arrays_rows(load_case, monkeypatch, width_bytes):
    case = load_case(LAYER)
    whole = _rows(case)
    _blocked(monkeypatch, width_bytes)
    blocked = _rows(case)
    assert (blocked["check"] == "hessian_vs_torch").sum() == 4
    assert whole.equals(blocked)


def test_a_wrong_rule_fails_blocked_at_the_same_entry_in_a_later_block(load_case, monkeypatch, broken):
    case = load_case(LAYER)
    wrong = registry.get("tanh").second_order[0]

    def off_late(g, ans, dans, dargs, x):  # wrong only where tanh's argument 4 moves: the last rows
        out = np.array(wrong(g, ans, dans, dargs, x))
        out[..., 4] *= 1.5
        return out

    broken("tanh", second_order=(off_late,))
    whole = _rows(case, dtypes=["float64"])
    _blocked(monkeypatch, 8 * 36 * 2)  # two columns per block
    blocked = _rows(case, dtypes=["float64"])
    assert whole.equals(blocked)
    r = blocked[(blocked["check"] == "hessian_vs_torch") & (blocked["input"] == "W")].iloc[0]
    worst = eval(r["worst_index"])  # (row of the columns, W's row, W's column)
    assert r["status"] == "fail" and worst[1] == 4 and worst[1] * 6 + worst[2] >= 2  # not in the first block
    assert "elements out of tolerance" in r["message"]


def test_the_blocks_put_together_are_the_columns_of_the_hvps(load_case):
    """ours: column c of ∂(∇s)/∂x is H·e_c (not a difference of anything)."""
    from gradcheck_suite.harness import prepare

    case = load_case(LAYER)
    point = prepare.case_point(case, "float64", 0, "full", None, [])
    route = hessians.hessian_routes(point, True)["hess_hand"]
    cols = route.full("x").value  # (N,) + x.shape, N = 30 + 6
    e = np.zeros((1, 6))
    e[0, 2] = 1
    _, hv = hvp(point.ev, {"x": e}, cotangent=route.w)
    assert np.array_equal(cols[:30, 2], hv["W"].reshape(-1)) and np.array_equal(cols[30:, 2], hv["x"].reshape(-1))
