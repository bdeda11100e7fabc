"""CSV and JSON: the table as files, exact columns, reproducible numbers."""
import csv
import io
import json

import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st

from gradcheck_suite.report import Report, render_csv, render_json
from gradcheck_suite.report.results import COLUMNS, TIME_COLUMNS
from tests.cli.sample import mixed_table, row, table


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_header_is_exactly_the_contract():
    header = render_csv(Report(mixed_table())).splitlines()[0]
    assert header.split(",") == list(COLUMNS)


def test_csv_reads_back_with_pandas():
    back = pd.read_csv(io.StringIO(render_csv(Report(mixed_table()))), keep_default_na=False)
    assert list(back.columns) == list(COLUMNS)
    assert list(back["status"]) == list(mixed_table()["status"])


def test_csv_is_reproducible_except_timings():
    first = mixed_table()
    second = mixed_table()
    second[list(TIME_COLUMNS)] = second[list(TIME_COLUMNS)] * 3.7
    a, b = _rows(render_csv(Report(first))), _rows(render_csv(Report(second)))
    assert render_csv(Report(first)) == render_csv(Report(mixed_table()))
    for ra, rb in zip(a, b):
        assert {k: v for k, v in ra.items() if k not in TIME_COLUMNS} == \
               {k: v for k, v in rb.items() if k not in TIME_COLUMNS}
    assert any(ra["time_fd_s"] != rb["time_fd_s"] for ra, rb in zip(a, b))


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=False), st.floats(min_value=0, allow_infinity=False))
def test_csv_floats_round_trip_exactly(err, actual):
    out = _rows(render_csv(Report(table(row(max_abs_err=err, actual=actual)))))[0]
    assert float(out["max_abs_err"]) == err and float(out["actual"]) == actual


def test_csv_missing_numbers_are_empty_cells():
    out = _rows(render_csv(Report(mixed_table())))[-1]
    assert out["check"] == "load" and out["max_abs_err"] == "" and out["time_fd_s"] == ""
    assert out["message"].startswith("cases/broken.yaml:3:3:")


def test_csv_quotes_messages_with_commas_and_newlines():
    msg = 'claim "a, b"\nsecond line'
    out = _rows(render_csv(Report(table(row(message=msg)))))[0]
    assert out["message"] == msg


def test_json_has_records_counts_and_meta():
    doc = json.loads(render_json(Report(mixed_table(), meta={"seed": 5, "versions": {"numpy": np.__version__}},
                                        incomplete=True)))
    assert doc["columns"] == list(COLUMNS)
    assert len(doc["results"]) == len(mixed_table())
    assert doc["results"][0]["case"] == "sig" and doc["results"][0]["shape"] == "(3,)"
    assert doc["results"][-1]["max_abs_err"] is None  # NaN → null, strict JSON
    assert doc["counts"]["error"] == 2 and doc["exit_code"] == 130  # interrupted: what the process returns
    assert doc["meta"]["seed"] == 5 and doc["incomplete"] is True


def test_json_is_strict_even_with_infinities():
    text = render_json(Report(table(row(max_abs_err=float("inf"), status="fail"))))
    doc = json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert doc["results"][0]["max_abs_err"] == "inf"


@settings(max_examples=100, deadline=None)
@given(st.floats())
def test_json_numbers_are_the_floats_themselves_or_named(err):
    value = json.loads(render_json(Report(table(row(max_abs_err=err)))))["results"][0]["max_abs_err"]
    if err != err:
        assert value is None
    elif err in (float("inf"), float("-inf")):
        assert value == ("inf" if err > 0 else "-inf")
    else:
        assert type(value) is float and value == err
