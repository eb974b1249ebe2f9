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


def _haar_frame(rng: np.random.Generator, n: int, r: int) -> np.ndarray:
    """First r columns of a Haar-distributed orthogonal n×n matrix (QR with sign fix)."""
    q, rr = np.linalg.qr(rng.standard_normal((n, r)))
    return q * np.sign(np.where(np.diag(rr) == 0, 1.0, np.diag(rr)))


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
    prod = (scale**depth) * (f_last @ f0.T)

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
