"""``simulate``: verification GD on a deep linear network, every run classified and checked.

Data flow: the bounds are computed once for the problem and the run's init (or passed in
by a caller that already has them), step sizes given as ``{bound: id}`` are resolved
here, each seed's weights are drawn from the one init registry, and the simulation layer
only ever sees weights and schedules (:mod:`gdcert.sim.models`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gdcert import inits as _inits
from gdcert.api.runs import covering, default_tolerance, make_run
from gdcert.errors import InputError
from gdcert.problem import Problem
from gdcert.results import Bound, Simulation
from gdcert.spec import BOUND_IDS, InitSpec, StepSpec
from gdcert.validate import check_iterations, check_seeds


def gd_problem(problem: Problem) -> Any:
    """The compiled core's view of a Problem (sum convention on the effective data)."""
    from gdcert.sim.engine import GDProblem

    if problem.x is None:
        return GDProblem.target(problem.phi, problem.widths)
    return GDProblem.data(problem.x, problem.y, problem.widths)


def bound_for(bounds: Sequence[Bound], bound_id: str, init: str,
              where: str | None = None) -> Bound:
    """The bound ``bound_id`` for ``init``, usable as a step size (one-line error if not)."""
    at = where or "step_size.bound"
    cands = [b for b in bounds if b.id == bound_id]
    if not cands:
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


def schedule_for(step: StepSpec, bounds: Sequence[Bound], init: str) -> Any:
    """The engine Schedule of a step spec; a bound is looked up among ``bounds``."""
    from gdcert.sim.engine import Schedule

    if step.bound is not None:
        b = bound_for(bounds, step.bound, init, step.where)
        return Schedule.constant(b.max_step * step.times)
    if step.eta is not None:
        return Schedule.constant(step.eta)
    a1 = step.a1 if step.a1 is not None else math.inf
    a2 = step.a2 if step.a2 is not None else math.inf
    return Schedule(a1=a1, a2=a2, gamma=step.gamma or 0.0)


def least_delta_bal(cover: Sequence[Bound]) -> float | None:
    """The least delta_bal of the Nguegnang et al. bounds covering a run (checked at every
    step by the compiled core), or None."""
    deltas = [float(b.extras["delta_bal"]) for b in cover if b.id.startswith("nguegnang")]
    return min(deltas) if deltas else None


def lemma3_for(problem: Problem, schedule: Any, cover: Sequence[Bound]) -> Any:
    """Lemma 3's per-direction promise when it covers a constant-step run, else None."""
    from gdcert.bounds.nar_sastry import lemma3_beta
    from gdcert.sim.promises import lemma3_promise

    constant = schedule.gamma == 0.0 or math.isinf(schedule.a2)
    if not constant or not any(b.id == "nar_sastry.lemma3" for b in cover):
        return None
    # data whitened up to scale (XXᵀ = cI): GD at η is GD at cη on ½‖W − Φ‖²
    eta = min(schedule.a1, schedule.a2) * problem.whitening_scale
    return lemma3_promise(problem.phi, problem.depth, eta, beta=lemma3_beta)


def promised_job(problem: Problem, weights: Sequence[Any], schedule: Any,
                 cover: Sequence[Bound]) -> Any:
    """A simulation job that asks the compiled core to check, at every step, the promises
    of the bounds covering it (Nguegnang et al.'s balancedness, Lemma 3's rate)."""
    from gdcert.sim.models import Job

    return Job(weights, schedule, delta_bal=least_delta_bal(cover),
               lemma3=lemma3_for(problem, schedule, cover))


def needs_envelope(covers: Sequence[Sequence[Bound]]) -> bool:
    """Whether any run is covered by Wu et al.'s Theorem 4.3 (its envelope is checked at
    every step)."""
    return any(b.id == "wu_wang_ma.thm4_3" for cover in covers for b in cover)


@dataclass(frozen=True)
class _Job:
    seed: int
    step: StepSpec
    init: _inits.Init
    schedule: Any
    cover: tuple[Bound, ...]


def seed_bounds(problem: Problem, bounds: Sequence[Bound], init: _inits.Init) -> list[Bound]:
    """``bounds`` with Nguegnang et al.'s replaced by those of this seed's W⃗(0)."""
    from gdcert.bounds.registry import nguegnang_bounds

    return ([b for b in bounds if not b.id.startswith("nguegnang")]
            + [b for b in nguegnang_bounds(problem, init) if b.applies])


def _jobs(problem: Problem, spec: InitSpec, steps: Sequence[StepSpec], seeds: Sequence[int],
          bounds: Sequence[Bound]) -> list[_Job]:
    inits = {s: _inits.from_spec(spec, problem.widths, s) for s in seeds}
    per_seed = {s: seed_bounds(problem, bounds, inits[s]) for s in seeds}
    jobs = []
    for step in steps:
        for seed in seeds:
            sched = schedule_for(step, per_seed[seed], spec.name)
            jobs.append(_Job(seed, step, inits[seed], sched,
                             tuple(covering(per_seed[seed], sched, spec.name))))
    return jobs


def _check_args(problem: Problem, spec: InitSpec, steps: Sequence[float | StepSpec],
                seeds: Sequence[int], iterations: int,
                tolerance: float | None) -> tuple[list[StepSpec], list[int], float]:
    check_iterations(iterations)
    tol = default_tolerance(problem) if tolerance is None else float(tolerance)
    if not (math.isfinite(tol) and tol > 0):
        raise InputError(f"tolerance must be a positive number, got {tolerance!r}")
    step_list = [s if isinstance(s, StepSpec) else StepSpec(eta=float(s)) for s in steps]
    if not step_list:
        raise InputError("step_size: at least one step size is needed")
    seed_list = list(seeds)[:1] if spec.deterministic else list(seeds)
    check_seeds(len(seed_list), name="seeds (count)")
    if not seed_list:
        raise InputError("seeds: at least one seed is needed")
    return step_list, seed_list, tol


def _add_certificates(problem: Problem, runs: list[Any], trajs: Sequence[Any],
                      tol: float) -> None:
    """Tail-only a posteriori certificates at the last iterate of converged runs."""
    from gdcert.bounds.aposteriori import certify_iterate

    for n, (run, traj) in enumerate(zip(runs, trajs, strict=False)):
        if run.outcome != "converged_global" or run.step_size is None:
            continue
        cert = certify_iterate(problem, traj.final_weights, run.step_size, init=run.init,
                               k=run.iterations, tolerance=tol)
        runs[n] = replace(run, details={**run.details, "certificate": cert.to_dict()})


def simulate(problem: Problem, *, init: InitSpec | str = "balanced",
             step_sizes: Sequence[float | StepSpec], seeds: Sequence[int] = (0,),
             iterations: int = 10_000, tolerance: float | None = None,
             track_balancedness: bool | None = None, track_sharpness: bool = False,
             track_invariants: bool = False, record_every: int = 0, div_factor: float = 1e6,
             parallel: bool = True, progress: Callable[[int, int], None] | None = None,
             group_size: int = 8, bounds: Sequence[Bound] | None = None,
             certificates: bool = True) -> Simulation:
    """Run GD for every (step size, seed) pair; classify each run and check promises.

    ``tolerance`` is the loss gap to the optimal loss counted as converged (default
    ``1e-10 ×`` the loss of the zero network). ``track_balancedness=None`` tracks it
    when a Nguegnang et al. promise applies. ``bounds``: the problem's bounds for this
    init when the caller has them (e.g. from :func:`gdcert.certify`), else computed here
    once. Ctrl-C returns the runs already finished with ``interrupted=True``.
    ``certificates``: for each constant-step run that reached the optimal loss, try the a
    posteriori tail theorem at its last iterate (``details["certificate"]``, level
    ``tail_only``: proved from that float64 iterate; the prefix is the run itself).
    """
    from gdcert.sim.models import LinearModel, RunSettings, run_jobs

    spec = InitSpec(name=init) if isinstance(init, str) else init
    steps, seed_list, tol = _check_args(problem, spec, step_sizes, seeds, iterations,
                                        tolerance)
    first = _inits.from_spec(spec, problem.widths, seed_list[0])  # a bad init fails first
    if bounds is None:
        from gdcert.bounds.registry import compute_bounds

        bounds = compute_bounds(problem, [first])
    jobs = _jobs(problem, spec, steps, seed_list, bounds)
    track_bal = (any(b.id.startswith("nguegnang") for j in jobs for b in j.cover)
                 if track_balancedness is None else track_balancedness)
    model = LinearModel(gd_problem(problem))
    settings = RunSettings(max_iter=int(iterations), loss_target=problem.optimal_loss + tol,
                           div_factor=div_factor, record_every=record_every, parallel=parallel,
                           track_balancedness=track_bal, track_sharpness=track_sharpness,
                           track_invariants=track_invariants,
                           envelope=needs_envelope([j.cover for j in jobs]),
                           envelope_optimal_loss=problem.optimal_loss)
    weights = [j.init.weights() for j in jobs]
    trajs, interrupted = run_jobs(
        model, [promised_job(problem, w, j.schedule, j.cover)
                for w, j in zip(weights, jobs, strict=True)],
        settings, group_size=group_size, progress=progress)
    runs = [make_run(problem, model, seed=j.seed, init_name=spec.name, step_label=j.step.label,
                     schedule=j.schedule, w0=w, cover=j.cover, traj=t, tol=tol,
                     core_delta_bal=least_delta_bal(j.cover))
            for j, w, t in zip(jobs, weights, trajs, strict=False)]
    if certificates:
        _add_certificates(problem, runs, trajs, tol)
    settings_doc = {"init": spec.__dict__, "iterations": int(iterations), "tolerance": tol,
                    "seeds": seed_list, "step_sizes": [s.label for s in steps],
                    "track_balancedness": track_bal or track_invariants,
                    "track_sharpness": track_sharpness, "track_invariants": track_invariants}
    return Simulation(problem=problem.summary(), runs=tuple(runs), bounds=tuple(bounds),
                      settings=settings_doc, interrupted=interrupted)
