"""Slow, readable numpy references for the compiled GD core (gdcert.sim.kernels).

Written straight from BOUNDS.md §1, independently of the kernels' tricks: the loss is the
residual ``½‖Y − WX‖_F²`` (or ``½‖W − Φ‖_F²``), the gradient ``G = (WX − Y)Xᵀ`` (or
``W − Φ``) pushed through explicit suffix and prefix products, and the Hessian comes from
central differences of the gradient. Layers are given as a list ``[W_1, ..., W_L]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Form:
    """Target form (``phi``) or data form (``x``, ``y``: columns are samples)."""

    phi: np.ndarray | None = None
    x: np.ndarray | None = None
    y: np.ndarray | None = None


def product(weights: list[np.ndarray]) -> np.ndarray:
    """``W = W_L ⋯ W_1``."""
    out = weights[0]
    for w in weights[1:]:
        out = w @ out
    return out


def loss(weights: list[np.ndarray], form: Form) -> float:
    """``½‖W − Φ‖_F²`` or ``½‖Y − WX‖_F²`` from the residual."""
    w = product(weights)
    if form.phi is not None:
        r = w - form.phi
    else:
        assert form.x is not None and form.y is not None
        r = form.y - w @ form.x
    return 0.5 * float(np.sum(r * r))


def gradients(weights: list[np.ndarray], form: Form) -> list[np.ndarray]:
    """``∇_{W_j} ℓ = (W_L⋯W_{j+1})ᵀ G (W_{j−1}⋯W_1)ᵀ`` with explicit suffix/prefix products."""
    w = product(weights)
    if form.phi is not None:
        g = w - form.phi
    else:
        assert form.x is not None and form.y is not None
        g = (w @ form.x - form.y) @ form.x.T
    depth = len(weights)
    grads = []
    for j in range(depth):
        suffix = np.eye(weights[-1].shape[0])
        for i in range(depth - 1, j, -1):
            suffix = suffix @ weights[i]
        prefix = np.eye(weights[0].shape[1])
        for i in range(j):
            prefix = weights[i] @ prefix
        grads.append(suffix.T @ g @ prefix.T)
    return grads


def balancedness(weights: list[np.ndarray]) -> float:
    """``max_j ‖W_{j+1}ᵀW_{j+1} − W_jW_jᵀ‖`` (spectral norm via SVD); 0 for ``L = 1``."""
    worst = 0.0
    for j in range(len(weights) - 1):
        m = weights[j + 1].T @ weights[j + 1] - weights[j] @ weights[j].T
        worst = max(worst, float(np.linalg.norm(m, 2)))
    return worst


def flatten(weights: list[np.ndarray]) -> np.ndarray:
    """``θ``: the layers row-major, one after another."""
    return np.concatenate([w.ravel() for w in weights])


def unflatten(theta: np.ndarray, widths: tuple[int, ...]) -> list[np.ndarray]:
    """Inverse of :func:`flatten`."""
    out, pos = [], 0
    for i in range(len(widths) - 1):
        n = widths[i + 1] * widths[i]
        out.append(theta[pos : pos + n].reshape(widths[i + 1], widths[i]).copy())
        pos += n
    return out


def hessian(weights: list[np.ndarray], form: Form, h: float = 1e-5) -> np.ndarray:
    """Dense ``∇²ℓ`` by central differences of the gradient (exact up to ``O(h²)``), symmetrised."""
    widths = (weights[0].shape[1],) + tuple(w.shape[0] for w in weights)
    theta = flatten(weights)
    n = theta.size
    hess = np.empty((n, n))
    for q in range(n):
        e = np.zeros(n)
        e[q] = h
        gp = flatten(gradients(unflatten(theta + e, widths), form))
        gm = flatten(gradients(unflatten(theta - e, widths), form))
        hess[:, q] = (gp - gm) / (2 * h)
    return 0.5 * (hess + hess.T)


@dataclass
class RefRun:
    """What :func:`gd` returns (mirrors ``gdcert.sim.engine.Trajectory``)."""

    step_index: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    balancedness: list[float] = field(default_factory=list)
    iterations: int = 0
    stop: str = "budget"
    final_weights: list[np.ndarray] = field(default_factory=list)
    history: list[np.ndarray] = field(default_factory=list)


def step_size(a1: float, a2: float, gamma: float, k: int) -> float:
    """``η_k = min(a1, a2 / (k+1)^γ)``."""
    return min(a1, a2 / (k + 1) ** gamma)


def gd(
    weights: list[np.ndarray],
    form: Form,
    *,
    a1: float,
    a2: float = math.inf,
    gamma: float = 0.0,
    max_iter: int,
    loss_target: float,
    div_factor: float = 1e6,
    record_every: int = 1,
) -> RefRun:
    """Plain GD with the engine's stopping and recording rules.

    Iteration ``k`` evaluates ``ℓ(θ_k)``; stops (diverged if not finite or above
    ``div_factor·ℓ(θ_0)``, target if ``ℓ ≤ loss_target``, budget if ``k = max_iter``); else
    records every ``record_every`` steps and steps ``W_j ← W_j − η_k ∇_{W_j} ℓ``. The
    stopping point is recorded too. ``history`` keeps every iterate ``θ_k``.
    """
    run = RefRun()
    ws = [np.array(w, dtype=float) for w in weights]
    loss0 = None
    k = 0
    while True:
        value = loss(ws, form)
        grads = gradients(ws, form)
        if loss0 is None:
            loss0 = value
        run.history.append(flatten(ws))
        if not math.isfinite(value) or value > div_factor * loss0:
            run.stop = "diverged"
        elif value <= loss_target:
            run.stop = "target"
        elif k >= max_iter:
            run.stop = "budget"
        else:
            run.stop = ""
        if run.stop or k % record_every == 0:
            run.step_index.append(k)
            run.loss.append(value)
            run.grad_norm.append(math.sqrt(sum(float(np.sum(g * g)) for g in grads)))
            run.balancedness.append(balancedness(ws) if math.isfinite(value) else math.nan)
        if run.stop:
            break
        eta = step_size(a1, a2, gamma, k)
        ws = [w - eta * g for w, g in zip(ws, grads, strict=True)]
        k += 1
    run.iterations = k
    run.final_weights = ws
    return run


def smallest_period(history: list[np.ndarray], *, max_period: int = 64, window: int = 128,
                    rtol: float = 1e-12) -> int | None:
    """Smallest ``p`` with ``θ_k = θ_{k−p}`` (to ``rtol · max(1, max‖θ‖)``) for every ``k``
    in the last ``window`` iterates, by comparing the iterates themselves; ``1`` is a fixed
    point, ``None`` no period up to ``max_period`` (at least two periods must fit)."""
    tail = np.array(history[-window:])
    scale = max(1.0, float(np.max(np.linalg.norm(tail, axis=1))))
    for p in range(1, min(max_period, tail.shape[0] // 2) + 1):
        if float(np.max(np.linalg.norm(tail[p:] - tail[:-p], axis=1))) <= rtol * scale:
            return p
    return None
