"""B5, second order: ``python benchmarks/second_order.py`` (see docs/performance.md).

The order-2 check of sum(tanh(W @ x)) (workload ``tanh_wx``: W the input) by
gradcheck-suite — first-order rows plus ``hessian_vs_torch``, ``hessian_vs_grad_fd``,
``hessian_vs_fd`` in auto mode — against ``torch.autograd.gradgradcheck`` on the same
torch function, each side in its own process, in the same run:

* time of the check itself (imports, case loading and a warm-up on a 64-element instance
  excluded on both sides), median of ``--reps`` processes; the peak resident set of each
  process (``wait4``);
* the peer runs under a memory cap (``--cap-mb``, default 3072: the machine is shared) and
  a time cap; a peer killed by either is reported as such, never as a number;
* every size in ``--sizes`` is checked in auto mode (projected Hessians above the thresholds),
  every size in ``--full-sizes`` also with ``mode: full`` (every Hessian column by every route that
  computes it whole, what gradgradcheck computes); the ``ours`` column and the note name the mode,
  and the peer measured at a size serves both rows.  gradgradcheck needs ~5.7 GiB at 10^4: measure
  the full 10^4 row with ``--cap-mb 7000`` (and the 4·10^4 row, where it runs out, with the default).

Writes the same columns as ``benchmarks/run.py`` (``benchmarks/second_order.csv``).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run import COLUMNS  # noqa: E402  (the benchmark table's columns, in one place)

SIZES = (1_000, 10_000, 40_000)
TARGETS = {1_000: "ratio ≤ 0.2", 10_000: "ratio ≤ 0.2", 40_000: "< 5 s, < 2 GiB; gradgradcheck out of memory"}
#: sizes also measured with full Hessian columns forced (``--mode full``: what gradgradcheck computes)
FULL_SIZES = (1_000, 10_000)


def _side(which: str, n: int, mode: str = "auto") -> None:
    """In a child process: one side's check of tanh_wx(n), after a warm-up on a small one (lazy imports,
    first double backward: as benchmarks/worker.py does); prints {"seconds", "outcome"}.  ``mode`` is
    ours: auto, or full (full Hessian columns by every route)."""
    from workloads import tanh_wx

    from gradcheck_suite.loader import load_text

    def check(size: int) -> tuple[float, str]:
        (case,), _ = load_text(tanh_wx(size))
        if which == "ours":
            from gradcheck_suite import api

            t0 = time.perf_counter()
            table = api.check_case(case, dtypes=["float64"], order=2, mode=mode).table
            seconds = time.perf_counter() - t0
            counts = table["status"].value_counts().to_dict()
            return seconds, ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        import torch

        from gradcheck_suite.reference.torch_ref import torch_function

        f = torch_function(case, "float64")
        leaves = case.leaves(0)
        inputs = tuple(torch.tensor(leaves[k], dtype=torch.float64, requires_grad=True) for k in case.graph.inputs)
        t0 = time.perf_counter()
        ok = torch.autograd.gradgradcheck(f, inputs, raise_exception=False)
        return time.perf_counter() - t0, "gradgradcheck passed" if ok else "gradgradcheck failed"

    check(64)  # warm-up
    mark = os.environ.get("B5_STARTED")
    if mark:  # when the timed check starts: a peer stopped by a cap ran at least this long
        Path(mark).write_text(repr(time.time()))
    seconds, outcome = check(n)
    print(json.dumps({"seconds": seconds, "outcome": outcome}))


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _child(which: str, n: int, cap_mb: float, time_cap: float, mode: str = "auto") -> dict:
    """Run one side; kill it above ``cap_mb`` resident or after ``time_cap`` seconds."""
    argv = [sys.executable, __file__, "--side", which, "--n", str(n), "--mode", mode]
    mark = Path(tempfile.mkdtemp()) / "started"
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, B5_STARTED=str(mark)))
    t0, killed = time.perf_counter(), ""
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if _rss_mb(proc.pid) > cap_mb:
            killed = f"killed above the {cap_mb:.0f} MiB memory cap after {time.perf_counter() - t0:.1f} s"
        elif time.perf_counter() - t0 > time_cap:
            killed = f"stopped after the {time_cap:.0f} s time cap"
        if killed:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = proc.communicate()
    peak = usage.ru_maxrss / 1024
    if killed:
        ran = time.time() - float(mark.read_text()) if mark.exists() else 0.0
        return {"seconds": None, "outcome": killed, "rss": peak, "elapsed": ran}
    if proc.returncode != 0:
        return {"seconds": None, "outcome": f"failed: {err.strip().splitlines()[-1] if err.strip() else status}",
                "rss": peak}
    answer = json.loads(out.strip().splitlines()[-1])
    return dict(answer, rss=peak)


def _load() -> float:
    return os.getloadavg()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", choices=("ours", "peer"))
    parser.add_argument("--n", type=int)
    parser.add_argument("--mode", choices=("auto", "full"), default="auto", help="with --side: our mode")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--full-sizes", default=",".join(map(str, FULL_SIZES)),
                        help="sizes also checked with --mode full (empty: none)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--cap-mb", type=float, default=3072.0)
    parser.add_argument("--time-cap", type=float, default=120.0)
    parser.add_argument("--csv", default=str(HERE / "second_order.csv"))
    args = parser.parse_args(argv)
    if args.side:
        _side(args.side, args.n, args.mode)
        return 0
    rows = []
    runs = [(int(s), "auto") for s in args.sizes.split(",") if s] + \
        [(int(s), "full") for s in args.full_sizes.split(",") if s]
    peers: dict[int, list[dict]] = {}  # the peer at a size serves the auto row and the full row
    for n, mode in runs:
        load = _load()
        ours = [_child("ours", n, args.cap_mb, args.time_cap, mode) for _ in range(args.reps)]
        if n not in peers:
            peer = peers[n] = [_child("peer", n, args.cap_mb, args.time_cap)]
            if peer[0]["seconds"] is not None and args.reps > 1:
                peer += [_child("peer", n, args.cap_mb, args.time_cap) for _ in range(args.reps - 1)]
        peer = peers[n]
        o = statistics.median(r["seconds"] for r in ours if r["seconds"] is not None) \
            if all(r["seconds"] is not None for r in ours) else None
        p = statistics.median(r["seconds"] for r in peer) if all(r["seconds"] is not None for r in peer) else None
        ratio = o / p if o is not None and p is not None else None
        bound = ""  # a peer stopped by a cap ran at least that long: the ratio is below ours/elapsed
        if o is not None and p is None and peer[0].get("elapsed"):
            bound = f"; ratio < {o / peer[0]['elapsed']:.3g} (its check ran {peer[0]['elapsed']:.1f} s before the cap)"
        ours_rss = max(r["rss"] for r in ours)
        if n in (1_000, 10_000) or mode == "full":
            met = "yes" if ratio is not None and ratio <= 0.2 else "no" if ratio is not None else ""
        else:
            met = "yes" if o is not None and o < 5 and ours_rss < 2048 and p is None else "no"
        rows.append({"benchmark": "B5", "workload": "tanh_wx", "elements": n,
                     "ours": f"gradcheck-suite order-2 check ({mode} mode)", "peer": "torch.autograd.gradgradcheck",
                     "ours_s": f"{o:.4g}" if o is not None else "", "peer_s": f"{p:.4g}" if p is not None else "",
                     "ratio": f"{ratio:.3g}" if ratio is not None else "", "target": "ratio ≤ 0.2" if mode == "full" else TARGETS.get(n, ""),
                     "met": met, "ours_rss_mb": f"{ours_rss:.0f}", "peer_rss_mb": f"{max(r['rss'] for r in peer):.0f}",
                     "reps": args.reps, "load": f"{load:.2f}",
                     "note": f"mode {mode}; ours: {ours[0]['outcome']}; peer: {peer[0]['outcome']}{bound}"})
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    with open(args.csv, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
