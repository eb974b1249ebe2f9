"""The outcome classifier against ground truth: Nar & Sastry (NeurIPS 2018), Examples 1–3.

GD on scalar functions whose long-run behaviour is known in closed form, run by the plain
Python harness in ``tests/scalar_harness.py`` (which records exactly as the compiled kernel
does), then classified by :func:`gdcert.sim.classify.classify`:

* Example 1, ``f(x) = ⅔|x|^{3/2}``: for almost every start GD ends in the period-2 orbit
  ``±η²/4`` (``f'(x) = sign(x)√|x|``, so ``η²/4 − η·η/2 = −η²/4``), whatever η. The
  classifier's amplitude is ``½‖θ_{k+1} − θ_k‖ = ½·η²/2 = η²/4``.
* Example 2, ``f₂(x) = (x²+1)(x−1)²(x−2)²``: minima at 1 and 2 (both ``f₂ = 0``) with
  curvature 4 and 10, so linearly stable only for ``η < 2/4`` and ``η < 2/10``.
* Example 3, ``f₃(x) = x^L`` (even ``L > 2``): ``x ← x(1 − ηL x^{L−2})`` converges iff
  ``|x₀|^{L−2} < 2/(Lη)`` (sublinearly: ``x_k ~ k^{−1/(L−2)}``).

The optimal loss is 0 in every example.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdcert.sim.classify import OUTCOMES, classify

try:
    from tests import scalar_harness as sh
except ImportError:  # pragma: no cover - run from inside tests/
    import scalar_harness as sh  # type: ignore[no-redef]

ScalarTrajectory, run_scalar = sh.ScalarTrajectory, sh.run_scalar
classify_scalar = sh.classify_scalar
f1, f1_grad, f2, f2_grad, f3 = sh.f1, sh.f1_grad, sh.f2, sh.f2_grad, sh.f3

TOL = 1e-12


def quadratic(a: float):
    return (lambda x: 0.5 * a * x * x), (lambda x: a * x)


# --------------------------------------------------------------------------- the harness


def test_harness_records_like_the_kernel() -> None:
    """Records at k ≡ 0 (mod record_every) and at the stopping point; K steps taken."""
    f, g = quadratic(1.0)
    t = run_scalar(f, g, 1.0, 0.1, max_iter=25, loss_target=-1.0, record_every=10)
    assert t.stop == "budget" and t.iterations == 25
    assert list(t.step_index) == [0, 10, 20, 25]
    # x_k = 0.9^k exactly as in closed form
    assert t.x_final == pytest.approx(0.9**25, rel=1e-12)
    assert t.final_loss == pytest.approx(0.5 * 0.9**50, rel=1e-12)
    assert t.loss[-1] == t.final_loss
    assert t.step_norm_last == pytest.approx(0.9**24 * 0.1, rel=1e-9)
    assert t.step_norm_two == pytest.approx(0.9**23 * (1 - 0.81), rel=1e-9)


def test_harness_stops_on_target_and_divergence() -> None:
    f, g = quadratic(1.0)
    t = run_scalar(f, g, 1.0, 1.0, max_iter=100, loss_target=0.0)  # one step to 0
    assert (t.stop, t.iterations) == ("target", 1)
    assert math.isnan(t.step_norm_two)
    t0 = run_scalar(f, g, 1.0, 0.5, max_iter=0, loss_target=0.0)
    assert (t0.stop, t0.iterations) == ("budget", 0)
    assert math.isnan(t0.step_norm_last) and math.isnan(t0.step_norm_two)
    # η a = 3: x ← −2x, loss ×4 per step; 4^10 > 1e6 ≥ 4^9
    t = run_scalar(f, g, 1.0, 3.0, max_iter=100, loss_target=0.0)
    assert (t.stop, t.iterations) == ("diverged", 10)


# --------------------------------------------------------------------------- Example 1


def _example1_cases() -> list[tuple[float, float]]:
    """(η, x₀): hand-picked starts and a seeded random sample of "almost every" start."""
    rng = np.random.default_rng(20181203)
    cases = [(0.1, 1.0), (0.1, -3.7), (0.3, 0.123), (0.3, 10.0), (0.02, 2.0), (0.5, -0.01)]
    for _ in range(10):
        cases.append((float(rng.uniform(0.02, 0.8)), float(rng.uniform(-20, 20))))
    return cases


@pytest.mark.parametrize(("eta", "x0"), _example1_cases())
def test_example1_period_two_orbit(eta: float, x0: float) -> None:
    t = run_scalar(f1, f1_grad, x0, eta, max_iter=8000, loss_target=TOL)
    out = classify_scalar(t, tolerance=TOL)
    assert out.label == "oscillating", (out, x0, eta)
    # amplitude ½‖θ_{k+1} − θ_k‖ = η²/4, and the iterate sits on ±η²/4
    assert out.details["amplitude"] == pytest.approx(eta**2 / 4, rel=1e-9)
    assert abs(t.x_final) == pytest.approx(eta**2 / 4, rel=1e-9)
    # both points of the orbit have loss ⅔(η²/4)^{3/2} = η³/12
    assert out.details["loss"] == pytest.approx(eta**3 / 12, rel=1e-9)
    assert out.details["step_norm_two"] <= 1e-3 * out.details["step_norm_last"]
    assert out.details["period"] == 2


def test_example1_orbit_survives_decimated_records() -> None:
    t = run_scalar(f1, f1_grad, 5.0, 0.2, max_iter=10_000, loss_target=TOL, record_every=100)
    assert t.step_index.size == 101
    out = classify_scalar(t, tolerance=TOL)
    assert out.label == "oscillating"
    assert out.details["amplitude"] == pytest.approx(0.01, rel=1e-9)


def test_example1_exceptional_start_hits_the_minimum() -> None:
    """"Almost every": from x₀ = η² one step lands exactly on 0 (η² − η·η = 0)."""
    t = run_scalar(f1, f1_grad, 0.25, 0.5, max_iter=100, loss_target=TOL)
    assert t.x_final == 0.0 and t.iterations == 1
    assert classify_scalar(t, tolerance=TOL).label == "converged_global"


# --------------------------------------------------------------------------- Example 2


def test_example2_minima_and_curvatures() -> None:
    for x in (1.0, 2.0):
        assert f2(x) == 0.0 and f2_grad(x) == 0.0
    h = 1e-5
    curv = {x: (f2_grad(x + h) - f2_grad(x - h)) / (2 * h) for x in (1.0, 2.0)}
    assert curv[1.0] == pytest.approx(4.0, rel=1e-8)
    assert curv[2.0] == pytest.approx(10.0, rel=1e-8)
    # the analytic gradient matches a finite difference of f₂ away from the minima
    for x in (-0.7, 0.3, 1.5, 2.6):
        assert f2_grad(x) == pytest.approx((f2(x + h) - f2(x - h)) / (2 * h), rel=1e-6)


@pytest.mark.parametrize(("eta", "x0"), [(0.1, 2.05), (0.1, 1.9), (0.19, 2.05)])
def test_example2_minimum_at_two_is_stable_below_0_2(eta: float, x0: float) -> None:
    t = run_scalar(f2, f2_grad, x0, eta, max_iter=20_000, loss_target=TOL)
    assert classify_scalar(t, tolerance=TOL).label == "converged_global"
    assert t.x_final == pytest.approx(2.0, abs=1e-5)


def test_example2_period_doubling_just_above_0_2() -> None:
    """At η = 0.21 (curvature 10: 2/10 < η) the minimum at 2 sheds a stable 2-cycle."""
    t = run_scalar(f2, f2_grad, 2.05, 0.21, max_iter=20_000, loss_target=TOL)
    out = classify_scalar(t, tolerance=TOL)
    assert out.label == "oscillating"
    partner = t.x_final - 0.21 * f2_grad(t.x_final)
    assert 0.0 < out.details["amplitude"] < 0.1
    assert min(t.x_final, partner) < 2.0 < max(t.x_final, partner)


@pytest.mark.parametrize(("eta", "period"), [(0.21, 2), (0.25, 4)])
def test_example2_period_doubling_smallest_period(eta: float, period: int) -> None:
    """Past 2/10 the minimum at 2 sheds a 2-cycle, which doubles to a 4-cycle by η = 0.25;
    the period is checked against the iterates themselves (x is its own fingerprint)."""
    t = run_scalar(f2, f2_grad, 2.05, eta, max_iter=20_000, loss_target=TOL)
    xs = t.tail_fingerprint[:, 0]
    truth = next(p for p in range(1, 65) if np.all(xs[p:] == xs[:-p]))
    assert truth == period
    out = classify_scalar(t, tolerance=TOL)
    assert out.label == "oscillating" and out.details["period"] == period, out


@pytest.mark.parametrize("x0", [2.05, 1.9, 2.01, 1.99])
def test_example2_cannot_stay_at_two_for_eta_0_3(x0: float) -> None:
    t = run_scalar(f2, f2_grad, x0, 0.3, max_iter=20_000, loss_target=TOL)
    out = classify_scalar(t, tolerance=TOL)
    assert not (out.label == "converged_global" and abs(t.x_final - 2.0) < 1e-3), (out, t.x_final)


@pytest.mark.parametrize("eta", [0.3, 0.45])
@pytest.mark.parametrize("x0", [0.9, 1.05, 1.5])
def test_example2_minimum_at_one_is_stable_below_0_5(eta: float, x0: float) -> None:
    t = run_scalar(f2, f2_grad, x0, eta, max_iter=20_000, loss_target=TOL)
    assert classify_scalar(t, tolerance=TOL).label == "converged_global"
    assert t.x_final == pytest.approx(1.0, abs=1e-5)


def test_example2_no_minimum_is_stable_at_0_6() -> None:
    rng = np.random.default_rng(2)
    labels = set()
    for x0 in rng.uniform(-0.5, 3.0, size=40):
        t = run_scalar(f2, f2_grad, float(x0), 0.6, max_iter=5000, loss_target=TOL)
        out = classify_scalar(t, tolerance=TOL)
        labels.add(out.label)
        assert out.label != "converged_global", (x0, t.x_final)
    # both fates occur: thrown out to infinity, or caught in a cycle that never settles
    assert "diverged" in labels and labels - {"diverged"}


# --------------------------------------------------------------------------- Example 3


@pytest.mark.parametrize("power", [4, 6])
@pytest.mark.parametrize("eta", [0.1, 0.05])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_example3_threshold(power: int, eta: float, sign: float) -> None:
    f, g = f3(power)
    x_star = (2.0 / (power * eta)) ** (1.0 / (power - 2))  # x₀^{L−2} = 2/(Lη)
    tol = 1e-5  # convergence is sublinear: a loss tolerance, not an exact optimum
    below = run_scalar(f, g, sign * 0.98 * x_star, eta, max_iter=40_000, loss_target=tol,
                       record_every=10)
    out = classify_scalar(below, tolerance=tol)
    assert out.label == "converged_global", out
    assert below.final_loss <= tol
    above = run_scalar(f, g, sign * 1.02 * x_star, eta, max_iter=40_000, loss_target=tol,
                       record_every=10)
    out = classify_scalar(above, tolerance=tol)
    assert out.label == "diverged", out
    assert out.details["diverged_at"] == above.iterations < 20


def test_example3_convergence_is_sublinear() -> None:
    """x ← x − ηLx^{L−1}: for L = 4, x_k ≈ (2ηL k)^{−1/2}, so halving η doubles the steps."""
    f, g = f3(4)
    ks = []
    for eta in (0.1, 0.05):
        t = run_scalar(f, g, 0.5, eta, max_iter=100_000, loss_target=1e-6, record_every=100)
        ks.append(t.iterations)
    assert ks[1] / ks[0] == pytest.approx(2.0, rel=0.05)


# --------------------------------------------------------------------------- each class


def test_damped_oscillation_is_not_an_orbit() -> None:
    """½x² at ηa = 1.9999: x ← −0.9999x alternates but still shrinks (no orbit)."""
    f, g = quadratic(1.0)
    t = run_scalar(f, g, 1.0, 1.9999, max_iter=5000, loss_target=TOL)
    assert t.step_norm_two < 1e-3 * t.step_norm_last  # the step test alone would say orbit
    assert classify_scalar(t, tolerance=TOL).label == "unfinished"


def test_converged_critical_at_a_local_minimum() -> None:
    """f(x) = (x² − 1)² + 0.3x: from 1.5, GD settles in the higher (local) minimum."""
    f = lambda x: (x * x - 1.0) ** 2 + 0.3 * x  # noqa: E731
    g = lambda x: 4.0 * x * (x * x - 1.0) + 0.3  # noqa: E731
    xs = np.linspace(-2, 2, 400_001)
    f_min = float(np.min((xs**2 - 1) ** 2 + 0.3 * xs))
    t = run_scalar(f, g, 1.5, 0.05, max_iter=2000, loss_target=f_min + TOL)
    out = classify_scalar(t, tolerance=TOL, grad_tol=1e-10, optimal_loss=f_min)
    assert out.label == "converged_critical", out
    assert t.x_final > 0.9 and out.details["loss_gap"] > 0.5
    # from −1.5 the same step size finds the global minimum
    t = run_scalar(f, g, -1.5, 0.05, max_iter=2000, loss_target=f_min + 1e-9)
    assert classify_scalar(t, tolerance=1e-9, optimal_loss=f_min).label == "converged_global"


def test_plateau_near_a_saddle() -> None:
    """f(x) = 1 + x³ from x₀ = 1: GD creeps to the inflection saddle at 0 (x_k ~ 1/(3ηk))."""
    f = lambda x: 1.0 + x**3  # noqa: E731
    g = lambda x: 3.0 * x * x  # noqa: E731
    t = run_scalar(f, g, 1.0, 0.1, max_iter=20_000, loss_target=TOL, record_every=20)
    out = classify_scalar(t, tolerance=TOL, grad_tol=1e-12)
    assert out.label == "plateau", out
    assert 0 < out.details["grad_norm"] < 1e-2 * 3.0
    # with a gradient tolerance above the final gradient it is a critical point instead
    out = classify_scalar(t, tolerance=TOL, grad_tol=1.0)
    assert out.label == "converged_critical"


def test_slow_progress_is_unfinished_not_plateau() -> None:
    """A tiny step size stalls the loss without any saddle: the gradient stays large."""
    f, g = quadratic(1.0)
    t = run_scalar(f, g, 1.0, 1e-7, max_iter=1000, loss_target=TOL)
    assert classify_scalar(t, tolerance=TOL).label == "unfinished"


def test_tiny_budget_is_unfinished() -> None:
    f, g = quadratic(1.0)
    t = run_scalar(f, g, 1.0, 0.1, max_iter=3, loss_target=TOL)
    out = classify_scalar(t, tolerance=TOL)
    assert out.label == "unfinished" and "3 iterations" in out.summary


def test_divergence_reports_the_iteration() -> None:
    f, g = quadratic(2.0)
    t = run_scalar(f, g, 1.0, 2.0, max_iter=100, loss_target=TOL)  # x ← −3x
    out = classify_scalar(t, tolerance=TOL)
    assert out.label == "diverged" and out.details["diverged_at"] == t.iterations == 7
    assert "iteration 7" in out.summary


def test_non_finite_final_loss_is_diverged_whatever_the_stop() -> None:
    t = ScalarTrajectory(step_index=np.array([0, 1]), loss=np.array([1.0, math.inf]),
                         grad_norm=np.array([1.0, math.inf]), iterations=1, stop="budget",
                         final_loss=math.inf, step_norm_last=math.inf,
                         step_norm_two=math.nan, x_final=math.inf)
    assert classify(t, optimal_loss=0.0, tolerance=TOL, grad_tol=0.0).label == "diverged"


def test_every_label_is_a_known_outcome() -> None:
    assert set(OUTCOMES) == {"converged_global", "converged_critical", "diverged",
                             "oscillating", "bounded", "plateau", "unfinished"}
