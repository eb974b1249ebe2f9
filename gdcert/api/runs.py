"""Turn a simulated linear-network trajectory into a :class:`~gdcert.results.Run`: its
outcome class, the promises of the sufficient bounds that cover it, and what it reached."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from gdcert.linalg import spectral_norm
from gdcert.problem import Problem
from gdcert.results import Bound, Run
from gdcert.sim import promises as _promises
from gdcert.sim.models import Model

#: Default loss tolerance, relative to the loss scale ½‖C‖_F² (target) or ½‖Y‖_F² (data).
DEFAULT_RTOL = 1e-10
#: Gradient norm counted as zero, relative to max(‖C‖_F, 1).
GRAD_RTOL = 1e-8


def default_tolerance(problem: Problem) -> float:
    """``1e-10 ×`` the loss of the zero network."""
    return DEFAULT_RTOL * max(problem.zero_network_loss, 1e-300)


def grad_tolerance(problem: Problem) -> float:
    return GRAD_RTOL * max(float(np.linalg.norm(problem.c)), 1.0)


def etas_of(schedule: Any, n: int) -> np.ndarray:
    """η_0, …, η_{n−1} of an engine Schedule."""
    k = np.arange(n, dtype=np.float64)
    if schedule.gamma == 0.0:
        return np.full(n, min(schedule.a1, schedule.a2))
    return np.minimum(schedule.a1, schedule.a2 / (k + 1.0) ** schedule.gamma)


def invariant_norms(weights: Sequence[np.ndarray]) -> list[float]:
    """‖D_l‖ (spectral) for l = 1..L−1, D_l = W_{l+1}ᵀW_{l+1} − W_lW_lᵀ.

    The gradient-flow invariants (Nguegnang et al. eq. 2.3; Wu et al.'s D_l): constant
    under gradient flow, drifting under GD; their maximum is the balancedness b(W⃗).
    Per layer, so a report can say which layer's invariant moves.
    """
    return [spectral_norm(weights[j + 1].T @ weights[j + 1] - weights[j] @ weights[j].T)
            for j in range(len(weights) - 1)]


def covering(bounds: Sequence[Bound], schedule: Any, init_name: str) -> list[Bound]:
    """Sufficient bounds for this init (Nguegnang's: for these very weights) that admit
    every η_k of the schedule."""
    eta_max = min(schedule.a1, schedule.a2)
    out = []
    for b in bounds:
        if b.kind != "sufficient" or not b.applies:
            continue
        if not b.id.startswith("nguegnang") and b.init != init_name:
            continue
        if math.isfinite(b.max_step) and eta_max <= b.max_step * (1 + 1e-12):
            out.append(b)
    return out


def _critical_details(problem: Problem, final: Sequence[np.ndarray], loss: float,
                      tol: float) -> dict[str, Any]:
    """Rank of the product and which rank-k optimum it matches (Nguegnang et al. Thm 2.6)."""
    prod = final[0]
    for w in final[1:]:
        prod = w @ prod
    s = np.linalg.svd(prod, compute_uv=False)
    rank = int(np.sum(s > s[0] * max(prod.shape) * 1e-8)) if s.size and s[0] > 0 else 0
    losses = problem.rank_k_losses()
    match = [k for k, lk in enumerate(losses) if abs(loss - lk) <= max(tol, 1e-8 * abs(lk))]
    return {"product_rank": rank, "matches_rank_k_optimum": match[0] if match else None,
            "rank_k_optimal_losses": [float(v) for v in losses]}


def _nguegnang_checks(b: Bound, traj: Any, core_delta: float | None) -> list[Any]:
    """Prop. 3.3 (the loss never increases) and Theorem 2.4's balancedness ≤ delta_bal.

    The core checks the loss at every step, and one delta_bal per run at every step — the
    least of the covering bounds' (``core_delta``); a bound with a larger delta_bal is
    checked against the recorded balancedness instead (its detail says so)."""
    delta = float(b.extras["delta_bal"])
    out = [_promises.monotone_checked(b.id, traj)]
    if core_delta is not None and delta == core_delta:
        out.append(_promises.balancedness_checked(b.id, traj, delta))
    else:
        out.append(_promises.nguegnang_monotone(b.id, traj.step_index, traj.loss,
                                                traj.balancedness, delta)[1])
    return out


def _thm3_check(b: Bound, problem: Problem, traj: Any, tol: float) -> Any:
    """Theorem 3's limit: the final product against Φ's PSD projection (drop λ < 0)."""
    prod = traj.final_weights[0]
    for w in traj.final_weights[1:]:
        prod = w @ prod
    lam, u = np.linalg.eigh(0.5 * (problem.phi + problem.phi.T))
    psd = (u * np.clip(lam, 0.0, None)) @ u.T
    dist = float(np.linalg.norm(prod - psd))
    gap = traj.final_loss - problem.optimal_loss
    near = dist <= 1e-4 * max(float(np.linalg.norm(psd)), 1e-300)
    detail = (f"final product {dist:.3g} from the PSD projection (Frobenius)"
              + ("" if near else "; floating-point GD left the saddle Theorem 3 describes "
                 f"(it holds in exact arithmetic): loss gap {gap:.3g}"))
    return _promises.PromiseCheck(b.id, "W_L⋯W_1 → the PSD projection of Φ (exact "
                                  "arithmetic)", bool(near), dist, detail)


def _promise_checks(problem: Problem, cover: Sequence[Bound], schedule: Any, traj: Any,
                    tol: float, core_delta: float | None) -> tuple[list[Any], dict[str, Any]]:
    """Each covering bound's promise, checked at every step by the compiled core where it
    can be; extra records for the plots (Wu et al.'s envelope)."""
    checks: list[Any] = []
    extra: dict[str, Any] = {}
    constant = schedule.gamma == 0.0 or math.isinf(schedule.a2)
    for b in cover:
        if b.id == "wu_wang_ma.thm4_3":
            etas = etas_of(schedule, max(traj.iterations, 1))
            checks.append(_promises.envelope_checked(traj))
            extra["log_envelope"] = _promises.log_envelope(traj.step_index, etas)
        elif b.id.startswith("nguegnang"):
            checks.extend(_nguegnang_checks(b, traj, core_delta))
        elif b.id == "nar_sastry.lemma3" and constant:
            checks.append(_promises.lemma3_checked(traj))
        elif b.id in ("nar_sastry.thm3", "nar_sastry.thm3_sharp") and math.isfinite(
                traj.final_loss):
            checks.append(_thm3_check(b, problem, traj, tol))
    return checks, extra


def sharpness_lower_estimates(residual: Any) -> int:
    """How many tracked sharpness values missed the tracker's residual test (its product
    budget ran out first, so they are lower estimates of λ_max); 0 when not tracked."""
    from gdcert.sim.kernels import SHARP_RTOL

    if residual is None:
        return 0
    r = np.asarray(residual, dtype=np.float64)
    return int(np.sum(r > SHARP_RTOL * (1.0 + 1e-9)))


def make_run(problem: Problem, model: Model, *, seed: int, init_name: str, step_label: str,
             schedule: Any, w0: Sequence[np.ndarray], cover: Sequence[Bound], traj: Any,
             tol: float, core_delta_bal: float | None = None) -> Run:
    """Classify ``traj``, check the promises of ``cover`` and collect what the run reached."""
    opt = problem.optimal_loss
    outcome = model.classify(traj, optimal_loss=opt, tolerance=tol,
                             grad_tol=grad_tolerance(problem))
    details = dict(outcome.details)
    if outcome.label == "converged_critical":
        details.update(_critical_details(problem, traj.final_weights, traj.final_loss, tol))
    checks, extra = _promise_checks(problem, cover, schedule, traj, tol, core_delta_bal)
    if math.isfinite(traj.final_loss):
        details["invariants_final"] = invariant_norms(traj.final_weights)
        details["invariants_initial"] = invariant_norms(w0)
    constant = schedule.gamma == 0.0 or math.isinf(schedule.a2)
    records = {"step_index": traj.step_index, "loss": traj.loss, "grad_norm": traj.grad_norm,
               "balancedness": traj.balancedness, "sharpness": traj.sharpness,
               "sharpness_residual": traj.sharpness_residual,
               "invariants": traj.invariants, **extra}
    loose = sharpness_lower_estimates(traj.sharpness_residual)
    if loose:
        details["sharpness_lower_estimates"] = loose
    return Run(
        seed=seed, init=init_name, step_label=step_label,
        step_size=min(schedule.a1, schedule.a2) if constant else None,
        schedule={"a1": schedule.a1, "a2": schedule.a2, "gamma": schedule.gamma},
        outcome=outcome.label, outcome_summary=outcome.summary, iterations=traj.iterations,
        final_loss=traj.final_loss, optimal_loss=opt, tolerance=tol, promises=tuple(checks),
        details=details, records=records)
