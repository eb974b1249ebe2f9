"""Wall time of ``gdcert.certify`` and of the ``gdcert bound`` CLI, against named baselines.

Run:  python benchmarks/bench_bound.py [--sizes 100,1000,4000] [--depth 20] [--repeat 3]

For random n×n targets (a general Gaussian matrix and its symmetric part) at depth 20,
and one 10×10 target at depth 10 000, prints one Markdown table row per case:

* ``certify``: ``gdcert.certify(phi, depth=L)`` in-process (every default init);
* ``CLI``: ``gdcert bound FILE.npy --depth L --json`` in a subprocess, i.e. including
  interpreter start-up, imports, loading the file and JSON output;
* baselines on the same matrix: a full ``numpy.linalg.svd`` (singular values and
  vectors), and ``numpy.linalg.eigvalsh`` for the symmetric targets.

Times are ``time.perf_counter`` wall seconds; best of ``--repeat`` runs for n ≤ 1000,
a single run above (marked ``×1``).  Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import gdcert

BEST_OF_LIMIT = 1000  # sizes above this run once


def timed(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def cli_command() -> list[str]:
    exe = Path(sys.executable).parent / "gdcert"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("gdcert")
    return [found] if found else [sys.executable, "-m", "gdcert"]


def run_cli(path: Path, depth: int) -> None:
    proc = subprocess.run([*cli_command(), "bound", str(path), "--depth", str(depth), "--json"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"gdcert bound failed ({proc.returncode}): {proc.stderr.strip()}")


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    import scipy

    return (f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"numpy {np.__version__}, scipy {scipy.__version__}, gdcert {gdcert.__version__}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,4000")
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-cli", action="store_true", help="skip the subprocess timings")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    cases: list[tuple[str, int, int, np.ndarray]] = []
    rng = np.random.default_rng(2018)
    for n in sizes:
        a = rng.standard_normal((n, n)) / np.sqrt(n)  # ρ ≈ 2
        cases.append(("general", n, args.depth, a))
        cases.append(("symmetric", n, args.depth, 0.5 * (a + a.T)))
    small = rng.standard_normal((10, 10)) / np.sqrt(10)
    cases.append(("general", 10, 10_000, small))
    cases.append(("symmetric", 10, 10_000, 0.5 * (small + small.T)))

    # warm up imports and lazy paths, so the first row does not pay for them
    gdcert.certify(np.diag([4.0, 1.0]), depth=2)

    print(f"machine: {machine()}")
    print(f"load average before: {os.getloadavg()[0]:.2f}\n")
    print("| target | n | depth L | runs | `certify` | `gdcert bound --json` (CLI) "
          "| `numpy.linalg.svd` | `numpy.linalg.eigvalsh` |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for kind, n, depth, phi in cases:
            repeat = args.repeat if n <= BEST_OF_LIMIT else 1
            t_cert = timed(lambda phi=phi, depth=depth: gdcert.certify(phi, depth=depth),
                           repeat)
            t_cli = None
            if not args.no_cli:
                path = Path(tmp) / f"{kind}_{n}.npy"
                np.save(path, phi)
                t_cli = timed(lambda path=path, depth=depth: run_cli(path, depth), repeat)
            t_svd = timed(lambda phi=phi: np.linalg.svd(phi), repeat)
            t_eig = (timed(lambda phi=phi: np.linalg.eigvalsh(phi), repeat)
                     if kind == "symmetric" else None)
            print(f"| {kind} | {n} | {depth} | ×{repeat} | {fmt(t_cert)} | {fmt(t_cli)} | "
                  f"{fmt(t_svd)} | {fmt(t_eig)} |", flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
