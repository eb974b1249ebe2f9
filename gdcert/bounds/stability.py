"""Exact local stability threshold: ``η ≤ 2/λ_max(∇²ℓ(Ŵ⃗))`` at a critical point.

Not from one of the papers: Lyapunov's indirect method applied to the GD map
``θ ↦ θ − η∇ℓ(θ)``, whose Jacobian at a critical point is ``I − η∇²ℓ`` — the tool
behind Nar & Sastry's Theorem 1. ``λ_max`` is computed matrix-free: Hessian–vector
products by forward-mode differentiation of the prefix/suffix-product gradient, fed
to Lanczos (ARPACK ``eigsh``); the Hessian is never formed except for tiny problems.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from gdcert.bounds._common import LOG10_2
from gdcert.errors import GdcertWarning
from gdcert.linalg import log10_or_inf, prefix_suffix, residual_gradient
from gdcert.results import Assumption, Bound

PAPER = "gdcert (Lyapunov's indirect method; cf. Nar & Sastry 2018, Theorem 1)"

#: Below this many parameters the Hessian is assembled column by column (exact).
DENSE_PARAMS = 400


HvpState = tuple[list[np.ndarray], list[np.ndarray], np.ndarray]


def _state(weights: Sequence[np.ndarray], sigma: np.ndarray | None,
           c: np.ndarray) -> HvpState:
    """Prefix/suffix products and G at W⃗: independent of the direction, computed once."""
    pre, suf = prefix_suffix(weights)
    return pre, suf, residual_gradient(suf[0] @ weights[0], sigma, c)


def hvp(weights: Sequence[np.ndarray], direction: Sequence[np.ndarray],
        sigma: np.ndarray | None, c: np.ndarray, *,
        state: HvpState | None = None) -> list[np.ndarray]:
    """Hessian–vector product ∇²ℓ(W⃗)[V⃗] of ``ℓ = ½‖WX − Y‖_F²`` (or ``½‖W − Φ‖_F²``).

    With ``Q_j = W_{j−1}⋯W_1``, ``P_j = W_L⋯W_{j+1}`` and ``G = WΣ − C``
    (``W − Φ`` in target form), ``∇_j = P_jᵀ G Q_jᵀ``. Differentiating along V⃗:

    ``d∇_j = dP_jᵀ G Q_jᵀ + P_jᵀ dG Q_jᵀ + P_jᵀ G dQ_jᵀ``, ``dG = dW Σ`` (``dW``
    in target form), ``dW = Σ_i P_i V_i Q_i``, where the recursions
    ``dQ_{j+1} = V_j Q_j + W_j dQ_j`` and ``dP_{j−1} = dP_j W_j + P_j V_j`` cost O(L)
    matrix products in all.
    """
    depth = len(weights)
    pre, suf, g = _state(weights, sigma, c) if state is None else state
    # dQ_j (derivative of the product of layers before j), 0-based.
    d_pre = [np.zeros_like(pre[0])]
    for j in range(depth - 1):
        d_pre.append(direction[j] @ pre[j] + weights[j] @ d_pre[j])
    # dP_j (derivative of the product of layers after j).
    d_suf = [np.zeros_like(suf[j]) for j in range(depth)]
    for j in range(depth - 2, -1, -1):
        d_suf[j] = d_suf[j + 1] @ weights[j + 1] + suf[j + 1] @ direction[j + 1]
    d_w = d_suf[0] @ weights[0] + suf[0] @ direction[0]
    d_g = d_w if sigma is None else d_w @ sigma
    return [
        d_suf[j].T @ g @ pre[j].T + suf[j].T @ d_g @ pre[j].T + suf[j].T @ g @ d_pre[j].T
        for j in range(depth)
    ]


def top_hessian_eigenvalue(weights: Sequence[np.ndarray], sigma: np.ndarray | None,
                           c: np.ndarray, *, tol: float = 1e-10) -> tuple[float, str]:
    """λ_max(∇²ℓ(W⃗)) and the method used (``"dense"`` or ``"lanczos"``)."""
    shapes = [w.shape for w in weights]
    sizes = [a * b for a, b in shapes]
    n = sum(sizes)
    splits = np.cumsum(sizes)[:-1]

    def unflat(x: np.ndarray) -> list[np.ndarray]:
        return [p.reshape(s) for p, s in zip(np.split(x, splits), shapes, strict=True)]

    state = _state(weights, sigma, c)

    def matvec(x: np.ndarray) -> np.ndarray:
        return np.concatenate([h.ravel() for h in hvp(weights, unflat(np.ravel(x)), sigma, c,
                                                      state=state)])

    if n <= DENSE_PARAMS:
        h = np.column_stack([matvec(e) for e in np.eye(n)])
        h = 0.5 * (h + h.T)
        return float(np.linalg.eigvalsh(h)[-1]), "dense"
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    op = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(0).standard_normal(n)
    try:
        val = eigsh(op, k=1, which="LA", tol=tol, v0=v0, maxiter=20 * n,
                    return_eigenvectors=False)
    except ArpackNoConvergence as exc:  # pragma: no cover - rare
        warnings.warn("Lanczos did not fully converge; λ_max is approximate",
                      GdcertWarning, stacklevel=2)
        val = exc.eigenvalues if len(exc.eigenvalues) else [math.nan]
    return float(np.max(val)), "lanczos"


def balanced_minimum(u: np.ndarray, s: np.ndarray, vt: np.ndarray,
                     widths: Sequence[int]) -> list[np.ndarray]:
    """Balanced factorisation of ``U diag(s) Vᵀ`` into layers of the given widths.

    ``W_1 = P_1 S^{1/L} Vᵀ``, ``W_j = P_j S^{1/L} P_{j−1}ᵀ``, ``W_L = U S^{1/L} P_{L−1}ᵀ``
    with ``P_j = I_{d_j, k}`` (k = len(s) ≤ min hidden width). Every
    ``W_{j+1}ᵀW_{j+1} = W_jW_jᵀ`` (balanced), and the product is ``U S Vᵀ``.
    """
    depth = len(widths) - 1
    k = s.size
    root = s ** (1.0 / depth)
    out = []
    for j in range(1, depth + 1):
        left = u if j == depth else np.eye(widths[j], k)
        right = vt.T if j == 1 else np.eye(widths[j - 1], k)
        out.append((left * root) @ right.T)
    return out


def exact(*, weights: Sequence[np.ndarray], sigma: np.ndarray | None, c: np.ndarray,
          where: str, grad_norm: float | None = None, loss_scale: float = 1.0,
          closed_form_rho: float | None = None) -> Bound:
    """Exact local stability threshold ``η ≤ 2/λ_max(∇²ℓ(Ŵ⃗))`` at a critical point.

    At a zero-loss point ``∇²ℓ`` has the nonzero spectrum of
    ``E ↦ Σ_i A_i E B_i``; here the full Hessian (including the residual term) is used,
    so the threshold is exact at any critical point. At the balanced global minimum it
    equals Nar & Sastry's Corollary 1 exactly, and at any critical point it is ≤ their
    Theorem 1 (tests check both). ``where`` names the point (``"weights"`` or
    ``"balanced minimum"``).

    When ``closed_form_rho`` is given (the matrix-free computation was skipped as too
    large), the balanced minimum's spectrum is used in closed form:
    in the SVD basis the map is diagonal with eigenvalues
    ``Σ_i s_a^{2(L−i)/L} s_b^{2(i−1)/L}``, whose maximum is ``L ρ^{2(L−1)/L}``.
    """
    depth = len(weights)
    if closed_form_rho is not None:
        log_lam = math.log10(depth) + (2.0 * (depth - 1) / depth) * log10_or_inf(closed_form_rho)
        lam, method = 10.0**log_lam if log_lam < 308 else math.inf, "closed-form"
    else:
        lam, method = top_hessian_eigenvalue(weights, sigma, c)
        log_lam = log10_or_inf(max(lam, 0.0))
    assumptions = []
    critical = True
    if grad_norm is not None:
        critical = grad_norm <= 1e-6 * max(loss_scale, 1e-300)
        assumptions.append(Assumption("the point is critical: ‖∇ℓ‖_F ≈ 0", critical, grad_norm))
    return Bound(
        id="stability.exact", paper=PAPER, theorem="exact local threshold 2/λ_max(∇²ℓ)",
        kind="exact-local", applies=critical,
        reason="" if critical else
        f"the point is not critical (‖∇ℓ‖_F = {grad_norm:.3g}): local stability is undefined",
        log10_max_step=LOG10_2 - log_lam, init=None, point=where,
        assumptions=tuple(assumptions),
        guarantee=(f"at the {where}: above this step size the point is linearly unstable for "
                   "GD; at or below it, it is not repelling (a local statement only)"),
        extras={"where": where, "lambda_max": lam, "method": method},
    )
