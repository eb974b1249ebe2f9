"""``check``: evaluate the CI gate's checks (parsed by :mod:`gdcert.config.checks`).

A check passes or fails its *requirement*:

* ``necessary`` — fails when η violates an applicable necessary bound (GD cannot converge
  to a global minimum); passes, with a note, when no necessary bound applies;
* ``sufficient`` — passes only when an applicable sufficient bound certifies η for the
  stated initialisation;
* ``verified`` — passes when certified, or when GD simulated from the stated
  initialisation reaches the optimal loss (``converged_global``) for every seed within the
  iteration budget.

Nothing here prints: the renderers in :mod:`gdcert.report.check_out` format the results.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from gdcert.api.certification import certify
from gdcert.api.inputs import load_problem
from gdcert.api.simulation import simulate
from gdcert.errors import InputError
from gdcert.results import CheckResult, Suggestion
from gdcert.spec import DETERMINISTIC_INITS, CheckSpec, InitSpec


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _bound_label(b: Any) -> str:
    return f"{b.id} (init {b.init})" if b.init else b.id


def _reports(spec: CheckSpec, problem: Any) -> list[Any]:
    """One certify() report per distinct initialisation (per seed for random inits)."""
    if spec.init in DETERMINISTIC_INITS or spec.init.lower().endswith(".npz"):
        return [certify(problem, inits=[spec.init], lr=spec.step_size)]
    return [certify(problem, inits=[spec.init], lr=spec.step_size, seed=seed)
            for seed in range(spec.seeds)]


def _usable(b: Any) -> bool:
    return bool(b.applies) and not math.isnan(b.log10_max_step)


def evaluate(spec: CheckSpec) -> CheckResult:
    """Evaluate one check (loads its problem; may simulate for ``verified``)."""
    started = time.perf_counter()
    try:
        problem = load_problem(spec.target, data=spec.data, depth=spec.depth,
                               widths=spec.widths, loss=spec.loss,
                               samples_as_rows=spec.samples_as_rows)
        reports = _reports(spec, problem)
    except InputError as exc:
        raise InputError(f"{spec.where()}: {exc}") from None
    eta = spec.step_size
    # Global necessary bounds (not those at one given solution, which carry a `point`).
    necessary = [b for b in reports[0].bounds
                 if _usable(b) and b.kind == "necessary" and b.point is None]
    violated = [b for b in necessary if not b.admits(eta)]
    nec_limit = min(necessary, key=lambda b: b.log10_max_step, default=None)
    # Per report (seed), the sufficient bounds for the stated init; a random init is
    # certified only when every seed's init is, so its limit is the least over seeds.
    per_seed = [[b for b in r.bounds if _usable(b) and b.kind == "sufficient"
                 and b.init is not None] for r in reports]
    best_per_seed = [max(s, key=lambda b: b.log10_max_step) for s in per_seed if s]
    suff_limit = (min(best_per_seed, key=lambda b: b.log10_max_step)
                  if len(best_per_seed) == len(per_seed) else None)
    certified_by = [b for b in per_seed[0] if b.admits(eta)]
    certified = all(any(b.admits(eta) for b in s) for s in per_seed) and bool(certified_by)
    status = "impossible" if violated else "certified" if certified else "uncertified"
    details: dict[str, Any] = {
        "necessary": [{"id": b.id, "max_step": b.max_step} for b in necessary],
        "sufficient": [{"id": b.id, "init": b.init, "max_step": b.max_step,
                        "guarantee": b.guarantee} for b in per_seed[0]],
        "certified_by": [f"{b.id}[{b.init}]" for b in certified_by] if certified else [],
        "violates": [b.id for b in violated],
        "verdict": reports[0].verdict.summary if len(reports) == 1 and reports[0].verdict
        else None,
        "seeds_certified": len(reports),
    }
    nec_suggestion = (Suggestion(nec_limit.max_step, nec_limit.id, None,
                                 f"use η ≤ {_fmt(nec_limit.max_step)} (set by the necessary "
                                 f"bound {nec_limit.id})") if nec_limit is not None else None)
    suff_suggestion = (Suggestion(suff_limit.max_step, suff_limit.id, suff_limit.init,
                                  f"use η ≤ {_fmt(suff_limit.max_step)} (certified by "
                                  f"{_bound_label(suff_limit)})")
                       if suff_limit is not None else None)
    no_suff = (f"no sufficient bound applies to init {spec.init} for this problem"
               + ("" if spec.init in ("identity", "zas") else
                  " (Nguegnang et al. needs XXᵀ of full rank)"))
    passed_by: str | None = None
    suggestion: Suggestion | None
    if spec.requirement == "necessary":
        suggestion = nec_suggestion
        if violated:
            b = min(violated, key=lambda b: b.log10_max_step)
            passed = False
            message = (f"η = {_fmt(eta)} exceeds the necessary bound {b.id} "
                       f"(max {_fmt(b.max_step)}): GD cannot converge to a global minimum at "
                       "this step size")
        elif nec_limit is None:
            passed, passed_by = True, "no-necessary-bound"
            message = (f"η = {_fmt(eta)}: no necessary bound applies to this problem (e.g. "
                       "data not whitened), so nothing rules this step size out")
        else:
            passed, passed_by = True, "bound"
            message = (f"η = {_fmt(eta)} is within the necessary bound {nec_limit.id} "
                       f"(max {_fmt(nec_limit.max_step)})")
    elif spec.requirement == "sufficient":
        suggestion = suff_suggestion
        if certified:
            passed, passed_by = True, "bound"
            message = (f"η = {_fmt(eta)} is certified for init {spec.init} by "
                       + ", ".join(f"{b.id} (max {_fmt(b.max_step)})" for b in certified_by)
                       + f": {certified_by[0].guarantee}")
        else:
            passed = False
            if suff_limit is None:
                message = f"η = {_fmt(eta)} is not certified: {no_suff}"
            else:
                message = (f"η = {_fmt(eta)} is above every applicable sufficient bound for "
                           f"init {spec.init} (largest: {_bound_label(suff_limit)}, "
                           f"{_fmt(suff_limit.max_step)})")
            if violated:
                message += f"; it also exceeds the necessary bound {violated[0].id}"
    else:
        suggestion = suff_suggestion
        if certified:
            passed, passed_by = True, "bound"
            message = (f"η = {_fmt(eta)} is certified for init {spec.init} by "
                       + ", ".join(b.id for b in certified_by) + " (no simulation needed)")
        elif violated:
            b = violated[0]
            passed = False
            message = (f"η = {_fmt(eta)} exceeds the necessary bound {b.id} "
                       f"(max {_fmt(b.max_step)}): GD cannot converge to a global minimum "
                       "(not simulated)")
            suggestion = suff_suggestion or nec_suggestion
        else:
            passed, message, sim = _verify_by_simulation(spec, problem)
            passed_by = "simulation" if passed else None
            details["simulation"] = sim
        if not passed:
            edge = (f"run `gdcert edge {spec.problem_source} --depth {spec.depth} "
                    f"--init {spec.init}` for the empirical limit")
            if suggestion is not None:
                suggestion = Suggestion(suggestion.max_step, suggestion.bound, suggestion.init,
                                        f"{suggestion.text}; {edge}")
            else:
                suggestion = Suggestion(None, None, None, f"{no_suff}; {edge}")
    return CheckResult(
        name=spec.name, passed=passed, requirement=spec.requirement, step_size=eta,
        source=spec.source, status=status, message=message, suggestion=suggestion,
        passed_by=passed_by, init=spec.init, problem=spec.problem_source,
        checks_file=spec.checks_file, seconds=time.perf_counter() - started,
        details=details)


def _verify_by_simulation(spec: CheckSpec, problem: Any) -> tuple[bool, str, dict[str, Any]]:
    """Simulate GD at η from the stated init for every seed; pass iff all converge globally."""
    init = (InitSpec(name="file", file=spec.init) if spec.init.lower().endswith(".npz")
            else InitSpec(name=spec.init))
    sim = simulate(problem, init=init, step_sizes=[spec.step_size],
                   seeds=list(range(spec.seeds)), iterations=spec.iterations,
                   tolerance=spec.tolerance)
    runs = list(sim.runs)
    expected = 1 if init.deterministic else spec.seeds
    info = {"iterations": spec.iterations, "tolerance": sim.settings.get("tolerance"),
            "interrupted": sim.interrupted,
            "runs": [{"seed": r.seed, "outcome": r.outcome, "iterations": r.iterations,
                      "final_loss": r.final_loss, "optimal_loss": r.optimal_loss}
                     for r in runs]}
    bad = [r for r in runs if r.outcome != "converged_global"]
    seeds = ", ".join(str(r.seed) for r in runs)
    eta = _fmt(spec.step_size)
    if sim.interrupted or len(runs) < expected:
        return False, f"η = {eta}: simulation interrupted before every seed ran", info
    if not bad:
        worst = max(r.iterations for r in runs)
        return True, (f"η = {eta} is not certified, but verified by simulation: GD from init "
                      f"{spec.init} reached the optimal loss for seed{'s' if len(runs) > 1 else ''}"
                      f" {seeds} within {worst} of {spec.iterations} iterations (empirical, not "
                      "a proof)"), info
    r = bad[0]
    return False, (f"η = {eta} is not certified, and simulation from init {spec.init} did not "
                   f"reach the optimal loss: seed {r.seed} ended {r.outcome} after "
                   f"{r.iterations} iterations (budget {spec.iterations})"), info


def evaluate_all(specs: Sequence[CheckSpec]) -> list[CheckResult]:
    """Evaluate every check in order."""
    return [evaluate(s) for s in specs]


def check(target: str | None = None, *, lr: float, depth: int, require: str = "necessary",
          data: str | None = None, init: str = "balanced", widths: Sequence[int] | None = None,
          loss: str = "sum", seeds: int = 1, iterations: int = 5_000,
          tolerance: float | None = None, name: str = "check") -> CheckResult:
    """One CI-gate check from arguments (the Python form of ``gdcert check TARGET ...``).

    >>> r = gdcert.check("phi.npy", depth=3, lr=0.05, require="sufficient")  # doctest: +SKIP
    >>> r.passed, r.message                                                    # doctest: +SKIP
    """
    from gdcert.spec import REQUIREMENTS, StepSource
    from gdcert.validate import check_count, check_lr

    if require not in REQUIREMENTS:
        raise InputError(f"require must be one of {', '.join(REQUIREMENTS)}, got {require!r}")
    if loss not in ("sum", "mean"):
        raise InputError(f"loss must be 'sum' or 'mean', got {loss!r}")
    spec = CheckSpec(name=name, depth=check_count(depth, name="depth"),
                     step_size=check_lr(lr), source=StepSource(None, None, "lr"),
                     requirement=require,  # type: ignore[arg-type]
                     target=target, data=data, widths=tuple(widths) if widths else None,
                     loss=loss,  # type: ignore[arg-type]
                     init=init, seeds=check_count(seeds, name="seeds"),
                     iterations=check_count(iterations, name="iterations"),
                     tolerance=tolerance)
    return evaluate(spec)
