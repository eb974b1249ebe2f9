"""Promise checks (``gdcert.sim.promises``): each holds on runs at its bound, and is
reported violated on a constructed trajectory that breaks it.

* Wu, Wang & Ma (2019) Theorem 4.3: ``R(t) ≤ Π_{k<t}(1 − η_k/2) R(0)``;
* Nguegnang, Rauhut & Terstiege (2021) Theorem 2.4 / Prop. 3.3: the loss never increases
  and the balancedness stays ≤ ``delta_bal``;
* Nar & Sastry (2018) Lemma 3: ``|w_i[k] − λ_i^{1/L}| ≤ β_i^k |1 − λ_i^{1/L}|``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from gdcert.api import simulate
from gdcert.bounds.nar_sastry import lemma3_beta
from gdcert.problem import Problem
from gdcert.sim import promises
from gdcert.spec import InitSpec, StepSpec

SAMPLES = Path(__file__).resolve().parent.parent / "sample_inputs"
SPD = np.load(SAMPLES / "spd_4x4.npy")  # eigenvalues 0.5, 1, 2, 3


def checks(run, bound_id: str) -> list[promises.PromiseCheck]:
    hits = [c for c in run.promises if c.bound_id == bound_id]
    assert hits, (bound_id, [c.bound_id for c in run.promises])
    return hits


# --------------------------------------------------------------------------- Wu et al.


def test_wu_envelope_held_on_zas_run_at_the_bound() -> None:
    phi = np.array([[0.6, -0.2], [0.1, 0.4]])
    p = Problem.from_target(phi, depth=3)
    sim = simulate(p, init="zas", step_sizes=[StepSpec(bound="wu_wang_ma.thm4_3")],
                   iterations=2000, record_every=1)
    (wu,) = checks(sim.runs[0], "wu_wang_ma.thm4_3")
    assert wu.held and wu.worst_margin <= 1.0
    assert "every step" in wu.detail and "2001 iterates" in wu.detail


def test_wu_envelope_by_hand() -> None:
    steps = np.arange(5)
    etas = np.full(4, 0.5)  # (1 − η/2) = 0.75 per step
    env = 2.0 * 0.75 ** steps
    assert promises.log_envelope(steps, etas) == pytest.approx(steps * math.log(0.75))
    on = promises.wu_envelope(steps, env, etas)
    assert on.held and on.worst_margin == pytest.approx(1.0)
    above = env.copy()
    above[3] *= 1.01
    out = promises.wu_envelope(steps, above, etas)
    assert not out.held
    assert out.worst_margin == pytest.approx(1.01)
    assert "t = 3" in out.detail
    # the optimal loss is subtracted: R = loss − optimum
    assert promises.wu_envelope(steps, env + 7.0, etas, optimal_loss=7.0).held
    assert not promises.wu_envelope(steps, env + 7.0, etas).held


def test_wu_envelope_schedule_uses_each_step() -> None:
    steps = np.arange(4)
    etas = np.array([0.2, 0.4, 0.6])
    factors = np.concatenate([[1.0], np.cumprod(1 - etas / 2)])
    assert promises.wu_envelope(steps, factors, etas).held
    # a constant step at the first η would promise less decrease: this sequence breaks it
    slow = np.concatenate([[1.0], np.cumprod(np.full(3, 1 - 0.2 / 2))])
    assert not promises.wu_envelope(steps, slow, etas).held


def test_wu_envelope_started_at_optimum() -> None:
    zero = promises.wu_envelope(np.arange(3), np.zeros(3), np.full(2, 0.1))
    assert zero.held and "optimum" in zero.detail


def test_wu_envelope_long_runs_in_log_space() -> None:
    """(1 − η/2)^t underflows for t = 10⁶, η = 0.01 (e^{−5000}); R = 0 there still holds."""
    steps = np.array([0, 1_000_000])
    etas = np.full(1_000_000, 0.01)
    assert promises.wu_envelope(steps, np.array([1.0, 0.0]), etas).held
    out = promises.wu_envelope(steps, np.array([1.0, 1e-300]), etas)
    assert not out.held and math.isinf(out.worst_margin)


def test_wu_envelope_broken_by_a_run_at_a_larger_step() -> None:
    """A real ZAS run, checked against the envelope of a step 100× larger than it took."""
    phi = np.array([[0.6, -0.2], [0.1, 0.4]])
    p = Problem.from_target(phi, depth=3)
    run = simulate(p, init="zas", step_sizes=[StepSpec(bound="wu_wang_ma.thm4_3")],
                   iterations=500, record_every=1).runs[0]
    etas = np.full(run.iterations, 100 * run.step_size)
    out = promises.wu_envelope(run.records["step_index"], run.records["loss"], etas)
    assert not out.held and out.worst_margin > 1


# --------------------------------------------------------------------------- Nguegnang et al.


@pytest.mark.parametrize("bound_id", ["nguegnang.thm2_4", "nguegnang.thm2_4_default"])
def test_nguegnang_held_on_balanced_run_at_the_bound(bound_id: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 12))
    y = rng.standard_normal((2, 12))
    p = Problem.from_data(x, y, depth=3, widths=(3, 3, 3, 2))
    sim = simulate(p, init=InitSpec(name="balanced", scale=0.5),
                   step_sizes=[StepSpec(bound=bound_id)], seeds=[0, 1], iterations=3000)
    for run in sim.runs:
        found = checks(run, bound_id)
        assert {c.promise.split(" =")[0] for c in found} == {
            "the loss never increases", "balancedness ≤ delta_bal"}
        assert all(c.held for c in found), found
        assert run.records["balancedness"] is not None  # tracked because the bound covers it


def test_nguegnang_loss_increase_is_a_violation() -> None:
    steps = np.array([0, 10, 20, 30])
    loss = np.array([4.0, 3.0, 3.5, 1.0])
    mono, bal = promises.nguegnang_monotone("nguegnang.thm2_4", steps, loss,
                                            np.array([0.1, 0.2, 0.2, 0.1]), 0.5)
    assert not mono.held
    assert mono.worst_margin == pytest.approx(1.0 + 0.5 / 4.0)
    assert "t = 20" in mono.detail and "0.5" in mono.detail
    assert bal.held and bal.worst_margin == pytest.approx(0.4)
    # non-increasing (with equal neighbours) is held
    (ok, _) = promises.nguegnang_monotone("nguegnang.thm2_4", steps,
                                          np.array([4.0, 3.0, 3.0, 1.0]), np.zeros(4), 0.5)
    assert ok.held and ok.worst_margin == 1.0


def test_nguegnang_balancedness_above_delta_bal_is_a_violation() -> None:
    steps = np.array([0, 1, 2])
    _, bal = promises.nguegnang_monotone("nguegnang.thm2_4", steps, np.array([3.0, 2.0, 1.0]),
                                         np.array([0.1, 0.7, 0.3]), 0.5)
    assert not bal.held
    assert bal.worst_margin == pytest.approx(1.4)
    assert "t = 1" in bal.detail


def test_nguegnang_untracked_balancedness_is_reported_unchecked() -> None:
    _, bal = promises.nguegnang_monotone("nguegnang.thm2_4", np.arange(2),
                                         np.array([1.0, 0.5]), None, 0.5)
    assert bal.held is None
    assert "not checked" in bal.detail and math.isnan(bal.worst_margin)


# --------------------------------------------------------------------------- Nar & Sastry


def test_lemma3_held_at_the_bound_along_the_run() -> None:
    """Checked at several budgets, so at several iterates k, not only at convergence."""
    p = Problem.from_target(SPD, depth=3)
    for budget in (1, 7, 30, 5000):
        run = simulate(p, init="identity", step_sizes=[StepSpec(bound="nar_sastry.lemma3")],
                       iterations=budget).runs[0]
        (c,) = checks(run, "nar_sastry.lemma3")
        assert c.held, (budget, c)
        assert f"k = 0..{run.iterations}" in c.detail and "every step" in c.detail


def _lemma3_eta(depth: int, lam_max: float) -> float:
    return 1.0 / (depth * lam_max ** (2 * (depth - 1) / depth))


def test_lemma3_violated_when_the_layers_do_not_move() -> None:
    depth = 3
    eta = _lemma3_eta(depth, 3.0)
    still = [np.eye(4)] * depth  # "after 100 iterations" still at W_j(0) = I
    out = promises.lemma3_final(still, SPD, eta, 100, beta=lemma3_beta)
    assert not out.held and out.worst_margin > 1
    # at k = 0 the promise is |w − λ^{1/L}| ≤ |1 − λ^{1/L}|: I meets it with equality
    assert promises.lemma3_final(still, SPD, eta, 0, beta=lemma3_beta).held


def test_lemma3_held_at_the_limit_and_margin_by_hand() -> None:
    depth, eta, k = 2, 0.1, 20
    phi = np.diag([4.0, 0.25])
    root = np.diag([2.0, 0.5])
    assert promises.lemma3_final([root, root], phi, eta, k, beta=lemma3_beta).held
    # per-direction error e_i with promise β_i^k |1 − λ_i^{1/2}|; put 2× the promise on λ = 4
    beta = abs(lemma3_beta(4.0, depth, eta))
    promised = beta**k * abs(1.0 - 2.0)
    w = np.diag([2.0 + 2.0 * promised, 0.5])
    out = promises.lemma3_final([w, w], phi, eta, k, beta=lemma3_beta)
    assert not out.held
    assert out.worst_margin == pytest.approx(2.0, rel=1e-5)  # less a 1e-9 rounding slack
    assert "λ = 4" in out.detail


# --------------------------------------------------------------------------- every step


def test_monotone_checked_at_every_step_catches_a_period_two_orbit() -> None:
    """ℓ = ½(w₂w₁ − 2)², η = 0.54: a 2-cycle whose loss rises by 75% every other step.
    Records at stride 20 see one phase only, so the record-based check passes; the
    kernel's per-step check fails, naming the first rising step."""
    from gdcert.sim.engine import GDProblem, Schedule, run

    try:
        from tests import reference as ref
    except ImportError:  # pragma: no cover
        import reference as ref  # type: ignore[no-redef]

    phi = np.array([[2.0]])
    init = [np.array([[1.0]]), np.array([[1.2]])]
    traj = run(GDProblem.target(phi, (1, 1, 1)), init, Schedule.constant(0.54),
               max_iter=4000, loss_target=-1.0, record_every=20)
    lo, hi = sorted(traj.tail_loss[-2:])
    assert hi / lo == pytest.approx(1.757, abs=0.01)  # the 75% rise, every other step
    (old, _) = promises.nguegnang_monotone("nguegnang.thm2_4", traj.step_index, traj.loss,
                                           None, 1.0)
    assert old.held  # decimated records: blind to it
    new = promises.monotone_checked("nguegnang.thm2_4", traj)
    assert new.held is False
    # the first rise, from the reference's per-step losses
    r = ref.gd(init, ref.Form(phi=phi), a1=0.54, max_iter=50, loss_target=-1.0)
    first = next(k for k in range(1, 51) if r.loss[k] > r.loss[k - 1] * (1 + 1e-9))
    assert traj.first_violation["monotone"] == first
    assert f"step k = {first}" in new.detail
    worst = max((r.loss[k] - r.loss[k - 1]) for k in range(1, 51))
    assert new.worst_margin >= 1.0 + worst / r.loss[0] - 1e-12


def test_envelope_and_balancedness_every_step_match_full_records() -> None:
    """With records at every step, the kernel's per-step promises equal the record-based
    checks: the same worst ratio, and the first violation is the first bad record."""
    from gdcert.sim.engine import GDProblem, Schedule, run

    phi = np.array([[0.6, -0.2], [0.1, 0.4]])
    zas = [np.eye(2), np.eye(2), np.zeros((2, 2))]
    prob = GDProblem.target(phi, (2, 2, 2, 2))
    held = []
    for eta in (0.01, 0.6):
        traj = run(prob, zas, Schedule.constant(eta), max_iter=300, loss_target=-1.0,
                   record_every=1, envelope=True)
        wu = promises.wu_envelope(traj.step_index, traj.loss,
                                  np.full(traj.iterations, eta))
        every = promises.envelope_checked(traj)
        assert every.held == wu.held
        assert every.worst_margin == pytest.approx(wu.worst_margin, rel=1e-9)
        env = traj.loss[0] * (1 - eta / 2) ** traj.step_index
        bad = np.flatnonzero(traj.loss > env * (1 + promises.RTOL))
        assert traj.first_violation["envelope"] == (int(bad[0]) if bad.size else None)
        held.append(every.held)
    assert held == [True, False]  # η = 0.6 breaks the envelope

    # balancedness of a random init drifts under GD; put delta_bal half-way up the drift
    rng = np.random.default_rng(1)
    init = [0.3 * rng.standard_normal((2, 2)) for _ in range(3)]
    free = run(prob, init, Schedule.constant(0.3), max_iter=300, loss_target=-1.0,
               record_every=1, track_balancedness=True)
    b = free.balancedness
    assert b.max() > (1 + 1e-5) * b[0] and np.argmax(b) > 0
    delta_bal = 0.5 * (b[0] + b.max())
    traj = run(prob, init, Schedule.constant(0.3), max_iter=300, loss_target=-1.0,
               record_every=7, promise_delta_bal=delta_bal)
    bal = promises.balancedness_checked("nguegnang.thm2_4", traj, delta_bal)
    assert not bal.held
    assert bal.worst_margin == pytest.approx(b.max() / delta_bal, rel=1e-12)
    assert traj.first_violation["balancedness"] == int(
        np.flatnonzero(b > delta_bal * (1 + promises.RTOL))[0])
    assert traj.promise_worst_step["balancedness"] == int(np.argmax(b))


def test_lemma3_every_step_held_at_the_bound_and_broken_above() -> None:
    from gdcert.sim.engine import GDProblem, Schedule, run

    depth = 3
    prob = GDProblem.target(SPD, (4, 4, 4, 4))
    eta = _lemma3_eta(depth, 3.0)
    spec = promises.lemma3_promise(SPD, depth, eta, beta=lemma3_beta)
    traj = run(prob, [np.eye(4)] * depth, Schedule.constant(eta), max_iter=400,
               loss_target=-1.0, lemma3=spec)
    c = promises.lemma3_checked(traj)
    assert c.held and c.worst_margin <= 1.0 and "every step" in c.detail
    # the record-free per-step check agrees with lemma3_final at the final iterate
    assert promises.lemma3_final(traj.final_weights, SPD, eta, traj.iterations,
                                 beta=lemma3_beta).held
    # 1.9× the step: the top direction overshoots, |w − λ^{1/L}| exceeds β^k|1 − λ^{1/L}|
    big = 1.9 * eta
    traj = run(prob, [np.eye(4)] * depth, Schedule.constant(big), max_iter=400,
               loss_target=-1.0,
               lemma3=promises.lemma3_promise(SPD, depth, big, beta=lemma3_beta))
    c = promises.lemma3_checked(traj)
    assert not c.held
    k = traj.first_violation["lemma3"]
    assert k is not None and k >= 1
    # cross-check the first violating step with lemma3_final on the iterates themselves
    from gdcert.sim.engine import run as run1

    before = run1(prob, [np.eye(4)] * depth, Schedule.constant(big), max_iter=k - 1,
                  loss_target=-1.0)
    at = run1(prob, [np.eye(4)] * depth, Schedule.constant(big), max_iter=k,
              loss_target=-1.0)
    assert promises.lemma3_final(before.final_weights, SPD, big, k - 1, beta=lemma3_beta).held
    assert not promises.lemma3_final(at.final_weights, SPD, big, k, beta=lemma3_beta).held


def test_every_step_checks_report_unchecked_when_not_run() -> None:
    from gdcert.sim.engine import GDProblem, Schedule, run

    traj = run(GDProblem.target(SPD, (4, 4)), [np.eye(4)], Schedule.constant(0.1),
               max_iter=3, loss_target=-1.0)
    assert set(traj.first_violation) == {"monotone"}
    for c in (promises.envelope_checked(traj), promises.lemma3_checked(traj),
              promises.balancedness_checked("nguegnang.thm2_4", traj, 1.0)):
        assert c.held is None and "not checked" in c.detail
