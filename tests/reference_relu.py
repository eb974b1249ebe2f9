"""Slow, readable numpy reference for the two-layer ReLU GD kernel (gdcert.sim.kernels).

Written from Nar & Sastry (2018), Section 4, with whole-batch matrix algebra instead of the
kernel's per-sample loops: ``H = VX − b1ᵀ``, ``A = g(H)``, ``R = WA − Y``,
``ℓ = c‖R‖_F²``, ``∇_W = 2c RAᵀ``, ``∇_V = 2c (1[H > 0] ⊙ WᵀR) Xᵀ``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


def loss_grad(w: np.ndarray, v: np.ndarray, x: np.ndarray, y: np.ndarray, b: np.ndarray,
              c: float) -> tuple[float, np.ndarray, np.ndarray]:
    """``ℓ``, ``∇_W ℓ``, ``∇_V ℓ`` for ``ℓ = c Σ_i ‖W g(V x_i − b) − y_i‖²``."""
    h = v @ x - b[:, None]
    a = np.maximum(h, 0.0)
    r = w @ a - y
    grad_w = 2.0 * c * r @ a.T
    grad_v = 2.0 * c * ((w.T @ r) * (h > 0)) @ x.T
    return c * float(np.sum(r * r)), grad_w, grad_v


@dataclass
class RefRun:
    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    iterates: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    stop: str = "budget"

    @property
    def iterations(self) -> int:
        return len(self.losses) - 1


def gd(w: np.ndarray, v: np.ndarray, x: np.ndarray, y: np.ndarray, b: np.ndarray, c: float,
       eta: float, *, max_iter: int, loss_target: float = -math.inf,
       div_factor: float = 1e6) -> RefRun:
    """GD with the kernel's stopping rules; keeps every loss, gradient norm and iterate."""
    out = RefRun()
    k = 0
    while True:
        loss, gw, gv = loss_grad(w, v, x, y, b, c)
        out.losses.append(loss)
        out.grad_norms.append(math.sqrt(float(np.sum(gw * gw) + np.sum(gv * gv))))
        out.iterates.append((w.copy(), v.copy()))
        if not math.isfinite(loss) or loss > div_factor * out.losses[0]:
            out.stop = "diverged"
            return out
        if loss <= loss_target:
            out.stop = "target"
            return out
        if k >= max_iter:
            return out
        w = w - eta * gw
        v = v - eta * gv
        k += 1
