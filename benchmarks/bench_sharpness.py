"""Accuracy and cost of the simulation's sharpness tracker (``track_sharpness``).

Run:  python benchmarks/bench_sharpness.py [--steps 2000] [--every 100]

For a few networks (target and data form; identity, near-identity, balanced and Gaussian
inits) runs GD with ``track_sharpness=True`` and compares every recorded sharpness with
λ_max(∇²ℓ) at the same iterate computed afresh by the exact engine
(:func:`gdcert.bounds.stability.top_hessian_eigenvalue`: dense below 600 parameters,
Lanczos to 1e-10 above). Baseline: the tracker this replaced — 20 power iterations per
record, warm-started from the previous record's vector, on the same Hessian–vector
products (here in numpy, :class:`~gdcert.bounds.stability.HessianOperator`). Prints one
Markdown row per case: the largest relative error of each, and the simulation's speed
(CPU time, best of 3) without tracking and with the tracker at one record per
``--every`` steps. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gdcert.bounds.stability import HessianOperator, top_hessian_eigenvalue
from gdcert.sim.engine import GDProblem, Schedule, run


def power_tracker(points: Sequence[Sequence[np.ndarray]], sigma: np.ndarray | None,
                  c: np.ndarray, iters: int = 20) -> list[float]:
    """The former tracker: ``iters`` power iterations per point, warm-started from the
    previous point's vector; a negative dominant Rayleigh quotient triggers a shifted
    second pass from a fixed start (as the kernel did)."""
    out: list[float] = []
    v: np.ndarray | None = None
    for ws in points:
        op = HessianOperator(ws, sigma, c)
        n = op.size
        start = np.cos(np.arange(1, n + 1) * 0.618)
        start /= np.linalg.norm(start)
        v = start.copy() if v is None else v
        shift, mu = 0.0, 0.0
        for phase in range(2):
            for _ in range(iters):
                hv = op.matvec(v) + shift * v
                mu = float(v @ hv)
                v = hv / np.linalg.norm(hv)
            if phase == 0 and mu >= 0:
                break
            if phase == 0:
                shift, v = -mu, start.copy()
        out.append(mu - shift)
    return out


Case = tuple[str, GDProblem, list[np.ndarray], float, np.ndarray | None, np.ndarray]


def case_list() -> list[Case]:
    """(name, problem, init, η, Σ or None, C)."""
    cases: list[Case] = []
    rng = np.random.default_rng(16)
    phi = np.eye(16) + 0.1 * rng.standard_normal((16, 16))
    init = [np.eye(16) + 0.01 * rng.standard_normal((16, 16)) for _ in range(10)]
    cases.append(("near-identity, target I+0.1G, L=10, d=16", GDProblem.target(phi, (16,) * 11),
                  init, 0.09, None, phi))
    rng = np.random.default_rng(4)
    phi4 = np.diag([2.0, 1.5, 1.0, 0.5])
    cases.append(("identity, SPD diag(2,1.5,1,.5), L=5, d=4", GDProblem.target(phi4, (4,) * 6),
                  [np.eye(4) for _ in range(5)], 0.13, None, phi4))
    q0, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    q1, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    bal = [q1 @ q0.T] + [q1 @ q1.T for _ in range(8)] + [q1 @ q1.T]
    cases.append(("balanced (orthogonal), SPD, L=10, d=4", GDProblem.target(phi4, (4,) * 11),
                  bal, 0.05, None, phi4))
    rng = np.random.default_rng(8)
    x = rng.standard_normal((8, 50)) / np.sqrt(50)
    y = rng.standard_normal((6, 50)) / np.sqrt(50)
    widths = (8, 10, 10, 10, 6)
    init = [0.4 * rng.standard_normal((widths[i + 1], widths[i])) for i in range(4)]
    cases.append(("Gaussian 0.4, data form, widths 8-10-10-10-6", GDProblem.data(x, y, widths),
                  init, 0.01, x @ x.T, y @ x.T))
    return cases


def cpu_best(fn: Callable[[], Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--every", type=int, default=100)
    args = ap.parse_args()
    load = os.getloadavg()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores; "
          f"load before {load[0]:.2f}")
    print()
    print("| case | params | records | tracker: max rel err | former (20 power its): max rel "
          "err | it/s untracked | it/s tracked (every "
          f"{args.every}) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, prob, init, eta, sigma, c in case_list():
        sched = Schedule.constant(eta)
        tr = run(prob, init, sched, max_iter=args.steps, loss_target=-1.0,
                 record_every=args.every, track_sharpness=True)
        assert tr.sharpness is not None
        points = [run(prob, init, sched, max_iter=int(k), loss_target=-1.0,
                      record_every=max(1, int(k))).final_weights for k in tr.step_index]
        exact = np.array([top_hessian_eigenvalue(ws, sigma, c)[0] for ws in points])
        former = np.array(power_tracker(points, sigma, c), dtype=np.float64)
        err_new = float(np.max(np.abs(tr.sharpness - exact) / np.abs(exact)))
        err_old = float(np.max(np.abs(former - exact) / np.abs(exact)))
        def simulate(track: bool, prob: GDProblem = prob, init: list[np.ndarray] = init,
                     sched: Schedule = sched) -> None:
            run(prob, init, sched, max_iter=args.steps, loss_target=-1.0,
                record_every=args.every if track else args.steps, track_sharpness=track)

        plain = cpu_best(lambda: simulate(False))
        tracked = cpu_best(lambda: simulate(True))
        n = sum(w.size for w in init)
        print(f"| {name} | {n} | {len(exact)} | {err_new:.1e} | {err_old:.1e} "
              f"| {args.steps / plain:,.0f} | {args.steps / tracked:,.0f} |", flush=True)
    load = os.getloadavg()
    print(f"\nload after {load[0]:.2f}")


if __name__ == "__main__":
    main()
