"""Two-layer ReLU networks (Nar & Sastry 2018, Section 4): Theorem 4 for a trained model,
and verification runs (``gdcert simulate`` with ``model: relu2``).

Builds the problem (from a model file, or generated like Nar & Sastry's Figure 2), runs
every (seed, step size) pair on the compiled ReLU kernel through the one driver of
:mod:`gdcert.sim.models`, classifies each run and reports, per run, the estimate ``f̂`` at
the stopping point — or the two alternating estimates ``f̂_odd``, ``f̂_even`` of a period-2
orbit — and Theorem 4's value ``1/max_i ‖x_i‖‖f̂(x_i)‖`` there.

Optimal loss: 0 is used as the optimum (a lower bound of the loss; attained for a generated
problem, whose teacher has the student's shape and bias, so ``f`` is representable).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gdcert.api.runs import DEFAULT_RTOL, GRAD_RTOL
from gdcert.bounds.nar_sastry import thm4
from gdcert.errors import InputError
from gdcert.relu_model import ReluModel, load_model
from gdcert.results import Bound, Report, Run, Simulation, Verdict
from gdcert.sim.models import ORBIT_DRIFT_RTOL, Relu2Model
from gdcert.spec import ReluSimConfig


@dataclass(frozen=True)
class _Job:
    seed: int | None
    eta: float
    problem: Any
    init: tuple[np.ndarray, np.ndarray]


def certify_relu(model: ReluModel, *, lr: float | None = None, loss: str = "half-sum") -> Report:
    """Theorem 4 for a trained model, with a verdict for ``lr``."""
    f = model.predict()
    grad, scale = model.grad_norm(loss) if model.y is not None else (None, 1.0)
    b = thm4(x_norms=np.linalg.norm(model.x, axis=0), f_norms=np.linalg.norm(f, axis=0),
             loss=loss, eta=lr, grad_norm=grad, grad_scale=scale)
    i = int(b.extras["argmax_sample"])
    summary = {
        "source": model.source,
        "form": "relu2",
        "shape": [model.w.shape[0], model.v.shape[1]],
        "hidden_units": model.w.shape[1],
        "n_samples": model.x.shape[1],
        "loss": loss,
        "argmax_sample": i,
        "argmax_x": model.x[:, i].tolist(),
        "max_x_f": b.extras["max_x_f"],
    }
    verdict = None
    if lr is not None:
        verdict = _verdict(b, lr)
    return Report(problem=summary, bounds=(b,), verdict=verdict)


def _verdict(b: Bound, lr: float) -> Verdict:
    if not b.applies:
        return Verdict(step_size=lr, status="uncertified",
                       summary=f"η = {lr:.4g}: Theorem 4 does not apply — {b.reason}")
    if b.admits(lr):
        return Verdict(
            step_size=lr,
            status="uncertified",
            summary=(
                f"η = {lr:.4g} is within Theorem 4's bound {b.max_step:.4g}: "
                "GD may have converged to this model (the bound is necessary, "
                "not sufficient)"
            ),
        )
    return Verdict(
        step_size=lr,
        status="impossible",
        violates=(b.id,),
        summary=(
            f"η = {lr:.4g} exceeds Theorem 4's bound {b.max_step:.4g}: "
            "full-batch GD at this step size cannot converge to this model "
            f"(sample {b.extras['argmax_sample']} attains the maximum)"
        ),
    )


def generated_problem(
    *, seed: int, teacher_seed: int, n_samples: int, hidden: int, loss: str
) -> tuple[Any, tuple[np.ndarray, np.ndarray]]:
    """Figure 2's setup: ``x_i = i/N``; ``W, V, b ~ N(0, 1)`` from ``seed`` (in that order);
    ``f = W_t g(V_t x − b)`` with ``W_t, V_t ~ N(0, 1)`` from ``teacher_seed`` and the same
    ``b`` (as in the authors' notebook). Returns the problem and the init ``(W_0, V_0)``."""
    from gdcert.sim.relu_engine import ReluProblem

    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal((1, hidden))
    v0 = rng.standard_normal((hidden, 1))
    b = rng.standard_normal(hidden)
    teacher = np.random.default_rng(teacher_seed)
    w_t = teacher.standard_normal((1, hidden))
    v_t = teacher.standard_normal((hidden, 1))
    x = (np.arange(1, n_samples + 1, dtype=np.float64) / n_samples)[None, :]
    y = w_t @ np.maximum(v_t @ x - b[:, None], 0.0)
    return ReluProblem.make(x, y, b, loss=loss), (w0, v0)


def file_problem(path: str, *, loss: str) -> tuple[Any, tuple[np.ndarray, np.ndarray]]:
    """Problem and init from an ``.npz``: ``W``, ``V``, ``b``, ``X`` and ``Y`` (or ``f``)."""
    from gdcert.sim.relu_engine import ReluProblem

    model = load_model(path)
    if model.y is None:
        raise InputError(f"MODEL {path}: missing the targets: an array 'Y' (or 'f') of shape "
                         f"({model.w.shape[0]}, {model.x.shape[1]})")
    return ReluProblem.make(model.x, model.y, model.b, loss=loss), (model.w, model.v)


def _flat(a: np.ndarray) -> list[Any]:
    return [float(v) for v in a[0]] if a.shape[0] == 1 else a.tolist()


def _thm4(problem: Any, f_hat: np.ndarray, loss: str, eta: float) -> dict[str, Any]:
    b = thm4(
        x_norms=np.linalg.norm(problem.x, axis=0),
        f_norms=np.linalg.norm(f_hat, axis=0),
        loss=loss,
        eta=eta,
    )
    return {
        "max_x_f": b.extras["max_x_f"],
        "max_step": b.max_step,
        "argmax_sample": b.extras["argmax_sample"],
        "eta_within": bool(b.admits(eta)),
    }


def _make_run(
    job: _Job, traj: Any, *, loss: str, tol: float, grad_tol: float, init_name: str
) -> Run:
    outcome = Relu2Model().classify(traj, optimal_loss=0.0, tolerance=tol, grad_tol=grad_tol)
    details = dict(outcome.details)
    prob = job.problem
    if outcome.label != "diverged":
        f_k = prob.predict(traj.w_final, traj.v_final)
        details["final_weights"] = {"W": traj.w_final.tolist(), "V": traj.v_final.tolist()}
        if outcome.label == "oscillating":
            f_prev = prob.predict(traj.w_prev, traj.v_prev)
            even, odd = (f_k, f_prev) if traj.iterations % 2 == 0 else (f_prev, f_k)
            details["f_hat_even"] = _flat(even)
            details["f_hat_odd"] = _flat(odd)
            details["max_abs_f_hat_diff"] = float(np.max(np.abs(odd - even)))
            details["thm4_at_odd"] = _thm4(prob, odd, loss, job.eta)
            details["thm4_at_even"] = _thm4(prob, even, loss, job.eta)
        else:
            details["f_hat"] = _flat(f_k)
            # Theorem 4 holds at a point GD converged to: meaningful for converged_*.
            details["thm4"] = _thm4(prob, f_k, loss, job.eta)
    records = {
        "step_index": traj.step_index,
        "loss": traj.loss,
        "grad_norm": traj.grad_norm,
        "balancedness": None,
        "sharpness": None,
    }
    return Run(
        seed=-1 if job.seed is None else job.seed,
        init=init_name,
        step_label=f"{job.eta:.4g}",
        step_size=job.eta,
        schedule={"a1": job.eta, "a2": math.inf, "gamma": 0.0},
        outcome=outcome.label,
        outcome_summary=outcome.summary,
        iterations=traj.iterations,
        final_loss=traj.final_loss,
        optimal_loss=0.0,
        tolerance=tol,
        promises=(),
        details=details,
        records=records,
    )


def _relu_jobs(cfg: ReluSimConfig) -> tuple[list[_Job], dict[str, Any], str]:
    """Every (seed, step size) job, the problems by key, and the init's name."""
    if cfg.model_file is not None:
        prob, init = file_problem(cfg.model_file, loss=cfg.loss)
        return [_Job(None, eta, prob, init) for eta in cfg.steps], {"file": prob}, "file"
    jobs: list[_Job] = []
    problems: dict[str, Any] = {}
    for seed in cfg.seeds:
        prob, init = generated_problem(seed=seed, teacher_seed=cfg.teacher_seed,
                                       n_samples=cfg.n_samples, hidden=cfg.hidden,
                                       loss=cfg.loss)
        problems[str(seed)] = prob
        jobs += [_Job(seed, eta, prob, init) for eta in cfg.steps]
    return jobs, problems, "gaussian"


def _relu_summary(cfg: ReluSimConfig, problems: dict[str, Any]) -> dict[str, Any]:
    first = next(iter(problems.values()))
    m, r, n = first.shape
    summary: dict[str, Any] = {
        "form": "relu2", "source": cfg.model_file or "generated",
        "shape": {"outputs": m, "hidden_units": r, "inputs": n},
        "n_samples": int(first.x.shape[1]), "loss": cfg.loss,
        "loss_formula": "½ Σ_i ‖f̂(x_i) − f(x_i)‖²" if cfg.loss == "half-sum"
        else "Σ_i ‖f̂(x_i) − f(x_i)‖²",
        "optimal_loss_note": "0 (a lower bound; attained for a generated teacher problem)",
        "x": first.x.tolist(),
        "targets": {k: p.y.tolist() for k, p in problems.items()},
        "bias": {k: p.b.tolist() for k, p in problems.items()},
    }
    if cfg.model_file is None:
        summary["teacher_seed"] = cfg.teacher_seed
    return summary


def simulate_relu(cfg: ReluSimConfig, *, progress: Callable[[int, int], None] | None = None,
                  parallel: bool = True, group_size: int = 8) -> Simulation:
    """Run GD for every (seed, step size) pair of ``cfg``; classify each run.

    ``tolerance`` (default ``1e-10 ×`` the loss of the zero network, ``c‖Y‖_F²``) is the
    loss counted as converged to the optimum 0; the gradient norm counted as zero is
    ``1e-8 × max(c‖Y‖_F‖X‖_F, 1)``. Ctrl-C keeps the finished runs.
    """
    from gdcert.sim.engine import Schedule
    from gdcert.sim.models import Job, RunSettings, run_jobs

    jobs, problems, init_name = _relu_jobs(cfg)
    first = next(iter(problems.values()))
    y_sq = max(float(np.sum(p.y * p.y)) for p in problems.values())
    tol = (DEFAULT_RTOL * max(first.c * y_sq, 1e-300) if cfg.tolerance is None
           else float(cfg.tolerance))
    grad_tol = GRAD_RTOL * max(first.c * math.sqrt(y_sq) * float(np.linalg.norm(first.x)), 1.0)
    run_settings = RunSettings(max_iter=cfg.iterations, loss_target=tol,
                               div_factor=cfg.divergence_factor,
                               record_every=cfg.record_every, parallel=parallel)
    trajs, interrupted = run_jobs(
        Relu2Model(), [Job(j.init, Schedule.constant(j.eta), j.problem) for j in jobs],
        run_settings, group_size=group_size, progress=progress)
    runs = [_make_run(j, t, loss=cfg.loss, tol=tol, grad_tol=grad_tol, init_name=init_name)
            for j, t in zip(jobs, trajs, strict=False)]
    settings = {"model": "relu2", "iterations": cfg.iterations, "tolerance": tol,
                "grad_tol": grad_tol, "seeds": list(cfg.seeds) if cfg.model_file is None else [],
                "step_sizes": [f"{e:.4g}" for e in cfg.steps],
                "orbit_drift_rtol": ORBIT_DRIFT_RTOL}
    return Simulation(problem=_relu_summary(cfg, problems), runs=tuple(runs), bounds=(),
                      settings=settings, interrupted=interrupted)
