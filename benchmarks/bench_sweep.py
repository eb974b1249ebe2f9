"""Benchmark ``run_sweep``: cells (runs) per second, by executor, against a plain loop.

Run:  python benchmarks/bench_sweep.py [--quick]

Prints one Markdown table. Every method runs the same cells: ZAS-target problem
``sample_inputs/zas_6x6.npy``, depths 4/8/12/16, inits near_identity and balanced, 5
constant step sizes × 4 seeds (20 runs per task, 8 tasks, 160 runs):

* a plain Python loop calling ``gdcert.simulate`` once per cell (bounds computed each call);
* ``run_sweep`` in this process (``workers=1``: each task one batched kernel call on
  numba's threads), with 2 local worker processes, and on a 2-worker Dask
  ``LocalCluster`` (processes, loopback; cluster start-up timed separately);
* per-task overhead: the same sweep with 1 iteration per run, seconds per task.

Kernels are compiled (or loaded from cache) before timing; no resume parts are used.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from gdcert.api.sweep import plan, run_sweep
from gdcert.config.sweep import file_sha256
from gdcert.spec import InitSpec, ProblemSource, SweepSpec, SweepStep

TARGET = Path(__file__).resolve().parent.parent / "sample_inputs" / "zas_6x6.npy"


def make_spec(iterations: int) -> SweepSpec:
    return SweepSpec(
        problems=(ProblemSource(name="zas_6x6", target=str(TARGET),
                                sha256=file_sha256(str(TARGET))),),
        depths=(4, 8, 12, 16), widths=(None,),
        inits=(InitSpec(name="near_identity"), InitSpec(name="balanced")),
        steps=tuple(SweepStep(eta=e) for e in (0.002, 0.005, 0.01, 0.02, 0.04)),
        seeds=(0, 1, 2, 3), iterations=iterations)


def plain_loop(spec: SweepSpec) -> int:
    """One ``gdcert.simulate`` call per cell, as a user's script would."""
    import gdcert

    n = 0
    for task in plan(spec):
        problem = gdcert.load_problem(task.source.target, depth=task.depth)
        for cell in task.cells:
            gdcert.simulate(problem, init=task.init, step_sizes=[cell.step.eta],
                            seeds=[cell.seed], iterations=spec.iterations)
            n += 1
    return n


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="2,000 instead of 10,000 iterations")
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args()
    iterations = 2_000 if args.quick else 10_000
    spec = make_spec(iterations)
    runs = sum(t.runs for t in plan(spec))
    tasks = len(plan(spec))
    from gdcert.sim.engine import warm_up

    warm_up()
    rows: list[tuple[str, float, int]] = []
    print(f"load average at start: {os.getloadavg()[0]:.1f}; {runs} runs in {tasks} tasks, "
          f"{iterations} iterations each (most runs use the full budget)")
    sec, n = timed(lambda: plain_loop(spec))
    rows.append(("plain loop over gdcert.simulate", sec, n))
    sec, res = timed(lambda: run_sweep(spec, workers=1))
    rows.append(("run_sweep, in process (workers=1)", sec, len(res.rows)))
    sec, res = timed(lambda: run_sweep(spec, workers=2))
    rows.append(("run_sweep, 2 local worker processes", sec, len(res.rows)))
    if not args.no_dask:
        import distributed

        t0 = time.perf_counter()
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None)
        client = distributed.Client(cluster)
        start = time.perf_counter() - t0
        sec, res = timed(lambda: run_sweep(spec, scheduler=client))
        rows.append((f"run_sweep, Dask LocalCluster 2 workers (start-up {start:.1f} s "
                     "not included)", sec, len(res.rows)))
        client.close()
        cluster.close()
    print()
    print("| method | seconds | runs | runs/s | vs plain loop |")
    print("|---|---:|---:|---:|---:|")
    base = rows[0][2] / rows[0][1]
    for name, sec, n in rows:
        print(f"| {name} | {sec:.2f} | {n} | {n / sec:.1f} | {n / sec / base:.2f}× |")
    one = make_spec(1)
    print()
    print("Per-task overhead (1 iteration per run, 20 runs per task):")
    for label, kw in (("in process", {"workers": 1}), ("2 worker processes", {"workers": 2})):
        sec, res = timed(lambda kw=kw: run_sweep(one, **kw))  # type: ignore[misc]
        print(f"- {label}: {sec:.2f} s for {tasks} tasks = {1000 * sec / tasks:.0f} ms/task "
              f"(includes pool start-up for processes)")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
