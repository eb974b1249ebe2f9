"""Two-layer ReLU models ``f̂(x) = W g(Vx − b)``: loading and evaluation.

Model file (``.npz``): ``W`` (m×r), ``V`` (r×n), ``b`` (r), ``X`` (n×N, columns are
samples); optionally ``Y`` (m×N) targets. A 1-D ``W`` of length r is read as 1×r and a
1-D ``V`` of length r as r×1 (one input), as in Nar & Sastry's Figure 2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

from gdcert.errors import InputError


@dataclass(frozen=True)
class ReluModel:
    w: np.ndarray  # m×r
    v: np.ndarray  # r×n
    b: np.ndarray  # r
    x: np.ndarray  # n×N
    source: str = "model"
    y: np.ndarray | None = None  # m×N targets, when the file has them

    def grad_norm(self, loss: str = "half-sum") -> tuple[float, float]:
        """(‖∇ℓ‖_F over W and V, a scale for it) for ``loss`` (needs the targets ``y``).

        ℓ = c Σ_i ‖f̂(x_i) − y_i‖² with c = ½ (half-sum), 1 (sum), 1/(2N) (mean):
        ∇_W ℓ = 2c R Hᵀ, ∇_V ℓ = 2c ((WᵀR) ⊙ 1[VX − b > 0]) Xᵀ, R = f̂(X) − Y,
        H = g(VX − b). The scale 2c ‖Y‖_F (‖H‖_F + ‖W‖_F ‖X‖_F) is the size of those
        products with the residual replaced by Y.
        """
        assert self.y is not None
        c = {"half-sum": 0.5, "sum": 1.0, "mean": 0.5 / self.x.shape[1]}[loss]
        pre = self.v @ self.x - self.b[:, None]
        h = np.maximum(pre, 0.0)
        r = self.w @ h - self.y
        g_w = 2 * c * (r @ h.T)
        g_v = 2 * c * (((self.w.T @ r) * (pre > 0)) @ self.x.T)
        grad = float(np.sqrt(np.sum(g_w * g_w) + np.sum(g_v * g_v)))
        norm = np.linalg.norm
        scale = 2 * c * float(norm(self.y)) * (float(norm(h))
                                               + float(norm(self.w)) * float(norm(self.x)))
        return grad, max(scale, 1e-300)

    def predict(self, x: np.ndarray | None = None) -> np.ndarray:
        """f̂(X) = W g(VX − b 1ᵀ), m×N."""
        xx = self.x if x is None else x
        return self.w @ np.maximum(self.v @ xx - self.b[:, None], 0.0)


def load_model(path: str | os.PathLike[str]) -> ReluModel:
    """Read and validate a ReLU model file (one-line errors)."""
    from gdcert.io import load_npz_arrays

    arrays = load_npz_arrays(path, required=("W", "V", "b", "X"), what="MODEL")
    model = make_model(arrays["W"], arrays["V"], arrays["b"], arrays["X"], source=str(path))
    names = [k for k in ("Y", "f") if k in arrays]
    if len(names) == 2:
        raise InputError(f"MODEL {path}: give the targets once, as 'Y' or as 'f', not both")
    if not names:
        return model
    y = np.asarray(arrays[names[0]], dtype=np.float64)
    y = y[None, :] if y.ndim == 1 else y
    m, n_samples = model.w.shape[0], model.x.shape[1]
    if y.shape != (m, n_samples):
        raise InputError(f"MODEL {path}: targets '{names[0]}' have shape {y.shape} but W has "
                         f"{m} output(s) and X has {n_samples} samples: expected ({m}, "
                         f"{n_samples})")
    if not np.all(np.isfinite(y)):
        raise InputError(f"MODEL {path}: array '{names[0]}' contains NaN or Inf")
    return replace(model, y=np.ascontiguousarray(y))


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
