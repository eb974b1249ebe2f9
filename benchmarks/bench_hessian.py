"""Top Hessian eigenvalue of a deep linear network: gdcert's engine against named baselines.

Run:  python benchmarks/bench_hessian.py [--repeat 3] [--quick]

For ``ℓ = ½‖W_L⋯W_1 − Φ‖_F²`` with a random n×n target Φ (Gaussian / √d), at the
balanced global minimum (a critical point: the case ``gdcert bound`` computes) and at a
non-critical point (that minimum with every layer perturbed by 0.05·N(0, 1)), times:

* ``gdcert``: :func:`gdcert.bounds.stability.top_hessian_eigenvalue` — exact to a
  relative residual ‖Hv − λv‖ ≤ 1e-10·|λ| (Lanczos; on JJᵀ in the output space at a
  zero-residual point, see ``gdcert/bounds/stability.py``);
* ``numpy power ×100``: 100 steps of plain power iteration on the same numpy HVP
  (:class:`~gdcert.bounds.stability.HessianOperator`), as a hand-written loop would;
* ``PyHessian-style torch``: PyHessian's ``eigenvalues()`` loop (power iteration on
  double-backward HVPs, ``maxIter=100``, ``tol=1e-3`` relative change), in float64, if
  torch is importable (else the column says "torch not installed");
* ``ARPACK eigsh``: ``scipy.sparse.linalg.eigsh(which="LA", tol=1e-10)`` on the same numpy
  HVP — the previous engine's solver; skipped above 200 000 parameters (it took 43–45 s
  at L = 3, d = 500).

Each method's λ is compared with gdcert's (``rel err``). Times are wall seconds,
``time.perf_counter``, the best of ``--repeat`` runs with the methods interleaved; the
machine and its load average are printed. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_bound import fmt, load, machine  # noqa: E402

from gdcert.bounds import stability  # noqa: E402

ARPACK_PARAM_LIMIT = 200_000


def case_weights(depth: int, d: int, *, critical: bool,
                 seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    phi = rng.standard_normal((d, d)) / math.sqrt(d)
    u, s, vt = np.linalg.svd(phi)
    ws = stability.balanced_minimum(u, s, vt, (d,) * (depth + 1))
    if not critical:
        ws = [w + 0.05 * rng.standard_normal(w.shape) for w in ws]
    return ws, phi


def gdcert_lambda(ws: list[np.ndarray], phi: np.ndarray) -> float:
    return stability.top_hessian_eigenvalue(ws, None, phi)[0]


def numpy_power(ws: list[np.ndarray], phi: np.ndarray, steps: int = 100) -> float:
    op = stability.HessianOperator(ws, None, phi)
    v = np.random.default_rng(1).standard_normal(op.size)
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(steps):
        hv = op.matvec(v)
        lam = float(v @ hv)
        v = hv / np.linalg.norm(hv)
    return lam


def arpack(ws: list[np.ndarray], phi: np.ndarray) -> float:
    from scipy.sparse.linalg import LinearOperator, eigsh

    op = stability.HessianOperator(ws, None, phi)
    lin = LinearOperator((op.size, op.size), matvec=op.matvec, dtype=np.float64)
    v0 = np.random.default_rng(0).standard_normal(op.size)
    return float(eigsh(lin, k=1, which="LA", tol=1e-10, v0=v0,
                       return_eigenvectors=False)[0])


def torch_pyhessian(ws: list[np.ndarray], phi: np.ndarray,
                    max_iter: int = 100, tol: float = 1e-3) -> tuple[float, int]:
    """PyHessian's ``hessian.eigenvalues(top_n=1)`` loop, for this loss, in float64."""
    import torch

    params = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in ws]
    target = torch.tensor(phi, dtype=torch.float64)
    prod = params[0]
    for w in params[1:]:
        prod = w @ prod
    loss = 0.5 * ((prod - target) ** 2).sum()
    grads = torch.autograd.grad(loss, params, create_graph=True)
    gen = torch.Generator().manual_seed(1)
    v = [torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in params]
    lam_prev: float | None = None
    lam = 0.0
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        norm = torch.sqrt(sum((x * x).sum() for x in v))
        v = [x / (norm + 1e-6) for x in v]
        hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
        lam = float(sum((h * x).sum() for h, x in zip(hv, v, strict=True)))
        v = [h.detach() for h in hv]
        if lam_prev is not None and abs(lam - lam_prev) / (abs(lam_prev) + 1e-6) < tol:
            break
        lam_prev = lam
    return lam, it


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="skip L = 3, d = 500")
    args = ap.parse_args(argv)
    try:
        import torch

        torch_info = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        torch = None  # type: ignore[assignment]
        torch_info = "torch not installed"
    cases = [(4, 20, True), (10, 100, True), (10, 100, False), (3, 500, True)]
    if args.quick:
        cases = cases[:3]

    print(f"machine: {machine()}; {torch_info}")
    print(f"load average before: {load()}\n")
    print("| point | L | d | params | `gdcert` | numpy power ×100 (rel err) "
          "| PyHessian-style torch (iters, rel err) | ARPACK `eigsh` (rel err) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for depth, d, critical in cases:
        ws, phi = case_weights(depth, d, critical=critical)
        params = sum(w.size for w in ws)
        best: dict[str, float] = {}
        vals: dict[str, object] = {}
        methods: dict[str, Callable[[], object]] = {
            "gdcert": lambda ws=ws, phi=phi: gdcert_lambda(ws, phi),
            "power": lambda ws=ws, phi=phi: numpy_power(ws, phi),
        }
        if torch is not None:
            methods["torch"] = lambda ws=ws, phi=phi: torch_pyhessian(ws, phi)
        if params <= ARPACK_PARAM_LIMIT:
            methods["arpack"] = lambda ws=ws, phi=phi: arpack(ws, phi)
        for _ in range(args.repeat):
            for name, fn in methods.items():  # interleaved: every method sees the same load
                t, out = timed(fn)
                best[name] = min(best.get(name, math.inf), t)
                vals[name] = out
        ref = float(vals["gdcert"])  # type: ignore[arg-type]

        def rel(x: float, ref: float = ref) -> str:
            return f"{abs(x - ref) / abs(ref):.0e}"

        power = f"{fmt(best['power'])} ({rel(float(vals['power']))})"  # type: ignore[arg-type]
        if "torch" in vals:
            lam_t, iters = vals["torch"]  # type: ignore[misc]
            tcol = f"{fmt(best['torch'])} ({iters}, {rel(lam_t)})"
        else:
            tcol = "torch not installed"
        acol = (f"{fmt(best['arpack'])} ({rel(float(vals['arpack']))})"  # type: ignore[arg-type]
                if "arpack" in vals else f"skipped (> {ARPACK_PARAM_LIMIT:,} params)")
        point = "balanced minimum" if critical else "non-critical"
        print(f"| {point} | {depth} | {d} | {params:,} | {fmt(best['gdcert'])} | {power} | "
              f"{tcol} | {acol} |", flush=True)
    print(f"\nload average after: {load()}")
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")


if __name__ == "__main__":
    main()
