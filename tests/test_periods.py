"""The outcome classifier on runs of the compiled core with known ground truth.

Each case is run twice: by the compiled core (:func:`gdcert.sim.engine.run`), classified
by :func:`gdcert.sim.classify.classify` from the kernel's tail fingerprints; and by the
plain numpy reference GD (``tests/reference.py``), whose smallest period is found by
comparing the iterates themselves (:func:`reference.smallest_period`). The two must agree.

Ground truth (found by scanning η with the reference):

* ZAS init (``W_2 = 0``, ``W_1 = I``), ``L = 2``, ``Φ = diag(2, 1.5, 1, 0.5)``: a
  period-doubling cascade — η = 0.3 converges (period 1), 0.6 period 2, 0.625 period 4,
  0.645 period 8, 0.65 period 16; at 0.7 and 0.8 no period ≤ 64 but bounded iterates.
* Identity init, ``L = 3``, ``Φ = diag(3, 1)`` at 1.3 × Corollary 1: period 4.
* Identity init, ``L = 2``, ``Φ = diag(2, −1)`` at Theorem 3's step: a fixed point (a
  critical point, loss ½) whose iterates jitter by rounding — not an orbit.
* Small Gaussian init at the saddle ``W = 0`` of ``Φ = diag(1, 0.5)``: the loss sits at
  0.625 while the gradient is tiny (and growing) — a plateau, not "unfinished".
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdcert.sim.classify import classify
from gdcert.sim.engine import GDProblem, Schedule, run, warm_up

try:
    from tests import reference as ref
except ImportError:  # pragma: no cover - tests/ on sys.path
    import reference as ref  # type: ignore[no-redef]

PHI_ZAS = np.diag([2.0, 1.5, 1.0, 0.5])
ITERS = 20_000
TOL = 1e-12


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    warm_up()


def _zas(d: int) -> list[np.ndarray]:
    return [np.eye(d), np.zeros((d, d))]


def _both(phi: np.ndarray, init: list[np.ndarray], eta: float, iters: int = ITERS):
    """(kernel trajectory, its outcome, reference run) for one constant step size."""
    widths = (phi.shape[1],) + tuple(w.shape[0] for w in init)
    prob = GDProblem.target(phi, widths)
    traj = run(prob, init, Schedule.constant(eta), max_iter=iters, loss_target=-1.0,
               record_every=0)
    grad_tol = 1e-8 * max(float(np.linalg.norm(phi)), 1.0)
    out = classify(traj, optimal_loss=0.0, tolerance=TOL, grad_tol=grad_tol)
    r = ref.gd(init, ref.Form(phi=phi), a1=eta, max_iter=iters, loss_target=-1.0,
               record_every=iters)
    return traj, out, r


@pytest.mark.parametrize(("eta", "period"), [(0.6, 2), (0.625, 4), (0.645, 8), (0.65, 16)])
def test_zas_period_doubling_matches_reference(eta: float, period: int) -> None:
    traj, out, r = _both(PHI_ZAS, _zas(4), eta)
    assert ref.smallest_period(r.history) == period  # ground truth, from the iterates
    assert out.label == "oscillating", out
    assert out.details["period"] == period
    assert f"period-{period} orbit" in out.summary
    # the amplitude details are those of the last step, as for period 2
    assert out.details["amplitude"] == pytest.approx(0.5 * traj.step_norm_last)
    h = r.history
    assert traj.step_norm_last == pytest.approx(np.linalg.norm(h[-1] - h[-2]), rel=1e-6)
    lo, hi = out.details["loss_range"]
    ref_losses = [ref.loss(ref.unflatten(th, (4, 4, 4)), ref.Form(phi=PHI_ZAS))
                  for th in h[-period:]]
    assert lo == pytest.approx(min(ref_losses), rel=1e-6)
    assert hi == pytest.approx(max(ref_losses), rel=1e-6)


def test_zas_fixed_point_is_period_one() -> None:
    traj, out, r = _both(PHI_ZAS, _zas(4), 0.3, iters=2000)
    assert ref.smallest_period(r.history) == 1
    assert out.label == "converged_global" and "period" not in out.details


@pytest.mark.parametrize("eta", [0.7, 0.8])
def test_zas_aperiodic_bounded_matches_reference(eta: float) -> None:
    traj, out, r = _both(PHI_ZAS, _zas(4), eta)
    h = np.array(r.history)
    assert ref.smallest_period(r.history) is None
    norms = np.linalg.norm(h, axis=1)
    half = norms.size // 2
    assert np.all(np.isfinite(norms))
    assert norms[half:].max() <= 1.5 * norms[:half].max()  # bounded: no growth
    assert out.label == "bounded", out
    lo, hi = out.details["loss_range"]
    assert 0.0 < lo < hi < 10.0
    # the loss range covers the kernel's own tail
    assert lo <= traj.tail_loss.min() and traj.tail_loss.max() <= hi


def test_identity_depth_three_above_cor1_is_period_four() -> None:
    depth, phi = 3, np.diag([3.0, 1.0])
    cor1 = 2.0 / (depth * 3.0 ** (2.0 * (depth - 1) / depth))
    traj, out, r = _both(phi, [np.eye(2)] * depth, 1.3 * cor1)
    assert ref.smallest_period(r.history) == 4
    assert out.label == "oscillating" and out.details["period"] == 4, out


def test_fixed_point_jitter_is_not_an_orbit() -> None:
    """Theorem 3's step on Φ = diag(2, −1): the limit diag(2^{1/4}, 0) per layer is a
    critical point. The last steps are rounding noise — exactly what fooled a bare
    ‖θ_K − θ_{K−2}‖ ≪ ‖θ_K − θ_{K−1}‖ test ("oscillating, amplitude 1.6e-16")."""
    depth, phi = 2, np.diag([2.0, -1.0])
    eta = min(1.0 / (1.0 + 1.0), 1.0 / depth, 1.0 / (depth * 2.0 ** (2.0 * (depth - 1) / depth)))
    traj, out, r = _both(phi, [np.eye(2)] * depth, eta, iters=5000)
    assert ref.smallest_period(r.history) == 1
    assert out.label == "converged_critical", out
    assert traj.final_loss == pytest.approx(0.5, rel=1e-12)
    assert traj.step_norm_last < 1e-12 * traj.theta_norm  # jitter only


def test_run_starting_at_a_saddle_is_a_plateau() -> None:
    """Loss ½(1 + 0.25) = 0.625 at W = 0: from 1e-6 · N(0, 1) the gradient (~1e-6) grows
    by ~(1 + η) per step but stays far below its natural scale within the budget."""
    rng = np.random.default_rng(5)
    phi = np.diag([1.0, 0.5])
    init = [1e-6 * rng.standard_normal((2, 2)) for _ in range(2)]
    traj, out, _ = _both(phi, init, 0.01, iters=300)
    assert out.label == "plateau", out
    assert traj.final_loss == pytest.approx(0.625, rel=1e-6)
    # the gradient grew all along: never fell to 1% of its peak (the old plateau rule)
    assert traj.grad_norm[-1] == pytest.approx(np.max(traj.grad_norm))
    assert out.details["grad_norm"] < 1e-2 * math.sqrt(2 * 0.625)
