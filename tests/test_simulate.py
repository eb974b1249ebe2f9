"""``gdcert.simulate`` on deep linear networks: one pinned construction per
outcome class, and properties of the bounds checked by simulation (hypothesis).

Pinned constructions (each asserted below, with why it behaves so):

* converged_global — identity init on the SPD ``sample_inputs/spd_4x4.npy`` (eigenvalues
  0.5, 1, 2, 3), L = 3, at Nar & Sastry's Lemma 3 bound.
* diverged — the same at 3 × Corollary 1 (3 × 2/(Lρ^{2(L−1)/L})).
* oscillating — Φ = diag(2, 1), L = 2, identity init, η = 1.1 × Corollary 1 = 0.55. From
  ``W_j(0) = I`` the layers stay ``diag(w, 1)`` with ``w ← w − ηw(w² − 2)``; past
  η = 2/(Lρ^{2(L−1)/L}) = 0.5 the balanced minimum w = √2 is unstable and w settles on the
  stable 2-cycle {1.1519…, 1.5784…} (roots of g(g(w)) = w), so the classifier's amplitude
  ½‖θ_{k+1} − θ_k‖ is |w₁ − w₂|/√2 (two layers move). Also spd_4x4, L = 3, 1.2 × Cor. 1.
* plateau — (a) d = 1, L = 6, Φ = −1, identity init, η = 0.01, 30 000 iterations: every
  layer is w with ``w ← w − ηw⁵(w⁶ + 1)``, so the product is pulled to the saddle at 0 and
  w ~ (4ηk)^{−1/4}: the loss creeps towards ½ with a vanishing (but nonzero) gradient;
  (b) Wu, Wang & Ma Fig. 3: near-identity init (eq. 5.1) on Φ = −I₄, L = 6, η = 0.01, seed 1
  stalls at loss ≈ ½ for 3000 iterations (seeds 0 and 2 converge).
* converged_critical — (a) Nar & Sastry Theorem 3: identity init on Φ = diag(2, −1), L = 2:
  the negative direction obeys ``w ← w − ηw(w² + 1)`` → 0, so the product converges to the
  closest PSD matrix diag(2, 0), loss ½ = the best rank-1 loss; (b) a rank-1 balanced init
  on the rank-2 target diag(2, 1) at L = 3 keeps every layer rank 1 (each gradient is rank 1
  in the same frames), so GD converges to the best rank-1 approximation. Both report
  ``product_rank = 1`` and ``matches_rank_k_optimum = 1``.
* unfinished — a budget of 5 iterations.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.polynomial import polynomial as npoly

from gdcert.api import simulate
from gdcert.bounds import nar_sastry, wu_wang_ma
from gdcert.errors import InputError
from gdcert.problem import Problem
from gdcert.spec import InitSpec, StepSpec

SAMPLES = Path(__file__).resolve().parent.parent / "sample_inputs"
SPD = np.load(SAMPLES / "spd_4x4.npy")
PROPERTY = settings(max_examples=12, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def one_run(problem: Problem, step: float | StepSpec, *, init: InitSpec | str = "identity",
            seed: int = 0, **kw):
    sim = simulate(problem, init=init, step_sizes=[step], seeds=[seed], **kw)
    assert len(sim.runs) == 1 and not sim.interrupted
    return sim.runs[0]


def cor1(phi: np.ndarray, depth: int) -> float:
    return nar_sastry.cor1(rho=float(np.linalg.norm(phi, 2)), depth=depth).max_step


def promise(run, bound_id: str):
    hits = [p for p in run.promises if p.bound_id == bound_id]
    assert hits, (bound_id, [p.bound_id for p in run.promises])
    return hits


# --------------------------------------------------------------------------- each class


def test_converged_global_identity_at_lemma3() -> None:
    p = Problem.from_target(SPD, depth=3)
    run = one_run(p, StepSpec(bound="nar_sastry.lemma3"), iterations=5000)
    assert run.outcome == "converged_global", run.outcome_summary
    assert run.iterations < 5000 and run.final_loss - run.optimal_loss <= run.tolerance
    (lemma3,) = promise(run, "nar_sastry.lemma3")
    assert lemma3.held and 0 < lemma3.worst_margin <= 1
    # the step size really is Lemma 3's δ_c(λ_max) = 1/(L λ_max^{2(L−1)/L}), λ_max = 3
    assert run.step_size == pytest.approx(1.0 / (3 * 3.0 ** (4 / 3)), rel=1e-12)


def test_diverged_at_three_times_cor1() -> None:
    p = Problem.from_target(SPD, depth=3)
    run = one_run(p, StepSpec(bound="nar_sastry.cor1", times=3.0), iterations=5000)
    assert run.step_size == pytest.approx(3 * cor1(SPD, 3), rel=1e-12)
    assert run.outcome == "diverged", run.outcome_summary
    k = run.details["diverged_at"]
    assert k == run.iterations and 1 <= k < 50
    assert f"iteration {k}" in run.outcome_summary
    loss0 = float(run.records["loss"][0])
    assert not (run.final_loss <= 1e6 * loss0)  # past the divergence factor (or not finite)
    assert run.promises == ()  # no sufficient bound admits this step size


def _two_cycle(eta: float, lam: float) -> tuple[float, float]:
    """The real 2-cycle {w₁, w₂} of g(w) = w − ηw(w² − λ) with both points > 0.

    (The other real 2-cycle is the symmetric ±√(λ + 2/η).)
    """
    g = np.array([0.0, 1.0 + eta * lam, 0.0, -eta])  # coefficients, lowest degree first
    gg = np.zeros(1)
    power = np.ones(1)
    for c in g:  # g(g(w)) = Σ_i c_i g(w)^i
        gg = npoly.polyadd(gg, c * power)
        power = npoly.polymul(power, g)
    roots = npoly.polyroots(npoly.polysub(gg, [0.0, 1.0]))
    real = roots[np.abs(roots.imag) < 1e-9].real
    fixed = {0.0, math.sqrt(lam), -math.sqrt(lam)}
    cyc = sorted(w for w in real if w > 0 and w - eta * w * (w * w - lam) > 0
                 and min(abs(w - f) for f in fixed) > 1e-6)
    assert len(cyc) == 2, real
    w1, w2 = cyc
    assert w1 - eta * w1 * (w1 * w1 - lam) == pytest.approx(w2, rel=1e-9)
    return w1, w2


def test_oscillating_two_cycle_of_the_balanced_minimum() -> None:
    phi = np.diag([2.0, 1.0])
    p = Problem.from_target(phi, depth=2)
    assert cor1(phi, 2) == pytest.approx(0.5)
    run = one_run(p, StepSpec(bound="nar_sastry.cor1", times=1.1), iterations=3000)
    assert run.step_size == pytest.approx(0.55)
    assert run.outcome == "oscillating", run.outcome_summary
    w1, w2 = _two_cycle(0.55, 2.0)
    assert run.details["amplitude"] == pytest.approx(abs(w2 - w1) / math.sqrt(2), rel=1e-9)
    assert run.details["step_norm_two"] <= 1e-12
    # the loss is ½(w² − 2)² at one of the two points of the cycle
    assert min(abs(run.final_loss - 0.5 * (w * w - 2) ** 2) for w in (w1, w2)) < 1e-12
    # below the threshold the same init converges
    run = one_run(p, StepSpec(bound="nar_sastry.cor1", times=0.9), iterations=3000)
    assert run.outcome == "converged_global"


def test_oscillating_deeper_spd() -> None:
    p = Problem.from_target(SPD, depth=3)
    run = one_run(p, StepSpec(bound="nar_sastry.cor1", times=1.2), iterations=3000)
    assert run.outcome == "oscillating", run.outcome_summary
    assert run.details["step_norm_two"] <= 1e-3 * run.details["step_norm_last"]
    assert run.details["amplitude"] == pytest.approx(0.5 * run.details["step_norm_last"])


def test_plateau_scalar_product_pulled_to_the_saddle() -> None:
    p = Problem.from_target(-np.ones((1, 1)), depth=6)
    run = one_run(p, 0.01, iterations=30_000)
    assert run.outcome == "plateau", run.outcome_summary
    # loss ½(w⁶ + 1)² → ½ from above; w ≈ (4ηk)^{−1/4} ≈ 0.17, so ‖∇ℓ‖ = √6 w⁵(w⁶ + 1)
    w = (4 * 0.01 * 30_000) ** -0.25
    assert run.final_loss == pytest.approx(0.5, abs=1e-3) and run.final_loss > 0.5
    assert run.details["grad_norm"] == pytest.approx(math.sqrt(6) * w**5, rel=0.1)
    # at a tenth of the budget the loss is still visibly moving: not (yet) a plateau
    assert one_run(p, 0.01, iterations=3000).outcome == "unfinished"


def test_plateau_wu_fig3_near_identity_on_minus_identity() -> None:
    p = Problem.from_target(-np.eye(4), depth=6)
    sim = simulate(p, init="near_identity", step_sizes=[0.01], seeds=[0, 1, 2],
                   iterations=3000)
    outcomes = {r.seed: r.outcome for r in sim.runs}
    assert outcomes == {0: "converged_global", 1: "plateau", 2: "converged_global"}
    stuck = sim.runs[1]
    # one eigen-direction of −I left unfitted: loss ½·1² (the saddle's loss)
    assert stuck.final_loss == pytest.approx(0.5, abs=1e-3)
    assert stuck.details["grad_norm"] < 1e-2 * float(np.max(stuck.records["grad_norm"]))


def test_converged_critical_identity_on_indefinite_target() -> None:
    p = Problem.from_target(np.diag([2.0, -1.0]), depth=2)
    assert p.optimal_loss == 0.0
    run = one_run(p, 0.1, iterations=2000)
    assert run.outcome == "converged_critical", run.outcome_summary
    assert run.final_loss == pytest.approx(0.5, rel=1e-12)  # ½ Σ_{λ<0} λ²
    assert run.details["product_rank"] == 1
    assert run.details["matches_rank_k_optimum"] == 1
    assert run.details["rank_k_optimal_losses"] == pytest.approx([2.5, 0.5, 0.0])


@pytest.mark.parametrize("seed", [0, 1])
def test_converged_critical_rank_one_balanced_on_rank_two(seed: int) -> None:
    p = Problem.from_target(np.diag([2.0, 1.0]), depth=3)
    run = one_run(p, 0.05, init=InitSpec(name="balanced", rank=1), seed=seed, iterations=1000)
    assert run.outcome == "converged_critical", run.outcome_summary
    assert run.details["product_rank"] == 1
    assert run.details["matches_rank_k_optimum"] == 1
    assert run.final_loss == pytest.approx(0.5, rel=1e-9)
    # the full-rank balanced init with the same seed and step size fits the target
    assert one_run(p, 0.05, init="balanced", seed=seed, iterations=5000).outcome \
        == "converged_global"


def test_unfinished_tiny_budget() -> None:
    p = Problem.from_target(SPD, depth=3)
    run = one_run(p, StepSpec(bound="nar_sastry.lemma3"), iterations=5)
    assert run.outcome == "unfinished", run.outcome_summary
    assert run.iterations == 5 and run.details["grad_norm"] > 0
    # the Lemma 3 promise is about every iterate, so it holds after 5 steps too
    assert all(c.held for c in promise(run, "nar_sastry.lemma3"))


# --------------------------------------------------------------------------- runner API


def test_run_to_dict_fields() -> None:
    p = Problem.from_target(SPD, depth=3)
    sim = simulate(p, init="identity", step_sizes=[0.05, StepSpec(bound="nar_sastry.cor1")],
                   iterations=200)
    doc = sim.to_dict(with_records=False)
    assert [r["step_label"] for r in doc["runs"]] == ["0.05", "nar_sastry.cor1"]
    for r in doc["runs"]:
        assert {"seed", "step_size", "init", "outcome", "iterations", "final_loss",
                "optimal_loss", "promises"} <= set(r)
        assert "records" not in r
    assert "records" in sim.to_dict()["runs"][0]


def test_deterministic_init_runs_once_per_step() -> None:
    p = Problem.from_target(SPD, depth=2)
    sim = simulate(p, init="identity", step_sizes=[0.05], seeds=[0, 1, 2], iterations=10)
    assert [r.seed for r in sim.runs] == [0]


def test_schedule_runs_have_no_single_step_size() -> None:
    p = Problem.from_target(SPD, depth=2)
    run = one_run(p, StepSpec(a1=0.05, a2=0.2, gamma=0.5), iterations=50)
    assert run.step_size is None
    assert run.schedule == {"a1": 0.05, "a2": 0.2, "gamma": 0.5}


@pytest.mark.parametrize(("step", "needle"), [
    (StepSpec(bound="nar_sastry.nope"), "unknown bound id"),
    (StepSpec(bound="wu_wang_ma.thm4_3"), "is for init 'zas'"),
    (StepSpec(bound="nar_sastry.thm2", where="c.yaml:9: 'step_size.bound'"),
     "c.yaml:9: 'step_size.bound': nar_sastry.thm2 does not apply"),
])
def test_bad_bound_step_sizes(step: StepSpec, needle: str) -> None:
    p = Problem.from_target(np.diag([1.0, -1.0]), depth=2)
    with pytest.raises(InputError, match=needle.replace("(", r"\(")):
        simulate(p, init="identity", step_sizes=[step], iterations=10)


# --------------------------------------------------------------------------- properties


@st.composite
def spd_targets(draw: st.DrawFn, *, lam_min: float = 0.2, lam_max: float = 3.0):
    d = draw(st.integers(1, 4))
    lam = draw(st.lists(st.floats(lam_min, lam_max), min_size=d, max_size=d))
    seed = draw(st.integers(0, 2**16))
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    phi = (q * np.asarray(lam)) @ q.T
    return 0.5 * (phi + phi.T)


@PROPERTY
@given(phi=spd_targets(), depth=st.integers(1, 4), times=st.floats(0.3, 1.0))
def test_identity_at_lemma3_converges_with_promise(phi: np.ndarray, depth: int,
                                                   times: float) -> None:
    p = Problem.from_target(phi, depth=depth)
    run = one_run(p, StepSpec(bound="nar_sastry.lemma3", times=times), iterations=20_000)
    assert run.outcome == "converged_global", run.outcome_summary
    (lemma3,) = promise(run, "nar_sastry.lemma3")
    assert lemma3.held, lemma3


@PROPERTY
@given(d=st.integers(1, 3), depth=st.integers(1, 4), target_seed=st.integers(0, 2**16),
       init=st.sampled_from(["gaussian", "xavier", "balanced"]), seed=st.integers(0, 100),
       times=st.floats(1.2, 3.0))
def test_above_cor1_never_converges_globally(d: int, depth: int, target_seed: int, init: str,
                                             seed: int, times: float) -> None:
    phi = np.random.default_rng(target_seed).standard_normal((d, d))
    p = Problem.from_target(phi, depth=depth)
    run = one_run(p, StepSpec(bound="nar_sastry.cor1", times=times), init=init, seed=seed,
                  iterations=2000)
    assert run.outcome != "converged_global", run.outcome_summary


@PROPERTY
@given(d=st.integers(1, 3), depth=st.integers(2, 5), target_seed=st.integers(0, 2**16),
       scale=st.floats(0.1, 2.0))
def test_zas_at_wu_bound_keeps_the_envelope(d: int, depth: int, target_seed: int,
                                            scale: float) -> None:
    phi = scale * np.random.default_rng(target_seed).standard_normal((d, d))
    p = Problem.from_target(phi, depth=depth)
    run = one_run(p, StepSpec(bound="wu_wang_ma.thm4_3"), init="zas", iterations=2000,
                  record_every=1)
    expected = wu_wang_ma.thm4_3(fro_norm=float(np.linalg.norm(phi)), depth=depth,
                                 square=True, square_layers=True).max_step
    assert run.step_size == pytest.approx(expected, rel=1e-12)
    assert run.records["step_index"].size == 2001
    (wu,) = promise(run, "wu_wang_ma.thm4_3")
    assert wu.held, wu
    assert wu.worst_margin <= 1.0
