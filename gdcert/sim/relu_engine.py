"""Verification gradient descent on two-layer ReLU networks: the checked, numpy-facing API.

Nar & Sastry (2018), Section 4: ``f̂(x) = W g(Vx − b)`` with ``W ∈ R^{m×r}`` and
``V ∈ R^{r×n}`` trained by full-batch GD, the bias ``b ∈ R^r`` fixed, on the sum loss

.. math:: ℓ(W, V) = c \\sum_i ‖W g(V x_i − b) − f(x_i)‖²,

with ``c = ½`` (Theorem 4's convention, ``loss="half-sum"``) or ``c = 1`` (the loss of the
paper's Figure 2, ``loss="sum"``: gradients twice Theorem 4's, so the same trajectory is run
by half the step size in the ``half-sum`` convention).

This wraps :func:`gdcert.sim.kernels._relu_batch`: it checks the inputs, converts every array
once to C-contiguous float64, runs ``T`` trajectories (each with its own bias, targets, init
and step size) in parallel over numba's threads and unpacks :class:`ReluTrajectory` objects.
The kernel does its own loops (no BLAS), so no BLAS thread cap is needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gdcert.sim import _numba_env  # noqa: F401  (must run before numba is imported)
from gdcert.sim import kernels as _k
from gdcert.sim.engine import (
    MAX_RECORD_VALUES,
    PROMISE_RTOL,
    _as_matrix,
    _controls,
    _record_every,
    dispatch,
    fingerprint_vectors,
    run_summary,
)

__all__ = ["RELU_LOSS_FACTOR", "ReluProblem", "ReluTrajectory", "edge_bisect", "run_relu_batch",
           "warm_up"]

#: ``c`` in ``ℓ = c Σ_i ‖f̂(x_i) − f(x_i)‖²`` for each loss convention of ``gdcert simulate``.
RELU_LOSS_FACTOR = {"half-sum": 0.5, "sum": 1.0}


@dataclass(frozen=True, eq=False)
class ReluProblem:
    """One fitting problem: inputs ``x`` (n×N, columns are samples), targets ``y`` (m×N),
    the fixed bias ``b`` (r) and the loss factor ``c``; build it with :meth:`make`."""

    x: np.ndarray
    y: np.ndarray
    b: np.ndarray
    c: float
    loss: str

    @classmethod
    def make(cls, x: Any, y: Any, b: Any, *, loss: str = "half-sum") -> ReluProblem:
        """Check shapes and finiteness; ``loss`` is ``half-sum`` (c = ½) or ``sum`` (c = 1)."""
        if loss not in RELU_LOSS_FACTOR:
            raise ValueError(f"loss must be one of {tuple(RELU_LOSS_FACTOR)}, got {loss!r}")
        x_arr = _as_matrix("x", x)
        y_arr = _as_matrix("y", y)
        if y_arr.shape[1] != x_arr.shape[1]:
            raise ValueError(f"y has {y_arr.shape[1]} samples (columns) but x has "
                             f"{x_arr.shape[1]}")
        b_arr = np.ascontiguousarray(b, dtype=np.float64).reshape(-1)
        if b_arr.size == 0 or not np.all(np.isfinite(b_arr)):
            raise ValueError("b must be a non-empty finite vector")
        return cls(x=x_arr, y=y_arr, b=b_arr, c=RELU_LOSS_FACTOR[loss], loss=loss)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(m, r, n)``: outputs, hidden units, inputs."""
        return self.y.shape[0], self.b.size, self.x.shape[0]

    def predict(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        """``f̂(X) = W g(VX − b1ᵀ)``, m×N."""
        return np.asarray(w @ np.maximum(v @ self.x - self.b[:, None], 0.0))

    def loss_of(self, w: np.ndarray, v: np.ndarray) -> float:
        """``c Σ_i ‖f̂(x_i) − y_i‖²``."""
        res = self.predict(w, v) - self.y
        return self.c * float(np.sum(res * res))


@dataclass(frozen=True, eq=False)
class ReluTrajectory:
    """One GD run on a :class:`ReluProblem` (same fields as :class:`gdcert.sim.engine.Trajectory`
    for the classifier), plus the weights at ``θ_K`` and ``θ_{K−1}``.

    ``w_final``/``v_final`` are ``Ŵ, V̂`` at the stopping point ``K``; ``w_prev``/``v_prev`` at
    ``K − 1`` (NaN when ``K = 0``): on a period-2 orbit the two alternating estimates are
    ``f̂`` at these two points.
    """

    step_index: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    iterations: int
    stop: str
    final_loss: float
    step_norm_last: float
    step_norm_two: float
    w_final: np.ndarray
    v_final: np.ndarray
    w_prev: np.ndarray
    v_prev: np.ndarray
    balancedness: None = None
    sharpness: None = None
    theta_norm: float = math.nan
    tail_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tail_grad_norm: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tail_fingerprint: np.ndarray = field(default_factory=lambda: np.zeros((0, _k.N_FP)))
    first_violation: dict[str, int | None] = field(default_factory=dict)
    promise_ratio: dict[str, float] = field(default_factory=dict)
    promise_worst_step: dict[str, int | None] = field(default_factory=dict)


def _pack(w: Any, v: Any, shape: tuple[int, int, int], which: int) -> np.ndarray:
    m, r, n = shape
    w_arr = _as_matrix(f"init {which} W", w, (m, r))
    v_arr = _as_matrix(f"init {which} V", v, (r, n))
    return np.concatenate([w_arr.ravel(), v_arr.ravel()])


def run_relu_batch(
    problems: ReluProblem | Sequence[ReluProblem],
    inits: Sequence[tuple[Any, Any]],
    etas: Sequence[float],
    *,
    max_iter: int,
    loss_target: float | Sequence[float],
    div_factor: float = 1e6,
    record_every: int = 1,
    parallel: bool = True,
) -> list[ReluTrajectory]:
    """Run GD from each ``inits[t] = (W_0, V_0)`` with the constant step ``etas[t]``.

    ``problems`` is one :class:`ReluProblem` for all trajectories or one per trajectory
    (they must share ``x``, the loss convention and the shape; bias and targets may
    differ). Stopping rules and records as :func:`gdcert.sim.engine.run_batch`:
    ``ℓ − loss_target ≤ 0`` (``"target"``), ``ℓ`` not finite or ``> div_factor · ℓ(θ_0)``
    (``"diverged"``), ``max_iter`` steps (``"budget"``); records every ``record_every``
    steps (0: about 1000 records) and at the stop.
    """
    n_traj = len(inits)
    if n_traj == 0:
        raise ValueError("inits must hold at least one initialisation")
    probs = [problems] * n_traj if isinstance(problems, ReluProblem) else list(problems)
    if len(probs) != n_traj or len(etas) != n_traj:
        raise ValueError(f"need one problem and one step size per init: {n_traj} inits, "
                         f"{len(probs)} problems, {len(etas)} step sizes")
    first = probs[0]
    for p in probs[1:]:
        if p.shape != first.shape or p.c != first.c or (
                p.x is not first.x and not np.array_equal(p.x, first.x)):
            raise ValueError("all problems of a batch must share x, the loss and the shape")
    eta_arr = np.array([float(e) for e in etas])
    if not np.all(np.isfinite(eta_arr) & (eta_arr > 0)):
        raise ValueError(f"step sizes must be finite and > 0, got {eta_arr.tolist()}")
    if int(max_iter) != max_iter or max_iter < 0:
        raise ValueError(f"max_iter must be an integer >= 0, got {max_iter}")
    max_iter = int(max_iter)
    targets = np.broadcast_to(np.asarray(loss_target, dtype=np.float64), (n_traj,)).copy()
    if np.any(np.isnan(targets)):
        raise ValueError("loss_target must not be NaN")
    div = float(div_factor)
    if not div > 0:
        raise ValueError(f"div_factor must be > 0, got {div}")
    every = _record_every(max_iter, int(record_every))
    n_records = max_iter // every + 2
    if n_traj * n_records * (_k.N_RELU_REC_COLS + 1) > MAX_RECORD_VALUES:
        raise ValueError(f"{n_traj} trajectories × {n_records} records is too many to keep; "
                         f"raise record_every (now {every}) or pass 0 for automatic decimation")

    shape = first.shape
    m, r, n = shape
    theta0 = np.empty((n_traj, m * r + r * n))
    for t, (w0, v0) in enumerate(inits):
        theta0[t] = _pack(w0, v0, shape, t)
    y = np.ascontiguousarray(np.stack([p.y for p in probs]), dtype=np.float64)
    b = np.ascontiguousarray(np.stack([p.b for p in probs]), dtype=np.float64)
    x = np.ascontiguousarray(first.x, dtype=np.float64)
    arg = _k.ReluArgs(m=int(m), r=int(r), n=int(n), x=x, c=float(first.c),
                      proj=fingerprint_vectors(theta0.shape[1]))
    ctl = _controls(max_iter, math.nan, div, every, False, False, PROMISE_RTOL, False, 0.0)
    inp = _k.ReluInputs(theta0=theta0, eta=eta_arr, y=y, b=b, loss_target=targets)
    out = _k.ReluOutputs(
        theta_out=np.empty_like(theta0),
        theta_prev=np.empty_like(theta0),
        rec_step=np.zeros((n_traj, n_records), dtype=np.int64),
        rec_vals=np.zeros((n_traj, n_records, _k.N_RELU_REC_COLS)),
        info_f=np.zeros((n_traj, _k.N_INFO_F)),
        info_i=np.zeros((n_traj, _k.N_INFO_I), dtype=np.int64),
        tail=np.zeros((n_traj, _k.TAIL, _k.N_TAIL_COLS)),
        prom_f=np.zeros((n_traj, _k.N_PROM)),
        prom_i=np.zeros((n_traj, _k.N_PROM, 2), dtype=np.int64),
    )
    dispatch(_k._relu_batch, (arg, ctl, inp, out), n_traj, parallel=parallel, cap_blas=False)

    result = []
    for t in range(n_traj):
        n_rec = int(out.info_i[t, 2])
        vals = out.rec_vals[t, :n_rec]
        th, prev = out.theta_out[t], out.theta_prev[t]
        result.append(ReluTrajectory(
            step_index=out.rec_step[t, :n_rec].copy(),
            loss=vals[:, _k.RELU_REC_LOSS].copy(),
            grad_norm=vals[:, _k.RELU_REC_GRAD].copy(),
            w_final=th[: m * r].reshape(m, r).copy(),
            v_final=th[m * r:].reshape(r, n).copy(),
            w_prev=prev[: m * r].reshape(m, r).copy(),
            v_prev=prev[m * r:].reshape(r, n).copy(),
            **run_summary(out, t, max_iter),
        ))
    return result


def edge_bisect(problem: ReluProblem, init: tuple[Any, Any], *, lo: float, hi: float,
                max_iter: int, accept: Callable[[ReluTrajectory], bool], rounds: int = 3,
                per_round: int = 4, loss_target: float = -math.inf,
                record_every: int = 0) -> tuple[float, float]:
    """Bracket the largest constant step size whose run ``accept(traj)`` approves.

    ``accept(lo-run)`` must hold and ``accept(hi-run)`` must fail. Each round runs
    ``per_round`` step sizes evenly spaced inside the bracket as one parallel batch and
    keeps the sub-bracket at the first failure: the bracket shrinks by ``per_round + 1``
    per round. Returns the final ``(lo, hi)``. (Assumes the accepted step sizes form an
    interval ``(0, edge]`` near the bracket, as for the classifier's "converged" classes.)
    """
    for _ in range(rounds):
        grid = [lo + (hi - lo) * (i + 1) / (per_round + 1) for i in range(per_round)]
        trajs = run_relu_batch(problem, [init] * per_round, grid, max_iter=max_iter,
                               loss_target=loss_target, record_every=record_every)
        new_lo, new_hi = lo, hi
        for eta, traj in zip(grid, trajs, strict=True):
            if accept(traj):
                new_lo = eta
            else:
                new_hi = eta
                break
        lo, hi = new_lo, new_hi
    return lo, hi


def warm_up() -> None:
    """Compile (or load from numba's cache) the ReLU kernel (one kernel serves serial and
    parallel runs)."""
    rng = np.random.default_rng(0)
    prob = ReluProblem.make(rng.standard_normal((2, 5)), rng.standard_normal((1, 5)),
                            rng.standard_normal(3))
    init = (rng.standard_normal((1, 3)), rng.standard_normal((3, 2)))
    run_relu_batch(prob, [init, init], [0.01, 0.02], max_iter=3, loss_target=0.0)
