"""No case file vanishes: duplicate keys, unreadable folders, links, FIFOs, loops, odd names.

Issue 18, items 6–10: each way a case could silently disappear (or a file outside the
folder could be read into the reports) is an ``error`` row, a ``skip`` row or a warning.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from gradcheck_suite.errors import SkippedPath
from gradcheck_suite.loader import load_paths, load_text

GOOD = "name: {name}\ninputs: {{x: 0.5}}\nexpr: sin(x)\n"
SECRET = "https://ada:ghp_0123456789abcdefSECRETTOKEN@github.com\n"


def _run(args, cwd):
    return subprocess.run([sys.executable, "-m", "gradcheck_suite", "run", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=240)


def _table(path):
    return pd.read_csv(path, keep_default_na=False, dtype=str)


def test_two_cases_keys_at_the_root_are_an_error_not_a_lost_list():
    text = ("cases:\n  - name: failing\n    inputs: {x: 0.5}\n    expr: sin(x)\n"
            "cases:\n  - name: passing\n    inputs: {x: 0.5}\n    expr: cos(x)\n")
    cases, (err,) = load_text(text, "f.yaml")
    assert cases == []
    assert str(err) == "f.yaml:5:1: key 'cases': duplicate key 'cases' (already at line 1)"


@pytest.mark.parametrize("text, where", [
    ("name: a\nname: b\ninputs: {x: 0.5}\nexpr: sin(x)\n", "f.yaml:2:1"),
    ("name: a\ninputs: {x: {shape: [2], seed: 1, seed: 2}}\nexpr: sum(x)\n", "f.yaml:2:"),
    ("name: a\ninputs: {x: 0.5}\nsteps: {y: sin(x), y: cos(x)}\n", "f.yaml:3:"),
])
def test_duplicate_keys_anywhere_are_an_error(text, where):
    cases, (err,) = load_text(text, "f.yaml")
    assert cases == [] and str(err).startswith(where) and "duplicate key" in str(err)


def test_an_unreadable_folder_is_an_error_naming_it(tmp_path, monkeypatch):
    (tmp_path / "a.yaml").write_text(GOOD.format(name="a"))
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "b.yaml").write_text(GOOD.format(name="b"))
    real_scandir = os.scandir

    def scandir(path="."):  # as a user without the x/r bit sees it (the tests may run as root)
        if os.path.basename(os.fspath(path)) == "locked":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = load_paths([tmp_path])
    assert [c.name for c in result.cases] == ["a"]
    (err,) = result.errors
    assert str(err) == f"{locked}: cannot read this folder (Permission denied); the case files in it were not loaded"


def test_a_link_to_a_secret_outside_the_folder_is_not_read(tmp_path):
    secret = tmp_path / "git-credentials"
    secret.write_text(SECRET)
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "good.yaml").write_text(GOOD.format(name="good"))
    (cases / "creds.yaml").symlink_to(secret)
    done = _run(["cases", "--out", "out", "-q"], tmp_path)
    everything = done.stdout + done.stderr
    for report in (tmp_path / "out").rglob("*"):  # the answer key's pages in their folder too
        everything += report.read_text("utf-8") if report.is_file() else ""
    assert "SECRETTOKEN" not in everything and "ghp_" not in everything
    table = _table(tmp_path / "out" / "results.csv")
    skipped = table[table["status"] == "skip"]
    assert list(skipped["message"]) == ["cases/creds.yaml: skipped: a symbolic link to outside the folder being "
                                        "loaded (not followed; --follow-symlinks follows it)"]
    assert done.returncode == 0, everything  # a skip is said, and does not fail the gate


def test_follow_symlinks_reads_it_and_quotes_only_a_short_excerpt(tmp_path):
    secret = tmp_path / "git-credentials"
    secret.write_text(SECRET)
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "creds.yaml").symlink_to(secret)
    done = _run(["cases", "--out", "out", "-q", "--follow-symlinks"], tmp_path)
    table = _table(tmp_path / "out" / "results.csv")
    (message,) = table["message"]
    assert message.endswith("this file holds the value 'https://ada:…'")
    assert "SECRETTOKEN" not in done.stdout + done.stderr + (tmp_path / "out" / "summary.md").read_text()


def test_links_inside_the_folder_fifos_devices_and_loops_are_said_never_silent(tmp_path):
    root = tmp_path / "cases"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.yaml").write_text(GOOD.format(name="a"))
    (root / "alias.yaml").symlink_to(root / "sub" / "a.yaml")  # inside: followed, read once
    (root / "loop").symlink_to(root)  # a folder loop
    (root / "zero.yaml").symlink_to("/dev/zero")  # leaves the folder
    os.mkfifo(root / "pipe.yaml")
    (root / "broken.yaml").symlink_to(root / "missing.yaml")
    result = load_paths([root])
    assert [c.name for c in result.cases] == ["a"] and result.errors == []
    said = sorted(str(s) for s in result.skipped)
    assert all(isinstance(s, SkippedPath) for s in result.skipped)
    assert said == [
        f"{root}/broken.yaml: skipped: cannot follow it (No such file or directory: a broken link or a link loop)",
        f"{root}/loop: skipped: a folder already loaded (a symbolic link loop)",
        f"{root}/pipe.yaml: skipped: not a regular file (a FIFO, a device or a socket)",
        f"{root}/zero.yaml: skipped: a symbolic link to outside the folder being loaded (not followed; "
        "--follow-symlinks follows it)",
    ]
    followed = load_paths([root], follow_symlinks=True)
    assert any("zero.yaml: skipped: not a regular file" in str(s) for s in followed.skipped)


def test_list_and_validate_print_what_was_skipped(tmp_path):
    root = tmp_path / "cases"
    root.mkdir()
    (root / "a.yaml").write_text(GOOD.format(name="a"))
    os.mkfifo(root / "pipe.yaml")
    for command in ("list", "validate"):
        done = subprocess.run([sys.executable, "-m", "gradcheck_suite", command, "cases"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "warning: cases/pipe.yaml: skipped: not a regular file" in done.stderr


def test_a_fifo_named_on_the_command_line_does_not_block(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")
    result = load_paths([tmp_path / "pipe.yaml"])
    (err,) = result.errors
    assert "not a regular file" in str(err)


def test_a_folder_tree_1100_deep_is_walked_without_recursion(tmp_path):
    deep = tmp_path
    for _ in range(1100):  # (os.makedirs itself recurses)
        deep = deep / "d"
        deep.mkdir()
    (deep / "deep.yaml").write_text(GOOD.format(name="deep"))
    try:
        result = load_paths([tmp_path])
        assert [c.name for c in result.cases] == ["deep"] and result.errors == []
    finally:  # (shutil.rmtree, which pytest's clean-up uses, recurses too)
        (deep / "deep.yaml").unlink()
        while deep != tmp_path:
            deep.rmdir()
            deep = deep.parent


def test_a_file_name_that_is_not_utf8_is_loaded_and_reported(tmp_path):
    name = os.fsdecode(b"caf\xe9.yaml")
    (tmp_path / name).write_text(GOOD.format(name="cafe"))
    (tmp_path / "other.yaml").write_text(GOOD.format(name="other"))
    done = _run([".", "--out", "out", "-q"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    table = _table(tmp_path / "out" / "results.csv")
    assert set(table["case"]) == {"cafe", "other"}
    assert "caf\\xe9.yaml" in set(table["file"])
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {"results.csv", "report.html", "summary.md"}
