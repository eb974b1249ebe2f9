"""Nar & Sastry (2018): every bound pinned to a value computed by hand (BOUNDS.md §2).

Each hand value shows its arithmetic in a comment; the expected numbers are literals or
plain-float arithmetic, never a call to the function under test.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdcert.bounds import nar_sastry as ns
from gdcert.bounds import nguegnang, stability, wu_wang_ma

REL = 1e-12


def _sym(lams: list[float]) -> dict[str, object]:
    """Keyword arguments of thm2/lemma3/thm3 for a symmetric d×d target with eigenvalues lams."""
    return dict(lam_min=min(lams), lam_max=max(lams), symmetric=True, square=True,
                square_layers=True)


# ---------------------------------------------------------------------------------------
# Corollary 1, eq. (4): η ≤ 2 / (L ρ^{2(L−1)/L})
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rho", "depth", "expected"), [
    (4.0, 2, 0.25),                 # Φ = diag(4, 1), L = 2: 2/(2·4^{2·1/2}) = 2/8
    (8.0, 3, 1.0 / 24.0),           # L = 3: 8^{4/3} = 16, 2/(3·16) = 1/24
    (16.0, 4, 2.0 / (4.0 * 64.0)),  # L = 4: 16^{6/4} = 64, 2/(4·64) = 1/128
    (0.25, 2, 4.0),                 # ρ < 1: 2/(2·0.25) = 4
    (5.0, 1, 2.0),                  # L = 1: ρ^0 = 1, 2/1 = 2 whatever ρ
    (0.0, 1, 2.0),                  # L = 1 and ρ = 0: still 2
])
def test_cor1_hand_values(rho: float, depth: int, expected: float) -> None:
    b = ns.cor1(rho=rho, depth=depth)
    assert b.max_step == pytest.approx(expected, rel=REL)
    assert b.log10_max_step == pytest.approx(math.log10(expected), rel=REL, abs=1e-14)
    assert b.kind == "necessary" and b.applies and b.id == "nar_sastry.cor1"


@pytest.mark.parametrize("depth", [2, 3, 10, 10_000])
def test_cor1_zero_target_is_infinite(depth: int) -> None:
    b = ns.cor1(rho=0.0, depth=depth)
    assert b.max_step == math.inf
    assert b.log10_max_step == math.inf


def test_cor1_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        ns.cor1(rho=-1.0, depth=2)
    with pytest.raises(ValueError):
        ns.cor1(rho=1.0, depth=0)
    with pytest.raises(ValueError):
        ns.cor1(rho=math.nan, depth=2)


# ---------------------------------------------------------------------------------------
# Corollary 2: ρ(R̂) ≤ (2/(Lη))^{L/(2L−2)}
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rho", "depth", "eta", "cap", "reachable"), [
    (4.0, 2, 0.125, 8.0, True),            # (2/(2·0.125))^{2/2} = 8 ≥ 4
    (4.0, 2, 0.5, 2.0, False),             # (2/(2·0.5))^1 = 2 < 4
    (2.0, 3, 1.0 / 6.0, 2.0 * math.sqrt(2.0), True),  # (2/(3/6))^{3/4} = 4^{3/4} = 2√2
    (3.0, 3, 1.0 / 6.0, 2.0 * math.sqrt(2.0), False),  # 3 > 2√2
    (1.0, 4, 0.5, 1.0, True),              # (2/(4·0.5))^{4/6} = 1^{2/3} = 1, ρ = cap: on the edge
])
def test_cor2_hand_values(rho: float, depth: int, eta: float, cap: float,
                          reachable: bool) -> None:
    b = ns.cor2(rho=rho, depth=depth, eta=eta)
    assert b.applies and b.kind == "necessary"
    assert b.extras["rho_cap"] == pytest.approx(cap, rel=1e-12)
    assert b.extras["log10_rho_cap"] == pytest.approx(math.log10(cap), rel=1e-12, abs=1e-14)
    assert b.extras["target_reachable"] is reachable
    assert b.assumptions[0].holds is reachable


def test_cor2_needs_depth_two() -> None:
    b = ns.cor2(rho=1.0, depth=1, eta=0.1)
    assert not b.applies and "L ≥ 2" in b.reason and math.isnan(b.log10_max_step)


def test_cor2_rejects_bad_step() -> None:
    for eta in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError):
            ns.cor2(rho=1.0, depth=2, eta=eta)


@settings(max_examples=50, deadline=None)
@given(log_rho=st.floats(-3, 3), depth=st.integers(2, 50), log_eta=st.floats(-6, 1))
def test_cor2_is_cor1_read_the_other_way(log_rho: float, depth: int, log_eta: float) -> None:
    """ρ ≤ (2/(Lη))^{L/(2L−2)}  ⇔  η ≤ 2/(Lρ^{2(L−1)/L}) (away from the boundary)."""
    rho, eta = 10.0**log_rho, 10.0**log_eta
    eta_max = 2.0 / (depth * rho ** (2.0 * (depth - 1) / depth))  # plain floats
    if abs(math.log10(eta / eta_max)) < 1e-9:
        return
    b = ns.cor2(rho=rho, depth=depth, eta=eta)
    assert b.extras["target_reachable"] is (eta < eta_max)


# ---------------------------------------------------------------------------------------
# Theorem 1, eq. (3): η ≤ 2 / Σ_j p_{j−1}² q_{j+1}²
# ---------------------------------------------------------------------------------------
def test_thm1_diagonal_hand_value() -> None:
    # W1 = diag(2, 1), W2 = diag(1, 3): R̂ = diag(2, 3), top singular pair u = v = e2.
    # p0 = 1, p1 = ‖W1 e2‖ = 1; q3 = 1, q2 = ‖e2ᵀW2‖ = 3.
    # Σ = p0²q2² + p1²q3² = 9 + 1 = 10  →  η ≤ 2/10 = 0.2
    b = ns.thm1(weights=[np.diag([2.0, 1.0]), np.diag([1.0, 3.0])])
    assert b.max_step == pytest.approx(0.2, rel=REL)
    assert b.extras["rho_solution"] == pytest.approx(3.0, rel=REL)
    assert b.applies and b.kind == "necessary" and b.point == "weights"


def test_thm1_rectangular_three_layers_hand_value() -> None:
    # W1 = [1, 1]ᵀ (2×1), W2 = [1, 1] (1×2), W3 = [3]: R̂ = [6], u = v = 1.
    # p0 = 1, p1 = ‖W1‖ = √2, p2 = 2;  q4 = 1, q3 = 3, q2 = ‖3·[1, 1]‖ = 3√2.
    # Σ = p0²q2² + p1²q3² + p2²q4² = 18 + 2·9 + 4·1 = 40  →  η ≤ 2/40 = 0.05
    ws = [np.array([[1.0], [1.0]]), np.array([[1.0, 1.0]]), np.array([[3.0]])]
    b = ns.thm1(weights=ws)
    assert b.max_step == pytest.approx(0.05, rel=REL)
    # log10 p_j and log10 q_j as reported: p = (1, √2, 2, 6), q = (6, 3√2, 3, 1)
    assert np.allclose(b.extras["log10_p"], np.log10([1.0, math.sqrt(2.0), 2.0, 6.0]))
    assert np.allclose(b.extras["log10_q"], np.log10([6.0, 3.0 * math.sqrt(2.0), 3.0, 1.0]))


def test_thm1_balanced_solution_equals_cor1() -> None:
    # W1 = W2 = diag(√2, √3): p1 = q2 = √3, Σ = 3 + 3 = 6 → 1/3 = Corollary 1's 2/(2·3).
    w = np.diag([math.sqrt(2.0), math.sqrt(3.0)])
    assert ns.thm1(weights=[w, w.copy()]).max_step == pytest.approx(1.0 / 3.0, rel=REL)


@pytest.mark.parametrize("c", [1.0, 10.0, 0.01])
def test_thm1_rescaled_solutions_can_be_arbitrarily_bad(c: float) -> None:
    # {α_i Ŵ_i} with α1α2 = 1: W1 = c·diag(√2, √3), W2 = diag(√2, √3)/c.
    # p1² = 3c², q2² = 3/c²: Σ = 3/c² + 3c²  →  η ≤ 2/(3c² + 3/c²)
    w = np.diag([math.sqrt(2.0), math.sqrt(3.0)])
    b = ns.thm1(weights=[c * w, w / c])
    assert b.max_step == pytest.approx(2.0 / (3.0 * c * c + 3.0 / (c * c)), rel=1e-10)


def test_thm1_zero_weights_give_infinite_bound() -> None:
    b = ns.thm1(weights=[np.zeros((2, 2)), np.zeros((2, 2))])
    assert b.max_step == math.inf


def test_thm1_non_critical_point_does_not_apply() -> None:
    b = ns.thm1(weights=[np.eye(2), np.eye(2)], grad_norm=0.5, loss_scale=1.0)
    assert not b.applies
    assert "critical" in b.reason and "0.5" in b.reason
    assert any(not a.holds and a.value == 0.5 for a in b.assumptions)
    ok = ns.thm1(weights=[np.eye(2), np.eye(2)], grad_norm=1e-12, loss_scale=1.0)
    assert ok.applies and ok.reason == ""


def test_thm1_depth_ten_thousand_scalar_chain() -> None:
    # W_j = [ρ^{1/L}]: p_{j−1}² q_{j+1}² = ρ^{2(j−1)/L} ρ^{2(L−j)/L} = ρ^{2(L−1)/L} for every j,
    # so Σ = L ρ^{2(L−1)/L} and Theorem 1 equals Corollary 1: log10 = log10 2 − 4 − 1.9998·6.
    depth, rho = 10_000, 1e6
    ws = [np.array([[rho ** (1.0 / depth)]]) for _ in range(depth)]
    b = ns.thm1(weights=ws)
    assert b.log10_max_step == pytest.approx(math.log10(2.0) - 4.0 - 1.9998 * 6.0, abs=1e-9)


# ---------------------------------------------------------------------------------------
# Theorem 2: min{1/L, 1/(L ρ^{2(L−1)/L})}
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("lams", "depth", "expected"), [
    ([4.0, 1.0], 2, 0.125),          # min(1/2, 1/(2·4)) = 1/8
    ([0.5, 0.25], 4, 0.25),          # ρ < 1: min(1/4, 1/(4·0.5^{1.5}) = 0.707) = 1/4
    ([16.0, 0.0], 4, 1.0 / 256.0),   # min(1/4, 1/(4·16^{1.5} = 4·64)) = 1/256
    ([9.0, 2.0], 1, 1.0),            # L = 1: min(1, 1/(1·9^0)) = 1
    ([0.0, 0.0], 3, 1.0 / 3.0),      # zero target: min(1/3, ∞) = 1/3
])
def test_thm2_hand_values(lams: list[float], depth: int, expected: float) -> None:
    b = ns.thm2(depth=depth, **_sym(lams))  # type: ignore[arg-type]
    assert b.applies and b.kind == "sufficient" and b.init == "identity"
    assert b.max_step == pytest.approx(expected, rel=REL)


def test_thm2_rate_mentions_sublinear_for_zero_eigenvalue() -> None:
    singular = ns.thm2(depth=3, **_sym([2.0, 0.0]))  # type: ignore[arg-type]
    regular = ns.thm2(depth=3, **_sym([2.0, 1.0]))  # type: ignore[arg-type]
    assert "sublinear" in singular.extras["rate"]
    assert "sublinear" not in regular.extras["rate"]


@pytest.mark.parametrize(("kw", "needle"), [
    (dict(lam_min=-1.0, lam_max=2.0, symmetric=True, square=True, square_layers=True),
     "positive semidefinite"),
    (dict(lam_min=math.nan, lam_max=math.nan, symmetric=False, square=True,
          square_layers=True), "symmetric"),
    (dict(lam_min=math.nan, lam_max=math.nan, symmetric=False, square=False,
          square_layers=False), "square"),
    (dict(lam_min=0.0, lam_max=1.0, symmetric=True, square=True, square_layers=False),
     "layers"),
])
def test_thm2_and_lemma3_not_applicable(kw: dict[str, object], needle: str) -> None:
    for fn in (ns.thm2, ns.lemma3):
        b = fn(depth=2, **kw)  # type: ignore[arg-type]
        assert not b.applies and needle in b.reason and math.isnan(b.log10_max_step)


# ---------------------------------------------------------------------------------------
# Lemma 3: δ_c(λ) and β
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("lam", "depth", "expected"), [
    (4.0, 2, 0.125),                 # λ ≥ 1: 1/(2·4^{1}) = 1/8
    (16.0, 4, 1.0 / 256.0),          # 1/(4·16^{3/2}) = 1/256
    (1.0, 3, 1.0 / 3.0),             # λ = 1: 1/(3·1) = 1/3
    (0.25, 2, 2.0 / 3.0),            # λ < 1: (1 − 0.25^{1/2})/(1 − 0.25) = 0.5/0.75
    (1.0 / 16.0, 4, 8.0 / 15.0),     # (1 − 1/2)/(1 − 1/16) = (1/2)/(15/16)
    (0.0, 5, 1.0),                   # λ = 0: 1
    (0.3, 1, 1.0),                   # L = 1: (1 − λ)/(1 − λ) = 1
])
def test_delta_c_hand_values(lam: float, depth: int, expected: float) -> None:
    assert 10.0 ** ns.delta_c_log10(lam, depth) == pytest.approx(expected, rel=REL)


@pytest.mark.parametrize("depth", [2, 3, 7])
def test_delta_c_is_continuous_at_one(depth: int) -> None:
    below = 10.0 ** ns.delta_c_log10(1.0 - 1e-9, depth)
    assert below == pytest.approx(1.0 / depth, rel=1e-7)


@settings(max_examples=50, deadline=None)
@given(a=st.floats(0.0, 50.0), b=st.floats(0.0, 50.0), depth=st.integers(1, 8))
def test_delta_c_decreases(a: float, b: float, depth: int) -> None:
    lo, hi = sorted((a, b))
    assert ns.delta_c_log10(hi, depth) <= ns.delta_c_log10(lo, depth) + 1e-12


@pytest.mark.parametrize(("lam", "depth", "eta", "expected"), [
    (4.0, 2, 0.125, 0.625),   # λ > 1: 1 − 0.125·(4 − 1)/(4^{1/2} − 1) = 1 − 0.375
    (0.25, 2, 0.5, 0.75),     # λ ≤ 1: 1 − 0.5·2·0.25^{1} = 0.75
    (1.0, 3, 0.1, 0.7),       # λ = 1: 1 − 0.1·3·1 = 0.7
    (8.0, 3, 0.01, 1.0 - 0.01 * 7.0),  # 1 − 0.01·(8 − 1)/(8^{1/3} − 1) = 1 − 0.07
    (0.0, 2, 0.3, 1.0),       # λ = 0: sublinear, β = 1
])
def test_lemma3_beta_hand_values(lam: float, depth: int, eta: float, expected: float) -> None:
    assert ns.lemma3_beta(lam, depth, eta) == pytest.approx(expected, rel=REL)


def test_lemma3_bound_extras_diag_4_1() -> None:
    # Φ = diag(4, 1), L = 2: δ_c(4) = 1/8. Worst β at λ_min = 1: β = 1 − ηL·1 = 1 − 2η.
    # At η = 0.1: β = 0.8, ⌈ln 1e-6 / ln 0.8⌉ = ⌈13.8155/0.22314⌉ = ⌈61.91⌉ = 62.
    b = ns.lemma3(depth=2, eta=0.1, tol=1e-6, **_sym([4.0, 1.0]))  # type: ignore[arg-type]
    assert b.max_step == pytest.approx(0.125, rel=REL)
    assert b.extras["beta_max"] == pytest.approx(0.8, rel=REL)
    assert b.extras["iterations_to_tol"] == 62
    # Without a step size the bound itself is used: β = 1 − 2/8 = 0.75,
    # ⌈13.8155/0.28768⌉ = ⌈48.02⌉ = 49. A step size above the bound is not used either.
    for eta in (None, 0.2):
        b = ns.lemma3(depth=2, eta=eta, tol=1e-6, **_sym([4.0, 1.0]))  # type: ignore[arg-type]
        assert b.extras["rate_step_size"] == pytest.approx(0.125, rel=REL)
        assert b.extras["beta_max"] == pytest.approx(0.75, rel=REL)
        assert b.extras["iterations_to_tol"] == 49


def test_lemma3_zero_eigenvalue_is_sublinear() -> None:
    b = ns.lemma3(depth=3, **_sym([2.0, 0.0]))  # type: ignore[arg-type]
    assert b.applies and b.extras["sublinear"] is True
    assert b.extras["beta_max"] == 1.0 and b.extras["iterations_to_tol"] == math.inf


def test_lemma3_beats_thm2_on_small_eigenvalues() -> None:
    # Φ = diag(0.25, 0.0625), L = 2: Theorem 2 gives min(1/2, 1/(2·0.25)) = 1/2,
    # Lemma 3 gives δ_c(0.25) = 2/3.
    kw = _sym([0.25, 0.0625])
    assert ns.thm2(depth=2, **kw).max_step == pytest.approx(0.5)  # type: ignore[arg-type]
    assert ns.lemma3(depth=2, **kw).max_step == pytest.approx(2.0 / 3.0)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(lam=st.floats(0.01, 20.0), depth=st.integers(1, 5), frac=st.floats(0.05, 1.0))
def test_lemma3_envelope_holds_for_the_scalar_dynamics(lam: float, depth: int,
                                                       frac: float) -> None:
    """Identity init on eigenvalue λ: w ← w − η w^{L−1}(w^L − λ) obeys β^k |1 − λ^{1/L}|."""
    eta = frac * 10.0 ** ns.delta_c_log10(lam, depth)
    beta = ns.lemma3_beta(lam, depth, eta)
    assert 0.0 <= beta < 1.0
    target = lam ** (1.0 / depth)
    w, err0 = 1.0, abs(1.0 - target)
    for k in range(1, 60):
        w = w - eta * w ** (depth - 1) * (w**depth - lam)
        assert abs(w - target) <= beta**k * err0 * (1 + 1e-9) + 1e-13


# ---------------------------------------------------------------------------------------
# Theorem 3 and its sharp form
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("lams", "depth", "thm3", "sharp"), [
    # diag(2, −1), L = 2: min(1/(1+1), 1/2, 1/(2·2)) = 1/4; sharp: min(δ_c(2) = 1/4, 1/2)
    ([2.0, -1.0], 2, 0.25, 0.25),
    # diag(0.25, −3), L = 2: min(1/4, 1/2, 1/(2·3)) = 1/6; sharp: min(δ_c(0.25) = 2/3, 1/4)
    ([0.25, -3.0], 2, 1.0 / 6.0, 0.25),
    # diag(0.25, −0.2), L = 2: min(1/1.2, 1/2, 1/(2·0.25) = 2) = 1/2; sharp min(2/3, 5/6)
    ([0.25, -0.2], 2, 0.5, 2.0 / 3.0),
    # diag(8, −1, −2), L = 3: min(1/3, 1/3, 1/(3·8^{4/3}) = 1/48) = 1/48;
    # sharp: min(δ_c(8) = 1/(3·16) = 1/48, 1/3)
    ([8.0, -1.0, -2.0], 3, 1.0 / 48.0, 1.0 / 48.0),
    # diag(−1, −4), L = 2 (negative definite): λ_max⁺ = 0 → δ_c(0) = 1;
    # thm3 = min(1/5, 1/2, 1/(2·4)) = 1/8; sharp = min(1, 1/5) = 1/5
    ([-1.0, -4.0], 2, 0.125, 0.2),
])
def test_thm3_hand_values(lams: list[float], depth: int, thm3: float, sharp: float) -> None:
    kw = _sym(lams)
    b3 = ns.thm3(depth=depth, loss_floor=1.0, **kw)  # type: ignore[arg-type]
    bs = ns.thm3_sharp(depth=depth, loss_floor=1.0, **kw)  # type: ignore[arg-type]
    assert b3.applies and bs.applies
    assert b3.max_step == pytest.approx(thm3, rel=REL)
    assert bs.max_step == pytest.approx(sharp, rel=REL)
    assert "not a global minimum" in b3.guarantee and "exact arithmetic" in bs.guarantee
    assert "cannot fit" not in b3.guarantee + bs.guarantee
    assert b3.extras["loss_floor"] == 1.0


def test_thm3_needs_a_negative_eigenvalue() -> None:
    for fn in (ns.thm3, ns.thm3_sharp):
        b = fn(depth=2, **_sym([2.0, 0.0]))  # type: ignore[arg-type]
        assert not b.applies and "negative eigenvalue" in b.reason


@settings(max_examples=50, deadline=None)
@given(lmax=st.floats(-5.0, 30.0), lmin=st.floats(-30.0, 30.0), depth=st.integers(1, 8))
def test_sharp_forms_dominate(lmax: float, lmin: float, depth: int) -> None:
    """lemma3 ≥ thm2 (PSD) and thm3_sharp ≥ thm3 (indefinite): δ_c(λ) ≥ min(1/L, 1/(Lλ^…))."""
    lo, hi = sorted((lmin, lmax))
    if lo >= 0.0:
        kw = _sym([lo, hi])
        t2 = ns.thm2(depth=depth, **kw).log10_max_step  # type: ignore[arg-type]
        l3 = ns.lemma3(depth=depth, **kw).log10_max_step  # type: ignore[arg-type]
        assert l3 >= t2 - 1e-12
    else:
        kw = _sym([lo, hi])
        t3 = ns.thm3(depth=depth, **kw).log10_max_step  # type: ignore[arg-type]
        t3s = ns.thm3_sharp(depth=depth, **kw).log10_max_step  # type: ignore[arg-type]
        if depth == 1:  # Lemma 4 needs L ≥ 2: neither applies
            assert math.isnan(t3) and math.isnan(t3s)
        else:
            assert t3s >= t3 - 1e-12


# ---------------------------------------------------------------------------------------
# The promises, checked by running GD (plain numpy, identity initialisation)
# ---------------------------------------------------------------------------------------
def _gd_identity(phi: np.ndarray, depth: int, eta: float, steps: int) -> list[np.ndarray]:
    ws = [np.eye(phi.shape[0]) for _ in range(depth)]
    for _ in range(steps):
        pre = [np.eye(phi.shape[0])]
        for w in ws[:-1]:
            pre.append(w @ pre[-1])
        suf = [np.eye(phi.shape[0])]
        for w in reversed(ws[1:]):
            suf.insert(0, suf[0] @ w)
        g = suf[0] @ ws[0] - phi
        ws = [w - eta * suf[j].T @ g @ pre[j].T for j, w in enumerate(ws)]
    return ws


def test_thm2_promise_identity_init_reaches_phi_root() -> None:
    # Φ = Q diag(4, 1) Qᵀ, L = 2, η = Theorem 2's 1/8: W_j → Φ^{1/2} = Q diag(2, 1) Qᵀ.
    q = np.array([[0.6, -0.8], [0.8, 0.6]])
    phi = q @ np.diag([4.0, 1.0]) @ q.T
    eta = ns.thm2(depth=2, **_sym([4.0, 1.0])).max_step  # type: ignore[arg-type]
    ws = _gd_identity(phi, 2, eta, 400)
    root = q @ np.diag([2.0, 1.0]) @ q.T
    for w in ws:
        assert np.allclose(w, root, atol=1e-10)


def test_thm3_promise_identity_init_drops_negative_part() -> None:
    # Φ = diag(2, −1), L = 2, η = 1/4: R̂ → diag(2, 0); the loss floor is ½·1² = 0.5.
    phi = np.diag([2.0, -1.0])
    eta = ns.thm3(depth=2, **_sym([2.0, -1.0])).max_step  # type: ignore[arg-type]
    ws = _gd_identity(phi, 2, eta, 4000)
    prod = ws[1] @ ws[0]
    assert np.allclose(prod, np.diag([2.0, 0.0]), atol=1e-3)
    assert 0.5 * np.sum((prod - phi) ** 2) == pytest.approx(0.5, abs=1e-3)


# ---------------------------------------------------------------------------------------
# Log space: depth 10⁴, ρ = 10⁶ (every bound of every paper)
# ---------------------------------------------------------------------------------------
def test_log_space_depth_10000_rho_1e6_every_bound_finite() -> None:
    depth, rho = 10_000, 1e6
    expo = 2.0 * (depth - 1) / depth  # 1.9998
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c1 = ns.cor1(rho=rho, depth=depth)
        # log10 2 − log10 10⁴ − 1.9998·6
        assert c1.log10_max_step == pytest.approx(math.log10(2) - 4 - expo * 6, abs=1e-12)
        assert c1.max_step == pytest.approx(2.0 / (depth * 10.0 ** (expo * 6)), rel=1e-9)
        c2 = ns.cor2(rho=rho, depth=depth, eta=1e-20)
        psd = _sym([rho, 1.0])
        ind = _sym([rho, -1.0])
        t2 = ns.thm2(depth=depth, **psd)  # type: ignore[arg-type]
        l3 = ns.lemma3(depth=depth, eta=1e-30, **psd)  # type: ignore[arg-type]
        t3 = ns.thm3(depth=depth, **ind)  # type: ignore[arg-type]
        t3s = ns.thm3_sharp(depth=depth, **ind)  # type: ignore[arg-type]
        zas = wu_wang_ma.thm4_3(fro_norm=rho, depth=depth, square=True, square_layers=True)
        consts = nguegnang.Constants(loss0=0.5 * rho**2, y_norm=rho, sigma_min_x=1.0,
                                     x_norm=1.0, xyt_norm=rho, b0=1.0)
        ng = nguegnang.thm2_4(consts, depth=depth)
        ngd = nguegnang.thm2_4(nguegnang.Constants(0.5 * rho**2, rho, 1.0, 1.0, rho, 0.0),
                               depth=depth)
        ex = stability.exact(weights=[np.zeros((1, 1))] * depth, sigma=None,
                             c=np.zeros((1, 1)), where="balanced minimum",
                             closed_form_rho=rho)
        bounds = [c1, c2, t2, l3, t3, t3s, zas, ng, ngd, ex]
        for b in bounds:
            assert b.applies, b.id
            assert math.isfinite(b.log10_max_step), b.id
            assert b.max_step >= 0.0
        # Theorem 2 = 1/(Lρ^{1.9998}) = cor1/2; Lemma 3 = δ_c(ρ) = the same here.
        assert t2.log10_max_step == pytest.approx(c1.log10_max_step - math.log10(2), abs=1e-12)
        assert l3.log10_max_step == pytest.approx(t2.log10_max_step, abs=1e-12)
        # Theorem 3: 1/(1 + 1) = 0.5 is not the minimum; the ρ-term is.
        assert t3.log10_max_step == pytest.approx(t2.log10_max_step, abs=1e-12)
        # Exact local threshold at the balanced minimum = Corollary 1.
        assert ex.log10_max_step == pytest.approx(c1.log10_max_step, abs=1e-12)
        # Corollary 2 cap: (2/(L·1e-20))^{L/(2L−2)}: log10 = (10⁴/19998)·(log10 2 − 4 + 20)
        assert c2.extras["log10_rho_cap"] == pytest.approx(
            depth / (2 * depth - 2) * (math.log10(2) + 16), rel=1e-12)
        # Wu et al.: φ = 2·10⁶; min(−log10(4·10¹²·φ⁶), −log10(144·10⁸·φ⁴)) = the first.
        lphi = math.log10(2e6)
        assert zas.log10_max_step == pytest.approx(-(math.log10(4) + 12 + 6 * lphi), abs=1e-9)
