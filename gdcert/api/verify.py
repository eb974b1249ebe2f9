"""``gdcert bound --verify``: simulate at the user's step size and at each sufficient bound,
reusing the report's bounds (computed once by :func:`gdcert.api.certification.certify`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from gdcert import inits as _inits
from gdcert.api.simulation import simulate
from gdcert.problem import Problem
from gdcert.results import Report
from gdcert.spec import InitSpec, StepSpec


def verify_report(problem: Problem, report: Report, *, iterations: int = 20_000,
                  seeds: int | Sequence[int] = 1, init_rank: int | None = None,
                  init_scale: float = 1.0) -> Report:
    """Add verification runs to a report: for every init of the report, GD at the user's
    step size (if any) and at each applicable sufficient bound for that init.

    ``seeds``: a count ``n`` runs the report's own seed and the ``n − 1`` after it (so the
    run labelled with a bound simulates the very init that bound was computed for), or an
    explicit list. Inits given as weight files are simulated from those weights.
    """
    runs: list[Any] = []
    eta = report.verdict.step_size if report.verdict else None
    for init in report.problem.get("inits", []):
        name = init["name"]
        first = int(init.get("seed") or 0)
        seed_list = list(range(first, first + seeds)) if isinstance(seeds, int) else list(seeds)
        if init.get("path"):
            spec = InitSpec(name="file", file=init["path"])
        elif name in _inits.BUILTIN:
            spec = InitSpec(name=name, rank=init_rank, scale=init_scale)
        else:
            continue  # an Init object given through the API: no way to redraw it
        mine = [b for b in report.bounds if b.init in (None, name)]
        steps: list[float | StepSpec] = [] if eta is None else [eta]
        steps += [StepSpec(bound=b.id) for b in mine
                  if b.kind == "sufficient" and b.applies and b.init == name
                  and math.isfinite(b.max_step) and b.max_step > 0]
        if not steps:
            continue
        sim = simulate(problem, init=spec, step_sizes=steps, seeds=seed_list,
                       iterations=iterations, bounds=mine)
        runs.extend(sim.runs)
        if sim.interrupted:
            break
    return replace(report, runs=tuple(runs))
