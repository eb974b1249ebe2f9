"""Outcome classes for a finished GD run, from what the run recorded.

The classifier reads only a trajectory summary (stop reason, recorded losses and
gradient norms, the last one- and two-step displacements), so the same code classifies
deep-linear runs and the scalar test functions of Nar & Sastry's Examples 1–3.

Classes:

* ``converged_global`` — the loss came within ``tolerance`` of the optimal loss;
* ``converged_critical`` — the gradient vanished (≤ ``grad_tol``) above the optimum;
* ``diverged`` — the loss became non-finite or grew past the divergence factor;
* ``oscillating`` — a period-2 orbit: ``‖θ_{k+2} − θ_k‖ ≪ ‖θ_{k+1} − θ_k‖`` and a
  stationary loss at the end (a damped oscillation still shrinking is not an orbit);
* ``plateau`` — stalled: the loss barely moved over the last half of the run while the
  gradient stayed small but nonzero (near a saddle, Wu et al. Fig. 3);
* ``unfinished`` — none of the above within the iteration budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

OUTCOMES = ("converged_global", "converged_critical", "diverged", "oscillating", "plateau",
            "unfinished")

#: ‖θ_{k+2} − θ_k‖ / ‖θ_{k+1} − θ_k‖ below this (with a stationary loss) is a period-2 orbit.
ORBIT_RATIO = 1e-3
#: Relative change of the loss over the last part of the records counted as "stationary".
STATIONARY_RTOL = 1e-6
#: Relative loss change over the last half counted as a plateau.
PLATEAU_RTOL = 1e-3
#: ... and the final gradient norm at most this fraction of its peak along the run.
PLATEAU_GRAD_DROP = 1e-2


class TrajectoryLike(Protocol):
    step_index: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    iterations: int
    stop: str
    final_loss: float
    step_norm_last: float
    step_norm_two: float


@dataclass(frozen=True)
class Outcome:
    """An outcome class with a one-line summary and the numbers behind it."""

    label: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


def _rel_change(values: np.ndarray) -> float:
    """max|v − v_last| / max(|v_last|, tiny) over the given records."""
    if values.size < 2:
        return math.inf
    last = float(values[-1])
    return float(np.max(np.abs(values - last))) / max(abs(last), 1e-300)


def _at_most_two_levels(values: np.ndarray) -> bool:
    """The values sit on one or two levels (a fixed point or a period-2 orbit's losses)."""
    v = np.sort(values[np.isfinite(values)])
    if v.size == 0:
        return False
    scale = max(float(np.max(np.abs(v))), 1e-300)
    if v.size < 2 or (v[-1] - v[0]) <= STATIONARY_RTOL * scale:
        return True
    cut = int(np.argmax(np.diff(v))) + 1
    low, high = v[:cut], v[cut:]
    return bool((low[-1] - low[0]) <= STATIONARY_RTOL * scale
                and (high[-1] - high[0]) <= STATIONARY_RTOL * scale)


def classify(traj: TrajectoryLike, *, optimal_loss: float, tolerance: float,
             grad_tol: float, loss0: float | None = None) -> Outcome:
    """Classify a finished run (see the module docstring for the classes).

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
    last, two = traj.step_norm_last, traj.step_norm_two
    n = traj.loss.size
    tail = traj.loss[max(0, n - max(4, n // 10)):]
    finite = math.isfinite(last) and math.isfinite(two) and last > 0.0
    if finite and two <= ORBIT_RATIO * last and _at_most_two_levels(tail):
        amp = 0.5 * last
        return Outcome("oscillating",
                       f"period-2 orbit: iterates alternate at distance {last:.3g} "
                       f"(amplitude {amp:.3g}), loss {traj.final_loss:.6g}",
                       {"amplitude": amp, "step_norm_last": last, "step_norm_two": two,
                        "loss": traj.final_loss})
    g_final = float(traj.grad_norm[-1]) if traj.grad_norm.size else math.nan
    if g_final <= grad_tol:
        return Outcome("converged_critical",
                       f"gradient vanished (‖∇ℓ‖ = {g_final:.3g}) at loss {traj.final_loss:.6g}, "
                       f"{gap:.3g} above the optimum", {"grad_norm": g_final, "loss_gap": gap})
    # Relative change of the *gap* to the optimum: a loss dominated by a nonzero optimum
    # barely moves in relative terms even while the gap still shrinks fast.
    half = traj.loss[n // 2:] - optimal_loss
    g_peak = float(np.max(traj.grad_norm)) if traj.grad_norm.size else math.nan
    # Stalled *near a saddle*: the loss stopped moving because the gradient collapsed
    # (≤ 1% of its peak) — not merely because the step size is tiny.
    if n >= 4 and _rel_change(half) <= PLATEAU_RTOL and g_final <= PLATEAU_GRAD_DROP * g_peak:
        return Outcome("plateau",
                       f"stalled: loss ≈ {traj.final_loss:.6g} changed by less than "
                       f"{PLATEAU_RTOL:g} (relative) over the last half of {k} iterations, "
                       f"‖∇ℓ‖ = {g_final:.3g} — likely near a saddle",
                       {"grad_norm": g_final, "loss_gap": gap})
    return Outcome("unfinished",
                   f"budget of {k} iterations used; loss {traj.final_loss:.6g} is {gap:.3g} above "
                   f"the optimum and still moving", {"grad_norm": g_final, "loss_gap": gap})
