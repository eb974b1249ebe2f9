"""Two-layer ReLU verification GD: Theorem 4 by hand, the compiled kernel against the numpy
reference, and the shipped Figure 2 configuration (Nar & Sastry 2018, Section 4)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdcert.api import certify_relu
from gdcert.bounds.nar_sastry import thm4
from gdcert.relu_model import make_model
from gdcert.sim.relu_engine import ReluProblem, run_relu_batch

try:
    from tests import reference_relu as ref
except ImportError:  # tests/ is not a package: pytest puts it on sys.path
    import reference_relu as ref  # type: ignore[no-redef]


def test_thm4_by_hand_on_a_tiny_model() -> None:
    # W = [1 2], V = [1, −1]ᵀ, b = 0, X = [1 2]:
    #   x = 1: g(Vx) = (1, 0), f̂ = 1;  x = 2: g(Vx) = (2, 0), f̂ = 2
    #   max_i |x_i||f̂(x_i)| = max(1·1, 2·2) = 4  →  1/η ≥ 4, η ≤ 1/4 (½Σ), 1/8 (Σ), N/4 (mean)
    model = make_model(np.array([[1.0, 2.0]]), np.array([[1.0], [-1.0]]), np.zeros(2),
                       np.array([[1.0, 2.0]]))
    np.testing.assert_allclose(model.predict(), [[1.0, 2.0]])
    rep = certify_relu(model)
    b = rep.bounds[0]
    assert b.max_step == pytest.approx(0.25, rel=1e-15)
    assert b.extras["argmax_sample"] == 1
    assert certify_relu(model, loss="sum").bounds[0].max_step == pytest.approx(0.125)
    assert certify_relu(model, loss="mean").bounds[0].max_step == pytest.approx(0.5)
    assert certify_relu(model, lr=0.3).verdict.status == "impossible"
    assert certify_relu(model, lr=0.2).verdict.status == "uncertified"
    direct = thm4(x_norms=np.array([1.0, 2.0]), f_norms=np.array([1.0, 2.0]))
    assert direct.max_step == pytest.approx(0.25)


def _random_problem(seed: int, m: int, r: int, n: int, n_samples: int, loss: str
                    ) -> tuple[ReluProblem, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_samples))
    y = rng.standard_normal((m, n_samples))
    b = rng.standard_normal(r)
    w0 = 0.5 * rng.standard_normal((m, r))
    v0 = 0.5 * rng.standard_normal((r, n))
    return ReluProblem.make(x, y, b, loss=loss), w0, v0


@pytest.mark.parametrize(("m", "r", "n", "loss"), [(1, 20, 1, "sum"), (2, 5, 3, "half-sum"),
                                                   (3, 7, 2, "sum")])
def test_kernel_matches_reference(m: int, r: int, n: int, loss: str) -> None:
    prob, w0, v0 = _random_problem(m * 100 + r, m, r, n, 40, loss)
    eta = 0.002
    steps = 30
    traj = run_relu_batch(prob, [(w0, v0)], [eta], max_iter=steps, loss_target=-math.inf,
                          parallel=False)[0]
    want = ref.gd(w0, v0, prob.x, prob.y, prob.b, prob.c, eta, max_iter=steps)
    assert traj.stop == want.stop == "budget"
    assert traj.iterations == want.iterations == steps
    np.testing.assert_allclose(traj.loss, want.losses, rtol=1e-10)
    np.testing.assert_allclose(traj.grad_norm, want.grad_norms, rtol=1e-10)
    w_k, v_k = want.iterates[-1]
    w_p, v_p = want.iterates[-2]
    np.testing.assert_allclose(traj.w_final, w_k, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(traj.v_final, v_k, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(traj.w_prev, w_p, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(traj.v_prev, v_p, rtol=1e-10, atol=1e-13)
    th = [np.concatenate([a.ravel(), c.ravel()]) for a, c in want.iterates[-3:]]
    assert traj.step_norm_last == pytest.approx(np.linalg.norm(th[2] - th[1]), rel=1e-9)
    assert traj.step_norm_two == pytest.approx(np.linalg.norm(th[2] - th[0]), rel=1e-9)
    assert traj.final_loss == pytest.approx(prob.loss_of(w_k, v_k), rel=1e-10)


def test_loss_factor_doubles_the_gradient() -> None:
    # Σ‖·‖² (c = 1) at η is the same trajectory as ½Σ‖·‖² (c = ½) at 2η
    half, w0, v0 = _random_problem(3, 1, 6, 1, 30, "half-sum")
    full = ReluProblem.make(half.x, half.y, half.b, loss="sum")
    a = run_relu_batch(half, [(w0, v0)], [0.02], max_iter=20, loss_target=-math.inf)[0]
    b = run_relu_batch(full, [(w0, v0)], [0.01], max_iter=20, loss_target=-math.inf)[0]
    np.testing.assert_allclose(b.loss, 2.0 * a.loss, rtol=1e-10)
    np.testing.assert_allclose(b.w_final, a.w_final, rtol=1e-10)


def test_batch_parallel_equals_serial_and_per_trajectory_bias() -> None:
    p1, w0, v0 = _random_problem(5, 1, 8, 1, 25, "sum")
    p2 = ReluProblem.make(p1.x, p1.y[:, ::-1], -p1.b, loss="sum")
    args = ([p1, p2, p1, p2], [(w0, v0)] * 4, [0.01, 0.01, 0.02, 0.005])
    par = run_relu_batch(*args, max_iter=15, loss_target=-math.inf, parallel=True)
    ser = run_relu_batch(*args, max_iter=15, loss_target=-math.inf, parallel=False)
    for a, b, (p, eta) in zip(par, ser, [(p1, 0.01), (p2, 0.01), (p1, 0.02), (p2, 0.005)],
                              strict=True):
        np.testing.assert_array_equal(a.loss, b.loss)
        want = ref.gd(w0, v0, p.x, p.y, p.b, p.c, eta, max_iter=15)
        np.testing.assert_allclose(a.loss, want.losses, rtol=1e-10)


def test_stopping_rules_like_reference() -> None:
    prob, w0, v0 = _random_problem(7, 1, 10, 1, 30, "half-sum")
    want = ref.gd(w0, v0, prob.x, prob.y, prob.b, prob.c, 0.01, max_iter=500)
    target = want.losses[57] * (1 + 1e-12)
    t = run_relu_batch(prob, [(w0, v0)], [0.01], max_iter=500, loss_target=target)[0]
    stop = ref.gd(w0, v0, prob.x, prob.y, prob.b, prob.c, 0.01, max_iter=500,
                  loss_target=target)
    assert t.stop == stop.stop == "target" and t.iterations == stop.iterations
    d = run_relu_batch(prob, [(w0, v0)], [50.0], max_iter=500, loss_target=-math.inf)[0]
    assert d.stop == "diverged"
    z = run_relu_batch(prob, [(w0, v0)], [0.01], max_iter=0, loss_target=-math.inf)[0]
    assert z.iterations == 0 and math.isnan(z.step_norm_last) and np.all(np.isnan(z.w_prev))


def test_records_decimated_and_final_recorded() -> None:
    prob, w0, v0 = _random_problem(9, 1, 4, 1, 10, "sum")
    t = run_relu_batch(prob, [(w0, v0)], [0.001], max_iter=25, loss_target=-math.inf,
                       record_every=10)[0]
    assert t.step_index.tolist() == [0, 10, 20, 25]


def test_bad_inputs_raise() -> None:
    prob, w0, v0 = _random_problem(1, 1, 4, 1, 10, "sum")
    with pytest.raises(ValueError, match="init 0 W"):
        run_relu_batch(prob, [(w0[:, :2], v0)], [0.1], max_iter=3, loss_target=0.0)
    with pytest.raises(ValueError, match="step sizes"):
        run_relu_batch(prob, [(w0, v0)], [-0.1], max_iter=3, loss_target=0.0)
    with pytest.raises(ValueError, match="loss"):
        ReluProblem.make(prob.x, prob.y, prob.b, loss="mean")
    with pytest.raises(ValueError, match="samples"):
        ReluProblem.make(prob.x, prob.y[:, :3], prob.b)
