"""The verdict on a step size, in plain words, from the bounds that apply."""

from __future__ import annotations

import math
from collections.abc import Sequence

from gdcert.problem import Problem
from gdcert.results import Bound, Verdict

#: Sufficient bounds whose promised limit is not a global minimum.
NON_GLOBAL = ("nar_sastry.thm3", "nar_sastry.thm3_sharp")


def make_verdict(eta: float, bounds: Sequence[Bound], problem: Problem) -> Verdict:
    """Plain-words verdict: certified, impossible or uncertified (and why)."""
    applicable = [b for b in bounds if b.applies and not math.isnan(b.log10_max_step)]
    global_necessary = [b for b in applicable if b.kind == "necessary"
                        and b.id in ("nar_sastry.cor1",)]
    violated = [b for b in global_necessary if not b.admits(eta)]
    certs = [b for b in applicable if b.kind == "sufficient" and b.admits(eta)]
    details: list[str] = []
    for b in applicable:
        if b.id == "nar_sastry.thm1" and not b.admits(eta):
            details.append(f"above Theorem 1's bound {b.max_step:.4g} at the given weights: "
                           "GD at this step size cannot converge to that solution")
        if b.id == "stability.exact" and not b.admits(eta):
            details.append(f"above the exact local threshold {b.max_step:.4g} at the "
                           f"{b.point}: that point is linearly unstable at this step size")
        if b.id == "nar_sastry.cor2":
            cap = b.extras.get("rho_cap")
            reach = b.extras.get("target_reachable")
            details.append(
                f"Corollary 2: solutions reachable at η = {eta:.4g} have ρ(R̂) ≤ {cap:.4g}; "
                f"the target has ρ = {problem.spectrum.rho:.4g} — "
                + ("within reach" if reach else "GD at this step size cannot fit it"))
    non_global = [b for b in certs if b.id in NON_GLOBAL]
    if violated:
        b = violated[0]
        status = "impossible"
        summary = (f"η = {eta:.4g} exceeds {b.paper} {b.theorem} (max {b.max_step:.4g}): GD "
                   "cannot converge to a global minimum at this step size")
        for c in non_global:
            details.append(f"{c.id} (init {c.init}, max {c.max_step:.4g}) still certifies "
                           "convergence — to the closest PSD matrix, which is not a global "
                           "minimum")
        certs = []
    elif certs:
        status = "certified"
        parts = [f"{b.id} (init {b.init}, max {b.max_step:.4g}): {b.guarantee}" for b in certs]
        summary = f"η = {eta:.4g} is certified to converge by " + "; ".join(parts)

    else:
        status = "uncertified"
        suff = [b for b in applicable if b.kind == "sufficient"]
        best = max(suff, key=lambda b: b.log10_max_step, default=None)
        nec = min(global_necessary, key=lambda b: b.log10_max_step, default=None)
        summary = f"η = {eta:.4g} is neither certified nor ruled out"
        if best is not None:
            summary += (f": above every applicable sufficient bound (largest: {best.id}, "
                        f"init {best.init}, {best.max_step:.4g})")
        if nec is not None:
            summary += f" and within the necessary bound {nec.id} ({nec.max_step:.4g})"
        if best is None:
            summary += ": no sufficient bound applies to this problem"
    return Verdict(step_size=eta, status=status, summary=summary,  # type: ignore[arg-type]
                   certified_by=tuple(f"{b.id}[{b.init}]" for b in certs),
                   violates=tuple(b.id for b in violated), details=tuple(details))
