"""Small numerical helpers shared by the bounds (numpy; scipy only where needed).

Extremal singular values and eigenvalues use one values-only LAPACK call where that is
cheap (it then also gives the rank and the whole spectrum) and block Lanczos with a
residual stopping rule above (:func:`block_lanczos`); no ARPACK, no scipy.sparse.
Large matrices are processed in row slices where a full temporary would double the
memory.
"""

from __future__ import annotations

import ctypes
import math
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

#: ``top_singular`` (values *and* vectors) uses a dense SVD up to this min(shape).
DENSE_LIMIT = 300
#: Up to this min(shape) one values-only SVD gives ρ, the rank and every singular value
#: at once (LAPACK ``gesdd``; 0.2 s at n = 1000). Its bidiagonalisation is memory-bound,
#: so above it (≈ 50 s at n = 4000) the extreme values come from block Lanczos.
SVD_DENSE_LIMIT = 1000
#: Up to this order one values-only symmetric eigensolve gives λ_min, λ_max, ρ and the
#: full spectrum (LAPACK ``syevd``; ≈ 2 s at n = 4000 on 2 cores). Above it, block
#: Lanczos; λ_min of a positive definite matrix near a hard edge can defeat Lanczos, so a
#: Krylov run that does not converge falls back to the dense solver.
EIG_DENSE_LIMIT = 4096
#: From this order on the values-only eigensolve uses LAPACK's two-stage reduction
#: (``dsyevd_2stage``; see :func:`eigvalsh_values`).
EIG_TWO_STAGE_MIN = 2000
#: Relative residual ‖Av − θv‖ ≤ KRYLOV_TOL·|θ| ends a Krylov run (the eigenvalue error is
#: then ≲ KRYLOV_TOL²·|θ|²/gap, far below the 1e-12 the bounds are pinned to).
KRYLOV_TOL = 1e-10
#: Block size and largest basis of the block Lanczos runs (the basis is also capped at
#: n/4 vectors, so the basis, its image and the projection stay below ~0.6 × the matrix).
KRYLOV_BLOCK = 16
KRYLOV_MAX_DIM = 1024
#: The Gram products of matrices at least this large (bytes) are split over Python threads,
#: at most GRAM_MAX_WORKERS and at most as many as OpenBLAS may use.
GRAM_PARALLEL_MIN = 2**24
GRAM_MAX_WORKERS = 4
#: Rows per block when a large matrix is processed in slices (keeps temporaries small).
ROW_BLOCK_BYTES = 2**20

LOG10_E = math.log10(math.e)


def log10_or_inf(x: float) -> float:
    """``log10(x)`` with ``log10(0) = -inf`` and no warning."""
    if x == 0.0:
        return -math.inf
    if math.isinf(x):
        return math.inf
    return math.log10(x)


def pow10(log10_value: float) -> float:
    """``10**x`` that returns ``inf``/``0.0`` instead of raising on over/underflow."""
    if math.isnan(log10_value):
        return math.nan
    if log10_value > 308.25:
        return math.inf
    if log10_value < -330:
        return 0.0
    return float(10.0**log10_value)


def _row_step(a: np.ndarray) -> int:
    """Rows per slice of ``a`` so that a slice is about ROW_BLOCK_BYTES."""
    return max(1, ROW_BLOCK_BYTES // max(1, 8 * a.shape[1]))


def diff_norm_sq(a: np.ndarray, b: np.ndarray) -> float:
    """‖A − B‖_F² without an m×n temporary: row slices above ROW_BLOCK_BYTES."""
    if a.nbytes <= ROW_BLOCK_BYTES:
        return float(np.linalg.norm(a - b) ** 2)
    step = _row_step(a)
    total = 0.0
    for i in range(0, a.shape[0], step):
        d = a[i:i + step] - b[i:i + step]
        total += float(np.einsum("ij,ij->", d, d))
    return total


def asymmetry_norm(a: np.ndarray) -> float:
    """‖A − Aᵀ‖_F of a square matrix, without an n×n temporary when A is large."""
    if a.nbytes <= ROW_BLOCK_BYTES:
        return float(np.linalg.norm(a - a.T))
    return math.sqrt(diff_norm_sq(a, a.T))


def symmetric_part(a: np.ndarray) -> np.ndarray:
    """½(A + Aᵀ), one n×n array (built in row slices, no second temporary)."""
    if a.nbytes <= ROW_BLOCK_BYTES:
        return 0.5 * (a + a.T)
    out = np.empty_like(a)
    step = _row_step(a)
    for i in range(0, a.shape[0], step):
        np.add(a[i:i + step], a.T[i:i + step], out=out[i:i + step])
        out[i:i + step] *= 0.5
    return out


_TWO_STAGE: list[Any] = []


def _syevd_2stage() -> Any:
    """LAPACKE ``dsyevd_2stage`` of the OpenBLAS that scipy (or numpy) bundles, via ctypes,
    as ``(function, int type)``; None where no loaded library exports it."""
    if _TWO_STAGE:
        return _TWO_STAGE[0]
    import scipy.linalg  # noqa: F401  (loads scipy's OpenBLAS)

    found = None
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = sorted({line.split()[-1] for line in fh if "openblas" in line})
    except OSError:
        paths = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0))
        except OSError:
            continue
        for name, int_t in (("scipy_LAPACKE_dsyevd_2stage", ctypes.c_int32),
                            ("scipy_LAPACKE_dsyevd_2stage64_", ctypes.c_int64),
                            ("LAPACKE_dsyevd_2stage", ctypes.c_int32)):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = ctypes.c_int
                fn.argtypes = [ctypes.c_int, ctypes.c_char, ctypes.c_char, int_t,
                               ctypes.c_void_p, int_t, ctypes.c_void_p]
                found = fn
                break
        if found is not None:
            break
    _TWO_STAGE.append(found)
    return found


def eigvalsh_values(s: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
    """All eigenvalues (ascending) of a symmetric matrix, values only.

    Small matrices use numpy; above DENSE_LIMIT LAPACK ``syevd`` through scipy, so that
    with ``overwrite=True`` the solver works in ``s`` itself (``s`` is symmetric, so its
    C layout is a Fortran layout of the same matrix) instead of in a copy. From
    EIG_TWO_STAGE_MIN on, the two-stage reduction (``dsyevd_2stage``: dense → band by
    level-3 BLAS, band → tridiagonal by bulge chasing; values only) of the OpenBLAS
    scipy bundles, called through ctypes: at n = 4000 it beat ``syevd``'s memory-bound
    one-stage reduction 3.6× with two BLAS threads and 1.4× with one (single runs on a
    loaded 2-core machine; about equal at n = 1000–2000). ``syevd`` where the routine
    is not found.
    """
    n = s.shape[0]
    if n <= DENSE_LIMIT:
        return np.linalg.eigvalsh(s)
    if n >= EIG_TWO_STAGE_MIN:
        fn = _syevd_2stage()
        if fn is not None:
            a = s if (overwrite and s.dtype == np.float64 and s.flags.writeable
                      and (s.flags.c_contiguous or s.flags.f_contiguous)) \
                else np.array(s, dtype=np.float64, order="F")
            w = np.empty(n)
            info = fn(102, b"N", b"L", n, a.ctypes.data, n, w.ctypes.data)  # column-major
            if info == 0:
                return w
            if overwrite and a is s:  # pragma: no cover - s was destroyed: cannot retry
                raise np.linalg.LinAlgError(f"LAPACK dsyevd_2stage failed (info = {info})")
    from scipy.linalg import eigvalsh

    # sᵀ is an F-contiguous view of the same (symmetric) matrix: no copy is needed.
    return np.asarray(eigvalsh(s.T, overwrite_a=overwrite, check_finite=False, driver="evd"))


def svd_values(a: np.ndarray) -> np.ndarray:
    """All singular values (descending), values only (LAPACK ``gesdd``)."""
    return np.linalg.svd(a, compute_uv=False)


_THREAD_APIS: dict[str, tuple[Any, Any]] = {}
#: The APIs once both bundled OpenBLAS libraries (numpy's and scipy's) are loaded: reading
#: ``/proc/self/maps`` again costs ≈ 1 ms, paid on every :func:`blas_threads`.
_ALL_APIS: list[tuple[Any, Any]] = []


def _openblas_apis() -> list[tuple[Any, Any]]:
    """``(get_num_threads, set_num_threads)`` of every OpenBLAS loaded in this process.

    numpy and scipy each bundle one (``libscipy_openblas64_`` and ``libscipy_openblas``).
    Found in ``/proc/self/maps`` and driven through ctypes: threadpoolctl is not a
    dependency. Empty where there is no ``/proc`` or no OpenBLAS (nothing is capped). Once
    two are found the list is kept (no more maps reads).
    """
    if len(_ALL_APIS) >= 2:  # numpy's and scipy's both found: nothing more to load
        return list(_ALL_APIS)
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line}
    except OSError:
        return []
    for path in paths - _THREAD_APIS.keys():
        api: tuple[Any, Any] = (None, None)
        try:
            lib = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0))
            for suffix in ("64_", ""):
                get = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None)
                put = getattr(lib, f"scipy_openblas_set_num_threads{suffix}", None)
                if get is None or put is None:
                    get = getattr(lib, f"openblas_get_num_threads{suffix}", None)
                    put = getattr(lib, f"openblas_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    get.restype = ctypes.c_int
                    put.argtypes = [ctypes.c_int]
                    api = (get, put)
                    break
        except OSError:
            pass
        _THREAD_APIS[path] = api
    found = [a for p, a in _THREAD_APIS.items() if p in paths and a[0] is not None]
    if len(found) >= 2:
        _ALL_APIS[:] = found
    return found


@contextmanager
def blas_threads(n: int, apis: list[tuple[Any, Any]] | None = None) -> Iterator[None]:
    """Run the block with at most ``n`` OpenBLAS threads (restored afterwards).

    For the many small products of a Krylov run (n×16 blocks, k×k projections): with
    two threads on a busy 2-core machine each small call pays for thread hand-off and
    spinning more than for its arithmetic. ``apis``: from :func:`_openblas_apis`, to
    skip the look-up in a loop.
    """
    apis = _openblas_apis() if apis is None else apis
    before = [get() for get, _ in apis]
    for (_, put), b in zip(apis, before, strict=True):
        if b > n:
            put(n)
    try:
        yield
    finally:
        for (_, put), b in zip(apis, before, strict=True):
            put(b)


class KrylovNoConvergence(RuntimeError):
    """A block Lanczos run reached its largest basis before the residual test passed."""


def block_lanczos(matmat: Callable[[np.ndarray], np.ndarray], n: int, *,
                  ends: tuple[str, ...] = ("max",), tol: float = KRYLOV_TOL,
                  block: int = KRYLOV_BLOCK, max_dim: int | None = None,
                  seed: int = 0) -> dict[str, tuple[float, np.ndarray]]:
    """Extreme eigenpairs of a symmetric operator given by ``matmat(X) = A X`` (X: n×b).

    Block Lanczos with full reorthogonalisation: the basis ``V`` is kept, the projection
    ``T = VᵀAV`` eigen-solved, and the Ritz pair (θ, y = Vz) at each requested end
    (``"min"``, ``"max"``) accepted when ``‖Ay − θy‖ ≤ tol·|θ|`` (or ≤ 1e-13·max|θ_i|,
    the rounding floor of a dense solver). The residual needs no product with A: for a
    Krylov basis ``AV − VT = W E_kᵀ``, with ``W`` the newest block's image made
    orthogonal to ``V``, so ``‖Ay − θy‖ = ‖W z_k‖`` (z_k: z's last block).
    One product with a block of ``block`` vectors reads A once — about the cost of one
    matrix–vector product — while the Krylov space grows ``block`` times faster.
    Returns ``{end: (θ, y)}``. Raises :class:`KrylovNoConvergence` when the basis reaches
    ``max_dim`` (default: KRYLOV_MAX_DIM, and at most n/3 vectors — beyond that a dense
    solver is the better choice).
    """
    rng = np.random.default_rng(seed)
    block = max(1, min(block, n))
    if max_dim is None:
        max_dim = min(KRYLOV_MAX_DIM, max(n // 3, 4 * block))
    max_dim = min(max_dim, n)
    # Fortran order: the basis V[:, :k] is one contiguous block for BLAS
    v_all = np.empty((n, max_dim), order="F")
    t = np.zeros((max_dim, max_dim))
    apis = _openblas_apis()
    with blas_threads(1, apis):
        v_all[:, :block] = np.linalg.qr(rng.standard_normal((n, block)))[0]
    k, next_check = 0, 0
    while True:
        # the one large product per step runs with every BLAS thread
        w = np.asarray(matmat(v_all[:, k:k + block]), dtype=np.float64)
        with blas_threads(1, apis):
            k += block
            # h = V_kᵀ A v_new: the new column of T and the first Gram–Schmidt coefficients
            h = v_all[:, :k].T @ w
            t[:k, k - block:k] = h
            t[k - block:k, :k - block] = h[:k - block].T
            w -= v_all[:, :k] @ h
            w -= v_all[:, :k] @ (v_all[:, :k].T @ w)  # second pass (CGS2)
            done = k >= n
            full = done or k + min(block, n - k) > max_dim
            # eigensolve the k×k projection at every step while it is small, then each
            # time the basis has grown by a quarter (the eigensolve is O(k³))
            if full or k >= next_check:
                next_check = k + max(block, k // 4) if k > 128 else k
                res = _ritz(v_all[:, :k], t[:k, :k], w, block, ends, tol, exact=done)
                if res is not None:
                    return res
                if full:
                    raise KrylovNoConvergence(f"block Lanczos: no convergence within a basis "
                                              f"of {k} vectors (n = {n})")
            nb = min(block, n - k)
            v_all[:, k:k + nb] = _next_block(w[:, :nb], v_all[:, :k], rng)
            block = nb


def _next_block(w: np.ndarray, basis: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Orthonormal columns spanning ``w`` (already orthogonal to ``basis``).

    Columns that vanish (the Krylov space became invariant) are replaced by random
    directions orthogonal to ``basis``, so the block keeps its width.
    """
    norms = np.linalg.norm(w, axis=0)
    bad = norms <= 1e-10 * max(float(norms.max(initial=0.0)), 1e-300)
    if np.any(bad):
        w = w.copy()
        w[:, bad] = rng.standard_normal((w.shape[0], int(bad.sum())))
        for _ in range(2):
            w -= basis @ (basis.T @ w)
    return np.asarray(np.linalg.qr(w)[0])


def _ritz(v: np.ndarray, t: np.ndarray, w: np.ndarray, block: int, ends: tuple[str, ...],
          tol: float, *, exact: bool) -> dict[str, tuple[float, np.ndarray]] | None:
    """Ritz pairs at the requested ends if every one passes the residual test, else None.

    ``w``: the last block's image orthogonalised against the basis (the residual is
    ``w z_k``). ``exact``: the basis spans the whole space (the projection is exact).
    """
    theta, z = np.linalg.eigh(0.5 * (t + t.T))
    floor = 1e-13 * float(np.max(np.abs(theta)))
    out: dict[str, tuple[float, np.ndarray]] = {}
    for end in ends:
        i = 0 if end == "min" else -1
        r = float(np.linalg.norm(w @ z[-block:, i]))
        if exact or r <= max(tol * abs(float(theta[i])), floor):
            out[end] = (float(theta[i]), v @ z[:, i])
    return out if len(out) == len(ends) else None


def top_singular(a: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Largest singular value σ_max(A) with its left/right singular vectors (u, v)."""
    if min(a.shape) <= DENSE_LIMIT:
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        return float(s[0]), u[:, 0].copy(), vt[0].copy()
    lam, v = _top_gram(a)
    sigma = math.sqrt(max(lam, 0.0))
    if a.shape[1] <= a.shape[0]:  # v is a right singular vector
        v = v / np.linalg.norm(v)
        u = a @ v
        return sigma, u / max(float(np.linalg.norm(u)), 1e-300), v
    u = v / np.linalg.norm(v)
    v = a.T @ u
    return sigma, u, v / max(float(np.linalg.norm(v)), 1e-300)


_POOL: Any = None


def _pool(workers: int) -> Any:
    """A process-wide thread pool for the slab products (created on first use)."""
    global _POOL
    if _POOL is None or _POOL._max_workers < max(1, workers):
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="gdcert-gram")
    return _POOL


def _blas_width(apis: list[tuple[Any, Any]]) -> int:
    """How many threads OpenBLAS would use (the most of the loaded libraries; 1 without)."""
    return max([get() for get, _ in apis] or [1])


def parallel_width() -> int:
    """How many Python threads :func:`run_threads` callers should split work over: as many
    as OpenBLAS may use (``OPENBLAS_NUM_THREADS``), at most GRAM_MAX_WORKERS."""
    return max(1, min(_blas_width(_openblas_apis()), GRAM_MAX_WORKERS))


def run_threads(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run the calls at once on Python threads (the first in this one), every BLAS call in
    them on one OpenBLAS thread; their results, in order.

    For LAPACK work made of many thin products (Householder panels): two independent
    factorisations on one BLAS thread each keep two cores busy without the per-call
    thread hand-off that makes a two-thread OpenBLAS crawl on a shared machine.
    """
    apis = _openblas_apis()
    with blas_threads(1, apis):
        futures = [_pool(len(calls) - 1).submit(c) for c in calls[1:]]
        first = calls[0]()
        return [first, *[f.result() for f in futures]]


def gram_matmat(a: np.ndarray) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    """``X ↦ AᵀA X`` (or ``AAᵀX`` for a wide A: the smaller Gram matrix) and its order.

    One pass over A: ``AᵀA X = Σ_i R_iᵀ(R_i X)`` over slabs R_i of about 2 MB, each used
    twice while it is in cache — a third faster than ``Aᵀ(AX)``, which reads A twice.
    The slab products are small, so each runs on one BLAS thread; with OpenBLAS allowed
    t > 1 threads and A above GRAM_PARALLEL_MIN bytes, t Python threads (numpy releases
    the GIL) each sum the slabs of a contiguous share of the rows, and the t partial
    sums are added in a fixed order (the same numbers on every call).
    """
    m = a if a.shape[1] <= a.shape[0] else a.T
    rows = max(16, 2**21 // (8 * m.shape[1]))
    apis = _openblas_apis()
    starts = list(range(0, m.shape[0], rows))
    workers = min(_blas_width(apis), GRAM_MAX_WORKERS, len(starts))
    if m.nbytes < GRAM_PARALLEL_MIN:
        workers = 1
    shares = [starts[k * len(starts) // workers:(k + 1) * len(starts) // workers]
              for k in range(workers)]

    def part(x: np.ndarray, share: list[int]) -> np.ndarray:
        y = np.zeros((m.shape[1], x.shape[1]))
        for i in share:
            r = m[i:i + rows]
            y += r.T @ (r @ x)
        return y

    def matmat(x: np.ndarray) -> np.ndarray:
        # slab products are small: one BLAS thread (two spin and fight on a busy machine)
        with blas_threads(1, apis):
            if workers == 1:
                return part(x, shares[0])
            futures = [_pool(workers).submit(part, x, sh) for sh in shares[1:]]
            y = part(x, shares[0])
            for f in futures:
                y += f.result()
            return y

    return matmat, m.shape[1]


def _top_gram(a: np.ndarray) -> tuple[float, np.ndarray]:
    """(λ_max, eigenvector) of the smaller Gram matrix AᵀA or AAᵀ, matrix-free."""
    matmat, n = gram_matmat(a)
    try:
        return block_lanczos(matmat, n, ends=("max",))["max"]
    except KrylovNoConvergence:
        # dense fallback: exact, only slower
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        vec = vt[0] if a.shape[1] <= a.shape[0] else u[:, 0]
        return float(s[0]) ** 2, vec


def spectral_norm(a: np.ndarray) -> float:
    """‖A‖ = σ_max(A); 0 for an empty or zero matrix.

    Values-only dense SVD up to SVD_DENSE_LIMIT, block Lanczos on the Gram matrix above.
    """
    if a.size == 0 or not np.any(a):
        return 0.0
    if min(a.shape) <= SVD_DENSE_LIMIT:
        return float(svd_values(a)[0])
    return math.sqrt(max(_top_gram(a)[0], 0.0))


def sigma_min(a: np.ndarray) -> float:
    """σ_min(A) in the sense √λ_min(AAᵀ): the smallest singular value of a wide (or
    square) matrix, and 0 for a tall one (AAᵀ is then singular).

    Matrices up to SVD_DENSE_LIMIT use the SVD of A itself: the square root of a
    rounding-level eigenvalue of AAᵀ would be ~1e-8·‖A‖ and pass for full rank.
    """
    if a.shape[0] > a.shape[1]:
        return 0.0
    if min(a.shape) <= SVD_DENSE_LIMIT:
        return float(svd_values(a)[-1])
    gram = a @ a.T
    lam = extreme_eigenvalues(gram, overwrite=True)[0]
    return math.sqrt(max(lam, 0.0))


def extreme_eigenvalues(s: np.ndarray, *, overwrite: bool = False) -> tuple[float, float]:
    """(λ_min, λ_max) of a symmetric matrix.

    One values-only eigensolve up to EIG_DENSE_LIMIT (``overwrite=True`` lets it work in
    ``s``); block Lanczos for both ends at once above, with the dense solver as fallback.
    """
    n = s.shape[0]
    if n <= EIG_DENSE_LIMIT:
        w = eigvalsh_values(s, overwrite=overwrite)
        return float(w[0]), float(w[-1])
    try:
        res = block_lanczos(lambda x: s @ x, n, ends=("min", "max"))
        return res["min"][0], res["max"][0]
    except KrylovNoConvergence:
        w = eigvalsh_values(s, overwrite=overwrite)
        return float(w[0]), float(w[-1])


def product(weights: Sequence[np.ndarray]) -> np.ndarray:
    """End-to-end matrix W = W_L ⋯ W_1 (weights given as W_1..W_L)."""
    out = weights[0]
    for w in weights[1:]:
        out = w @ out
    return np.array(out, dtype=np.float64, copy=True)


def balancedness(weights: Sequence[np.ndarray]) -> float:
    """b(W⃗) = max_j ‖W_{j+1}ᵀW_{j+1} − W_jW_jᵀ‖ (spectral); 0 for L = 1.

    Nguegnang, Rauhut & Terstiege (2021), Definition 2.3, eq. (2.7).
    """
    worst = 0.0
    for j in range(len(weights) - 1):
        d = weights[j + 1].T @ weights[j + 1] - weights[j] @ weights[j].T
        worst = max(worst, spectral_norm(d))
    return worst


def prefix_suffix(
    weights: Sequence[np.ndarray],
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Prefix products Q_j = W_{j-1}⋯W_1 and suffix products P_j = W_L⋯W_{j+1}.

    Indexing is 0-based over layers: ``pre[j]`` is the product of layers before
    layer j (identity for j = 0), ``suf[j]`` the product of layers after it.
    """
    depth = len(weights)
    pre = [np.eye(weights[0].shape[1])]
    for j in range(depth - 1):
        pre.append(weights[j] @ pre[j])
    suf = [np.eye(weights[-1].shape[0]) for _ in range(depth)]
    for j in range(depth - 2, -1, -1):
        suf[j] = suf[j + 1] @ weights[j + 1]
    return pre, suf


def residual_gradient(
    w: np.ndarray, sigma: np.ndarray | None, c: np.ndarray
) -> np.ndarray:
    """G = ∂ℓ/∂W: ``W − Φ`` (target form, sigma None) or ``WΣ − C`` (data form)."""
    if sigma is None:
        return w - c
    return w @ sigma - c


def layer_gradients(
    weights: Sequence[np.ndarray], sigma: np.ndarray | None, c: np.ndarray
) -> list[np.ndarray]:
    """∇_{W_j} ℓ = P_jᵀ G Q_jᵀ (BOUNDS.md §1)."""
    pre, suf = prefix_suffix(weights)
    g = residual_gradient(suf[0] @ weights[0], sigma, c)
    return [suf[j].T @ g @ pre[j].T for j in range(len(weights))]
