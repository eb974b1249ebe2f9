"""The GD core's small and mid-size matrix products against named baselines (ns per multiply–add).

Run:  python benchmarks/bench_gemm.py [--repeat 7]

For square ``d × d × d`` products on flat row-major buffers, as the step kernels call them,
prints one Markdown row per ``d`` with the time per multiply–add (best of ``--repeat``
timed loops, each long enough to take ~20 ms) of

* ``core NN / TN / NT``: :func:`gdcert.sim.kernels._gemm` (unrolled 2×2/4×4, inlined
  loops up to 64 multiply–adds, register-blocked vector code up to 24³, BLAS above);
* ``loop NN / TN / NT (before)``: the dot-product loop the core used for 65–1000
  multiply–adds until 2026-12-01 (``i, j, p`` order, ``fastmath`` reassociation; a copy
  here, as a baseline);
* ``BLAS NN``: ``np.dot(A, B, out)`` called from numba on views of the flat buffers, which
  is what the core used above 1000 multiply–adds (scipy's OpenBLAS ``dgemm``, one thread).

Every variant runs inside a compiled loop, so no Python call overhead is included, on
matrices at runtime offsets inside larger flat buffers, as in the step kernels (with
offsets known to be 0 LLVM vectorised the former loops far better than it did inside the
kernels: 0.3 against 1.1 ns per multiply–add for NT at d = 6). Not a test: nothing is
asserted (the results are checked against numpy once per case).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from numba import njit

from gdcert.linalg import blas_threads
from gdcert.sim.kernels import _gemm

_FM = {"reassoc", "contract"}


#: offset of every matrix in its flat buffer (a runtime argument of the timed loops)
OFF = 3


@njit(fastmath=_FM, cache=False)
def _loop_before(a, oa, ta, b, ob, tb, out, oo, n, k, m):  # type: ignore[no-untyped-def]
    """The former mid-size path (``_gemm_loop``): dot products in i, j, p order."""
    sa_r = 1 if ta else k
    sa_c = n if ta else 1
    sb_r = 1 if tb else m
    sb_c = k if tb else 1
    for i in range(n):
        for j in range(m):
            acc = 0.0
            for p in range(k):
                acc += a[oa + i * sa_r + p * sa_c] * b[ob + p * sb_r + j * sb_c]
            out[oo + i * m + j] = acc


@njit(cache=False)
def _run_core(a, b, out, off, d, reps, ta, tb):  # type: ignore[no-untyped-def]
    for _ in range(reps):
        _gemm(a, off, ta, b, off, tb, out, off, d, d, d)
        a[off] += out[off + 1] * 1e-300  # a dependency: the products cannot be hoisted


@njit(cache=False)
def _run_before(a, b, out, off, d, reps, ta, tb):  # type: ignore[no-untyped-def]
    for _ in range(reps):
        if ta:
            _loop_before(a, off, True, b, off, False, out, off, d, d, d)
        elif tb:
            _loop_before(a, off, False, b, off, True, out, off, d, d, d)
        else:
            _loop_before(a, off, False, b, off, False, out, off, d, d, d)
        a[off] += out[off + 1] * 1e-300


@njit(cache=False)
def _run_blas(a, b, out, off, d, reps):  # type: ignore[no-untyped-def]
    x = a[off:off + d * d].reshape((d, d))
    y = b[off:off + d * d].reshape((d, d))
    z = out[off:off + d * d].reshape((d, d))
    for _ in range(reps):
        np.dot(x, y, z)
        a[off] += out[off + 1] * 1e-300


def _best(fn, reps: int, repeat: int) -> float:  # type: ignore[no-untyped-def]
    fn(1)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn(reps)
        best = min(best, time.perf_counter() - t)
    return best / reps


def row(d: int, repeat: int) -> str:
    rng = np.random.default_rng(d)
    mat_a, mat_b = rng.standard_normal((d, d)), rng.standard_normal((d, d))
    a, b, out = np.zeros(OFF + d * d + 1), np.zeros(OFF + d * d + 1), np.zeros(OFF + d * d + 1)
    b[OFF:OFF + d * d] = mat_b.ravel()
    want = {(0, 0): mat_a @ mat_b, (1, 0): mat_a.T @ mat_b, (0, 1): mat_a @ mat_b.T}
    reps = max(200, int(2e7 // d**3))
    cells = []
    for run in (_run_core, _run_before):
        for ta, tb in ((0, 0), (1, 0), (0, 1)):
            a[OFF:OFF + d * d] = mat_a.ravel()
            run(a, b, out, OFF, d, 1, ta, tb)
            scale = np.abs(want[(ta, tb)]).max()
            got = out[OFF:OFF + d * d].reshape(d, d)
            assert np.allclose(got, want[(ta, tb)], atol=1e-12 * scale)
            sec = _best(lambda r, run=run, ta=ta, tb=tb: run(a, b, out, OFF, d, r, ta, tb),
                        reps, repeat)
            cells.append(sec / d**3 * 1e9)
    sec = _best(lambda r: _run_blas(a, b, out, OFF, d, r), reps, repeat)
    cells.append(sec / d**3 * 1e9)
    core = cells[:3]
    speed = [before / now for before, now in zip(cells[3:6], core, strict=True)]
    return (f"| {d} | " + " | ".join(f"{c:.3f}" for c in cells)
            + f" | {min(speed):.1f}–{max(speed):.1f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sizes", default="3,5,6,8,10,12,16,20,24,32")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} cores; load before {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}\n")
    print("ns per multiply–add, best of", args.repeat, "(BLAS on one thread)\n")
    print("| d | core NN | core TN | core NT | loop NN (before) | loop TN (before) "
          "| loop NT (before) | BLAS NN | core vs loop |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with blas_threads(1):
        for d in (int(x) for x in args.sizes.split(",")):
            print(row(d, args.repeat), flush=True)
    load = os.getloadavg()
    print(f"\nload after {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}")


if __name__ == "__main__":
    main()
