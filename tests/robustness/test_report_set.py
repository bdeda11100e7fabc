"""Reports are one set (issue 18, item 14): Ctrl-C, a full disk or a second run never mix two runs' files."""
from __future__ import annotations

import errno
import fcntl
import os
import subprocess
import sys

import pytest

from gradcheck_suite.report import FORMATS, Report, ReportWriteError, atomic, write_reports
from tests.cli.sample import mixed_table

CASE = "name: quick\ninputs: {x: 0.5}\nexpr: sin(x)\n"


def _old_set(out):
    write_reports(Report(mixed_table()), out)
    return {p.name: p.read_bytes() for p in out.iterdir()}


@pytest.mark.parametrize("stop", [KeyboardInterrupt(), OSError(errno.ENOSPC, "No space left on device")])
def test_a_stop_while_writing_leaves_the_old_set_untouched(tmp_path, monkeypatch, stop):
    out = tmp_path / "out"
    old = _old_set(out)
    real = atomic._write_file
    count = []

    def third_fails(path, data):
        count.append(path)
        if len(count) == 3:
            raise stop
        real(path, data)

    monkeypatch.setattr(atomic, "_write_file", third_fails)
    table = mixed_table()
    table["seed"] = 99
    with pytest.raises(type(stop) if isinstance(stop, KeyboardInterrupt) else ReportWriteError) as info:
        write_reports(Report(table), out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == old  # no staging folder left either
    if not isinstance(stop, KeyboardInterrupt):
        assert str(info.value) == (f"{out}: cannot write the reports (No space left on device); the reports "
                                   "already there were left as they were")


def test_fewer_formats_leave_no_file_of_an_older_run(tmp_path):
    out = tmp_path / "out"
    _old_set(out)
    write_reports(Report(mixed_table()), out, ["csv"])
    assert [p.name for p in out.iterdir()] == ["results.csv"]


def test_two_runs_into_one_folder_take_turns(tmp_path):
    (tmp_path / "c.yaml").write_text(CASE)
    out = tmp_path / "out"
    old = _old_set(out)
    fd = os.open(out, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another run is writing its set
    proc = subprocess.Popen([sys.executable, "-m", "gradcheck_suite", "run", "c.yaml", "--out", "out", "-q"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with pytest.raises(subprocess.TimeoutExpired):  # alone, the run takes a few seconds: it waits
            proc.wait(timeout=20)
        assert {p.name: p.read_bytes() for p in out.iterdir()} == old
    finally:
        os.close(fd)  # the other run is done
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    names = {p.name for p in out.iterdir()}
    assert names == {f for f, _ in FORMATS.values()} | {"answer-key.html", "answer-key"}
    assert all(b"quick" in (out / n).read_bytes() for n in names - {"answer-key"})  # all of them the new run's
    assert [p.name for p in (out / "answer-key").iterdir()] == ["quick.html"]


def _key_set(out, *names):
    """A set of reports whose answer key has a page for each of ``names``."""
    from gradcheck_suite.loader import load_text

    cases = [load_text(f"name: {n}\ninputs: {{x: 0.5}}\nexpr: sin(x)\n", "c.yaml")[0][0] for n in names]
    table = mixed_table()
    table["case"] = names[0]
    write_reports(Report(table, cases=cases), out)
    return sorted(p.name for p in (out / "answer-key").iterdir())


def test_the_answer_key_folder_is_replaced_whole(tmp_path):
    out = tmp_path / "out"
    assert _key_set(out, "alpha", "beta") == ["alpha.html", "beta.html"]
    assert _key_set(out, "gamma") == ["gamma.html"]  # no page of the older run left beside the new one
    write_reports(Report(mixed_table()), out, ["html"])  # no case: no answer-key page, no folder
    assert sorted(p.name for p in out.iterdir()) == ["answer-key.html", "report.html"]
    write_reports(Report(mixed_table()), out, ["csv"])
    assert [p.name for p in out.iterdir()] == ["results.csv"]


def test_a_stop_while_writing_the_answer_key_keeps_the_old_folder(tmp_path, monkeypatch):
    out = tmp_path / "out"
    _key_set(out, "alpha", "beta")
    old = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def stop(path, data):
        if "gamma" in str(path):
            raise KeyboardInterrupt
        real(path, data)

    real = atomic._write_file
    monkeypatch.setattr(atomic, "_write_file", stop)
    with pytest.raises(KeyboardInterrupt):
        _key_set(out, "delta", "gamma")
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == old


@pytest.mark.parametrize("name", ["../escape.html", "/abs.html", "a//b.html", "answer-key/../x.html", ""])
def test_a_report_name_never_leads_out_of_the_folder(tmp_path, name):
    with pytest.raises(ValueError, match="not a plain relative report name"):
        atomic.write_set(tmp_path, {name: "x"})
