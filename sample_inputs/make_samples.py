"""Regenerate the sample inputs (deterministic): python sample_inputs/make_samples.py"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def orthogonal(rng: np.random.Generator, n: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def train_identity(phi: np.ndarray, depth: int, eta: float, steps: int) -> list[np.ndarray]:
    """Plain GD from W_j(0) = I on ½‖W_L⋯W_1 − Φ‖²: a genuinely trained solution."""
    ws = [np.eye(phi.shape[0]) for _ in range(depth)]
    for _ in range(steps):
        pre = [np.eye(phi.shape[0])]
        for w in ws[:-1]:
            pre.append(w @ pre[-1])
        suf = [np.eye(phi.shape[0])] * depth
        for j in range(depth - 2, -1, -1):
            suf[j] = suf[j + 1] @ ws[j + 1]
        g = suf[0] @ ws[0] - phi
        ws = [w - eta * suf[j].T @ g @ pre[j].T for j, w in enumerate(ws)]
    return ws


def main() -> None:
    rng = np.random.default_rng(2018)
    q = orthogonal(rng, 4)
    spd = q @ np.diag([3.0, 2.0, 1.0, 0.5]) @ q.T
    np.save(HERE / "spd_4x4.npy", spd)
    q = orthogonal(rng, 4)
    np.save(HERE / "indefinite_4x4.npy", q @ np.diag([2.5, 1.0, 0.5, -1.5]) @ q.T)
    general = rng.standard_normal((5, 5))
    np.savetxt(HERE / "general_5x5.csv", general, delimiter=",", fmt="%.17g")
    np.save(HERE / "rectangular_3x5.npy", rng.standard_normal((3, 5)))
    np.save(HERE / "zas_6x6.npy", 0.4 * rng.standard_normal((6, 6)))
    # Whitened data: X with XXᵀ = I exactly (orthonormal rows), m = 40 samples.
    m = 40
    x = np.linalg.qr(rng.standard_normal((m, 4)))[0].T
    w_true = rng.standard_normal((3, 4))
    np.savez(HERE / "whitened_data.npz", X=x, Y=w_true @ x)
    # Non-whitened, noisy data: Gaussian X (variance 1/d, as in Nguegnang et al. §5).
    x = rng.standard_normal((4, 60)) / 2.0
    y = w_true @ x + 0.05 * rng.standard_normal((3, 60))
    np.savez(HERE / "raw_data.npz", X=x, Y=y)
    ws = train_identity(spd, depth=3, eta=0.05, steps=4000)
    np.savez(HERE / "trained_weights_spd_L3.npz", **{f"W{j + 1}": w for j, w in enumerate(ws)})


if __name__ == "__main__":
    main()
