"""Benchmark the compiled GD core against a plain numpy loop, PyTorch autograd + SGD and JAX.

Run:  python benchmarks/bench_simulate.py [--quick]

Prints one Markdown table (iterations per second; for the batched case trajectory-steps
per second, all trajectories together; against a numpy loop, numpy batched over the
trajectories with stacked ``np.matmul`` for the batched case, torch, and JAX — ``jit`` of a
``lax.fori_loop`` of ``jax.grad`` steps with the layers stacked and multiplied by
``lax.scan``, ``vmap`` over the trajectories in the batched case, float64) and the core's
share of numpy's matmul throughput at d = 64. Every method runs the same GD on the same
target-form problem ``ℓ = ½‖W_L⋯W_1 − Φ‖_F²`` with the same step size; the numpy loop
uses the same O(L) prefix/backward recursion as the kernel. PyTorch and JAX are optional
(skipped if not installed: ``pip install torch jax``). Kernels are compiled (or loaded from
cache) and JAX functions traced and compiled (one call) before timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time
from collections.abc import Callable

import numpy as np

from gdcert.sim.engine import GDProblem, Schedule, run, run_batch, warm_up

try:
    import torch
except ImportError:  # torch is optional
    torch = None  # type: ignore[assignment]

try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
except ImportError:  # jax is optional
    jax = None  # type: ignore[assignment]


def _problem(depth: int, d: int, seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Φ near the identity and a near-identity init: GD stays bounded for the timed steps."""
    rng = np.random.default_rng(seed)
    phi = np.eye(d) + 0.1 * rng.standard_normal((d, d)) / np.sqrt(d)
    init = [
        np.eye(d) + 0.01 * rng.standard_normal((d, d)) / np.sqrt(d * depth) for _ in range(depth)
    ]
    return phi, init


def numpy_gd(init: list[np.ndarray], phi: np.ndarray, eta: float, steps: int) -> float:
    """GD in plain numpy, same maths as the kernel: prefix products, backward recursion."""
    ws = [w.copy() for w in init]
    depth = len(ws)
    loss = 0.0
    for _ in range(steps):
        # P_j = W_j P_{j-1}
        pre = [ws[0]]
        for w in ws[1:]:
            pre.append(w @ pre[-1])
        g = pre[-1] - phi
        loss = 0.5 * float(np.sum(g * g))
        a = g
        new = [ws[0]] * depth
        for i in range(depth - 1, -1, -1):
            # ∇_{W_j} = A_j P_{j-1}ᵀ ;  A_{j-1} = W_jᵀ A_j
            grad = a @ pre[i - 1].T if i > 0 else a
            if i > 0:
                a = ws[i].T @ a
            new[i] = ws[i] - eta * grad
        ws = new
    return loss


def numpy_batched_gd(inits: list[list[np.ndarray]], phi: np.ndarray, etas: np.ndarray,
                     steps: int) -> float:
    """The same GD for all trajectories at once: each layer a ``T × d × d`` stack, products
    by ``np.matmul`` over the stack (one numpy call per layer and product, for all ``T``)."""
    ws = [np.stack([init[j] for init in inits]) for j in range(len(inits[0]))]
    eta = np.asarray(etas, dtype=np.float64)[:, None, None]
    depth = len(ws)
    loss = 0.0
    for _ in range(steps):
        pre = [ws[0]]
        for w in ws[1:]:
            pre.append(w @ pre[-1])
        g = pre[-1] - phi
        loss = 0.5 * float(np.sum(g * g))
        a = g
        new = [ws[0]] * depth
        for i in range(depth - 1, -1, -1):
            grad = a @ pre[i - 1].transpose(0, 2, 1) if i > 0 else a
            if i > 0:
                a = ws[i].transpose(0, 2, 1) @ a
            new[i] = ws[i] - eta * grad
        ws = new
    return loss


def torch_gd(init: list[np.ndarray], phi: np.ndarray, eta: float, steps: int) -> float:
    """GD with PyTorch autograd and ``torch.optim.SGD`` (CPU, float64)."""
    assert torch is not None
    params = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in init]
    target = torch.tensor(phi, dtype=torch.float64)
    opt = torch.optim.SGD(params, lr=eta)
    loss = torch.zeros(())
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        prod = params[0]
        for w in params[1:]:
            prod = w @ prod
        loss = 0.5 * torch.sum((prod - target) ** 2)
        loss.backward()
        opt.step()
    return float(loss.detach())


def _jax_runners() -> tuple[Callable[..., object], Callable[..., object]]:
    """``(single, batched)``: jitted JAX GD, ``steps`` a runtime argument (one compile per
    shape). Layers stacked ``(L, d, d)``; the product by ``lax.scan``; autodiff gradient."""
    assert jax is not None

    def loss(ws: object, phi: object) -> object:
        prod, _ = jax.lax.scan(lambda p, w: (w @ p, None), ws[0], ws[1:])
        return 0.5 * jnp.sum((prod - phi) ** 2)

    grad = jax.grad(loss)

    def gd(ws: object, phi: object, eta: object, steps: object) -> object:
        return jax.lax.fori_loop(0, steps, lambda _, w: w - eta * grad(w, phi), ws)

    return jax.jit(gd), jax.jit(jax.vmap(gd, in_axes=(0, None, 0, None)))


def _rate(fn: Callable[[int], object], steps: int, repeat: int = 3) -> float:
    """Best steps per second of ``repeat`` calls ``fn(steps // repeat)`` (after a short warm call).

    The best of several runs (as ``timeit`` advises) keeps other load on the machine from
    dominating the figure.
    """
    fn(max(1, steps // 50))
    each = max(1, steps // repeat)
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(each)
        best = max(best, each / (time.perf_counter() - t0))
    return best


def _matmul_gflops(d: int, seconds: float = 0.3, repeat: int = 3) -> float:
    """numpy ``np.dot(a, b, out)`` throughput on ``d × d`` matrices (2d³ flops per product).

    Best of ``repeat`` windows of ``seconds`` each.
    """
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((d, d)), rng.standard_normal((d, d))
    out = np.empty((d, d))
    best = 0.0
    for _ in range(repeat):
        n = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for _ in range(20):
                np.dot(a, b, out)
            n += 20
        best = max(best, 2.0 * d**3 * n / (time.perf_counter() - t0) / 1e9)
    return best


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 10× fewer steps")
    opts = parser.parse_args()
    scale = 0.1 if opts.quick else 1.0
    load = os.getloadavg()
    warm_up()

    jax_single, jax_batched = _jax_runners() if jax is not None else (None, None)
    # (name, depth, width, batch, core steps, numpy steps, torch steps)
    cases = [
        ("L=2, d=2", 2, 2, 1, 400_000, 20_000, 5_000),
        ("L=3, d=4", 3, 4, 1, 200_000, 10_000, 3_000),
        ("L=1000, d=4", 1000, 4, 1, 2000, 60, 30),
        ("L=100, d=64", 100, 64, 1, 2000, 300, 150),
        ("L=10000, d=1", 10000, 1, 1, 400, 8, 4),
        ("32 etas x L=20, d=16 (batched)", 20, 16, 32, 4000, 150, 60),
    ]
    rows = []
    core_d64 = 0.0
    g64 = 0.0
    for name, depth, d, batch, n_core, n_np, n_torch in cases:
        n_core, n_np, n_torch = (max(2, int(n * scale)) for n in (n_core, n_np, n_torch))
        phi, init = _problem(depth, d, 0)
        prob = GDProblem.target(phi, (d,) * (depth + 1))
        eta = 0.5 / depth
        etas = np.linspace(0.2, 1.0, batch) * eta
        inits = [_problem(depth, d, s)[1] for s in range(batch)]

        def core(steps: int, prob: GDProblem = prob, inits: list = inits, etas=etas) -> object:
            if len(inits) == 1:
                return run(
                    prob, inits[0], Schedule.constant(etas[0]), max_iter=steps, loss_target=-1.0,
                    div_factor=np.inf, record_every=0,
                )  # fmt: skip
            return run_batch(
                prob, inits, [Schedule.constant(e) for e in etas], max_iter=steps,
                loss_target=-1.0, div_factor=np.inf, record_every=0,
            )  # fmt: skip

        def plain(steps: int, phi: np.ndarray = phi, inits: list = inits, etas=etas) -> object:
            return [numpy_gd(w, phi, e, steps) for w, e in zip(inits, etas, strict=True)]

        def with_torch(steps: int, phi: np.ndarray = phi, inits: list = inits, etas=etas) -> object:
            return [torch_gd(w, phi, e, steps) for w, e in zip(inits, etas, strict=True)]

        r_core = _rate(core, n_core) * batch
        if d == 64:
            # interleave the matmul reference with the core so both see the same machine load
            for _ in range(2):
                g64 = max(g64, _matmul_gflops(64))
                r_core = max(r_core, _rate(core, n_core) * batch)
                g64 = max(g64, _matmul_gflops(64))
        r_np = _rate(plain, n_np) * batch
        r_npb = float("nan")
        if batch > 1:
            r_npb = _rate(lambda n, inits=inits, etas=etas, phi=phi:
                          numpy_batched_gd(inits, phi, etas, n), n_np) * batch
        r_torch = _rate(with_torch, n_torch) * batch if torch is not None else float("nan")
        r_jax = float("nan")
        if jax is not None:
            stack = jnp.asarray(np.stack([np.stack(w) for w in inits]))
            jphi, jetas = jnp.asarray(phi), jnp.asarray(etas)

            def with_jax(steps: int, stack=stack, jphi=jphi, jetas=jetas, batch=batch) -> object:
                if batch == 1:
                    out = jax_single(stack[0], jphi, jetas[0], steps)
                else:
                    out = jax_batched(stack, jphi, jetas, steps)
                return out.block_until_ready()

            # the same step count as the core (XLA's loop is compiled code too)
            r_jax = _rate(with_jax, n_core) * batch
        if d == 64:
            core_d64 = r_core
        rows.append((name, r_core, r_np, r_npb, r_torch, r_jax))
        print(
            f"  {name}: core {r_core:,.0f}/s, numpy {r_np:,.0f}/s, numpy batched "
            f"{r_npb:,.0f}/s, torch {r_torch:,.0f}/s, jax {r_jax:,.0f}/s",
            flush=True,
        )

    # prange scaling and the BLAS thread cap: 8 trajectories of L=20, d=64 (BLAS-sized)
    import contextlib

    from gdcert.sim import engine

    phi, _ = _problem(20, 64, 0)
    prob64 = GDProblem.target(phi, (64,) * 21)
    inits64 = [_problem(20, 64, s)[1] for s in range(8)]
    scheds64 = [Schedule.constant(e) for e in np.linspace(0.005, 0.025, 8)]

    def batch64(steps: int, parallel: bool = True) -> object:
        return run_batch(
            prob64, inits64, scheds64, max_iter=steps, loss_target=-1.0, div_factor=np.inf,
            record_every=0, parallel=parallel,
        )  # fmt: skip

    n64 = max(2, int(400 * scale))
    scaling = {"parallel, BLAS capped to 1 thread": _rate(batch64, n64) * 8}
    scaling["serial (parallel=False)"] = _rate(lambda n: batch64(n, parallel=False), n64) * 8
    capped = engine._single_threaded_blas
    engine._single_threaded_blas = contextlib.nullcontext  # type: ignore[assignment]
    try:
        scaling["parallel, BLAS threads not capped"] = _rate(batch64, n64) * 8
    finally:
        engine._single_threaded_blas = capped

    g64 = max(g64, _matmul_gflops(64))
    g512 = _matmul_gflops(512)
    # target form, L = 100: 3(L−1) products of 64×64 matrices per step, 2·64³ flops each
    flops_step = 3 * (100 - 1) * 2 * 64**3
    core_gflops = core_d64 * flops_step / 1e9

    import numba
    import scipy

    print()
    print(f"Machine: {_cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
          f"numpy {np.__version__}, scipy {scipy.__version__}, numba {numba.__version__}, "
          f"torch {torch.__version__ if torch is not None else 'not installed'}, "
          f"jax {jax.__version__ if jax is not None else 'not installed'}; "
          f"numba threads {numba.get_num_threads()} ({numba.threading_layer()})")  # fmt: skip
    print()
    print("| case | core it/s | numpy loop it/s | numpy batched it/s | torch SGD it/s "
          "| JAX jit it/s | core/numpy | core/numpy batched | core/torch | core/JAX |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r_core, r_np, r_npb, r_torch, r_jax in rows:
        print(
            f"| {name} | {r_core:,.0f} | {r_np:,.0f} | {r_npb:,.0f} | {r_torch:,.0f} | "
            f"{r_jax:,.0f} | {r_core / r_np:,.1f}× | {r_core / r_npb:,.1f}× | "
            f"{r_core / r_torch:,.2f}× | {r_core / r_jax:,.2f}× |"
        )
    print()
    print("8 trajectories x L=20, d=64, trajectory-steps/s:")
    for label, rate in scaling.items():
        print(f"- {label}: {rate:,.0f}")
    print()
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"numpy matmul: {g64:.1f} GFLOP/s at 64×64, {g512:.1f} GFLOP/s at 512×512")
    print(
        f"core at L=100, d=64: {core_gflops:.1f} GFLOP/s "
        f"({3 * 99} matmuls of 2·64³ flops per step) = {core_gflops / g64:.0%} of numpy's "
        f"64×64 matmul throughput"
    )


if __name__ == "__main__":
    main()
