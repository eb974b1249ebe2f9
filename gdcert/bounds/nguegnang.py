"""Nguegnang, Rauhut & Terstiege, "Convergence of Gradient Descent for Learning
Linear Neural Networks" (2021).

Data form, sum convention ``ℓ = ½‖Y − W_L⋯W_1 X‖_F²``, any widths, ``XXᵀ`` of full
rank. The paper calls the depth N and the balancedness parameter δ; here they are
``depth`` (L) and ``delta_bal`` — δ never names a step size in gdcert (BOUNDS.md §1).

References
----------
G. M. Nguegnang, H. Rauhut and U. Terstiege. Convergence of gradient descent for
learning linear neural networks. arXiv:2108.02040, 2021.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gdcert.bounds._common import check_depth, check_nonneg
from gdcert.results import Assumption, Bound

PAPER = "Nguegnang, Rauhut & Terstiege (2021)"
LN10 = math.log(10.0)
HALF_LN_E = 0.5  # ln √e
#: Points of the grid over t = ln(delta_bal − b₀) ∈ [−700, 700] in :func:`thm2_4`.
GRID_POINTS = 1401


@dataclass(frozen=True)
class Constants:
    """Problem constants entering Theorem 2.4 (all in the sum convention).

    ``loss0`` = ℓ₀ = ½‖Y − W(0)X‖_F²; ``y_norm`` = ‖Y‖; ``sigma_min_x`` = σ_min(X);
    ``x_norm`` = ‖X‖; ``xyt_norm`` = ‖XYᵀ‖; ``b0`` = balancedness of W⃗(0).
    """

    loss0: float
    y_norm: float
    sigma_min_x: float
    x_norm: float
    xyt_norm: float
    b0: float


def log_m(c: Constants) -> float:
    """ln M, M = (√(2ℓ₀) + ‖Y‖)/σ_min(X), eq. (2.11).

    Notes: eq. (2.11)'s second form writes √2‖Y − W(0)X‖_F; that is a typo — Lemma 3.1
    and the proof of Prop. 3.2 give √(2ℓ₀) = ‖Y − W(0)X‖_F (BOUNDS.md).
    """
    num = math.sqrt(2.0 * c.loss0) + c.y_norm
    if num == 0.0:
        return -math.inf
    return math.log(num) - math.log(c.sigma_min_x)


def _lse(*logs: float) -> float:
    """ln Σ exp(logs), ignoring -inf terms."""
    finite = [x for x in logs if x != -math.inf]
    if not finite:
        return -math.inf
    top = max(finite)
    return top + math.log(sum(math.exp(x - top) for x in finite))


def log_step(c: Constants, depth: int, log_gap: float) -> float:
    """ln of the right-hand side of eq. (2.8) at ``delta_bal = b₀ + exp(log_gap)``.

    .. math::
        η ≤ 2(δ − b₀) / (4ℓ₀ + (δ − b₀) B_δ),\\quad
        B_δ = 2eL K_δ^{L−1}‖X‖² + √e L K_δ^{L/2−1}‖XYᵀ‖,\\quad
        K_δ = M^{2/L} + L²δ

    (eqs. (2.8)–(2.10) with αδ = b₀, i.e. (1 − α)δ = δ − b₀). Everything in natural
    logs so that L = 10⁴ does not overflow.
    """
    lm = log_m(c)
    log_delta = _lse(math.log(c.b0) if c.b0 > 0 else -math.inf, log_gap)
    log_k = _lse(2.0 / depth * lm if lm != -math.inf else -math.inf,
                 2.0 * math.log(depth) + log_delta)
    ln_l = math.log(depth)
    t1 = (math.log(2.0) + 1.0 + ln_l + (depth - 1) * log_k + 2.0 * _safe_log(c.x_norm))
    t2 = (HALF_LN_E + ln_l + (depth / 2.0 - 1.0) * log_k + _safe_log(c.xyt_norm))
    log_b = _lse(t1, t2)
    log_den = _lse(math.log(4.0) + _safe_log(c.loss0), log_gap + log_b)
    return math.log(2.0) + log_gap - log_den


def _log_step_grid(c: Constants, depth: int, log_gap: np.ndarray) -> np.ndarray:
    """:func:`log_step` at every ``t`` of an array at once (same formulas, numpy ufuncs).

    ``np.logaddexp`` plays :func:`_lse`'s part (``-inf`` terms drop out). Agrees with the
    scalar function to rounding; :func:`thm2_4` uses it only to pick the bracket.
    """
    t = np.asarray(log_gap, dtype=np.float64)
    lm = log_m(c)
    log_b0 = math.log(c.b0) if c.b0 > 0 else -math.inf
    log_delta = np.logaddexp(log_b0, t)
    log_k = np.logaddexp(2.0 / depth * lm if lm != -math.inf else -math.inf,
                         2.0 * math.log(depth) + log_delta)
    ln_l = math.log(depth)
    t1 = (math.log(2.0) + 1.0 + ln_l) + (depth - 1) * log_k + 2.0 * _safe_log(c.x_norm)
    t2 = (HALF_LN_E + ln_l) + (depth / 2.0 - 1.0) * log_k + _safe_log(c.xyt_norm)
    log_b = np.logaddexp(t1, t2)
    log_den = np.logaddexp(math.log(4.0) + _safe_log(c.loss0), t + log_b)
    with np.errstate(invalid="ignore"):
        return math.log(2.0) + t - log_den


#: 1/φ, the golden-section ratio.
_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0


def _golden_max(f: Callable[[float], float], lo: float, hi: float, *,
                xatol: float) -> tuple[float, float]:
    """Maximiser of a unimodal ``f`` on [lo, hi] by golden-section search, and its value.

    Shrinks the bracket by 1/φ per evaluation until it is ``xatol`` wide (about 50
    evaluations from a width of 2 to 1e-10); returns the best point evaluated.
    """
    a, b = lo, hi
    x1 = b - _INV_PHI * (b - a)
    x2 = a + _INV_PHI * (b - a)
    f1, f2 = f(x1), f(x2)
    best_x, best_f = (x1, f1) if f1 >= f2 else (x2, f2)
    while b - a > xatol:
        if f1 >= f2:
            b, x2, f2 = x2, x1, f1
            x1 = b - _INV_PHI * (b - a)
            f1 = f(x1)
            if f1 > best_f:
                best_x, best_f = x1, f1
        else:
            a, x1, f1 = x1, x2, f2
            x2 = a + _INV_PHI * (b - a)
            f2 = f(x2)
            if f2 > best_f:
                best_x, best_f = x2, f2
    return best_x, best_f


def _safe_log(x: float) -> float:
    return math.log(x) if x > 0 else -math.inf


def _exp_or_inf(x: float) -> float:
    """exp(x), ``inf`` where it overflows a float (M can, e.g. σ_min(X) = 1e-200)."""
    return math.exp(x) if x < 709.0 else math.inf


def _assumptions(c: Constants, depth: int, full_rank: bool) -> list[Assumption]:
    return [
        Assumption("XXᵀ has full rank (σ_min(X) > 0)", full_rank, c.sigma_min_x),
        Assumption("depth L ≥ 1", depth >= 1, depth),
    ]


def _bound(c: Constants, depth: int, log_gap: float, bid: str, init: str | None,
           a: list[Assumption], extra: dict[str, object]) -> Bound:
    log_eta = log_step(c, depth, log_gap)
    delta_bal = c.b0 + math.exp(log_gap) if log_gap < 700 else math.inf
    a = a + [Assumption("delta_bal > b₀ (balancedness of the initialisation)", True, c.b0)]
    return Bound(
        id=bid, paper=PAPER, theorem="Theorem 2.4, eqs. (2.8)–(2.11)", kind="sufficient",
        applies=True, log10_max_step=log_eta / LN10, init=init, assumptions=tuple(a),
        guarantee=(
            "GD (constant step, or any steps at or below this with Σ η_k = ∞) converges to "
            f"a critical point; the loss never increases and balancedness stays ≤ "
            f"delta_bal = {delta_bal:.4g}; for almost every init the limit is a global "
            "minimum over rank-k matrices for some k (Thm 2.6; a global minimum when L = 2)"
        ),
        extras={"delta_bal": delta_bal, "b0": c.b0, "M": _exp_or_inf(log_m(c)), **extra},
    )


def _not_applicable(bid: str, init: str | None, reason: str, a: list[Assumption]) -> Bound:
    return Bound(id=bid, paper=PAPER, theorem="Theorem 2.4, eqs. (2.8)–(2.11)",
                 kind="sufficient", applies=False, reason=reason, log10_max_step=math.nan,
                 guarantee="", init=init, assumptions=tuple(a))


def _check(c: Constants, depth: int) -> None:
    check_depth(depth)
    for name in ("loss0", "y_norm", "sigma_min_x", "x_norm", "xyt_norm", "b0"):
        check_nonneg(name, getattr(c, name))


def thm2_4(c: Constants, *, depth: int, init: str | None = None, full_rank: bool = True) -> Bound:
    """Theorem 2.4 with the balancedness parameter chosen to maximise the step size.

    Nguegnang, Rauhut & Terstiege (2021), Theorem 2.4, eqs. (2.8)–(2.11), see
    :func:`log_step`. Remark 2.5(b) suggests maximising over δ numerically: we maximise
    ``ln η`` over ``t = ln(delta_bal − b₀)`` by a grid over t ∈ [−700, 700] (1401 points,
    evaluated at once in numpy, :func:`_log_step_grid`) refined by a golden-section search
    between the best point's neighbours (:func:`_golden_max`; no scipy import). Any
    ``delta_bal > b₀`` is valid, so the maximum is too; the refined point is kept only
    if it beats the best grid point.
    """
    _check(c, depth)
    a = _assumptions(c, depth, full_rank)
    if not full_rank or c.sigma_min_x <= 0.0:
        return _not_applicable("nguegnang.thm2_4", init,
                               "XXᵀ is singular: Theorem 2.4 needs XXᵀ of full rank", a)
    grid = np.linspace(-700.0, 700.0, GRID_POINTS)
    vals = _log_step_grid(c, depth, grid)
    i = int(np.argmax(vals))
    lo, hi = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, grid.size - 1)])
    t_ref, f_ref = _golden_max(lambda t: log_step(c, depth, t), lo, hi, xatol=1e-10)
    # the exact (scalar) value at the best grid point: the refined point must beat it
    f_grid = log_step(c, depth, float(grid[i]))
    best = t_ref if f_ref >= f_grid else float(grid[i])
    return _bound(c, depth, best, "nguegnang.thm2_4", init, a,
                  {"optimised": True, "loss0": c.loss0})


def thm2_4_default(c: Constants, *, depth: int, init: str | None = None,
                   full_rank: bool = True) -> Bound:
    """Theorem 2.4 with Remark 2.5(b)'s choice ``delta_bal = M^{2/L}/L³``.

    Nguegnang, Rauhut & Terstiege (2021), Theorem 2.4 and Remark 2.5(b). Not applicable
    when that choice is ≤ b₀ (the theorem needs delta_bal > b₀).
    """
    _check(c, depth)
    a = _assumptions(c, depth, full_rank)
    if not full_rank or c.sigma_min_x <= 0.0:
        return _not_applicable("nguegnang.thm2_4_default", init,
                               "XXᵀ is singular: Theorem 2.4 needs XXᵀ of full rank", a)
    log_delta = 2.0 / depth * log_m(c) - 3.0 * math.log(depth)
    delta = math.exp(log_delta) if log_delta < 700 else math.inf
    if not delta > c.b0:
        a.append(Assumption("Remark 2.5(b)'s delta_bal = M^(2/L)/L³ exceeds b₀", False, delta))
        return _not_applicable(
            "nguegnang.thm2_4_default", init,
            f"Remark 2.5(b)'s delta_bal = M^(2/L)/L³ = {delta:.3g} is not above the "
            f"initialisation's balancedness b₀ = {c.b0:.3g}", a)
    # ln(delta_bal − b₀) = ln delta_bal + ln(1 − b₀/delta_bal), finite even where
    # delta_bal itself overflows a float
    log_gap = (log_delta + math.log1p(-math.exp(math.log(c.b0) - log_delta))
               if c.b0 > 0 else log_delta)
    return _bound(c, depth, log_gap, "nguegnang.thm2_4_default", init, a,
                  {"optimised": False, "loss0": c.loss0})
