"""Per-layer invariants ‖D_l‖ tracked by the compiled core agree with numpy."""

from __future__ import annotations

import numpy as np
import pytest

from gdcert.api.runs import invariant_norms
from gdcert.inits import gaussian as _gaussian
from gdcert.sim.engine import GDProblem, Schedule, run_batch


def gaussian(widths, *, seed, sigma=None):  # type: ignore[no-untyped-def]
    return _gaussian(widths, seed=seed, sigma=sigma).weights()


def _numpy_norms(weights: list[np.ndarray]) -> list[float]:
    # D_l = W_{l+1}ᵀW_{l+1} − W_lW_lᵀ, spectral norm by a dense SVD (independent path)
    return [float(np.linalg.svd(weights[j + 1].T @ weights[j + 1] - weights[j] @ weights[j].T,
                                compute_uv=False)[0]) for j in range(len(weights) - 1)]


@pytest.mark.parametrize("widths", [(3, 3, 3, 3), (4, 5, 2, 3)])
def test_tracked_invariants_match_numpy(widths: tuple[int, ...]) -> None:
    rng = np.random.default_rng(3)
    phi = rng.standard_normal((widths[-1], widths[0]))
    w0 = gaussian(widths, seed=1, sigma=0.5)
    prob = GDProblem.target(phi, widths)
    (traj,) = run_batch(prob, [w0], [Schedule.constant(0.01)], max_iter=50, loss_target=0.0,
                        record_every=10, track_invariants=True, parallel=False)
    assert traj.invariants is not None and traj.balancedness is not None
    assert traj.invariants.shape == (traj.step_index.size, len(widths) - 2)
    np.testing.assert_allclose(traj.invariants[0], _numpy_norms(w0), rtol=1e-10)
    np.testing.assert_allclose(traj.invariants[-1], _numpy_norms(list(traj.final_weights)),
                               rtol=1e-10)
    # the balancedness is the largest invariant at every record
    np.testing.assert_allclose(traj.invariants.max(axis=1), traj.balancedness, rtol=1e-12)
    np.testing.assert_allclose(invariant_norms(traj.final_weights), traj.invariants[-1],
                               rtol=1e-8)


def test_invariants_off_by_default() -> None:
    widths = (2, 2, 2)
    prob = GDProblem.target(np.eye(2), widths)
    (traj,) = run_batch(prob, [gaussian(widths, seed=0)], [Schedule.constant(0.1)],
                        max_iter=5, loss_target=0.0, parallel=False)
    assert traj.invariants is None
