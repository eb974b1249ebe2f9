"""``gdcert.cor1_data``: Corollary 1's argument for data that are not whitened (ours).

The bound must be (i) Corollary 1 when Σ = I, (ii) at least 2/λ_max at every global
minimum — B ≤ λ_max everywhere on the set of global minima, so a step size that some
global minimum admits is never ruled out (soundness of a *necessary* bound) — and
(iii) close to 2/λ_max at the flattest global minimum found by a direct search (not
needlessly loose; measured: equal to 1e-15 on the cases below)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from gdcert.bounds.data import cor1_data
from gdcert.bounds.nar_sastry import cor1


def gauss_newton_lambda_max(weights: list[np.ndarray], sigma: np.ndarray) -> float:
    """λ_max(∇²f) at a zero-residual point: ‖G‖², G: vec V ↦ vec(J(V)Σ^{1/2}) (dense)."""
    lam, vec = np.linalg.eigh(sigma)
    half = (vec * np.sqrt(np.clip(lam, 0, None))) @ vec.T
    depth = len(weights)
    cols = []
    for l in range(depth):
        p = np.eye(weights[-1].shape[0])
        for w in weights[l + 1:][::-1]:
            p = p @ w
        q = np.eye(weights[0].shape[1])
        for w in weights[:l]:
            q = w @ q
        rows, ncols = weights[l].shape
        for i in range(rows):
            for j in range(ncols):
                e = np.zeros((rows, ncols))
                e[i, j] = 1.0
                cols.append((p @ e @ q @ half).ravel())
    g = np.array(cols).T
    return float(np.linalg.norm(g, 2) ** 2)


def random_global_minimum(w_star: np.ndarray, depth: int, rng: np.random.Generator,
                          free: np.ndarray | None = None) -> list[np.ndarray]:
    """W_1..W_{L−1} free (square, invertible), W_L = W*(W_{L−1}⋯W_1)⁻¹: W_{L:1} = W*."""
    d = w_star.shape[0]
    if free is None:
        free = rng.standard_normal((depth - 1, d, d)) + 1.5 * np.eye(d)
    layers = [free[k].reshape(d, d) for k in range(depth - 1)]
    prod = np.eye(d)
    for w in layers:
        prod = w @ prod
    return [*layers, w_star @ np.linalg.inv(prod)]


def test_hand_value() -> None:
    # Σ = diag(4, 1), W* = diag(1, 0), L = 2: M = diag(2, 0); B(v) = 2 (vᵀΣv)^{1/2} ‖Mv‖ is
    # largest at v = e1: 2 · 2 · 2 = 8, so η ≤ 2/8 = 0.25.
    b = cor1_data(sigma=np.diag([4.0, 1.0]), w_star=np.diag([1.0, 0.0]), depth=2)
    assert b.applies and b.kind == "necessary"
    assert b.max_step == pytest.approx(0.25, rel=1e-12)


@pytest.mark.parametrize("depth", [1, 2, 3, 7])
def test_equals_corollary_1_when_whitened(depth: int) -> None:
    phi = np.random.default_rng(depth).standard_normal((3, 4))
    b = cor1_data(sigma=np.eye(4), w_star=phi, depth=depth)
    assert b.log10_max_step == pytest.approx(
        cor1(rho=float(np.linalg.norm(phi, 2)), depth=depth).log10_max_step, abs=1e-12)


def test_singular_sigma_and_bottleneck_do_not_apply() -> None:
    b = cor1_data(sigma=np.diag([1.0, 0.0]), w_star=np.eye(2), depth=2)
    assert not b.applies and "singular" in b.reason
    b = cor1_data(sigma=np.eye(2), w_star=np.eye(2), depth=2, bottleneck=True)
    assert not b.applies and "narrower" in b.reason


def test_zero_target_is_infinite() -> None:
    assert cor1_data(sigma=np.eye(2), w_star=np.zeros((2, 2)), depth=3).max_step == math.inf


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), depth=st.integers(2, 4), d=st.integers(2, 3))
def test_at_least_two_over_sharpness_of_random_global_minima(seed: int, depth: int,
                                                             d: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((d, 3 * d)) * rng.uniform(0.3, 2.0, size=(d, 1))
    sigma = x @ x.T
    w_star = rng.standard_normal((d, d))
    b = cor1_data(sigma=sigma, w_star=w_star, depth=depth)
    for _ in range(4):
        ws = random_global_minimum(w_star, depth, rng)
        assert b.max_step >= 2.0 / gauss_newton_lambda_max(ws, sigma) * (1 - 1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_close_to_the_flattest_global_minimum(seed: int) -> None:
    """Direct search (Nelder–Mead over the free layers, several starts) for the flattest
    global minimum: the bound admits it (≥ its 2/λ_max) and is within 15 % of it."""
    rng = np.random.default_rng(seed)
    d, depth = 2, 3
    x = rng.standard_normal((d, 6)) * np.array([[1.5], [0.5]])
    sigma = x @ x.T
    w_star = rng.standard_normal((d, d))
    b = cor1_data(sigma=sigma, w_star=w_star, depth=depth)

    def sharp(z: np.ndarray) -> float:
        free = z.reshape(depth - 1, d, d)
        if min(abs(np.linalg.det(f)) for f in free) < 1e-6:
            return 1e12
        return math.log(gauss_newton_lambda_max(random_global_minimum(w_star, depth, rng,
                                                                      free), sigma))

    best = math.inf
    for _ in range(6):
        z0 = (rng.standard_normal((depth - 1, d, d)) + np.eye(d)).ravel()
        res = minimize(sharp, z0, method="Nelder-Mead",
                       options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-10})
        best = min(best, math.exp(res.fun))
    flattest = 2.0 / best
    assert b.max_step >= flattest * (1 - 1e-6)
    assert b.max_step <= flattest * 1.15, (b.max_step, flattest)
