"""Number and label formatting shared by the renderers."""

from __future__ import annotations

import math

from gdcert.results import Bound

KIND_SHORT = {"necessary": "necessary", "sufficient": "sufficient", "exact-local": "exact-local"}


def fmt_log10(log10_value: float) -> str:
    """A step size given by its log10: ``0.25``, ``2.26e-09``, ``10^-79996.43``, ``∞``."""
    if math.isnan(log10_value):
        return "—"
    if math.isinf(log10_value):
        return "∞" if log10_value > 0 else "0"
    if -300 < log10_value < 300:
        return f"{10.0**log10_value:.4g}"
    return f"10^{log10_value:.2f}"


def fmt_num(x: object) -> str:
    """A measured value for tables."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "—"
        if math.isinf(x):
            return "∞" if x > 0 else "−∞"
        return f"{x:.4g}"
    if isinstance(x, (list, tuple)):
        return "×".join(str(v) for v in x) if all(isinstance(v, int) for v in x) else str(x)
    return str(x)


SHORT_PROMISE = {
    "nar_sastry.cor1": "above: no global minimum is stable",
    "nar_sastry.cor2": "caps ρ of reachable solutions",
    "nar_sastry.thm1": "above: cannot converge to these weights",
    "stability.exact": "above: this point is linearly unstable",
    "nar_sastry.thm2": "W_j → Φ^(1/L), linear rate",
    "nar_sastry.lemma3": "W_j → Φ^(1/L), per-eigenvalue rate β",
    "nar_sastry.thm3": "→ closest PSD matrix (not a global min)",
    "nar_sastry.thm3_sharp": "→ closest PSD matrix (not a global min)",
    "wu_wang_ma.thm4_3": "R(t) ≤ (1 − η/2)^t R(0) → global min",
    "nguegnang.thm2_4": "→ critical point, loss ↓, balancedness ≤ δ",
    "nguegnang.thm2_4_default": "→ critical point, loss ↓, balancedness ≤ δ",
}

SHORT_SOURCE = {
    "Nar & Sastry (2018)": "Nar–Sastry",
    "Wu, Wang & Ma (2019)": "Wu–Wang–Ma",
    "Nguegnang, Rauhut & Terstiege (2021)": "Nguegnang et al.",
}


def short_source(b: Bound) -> str:
    """``Nar–Sastry Corollary 1, eq. (4)`` style source for narrow tables."""
    paper = SHORT_SOURCE.get(b.paper, "gdcert")
    theorem = b.theorem.replace("(preprint, appendix B)", "(app. B)")
    if paper == "gdcert":
        return "gdcert: Lyapunov, 2/λ_max(∇²ℓ)"
    return f"{paper} {theorem}"


def where_label(b: Bound) -> str:
    """The init (init-dependent bounds) or the point (local ones), else ''."""
    return b.init or (f"@ {b.point}" if b.point else "")


def bound_label(b: Bound) -> str:
    """``id`` plus ``[init]`` or ``@ point`` where several rows share an id."""
    if b.init:
        return f"{b.id} [{b.init}]"
    if b.point:
        return f"{b.id} @ {b.point}"
    return b.id


def extras_line(b: Bound) -> str:
    """The extras users ask for, in words (rates, iteration counts, floors)."""
    e = b.extras
    parts = []
    if b.id == "nar_sastry.lemma3" and b.applies:
        it = e.get("iterations_to_tol")
        parts.append(f"β_max = {fmt_num(e.get('beta_max'))} at η = "
                     f"{fmt_num(e.get('rate_step_size'))}; ~{fmt_num(it)} iterations to shrink "
                     f"every |w − λ^(1/L)| by {fmt_num(e.get('tol'))}")
        if e.get("sublinear"):
            parts.append("zero eigenvalue: sublinear convergence there")
    if b.id == "wu_wang_ma.thm4_3" and b.applies:
        parts.append(f"φ = {fmt_num(e.get('phi'))}; R(0) = {fmt_num(e.get('R0'))}; "
                     f"~{fmt_num(e.get('iterations_to_loss'))} iterations to loss "
                     f"{fmt_num(e.get('loss_target'))} at the bound")
    if b.id in ("nar_sastry.thm3", "nar_sastry.thm3_sharp") and b.applies:
        parts.append(f"loss floor ½Σ_(λ<0) λ² = {fmt_num(e.get('loss_floor'))}")
    if b.id.startswith("nguegnang") and b.applies:
        parts.append(f"delta_bal = {fmt_num(e.get('delta_bal'))}, b₀ = {fmt_num(e.get('b0'))}, "
                     f"M = {fmt_num(e.get('M'))}")
    if b.id == "stability.exact" and b.applies:
        parts.append(f"λ_max(∇²ℓ) = {fmt_num(e.get('lambda_max'))} ({e.get('method')})")
    if b.id == "nar_sastry.cor2":
        parts.append(f"reachable ρ(R̂) ≤ {fmt_num(e.get('rho_cap'))} at η = "
                     f"{fmt_num(e.get('eta'))}")
    return "; ".join(parts)
