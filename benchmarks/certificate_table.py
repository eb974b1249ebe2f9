"""Reach of the a posteriori certificate: certified η ÷ empirical edge, per init and depth.

Run:  nice python benchmarks/certificate_table.py [--depths 2,5,10,20] [--rigorous-budget 20]

For each target (a 4×4 SPD matrix with eigenvalues 0.5, 1, 1.5, 2; a random non-symmetric
6×6 one, ``I + G/(2√6)``; the whitened data of ``sample_inputs/whitened_data.npz``), init
(identity, ZAS, near-identity seed 0, balanced seed 0 — where defined for the widths) and
depth, prints one Markdown row:

* ``edge``: the empirical edge (``gdcert.api.edge.find_edge``, 30 000 iterations, rtol 0.5 %);
* ``cert/edge``: the largest of the fractions ``0.99, 0.98, 0.95, 0.9, 0.8, 0.7, 0.5, 0.3,
  0.1`` of the edge at which :func:`gdcert.api.aposteriori.certify_steps` issued a
  certificate (all fractions in one batch; long-double prefix check only), with its
  level and the step ``k`` where the tail was proved, or the reason for the best miss;
* ``closed/edge``: the best closed-form *sufficient* bound from
  ``gdcert.api.certify(...).bounds`` that applies to this init, ÷ the edge;
* ``t_cert`` vs ``t_sim``: wall seconds to certify at that η (one run) vs a plain
  ``run_batch`` simulation at that η down to the loss gap the certificate started from;
* ``proved``: the same η with the rigorous prefix (python-flint arb) within
  ``--rigorous-budget`` seconds: the level reached and the arb precision/time.

Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from pathlib import Path

import numpy as np

from gdcert.api import certify
from gdcert.api.aposteriori import certify_step, certify_steps
from gdcert.api.edge import find_edge
from gdcert.api.simulation import gd_problem
from gdcert.errors import InputError
from gdcert.inits import from_spec
from gdcert.problem import Problem
from gdcert.sim.engine import Schedule, run_batch
from gdcert.spec import InitSpec

FRACTIONS = (0.99, 0.98, 0.95, 0.9, 0.8, 0.7, 0.5, 0.3, 0.1)
ROOT = Path(__file__).resolve().parent.parent


def targets(depth: int) -> dict[str, Problem]:
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((4, 4)))
    spd = q @ np.diag([0.5, 1.0, 1.5, 2.0]) @ q.T
    nonsym = np.eye(6) + 0.5 * np.random.default_rng(0).standard_normal((6, 6)) / math.sqrt(6)
    data = np.load(ROOT / "sample_inputs" / "whitened_data.npz")
    return {
        "spd4": Problem.from_target(spd, depth=depth),
        "nonsym6": Problem.from_target(nonsym, depth=depth),
        "whitened": Problem.from_data(data["X"], data["Y"], depth=depth),
    }


def closed_form_ratio(problem: Problem, init: str, edge: float) -> float:
    names = [init] if init in ("identity", "zas", "balanced") else []
    rep = certify(problem, inits=names)
    best = 0.0
    for b in rep.bounds:
        if b.kind == "sufficient" and b.applies and b.init in (None, init):
            best = max(best, b.max_step)
    return best / edge


def row(name: str, problem: Problem, init: str, args: argparse.Namespace) -> str:
    square = len(set(problem.widths)) == 1
    if init in ("identity", "zas", "near_identity") and not square:
        return ""
    if init == "zas" and problem.depth < 2:
        return ""
    spec = InitSpec(name=init)
    head = f"| {name} | {init} | {problem.depth} "
    try:
        edge = find_edge(problem, init=spec, iterations=30_000, rtol=0.005, certify=False).edge
    except InputError as exc:
        return head + f"| — | no edge: {str(exc)[:60]} | | | | |"
    w0 = from_spec(spec, problem.widths, 0).weights()
    closed = closed_form_ratio(problem, init, edge)
    etas = [f * edge for f in FRACTIONS]
    res = certify_steps(problem, [(w0, e) for e in etas], names=[init] * len(etas),
                        max_iter=60_000, chunk=1000, rigorous="never")
    hit = next((i for i, r in enumerate(res) if r.certified), None)
    if hit is None:
        reasons = sorted({getattr(r, "reason", "") for r in res})
        return head + f"| {edge:.4g} | none ({', '.join(reasons)}) | {closed:.2g} | | | |"
    best = res[hit]
    eta = etas[hit]
    misses = {getattr(r, "reason", "") for r in res[:hit]}
    t0 = time.perf_counter()
    one = certify_step(problem, w0, eta, max_iter=60_000, chunk=1000, rigorous="never")
    t_cert = time.perf_counter() - t0
    target = problem.optimal_loss + max(best.loss_gap, 1e-300)
    t0 = time.perf_counter()
    run_batch(gd_problem(problem), [w0], [Schedule.constant(eta)], max_iter=best.k,
              loss_target=target, record_every=max(best.k, 1))
    t_sim = time.perf_counter() - t0
    proved = ""
    if args.rigorous_budget > 0:
        rig = certify_step(problem, w0, eta, max_iter=60_000, chunk=1000, rigorous="auto",
                           rigorous_budget=args.rigorous_budget)
        ex = rig.extras
        proved = (f"{getattr(rig, 'level', 'no')}"
                  f" ({ex.get('arb_precision', '-')} bits, {ex.get('arb_seconds', 0):.1f} s)")
    miss = f" [above: {', '.join(sorted(misses))}]" if misses else ""
    del one
    return (head + f"| {edge:.4g} | **{FRACTIONS[hit]:.2f}** {best.level} k={best.k}{miss} "
            f"| {closed:.2g} | {t_cert:.2f} | {t_sim:.3f} | {proved} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depths", default="2,5,10,20")
    ap.add_argument("--inits", default="identity,zas,near_identity,balanced")
    ap.add_argument("--targets", default="spd4,nonsym6,whitened")
    ap.add_argument("--rigorous-budget", type=float, default=20.0)
    args = ap.parse_args()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print()
    print("| target | init | L | edge | cert/edge (level, k) | closed/edge | t_cert s | "
          "t_sim s | proved (rigorous prefix) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for depth in [int(d) for d in args.depths.split(",")]:
        probs = targets(depth)
        for name in args.targets.split(","):
            for init in args.inits.split(","):
                line = row(name, probs[name], init, args)
                if line:
                    print(line, flush=True)


if __name__ == "__main__":
    main()
