"""The benchmark script runs end to end on tiny sizes and writes the table it promises (no timings asserted)."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from tests.promised import CHROMIUM

ROOT = Path(__file__).resolve().parents[1]

#: (benchmark, workload, what ours is) of every row the script writes, in order
EXPECTED_ROWS = [
    ("B1", "library", "gradcheck-suite run (all reports)"),
    ("B1", "library", "gradcheck-suite run --format csv,junit,md,json"),
    ("B1", "library", "gradcheck-suite run --jobs 1"),
    ("B2", "tanh_wx", "full three-way check"),
    ("B2", "tanh_wx", "projected check"),
    ("B2", "tanh_mlp", "full three-way check"),
    ("B2", "tanh_mlp", "projected check"),
    ("B2", "tanh_wx", "projected check"),
    ("B3", "scalar_chain", "engine.gradient (reverse pass)"),
    ("B3", "scalar_chain", "engine.gradient (reverse pass)"),
    ("B3", "scalar_chain", "engine forward + reverse"),
    ("B3", "big_tensors", "engine.gradient (reverse pass)"),
    ("B3", "big_tensors", "engine.gradient (reverse pass)"),
    ("B3", "big_tensors", "engine forward + reverse"),
    ("B4", "01_sigmoid_affine.yaml", "gradcheck-suite run (one case, all reports)"),
    ("B4", "01_sigmoid_affine.yaml", "gradcheck-suite run --jobs 1 (one case, all reports)"),
    ("B4", "01_sigmoid_affine.yaml", "the same, until its output ends (piped, as in a CI log)"),
    ("B4", "--help", "gradcheck-suite --help"),
    ("B4", "ops", "gradcheck-suite ops"),
    ("B4", "list cases/seed", "gradcheck-suite list cases/seed"),
    ("B4", "validate cases/seed", "gradcheck-suite validate cases/seed"),
    ("B6", "generated_12", "gradcheck-suite run (12 generated cases, all reports)"),
    ("B6", "generated_12", "gradcheck-suite run --jobs 2"),
] + ([("B6", "generated_12", "report.html: its script in headless Chromium")]  # where chromium is installed
     if os.path.exists(CHROMIUM) else [])


def test_quick_run_writes_every_row_and_column(tmp_path):
    out = tmp_path / "results.csv"
    proc = subprocess.run([sys.executable, "benchmarks/run.py", "--quick", "--csv", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(out, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames
        rows = list(reader)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from run import COLUMNS
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert header == COLUMNS
    assert "ratio" in header and "ours_rss_mb" in header
    assert [(r["benchmark"], r["workload"], r["ours"]) for r in rows] == EXPECTED_ROWS
    assert all(r["peer"] for r in rows) and len({(r["ours"], r["peer"], r["workload"], r["elements"])
                                                 for r in rows}) == len(rows)
    for r in rows:
        ours, peer, ratio = float(r["ours_s"]), float(r["peer_s"]), float(r["ratio"])
        assert ours > 0 and peer > 0
        assert abs(ratio - ours / peer) <= 0.01 * ratio + 1e-3  # the ratio is ours / peer
        assert r["met"] in ("yes", "no", "")
        assert (r["met"] == "") == (r["target"] == "")
    # the peak resident set is reported at the largest B2 size, for both sides of the full check
    full = [r for r in rows if r["benchmark"] == "B2" and r["ours"] == "full three-way check"]
    assert all(float(r["ours_rss_mb"]) > 0 and float(r["peer_rss_mb"]) > 0 for r in full)
    # the printed table has the same rows and a ratio column
    lines = proc.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("benchmark "))
    assert "ratio" in lines[head].split()
    assert len([line for line in lines[head + 1:] if line.startswith("B")]) == len(EXPECTED_ROWS)


def test_the_generated_library_varies_the_bundled_cases(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from scale import write_library
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from gradcheck_suite.loader import load_paths

    assert write_library(ROOT / "cases" / "seed", tmp_path / "seed", 10) == 10
    loaded = load_paths([tmp_path / "seed"])
    assert not loaded.errors and len({c.name for c in loaded.cases}) == len(loaded.cases) == 10
    assert {c.name for c in loaded.cases} >= {"seed_two_paths_v1", "seed_two_paths_v2", "seed_sigmoid_affine_v3"}
    write_library(ROOT / "cases" / "broadcasting", tmp_path / "b", 80)
    seeds = {c.name: c.inputs["a"].seed for c in load_paths([tmp_path / "b"]).cases if "a" in c.inputs}
    assert seeds["add_row_plus_column_v2"] - seeds["add_row_plus_column_v1"] == 7919  # other numbers each round
