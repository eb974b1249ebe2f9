"""Cost per GD step of the double-double re-run against the float64 core.

Run:  python benchmarks/bench_ddkernel.py [--repeat 5]

For square networks (d = 2, 4, 6, 8, 16; L = 5, 10, 20) near the identity on a target
I + 0.1·G prints one Markdown row: µs per step of :class:`gdcert.sim.ddkernel.DDState`
(the certificate's prefix cross-check, compiled double-double arithmetic) and of a plain
``run_batch`` (the float64 core, no tracking), best of ``--repeat`` interleaved runs, and
their ratio — the factor by which the re-run lags the simulation it checks when the two
run side by side. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from gdcert.api.simulation import gd_problem
from gdcert.problem import Problem
from gdcert.sim.ddkernel import DDState
from gdcert.sim.engine import Schedule, run_batch

#: (d, L, steps per timed run)
CASES = [(2, 10, 20_000), (4, 5, 20_000), (4, 20, 5_000), (6, 10, 5_000), (8, 10, 3_000),
         (16, 10, 1_000), (16, 20, 500)]


def row(d: int, depth: int, steps: int, repeat: int) -> str:
    rng = np.random.default_rng(d * 100 + depth)
    phi = np.eye(d) + 0.1 * rng.standard_normal((d, d))
    ws = [np.eye(d) + 0.01 * rng.standard_normal((d, d)) for _ in range(depth)]
    eta = 0.5 / depth
    gdp = gd_problem(Problem.from_target(phi, depth=depth))
    state = DDState(ws, eta, target=phi)
    state.advance(2)  # compiled, warm
    run_batch(gdp, [ws], [Schedule.constant(eta)], max_iter=2, loss_target=-1.0)
    best_dd = best_f64 = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        state.advance(state.k + steps)
        best_dd = min(best_dd, time.perf_counter() - t)
        t = time.perf_counter()
        run_batch(gdp, [ws], [Schedule.constant(eta)], max_iter=steps, loss_target=-1.0,
                  record_every=steps)
        best_f64 = min(best_f64, time.perf_counter() - t)
    dd, f64 = best_dd / steps * 1e6, best_f64 / steps * 1e6
    return f"| {d} | {depth} | {dd:.2f} | {f64:.2f} | **{dd / f64:.2f}×** |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} cores; load before {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}\n")
    print("| d | L | double-double µs/step | float64 core µs/step | ratio |")
    print("|---:|---:|---:|---:|---:|")
    for d, depth, steps in CASES:
        print(row(d, depth, steps, args.repeat), flush=True)
    load = os.getloadavg()
    print(f"\nload after {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}")


if __name__ == "__main__":
    main()
