"""Cost of the a posteriori certificate against a plain simulation to the same loss.

Run:  python benchmarks/bench_certificate.py [--cases all] [--repeat 3]

For each case (target, init, depth, η as a fraction of the empirical edge; d ≤ 16,
L ≤ 20) prints one Markdown row, best of ``--repeat`` interleaved runs:

* ``k``: the step at which the tail theorem was proved (the certificate's level);
* ``sim``: a plain ``run_batch`` simulation (no tracking) at η from the same init for the
  same ``k`` steps, i.e. down to the loss gap the certificate started from — the baseline
  of issue 11 ("the plain simulation to the same loss");
* ``cert``: :func:`gdcert.api.aposteriori.certify_step` (rigorous="never": simulation in
  1000-step chunks, a tail attempt after each, the double-double prefix re-run) with the
  re-run on a second thread (the default when a core is free), wall and CPU (process time
  of all threads);
* ``cert 1-thread``: the same with the re-run after the tail is proved, on the same thread
  (what a 1-core machine, or a batch of as many runs as cores, does);
* ``dd``: the double-double re-run alone (``prefix_doubledouble`` over the same checkpoints);
* ratios ``cert / sim`` (wall) for both modes.

The edges are those of ``docs/certificate.md`` (``find_edge``, 30 000 iterations,
rtol 0.5 %), recomputed with ``--edges``. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from certificate_table import targets  # noqa: E402

import gdcert.api.aposteriori as ap  # noqa: E402
from gdcert.api.edge import find_edge  # noqa: E402
from gdcert.api.simulation import gd_problem  # noqa: E402
from gdcert.inits import from_spec  # noqa: E402
from gdcert.problem import Problem  # noqa: E402
from gdcert.sim.engine import Schedule, run_batch  # noqa: E402
from gdcert.spec import InitSpec  # noqa: E402

#: (target, init, depth, fraction of the edge, edge from docs/certificate.md)
CASES: list[tuple[str, str, int, float, float]] = [
    ("spd4", "identity", 5, 0.99, 0.1314),
    ("spd4", "zas", 5, 0.98, 0.1314),
    ("spd4", "balanced", 10, 0.99, 0.0572),
    ("nonsym6", "near_identity", 10, 0.99, 0.1082),
    ("nonsym6", "near_identity", 20, 0.98, 0.05111),
    ("spd4", "near_identity", 20, 0.99, 0.02573),
    ("rand16", "near_identity", 10, 0.95, math.nan),
    ("rand16", "identity", 20, 0.95, math.nan),
]


def problem_for(name: str, depth: int) -> Problem:
    if name == "rand16":
        rng = np.random.default_rng(16)
        return Problem.from_target(np.eye(16) + 0.4 * rng.standard_normal((16, 16)) / 4,
                                   depth=depth)
    return targets(depth)[name]


def timed(fn: Any) -> tuple[Any, float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def row(case: tuple[str, str, int, float, float], repeat: int, recompute: bool) -> str:
    name, init, depth, frac, edge = case
    prob = problem_for(name, depth)
    spec = InitSpec(name=init)
    if recompute or math.isnan(edge):
        edge = find_edge(prob, init=spec, iterations=30_000, rtol=0.005, certify=False).edge
    eta = frac * edge
    w0 = from_spec(spec, prob.widths, 0).weights()
    best: dict[str, tuple[float, float]] = {}
    res: Any = None

    def keep(key: str, wall: float, cpu: float) -> None:
        if key not in best or wall < best[key][0]:
            best[key] = (wall, cpu)

    pool = ap._shadow_pool
    for _ in range(repeat):
        res, w, c = timed(lambda: ap.certify_step(prob, w0, eta, max_iter=100_000,
                                                  rigorous="never"))
        keep("cert", w, c)
        if not res.certified:
            break
        ap._shadow_pool = lambda n: None  # type: ignore[assignment]
        try:
            _, w, c = timed(lambda: ap.certify_step(prob, w0, eta, max_iter=100_000,
                                                    rigorous="never"))
        finally:
            ap._shadow_pool = pool  # type: ignore[assignment]
        keep("serial", w, c)
        k = res.k
        _, w, c = timed(lambda k=k: run_batch(gd_problem(prob), [w0], [Schedule.constant(eta)],
                                              max_iter=k, loss_target=0.0, record_every=k))
        keep("sim", w, c)
        cps = [(j, w0) for j in range(0, k + 1, 1000)]
        _, w, c = timed(lambda cps=cps: ap.prefix_doubledouble(prob, w0, eta, cps))
        keep("dd", w, c)
    d = max(prob.widths)
    head = f"| {name} | {init} | {depth} | {d} | {frac:.2f} × {edge:.4g} "
    if not res.certified:
        return head + f"| not certified: {res.reason} | | | | | | |"
    sim, cert, ser, dd = best["sim"][0], best["cert"], best["serial"], best["dd"][0]
    return (head + f"| {res.k} | {sim:.3f} | {cert[0]:.3f} ({cert[1]:.3f} CPU) "
            f"| {ser[0]:.3f} | {dd:.3f} | **{cert[0] / sim:.1f}×** | {ser[0] / sim:.1f}× |")


def main() -> None:
    ap_ = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap_.add_argument("--cases", default="all", help="comma-separated row numbers (1-based)")
    ap_.add_argument("--repeat", type=int, default=3)
    ap_.add_argument("--edges", action="store_true", help="recompute every edge")
    args = ap_.parse_args()
    picked = (CASES if args.cases == "all"
              else [CASES[int(i) - 1] for i in args.cases.split(",")])
    load = os.getloadavg()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} cores; load before {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}")
    print()
    print("| target | init | L | d | η | k | sim s | cert s (2 threads) | cert s (1 thread) "
          "| dd s | cert/sim | 1-thread/sim |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for case in picked:
        print(row(case, args.repeat, args.edges), flush=True)
    load = os.getloadavg()
    print(f"\nload after {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}")


if __name__ == "__main__":
    main()
