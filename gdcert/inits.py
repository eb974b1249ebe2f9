"""The one registry of initialisations (numpy only; shared by the bounds and the simulator).

An :class:`Init` carries what the bounds need — the loss at ``W(0)`` (its
:meth:`~Init.target_loss`), the end-to-end product ``W(0)`` (formed on first use) and
the balancedness constant ``b₀`` — and builds the full list of layers only on demand,
so a 2000×2000 target at depth 20 never allocates twenty identity matrices (nor, for
the loss, even one) just to evaluate a bound. Every name in
:data:`gdcert.spec.INIT_NAMES` is built by :func:`make`; the random ones are pure
functions of their seed, so runs are reproducible.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from gdcert.errors import InputError
from gdcert.linalg import balancedness, diff_norm_sq, parallel_width, product, run_threads
from gdcert.spec import DEFAULT_BOUND_INITS, DETERMINISTIC_INITS, INIT_NAMES, InitSpec

#: Every initialisation that is built from a name (``file`` needs weights).
BUILTIN = tuple(n for n in INIT_NAMES if n != "file")
#: Names whose weights do not depend on the seed.
DETERMINISTIC = DETERMINISTIC_INITS
NAMES = INIT_NAMES


@dataclass(frozen=True)
class Init:
    """An initialisation W⃗(0) for a network of the given widths (d_0, …, d_L).

    ``product`` (W(0) = W_L⋯W_1) is given as an array or as a function that computes it
    (then it is computed on first use and kept). ``_target_loss``, when given, computes
    ``½‖Φ − W(0)‖_F²`` without forming W(0) (see :meth:`target_loss`).
    """

    name: str
    widths: tuple[int, ...]
    _product: np.ndarray | Callable[[], np.ndarray] = field(repr=False, compare=False)
    b0: float
    description: str
    _build: Callable[[], list[np.ndarray]] = field(repr=False, compare=False)
    _target_loss: Callable[[np.ndarray], float] | None = field(default=None, repr=False,
                                                               compare=False)
    _losses: list[tuple[weakref.ref[np.ndarray], float]] = field(
        default_factory=list, repr=False, compare=False)

    @cached_property
    def product(self) -> np.ndarray:
        """The end-to-end matrix W(0) = W_L⋯W_1."""
        p = self._product
        return p if isinstance(p, np.ndarray) else p()

    def target_loss(self, phi: np.ndarray) -> float:
        """``½‖Φ − W(0)‖_F²`` (target form), computed once per Φ.

        The random balanced init computes it from its frames' Householder reflectors,
        without W(0) (:func:`_balanced_target_loss`), identity and ZAS without an n×n
        identity or zero matrix; every other init (and one whose product was formed
        already) from the residual in row slices.
        """
        for ref, value in self._losses:
            if ref() is phi:
                return value
        if self._target_loss is not None and "product" not in self.__dict__:
            value = self._target_loss(phi)
        else:
            value = 0.5 * diff_norm_sq(self.product, phi)
        self._losses[:] = [(r, v) for r, v in self._losses if r() is not None]
        self._losses.append((weakref.ref(phi), value))
        return value

    def weights(self) -> list[np.ndarray]:
        """The layers [W_1, …, W_L] (built on each call)."""
        return self._build()


def _square(widths: Sequence[int]) -> bool:
    return len(set(widths)) == 1


#: The random balanced init is among the default inits only while the flops of its exact
#: loss (:func:`balanced_loss_flops`; Nguegnang et al.'s bound needs that loss) are at most
#: those of a 2048 × 2048 target: at n = 4000 they took 12–13 s of the 14–15 s a default
#: ``bound`` took on a 2-core machine (docs/performance.md). Asked for by name it is always
#: made.
BALANCED_DEFAULT_MAX = 2048


def balanced_loss_flops(widths: Sequence[int]) -> float:
    """Flops of the balanced init's exact loss (:func:`_balanced_target_loss`): the
    Householder QRs of the two outer frames (d × r each, ≈ 4dr² with the explicit Q) and
    applying r reflectors to the d_out × d_in target (≈ 4·d_in·d_out·r); r = min(widths)."""
    d_in, d_out, r = int(widths[0]), int(widths[-1]), int(min(widths))
    return 4.0 * (d_in + d_out) * r * r + 4.0 * d_in * d_out * r


def balanced_skipped(widths: Sequence[int]) -> str:
    """Why the balanced init is left out of the default inits for these widths ('' if not)."""
    cap = balanced_loss_flops((BALANCED_DEFAULT_MAX,) * 2)
    flops = balanced_loss_flops(widths)
    if flops <= cap:
        return ""
    return (f"the random balanced initialisation is not evaluated by default here: its loss "
            f"(for Nguegnang et al.'s bound) needs about {flops:.1e} flops of Householder QRs, "
            f"more than for a {BALANCED_DEFAULT_MAX}×{BALANCED_DEFAULT_MAX} target; ask for it "
            f"with --init balanced (API: inits=[..., \"balanced\"])")


def available(widths: Sequence[int]) -> list[str]:
    """The initialisations the bounds are evaluated at by default, where defined for these
    widths (:data:`gdcert.spec.DEFAULT_BOUND_INITS`; the balanced one only up to
    :data:`BALANCED_DEFAULT_MAX`, see :func:`balanced_skipped`)."""
    assert DEFAULT_BOUND_INITS == ("identity", "zas", "balanced")
    out = []
    if _square(widths):
        out.append("identity")
        if len(widths) >= 3:
            out.append("zas")
    if not balanced_skipped(widths):
        out.append("balanced")
    return out


def why_unavailable(name: str, widths: Sequence[int]) -> str:
    """One-line reason a built-in init is not defined for these widths ('' if it is)."""
    if name in ("identity", "zas", "near_identity") and not _square(widths):
        return f"{name} initialisation needs square layers (all widths equal), got {tuple(widths)}"
    if name == "zas" and len(widths) < 3:
        return "zas initialisation needs depth L ≥ 2"
    return ""


def _identity_loss(phi: np.ndarray) -> float:
    """½‖Φ − I‖_F² in row slices (no n×n identity, no n×n temporary)."""
    n_rows, n_cols = phi.shape
    step = max(1, 2**17 // max(1, n_cols))
    total = 0.0
    for i in range(0, n_rows, step):
        d = phi[i:i + step].copy()
        k = np.arange(i, min(i + step, n_rows, n_cols))
        d[k - i, k] -= 1.0
        total += float(np.einsum("ij,ij->", d, d))
    return 0.5 * total


def identity(widths: Sequence[int]) -> Init:
    """``W_j(0) = I`` for all j (Nar & Sastry, Theorems 2–3). Balanced: b₀ = 0."""
    d, depth = widths[0], len(widths) - 1
    return Init("identity", tuple(widths), lambda: np.eye(d), 0.0,
                "W_j(0) = I for every layer", lambda: [np.eye(d) for _ in range(depth)],
                _identity_loss)


def zas(widths: Sequence[int]) -> Init:
    """Zero-asymmetric init ``W_L(0) = 0``, ``W_j(0) = I`` for j < L (Wu, Wang & Ma 2019).

    b₀ = ‖W_Lᵀ W_L − W_{L−1}W_{L−1}ᵀ‖ = ‖−I‖ = 1 (Nguegnang et al. §2's D_{L−1} = −I).
    """
    d, depth = widths[0], len(widths) - 1
    return Init("zas", tuple(widths), lambda: np.zeros((d, d)), 1.0,
                "W_L(0) = 0, W_j(0) = I for j < L (zero-asymmetric)",
                lambda: [np.eye(d) for _ in range(depth - 1)] + [np.zeros((d, d))],
                lambda phi: 0.5 * float(np.linalg.norm(phi)) ** 2)


#: Frames with at least this many entries (n·r) are factorised in place by LAPACK.
INPLACE_QR_MIN = 512 * 512
#: Block size of the blocked Householder QR (LAPACK ``geqrt``) of large frames.
QR_BLOCK = 64


def _gaussian_buffer(rng: np.random.Generator, n: int, r: int) -> np.ndarray:
    """``rng.standard_normal((n, r))`` drawn in 1 MB row slices (the same stream) straight
    into a Fortran-ordered buffer, ready for LAPACK to overwrite."""
    buf = np.empty((n, r), order="F")
    rows = max(1, 2**17 // r)
    for i in range(0, n, rows):
        buf[i:i + rows] = rng.standard_normal((min(rows, n - i), r))
    return buf


def _geqrt(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LAPACK ``geqrt`` of an n×r buffer, in place: ``(v, t, sign(diag R))`` (0 → +1)."""
    from scipy.linalg import lapack

    v, t, info = lapack.dgeqrt(max(1, min(QR_BLOCK, buf.shape[1])), buf, overwrite_a=1)
    if info != 0:  # pragma: no cover - LAPACK argument error
        raise RuntimeError(f"LAPACK dgeqrt failed (info = {info})")
    diag = np.diag(v)
    return v, t, np.sign(np.where(diag == 0, 1.0, diag))


def _householder(rng: np.random.Generator, n: int,
                 r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Householder QR of the n×r Gaussian ``rng.standard_normal((n, r))``, unformed.

    Returns ``(v, t, sign)``: LAPACK ``geqrt``'s reflectors (below the diagonal of ``v``,
    R on and above it) and block factors ``t`` (compact WY, :data:`QR_BLOCK` columns per
    block), and ``sign(diag R)`` (0 counted as +1). The Haar frame is
    ``F = Q[:, :r]·diag(sign)`` with ``Q = H_1⋯H_r`` the n×n orthogonal matrix of the
    reflectors; ``geqrt`` computes the same reflectors as ``geqrf`` (to rounding) with
    recursive, level-3 panels.
    """
    return _geqrt(_gaussian_buffer(rng, n, r))


def _haar_frame(rng: np.random.Generator, n: int, r: int) -> np.ndarray:
    """First r columns of a Haar-distributed orthogonal n×n matrix (QR with sign fix).

    The frame is ``Q·diag(sign(diag R))`` for the QR factorisation of the n×r standard
    Gaussian matrix ``rng.standard_normal((n, r))``. Large frames are drawn into one
    Fortran-ordered buffer that LAPACK ``geqrt`` (:func:`_householder`) and ``orgqr``
    overwrite with Q: one n×r array in all, where ``np.linalg.qr`` holds four (its
    copies, Q and R). Same numbers to rounding.
    """
    if n * r < INPLACE_QR_MIN:
        q, rr = np.linalg.qr(rng.standard_normal((n, r)))
        return q * np.sign(np.where(np.diag(rr) == 0, 1.0, np.diag(rr)))
    v, t, sign = _householder(rng, n, r)
    q = _orgqr(v, t)
    q *= sign
    return q


def _frame_product(f_last: np.ndarray, f0: np.ndarray, factor: float) -> np.ndarray:
    """``factor · F_L F_0ᵀ`` (C order); in place in F_0's buffer when F_L is square.

    Then ``F_0 F_Lᵀ = (F_L F_0ᵀ)ᵀ`` has F_0's shape, and row slice i of it needs only row
    slice i of F_0: computed slice by slice into F_0's (Fortran-ordered) memory, whose
    transpose is the product in C order. Peak memory: the two frames, no third matrix.
    """
    n_last, r = f_last.shape
    if r != n_last or not f0.flags.f_contiguous or f0.size < INPLACE_QR_MIN:
        return factor * (f_last @ f0.T)
    rows = max(1, 2**17 // max(1, r))
    for i in range(0, f0.shape[0], rows):
        f0[i:i + rows] = f0[i:i + rows] @ f_last.T
    f0 *= factor
    return np.asarray(f0.T)


def _orgqr(v: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The explicit first r columns of Q from ``geqrt``'s reflectors (LAPACK ``orgqr``,
    in v's buffer; tau is the diagonal of the block factors ``t``)."""
    from scipy.linalg import lapack

    r = v.shape[1]
    tau = t[np.arange(r) % t.shape[0], np.arange(r)]
    q, _, info = lapack.dorgqr(v, tau, lwork=max(1, 64 * r), overwrite_a=1)
    if info != 0:  # pragma: no cover
        raise RuntimeError(f"LAPACK dorgqr failed (info = {info})")
    return np.asarray(q)


def _balanced_target_loss(phi: np.ndarray, *, seed: int, r: int, factor: float) -> float:
    """½‖Φ − factor·F_L F_0ᵀ‖_F² for the balanced init's frames, without the product.

    With Q_0 the d_0×d_0 orthogonal matrix of F_0's Householder reflectors,
    ``F_0ᵀ Q_0 = [diag(sign_0), 0]``, so ``(Φ − W) Q_0 = Φ Q_0 − factor·[F_L diag(sign_0), 0]``
    has the same Frobenius norm as ``Φ − W``: the residual itself is summed (no
    cancellation when Φ ≈ W), and neither the product (2n³ flops) nor F_0's ``orgqr``
    (4/3 n³) is computed. With two or more OpenBLAS threads allowed, F_0's ``geqrt`` runs
    on a second Python thread while this one draws F_L (the stream's order is kept) and
    factorises it (``geqrt``, ``orgqr``), each on one BLAS thread — no per-call thread
    hand-off in the thin panel products; then ``Φ Q_0`` is applied by the reflectors
    (``gemqrt``) in row slices (≤ 8 MB, ≥ 4), split between the two threads, and each slice's
    residual summed as it is made. Peak memory: Φ and the two frames (no n×n
    temporary).
    """
    from scipy.linalg import lapack

    rng = np.random.default_rng(seed)
    d_out, d_in = phi.shape
    g0 = _gaussian_buffer(rng, d_in, r)

    def last_frame() -> tuple[np.ndarray, np.ndarray]:
        v1, t1, sign1 = _geqrt(_gaussian_buffer(rng, d_out, r))  # drawn after F_0's
        return _orgqr(v1, t1), sign1  # F_L·diag(sign_L): Q_L's first r columns

    parallel = parallel_width() > 1
    if parallel:  # F_0's QR runs while F_L is drawn and factorised
        (f_last, sign1), (v0, t0, sign0) = run_threads([last_frame, lambda: _geqrt(g0)])
    else:
        v0, t0, sign0 = _geqrt(g0)
        f_last, sign1 = last_frame()
    f_last *= factor * (sign1 * sign0)
    # row slices of at most 8 MB, at least four of them (two per thread)
    step = max(16, min(2**20 // max(1, d_in), -(-d_out // 4)))

    def residual(rows: range) -> float:
        total = 0.0
        for i in rows:
            c = np.array(phi[i:i + step], dtype=np.float64, order="F")
            c, info = lapack.dgemqrt(v0, t0, c, side="R", trans="N", overwrite_c=1)
            if info != 0:  # pragma: no cover
                raise RuntimeError(f"LAPACK dgemqrt failed (info = {info})")
            c[:, :r] -= f_last[i:i + step]
            total += float(np.einsum("ij,ij->", c, c))
        return total

    starts = range(0, d_out, step)
    if not parallel:
        return 0.5 * residual(starts)
    half = starts[len(starts) // 2:]
    first = starts[:len(starts) // 2]
    parts = run_threads([lambda: residual(first), lambda: residual(half)])
    return 0.5 * (parts[0] + parts[1])


def balanced(widths: Sequence[int], *, rank: int | None = None, scale: float = 1.0,
             seed: int = 0) -> Init:
    """Random balanced initialisation (Nguegnang, Rauhut & Terstiege 2021, §5).

    ``W_j = s F_j F_{j−1}ᵀ`` with ``F_j`` the first r columns of a Haar orthogonal
    d_j×d_j matrix — the paper's ``W_j = V_j I_{d_j,d_1} U_jᵀ`` with ``U_j`` the first
    columns of ``V_{j−1}``, for rank r and scale s (the paper: r = d_1, s = 1). Then
    ``W_{j+1}ᵀW_{j+1} = s² F_jF_jᵀ = W_jW_jᵀ``: balanced, b₀ = 0. The frames are drawn
    in the order F_0, F_L, F_1, …, F_{L−1} from one seeded generator, so the product
    ``s^L F_L F_0ᵀ`` is available without drawing the hidden frames.
    """
    widths = tuple(int(w) for w in widths)
    depth = len(widths) - 1
    cap = min(widths)
    r = cap if rank is None else int(rank)
    if not 1 <= r <= cap:
        raise InputError(f"--init-rank must be between 1 and min(widths) = {cap}, got {rank}")
    if not (np.isfinite(scale) and scale > 0):
        raise InputError(f"--init-scale must be a positive finite number, got {scale}")
    if abs(depth * np.log10(scale)) > 300:
        raise InputError(f"--init-scale {scale:g}: the product's scale s^L = 10^"
                         f"{depth * np.log10(scale):.0f} does not fit in a float")

    def frames(all_frames: bool) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        f0 = _haar_frame(rng, widths[0], r)
        f_last = _haar_frame(rng, widths[-1], r)
        if not all_frames:
            return [f0, f_last]
        hidden = [_haar_frame(rng, widths[j], r) for j in range(1, depth)]
        return [f0, *hidden, f_last]

    def prod() -> np.ndarray:
        f0, f_last = frames(False)
        return _frame_product(f_last, f0, scale**depth)

    def build() -> list[np.ndarray]:
        f = frames(True)
        return [scale * (f[j] @ f[j - 1].T) for j in range(1, depth + 1)]

    loss = None
    if min(widths[0], widths[-1]) * r >= INPLACE_QR_MIN:  # both frames by LAPACK geqrt
        def loss(phi: np.ndarray) -> float:
            return _balanced_target_loss(phi, seed=seed, r=r, factor=scale**depth)

    return Init("balanced", widths, prod, 0.0,
                f"random balanced (Nguegnang et al. §5), rank {r}, scale {scale:g}, seed {seed}",
                build, loss)


def from_weights(name: str, weights: Sequence[np.ndarray]) -> Init:
    """An initialisation given as explicit layers (e.g. from an .npz file)."""
    ws = [np.ascontiguousarray(w, dtype=np.float64) for w in weights]
    widths = (ws[0].shape[1], *[w.shape[0] for w in ws])
    return Init(name, widths, product(ws), balancedness(ws),
                f"weights from {name}", lambda: [w.copy() for w in ws])


def near_identity(widths: Sequence[int], *, seed: int, sigma: float | None = None) -> Init:
    """Wu, Wang & Ma (2019) eq. (5.1): ``W_l = I + U_l``, ``(U_l)_ij ~ N(0, σ²)`` i.i.d.

    The paper's σ² is ``1/(dL)`` (the default here).
    """
    d, depth = widths[0], len(widths) - 1
    s = math.sqrt(1.0 / (d * depth)) if sigma is None else sigma
    rng = np.random.default_rng(seed)
    return _explicit("near_identity", [np.eye(d) + s * rng.standard_normal((d, d))
                                       for _ in range(depth)],
                     f"W_l = I + U_l, U_l ~ N(0, {s:.3g}²) (Wu et al. eq. 5.1), seed {seed}")


def gaussian(widths: Sequence[int], *, seed: int, sigma: float | None = None) -> Init:
    """``(W_j)_ab ~ N(0, σ²)`` i.i.d. (default σ = 0.1)."""
    s = 0.1 if sigma is None else sigma
    rng = np.random.default_rng(seed)
    return _explicit("gaussian", [s * rng.standard_normal((widths[j], widths[j - 1]))
                                  for j in range(1, len(widths))],
                     f"(W_j)_ab ~ N(0, {s:.3g}²), seed {seed}")


def xavier(widths: Sequence[int], *, seed: int) -> Init:
    """Glorot/Xavier normal: ``(W_j)_ab ~ N(0, 2/(d_{j−1} + d_j))``."""
    rng = np.random.default_rng(seed)
    return _explicit("xavier", [math.sqrt(2.0 / (widths[j - 1] + widths[j]))
                                * rng.standard_normal((widths[j], widths[j - 1]))
                                for j in range(1, len(widths))],
                     f"Xavier normal, seed {seed}")


def orthogonal(widths: Sequence[int], *, seed: int, scale: float = 1.0) -> Init:
    """``W_j = s·Q_j``, Q_j Haar-distributed with orthonormal rows or columns."""
    rng = np.random.default_rng(seed)
    out = []
    for j in range(1, len(widths)):
        rows, cols = widths[j], widths[j - 1]
        q = _haar_frame(rng, max(rows, cols), min(rows, cols))
        out.append(scale * (q if rows >= cols else q.T))
    return _explicit("orthogonal", out, f"Haar orthogonal × {scale:g}, seed {seed}")


def _explicit(name: str, weights: list[np.ndarray], description: str) -> Init:
    init = from_weights(name, weights)
    return Init(name, init.widths, init._product, init.b0, description, init._build)


def _check_sigma(sigma: float | None) -> None:
    if sigma is not None and not (math.isfinite(sigma) and sigma >= 0):
        raise InputError(f"init sigma must be a finite number >= 0, got {sigma!r}")


def make(name: str, widths: Sequence[int], *, seed: int = 0, sigma: float | None = None,
         rank: int | None = None, scale: float = 1.0, file: str | None = None) -> Init:
    """Build any initialisation of :data:`gdcert.spec.INIT_NAMES` by name.

    ``file`` (an ``.npz`` of W1..WL) is needed for the name ``file``. One-line
    :class:`InputError` when the name is unknown or not defined for the widths.
    """
    widths = tuple(int(w) for w in widths)
    if name not in NAMES:
        raise InputError(f"unknown initialisation {name!r}; expected one of "
                         f"{', '.join(BUILTIN)} or an .npz file of weights W1..WL")
    reason = why_unavailable(name, widths)
    if reason:
        raise InputError(f"init {name}: {reason}")
    _check_sigma(sigma)
    if name == "identity":
        return identity(widths)
    if name == "zas":
        return zas(widths)
    if name == "near_identity":
        return near_identity(widths, seed=seed, sigma=sigma)
    if name == "gaussian":
        return gaussian(widths, seed=seed, sigma=sigma)
    if name == "xavier":
        return xavier(widths, seed=seed)
    if name == "orthogonal":
        return orthogonal(widths, seed=seed, scale=scale)
    if name == "balanced":
        return balanced(widths, rank=rank, scale=scale, seed=seed)
    return from_file(file, widths)


def from_file(file: str | None, widths: Sequence[int] | None = None, *,
              what: str = "init.file") -> Init:
    """Weights W1..WL from an ``.npz``; checked against ``widths`` when given."""
    if file is None:
        raise InputError("init: name 'file' needs a 'file' key with an .npz of W1..WL")
    import os

    from gdcert import io

    ws = io.load_weights(file, what=what)
    init = from_weights(os.path.basename(str(file)), ws)
    if widths is not None and init.widths != tuple(widths):
        raise InputError(f"{what} {file}: layer widths {init.widths} do not match the "
                         f"network's widths {tuple(widths)}")
    return init


def from_spec(spec: InitSpec, widths: Sequence[int], seed: int) -> Init:
    """The initialisation a :class:`~gdcert.spec.InitSpec` describes, for one seed."""
    init = make(spec.name, widths, seed=seed, sigma=spec.sigma, rank=spec.rank,
                scale=spec.scale, file=spec.file)
    return init if spec.name != "file" else Init("file", init.widths, init._product, init.b0,
                                                 init.description, init._build)
