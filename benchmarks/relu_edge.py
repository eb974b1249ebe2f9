"""Empirical edge of the Figure 2 problem (sample_inputs/relu_figure2.yaml), docs/relu.md.

The largest constant step size at which GD from the shipped init still ends converged
(``converged_*``, the classes of ``gdcert simulate``) within the config's budget: a scan of
the bracket [2e-4, 3e-4], then a bisection with the batched kernel (4 step sizes per
round, in parallel). Also Theorem 4's value at the converged model. Run:

    python benchmarks/relu_edge.py
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from gdcert.api.relu import generated_problem
from gdcert.config import simulate as simconfig
from gdcert.sim.models import Relu2Model
from gdcert.sim.relu_engine import edge_bisect, run_relu_batch
from gdcert.spec import ReluSimConfig

CONFIG = Path(__file__).resolve().parent.parent / "sample_inputs" / "relu_figure2.yaml"


def main() -> None:
    cfg = simconfig.load(CONFIG)
    assert isinstance(cfg, ReluSimConfig)
    prob, init = generated_problem(seed=cfg.seeds[0], teacher_seed=cfg.teacher_seed,
                                   n_samples=cfg.n_samples, hidden=cfg.hidden, loss=cfg.loss)
    tol = float(cfg.tolerance or 0.0)
    grad_tol = 1e-8 * max(prob.c * float(np.linalg.norm(prob.y)) * float(np.linalg.norm(prob.x)),
                          1.0)

    def label(traj: object) -> str:
        return Relu2Model().classify(traj, optimal_loss=0.0, tolerance=tol,
                                     grad_tol=grad_tol).label

    def converged(traj: object) -> bool:
        return label(traj).startswith("converged")

    grid = np.linspace(2.0e-4, 3.0e-4, 11)
    t0 = time.perf_counter()
    trajs = run_relu_batch(prob, [init] * grid.size, list(grid), max_iter=cfg.iterations,
                           loss_target=tol, record_every=0)
    print(f"scan ({grid.size} runs, {time.perf_counter() - t0:.1f} s):")
    for eta, t in zip(grid, trajs, strict=True):
        print(f"  η = {eta:.3e}: {label(t):18s} K = {t.iterations:6d}  loss {t.final_loss:.4g}")
    # The edge between a fixed point and an orbit: the largest η whose run does not end
    # oscillating (or diverged) within the budget.
    def no_orbit(traj: object) -> bool:
        return label(traj) not in ("oscillating", "diverged")

    ok = [e for e, t in zip(grid, trajs, strict=True) if no_orbit(t)]
    lo = max(ok)
    hi = min(e for e, t in zip(grid, trajs, strict=True) if not no_orbit(t) and e > lo)
    t0 = time.perf_counter()
    lo, hi = edge_bisect(prob, init, lo=lo, hi=hi, max_iter=cfg.iterations, accept=no_orbit,
                         rounds=3, loss_target=tol)
    print(f"orbit edge in [{lo:.6e}, {hi:.6e}] ({time.perf_counter() - t0:.1f} s)")
    longer = [2.1e-4, 2.5e-4, 2.8e-4, lo]
    t0 = time.perf_counter()
    trajs = run_relu_batch(prob, [init] * len(longer), longer, max_iter=5 * cfg.iterations,
                           loss_target=tol, record_every=0)
    print(f"five times the budget ({time.perf_counter() - t0:.1f} s):")
    for eta, t in zip(longer, trajs, strict=True):
        print(f"  η = {eta:.6e}: {label(t):18s} K = {t.iterations:6d}  loss {t.final_loss:.4g}")
    t = run_relu_batch(prob, [init], [2.0e-4], max_iter=cfg.iterations, loss_target=tol)[0]
    f_hat = prob.predict(t.w_final, t.v_final)
    top = float(np.max(np.linalg.norm(prob.x, axis=0) * np.linalg.norm(f_hat, axis=0)))
    print(f"Theorem 4 at the 2e-4 model: max|x||f̂| = {top:.6g}; 1/max = {1 / top:.6g} (½Σ), "
          f"1/(2 max) = {0.5 / top:.6g} (Σ, Figure 2's loss)")


if __name__ == "__main__":
    main()
