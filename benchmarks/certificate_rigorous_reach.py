"""Reach of the rigorous ("proved") level of the a posteriori certificate.

Run:  nice python benchmarks/certificate_rigorous_reach.py [--budget 120]

For a few cases with a known empirical edge, tries the fractions 0.99, 0.98, 0.95, 0.9,
0.8, 0.5 of the edge (largest first) with ``certify_step(..., rigorous="always")`` and a
time budget per attempt for the python-flint (arb) enclosure of the prefix, and prints one
Markdown row per attempt: the level reached, the prefix length k, the arb precision and
seconds. The best fraction with level ``proved`` is the rigorous reach. Needs the optional
extra ``gdcert[rigorous]``. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from gdcert import inits
from gdcert.api.aposteriori import certify_step
from gdcert.inits import near_identity
from gdcert.problem import Problem

FRACTIONS = (0.99, 0.98, 0.95, 0.9, 0.8, 0.5)


def cases() -> list[tuple[str, Problem, list[np.ndarray], float]]:
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((4, 4)))
    spd = q @ np.diag([0.5, 1.0, 1.5, 2.0]) @ q.T
    nonsym = np.eye(6) + 0.5 * np.random.default_rng(0).standard_normal((6, 6)) / math.sqrt(6)
    p5 = Problem.from_target(spd, depth=5)
    p8 = Problem.from_target(nonsym, depth=8)
    # edges from gdcert.api.edge.find_edge (30 000 iterations, rtol 0.5 %)
    return [
        ("spd4 zas L=5", p5, inits.zas(p5.widths).weights(), 0.1314),
        ("nonsym6 near_identity(seed 1) L=8", p8,
         near_identity(p8.widths, seed=1).weights(), 0.13755),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=120.0)
    args = ap.parse_args()
    print("| case | η/edge | level | k | arb bits | arb s | total s |")
    print("|---|---|---|---|---|---|---|")
    for name, problem, w0, edge in cases():
        for f in FRACTIONS:
            t0 = time.perf_counter()
            res = certify_step(problem, w0, f * edge, max_iter=60_000, chunk=1000,
                               rigorous="always", rigorous_budget=args.budget)
            ex = res.extras
            level = getattr(res, "level", getattr(res, "reason", ""))
            print(f"| {name} | {f:.2f} | {level} | {res.k} | {ex.get('arb_precision', '-')} | "
                  f"{ex.get('arb_seconds', 0.0):.1f} | {time.perf_counter() - t0:.1f} |",
                  flush=True)
            if level == "proved":
                break


if __name__ == "__main__":
    main()
