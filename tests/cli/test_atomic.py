"""Atomic writes: a report is the old file or the whole new one, never a half."""
import os

import pytest

from gradcheck_suite.report import Report, write_reports
from gradcheck_suite.report.atomic import append_text, write_atomic
from tests.cli.sample import mixed_table


def test_write_replaces_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "deep" / "report.txt"
    write_atomic(target, "old")
    write_atomic(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert os.listdir(target.parent) == ["report.txt"]


def test_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "results.csv"
    target.write_text("complete old report")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "half")
    assert target.read_text() == "complete old report"
    assert os.listdir(tmp_path) == ["results.csv"]


def test_written_file_has_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        path = write_atomic(tmp_path / "r.html", "x")
    finally:
        os.umask(mask)
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_append_adds_after_existing_text(tmp_path):
    path = tmp_path / "summary"
    path.write_text("earlier step\n")
    append_text(path, "ours\n")
    assert path.read_text() == "earlier step\n\nours\n"


def test_write_reports_writes_each_format_and_appends_the_job_summary(tmp_path, monkeypatch):
    summary = tmp_path / "step_summary.md"
    summary.write_text("# earlier\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    paths = write_reports(Report(mixed_table()), tmp_path / "out")
    assert sorted(p.name for p in paths) == ["answer-key.html", "junit.xml", "report.html", "results.csv", "results.json",
                                             "summary.md"]
    assert summary.read_text().startswith("# earlier\n")
    assert (tmp_path / "out" / "summary.md").read_text() in summary.read_text()


def test_write_reports_honours_the_format_list(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    paths = write_reports(Report(mixed_table()), tmp_path, ["csv", "junit"])
    assert [p.name for p in paths] == ["results.csv", "junit.xml"]
    assert sorted(os.listdir(tmp_path)) == ["junit.xml", "results.csv"]
