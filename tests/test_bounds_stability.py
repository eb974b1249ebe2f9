"""stability.exact: the exact local threshold 2/λ_max(∇²ℓ), its HVP and its relations
to Nar & Sastry's Corollary 1 (equal at the balanced minimum) and Theorem 1 (an upper
bound at any global minimum) — BOUNDS.md "Beyond the papers"."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdcert.bounds import nar_sastry as ns
from gdcert.bounds import stability
from gdcert.linalg import balancedness, layer_gradients, product

PROPS = settings(max_examples=30, deadline=None)


def _random_widths(rng: np.random.Generator, depth: int, d_in: int, d_out: int,
                   k: int) -> tuple[int, ...]:
    """Widths (d_0, …, d_L) with every hidden width ≥ k."""
    hidden = [int(rng.integers(k, k + 3)) for _ in range(depth - 1)]
    return (d_in, *hidden, d_out)


def _balanced_min(phi: np.ndarray, widths: tuple[int, ...]) -> list[np.ndarray]:
    u, s, vt = np.linalg.svd(phi, full_matrices=False)
    return stability.balanced_minimum(u, s, vt, widths)


def _hessian_max_fd(weights: list[np.ndarray], sigma: np.ndarray | None,
                    c: np.ndarray, h: float = 1e-5) -> float:
    """λ_max of the Hessian assembled by central differences of the gradient (reference)."""
    shapes = [w.shape for w in weights]
    sizes = [a * b for a, b in shapes]
    n = sum(sizes)
    flat = np.concatenate([w.ravel() for w in weights])

    def grad(x: np.ndarray) -> np.ndarray:
        ws, i = [], 0
        for (a, b), sz in zip(shapes, sizes, strict=True):
            ws.append(x[i:i + sz].reshape(a, b))
            i += sz
        return np.concatenate([g.ravel() for g in layer_gradients(ws, sigma, c)])

    cols = []
    for i in range(n):
        e = np.zeros(n)
        e[i] = h
        cols.append((grad(flat + e) - grad(flat - e)) / (2 * h))
    hm = np.column_stack(cols)
    return float(np.linalg.eigvalsh(0.5 * (hm + hm.T))[-1])


# ---------------------------------------------------------------------------------------
# Hand values
# ---------------------------------------------------------------------------------------
def test_exact_hand_value_unbalanced_diagonal_minimum() -> None:
    # Φ = diag(2, 3), W1 = diag(2, 1), W2 = diag(1, 3): a global minimum (W2W1 = Φ).
    # At zero loss ∇²ℓ ≅ f(E) = A1 E B1 + A2 E B2, A1 = W2W2ᵀ = diag(1, 9), B1 = I,
    # A2 = I, B2 = W1ᵀW1 = diag(4, 1): f(E)_ab = (A1_a + B2_b) E_ab, eigenvalues
    # {1+4, 1+1, 9+4, 9+1} → λ_max = 13, η ≤ 2/13. Theorem 1 there gives 2/10 (≥ 2/13).
    ws = [np.diag([2.0, 1.0]), np.diag([1.0, 3.0])]
    b = stability.exact(weights=ws, sigma=None, c=np.diag([2.0, 3.0]), where="weights",
                        grad_norm=0.0)
    assert b.extras["lambda_max"] == pytest.approx(13.0, rel=1e-10)
    assert b.max_step == pytest.approx(2.0 / 13.0, rel=1e-10)
    assert b.kind == "exact-local" and b.applies and b.point == "weights"
    assert b.max_step <= ns.thm1(weights=ws).max_step


def test_exact_hand_value_at_zero_weights_depth_two() -> None:
    # At W1 = W2 = 0 (a saddle of ½‖W2W1 − Φ‖²) the Hessian is [[0, −Φᵀ], [−Φ, 0]] in
    # vec form, eigenvalues ±σ_i(Φ): Φ = diag(3, 1) → λ_max = 3, η ≤ 2/3.
    ws = [np.zeros((2, 2)), np.zeros((2, 2))]
    b = stability.exact(weights=ws, sigma=None, c=np.diag([3.0, 1.0]), where="weights")
    assert b.max_step == pytest.approx(2.0 / 3.0, rel=1e-10)


def test_exact_at_saddles_is_below_thm1() -> None:
    # Critical points of ½‖W2W1 − diag(3, 2, 1)‖² that skip the top direction: still ≤ thm1.
    phi = np.diag([3.0, 2.0, 1.0])
    for keep in ([1], [2], [0, 2], [1, 2]):
        for depth in (2, 3):
            sel = np.zeros(3)
            sel[keep] = 1.0
            ws = [np.diag(sel * np.diag(phi) ** (1.0 / depth)) for _ in range(depth)]
            grads = layer_gradients(ws, None, phi)
            assert max(float(np.abs(g).max()) for g in grads) < 1e-12  # critical
            ex = stability.exact(weights=ws, sigma=None, c=phi, where="weights")
            assert ex.max_step <= ns.thm1(weights=ws).max_step * (1 + 1e-10)


def test_exact_not_critical_point_does_not_apply() -> None:
    ws = [np.eye(2), np.eye(2)]
    phi = np.diag([3.0, 1.0])
    g = float(np.sqrt(sum(np.sum(x * x) for x in layer_gradients(ws, None, phi))))
    b = stability.exact(weights=ws, sigma=None, c=phi, where="weights", grad_norm=g,
                        loss_scale=float(np.linalg.norm(phi)))
    assert not b.applies and "not critical" in b.reason
    assert any(not a.holds for a in b.assumptions)


@pytest.mark.parametrize(("rho", "depth"), [(4.0, 2), (8.0, 3), (1e6, 10_000), (0.0, 5)])
def test_exact_closed_form_is_cor1(rho: float, depth: int) -> None:
    b = stability.exact(weights=[np.zeros((1, 1))] * depth, sigma=None, c=np.zeros((1, 1)),
                        where="balanced minimum", closed_form_rho=rho)
    assert b.extras["method"] == "closed-form"
    assert b.log10_max_step == pytest.approx(ns.cor1(rho=rho, depth=depth).log10_max_step,
                                             abs=1e-12)


# ---------------------------------------------------------------------------------------
# Balanced minimum
# ---------------------------------------------------------------------------------------
@PROPS
@given(seed=st.integers(0, 2**31), depth=st.integers(1, 5), d_in=st.integers(1, 4),
       d_out=st.integers(1, 4))
def test_balanced_minimum_is_balanced_and_fits(seed: int, depth: int, d_in: int,
                                               d_out: int) -> None:
    rng = np.random.default_rng(seed)
    phi = rng.standard_normal((d_out, d_in))
    widths = _random_widths(rng, depth, d_in, d_out, min(d_in, d_out))
    ws = _balanced_min(phi, widths)
    assert [w.shape for w in ws] == [(widths[j + 1], widths[j]) for j in range(depth)]
    assert np.allclose(product(ws), phi, atol=1e-10)
    assert balancedness(ws) < 1e-10


# ---------------------------------------------------------------------------------------
# exact at the balanced minimum == Corollary 1 (tightness of Corollary 1)
# ---------------------------------------------------------------------------------------
@PROPS
@given(seed=st.integers(0, 2**31), depth=st.integers(1, 5), d_in=st.integers(1, 4),
       d_out=st.integers(1, 4), scale=st.floats(0.2, 3.0))
def test_exact_at_balanced_minimum_equals_cor1(seed: int, depth: int, d_in: int, d_out: int,
                                               scale: float) -> None:
    rng = np.random.default_rng(seed)
    phi = scale * rng.standard_normal((d_out, d_in))
    widths = _random_widths(rng, depth, d_in, d_out, min(d_in, d_out))
    ws = _balanced_min(phi, widths)
    ex = stability.exact(weights=ws, sigma=None, c=phi, where="balanced minimum")
    rho = float(np.linalg.norm(phi, 2))
    # cor1 by hand: 2 / (L ρ^{2(L−1)/L})
    expected = 2.0 / (depth * rho ** (2.0 * (depth - 1) / depth))
    assert ex.max_step == pytest.approx(expected, rel=1e-8)
    assert ex.max_step == pytest.approx(ns.cor1(rho=rho, depth=depth).max_step, rel=1e-8)


# ---------------------------------------------------------------------------------------
# exact ≤ Theorem 1 at any global minimum (balanced or not)
# ---------------------------------------------------------------------------------------
def _unbalance_square(ws: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """W_j ← A_j W_j A_{j−1}⁻¹ (A_0 = A_L = I): same product, a different global minimum."""
    d = ws[0].shape[0]
    mats = [np.eye(d)]
    for _ in range(len(ws) - 1):
        a = np.eye(d) + 0.6 * rng.standard_normal((d, d))
        while abs(np.linalg.det(a)) < 0.2:
            a = np.eye(d) + 0.6 * rng.standard_normal((d, d))
        mats.append(a)
    mats.append(np.eye(d))
    return [mats[j + 1] @ w @ np.linalg.inv(mats[j]) for j, w in enumerate(ws)]


@PROPS
@given(seed=st.integers(0, 2**31), depth=st.integers(1, 4), d=st.integers(1, 3))
def test_exact_below_thm1_at_unbalanced_square_minima(seed: int, depth: int, d: int) -> None:
    rng = np.random.default_rng(seed)
    phi = rng.standard_normal((d, d))
    ws = _unbalance_square(_balanced_min(phi, (d,) * (depth + 1)), rng)
    assert np.allclose(product(ws), phi, atol=1e-8)
    ex = stability.exact(weights=ws, sigma=None, c=phi, where="weights")
    t1 = ns.thm1(weights=ws)
    assert ex.log10_max_step <= t1.log10_max_step + 1e-9
    # both are necessary conditions at *this* minimum; Corollary 1 is the best over all
    # global minima, so neither can exceed it
    c1 = ns.cor1(rho=float(np.linalg.norm(phi, 2)), depth=depth)
    assert ex.log10_max_step <= c1.log10_max_step + 1e-9
    assert t1.log10_max_step <= c1.log10_max_step + 1e-9


@PROPS
@given(seed=st.integers(0, 2**31), depth=st.integers(2, 4), d_in=st.integers(1, 3),
       d_out=st.integers(1, 3), log_c=st.lists(st.floats(-1.0, 1.0), min_size=3, max_size=3))
def test_exact_below_thm1_at_rescaled_rectangular_minima(seed: int, depth: int, d_in: int,
                                                         d_out: int,
                                                         log_c: list[float]) -> None:
    """W_j ← c_j W_j with Π c_j = 1 (Nar & Sastry's {α_i Ŵ_i})."""
    rng = np.random.default_rng(seed)
    phi = rng.standard_normal((d_out, d_in))
    widths = _random_widths(rng, depth, d_in, d_out, min(d_in, d_out))
    cs = [10.0**x for x in log_c[: depth - 1]]
    cs.append(1.0 / math.prod(cs))
    ws = [c * w for c, w in zip(cs, _balanced_min(phi, widths), strict=True)]
    assert np.allclose(product(ws), phi, atol=1e-9)
    ex = stability.exact(weights=ws, sigma=None, c=phi, where="weights")
    t1 = ns.thm1(weights=ws)
    assert ex.log10_max_step <= t1.log10_max_step + 1e-9


# ---------------------------------------------------------------------------------------
# HVP against central differences of the gradient
# ---------------------------------------------------------------------------------------
@PROPS
@given(seed=st.integers(0, 2**31), depth=st.integers(1, 4), d_in=st.integers(1, 3),
       d_out=st.integers(1, 3), data=st.booleans())
def test_hvp_matches_finite_differences(seed: int, depth: int, d_in: int, d_out: int,
                                        data: bool) -> None:
    rng = np.random.default_rng(seed)
    widths = (d_in, *[int(rng.integers(1, 4)) for _ in range(depth - 1)], d_out)
    ws = [rng.standard_normal((widths[j + 1], widths[j])) for j in range(depth)]
    vs = [rng.standard_normal(w.shape) for w in ws]
    if data:
        x = rng.standard_normal((d_in, 5))
        y = rng.standard_normal((d_out, 5))
        sigma, c = x @ x.T, y @ x.T
    else:
        sigma, c = None, rng.standard_normal((d_out, d_in))
    h = 1e-5
    plus = layer_gradients([w + h * v for w, v in zip(ws, vs, strict=True)], sigma, c)
    minus = layer_gradients([w - h * v for w, v in zip(ws, vs, strict=True)], sigma, c)
    hv = stability.hvp(ws, vs, sigma, c)
    for got, p, m in zip(hv, plus, minus, strict=True):
        fd = (p - m) / (2 * h)
        assert np.allclose(got, fd, rtol=1e-5, atol=1e-6 * (1 + np.abs(fd).max()))


@PROPS
@given(seed=st.integers(0, 2**31), depth=st.integers(1, 3), data=st.booleans())
def test_top_eigenvalue_matches_finite_difference_hessian(seed: int, depth: int,
                                                          data: bool) -> None:
    rng = np.random.default_rng(seed)
    d = 2
    ws = [rng.standard_normal((d, d)) for _ in range(depth)]
    if data:
        x = rng.standard_normal((d, 4))
        sigma, c = x @ x.T, rng.standard_normal((d, 4)) @ x.T
    else:
        sigma, c = None, rng.standard_normal((d, d))
    lam, method = stability.top_hessian_eigenvalue(ws, sigma, c)
    assert method == "dense"
    assert lam == pytest.approx(_hessian_max_fd(ws, sigma, c), rel=1e-6, abs=1e-6)


def test_lanczos_agrees_with_dense(monkeypatch: pytest.MonkeyPatch) -> None:
    # 3 layers of 12×12 = 432 parameters > DENSE_PARAMS: Lanczos; then force dense.
    rng = np.random.default_rng(7)
    phi = rng.standard_normal((12, 12))
    ws = _unbalance_square(_balanced_min(phi, (12,) * 4), rng)
    lam_l, method_l = stability.top_hessian_eigenvalue(ws, None, phi)
    monkeypatch.setattr(stability, "DENSE_PARAMS", 10_000)
    lam_d, method_d = stability.top_hessian_eigenvalue(ws, None, phi)
    assert (method_l, method_d) == ("lanczos", "dense")
    assert lam_l == pytest.approx(lam_d, rel=1e-8)


def test_exact_in_data_form_whitened_equals_target_form() -> None:
    # Orthonormal rows: XXᵀ = I, so ½‖Y − WX‖² = ½‖W − YXᵀ‖² + const: same Hessian.
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    x = q[:3]  # 3×6, XXᵀ = I
    y = rng.standard_normal((2, 6))
    phi = y @ x.T
    ws = _balanced_min(phi, (3, 3, 2))
    a = stability.exact(weights=ws, sigma=x @ x.T, c=y @ x.T, where="balanced minimum")
    b = stability.exact(weights=ws, sigma=None, c=phi, where="balanced minimum")
    assert a.max_step == pytest.approx(b.max_step, rel=1e-9)


# ---------------------------------------------------------------------------------------
# The Hessian engine: operator, Gauss–Newton shortcut, Lanczos with a residual rule
# ---------------------------------------------------------------------------------------
def _dense(op: stability.HessianOperator) -> np.ndarray:
    h = np.column_stack([op.matvec(e) for e in np.eye(op.size)])
    return 0.5 * (h + h.T)


@PROPS
@given(seed=st.integers(0, 2**31), depth=st.integers(1, 4), data=st.booleans())
def test_residual_bound_and_gauss_newton_upper_bound_hold(seed: int, depth: int,
                                                          data: bool) -> None:
    rng = np.random.default_rng(seed)
    widths = [int(rng.integers(1, 4)) for _ in range(depth + 1)]
    ws = [rng.standard_normal((widths[j + 1], widths[j])) for j in range(depth)]
    if data:
        x = rng.standard_normal((widths[0], 5))
        sigma, c = x @ x.T, rng.standard_normal((widths[-1], 5)) @ x.T
    else:
        sigma, c = None, rng.standard_normal((widths[-1], widths[0]))
    op = stability.HessianOperator(ws, sigma, c)
    h, gn = _dense(op), _dense(op.with_gauss_newton())
    assert np.linalg.norm(h - gn, 2) <= op.residual_term_bound() * (1 + 1e-9) + 1e-12
    assert np.linalg.eigvalsh(gn)[-1] <= op.gauss_newton_upper_bound() * (1 + 1e-9) + 1e-12


@pytest.mark.parametrize("critical", [True, False])
def test_lanczos_matches_dense_at_and_off_the_minimum(critical: bool,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # 3 layers of 12×12 = 432 parameters: Lanczos (through the Gauss–Newton shortcut at the
    # balanced minimum, the full operator off it), then forced dense.
    rng = np.random.default_rng(11)
    phi = rng.standard_normal((12, 12))
    ws = _balanced_min(phi, (12,) * 4)
    if not critical:
        ws = [w + 0.1 * rng.standard_normal(w.shape) for w in ws]
    op = stability.HessianOperator(ws, None, phi)
    shortcut = 0 < op.residual_term_bound() <= (
        stability.GN_RTOL * op.gauss_newton_upper_bound())
    assert shortcut == critical
    lam_l, method_l = stability.top_hessian_eigenvalue(ws, None, phi)
    monkeypatch.setattr(stability, "DENSE_PARAMS", 10_000)
    lam_d, method_d = stability.top_hessian_eigenvalue(ws, None, phi)
    assert (method_l, method_d) == ("lanczos", "dense")
    assert lam_l == pytest.approx(lam_d, rel=1e-12)


def test_lanczos_max_on_matrices() -> None:
    rng = np.random.default_rng(12)
    a = rng.standard_normal((150, 150))
    s = 0.5 * (a + a.T)
    lam, steps, converged = stability.lanczos_max(lambda x: s @ x, 150)
    assert converged and steps < 150
    assert lam == pytest.approx(np.linalg.eigvalsh(s)[-1], rel=1e-12)
    # zero operator: an invariant subspace at once
    lam0, steps0, conv0 = stability.lanczos_max(lambda x: 0.0 * x, 40)
    assert (lam0, steps0, conv0) == (0.0, 1, True)
    # negative definite: λ_max < 0 found to the same relative accuracy
    neg = -(a @ a.T) - np.eye(150)
    lam_n, _, _ = stability.lanczos_max(lambda x: neg @ x, 150)
    assert lam_n == pytest.approx(np.linalg.eigvalsh(neg)[-1], rel=1e-10)
