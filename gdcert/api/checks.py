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
from dataclasses import dataclass
from typing import Any

from gdcert.api.certification import certify
from gdcert.api.inputs import load_problem
from gdcert.api.simulation import simulate
from gdcert.api.verdict import NON_GLOBAL
from gdcert.config.checks import BrokenCheck
from gdcert.errors import InputError
from gdcert.results import CheckResult, Suggestion
from gdcert.results.checks import error_result
from gdcert.spec import DETERMINISTIC_INITS, CheckSpec, InitSpec


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _bound_label(b: Any) -> str:
    return f"{b.id} (init {b.init})" if b.init else b.id


def _reports(spec: CheckSpec, problem: Any) -> list[Any]:
    """One certify() report per distinct initialisation (per seed for random inits).

    ``sufficient`` and ``verified`` checks also try the computer-assisted certificate
    (``aposteriori.pl_ball``) where no closed-form bound certifies η; ``necessary`` checks
    need no simulation."""
    kw = dict(lr=spec.step_size,
              aposteriori=spec.aposteriori and spec.requirement != "necessary",
              aposteriori_iterations=max(spec.iterations, 20_000))
    if spec.init in DETERMINISTIC_INITS or spec.init.lower().endswith(".npz"):
        return [certify(problem, inits=[spec.init], **kw)]  # type: ignore[arg-type]
    return [certify(problem, inits=[spec.init], seed=seed, **kw)  # type: ignore[arg-type]
            for seed in range(spec.seeds)]


def _usable(b: Any) -> bool:
    return bool(b.applies) and not math.isnan(b.log10_max_step)


@dataclass(frozen=True)
class _Findings:
    """What the bounds say about η for one check (every seed's report)."""

    eta: float
    necessary: list[Any]  # global necessary bounds (not those at a given solution)
    violated: list[Any]
    nec_limit: Any
    per_seed: list[list[Any]]  # per seed: the sufficient bounds for the stated init
    suff_limit: Any  # the least over seeds of each seed's best sufficient bound
    certified_by: list[Any]
    certified: bool

    @property
    def status(self) -> str:
        return "impossible" if self.violated else "certified" if self.certified \
            else "uncertified"

    def details(self, reports: Sequence[Any]) -> dict[str, Any]:
        return {
            "necessary": [{"id": b.id, "max_step": b.max_step} for b in self.necessary],
            "sufficient": [{"id": b.id, "init": b.init, "max_step": b.max_step,
                            "guarantee": b.guarantee} for b in self.per_seed[0]],
            "certified_by": ([f"{b.id}[{b.init}]" for b in self.certified_by]
                             if self.certified else []),
            "violates": [b.id for b in self.violated],
            "verdict": reports[0].verdict.summary if len(reports) == 1 and reports[0].verdict
            else None,
            "seeds_certified": len(reports),
        }


def _findings(reports: Sequence[Any], eta: float) -> _Findings:
    necessary = [b for b in reports[0].bounds
                 if _usable(b) and b.kind == "necessary" and b.point is None]
    # A random init is certified only when every seed's init is, so its limit is the
    # least over the seeds of each seed's best sufficient bound.
    # Theorem 3 certifies convergence to the PSD projection, not to a global minimum: it
    # does not meet a `sufficient` requirement (see gdcert.api.verdict.NON_GLOBAL).
    per_seed = [[b for b in r.bounds if _usable(b) and b.kind == "sufficient"
                 and b.init is not None and b.id not in NON_GLOBAL] for r in reports]
    best_per_seed = [max(s, key=lambda b: b.log10_max_step) for s in per_seed if s]
    suff_limit = (min(best_per_seed, key=lambda b: b.log10_max_step)
                  if len(best_per_seed) == len(per_seed) else None)
    certified_by = [b for b in per_seed[0] if b.admits(eta)]
    return _Findings(
        eta=eta, necessary=necessary, violated=[b for b in necessary if not b.admits(eta)],
        nec_limit=min(necessary, key=lambda b: b.log10_max_step, default=None),
        per_seed=per_seed, suff_limit=suff_limit, certified_by=certified_by,
        certified=all(any(b.admits(eta) for b in s) for s in per_seed) and bool(certified_by))


def _suggestions(f: _Findings) -> tuple[Suggestion | None, Suggestion | None]:
    """(necessary, sufficient): the largest η each requirement would accept, and why."""
    nec = (Suggestion(f.nec_limit.max_step, f.nec_limit.id, None,
                      f"use η ≤ {_fmt(f.nec_limit.max_step)} (set by the necessary bound "
                      f"{f.nec_limit.id})") if f.nec_limit is not None else None)
    suff = (Suggestion(f.suff_limit.max_step, f.suff_limit.id, f.suff_limit.init,
                       f"use η ≤ {_fmt(f.suff_limit.max_step)} (certified by "
                       f"{_bound_label(f.suff_limit)})") if f.suff_limit is not None else None)
    return nec, suff


def _no_sufficient(spec: CheckSpec) -> str:
    return (f"no sufficient bound applies to init {spec.init} for this problem"
            + ("" if spec.init in ("identity", "zas") else
               " (Nguegnang et al. needs XXᵀ of full rank)"))


_Judgement = tuple[bool, str | None, str]  # passed, passed_by, message


def _judge_necessary(f: _Findings) -> _Judgement:
    eta = _fmt(f.eta)
    if f.violated:
        b = min(f.violated, key=lambda b: b.log10_max_step)
        return False, None, (f"η = {eta} exceeds the necessary bound {b.id} (max "
                             f"{_fmt(b.max_step)}): GD cannot converge to a global minimum at "
                             "this step size")
    if f.nec_limit is None:
        return False, None, (
            f"η = {eta}: unknown — no necessary bound applies to this problem (e.g. data "
            "not whitened), so no bound decides this step size; use --require verified "
            "(require: verified) to simulate it, or --allow-unknown to accept it")
    return True, "bound", (f"η = {eta} is within the necessary bound {f.nec_limit.id} "
                           f"(max {_fmt(f.nec_limit.max_step)})")


def _cert_label(b: Any) -> str:
    """``id (max η)``, or for the computer-assisted certificate ``id (level …)``."""
    if b.id == "aposteriori.pl_ball":
        level = b.extras.get("certificate", {}).get("level", "?")
        return f"{b.id} (computer-assisted, level {level})"
    return f"{b.id} (max {_fmt(b.max_step)})"


def _judge_sufficient(spec: CheckSpec, f: _Findings) -> _Judgement:
    eta = _fmt(f.eta)
    if f.certified:
        return True, "bound", (f"η = {eta} is certified for init {spec.init} by "
                               + ", ".join(_cert_label(b) for b in f.certified_by)
                               + f": {f.certified_by[0].guarantee}")
    if f.suff_limit is None:
        message = f"η = {eta} is not certified: {_no_sufficient(spec)}"
    else:
        message = (f"η = {eta} is above every applicable sufficient bound for init "
                   f"{spec.init} (largest: {_bound_label(f.suff_limit)}, "
                   f"{_fmt(f.suff_limit.max_step)})")
    if f.violated:
        message += f"; it also exceeds the necessary bound {f.violated[0].id}"
    return False, None, message


def _judge_verified(spec: CheckSpec, f: _Findings, problem: Any,
                    details: dict[str, Any]) -> _Judgement:
    eta = _fmt(f.eta)
    if f.certified:
        return True, "bound", (f"η = {eta} is certified for init {spec.init} by "
                               + ", ".join(b.id for b in f.certified_by)
                               + " (no simulation needed)")
    if f.violated:
        b = f.violated[0]
        return False, None, (f"η = {eta} exceeds the necessary bound {b.id} (max "
                             f"{_fmt(b.max_step)}): GD cannot converge to a global minimum "
                             "(not simulated)")
    passed, message, sim = _verify_by_simulation(spec, problem)
    details["simulation"] = sim
    return passed, "simulation" if passed else None, message


def _suggestion(spec: CheckSpec, f: _Findings, passed: bool) -> Suggestion | None:
    nec, suff = _suggestions(f)
    if spec.requirement == "necessary":
        return nec
    if spec.requirement == "sufficient" or passed:
        return suff
    base = suff or (nec if f.violated else None)
    edge = (f"run `gdcert edge {spec.problem_source} --depth {spec.depth} "
            f"--init {spec.init}` for the empirical limit")
    if base is not None:
        return Suggestion(base.max_step, base.bound, base.init, f"{base.text}; {edge}")
    return Suggestion(None, None, None, f"{_no_sufficient(spec)}; {edge}")


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
    f = _findings(reports, spec.step_size)
    details = f.details(reports)
    if spec.requirement == "necessary":
        passed, passed_by, message = _judge_necessary(f)
    elif spec.requirement == "sufficient":
        passed, passed_by, message = _judge_sufficient(spec, f)
    else:
        passed, passed_by, message = _judge_verified(spec, f, problem, details)
    status = f.status
    if spec.requirement == "necessary" and f.nec_limit is None:
        status = "unknown"
    return CheckResult(
        name=spec.name, passed=passed, requirement=spec.requirement, step_size=spec.step_size,
        source=spec.source, status=status, message=message,
        suggestion=_suggestion(spec, f, passed), passed_by=passed_by, init=spec.init,
        problem=spec.problem_source, checks_file=spec.checks_file,
        seconds=time.perf_counter() - started, details=details)


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


def evaluate_all(specs: Sequence[CheckSpec | BrokenCheck]) -> list[CheckResult]:
    """Evaluate every check in order; a check with bad input becomes an ``error`` result
    (status ``error``) and the others still run."""
    if any(isinstance(s, CheckSpec) for s in specs):
        _warm_up()
    return [_evaluate_or_error(s) for s in specs]


def _evaluate_or_error(spec: CheckSpec | BrokenCheck) -> CheckResult:
    if isinstance(spec, BrokenCheck):
        return error_result(spec.name, spec.message, source=spec.source,
                            requirement=spec.requirement,  # type: ignore[arg-type]
                            checks_file=spec.checks_file)
    try:
        return evaluate(spec)
    except InputError as exc:
        message = str(exc)
    except MemoryError:
        message = f"{spec.where()}: out of memory; the problem is too large for this machine"
    return error_result(spec.name, message, source=spec.source, requirement=spec.requirement,
                        problem=spec.problem_source, checks_file=spec.checks_file,
                        init=spec.init)


def _warm_up() -> None:
    """Import and exercise the bound code once, so that the first check's time does not
    include import warm-up (scipy, the bound registry)."""
    import numpy as np

    from gdcert.problem import Problem

    certify(Problem.from_target(np.diag([2.0, 1.0]), depth=2), inits=["identity"], lr=0.1)


def check(target: str | None = None, *, lr: float, depth: int, require: str = "necessary",
          data: str | None = None, init: str = "balanced", widths: Sequence[int] | None = None,
          loss: str = "sum", seeds: int = 1, iterations: int = 5_000,
          tolerance: float | None = None, name: str = "check") -> CheckResult:
    """One CI-gate check from arguments (the Python form of ``gdcert check TARGET ...``).

    >>> r = gdcert.check("phi.npy", depth=3, lr=0.05, require="sufficient")  # doctest: +SKIP
    >>> r.passed, r.message                                                    # doctest: +SKIP
    """
    from gdcert.spec import REQUIREMENTS, StepSource
    from gdcert.validate import check_count, check_iterations, check_lr, check_seeds

    if require not in REQUIREMENTS:
        raise InputError(f"require must be one of {', '.join(REQUIREMENTS)}, got {require!r}")
    if loss not in ("sum", "mean"):
        raise InputError(f"loss must be 'sum' or 'mean', got {loss!r}")
    spec = CheckSpec(name=name, depth=check_count(depth, name="depth"),
                     step_size=check_lr(lr), source=StepSource(None, None, "lr"),
                     requirement=require,  # type: ignore[arg-type]
                     target=target, data=data, widths=tuple(widths) if widths else None,
                     loss=loss,  # type: ignore[arg-type]
                     init=init, seeds=check_seeds(seeds, name="seeds"),
                     iterations=check_iterations(iterations, name="iterations"),
                     tolerance=tolerance)
    return evaluate(spec)
