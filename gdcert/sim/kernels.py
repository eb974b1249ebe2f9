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

Matrix products use hand-written loops when small (below ``_LOOP_MAX_MNK`` multiply–adds,
where BLAS call overhead dominates) and ``np.dot(a, b, out)`` (scipy's BLAS ``dgemm``)
above, writing into preallocated buffers so a step allocates nothing.
"""

from __future__ import annotations

import math

from gdcert.sim import _numba_env  # noqa: F401  (sets NUMBA_CACHE_DIR before numba loads)

# isort: split
import numpy as np
from numba import njit, prange

#: Products with at most this many multiply–adds ``n·k·m`` use plain loops, larger ones BLAS.
#: Measured on the benchmark machine (docs/performance.md): loops win up to about 10×10×10;
#: at 12×12×12 scipy's ``dgemm`` is already about twice as fast.
_LOOP_MAX_MNK = 1000

#: LLVM may reassociate sums (vectorised dot products) and fuse multiply–adds; no
#: assumptions about NaN/inf, so non-finite losses are still detected.
_FASTMATH = {"reassoc", "contract"}

#: Stop codes stored in ``info_i[t, 1]``.
STOP_TARGET = 0
STOP_DIVERGED = 1
STOP_BUDGET = 2

#: Columns of the per-record value array ``rec_vals[t, r, :]``.
REC_LOSS = 0
REC_GRAD = 1
REC_BAL = 2
REC_SHARP = 3
N_REC_COLS = 4

#: Columns of ``info_f[t, :]``: final loss, ‖θ_K − θ_{K−1}‖, ‖θ_K − θ_{K−2}‖.
N_INFO_F = 3
#: Columns of ``info_i[t, :]``: iterations taken, stop code, number of records.
N_INFO_I = 3


@njit(cache=True, inline="always")
def _mat(buf, off, rows, cols):
    """The ``rows × cols`` row-major matrix stored in ``buf[off : off + rows·cols]`` (a view)."""
    return buf[off : off + rows * cols].reshape((rows, cols))


@njit(cache=True)
def _blas(x, y, out, accumulate):
    """``out = x @ y`` (or ``+=``) through BLAS ``dgemm``; ``x``/``y`` may be ``.T`` views."""
    if accumulate:
        out += np.dot(x, y)
    else:
        np.dot(x, y, out)


@njit(cache=True)
def _gemm_blas(a, oa, ta, b, ob, tb, out, oo, n, k, m, accumulate):
    """:func:`_gemm` for large products: BLAS on views of the flat buffers."""
    dst = _mat(out, oo, n, m)
    if ta:
        if tb:
            _blas(_mat(a, oa, k, n).T, _mat(b, ob, m, k).T, dst, accumulate)
        else:
            _blas(_mat(a, oa, k, n).T, _mat(b, ob, k, m), dst, accumulate)
    elif tb:
        _blas(_mat(a, oa, n, k), _mat(b, ob, m, k).T, dst, accumulate)
    else:
        _blas(_mat(a, oa, n, k), _mat(b, ob, k, m), dst, accumulate)


@njit(cache=True, inline="always")
def _gemm(a, oa, ta, b, ob, tb, out, oo, n, k, m, accumulate):
    """``out (n×m) = op(A) (n×k) · op(B) (k×m)`` on flat row-major buffers (``+=`` if accumulate).

    ``A`` starts at ``a[oa]`` and is stored ``n × k``, or ``k × n`` with ``op(A) = Aᵀ`` when
    ``ta``; likewise ``B`` (``k × m``, or ``m × k`` when ``tb``); ``out`` starts at
    ``out[oo]``. Small products (at most ``_LOOP_MAX_MNK`` multiply–adds) are plain loops on
    the flat buffers, inlined into the caller, with no array views (a view costs reference
    counting, which dominates for ``d ≤ 4``); larger ones call BLAS on views.
    """
    if n * k * m > _LOOP_MAX_MNK:
        _gemm_blas(a, oa, ta, b, ob, tb, out, oo, n, k, m, accumulate)
        return
    # op(A)[i, p] = a[oa + i·sa_r + p·sa_c],  op(B)[p, j] = b[ob + p·sb_r + j·sb_c]
    sa_r = 1 if ta else k
    sa_c = n if ta else 1
    sb_r = 1 if tb else m
    sb_c = k if tb else 1
    # i, j, p order: each entry is a dot product summed in a local (register) accumulator,
    # so a possible overlap of ``out`` with ``a``/``b`` does not force a store per term
    for i in range(n):
        for j in range(m):
            acc = out[oo + i * m + j] if accumulate else 0.0
            for p in range(k):
                acc += a[oa + i * sa_r + p * sa_c] * b[ob + p * sb_r + j * sb_c]
            out[oo + i * m + j] = acc


@njit(cache=True, fastmath=_FASTMATH)
def _forward(theta, widths, w_off, pre, pre_off, sigma, w_star, has_sigma, loss_ls, d_buf, g_buf):
    """Prefix products ``P_j = W_j P_{j-1}``, residual ``D = W − W*``, ``G``; return ``ℓ``.

    Fills ``pre`` (all ``P_j``), ``d_buf`` (``D``) and ``g_buf`` (``G``). See the module
    docstring for the loss identity.
    """
    n_layers = widths.shape[0] - 1
    d0 = widths[0]
    # P_1 = W_1
    pre[pre_off[0] : pre_off[0] + widths[1] * d0] = theta[w_off[0] : w_off[0] + widths[1] * d0]
    for i in range(1, n_layers):
        # P_{i+1} = W_{i+1} P_i   (0-based layer i is W_{i+1})
        rows = widths[i + 1]
        cols = widths[i]
        _gemm(
            theta,
            w_off[i],
            False,
            pre,
            pre_off[i - 1],
            False,
            pre,
            pre_off[i],
            rows,
            cols,
            d0,
            False,
        )
    dl = widths[n_layers]
    size = dl * d0
    w_end = pre_off[n_layers - 1]
    # D = W − W*
    for q in range(size):
        d_buf[q] = pre[w_end + q] - w_star[q]
    total = 0.0
    if has_sigma:
        # G = DΣ ;  ℓ = ℓ_ls + ½⟨G, D⟩ = ℓ_ls + ½ tr(DΣDᵀ)
        _gemm(d_buf, 0, False, sigma, 0, False, g_buf, 0, dl, d0, d0, False)
        for q in range(size):
            total += g_buf[q] * d_buf[q]
        return loss_ls + 0.5 * total
    # G = D ;  ℓ = ½‖D‖_F²
    for q in range(size):
        g_buf[q] = d_buf[q]
        total += d_buf[q] * d_buf[q]
    return 0.5 * total


@njit(cache=True, fastmath=_FASTMATH)
def _backward_step(theta, theta_next, eta, widths, w_off, pre, pre_off, g_buf, a_buf):
    """Write ``θ_next = θ − η ∇ℓ(θ)`` and return ``‖∇ℓ(θ)‖_F²`` (all layers together).

    Backward recursion ``A_L = G``, ``∇_{W_j} = A_j P_{j-1}ᵀ``, ``A_{j-1} = W_jᵀ A_j``; the
    gradient of each layer is written straight into its slot of ``θ_next`` and turned into
    the update there, so no gradient buffer is needed. ``a_buf`` is scratch of size
    ``2 · max_j d_j · d_0`` holding ``A_j`` and ``A_{j-1}`` (ping-pong by offset).
    """
    n_layers = widths.shape[0] - 1
    d0 = widths[0]
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
                theta_next[off + q] = a_buf[cur + q]
        else:
            # ∇_{W_j} = A_j P_{j-1}ᵀ
            _gemm(
                a_buf, cur, False, pre, pre_off[i - 1], True, theta_next, off, rows, d0, cols, False
            )
        for q in range(off, off + n):
            g = theta_next[q]
            gsq += g * g
            # W_j ← W_j − η ∇_{W_j}
            theta_next[q] = theta[q] - eta * g
        if i > 0:
            # A_{j-1} = W_jᵀ A_j
            _gemm(theta, off, True, a_buf, cur, False, a_buf, nxt, cols, rows, d0, False)
            cur, nxt = nxt, cur
    return gsq


@njit(cache=True, fastmath=_FASTMATH)
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
    dpre[pre_off[0] : pre_off[0] + widths[1] * d0] = v[w_off[0] : w_off[0] + widths[1] * d0]
    for i in range(1, n_layers):
        rows = widths[i + 1]
        cols = widths[i]
        off = w_off[i]
        src = pre_off[i - 1]
        dst = pre_off[i]
        # dP_j = V_j P_{j-1} + W_j dP_{j-1}
        _gemm(v, off, False, pre, src, False, dpre, dst, rows, cols, d0, False)
        _gemm(theta, off, False, dpre, src, False, dpre, dst, rows, cols, d0, True)
    a_cur = bufs[0]
    a_nxt = bufs[1]
    da_cur = bufs[2]
    da_nxt = bufs[3]
    size = dl * d0
    a_cur[:size] = g_buf[:size]
    if has_sigma:
        # dG = dW Σ
        _gemm(dpre, pre_off[n_layers - 1], False, sigma, 0, False, da_cur, 0, dl, d0, d0, False)
    else:
        da_cur[:size] = dpre[pre_off[n_layers - 1] : pre_off[n_layers - 1] + size]
    for i in range(n_layers - 1, -1, -1):
        rows = widths[i + 1]
        cols = widths[i]
        off = w_off[i]
        if i == 0:
            out[off : off + rows * cols] = da_cur[: rows * cols]
        else:
            src = pre_off[i - 1]
            # d∇_{W_j} = dA_j P_{j-1}ᵀ + A_j dP_{j-1}ᵀ
            _gemm(da_cur, 0, False, pre, src, True, out, off, rows, d0, cols, False)
            _gemm(a_cur, 0, False, dpre, src, True, out, off, rows, d0, cols, True)
            # dA_{j-1} = V_jᵀ A_j + W_jᵀ dA_j ;  A_{j-1} = W_jᵀ A_j
            _gemm(v, off, True, a_cur, 0, False, da_nxt, 0, cols, rows, d0, False)
            _gemm(theta, off, True, da_cur, 0, False, da_nxt, 0, cols, rows, d0, True)
            _gemm(theta, off, True, a_cur, 0, False, a_nxt, 0, cols, rows, d0, False)
            a_cur, a_nxt = a_nxt, a_cur
            da_cur, da_nxt = da_nxt, da_cur


@njit(cache=True)
def _start_vector(v):
    """A fixed, generic unit start vector for power iteration (deterministic run to run)."""
    total = 0.0
    for q in range(v.shape[0]):
        # fractional part of q·(golden ratio), centred: equidistributed, no zero pattern
        x = (q + 1) * 0.6180339887498949
        v[q] = x - math.floor(x) - 0.5
        total += v[q] * v[q]
    scale = 1.0 / math.sqrt(total)
    for q in range(v.shape[0]):
        v[q] *= scale


@njit(cache=True)
def _power_top(
    theta, v, hv, shift, n_iter, widths, w_off, pre, pre_off, sigma, has_sigma, g_buf, dpre, bufs
):
    """Rayleigh quotient after ``n_iter`` power iterations on ``∇²ℓ(θ) + shift·I`` (from ``v``).

    ``v`` (unit norm on entry) is left as the last iterate, a warm start for the next call.
    """
    mu = 0.0
    for _ in range(n_iter):
        _hvp(theta, v, hv, widths, w_off, pre, pre_off, sigma, has_sigma, g_buf, dpre, bufs)
        mu = 0.0
        nrm = 0.0
        for q in range(v.shape[0]):
            hq = hv[q] + shift * v[q]
            hv[q] = hq
            mu += v[q] * hq
            nrm += hq * hq
        nrm = math.sqrt(nrm)
        if nrm == 0.0 or not math.isfinite(nrm):
            break
        for q in range(v.shape[0]):
            v[q] = hv[q] / nrm
    return mu


@njit(cache=True)
def _sharpness(
    theta, v, hv, n_iter, widths, w_off, pre, pre_off, sigma, has_sigma, g_buf, dpre, bufs
):
    """Estimate of ``λ_max(∇²ℓ(θ))`` by power iteration with Hessian–vector products.

    Power iteration finds the eigenvalue of largest modulus, ``μ``. If ``μ < 0`` the
    Hessian's most negative eigenvalue dominates; then iterate on ``H + |μ|I``, whose
    spectrum lies in ``[≈0, λ_max + |μ|]``, and subtract the shift. The Rayleigh quotient
    never exceeds ``λ_max``: with few iterations this is a slight under-estimate.
    """
    mu = _power_top(
        theta, v, hv, 0.0, n_iter, widths, w_off, pre, pre_off, sigma, has_sigma, g_buf, dpre, bufs
    )
    if mu >= 0.0:
        return mu
    shift = -mu
    _start_vector(hv)
    v[:] = hv
    top = _power_top(
        theta,
        v,
        hv,
        shift,
        n_iter,
        widths,
        w_off,
        pre,
        pre_off,
        sigma,
        has_sigma,
        g_buf,
        dpre,
        bufs,
    )
    return top - shift


@njit(cache=True)
def _balancedness(theta, widths, w_off, per_layer):
    """``b(W⃗) = max_j ‖W_{j+1}ᵀW_{j+1} − W_jW_jᵀ‖`` (exact spectral norm, by ``eigvalsh``).

    Nguegnang, Rauhut & Terstiege (2021), eq. (2.7). 0 for ``L = 1``. When ``per_layer``
    has ``L − 1`` entries, each invariant's norm ``‖D_j‖`` is written there too.
    """
    n_layers = widths.shape[0] - 1
    worst = 0.0
    for i in range(n_layers - 1):
        mid = widths[i + 1]
        w_lo = _mat(theta, w_off[i], mid, widths[i])
        w_hi = _mat(theta, w_off[i + 1], widths[i + 2], mid)
        # M = W_{j+1}ᵀW_{j+1} − W_jW_jᵀ   (mid × mid, symmetric)
        m = np.dot(w_hi.T, w_hi) - np.dot(w_lo, w_lo.T)
        lam = np.linalg.eigvalsh(m)
        # ‖M‖ = max(|λ_min|, |λ_max|) for symmetric M
        val = max(abs(lam[0]), abs(lam[mid - 1]))
        if per_layer.shape[0] > i:
            per_layer[i] = val
        if val > worst:
            worst = val
    return worst


@njit(cache=True, inline="always")
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


@njit(cache=True)
def _finish(ring, k, loss, stop, n_rec, info_f, info_i):
    """Write a finished trajectory's summary: the final loss, ‖θ_K − θ_{K−1}‖ and
    ‖θ_K − θ_{K−2}‖ from the ring of four iterates (period-2 detection; NaN when fewer
    than 1 resp. 2 steps were taken), the step count, stop code and number of records."""
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
    info_f[0] = loss
    info_f[1] = step_last
    info_f[2] = step_two
    info_i[0] = k
    info_i[1] = stop
    info_i[2] = n_rec


@njit(cache=True)
def _gd_target(
    theta0, a1, a2, gamma, widths, w_off, pre_off, sigma, w_star, has_sigma, loss_ls,
    max_iter, loss_target, div_factor, record_every, track_bal, track_sharp, sharp_iters,
    theta_out, rec_step, rec_vals, rec_inv, info_f, info_i,
):  # fmt: skip
    """Run GD on one trajectory from ``theta0`` until it reaches the target loss, diverges,
    or uses up ``max_iter`` steps.

    Step sizes ``η_k = min(a1, a2 / (k+1)^γ)`` (Nguegnang et al. eq. 5.2; a constant step is
    ``a2 = inf``). Iteration ``k`` evaluates ``ℓ(θ_k)`` and ``∇ℓ(θ_k)`` in one pass, then
    stops with ``K = k`` if ``ℓ − loss_target ≤ 0`` (target), ``ℓ`` is not finite or
    ``ℓ > div_factor · ℓ(θ_0)`` (diverged), or ``k = max_iter`` (budget); otherwise it records
    when ``k % record_every == 0`` and steps ``θ_{k+1} = θ_k − η_k ∇ℓ(θ_k)``. The stopping
    point ``θ_K`` is always recorded. ``θ_{K−2}, θ_{K−1}, θ_K`` (and the discarded
    ``θ_{K+1}``, written before the stop is decided) are kept in a ring of four buffers for
    the period-2 check ``‖θ_K − θ_{K−1}‖``, ``‖θ_K − θ_{K−2}‖`` (NaN if ``K``
    is too small).

    Outputs (preallocated by the caller): ``theta_out`` (``θ_K``), ``rec_step``/``rec_vals``
    (records), ``rec_inv`` (per-record ``‖D_j‖``, j = 1..L−1, when it has L − 1 columns and
    balancedness is tracked; 0 columns otherwise), ``info_f`` (final loss and the two step
    norms), ``info_i`` (``K``, stop code, number of records).
    """
    n_params = theta0.shape[0]
    n_layers = widths.shape[0] - 1
    d0 = widths[0]
    dl = widths[n_layers]
    max_rows = 0
    for i in range(1, n_layers + 1):
        max_rows = max(max_rows, widths[i])
    ring = np.empty((4, n_params))
    ring[0, :] = theta0
    pre = np.empty(pre_off[n_layers])
    d_buf = np.empty(dl * d0)
    g_buf = np.empty(dl * d0)
    a_buf = np.empty(2 * max_rows * d0)
    n_hvp = n_params if track_sharp else 0
    v = np.empty(n_hvp)
    hv = np.empty(n_hvp)
    dpre = np.empty(pre_off[n_layers] if track_sharp else 0)
    bufs = np.empty((5, max_rows * d0 if track_sharp else 0))
    if track_sharp:
        _start_vector(v)
    max_records = rec_step.shape[0]

    loss0 = 0.0
    loss = 0.0
    n_rec = 0
    k = 0
    stop = STOP_BUDGET
    while True:
        cur = ring[k % 4]
        nxt = ring[(k + 1) % 4]
        loss = _forward(
            cur, widths, w_off, pre, pre_off, sigma, w_star, has_sigma, loss_ls, d_buf, g_buf
        )
        if k == 0:
            loss0 = loss
        eta = a1
        if gamma == 0.0:
            eta = min(a1, a2)
        else:
            # η_k = min(a1, a2 / (k+1)^γ)
            eta = min(a1, a2 / (k + 1.0) ** gamma)
        gsq = _backward_step(cur, nxt, eta, widths, w_off, pre, pre_off, g_buf, a_buf)
        code = _stop_code(loss, loss0, loss_target, div_factor, k, max_iter)
        stopping = code >= 0
        if stopping:
            stop = code
        if (stopping or k % record_every == 0) and n_rec < max_records:
            rec_step[n_rec] = k
            rec_vals[n_rec, REC_LOSS] = loss
            rec_vals[n_rec, REC_GRAD] = math.sqrt(gsq)
            rec_vals[n_rec, REC_BAL] = math.nan
            rec_vals[n_rec, REC_SHARP] = math.nan
            if math.isfinite(loss):
                if track_bal:
                    rec_vals[n_rec, REC_BAL] = _balancedness(cur, widths, w_off,
                                                             rec_inv[n_rec])
                if track_sharp:
                    rec_vals[n_rec, REC_SHARP] = _sharpness(
                        cur, v, hv, sharp_iters, widths, w_off, pre, pre_off, sigma,
                        has_sigma, g_buf, dpre, bufs,
                    )  # fmt: skip
            n_rec += 1
        if stopping:
            break
        k += 1

    theta_out[:] = ring[k % 4]
    _finish(ring, k, loss, stop, n_rec, info_f, info_i)


@njit(cache=True, parallel=True)
def _gd_batch_parallel(
    theta0, a1, a2, gamma, widths, w_off, pre_off, sigma, w_star, has_sigma, loss_ls,
    max_iter, loss_target, div_factor, record_every, track_bal, track_sharp, sharp_iters,
    theta_out, rec_step, rec_vals, rec_inv, info_f, info_i,
):  # fmt: skip
    """:func:`_gd_target` for ``T`` trajectories (rows of ``theta0``), in parallel (``prange``)."""
    for t in prange(theta0.shape[0]):
        _gd_target(
            theta0[t], a1[t], a2[t], gamma[t], widths, w_off, pre_off, sigma, w_star,
            has_sigma, loss_ls, max_iter, loss_target, div_factor, record_every, track_bal,
            track_sharp, sharp_iters, theta_out[t], rec_step[t], rec_vals[t], rec_inv[t],
            info_f[t], info_i[t],
        )  # fmt: skip


@njit(cache=True)
def _gd_batch_serial(
    theta0, a1, a2, gamma, widths, w_off, pre_off, sigma, w_star, has_sigma, loss_ls,
    max_iter, loss_target, div_factor, record_every, track_bal, track_sharp, sharp_iters,
    theta_out, rec_step, rec_vals, rec_inv, info_f, info_i,
):  # fmt: skip
    """:func:`_gd_target` for ``T`` trajectories one after another (no thread pool)."""
    for t in range(theta0.shape[0]):
        _gd_target(
            theta0[t], a1[t], a2[t], gamma[t], widths, w_off, pre_off, sigma, w_star,
            has_sigma, loss_ls, max_iter, loss_target, div_factor, record_every, track_bal,
            track_sharp, sharp_iters, theta_out[t], rec_step[t], rec_vals[t], rec_inv[t],
            info_f[t], info_i[t],
        )  # fmt: skip


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


@njit(cache=True, fastmath=_FASTMATH)
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


@njit(cache=True)
def _relu_gd(
    theta0, eta, m, r, n, x, y, b, c, max_iter, loss_target, div_factor, record_every,
    theta_out, theta_prev, rec_step, rec_vals, info_f, info_i,
):  # fmt: skip
    """Full-batch GD on the two-layer ReLU loss from ``theta0`` with the constant step ``eta``.

    The stopping rules, records and period-2 step norms are those of :func:`_gd_target`:
    iteration ``k`` evaluates ``ℓ(θ_k)`` and ``∇ℓ(θ_k)``, stops with ``K = k`` on the
    target (``ℓ − loss_target ≤ 0``), divergence (``ℓ`` not finite or ``> div_factor ·
    ℓ(θ_0)``) or the budget (``k = max_iter``), records when ``k % record_every == 0`` (and
    at the stop), else steps ``θ_{k+1} = θ_k − η ∇ℓ(θ_k)``. Outputs: ``theta_out`` (``θ_K``),
    ``theta_prev`` (``θ_{K−1}``, NaN if ``K = 0``), records (loss, ``‖∇ℓ‖``), ``info_f``
    (final loss, ``‖θ_K − θ_{K−1}‖``, ``‖θ_K − θ_{K−2}‖``), ``info_i`` (``K``, stop code,
    number of records).
    """
    n_params = theta0.shape[0]
    ring = np.empty((4, n_params))
    ring[0, :] = theta0
    grad = np.empty(n_params)
    h = np.empty(r)
    dlt = np.empty(r)
    res = np.empty(m)
    max_records = rec_step.shape[0]
    loss0 = 0.0
    loss = 0.0
    n_rec = 0
    k = 0
    stop = STOP_BUDGET
    while True:
        cur = ring[k % 4]
        nxt = ring[(k + 1) % 4]
        loss = _relu_loss_grad(cur, grad, m, r, n, x, y, b, c, h, dlt, res)
        if k == 0:
            loss0 = loss
        gsq = 0.0
        for q in range(n_params):
            g = grad[q]
            gsq += g * g
            # θ_{k+1} = θ_k − η ∇ℓ(θ_k)
            nxt[q] = cur[q] - eta * g
        code = _stop_code(loss, loss0, loss_target, div_factor, k, max_iter)
        stopping = code >= 0
        if stopping:
            stop = code
        if (stopping or k % record_every == 0) and n_rec < max_records:
            rec_step[n_rec] = k
            rec_vals[n_rec, RELU_REC_LOSS] = loss
            rec_vals[n_rec, RELU_REC_GRAD] = math.sqrt(gsq)
            n_rec += 1
        if stopping:
            break
        k += 1

    theta_out[:] = ring[k % 4]
    if k >= 1:
        theta_prev[:] = ring[(k - 1) % 4]
    else:
        theta_prev[:] = math.nan
    _finish(ring, k, loss, stop, n_rec, info_f, info_i)


@njit(cache=True, parallel=True)
def _relu_batch_parallel(
    theta0, eta, m, r, n, x, y, b, c, max_iter, loss_target, div_factor, record_every,
    theta_out, theta_prev, rec_step, rec_vals, info_f, info_i,
):  # fmt: skip
    """:func:`_relu_gd` for ``T`` trajectories in parallel (``prange``).

    Row ``t`` of ``theta0``, ``eta``, ``b`` (``T × r``), ``y`` (``T × m × N``) and
    ``loss_target`` belongs to trajectory ``t``; ``x`` is shared.
    """
    for t in prange(theta0.shape[0]):
        _relu_gd(
            theta0[t], eta[t], m, r, n, x, y[t], b[t], c, max_iter, loss_target[t],
            div_factor, record_every, theta_out[t], theta_prev[t], rec_step[t], rec_vals[t],
            info_f[t], info_i[t],
        )  # fmt: skip


@njit(cache=True)
def _relu_batch_serial(
    theta0, eta, m, r, n, x, y, b, c, max_iter, loss_target, div_factor, record_every,
    theta_out, theta_prev, rec_step, rec_vals, info_f, info_i,
):  # fmt: skip
    """:func:`_relu_gd` for ``T`` trajectories one after another (no thread pool)."""
    for t in range(theta0.shape[0]):
        _relu_gd(
            theta0[t], eta[t], m, r, n, x, y[t], b[t], c, max_iter, loss_target[t],
            div_factor, record_every, theta_out[t], theta_prev[t], rec_step[t], rec_vals[t],
            info_f[t], info_i[t],
        )  # fmt: skip
