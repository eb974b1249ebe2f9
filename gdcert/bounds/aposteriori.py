"""A posteriori convergence certificates: the tail theorem of CERTIFICATE.md.

Given an iterate ``W^c`` (the centre, float64 layers) and a step size ``η``, prove that GD
started anywhere in ``B(W^c, ε)`` converges linearly to a global minimiser, by a local
Polyak–Łojasiewicz + smoothness argument on a Frobenius ball ``B(W^c, r)`` (all layers
together).

Notation (CERTIFICATE.md, BOUNDS.md §1, sum convention on the *effective* data of a
:class:`~gdcert.problem.Problem`): ``f(W) = ½‖W_{L:1}X − Y‖_F²``, ``Σ = XXᵀ ≻ 0``,
``W* = YXᵀΣ⁻¹``, ``E = W_{L:1} − W*``, ``f − f* = ½ tr(EΣEᵀ)``, ``EΣ = W_{L:1}Σ − C``
(``C = YXᵀ``). Target form: ``Σ = I``, ``W* = C = Φ``. A problem built with
``loss="mean"`` stores ``X/√m, Y/√m``, so every η here is already in the user's
convention (the mean loss *is* the sum loss of the scaled data; no factor ``m`` appears).

Prefix/suffix products (1-based layer ``l``): ``P_l = W_L⋯W_{l+1}`` (``d_L × d_l``),
``Q_l = W_{l−1}⋯W_1`` (``d_{l−1} × d_0``); ``J(V) = Σ_l P_l V_l Q_l`` and
``K = JJᵀ``, ``K(Z) = Σ_l P_l P_lᵀ Z Q_lᵀ Q_l``.

Floating point (what is accounted for, in every function that says "rounding"):

* scalar chains (products of norms, the tail inequalities) are evaluated with outward
  rounding: every IEEE operation is correctly rounded, so one ``nextafter`` after each
  operation gives a valid upper (lower) bound;
* matrix products carry the standard bound ``|fl(A_1⋯A_k) − A_1⋯A_k| ≤ γ_n |A_1|⋯|A_k|``
  (Higham, *Accuracy and Stability*, §3.5) with ``γ_n = nu/(1 − nu)``, ``u = 2⁻⁵³``,
  ``n`` the sum of the inner dimensions (we use generous ``n``);
* symmetric eigensolvers and the SVD are trusted to be normwise backward stable with
  constant ``10·n`` (``|λ̂ − λ| ≤ 10 n u ‖A‖``): this is LAPACK's documented behaviour, not
  something proved here. Nothing else (e.g. the data itself) is treated as inexact: the
  certificate is about the problem as stored in float64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np

from gdcert.linalg import prefix_suffix
from gdcert.problem import Problem
from gdcert.results import jsonable

__all__ = [
    "Certificate",
    "NotCertified",
    "LocalConstants",
    "CentreData",
    "centre_data",
    "local_constants",
    "tail_check",
    "search_radius",
    "certify_iterate",
    "kernel_matrix",
    "hessian_cross_constant",
    "TailCheck",
    "kappa_ball_per_term",
    "jacobian_perturbation",
    "kappa_ball",
    "loss_gap",
    "predicted_iterations",
]

#: Unit roundoff of float64.
U = 2.0**-53
#: Constant ``c`` of the assumed eigensolver/SVD backward error ``c·n·u·‖A‖``.
EIG_C = 10.0
#: Use the exact eigenvalues of K (a (d_L d_0)² matrix) when d_L·d_0 is at most this.
EXACT_K_LIMIT = 400
#: Number of radii tried on the log grid of :func:`search_radius`.
GRID_POINTS = 48
#: :func:`search_radius` refines around its best radius when ``travel/r`` dipped below this
REFINE_BELOW = 1.5
#: … with at most this many golden-section steps (one attempt each).
REFINE_STEPS = 14

Level = Literal["proved", "proved_from_step_k", "tail_only"]

#: Reasons for :class:`NotCertified`.
REASONS = ("bottleneck", "singular_sigma", "diverged", "orbit", "non_global", "stalled",
           "budget", "tail_failed", "step_too_large", "prefix_deviation")


# ----------------------------------------------------------------------------- rounding


def gamma(n: float) -> float:
    """``γ_n = n u / (1 − n u)`` (Higham's constant), rounded up; ``inf`` when ``n u ≥ 1``."""
    nu = n * U
    if nu >= 1.0:
        return math.inf
    return math.nextafter(nu / (1.0 - nu), math.inf) * (1.0 + 4 * U)


def _up(x: float) -> float:
    """The next float above ``x`` (an upper bound for the exact result of one rounded op)."""
    return math.nextafter(x, math.inf)


def _down(x: float) -> float:
    """The next float below ``x``."""
    return math.nextafter(x, -math.inf)


def _inflate(x: float, n: float) -> float:
    """``x (1 + γ_n)`` rounded up, for ``x ≥ 0``: the upper end of a relative margin."""
    return _up(_up(x * _up(1.0 + gamma(n))))


def _deflate(x: float, n: float) -> float:
    """``x (1 − γ_n)`` rounded down and clipped at 0, for ``x ≥ 0``."""
    return max(0.0, _down(x * _down(1.0 - gamma(n))))


def _prod_up(values: Sequence[float] | np.ndarray) -> float:
    """``Π values`` (all ≥ 0) with every multiplication rounded up."""
    out = 1.0
    for v in values:
        out = _up(out * float(v))
    return out


def _prod_down(values: Sequence[float] | np.ndarray) -> float:
    """``Π values`` (all ≥ 0) with every multiplication rounded down."""
    out = 1.0
    for v in values:
        out = max(0.0, _down(out * float(v)))
    return out


def _sum_up(values: Sequence[float] | np.ndarray) -> float:
    """``Σ values`` with every addition rounded up."""
    out = 0.0
    for v in values:
        out = _up(out + float(v))
    return out


def _sum_down(values: Sequence[float] | np.ndarray) -> float:
    """``Σ values`` with every addition rounded down."""
    out = 0.0
    for v in values:
        out = _down(out + float(v))
    return out


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class LocalConstants:
    """The three constants of CERTIFICATE.md on ``B(W^c, r)``.

    ``mu`` (PL), ``g`` (gradient growth), ``beta`` (smoothness); ``kappa_min``/``kappa_max``
    bound the eigenvalues of ``K`` on the ball, ``e_ball ≥ ‖EΣ‖_F`` on the ball, and
    ``kappa_source`` says which of the valid lower bounds on κ_min won.
    """

    r: float
    mu: float
    g: float
    beta: float
    kappa_min: float
    kappa_max: float
    e_ball: float
    kappa_source: str

    def to_dict(self) -> dict[str, Any]:
        return {k: jsonable(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Certificate:
    """A proof that GD at ``eta`` converges to a global minimum (see ``level``).

    ``k`` steps were simulated before the tail; ``loss_gap`` is ``f(W^c) − f*`` at step
    ``k`` (float64 evaluation); the tail theorem holds on ``B(W^c, r)`` for every start in
    ``B(W^c, epsilon)`` with constants ``mu``, ``beta``, ``g`` and contraction
    ``f(Wᵗ) − f* ≤ qᵗ F₀`` (``f0 ≥ sup_{B(W^c, ε)} f − f*``). ``iterations`` predicts the
    total number of steps (``k`` plus the tail) until ``f − f* ≤ tolerance``.
    ``level``: ``"proved"`` (the prefix is enclosed rigorously), ``"proved_from_step_k"``
    (the prefix is a float64 run cross-checked at higher precision; ``prefix_deviation`` is
    the largest deviation seen) or ``"tail_only"`` (proved from the given iterate, e.g.
    weights from a file). η is in the problem's loss convention.
    """

    eta: float
    init: str
    k: int
    loss_gap: float
    r: float
    epsilon: float
    mu: float
    beta: float
    g: float
    q: float
    f0: float
    tolerance: float
    iterations: int | None
    level: Level
    prefix_deviation: float | None = None
    kappa_source: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    certified = True

    def to_dict(self) -> dict[str, Any]:
        out = {k: jsonable(getattr(self, k)) for k in (
            "eta", "init", "k", "loss_gap", "r", "epsilon", "mu", "beta", "g", "q", "f0",
            "tolerance", "iterations", "level", "prefix_deviation", "kappa_source")}
        out["certified"] = True
        out["extras"] = jsonable(self.extras)
        return out


@dataclass(frozen=True)
class NotCertified:
    """No certificate: ``reason`` is one of :data:`REASONS`, ``detail`` says it in words."""

    eta: float
    init: str
    reason: str
    detail: str
    k: int = 0
    loss_gap: float = math.nan
    extras: dict[str, Any] = field(default_factory=dict)

    certified = False

    def to_dict(self) -> dict[str, Any]:
        return {"certified": False, "eta": jsonable(self.eta), "init": self.init,
                "reason": self.reason, "detail": self.detail, "k": self.k,
                "loss_gap": jsonable(self.loss_gap), "extras": jsonable(self.extras)}


# ----------------------------------------------------------------------------- centre


def kernel_matrix(pre: Sequence[np.ndarray], suf: Sequence[np.ndarray]) -> np.ndarray:
    """The matrix of ``K(Z) = Σ_l P_l P_lᵀ Z Q_lᵀ Q_l`` on row-major ``vec(Z)``.

    ``vec(A Z B) = (A ⊗ Bᵀ) vec(Z)`` for row-major vec; here ``A = P_lP_lᵀ`` and
    ``B = Q_lᵀQ_l`` are symmetric, so ``K = Σ_l (P_lP_lᵀ) ⊗ (Q_lᵀQ_l)``, a symmetric PSD
    ``(d_L d_0) × (d_L d_0)`` matrix. ``pre[l−1] = Q_l``, ``suf[l−1] = P_l``.
    """
    n = suf[0].shape[0] * pre[0].shape[1]
    k = np.zeros((n, n))
    for p, q in zip(suf, pre, strict=True):
        k += np.kron(p @ p.T, q.T @ q)
    return 0.5 * (k + k.T)


@dataclass(frozen=True)
class CentreData:
    """What the ball constants need from the centre, computed once (with rounding margins).

    ``norms[l]`` ≥ ‖W_l‖₂; ``sig_p[l]`` ≤ σ_{d_L}(P_l), ``sig_q[l]`` ≤ σ_{d_0}(Q_l) (0 where
    the width forbids full rank); ``kmin_c``/``kmax_c`` enclose the extreme eigenvalues of K
    at the centre (``nan`` when not computed); ``lam_min``/``lam_max`` enclose the spectrum of
    Σ; ``sigma_norm`` ≥ ‖Σ‖₂; ``e_centre ≥ ‖E^cΣ‖_F``; ``a_centre ≥ ‖E^cΣ^{1/2}‖_F =
    √(2(f(W^c) − f*))``; ``loss_gap`` the plain float64 ``f(W^c) − f*``.
    """

    depth: int
    norms: np.ndarray
    sig_p: np.ndarray
    sig_q: np.ndarray
    kmin_c: float
    kmax_c: float
    lam_min: float
    lam_max: float
    sigma_norm: float
    e_centre: float
    a_centre: float
    loss_gap: float
    #: products of the norms, for the centre and the last ball (:func:`_ball_products`)
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _sym_eig_bounds(a: np.ndarray, extra: float) -> tuple[float, float]:
    """Enclosure ``[λ_min − δ, λ_max + δ]`` of a symmetric matrix's extreme eigenvalues.

    ``δ = extra + 10·n·u·‖Â‖_F`` (eigensolver backward error; ``extra`` bounds how far the
    computed matrix is from the exact one, in spectral norm).
    """
    lam = np.linalg.eigvalsh(a)
    delta = _up(extra + _up(EIG_C * a.shape[0] * U * _up(float(np.linalg.norm(a)))))
    return _down(float(lam[0]) - delta), _up(float(lam[-1]) + delta)


def _svals(mats: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Singular values (descending) of each matrix, one LAPACK call per group of equal
    shapes (numpy's stacked ``svd`` runs the same routine on each matrix, so the values are
    those of one call per matrix; at d = 4 the per-call overhead was most of the cost)."""
    out: list[np.ndarray] = [np.zeros(0)] * len(mats)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, m in enumerate(mats):
        if m.size:
            groups.setdefault(m.shape, []).append(i)
    for idx in groups.values():
        vals = np.linalg.svd(np.stack([mats[i] for i in idx]), compute_uv=False)
        for i, row in zip(idx, vals, strict=True):
            out[i] = row
    return out


def _norm_up(a: np.ndarray, s: np.ndarray | None = None) -> float:
    """Upper bound on ``‖A‖₂``: the SVD's top value plus its backward error, capped by ‖A‖_F.
    ``s``: A's singular values if already computed."""
    if a.size == 0:
        return 0.0
    top = float((np.linalg.svd(a, compute_uv=False) if s is None else s)[0])
    fro = _inflate(float(np.linalg.norm(a)), a.size + 2)
    return min(fro, _inflate(top, EIG_C * max(a.shape)))


def _sigma_min_down(a: np.ndarray, need: int, err: float, s: np.ndarray | None = None) -> float:
    """Lower bound on the ``need``-th singular value of ``A`` (0 if ``A`` has fewer).

    ``err`` bounds ‖Â − A‖₂ for the computed ``Â``; Weyl: ``σ_k(A) ≥ σ_k(Â) − ‖Â − A‖``.
    ``s``: A's singular values if already computed.
    """
    if min(a.shape) < need:
        return 0.0
    if s is None:
        s = np.linalg.svd(a, compute_uv=False)
    slack = _up(err + EIG_C * max(a.shape) * U * float(s[0]))
    return max(0.0, _down(float(s[need - 1]) - slack))


def centre_data(problem: Problem, weights: Sequence[np.ndarray], *,
                exact_limit: int = EXACT_K_LIMIT) -> CentreData:
    """Everything about the centre ``W^c`` the ball constants use, with rounding accounted.

    Rounding: a computed product ``P̂_l`` of ``k`` factors differs from ``P_l`` by at most
    ``γ_{n} Π‖|W_j|‖₂`` in spectral norm, ``n = k·d_max`` (Higham §3.5, and
    ``‖|A||B|‖₂ ≤ ‖|A|‖₂‖|B|‖₂``); the K matrix built from them is within
    ``δ_K = γ_N Σ_l a_l² b_l²`` of the exact K (``a_l = Π_{j>l}‖|W_j|‖₂``, ``b_l`` likewise
    below ``l``, ``N = 4(L + 2)d_max²``: a generous count covering the products, the Gram
    matrices, the Kronecker products and the sum). ``Σ = XXᵀ`` is formed with error
    ``≤ γ_m ‖X‖_F²``. ``EΣ = W_{L:1}Σ − C`` is computed directly (no ``W*``), and
    ``√(2(f − f*)) = ‖EΣ^{1/2}‖_F`` from ``Ê = Ŵ − Ŵ*`` plus the bound
    ``‖(W*_true − Ŵ*)Σ^{1/2}‖_F ≤ ‖Ŵ*Σ − C‖_F / √λ_min(Σ)``.
    """
    ws = [np.ascontiguousarray(w, dtype=np.float64) for w in weights]
    depth = len(ws)
    widths = (ws[0].shape[1], *[w.shape[0] for w in ws])
    d_max = max(widths)
    d0, dl = widths[0], widths[-1]
    pre, suf = prefix_suffix(ws)
    abs_ws = [np.abs(w) for w in ws]
    sv = _svals([*ws, *abs_ws, *suf, *pre])  # every SVD of the centre, batched
    norms = np.array([_norm_up(w, sv[l]) for l, w in enumerate(ws)])
    abs_norms = np.array([_norm_up(w, sv[depth + l]) for l, w in enumerate(abs_ws)])
    # a_l = Π_{j>l} ‖|W_j|‖₂ and b_l = Π_{j<l} ‖|W_j|‖₂ (0-based l), rounded up
    a_abs = [_prod_up(abs_norms[l + 1:]) for l in range(depth)]
    b_abs = [_prod_up(abs_norms[:l]) for l in range(depth)]
    sig_p = np.array([
        _sigma_min_down(suf[l], dl, gamma((depth - l) * d_max) * a_abs[l], sv[2 * depth + l])
        if widths[l + 1] >= dl else 0.0 for l in range(depth)])
    sig_q = np.array([
        _sigma_min_down(pre[l], d0, gamma((l + 1) * d_max) * b_abs[l], sv[3 * depth + l])
        if widths[l] >= d0 else 0.0 for l in range(depth)])
    kmin_c = kmax_c = math.nan
    if dl * d0 <= exact_limit:
        big_n = 4.0 * (depth + 2) * d_max * d_max
        delta_k = _inflate(_sum_up([_up(_up(a * a) * _up(b * b))
                                    for a, b in zip(a_abs, b_abs, strict=True)]), 0) * gamma(big_n)
        kmin_c, kmax_c = _sym_eig_bounds(kernel_matrix(pre, suf), _up(delta_k))
        kmin_c = max(kmin_c, 0.0)
    w_hat = suf[0] @ ws[0]
    # ‖Ŵ − W_{L:1}‖_F ≤ γ_{L d} ‖|W_L|⋯|W_1|‖_F ≤ γ_{L d} √d_0 Π ‖|W_j|‖₂
    err_w = _up(gamma(depth * d_max) * _up(math.sqrt(d0) * _prod_up(abs_norms)))
    if problem.x is None:
        c = problem.phi
        lam_min = lam_max = sigma_norm = 1.0
        e_hat = w_hat - c
        # ‖EΣ‖_F: E = W − Φ, subtraction adds ≤ u|Ŵ − Φ|
        e_centre = _up(_inflate(float(np.linalg.norm(e_hat)), e_hat.size + 2) + err_w)
        a_centre = e_centre
        gap = 0.5 * float(np.sum(e_hat * e_hat))
    else:
        x, y = problem.x, problem.y
        assert y is not None
        m = x.shape[1]
        sigma = x @ x.T
        c = y @ x.T
        x_fro2 = _up(float(np.sum(x * x)))
        err_sigma = _up(gamma(m + 2) * x_fro2)
        err_c = _up(gamma(m + 2) * _up(float(np.linalg.norm(x)) * float(np.linalg.norm(y))))
        lam_min, lam_max = _sym_eig_bounds(sigma, err_sigma)
        sigma_norm = lam_max
        if not lam_min > 0.0:
            lam_min = 0.0
        g_hat = w_hat @ sigma - c
        w_fro = float(np.linalg.norm(w_hat))
        # ‖ĜΣ‖ error: ΔW·Σ, Ŵ·ΔΣ, ΔC and the rounding of ŴΣ̂ − Ĉ (γ_{d+2} |Ŵ||Σ̂| + u|C|)
        err_g = _sum_up([
            _up(err_w * sigma_norm), _up(w_fro * err_sigma), err_c,
            _up(gamma(d0 + 2) * _up(w_fro * float(np.linalg.norm(sigma)))),
            _up(gamma(2) * float(np.linalg.norm(c))),
        ])
        e_centre = _up(_inflate(float(np.linalg.norm(g_hat)), g_hat.size + 2) + err_g)
        # W* by least squares on X; its defect R = Ŵ*Σ − C is measured, not assumed small
        w_star_t, *_ = np.linalg.lstsq(x.T, y.T, rcond=None)
        w_star = w_star_t.T
        e_hat = w_hat - w_star
        quad = float(np.sum((e_hat @ sigma) * e_hat))
        quad_err = _up(gamma(d0 + dl + 4) * _up(float(np.sum(e_hat * e_hat))
                                                * float(np.linalg.norm(sigma))))
        quad_err = _up(quad_err + _up(float(np.sum(e_hat * e_hat)) * err_sigma))
        r_hat = w_star @ sigma - c
        r_err = _sum_up([_up(gamma(d0 + 2) * _up(float(np.linalg.norm(w_star))
                                                 * float(np.linalg.norm(sigma)))),
                         _up(float(np.linalg.norm(w_star)) * err_sigma), err_c,
                         _up(gamma(2) * float(np.linalg.norm(c)))])
        defect = _up(_inflate(float(np.linalg.norm(r_hat)), r_hat.size + 2) + r_err)
        if lam_min > 0.0:
            a_centre = _sum_up([
                _up(math.sqrt(_up(max(quad, 0.0) + quad_err))),
                _up(err_w * _up(math.sqrt(lam_max))),
                _up(defect / _down(math.sqrt(lam_min))),
            ])
        else:
            a_centre = math.inf
        gap = 0.5 * max(quad, 0.0)
    return CentreData(depth=depth, norms=norms, sig_p=sig_p, sig_q=sig_q, kmin_c=kmin_c,
                      kmax_c=kmax_c, lam_min=float(lam_min), lam_max=float(lam_max),
                      sigma_norm=float(sigma_norm), e_centre=e_centre, a_centre=a_centre,
                      loss_gap=gap)


# ----------------------------------------------------------------------------- ball


def _shifted(norms: np.ndarray, r: float) -> np.ndarray:
    """``s_l = ‖W^c_l‖₂ + r`` rounded up: ‖W_l‖₂ ≤ s_l on B(W^c, r) (‖Δ_l‖₂ ≤ ‖Δ_l‖_F ≤ r)."""
    return np.array([_up(float(n) + r) for n in norms])


class _Products(NamedTuple):
    """Bounds on ``Π_{j<l} v_j``, ``Π_{j>l} v_j`` and ``Π_{j≠l} v_j`` for every l."""

    pre: np.ndarray
    suf: np.ndarray
    others: np.ndarray


def _directed(x: np.ndarray, n: int, up: bool) -> np.ndarray:
    """``x (1 ± γ_n)`` rounded outward, elementwise, for ``x ≥ 0``."""
    if up:
        return np.nextafter(x * _up(1.0 + gamma(n)), np.inf)
    return np.maximum(0.0, np.nextafter(x * _down(1.0 - gamma(n)), -np.inf))


def _products(v: np.ndarray, up: bool) -> _Products | None:
    """Outward bounds on the exclusive prefix, suffix and leave-one-out products of
    ``v ≥ 0`` (numpy, ``O(L)``), or ``None`` where that is not safe (a non-finite value,
    or a nonzero result near underflow): then callers round each operation one by one.

    Each computed product has at most ``L`` roundings, so it is within a factor
    ``1 ± γ_L`` of the exact one (Higham, Lemma 3.1); that factor is applied outward.
    """
    depth = len(v)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        one = np.ones(1)
        pre = np.concatenate([one, np.cumprod(v[:-1])])
        suf = np.concatenate([np.cumprod(v[:0:-1])[::-1], one])
        others = pre * suf
        out = np.concatenate([pre, suf, others])
    if not np.all(np.isfinite(out)) or np.any((out > 0.0) & (out < 1e-290)):
        return None
    if up and np.any(out == 0.0) and np.all(v > 0.0):  # underflowed to 0: not an upper bound
        return None
    return _Products(*(_directed(a, depth + 1, up) for a in (pre, suf, others)))


def _ball_products(cd: CentreData, r: float) -> tuple[_Products, _Products] | None:
    """``(_products(s, up=True), _products(norms, up=False))`` for the ball of radius ``r``
    (``s = norms + r``), or ``None`` where either is unsafe (callers then round one operation
    at a time). The centre's half is the same for every radius and computed once per
    centre; the ball's half is kept for the last radius, which the κ bounds and ΔJ of
    :func:`local_constants` both ask for."""
    memo = getattr(cd, "memo", None)
    if memo is None:  # a stand-in without the memo (tests)
        memo = {}
    if "products_down" not in memo:
        memo["products_down"] = _products(np.asarray(cd.norms, dtype=np.float64), False)
    if memo.get("ball_r") != r:
        memo["ball_up"] = _products(_shifted(cd.norms, r), True)
        memo["ball_r"] = r
    big, small = memo["ball_up"], memo["products_down"]
    return None if big is None or small is None else (big, small)


def _sub_up(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a − b`` rounded up, clipped at 0."""
    return np.maximum(0.0, np.nextafter(a - b, np.inf))


def _sum_directed(x: np.ndarray, up: bool) -> float:
    """``Σ x`` (``x ≥ 0``) rounded outward (``n − 1`` roundings: ``1 ± γ_n``)."""
    total = float(np.sum(x))
    return _inflate(total, len(x)) if up else _deflate(total, len(x))


def kappa_ball_per_term(cd: CentreData, r: float) -> tuple[float, float]:
    """Per-term bounds on κ_min, κ_max of K over ``B(W^c, r)`` (CERTIFICATE.md).

    Each term ``Z ↦ P_lP_lᵀ Z Q_lᵀQ_l`` is a Kronecker product of PSD matrices, so
    ``κ_min ≥ Σ_l σ_{d_L}(P_l)² σ_{d_0}(Q_l)²`` and ``κ_max ≤ Σ_l ‖P_l‖²‖Q_l‖²``. On the ball,
    ``‖P'_l − P_l‖ ≤ Π_{j>l} s_j − Π_{j>l} ‖W^c_j‖`` (expand the product of ``W_j + Δ_j``; the
    difference is increasing in each ‖W^c_j‖, so upper bounds on them are valid), and
    Weyl gives ``σ(P'_l) ≥ σ(P_l) − ‖P'_l − P_l‖`` (clipped at 0); likewise for ``Q_l``.
    ``κ_max^B = Σ_l Π_{j≠l} s_j²``. Outward rounding throughout.

    Vectorised over the layers with outward relative margins (:func:`_products`).
    """
    both = _ball_products(cd, r)
    if both is None:
        return _kappa_per_term_scalar(cd, r)
    big, small = both
    # ‖P'_l − P_l‖ ≤ Π_{j>l} s_j − Π_{j>l} ‖W^c_j‖, ‖Q'_l − Q_l‖ likewise (rounded up)
    dp = _sub_up(big.suf, small.suf)
    dq = _sub_up(big.pre, small.pre)
    sp = np.maximum(0.0, np.nextafter(np.asarray(cd.sig_p, dtype=np.float64) - dp, -np.inf))
    sq = np.maximum(0.0, np.nextafter(np.asarray(cd.sig_q, dtype=np.float64) - dq, -np.inf))
    kmin_terms = _directed(sp * sp * (sq * sq), 3, False)
    kmax_terms = _directed(big.others * big.others, 1, True)
    return _sum_directed(kmin_terms, False), _sum_directed(kmax_terms, True)


def jacobian_perturbation(cd: CentreData, r: float) -> float:
    """Upper bound on ``sup_{W' ∈ B(W^c, r)} ‖J(W') − J(W^c)‖``.

    ``J'(V) − J(V) = Σ_l (P'_l V_l Q'_l − P_l V_l Q_l)``; the map ``V_l ↦ P V_l Q`` has norm
    ``‖P‖‖Q‖``, and expanding the product over the layers ``j ≠ l`` of ``W_j + Δ_j`` gives
    ``‖P'_l ⊗ Q'_l − P_l ⊗ Q_l‖ ≤ c_l := Π_{j≠l} s_j − Π_{j≠l} ‖W^c_j‖``. Cauchy–Schwarz over
    layers: ``‖ΔJ(V)‖ ≤ Σ_l c_l ‖V_l‖ ≤ (Σ_l c_l²)^{1/2} ‖V‖``.

    Vectorised over the layers with outward relative margins (:func:`_products`).
    """
    both = _ball_products(cd, r)
    if both is None:
        return _jacobian_perturbation_scalar(cd, r)
    big, small = both
    c = _sub_up(big.others, small.others)
    return _up(math.sqrt(_sum_directed(_directed(c * c, 1, True), True)))


def _kappa_per_term_scalar(cd: CentreData, r: float) -> tuple[float, float]:
    """The per-term κ bounds with every operation rounded outward one by one."""
    s = _shifted(cd.norms, r)
    n = cd.norms
    depth = cd.depth
    kmin_terms, kmax_terms = [], []
    for l in range(depth):
        # ‖P'_l − P_l‖ ≤ Π_{j>l} s_j − Π_{j>l} ‖W^c_j‖, ‖Q'_l − Q_l‖ likewise (rounded up)
        dp = _up(_prod_up(s[l + 1:]) - _prod_down(n[l + 1:]))
        dq = _up(_prod_up(s[:l]) - _prod_down(n[:l]))
        sp = max(0.0, _down(cd.sig_p[l] - dp))
        sq = max(0.0, _down(cd.sig_q[l] - dq))
        kmin_terms.append(_prod_down([sp, sp, sq, sq]))
        others = np.concatenate([s[:l], s[l + 1:]])
        kmax_terms.append(_prod_up(list(others) + list(others)))
    return _sum_down(kmin_terms), _sum_up(kmax_terms)


def _jacobian_perturbation_scalar(cd: CentreData, r: float) -> float:
    """``ΔJ`` with every operation rounded outward one by one."""
    s = _shifted(cd.norms, r)
    n = cd.norms
    cs = []
    for l in range(cd.depth):
        so = np.concatenate([s[:l], s[l + 1:]])
        no = np.concatenate([n[:l], n[l + 1:]])
        c = max(0.0, _up(_prod_up(so) - _prod_down(no)))
        cs.append(_up(c * c))
    return _up(math.sqrt(_sum_up(cs)))


def kappa_ball(cd: CentreData, r: float) -> tuple[float, float, str]:
    """Best valid bounds ``κ_min^B ≤ λ_min(K(W))``, ``κ_max^B ≥ λ_max(K(W))`` on the ball.

    Two routes, the better of each is taken:

    * per term (:func:`kappa_ball_per_term`);
    * exact at the centre plus perturbation: ``K = JJᵀ`` on ``ℝ^{d_L × d_0}``, so
      ``λ_min(K) = σ_{d_L d_0}(J)²`` and ``λ_max(K) = ‖J‖²``. Weyl for singular values,
      ``σ_k(J') ≥ σ_k(J) − ‖J' − J‖`` and ``‖J'‖ ≤ ‖J‖ + ‖J' − J‖``, with
      ``‖J' − J‖ ≤ ΔJ`` (:func:`jacobian_perturbation`), gives
      ``κ_min^B = (√κ_min(W^c) − ΔJ)₊²`` and ``κ_max^B = (√κ_max(W^c) + ΔJ)²``.

    Returns ``(kappa_min, kappa_max, source)`` with source ``"exact"`` or ``"per_term"``
    naming the route that gave κ_min.
    """
    kmin_t, kmax_t = kappa_ball_per_term(cd, r)
    kmin, kmax, source = kmin_t, kmax_t, "per_term"
    if not math.isnan(cd.kmin_c):
        dj = jacobian_perturbation(cd, r)
        lo = max(0.0, _down(_down(math.sqrt(cd.kmin_c)) - dj))
        kmin_e = _down(lo * lo)
        hi = _up(_up(math.sqrt(cd.kmax_c)) + dj)
        kmax_e = _up(hi * hi)
        if kmin_e > kmin:
            kmin, source = kmin_e, "exact"
        kmax = min(kmax, kmax_e)
    return kmin, kmax, source


def hessian_cross_constant(cd: CentreData, r: float) -> float:
    """Upper bound ``C_×`` on the second-derivative term of the product on the ball.

    ``D²Π[V, V] = 2 Σ_{l<m} W_{L:m+1} V_m W_{m−1:l+1} V_l W_{l−1:1}``, so
    ``‖D²Π[V, V]‖_F ≤ Σ_{l≠m} M_{lm} ‖V_l‖_F‖V_m‖_F ≤ λ_max(M) ‖V‖²`` with
    ``M_{lm} = Π_{j∉{l,m}} s_j`` (0 on the diagonal). M is nonnegative, so
    ``λ_max(M) ≤ max_l Σ_{m≠l} M_{lm}`` (Perron–Frobenius / Gershgorin) ``≤ (L − 1) C₂``
    of the note.

    Row ``l``'s sum is the elementary symmetric polynomial ``e_{L−2}`` of the ``s_j``,
    ``j ≠ l``: ``Σ_m Π_{j<m} t_j · Π_{j>m} t_j`` over ``t = (s_j)_{j≠l}``, from prefix and
    suffix products (numpy, all rows at once, ``O(L²)``). Each term is a product of at
    most ``L − 2`` nonnegative floats and each row a sum of ``L − 1`` terms, so the exact
    value is at most the computed one times ``(1 + γ_L)² ≤ 1 + γ_{2L}`` (Higham, Lemma 3.1
    and §4.2), rounded up — valid while nothing underflows; near underflow (or for a
    non-finite input) every operation is rounded up one by one instead.
    """
    s = _shifted(cd.norms, r)
    depth = cd.depth
    if depth < 2:
        return 0.0
    off = ~np.eye(depth, dtype=bool)
    t = np.broadcast_to(s, (depth, depth))[off].reshape(depth, depth - 1)  # row l: s_{j≠l}
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        ones = np.ones((depth, 1))
        pre = np.concatenate([ones, np.cumprod(t[:, :-1], axis=1)], axis=1)
        suf = np.concatenate([np.cumprod(t[:, :0:-1], axis=1)[:, ::-1], ones], axis=1)
        terms = pre * suf
        rows = np.sum(terms, axis=1)
    if np.all(np.isfinite(s)) and float(np.min(s)) > 0.0 and float(np.min(terms)) > 1e-290:
        return _inflate(float(np.max(rows)), 2 * depth)
    return _cross_constant_scalar(s, depth)


def _cross_constant_scalar(s: np.ndarray, depth: int) -> float:
    """:func:`hessian_cross_constant` with every multiplication and addition rounded up."""
    best = 0.0
    for l in range(depth):
        row = []
        for m in range(depth):
            if m != l:
                row.append(_prod_up([s[j] for j in range(depth) if j not in (l, m)]))
        best = max(best, _sum_up(row))
    return best


def local_constants(cd: CentreData, r: float) -> LocalConstants:
    """``μ``, ``g``, ``β`` on ``B(W^c, r)`` (CERTIFICATE.md, "Three local constants").

    * PL: ``‖∇f‖² = ⟨EΣ, K(EΣ)⟩ ≥ κ_min ‖EΣ‖_F² ≥ κ_min λ_min(Σ) tr(EΣEᵀ)``, so
      ``μ = κ_min^B λ_min(Σ)``.
    * growth: ``‖∇f‖² ≤ κ_max ‖EΣ‖_F² ≤ κ_max λ_max(Σ) · 2(f − f*)``, ``g = √(κ_max^B λ_max(Σ))``.
    * smoothness: ``∇²f[V, V] = ‖J(V)Σ^{1/2}‖² + ⟨EΣ, D²Π[V, V]⟩`` ⇒
      ``‖∇²f‖ ≤ β = κ_max^B λ_max(Σ) + e^B C_×`` with ``C_×`` from
      :func:`hessian_cross_constant` and ``e^B = ‖E^cΣ‖_F + ‖Σ‖₂ r √κ_max^B ≥ ‖EΣ‖_F``
      (mean value theorem along the segment: ``‖ΔW_{L:1}‖_F ≤ sup‖J‖ · r``).
    """
    kmin, kmax, source = kappa_ball(cd, r)
    mu = _down(kmin * cd.lam_min)
    g = _up(math.sqrt(_up(kmax * cd.lam_max)))
    e_ball = _up(cd.e_centre + _up(_up(cd.sigma_norm * r) * _up(math.sqrt(kmax))))
    beta = _up(_up(kmax * cd.lam_max) + _up(e_ball * hessian_cross_constant(cd, r)))
    return LocalConstants(r=r, mu=mu, g=g, beta=beta, kappa_min=kmin, kappa_max=kmax,
                          e_ball=e_ball, kappa_source=source)


def loss_gap(cd: CentreData, epsilon: float) -> float:
    """``F₀ ≥ sup_{W ∈ B(W^c, ε)} f(W) − f*``.

    ``√(2(f − f*)) = ‖EΣ^{1/2}‖_F ≤ a(W^c) + √λ_max(Σ) ε sup‖J‖`` on the ball (mean value
    theorem), with ``sup‖J‖² ≤ κ_max^B`` of :func:`kappa_ball` at radius ε.
    """
    a = cd.a_centre
    if epsilon > 0.0:
        _, kmax, _ = kappa_ball(cd, epsilon)
        a = _up(a + _up(_up(math.sqrt(cd.lam_max) * epsilon) * _up(math.sqrt(kmax))))
    return _up(0.5 * _up(a * a))


@dataclass(frozen=True)
class TailCheck:
    """Result of :func:`tail_check`: ``ok`` iff every hypothesis of the tail theorem holds."""

    ok: bool
    q: float
    travel: float
    why: str


def tail_check(*, mu: float, beta: float, g: float, eta: float, f0: float, epsilon: float,
               r: float) -> TailCheck:
    """The tail theorem's hypotheses (CERTIFICATE.md), with outward rounding.

    ``η < 2/β``; ``q = 1 − 2μη(1 − βη/2)`` (rounded up; ``0 ≤ q < 1`` needs ``μ > 0``);
    ``travel = ε + η g √(2F₀) / (1 − √q) ≤ r`` (travel rounded up). Then GD from any
    ``W⁰ ∈ B(W^c, ε)`` stays in ``B(W^c, r)`` with ``f(Wᵗ) − f* ≤ qᵗ F₀`` and converges to a
    global minimiser in the ball.
    """
    if not (math.isfinite(beta) and _up(beta * eta) < 2.0):
        return TailCheck(False, math.nan, math.inf, "step_too_large")
    half = _down(1.0 - _up(_up(beta * eta) / 2.0))
    contraction = _down(_down(_down(2.0 * mu) * eta) * half)
    q = max(0.0, _up(1.0 - contraction))
    if not q < 1.0:
        return TailCheck(False, q, math.inf, "tail_failed")
    gap = _down(1.0 - _up(math.sqrt(q)))
    if not gap > 0.0:
        return TailCheck(False, q, math.inf, "tail_failed")
    travel = _up(epsilon + _up(_up(_up(eta * g) * _up(math.sqrt(_up(2.0 * f0)))) / gap))
    return TailCheck(travel <= r, q, travel, "" if travel <= r else "tail_failed")


def search_radius(cd: CentreData, eta: float, *, epsilon: float = 0.0,
                  grid_points: int = GRID_POINTS,
                  tried: list[tuple[float, float]] | None = None,
                  hint: float | None = None,
                  ) -> tuple[LocalConstants, TailCheck] | None:
    """Find a radius ``r`` for which :func:`tail_check` holds, or ``None``.

    Tries a fixed-point iteration ``r ← 1.5 · travel(r)`` from ``r₀ = max(2ε, 1e-300)``
    (the constants grow with r, the travel bound shrinks with F₀), then a log grid of
    ``grid_points`` radii from ``max(2ε, 10⁻¹⁴ s)`` to ``s = max_l ‖W^c_l‖ + 1``. Returns the
    first success (the fixed point first: it is the smallest radius, with the best q).

    Every constant is a sup or inf over the ball, so β, q and the travel bound only grow
    with r. Hence the search stops at once when the smallest radius already has
    ``ηβ ≥ 2`` or ``q ≥ 1``, skips grid radii below the smallest radius's travel bound, and
    stops the grid at the first radius with ``ηβ ≥ 2`` or ``q ≥ 1`` (pruning only saves
    work: a returned radius always passes :func:`tail_check`). ``tried`` (optional)
    receives ``(travel(r)/r, r)`` for every radius with a finite travel bound. ``hint``
    (optional) is tried first and returned if it passes: the driver's ε-ball re-check at
    the radius the tail was just proved with (one attempt instead of a search).
    """
    f0 = loss_gap(cd, epsilon)
    if not math.isfinite(f0):
        return None
    scale = float(np.max(cd.norms)) + 1.0

    if tried is None:
        tried = []  # (travel(r)/r, r) of every finite attempt

    def attempt(r: float) -> tuple[LocalConstants, TailCheck]:
        lc = local_constants(cd, r)
        tc = tail_check(mu=lc.mu, beta=lc.beta, g=lc.g, eta=eta, f0=f0, epsilon=epsilon, r=r)
        if math.isfinite(tc.travel):
            tried.append((tc.travel / r, r))
        return lc, tc

    if hint is not None and hint >= 2.0 * epsilon:
        lc, tc = attempt(float(hint))
        if tc.ok:
            return lc, tc
    r = max(2.0 * epsilon, 1e-15 * scale)
    lc, tc = attempt(r)
    if tc.ok:
        return lc, tc
    if tc.why == "step_too_large" or not tc.q < 1.0:
        # β and q only grow with r (every constant is a sup over the ball): no larger
        # radius can do better, and r is already the smallest one allowed
        return None
    floor = tc.travel  # every r' ≥ r has travel(r') ≥ travel(r): radii below it fail
    for _ in range(30):
        if not math.isfinite(tc.travel) or tc.travel > 10 * scale:
            break
        r_next = max(1.5 * tc.travel, r * 1.01)
        if r_next > 10 * scale:
            break
        r = r_next
        lc, tc = attempt(r)
        if tc.ok:
            return lc, tc
    if not floor <= scale:
        return None
    for r in np.geomspace(max(2.0 * epsilon, 1e-14 * scale), scale, grid_points):
        if r < floor:
            continue
        lc, tc = attempt(float(r))
        if tc.ok:
            return lc, tc
        if tc.why == "step_too_large" or not tc.q < 1.0:
            break
    return _refine(attempt, tried, grid_points)


def _refine(attempt: Any, tried: list[tuple[float, float]],
            grid_points: int) -> tuple[LocalConstants, TailCheck] | None:
    """Golden-section search of ``log r ↦ travel(r)/r`` around the best radius tried.

    Near the first step where the tail holds, the radii with ``travel(r) ≤ r`` form a
    narrow window (``travel/r`` dips just below 1) that the fixed point (which overshoots
    by its factor 1.5) and the grid (a factor ≈ 2 apart) can both step over. Only a dip
    below :data:`REFINE_BELOW` is refined; at most :data:`REFINE_STEPS` more attempts.
    """
    if not tried:
        return None
    ratio, r_best = min(tried)
    if not ratio < REFINE_BELOW:
        return None
    spread = math.log(10.0) * 14.0 / max(grid_points - 1, 1)  # one grid step in log r
    lo, hi = math.log(r_best) - spread, math.log(r_best) + spread
    phi = (math.sqrt(5.0) - 1.0) / 2.0

    def ratio_at(x: float) -> tuple[float, tuple[LocalConstants, TailCheck]]:
        r = math.exp(x)
        lc, tc = attempt(r)
        return (tc.travel / r if math.isfinite(tc.travel) else math.inf), (lc, tc)

    a, b = hi - phi * (hi - lo), lo + phi * (hi - lo)
    fa, ra = ratio_at(a)
    fb, rb = ratio_at(b)
    for _ in range(REFINE_STEPS):
        for got in (ra, rb):
            if got[1].ok:
                return got
        if fa <= fb:
            hi, b, fb, rb = b, a, fa, ra
            a = hi - phi * (hi - lo)
            fa, ra = ratio_at(a)
        else:
            lo, a, fa, ra = a, b, fb, rb
            b = lo + phi * (hi - lo)
            fb, rb = ratio_at(b)
    for got in (ra, rb):
        if got[1].ok:
            return got
    return None


# ----------------------------------------------------------------------------- public


def predicted_iterations(*, q: float, f0: float, tolerance: float) -> int | None:
    """Tail steps until ``qᵗ F₀ ≤ tolerance``: ``⌈log(tolerance/F₀) / log q⌉`` (0 if already)."""
    if f0 <= tolerance:
        return 0
    if not 0.0 <= q < 1.0:
        return None
    if q == 0.0:
        return 1
    return int(math.ceil(math.log(tolerance / f0) / math.log(q)))


def _check_problem(problem: Problem) -> str:
    """The PL form of the tail needs no bottleneck and ``XXᵀ ≻ 0``; the reason if not."""
    widths = problem.widths
    if min(widths) < min(widths[0], widths[-1]):
        return "bottleneck"
    if problem.x is not None and not problem.full_rank:
        return "singular_sigma"
    return ""


_DETAILS = {
    "bottleneck": "a hidden width is below min(d_0, d_L): the global minimum is rank-"
                  "constrained and this PL inequality does not hold",
    "singular_sigma": "XXᵀ is singular: the loss is not PL in the product",
    "step_too_large": "η ≥ 2/β on every ball tried (the local smoothness bound is too large)",
    "tail_failed": "no radius r satisfied ε + ηg√(2F₀)/(1 − √q) ≤ r (PL constant too small "
                   "or loss gap too large at this iterate)",
}


#: The last :func:`centre_data` computed by :func:`certify_iterate`: ``(problem, the
#: weights' bytes, data)``. The driver proves the tail at an iterate, then again on the
#: ε-ball around the same iterate; the centre's SVDs and eigenvalues are the larger part
#: of an attempt (13 of 15 ms at d = 16, L = 20). Holding the problem keeps its id from
#: being reused while cached.
_LAST_CENTRE: tuple[Problem, bytes, CentreData] | None = None


def _centre_data_cached(problem: Problem, ws: Sequence[np.ndarray]) -> CentreData:
    """:func:`centre_data`, reusing the previous call's result for the same problem and
    bit-identical weights (the function is deterministic)."""
    global _LAST_CENTRE
    key = b"".join(np.ascontiguousarray(w).tobytes() + repr(w.shape).encode() for w in ws)
    last = _LAST_CENTRE
    if last is not None and last[0] is problem and last[1] == key:
        return last[2]
    cd = centre_data(problem, ws)
    _LAST_CENTRE = (problem, key, cd)
    return cd


def certify_iterate(problem: Problem, weights: Sequence[np.ndarray], eta: float, *,
                    epsilon: float = 0.0, tolerance: float | None = None,
                    init: str = "weights", k: int = 0, level: Level = "tail_only",
                    prefix_deviation: float | None = None,
                    radius_hint: float | None = None) -> Certificate | NotCertified:
    """Prove that GD at ``eta`` from every point within ``epsilon`` of ``weights`` converges.

    The tail theorem of CERTIFICATE.md at centre ``W^c = weights``: finds a ball radius
    (:func:`search_radius`) on which ``η < 2/β`` and
    ``ε + ηg√(2F₀)/(1 − √q) ≤ r``; then ``f(Wᵗ) − f* ≤ qᵗF₀`` and GD converges to a global
    minimiser. ``epsilon = 0`` certifies exact GD from exactly these float64 weights.
    ``tolerance`` (default ``1e-10 · ½‖Y‖_F²``, gdcert's default) sets the predicted
    iteration count. ``init``, ``k``, ``level`` and ``prefix_deviation`` are recorded in the
    result (the driver :func:`gdcert.api.aposteriori.certify_step` fills them);
    ``radius_hint``: a radius to try first (:func:`search_radius`).
    """
    eta = float(eta)
    if not (math.isfinite(eta) and eta > 0.0):
        raise ValueError(f"eta must be finite and > 0, got {eta}")
    if not (math.isfinite(epsilon) and epsilon >= 0.0):
        raise ValueError(f"epsilon must be finite and >= 0, got {epsilon}")
    ws = [np.asarray(w, dtype=np.float64) for w in weights]
    widths = (ws[0].shape[1], *[w.shape[0] for w in ws]) if ws else ()
    if tuple(widths) != tuple(problem.widths):
        raise ValueError(f"weights have widths {widths}, the problem has {problem.widths}")
    if tolerance is None:
        y = problem.phi if problem.y is None else problem.y
        tolerance = 1e-10 * max(0.5 * float(np.sum(y * y)), 1e-300)
    reason = _check_problem(problem)
    if reason:
        return NotCertified(eta=eta, init=init, reason=reason, detail=_DETAILS[reason], k=k)
    if not all(np.all(np.isfinite(w)) for w in ws):
        return NotCertified(eta=eta, init=init, reason="diverged",
                            detail="the iterate is not finite", k=k)
    cd = _centre_data_cached(problem, ws)
    tried: list[tuple[float, float]] = []
    found = search_radius(cd, eta, epsilon=epsilon, tried=tried, hint=radius_hint)
    if found is None:
        lc = local_constants(cd, max(2 * epsilon, 1e-12))
        why = "step_too_large" if _up(lc.beta * eta) >= 2.0 else "tail_failed"
        return NotCertified(eta=eta, init=init, reason=why, detail=_DETAILS[why], k=k,
                            loss_gap=cd.loss_gap,
                            extras={"mu_centre": lc.mu, "beta_centre": lc.beta,
                                    "two_over_beta_centre": 2.0 / lc.beta if lc.beta else
                                    math.inf,
                                    "travel_over_r": min(tried)[0] if tried else math.inf})
    lc, tc = found
    f0 = loss_gap(cd, epsilon)
    tail = predicted_iterations(q=tc.q, f0=f0, tolerance=tolerance)
    return Certificate(eta=eta, init=init, k=k, loss_gap=cd.loss_gap, r=lc.r, epsilon=epsilon,
                       mu=lc.mu, beta=lc.beta, g=lc.g, q=tc.q, f0=f0, tolerance=tolerance,
                       iterations=None if tail is None else k + tail, level=level,
                       prefix_deviation=prefix_deviation, kappa_source=lc.kappa_source,
                       extras={"travel": tc.travel, "kappa_min": lc.kappa_min,
                               "kappa_max": lc.kappa_max, "e_ball": lc.e_ball})
