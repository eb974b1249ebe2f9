"""The verdict on a step size, in plain words, from the bounds that apply."""

from __future__ import annotations

import math
from collections.abc import Sequence

from gdcert.inits import Init
from gdcert.problem import Problem
from gdcert.results import Bound, Verdict

#: Necessary bounds that hold for every initialisation (not at one given solution).
GLOBAL_NECESSARY = ("nar_sastry.cor1", "gdcert.cor1_data")

#: Sufficient bounds whose promised limit is not a global minimum.
NON_GLOBAL = ("nar_sastry.thm3", "nar_sastry.thm3_sharp")


#: What Theorem 3 promises, honestly: the exact-arithmetic statement and its fine print.
THM3_CAVEAT = ("converges to the PSD projection of Φ (not a global minimum) in exact "
               "arithmetic, or when Φ commutes with every iterate (e.g. diagonal Φ); "
               "floating-point GD may leave that saddle")


def _details(eta: float, applicable: Sequence[Bound], problem: Problem) -> list[str]:
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
    return details


def _optimal_inits(inits: Sequence[Init], problem: Problem) -> list[str]:
    """Inits that already are global minima (their loss is the optimal loss)."""
    from gdcert.bounds.registry import init_loss

    scale = max(problem.zero_network_loss, 1e-300)
    return [i.name for i in inits
            if init_loss(problem, i) - problem.optimal_loss <= 1e-12 * scale]


def _impossible(eta: float, b: Bound, optimal: Sequence[str]) -> str:
    summary = (f"η = {eta:.4g} exceeds {b.paper} {b.theorem} (max {b.max_step:.4g}): GD "
               "cannot converge to a global minimum at this step size")
    if optimal:
        summary += (" — unless it starts at one: init " + ", ".join(optimal)
                    + " already is a global minimum (zero gradient), where GD stays")
    return summary


def _uncertified(eta: float, applicable: Sequence[Bound],
                 global_necessary: Sequence[Bound]) -> str:
    suff = [b for b in applicable if b.kind == "sufficient" and b.id not in NON_GLOBAL]
    best = max(suff, key=lambda b: b.log10_max_step, default=None)
    nec = min(global_necessary, key=lambda b: b.log10_max_step, default=None)
    summary = f"η = {eta:.4g} is neither certified nor ruled out"
    if best is not None:
        summary += (f": above every applicable sufficient bound (largest: {best.id}, "
                    f"init {best.init}, {best.max_step:.4g})")
    if nec is not None:
        summary += f" and within the necessary bound {nec.id} ({nec.max_step:.4g})"
    else:
        summary += "; no necessary bound applies either"
    if best is None:
        summary += ": no sufficient bound for a global minimum applies to this problem"
    return summary


def _cert_part(b: Bound) -> str:
    where = f"init {b.init}" if b.init else f"the {b.point}"
    if b.id == "aposteriori.pl_ball":
        level = b.extras.get("certificate", {}).get("level", "")
        return f"{b.id} ({where}, level {level}): {b.guarantee}"
    return f"{b.id} ({where}, max {b.max_step:.4g}): {b.guarantee}"


def make_verdict(eta: float, bounds: Sequence[Bound], problem: Problem,
                 inits: Sequence[Init] = ()) -> Verdict:
    """Plain-words verdict on η.

    ``certified`` — a sufficient bound for convergence to a global minimum admits η;
    ``impossible`` — η exceeds a global necessary bound (qualified when an init already is
    a global minimum); ``non_global`` — only Theorem 3 admits η, whose limit is not a global
    minimum and holds in exact arithmetic (see :data:`THM3_CAVEAT`); ``uncertified`` —
    neither.
    """
    applicable = [b for b in bounds if b.applies and not math.isnan(b.log10_max_step)]
    global_necessary = [b for b in applicable if b.kind == "necessary"
                        and b.id in GLOBAL_NECESSARY]
    violated = [b for b in global_necessary if not b.admits(eta)]
    admitting = [b for b in applicable if b.kind == "sufficient" and b.admits(eta)]
    certs = [b for b in admitting if b.id not in NON_GLOBAL]
    non_global = [b for b in admitting if b.id in NON_GLOBAL]
    details = _details(eta, applicable, problem)
    for c in non_global:
        details.append(f"{c.id} (init {c.init}, max {c.max_step:.4g}): {THM3_CAVEAT}")
    if violated:
        status = "impossible"
        summary = _impossible(eta, violated[0], _optimal_inits(inits, problem))
        certs = []
    elif certs:
        status = "certified"
        parts = [_cert_part(b) for b in certs]
        assisted = all(b.id == "aposteriori.pl_ball" for b in certs)
        summary = (f"η = {eta:.4g} is certified{' (computer-assisted)' if assisted else ''} "
                   "to converge by " + "; ".join(parts))
    elif non_global:
        status = "non_global"
        c = non_global[0]
        summary = (f"η = {eta:.4g}: from init {c.init}, GD {THM3_CAVEAT} ({c.id}, max "
                   f"{c.max_step:.4g}); no bound certifies convergence to a global minimum")
    else:
        status = "uncertified"
        summary = _uncertified(eta, applicable, global_necessary)
    return Verdict(step_size=eta, status=status, summary=summary,  # type: ignore[arg-type]
                   certified_by=tuple(f"{b.id}[{b.init}]" for b in certs),
                   violates=tuple(b.id for b in violated), details=tuple(details))
