"""The Python API that the CLI wraps: load a problem, certify a step size.

>>> import numpy as np, gdcert
>>> report = gdcert.certify(np.diag([4.0, 1.0]), depth=2, lr=0.1)
>>> report.bound("nar_sastry.cor1").max_step
0.25
>>> report.verdict.status
'certified'
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from gdcert import inits as _inits
from gdcert.errors import InputError
from gdcert.problem import Loss, Problem
from gdcert.results import Bound, Report, Verdict

InitArg = str | os.PathLike[str] | _inits.Init


def load_problem(target: str | os.PathLike[str] | None = None, *, data: str | None = None,
                 depth: int, widths: Sequence[int] | None = None, loss: Loss = "sum",
                 samples_as_rows: bool = False) -> Problem:
    """Read a target matrix file (``TARGET``) or a dataset ``.npz`` (``data``) into a Problem."""
    from gdcert import io

    if (target is None) == (data is None):
        raise InputError("give exactly one of TARGET or --data")
    if data is not None:
        x, y = io.load_data(data, samples_as_rows=samples_as_rows)
        return Problem.from_data(x, y, depth=depth, widths=widths, loss=loss, source=str(data))
    assert target is not None
    phi = io.load_matrix(target)
    return Problem.from_target(phi, depth=depth, widths=widths, source=str(target))


def resolve_inits(problem: Problem, inits: Sequence[InitArg] | None, *, seed: int = 0,
                  init_rank: int | None = None, init_scale: float = 1.0) -> list[_inits.Init]:
    """Turn init names / weight files into :class:`~gdcert.inits.Init` objects.

    ``None`` means every built-in initialisation defined for the problem's widths.
    """
    names: Sequence[InitArg] = (_inits.available(problem.widths) if inits is None else inits)
    out: list[_inits.Init] = []
    for item in names:
        if isinstance(item, _inits.Init):
            init = item
        elif str(item) in _inits.BUILTIN:
            init = _inits.make(str(item), problem.widths, rank=init_rank, scale=init_scale,
                               seed=seed)
        elif str(item).lower().endswith(".npz"):
            from gdcert import io

            ws = io.load_weights(item, what="--init")
            init = _inits.from_weights(os.path.basename(str(item)), ws)
        else:
            raise InputError(f"--init: unknown initialisation {str(item)!r}; expected one of "
                             f"{', '.join(_inits.BUILTIN)} or an .npz file of weights W1..WL")
        if init.widths != problem.widths:
            raise InputError(f"--init {init.name}: layer widths {init.widths} do not match the "
                             f"problem's widths {problem.widths}")
        out.append(init)
    return out


def check_weights(problem: Problem, weights: Sequence[np.ndarray], *, what: str = "--weights"
                  ) -> list[np.ndarray]:
    """Weights [W_1..W_L] must chain and match the problem's input/output dimensions."""
    ws = [np.ascontiguousarray(w, dtype=np.float64) for w in weights]
    if not ws:
        raise InputError(f"{what}: no layers given")
    for j in range(1, len(ws)):
        if ws[j].shape[1] != ws[j - 1].shape[0]:
            raise InputError(f"{what}: W{j + 1} has {ws[j].shape[1]} columns but W{j} has "
                             f"{ws[j - 1].shape[0]} rows: layers do not chain")
    if ws[0].shape[1] != problem.d_in or ws[-1].shape[0] != problem.d_out:
        raise InputError(f"{what}: the product W_L⋯W_1 is {ws[-1].shape[0]}×{ws[0].shape[1]} "
                         f"but the target is {problem.d_out}×{problem.d_in}")
    if len(ws) != problem.depth:
        raise InputError(f"{what}: {len(ws)} layers given but --depth is {problem.depth}")
    return ws


def _check_lr(lr: float | None) -> float | None:
    if lr is None:
        return None
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not (
            math.isfinite(lr) and lr > 0):
        raise InputError(f"--lr must be a positive finite number, got {lr!r}")
    return float(lr)


def certify(problem: Problem | np.ndarray, *, depth: int | None = None,
            widths: Sequence[int] | None = None, inits: Sequence[InitArg] | None = None,
            weights: Sequence[np.ndarray] | str | os.PathLike[str] | None = None,
            lr: float | None = None, seed: int = 0, init_rank: int | None = None,
            init_scale: float = 1.0, tol: float = 1e-6) -> Report:
    """Compute every applicable bound for ``problem`` and, with ``lr``, a verdict.

    ``problem`` is a :class:`~gdcert.problem.Problem` or a target matrix Φ (then
    ``depth`` is required). ``inits``: names (``identity``, ``zas``, ``balanced``),
    ``.npz`` weight files or :class:`~gdcert.inits.Init` objects; default every built-in
    init defined for the widths. ``weights``: a trained solution (list of arrays or an
    ``.npz`` path) for ``nar_sastry.thm1`` and ``stability.exact`` at that point.
    ``tol``: relative tolerance for the iteration estimates.
    """
    from gdcert.bounds.registry import compute_bounds

    if not isinstance(problem, Problem):
        if depth is None:
            raise InputError("depth is required when certify() is given a matrix")
        problem = Problem.from_target(np.asarray(problem), depth=depth, widths=widths)
    eta = _check_lr(lr)
    init_objs = resolve_inits(problem, inits, seed=seed, init_rank=init_rank,
                              init_scale=init_scale)
    ws = None
    if weights is not None:
        what = "--weights"
        if isinstance(weights, (str, os.PathLike)):
            from gdcert import io

            what = f"--weights {weights}"
            weights = io.load_weights(weights)
        ws = check_weights(problem, weights, what=what)
    bounds = compute_bounds(problem, init_objs, weights=ws, lr=eta, tol=tol)
    notes = _notes(problem, init_objs)
    verdict = make_verdict(eta, bounds, problem) if eta is not None else None
    summary = problem.summary()
    given: list[InitArg | None] = list(inits) if inits else [None] * len(init_objs)
    summary["inits"] = [{"name": i.name, "description": i.description, "b0": i.b0,
                         "path": None if p is None or isinstance(p, _inits.Init)
                         or str(p) in _inits.BUILTIN else str(p)}
                        for i, p in zip(init_objs, given, strict=True)]
    return Report(problem=summary, bounds=tuple(bounds), verdict=verdict, notes=tuple(notes))


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


def verify_report(problem: Problem, report: Report, *, iterations: int = 20_000,
                  seeds: Sequence[int] = (0,), init_rank: int | None = None,
                  init_scale: float = 1.0) -> Report:
    """Add verification runs to a report: for every init of the report, GD at the user's
    step size (if any) and at each applicable sufficient bound for that init.

    Inits given as weight files are simulated from those weights.
    """
    from dataclasses import replace

    from gdcert.sim.runner import InitSpec, StepSpec, simulate

    runs: list[Any] = []
    eta = report.verdict.step_size if report.verdict else None
    for init in report.problem.get("inits", []):
        name = init["name"]
        if name in _inits.BUILTIN:
            spec = InitSpec(name=name, rank=init_rank, scale=init_scale)
        else:
            spec = InitSpec(name="file", file=init.get("path"))
        steps: list[float | StepSpec] = [] if eta is None else [eta]
        for b in report.bounds:
            if (b.kind == "sufficient" and b.applies and b.init == name
                    and math.isfinite(b.max_step) and b.max_step > 0):
                steps.append(StepSpec(bound=b.id))
        if not steps:
            continue
        sim = simulate(problem, init=spec, step_sizes=steps, seeds=seeds,
                       iterations=iterations)
        runs.extend(sim.runs)
        if sim.interrupted:
            break
    return replace(report, runs=tuple(runs))
