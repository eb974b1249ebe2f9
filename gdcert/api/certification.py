"""``certify``: every bound that applies to a problem, once per initialisation, and a verdict.

>>> import numpy as np, gdcert
>>> report = gdcert.certify(np.diag([4.0, 1.0]), depth=2, lr=0.1)
>>> report.bound("nar_sastry.cor1").max_step
0.25
>>> report.verdict.status
'certified'
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from gdcert import inits as _inits
from gdcert.api.inputs import InitArg, check_weights, resolve_inits
from gdcert.api.verdict import make_verdict
from gdcert.errors import InputError
from gdcert.problem import Problem
from gdcert.results import Bound, Report
from gdcert.validate import check_lr, label


def certify(problem: Problem | np.ndarray, *, depth: int | None = None,
            widths: Sequence[int] | None = None, inits: Sequence[InitArg] | None = None,
            weights: Sequence[np.ndarray] | str | os.PathLike[str] | None = None,
            lr: float | None = None, seed: int = 0, init_rank: int | None = None,
            init_scale: float = 1.0, tol: float = 1e-6, aposteriori: bool = True,
            aposteriori_iterations: int = 100_000) -> Report:
    """Compute every applicable bound for ``problem`` and, with ``lr``, a verdict.

    ``problem`` is a :class:`~gdcert.problem.Problem` or a target matrix Φ (then
    ``depth`` is required). ``inits``: names (``identity``, ``zas``, ``balanced``),
    ``.npz`` weight files or :class:`~gdcert.inits.Init` objects; default every built-in
    init defined for the widths. ``weights``: a trained solution (list of arrays or an
    ``.npz`` path) for ``nar_sastry.thm1`` and ``stability.exact`` at that point.
    ``tol``: relative tolerance for the iteration estimates.

    With ``lr`` and ``aposteriori`` (the default), the computer-assisted certificate
    ``aposteriori.pl_ball`` is attempted for every init that no closed-form bound
    certifies at η (simulate up to ``aposteriori_iterations`` steps, then prove convergence
    to a global minimum from the reached iterate; ``docs/certificate.md``); with
    ``weights`` too, it is attempted from those weights (tail only).
    """
    from gdcert.bounds.registry import compute_bounds

    if not isinstance(problem, Problem):
        if depth is None:
            raise InputError("depth is required when certify() is given a matrix")
        problem = Problem.from_target(np.asarray(problem), depth=depth, widths=widths)
    eta = None if lr is None else check_lr(lr)
    init_objs = resolve_inits(problem, inits, seed=seed, init_rank=init_rank,
                              init_scale=init_scale)
    ws = None
    if weights is not None:
        what = label("weights")
        if isinstance(weights, (str, os.PathLike)):
            from gdcert import io

            what = f"{what} {weights}"
            weights = io.load_weights(weights, what=label("weights"))
        ws = check_weights(problem, weights, what=what)
    bounds = compute_bounds(problem, init_objs, weights=ws, lr=eta, tol=tol)
    if eta is not None and aposteriori:
        bounds += _aposteriori(problem, init_objs, eta, bounds, ws, aposteriori_iterations)
    notes = _notes(problem, init_objs)
    if inits is None and _inits.balanced_skipped(problem.widths):
        notes.append(_inits.balanced_skipped(problem.widths))
    verdict = make_verdict(eta, bounds, problem, init_objs) if eta is not None else None
    summary = problem.summary()
    given: list[InitArg | None] = list(inits) if inits else [None] * len(init_objs)
    summary["inits"] = [_init_summary(i, p, seed) for i, p in zip(init_objs, given, strict=True)]
    return Report(problem=summary, bounds=tuple(bounds), verdict=verdict, notes=tuple(notes))


def _aposteriori(problem: Problem, inits: Sequence[_inits.Init], eta: float,
                 bounds: Sequence[Bound], weights: Sequence[np.ndarray] | None,
                 iterations: int) -> list[Bound]:
    """``aposteriori.pl_ball`` rows: per init, and from the given weights (tail only)."""
    from gdcert.api.aposteriori import as_bound, pl_ball_bounds
    from gdcert.bounds.aposteriori import certify_iterate

    rows = pl_ball_bounds(problem, inits, eta, bounds, max_iter=iterations)
    if weights is not None:
        rows.append(as_bound(certify_iterate(problem, weights, eta, init="weights"),
                             init=None, point="weights"))
    return rows


def _init_summary(init: _inits.Init, given: InitArg | None, seed: int) -> dict[str, object]:
    """The report's entry for one init: a weights file keeps its path; a random init drawn
    by name keeps its seed (so ``--verify`` re-draws the very same weights)."""
    by_name = given is None or (not isinstance(given, _inits.Init)
                                and str(given) in _inits.BUILTIN)
    path = None if by_name or isinstance(given, _inits.Init) else str(given)
    random = by_name and init.name not in _inits.DETERMINISTIC
    return {"name": init.name, "description": init.description, "b0": init.b0,
            "seed": seed if random else None, "path": path}


def _notes(p: Problem, inits: Sequence[_inits.Init]) -> list[str]:
    notes = []
    if p.spectrum.rho == 0.0:
        notes.append("the target is zero: every bound that depends on ρ(Φ) is infinite — "
                     "any step size is compatible with fitting it (W = 0 is optimal)")
    if p.form == "data" and not p.full_rank:
        notes.append(f"XXᵀ is singular (σ_min(X) = {p.sigma_min_x:.3g}): Nguegnang et al.'s "
                     "Theorem 2.4 does not apply")
    if p.form == "data" and p.loss == "mean":
        notes.append(f"step sizes are in the mean convention (1/2m)‖Y − WX‖², m = "
                     f"{p.n_samples}; the sum convention's are m times smaller")
    if p.rank_cap < min(p.phi.shape):
        notes.append(f"the network's rank cap r = {p.rank_cap} is below min(d_in, d_out): the "
                     f"optimal loss is {p.optimal_loss:.6g}, not 0")
    if p.widths[0] != p.widths[-1] or len(set(p.widths)) > 1:
        notes.append(f"widths {list(p.widths)}: identity and ZAS initialisations need square "
                     "layers, so their bounds do not apply")
    return notes
