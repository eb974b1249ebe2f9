"""``edge``: the empirical edge from an initialisation, and every bound's ratio to it.

The bounds are computed once (the init's, with Nguegnang et al.'s at each seed's W⃗(0),
the least over the seeds); the search (:func:`gdcert.sim.edge.search`) asks the compiled
core about batches of step sizes × all seeds at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from gdcert import inits as _inits
from gdcert.api.runs import default_tolerance
from gdcert.api.simulation import gd_problem
from gdcert.problem import Problem
from gdcert.results import Bound, Edge
from gdcert.spec import InitSpec
from gdcert.validate import check_iterations, check_seeds

#: Steps between two checks for a settled orbit in an edge candidate's run.
ORBIT_CHECK_EVERY = 256


def ratio_key(b: Bound) -> str:
    """``id`` (or ``id@point`` for the exact threshold at several points)."""
    return f"{b.id}@{b.point}" if b.point else b.id


def _relevant(b: Bound, init: str) -> bool:
    return b.applies and (b.init is None or b.init == init) and math.isfinite(b.log10_max_step)


def edge_bounds(problem: Problem, inits: Sequence[_inits.Init]) -> list[Bound]:
    """The bounds for the first init, Nguegnang et al.'s as the least over all ``inits``."""
    from gdcert.bounds.registry import compute_bounds, nguegnang_bounds

    bounds = [b for b in compute_bounds(problem, inits[:1]) if not b.id.startswith("nguegnang")]
    least: dict[str, Bound] = {}
    for init in inits:
        for b in nguegnang_bounds(problem, init):
            if b.applies and (b.id not in least
                              or b.log10_max_step < least[b.id].log10_max_step):
                least[b.id] = b
    return bounds + list(least.values())


def find_edge(problem: Problem, *, init: InitSpec | str, seeds: Sequence[int] = (0,),
              iterations: int = 20_000, tolerance: float | None = None, rtol: float = 0.01,
              start: float | None = None, per_round: int | None = None,
              progress: Callable[[float, float], None] | None = None,
              certify: bool = True) -> Edge:
    """Locate the empirical edge to relative precision ``rtol``.

    ``start`` is the first guess (default: Nar & Sastry's Corollary 1 where it applies —
    then the first round probes just below it —, else 1). Every round runs its candidates
    × seeds as one batch; a candidate's run stops early once it diverges or settles on an
    orbit (its last 128 losses repeat with a period 2..64 to 1e-10 of their range, at two
    checks :data:`ORBIT_CHECK_EVERY` steps apart: such a run does not reach the target).
    A window test on the loss ("no progress over N steps") is not used: near the edge, runs
    that converge within the budget leave and re-enter oscillations for thousands of steps
    (measured at d = 64, L = 10). ``evaluations`` counts runs, ``iterations_spent`` their
    GD steps.
    ``per_round`` (default: numba's thread count, at least 2) candidates per bisection
    round. Non-monotone behaviour (a step size that converges above one that does not)
    is resolved towards the smallest failure: the edge is the largest step size below
    which every tested step size converged.
    """
    from gdcert.sim.edge import search
    from gdcert.sim.engine import Schedule, run_batch

    spec = InitSpec(name=init) if isinstance(init, str) else init
    seeds = tuple(seeds)
    check_iterations(iterations)
    check_seeds(len(seeds), name="seeds (count)")
    tol = default_tolerance(problem) if tolerance is None else float(tolerance)
    init_objs = [_inits.from_spec(spec, problem.widths, s) for s in seeds]
    inits0 = [i.weights() for i in init_objs]
    bounds = edge_bounds(problem, init_objs)
    gd = gd_problem(problem)
    target = problem.optimal_loss + tol
    seen: list[tuple[float, bool]] = []
    spent = [0]

    def converge(etas: Sequence[float]) -> list[bool]:
        # every candidate × seed in one batch; a run that diverges or settles on an orbit
        # has not converged, and stops early
        trajs = run_batch(gd, [w for _ in etas for w in inits0],
                          [Schedule.constant(e) for e in etas for _ in inits0],
                          max_iter=iterations, loss_target=target,
                          record_every=max(iterations, 1), orbit_window=ORBIT_CHECK_EVERY)
        spent[0] += sum(t.iterations for t in trajs)
        stops = [t.stop == "target" for t in trajs]
        out = [all(stops[i * len(seeds):(i + 1) * len(seeds)]) for i in range(len(etas))]
        seen.extend(zip(etas, out, strict=True))
        if progress is not None:
            progress(max((e for e, ok in seen if ok), default=0.0),
                     min((e for e, ok in seen if not ok), default=math.inf))
        return out

    cor1 = next((b for b in bounds if b.id == "nar_sastry.cor1" and b.applies), None)
    upper = cor1.max_step if cor1 is not None and math.isfinite(cor1.max_step) else None
    if start is None:
        start = upper if upper is not None else 1.0
    else:
        upper = None  # an explicit first guess: bracket around it
    if per_round is None:
        # one candidate per thread: near the edge every run costs the whole budget, so
        # more candidates per round than cores cost more than the extra narrowing saves
        from gdcert.sim.engine import thread_count

        per_round = max(2, thread_count())
    lo, hi, history = search(converge, start=start, rtol=rtol, per_round=per_round,
                             what=f"within {iterations} iterations from init {spec.name} ",
                             upper=upper)
    ratios = {ratio_key(b): b.max_step / lo for b in bounds if _relevant(b, spec.name)}
    cert_eta, cert = None, None
    if certify:  # the largest computer-assisted certified η among fractions of the edge
        from gdcert.api.aposteriori import MAX_DEPTH, certified_edge_all

        if problem.depth <= MAX_DEPTH:
            cert_eta, cert = certified_edge_all(problem, inits0, lo, init_name=spec.name)
    return Edge(edge=lo, bracket=(lo, hi), init=spec.name, seeds=seeds, iterations=iterations,
                tolerance=tol, evaluations=len(history) * len(seeds), ratios=ratios,
                bounds=tuple(bounds), history=tuple(history), iterations_spent=spent[0],
                certified_edge=cert_eta, certificate=cert)
