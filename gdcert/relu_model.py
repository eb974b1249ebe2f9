"""Two-layer ReLU models ``f̂(x) = W g(Vx − b)``: loading and evaluation.

Model file (``.npz``): ``W`` (m×r), ``V`` (r×n), ``b`` (r), ``X`` (n×N, columns are
samples); optionally ``Y`` (m×N) targets. A 1-D ``W`` of length r is read as 1×r and a
1-D ``V`` of length r as r×1 (one input), as in Nar & Sastry's Figure 2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from gdcert.errors import InputError


@dataclass(frozen=True)
class ReluModel:
    w: np.ndarray  # m×r
    v: np.ndarray  # r×n
    b: np.ndarray  # r
    x: np.ndarray  # n×N
    source: str = "model"

    def predict(self, x: np.ndarray | None = None) -> np.ndarray:
        """f̂(X) = W g(VX − b 1ᵀ), m×N."""
        xx = self.x if x is None else x
        return self.w @ np.maximum(self.v @ xx - self.b[:, None], 0.0)


def load_model(path: str | os.PathLike[str]) -> ReluModel:
    """Read and validate a ReLU model file (one-line errors)."""
    from gdcert.io import load_npz_arrays

    arrays = load_npz_arrays(path, required=("W", "V", "b", "X"), what="MODEL")
    return make_model(arrays["W"], arrays["V"], arrays["b"], arrays["X"], source=str(path))


def make_model(w: np.ndarray, v: np.ndarray, b: np.ndarray, x: np.ndarray, *,
               source: str = "model") -> ReluModel:
    """Check shapes: W (m×r), V (r×n), b (r), X (n×N)."""
    w = np.atleast_2d(np.asarray(w, dtype=np.float64))
    v = np.asarray(v, dtype=np.float64)
    v = v[:, None] if v.ndim == 1 else v
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    x = np.asarray(x, dtype=np.float64)
    x = x[None, :] if x.ndim == 1 else x
    r = w.shape[1]
    if v.ndim != 2 or v.shape[0] != r:
        raise InputError(f"MODEL {source}: V has shape {v.shape} but W has {r} columns: "
                         f"expected V of shape ({r}, n)")
    if b.size != r:
        raise InputError(f"MODEL {source}: b has {b.size} entries but W has {r} columns "
                         "(hidden units)")
    if x.ndim != 2 or x.shape[0] != v.shape[1]:
        raise InputError(f"MODEL {source}: X has shape {x.shape} but V has {v.shape[1]} "
                         f"columns: expected X of shape ({v.shape[1]}, N), columns are samples")
    for name, a in (("W", w), ("V", v), ("b", b), ("X", x)):
        if not np.all(np.isfinite(a)):
            raise InputError(f"MODEL {source}: array '{name}' contains NaN or Inf")
    return ReluModel(np.ascontiguousarray(w), np.ascontiguousarray(v), b,
                     np.ascontiguousarray(x), source)
