"""Outcome classes for a finished GD run, from what the run recorded.

The classifier reads only a trajectory summary — the stop reason, the recorded losses and
gradient norms, the last one- and two-step displacements, ``‖θ_K‖`` and the *tail* (loss,
gradient norm and a fingerprint of each of the last ≤ 128 iterates, every step, not
decimated) — so the same code classifies deep-linear runs (:mod:`gdcert.sim.engine`),
two-layer ReLU runs (:mod:`gdcert.sim.relu_engine`) and the scalar test functions of
Nar & Sastry's Examples 1–3 (``tests/scalar_harness.py``).

Classes, tested in this order:

* ``diverged`` — the loss became non-finite or grew past the divergence factor;
* ``converged_global`` — the loss came within ``tolerance`` of the optimal loss;
* ``converged_critical`` — the gradient vanished (≤ ``grad_tol``) above the optimum. Tested
  before any orbit, so a fixed point whose iterates jitter by rounding is not an orbit;
* ``oscillating`` — an orbit of smallest period ``p`` (2 ≤ p ≤ :data:`MAX_PERIOD`):
  over the whole tail, every iterate repeats the one ``p`` steps earlier —
  fingerprints within :data:`ORBIT_RATIO` of the largest one-step move, losses within
  :data:`STATIONARY_RTOL` (relative) — and the last step ``‖θ_K − θ_{K−1}‖`` is well above
  rounding (> :data:`ORBIT_MIN_STEP` ``‖θ_K‖``). A damped oscillation still shrinking fails
  the loss test. ``details["period"]``;
* ``plateau`` — stalled: the loss gap barely moved over the last half of the records
  (≤ :data:`PLATEAU_RTOL`) and the gradient is small — fallen to
  :data:`PLATEAU_GRAD_DROP` of its peak (creeping towards a saddle, Wu et al. Fig. 3) or
  small relative to the loss scale, ``‖∇ℓ‖ ≤`` :data:`PLATEAU_GRAD_REL` ``√(2(ℓ − ℓ*))``
  (a run that started at a saddle and has not left it);
* ``bounded`` — no orbit, but no trend either: the per-step loss in the tail still rises
  and falls, and over the last half of the records neither the lowest nor the highest loss
  moves by more than :data:`BOUNDED_TREND` of the loss range (an aperiodic, e.g. chaotic,
  attractor). ``details["loss_range"]``;
* ``unfinished`` — none of the above within the iteration budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

OUTCOMES = ("converged_global", "converged_critical", "diverged", "oscillating", "bounded",
            "plateau", "unfinished")

#: Longest orbit period looked for (the tail holds two periods of it).
MAX_PERIOD = 64
#: An orbit's iterates repeat to this fraction of its largest one-step move (fingerprints).
ORBIT_RATIO = 1e-3
#: ... and its last step exceeds this fraction of ‖θ_K‖ (well above rounding, ~4.5e5 ulps).
ORBIT_MIN_STEP = 1e-10
#: Relative change of the loss counted as "stationary" (orbit losses, one period apart).
STATIONARY_RTOL = 1e-6
#: Relative loss change over the last half counted as a plateau.
PLATEAU_RTOL = 1e-3
#: ... and the final gradient norm at most this fraction of its peak along the run,
PLATEAU_GRAD_DROP = 1e-2
#: ... or at most this fraction of √(2(ℓ − ℓ*)) (= ‖W − Φ‖_F in target form).
PLATEAU_GRAD_REL = 1e-2
#: Bounded: the lowest and the highest loss of each quarter of the last half of the records
#: agree to this fraction of the loss range.
BOUNDED_TREND = 0.25


class TrajectoryLike(Protocol):
    """What :func:`classify` reads (``Trajectory``, ``ReluTrajectory``, the scalar harness)."""

    step_index: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    iterations: int
    stop: str
    final_loss: float
    step_norm_last: float
    step_norm_two: float
    theta_norm: float
    tail_loss: np.ndarray
    tail_fingerprint: np.ndarray


@dataclass(frozen=True)
class Outcome:
    """An outcome class with a one-line summary and the numbers behind it."""

    label: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Orbit:
    """A periodic tail: smallest period, how exactly it repeats, its loss levels."""

    period: int
    repeat_ratio: float  # max_k ‖F_k − F_{k−p}‖ / max_k ‖F_k − F_{k−1}‖ over the tail
    loss_drift: float  # max_k |ℓ_k − ℓ_{k−p}| / max_k |ℓ_k|
    loss_min: float
    loss_max: float


def _rel_change(values: np.ndarray) -> float:
    """max|v − v_last| / max(|v_last|, tiny) over the given records."""
    if values.size < 2:
        return math.inf
    last = float(values[-1])
    return float(np.max(np.abs(values - last))) / max(abs(last), 1e-300)


def find_period(fingerprint: np.ndarray, loss: np.ndarray, *,
                max_period: int = MAX_PERIOD) -> Orbit | None:
    """The smallest ``p ≥ 2`` with which the tail repeats, or ``None``.

    ``fingerprint`` (``n × f``) and ``loss`` (``n``) describe consecutive iterates, oldest
    first. ``p`` qualifies when the tail holds at least two periods (``n ≥ 2p``) and for
    every ``k`` with ``k − p`` in the tail ``‖F_k − F_{k−p}‖ ≤ ORBIT_RATIO · max_j
    ‖F_j − F_{j−1}‖`` and ``|ℓ_k − ℓ_{k−p}| ≤ STATIONARY_RTOL · max_j |ℓ_j|``. A tail that
    does not move at all (a fixed point) has no period.
    """
    fp = np.asarray(fingerprint, dtype=np.float64)
    ls = np.asarray(loss, dtype=np.float64)
    if fp.ndim == 1:
        fp = fp[:, None]
    n = ls.size
    if n < 4 or fp.shape[0] != n or not (np.all(np.isfinite(fp)) and np.all(np.isfinite(ls))):
        return None
    step = float(np.max(np.linalg.norm(np.diff(fp, axis=0), axis=1)))
    if not step > 0.0:
        return None
    lscale = max(float(np.max(np.abs(ls))), 1e-300)
    for p in range(2, min(max_period, n // 2) + 1):
        rep = float(np.max(np.linalg.norm(fp[p:] - fp[:-p], axis=1))) / step
        if rep > ORBIT_RATIO:
            continue
        drift = float(np.max(np.abs(ls[p:] - ls[:-p]))) / lscale
        if drift <= STATIONARY_RTOL:
            return Orbit(period=p, repeat_ratio=rep, loss_drift=drift,
                         loss_min=float(np.min(ls[-p:])), loss_max=float(np.max(ls[-p:])))
    return None


def _bounded_range(loss: np.ndarray, tail_loss: np.ndarray) -> tuple[float, float] | None:
    """``(min, max)`` of the loss over the tail if the run looks bounded without a trend.

    The per-step tail must still rise somewhere (by more than ``STATIONARY_RTOL``
    relative); over the last half of the records (or the tail, when there are fewer than 16
    records) the lowest and highest loss of its two halves must agree to
    ``BOUNDED_TREND`` of the range.
    """
    tail = tail_loss[np.isfinite(tail_loss)]
    if tail.size < 4:
        return None
    scale = max(float(np.max(np.abs(tail))), 1e-300)
    if not np.any(np.diff(tail) > STATIONARY_RTOL * scale):
        return None
    series = loss[loss.size // 2:] if loss.size >= 16 else tail
    series = series[np.isfinite(series)]
    if series.size < 4:
        return None
    lo, hi = float(np.min(series)), float(np.max(series))
    spread = hi - lo
    if not spread > STATIONARY_RTOL * scale:
        return None
    first, second = series[: series.size // 2], series[series.size // 2:]
    if (abs(float(np.min(first)) - float(np.min(second))) > BOUNDED_TREND * spread
            or abs(float(np.max(first)) - float(np.max(second))) > BOUNDED_TREND * spread):
        return None
    return min(lo, float(np.min(tail))), max(hi, float(np.max(tail)))


def classify(traj: TrajectoryLike, *, optimal_loss: float, tolerance: float,
             grad_tol: float, loss0: float | None = None) -> Outcome:
    """Classify a finished run (see the module docstring for the classes and their order).

    ``grad_tol`` is the absolute gradient norm counted as zero; ``tolerance`` the loss gap
    counted as optimal. ``loss0`` (default: the first record) scales divergence reports.
    """
    gap = traj.final_loss - optimal_loss
    k = traj.iterations
    if traj.stop == "diverged" or not math.isfinite(traj.final_loss):
        return Outcome("diverged", f"diverged at iteration {k}", {"diverged_at": k})
    if traj.stop == "target" or gap <= tolerance:
        return Outcome("converged_global",
                       f"reached the optimal loss to {tolerance:.3g} in {k} iterations",
                       {"loss_gap": gap})
    g_final = float(traj.grad_norm[-1]) if traj.grad_norm.size else math.nan
    # The gradient first: at a fixed point the iterates may jitter by a few ulps, which
    # the orbit test below would otherwise read as a period-2 orbit.
    if g_final <= grad_tol:
        return Outcome("converged_critical",
                       f"gradient vanished (‖∇ℓ‖ = {g_final:.3g}) at loss {traj.final_loss:.6g}, "
                       f"{gap:.3g} above the optimum", {"grad_norm": g_final, "loss_gap": gap})
    last, two = traj.step_norm_last, traj.step_norm_two
    theta_norm = traj.theta_norm if math.isfinite(traj.theta_norm) else 0.0
    moving = math.isfinite(last) and last > ORBIT_MIN_STEP * max(theta_norm, 1e-300)
    orbit = find_period(traj.tail_fingerprint, traj.tail_loss) if moving else None
    if orbit is not None:
        amp = 0.5 * last
        p = orbit.period
        return Outcome("oscillating",
                       f"period-{p} orbit: iterates repeat every {p} steps (to "
                       f"{orbit.repeat_ratio:.1g} of a step), consecutive ones at distance "
                       f"{last:.3g} (amplitude {amp:.3g}), loss in "
                       f"[{orbit.loss_min:.6g}, {orbit.loss_max:.6g}]",
                       {"period": p, "amplitude": amp, "step_norm_last": last,
                        "step_norm_two": two, "loss": traj.final_loss,
                        "loss_range": [orbit.loss_min, orbit.loss_max],
                        "repeat_ratio": orbit.repeat_ratio, "loss_drift": orbit.loss_drift})
    n = traj.loss.size
    # Relative change of the *gap* to the optimum: a loss dominated by a nonzero optimum
    # barely moves in relative terms even while the gap still shrinks fast.
    half = traj.loss[n // 2:] - optimal_loss
    g_peak = float(np.max(traj.grad_norm)) if traj.grad_norm.size else math.nan
    # Stalled near a saddle: the loss stopped moving because the gradient is small —
    # collapsed (≤ 1% of its peak), or never large (a run that starts at a saddle) — not
    # merely because the step size is tiny.
    small = (g_final <= PLATEAU_GRAD_DROP * g_peak
             or g_final <= PLATEAU_GRAD_REL * math.sqrt(2.0 * max(gap, 0.0)))
    if n >= 4 and _rel_change(half) <= PLATEAU_RTOL and small:
        return Outcome("plateau",
                       f"stalled: loss ≈ {traj.final_loss:.6g} changed by less than "
                       f"{PLATEAU_RTOL:g} (relative) over the last half of {k} iterations, "
                       f"‖∇ℓ‖ = {g_final:.3g} — likely near a saddle",
                       {"grad_norm": g_final, "grad_norm_peak": g_peak, "loss_gap": gap})
    span = _bounded_range(traj.loss, traj.tail_loss)
    if span is not None:
        return Outcome("bounded",
                       f"bounded, no period ≤ {MAX_PERIOD}: the loss keeps moving in "
                       f"[{span[0]:.6g}, {span[1]:.6g}] with no trend over the last half of "
                       f"{k} iterations", {"loss_range": [span[0], span[1]],
                                           "grad_norm": g_final, "loss_gap": gap})
    return Outcome("unfinished",
                   f"budget of {k} iterations used; loss {traj.final_loss:.6g} is {gap:.3g} above "
                   f"the optimum and still moving", {"grad_norm": g_final, "loss_gap": gap})
