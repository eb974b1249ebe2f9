"""The empirical edge: the largest constant step size at which GD still reaches the
optimal loss, within the iteration budget, from a given initialisation for every seed.

Found by batched bracketing (doubling or halving from a starting guess) and batched
bisection on a log scale: each round runs several candidate step sizes × all seeds in
one call of the compiled core, until the bracket is within ``rtol`` (1% by default).
The edge is the yardstick for how conservative each bound is (``bound / edge``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gdcert.errors import InputError
from gdcert.problem import Problem
from gdcert.results import Bound, jsonable
from gdcert.sim.runner import InitSpec, default_tolerance, gd_problem


@dataclass(frozen=True)
class Edge:
    """The empirical edge and how every applicable bound compares with it."""

    edge: float
    bracket: tuple[float, float]
    init: str
    seeds: tuple[int, ...]
    iterations: int
    tolerance: float
    evaluations: int
    ratios: dict[str, float]
    bounds: tuple[Bound, ...] = field(repr=False)
    history: tuple[tuple[float, bool], ...] = field(repr=False, default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "edge": jsonable(self.edge),
            "bracket": jsonable(list(self.bracket)),
            "init": self.init,
            "seeds": list(self.seeds),
            "iterations": self.iterations,
            "tolerance": self.tolerance,
            "evaluations": self.evaluations,
            "ratios": jsonable(self.ratios),
            "bounds": [b.to_dict() for b in self.bounds],
            "history": [{"step_size": e, "converged_all_seeds": ok} for e, ok in self.history],
        }


def _relevant(b: Bound, init: str) -> bool:
    return b.applies and (b.init is None or b.init == init) and math.isfinite(b.log10_max_step)


def ratio_key(b: Bound) -> str:
    """``id`` (or ``id@point`` for the exact threshold at several points)."""
    return f"{b.id}@{b.point}" if b.point else b.id


def _bracket(history: Sequence[tuple[float, bool]]) -> tuple[float, float]:
    """(lo, hi): the top of the first run of successes (scanning up in η) and the failure
    just above it. Failures below the first success (too slow for the budget) are
    ignored; a success above a failure (non-monotone) does not move the edge up."""
    pts = sorted(history)
    lo, hi = 0.0, math.inf
    seen_success = False
    for e, ok in pts:
        if ok:
            seen_success = True
            lo = e
        elif seen_success:
            hi = e
            break
    return lo, hi


def find_edge(problem: Problem, *, init: InitSpec | str, seeds: Sequence[int] = (0,),
              iterations: int = 20_000, tolerance: float | None = None, rtol: float = 0.01,
              start: float | None = None, per_round: int = 6,
              progress: Callable[[float, float], None] | None = None) -> Edge:
    """Locate the empirical edge to relative precision ``rtol``.

    ``start`` is the first guess (default: Nar & Sastry's Corollary 1 where it applies,
    else 1). Non-monotone behaviour (a step size that converges above one that does not)
    is resolved towards the smallest failure: the edge is the largest step size below
    which every tested step size converged.
    """
    from gdcert.api import certify
    from gdcert.inits import BUILTIN
    from gdcert.sim.engine import Schedule, run_batch
    from gdcert.sim.runner import _nguegnang_for

    spec = InitSpec(name=init) if isinstance(init, str) else init
    if not 0 < rtol < 1:
        raise InputError(f"rtol must be in (0, 1), got {rtol}")
    seeds = tuple(seeds)
    tol = default_tolerance(problem) if tolerance is None else float(tolerance)
    inits0 = [spec.weights(problem.widths, s) for s in seeds]
    report = certify(problem, inits=[spec.name] if spec.name in BUILTIN else [])
    bounds = [b for b in report.bounds if not b.id.startswith("nguegnang")]
    # Nguegnang et al. is per initial weights: take the smallest over the seeds.
    ng_by_id: dict[str, Bound] = {}
    for w0 in inits0:
        for b in _nguegnang_for(problem, spec.name, w0):
            if b.applies and (b.id not in ng_by_id
                              or b.log10_max_step < ng_by_id[b.id].log10_max_step):
                ng_by_id[b.id] = b
    bounds += list(ng_by_id.values())
    gdp = gd_problem(problem)
    target = problem.optimal_loss + tol
    history: list[tuple[float, bool]] = []

    def converge(etas: Sequence[float]) -> list[bool]:
        trajs = run_batch(gdp, [w for _ in etas for w in inits0],
                          [Schedule.constant(e) for e in etas for _ in seeds],
                          max_iter=iterations, loss_target=target, record_every=max(
                              iterations, 1))
        stops = [t.stop == "target" for t in trajs]
        out = [all(stops[i * len(seeds):(i + 1) * len(seeds)]) for i in range(len(etas))]
        history.extend(zip(etas, out, strict=True))
        if progress is not None:
            done = [e for e, ok in history if ok]
            failed = [e for e, ok in history if not ok]
            progress(max(done, default=0.0), min(failed, default=math.inf))
        return out

    if start is None:
        cor1 = next((b for b in bounds if b.id == "nar_sastry.cor1" and b.applies), None)
        start = cor1.max_step if cor1 is not None and math.isfinite(cor1.max_step) else 1.0
    # Bracket: a batch of step sizes spaced by factors of 4 around the start, moving
    # up or down until the batch holds a success followed by a failure.
    guess = start
    lo, hi = 0.0, math.inf
    for _ in range(40):
        converge([guess * 4.0**k for k in range(-3, 4)])
        lo, hi = _bracket(history)
        if lo > 0 and math.isfinite(hi):
            break
        guess = guess * 4.0**7 if lo > 0 else guess / 4.0**7
    if lo == 0.0:
        raise InputError(f"no step size down to {guess / 4**3:.3g} reached the optimal loss "
                         f"within {iterations} iterations from init {spec.name} for every seed: "
                         "raise the iterations or the tolerance")
    if not math.isfinite(hi):
        raise InputError(f"every step size up to {lo:.3g} converged: no edge found")
    while hi / lo > 1.0 + rtol:
        converge(list(np.geomspace(lo, hi, per_round + 2)[1:-1]))
        lo, hi = _bracket(history)
    ratios = {ratio_key(b): b.max_step / lo for b in bounds if _relevant(b, spec.name)}
    return Edge(edge=lo, bracket=(lo, hi), init=spec.name, seeds=seeds, iterations=iterations,
                tolerance=tol, evaluations=len(history) * len(seeds), ratios=ratios,
                bounds=tuple(bounds), history=tuple(history))
