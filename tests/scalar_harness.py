"""Plain gradient descent on a scalar function, recorded like :class:`gdcert.sim.engine.Trajectory`.

The outcome classifier (:func:`gdcert.sim.classify.classify`) reads only a trajectory
summary, so the scalar examples of Nar & Sastry (NeurIPS 2018), Examples 1–3, whose
behaviour is known in closed form, can check it without the compiled core.

The loop mirrors the kernel's (``gdcert/sim/kernels.py``, ``_gd_batch``): iteration ``k``
evaluates ``f(x_k)`` and ``f'(x_k)``; it stops with ``K = k`` when ``f`` is not finite or
exceeds ``div_factor · f(x_0)`` (``"diverged"``), when ``f − loss_target ≤ 0``
(``"target"``), or when ``k = max_iter`` (``"budget"``); otherwise it records when
``k % record_every == 0`` and steps ``x_{k+1} = x_k − η f'(x_k)``. The stopping point is
always recorded, and ``step_norm_last = |x_K − x_{K−1}|``, ``step_norm_two = |x_K − x_{K−2}|``
(NaN when ``K`` is too small). Like the kernel it keeps the tail: loss, ``|f'|`` and a
fingerprint of the last ``min(K + 1, 128)`` iterates — here the iterate ``x_k`` itself (a
1-D parameter is its own exact fingerprint).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gdcert.sim.classify import Outcome, classify

#: Iterates kept in the tail (as ``gdcert.sim.kernels.TAIL``).
TAIL = 128


@dataclass(frozen=True)
class ScalarTrajectory:
    """The fields :func:`classify` reads (as on ``Trajectory``), plus the final iterate."""

    step_index: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    iterations: int
    stop: str
    final_loss: float
    step_norm_last: float
    step_norm_two: float
    x_final: float
    theta_norm: float = math.nan
    tail_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tail_grad_norm: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tail_fingerprint: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))


def run_scalar(f: Callable[[float], float], grad: Callable[[float], float], x0: float,
               eta: float, *, max_iter: int, loss_target: float, div_factor: float = 1e6,
               record_every: int = 1) -> ScalarTrajectory:
    """GD ``x ← x − η f'(x)`` from ``x0``, stopping and recording as the kernel does."""
    xs = [float(x0)]  # the last three iterates x_{k-2}, x_{k-1}, x_k
    steps: list[int] = []
    losses: list[float] = []
    grads: list[float] = []
    tail: deque[tuple[float, float, float]] = deque(maxlen=TAIL)  # (loss, |f'|, x)
    loss0 = math.nan
    k = 0
    with np.errstate(over="ignore", invalid="ignore"):
        while True:
            x = xs[-1]
            try:
                loss = float(f(x))
                g = float(grad(x))
            except OverflowError:
                loss, g = math.inf, math.inf
            if k == 0:
                loss0 = loss
            tail.append((loss, abs(g), x))
            if not math.isfinite(loss) or loss > div_factor * loss0:
                stop = "diverged"
            elif loss - loss_target <= 0.0:
                stop = "target"
            elif k >= max_iter:
                stop = "budget"
            else:
                stop = ""
            if stop or k % record_every == 0:
                steps.append(k)
                losses.append(loss)
                grads.append(abs(g))
            if stop:
                break
            xs.append(x - eta * g)
            del xs[:-3]
            k += 1
    last = abs(xs[-1] - xs[-2]) if k >= 1 else math.nan
    two = abs(xs[-1] - xs[-3]) if k >= 2 else math.nan
    return ScalarTrajectory(
        step_index=np.asarray(steps, dtype=np.int64), loss=np.asarray(losses),
        grad_norm=np.asarray(grads), iterations=k, stop=stop, final_loss=losses[-1],
        step_norm_last=last, step_norm_two=two, x_final=xs[-1], theta_norm=abs(xs[-1]),
        tail_loss=np.array([r[0] for r in tail]), tail_grad_norm=np.array([r[1] for r in tail]),
        tail_fingerprint=np.array([[r[2]] for r in tail]).reshape(-1, 1))


def classify_scalar(traj: ScalarTrajectory, *, tolerance: float, grad_tol: float = 1e-12,
                    optimal_loss: float = 0.0) -> Outcome:
    """:func:`classify` with the optimal loss of Examples 1–3 (0) as the default."""
    return classify(traj, optimal_loss=optimal_loss, tolerance=tolerance, grad_tol=grad_tol)


# --------------------------------------------------------------------------- Examples 1–3


def f1(x: float) -> float:
    """Example 1: ``f(x) = ⅔|x|^{3/2}``."""
    return 2.0 / 3.0 * abs(x) ** 1.5


def f1_grad(x: float) -> float:
    """``f'(x) = sign(x) √|x|``."""
    return math.copysign(math.sqrt(abs(x)), x)


def f2(x: float) -> float:
    """Example 2: ``f₂(x) = (x² + 1)(x − 1)²(x − 2)²``; minima at 1 and 2, both with f₂ = 0."""
    return (x * x + 1.0) * (x - 1.0) ** 2 * (x - 2.0) ** 2


def f2_grad(x: float) -> float:
    """Product rule: ``2x(x−1)²(x−2)² + 2(x²+1)(x−1)(x−2)²  + 2(x²+1)(x−1)²(x−2)``."""
    a, b = x - 1.0, x - 2.0
    return 2.0 * x * a * a * b * b + 2.0 * (x * x + 1.0) * a * b * (a + b)


def f3(power: int) -> tuple[Callable[[float], float], Callable[[float], float]]:
    """Example 3: ``f₃(x) = x^L`` (even ``L > 2``) and its derivative ``L x^{L−1}``."""

    def f(x: float) -> float:
        return x**power

    def g(x: float) -> float:
        return power * x ** (power - 1)

    return f, g
