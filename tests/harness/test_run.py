"""Runs of many cases: deterministic tables, parallel = serial, shards, filters, time limits, progress."""
from __future__ import annotations

import pandas as pd

from gradcheck_suite import api
from gradcheck_suite.harness.verdict import COLUMNS

TIMINGS = ["time_hand_s", "time_torch_s", "time_fd_s"]

LIBRARY = """
cases:
  - name: a_sigmoid
    tags: [smooth]
    inputs: {x: {shape: [3], seed: 1}, w: {shape: [3]}}
    expr: sum(sigmoid(w * x))
    dtypes: [float64, float32]
  - name: b_kink
    tags: [kink]
    inputs: {x: [0.0, 1.0]}
    expr: sum(relu(x))
  - name: c_matrix
    tags: [smooth]
    inputs: {A: {shape: [3, 3]}, v: {shape: [3]}}
    expr: tanh(A @ v)
  - name: d_broken
    inputs: {x: [-1.0]}
    expr: sum(log(x))
  - name: e_projected
    inputs: {x: {shape: [2100]}}
    expr: sum(exp(x * 0.1))
"""


def _library(tmp_path):
    path = tmp_path / "lib.yaml"
    path.write_text(LIBRARY)
    return path


def _stable(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=TIMINGS)


def test_same_seed_same_table_and_seed_changes_values(tmp_path):
    path = _library(tmp_path)
    first, second = api.run([path], seed=3), api.run([path], seed=3)
    assert list(first.table.columns) == COLUMNS
    pd.testing.assert_frame_equal(_stable(first.table), _stable(second.table))
    other = api.run([path], seed=4)
    assert set(other.table["seed"]) == {4}
    a = first.table[first.table["case"] == "a_sigmoid"]["actual"].to_numpy()
    b = other.table[other.table["case"] == "a_sigmoid"]["actual"].to_numpy()
    assert (a != b).any()


def test_parallel_run_equals_serial_run(tmp_path):
    path = _library(tmp_path)
    serial = api.run([path], jobs=1)
    parallel = api.run([path], jobs=2)
    pd.testing.assert_frame_equal(_stable(serial.table), _stable(parallel.table))
    assert serial.exit_code == parallel.exit_code == 2
    assert set(serial.arrays) == set(parallel.arrays)


def test_rows_sorted_by_case_dtype_input_check(tmp_path):
    table = api.run([_library(tmp_path)]).table
    assert list(table["case"]) == sorted(table["case"])
    a = table[table["case"] == "a_sigmoid"]
    assert list(a["dtype"]) == ["float64"] * 6 + ["float32"] * 6
    assert list(a["input"])[:6] == ["x"] * 3 + ["w"] * 3
    assert list(a["check"])[:3] == ["hand_vs_torch", "hand_vs_fd", "torch_vs_fd"]
    assert set(table[table["case"] == "e_projected"]["mode"]) == {"projected"}


def test_shards_cover_every_case_once_and_filters_select(tmp_path):
    path = _library(tmp_path)
    names = [sorted(set(api.run([path], shard=(k, 3)).table["case"])) for k in (1, 2, 3)]
    flat = [n for part in names for n in part]
    assert sorted(flat) == ["a_sigmoid", "b_kink", "c_matrix", "d_broken", "e_projected"]
    assert len(flat) == len(set(flat))
    assert set(api.run([path], name_filter="kink").table["case"]) == {"b_kink"}
    assert set(api.run([path], tags=["smooth"]).table["case"]) == {"a_sigmoid", "c_matrix"}
    only32 = api.run([path], name_filter="a_", dtypes=["float32"]).table
    assert set(only32["dtype"]) == {"float32"}


def test_exit_codes_and_progress(tmp_path):
    path = _library(tmp_path)
    seen = []
    ok = api.run([path], tags=["smooth"], progress=lambda done, total, name: seen.append((done, total, name)))
    assert ok.exit_code == 0
    assert [s[:2] for s in seen] == [(1, 2), (2, 2)] and {s[2] for s in seen} == {"a_sigmoid", "c_matrix"}
    assert api.run([path], name_filter="b_kink").exit_code == 0  # nondiff is not a failure
    assert api.run([path], name_filter="d_broken").exit_code == 2


def test_time_limit_gives_a_timed_out_error_row(tmp_path):
    path = tmp_path / "slow.yaml"
    path.write_text("""
cases:
  - name: quick
    inputs: {x: 1.0}
    expr: exp(x)
  - name: slow
    inputs: {x: {shape: [6000]}}
    expr: sum(relu(x) * relu(x * 2.0))
    mode: full
""")
    result = api.run([path], time_limit=2, jobs=2)
    slow = result.table[result.table["case"] == "slow"]
    assert list(slow["status"]) == ["error"] and "timed out after 2 s" in slow["message"].iloc[0]
    assert set(result.table[result.table["case"] == "quick"]["status"]) == {"pass"}


def test_without_a_time_limit_a_case_still_stops_after_the_default(tmp_path, monkeypatch):
    import signal
    import time

    from gradcheck_suite.harness import run as run_module

    path = tmp_path / "cases.yaml"
    path.write_text("""
cases:
  - name: quick
    inputs: {x: 1.0}
    expr: exp(x)
  - name: hangs
    inputs: {x: 1.0}
    expr: sin(x)
""")
    from gradcheck_suite.harness import checks as checks_module

    real = checks_module.check_case

    def check_case(case, **kw):  # a case that would never finish
        if case.name == "hangs":
            time.sleep(60)
        return real(case, **kw)

    # the run imports check_case where it checks (never in a pool's main process)
    monkeypatch.setattr(checks_module, "check_case", check_case)
    monkeypatch.setattr(run_module, "DEFAULT_TIME_LIMIT", 0.5)
    started = time.monotonic()
    result = api.run([path])  # serial, in this process: the alarm interrupts the sleeping case
    assert time.monotonic() - started < 30
    hangs = result.table[result.table["case"] == "hangs"]
    assert list(hangs["status"]) == ["error"]
    assert "timed out after 0.5 s (the default limit" in hangs["message"].iloc[0]
    assert set(result.table[result.table["case"] == "quick"]["status"]) == {"pass"}
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # no alarm left behind
