"""B6 (scale): a generated library of 3,000 cases, written by the benchmark, run with every report.

The library is made of variations of the bundled cases: each case of ``cases/`` copied under a
new name (``NAME_v3``) with the seeds of its generated inputs and constants moved (so each variant
checks other numbers), as many rounds as it takes to reach the count.  ``benchmarks/run.py --only
B6`` then measures, against the bundled library's own run in the same session:

* time: the generated run takes at most the library's time × (3,000 / the library's cases) — grows
  at most linearly — and its peak resident set stays under 2 GiB;
* ``--jobs 2`` is faster than ``--jobs 1`` on it;
* ``report.html`` is under 5 MB and interactive: headless Chromium opens it (``--dump-dom``) and the
  page's own script records how long it took (``data-script-ms``: building the table, sorting and
  filtering it, under 1 s); no file of the answer key is over 5 MB.
"""
from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

import yaml

__all__ = ["write_library", "bench_scale", "CHROMIUM"]

#: Debian's headless Chromium (``.ci/install-chromium`` installs it); another with GRADCHECK_CHROMIUM
CHROMIUM = os.environ.get("GRADCHECK_CHROMIUM", "/usr/bin/chromium")
MB = 1_000_000
#: the targets of issue 17
MAX_PAGE_BYTES, MAX_SCRIPT_S, MAX_RSS_MB = 5 * MB, 1.0, 2048


def _cases_of(path: Path) -> list[dict]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(doc, dict) and isinstance(doc.get("cases"), list):
        return doc["cases"]
    return [doc] if isinstance(doc, dict) and "name" in doc else []


def _variant(case: dict, k: int) -> dict:
    """Case ``case`` under the name ``NAME_vK`` with every generated value's seed moved by ``k``."""
    out = copy.deepcopy(case)
    out["name"] = f"{case['name']}_v{k}"
    for group in ("inputs", "constants"):
        for spec in (out.get(group) or {}).values():
            if isinstance(spec, dict) and isinstance(spec.get("seed"), int):
                spec["seed"] += 7919 * k
    return out


def write_library(source: Path, target: Path, count: int) -> int:
    """Write ``count`` cases varied from those under ``source`` into ``target`` (one file per source
    file and round); returns the number written."""
    files = sorted(source.rglob("*.yaml"))
    originals = [(f, _cases_of(f)) for f in files]
    written, k = 0, 1
    while written < count:
        for f, cases in originals:
            chosen = cases[:count - written]
            if not chosen:
                continue
            out = target / f"round{k}" / f.relative_to(source)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(yaml.safe_dump({"cases": [_variant(c, k) for c in chosen]}, sort_keys=False,
                                          allow_unicode=True), encoding="utf-8")
            written += len(chosen)
            if written >= count:
                break
        k += 1
    return written


def _cases_in(out: Path) -> int:
    """Cases the run reported (distinct names in results.csv)."""
    import csv

    with open(out / "results.csv", newline="", encoding="utf-8") as fh:
        return len({r["case"] or r["file"] for r in csv.DictReader(fh)})


def script_seconds(page: Path, profile: Path) -> tuple[float, float, float]:
    """(script, sort, filter) seconds the page's own script recorded in headless Chromium."""
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-extensions",
         f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=300)
    found = dict(re.findall(r'data-(script|sort|filter)-ms="([\d.]+)"', proc.stdout))
    if proc.returncode != 0 or "script" not in found:
        raise RuntimeError(f"chromium did not run the page's script: {proc.stderr.strip()[-400:]}")
    return tuple(float(found[k]) / 1000 for k in ("script", "sort", "filter"))


def bench_scale(library: str, count: int, child: Callable[[list[str], Path], tuple[float, float]],
                row: Callable[..., dict], yes: Callable[[bool], str]) -> list[dict]:
    """The B6 rows; ``child`` runs a command and returns (wall s, peak MiB), ``row`` builds a table row."""
    root = Path(__file__).resolve().parents[1]
    work = Path(tempfile.mkdtemp(prefix="gradcheck-b6-"))
    try:
        generated = work / "cases"
        write_library(root / library, generated, count)
        run = [sys.executable, "-m", "gradcheck_suite", "run"]
        t_lib, rss_lib = child(run + [library, "--out", str(work / "lib"), "-q"], root)
        n_lib = _cases_in(work / "lib")
        t_all, rss_all = child(run + [str(generated), "--out", str(work / "all"), "-q"], root)  # default jobs
        t_one, rss_one = child(run + [str(generated), "--out", str(work / "one"), "-q", "--jobs", "1"], root)
        t_two, rss_two = child(run + [str(generated), "--out", str(work / "two"), "-q", "--jobs", "2"], root)
        n = _cases_in(work / "all")
        linear = t_lib * n / n_lib
        page = work / "all" / "report.html"
        key_files = [p for p in (work / "all").rglob("*.html") if p.name != "report.html"]
        biggest = max((p.stat().st_size for p in key_files), default=0)
        notes = (work / "all" / "answer-key.html").read_text(encoding="utf-8").count("(no answer key: see its page)")
        rows = [
            row("B6", f"generated_{n}", n, f"gradcheck-suite run ({n} generated cases, all reports)",
                f"library run × {n}/{n_lib} (linear growth)", t_all, linear, "ratio ≤ 1; peak < 2 GiB",
                yes(t_all <= linear and max(rss_all, rss_one) < MAX_RSS_MB), rss_all, rss_lib, 1,
                f"library: {n_lib} cases in {t_lib:.1f} s; {notes} answer-key pages with a note instead"),
            row("B6", f"generated_{n}", n, "gradcheck-suite run --jobs 2", "gradcheck-suite run --jobs 1", t_two, t_one,
                "ratio < 1", yes(t_two < t_one), rss_two, rss_one, 1,
                "peak: of the main process (the workers are the forkserver's children); with --jobs 1 of everything"),
        ]
        if os.path.exists(CHROMIUM):
            script, sort, filt = script_seconds(page, work / "profile")
            size = page.stat().st_size
            rows.append(row("B6", f"generated_{n}", n, "report.html: its script in headless Chromium", "1 s",
                            script, MAX_SCRIPT_S, "ratio < 1; report.html and every answer-key file < 5 MB",
                            yes(script < MAX_SCRIPT_S and size < MAX_PAGE_BYTES and biggest < MAX_PAGE_BYTES),
                            "", "", 1, f"report.html {size / MB:.2f} MB; largest answer-key file "
                            f"{biggest / MB:.2f} MB of {len(key_files)}; sort {sort * 1000:.0f} ms, "
                            f"filter {filt * 1000:.0f} ms"))
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)
