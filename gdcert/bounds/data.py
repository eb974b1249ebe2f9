"""A necessary step-size bound for data that are not whitened (ours; id ``gdcert.cor1_data``).

Nar & Sastry's Corollary 1 assumes whitened data (Σ = XXᵀ = I). Its argument carries over
to any Σ ≻ 0: see ``../shared/BOUNDS.md``, "Beyond the papers", and ``docs/bounds.md``.
"""

from __future__ import annotations

import math

import numpy as np

from gdcert.bounds._common import LOG10_2, check_depth
from gdcert.results import Assumption, Bound

#: Fixed-point steps of the direction search (each one an eigh of a d_0 × d_0 matrix).
SEARCH_STEPS = 60


def _log_b(v: np.ndarray, sigma: np.ndarray, a: np.ndarray, depth: int) -> float:
    """ln B(v) = ln L + (1/L) ln(vᵀΣv) + ((L−1)/L) ln(vᵀAv) for a unit v (−inf if degenerate)."""
    s, t = float(v @ sigma @ v), float(v @ a @ v)
    if s <= 0.0 or (t <= 0.0 and depth > 1):
        return -math.inf
    out = math.log(depth) + math.log(s) / depth
    return out + ((depth - 1) / depth) * math.log(t) if depth > 1 else out


def flattest_direction(sigma: np.ndarray, m: np.ndarray, depth: int) -> tuple[np.ndarray, float]:
    """A unit ``v`` (nearly) maximising B(v) = L (vᵀΣv)^{1/L} ‖Mv‖^{2(L−1)/L}; ``(v, ln B(v))``.

    Every unit ``v`` gives a valid lower bound on λ_max at every global minimum (take
    u = Mv/‖Mv‖, s = uᵀMv = ‖Mv‖ in the argument of :func:`cor1_data`), so the search only
    tightens the bound; it never affects its validity. Candidates: the top right singular
    vector of M (BOUNDS.md's default), the top eigenvector of Σ, then the fixed-point
    iteration v ← top eigenvector of (1/L)·Σ/(vᵀΣv) + ((L−1)/L)·A/(vᵀAv), A = MᵀM (the
    stationarity condition of ln B on the sphere), keeping the best v seen.
    """
    a = m.T @ m
    cands = [np.linalg.svd(m)[2][0], np.linalg.eigh(sigma)[1][:, -1]]
    best_v, best = max(((c, _log_b(c, sigma, a, depth)) for c in cands), key=lambda p: p[1])
    v = best_v
    for _ in range(SEARCH_STEPS):
        s, t = float(v @ sigma @ v), float(v @ a @ v)
        if s <= 0.0 or t <= 0.0:
            break
        h = sigma / (depth * s) + ((depth - 1) / depth) * a / t
        v = np.linalg.eigh(0.5 * (h + h.T))[1][:, -1]
        val = _log_b(v, sigma, a, depth)
        if val > best * (1 + 1e-15) + 1e-300:
            best_v, best = v, val
        else:
            break
    return best_v, best


def cor1_data(*, sigma: np.ndarray, w_star: np.ndarray, depth: int,
              bottleneck: bool = False) -> Bound:
    """Largest step size at which GD can converge to a global minimum, for any Σ = XXᵀ ≻ 0.

    Ours (Corollary 1's argument of Nar & Sastry 2018 with Σ = XXᵀ): let W* = YXᵀΣ⁻¹ and
    M = W*Σ^{1/2}. At every global minimum (W_{L:1} = W*, widths without a bottleneck) the
    residual vanishes and the Hessian is the Gauss–Newton form
    ∇²f[V, V] = ‖J(V)Σ^{1/2}‖², J(V) = Σ_l P_l V_l Q_l (P_l = W_{L:l+1}, Q_l = W_{l−1:1}).
    For unit u, v with uᵀMv = s, the direction V_l = P_lᵀ u vᵀ Σ^{1/2} Q_lᵀ gives

        λ_max ≥ Σ_l x_l² y_l²,   x_l = ‖P_lᵀu‖,  y_l = ‖Q_l Σ^{1/2} v‖,

    and s = uᵀ P_l W_l Q_l Σ^{1/2} v ≤ x_l y_{l+1}, x_L = 1, y_1² = vᵀΣv, so by AM–GM

        λ_max ≥ L (vᵀΣv)^{1/L} s^{2(L−1)/L} =: B(v).

    Linear stability of a minimum needs η ≤ 2/λ_max (Lyapunov's indirect method, as in
    Theorem 1), hence GD can converge to a global minimum only if η ≤ 2/B(v) for every
    unit v (with s = ‖Mv‖). The bound reported is 2/B at the direction found by
    :func:`flattest_direction`. With Σ = I it is Corollary 1, eq. (4): 2/(L ρ^{2(L−1)/L}).
    Computed in log space; M = 0 (nothing to fit) gives an infinite bound when L ≥ 2.
    ``sigma``, ``w_star`` are in the sum convention on the effective data (for the mean
    convention, X/√m and Y/√m), so the bound is in the user's convention.
    """
    check_depth(depth)
    sigma = 0.5 * (np.asarray(sigma, dtype=np.float64) + np.asarray(sigma, dtype=np.float64).T)
    w_star = np.asarray(w_star, dtype=np.float64)
    lam, vec = np.linalg.eigh(sigma)
    pd = bool(lam[0] > lam[-1] * sigma.shape[0] * np.finfo(float).eps) if lam.size else False
    assumptions = (
        Assumption("Σ = XXᵀ is positive definite", pd, float(lam[0]) if lam.size else None),
        Assumption("no bottleneck: min_j d_j ≥ min(d_0, d_L), so the global minima fit W*",
                   not bottleneck),
    )
    common = dict(id="gdcert.cor1_data", paper="gdcert (ours; Nar & Sastry 2018's argument)",
                  theorem="Corollary 1 with Σ = XXᵀ: η ≤ 2/(L (vᵀΣv)^{1/L} ‖W*Σ^{1/2}v‖^"
                          "{2(L−1)/L})",
                  kind="necessary", assumptions=assumptions,
                  guarantee="above it GD cannot converge to a global minimum (every global "
                            "minimum is linearly unstable)")
    if not pd:
        return Bound(applies=False, reason=f"Σ = XXᵀ is singular (λ_min = {lam[0]:.3g})",
                     log10_max_step=math.nan, **common)  # type: ignore[arg-type]
    if bottleneck:
        return Bound(applies=False, reason="a layer is narrower than min(d_0, d_L): the "
                     "global minima do not fit W*", log10_max_step=math.nan,
                     **common)  # type: ignore[arg-type]
    m = w_star @ ((vec * np.sqrt(lam)) @ vec.T)
    if not np.any(m) and depth > 1:
        return Bound(applies=True, log10_max_step=math.inf,
                     extras={"log10_b": -math.inf, "v_sigma_v": None, "s": 0.0,
                             "sigma1_m": 0.0}, **common)  # type: ignore[arg-type]
    v, ln_b = flattest_direction(sigma, m, depth)
    log10_b = ln_b / math.log(10.0)
    return Bound(applies=True, log10_max_step=LOG10_2 - log10_b,
                 extras={"log10_b": log10_b, "v_sigma_v": float(v @ sigma @ v),
                         "s": float(np.linalg.norm(m @ v)),
                         "sigma1_m": float(np.linalg.norm(m, 2))},
                 **common)  # type: ignore[arg-type]
