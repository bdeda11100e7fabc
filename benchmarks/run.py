"""Benchmarks against torch.autograd.gradcheck: ``python benchmarks/run.py`` (see docs/performance.md).

Measures, side by side in one run, ours against the peer and prints one table (also
written as CSV, ``benchmarks/results.csv`` by default) with a ``ratio`` column
(ours / peer; medians of ``--reps`` repetitions):

* B1 the bundled library: ``gradcheck-suite run cases/`` (all reports; ``--jobs 1`` informative) against a loop of
  ``torch.autograd.gradcheck`` (full mode, float64) over the same cases' torch functions,
  each in its own process (the peer's time is its process minus our loader's time);
* B2 large inputs: sum(tanh(W @ x)) and a tanh MLP — our full three-way check against
  gradcheck full mode, our projected check against gradcheck fast mode, one 10^6-element
  projected check, and the peak resident set of each side at the largest size;
* B3 the engine alone: our reverse pass against torch.autograd's on the same graph;
* B4 start-up: one small case through the CLI against ``python -c "import torch"``;
* B6 scale: a generated library of 3,000 cases against the bundled library's run grown linearly,
  ``--jobs 2`` against ``--jobs 1``, and report.html's script in headless Chromium (``scale.py``).

``--quick`` runs every row on tiny sizes once (the smoke test); no number is asserted.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scale import bench_scale  # benchmarks/scale.py, beside this script (its folder is on sys.path)

HERE = Path(__file__).resolve().parent

ROOT = HERE.parent
COLUMNS = ["benchmark", "workload", "elements", "ours", "peer", "ours_s", "peer_s", "ratio", "target", "met",
           "ours_rss_mb", "peer_rss_mb", "reps", "load", "note"]

__all__ = ["COLUMNS", "main"]


# ---- processes ------------------------------------------------------------------------


def _worker(spec: dict) -> dict:
    """Run benchmarks/worker.py with ``spec``; its JSON answer."""
    argv = [sys.executable, str(HERE / "worker.py"), json.dumps(spec)]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {spec} failed: {proc.stderr.strip()[-800:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _child_rss(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time and peak resident set (MiB, from wait4) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv[:5])}… exited {proc.returncode}: {err.strip()[-400:]}")
    return wall, usage.ru_maxrss / 1024


def _until_output_ends(argv: list[str], cwd: Path) -> float:
    """Wall time until the output of ``argv`` ends — what a CI log or ``| tee`` waits for: the process
    and every process that shares its stdout and stderr (a run's workers and their server)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    proc.stdout.read()
    wall = time.perf_counter() - t0
    proc.wait()
    return wall


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _row(benchmark, workload, elements, ours, peer, ours_s, peer_s, target="", met="", ours_rss="", peer_rss="",
         reps=1, note="") -> dict:
    ratio = ours_s / peer_s if peer_s else float("nan")
    return dict(benchmark=benchmark, workload=workload, elements=elements, ours=ours, peer=peer,
                ours_s=float(f"{ours_s:.4g}"), peer_s=float(f"{peer_s:.4g}"), ratio=round(ratio, 3), target=target, met=met,
                ours_rss_mb=ours_rss if ours_rss == "" else round(ours_rss), peer_rss_mb=peer_rss if peer_rss == ""
                else round(peer_rss), reps=reps, load=_load(), note=note)


def _yes(ok: bool) -> str:
    return "yes" if ok else "no"


# ---- B1 -------------------------------------------------------------------------------


def bench_library(paths: list[str], reps: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as out:
        ours_cmd = [sys.executable, "-m", "gradcheck_suite", "run", *paths, "--out", out, "-q"]
        peer_spec = {"task": "peer_library", "paths": paths}
        t_ours, t_jobs, t_peer, t_noanswer, rss = [], [], [], [], {}
        info: dict = {}
        for _ in range(reps):
            wall, rss["ours"] = _child_rss(ours_cmd, ROOT)
            t_ours.append(wall)
            t_noanswer.append(_child_rss(ours_cmd + ["--format", "csv,junit,md,json"], ROOT)[0])
            wall, rss["jobs"] = _child_rss(ours_cmd + ["--jobs", "1"], ROOT)
            t_jobs.append(wall)
            t0 = time.perf_counter()
            info = _worker(peer_spec)
            t_peer.append(time.perf_counter() - t0 - info["load_s"])
            rss["peer"] = info["rss_mb"]
    peer = statistics.median(t_peer)
    note = (f"{info['cases']} cases; gradcheck passed {info['passed']}, failed {info['failed']} (kinks), "
            f"could not run {info['broken']}; peer time excludes our YAML loading "
            f"({info['load_s']:.2f} s)")
    ours = statistics.median(t_ours)
    rows.append(_row("B1", "library", info["cases"], "gradcheck-suite run (all reports)",
                     "gradcheck full-mode loop", ours, peer, "ratio ≤ 1.0", _yes(ours / peer <= 1.0),
                     rss["ours"], rss["peer"], reps, note))
    ci = statistics.median(t_noanswer)
    rows.append(_row("B1", "library", info["cases"], "gradcheck-suite run --format csv,junit,md,json",
                     "gradcheck full-mode loop", ci, peer, "ratio ≤ 0.6", _yes(ci / peer <= 0.6), reps=reps,
                     note="the CI formats: every report but report.html and its answer key"))
    jobs = statistics.median(t_jobs)
    rows.append(_row("B1", "library", info["cases"], "gradcheck-suite run --jobs 1", "gradcheck full-mode loop",
                     jobs, peer, "", "", rss["jobs"], rss["peer"], reps,
                     "informative: everything in one process (the default, --jobs auto, has a worker per core)"))
    return rows


# ---- B2 -------------------------------------------------------------------------------


def bench_large(sizes: list[int], big: int, reps: int) -> list[dict]:
    rows = []
    for workload in ("tanh_wx", "tanh_mlp"):
        for size in sizes:
            r = _worker({"task": "check", "workload": workload, "size": size, "reps": reps})
            for mode, fast, ours, peer in (("full", False, "full three-way check", "gradcheck full mode"),
                                           ("projected", True, "projected check", "gradcheck fast mode")):
                m = r[mode]
                target = met = ""
                if mode == "full" and size == 10_000:
                    target, met = "ratio ≤ 0.2", _yes(m["ours_s"] / m["peer_s"] <= 0.2)
                note = f"ours: {m['ours_status']}; gradcheck {'passed' if m['peer_ok'] else 'FAILED'}"
                ours_rss = peer_rss = ""
                if size == max(sizes) and mode == "full":  # each side alone in a process: its own peak
                    ours_rss, peer_rss = (_worker({"task": "one_side", "side": side, "workload": workload,
                                                   "size": size, "mode": mode, "fast": fast})["rss_mb"]
                                          for side in ("ours", "peer"))
                rows.append(_row("B2", workload, r["elements"], ours, peer, m["ours_s"], m["peer_s"], target, met,
                                 ours_rss, peer_rss, reps, note))
    r = _worker({"task": "check", "workload": "tanh_wx", "size": big, "modes": ["projected"], "reps": reps})
    m = r["projected"]
    rows.append(_row("B2", "tanh_wx", r["elements"], "projected check", "gradcheck fast mode", m["ours_s"],
                     m["peer_s"], "ours ≤ 3 s", _yes(m["ours_s"] <= 3.0), "", "", reps,
                     f"ours: {m['ours_status']}; gradcheck {'passed' if m['peer_ok'] else 'FAILED'}"))
    return rows


# ---- B3 -------------------------------------------------------------------------------


def bench_engine(nodes: int, elements: int, reps: int) -> list[dict]:
    rows = []
    for workload, size in (("scalar_chain", nodes), ("big_tensors", elements)):
        r = _worker({"task": "backward", "workload": workload, "size": size, "reps": reps})
        what = f"{r['nodes']} nodes, {r['elements']} input elements; gradients agree: {r['agree']}"
        limit = 1.0 if workload == "big_tensors" else 1.5  # issue 17: the 10^6-element backward ≤ 1.0
        rows.append(_row("B3", workload, r["elements"], "engine.gradient (reverse pass)",
                         "torch.autograd.grad (backward)", r["ours_b"], r["peer_b"], f"ratio ≤ {limit:g}",
                         _yes(r["ours_b"] / r["peer_b"] <= limit), "", "", reps, what))
        rows.append(_row("B3", workload, r["elements"], "engine.gradient (reverse pass)",
                         "torch.autograd.grad, 1 thread", r["ours_b"], r["peer_b_1thread"], "", "", "", "", reps,
                         "informative: torch limited to one core, as numpy's elementwise code is"))
        rows.append(_row("B3", workload, r["elements"], "engine forward + reverse", "torch forward + backward",
                         r["ours_fb"], r["peer_fb"], "", "", "", "", reps, "informative"))
    return rows


# ---- B4 -------------------------------------------------------------------------------


def bench_startup(case_file: str, reps: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as out:
        ours_cmd = [sys.executable, "-m", "gradcheck_suite", "run", case_file, "--out", out, "-q"]
        peer_cmd = [sys.executable, "-c", "import torch"]
        t_ours, t_peer, t_one, t_piped = [], [], [], []
        for _ in range(reps):
            t_ours.append(_child_rss(ours_cmd, ROOT)[0])
            t_peer.append(_child_rss(peer_cmd, ROOT)[0])
            t_one.append(_child_rss(ours_cmd + ["--jobs", "1"], ROOT)[0])
            t_piped.append(_until_output_ends(ours_cmd, ROOT))
    ours, peer, one = statistics.median(t_ours), statistics.median(t_peer), statistics.median(t_one)
    piped = statistics.median(t_piped)
    rows = [_row("B4", Path(case_file).name, 1, "gradcheck-suite run (one case, all reports)",
                 'python -c "import torch"', ours, peer, "ours − peer ≤ 0.3 s", _yes(ours - peer <= 0.3),
                 reps=reps, note=f"ours − peer = {ours - peer:.2f} s"),
            _row("B4", Path(case_file).name, 1, "gradcheck-suite run --jobs 1 (one case, all reports)",
                 'python -c "import torch"', one, peer, "", "", reps=reps,
                 note=f"informative: in one process; ours − peer = {one - peer:.2f} s"),
            _row("B4", Path(case_file).name, 1, "the same, until its output ends (piped, as in a CI log)",
                 'python -c "import torch"', piped, peer, "", "", reps=reps,
                 note=f"informative: the workers and their server share the output; ours − peer = {piped - peer:.2f} s")]
    # the commands that compute no gradient: under 0.6 s each, and never importing torch
    folder = str(Path(case_file).parent)
    for argv in (["--help"], ["ops"], ["list", folder], ["validate", folder]):
        code = ("import runpy, sys; sys.argv = ['gradcheck-suite'] + sys.argv[1:]\n"
                "try:\n    runpy.run_module('gradcheck_suite', run_name='__main__')\nexcept SystemExit:\n    pass\n"
                "sys.stderr.write('torch' if 'torch' in sys.modules else '')")
        times, torch_seen = [], False
        for _ in range(reps):
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", code, *argv], cwd=ROOT, capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            torch_seen = torch_seen or done.stderr.endswith("torch")
        t = statistics.median(times)
        rows.append(_row("B4", " ".join(argv), 0, f"gradcheck-suite {' '.join(argv)}", "(none: absolute time)",
                         t, t, "< 0.6 s, no torch", _yes(t < 0.6 and not torch_seen), reps=reps,
                         note=f"imports torch: {'yes' if torch_seen else 'no'}"))
    return rows


# ---- set-up ---------------------------------------------------------------------------


def byte_compile() -> str:
    """Write the package's bytecode caches before anything is timed, as every installation has them
    after its first run (a wheel's install writes them; an editable one on the first import) — unless
    PYTHONDONTWRITEBYTECODE is set, as in some sandboxes, where each process would compile the whole
    package again (0.3-0.5 s) while torch, the peer, is read from its caches."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("gradcheck_suite")
    folder = list(spec.submodule_search_locations or [])[0]
    ok = compileall.compile_dir(folder, quiet=1)
    return f"bytecode of {folder}: {'written' if ok else 'NOT all written'}"


# ---- the table ------------------------------------------------------------------------


def machine() -> str:
    """One line describing the machine and the load before the run."""
    import numpy
    import torch

    cpus = os.cpu_count()
    return (f"{platform.machine()} {cpus} cores, Python {platform.python_version()}, numpy {numpy.__version__}, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads), load {os.getloadavg()}")


def print_table(rows: list[dict]) -> None:
    shown = ["benchmark", "workload", "elements", "ours", "ours_s", "peer_s", "ratio", "target", "met",
             "ours_rss_mb", "peer_rss_mb", "load"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in shown}
    print("  ".join(c.ljust(widths[c]) for c in shown))
    for r in rows:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in shown))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repetition (the smoke test)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions per measurement (median; default 5)")
    parser.add_argument("--library-reps", type=int, default=3, help="repetitions of B1 (default 3)")
    parser.add_argument("--csv", default=str(HERE / "results.csv"), help="where to write the table as CSV")
    parser.add_argument("--only", default="B1,B2,B3,B4,B6", help="comma list of benchmarks to run")
    args = parser.parse_args(argv)
    only = {b.strip().upper() for b in args.only.split(",")}
    if args.quick:
        reps = lib_reps = 1
        paths, sizes, big, nodes, elements = ["cases/seed/"], [100], 1000, 40, 1000
        generated = 12
    else:
        reps, lib_reps = args.reps, args.library_reps
        paths, sizes, big, nodes, elements = ["cases/"], [1_000, 10_000, 40_000], 1_000_000, 1000, 1_000_000
        generated = 3000
    print(machine(), flush=True)
    print(byte_compile(), flush=True)
    rows: list[dict] = []
    steps = (("B1", lambda: bench_library(paths, lib_reps)), ("B2", lambda: bench_large(sizes, big, reps)),
             ("B3", lambda: bench_engine(nodes, elements, 3 * reps)),
             ("B4", lambda: bench_startup("cases/seed/01_sigmoid_affine.yaml", reps)),
             ("B6", lambda: bench_scale(paths[0], generated, _child_rss, _row, _yes)))
    for name, step in steps:
        if name in only:
            t0 = time.perf_counter()
            rows += step()
            print(f"{name} done in {time.perf_counter() - t0:.0f} s (load {_load()})", flush=True)
    print_table(rows)
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    with open(args.csv, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"written {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
