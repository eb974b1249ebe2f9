"""Wall time and memory of ``gdcert.certify`` and of the ``gdcert bound`` CLI, against named
baselines (the bare LAPACK / ARPACK call on the same matrix).

Run:  python benchmarks/bench_bound.py [--sizes 100,1000,4000] [--depth 20] [--repeat 3]

For random n×n targets at depth 20 — a general Gaussian matrix A/√n (ρ ≈ 2), its
symmetric part (indefinite) and the positive definite AAᵀ + 0.01·I — and one 10×10
target at depth 10 000, prints one Markdown table row per case:

* ``certify``: ``gdcert.certify(phi, depth=L)`` in-process (every default init:
  identity, ZAS and the random balanced init where defined);
* ``CLI``: ``gdcert bound FILE.npy --depth L --json`` in a subprocess (the entry point
  ``gdcert.cli:main`` under ``python -c``), i.e. including interpreter start-up, imports,
  loading the file and JSON output, and its peak RSS (``VmHWM``) above the peak of the
  same command on a 2×2 target, in units of Φ's size (shown where Φ ≥ 8 MB);
* baselines on the same matrix: ``numpy.linalg.eigvalsh`` (symmetric targets), a
  values-only ``numpy.linalg.svd`` (general targets, n ≤ 1000: ≈ 50 s at n = 4000 on
  this machine), and ARPACK ``scipy.sparse.linalg.svds(k=1, tol=1e-10)`` (general);
* ``certify / bare``: ``certify`` over the cheapest bare call that gives ρ for that target.

Times are ``time.perf_counter`` wall seconds, the best of ``--repeat`` runs with the
methods interleaved (every method sees the same load); sizes above 1000 run once
(``×1``). The machine and its load average before and after are printed. Not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import gdcert

BEST_OF_LIMIT = 1000  # sizes above this run once
SVD_VALUES_LIMIT = 1000  # the values-only SVD baseline is skipped above this


def load() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


#: Runs the CLI's entry point (``gdcert.cli:main``, what the ``gdcert`` script calls) and
#: reports the process's own peak RSS (``VmHWM``) on stderr at exit. Not ``ru_maxrss`` from
#: ``wait4``: a child's high-water mark starts from its parent's at ``fork`` (this
#: process, holding every test matrix) and survives ``exec``.
CLI_WRAPPER = """
import atexit, sys
def _hwm():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                sys.stderr.write("@@VmHWM " + line.split()[1] + "\\n")
    except OSError:
        pass
atexit.register(_hwm)
from gdcert.cli import main
sys.argv = ["gdcert", *sys.argv[1:]]
main()
"""


def run_cli(path: Path, depth: int) -> int | None:
    """Run ``gdcert bound FILE --depth L --json``; its peak RSS in bytes (None without /proc)."""
    proc = subprocess.run([sys.executable, "-c", CLI_WRAPPER, "bound", str(path), "--depth",
                           str(depth), "--json"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"gdcert bound failed ({proc.returncode}): {proc.stderr.strip()}")
    for line in proc.stderr.splitlines():
        if line.startswith("@@VmHWM "):
            return int(line.split()[1]) * 1024
    return None


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

    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    return (f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"numpy {np.__version__}, scipy {scipy.__version__}, gdcert {gdcert.__version__}; "
            f"OPENBLAS_NUM_THREADS={threads}")


def baselines(kind: str, phi: np.ndarray) -> dict[str, Callable[[], object]]:
    """The bare calls timed beside ``certify`` for this target."""
    out: dict[str, Callable[[], object]] = {}
    if kind == "general":
        if min(phi.shape) <= SVD_VALUES_LIMIT:
            out["svd"] = lambda: np.linalg.svd(phi, compute_uv=False)

        def svds() -> object:
            from scipy.sparse.linalg import svds as _svds

            return _svds(phi, k=1, tol=1e-10, random_state=0, return_singular_vectors=False)

        out["svds"] = svds
    else:
        out["eigvalsh"] = lambda: np.linalg.eigvalsh(phi)
    return out


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
        cases.append(("SPD", n, args.depth, a @ a.T + 0.01 * np.eye(n)))
    small = rng.standard_normal((10, 10)) / np.sqrt(10)
    cases.append(("general", 10, 10_000, small))
    cases.append(("symmetric", 10, 10_000, 0.5 * (small + small.T)))

    # warm up imports and lazy paths, so the first row does not pay for them
    gdcert.certify(np.diag([4.0, 1.0]), depth=2)

    print(f"machine: {machine()}")
    print(f"load average before (1/5/15 min): {load()}\n")
    with tempfile.TemporaryDirectory() as tmp:
        start_rss = 0
        if not args.no_cli:
            tiny = Path(tmp) / "tiny.npy"
            np.save(tiny, np.diag([2.0, 1.0]))
            start_rss = run_cli(tiny, 2) or 0
            print(f"`gdcert bound` start-up peak RSS (2×2 target): {start_rss / 2**20:.0f} MB\n")
        print("| target | n | depth L | runs | `certify` | `gdcert bound --json` (CLI) "
              "| CLI peak RSS (above start-up) | `eigvalsh` | `svd` (values) | `svds` k=1 "
              "| `certify` / bare |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for kind, n, depth, phi in cases:
            repeat = args.repeat if n <= BEST_OF_LIMIT else 1
            path = Path(tmp) / f"{kind}_{n}.npy"
            np.save(path, phi)
            methods: dict[str, Callable[[], object]] = {
                "certify": lambda phi=phi, depth=depth: gdcert.certify(phi, depth=depth)}
            rss: list[int | None] = []
            if not args.no_cli:
                methods["cli"] = (lambda path=path, depth=depth, rss=rss:
                                  rss.append(run_cli(path, depth)))
            methods.update(baselines(kind, phi))
            best: dict[str, float] = {}
            for _ in range(repeat):
                for name, fn in methods.items():
                    t0 = time.perf_counter()
                    fn()
                    best[name] = min(best.get(name, float("inf")), time.perf_counter() - t0)
            # the ratio means something only when Φ is large against the imports
            mem = "—"
            peaks = [r for r in rss if r is not None]
            if peaks:
                mem = f"{max(peaks) / 2**20:.0f} MB"
                if phi.nbytes >= 8 * 2**20:
                    mem = f"{(max(peaks) - start_rss) / phi.nbytes:.1f} × Φ ({mem})"
            bare = [best[k] for k in ("eigvalsh", "svd", "svds") if k in best]
            ratio = f"{best['certify'] / min(bare):.1f}×" if bare else "—"
            print(f"| {kind} | {n} | {depth} | ×{repeat} | {fmt(best['certify'])} | "
                  f"{fmt(best.get('cli'))} | {mem} | {fmt(best.get('eigvalsh'))} | "
                  f"{fmt(best.get('svd'))} | {fmt(best.get('svds'))} | {ratio} |", flush=True)
    print(f"\nload average after (1/5/15 min): {load()}")


if __name__ == "__main__":
    main()
