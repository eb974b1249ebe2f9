"""Small numerical helpers shared by the bounds (numpy; scipy only where needed).

Extremal singular values and eigenvalues use dense LAPACK for small matrices and
ARPACK (Lanczos) for large ones, so a 2000×2000 target never pays for a full
decomposition when only the extreme values are needed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: Matrices with min(shape) at most this use dense LAPACK; larger ones use ARPACK.
DENSE_LIMIT = 300

LOG10_E = math.log10(math.e)


def log10_or_inf(x: float) -> float:
    """``log10(x)`` with ``log10(0) = -inf`` and no warning."""
    if x == 0.0:
        return -math.inf
    if math.isinf(x):
        return math.inf
    return math.log10(x)


def pow10(log10_value: float) -> float:
    """``10**x`` that returns ``inf``/``0.0`` instead of raising on over/underflow."""
    if math.isnan(log10_value):
        return math.nan
    if log10_value > 308.25:
        return math.inf
    if log10_value < -330:
        return 0.0
    return float(10.0**log10_value)


def top_singular(a: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Largest singular value σ_max(A) with its left/right singular vectors (u, v)."""
    if min(a.shape) <= DENSE_LIMIT:
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        return float(s[0]), u[:, 0].copy(), vt[0].copy()
    from scipy.sparse.linalg import svds

    u, s, vt = svds(a, k=1, tol=1e-10, random_state=0)
    return float(s[0]), u[:, 0].copy(), vt[0].copy()


def spectral_norm(a: np.ndarray) -> float:
    """‖A‖ = σ_max(A); 0 for an empty or zero matrix."""
    if a.size == 0 or not np.any(a):
        return 0.0
    return top_singular(a)[0]


def sigma_min(a: np.ndarray) -> float:
    """σ_min(A) in the sense √λ_min(AAᵀ): the smallest singular value of a wide (or
    square) matrix, and 0 for a tall one (AAᵀ is then singular).

    Small matrices use the SVD of A itself: the square root of a rounding-level
    eigenvalue of AAᵀ would be ~1e-8·‖A‖ and pass for full rank.
    """
    if a.shape[0] > a.shape[1]:
        return 0.0
    if min(a.shape) <= DENSE_LIMIT:
        return float(np.linalg.svd(a, compute_uv=False)[-1])
    gram = a @ a.T
    lam = extreme_eigenvalues(gram)[0]
    return math.sqrt(max(lam, 0.0))


def extreme_eigenvalues(s: np.ndarray) -> tuple[float, float]:
    """(λ_min, λ_max) of a symmetric matrix."""
    n = s.shape[0]
    if n <= DENSE_LIMIT:
        w = np.linalg.eigvalsh(s)
        return float(w[0]), float(w[-1])
    from scipy.sparse.linalg import eigsh

    v0 = np.ones(n) / math.sqrt(n)
    lo = eigsh(s, k=1, which="SA", tol=1e-12, v0=v0, return_eigenvectors=False)
    hi = eigsh(s, k=1, which="LA", tol=1e-12, v0=v0, return_eigenvectors=False)
    return float(lo[0]), float(hi[0])


def product(weights: Sequence[np.ndarray]) -> np.ndarray:
    """End-to-end matrix W = W_L ⋯ W_1 (weights given as W_1..W_L)."""
    out = weights[0]
    for w in weights[1:]:
        out = w @ out
    return np.array(out, dtype=np.float64, copy=True)


def balancedness(weights: Sequence[np.ndarray]) -> float:
    """b(W⃗) = max_j ‖W_{j+1}ᵀW_{j+1} − W_jW_jᵀ‖ (spectral); 0 for L = 1.

    Nguegnang, Rauhut & Terstiege (2021), Definition 2.3, eq. (2.7).
    """
    worst = 0.0
    for j in range(len(weights) - 1):
        d = weights[j + 1].T @ weights[j + 1] - weights[j] @ weights[j].T
        worst = max(worst, spectral_norm(d))
    return worst


def prefix_suffix(
    weights: Sequence[np.ndarray],
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Prefix products Q_j = W_{j-1}⋯W_1 and suffix products P_j = W_L⋯W_{j+1}.

    Indexing is 0-based over layers: ``pre[j]`` is the product of layers before
    layer j (identity for j = 0), ``suf[j]`` the product of layers after it.
    """
    depth = len(weights)
    pre = [np.eye(weights[0].shape[1])]
    for j in range(depth - 1):
        pre.append(weights[j] @ pre[j])
    suf = [np.eye(weights[-1].shape[0]) for _ in range(depth)]
    for j in range(depth - 2, -1, -1):
        suf[j] = suf[j + 1] @ weights[j + 1]
    return pre, suf


def residual_gradient(
    w: np.ndarray, sigma: np.ndarray | None, c: np.ndarray
) -> np.ndarray:
    """G = ∂ℓ/∂W: ``W − Φ`` (target form, sigma None) or ``WΣ − C`` (data form)."""
    if sigma is None:
        return w - c
    return w @ sigma - c


def layer_gradients(
    weights: Sequence[np.ndarray], sigma: np.ndarray | None, c: np.ndarray
) -> list[np.ndarray]:
    """∇_{W_j} ℓ = P_jᵀ G Q_jᵀ (BOUNDS.md §1)."""
    pre, suf = prefix_suffix(weights)
    g = residual_gradient(suf[0] @ weights[0], sigma, c)
    return [suf[j].T @ g @ pre[j].T for j in range(len(weights))]
