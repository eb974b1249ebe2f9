"""Compiled gradient-descent kernels (numba; private): deep linear networks, and the
two-layer ReLU network of Nar & Sastry's Section 4 at the end of the module.

Every numba function of gdcert lives in this one module: numba's on-disk cache keys on the
source file, and a cached caller does not notice edits to a callee in another file. The
public, checked entry point is :mod:`gdcert.sim.engine`; these kernels take arrays and
scalars only and trust their inputs (C-contiguous float64, consistent shapes).

Storage. The layers ``W_1..W_L`` (``W_j`` is ``d_j × d_{j-1}``, row-major) are packed into
one flat vector ``θ`` with ``w_off[j-1]`` the start of ``W_j`` (0-based layer ``i = j-1``
below). Prefix products ``P_j = W_j⋯W_1`` (``d_j × d_0``, ``j = 1..L``) live in one flat
buffer with offsets ``pre_off``.

Loss and gradient (BOUNDS.md §1, sum convention). With ``W = W_L⋯W_1``,
``D = W − W*`` and ``G = DΣ`` (data form) or ``G = D`` (target form, ``W* = Φ``)::

    ℓ = ℓ_ls + ½⟨G, D⟩ = ℓ_ls + ½ tr(DΣDᵀ)           (data form)
    ℓ = ½‖D‖_F²                                       (target form)
    ∇_{W_j} ℓ = (W_L⋯W_{j+1})ᵀ G (W_{j-1}⋯W_1)ᵀ = A_j P_{j-1}ᵀ,
    A_L = G,  A_{j-1} = W_jᵀ A_j,  P_0 = I.

``W*Σ = YXᵀ(XXᵀ)⁺XXᵀ = YXᵀ = C`` exactly (``XᵀP = Xᵀ`` for ``P`` the projector onto
``range(X)``), so ``G = DΣ = WΣ − C`` is the true data-form gradient, computed without the
cancellation of ``WΣ − C`` near the optimum; and ``ℓ = ℓ_ls + ½tr(DΣDᵀ)`` is the exact
identity ``½‖Y − WX‖² = ½‖Y − W*X‖² + ½‖(W − W*)X‖²`` (the cross term vanishes by the normal
equations), which keeps full relative accuracy as ``ℓ → ℓ_ls``.

Cost of one step: ``L−1`` matmuls for the prefixes, ``L−1`` for the ``A_j``, ``L−1`` for the
layer gradients (``∇_{W_1} = A_1``), plus one ``DΣ`` in data form: ``3(L−1)(+1)`` matmuls,
each ``d³`` multiply–adds for square ``d × d`` layers.

Matrix products use hand-written loops when tiny (at most ``_INLINE_MAX_MNK`` multiply–adds,
and unrolled 2×2, 3×3 and 4×4), register-blocked vector code up to ``_VEC_MAX_MNK``
(:mod:`gdcert.sim.vecblock`, where BLAS call overhead dominates) and ``np.dot(a, b, out)``
(scipy's BLAS ``dgemm``) above, writing into preallocated buffers so a step allocates
nothing.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from gdcert.sim import _numba_env  # noqa: F401  (sets NUMBA_CACHE_DIR before numba loads)

# isort: split
import numpy as np
from numba import njit

from gdcert.sim.vecblock import fblock, fblock_nt

#: Products with at most this many multiply–adds (and no fixed-size path) run inlined loops
#: with runtime strides; larger ones register-blocked vector code or BLAS.
_INLINE_MAX_MNK = 64

#: Products with more than ``_INLINE_MAX_MNK`` and at most this many multiply–adds run
#: register-blocked vector code (:func:`_gemm_vec`, :func:`_gemm_vec_nt`), larger ones BLAS:
#: 0.07–0.1 ns per multiply–add at d = 8–24 (NN, TN) against 0.6–1.0 for the former loops at
#: d = 8 and 0.09 for BLAS at d = 16; BLAS is ahead from about d = 32 (docs/performance.md).
_VEC_MAX_MNK = 24 * 24 * 24


#: LLVM may reassociate sums (vectorised dot products) and fuse multiply–adds; no
#: assumptions about NaN/inf, so non-finite losses are still detected.
_FASTMATH = {"reassoc", "contract"}

#: Options of every numba function below except the two batch kernels: cached, and called
#: only from other numba functions, so numba builds neither a CPython nor a C-callable
#: wrapper for them (each would be compiled and optimised on a cold start for nothing).
_INNER: dict[str, Any] = {"cache": True, "no_cpython_wrapper": True, "no_cfunc_wrapper": True}

#: Stop codes stored in ``info_i[t, 1]``.
STOP_TARGET = 0
STOP_DIVERGED = 1
STOP_BUDGET = 2
STOP_ORBIT = 3

#: Columns of the per-record value array ``rec_vals[t, r, :]``.
REC_LOSS = 0
REC_GRAD = 1
REC_BAL = 2
REC_SHARP = 3
REC_SHARP_RES = 4  # the sharpness tracker's relative residual (≤ SHARP_RTOL: converged)
N_REC_COLS = 5

#: Columns of ``info_f[t, :]``: final loss, ‖θ_K − θ_{K−1}‖, ‖θ_K − θ_{K−2}‖, ‖θ_K‖.
N_INFO_F = 4
#: Columns of ``info_i[t, :]``: iterations taken, stop code, number of records.
N_INFO_I = 3

#: The tail: a ring of the last ``TAIL`` iterates' summaries, one row per step ``k``
#: (row ``k % TAIL``): ``ℓ(θ_k)``, ``‖∇ℓ(θ_k)‖`` and the fingerprint ``⟨p_f, θ_k⟩``
#: (``f < N_FP``) on fixed random unit vectors ``p_f``. ``TAIL = 2 · 64``: two full periods
#: of an orbit of period up to 64 (:mod:`gdcert.sim.classify`).
TAIL = 128
N_FP = 4
TAIL_LOSS = 0
TAIL_GRAD = 1
TAIL_FP = 2
N_TAIL_COLS = TAIL_FP + N_FP

#: Promises checked at every step (rows of ``prom_f[t]`` / ``prom_i[t]``).
PROM_MONOTONE = 0  # ℓ_k ≤ ℓ_{k−1} (Nguegnang et al. Prop. 3.3)
PROM_BALANCED = 1  # b(W⃗_k) ≤ delta_bal (Nguegnang et al. Thm 2.4)
PROM_ENVELOPE = 2  # ℓ_k − ℓ* ≤ Π_{s<k}(1 − η_s/2)(ℓ_0 − ℓ*) (Wu et al. Thm 4.3)
PROM_LEMMA3 = 3  # |w_i[k] − λ_i^{1/L}| ≤ β_i^k |1 − λ_i^{1/L}| (Nar & Sastry Lemma 3)
N_PROM = 4
#: ``prom_f[t, c]``: the worst ratio observed/promised (≤ 1 held; NaN: not checked).
#: ``prom_i[t, c, :]``: the first violating step and the step of the worst ratio (−1: none).
PROM_FIRST = 0
PROM_WORST = 1


class LinearProblem(NamedTuple):
    """The loss, shared by every trajectory of a batch (see the module docstring).

    ``widths`` (int64, ``L + 1``), ``w_off``/``pre_off`` (int64 offsets), ``sigma``
    (``Σ``, flat) and ``w_star`` (``W*``, flat), ``has_sigma`` (data form), ``loss_ls``,
    ``proj`` (``N_FP × n_params``: the fingerprint vectors).
    """

    widths: Any
    w_off: Any
    pre_off: Any
    sigma: Any
    w_star: Any
    has_sigma: bool
    loss_ls: float
    proj: Any


class Controls(NamedTuple):
    """Stopping, recording and promise settings shared by a batch (scalars only)."""

    max_iter: int
    loss_target: float
    div_factor: float
    record_every: int
    track_bal: bool
    track_sharp: bool
    sharp_iters: int
    sharp_basis: int
    promise_rtol: float
    envelope: bool
    envelope_optimal: float
    orbit_window: int


class LinearInputs(NamedTuple):
    """Per-trajectory inputs (row ``t`` of each array belongs to trajectory ``t``).

    ``theta0`` (``T × n``), the schedule ``a1``, ``a2``, ``gamma`` (``T``); ``delta_bal``
    (``T``; ``inf`` = not checked); Lemma 3 (``l3_on`` bool ``T``; ``l3_basis`` ``T × d²``,
    the eigenvectors ``U`` of Φ row-major, column ``i`` is ``u_i``; ``l3_target``
    (``λ_i^{1/L}``), ``l3_logbeta`` (``ln|β_i|``, ``−inf`` for ``β_i = 0``), ``l3_start``
    (``|1 − λ_i^{1/L}|``), each ``T × d``).
    """

    theta0: Any
    a1: Any
    a2: Any
    gamma: Any
    delta_bal: Any
    l3_on: Any
    l3_basis: Any
    l3_target: Any
    l3_logbeta: Any
    l3_start: Any


class LinearOutputs(NamedTuple):
    """Preallocated outputs, row ``t`` per trajectory: ``theta_out`` (``θ_K``), records
    (``rec_step``, ``rec_vals``, ``rec_inv``), ``info_f``/``info_i``, the ``tail`` ring
    (``T × TAIL × N_TAIL_COLS``, row ``k % TAIL`` is step ``k``), promises ``prom_f``
    (``T × N_PROM``) and ``prom_i`` (``T × N_PROM × 2``)."""

    theta_out: Any
    rec_step: Any
    rec_vals: Any
    rec_inv: Any
    info_f: Any
    info_i: Any
    tail: Any
    prom_f: Any
    prom_i: Any


@njit(**_INNER, forceinline=True)
def _mat(buf, off, rows, cols):
    """The ``rows × cols`` row-major matrix stored in ``buf[off : off + rows·cols]`` (a view)."""
    return buf[off : off + rows * cols].reshape((rows, cols))


@njit(**_INNER, forceinline=True)
def _copy(src, so, dst, do, n):
    """``dst[do : do + n] = src[so : so + n]`` as a loop (a slice assignment would compile
    numba's shape-mismatch error message, string formatting included). Unsigned indices:
    see :func:`_backward_step`."""
    su = np.uint64(so)
    du = np.uint64(do)
    for q in range(np.uint64(n)):
        dst[du + q] = src[su + q]


@njit(**_INNER, forceinline=False)
def _gemm_blas(a, oa, ta, b, ob, tb, out, oo, n, k, m, accumulate):
    """:func:`_gemm_generic` for large products: BLAS ``dgemm`` (``np.dot``) on views of the
    flat buffers, ``out = op(A) op(B)`` (or ``+=`` when ``accumulate != 0``).

    Transposed operands are ``.T`` views, which OpenBLAS handles without a copy (measured
    on 64×64: NT/TN 26–29 GFLOP/s against 29 for NN, CPU time, one thread; an explicit
    transposed copy followed by NN was slower, 24). Every argument is a runtime value, so
    numba compiles this once (four ``np.dot`` layouts inside); the accumulating form goes
    through a temporary, as ``out += op(A) op(B)`` would.
    """
    dst = _mat(out, oo, n, m)
    prod = np.empty((n, m)) if accumulate != 0 else dst
    if ta != 0:
        x = _mat(a, oa, k, n).T
        if tb != 0:
            np.dot(x, _mat(b, ob, m, k).T, prod)
        else:
            np.dot(x, _mat(b, ob, k, m), prod)
    else:
        x2 = _mat(a, oa, n, k)
        if tb != 0:
            np.dot(x2, _mat(b, ob, m, k).T, prod)
        else:
            np.dot(x2, _mat(b, ob, k, m), prod)
    if accumulate != 0:
        dst += prod


@njit(**_INNER, fastmath=_FASTMATH, forceinline=True)
def _gemm(a, oa, ta, b, ob, tb, out, oo, n, k, m):
    """``out (n×m) = op(A) (n×k) · op(B) (k×m)`` on flat row-major buffers.

    ``A`` starts at ``a[oa]`` and is stored ``n × k``, or ``k × n`` with ``op(A) = Aᵀ`` when
    ``ta != 0``; likewise ``B`` (``k × m``, or ``m × k`` when ``tb != 0``); ``out`` starts at
    ``out[oo]``. ``ta`` and ``tb`` must not both be set (no caller needs ``AᵀBᵀ``; the fixed
    and vector paths assume it); ``out`` must not overlap the operands. Tiny products (at
    most ``_INLINE_MAX_MNK`` multiply–adds) are plain loops on the flat buffers with no
    array views (a view costs reference counting, which dominates for ``d ≤ 4``); square
    products of size 2, 3 and 4 run :func:`_gemm_fixed`: compile-time trip counts and
    strides, which LLVM unrolls completely (about 3× the generic loop at these sizes).
    Products up to ``_VEC_MAX_MNK`` multiply–adds run register-blocked vector code
    (:func:`_gemm_vec` for NN and TN, :func:`_gemm_vec_nt` for NT), larger ones BLAS. Used
    by the step kernels; :func:`_gemm_generic` (no fixed sizes, ``+=`` form) serves the
    Hessian–vector products.

    Compile time: every argument is a runtime int, so numba compiles one ``_gemm``; the
    vector paths are one non-inlined copy each. ``forceinline`` makes LLVM inline it into
    the caller, where the callers' constant flags remove the other branches.
    """
    if n == k and k == m and 2 <= n <= 4:
        if ta != 0:
            if n == 4:
                _gemm_fixed(a, oa, True, b, ob, False, out, oo, 4)
            elif n == 3:
                _gemm_fixed(a, oa, True, b, ob, False, out, oo, 3)
            else:
                _gemm_fixed(a, oa, True, b, ob, False, out, oo, 2)
        elif tb != 0:
            if n == 4:
                _gemm_fixed(a, oa, False, b, ob, True, out, oo, 4)
            elif n == 3:
                _gemm_fixed(a, oa, False, b, ob, True, out, oo, 3)
            else:
                _gemm_fixed(a, oa, False, b, ob, True, out, oo, 2)
        elif n == 4:
            _gemm_fixed(a, oa, False, b, ob, False, out, oo, 4)
        elif n == 3:
            _gemm_fixed(a, oa, False, b, ob, False, out, oo, 3)
        else:
            _gemm_fixed(a, oa, False, b, ob, False, out, oo, 2)
        return
    mnk = n * k * m
    if mnk <= _INLINE_MAX_MNK:
        _gemm_small(a, oa, ta, b, ob, tb, out, oo, n, k, m, 0 * n)
    elif mnk <= _VEC_MAX_MNK:
        if tb == 0:
            _gemm_vec(a, oa, ta, b, ob, out, oo, n, k, m, 0 * n)
        else:
            _gemm_vec_nt(a, oa, b, ob, out, oo, n, k, m, 0 * n)
    else:
        _gemm_blas(a, oa, ta, b, ob, tb, out, oo, n, k, m, 0 * n)


@njit(**_INNER, fastmath=_FASTMATH, forceinline=True)
def _gemm_fixed(a, oa, ta, b, ob, tb, out, oo, size):
    """:func:`_gemm` for a square ``size × size`` product; ``size``, ``ta`` and ``tb`` are
    literals at the call site (one compiled copy per combination, every loop bound and
    stride a constant). ``ta`` and ``tb`` must not both be set."""
    sa_r = 1 if ta else size
    sa_c = size if ta else 1
    sb_r = 1 if tb else size
    sb_c = size if tb else 1
    for i in range(size):
        for j in range(size):
            acc = 0.0
            for p in range(size):
                acc += (a[np.uint64(oa + i * sa_r + p * sa_c)]
                        * b[np.uint64(ob + p * sb_r + j * sb_c)])
            out[np.uint64(oo + i * size + j)] = acc


@njit(**_INNER, forceinline=False)
def _gemm_vec(a, oa, ta, b, ob, out, oo, n, k, m, add):
    """:func:`_gemm` for B not transposed (NN, TN): blocks of 2 rows × 8 or 4 columns of C
    in vector registers (:func:`gdcert.sim.vecblock.fblock`), the last 1–3 columns by masked
    loads, an odd last row in 1-row blocks. Each entry is an FMA chain over ``p``
    ascending (from C's entry when ``add ≠ 0``: ``C += …``). Not inlined: one compiled
    copy (runtime strides for A)."""
    sar = 1 if ta != 0 else k
    sac = n if ta != 0 else 1
    m8 = m - m % 8
    m4 = m - m % 4
    n2 = n - n % 2
    for i in range(0, n2, 2):
        for j in range(0, m8, 8):
            fblock(a, oa, sar, sac, b, ob, m, out, oo, m, i, j, k, 4, add, 2, 8, False)
        for j in range(m8, m4, 4):
            fblock(a, oa, sar, sac, b, ob, m, out, oo, m, i, j, k, 4, add, 2, 4, False)
        if m4 < m:
            fblock(a, oa, sar, sac, b, ob, m, out, oo, m, i, m4, k, m - m4, add, 2, 4, True)
    for i in range(n2, n):
        for j in range(0, m8, 8):
            fblock(a, oa, sar, sac, b, ob, m, out, oo, m, i, j, k, 4, add, 1, 8, False)
        for j in range(m8, m4, 4):
            fblock(a, oa, sar, sac, b, ob, m, out, oo, m, i, j, k, 4, add, 1, 4, False)
        if m4 < m:
            fblock(a, oa, sar, sac, b, ob, m, out, oo, m, i, m4, k, m - m4, add, 1, 4, True)


@njit(**_INNER, forceinline=False)
def _gemm_vec_nt(a, oa, b, ob, out, oo, n, k, m, add):
    """:func:`_gemm` for ``A Bᵀ`` (NT): blocks of 2 rows × 4 columns of C, each entry a
    4-lane dot product along the rows of A and B (:func:`gdcert.sim.vecblock.fblock_nt`),
    the last 1–3 columns masked, an odd last row in 1-row blocks; ``add ≠ 0``: ``C += …``."""
    m4 = m - m % 4
    n2 = n - n % 2
    for i in range(0, n2, 2):
        for j in range(0, m4, 4):
            fblock_nt(a, oa, k, b, ob, k, out, oo, m, i, j, k, 4, add, 2, False)
        if m4 < m:
            fblock_nt(a, oa, k, b, ob, k, out, oo, m, i, m4, k, m - m4, add, 2, True)
    for i in range(n2, n):
        for j in range(0, m4, 4):
            fblock_nt(a, oa, k, b, ob, k, out, oo, m, i, j, k, 4, add, 1, False)
        if m4 < m:
            fblock_nt(a, oa, k, b, ob, k, out, oo, m, i, m4, k, m - m4, add, 1, True)


@njit(**_INNER, fastmath=_FASTMATH, forceinline=False)
def _gemm_generic(a, oa, ta, b, ob, tb, out, oo, n, k, m, accumulate):
    """:func:`_gemm` with runtime sizes and no fixed-size paths, ``+=`` when
    ``accumulate != 0`` (the Hessian–vector products): loops up to ``_INLINE_MAX_MNK``
    multiply–adds, the register-blocked vector code up to ``_VEC_MAX_MNK`` (as
    :func:`_gemm`; they used BLAS from 1000 multiply–adds until 2026-12-01), BLAS above.

    Runtime-int flags, one compiled copy, not inlined: its eight call sites in :func:`_hvp`
    would otherwise each carry a vectorised loop, which every caller up to the batch
    kernel optimises and compiles again."""
    mnk = n * k * m
    if mnk > _VEC_MAX_MNK or (ta != 0 and tb != 0):
        _gemm_blas(a, oa, ta, b, ob, tb, out, oo, n, k, m, accumulate)
    elif mnk > _INLINE_MAX_MNK:
        if tb == 0:
            _gemm_vec(a, oa, ta, b, ob, out, oo, n, k, m, accumulate)
        else:
            _gemm_vec_nt(a, oa, b, ob, out, oo, n, k, m, accumulate)
    else:
        _gemm_small(a, oa, ta, b, ob, tb, out, oo, n, k, m, accumulate)


@njit(**_INNER, fastmath=_FASTMATH, forceinline=True)
def _gemm_small(a, oa, ta, b, ob, tb, out, oo, n, k, m, accumulate):
    """The loops of :func:`_gemm_generic` (runtime strides; inlined)."""
    # op(A)[i, p] = a[oa + i·sa_r + p·sa_c],  op(B)[p, j] = b[ob + p·sb_r + j·sb_c]
    sa_r = 1 if ta != 0 else k
    sa_c = n if ta != 0 else 1
    sb_r = 1 if tb != 0 else m
    sb_c = k if tb != 0 else 1
    # i, j, p order: each entry is a dot product summed in a local (register) accumulator,
    # so a possible overlap of ``out`` with ``a``/``b`` does not force a store per term
    # (unsigned indices: see _backward_step)
    for i in range(n):
        for j in range(m):
            acc = out[np.uint64(oo + i * m + j)] if accumulate != 0 else 0.0
            for p in range(k):
                acc += (a[np.uint64(oa + i * sa_r + p * sa_c)]
                        * b[np.uint64(ob + p * sb_r + j * sb_c)])
            out[np.uint64(oo + i * m + j)] = acc


@njit(**_INNER, fastmath=_FASTMATH)
def _forward(theta, tb, widths, w_off, pre, pre_off, sigma, w_star, has_sigma, loss_ls, d_buf,
             g_buf):
    """Prefix products ``P_j = W_j P_{j-1}``, residual ``D = W − W*``, ``G``; return ``ℓ``.

    ``θ`` is ``theta[tb : tb + n_params]`` (an offset into the kernel's flat ring of
    iterates: a view per step would cost an atomic reference-count increment and
    decrement, 36 % of a step at L = 2, d = 2). Fills ``pre`` (all ``P_j``), ``d_buf``
    (``D``) and ``g_buf`` (``G``). See the module docstring for the loss identity.
    """
    n_layers = widths.shape[0] - 1
    d0 = widths[0]
    # flags and zero offsets as runtime ints: numba compiles one _gemm (a literal argument
    # would make it compile one more copy); LLVM inlines it and folds the constants
    no = 0 * d0
    if pre.shape[0] == n_layers:
        # every width is 1 (each P_j one number): a scalar cumulative product, no _gemm
        # calls (at L = 10 000, d = 1 those cost ~70 ns per layer)
        p = 1.0
        for i in range(n_layers):
            p = theta[tb + w_off[i]] * p
            pre[i] = p
    else:
        # P_1 = W_1
        _copy(theta, tb + w_off[0], pre, pre_off[0], widths[1] * d0)
        for i in range(1, n_layers):
            # P_{i+1} = W_{i+1} P_i   (0-based layer i is W_{i+1})
            _gemm(theta, tb + w_off[i], no, pre, pre_off[i - 1], no, pre, pre_off[i],
                  widths[i + 1], widths[i], d0)
    dl = widths[n_layers]
    size = dl * d0
    w_end = np.uint64(pre_off[n_layers - 1])
    # D = W − W*  (unsigned indices: see _backward_step)
    for q in range(np.uint64(size)):
        d_buf[q] = pre[w_end + q] - w_star[q]
    total = 0.0
    if has_sigma:
        # G = DΣ ;  ℓ = ℓ_ls + ½⟨G, D⟩ = ℓ_ls + ½ tr(DΣDᵀ)
        _gemm(d_buf, no, no, sigma, no, no, g_buf, no, dl, d0, d0)
        for q in range(size):
            total += g_buf[q] * d_buf[q]
        return loss_ls + 0.5 * total
    # G = D ;  ℓ = ½‖D‖_F²
    for q in range(size):
        g_buf[q] = d_buf[q]
        total += d_buf[q] * d_buf[q]
    return 0.5 * total


@njit(**_INNER, fastmath=_FASTMATH)
def _backward_step(theta, tb, nb, eta, widths, w_off, pre, pre_off, g_buf, a_buf):
    """Write ``θ_next = θ − η ∇ℓ(θ)`` and return ``‖∇ℓ(θ)‖_F²`` (all layers together).

    ``θ`` and ``θ_next`` are ``theta[tb:]`` and ``theta[nb:]`` (the flat ring, see
    :func:`_forward`).

    Backward recursion ``A_L = G``, ``∇_{W_j} = A_j P_{j-1}ᵀ``, ``A_{j-1} = W_jᵀ A_j``; the
    gradient of each layer is written straight into its slot of ``θ_next`` and turned into
    the update there, so no gradient buffer is needed. ``a_buf`` is scratch of size
    ``2 · max_j d_j · d_0`` holding ``A_j`` and ``A_{j-1}`` (ping-pong by offset).
    """
    n_layers = widths.shape[0] - 1
    d0 = widths[0]
    if pre.shape[0] == n_layers:
        # every width is 1: the same recursion on scalars (same products, same bits)
        a = g_buf[0]
        gsq = 0.0
        for i in range(n_layers - 1, -1, -1):
            off = w_off[i]
            g = a * pre[i - 1] if i > 0 else a
            gsq += g * g
            theta[nb + off] = theta[tb + off] - eta * g
            a = theta[tb + off] * a
        return gsq
    no = 0 * d0  # runtime flags, as in _forward
    yes = no + 1
    dl = widths[n_layers]
    half = a_buf.shape[0] // 2
    cur = 0
    nxt = half
    for q in range(dl * d0):
        a_buf[q] = g_buf[q]
    gsq = 0.0
    for i in range(n_layers - 1, -1, -1):
        rows = widths[i + 1]
        cols = widths[i]
        off = w_off[i]
        n = rows * cols
        if i == 0:
            # ∇_{W_1} = A_1 (P_0 = I)
            for q in range(n):
                theta[nb + off + q] = a_buf[cur + q]
        else:
            # ∇_{W_j} = A_j P_{j-1}ᵀ
            _gemm(a_buf, cur, no, pre, pre_off[i - 1], yes, theta, nb + off, rows, d0, cols)
        # W_j ← W_j − η ∇_{W_j}. Unsigned indices: with signed ones numba adds a
        # negative-index wrap-around per access, which kept LLVM from vectorising the loop
        # (1.35 ns per parameter, the latency of the ‖∇‖² sum, against 0.18 ns).
        src = np.uint64(tb + off)
        dst = np.uint64(nb + off)
        for q in range(np.uint64(n)):
            g = theta[dst + q]
            gsq += g * g
            theta[dst + q] = theta[src + q] - eta * g
        if i > 0:
            # A_{j-1} = W_jᵀ A_j
            _gemm(theta, tb + off, yes, a_buf, cur, no, a_buf, nxt, cols, rows, d0)
            cur, nxt = nxt, cur
    return gsq


@njit(**_INNER, fastmath=_FASTMATH)
def _hvp(theta, v, out, widths, w_off, pre, pre_off, sigma, has_sigma, g_buf, dpre, bufs):
    """Hessian–vector product ``out = ∇²ℓ(θ) v`` by forward mode through the recursions.

    Needs ``pre`` and ``g_buf`` from :func:`_forward` at ``θ``. Tangents (``V_j`` = layer
    ``j`` of ``v``)::

        dP_1 = V_1,  dP_j = V_j P_{j-1} + W_j dP_{j-1};   dG = dP_L Σ  (or dP_L)
        dA_L = dG,   dA_{j-1} = V_jᵀ A_j + W_jᵀ dA_j
        d∇_{W_j} = dA_j P_{j-1}ᵀ + A_j dP_{j-1}ᵀ       (d∇_{W_1} = dA_1)

    ``bufs`` is scratch ``(5, max_j d_j · d_0)``: ``A``, ``A'``, ``dA``, ``dA'``, ``dG``.
    """
    n_layers = widths.shape[0] - 1
    d0 = widths[0]
    dl = widths[n_layers]
    # flags and zero offsets as runtime ints (one compiled _gemm_generic, as in _forward)
    no = 0 * d0
    yes = no + 1
    _copy(v, w_off[0], dpre, pre_off[0], widths[1] * d0)
    for i in range(1, n_layers):
        rows = widths[i + 1]
        cols = widths[i]
        off = w_off[i]
        src = pre_off[i - 1]
        dst = pre_off[i]
        # dP_j = V_j P_{j-1} + W_j dP_{j-1}
        _gemm_generic(v, off, no, pre, src, no, dpre, dst, rows, cols, d0, no)
        _gemm_generic(theta, off, no, dpre, src, no, dpre, dst, rows, cols, d0, yes)
    a_cur = bufs[0]
    a_nxt = bufs[1]
    da_cur = bufs[2]
    da_nxt = bufs[3]
    size = dl * d0
    _copy(g_buf, no, a_cur, no, size)
    if has_sigma:
        # dG = dW Σ
        _gemm_generic(dpre, pre_off[n_layers - 1], no, sigma, no, no, da_cur, no, dl, d0, d0,
                      no)
    else:
        _copy(dpre, pre_off[n_layers - 1], da_cur, no, size)
    for i in range(n_layers - 1, -1, -1):
        rows = widths[i + 1]
        cols = widths[i]
        off = w_off[i]
        if i == 0:
            _copy(da_cur, no, out, off, rows * cols)
        else:
            src = pre_off[i - 1]
            # d∇_{W_j} = dA_j P_{j-1}ᵀ + A_j dP_{j-1}ᵀ
            _gemm_generic(da_cur, no, no, pre, src, yes, out, off, rows, d0, cols, no)
            _gemm_generic(a_cur, no, no, dpre, src, yes, out, off, rows, d0, cols, yes)
            # dA_{j-1} = V_jᵀ A_j + W_jᵀ dA_j ;  A_{j-1} = W_jᵀ A_j
            _gemm_generic(v, off, yes, a_cur, no, no, da_nxt, no, cols, rows, d0, no)
            _gemm_generic(theta, off, yes, da_cur, no, no, da_nxt, no, cols, rows, d0, yes)
            _gemm_generic(theta, off, yes, a_cur, no, no, a_nxt, no, cols, rows, d0, no)
            a_cur, a_nxt = a_nxt, a_cur
            da_cur, da_nxt = da_nxt, da_cur


@njit(**_INNER)
def _start_vector(v):
    """A fixed, generic unit start vector for the sharpness tracker (deterministic run to run)."""
    total = 0.0
    for q in range(v.shape[0]):
        # fractional part of q·(golden ratio), centred: equidistributed, no zero pattern
        x = (q + 1) * 0.6180339887498949
        v[q] = x - math.floor(x) - 0.5
        total += v[q] * v[q]
    scale = 1.0 / math.sqrt(total)
    for q in range(v.shape[0]):
        v[q] *= scale


#: Lanczos vectors kept by the sharpness tracker: at most ``Controls.sharp_basis``
#: (:data:`gdcert.sim.engine.SHARPNESS_BASIS`) and at most this many numbers in all
#: (32 MB), but never fewer than 2 vectors (above 2²¹ parameters they take more); when
#: they are used up it restarts from the Ritz vector.
SHARP_BASIS_DOUBLES = 1 << 22
#: The sharpness tracker stops when the top Ritz pair's residual is at most this times
#: ``|θ|`` (then an eigenvalue of the Hessian lies within that of θ).
SHARP_RTOL = 1e-9


@njit(**_INNER)
def _tri_top(alpha, beta, j, s, work):
    """Largest eigenvalue ``θ`` of the ``j × j`` symmetric tridiagonal matrix with diagonal
    ``alpha[:j]`` and off-diagonal ``beta[:j−1]``, and a unit eigenvector in ``s[:j]``.

    ``θ`` by bisection on Sturm counts (to the last bits, from Gershgorin bounds). The
    vector by three steps of inverse iteration with the shift ``σ = θ + 10⁻¹⁰‖T‖`` just
    above the spectrum: ``σI − T`` is positive definite, so its ``LDLᵀ`` factorisation needs
    no pivoting (a pivot that rounding drives to ≤ 0 is replaced by ``ε‖T‖``). For a
    cluster of top eigenvalues closer than the shift the vector lies in their span. ``work``:
    ``(2, ≥ j)`` scratch."""
    lo = math.inf
    hi = -math.inf
    for i in range(j):
        r = (abs(beta[i - 1]) if i > 0 else 0.0) + (abs(beta[i]) if i < j - 1 else 0.0)
        lo = min(lo, alpha[i] - r)
        hi = max(hi, alpha[i] + r)
    norm = max(abs(lo), abs(hi), 1e-300)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        below = 0  # eigenvalues < mid (Sturm count of T − mid·I)
        q = 1.0
        for i in range(j):
            q = alpha[i] - mid - (beta[i - 1] * beta[i - 1] / q if i > 0 else 0.0)
            if q == 0.0:
                q = -1e-300 * norm
            if q < 0.0:
                below += 1
        if below == j:
            hi = mid
        else:
            lo = mid
    theta = 0.5 * (lo + hi)
    if j == 1 or norm <= 1e-290:  # 1×1, or T = 0: any unit vector
        for i in range(j):
            s[i] = 1.0 if i == 0 else 0.0
        return alpha[0] if j == 1 else theta
    shift = theta + 1e-10 * norm
    d, el = work[0], work[1]
    for i in range(j):  # σI − T = L D Lᵀ
        d[i] = shift - alpha[i]
        if i > 0:
            el[i - 1] = -beta[i - 1] / d[i - 1]
            d[i] += el[i - 1] * beta[i - 1]
        if not d[i] > 0.0:
            d[i] = 2.2e-16 * norm
    for i in range(j):
        s[i] = 1.0
    for _ in range(3):
        for i in range(1, j):
            s[i] -= el[i - 1] * s[i - 1]
        for i in range(j):
            s[i] /= d[i]
        for i in range(j - 2, -1, -1):
            s[i] -= el[i] * s[i + 1]
        nrm = 0.0
        for i in range(j):
            nrm += s[i] * s[i]
        nrm = math.sqrt(nrm)
        if not (nrm > 0.0 and nrm < math.inf):  # pragma: no cover - overflow guard
            for i in range(j):
                s[i] = 1.0 if i == j - 1 else 0.0
            break
        for i in range(j):
            s[i] /= nrm
    return theta


@njit(**_INNER, fastmath=_FASTMATH)
def _sharpness(theta, v, hv, max_hvp, widths, w_off, pre, pre_off, sigma, has_sigma, g_buf,
               dpre, bufs, basis, tri):
    """``(λ_max(∇²ℓ(θ)), relative residual)`` by Lanczos on Hessian–vector products
    (:func:`_hvp`). The residual ``β_j|s_j|/|θ|`` is at most :data:`SHARP_RTOL` when the rule
    was met (an invariant subspace or a full basis count as met); above it, the product
    budget ran out first and θ is a lower estimate.

    From ``v`` (unit norm on entry; left as the top Ritz vector, a warm start for the next
    record): the Lanczos recurrence with full reorthogonalisation (twice) against the
    vectors kept in ``basis`` (its rows), the top eigenpair ``(θ, s)`` of the tridiagonal
    matrix (:func:`_tri_top`) every few steps, stopped when the residual ``β_j |s_j|`` of
    the top Ritz pair is at most :data:`SHARP_RTOL` ``·|θ|`` — then a Hessian eigenvalue
    lies within that of θ — or after ``max_hvp`` products. When ``basis`` is full it
    restarts from the Ritz vector. The largest *algebraic* eigenvalue comes out directly,
    also where a negative one dominates in modulus (saddles). ``tri``: ``(5, rows + 1)``
    scratch. (Replaced a 20-step power iteration, which under-estimated by up to 20 %:
    ``benchmarks/bench_sharpness.py``.) ``fastmath`` (reassociation): the dot products of
    the reorthogonalisation run as vector reductions.
    """
    n = v.shape[0]
    m = basis.shape[0]
    alpha, beta, s = tri[0], tri[1], tri[2]
    work = tri[3:5]
    used = 0
    top = math.nan
    rel = math.nan
    while True:
        for q in range(n):
            basis[0, q] = v[q]
        j = 0
        done = False
        while True:
            qj = basis[j]
            _hvp(theta, qj, hv, widths, w_off, pre, pre_off, sigma, has_sigma, g_buf, dpre, bufs)
            used += 1
            a = 0.0
            for q in range(n):
                a += hv[q] * qj[q]
            alpha[j] = a
            for q in range(n):
                hv[q] -= a * qj[q]
            if j > 0:
                b_prev = beta[j - 1]
                for q in range(n):
                    hv[q] -= b_prev * basis[j - 1, q]
            for _ in range(2):  # full reorthogonalisation, twice is enough
                for i in range(j + 1):
                    c = 0.0
                    for q in range(n):
                        c += hv[q] * basis[i, q]
                    for q in range(n):
                        hv[q] -= c * basis[i, q]
            b = 0.0
            for q in range(n):
                b += hv[q] * hv[q]
            b = math.sqrt(b)
            beta[j] = b
            jj = j + 1
            if not math.isfinite(b):
                return math.nan, math.nan
            full = jj == m or jj == n
            spent = used >= max_hvp
            if full or spent or jj <= 2 or jj % 3 == 0 or b == 0.0:
                top = _tri_top(alpha, beta, jj, s, work)
                scale = max(abs(top), 1e-300)
                rel = b * abs(s[jj - 1]) / scale
                if rel <= SHARP_RTOL or b <= 1e-15 * scale:
                    done = True
                    rel = min(rel, SHARP_RTOL)
                if done or full or spent:
                    break
            for q in range(n):
                basis[jj, q] = hv[q] / b
            j = jj
        nrm = 0.0
        for q in range(n):
            acc = 0.0
            for i in range(jj):
                acc += s[i] * basis[i, q]
            v[q] = acc
            nrm += acc * acc
        nrm = math.sqrt(nrm)
        if nrm > 0.0 and nrm < math.inf:
            for q in range(n):
                v[q] /= nrm
        else:  # a degenerate Ritz vector: the fixed start again
            _start_vector(v)
        if done or used >= max_hvp or jj == n:
            return top, (min(rel, SHARP_RTOL) if jj == n else rel)


@njit(**_INNER)
def _balancedness(theta, widths, w_off, per_layer, floor):
    """``max(floor, b(W⃗))`` with ``b(W⃗) = max_j ‖W_{j+1}ᵀW_{j+1} − W_jW_jᵀ‖`` (exact spectral
    norm, by ``eigvalsh``; Nguegnang, Rauhut & Terstiege (2021), eq. (2.7); 0 for ``L = 1``).

    When ``per_layer`` has ``L − 1`` entries, each invariant's norm ``‖D_j‖`` is written
    there. Pairs whose value is not wanted on its own are skipped when their Frobenius
    norm (``≥ ‖M_j‖``) is at most the running maximum: they cannot raise it, so the result is
    the exact maximum with few ``eigvalsh`` calls (the per-step balancedness promise passes
    its running maximum as ``floor`` and an empty ``per_layer``). One function for records
    and promise: each would compile ``eigvalsh`` and two ``np.dot`` layouts again.
    """
    n_layers = widths.shape[0] - 1
    worst = floor
    for i in range(n_layers - 1):
        mid = widths[i + 1]
        w_lo = _mat(theta, w_off[i], mid, widths[i])
        w_hi = _mat(theta, w_off[i + 1], widths[i + 2], mid)
        # M = W_{j+1}ᵀW_{j+1} − W_jW_jᵀ   (mid × mid, symmetric)
        m = np.dot(w_hi.T, w_hi) - np.dot(w_lo, w_lo.T)
        wanted = per_layer.shape[0] > i
        if not wanted:
            fro = 0.0
            for p in range(mid):
                for q in range(mid):
                    fro += m[p, q] * m[p, q]
            if not math.sqrt(fro) > worst:
                continue
        lam = np.linalg.eigvalsh(m)
        # ‖M‖ = max(|λ_min|, |λ_max|) for symmetric M
        val = max(abs(lam[0]), abs(lam[mid - 1]))
        if wanted:
            per_layer[i] = val
        if val > worst:
            worst = val
    return worst


@njit(**_INNER, forceinline=True)
def _stop_code(loss, loss0, loss_target, div_factor, k, max_iter):
    """Why iteration ``k`` stops — diverged (non-finite, or ``ℓ > div_factor·ℓ₀``), target
    reached (``ℓ − loss_target ≤ 0``), budget used — in that order; −1 to go on."""
    if not math.isfinite(loss) or loss > div_factor * loss0:
        return STOP_DIVERGED
    if loss - loss_target <= 0.0:
        return STOP_TARGET
    if k >= max_iter:
        return STOP_BUDGET
    return -1


@njit(**_INNER)
def _lemma3_ratio(theta, widths, w_off, k, basis, target, logbeta, start, rtol):
    """Worst ``(|w_i[k] − λ_i^{1/L}| − slack) / (β_i^k |1 − λ_i^{1/L}|)`` over layers and
    eigen-directions, with ``w_i[k] = u_iᵀ W_j[k] u_i`` (Nar & Sastry, Lemma 3).

    ``slack = rtol · max(1, λ_i^{1/L})`` absorbs rounding; a zero promise (``β_i = 0`` or
    ``λ_i = 1``) gives 0 when the error is within the slack and ``inf`` otherwise. In exact
    arithmetic every ``W_j[k]`` is ``U diag(w[k]) Uᵀ``; only the diagonal in that basis is
    read (its off-diagonal part is rounding, not checked).
    """
    n_layers = widths.shape[0] - 1
    d = widths[0]
    worst = 0.0
    for j in range(n_layers):
        off = w_off[j]
        for i in range(d):
            # w_i = Σ_pq U[p, i] W[p, q] U[q, i]
            w = 0.0
            for p in range(d):
                acc = 0.0
                for q in range(d):
                    acc += theta[off + p * d + q] * basis[q * d + i]
                w += basis[p * d + i] * acc
            excess = abs(w - target[i]) - rtol * max(1.0, abs(target[i]))
            if excess <= 0.0:
                continue
            if k == 0:
                promised = start[i]
            else:
                x = k * logbeta[i]
                promised = start[i] * math.exp(x) if x < 700.0 else math.inf
            ratio = excess / promised if promised > 0.0 else math.inf
            if not ratio <= worst:
                worst = ratio if ratio == ratio else math.inf
    return worst


@njit(**_INNER)
def _promise_note(prom_f, prom_i, c, ratio, k, limit):
    """Fold one step's ratio into promise ``c``: worst ratio (and where), first step above
    ``limit``. A NaN ratio counts as a violation."""
    if not ratio <= prom_f[c]:
        prom_f[c] = ratio if ratio == ratio else math.inf
        prom_i[c, PROM_WORST] = k
    if not ratio <= limit and prom_i[c, PROM_FIRST] < 0:
        prom_i[c, PROM_FIRST] = k


@njit(**_INNER)
def _finish(ring, k, loss, stop, n_rec, info_f, info_i):
    """Write a finished trajectory's summary: the final loss, ‖θ_K − θ_{K−1}‖,
    ‖θ_K − θ_{K−2}‖ from the ring of four iterates (NaN when fewer than 1 resp. 2 steps
    were taken) and ‖θ_K‖, the step count, stop code and number of records."""
    final = ring[k % 4]
    step_last = math.nan
    step_two = math.nan
    if k >= 1:
        prev = ring[(k - 1) % 4]
        s = 0.0
        for q in range(final.size):
            s += (final[q] - prev[q]) ** 2
        step_last = math.sqrt(s)
    if k >= 2:
        prev2 = ring[(k - 2) % 4]
        s = 0.0
        for q in range(final.size):
            s += (final[q] - prev2[q]) ** 2
        step_two = math.sqrt(s)
    s = 0.0
    for q in range(final.size):
        s += final[q] * final[q]
    info_f[0] = loss
    info_f[1] = step_last
    info_f[2] = step_two
    info_f[3] = math.sqrt(s)
    info_i[0] = k
    info_i[1] = stop
    info_i[2] = n_rec


@njit(**_INNER, forceinline=True)
def _tail_row(tail, k, loss, gsq, theta, tb, proj, fp_from):
    """Row ``k % TAIL`` of the tail ring: ``ℓ_k``, ``‖∇ℓ_k‖`` and, from step ``fp_from`` on,
    the fingerprint ``⟨p_f, θ_k⟩``.

    ``fp_from = max_iter − TAIL + 1``: the fingerprints are read only for runs that use the
    whole budget (:mod:`gdcert.sim.classify`), so only the last ``TAIL`` steps before the
    budget pay for the ``N_FP`` projections (the engine marks the other rows NaN).
    """
    row = k % TAIL
    tail[row, TAIL_LOSS] = loss
    tail[row, TAIL_GRAD] = math.sqrt(gsq)
    if k >= fp_from:
        for f in range(N_FP):
            acc = 0.0
            for q in range(proj.shape[1]):
                acc += proj[f, q] * theta[tb + q]
            tail[row, TAIL_FP + f] = acc


@njit(**_INNER)
def _monotone_note(prom_f, prom_i, k, loss, loss_prev, loss0, rtol):
    """Promise ``ℓ_k ≤ ℓ_{k−1}`` (up to ``rtol·|ℓ_{k−1}|``) after the loss rose (or is NaN);
    ratio ``1 + increase/|ℓ_0|``. Called only when ``not ℓ_k ≤ ℓ_{k−1}``: a step that does
    not raise the loss has ratio 1, which never raises the recorded worst."""
    inc = loss - loss_prev
    if not inc <= rtol * abs(loss_prev) and prom_i[PROM_MONOTONE, PROM_FIRST] < 0:
        prom_i[PROM_MONOTONE, PROM_FIRST] = k
    ratio = 1.0 + max(inc, 0.0) / max(abs(loss0), 1e-300) if inc == inc else math.inf
    if ratio > prom_f[PROM_MONOTONE]:
        prom_f[PROM_MONOTONE] = ratio
        prom_i[PROM_MONOTONE, PROM_WORST] = k


#: A run is on a settled orbit when its losses over the tail repeat with a period
#: ``2 ≤ p ≤ TAIL/2`` to this fraction of their range (:func:`_settled_orbit`)...
ORBIT_LOSS_RTOL = 1e-10
#: ... and that range exceeds this fraction of the largest loss (a real oscillation, not a
#: plateau, whose constant loss "repeats" with every period).
ORBIT_MIN_RANGE = 1e-6


@njit(**_INNER)
def _settled_orbit(tail, k, loss_target):
    """True if the last ``TAIL`` losses (steps ``k−TAIL+1..k`` in the tail ring) are above
    ``loss_target`` and repeat with some period ``2 ≤ p ≤ TAIL/2``:
    ``|ℓ_j − ℓ_{j−p}| ≤ ORBIT_LOSS_RTOL · (max ℓ − min ℓ)`` with
    ``max ℓ − min ℓ > ORBIT_MIN_RANGE · max|ℓ|``.

    A transient oscillation that grows or decays at any rate a run could leave within its
    budget misses the repeat test by orders of magnitude (a rate ``r`` per step leaves a
    mismatch ``≈ p·r`` of the range); only an orbit repeating to rounding passes.
    """
    if k < TAIL - 1:
        return False
    lo = math.inf
    hi = -math.inf
    for r in range(TAIL):
        v = tail[r, TAIL_LOSS]
        lo = min(lo, v)
        hi = max(hi, v)
    if not (lo > loss_target and math.isfinite(hi)):
        return False
    spread = hi - lo
    if not spread > ORBIT_MIN_RANGE * max(abs(hi), abs(lo)):
        return False
    limit = ORBIT_LOSS_RTOL * spread
    for p in range(2, TAIL // 2 + 1):
        repeats = True
        for j in range(k - TAIL + 1 + p, k + 1):
            if not abs(tail[j % TAIL, TAIL_LOSS] - tail[(j - p) % TAIL, TAIL_LOSS]) <= limit:
                repeats = False
                break
        if repeats:
            return True
    return False


@njit(cache=True, nogil=True)
def _gd_batch(prob, ctl, inp, out, first, stop):
    """Run GD on each trajectory ``t = first..stop−1`` from ``inp.theta0[t]`` until it
    reaches the target loss, diverges, or uses up ``ctl.max_iter`` steps.

    Step sizes ``η_k = min(a1, a2 / (k+1)^γ)`` (Nguegnang et al. eq. 5.2; a constant step is
    ``a2 = inf``). Iteration ``k`` evaluates ``ℓ(θ_k)`` and ``∇ℓ(θ_k)`` in one pass, then
    stops with ``K = k`` if ``ℓ − loss_target ≤ 0`` (target), ``ℓ`` is not finite or
    ``ℓ > div_factor · ℓ(θ_0)`` (diverged), or ``k = max_iter`` (budget); otherwise it records
    when ``k % record_every == 0`` and steps ``θ_{k+1} = θ_k − η_k ∇ℓ(θ_k)``. The stopping
    point ``θ_K`` is always recorded. ``θ_{K−2}, θ_{K−1}, θ_K`` (and the discarded
    ``θ_{K+1}``) are kept in a ring of four buffers for ``‖θ_K − θ_{K−1}‖``,
    ``‖θ_K − θ_{K−2}‖``; the last ``TAIL`` steps' loss, gradient norm and fingerprint go to
    ``out.tail[t]`` (period detection, :mod:`gdcert.sim.classify`).

    Promises, at every iterate ``θ_k`` (``k = 0..K``), into ``out.prom_f[t]``/``prom_i[t]``:
    the loss does not increase (always); ``b(W⃗_k) ≤ delta_bal`` (when ``inp.delta_bal[t]``
    is finite); Wu et al.'s envelope (``ctl.envelope``; ``ℓ* = ctl.envelope_optimal``);
    Lemma 3 per eigen-direction (``inp.l3_on[t]``). Each with relative slack
    ``ctl.promise_rtol``.

    Trajectories run one after another. Releases the GIL: the engine runs several calls on
    disjoint ranges from Python threads, so one compiled kernel (no ``prange`` twin) serves
    serial and parallel runs. The per-trajectory body is not a function of its own: numba
    compiles every function with all it calls linked in and optimised again, so each level
    of calls repeats LLVM's work on everything below it (a cold start's main cost).
    """
    for t in range(first, stop):
        widths = prob.widths
        w_off = prob.w_off
        pre_off = prob.pre_off
        sigma = prob.sigma
        has_sigma = prob.has_sigma
        theta0 = inp.theta0[t]
        a1 = inp.a1[t]
        a2 = inp.a2[t]
        gamma = inp.gamma[t]
        rec_step = out.rec_step[t]
        rec_vals = out.rec_vals[t]
        rec_inv = out.rec_inv[t]
        tail = out.tail[t]
        prom_f = out.prom_f[t]
        prom_i = out.prom_i[t]
        rtol = ctl.promise_rtol

        n_params = theta0.shape[0]
        n_layers = widths.shape[0] - 1
        d0 = widths[0]
        dl = widths[n_layers]
        max_rows = 0
        for i in range(1, n_layers + 1):
            max_rows = max(max_rows, widths[i])
        ring = np.empty((4, n_params))
        for q in range(n_params):
            ring[0, q] = theta0[q]
        flat = ring.reshape(4 * n_params)  # the same memory, indexed by offset in the loop
        w_star = prob.w_star  # struct fields read once (each read is a reference count)
        proj = prob.proj
        loss_ls = prob.loss_ls
        pre = np.empty(pre_off[n_layers])
        d_buf = np.empty(dl * d0)
        g_buf = np.empty(dl * d0)
        a_buf = np.empty(2 * max_rows * d0)
        n_hvp = n_params if ctl.track_sharp else 0
        v = np.empty(n_hvp)
        hv = np.empty(n_hvp)
        n_basis = min(n_hvp, ctl.sharp_basis, max(2, SHARP_BASIS_DOUBLES // max(1, n_hvp)))
        basis = np.empty((n_basis, n_hvp))
        tri = np.empty((5, n_basis + 1))
        dpre = np.empty(pre_off[n_layers] if ctl.track_sharp else 0)
        bufs = np.empty((5, max_rows * d0 if ctl.track_sharp else 0))
        if ctl.track_sharp:
            _start_vector(v)
        max_records = rec_step.shape[0]

        delta_bal = inp.delta_bal[t]
        bal_on = math.isfinite(delta_bal)
        l3_on = inp.l3_on[t]
        for c in range(N_PROM):
            prom_f[c] = math.nan
            prom_i[c, PROM_FIRST] = -1
            prom_i[c, PROM_WORST] = -1
        prom_f[PROM_MONOTONE] = 1.0
        if bal_on:
            prom_f[PROM_BALANCED] = 0.0
        if ctl.envelope:
            prom_f[PROM_ENVELOPE] = 0.0
        if l3_on:
            prom_f[PROM_LEMMA3] = 0.0
        bal_max = 0.0
        no_inv = np.empty(0)  # the promise's balancedness: no per-layer values
        log_env = 0.0  # ln Π_{s<k}(1 − η_s/2)
        env_r0 = 0.0

        loss0 = 0.0
        loss = 0.0
        loss_prev = 0.0
        n_rec = 0
        k = 0
        reason = STOP_BUDGET
        fp_from = ctl.max_iter - TAIL + 1
        window = ctl.orbit_window
        win_left = window
        orbit_before = False
        while True:
            cb = (k % 4) * n_params  # θ_k and θ_{k+1} in the flat ring (no views: see _forward)
            nb = ((k + 1) % 4) * n_params
            loss = _forward(
                flat, cb, widths, w_off, pre, pre_off, sigma, w_star, has_sigma, loss_ls,
                d_buf, g_buf,
            )  # fmt: skip
            if k == 0:
                loss0 = loss
                env_r0 = loss0 - ctl.envelope_optimal
            eta = a1
            if gamma == 0.0:
                eta = min(a1, a2)
            else:
                # η_k = min(a1, a2 / (k+1)^γ)
                eta = min(a1, a2 / (k + 1.0) ** gamma)
            gsq = _backward_step(flat, cb, nb, eta, widths, w_off, pre, pre_off, g_buf, a_buf)
            _tail_row(tail, k, loss, gsq, flat, cb, proj, fp_from)

            # ---- promises at θ_k (the monotone one: one compare unless the loss rose)
            if k >= 1 and not loss <= loss_prev:
                _monotone_note(prom_f, prom_i, k, loss, loss_prev, loss0, rtol)
            finite = math.isfinite(loss)
            if bal_on and finite:
                b = _balancedness(ring[k % 4], widths, w_off, no_inv, bal_max)
                if b > bal_max:
                    bal_max = b
                    _promise_note(prom_f, prom_i, PROM_BALANCED + 0, b / delta_bal, k, 1.0 + rtol)
            if ctl.envelope and env_r0 > 0.0:
                # R_k / (Π_{s<k}(1 − η_s/2) R_0), in log space
                gap = loss - ctl.envelope_optimal
                ratio = 0.0
                if not gap <= 0.0:
                    ratio = math.inf
                    if math.isfinite(gap):
                        lr = math.log(gap) - math.log(env_r0) - log_env
                        if lr < 700.0:
                            ratio = math.exp(lr)
                _promise_note(prom_f, prom_i, PROM_ENVELOPE + 0, ratio, k, 1.0 + rtol)
                fac = 1.0 - 0.5 * eta
                log_env += math.log(fac) if fac > 0.0 else -math.inf
            if l3_on:
                ratio = math.inf
                if finite:
                    ratio = _lemma3_ratio(ring[k % 4], widths, w_off, k, inp.l3_basis[t],
                                          inp.l3_target[t],
                                          inp.l3_logbeta[t], inp.l3_start[t], rtol)
                _promise_note(prom_f, prom_i, PROM_LEMMA3 + 0, ratio, k, 1.0 + rtol)
            loss_prev = loss

            code = _stop_code(loss, loss0, ctl.loss_target, ctl.div_factor, k, ctl.max_iter)
            if window > 0 and code < 0:
                # orbit test (ctl.orbit_window > 0): every `window` steps; a settled orbit seen
                # at two consecutive checks stops the run
                win_left -= 1
                if win_left == 0:
                    win_left = window
                    orbit_now = _settled_orbit(tail, k, ctl.loss_target)
                    if orbit_now and orbit_before:
                        code = STOP_ORBIT
                    orbit_before = orbit_now
            stopping = code >= 0
            if stopping:
                reason = code
            if (stopping or k % ctl.record_every == 0) and n_rec < max_records:
                rec_step[n_rec] = k
                rec_vals[n_rec, REC_LOSS] = loss
                rec_vals[n_rec, REC_GRAD] = math.sqrt(gsq)
                rec_vals[n_rec, REC_BAL] = math.nan
                rec_vals[n_rec, REC_SHARP] = math.nan
                rec_vals[n_rec, REC_SHARP_RES] = math.nan
                if finite:
                    if ctl.track_bal:
                        rec_vals[n_rec, REC_BAL] = _balancedness(ring[k % 4], widths, w_off,
                                                                 rec_inv[n_rec], 0.0)
                    if ctl.track_sharp:
                        top, res = _sharpness(
                            ring[k % 4], v, hv, ctl.sharp_iters, widths, w_off, pre, pre_off, sigma,
                            has_sigma, g_buf, dpre, bufs, basis, tri,
                        )  # fmt: skip
                        rec_vals[n_rec, REC_SHARP] = top
                        rec_vals[n_rec, REC_SHARP_RES] = res
                n_rec += 1
            if stopping:
                break
            k += 1

        for q in range(n_params):
            out.theta_out[t, q] = ring[k % 4, q]
        _finish(ring, k, loss, reason, n_rec, out.info_f[t], out.info_i[t])


# ----------------------------------------------------------------------------- two-layer ReLU
#
# f̂(x) = W g(Vx − b), W m×r and V r×n trainable, b fixed (Nar & Sastry 2018, Section 4).
# θ holds W (row-major, offset 0) then V (row-major, offset m·r). Samples are the columns of
# X (n×N) and Y (m×N). Loss and gradient, with c = ½ (Theorem 4) or c = 1 (Figure 2)::
#
#     h_i = V x_i − b,   a_i = g(h_i),   r_i = W a_i − y_i,   ℓ = c Σ_i ‖r_i‖²
#     ∇_W ℓ = 2c Σ_i r_i a_iᵀ,   ∇_V ℓ = 2c Σ_i δ_i x_iᵀ,   δ_i = 1[h_i > 0] ⊙ (Wᵀ r_i)
#
# (g'(0) taken as 0.) One pass over the samples computes all of it with O(r(m + n)) scratch.

#: Columns of the per-record value array ``rec_vals[t, r, :]`` of the ReLU kernel.
RELU_REC_LOSS = 0
RELU_REC_GRAD = 1
N_RELU_REC_COLS = 2


@njit(**_INNER, fastmath=_FASTMATH)
def _relu_loss_grad(theta, grad, m, r, n, x, y, b, c, h, dlt, res):
    """Write ``∇ℓ(θ)`` into ``grad`` and return ``ℓ(θ)`` (see the section comment above).

    ``x`` is ``n × N``, ``y`` is ``m × N`` (2-D, C-contiguous), ``b`` has ``r`` entries;
    ``h``, ``dlt`` (size ``r``) and ``res`` (size ``m``) are scratch.
    """
    n_samples = x.shape[1]
    v_off = m * r
    for q in range(grad.shape[0]):
        grad[q] = 0.0
    total = 0.0
    for i in range(n_samples):
        # h = V x_i − b ;  a = g(h)  (kept in h)
        for j in range(r):
            acc = -b[j]
            for p in range(n):
                acc += theta[v_off + j * n + p] * x[p, i]
            h[j] = acc
        # r_i = W a_i − y_i
        for k in range(m):
            acc = -y[k, i]
            for j in range(r):
                if h[j] > 0.0:
                    acc += theta[k * r + j] * h[j]
            res[k] = acc
            total += acc * acc
        # ∇_W += r_i a_iᵀ ;  δ = 1[h > 0] ⊙ Wᵀ r_i
        for j in range(r):
            if h[j] > 0.0:
                s = 0.0
                for k in range(m):
                    grad[k * r + j] += res[k] * h[j]
                    s += theta[k * r + j] * res[k]
                dlt[j] = s
            else:
                dlt[j] = 0.0
        # ∇_V += δ x_iᵀ
        for j in range(r):
            dj = dlt[j]
            if dj != 0.0:
                for p in range(n):
                    grad[v_off + j * n + p] += dj * x[p, i]
    scale = 2.0 * c
    for q in range(grad.shape[0]):
        grad[q] *= scale
    return c * total


class ReluArgs(NamedTuple):
    """The shared part of a ReLU batch: shape ``m, r, n``, inputs ``x`` (``n × N``), the
    loss factor ``c`` and the fingerprint vectors ``proj`` (``N_FP × n_params``)."""

    m: int
    r: int
    n: int
    x: Any
    c: float
    proj: Any


class ReluInputs(NamedTuple):
    """Per-trajectory rows: ``theta0`` (``T × n_params``), ``eta``, ``y`` (``T × m × N``),
    ``b`` (``T × r``), ``loss_target`` (``T``)."""

    theta0: Any
    eta: Any
    y: Any
    b: Any
    loss_target: Any


class ReluOutputs(NamedTuple):
    """As :class:`LinearOutputs` (no invariants), plus ``theta_prev`` (``θ_{K−1}``)."""

    theta_out: Any
    theta_prev: Any
    rec_step: Any
    rec_vals: Any
    info_f: Any
    info_i: Any
    tail: Any
    prom_f: Any
    prom_i: Any


@njit(cache=True, nogil=True)
def _relu_batch(arg, ctl, inp, out, first, stop):
    """For ``t = first..stop−1``: full-batch GD on the two-layer ReLU loss from
    ``inp.theta0[t]`` with the constant step ``inp.eta[t]``.

    The stopping rules, records, step norms, tail ring and the monotone-loss promise are
    those of :func:`_gd_batch` (``ctl.loss_target`` is unused: the target is per
    trajectory, ``inp.loss_target[t]``). Outputs as :class:`ReluOutputs`; ``theta_prev`` is
    ``θ_{K−1}`` (NaN if ``K = 0``).

    GIL released; one function for the loop and the run, as :func:`_gd_batch`.
    """
    for t in range(first, stop):
        m = arg.m
        r = arg.r
        n = arg.n
        theta0 = inp.theta0[t]
        eta = inp.eta[t]
        y = inp.y[t]
        b = inp.b[t]
        loss_target = inp.loss_target[t]
        rec_step = out.rec_step[t]
        rec_vals = out.rec_vals[t]
        tail = out.tail[t]
        prom_f = out.prom_f[t]
        prom_i = out.prom_i[t]
        n_params = theta0.shape[0]
        ring = np.empty((4, n_params))
        for q in range(n_params):
            ring[0, q] = theta0[q]
        grad = np.empty(n_params)
        h = np.empty(r)
        dlt = np.empty(r)
        res = np.empty(m)
        max_records = rec_step.shape[0]
        for c in range(N_PROM):
            prom_f[c] = math.nan
            prom_i[c, PROM_FIRST] = -1
            prom_i[c, PROM_WORST] = -1
        prom_f[PROM_MONOTONE] = 1.0
        loss0 = 0.0
        loss = 0.0
        loss_prev = 0.0
        n_rec = 0
        k = 0
        reason = STOP_BUDGET
        while True:
            cur = ring[k % 4]
            nxt = ring[(k + 1) % 4]
            loss = _relu_loss_grad(cur, grad, m, r, n, arg.x, y, b, arg.c, h, dlt, res)
            if k == 0:
                loss0 = loss
            gsq = 0.0
            for q in range(n_params):
                g = grad[q]
                gsq += g * g
                # θ_{k+1} = θ_k − η ∇ℓ(θ_k)
                nxt[q] = cur[q] - eta * g
            _tail_row(tail, k, loss, gsq, cur, 0, arg.proj, ctl.max_iter - TAIL + 1)
            if k >= 1 and not loss <= loss_prev:
                _monotone_note(prom_f, prom_i, k, loss, loss_prev, loss0, ctl.promise_rtol)
            loss_prev = loss
            code = _stop_code(loss, loss0, loss_target, ctl.div_factor, k, ctl.max_iter)
            stopping = code >= 0
            if stopping:
                reason = code
            if (stopping or k % ctl.record_every == 0) and n_rec < max_records:
                rec_step[n_rec] = k
                rec_vals[n_rec, RELU_REC_LOSS] = loss
                rec_vals[n_rec, RELU_REC_GRAD] = math.sqrt(gsq)
                n_rec += 1
            if stopping:
                break
            k += 1

        for q in range(n_params):
            out.theta_out[t, q] = ring[k % 4, q]
        for q in range(n_params):
            out.theta_prev[t, q] = ring[(k - 1) % 4, q] if k >= 1 else math.nan
        _finish(ring, k, loss, reason, n_rec, out.info_f[t], out.info_i[t])
