"""The problem: target or data form, loss convention, depth and widths, with validation.

A :class:`Problem` stores its data in the **sum convention** used by every bound
(BOUNDS.md §1). The mean convention ``(1/2m)‖Y − WX‖_F²`` is the sum convention on
``X/√m, Y/√m``; a problem built with ``loss="mean"`` stores those scaled arrays, so
every step size computed from it is already in the mean convention.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np

from gdcert.errors import InputError
from gdcert.linalg import (
    EIG_DENSE_LIMIT,
    SVD_DENSE_LIMIT,
    asymmetry_norm,
    diff_norm_sq,
    eigvalsh_values,
    extreme_eigenvalues,
    sigma_min,
    spectral_norm,
    svd_values,
    symmetric_part,
)
from gdcert.validate import brief

Form = Literal["target", "data"]
Loss = Literal["sum", "mean"]

#: Above this min(shape) the rank (a full SVD) is not computed for the summary.
RANK_LIMIT = 1000
#: Largest depth accepted (each layer is an array; 10⁶ layers is already ~8 MB at d = 1).
MAX_DEPTH = 1_000_000
#: ‖XXᵀ − I‖ at or below this counts as whitened data.
WHITENING_TOL = 1e-6
#: ‖Φ − Φᵀ‖_F ≤ SYMMETRY_RTOL·‖Φ‖_F counts as symmetric.
SYMMETRY_RTOL = 1e-12


def _check_matrix(name: str, a: np.ndarray) -> np.ndarray:
    """A real, finite, non-empty 2-D matrix, as C-contiguous float64."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise InputError(f"{name}: expected a 2-D matrix, got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{name}: the matrix is empty (shape {arr.shape})")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: contains NaN or Inf")
    return arr


def check_depth(depth: object) -> int:
    """Depth L: an integer ≥ 1."""
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or int(depth) < 1:
        raise InputError(f"--depth must be an integer >= 1, got {brief(depth)}")
    if int(depth) > MAX_DEPTH:
        raise InputError(f"--depth must be at most {MAX_DEPTH}, got {brief(depth)}")
    return int(depth)


def check_widths(widths: Sequence[int] | None, depth: int, d_in: int,
                 d_out: int) -> tuple[int, ...]:
    """Widths (d_0, …, d_L): L + 1 positive integers with d_0 = d_in and d_L = d_out.

    Default: square layers ``d × d`` when the target is square; otherwise hidden
    layers of width max(d_in, d_out) (the rank cap is then min(d_in, d_out)).
    """
    if widths is None:
        hidden = d_in if d_in == d_out else max(d_in, d_out)
        return (d_in, *([hidden] * (depth - 1)), d_out)
    ws = tuple(widths)
    if len(ws) != depth + 1:
        raise InputError(f"--widths: expected L + 1 = {depth + 1} widths d0,…,dL for depth "
                         f"{depth}, got {len(ws)}")
    if any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 for w in ws):
        raise InputError(f"--widths: every width must be a positive integer, got {brief(ws)}")
    if ws[0] != d_in or ws[-1] != d_out:
        raise InputError(f"--widths: d0 and dL must match the problem's input and output "
                         f"dimensions ({d_in}, {d_out}), got ({ws[0]}, {ws[-1]})")
    return tuple(int(w) for w in ws)


@dataclass(frozen=True)
class Spectrum:
    """Spectral facts about the (effective) target Φ used by the bounds."""

    rho: float
    fro: float
    square: bool
    symmetric: bool
    asymmetry: float
    lam_min: float
    lam_max: float


class Problem:
    """A deep-linear-network least-squares problem.

    Build with :meth:`from_target` or :meth:`from_data`. Attributes: ``form``,
    ``depth``, ``widths``, ``loss``, ``n_samples``, ``source``; derived quantities
    (``sigma = XXᵀ``, ``c = YXᵀ``, the effective target ``phi``, spectra, optimal
    loss) are computed lazily and cached.
    """

    def __init__(self, *, form: Form, depth: int, widths: tuple[int, ...], loss: Loss,
                 phi: np.ndarray | None, x: np.ndarray | None, y: np.ndarray | None,
                 n_samples: int | None, source: str) -> None:
        self.form = form
        self.depth = depth
        self.widths = widths
        self.loss = loss
        self._phi = phi
        self.x = x
        self.y = y
        self.n_samples = n_samples
        self.source = source

    # -- construction -------------------------------------------------------------
    @classmethod
    def from_target(cls, phi: np.ndarray, *, depth: int, widths: Sequence[int] | None = None,
                    source: str = "target") -> Problem:
        """Target form ``ℓ = ½‖W_L⋯W_1 − Φ‖_F²``."""
        depth = check_depth(depth)
        phi = _check_matrix(source, phi)
        ws = check_widths(widths, depth, phi.shape[1], phi.shape[0])
        return cls(form="target", depth=depth, widths=ws, loss="sum", phi=phi, x=None, y=None,
                   n_samples=None, source=source)

    @classmethod
    def from_data(cls, x: np.ndarray, y: np.ndarray, *, depth: int,
                  widths: Sequence[int] | None = None, loss: Loss = "sum",
                  source: str = "data") -> Problem:
        """Data form ``½‖Y − WX‖_F²`` (sum) or ``(1/2m)‖Y − WX‖_F²`` (mean); columns are samples."""
        depth = check_depth(depth)
        x = _check_matrix(f"{source}: X", x)
        y = _check_matrix(f"{source}: Y", y)
        if x.shape[1] != y.shape[1]:
            raise InputError(f"{source}: X has {x.shape[1]} samples (columns) but Y has "
                             f"{y.shape[1]}; use --samples-as-rows if samples are rows")
        if loss not in ("sum", "mean"):
            raise InputError(f"--loss must be 'sum' or 'mean', got {loss!r}")
        m = x.shape[1]
        if loss == "mean":
            x, y = x / math.sqrt(m), y / math.sqrt(m)
        ws = check_widths(widths, depth, x.shape[0], y.shape[0])
        return cls(form="data", depth=depth, widths=ws, loss=loss, phi=None, x=x, y=y,
                   n_samples=m, source=source)

    # -- data-form quantities ------------------------------------------------------
    @property
    def d_in(self) -> int:
        return self.widths[0]

    @property
    def d_out(self) -> int:
        return self.widths[-1]

    @cached_property
    def sigma(self) -> np.ndarray | None:
        """Σ = XXᵀ (None in target form, where Σ = I)."""
        return None if self.x is None else self.x @ self.x.T

    @cached_property
    def c(self) -> np.ndarray:
        """C = YXᵀ (Φ in target form)."""
        if self.x is None or self.y is None:
            assert self._phi is not None
            return self._phi
        return self.y @ self.x.T

    @cached_property
    def whitening_residual(self) -> float | None:
        """‖XXᵀ − I‖ (spectral), None in target form."""
        if self.sigma is None:
            return None
        return spectral_norm(self.sigma - np.eye(self.sigma.shape[0]))

    @property
    def whitened(self) -> bool:
        """Target form, or data with XXᵀ = I (to WHITENING_TOL)."""
        r = self.whitening_residual
        return r is None or r <= WHITENING_TOL

    @cached_property
    def whitening_scale(self) -> float:
        """c = tr(XXᵀ)/d_0 (1 in target form): the data are whitened up to scale when
        XXᵀ = cI — Nar & Sastry's own (1/m)XXᵀ = I under the sum convention."""
        if self.sigma is None:
            return 1.0
        return float(np.trace(self.sigma)) / self.sigma.shape[0]

    @cached_property
    def whitened_to_scale(self) -> bool:
        """XXᵀ = cI to WHITENING_TOL relative (target form: True). Then
        ½‖Y − WX‖² = c·½‖W − Φ‖² + const with Φ = YXᵀ/c, so every target-form step-size
        bound holds for the data with η scaled by 1/c."""
        if self.sigma is None:
            return True
        c = self.whitening_scale
        return c > 0 and spectral_norm(self.sigma - c * np.eye(self.sigma.shape[0])) \
            <= WHITENING_TOL * c

    @cached_property
    def sigma_min_x(self) -> float:
        return 1.0 if self.x is None else sigma_min(self.x)

    @property
    def full_rank(self) -> bool:
        """XXᵀ of full rank (relative to ‖X‖, at 1e-12)."""
        return self.sigma_min_x > 1e-12 * max(self.x_norm, 1e-300) if self.x is not None else True

    @cached_property
    def x_norm(self) -> float:
        return 1.0 if self.x is None else spectral_norm(self.x)

    @cached_property
    def y_norm(self) -> float:
        return self.spectrum.rho if self.y is None else spectral_norm(self.y)

    @cached_property
    def xyt_norm(self) -> float:
        """‖XYᵀ‖ = ‖C‖ (= ρ(Φ) in target form, computed once)."""
        if self.x is None:
            return self.spectrum.rho
        return spectral_norm(self.c)

    @cached_property
    def phi(self) -> np.ndarray:
        """Effective target: Φ (target form), YXᵀ (whitened data), CΣ⁺ (other data)."""
        if self._phi is not None:
            return self._phi
        if self.whitened:
            return self.c
        assert self.sigma is not None
        if self.whitened_to_scale:
            return self.c / self.whitening_scale
        return self.c @ np.linalg.pinv(self.sigma, hermitian=True)

    @cached_property
    def _asymmetry(self) -> float:
        """‖Φ − Φᵀ‖_F (inf when Φ is not square)."""
        phi = self.phi
        return asymmetry_norm(phi) if phi.shape[0] == phi.shape[1] else math.inf

    @property
    def _is_symmetric(self) -> bool:
        fro = float(np.linalg.norm(self.phi))
        return self._asymmetry <= SYMMETRY_RTOL * max(fro, 1e-300)

    @cached_property
    def eigenvalues(self) -> np.ndarray | None:
        """Every eigenvalue (ascending) of the symmetric part ½(Φ + Φᵀ) of a symmetric
        target, from one values-only eigensolve; None when Φ is not symmetric or larger
        than :data:`~gdcert.linalg.EIG_DENSE_LIMIT` (then only the extremes are computed,
        by block Lanczos)."""
        if not self._is_symmetric or self.phi.shape[0] > EIG_DENSE_LIMIT:
            return None
        if self._asymmetry == 0.0:  # ½(Φ + Φᵀ) = Φ exactly: no copy of our own
            return eigvalsh_values(self.phi)
        return eigvalsh_values(symmetric_part(self.phi), overwrite=True)

    @cached_property
    def spectrum(self) -> Spectrum:
        """ρ, ‖Φ‖_F, symmetry and (symmetric Φ) λ_min, λ_max, from as few solves as possible.

        Symmetric Φ up to EIG_DENSE_LIMIT: one eigensolve gives λ_min, λ_max and, when Φ
        is exactly symmetric, ρ = max(|λ_min|, |λ_max|). Otherwise ρ is the first value of
        the one values-only SVD (min(shape) ≤ SVD_DENSE_LIMIT, shared with the rank), or
        block Lanczos on the Gram matrix above.
        """
        phi = self.phi
        fro = float(np.linalg.norm(phi))
        square = phi.shape[0] == phi.shape[1]
        asym = self._asymmetry
        symmetric = self._is_symmetric
        lam_min = lam_max = math.nan
        rho = math.nan
        if symmetric:
            ev = self.eigenvalues
            if ev is not None:
                lam_min, lam_max = float(ev[0]), float(ev[-1])
            else:
                sym = phi if asym == 0.0 else symmetric_part(phi)
                lam_min, lam_max = extreme_eigenvalues(sym, overwrite=sym is not phi)
                del sym
            if asym == 0.0:
                rho = max(abs(lam_min), abs(lam_max))
        if math.isnan(rho):
            if not np.any(phi):
                rho = 0.0
            elif min(phi.shape) <= SVD_DENSE_LIMIT:
                rho = float(self.singular_values[0])
            else:
                rho = spectral_norm(phi)
        return Spectrum(rho, fro, square, symmetric, asym, lam_min, lam_max)

    @cached_property
    def singular_values(self) -> np.ndarray:
        """All singular values of the effective target (values only, descending).

        For an exactly symmetric Φ whose eigenvalues are computed anyway these are their
        absolute values (no second decomposition)."""
        ev = self.eigenvalues if self._asymmetry == 0.0 else None
        if ev is not None:
            return np.sort(np.abs(ev))[::-1]
        return svd_values(self.phi)

    @cached_property
    def rank(self) -> int | None:
        """Numerical rank of the effective target; None above RANK_LIMIT unless the
        singular values are known anyway (symmetric Φ up to EIG_DENSE_LIMIT) — otherwise
        it needs every singular value, a full SVD no bound requires."""
        have_values = self._asymmetry == 0.0 and self.eigenvalues is not None
        if min(self.phi.shape) > RANK_LIMIT and not have_values:
            return None
        s = self.singular_values
        if s.size == 0 or s[0] == 0.0:
            return 0
        return int(np.sum(s > s[0] * max(self.phi.shape) * np.finfo(float).eps))

    @property
    def rank_cap(self) -> int:
        """r = min_j d_j: the product W_L⋯W_1 has rank at most r."""
        return min(self.widths)

    @cached_property
    def optimal_loss(self) -> float:
        """Least loss over products of rank ≤ rank_cap (Eckart–Young; Nguegnang eq. 2.6).

        Target form: ``½ Σ_{i>k} σ_i(Φ)²``. Data form: with ``Q = YXᵀΣ^{+1/2}``,
        ``W_k = Q_k Σ^{+1/2}`` (rank-k truncation) and the loss is evaluated from the
        residual ``½‖Y − W_kX‖_F²`` (no cancellation near zero).
        """
        k = self.rank_cap
        if self.x is None:
            if k >= min(self.phi.shape):
                return 0.0
            s = self.singular_values
            return 0.5 * float(np.sum(s[k:] ** 2))
        return 0.5 * float(np.linalg.norm(self.y - self.optimal_product @ self.x) ** 2)

    @cached_property
    def optimal_product(self) -> np.ndarray:
        """A product W of rank ≤ rank_cap attaining :attr:`optimal_loss`."""
        k = self.rank_cap
        if self.x is None:
            if k >= min(self.phi.shape):
                return self.phi
            u, s, vt = np.linalg.svd(self.phi, full_matrices=False)
            return (u[:, :k] * s[:k]) @ vt[:k]
        assert self.sigma is not None
        lam, vec = np.linalg.eigh(self.sigma)
        keep = lam > lam[-1] * self.sigma.shape[0] * np.finfo(float).eps
        inv_half = (vec[:, keep] / np.sqrt(lam[keep])) @ vec[:, keep].T
        q = self.c @ inv_half
        u, s, vt = np.linalg.svd(q, full_matrices=False)
        return (u[:, :k] * s[:k]) @ vt[:k] @ inv_half

    def loss_of_product(self, w: np.ndarray) -> float:
        """ℓ for an end-to-end matrix W, from the residual."""
        if self.x is None:
            return 0.5 * diff_norm_sq(w, self.phi)
        assert self.y is not None
        return 0.5 * float(np.linalg.norm(self.y - w @ self.x) ** 2)

    @property
    def loss_scale(self) -> float:
        """A natural size for gradients: ‖Φ‖_F (target) or ‖C‖_F (data), at least 1e-300."""
        return max(float(np.linalg.norm(self.c)), 1e-300)

    @property
    def zero_network_loss(self) -> float:
        """½‖Φ‖_F² (target form) or ½‖Y‖_F² (data form): the loss of the zero network."""
        if self.y is None:
            return 0.5 * float(np.linalg.norm(self.phi)) ** 2
        return 0.5 * float(np.linalg.norm(self.y)) ** 2

    def rank_k_losses(self) -> np.ndarray:
        """Least loss over products of rank ≤ k, for k = 0, …, min(d_in, d_out).

        BOUNDS.md §1 (Nguegnang et al. eq. 2.6): ½‖Y‖² − ½Σ_{i≤k} σ_i(Q)², Q = YXᵀΣ^{−1/2};
        in target form ½Σ_{i>k} σ_i(Φ)² (Eckart–Young).
        """
        if self.x is None:
            s = self.singular_values
            tail = np.concatenate([np.cumsum((s**2)[::-1])[::-1], [0.0]])
            return 0.5 * tail
        assert self.sigma is not None and self.y is not None
        lam, vec = np.linalg.eigh(self.sigma)
        keep = lam > lam[-1] * self.sigma.shape[0] * np.finfo(float).eps
        inv_half = (vec[:, keep] / np.sqrt(lam[keep])) @ vec[:, keep].T
        s = np.linalg.svd(self.c @ inv_half, compute_uv=False)
        w_ls = self.c @ np.linalg.pinv(self.sigma, hermitian=True)
        loss_ls = 0.5 * float(np.linalg.norm(self.y - w_ls @ self.x)) ** 2
        tail = np.concatenate([np.cumsum((s**2)[::-1])[::-1], [0.0]])
        k_max = min(self.d_in, self.d_out)
        out = loss_ls + 0.5 * tail
        return out[: k_max + 1] if out.size > k_max + 1 else np.pad(
            out, (0, k_max + 1 - out.size), constant_values=out[-1])

    def summary(self) -> dict[str, object]:
        """Facts for the report's problem summary."""
        sp = self.spectrum
        out: dict[str, object] = {
            "source": self.source,
            "form": self.form,
            "shape": list(self.phi.shape),
            "depth": self.depth,
            "widths": list(self.widths),
            "loss": self.loss,
            "rho": sp.rho,
            "fro_norm": sp.fro,
            "square": sp.square,
            "symmetric": sp.symmetric,
            "definiteness": self.definiteness,
            "eig_min": sp.lam_min if sp.symmetric else None,
            "eig_max": sp.lam_max if sp.symmetric else None,
            "rank": self.rank,
            "rank_cap": self.rank_cap,
            "optimal_loss": self.optimal_loss,
        }
        if self.form == "data":
            out.update({
                "n_samples": self.n_samples,
                "whitening_residual": self.whitening_residual,
                "whitened": self.whitened,
                "whitening_scale": self.whitening_scale if self.whitened_to_scale else None,
                "sigma_min_x": self.sigma_min_x,
                "xxt_full_rank": self.full_rank,
            })
        return out

    @property
    def definiteness(self) -> str:
        sp = self.spectrum
        if not sp.symmetric:
            return "n/a (not symmetric)"
        tol = 1e-10 * max(abs(sp.lam_min), abs(sp.lam_max), 1e-300)
        if sp.lam_min > tol:
            return "positive definite"
        if sp.lam_min >= -tol:
            return "positive semidefinite"
        if sp.lam_max <= tol:
            return "negative semidefinite"
        return "indefinite"
