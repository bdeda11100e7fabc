"""The shared results model: column contract, cell text, counts, exit code, safe names."""
import math

import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st

from gradcheck_suite.report.results import (COLUMNS, anchor_id, cell_text, conform, exit_code, number_text,
                                            safe_name, status_counts, worst_status)
from tests.cli.sample import mixed_table, row, table

CONTRACT = ("case, file, dtype, input, shape, check, status, max_abs_err, max_rel_err, atol, rtol, "
            "fd_err_est, worst_index, actual, expected, method, mode, message, seed, time_hand_s, "
            "time_torch_s, time_fd_s").split(", ")


def test_columns_are_the_contract_in_order():
    assert list(COLUMNS) == CONTRACT


def test_conform_orders_columns_and_fills_missing_ones():
    shuffled = pd.DataFrame([row()])[list(reversed(CONTRACT))].drop(columns=["fd_err_est", "mode"])
    out = conform(shuffled.assign(extra=1))
    assert list(out.columns) == CONTRACT
    assert math.isnan(out.loc[0, "fd_err_est"]) and out.loc[0, "mode"] == ""


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_number_text_round_trips(x):
    assert float(number_text(x)) == x


def test_cell_text_of_shapes_and_missing_values():
    assert cell_text((2, 3)) == "(2, 3)"
    assert cell_text((4,)) == "(4,)"
    assert cell_text(()) == "()"
    assert cell_text(None) == "" and cell_text(np.nan) == ""
    assert cell_text(np.int64(3)) == "3"


def test_status_counts_and_worst_status():
    counts = status_counts(mixed_table())
    assert counts == {"pass": 4, "nondiff": 1, "skip": 1, "fail": 1, "error": 2}
    assert worst_status(["pass", "nondiff", "fail"]) == "fail"
    assert worst_status(["fail", "error"]) == "error"
    assert worst_status(["skip", "pass"]) == "skip"


def test_exit_code_follows_the_worst_row():
    assert exit_code(table(row(), row(status="nondiff"), row(status="skip"))) == 0
    assert exit_code(table(row(), row(status="fail"))) == 1
    assert exit_code(table(row(status="fail"), row(status="error"))) == 2
    assert exit_code(mixed_table()) == 2


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_safe_names_cannot_leave_the_folder(name):
    safe = safe_name(name)
    assert safe and ".." not in safe and "/" not in safe and "\\" not in safe
    assert all(c.isascii() and (c.isalnum() or c in "_.-") for c in safe)
    assert anchor_id(name).startswith("case-")


def test_safe_name_keeps_valid_case_names():
    assert safe_name("sigmoid_affine.v2-b") == "sigmoid_affine.v2-b"
    assert safe_name("../../etc/passwd") == "etc-passwd"
