"""Verification runs: build trajectories from a Problem, run the compiled core, classify
each run and check the sufficient theorems' promises against it.

``simulate()`` is the Python API behind ``gdcert simulate`` and ``gdcert bound --verify``.
Trajectories are sent to the compiled core in small groups so that a progress callback
can report and Ctrl-C (KeyboardInterrupt) keeps every run already finished.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gdcert import inits as _base_inits
from gdcert.errors import InputError
from gdcert.problem import Problem
from gdcert.results import Bound, jsonable
from gdcert.sim import classify as _classify
from gdcert.sim import inits as _inits
from gdcert.sim import promises as _promises

#: Default loss tolerance, relative to the loss scale ½‖C‖_F² (target) or ½‖Y‖_F² (data).
DEFAULT_RTOL = 1e-10
#: Gradient norm counted as zero, relative to max(‖C‖_F, 1).
GRAD_RTOL = 1e-8


@dataclass(frozen=True)
class InitSpec:
    """How to initialise a run: a name from :data:`gdcert.sim.inits.NAMES` and its knobs."""

    name: str = "balanced"
    sigma: float | None = None
    rank: int | None = None
    scale: float = 1.0
    file: str | None = None

    def weights(self, widths: Sequence[int], seed: int) -> list[np.ndarray]:
        return _inits.make(self.name, widths, seed=seed, sigma=self.sigma, rank=self.rank,
                           scale=self.scale, file=self.file)


@dataclass(frozen=True)
class StepSpec:
    """A step size: constant ``eta``; schedule ``min(a1, a2/(k+1)^gamma)``; or a bound.

    A bound is given by id (``nar_sastry.cor1``), optionally scaled by ``times``; for an
    init-dependent bound the run's own initialisation is used.
    """

    eta: float | None = None
    a1: float | None = None
    a2: float | None = None
    gamma: float | None = None
    bound: str | None = None
    times: float = 1.0
    #: Where the step size was written (``file:line: 'key'``): prefixes errors about it.
    where: str | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        if self.bound is not None:
            return f"{self.times:g}×{self.bound}" if self.times != 1.0 else self.bound
        if self.eta is not None:
            return f"{self.eta:.4g}"
        return f"min({self.a1:.3g}, {self.a2:.3g}/(k+1)^{self.gamma:g})"


@dataclass(frozen=True)
class Run:
    """One verification run: its settings, outcome, promises and recorded curves."""

    seed: int
    init: str
    step_label: str
    step_size: float | None
    schedule: dict[str, float]
    outcome: str
    outcome_summary: str
    iterations: int
    final_loss: float
    optimal_loss: float
    tolerance: float
    promises: tuple[_promises.PromiseCheck, ...]
    details: dict[str, Any]
    records: dict[str, Any] = field(repr=False)

    def to_dict(self, *, with_records: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seed": self.seed,
            "init": self.init,
            "step_size": jsonable(self.step_size),
            "step_label": self.step_label,
            "schedule": jsonable(self.schedule),
            "outcome": self.outcome,
            "outcome_summary": self.outcome_summary,
            "iterations": self.iterations,
            "final_loss": jsonable(self.final_loss),
            "optimal_loss": jsonable(self.optimal_loss),
            "loss_gap": jsonable(self.final_loss - self.optimal_loss),
            "tolerance": self.tolerance,
            "promises": [p.to_dict() for p in self.promises],
            "details": jsonable(self.details),
        }
        if with_records:
            out["records"] = jsonable(self.records)
        return out


@dataclass(frozen=True)
class Simulation:
    """All runs of one simulation, with the bounds they were compared against."""

    problem: dict[str, Any]
    runs: tuple[Run, ...]
    bounds: tuple[Bound, ...]
    settings: dict[str, Any]
    interrupted: bool = False

    def to_dict(self, *, with_records: bool = True) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "problem": jsonable(self.problem),
            "settings": jsonable(self.settings),
            "interrupted": self.interrupted,
            "runs": [r.to_dict(with_records=with_records) for r in self.runs],
            "bounds": [b.to_dict() for b in self.bounds],
        }


def gd_problem(problem: Problem) -> Any:
    """The compiled core's view of a Problem (sum convention on the effective data)."""
    from gdcert.sim.engine import GDProblem

    if problem.x is None:
        return GDProblem.target(problem.phi, problem.widths)
    return GDProblem.data(problem.x, problem.y, problem.widths)


def loss_scale(problem: Problem) -> float:
    """½‖Φ‖_F² (target) or ½‖Y‖_F² (data): the loss of the zero network."""
    if problem.y is None:
        return 0.5 * float(np.linalg.norm(problem.phi)) ** 2
    return 0.5 * float(np.linalg.norm(problem.y)) ** 2


def default_tolerance(problem: Problem) -> float:
    return DEFAULT_RTOL * max(loss_scale(problem), 1e-300)


def etas_of(schedule: Any, n: int) -> np.ndarray:
    """η_0, …, η_{n−1} of an engine Schedule."""
    k = np.arange(n, dtype=np.float64)
    if schedule.gamma == 0.0:
        return np.full(n, min(schedule.a1, schedule.a2))
    return np.minimum(schedule.a1, schedule.a2 / (k + 1.0) ** schedule.gamma)


def _bound_for(bounds: Sequence[Bound], bound_id: str, init: str,
               where: str | None = None) -> Bound:
    # ``where`` (file:line: 'key', from a config file) leads every message.
    at = where or "step_size.bound"
    cands = [b for b in bounds if b.id == bound_id]
    if not cands:
        from gdcert.bounds.registry import BOUND_IDS

        raise InputError(f"{at}: unknown bound id {bound_id!r}; expected one of "
                         f"{', '.join(BOUND_IDS)}")
    pick = [b for b in cands if b.init in (None, init)]
    b = pick[0] if pick else cands[0]
    if b.init not in (None, init):
        raise InputError(f"{at}: {bound_id} is for init {b.init!r}, but the run "
                         f"uses init {init!r}")
    if not b.applies:
        raise InputError(f"{at}: {bound_id} does not apply: {b.reason}")
    if not math.isfinite(b.max_step) or b.max_step <= 0:
        raise InputError(f"{at}: {bound_id} = {b.max_step} is not a usable step size")
    return b


def _nguegnang_for(problem: Problem, name: str, weights: Sequence[np.ndarray]) -> list[Bound]:
    from gdcert.bounds.registry import _nguegnang_bounds

    return _nguegnang_bounds(problem, _base_inits.from_weights(name, weights))


def rank_k_losses(problem: Problem) -> np.ndarray:
    """Least loss over products of rank ≤ k, for k = 0, …, min(d_in, d_out)."""
    if problem.x is None:
        s = problem.singular_values
        tail = np.concatenate([np.cumsum((s**2)[::-1])[::-1], [0.0]])
        return 0.5 * tail
    assert problem.sigma is not None and problem.y is not None
    lam, vec = np.linalg.eigh(problem.sigma)
    keep = lam > lam[-1] * problem.sigma.shape[0] * np.finfo(float).eps
    inv_half = (vec[:, keep] / np.sqrt(lam[keep])) @ vec[:, keep].T
    s = np.linalg.svd(problem.c @ inv_half, compute_uv=False)
    w_ls = problem.c @ np.linalg.pinv(problem.sigma, hermitian=True)
    loss_ls = 0.5 * float(np.linalg.norm(problem.y - w_ls @ problem.x)) ** 2
    tail = np.concatenate([np.cumsum((s**2)[::-1])[::-1], [0.0]])
    k_max = min(problem.d_in, problem.d_out)
    out = loss_ls + 0.5 * tail
    return out[: k_max + 1] if out.size > k_max + 1 else np.pad(
        out, (0, k_max + 1 - out.size), constant_values=out[-1])


def invariant_norms(weights: Sequence[np.ndarray]) -> list[float]:
    """‖D_l‖ (spectral) for l = 1..L−1, D_l = W_{l+1}ᵀW_{l+1} − W_lW_lᵀ.

    The gradient-flow invariants (Nguegnang et al. eq. 2.3; Wu et al.'s D_l): constant
    under gradient flow, drifting under GD; their maximum is the balancedness b(W⃗).
    Per layer, so a report can say which layer's invariant moves.
    """
    from gdcert.linalg import spectral_norm

    return [spectral_norm(weights[j + 1].T @ weights[j + 1] - weights[j] @ weights[j].T)
            for j in range(len(weights) - 1)]


def _critical_details(problem: Problem, final: Sequence[np.ndarray], loss: float,
                      tol: float) -> dict[str, Any]:
    """Rank of the product and which rank-k optimum it matches (Nguegnang et al. Thm 2.6)."""
    prod = final[0]
    for w in final[1:]:
        prod = w @ prod
    s = np.linalg.svd(prod, compute_uv=False)
    rank = int(np.sum(s > s[0] * max(prod.shape) * 1e-8)) if s.size and s[0] > 0 else 0
    losses = rank_k_losses(problem)
    match = [k for k, lk in enumerate(losses) if abs(loss - lk) <= max(tol, 1e-8 * abs(lk))]
    return {"product_rank": rank, "matches_rank_k_optimum": match[0] if match else None,
            "rank_k_optimal_losses": [float(v) for v in losses]}


def simulate(problem: Problem, *, init: InitSpec | str = "balanced",
             step_sizes: Sequence[float | StepSpec], seeds: Sequence[int] = (0,),
             iterations: int = 10_000, tolerance: float | None = None,
             track_balancedness: bool | None = None, track_sharpness: bool = False,
             track_invariants: bool = False,
             record_every: int = 0, div_factor: float = 1e6, parallel: bool = True,
             progress: Callable[[int, int], None] | None = None,
             group_size: int = 8) -> Simulation:
    """Run GD for every (step size, seed) pair; classify each run and check promises.

    ``tolerance`` is the loss gap to the optimal loss counted as converged (default
    ``1e-10 ×`` the loss of the zero network). ``track_balancedness=None`` tracks it
    when a Nguegnang et al. promise applies. Ctrl-C returns the runs already finished
    with ``interrupted=True``.
    """
    from gdcert.api import certify
    from gdcert.sim.engine import Schedule, run_batch

    spec = InitSpec(name=init) if isinstance(init, str) else init
    if int(iterations) != iterations or iterations < 1:
        raise InputError(f"iterations must be a positive integer, got {iterations!r}")
    tol = default_tolerance(problem) if tolerance is None else float(tolerance)
    if not (math.isfinite(tol) and tol > 0):
        raise InputError(f"tolerance must be a positive number, got {tolerance!r}")
    steps = [s if isinstance(s, StepSpec) else StepSpec(eta=float(s)) for s in step_sizes]
    if not steps:
        raise InputError("step_size: at least one step size is needed")
    seed_list = list(seeds) if spec.name not in _inits.DETERMINISTIC else list(seeds)[:1]
    if not seed_list:
        raise InputError("seeds: at least one seed is needed")
    # Build one init first, so a bad init is reported as such (certify() would name --init).
    spec.weights(problem.widths, seed_list[0])
    builtin = [spec.name] if spec.name in _base_inits.BUILTIN else []
    base = certify(problem, inits=builtin) if builtin else certify(problem, inits=[])
    bounds = list(base.bounds)
    opt = problem.optimal_loss
    gdp = gd_problem(problem)
    grad_tol = GRAD_RTOL * max(float(np.linalg.norm(problem.c)), 1.0)

    # Build every job: (seed, step spec, init weights, schedule, bounds covering it).
    jobs: list[dict[str, Any]] = []
    for step in steps:
        for seed in seed_list:
            w0 = spec.weights(problem.widths, seed)
            ng = _nguegnang_for(problem, spec.name, w0)
            # Nguegnang et al. depends on the actual W⃗(0): use this seed's, not certify()'s.
            run_bounds = [b for b in bounds if not b.id.startswith("nguegnang")] + [
                b for b in ng if b.applies]
            if step.bound is not None:
                pool = ng if step.bound.startswith("nguegnang") else bounds
                b = _bound_for(pool, step.bound, spec.name, step.where)
                sched = Schedule.constant(b.max_step * step.times)
            elif step.eta is not None:
                sched = Schedule.constant(step.eta)
            else:
                a1 = step.a1 if step.a1 is not None else math.inf
                a2 = step.a2 if step.a2 is not None else math.inf
                sched = Schedule(a1=a1, a2=a2, gamma=step.gamma or 0.0)
            jobs.append({"seed": seed, "step": step, "w0": w0, "schedule": sched,
                         "ng": ng, "bounds": run_bounds})
    covers = [_covering(job, spec.name) for job in jobs]
    track_bal = (any(any(b.id.startswith("nguegnang") for b in c) for c in covers)
                 if track_balancedness is None else track_balancedness)

    runs: list[Run] = []
    interrupted = False
    try:
        for start in range(0, len(jobs), group_size):
            group = jobs[start:start + group_size]
            trajs = run_batch(gdp, [j["w0"] for j in group], [j["schedule"] for j in group],
                              max_iter=int(iterations), loss_target=opt + tol,
                              div_factor=div_factor, record_every=record_every,
                              track_balancedness=track_bal, track_sharpness=track_sharpness,
                              track_invariants=track_invariants,
                              parallel=parallel)
            for j, cov, traj in zip(group, covers[start:start + group_size], trajs, strict=True):
                runs.append(_make_run(problem, spec, j, cov, traj, opt, tol, grad_tol))
            if progress is not None:
                progress(len(runs), len(jobs))
    except KeyboardInterrupt:
        interrupted = True
    settings = {"init": spec.__dict__, "iterations": int(iterations), "tolerance": tol,
                "seeds": seed_list, "step_sizes": [s.label for s in steps],
                "track_balancedness": track_bal or track_invariants,
                "track_sharpness": track_sharpness, "track_invariants": track_invariants}
    return Simulation(problem=problem.summary(), runs=tuple(runs), bounds=tuple(bounds),
                      settings=settings, interrupted=interrupted)


def _covering(job: dict[str, Any], init_name: str) -> list[Bound]:
    """Sufficient bounds whose init is this run's and that admit every η_k of the run."""
    sched = job["schedule"]
    eta_max = min(sched.a1, sched.a2)
    out = []
    for b in job["bounds"]:
        if b.kind != "sufficient" or not b.applies:
            continue
        if not b.id.startswith("nguegnang") and b.init != init_name:
            continue
        if math.isfinite(b.max_step) and eta_max <= b.max_step * (1 + 1e-12):
            out.append(b)
    return out


def _make_run(problem: Problem, spec: InitSpec, job: dict[str, Any], cover: list[Bound],
              traj: Any, opt: float, tol: float, grad_tol: float) -> Run:
    sched = job["schedule"]
    outcome = _classify.classify(traj, optimal_loss=opt, tolerance=tol, grad_tol=grad_tol)
    details = dict(outcome.details)
    if outcome.label == "converged_critical":
        details.update(_critical_details(problem, traj.final_weights, traj.final_loss, tol))
    checks: list[_promises.PromiseCheck] = []
    constant = sched.gamma == 0.0 or math.isinf(sched.a2)
    eta0 = min(sched.a1, sched.a2)
    for b in cover:
        if b.id == "wu_wang_ma.thm4_3":
            etas = etas_of(sched, max(traj.iterations, 1))
            checks.append(_promises.wu_envelope(traj.step_index, traj.loss, etas, opt))
        elif b.id.startswith("nguegnang"):
            checks.extend(_promises.nguegnang_monotone(
                b.id, traj.step_index, traj.loss, traj.balancedness,
                float(b.extras["delta_bal"])))
        elif b.id == "nar_sastry.lemma3" and constant:
            checks.append(_promises.lemma3_final(traj.final_weights, problem.phi, eta0,
                                                 traj.iterations))
    if math.isfinite(traj.final_loss):
        details["invariants_final"] = invariant_norms(traj.final_weights)
        details["invariants_initial"] = invariant_norms(job["w0"])
    records = {"step_index": traj.step_index, "loss": traj.loss, "grad_norm": traj.grad_norm,
               "balancedness": traj.balancedness, "sharpness": traj.sharpness,
               "invariants": traj.invariants}
    return Run(
        seed=job["seed"], init=spec.name, step_label=job["step"].label,
        step_size=eta0 if constant else None,
        schedule={"a1": sched.a1, "a2": sched.a2, "gamma": sched.gamma},
        outcome=outcome.label, outcome_summary=outcome.summary, iterations=traj.iterations,
        final_loss=traj.final_loss, optimal_loss=opt, tolerance=tol, promises=tuple(checks),
        details=details, records=records)
