"""Nguegnang, Rauhut & Terstiege (2021), Theorem 2.4, eqs. (2.8)–(2.11).

The reference ``_eta_by_hand`` redoes the arithmetic with plain floats (no log space,
no code shared with :mod:`gdcert.bounds.nguegnang`); it is only used where nothing
overflows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdcert.bounds import nguegnang as ng
from gdcert.linalg import balancedness

E = math.e


def _eta_by_hand(loss0: float, y: float, smin: float, xn: float, xyt: float, b0: float,
                 depth: int, delta_bal: float) -> float:
    """Eq. (2.8): 2(δ − b₀)/(4ℓ₀ + (δ − b₀)B), B from (2.9)–(2.11), plain floats."""
    m = (math.sqrt(2 * loss0) + y) / smin
    k = m ** (2 / depth) + depth**2 * delta_bal
    b = 2 * E * depth * k ** (depth - 1) * xn**2 + math.sqrt(E) * depth * k ** (depth / 2 - 1) * xyt
    return 2 * (delta_bal - b0) / (4 * loss0 + (delta_bal - b0) * b)


def test_default_hand_value_tiny_case() -> None:
    # L = 2, ℓ₀ = 4.5, ‖Y‖ = 4, σ_min(X) = 1, ‖X‖ = 1, ‖XYᵀ‖ = 4, b₀ = 0.
    # M = (√9 + 4)/1 = 7; delta_bal = M^{2/2}/2³ = 7/8; K = 7 + 4·7/8 = 10.5;
    # B = 2e·2·10.5·1 + √e·2·10.5⁰·4 = 42e + 8√e = 114.1672 + 13.1898 = 127.3570;
    # η = 2·(7/8)/(4·4.5 + (7/8)·127.3570) = 1.75/129.4374 = 0.0135199962…
    c = ng.Constants(loss0=4.5, y_norm=4.0, sigma_min_x=1.0, x_norm=1.0, xyt_norm=4.0, b0=0.0)
    b = ng.thm2_4_default(c, depth=2)
    by_hand = 1.75 / (18.0 + 0.875 * (42.0 * E + 8.0 * math.sqrt(E)))
    assert by_hand == pytest.approx(0.0135199962, rel=1e-9)
    assert b.max_step == pytest.approx(by_hand, rel=1e-12)
    assert b.extras["delta_bal"] == pytest.approx(0.875, rel=1e-12)
    assert b.extras["M"] == pytest.approx(7.0, rel=1e-12)
    assert b.applies and b.kind == "sufficient" and b.extras["optimised"] is False


def test_optimised_beats_default_on_tiny_case() -> None:
    c = ng.Constants(loss0=4.5, y_norm=4.0, sigma_min_x=1.0, x_norm=1.0, xyt_norm=4.0, b0=0.0)
    opt = ng.thm2_4(c, depth=2)
    assert opt.max_step > ng.thm2_4_default(c, depth=2).max_step
    # the reported delta_bal reproduces the reported step size
    assert _eta_by_hand(4.5, 4.0, 1.0, 1.0, 4.0, 0.0, 2, opt.extras["delta_bal"]) == \
        pytest.approx(opt.max_step, rel=1e-9)
    # and it is a maximum: nudging delta_bal either way does not help
    for f in (0.9, 0.99, 1.01, 1.1):
        assert _eta_by_hand(4.5, 4.0, 1.0, 1.0, 4.0, 0.0, 2,
                            f * opt.extras["delta_bal"]) <= opt.max_step * (1 + 1e-12)


@pytest.mark.parametrize(("depth", "b0", "delta_bal"), [(3, 0.5, 2.0), (1, 0.0, 0.3),
                                                         (4, 1.0, 1.25), (5, 0.0, 1e-3)])
def test_log_step_matches_plain_floats(depth: int, b0: float, delta_bal: float) -> None:
    # L = 3, b₀ = ½, δ = 2: M = (2 + 2)/2 = 2, K = 2^{2/3} + 9·2, B = 2e·3·K²·9 + √e·3·K^{1/2}·5
    c = ng.Constants(loss0=2.0, y_norm=2.0, sigma_min_x=2.0, x_norm=3.0, xyt_norm=5.0, b0=b0)
    got = math.exp(ng.log_step(c, depth, math.log(delta_bal - b0)))
    assert got == pytest.approx(_eta_by_hand(2.0, 2.0, 2.0, 3.0, 5.0, b0, depth, delta_bal),
                                rel=1e-12)


def test_default_not_applicable_when_not_above_b0() -> None:
    # L = 3, M = 2: delta_bal = 2^{2/3}/27 = 0.0588 ≤ b₀ = 0.5 → not applicable.
    c = ng.Constants(loss0=2.0, y_norm=2.0, sigma_min_x=2.0, x_norm=3.0, xyt_norm=5.0, b0=0.5)
    d = ng.thm2_4_default(c, depth=3, init="zas")
    assert not d.applies and "b₀" in d.reason and "0.0588" in d.reason
    assert math.isnan(d.log10_max_step) and d.init == "zas"
    opt = ng.thm2_4(c, depth=3, init="zas")
    assert opt.applies and opt.extras["delta_bal"] > 0.5 and opt.max_step > 0


def test_singular_xxt_not_applicable() -> None:
    c = ng.Constants(loss0=1.0, y_norm=1.0, sigma_min_x=0.0, x_norm=1.0, xyt_norm=1.0, b0=0.0)
    for fn in (ng.thm2_4, ng.thm2_4_default):
        b = fn(c, depth=2, full_rank=False)
        assert not b.applies and "full rank" in b.reason
        assert not b.assumptions[0].holds


def test_zero_loss_start_gives_the_smoothness_limit() -> None:
    # ℓ₀ = 0 (start at a minimum): η = 2/B_δ, maximised by δ → b₀, i.e. K = M^{2/L}.
    # L = 2, ‖Y‖ = 1, σ_min = ‖X‖ = 1, ‖XYᵀ‖ = 1: M = 1, K = 1, B = 4e + 2√e → 2/(4e + 2√e).
    c = ng.Constants(loss0=0.0, y_norm=1.0, sigma_min_x=1.0, x_norm=1.0, xyt_norm=1.0, b0=0.0)
    b = ng.thm2_4(c, depth=2)
    assert b.max_step == pytest.approx(2.0 / (4 * E + 2 * math.sqrt(E)), rel=1e-6)


def test_rejects_bad_constants() -> None:
    with pytest.raises(ValueError):
        ng.thm2_4(ng.Constants(-1.0, 1.0, 1.0, 1.0, 1.0, 0.0), depth=2)
    with pytest.raises(ValueError):
        ng.thm2_4_default(ng.Constants(1.0, 1.0, 1.0, 1.0, 1.0, math.nan), depth=2)
    with pytest.raises(ValueError):
        ng.thm2_4(ng.Constants(1.0, 1.0, 1.0, 1.0, 1.0, 0.0), depth=0)


constants = st.builds(
    ng.Constants,
    loss0=st.floats(1e-3, 100.0), y_norm=st.floats(1e-2, 10.0),
    sigma_min_x=st.floats(0.1, 2.0), x_norm=st.floats(2.0, 5.0),
    xyt_norm=st.floats(1e-2, 20.0), b0=st.one_of(st.just(0.0), st.floats(1e-3, 2.0)),
)


@settings(max_examples=40, deadline=None)
@given(c=constants, depth=st.integers(1, 6), log_gap=st.floats(-12.0, 6.0))
def test_optimum_dominates_every_valid_delta_bal(c: ng.Constants, depth: int,
                                                 log_gap: float) -> None:
    opt = ng.thm2_4(c, depth=depth)
    delta_bal = c.b0 + math.exp(log_gap)
    by_hand = _eta_by_hand(c.loss0, c.y_norm, c.sigma_min_x, c.x_norm, c.xyt_norm, c.b0,
                           depth, delta_bal)
    assert opt.max_step >= by_hand * (1 - 1e-9)
    default = ng.thm2_4_default(c, depth=depth)
    if default.applies:
        assert opt.log10_max_step >= default.log10_max_step - 1e-9
        # the default's value is eq. (2.8) at its own delta_bal = M^{2/L}/L³
        m = (math.sqrt(2 * c.loss0) + c.y_norm) / c.sigma_min_x
        assert default.extras["delta_bal"] == pytest.approx(m ** (2 / depth) / depth**3,
                                                            rel=1e-10)
        assert default.max_step == pytest.approx(
            _eta_by_hand(c.loss0, c.y_norm, c.sigma_min_x, c.x_norm, c.xyt_norm, c.b0, depth,
                         m ** (2 / depth) / depth**3), rel=1e-9)
    else:
        m = (math.sqrt(2 * c.loss0) + c.y_norm) / c.sigma_min_x
        assert m ** (2 / depth) / depth**3 <= c.b0 * (1 + 1e-12)


@settings(max_examples=25, deadline=None)
@given(c=constants, depth=st.integers(2, 6), f=st.floats(1.01, 10.0))
def test_bound_decreases_with_initial_loss(c: ng.Constants, depth: int, f: float) -> None:
    worse = ng.Constants(c.loss0 * f, c.y_norm, c.sigma_min_x, c.x_norm, c.xyt_norm, c.b0)
    assert ng.thm2_4(worse, depth=depth).max_step <= ng.thm2_4(c, depth=depth).max_step


def test_promise_loss_monotone_and_balancedness_kept() -> None:
    """Prop. 3.3 / Thm 2.4: at the bound the loss never increases and b(W⃗(k)) ≤ delta_bal."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 7))
    y = rng.standard_normal((2, 7))
    ws = [0.5 * rng.standard_normal((4, 3)), 0.5 * rng.standard_normal((4, 4)),
          0.5 * rng.standard_normal((2, 4))]

    def loss(ws: list[np.ndarray]) -> float:
        return 0.5 * float(np.sum((y - ws[2] @ ws[1] @ ws[0] @ x) ** 2))

    sv = np.linalg.svd(x, compute_uv=False)
    c = ng.Constants(loss0=loss(ws), y_norm=float(np.linalg.norm(y, 2)), sigma_min_x=sv[-1],
                     x_norm=sv[0], xyt_norm=float(np.linalg.norm(x @ y.T, 2)),
                     b0=balancedness(ws))
    b = ng.thm2_4(c, depth=3)
    eta, delta_bal = b.max_step, b.extras["delta_bal"]
    prev = loss(ws)
    for _ in range(300):
        g = (ws[2] @ ws[1] @ ws[0] @ x - y) @ x.T
        grads = [(ws[2] @ ws[1]).T @ g, ws[2].T @ g @ ws[0].T, g @ (ws[1] @ ws[0]).T]
        ws = [w - eta * gr for w, gr in zip(ws, grads, strict=True)]
        cur = loss(ws)
        assert cur <= prev * (1 + 1e-12)
        assert balancedness(ws) <= delta_bal
        prev = cur


def test_default_hand_value_with_positive_b0() -> None:
    # The tiny case with b₀ = ½: delta_bal = 7/8 still, δ − b₀ = 3/8, B = 42e + 8√e as before;
    # η = 2·(3/8)/(18 + (3/8)·127.3570) = 0.75/65.7589 = 0.0114052651…
    c = ng.Constants(loss0=4.5, y_norm=4.0, sigma_min_x=1.0, x_norm=1.0, xyt_norm=4.0, b0=0.5)
    by_hand = 0.75 / (18.0 + 0.375 * (42.0 * E + 8.0 * math.sqrt(E)))
    assert ng.thm2_4_default(c, depth=2).max_step == pytest.approx(by_hand, rel=1e-12)


@pytest.mark.parametrize("b0", [0.0, 0.5])
@pytest.mark.parametrize("depth", [1, 2, 5])
def test_huge_m_does_not_overflow(depth: int, b0: float) -> None:
    # σ_min(X) = 1e-300, ‖Y‖ = 1e10: M ≈ 1e310 overflows a float, ln M does not.
    c = ng.Constants(loss0=1e20, y_norm=1e10, sigma_min_x=1e-300, x_norm=1e-300,
                     xyt_norm=1e-290, b0=b0)
    for fn in (ng.thm2_4, ng.thm2_4_default):
        b = fn(c, depth=depth)
        assert b.applies and math.isfinite(b.log10_max_step), (fn.__name__, b.extras)
        assert b.extras["M"] == math.inf


# ---------------------------------------------------------------------------------------
# The δ search: vectorised grid + golden section (no scipy.optimize)
# ---------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(c=constants, depth=st.integers(1, 60))
def test_grid_evaluation_matches_scalar_log_step(c: ng.Constants, depth: int) -> None:
    grid = np.linspace(-700.0, 700.0, 57)
    vec = ng._log_step_grid(c, depth, grid)
    for t, v in zip(grid, vec, strict=True):
        assert v == pytest.approx(ng.log_step(c, depth, float(t)), rel=1e-12, abs=1e-12)


def _scipy_reference_log_eta(c: ng.Constants, depth: int) -> float:
    """The previous implementation: scalar grid + scipy's bounded Brent."""
    from scipy.optimize import minimize_scalar

    grid = np.linspace(-700.0, 700.0, 1401)
    vals = np.array([ng.log_step(c, depth, float(t)) for t in grid])
    i = int(np.argmax(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    res = minimize_scalar(lambda t: -ng.log_step(c, depth, float(t)), bounds=(lo, hi),
                          method="bounded", options={"xatol": 1e-10})
    return max(-float(res.fun), float(vals[i]))


@settings(max_examples=40, deadline=None)
@given(c=constants, depth=st.integers(1, 40))
def test_optimised_at_least_as_good_as_scipy_brent(c: ng.Constants, depth: int) -> None:
    opt = ng.thm2_4(c, depth=depth)
    ln_eta = opt.log10_max_step * math.log(10.0)
    ref = _scipy_reference_log_eta(c, depth)
    assert ln_eta >= ref - 1e-12 * max(1.0, abs(ref))
    # and no point of a fine grid over δ − b₀ does better
    for t in np.linspace(-30.0, 30.0, 241):
        assert ng.log_step(c, depth, float(t)) <= ln_eta + 1e-12 * max(1.0, abs(ln_eta))


def test_golden_max_finds_a_parabola_peak() -> None:
    x, f = ng._golden_max(lambda t: -(t - 0.3) ** 2, -1.0, 1.0, xatol=1e-10)
    assert x == pytest.approx(0.3, abs=1e-9) and f <= 0.0 and f > -1e-18


def test_thm2_4_does_not_import_scipy_optimize() -> None:
    import subprocess
    import sys

    code = ("import sys; from gdcert.bounds import nguegnang as ng; "
            "ng.thm2_4(ng.Constants(4.5, 4.0, 1.0, 1.0, 4.0, 0.0), depth=3); "
            "print('scipy.optimize' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
