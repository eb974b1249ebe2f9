"""The compiled GD core (gdcert.sim.engine / kernels) against the numpy reference.

All runs go through the engine, which converts to C-contiguous float64, so every test uses
the one specialisation that ``warm_up`` compiles (cached on disk after the first run).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from gdcert.sim import _numba_env
from gdcert.sim import kernels as _k
from gdcert.sim.engine import GDProblem, Schedule, Trajectory, run, run_batch, warm_up

try:
    from tests import reference as ref
except ImportError:  # tests/ is not a package: pytest puts it on sys.path
    import reference as ref  # type: ignore[no-redef]

RTOL = 1e-10


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    warm_up()


def _init(rng: np.random.Generator, widths: tuple[int, ...], scale: float) -> list[np.ndarray]:
    return [scale * rng.standard_normal((widths[i + 1], widths[i])) for i in range(len(widths) - 1)]


def _assert_matches(traj: Trajectory, r: ref.RefRun, rtol: float = RTOL) -> None:
    assert traj.stop == r.stop
    assert traj.iterations == r.iterations
    np.testing.assert_array_equal(traj.step_index, r.step_index)
    np.testing.assert_allclose(traj.loss, r.loss, rtol=rtol, atol=0)
    np.testing.assert_allclose(traj.grad_norm, r.grad_norm, rtol=rtol, atol=0)
    assert traj.final_loss == traj.loss[-1]
    for w, wr in zip(traj.final_weights, r.final_weights, strict=True):
        scale = np.max(np.abs(wr))
        np.testing.assert_allclose(w, wr, rtol=0, atol=rtol * scale)


def _target_case(seed: int, widths: tuple[int, ...]):
    rng = np.random.default_rng(seed)
    phi = rng.standard_normal((widths[-1], widths[0]))
    return GDProblem.target(phi, widths), ref.Form(phi=phi), rng


def _data_case(seed: int, widths: tuple[int, ...], m: int = 30):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((widths[0], m)) / math.sqrt(m)
    y = rng.standard_normal((widths[-1], m)) / math.sqrt(m)
    return GDProblem.data(x, y, widths), ref.Form(x=x, y=y), rng


# ----------------------------------------------------------------------------- kernel = reference


@pytest.mark.parametrize(
    "widths",
    [(3, 5, 4, 2), (2, 2), (1, 1, 1, 1, 1, 1), (20, 20, 20, 20), (7, 9, 6, 11, 8)],
    ids=["nonsquare", "L1", "scalar-L5", "d20-vec", "mid-ragged"],
)
def test_target_form_matches_reference(widths: tuple[int, ...]) -> None:
    prob, form, rng = _target_case(1, widths)
    init = _init(rng, widths, {20: 0.25, 1: 1.0, 7: 0.35}.get(widths[0], 0.5))
    traj = run(prob, init, Schedule.constant(0.05), max_iter=50, loss_target=-1.0)
    r = ref.gd(init, form, a1=0.05, max_iter=50, loss_target=-1.0)
    assert traj.stop == "budget" and traj.iterations == 50
    _assert_matches(traj, r)
    # the run moved: otherwise the comparison would be vacuous
    assert traj.loss[-1] < 0.9 * traj.loss[0]


@pytest.mark.parametrize("widths", [(4, 6, 3), (5, 3, 7, 2), (24, 24, 24), (1, 1, 1, 1),
                                    (10, 13, 5)],
                         ids=["L2", "L3", "d24", "scalar-L3", "mid-ragged"])
def test_data_form_matches_reference(widths: tuple[int, ...]) -> None:
    prob, form, rng = _data_case(2, widths)
    init = _init(rng, widths, {1: 1.2, 24: 0.2}.get(widths[0], 0.6))
    traj = run(prob, init, Schedule.constant(0.1), max_iter=50, loss_target=-1.0)
    r = ref.gd(init, form, a1=0.1, max_iter=50, loss_target=-1.0)
    _assert_matches(traj, r)
    # the run moved: the reducible part of the loss fell by at least 10 %
    x, y = form.x, form.y
    assert x is not None and y is not None
    w_ls = np.linalg.lstsq(x.T, y.T, rcond=None)[0].T
    optimal = 0.5 * float(np.sum((y - w_ls @ x) ** 2))
    assert traj.loss[-1] - optimal < 0.9 * (traj.loss[0] - optimal)


def test_data_form_loss_is_residual_loss() -> None:
    prob, form, rng = _data_case(3, (4, 5, 3))
    assert prob.loss_ls > 0  # m > d0: not interpolating
    x = form.x
    assert x is not None and prob.sigma is not None and prob.w_star is not None
    np.testing.assert_allclose(prob.sigma, x @ x.T, rtol=1e-14)
    np.testing.assert_allclose(prob.c, form.y @ x.T, rtol=1e-14)
    # W*Σ = C (the identity the kernel's gradient G = (W − W*)Σ relies on)
    np.testing.assert_allclose(prob.w_star @ prob.sigma, prob.c, atol=1e-13)
    init = _init(rng, prob.widths, 0.5)
    traj = run(prob, init, Schedule.constant(0.1), max_iter=0, loss_target=-1.0)
    assert traj.iterations == 0 and traj.stop == "budget"
    assert traj.loss[0] == pytest.approx(ref.loss(init, form), rel=1e-13)


def test_schedule_matches_reference() -> None:
    prob, form, rng = _target_case(4, (3, 4, 3))
    init = _init(rng, prob.widths, 0.5)
    sched = Schedule(a1=0.3, a2=0.5, gamma=0.7)
    # the schedule actually decays within the run: η_0 = 0.3, η_49 = 0.5/50^0.7
    assert sched.at(0) == 0.3 and sched.at(49) == pytest.approx(0.5 / 50**0.7)
    assert sched.at(49) < 0.3
    traj = run(prob, init, sched, max_iter=50, loss_target=-1.0)
    r = ref.gd(init, form, a1=0.3, a2=0.5, gamma=0.7, max_iter=50, loss_target=-1.0)
    _assert_matches(traj, r)
    # a constant step of 0.3 gives a different trajectory (the schedule is really applied)
    other = run(prob, init, Schedule.constant(0.3), max_iter=50, loss_target=-1.0)
    assert not np.allclose(other.final_weights[0], traj.final_weights[0], rtol=1e-6)


def test_schedule_checks_and_constant() -> None:
    s = Schedule.constant(0.25)
    assert (s.a1, s.a2, s.gamma) == (0.25, math.inf, 0.0)
    assert s.at(0) == s.at(10**6) == 0.25
    with pytest.raises(ValueError, match="eta must be finite and > 0"):
        Schedule.constant(0.0)
    with pytest.raises(ValueError, match="gamma must be finite and >= 0"):
        Schedule(a1=1.0, a2=1.0, gamma=-1.0)
    with pytest.raises(ValueError, match="at least one of a1, a2 must be finite"):
        Schedule(a1=math.inf, a2=math.inf, gamma=1.0)


def test_balancedness_and_records_decimated() -> None:
    prob, form, rng = _data_case(5, (3, 4, 4, 2))
    init = _init(rng, prob.widths, 0.7)
    traj = run(
        prob, init, Schedule.constant(0.1), max_iter=50, loss_target=-1.0, record_every=7,
        track_balancedness=True,
    )  # fmt: skip
    r = ref.gd(init, form, a1=0.1, max_iter=50, loss_target=-1.0, record_every=7)
    assert list(traj.step_index) == [0, 7, 14, 21, 28, 35, 42, 49, 50]
    _assert_matches(traj, r)
    assert traj.balancedness is not None and traj.sharpness is None
    np.testing.assert_allclose(traj.balancedness, r.balancedness, rtol=1e-10)
    assert traj.balancedness[0] > 0.1


def test_auto_decimation() -> None:
    prob, _, rng = _target_case(6, (2, 2, 2))
    init = _init(rng, prob.widths, 0.5)
    traj = run(prob, init, Schedule.constant(0.01), max_iter=5000, loss_target=-1.0, record_every=0)
    assert traj.iterations == 5000
    assert list(traj.step_index[:3]) == [0, 5, 10] and traj.step_index[-1] == 5000
    assert len(traj.step_index) == 1001


# ----------------------------------------------------------------------------- stopping


def test_stops_at_target_like_reference() -> None:
    prob, form, rng = _target_case(7, (3, 3, 3))
    init = [np.eye(3) + 0.1 * rng.standard_normal((3, 3)) for _ in range(2)]
    phi = form.phi
    assert phi is not None
    loss0 = ref.loss(init, form)
    target = 1e-3 * loss0
    traj = run(prob, init, Schedule.constant(0.1), max_iter=10_000, loss_target=target)
    r = ref.gd(init, form, a1=0.1, max_iter=10_000, loss_target=target)
    assert traj.stop == "target" and 0 < traj.iterations < 10_000
    _assert_matches(traj, r, rtol=1e-9)
    assert traj.final_loss <= target < traj.loss[-2]


def test_divergence_detected() -> None:
    prob, form, rng = _target_case(8, (3, 4, 3))
    init = _init(rng, prob.widths, 1.0)
    traj = run(prob, init, Schedule.constant(3.0), max_iter=1000, loss_target=0.0)
    r = ref.gd(init, form, a1=3.0, max_iter=1000, loss_target=0.0)
    assert traj.stop == "diverged" and traj.iterations < 50
    _assert_matches(traj, r, rtol=1e-8)
    assert traj.final_loss > 1e6 * traj.loss[0]
    # a small div_factor stops earlier, at the first loss above div_factor · ℓ(θ_0)
    early = run(prob, init, Schedule.constant(3.0), max_iter=1000, loss_target=0.0, div_factor=10.0)
    assert early.stop == "diverged" and early.iterations < traj.iterations
    assert early.final_loss > 10.0 * early.loss[0] and np.all(
        early.loss[:-1] <= 10.0 * early.loss[0]
    )


def test_overflow_is_divergence() -> None:
    prob, _, rng = _target_case(9, (2, 3, 2))
    init = _init(rng, prob.widths, 1.0)
    traj = run(
        prob, init, Schedule.constant(1e3), max_iter=1000, loss_target=0.0, div_factor=math.inf
    )
    assert traj.stop == "diverged"
    assert not math.isfinite(traj.final_loss)
    assert traj.iterations < 20


def test_period_two_step_norms() -> None:
    # ℓ(w) = ½(w − φ)², η = 2:  w − φ flips sign each step, an exact period-2 orbit
    prob = GDProblem.target(np.array([[1.0]]), (1, 1))
    traj = run(prob, [np.array([[1.5]])], Schedule.constant(2.0), max_iter=10, loss_target=0.0)
    assert traj.stop == "budget" and traj.iterations == 10
    assert traj.step_norm_last == pytest.approx(1.0)
    assert traj.step_norm_two == 0.0
    np.testing.assert_allclose(traj.loss, 0.125)


def test_step_norms_match_history() -> None:
    prob, form, rng = _target_case(10, (3, 4, 2))
    init = _init(rng, prob.widths, 0.5)
    traj = run(prob, init, Schedule.constant(0.05), max_iter=20, loss_target=-1.0)
    r = ref.gd(init, form, a1=0.05, max_iter=20, loss_target=-1.0)
    h = r.history
    assert traj.step_norm_last == pytest.approx(np.linalg.norm(h[-1] - h[-2]), rel=1e-9)
    assert traj.step_norm_two == pytest.approx(np.linalg.norm(h[-1] - h[-3]), rel=1e-9)
    one = run(prob, init, Schedule.constant(0.05), max_iter=1, loss_target=-1.0)
    assert one.step_norm_last > 0 and math.isnan(one.step_norm_two)


# ----------------------------------------------------------------------------- accuracy near zero


def test_loss_accurate_near_zero() -> None:
    """ℓ is reported to relative 1e-6 when it is 1e-12 of ℓ(θ_0) (realisable data).

    The expanded form ½tr(WΣWᵀ) − tr(WCᵀ) + ½‖Y‖² would carry an absolute error of about
    ε‖Y‖² ≈ 1e-16 ℓ(θ_0), i.e. a relative error near 1e-4 here: the check below would fail.
    """
    rng = np.random.default_rng(11)
    widths = (3, 3, 2)
    x = rng.standard_normal((3, 12))
    phi = rng.standard_normal((2, 3))
    y = phi @ x
    prob = GDProblem.data(x, y, widths)
    init = [np.eye(3) + 0.1 * rng.standard_normal((3, 3)), phi + 0.1 * rng.standard_normal((2, 3))]
    form = ref.Form(x=x, y=y)
    loss0 = ref.loss(init, form)
    target = 1e-12 * loss0
    traj = run(
        prob, init, Schedule.constant(0.02), max_iter=200_000, loss_target=target, record_every=0
    )
    assert traj.stop == "target"
    assert 1e-14 * loss0 < traj.final_loss <= target
    # reference: the residual loss in extended precision from the kernel's final weights
    w1, w2 = (np.asarray(w, dtype=np.longdouble) for w in traj.final_weights)
    resid = np.asarray(y, dtype=np.longdouble) - (w2 @ w1) @ np.asarray(x, dtype=np.longdouble)
    exact = float(0.5 * np.sum(resid * resid))
    assert traj.final_loss == pytest.approx(exact, rel=1e-6)
    # the cancelling expanded formula in float64 is visibly worse at this loss
    w = traj.final_weights[1] @ traj.final_weights[0]
    sigma, c = x @ x.T, y @ x.T
    naive = 0.5 * np.trace(w @ sigma @ w.T) - np.trace(w @ c.T) + 0.5 * np.sum(y * y)
    assert abs(naive - exact) > 100 * abs(traj.final_loss - exact)


# ----------------------------------------------------------------------------- batched


def test_batched_equals_single_runs() -> None:
    prob, form, rng = _data_case(12, (4, 5, 5, 3))
    etas = [0.05, 0.1, 0.2, 5.0]
    inits = [_init(rng, prob.widths, 0.6) for _ in range(len(etas) + 1)]
    scheds = [Schedule.constant(e) for e in etas] + [Schedule(a1=0.3, a2=0.5, gamma=0.5)]
    batch = run_batch(
        prob, inits, scheds, max_iter=60, loss_target=1e-3, record_every=5, track_balancedness=True,
    )  # fmt: skip
    serial = run_batch(
        prob, inits, scheds, max_iter=60, loss_target=1e-3, record_every=5, track_balancedness=True,
        parallel=False,
    )  # fmt: skip
    assert len(batch) == len(inits)
    for b, s, init, sched in zip(batch, serial, inits, scheds, strict=True):
        single = run(
            prob, init, sched, max_iter=60, loss_target=1e-3, record_every=5,
            track_balancedness=True,
        )  # fmt: skip
        for other in (s, single):
            assert (b.stop, b.iterations) == (other.stop, other.iterations)
            np.testing.assert_array_equal(b.step_index, other.step_index)
            np.testing.assert_allclose(b.loss, other.loss, rtol=1e-13)
            np.testing.assert_allclose(b.final_weights[1], other.final_weights[1], rtol=1e-12)
        r = ref.gd(
            init, form, a1=sched.a1, a2=sched.a2, gamma=sched.gamma, max_iter=60,
            loss_target=1e-3, record_every=5,
        )  # fmt: skip
        _assert_matches(b, r, rtol=1e-8)
    # the batch holds different outcomes, so trajectories are not mixed up
    assert {t.stop for t in batch} >= {"budget", "diverged"}


# ----------------------------------------------------------------------------- sharpness


@pytest.mark.parametrize("data", [False, True], ids=["target", "data"])
def test_sharpness_matches_dense_hessian(data: bool) -> None:
    widths = (2, 3, 2)
    prob, form, rng = _data_case(13, widths, m=6) if data else _target_case(13, widths)
    init = _init(rng, widths, 0.8)
    traj = run(
        prob, init, Schedule.constant(0.05), max_iter=200, loss_target=-1.0, record_every=50,
        track_sharpness=True,
    )  # fmt: skip
    r = ref.gd(init, form, a1=0.05, max_iter=200, loss_target=-1.0, record_every=50)
    assert traj.sharpness is not None
    ws = ref.unflatten(r.history[-1], widths)
    top = float(np.linalg.eigvalsh(ref.hessian(ws, form))[-1])
    # Lanczos with a residual rule: exact to its tolerance at every record, cold or warm
    assert traj.sharpness[-1] == pytest.approx(top, rel=1e-8)
    _assert_sharpness_exact(traj, r, widths, form, 1e-8)


def _clustered_case() -> tuple[tuple[int, ...], np.ndarray, list[np.ndarray]]:
    """Widths, target and a near-identity init whose Hessian's top eigenvalues cluster."""
    rng = np.random.default_rng(5)
    widths = (3, 4, 4, 3)
    phi = np.eye(3) + 0.3 * rng.standard_normal((3, 3))
    init = [np.eye(widths[i + 1], widths[i])
            + 0.05 * rng.standard_normal((widths[i + 1], widths[i])) for i in range(3)]
    return widths, phi, init


def _assert_sharpness_exact(traj: Trajectory, r: ref.RefRun, widths: tuple[int, ...],
                            form: ref.Form, rel: float) -> None:
    """Every recorded sharpness equals λ_max of a dense Hessian at the same iterate."""
    assert traj.sharpness is not None
    for j, step in enumerate(traj.step_index):
        eig = np.linalg.eigvalsh(ref.hessian(ref.unflatten(r.history[int(step)], widths), form))
        assert traj.sharpness[j] == pytest.approx(float(eig[-1]), rel=rel)


@pytest.mark.parametrize("basis", [40, 3])
def test_sharpness_exact_on_a_clustered_spectrum(monkeypatch: pytest.MonkeyPatch,
                                                 basis: int) -> None:
    """Near a global minimum of a deeper net the Hessian's top eigenvalues cluster, where
    20 power iterations stopped 1–7 % low; Lanczos with the residual rule is exact to
    1e-8 at every record, also when its basis holds only 3 vectors and it restarts."""
    import gdcert.sim.engine as engine

    monkeypatch.setattr(engine, "SHARPNESS_BASIS", basis)
    widths, phi, init = _clustered_case()
    prob, form = GDProblem.target(phi, widths), ref.Form(phi=phi)
    traj = run(prob, init, Schedule.constant(0.05), max_iter=300, loss_target=-1.0,
               record_every=100, track_sharpness=True)
    r = ref.gd(init, form, a1=0.05, max_iter=300, loss_target=-1.0, record_every=100)
    _assert_sharpness_exact(traj, r, widths, form, 1e-8)
    assert traj.sharpness_residual is not None
    assert np.all(traj.sharpness_residual <= _k.SHARP_RTOL)


def test_sharpness_degenerate_hessians() -> None:
    """A zero Hessian (L = 3 at θ = 0), one parameter, and a ±σ spectrum (L = 2 at 0): exact
    values and finite residuals at every record (a degenerate Ritz vector must not poison
    the next record's warm start)."""
    zero = run(GDProblem.target(np.eye(2), (2, 2, 2, 2)), [np.zeros((2, 2))] * 3,
               Schedule.constant(0.1), max_iter=4, loss_target=-1.0, record_every=1,
               track_sharpness=True)
    assert zero.sharpness is not None and zero.sharpness_residual is not None
    assert np.all(zero.sharpness == 0.0) and np.all(zero.sharpness_residual <= _k.SHARP_RTOL)
    one = run(GDProblem.target(np.array([[2.0]]), (1, 1)), [np.array([[0.5]])],
              Schedule.constant(0.1), max_iter=3, loss_target=-1.0, record_every=1,
              track_sharpness=True)
    assert one.sharpness is not None and np.allclose(one.sharpness, 1.0, rtol=1e-14)
    pm = run(GDProblem.target(np.diag([3.0, 1.0]), (2, 2, 2)), [np.zeros((2, 2))] * 2,
             Schedule.constant(0.1), max_iter=0, loss_target=-1.0, track_sharpness=True)
    assert pm.sharpness is not None and pm.sharpness[0] == pytest.approx(3.0, rel=1e-12)


def test_sharpness_budget_exhausted_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """With too few products per record the tracker says so: a residual above its
    tolerance, a value at most λ_max (a lower estimate), and the simulate report counts
    those records and notes them."""
    import gdcert.sim.engine as engine
    from gdcert.api.simulation import simulate
    from gdcert.problem import Problem
    from gdcert.report.sim_terminal import runs_table

    monkeypatch.setattr(engine, "SHARPNESS_ITERS", 2)
    widths, phi, init = _clustered_case()
    traj = run(GDProblem.target(phi, widths), init, Schedule.constant(0.05), max_iter=0,
               loss_target=-1.0, track_sharpness=True)
    assert traj.sharpness is not None and traj.sharpness_residual is not None
    top = float(np.linalg.eigvalsh(ref.hessian(init, ref.Form(phi=phi)))[-1])
    assert traj.sharpness_residual[0] > _k.SHARP_RTOL
    assert traj.sharpness[0] <= top * (1 + 1e-12)
    runs = simulate(Problem.from_target(phi, depth=3), init="identity", step_sizes=[0.05],
                    iterations=50, record_every=10, track_sharpness=True).runs
    loose = runs[0].details.get("sharpness_lower_estimates")
    assert loose and loose >= 1
    from rich.console import Console

    con = Console(width=200, record=True)
    con.print(runs_table(runs))
    assert "lower estimates of λ_max" in con.export_text()


@pytest.mark.parametrize("data", [False, True], ids=["target", "data"])
def test_sharpness_at_mid_widths(data: bool) -> None:
    """Widths whose Hessian–vector products take the register-blocked paths (C = … and
    C += …, NN, TN and NT, masked last columns): still exact against a dense Hessian."""
    widths = (6, 9, 7)
    prob, form, rng = _data_case(17, widths, m=12) if data else _target_case(17, widths)
    init = _init(rng, widths, 0.4)
    traj = run(prob, init, Schedule.constant(0.02), max_iter=40, loss_target=-1.0,
               record_every=20, track_sharpness=True)
    r = ref.gd(init, form, a1=0.02, max_iter=40, loss_target=-1.0, record_every=20)
    _assert_sharpness_exact(traj, r, widths, form, 1e-7)


@njit(cache=False)
def _tri_top_call(alpha, beta, j):  # type: ignore[no-untyped-def]
    s = np.zeros(j)
    work = np.zeros((2, j + 1))
    theta = _k._tri_top(alpha, beta, j, s, work)
    return theta, s


@settings(max_examples=150, deadline=None)
@given(j=st.integers(1, 40), seed=st.integers(0, 2**31 - 1), zeros=st.integers(0, 3),
       scale=st.sampled_from([1e-6, 1.0, 1e6]))
def test_tridiagonal_top_eigenpair(j: int, seed: int, zeros: int, scale: float) -> None:
    """The tracker's tridiagonal solver (bisection, then inverse iteration) against LAPACK,
    including split matrices (zero off-diagonals) and repeated eigenvalues."""
    rng = np.random.default_rng(seed)
    alpha = scale * rng.standard_normal(j + 1)
    beta = scale * rng.standard_normal(j + 1)
    if j > 1:
        beta[rng.integers(0, j - 1, zeros)] = 0.0
    if zeros == 3:  # a repeated top eigenvalue: two equal 1×1 blocks on top
        alpha[:j] = -abs(alpha[:j])
        alpha[0] = alpha[j - 1] = scale
        beta[0] = 0.0
        beta[max(0, j - 2)] = 0.0
    t = np.diag(alpha[:j]) + np.diag(beta[:j - 1], 1) + np.diag(beta[:j - 1], -1)
    want = np.linalg.eigvalsh(t)[-1]
    norm = max(np.abs(np.linalg.eigvalsh(t)).max(), 1e-300)
    theta, s = _tri_top_call(alpha, beta, j)
    assert abs(theta - want) <= 1e-13 * norm
    assert np.linalg.norm(s) == pytest.approx(1.0, abs=1e-12)
    assert np.linalg.norm(t @ s - theta * s) <= 1e-10 * norm


def test_sharpness_negative_dominant_eigenvalue() -> None:
    # L = 3 near 0: the Hessian is dominated by the residual term, which is odd in θ, so at
    # θ or at −θ the most negative eigenvalue dominates in modulus
    rng = np.random.default_rng(16)
    widths = (2, 2, 2, 2)
    phi = rng.standard_normal((2, 2))
    prob = GDProblem.target(phi, widths)
    form = ref.Form(phi=phi)
    base = _init(rng, widths, 0.05)
    found = 0
    for sign in (1.0, -1.0):
        init = [sign * w for w in base]
        eig = np.linalg.eigvalsh(ref.hessian(init, form))
        traj = run(
            prob, init, Schedule.constant(0.01), max_iter=0, loss_target=-1.0, track_sharpness=True
        )
        assert traj.sharpness is not None
        # Lanczos finds the largest algebraic eigenvalue, not the largest in modulus
        assert traj.sharpness[0] == pytest.approx(eig[-1], rel=1e-8)
        found += abs(eig[0]) > 1.2 * abs(eig[-1])
    assert found == 1


# ----------------------------------------------------------------------------- checks


def test_input_checks() -> None:
    prob, _, rng = _target_case(14, (2, 3, 2))
    good = _init(rng, prob.widths, 0.5)
    with pytest.raises(ValueError, match="widths must be"):
        GDProblem.target(np.eye(2), (2,))
    with pytest.raises(ValueError, match=r"phi must have shape \(2, 3\)"):
        GDProblem.target(np.eye(2), (3, 2))
    with pytest.raises(ValueError, match="x must have d_0 = 3 rows"):
        GDProblem.data(np.ones((2, 5)), np.ones((2, 5)), (3, 2))
    with pytest.raises(ValueError, match=r"init 0 layer 2 must have shape \(2, 3\)"):
        run(prob, [good[0], np.ones((3, 2))], Schedule.constant(0.1), max_iter=1, loss_target=0.0)
    with pytest.raises(ValueError, match="must have L = 2 layers"):
        run(prob, good[:1], Schedule.constant(0.1), max_iter=1, loss_target=0.0)
    with pytest.raises(ValueError, match="non-finite"):
        run(prob, [good[0], good[1] * np.nan], Schedule.constant(0.1), max_iter=1, loss_target=0.0)
    with pytest.raises(ValueError, match="one schedule per init"):
        run_batch(prob, [good, good], [Schedule.constant(0.1)], max_iter=1, loss_target=0.0)
    with pytest.raises(ValueError, match="max_iter must be an integer >= 0"):
        run(prob, good, Schedule.constant(0.1), max_iter=-1, loss_target=0.0)
    with pytest.raises(ValueError, match="too many to keep"):
        run_batch(prob, [good] * 64, [Schedule.constant(0.1)] * 64, max_iter=10**6, loss_target=0.0)


def test_fortran_and_float32_inputs_are_converted() -> None:
    prob, form, rng = _target_case(15, (3, 4, 2))
    init = _init(rng, prob.widths, 0.5)
    odd = [np.asfortranarray(init[0]), init[1].astype(np.float32)]
    traj = run(prob, odd, Schedule.constant(0.05), max_iter=5, loss_target=-1.0)
    r = ref.gd([odd[0], odd[1].astype(np.float64)], form, a1=0.05, max_iter=5, loss_target=-1.0)
    _assert_matches(traj, r)


# ----------------------------------------------------------------------------- environment


def test_numba_not_imported_by_package() -> None:
    code = "import sys, gdcert, gdcert.sim, gdcert.sim._numba_env; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cache_dir_and_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    folder = _numba_env.cache_dir()
    assert folder.parent == tmp_path and folder.name.startswith("sim_")
    folder.mkdir()
    for name in ("kernels._mm-1.py311.nbi", "kernels._mm-1.py311.1.nbc", "other.f-1.py311.nbi"):
        (folder / name).write_text("x")
    assert _numba_env.clear_cache() == 2
    assert [p.name for p in folder.iterdir()] == ["other.f-1.py311.nbi"]
    assert _numba_env.clear_cache() == 0


def test_cache_dir_fallback_when_package_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    in_tree = _numba_env._SIM_DIR / "__pycache__"
    real = _numba_env._writable
    monkeypatch.setattr(_numba_env, "_writable", lambda d: d != in_tree and real(d))
    config = sys.modules.get("numba.core.config")
    if config is not None:  # ensure_cache_dir updates it too: restore it after the test
        monkeypatch.setattr(config, "CACHE_DIR", getattr(config, "CACHE_DIR", ""))
    _numba_env.ensure_cache_dir()
    import os

    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "gdcert" / "numba")
    assert (tmp_path / "gdcert" / "numba").is_dir()
