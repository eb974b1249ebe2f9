"""Initialisations named in the papers (numpy only; shared by the bounds and the simulator).

An :class:`Init` carries what the bounds need — the end-to-end product ``W(0)`` and
the balancedness constant ``b₀`` — and builds the full list of layers only on demand,
so a 2000×2000 target at depth 20 never allocates twenty identity matrices just to
evaluate a bound.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from gdcert.errors import InputError
from gdcert.linalg import balancedness, product

BUILTIN = ("identity", "zas", "balanced")


@dataclass(frozen=True)
class Init:
    """An initialisation W⃗(0) for a network of the given widths (d_0, …, d_L)."""

    name: str
    widths: tuple[int, ...]
    product: np.ndarray
    b0: float
    description: str
    _build: Callable[[], list[np.ndarray]] = field(repr=False, compare=False)

    def weights(self) -> list[np.ndarray]:
        """The layers [W_1, …, W_L] (built on each call)."""
        return self._build()


def _square(widths: Sequence[int]) -> bool:
    return len(set(widths)) == 1


def available(widths: Sequence[int]) -> list[str]:
    """Built-in initialisations defined for these widths."""
    out = []
    if _square(widths):
        out.append("identity")
        if len(widths) >= 3:
            out.append("zas")
    out.append("balanced")
    return out


def why_unavailable(name: str, widths: Sequence[int]) -> str:
    """One-line reason a built-in init is not defined for these widths ('' if it is)."""
    if name in ("identity", "zas") and not _square(widths):
        return f"{name} initialisation needs square layers (all widths equal), got {tuple(widths)}"
    if name == "zas" and len(widths) < 3:
        return "zas initialisation needs depth L ≥ 2"
    return ""


def identity(widths: Sequence[int]) -> Init:
    """``W_j(0) = I`` for all j (Nar & Sastry, Theorems 2–3). Balanced: b₀ = 0."""
    d, depth = widths[0], len(widths) - 1
    return Init("identity", tuple(widths), np.eye(d), 0.0, "W_j(0) = I for every layer",
                lambda: [np.eye(d) for _ in range(depth)])


def zas(widths: Sequence[int]) -> Init:
    """Zero-asymmetric init ``W_L(0) = 0``, ``W_j(0) = I`` for j < L (Wu, Wang & Ma 2019).

    b₀ = ‖W_Lᵀ W_L − W_{L−1}W_{L−1}ᵀ‖ = ‖−I‖ = 1 (Nguegnang et al. §2's D_{L−1} = −I).
    """
    d, depth = widths[0], len(widths) - 1
    return Init("zas", tuple(widths), np.zeros((d, d)), 1.0,
                "W_L(0) = 0, W_j(0) = I for j < L (zero-asymmetric)",
                lambda: [np.eye(d) for _ in range(depth - 1)] + [np.zeros((d, d))])


#: Frames with at least this many entries (n·r) are factorised in place by LAPACK.
INPLACE_QR_MIN = 512 * 512


def _haar_frame(rng: np.random.Generator, n: int, r: int) -> np.ndarray:
    """First r columns of a Haar-distributed orthogonal n×n matrix (QR with sign fix).

    The frame is ``Q·diag(sign(diag R))`` for the QR factorisation of the n×r standard
    Gaussian matrix ``rng.standard_normal((n, r))``. Large frames are drawn (in row
    slices, the same stream) straight into a Fortran-ordered buffer that LAPACK's
    ``geqrf``/``orgqr`` overwrite with Q: one n×r array in all, where ``np.linalg.qr``
    holds four (its copies, Q and R). Same numbers to rounding.
    """
    if n * r < INPLACE_QR_MIN:
        q, rr = np.linalg.qr(rng.standard_normal((n, r)))
        return q * np.sign(np.where(np.diag(rr) == 0, 1.0, np.diag(rr)))
    from scipy.linalg import lapack

    buf = np.empty((n, r), order="F")
    rows = max(1, 2**17 // r)  # 1 MB slices of the stream
    for i in range(0, n, rows):
        buf[i:i + rows] = rng.standard_normal((min(rows, n - i), r))
    lwork = max(1, 64 * r)
    qr, tau, _, info = lapack.dgeqrf(buf, lwork=lwork, overwrite_a=1)
    if info != 0:  # pragma: no cover - LAPACK argument error
        raise RuntimeError(f"LAPACK dgeqrf failed (info = {info})")
    diag = np.diag(qr)
    sign = np.sign(np.where(diag == 0, 1.0, diag))
    q, _, info = lapack.dorgqr(qr, tau, lwork=lwork, overwrite_a=1)
    if info != 0:  # pragma: no cover
        raise RuntimeError(f"LAPACK dorgqr failed (info = {info})")
    q *= sign
    return np.asarray(q)


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

    f0, f_last = frames(False)
    prod = _frame_product(f_last, f0, scale**depth)
    del f0, f_last

    def build() -> list[np.ndarray]:
        f = frames(True)
        return [scale * (f[j] @ f[j - 1].T) for j in range(1, depth + 1)]

    return Init("balanced", widths, prod, 0.0,
                f"random balanced (Nguegnang et al. §5), rank {r}, scale {scale:g}, seed {seed}",
                build)


def from_weights(name: str, weights: Sequence[np.ndarray]) -> Init:
    """An initialisation given as explicit layers (e.g. from an .npz file)."""
    ws = [np.ascontiguousarray(w, dtype=np.float64) for w in weights]
    widths = (ws[0].shape[1], *[w.shape[0] for w in ws])
    return Init(name, widths, product(ws), balancedness(ws),
                f"weights from {name}", lambda: [w.copy() for w in ws])


def make(name: str, widths: Sequence[int], *, rank: int | None = None, scale: float = 1.0,
         seed: int = 0) -> Init:
    """Build a built-in initialisation by name, with a one-line error if undefined."""
    if name not in BUILTIN:
        raise InputError(f"--init: unknown initialisation {name!r}; expected one of "
                         f"{', '.join(BUILTIN)} or an .npz file of weights W1..WL")
    reason = why_unavailable(name, widths)
    if reason:
        raise InputError(f"--init {name}: {reason}")
    if name == "identity":
        return identity(widths)
    if name == "zas":
        return zas(widths)
    return balanced(widths, rank=rank, scale=scale, seed=seed)
