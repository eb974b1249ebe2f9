"""Seeded initialisations for verification runs (numpy only).

Built on :mod:`gdcert.inits` (identity, ZAS, balanced, weights from a file) and adding
the random ones used in the papers' experiments. Every random init is a pure function
of its seed, so runs are reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from gdcert import inits as _base
from gdcert.errors import InputError

NAMES = ("identity", "zas", "near_identity", "gaussian", "xavier", "orthogonal", "balanced", "file")

#: Inits whose weights do not depend on the seed.
DETERMINISTIC = ("identity", "zas", "file")


def near_identity(
    widths: Sequence[int], *, seed: int, sigma: float | None = None
) -> list[np.ndarray]:
    """Wu, Wang & Ma (2019) eq. (5.1): ``W_l = I + U_l``, ``(U_l)_ij ~ N(0, σ²)`` i.i.d.

    The paper's σ² is ``1/(dL)`` (the default here).
    """
    d, depth = widths[0], len(widths) - 1
    s = math.sqrt(1.0 / (d * depth)) if sigma is None else sigma
    rng = np.random.default_rng(seed)
    return [np.eye(d) + s * rng.standard_normal((d, d)) for _ in range(depth)]


def gaussian(widths: Sequence[int], *, seed: int, sigma: float = 0.1) -> list[np.ndarray]:
    """``(W_j)_ab ~ N(0, σ²)`` i.i.d."""
    rng = np.random.default_rng(seed)
    return [sigma * rng.standard_normal((widths[j], widths[j - 1])) for j in range(1, len(widths))]


def xavier(widths: Sequence[int], *, seed: int) -> list[np.ndarray]:
    """Glorot/Xavier normal: ``(W_j)_ab ~ N(0, 2/(d_{j−1} + d_j))``."""
    rng = np.random.default_rng(seed)
    return [
        math.sqrt(2.0 / (widths[j - 1] + widths[j]))
        * rng.standard_normal((widths[j], widths[j - 1]))
        for j in range(1, len(widths))
    ]


def orthogonal(widths: Sequence[int], *, seed: int, scale: float = 1.0) -> list[np.ndarray]:
    """``W_j = s·Q_j``, Q_j Haar-distributed with orthonormal rows or columns."""
    rng = np.random.default_rng(seed)
    out = []
    for j in range(1, len(widths)):
        rows, cols = widths[j], widths[j - 1]
        q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
        q = q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))
        out.append(scale * (q if rows >= cols else q.T))
    return out


def make(
    name: str,
    widths: Sequence[int],
    *,
    seed: int = 0,
    sigma: float | None = None,
    rank: int | None = None,
    scale: float = 1.0,
    file: str | None = None,
) -> list[np.ndarray]:
    """Initial weights [W_1..W_L] for one run, by name (one-line errors otherwise)."""
    widths = tuple(int(w) for w in widths)
    if name not in NAMES:
        raise InputError(
            f"init: unknown initialisation {name!r}; expected one of {', '.join(NAMES)}"
        )
    if name in ("identity", "zas", "near_identity") and len(set(widths)) > 1:
        raise InputError(f"init {name}: needs square layers (all widths equal), got {widths}")
    if name == "identity":
        return _base.identity(widths).weights()
    if name == "zas":
        if len(widths) < 3:
            raise InputError("init zas: needs depth L >= 2")
        return _base.zas(widths).weights()
    if name == "near_identity":
        return near_identity(widths, seed=seed, sigma=sigma)
    if name == "gaussian":
        return gaussian(widths, seed=seed, sigma=0.1 if sigma is None else sigma)
    if name == "xavier":
        return xavier(widths, seed=seed)
    if name == "orthogonal":
        return orthogonal(widths, seed=seed, scale=scale)
    if name == "balanced":
        return _base.balanced(widths, rank=rank, scale=scale, seed=seed).weights()
    if file is None:
        raise InputError("init: name 'file' needs a 'file' key with an .npz of W1..WL")
    from gdcert import io

    ws = io.load_weights(file, what="init.file")
    got = (ws[0].shape[1], *[w.shape[0] for w in ws])
    if got != widths:
        raise InputError(
            f"init.file {file}: layer widths {got} do not match the network's widths {widths}"
        )
    return ws
