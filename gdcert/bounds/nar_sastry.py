"""Nar & Sastry, "Step Size Matters in Deep Learning", NeurIPS 2018.

Target form ``ℓ = ½‖W_L⋯W_1 − Φ‖_F²`` (or whitened data, which reduces to it).
The paper writes the step size as δ and the target as R; here it is ``eta`` and Φ
(BOUNDS.md §1). Every bound is computed in log10 space so that depth 10⁴ and
ρ = 10⁶ give finite logarithms.

References
----------
K. Nar and S. S. Sastry. Step size matters in deep learning. NeurIPS 2018.
https://arxiv.org/abs/1805.08890
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from gdcert.bounds._common import (
    LOG10_2,
    check_depth,
    check_nonneg,
    check_step,
    log10_min,
    log10_rho_power,
)
from gdcert.linalg import log10_or_inf, top_singular
from gdcert.results import Assumption, Bound

PAPER = "Nar & Sastry (2018)"

#: Relative tolerance for "λ_min ≥ 0" and for "the gradient is ≈ 0".
PSD_RTOL = 1e-10
CRITICAL_RTOL = 1e-6


def cor1(*, rho: float, depth: int) -> Bound:
    """Largest step size at which GD can converge to a global minimum.

    Nar & Sastry (2018), Corollary 1, eq. (4):

    .. math:: η ≤ 2 / (L ρ(Φ)^{2(L−1)/L})

    with ``rho`` = ρ(Φ) the largest singular value of the target and ``depth`` = L.
    Necessary for GD from a random initialisation; tight at the balanced global
    minimum, whose top Hessian eigenvalue is exactly ``L ρ^{2(L−1)/L}``
    (see :func:`gdcert.bounds.stability.exact`). ρ = 0 gives ``inf``; L = 1 gives 2.
    """
    check_depth(depth)
    check_nonneg("rho", rho)
    log10_eta = LOG10_2 - math.log10(depth) - log10_rho_power(log10_or_inf(rho), depth)
    if depth == 1:
        log10_eta = LOG10_2
    return Bound(
        id="nar_sastry.cor1",
        paper=PAPER,
        theorem="Corollary 1, eq. (4)",
        kind="necessary",
        applies=True,
        log10_max_step=log10_eta,
        guarantee=(
            "above this step size GD from a random initialisation cannot converge to a "
            "global minimum (every global minimum is unstable)"
        ),
        extras={"rho": rho},
    )


def _log10_norms_forward(weights: Sequence[np.ndarray], v: np.ndarray) -> list[float]:
    """log10 p_j, p_j = ‖W_j⋯W_1 v‖ for j = 0..L (p_0 = ‖v‖ = 1), renormalised each step."""
    out = [0.0]
    x = v / np.linalg.norm(v)
    for w in weights:
        x = w @ x
        n = float(np.linalg.norm(x))
        if n == 0.0:
            out.extend([-math.inf] * (len(weights) + 1 - len(out)))
            break
        out.append(out[-1] + math.log10(n))
        x = x / n
    return out


def thm1(*, weights: Sequence[np.ndarray], grad_norm: float | None = None,
         loss_scale: float = 1.0) -> Bound:
    """Largest step size at which GD can converge to the given solution ``Ŵ⃗``.

    Nar & Sastry (2018), Theorem 1, eq. (3):

    .. math:: η ≤ 2 / Σ_{j=1}^{L} p_{j−1}² q_{j+1}²

    with ``p_j = ‖Ŵ_j⋯Ŵ_1 v‖`` (p_0 = 1), ``q_j = ‖uᵀŴ_L⋯Ŵ_j‖`` (q_{L+1} = 1) and
    ``u, v`` the top left/right singular vectors of ``R̂ = Ŵ_L⋯Ŵ_1``.
    ``weights`` are ``[W_1, …, W_L]``. The theorem speaks of a critical point (a
    solution GD converged to); ``grad_norm`` = ‖∇ℓ(Ŵ⃗)‖_F is reported and an
    assumption fails when it is not ≈ 0 relative to ``loss_scale``.
    """
    depth = len(weights)
    check_depth(depth)
    prod = weights[0]
    for w in weights[1:]:
        prod = w @ prod
    sigma, u, v = top_singular(np.asarray(prod, dtype=np.float64))
    log_p = _log10_norms_forward(weights, v)  # p_0..p_L
    log_q_rev = _log10_norms_forward([w.T for w in reversed(weights)], u)  # q_{L+1}..q_1
    log_q = list(reversed(log_q_rev))  # index i ↦ q_{i+1}: log_q[j] = log10 q_{j+1}
    # Σ_j p_{j−1}² q_{j+1}², j = 1..L; in 0-based layer index i = j−1: p_i² q_{i+2}².
    terms = np.array([2.0 * (log_p[i] + log_q[i + 1]) for i in range(depth)])
    finite = terms[np.isfinite(terms)]
    if finite.size == 0:
        log10_sum = -math.inf
    else:
        top = float(finite.max())
        log10_sum = top + math.log10(float(np.sum(10.0 ** (finite - top))))
    log10_eta = LOG10_2 - log10_sum
    assumptions = [Assumption("weights chain into R̂ = W_L⋯W_1", True, depth)]
    if grad_norm is not None:
        critical = grad_norm <= CRITICAL_RTOL * max(loss_scale, 1e-300)
        assumptions.append(
            Assumption("Ŵ⃗ is a critical point: ‖∇ℓ(Ŵ⃗)‖_F ≈ 0", bool(critical), grad_norm)
        )
    else:
        critical = True
    return Bound(
        id="nar_sastry.thm1",
        paper=PAPER,
        theorem="Theorem 1, eq. (3)",
        kind="necessary",
        applies=bool(critical),
        reason="" if critical else (
            f"the weights are not a critical point (‖∇ℓ‖_F = {grad_norm:.3g}); "
            "Theorem 1 speaks of solutions GD converged to"
        ),
        log10_max_step=log10_eta,
        guarantee="above this step size GD cannot converge to this particular solution",
        point="weights",
        assumptions=tuple(assumptions),
        extras={"rho_solution": sigma, "log10_p": log_p, "log10_q": log_q},
    )


def cor2(*, rho: float, depth: int, eta: float) -> Bound:
    """Cap on the solutions GD with step size η can converge to.

    Nar & Sastry (2018), Corollary 2: if GD with step size η converged to ``Ŵ⃗`` then

    .. math:: ρ(R̂) ≤ (2/(Lη))^{L/(2L−2)},  L ≥ 2.

    Equivalently η ≤ 2/(L ρ(R̂)^{2(L−1)/L}): with ρ(R̂) = ρ(Φ) for a solution fitting
    the target, this is :func:`cor1` read the other way round. The cap is reported in
    ``extras['rho_cap']`` and its log10 in ``extras['log10_rho_cap']``.
    """
    check_depth(depth)
    check_nonneg("rho", rho)
    check_step(eta)
    if depth < 2:
        return Bound(
            id="nar_sastry.cor2", paper=PAPER, theorem="Corollary 2", kind="necessary",
            applies=False, reason="Corollary 2 needs depth L ≥ 2",
            log10_max_step=math.nan, guarantee="",
        )
    log10_cap = depth / (2.0 * depth - 2.0) * (LOG10_2 - math.log10(depth) - math.log10(eta))
    log10_rho = log10_or_inf(rho)
    fits = log10_rho <= log10_cap + 1e-12
    from gdcert.linalg import pow10

    return Bound(
        id="nar_sastry.cor2",
        paper=PAPER,
        theorem="Corollary 2",
        kind="necessary",
        applies=True,
        log10_max_step=cor1(rho=rho, depth=depth).log10_max_step,
        guarantee=(
            "a solution reached with step size η has ρ(R̂) ≤ (2/(Lη))^{L/(2L−2)}"
        ),
        assumptions=(Assumption("ρ(Φ) ≤ cap on reachable ρ(R̂)", bool(fits), rho),),
        extras={"eta": eta, "rho_cap": pow10(log10_cap), "log10_rho_cap": log10_cap,
                "target_reachable": bool(fits)},
    )


def _psd_assumptions(*, symmetric: bool, square: bool, square_layers: bool,
                     lam_min: float | None = None, lam_max: float | None = None
                     ) -> list[Assumption]:
    """Theorem 2's setting; with ``lam_min``/``lam_max`` also "Φ is PSD" (to PSD_RTOL)."""
    out = [
        Assumption("Φ is square", square, failed="Φ is not square (d_L ≠ d_0)"),
        Assumption("Φ is symmetric", symmetric, failed="Φ is not symmetric"),
        Assumption("all layers are square d×d (identity initialisation exists)", square_layers,
                   failed="the layers are not all square (the widths differ): no identity "
                          "initialisation"),
    ]
    if lam_min is not None and lam_max is not None:
        scale = max(abs(lam_min), abs(lam_max), 1e-300) if symmetric else 1.0
        psd = symmetric and lam_min >= -PSD_RTOL * scale
        out.append(Assumption("Φ is positive semidefinite (λ_min ≥ 0)", bool(psd),
                              lam_min if symmetric else None,
                              failed=f"λ_min = {lam_min:.3g} < 0: Φ is not positive "
                                     "semidefinite"))
    return out


def _not_applicable(bid: str, theorem: str, kind: str, reason: str,
                    assumptions: list[Assumption], init: str | None) -> Bound:
    return Bound(id=bid, paper=PAPER, theorem=theorem, kind=kind,  # type: ignore[arg-type]
                 applies=False, reason=reason, log10_max_step=math.nan, guarantee="",
                 init=init, assumptions=tuple(assumptions))


def _first_failure(assumptions: list[Assumption]) -> str:
    """The reason a bound does not apply: the first failed hypothesis, as a finding."""
    for a in assumptions:
        if not a.holds:
            return a.finding
    return ""


def thm2(*, depth: int, lam_min: float, lam_max: float, symmetric: bool, square: bool,
         square_layers: bool) -> Bound:
    """Identity initialisation on a symmetric PSD target: a sufficient step size.

    Nar & Sastry (2018), Theorem 2:

    .. math:: η ≤ \\min\\{1/L,\\; 1/(L ρ^{2(L−1)/L})\\}  ⇒  W_j → Φ^{1/L}

    for Φ symmetric positive semidefinite, square layers, ``W_j(0) = I``; the rate is
    linear on the positive-definite part. For a zero eigenvalue the scalar dynamics
    are ``w ← w − η w^{2L−1}``: convergence there is sublinear when L ≥ 2.
    ``lam_min``/``lam_max`` are the extreme eigenvalues of Φ (NaN when not symmetric).
    """
    check_depth(depth)
    a = _psd_assumptions(symmetric=symmetric, square=square, square_layers=square_layers,
                         lam_min=lam_min, lam_max=lam_max)
    if not all(x.holds for x in a):
        return _not_applicable("nar_sastry.thm2", "Theorem 2", "sufficient", _first_failure(a),
                               a, "identity")
    rho = max(abs(lam_min), abs(lam_max))
    log10_eta = log10_min(
        -math.log10(depth),
        -math.log10(depth) - log10_rho_power(log10_or_inf(rho), depth),
    )
    scale = max(abs(lam_min), abs(lam_max), 1e-300)
    singular = lam_min <= PSD_RTOL * scale
    rate = "linear" if not singular else (
        "linear on the positive-definite part; sublinear along the zero eigenvalue(s)"
        if depth >= 2 else "linear"
    )
    return Bound(
        id="nar_sastry.thm2", paper=PAPER, theorem="Theorem 2", kind="sufficient",
        applies=True, log10_max_step=log10_eta, init="identity", assumptions=tuple(a),
        guarantee=f"from W_j(0) = I every W_j converges to Φ^(1/L) (global minimum); rate: {rate}",
        extras={"rate": rate},
    )


def delta_c_log10(lam: float, depth: int) -> float:
    """log10 δ_c(λ), Lemma 3's per-eigenvalue critical step size (BOUNDS.md).

    δ_c(λ) = L^{−1} λ^{−2(L−1)/L} for λ ≥ 1, (1 − λ^{1/L})/(1 − λ) for 0 < λ < 1,
    and 1 for λ = 0. Decreasing in λ.
    """
    if lam <= 0.0:
        return 0.0
    if lam >= 1.0:
        return -math.log10(depth) - log10_rho_power(math.log10(lam), depth)
    ln = math.log(lam)
    # (1 − λ^{1/L})/(1 − λ) = expm1(ln λ / L) / expm1(ln λ), both negative: no cancellation.
    return math.log10(math.expm1(ln / depth) / math.expm1(ln))


def lemma3_beta(lam: float, depth: int, eta: float) -> float:
    """Contraction factor β(λ) of Lemma 3 for one eigenvalue λ > 0 at step size η.

    β = 1 − η(λ − 1)/(λ^{1/L} − 1) for λ > 1, and 1 − η L λ^{2(L−1)/L} for 0 < λ ≤ 1;
    ``|w[k] − λ^{1/L}| ≤ β^k |1 − λ^{1/L}|``. λ = 0 gives 1 (sublinear).
    """
    if lam <= 0.0:
        return 1.0
    if lam > 1.0:
        ln = math.log(lam)
        ratio = math.expm1(ln) / math.expm1(ln / depth)
        return 1.0 - eta * ratio
    return 1.0 - eta * depth * lam ** (2.0 * (depth - 1) / depth)


def lemma3(*, depth: int, lam_min: float, lam_max: float, symmetric: bool, square: bool,
           square_layers: bool, eta: float | None = None, tol: float = 1e-6) -> Bound:
    """Sharper per-eigenvalue form of Theorem 2 (identity init, symmetric PSD Φ).

    Nar & Sastry (2018), Lemma 3 (appendix B of the arXiv preprint):
    ``η ≤ δ_c(λ_max)`` with δ_c from :func:`delta_c_log10`. Extras: the worst
    contraction factor ``beta_max = max_i β_i`` (attained at the smallest eigenvalue,
    as β decreases in λ) at step size ``eta`` (the user's, when given and admitted; else
    the bound itself) and the iterations ``⌈ln(tol)/ln β⌉`` to shrink every
    ``|w_i − λ_i^{1/L}|`` by the factor ``tol``.
    """
    check_depth(depth)
    a = _psd_assumptions(symmetric=symmetric, square=square, square_layers=square_layers,
                         lam_min=lam_min, lam_max=lam_max)
    if not all(x.holds for x in a):
        return _not_applicable("nar_sastry.lemma3", "Lemma 3 (preprint, appendix B)",
                               "sufficient", _first_failure(a), a, "identity")
    log10_eta = delta_c_log10(max(lam_max, 0.0), depth)
    from gdcert.linalg import pow10

    bound_eta = pow10(log10_eta)
    rate_eta = eta if (eta is not None and eta <= bound_eta) else bound_eta
    scale = max(abs(lam_min), abs(lam_max), 1e-300)
    lam_small = lam_min if lam_min > PSD_RTOL * scale else 0.0
    beta = lemma3_beta(lam_small, depth, rate_eta)
    if 0.0 < abs(beta) < 1.0:
        iterations: float | int = math.ceil(math.log(tol) / math.log(abs(beta)))
    elif beta == 0.0:
        iterations = 1
    else:
        iterations = math.inf
    return Bound(
        id="nar_sastry.lemma3", paper=PAPER, theorem="Lemma 3 (preprint, appendix B)",
        kind="sufficient", applies=True, log10_max_step=log10_eta, init="identity",
        assumptions=tuple(a),
        guarantee=(
            "from W_j(0) = I each eigen-direction obeys |w − λ^(1/L)| ≤ β^k |1 − λ^(1/L)|; "
            "W_j → Φ^(1/L)"
        ),
        extras={"beta_max": beta, "rate_step_size": rate_eta, "tol": tol,
                "iterations_to_tol": iterations,
                "sublinear": lam_small == 0.0 and depth >= 2},
    )


def _thm3_common(depth: int, lam_min: float, symmetric: bool, square: bool,
                 square_layers: bool) -> list[Assumption]:
    a = _psd_assumptions(symmetric=symmetric, square=square, square_layers=square_layers)
    a.append(Assumption("Φ has a negative eigenvalue (λ_min < 0)",
                        bool(symmetric and lam_min < 0.0), lam_min if symmetric else None,
                        failed=f"λ_min = {lam_min:.3g} ≥ 0: Φ has no negative eigenvalue"))
    a.append(Assumption("depth L ≥ 2 (Lemma 4)", depth >= 2, depth,
                        failed="L = 1: Lemma 4 needs L ≥ 2 (at L = 1 GD on ½‖W − Φ‖² "
                               "converges to Φ itself, the global minimum)"))
    return a


def thm3(*, depth: int, lam_min: float, lam_max: float, symmetric: bool, square: bool,
         square_layers: bool, loss_floor: float | None = None) -> Bound:
    """Identity initialisation on a symmetric indefinite target.

    Nar & Sastry (2018), Theorem 3:

    .. math:: η ≤ \\min\\{1/(1 − λ_{min}),\\; 1/L,\\; 1/(L ρ^{2(L−1)/L})\\}

    ⇒ ``R̂`` converges to the closest PSD matrix to Φ (negative eigenvalues dropped).
    This is **not** a global minimum: the loss floor is ``½ Σ_{λ_i<0} λ_i²``. Needs L ≥ 2
    (Lemma 4; at L = 1 GD converges to Φ itself).

    The proof keeps every iterate in the commuting family of Φ; that holds in exact
    arithmetic, or when Φ commutes with every iterate (e.g. diagonal Φ). In floating
    point, rounding puts weight on the negative directions and GD may leave the saddle
    (measured on ``sample_inputs/indefinite_4x4.npy``: L = 2 reaches the global minimum,
    L = 3, 4 end elsewhere), so the guarantee says so.

    Notes: Lemma 4's proof has a stray σ; we read ``δ ≤ 1/(1 − λ)`` (BOUNDS.md).
    """
    check_depth(depth)
    a = _thm3_common(depth, lam_min, symmetric, square, square_layers)
    if not all(x.holds for x in a):
        return _not_applicable("nar_sastry.thm3", "Theorem 3", "sufficient",
                               _first_failure(a), a, "identity")
    rho = max(abs(lam_min), abs(lam_max))
    log10_eta = log10_min(
        -math.log10(1.0 - lam_min),
        -math.log10(depth),
        -math.log10(depth) - log10_rho_power(log10_or_inf(rho), depth),
    )
    return Bound(
        id="nar_sastry.thm3", paper=PAPER, theorem="Theorem 3", kind="sufficient",
        applies=True, log10_max_step=log10_eta, init="identity", assumptions=tuple(a),
        guarantee=_THM3_GUARANTEE, extras={"loss_floor": loss_floor},
    )


_THM3_GUARANTEE = (
    "from W_j(0) = I the product converges to the closest PSD matrix to Φ (not a global "
    "minimum) in exact arithmetic, or when Φ commutes with every iterate (e.g. diagonal Φ); "
    "floating-point GD may leave that saddle"
)


def thm3_sharp(*, depth: int, lam_min: float, lam_max: float, symmetric: bool, square: bool,
               square_layers: bool, loss_floor: float | None = None) -> Bound:
    """Sharper form of Theorem 3 from Lemmas 3–4: ``η ≤ min{δ_c(λ_max⁺), 1/(1 − λ_min)}``.

    Nar & Sastry (2018), Lemmas 3 and 4 (preprint, appendix B); δ_c as in
    :func:`delta_c_log10`, λ_max⁺ = max(λ_max, 0). Same promise as :func:`thm3`.
    """
    check_depth(depth)
    a = _thm3_common(depth, lam_min, symmetric, square, square_layers)
    if not all(x.holds for x in a):
        return _not_applicable("nar_sastry.thm3_sharp", "Lemmas 3–4 (preprint, appendix B)",
                               "sufficient", _first_failure(a), a, "identity")
    log10_eta = min(delta_c_log10(max(lam_max, 0.0), depth), -math.log10(1.0 - lam_min))
    return Bound(
        id="nar_sastry.thm3_sharp", paper=PAPER, theorem="Lemmas 3–4 (preprint, appendix B)",
        kind="sufficient", applies=True, log10_max_step=log10_eta, init="identity",
        assumptions=tuple(a), guarantee=_THM3_GUARANTEE, extras={"loss_floor": loss_floor},
    )


#: Gradient scale of each ReLU loss convention relative to Theorem 4's ½Σ (sum): the
#: step-size bound divides by it. ``sum`` is Σ‖·‖² (Figure 2's loss, no ½): gradients
#: twice Theorem 4's; ``mean`` is (1/2N)Σ‖·‖²: gradients 1/N of them.
RELU_LOSSES = ("half-sum", "sum", "mean")


def thm4(*, x_norms: np.ndarray, f_norms: np.ndarray, loss: str = "half-sum",
         eta: float | None = None, grad_norm: float | None = None,
         grad_scale: float = 1.0) -> Bound:
    """Largest step size at which GD could have converged to a two-layer ReLU model.

    Nar & Sastry (2018), Theorem 4: for ``f̂(x) = W g(Vx − b)`` trained by GD on
    ``½ Σ_i ‖f̂(x_i) − f(x_i)‖²`` (sum, no 1/N) over ``W`` and ``V`` (``b`` fixed), if GD
    with step size η converged to ``(Ŵ, V̂)`` then

    .. math:: \\max_i ‖x_i‖ ‖f̂(x_i)‖ ≤ 1/η.

    ``x_norms[i] = ‖x_i‖``, ``f_norms[i] = ‖f̂(x_i)‖``. The bound is ``1/max_i(…)``
    for the ``half-sum`` convention; ``1/(2 max)`` for ``sum`` (Σ‖·‖², the loss of the
    paper's Figure 2) and ``N/max`` for ``mean`` ((1/2N)Σ‖·‖²). Extras: the maximum,
    the sample attaining it (0-based index) and, with ``eta``, whether it is admitted.

    The theorem is about a point GD converged to, so a critical point: with ``grad_norm``
    (‖∇ℓ‖_F over W and V, from the data) the assumption is checked — the model counts as
    critical when ``grad_norm ≤ 1e-6 · grad_scale`` — and a model that is not critical gets
    ``applies = False`` (its value is still reported). Without it (no targets) the
    assumption is reported as not checked (``holds = None``).
    """
    x_norms = np.asarray(x_norms, dtype=np.float64)
    f_norms = np.asarray(f_norms, dtype=np.float64)
    if x_norms.shape != f_norms.shape or x_norms.ndim != 1 or x_norms.size == 0:
        raise ValueError("x_norms and f_norms must be non-empty 1-D arrays of one length")
    if loss not in RELU_LOSSES:
        raise ValueError(f"loss must be one of {RELU_LOSSES}, got {loss!r}")
    prod = x_norms * f_norms
    i = int(np.argmax(prod))
    top = float(prod[i])
    n = x_norms.size
    factor = {"half-sum": 1.0, "sum": 2.0, "mean": 1.0 / n}[loss]
    log10_eta = -(log10_or_inf(top) + math.log10(factor))
    extras: dict[str, object] = {"max_x_f": top, "argmax_sample": i, "loss": loss,
                                 "n_samples": n}
    if eta is not None:
        check_step(eta)
        extras["eta"] = eta
    if grad_norm is None:
        critical = Assumption("the model is a critical point (a point GD converged to): not "
                              "checked — the model file has no targets Y", None)
    else:
        extras["grad_norm"] = grad_norm
        critical = Assumption("the model is a critical point: ‖∇ℓ‖_F ≈ 0 (a point GD "
                              "converged to)", bool(grad_norm <= 1e-6 * grad_scale),
                              grad_norm)
    return Bound(
        id="nar_sastry.thm4", paper=PAPER, theorem="Theorem 4", kind="necessary",
        applies=critical.holds is not False, log10_max_step=log10_eta, point="model",
        reason="" if critical.holds is not False else (
            f"the model is not a critical point (‖∇ℓ‖_F = {grad_norm:.3g}): Theorem 4 is "
            "about points GD converged to"),
        guarantee=("above this step size full-batch GD cannot converge to this model "
                   "(max_i ‖x_i‖‖f̂(x_i)‖ ≤ 1/η fails)"),
        assumptions=(Assumption("two-layer ReLU network f̂(x) = W g(Vx − b), b fixed", True),
                     critical),
        extras=extras,
    )
