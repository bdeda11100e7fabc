"""Nothing lost: Ctrl-C keeps finished results, reports are replaced whole, runs are reproducible.

Each test drives ``python -m gradcheck_suite run`` in a subprocess as a user or a CI job
would: a real SIGINT once some cases have finished (seen on the progress bar through a
pseudo-terminal), a SIGKILL while a report file is being written, and two runs with the
same seed compared cell by cell with pandas.
"""
from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

from gradcheck_suite.report.atomic import STAGING_PREFIX
from gradcheck_suite.report.results import TIME_COLUMNS
from tests.robustness.slow_cases import QUICK, SLOW

REPORTS = ("results.csv", "report.html", "junit.xml", "summary.md", "results.json")
COMMAND = [sys.executable, "-m", "gradcheck_suite", "run"]


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, dtype=str)


def _cli(args, cwd, **kw):
    done = subprocess.run(COMMAND + args, cwd=cwd, capture_output=True, text=True, timeout=240, **kw)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_sigint_keeps_the_finished_cases_and_marks_the_run_incomplete(tmp_path):
    (tmp_path / "a_quick.yaml").write_text(QUICK)
    (tmp_path / "b_slow.yaml").write_text(SLOW)
    master, slave = pty.openpty()
    env = dict(os.environ, COLUMNS="120", TERM="xterm")
    proc = subprocess.Popen(COMMAND + [".", "--out", "out"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=slave, env=env)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 180
    try:
        while b"3/4" not in seen:  # the three quick cases are done, the slow one is running
            assert time.monotonic() < deadline and proc.poll() is None, seen[-500:]
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                seen += os.read(master, 65536)
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        while True:  # drain what is left of the terminal output
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        os.close(master)
    assert proc.returncode == 130, stdout
    assert b"Traceback" not in stdout + seen
    table = _read(tmp_path / "out" / "results.csv")
    assert set(table["case"]) == {"quick_sin", "quick_layer", "quick_projected"}
    assert set(table["status"]) == {"pass"}
    meta = json.loads((tmp_path / "out" / "results.json").read_text())
    assert meta.get("incomplete") is True or meta.get("meta", {}).get("incomplete") is True, list(meta)
    assert "incomplete" in (tmp_path / "out" / "summary.md").read_text().lower()
    assert 'id="incomplete"' in (tmp_path / "out" / "report.html").read_text()
    suite = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    assert {p.get("name"): p.get("value") for p in suite.iter("property")}["incomplete"] == "true"


# runs the command line; the report file written N-th (N from the environment) stalls in its
# fsync, after its bytes went to the temporary file and before the rename
_SLOW_WRITER = """
import os, sys, time
real_fsync = os.fsync
written = []
def stalling_fsync(fd):
    written.append(fd)
    if len(written) - 1 == int(os.environ["STALL_AT"]):
        print("STALLED " + os.path.basename(os.readlink(f"/proc/self/fd/{fd}")), file=sys.stderr, flush=True)
        time.sleep(120)
    real_fsync(fd)
os.fsync = stalling_fsync
from gradcheck_suite.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_same_seed_same_table_and_a_killed_run_leaves_the_old_set_whole(tmp_path):
    """Two runs with seed 7 agree; a third (seed 8) into the same --out is killed while writing."""
    (tmp_path / "quick.yaml").write_text(QUICK)
    _cli(["quick.yaml", "--seed", "7", "--dtype", "float64,float32", "--out", "out"], tmp_path)
    _cli(["quick.yaml", "--seed", "7", "--dtype", "float64,float32", "--out", "again", "--format", "csv"], tmp_path)
    a, b = _read(tmp_path / "out" / "results.csv"), _read(tmp_path / "again" / "results.csv")
    assert len(a) == 3 * 2 * 4  # 4 inputs × 2 dtypes × 3 checks
    pd.testing.assert_frame_equal(a.drop(columns=list(TIME_COLUMNS)), b.drop(columns=list(TIME_COLUMNS)))

    out = tmp_path / "out"
    old = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert set(REPORTS) <= set(old) and "answer-key/quick_sin.html" in old  # the answer key's folder too
    victim = 2  # the third report written stalls: two new ones are already on disk
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, "run", "quick.yaml", "--seed", "8",
                             "--dtype", "float64,float32", "--out", "out", "-q"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, STALL_AT=str(victim)))
    try:
        line = proc.stderr.readline()
        assert line.startswith("STALLED "), line + proc.stderr.read()
        proc.send_signal(signal.SIGKILL)  # mid-write: no clean-up possible
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    for name, before in old.items():  # one set: every report is still the old one
        assert (out / name).read_bytes() == before, name
    # SIGKILL leaves only the hidden staging folder, which the next run into --out removes
    (left,) = [p.name for p in out.iterdir() if p.name not in old and p.name != "answer-key"]
    assert left.startswith(STAGING_PREFIX)
    _cli(["quick.yaml", "--seed", "8", "--dtype", "float64,float32", "--out", "out", "-q"], tmp_path)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(old)
    c = _read(out / "results.csv")
    assert set(c["seed"]) == {"8"} and len(c) == len(a) and not c["actual"].equals(a["actual"])
    for name in old:
        assert _whole(name, (out / name).read_bytes()), name


def _whole(name: str, data: bytes) -> bool:
    """Is ``data`` a complete report of its kind?"""
    text = data.decode("utf-8")
    if name.endswith(".csv"):
        return text.endswith("\n") and text.startswith("case,file,")
    if name.endswith(".html"):
        return text.rstrip().endswith("</html>")
    if name.endswith(".xml"):
        ET.fromstring(data)
        return True
    if name.endswith(".md"):
        return text.rstrip().endswith("</details>")
    json.loads(text)
    return True
