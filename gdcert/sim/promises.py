"""Check the sufficient theorems' promises against a simulated trajectory.

Each check returns a :class:`PromiseCheck` — held or violated, with the worst margin
(the largest ratio of what was observed to what was promised; ≤ 1 means held).

* Wu, Wang & Ma (2019), Theorem 4.3: ``R(t) ≤ Π_{k<t}(1 − η_k/2) R(0)`` at every record.
* Nguegnang, Rauhut & Terstiege (2021), Theorem 2.4 / Prop. 3.3: the loss never
  increases (between consecutive records) and the balancedness stays ≤ ``delta_bal``.
* Nar & Sastry (2018), Lemma 3: in Φ's eigenbasis each layer is ``diag(w_i)`` and
  ``|w_i[k] − λ_i^{1/L}| ≤ β_i^k |1 − λ_i^{1/L}|``.

Two ways in. The ``*_checked`` functions read what the compiled core checked at **every**
step (:func:`gdcert.sim.engine.run_batch` with ``promise_delta_bal=``, ``envelope=True``,
``lemma3=`` :func:`lemma3_promise`) and report the first violating step. The older
functions (:func:`wu_envelope`, :func:`nguegnang_monotone`, :func:`lemma3_final`) check
the decimated records (or the final iterate) only: a violation between records — e.g. the
rising half of a period-2 orbit seen at an even stride — goes unseen by them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Relative slack for floating-point rounding when comparing with a promise.
RTOL = 1e-9


@dataclass(frozen=True)
class PromiseCheck:
    """One theorem's promise checked along a run."""

    bound_id: str
    promise: str
    held: bool | None  # None: could not be checked (say why in ``detail``)
    worst_margin: float
    detail: str

    def to_dict(self) -> dict[str, Any]:
        from gdcert.results import jsonable

        held = None if self.held is None else bool(self.held)
        return {"bound": self.bound_id, "promise": self.promise, "held": held,
                "worst_margin": jsonable(self.worst_margin), "detail": self.detail}


def log_envelope(step_index: np.ndarray, etas: np.ndarray) -> np.ndarray:
    """ln Π_{k<t}(1 − η_k/2) at each recorded t, from the per-iteration step sizes."""
    cum = np.concatenate([[0.0], np.cumsum(np.log1p(-etas / 2.0))])
    return cum[np.minimum(step_index, cum.size - 1)]


def wu_envelope(step_index: np.ndarray, loss: np.ndarray, etas: np.ndarray,
                optimal_loss: float = 0.0) -> PromiseCheck:
    """Wu et al. Theorem 4.3: R(t) ≤ (1 − η/2)^t R(0) (product of factors for a schedule).

    ``R`` is the loss gap to the optimum (the optimum is 0 for Theorem 4.3's square case).
    """
    r = loss - optimal_loss
    r0 = r[0]
    if r0 <= 0:
        return PromiseCheck("wu_wang_ma.thm4_3", "R(t) ≤ (1 − η/2)^t R(0)", True, 0.0,
                            "started at the optimum")
    env = r0 * np.exp(log_envelope(step_index, etas))
    ratio = np.where(env > 0, r / np.maximum(env, 1e-300), np.where(r <= 0, 0.0, np.inf))
    worst = int(np.argmax(ratio))
    held = bool(ratio[worst] <= 1.0 + RTOL)
    return PromiseCheck(
        "wu_wang_ma.thm4_3", "R(t) ≤ (1 − η/2)^t R(0)", held, float(ratio[worst]),
        f"worst at t = {int(step_index[worst])}: R = {r[worst]:.4g} vs envelope "
        f"{env[worst]:.4g} (checked at {r.size} records)")


def nguegnang_monotone(bound_id: str, step_index: np.ndarray, loss: np.ndarray,
                       balancedness: np.ndarray | None, delta_bal: float) -> list[PromiseCheck]:
    """Nguegnang et al. Prop. 3.3: loss non-increasing and balancedness ≤ delta_bal."""
    out = []
    scale = max(float(abs(loss[0])), 1e-300)
    inc = np.diff(loss) / scale if loss.size > 1 else np.zeros(0)
    worst_inc = float(inc.max()) if inc.size else 0.0
    held = bool(worst_inc <= RTOL)
    at = int(step_index[int(np.argmax(inc)) + 1]) if inc.size else 0
    out.append(PromiseCheck(
        bound_id, "the loss never increases", held, 1.0 + max(worst_inc, 0.0),
        ("largest increase " f"{worst_inc * scale:.3g} at t = {at}" if worst_inc > 0
         else "non-increasing") + f" (checked between {loss.size} records)"))
    if balancedness is None:
        out.append(PromiseCheck(bound_id, f"balancedness ≤ delta_bal = {delta_bal:.4g}", None,
                                math.nan, "not checked: balancedness was not tracked"))
        return out
    ratio = balancedness / delta_bal
    worst = int(np.argmax(ratio))
    out.append(PromiseCheck(
        bound_id, f"balancedness ≤ delta_bal = {delta_bal:.4g}",
        bool(ratio[worst] <= 1.0 + RTOL), float(ratio[worst]),
        f"max balancedness {balancedness[worst]:.4g} at t = {int(step_index[worst])}"))
    return out


def lemma3_final(final_weights: Sequence[np.ndarray], phi: np.ndarray, eta: float,
                 iterations: int, *, beta: Callable[[float, int, float], float]
                 ) -> PromiseCheck:
    """Nar & Sastry Lemma 3 at the final iterate k = K (identity init, symmetric PSD Φ).

    From ``W_j(0) = I`` every layer stays ``U diag(w_i) Uᵀ`` with Φ = U diag(λ_i) Uᵀ, and
    ``|w_i[k] − λ_i^{1/L}| ≤ β_i^k |1 − λ_i^{1/L}|`` with β_i = ``beta(λ_i, L, η)``
    (:func:`gdcert.bounds.nar_sastry.lemma3_beta`, passed in by the API).
    """
    depth = len(final_weights)
    lam, u = np.linalg.eigh(0.5 * (phi + phi.T))
    lam = np.clip(lam, 0.0, None)
    w = np.diag(u.T @ final_weights[0] @ u)
    target = lam ** (1.0 / depth)
    worst, worst_i = 0.0, 0
    for i, li in enumerate(lam):
        b_i = abs(beta(float(li), depth, eta))
        start = abs(1.0 - target[i])
        promised = (b_i**iterations) * start if b_i > 0 else 0.0
        err = abs(w[i] - target[i])
        slack = RTOL * max(1.0, abs(target[i]))
        ratio = (err - slack) / promised if promised > 0 else (0.0 if err <= slack else math.inf)
        ratio = max(ratio, 0.0)
        if ratio > worst:
            worst, worst_i = ratio, i
    return PromiseCheck(
        "nar_sastry.lemma3", "|w − λ^(1/L)| ≤ β^k |1 − λ^(1/L)| per eigen-direction",
        bool(worst <= 1.0 + RTOL), float(worst),
        f"checked at the final iterate k = {iterations}; tightest eigenvalue "
        f"λ = {lam[worst_i]:.4g}")


# --------------------------------------------------------------------------- every step


_MONOTONE = "the loss never increases"
_ENVELOPE = "R(t) ≤ (1 − η/2)^t R(0)"
_LEMMA3 = "|w − λ^(1/L)| ≤ β^k |1 − λ^(1/L)| per eigen-direction"


def _every_step(traj: Any, key: str, bound_id: str, promise: str,
                what: str) -> PromiseCheck:
    """A :class:`PromiseCheck` from the kernel's per-step result ``key`` of ``traj``."""
    if key not in traj.promise_ratio:
        return PromiseCheck(bound_id, promise, None, math.nan,
                            f"not checked: the run did not check {what} at every step")
    ratio = float(traj.promise_ratio[key])
    first = traj.first_violation.get(key)
    worst = traj.promise_worst_step.get(key)
    steps = traj.iterations + 1
    where = f"worst at k = {worst}" if worst is not None else "never above 0"
    if first is None:
        detail = f"held at every step k = 0..{traj.iterations} ({steps} iterates); {where}"
    else:
        detail = (f"first violated at step k = {first}; {where} "
                  f"(checked at every step, k = 0..{traj.iterations})")
    return PromiseCheck(bound_id, promise, first is None, ratio, detail)


def monotone_checked(bound_id: str, traj: Any) -> PromiseCheck:
    """Nguegnang et al. Prop. 3.3, ``ℓ_{k+1} ≤ ℓ_k`` at every step (margin
    ``1 + max_k (ℓ_k − ℓ_{k−1})⁺ / |ℓ_0|``, as :func:`nguegnang_monotone`)."""
    return _every_step(traj, "monotone", bound_id, _MONOTONE, "the loss")


def balancedness_checked(bound_id: str, traj: Any, delta_bal: float) -> PromiseCheck:
    """Nguegnang et al. Thm 2.4, ``b(W⃗_k) ≤ delta_bal`` at every step (margin
    ``max_k b(W⃗_k) / delta_bal``); the run must have been given ``promise_delta_bal``."""
    return _every_step(traj, "balancedness", bound_id,
                       f"balancedness ≤ delta_bal = {delta_bal:.4g}", "the balancedness")


def envelope_checked(traj: Any) -> PromiseCheck:
    """Wu et al. Thm 4.3, ``R(k) ≤ Π_{s<k}(1 − η_s/2) R(0)`` at every step (margin: the
    worst ``R(k)`` / envelope); the run must have been given ``envelope=True``."""
    return _every_step(traj, "envelope", "wu_wang_ma.thm4_3", _ENVELOPE, "the envelope")


def lemma3_checked(traj: Any) -> PromiseCheck:
    """Nar & Sastry Lemma 3 at every step, every layer and eigen-direction (margin: the
    worst error / promise, less a rounding slack); the run must have been given
    ``lemma3=`` :func:`lemma3_promise`."""
    return _every_step(traj, "lemma3", "nar_sastry.lemma3", _LEMMA3, "Lemma 3")


def lemma3_promise(phi: np.ndarray, depth: int, eta: float, *,
                   beta: Callable[[float, int, float], float]) -> Any:
    """The per-direction promise of Lemma 3 for :func:`gdcert.sim.engine.run_batch`.

    Φ = U diag(λ) Uᵀ (symmetric part; negative eigenvalues clipped to 0 as in
    :func:`lemma3_final`), targets ``λ_i^{1/L}``, factors ``β_i = beta(λ_i, L, eta)``
    (:func:`gdcert.bounds.nar_sastry.lemma3_beta`, passed in by the API) at the constant
    step ``eta``.
    """
    from gdcert.sim.engine import DirectionPromise

    lam, u = np.linalg.eigh(0.5 * (phi + phi.T))
    lam = np.clip(lam, 0.0, None)
    factors = np.array([beta(float(li), depth, eta) for li in lam])
    return DirectionPromise(basis=np.ascontiguousarray(u), target=lam ** (1.0 / depth),
                            beta=factors)
