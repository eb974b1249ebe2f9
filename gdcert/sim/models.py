"""One interface over the simulated models, and one driver that runs jobs on them.

A :class:`Model` turns a group of :class:`Job` objects (initial weights and a step-size
schedule, and for the ReLU model the job's own data) into trajectories on the compiled
core, and classifies a trajectory. :func:`run_jobs` sends jobs to a model in small groups
so that a progress callback can report and Ctrl-C (``KeyboardInterrupt``) keeps every
trajectory already finished. The API builds the jobs (step sizes resolved from bounds,
weights drawn from the init registry) and turns trajectories into results; nothing here
computes a bound or reads a file.

* :class:`LinearModel` — GD on ``W_L ⋯ W_1`` (:func:`gdcert.sim.engine.run_batch`);
* :class:`Relu2Model` — GD on ``W g(Vx − b)`` (:func:`gdcert.sim.relu_engine.run_relu_batch`),
  constant step sizes only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from gdcert.sim import classify as _classify

#: Largest relative move of either loss level of a period-2 ReLU orbit over the last tenth
#: of the records (see :meth:`Relu2Model.classify`).
ORBIT_DRIFT_RTOL = 1e-2


@dataclass(frozen=True)
class Job:
    """One trajectory to run: initial weights, a schedule, and (ReLU) its own problem.

    ``delta_bal`` and ``lemma3`` ask the compiled core to check, at every step,
    ``b(W⃗_k) ≤ delta_bal`` (Nguegnang et al.) and Lemma 3's per-direction rate (a
    :class:`gdcert.sim.engine.DirectionPromise`); ``None``: not checked.
    """

    init: Sequence[np.ndarray]
    schedule: Any  # gdcert.sim.engine.Schedule
    problem: Any = None
    delta_bal: float | None = None
    lemma3: Any = None


@dataclass(frozen=True)
class RunSettings:
    """Stopping rule, records and tracking, shared by every job of one simulation."""

    max_iter: int
    loss_target: float
    div_factor: float = 1e6
    record_every: int = 0
    parallel: bool = True
    track_balancedness: bool = False
    track_sharpness: bool = False
    track_invariants: bool = False
    #: Check Wu et al.'s envelope ℓ_k − ℓ* ≤ Π(1 − η_s/2)(ℓ_0 − ℓ*) at every step.
    envelope: bool = False
    envelope_optimal_loss: float = 0.0


class Model(Protocol):
    """What the driver and the API need of a simulated model."""

    @property
    def name(self) -> str:
        """``linear`` or ``relu2``."""
        ...

    def run(self, jobs: Sequence[Job], settings: RunSettings) -> list[Any]:
        """One trajectory per job (in order)."""
        ...

    def classify(self, traj: Any, *, optimal_loss: float, tolerance: float,
                 grad_tol: float) -> _classify.Outcome:
        """The outcome class of a trajectory."""
        ...


@dataclass(frozen=True, eq=False)
class LinearModel:
    """GD on a deep linear network; ``problem`` is a :class:`gdcert.sim.engine.GDProblem`."""

    problem: Any
    name: str = "linear"

    def run(self, jobs: Sequence[Job], settings: RunSettings) -> list[Any]:
        from gdcert.sim.engine import run_batch

        return run_batch(self.problem, [j.init for j in jobs], [j.schedule for j in jobs],
                         max_iter=settings.max_iter, loss_target=settings.loss_target,
                         div_factor=settings.div_factor, record_every=settings.record_every,
                         track_balancedness=settings.track_balancedness,
                         track_sharpness=settings.track_sharpness,
                         track_invariants=settings.track_invariants,
                         promise_delta_bal=[j.delta_bal for j in jobs],
                         envelope=settings.envelope,
                         envelope_optimal_loss=settings.envelope_optimal_loss,
                         lemma3=[j.lemma3 for j in jobs], parallel=settings.parallel)

    def classify(self, traj: Any, *, optimal_loss: float, tolerance: float,
                 grad_tol: float) -> _classify.Outcome:
        return _classify.classify(traj, optimal_loss=optimal_loss, tolerance=tolerance,
                                  grad_tol=grad_tol)


def _two_level_drift(values: np.ndarray) -> float:
    """Largest spread of the two loss levels (split at the largest gap), relative."""
    v = np.sort(values[np.isfinite(values)])
    if v.size < 2:
        return math.inf
    scale = max(float(np.max(np.abs(v))), 1e-300)
    cut = int(np.argmax(np.diff(v))) + 1
    low, high = v[:cut], v[cut:]
    return float(max(low[-1] - low[0], high[-1] - high[0])) / scale


@dataclass(frozen=True, eq=False)
class Relu2Model:
    """GD on two-layer ReLU networks; each job carries its ``ReluProblem``.

    ReLU orbits drift: the centre of a period-2 orbit keeps creeping along flat directions
    for a very long time (measured: ~1e-3 relative over 20k steps, still ~3e-4 after
    200k), so the linear classifier, which demands loss levels settled to ``1e-6``, leaves
    such runs ``unfinished``. :meth:`classify` then reports ``oscillating`` when the
    period-2 test holds (``‖θ_K − θ_{K−2}‖ ≤ 1e-3 ‖θ_K − θ_{K−1}‖``) and both loss levels
    move by at most :data:`ORBIT_DRIFT_RTOL` over the last tenth of the records; the drift
    is reported with it.
    """

    name: str = "relu2"

    def run(self, jobs: Sequence[Job], settings: RunSettings) -> list[Any]:
        from gdcert.sim.relu_engine import run_relu_batch

        inits: list[Any] = [tuple(j.init) for j in jobs]
        return run_relu_batch([j.problem for j in jobs], inits,
                              [float(j.schedule.a1) for j in jobs], max_iter=settings.max_iter,
                              loss_target=settings.loss_target, div_factor=settings.div_factor,
                              record_every=settings.record_every, parallel=settings.parallel)

    def classify(self, traj: Any, *, optimal_loss: float, tolerance: float,
                 grad_tol: float) -> _classify.Outcome:
        out = _classify.classify(traj, optimal_loss=optimal_loss, tolerance=tolerance,
                                 grad_tol=grad_tol)
        if out.label != "unfinished":
            return out
        last, two = traj.step_norm_last, traj.step_norm_two
        n = traj.loss.size
        drift = _two_level_drift(traj.loss[max(0, n - max(4, n // 10)):])
        if (math.isfinite(last) and math.isfinite(two) and last > 0.0
                and two <= _classify.ORBIT_RATIO * last and drift <= ORBIT_DRIFT_RTOL):
            amp = 0.5 * last
            return _classify.Outcome(
                "oscillating",
                f"period-2 orbit: iterates alternate at distance {last:.3g} (amplitude "
                f"{amp:.3g}), ‖θ_K − θ_K−2‖/‖θ_K − θ_K−1‖ = {two / last:.2g}; loss "
                f"{traj.final_loss:.6g}, its two levels still drifting by {drift:.2g} "
                "(relative) over the last tenth",
                {"amplitude": amp, "period": 2, "step_norm_last": last, "step_norm_two": two,
                 "loss": traj.final_loss, "orbit_drift": drift})
        return out


def run_jobs(model: Model, jobs: Sequence[Job], settings: RunSettings, *, group_size: int = 8,
             progress: Callable[[int, int], None] | None = None) -> tuple[list[Any], bool]:
    """Run every job on ``model`` in groups of ``group_size``; ``(trajectories, interrupted)``.

    Ctrl-C between groups stops the loop and returns the trajectories already finished
    with ``interrupted=True`` (a group in flight is lost, never half-reported).
    """
    out: list[Any] = []
    try:
        for start in range(0, len(jobs), group_size):
            out.extend(model.run(jobs[start:start + group_size], settings))
            if progress is not None:
                progress(len(out), len(jobs))
    except KeyboardInterrupt:
        return out, True
    return out, False
