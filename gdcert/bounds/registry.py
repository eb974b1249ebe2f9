"""Which bounds apply to a problem and initialisation, evaluated in one place.

The registry turns a :class:`~gdcert.problem.Problem` (plus initialisations, optional
trained weights and step size) into the arguments of the pure bound functions, and
reports a bound as not applicable — with the reason — rather than leaving it out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from gdcert.bounds import data, nar_sastry, nguegnang, stability, wu_wang_ma
from gdcert.inits import Init
from gdcert.linalg import eigvalsh_values, prefix_suffix, residual_gradient, symmetric_part
from gdcert.problem import Problem
from gdcert.results import Bound
from gdcert.spec import BOUND_IDS as _BOUND_IDS

#: Stable ids of every bound ``gdcert bound`` can report, in report order.
BOUND_IDS = _BOUND_IDS

#: The matrix-free Hessian (Lanczos) is used when depth·d_max³ and the parameter count are
#: at most these; above them the balanced minimum's spectrum is used in closed form (exact
#: for target form / whitened data without a binding rank cap), else the bound is skipped.
EXACT_WORK_LIMIT = 2e7
EXACT_PARAM_LIMIT = 20_000


def _na(b: Bound, reason: str) -> Bound:
    from dataclasses import replace

    return replace(b, applies=False, reason=reason, log10_max_step=math.nan)


def _scaled(b: Bound, p: Problem) -> Bound:
    """A target-form bound for data whitened up to scale (XXᵀ = cI): η scales by 1/c."""
    c = p.whitening_scale
    if c == 1.0 or p.whitened or math.isnan(b.log10_max_step):
        return b
    return replace(b, log10_max_step=b.log10_max_step - math.log10(c),
                   extras={**b.extras, "whitening_scale": c})


def _whitening_reason(p: Problem) -> str:
    return (f"data are not whitened (‖XXᵀ − I‖ = {p.whitening_residual:.3g}, and XXᵀ is not "
            "a multiple of I either); Nar & Sastry's closed forms assume XXᵀ = cI")


def _grad_norm(p: Problem, weights: Sequence[np.ndarray]) -> tuple[float, float]:
    """‖∇ℓ(W⃗)‖_F and the scale "≈ 0" is judged against: ‖C‖_F · max_j ‖P_j‖_F‖Q_j‖_F.

    ∇_j = P_jᵀ G Q_jᵀ, so that is the gradient a residual G of the target's size would
    produce. Unlike ‖C‖_F alone it is invariant under W_j ← c_j W_j (Π c_j = 1), and the
    rounding error of a deep product (≈ L·eps·‖Φ‖, amplified by ‖P_j‖‖Q_j‖ ≈ ρ^{(L−1)/L})
    does not make an exact minimum look non-critical (depth 10⁴, ρ = 10⁶).
    """
    pre, suf = prefix_suffix(weights)
    g = residual_gradient(suf[0] @ weights[0], p.sigma, p.c)
    # per-layer Frobenius norms (scaled inside nrm2) combined by hypot: no overflow of the
    # squares at large magnitudes
    norm, amp = 0.0, 0.0
    for j in range(len(weights)):
        gj = suf[j].T @ g @ pre[j].T
        norm = math.hypot(norm, float(np.linalg.norm(gj)))
        amp = max(amp, float(np.linalg.norm(suf[j])) * float(np.linalg.norm(pre[j])))
    return norm, p.loss_scale * amp


def _identity_bounds(p: Problem, init_names: Sequence[str], lr: float | None,
                     tol: float) -> list[Bound]:
    sp = p.spectrum
    square_layers = len(set(p.widths)) == 1
    kw = dict(depth=p.depth, lam_min=sp.lam_min, lam_max=sp.lam_max, symmetric=sp.symmetric,
              square=sp.square, square_layers=square_layers)
    floor = None
    if sp.symmetric and sp.lam_min < 0:
        # the whole spectrum: the problem's (one eigensolve shared with ρ, λ_min, λ_max
        # and the rank) where it has it, else one values-only solve here
        lam = p.eigenvalues
        if lam is None:
            lam = eigvalsh_values(symmetric_part(p.phi), overwrite=True)
        floor = 0.5 * float(np.sum(lam[lam < 0] ** 2))
    c = p.whitening_scale
    out = [
        nar_sastry.thm2(**kw),  # type: ignore[arg-type]
        nar_sastry.lemma3(**kw, eta=None if lr is None else lr * c,  # type: ignore[arg-type]
                          tol=tol),
        nar_sastry.thm3(**kw, loss_floor=floor),  # type: ignore[arg-type]
        nar_sastry.thm3_sharp(**kw, loss_floor=floor),  # type: ignore[arg-type]
    ]
    if not p.whitened_to_scale:
        return [_na(b, _whitening_reason(p)) for b in out]
    out = [_scaled(b, p) for b in out]
    if "identity" not in init_names and square_layers:
        return [_na(b, "identity initialisation not requested (add --init identity)")
                for b in out]
    return out


def _zas_bound(p: Problem, init_names: Sequence[str], tol: float) -> Bound:
    sp = p.spectrum
    square_layers = len(set(p.widths)) == 1
    b = wu_wang_ma.thm4_3(fro_norm=sp.fro, depth=p.depth, square=sp.square,
                          square_layers=square_layers, eps=tol * 0.5 * sp.fro * sp.fro)
    if not b.applies:
        return b
    if not p.whitened:
        return _na(b, "data are not whitened: Theorem 4.3 is stated for the target form")
    if "zas" not in init_names:
        return _na(b, "zas initialisation not requested (add --init zas)")
    return b


def _cor1_data(p: Problem) -> Bound:
    """gdcert.cor1_data: Corollary 1's argument with Σ = XXᵀ (any data, not only whitened)."""
    assert p.sigma is not None
    sigma = p.sigma
    try:
        w_star = np.linalg.solve(sigma, p.c.T).T  # W* = CΣ⁻¹ (Σ symmetric)
    except np.linalg.LinAlgError:
        w_star = np.zeros_like(p.c)
    if not np.all(np.isfinite(w_star)):
        w_star = np.zeros_like(p.c)
    return data.cor1_data(sigma=sigma, w_star=w_star, depth=p.depth,
                          bottleneck=min(p.widths) < min(p.d_in, p.d_out))


def init_loss(p: Problem, init: Init) -> float:
    """ℓ(W⃗(0)): in target form ``init.target_loss(Φ)`` (the balanced init's without its
    product), in data form from the product."""
    if p.x is None:
        return init.target_loss(p.phi)
    return p.loss_of_product(init.product)


def nguegnang_bounds(p: Problem, init: Init) -> list[Bound]:
    """Nguegnang et al.'s two bounds for the initial weights ``init`` (they depend on W⃗(0))."""
    if p.form == "target":
        y_norm = p.spectrum.rho
    else:
        y_norm = p.y_norm
    loss0 = init_loss(p, init)
    consts = nguegnang.Constants(loss0=loss0, y_norm=y_norm, sigma_min_x=p.sigma_min_x,
                                 x_norm=p.x_norm, xyt_norm=p.xyt_norm, b0=init.b0)
    return [
        nguegnang.thm2_4(consts, depth=p.depth, init=init.name, full_rank=p.full_rank),
        nguegnang.thm2_4_default(consts, depth=p.depth, init=init.name, full_rank=p.full_rank),
    ]


def _exact_at_balanced_minimum(p: Problem) -> Bound:
    """stability.exact at the balanced factorisation of the optimal product."""
    d_max = max(p.widths)
    params = sum(a * b for a, b in zip(p.widths[1:], p.widths[:-1], strict=True))
    small = p.depth * d_max**3 <= EXACT_WORK_LIMIT and params <= EXACT_PARAM_LIMIT
    if not small:
        if p.whitened and p.rank_cap >= min(p.phi.shape):
            # weights are not needed for the closed form; only the depth (len) is.
            return stability.exact(weights=[np.zeros((1, 1))] * p.depth, sigma=None, c=p.c,
                                   where="balanced minimum",
                                   closed_form_rho=p.spectrum.rho)
        b = stability.exact(weights=[np.zeros((1, 1))], sigma=None, c=np.zeros((1, 1)),
                            where="balanced minimum", closed_form_rho=0.0)
        return _na(b, f"too large for the matrix-free Hessian (depth·d³ = "
                      f"{p.depth * d_max**3:.2g} > {EXACT_WORK_LIMIT:.0e}) and no closed form")
    u, s, vt = np.linalg.svd(p.optimal_product, full_matrices=False)
    k = min(p.rank_cap, s.size)
    weights = stability.balanced_minimum(u[:, :k], s[:k], vt[:k], p.widths)
    g, scale = _grad_norm(p, weights)
    return stability.exact(weights=weights, sigma=p.sigma, c=p.c,
                           where="balanced minimum",
                           grad_norm=g, loss_scale=scale)


def compute_bounds(p: Problem, inits: Sequence[Init], *,
                   weights: Sequence[np.ndarray] | None = None, lr: float | None = None,
                   tol: float = 1e-6) -> list[Bound]:
    """Every bound of BOUNDS.md §2 (but Theorem 4 and the empirical edge) for ``p``."""
    names = [i.name for i in inits]
    sp = p.spectrum
    out: list[Bound] = []
    # Nar & Sastry's closed forms hold for target form and data whitened up to scale
    # (XXᵀ = cI: GD at η on the data is GD at cη on ½‖W − Φ‖², Φ = YXᵀ/c).
    ok, c = p.whitened_to_scale, p.whitening_scale
    cor1 = nar_sastry.cor1(rho=sp.rho, depth=p.depth)
    out.append(_scaled(cor1, p) if ok else _na(cor1, _whitening_reason(p)))
    if p.form == "data":
        out.append(_cor1_data(p))
    if lr is not None:
        c2 = nar_sastry.cor2(rho=sp.rho, depth=p.depth, eta=lr * c)
        out.append(_scaled(c2, p) if ok or not c2.applies else _na(c2, _whitening_reason(p)))
    if weights is not None:
        g, scale = _grad_norm(p, weights)
        t1 = nar_sastry.thm1(weights=weights, grad_norm=g, loss_scale=scale)
        out.append(_scaled(t1, p) if ok else _na(t1, _whitening_reason(p)))
        ex = stability.exact(weights=weights, sigma=p.sigma, c=p.c, where="weights",
                             grad_norm=g, loss_scale=scale)
        out.append(ex)
    out.append(_exact_at_balanced_minimum(p))
    out.extend(_identity_bounds(p, names, lr, tol))
    out.append(_zas_bound(p, names, tol))
    for init in inits:
        out.extend(nguegnang_bounds(p, init))
    return out

