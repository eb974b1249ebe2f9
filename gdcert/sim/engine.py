"""Verification gradient descent on deep linear networks: the checked, numpy-facing API.

This wraps the compiled kernels of :mod:`gdcert.sim.kernels`. It checks its inputs,
converts every array once to C-contiguous float64 (so numba compiles one specialisation),
packs the layers of each trajectory into one flat vector with offsets, runs the kernel
(``T`` trajectories in parallel on numba's thread count of Python threads; the kernel
releases the GIL), and unpacks the results into :class:`Trajectory` objects.

Mathematics (BOUNDS.md §1, sum convention): layers ``W_j ∈ R^{d_j × d_{j−1}}``,
``W = W_L⋯W_1``; target form ``ℓ = ½‖W − Φ‖_F²``; data form ``ℓ = ½‖Y − WX‖_F²``, evaluated
as ``ℓ_ls + ½ tr((W − W*)Σ(W − W*)ᵀ)`` with ``Σ = XXᵀ`` and the least-squares solution
``W* = Y X⁺ = CΣ⁺`` (``C = YXᵀ``), so a step costs nothing per sample and the loss keeps its
relative accuracy down to the optimum. GD: ``W_j ← W_j − η_k ∇_{W_j} ℓ`` for all ``j`` at once.

numba is imported by this module only (never by ``import gdcert``).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gdcert.sim import _numba_env  # noqa: F401  (must run before numba is imported)
from gdcert.sim import kernels as _k

__all__ = ["DirectionPromise", "GDProblem", "Schedule", "Trajectory", "fingerprint_vectors",
           "run_batch", "run", "warm_up"]

#: Number of records aimed at when ``record_every=0`` ("auto").
AUTO_RECORDS = 1000
#: Records (all trajectories together) above which :func:`run_batch` refuses to allocate.
MAX_RECORD_VALUES = 50_000_000
#: Most Hessian–vector products per sharpness estimate (the Lanczos tracker,
#: :func:`gdcert.sim.kernels._sharpness`, usually stops on its residual rule long before).
SHARPNESS_ITERS = 300
#: Lanczos vectors the sharpness tracker keeps before it restarts (fewer when they would
#: exceed 32 MB per trajectory).
SHARPNESS_BASIS = 40

_STOP_NAMES = {_k.STOP_TARGET: "target", _k.STOP_DIVERGED: "diverged", _k.STOP_BUDGET: "budget",
               _k.STOP_ORBIT: "orbit"}


# ----------------------------------------------------------------------------- checks


def _check_widths(widths: Sequence[int]) -> tuple[int, ...]:
    """Widths ``(d_0, …, d_L)``: ``L ≥ 1`` and every ``d_j ≥ 1``."""
    out = tuple(int(w) for w in widths)
    if len(out) < 2 or any(w < 1 for w in out):
        raise ValueError(f"widths must be (d_0, ..., d_L) with L >= 1 and all d_j >= 1, got {out}")
    return out


def _as_matrix(name: str, a: Any, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A finite 2-D float64 C-contiguous copy of ``a`` (of ``shape`` when given)."""
    arr = np.ascontiguousarray(a, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite entries")
    return arr


def _check_positive(name: str, value: float) -> float:
    """``value > 0`` (``inf`` allowed)."""
    v = float(value)
    if not v > 0.0:
        raise ValueError(f"{name} must be > 0, got {v}")
    return v


# ----------------------------------------------------------------------------- problem


@dataclass(frozen=True, eq=False)
class GDProblem:
    """What the kernels need to run GD on one loss; build it with :meth:`target` or :meth:`data`.

    ``c`` is ``C = YXᵀ`` in data form and ``Φ`` in target form; ``sigma`` is ``Σ = XXᵀ``
    (``None`` in target form); ``w_star`` the least-squares product ``W* = CΣ⁺`` and
    ``loss_ls = ½‖Y − W*X‖_F²`` (data form; ``None`` and ``0`` in target form).
    """

    widths: tuple[int, ...]
    sigma: np.ndarray | None
    c: np.ndarray
    w_star: np.ndarray | None
    loss_ls: float

    @classmethod
    def target(cls, phi: Any, widths: Sequence[int]) -> GDProblem:
        """Target form ``ℓ = ½‖W_L⋯W_1 − Φ‖_F²``; ``Φ`` is ``d_L × d_0``."""
        w = _check_widths(widths)
        phi_arr = _as_matrix("phi", phi, (w[-1], w[0]))
        return cls(widths=w, sigma=None, c=phi_arr, w_star=None, loss_ls=0.0)

    @classmethod
    def data(cls, x: Any, y: Any, widths: Sequence[int]) -> GDProblem:
        """Data form ``ℓ = ½‖Y − W X‖_F²`` (sum convention); ``x``: ``d_0 × m``, ``y``: ``d_L × m``.

        ``W* = Y X⁺`` is computed by least squares on ``X`` itself (``= CΣ⁺``, but with the
        conditioning of ``X`` rather than of ``XXᵀ``), and ``ℓ_ls`` from the residual
        ``Y − W*X``, once, here.
        """
        w = _check_widths(widths)
        x_arr = _as_matrix("x", x)
        if x_arr.shape[0] != w[0]:
            raise ValueError(
                f"x must have d_0 = {w[0]} rows (columns are samples), got {x_arr.shape}"
            )
        y_arr = _as_matrix("y", y, (w[-1], x_arr.shape[1]))
        sigma = x_arr @ x_arr.T
        c = y_arr @ x_arr.T
        # W* = argmin_W ‖Y − WX‖_F = Y X⁺ :  solve Xᵀ W*ᵀ = Yᵀ in the least-squares sense
        w_star_t, *_ = np.linalg.lstsq(x_arr.T, y_arr.T, rcond=None)
        w_star = np.ascontiguousarray(w_star_t.T)
        # ℓ_ls = ½‖Y − W*X‖_F² from the residual (no cancellation)
        residual = y_arr - w_star @ x_arr
        loss_ls = 0.5 * float(np.sum(residual * residual))
        return cls(widths=w, sigma=sigma, c=c, w_star=w_star, loss_ls=loss_ls)

    @property
    def depth(self) -> int:
        """Number of layers ``L``."""
        return len(self.widths) - 1


@dataclass(frozen=True)
class Schedule:
    """Step sizes ``η_k = min(a1, a2 / (k+1)^γ)`` (Nguegnang et al. 2021, eq. 5.2).

    A constant step ``η`` is ``Schedule(a1=η, a2=inf, gamma=0)`` (:meth:`constant`).
    Requires ``a1, a2 > 0`` (either may be ``inf`` but not both), ``γ ≥ 0`` finite.
    """

    a1: float
    a2: float
    gamma: float

    def __post_init__(self) -> None:
        a1 = _check_positive("a1", self.a1)
        a2 = _check_positive("a2", self.a2)
        if math.isinf(min(a1, a2)):
            raise ValueError(f"at least one of a1, a2 must be finite, got a1={a1}, a2={a2}")
        if not (math.isfinite(self.gamma) and self.gamma >= 0.0):
            raise ValueError(f"gamma must be finite and >= 0, got {self.gamma}")

    @classmethod
    def constant(cls, eta: float) -> Schedule:
        """The constant step size ``η_k = η``."""
        e = float(eta)
        if not (math.isfinite(e) and e > 0.0):
            raise ValueError(f"eta must be finite and > 0, got {e}")
        return cls(a1=e, a2=math.inf, gamma=0.0)

    def at(self, k: int) -> float:
        """``η_k`` (``k = 0, 1, …``), the same formula the kernel uses."""
        if self.gamma == 0.0:
            return min(self.a1, self.a2)
        return min(self.a1, self.a2 / (k + 1.0) ** self.gamma)


@dataclass(frozen=True, eq=False)
class Trajectory:
    """One GD run; records at ``step_index`` (every ``record_every`` steps and at the end).

    ``loss``/``grad_norm`` (``‖∇ℓ‖_F`` over all layers) at each record; ``balancedness``
    (exact spectral-norm ``b(W⃗)``) and ``sharpness`` (``λ_max(∇²ℓ)`` by Lanczos on
    Hessian–vector products, with ``sharpness_residual`` its relative residual: at most
    ``gdcert.sim.kernels.SHARP_RTOL`` = 1e-9 when converged, larger only where the
    product budget ran out, the value then a lower estimate) when tracked.
    ``iterations`` is the number of steps taken ``K``; ``stop`` is ``"target"``,
    ``"diverged"`` or ``"budget"`` (or ``"orbit"``, only when :func:`run_batch` is asked to
    stop settled orbits); ``final_weights`` are ``W_1..W_L`` at ``θ_K``;
    ``step_norm_last = ‖θ_K − θ_{K−1}‖`` and ``step_norm_two = ‖θ_K − θ_{K−2}‖`` (NaN when
    ``K`` < 1 resp. 2).

    Every step, not only the records, feeds two more things:

    * the tail — the last ``min(K + 1, 128)`` iterates ``θ_{K−n+1}, …, θ_K`` (oldest first):
      ``tail_loss``, ``tail_grad_norm`` and ``tail_fingerprint`` (``n × 4``: ``⟨p_f, θ_k⟩``
      on fixed random unit vectors ``p_f``, :func:`fingerprint_vectors`; computed only in
      the last 128 steps before the budget, NaN for earlier steps), from which
      :func:`gdcert.sim.classify.classify` finds the smallest period of an orbit; and
      ``theta_norm = ‖θ_K‖`` (the scale for "well above rounding");
    * the promises (keys ``"monotone"`` — always —, ``"balancedness"``, ``"envelope"``,
      ``"lemma3"`` when asked for in :func:`run_batch`), each checked at every iterate
      ``θ_0..θ_K``: ``first_violation[key]`` is the first step ``k`` that broke it (``None``
      if none did), ``promise_ratio[key]`` the worst ratio observed/promised (≤ 1 held;
      monotone: ``1 + max_k (ℓ_k − ℓ_{k−1})⁺/|ℓ_0|``), ``promise_worst_step[key]`` where.
    """

    step_index: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    balancedness: np.ndarray | None
    sharpness: np.ndarray | None
    invariants: np.ndarray | None  # records × (L − 1): ‖D_j‖ per layer pair, when tracked
    iterations: int
    stop: str
    final_loss: float
    final_weights: tuple[np.ndarray, ...]
    step_norm_last: float
    step_norm_two: float
    theta_norm: float = math.nan
    tail_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tail_grad_norm: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tail_fingerprint: np.ndarray = field(default_factory=lambda: np.zeros((0, _k.N_FP)))
    first_violation: dict[str, int | None] = field(default_factory=dict)
    promise_ratio: dict[str, float] = field(default_factory=dict)
    promise_worst_step: dict[str, int | None] = field(default_factory=dict)
    sharpness_residual: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (lists and floats) for JSON."""

        def _list(a: np.ndarray | None) -> list[float] | None:
            return None if a is None else [float(v) for v in a]

        return {
            "step_index": [int(v) for v in self.step_index],
            "loss": _list(self.loss),
            "grad_norm": _list(self.grad_norm),
            "balancedness": _list(self.balancedness),
            "sharpness": _list(self.sharpness),
            "sharpness_residual": _list(self.sharpness_residual),
            "invariants": None if self.invariants is None else self.invariants.tolist(),
            "iterations": self.iterations,
            "stop": self.stop,
            "final_loss": self.final_loss,
            "final_weights": [w.tolist() for w in self.final_weights],
            "step_norm_last": self.step_norm_last,
            "step_norm_two": self.step_norm_two,
            "theta_norm": self.theta_norm,
            "tail_loss": _list(self.tail_loss),
            "tail_grad_norm": _list(self.tail_grad_norm),
            "tail_fingerprint": self.tail_fingerprint.tolist(),
            "first_violation": dict(self.first_violation),
            "promise_ratio": dict(self.promise_ratio),
            "promise_worst_step": dict(self.promise_worst_step),
        }


# ----------------------------------------------------------------------------- packing


def _offsets(widths: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of ``W_j`` in ``θ`` and of the prefix products ``P_j`` (``d_j × d_0``).

    ``w_off[i]`` is where layer ``i+1`` starts (``w_off[L]`` = number of parameters);
    ``pre_off[i]`` is where ``P_{i+1}`` starts (``pre_off[L]`` = buffer size).
    """
    w = np.asarray(widths, dtype=np.int64)
    w_off = np.zeros(w.size, dtype=np.int64)
    pre_off = np.zeros(w.size, dtype=np.int64)
    np.cumsum(w[1:] * w[:-1], out=w_off[1:])
    np.cumsum(w[1:] * w[0], out=pre_off[1:])
    return w_off, pre_off


def _pack(widths: tuple[int, ...], weights: Sequence[Any], which: int) -> np.ndarray:
    """Flatten ``W_1..W_L`` (row-major) into one vector, checking shapes and finiteness.

    One ``isfinite`` over the whole vector (per-layer checks cost ~6 µs a layer, 60 ms at
    L = 10 000); a failing layer is then found and reported by :func:`_as_matrix`."""
    depth = len(widths) - 1
    if len(weights) != depth:
        raise ValueError(f"init {which} must have L = {depth} layers, got {len(weights)}")
    if min(widths) == max(widths):  # equal widths: one stacked copy at C speed
        try:
            stack = np.array(weights, dtype=np.float64)
        except (ValueError, TypeError):  # ragged: the loop below names the layer
            stack = None
        if stack is not None and stack.shape == (depth, widths[0], widths[0]):
            theta = stack.reshape(-1)
            if np.all(np.isfinite(theta)):
                return theta
    parts = []
    for j, w in enumerate(weights):
        arr = np.asarray(w, dtype=np.float64)
        if arr.shape != (widths[j + 1], widths[j]):
            _as_matrix(f"init {which} layer {j + 1}", w, (widths[j + 1], widths[j]))
        parts.append(arr.reshape(-1))
    theta = np.concatenate(parts)
    if not np.all(np.isfinite(theta)):
        for j, w in enumerate(weights):
            _as_matrix(f"init {which} layer {j + 1}", w, (widths[j + 1], widths[j]))
    return theta


def _unpack(widths: tuple[int, ...], theta: np.ndarray) -> tuple[np.ndarray, ...]:
    """Inverse of :func:`_pack`: views of one private copy of ``theta``."""
    w_off, _ = _offsets(widths)
    buf = np.array(theta, dtype=np.float64)
    if min(widths) == max(widths):  # equal widths: the views of one (L, d, d) array
        return tuple(buf.reshape(len(widths) - 1, widths[0], widths[0]))
    return tuple(
        buf[w_off[i] : w_off[i + 1]].reshape(widths[i + 1], widths[i])
        for i in range(len(widths) - 1)
    )


# ----------------------------------------------------------------------------- BLAS threads


@functools.lru_cache(maxsize=1)
def _openblas_thread_api() -> tuple[Any, Any] | None:
    """``(get_num_threads, set_num_threads)`` of the OpenBLAS that numba's matmul calls.

    numba's ``np.dot`` goes through ``scipy.linalg.cython_blas``, i.e. scipy's bundled
    OpenBLAS (``libscipy_openblas*``). Found among the loaded libraries (``/proc/self/maps``)
    or beside scipy; ``None`` if there is none we can drive (then BLAS is left alone).
    """
    import scipy.linalg.cython_blas  # noqa: F401  (loads scipy's BLAS)

    candidates: list[str] = []
    maps = Path("/proc/self/maps")
    if maps.exists():
        for line in maps.read_text().splitlines():
            path = line.split()[-1] if line.split() else ""
            if "openblas" in path and "scipy" in path and path not in candidates:
                candidates.append(path)
    import scipy

    scipy_root = Path(scipy.__file__).parent
    for folder in (scipy_root.parent / "scipy.libs", scipy_root / ".dylibs"):
        if folder.is_dir():
            candidates += [str(p) for p in sorted(folder.glob("*openblas*"))]
    prefixes = ("scipy_openblas_", "openblas_", "scipy_openblas64_")
    for path in candidates:
        try:
            lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD if hasattr(os, "RTLD_NOLOAD") else 0)
        except OSError:
            continue
        for prefix in prefixes:
            get = getattr(lib, f"{prefix}get_num_threads", None)
            put = getattr(lib, f"{prefix}set_num_threads", None)
            if get is not None and put is not None:
                get.restype = ctypes.c_int
                put.argtypes = [ctypes.c_int]
                return get, put
    return None


@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """Cap scipy's OpenBLAS at one thread while several threads run trajectories.

    Without the cap each numba thread's ``dgemm`` would start its own BLAS threads and the
    two pools would oversubscribe the cores. The previous thread count is restored.
    """
    api = _openblas_thread_api()
    if api is None:
        yield
        return
    get, put = api
    before = int(get())
    put(1)
    try:
        yield
    finally:
        put(before)


# ----------------------------------------------------------------------------- tail, promises

#: Names of the promises checked at every step (``Trajectory.first_violation`` keys).
PROMISE_KEYS = {
    _k.PROM_MONOTONE: "monotone",
    _k.PROM_BALANCED: "balancedness",
    _k.PROM_ENVELOPE: "envelope",
    _k.PROM_LEMMA3: "lemma3",
}
#: Default relative slack of the per-step promise checks (rounding).
PROMISE_RTOL = 1e-9
#: Seed of the fingerprint vectors (fixed: fingerprints are comparable run to run).
_FP_SEED = 20_181_203


@functools.lru_cache(maxsize=16)
def _fingerprint_cached(n_params: int) -> np.ndarray:
    rng = np.random.default_rng(_FP_SEED)
    p = rng.standard_normal((_k.N_FP, n_params))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    p.setflags(write=False)
    return p


def fingerprint_vectors(n_params: int) -> np.ndarray:
    """The ``N_FP × n_params`` unit vectors ``p_f`` of the tail fingerprints ``⟨p_f, θ⟩``.

    Gaussian directions from a fixed seed: for any nonzero ``Δθ``,
    ``Σ_f ⟨p_f, Δθ⟩² ≈ (N_FP/n)‖Δθ‖²`` (χ² with 4 degrees of freedom), so equal
    fingerprints mean equal iterates except on a set of measure zero.
    """
    return np.array(_fingerprint_cached(int(n_params)))


@dataclass(frozen=True, eq=False)
class DirectionPromise:
    """A per-eigen-direction rate promise ``|w_i[k] − target_i| ≤ |β_i|^k |1 − target_i|``
    with ``w_i[k] = u_iᵀ W_j[k] u_i`` for every layer ``j`` (Nar & Sastry 2018, Lemma 3:
    ``target_i = λ_i^{1/L}``, identity init, symmetric PSD Φ = U diag(λ) Uᵀ).

    ``basis`` is ``U`` (``d × d``, columns ``u_i``); build it with
    :func:`gdcert.sim.promises.lemma3_promise`.
    """

    basis: np.ndarray
    target: np.ndarray
    beta: np.ndarray


def _tail(ring: np.ndarray, k: int, max_iter: int) -> np.ndarray:
    """Rows of the tail ring for steps ``k−n+1..k`` (oldest first), ``n = min(k+1, TAIL)``.

    The kernel writes fingerprints only for steps ``≥ max_iter − TAIL + 1`` (the last
    ``TAIL`` steps before the budget); rows of earlier steps get NaN fingerprints.
    """
    n = min(k + 1, _k.TAIL)
    steps = np.arange(k - n + 1, k + 1)
    out = np.ascontiguousarray(ring[steps % _k.TAIL])
    out[steps < max_iter - _k.TAIL + 1, _k.TAIL_FP:] = np.nan
    return out


def _promises(prom_f: np.ndarray, prom_i: np.ndarray) -> tuple[dict[str, int | None],
                                                               dict[str, float],
                                                               dict[str, int | None]]:
    """The checked promises of one trajectory (NaN ratio in the kernel = not checked)."""
    first: dict[str, int | None] = {}
    ratio: dict[str, float] = {}
    worst: dict[str, int | None] = {}
    for c, key in PROMISE_KEYS.items():
        if math.isnan(prom_f[c]):
            continue
        f, w = int(prom_i[c, _k.PROM_FIRST]), int(prom_i[c, _k.PROM_WORST])
        first[key] = f if f >= 0 else None
        ratio[key] = float(prom_f[c])
        worst[key] = w if w >= 0 else None
    return first, ratio, worst


def _per_trajectory(name: str, value: Any, n_traj: int) -> np.ndarray:
    """A scalar or one value per trajectory, as float64 (``None`` entries become ``inf``)."""
    if value is None:
        return np.full(n_traj, math.inf)
    if np.ndim(value) == 0:
        return np.full(n_traj, float(value))
    vals = [math.inf if v is None else float(v) for v in value]
    if len(vals) != n_traj:
        raise ValueError(f"{name} needs one value per init: {n_traj} inits, {len(vals)} values")
    return np.array(vals)


def _lemma3_arrays(
    promises: DirectionPromise | Sequence[DirectionPromise | None] | None,
    widths: tuple[int, ...], n_traj: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(on, basis, target, log|β|, |1 − target|)`` rows for the kernel (``d = d_0``)."""
    if promises is None or isinstance(promises, DirectionPromise):
        specs: list[DirectionPromise | None] = [promises] * n_traj
    else:
        specs = list(promises)
        if len(specs) != n_traj:
            raise ValueError(f"lemma3 needs one promise (or None) per init: {n_traj} inits, "
                             f"{len(specs)} given")
    if all(s is None for s in specs):
        empty = np.zeros((n_traj, 0))
        return np.zeros(n_traj, dtype=np.bool_), empty, empty, empty, empty
    d = widths[0]
    if any(w != d for w in widths):
        raise ValueError(f"a Lemma 3 promise needs square d × d layers, got widths {widths}")
    on = np.array([s is not None for s in specs], dtype=np.bool_)
    basis = np.zeros((n_traj, d * d))
    target = np.zeros((n_traj, d))
    logbeta = np.zeros((n_traj, d))
    start = np.zeros((n_traj, d))
    for t, s in enumerate(specs):
        if s is None:
            continue
        u = _as_matrix("lemma3 basis", s.basis, (d, d))
        tg = np.asarray(s.target, dtype=np.float64).reshape(-1)
        bt = np.abs(np.asarray(s.beta, dtype=np.float64).reshape(-1))
        if tg.shape != (d,) or bt.shape != (d,) or not (np.all(np.isfinite(tg))
                                                      and np.all(np.isfinite(bt))):
            raise ValueError(f"lemma3 target and beta must be {d} finite values each")
        basis[t] = u.ravel()
        target[t] = tg
        with np.errstate(divide="ignore"):
            logbeta[t] = np.log(bt)
        start[t] = np.abs(1.0 - tg)
    return on, basis, target, logbeta, start


# ----------------------------------------------------------------------------- running


def _record_every(max_iter: int, record_every: int) -> int:
    """``record_every``, or for 0 ("auto") about :data:`AUTO_RECORDS` records."""
    if record_every < 0:
        raise ValueError(f"record_every must be >= 0 (0 = auto), got {record_every}")
    if record_every == 0:
        return max(1, math.ceil(max_iter / AUTO_RECORDS))
    return record_every


def _kernel_signature(kernel: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """numba's argument types of ``kernel(*args)`` (as its dispatcher computes them)."""
    return tuple(kernel.typeof_pyval(a) for a in args)


def _in_disk_cache(kernel: Any, sig: tuple[Any, ...]) -> bool:
    """True if numba's on-disk cache holds ``kernel`` for ``sig`` (loading is quick).

    Reads numba's cache index (private API); any trouble counts as "not cached"."""
    try:
        cache = kernel._cache
        key = cache._index_key(sig, kernel.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except Exception:  # pragma: no cover - numba internals changed
        return False


def _fast_key(a: Any) -> Any:
    """What numba's typing of ``a`` depends on, computed without numba (dtype, rank,
    contiguity, writability and alignment of arrays; tuples recursively with their class;
    the Python type of anything else). Finer than numba's types, never coarser."""
    if isinstance(a, np.ndarray):
        f = a.flags
        return (a.dtype.str, a.ndim, f.c_contiguous, f.f_contiguous, f.writeable, f.aligned)
    if isinstance(a, tuple):
        return (type(a), tuple(_fast_key(x) for x in a))
    if isinstance(a, int) and not isinstance(a, bool) and not -2**63 <= a < 2**63:
        return (int, "wide")
    return type(a)


#: ``(id(kernel), _fast_key(args))`` seen compiled → the kernel (held, so that its id is
#: not reused): later calls skip numba's typing of every argument (≈ 1 ms per chunk for
#: the GD kernel's namedtuples of arrays).
_READY: dict[tuple[int, Any], Any] = {}


def ensure_compiled(kernel: Any, args: tuple[Any, ...]) -> None:
    """Compile ``kernel`` for ``args`` (or load it from the cache) before running it.

    A compilation that the cache cannot spare runs inside the compile notice the CLI
    installs (:func:`gdcert.sim._numba_env.set_compile_notice`). No-op without the JIT.
    """
    if not hasattr(kernel, "overloads"):  # NUMBA_DISABLE_JIT: a plain function
        return
    key = (id(kernel), _fast_key(args))
    if key in _READY:
        return
    sig = _kernel_signature(kernel, args)
    if sig not in kernel.overloads:
        if _in_disk_cache(kernel, sig):
            kernel.compile(sig)
        else:
            with _numba_env.compile_notice():
                kernel.compile(sig)
    _READY[key] = kernel


def thread_count() -> int:
    """numba's thread count (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``)."""
    import numba

    return int(numba.get_num_threads())


def dispatch(kernel: Any, args: tuple[Any, ...], n_traj: int, *, parallel: bool,
             cap_blas: bool) -> None:
    """Run the batch kernel ``kernel(*args, first, stop)`` over trajectories ``0..n_traj−1``.

    One compiled kernel serves both modes: with ``parallel`` and more than one numba thread
    (``numba.get_num_threads()``), that many Python threads each take the next trajectory
    not yet started (the kernel releases the GIL; dynamic, so a slow trajectory does not
    hold up a fixed share of the others), with BLAS capped to one thread when
    ``cap_blas``; otherwise one call on the calling thread.

    Overflow/invalid warnings are silenced: a diverging run is detected and reported, and
    under ``NUMBA_DISABLE_JIT`` the kernels' numpy arithmetic would otherwise warn.
    """
    full = (*args, 0, n_traj)
    ensure_compiled(kernel, full)
    with np.errstate(over="ignore", invalid="ignore"):
        threads = min(thread_count(), n_traj) if parallel and n_traj > 1 else 1
        if threads <= 1 or not hasattr(kernel, "overloads"):
            kernel(*full)
            return
        import itertools
        import threading

        counter = itertools.count()
        lock = threading.Lock()
        errors: list[BaseException] = []

        def work() -> None:
            try:
                while True:
                    with lock:
                        t = next(counter)
                    if t >= n_traj or errors:
                        return
                    kernel(*args, t, t + 1)
            except BaseException as exc:  # re-raised on the calling thread
                errors.append(exc)

        with _single_threaded_blas() if cap_blas else contextlib.nullcontext():
            pool = [threading.Thread(target=work, daemon=True) for _ in range(threads - 1)]
            for th in pool:
                th.start()
            work()
            for th in pool:
                th.join()
        if errors:
            raise errors[0]


def _check_run_args(problem: GDProblem, inits: Sequence[Sequence[Any]],
                    schedules: Sequence[Schedule], *, max_iter: int, loss_target: float,
                    div_factor: float, promise_rtol: float, envelope_optimal_loss: float,
                    promise_delta_bal: float | Sequence[float | None] | None,
                    orbit_window: int) -> tuple[int, float, float, np.ndarray]:
    """:func:`run_batch`'s argument checks; ``(max_iter, div_factor, rtol, delta_bal)``."""
    if not isinstance(problem, GDProblem):
        raise TypeError(f"problem must be a GDProblem, got {type(problem).__name__}")
    n_traj = len(inits)
    if n_traj == 0:
        raise ValueError("inits must hold at least one initialisation")
    if len(schedules) != n_traj:
        raise ValueError(f"need one schedule per init: {n_traj} inits, {len(schedules)} schedules")
    if int(max_iter) != max_iter or max_iter < 0:
        raise ValueError(f"max_iter must be an integer >= 0, got {max_iter}")
    max_iter = int(max_iter)
    if math.isnan(loss_target):
        raise ValueError("loss_target must not be NaN")
    div = _check_positive("div_factor", div_factor)
    rtol = float(promise_rtol)
    if not (math.isfinite(rtol) and rtol >= 0.0):
        raise ValueError(f"promise_rtol must be finite and >= 0, got {rtol}")
    if not math.isfinite(envelope_optimal_loss):
        raise ValueError(f"envelope_optimal_loss must be finite, got {envelope_optimal_loss}")
    delta_bal = _per_trajectory("promise_delta_bal", promise_delta_bal, n_traj)
    if np.any(np.isnan(delta_bal) | (delta_bal <= 0)):
        raise ValueError(f"promise_delta_bal must be > 0 (inf or None: not checked), got "
                         f"{delta_bal.tolist()}")
    if int(orbit_window) != orbit_window or orbit_window < 0:
        raise ValueError(f"orbit_window must be an integer >= 0 (0 = off), got {orbit_window}")
    return max_iter, div, rtol, delta_bal


def _linear_problem(problem: GDProblem, inits: Sequence[Sequence[Any]]
                    ) -> tuple[Any, np.ndarray]:
    """The kernel's problem tuple and the packed initial parameters (one row per init)."""
    widths = problem.widths
    w_off, pre_off = _offsets(widths)
    n_params = int(w_off[-1])
    theta0 = np.empty((len(inits), n_params))
    for t, init in enumerate(inits):
        theta0[t] = _pack(widths, init, t)
    sigma = problem.sigma if problem.sigma is not None else np.zeros((1, 1))
    w_star = problem.w_star if problem.w_star is not None else problem.c
    prob = _k.LinearProblem(
        widths=np.asarray(widths, dtype=np.int64), w_off=w_off, pre_off=pre_off,
        sigma=np.ascontiguousarray(sigma, dtype=np.float64).ravel(),
        w_star=np.ascontiguousarray(w_star, dtype=np.float64).ravel(),
        has_sigma=problem.sigma is not None, loss_ls=float(problem.loss_ls),
        proj=fingerprint_vectors(n_params),
    )
    return prob, theta0


def _linear_inputs(theta0: np.ndarray, schedules: Sequence[Schedule], delta_bal: np.ndarray,
                   lemma3: DirectionPromise | Sequence[DirectionPromise | None] | None,
                   widths: tuple[int, ...]) -> Any:
    """Per-trajectory inputs: initial parameters, schedules and the promises to check."""
    l3_on, l3_basis, l3_target, l3_logbeta, l3_start = _lemma3_arrays(lemma3, widths,
                                                                       theta0.shape[0])
    return _k.LinearInputs(
        theta0=theta0,
        a1=np.array([float(s.a1) for s in schedules]),
        a2=np.array([float(s.a2) for s in schedules]),
        gamma=np.array([float(s.gamma) for s in schedules]),
        delta_bal=delta_bal, l3_on=l3_on, l3_basis=l3_basis, l3_target=l3_target,
        l3_logbeta=l3_logbeta, l3_start=l3_start,
    )


def _linear_outputs(theta0: np.ndarray, n_records: int, n_inv: int) -> Any:
    """Zeroed output buffers for ``theta0.shape[0]`` trajectories."""
    n_traj = theta0.shape[0]
    return _k.LinearOutputs(
        theta_out=np.empty_like(theta0),
        rec_step=np.zeros((n_traj, n_records), dtype=np.int64),
        rec_vals=np.zeros((n_traj, n_records, _k.N_REC_COLS)),
        rec_inv=np.zeros((n_traj, n_records, max(n_inv, 0))),
        info_f=np.zeros((n_traj, _k.N_INFO_F)),
        info_i=np.zeros((n_traj, _k.N_INFO_I), dtype=np.int64),
        tail=np.zeros((n_traj, _k.TAIL, _k.N_TAIL_COLS)),
        prom_f=np.zeros((n_traj, _k.N_PROM)),
        prom_i=np.zeros((n_traj, _k.N_PROM, 2), dtype=np.int64),
    )


def run_summary(out: Any, t: int, max_iter: int) -> dict[str, Any]:
    """The fields every trajectory type shares, for row ``t`` of a kernel's outputs: where
    and why it stopped, the step norms, the tail ring and the per-step promise results."""
    k = int(out.info_i[t, 0])
    tail = _tail(out.tail[t], k, max_iter)
    first, ratio, worst = _promises(out.prom_f[t], out.prom_i[t])
    return dict(
        iterations=k, stop=_STOP_NAMES[int(out.info_i[t, 1])],
        final_loss=float(out.info_f[t, 0]), step_norm_last=float(out.info_f[t, 1]),
        step_norm_two=float(out.info_f[t, 2]), theta_norm=float(out.info_f[t, 3]),
        tail_loss=tail[:, _k.TAIL_LOSS].copy(), tail_grad_norm=tail[:, _k.TAIL_GRAD].copy(),
        tail_fingerprint=tail[:, _k.TAIL_FP:].copy(), first_violation=first,
        promise_ratio=ratio, promise_worst_step=worst)


def _trajectories(out: Any, widths: tuple[int, ...], max_iter: int, *,
                  track_balancedness: bool, track_sharpness: bool,
                  track_invariants: bool) -> list[Trajectory]:
    """One :class:`Trajectory` per row of the kernel's outputs."""
    n_traj = out.info_i.shape[0]
    result = []
    for t in range(n_traj):
        n = int(out.info_i[t, 2])
        vals = out.rec_vals[t, :n]
        result.append(
            Trajectory(
                step_index=out.rec_step[t, :n].copy(),
                loss=vals[:, _k.REC_LOSS].copy(),
                grad_norm=vals[:, _k.REC_GRAD].copy(),
                balancedness=vals[:, _k.REC_BAL].copy() if track_balancedness else None,
                sharpness=vals[:, _k.REC_SHARP].copy() if track_sharpness else None,
                sharpness_residual=(vals[:, _k.REC_SHARP_RES].copy() if track_sharpness
                                    else None),
                invariants=out.rec_inv[t, :n].copy() if track_invariants else None,
                final_weights=_unpack(widths, out.theta_out[t]),
                **run_summary(out, t, max_iter),
            )
        )
    return result


def run_batch(
    problem: GDProblem,
    inits: Sequence[Sequence[Any]],
    schedules: Sequence[Schedule],
    *,
    max_iter: int,
    loss_target: float,
    div_factor: float = 1e6,
    record_every: int = 1,
    track_balancedness: bool = False,
    track_sharpness: bool = False,
    track_invariants: bool = False,
    promise_delta_bal: float | Sequence[float | None] | None = None,
    envelope: bool = False,
    envelope_optimal_loss: float = 0.0,
    lemma3: DirectionPromise | Sequence[DirectionPromise | None] | None = None,
    promise_rtol: float = PROMISE_RTOL,
    parallel: bool = True,
    orbit_window: int = 0,
) -> list[Trajectory]:
    """Run GD from each ``inits[t]`` with ``schedules[t]``; one :class:`Trajectory` each.

    Each trajectory stops when ``ℓ − loss_target ≤ 0`` (``"target"``; pass the optimal loss
    plus a tolerance), when ``ℓ`` is not finite or exceeds ``div_factor · ℓ(θ_0)``
    (``"diverged"``), or after ``max_iter`` steps (``"budget"``). Records are taken every
    ``record_every`` steps (0: about 1000 records) and at the stopping point.
    ``track_invariants`` also records each ``‖D_j‖ = ‖W_{j+1}ᵀW_{j+1} − W_jW_jᵀ‖``
    (``j = 1..L−1``; implies balancedness tracking).

    Promises checked at every iterate (see :class:`Trajectory`), with relative slack
    ``promise_rtol``: the loss never increases (always); ``b(W⃗_k) ≤ promise_delta_bal``
    (a value for all, or one per init; ``None``/``inf`` = not checked; Nguegnang et al.
    Thm 2.4); ``envelope=True``: ``ℓ_k − ℓ* ≤ Π_{s<k}(1 − η_s/2)(ℓ_0 − ℓ*)`` with
    ``ℓ* = envelope_optimal_loss`` (Wu et al. Thm 4.3); ``lemma3``: a
    :class:`DirectionPromise` (or one per init, ``None`` = not checked).

    ``parallel=True`` runs trajectories on ``numba.get_num_threads()`` threads
    (``numba.set_num_threads`` / ``NUMBA_NUM_THREADS``) with BLAS capped to one thread;
    otherwise one after another. The same compiled kernel serves both.

    ``orbit_window > 0`` also stops a run as ``"orbit"`` when, at two consecutive checks
    ``orbit_window`` steps apart, its last 128 losses lie above ``loss_target`` and repeat
    with a period ``2..64`` to ``1e-10`` of their range (a settled orbit; a plateau or a
    growing or decaying oscillation does not qualify): for searches that only ask "does it
    reach the target?" (:mod:`gdcert.sim.edge`).
    The tail fingerprints cover only the last 128 steps before ``max_iter`` (NaN for
    earlier steps): the classifier reads them only for runs that used the whole budget.
    """
    max_iter, div, rtol, delta_bal = _check_run_args(
        problem, inits, schedules, max_iter=max_iter, loss_target=loss_target,
        div_factor=div_factor, promise_rtol=promise_rtol,
        envelope_optimal_loss=envelope_optimal_loss, promise_delta_bal=promise_delta_bal,
        orbit_window=orbit_window)
    n_traj = len(inits)
    every = _record_every(max_iter, int(record_every))
    n_records = max_iter // every + 2
    n_inv = len(problem.widths) - 2 if track_invariants else 0
    track_balancedness = track_balancedness or track_invariants
    if n_traj * n_records * (_k.N_REC_COLS + 1 + n_inv) > MAX_RECORD_VALUES:
        raise ValueError(
            f"{n_traj} trajectories × {n_records} records is too many to keep; "
            f"raise record_every (now {every}) or pass 0 for automatic decimation"
        )
    prob, theta0 = _linear_problem(problem, inits)
    ctl = _controls(max_iter, float(loss_target), div, every, bool(track_balancedness),
                    bool(track_sharpness), rtol, bool(envelope), float(envelope_optimal_loss),
                    int(orbit_window))
    inp = _linear_inputs(theta0, schedules, delta_bal, lemma3, problem.widths)
    out = _linear_outputs(theta0, n_records, n_inv)
    # Under NUMBA_DISABLE_JIT the kernels run as numpy code: overflow on a diverging run
    # is expected there (it is detected and reported), not a warning.
    dispatch(_k._gd_batch, (prob, ctl, inp, out), n_traj, parallel=parallel, cap_blas=True)
    return _trajectories(out, problem.widths, max_iter, track_balancedness=track_balancedness,
                         track_sharpness=track_sharpness, track_invariants=track_invariants)


def _controls(max_iter: int, loss_target: float, div_factor: float, record_every: int,
              track_bal: bool, track_sharp: bool, promise_rtol: float, envelope: bool,
              envelope_optimal: float, orbit_window: int = 0) -> Any:
    """The kernels' :class:`~gdcert.sim.kernels.Controls`, every field of one fixed type
    (so numba compiles one specialisation)."""
    return _k.Controls(
        max_iter=int(max_iter), loss_target=float(loss_target), div_factor=float(div_factor),
        record_every=int(record_every), track_bal=bool(track_bal),
        track_sharp=bool(track_sharp), sharp_iters=int(SHARPNESS_ITERS),
        sharp_basis=int(SHARPNESS_BASIS),
        promise_rtol=float(promise_rtol), envelope=bool(envelope),
        envelope_optimal=float(envelope_optimal), orbit_window=int(orbit_window),
    )


def run(problem: GDProblem, init: Sequence[Any], schedule: Schedule, **kw: Any) -> Trajectory:
    """One trajectory: :func:`run_batch` with a single init (run on the calling thread)."""
    kw.setdefault("parallel", False)
    return run_batch(problem, [init], [schedule], **kw)[0]


def warm_up() -> None:
    """Compile (or load from numba's cache) the linear kernel on a tiny problem.

    One kernel serves both forms (target and data), serial and parallel runs and every
    tracking option (all runtime arguments), so one call covers every later run.
    """
    rng = np.random.default_rng(0)
    widths = (2, 3, 2)
    init = [0.5 * rng.standard_normal((3, 2)), 0.5 * rng.standard_normal((2, 3))]
    prob = GDProblem.target(rng.standard_normal((2, 2)), widths)
    run_batch(
        prob, [init, init], [Schedule.constant(0.01)] * 2, max_iter=3, loss_target=0.0,
        track_balancedness=True, track_sharpness=True, track_invariants=True,
        promise_delta_bal=10.0, envelope=True,
    )  # fmt: skip
