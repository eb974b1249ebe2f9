"""Regenerate the inputs of the sample sweeps (deterministic): python sample_inputs/make_sweep_samples.py

* ``gaussian_4x4.npy`` — Wu, Wang & Ma (2019) §5.1's Gaussian target, entries N(0, 1), d = 4.
* ``nguegnang_data.npz`` — Nguegnang, Rauhut & Terstiege (2021) §5's data, made smaller:
  d = 20, m = 3d = 60 samples, X entries N(0, 1/d), Y = W̃_N⋯W̃_1 X of rank 2 with the
  W̃_j a balanced rank-2 tuple (the paper: d = 70).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def haar(rng: np.random.Generator, n: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def main() -> None:
    rng = np.random.default_rng(2019)
    np.save(HERE / "gaussian_4x4.npy", rng.standard_normal((4, 4)))
    d, m, r = 20, 60, 2
    x = rng.standard_normal((d, m)) / np.sqrt(d)
    # a rank-2 balanced product V_N I U_1ᵀ of Haar frames: W̃ = F_N F_0ᵀ
    w = haar(rng, d)[:, :r] @ haar(rng, d)[:, :r].T
    np.savez(HERE / "nguegnang_data.npz", X=x, Y=w @ x)


if __name__ == "__main__":
    main()
