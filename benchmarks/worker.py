"""One measurement in its own process: ``python benchmarks/worker.py '<json spec>'`` prints one JSON line.

Tasks (``spec["task"]``):

``check``     our check of one workload (``api.check_case`` in full, then projected mode)
              against ``torch.autograd.gradcheck`` (full, then fast mode) on the same torch
              function; one warm-up of each side, then ``reps`` alternating repetitions.
``one_side``  a single run of one side (``ours`` or ``peer``) and nothing else, so the
              process's peak resident set belongs to that side.
``backward``  the engine alone: our reverse pass against ``torch.autograd.grad`` on the
              replayed graph (forward passes done once, outside the timing), and the
              forward + backward of each.
``peer_library``  ``torch.autograd.gradcheck`` (full mode, float64) over every case under
              ``paths``; reports the time spent loading the cases with our loader, which
              the caller subtracts (a hand-written peer suite would not load YAML).

Every result carries ``rss_mb``: the process's peak resident set (``ru_maxrss``).
"""
from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load_case(spec: dict):
    from gradcheck_suite.loader import load_text
    from workloads import WORKLOADS

    cases, errors = load_text(WORKLOADS[spec["workload"]](int(spec["size"])), f"<{spec['workload']}>")
    if errors:
        raise SystemExit(str(errors[0]))
    return cases[0]


def _peer(case):
    """The gradcheck call on the case's torch function at the case's own point (float64)."""
    import torch

    from gradcheck_suite.reference.torch_ref import torch_function

    f = torch_function(case, "float64")
    leaves = case.leaves(0)
    inputs = tuple(torch.tensor(leaves[n], dtype=torch.float64, requires_grad=True) for n in f.input_names)

    def run(fast: bool) -> bool:
        return bool(torch.autograd.gradcheck(f, inputs, fast_mode=fast, raise_exception=False))

    return run


def _ours(case):
    from gradcheck_suite import api

    def run(mode: str) -> str:
        table = api.check_case(case, mode=mode).table
        return ",".join(sorted(set(table["status"])))

    return run


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def check(spec: dict) -> dict:
    case = _load_case(spec)
    ours, peer = _ours(case), _peer(case)
    n = sum(v.size for k, v in case.leaves(0).items() if k in case.inputs)
    result = {"elements": int(n)}
    for mode, fast in (("full", False), ("projected", True)):
        if mode not in spec.get("modes", ("full", "projected")):
            continue
        _, statuses = _timed(ours, mode)  # warm-up: lazy imports, first torch backward
        _, peer_ok = _timed(peer, fast)
        t_ours, t_peer = [], []
        for _ in range(int(spec["reps"])):
            t_ours.append(_timed(ours, mode)[0])
            t_peer.append(_timed(peer, fast)[0])
        result[mode] = dict(ours_s=statistics.median(t_ours), peer_s=statistics.median(t_peer), ours_all=t_ours,
                            peer_all=t_peer, ours_status=statuses, peer_ok=peer_ok)
    result["rss_mb"] = _rss_mb()
    return result


def one_side(spec: dict) -> dict:
    case = _load_case(spec)
    base = _rss_mb()
    if spec["side"] == "ours":
        t, status = _timed(_ours(case), spec["mode"])
    else:
        t, status = _timed(_peer(case), bool(spec["fast"]))
    return dict(time_s=t, status=str(status), rss_before_mb=base, rss_mb=_rss_mb())


def backward(spec: dict) -> dict:
    import numpy as np
    import torch

    from gradcheck_suite import engine
    from gradcheck_suite.reference import torch_ref

    case = _load_case(spec)
    point = {k: np.asarray(v, dtype=np.float64) for k, v in case.leaves(0).items()}
    graph = case.graph
    names = list(graph.inputs)
    ev = engine.evaluate(graph, point, np.float64)
    tev = torch_ref.replay(graph, point, "float64")
    tensors = [tev.inputs[n] for n in names]

    def ours_backward():
        return engine.gradient(ev, wrt=names)

    def peer_backward():
        return torch.autograd.grad(tev.output, tensors, retain_graph=True)

    def ours_both():
        return engine.gradient(engine.evaluate(graph, point, np.float64), wrt=names)

    def peer_both():
        t = torch_ref.replay(graph, point, "float64")
        return torch.autograd.grad(t.output, [t.inputs[n] for n in names])

    got, want = ours_backward(), peer_backward()
    agree = all(np.allclose(got[n], w.numpy(), rtol=1e-10, atol=1e-12) for n, w in zip(names, want))
    ours_both(), peer_both()
    times: dict[str, list[float]] = {k: [] for k in ("ours_b", "peer_b", "ours_fb", "peer_fb")}
    for _ in range(int(spec["reps"])):
        for key, fn in (("ours_b", ours_backward), ("peer_b", peer_backward), ("ours_fb", ours_both),
                        ("peer_fb", peer_both)):
            times[key].append(_timed(fn)[0])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same backward with torch on one core, as numpy is
    times["peer_b_1thread"] = [_timed(peer_backward)[0] for _ in range(int(spec["reps"]))]
    torch.set_num_threads(threads)
    return dict({k: statistics.median(v) for k, v in times.items()}, nodes=len(graph),
                elements=int(sum(point[n].size for n in names)), agree=agree, rss_mb=_rss_mb())


def peer_library(spec: dict) -> dict:
    t0 = time.perf_counter()
    import torch  # noqa: F401  (the peer's own start-up cost stays in the measurement)

    t_torch = time.perf_counter() - t0
    t1 = time.perf_counter()
    from gradcheck_suite import api

    loaded = api.load(spec["paths"])
    t_load = time.perf_counter() - t1
    passed = failed = broken = 0
    for case in loaded.cases:
        try:
            ok = _peer(case)(False)
        except Exception:  # a function gradcheck cannot take counts, it does not stop the loop
            broken += 1
            continue
        passed, failed = passed + ok, failed + (not ok)
    return dict(load_s=t_load, import_torch_s=t_torch, cases=len(loaded.cases), passed=passed, failed=failed,
                broken=broken, rss_mb=_rss_mb())


TASKS = {"check": check, "one_side": one_side, "backward": backward, "peer_library": peer_library}

if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    print(json.dumps(TASKS[spec["task"]](spec)))
