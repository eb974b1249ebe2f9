"""Exact local stability threshold: ``η ≤ 2/λ_max(∇²ℓ(Ŵ⃗))`` at a critical point.

Not from one of the papers: Lyapunov's indirect method applied to the GD map
``θ ↦ θ − η∇ℓ(θ)``, whose Jacobian at a critical point is ``I − η∇²ℓ`` — the tool
behind Nar & Sastry's Theorem 1. ``λ_max`` is computed matrix-free: Hessian–vector
products by forward-mode differentiation of the prefix/suffix-product gradient
(:class:`HessianOperator`: everything independent of the direction computed once per
point), fed to a three-term Lanczos iteration with a residual stopping rule
(:func:`lanczos_max`); the Hessian is never formed except for tiny problems.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from contextlib import nullcontext

import numpy as np

from gdcert.bounds._common import LOG10_2
from gdcert.errors import GdcertWarning
from gdcert.linalg import blas_threads, log10_or_inf, prefix_suffix, residual_gradient
from gdcert.results import Assumption, Bound

PAPER = "gdcert (Lyapunov's indirect method; cf. Nar & Sastry 2018, Theorem 1)"

#: Below this many parameters the Hessian is assembled column by column (exact).
DENSE_PARAMS = 400


#: Relative residual ‖Hy − θy‖ ≤ tol·|θ| that ends the Lanczos run (θ's error is then
#: ≲ tol²·|θ|²/gap).
LANCZOS_TOL = 1e-10
#: Largest number of Lanczos steps (each one Hessian–vector product).
LANCZOS_MAX_STEPS = 5000
#: The Gauss–Newton shortcut is taken when the dropped residual term can move λ_max by
#: at most GN_RTOL·|λ_max| (a worst-case bound, :meth:`HessianOperator.residual_term_bound`;
#: at a computed minimum it is ~1e-13 while the actual change is at rounding level).
GN_RTOL = 1e-12
#: Products with every dimension at most this run on one BLAS thread.
SMALL_PRODUCT = 256

HvpState = tuple[list[np.ndarray], list[np.ndarray], np.ndarray]


def _state(weights: Sequence[np.ndarray], sigma: np.ndarray | None,
           c: np.ndarray) -> HvpState:
    """Prefix/suffix products and G at W⃗: independent of the direction, computed once."""
    pre, suf = prefix_suffix(weights)
    return pre, suf, residual_gradient(suf[0] @ weights[0], sigma, c)


class HessianOperator:
    """∇²ℓ(W⃗) as an operator on flat parameter vectors, for many products at one point.

    Everything that does not depend on the direction is computed once (see :func:`hvp`
    for the formula): the prefix and suffix products ``Q_j``, ``P_j``, the residual
    ``G``, and ``GQ_jᵀ`` and ``P_jᵀG``. A product then costs the two recursions for
    ``dQ_j``, ``dP_j`` and three products per layer; at a point where ``G = 0`` exactly
    only ``dW = Σ_i P_iV_iQ_i`` and ``P_jᵀ dG Q_jᵀ`` remain (half the work).
    """

    def __init__(self, weights: Sequence[np.ndarray], sigma: np.ndarray | None,
                 c: np.ndarray, *, gauss_newton: bool = False) -> None:
        self.weights = [np.ascontiguousarray(w, dtype=np.float64) for w in weights]
        self.sigma = sigma
        self.pre, self.suf, self.g = _state(self.weights, sigma, c)
        #: drop the residual (second-order) terms: the Gauss–Newton part JᵀJ only
        self.residual_zero = gauss_newton or not np.any(self.g)
        depth = len(self.weights)
        self.g_pre_t = [self.g @ self.pre[j].T for j in range(depth)]
        self.suf_t_g = [self.suf[j].T @ self.g for j in range(depth)]
        self.shapes = [w.shape for w in self.weights]
        sizes = [a * b for a, b in self.shapes]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.size = int(self.offsets[-1])

    def with_gauss_newton(self) -> HessianOperator:
        """The same point's Gauss–Newton operator JᵀJ (shares every precomputed product)."""
        gn = object.__new__(HessianOperator)
        gn.__dict__.update(self.__dict__)
        gn.residual_zero = True
        return gn

    def residual_term_bound(self) -> float:
        """An upper bound on ‖∇²ℓ − JᵀJ‖₂, the residual (second-order) part of the Hessian.

        ``vᵀ(∇²ℓ − JᵀJ)v = ⟨G, d²W[V,V]⟩`` with ``d²W[V,V] = 2Σ_{i<j} W_L⋯V_j⋯V_i⋯W_1``,
        and ``‖V_j M V_i‖_F ≤ ‖V_j‖_F‖M‖₂‖V_i‖_F``, ``‖V_i‖_F‖V_j‖_F ≤ ½`` for a unit v, so
        ``|vᵀ(∇²ℓ − JᵀJ)v| ≤ ‖G‖_F Σ_{i<j} Π_{k≠i,j}‖W_k‖₂ ≤ ‖G‖_F·C(L,2)·Π_{k≥3}n_(k)``
        (n_(k): the layers' spectral norms in increasing order; the two smallest dropped).
        By Weyl's inequality λ_max moves by at most this much when the term is dropped.
        """
        if not np.any(self.g):
            return 0.0
        depth = len(self.weights)
        if depth < 2:
            return 0.0
        logs = np.sort(self._log_layer_norms())[2:]
        log_b = (math.log(float(np.linalg.norm(self.g))) + math.log(depth * (depth - 1) / 2)
                 + float(np.sum(logs)))
        return math.exp(log_b) if log_b < 709 else math.inf

    def gauss_newton_upper_bound(self) -> float:
        """An upper bound on λ_max(JᵀJ): ``‖Σ‖₂ Σ_j Π_{k≠j}‖W_k‖₂²`` (‖J_j‖ ≤ ‖P_j‖‖Q_j‖‖Σ‖^½).

        Equal to λ_max at a balanced minimum, where every layer has norm ρ^{1/L}.
        """
        logs = self._log_layer_norms()
        total = float(np.sum(logs))
        with np.errstate(invalid="ignore"):
            terms = 2.0 * (total - logs)
        if not np.all(np.isfinite(logs)):  # a zero layer: only the terms without it count
            zero = ~np.isfinite(logs)
            terms = np.where(zero & (zero.sum() == 1), 2.0 * float(np.sum(logs[~zero])),
                             -np.inf)
        top = float(np.max(terms))
        if top == -math.inf:
            return 0.0
        log_u = top + math.log(float(np.sum(np.exp(terms - top))))
        if self.sigma is not None:
            log_u += math.log(max(float(np.linalg.eigvalsh(self.sigma)[-1]), 1e-300))
        return math.exp(log_u) if log_u < 709 else math.inf

    def _log_layer_norms(self) -> np.ndarray:
        """ln ‖W_k‖₂ of every layer (−inf for a zero layer), computed once."""
        if not hasattr(self, "_log_norms"):
            norms = [float(np.linalg.svd(w, compute_uv=False)[0]) if np.any(w) else 0.0
                     for w in self.weights]
            with np.errstate(divide="ignore"):
                self._log_norms = np.log(np.array(norms))
        return self._log_norms

    def output_gram(self) -> tuple[Callable[[np.ndarray], np.ndarray], int, np.ndarray]:
        """``JJᵀ`` on the output space, its order and a start vector: ``(matvec, n, v0)``.

        With ``J(V⃗) = dW Σ^{1/2}`` (``dW`` in target form), ``JJᵀ(E) = Σ_i A_i E B_i``,
        ``A_i = P_iP_iᵀ``, ``B_i = Σ^{1/2}Q_iᵀQ_iΣ^{1/2}`` (BOUNDS.md, ``stability.exact``):
        the same nonzero spectrum as the Gauss–Newton Hessian ``JᵀJ``, on d_L·d_0 numbers
        instead of Σ_j d_j d_{j−1}, at two products per layer (A_i, B_i formed once).
        ``v0`` is ``u vᵀ`` for the top singular pair of ``WΣ^{1/2}`` — the top eigenvector
        at a balanced minimum, a good direction elsewhere — plus an equal-weight random
        part, so that no eigenvector is missing from the start.
        """
        depth = len(self.weights)
        root = None
        if self.sigma is not None:
            lam, vec = np.linalg.eigh(self.sigma)
            root = (vec * np.sqrt(np.clip(lam, 0.0, None))) @ vec.T
        a = np.stack([self.suf[i] @ self.suf[i].T for i in range(depth)])
        bs = [self.pre[i].T @ self.pre[i] for i in range(depth)]
        if root is not None:
            bs = [root @ b @ root for b in bs]
        b = np.stack(bs)
        d_out, d_in = a.shape[1], b.shape[1]

        def matvec(x: np.ndarray) -> np.ndarray:
            e = x.reshape(d_out, d_in)
            # (A_i E) for every i in one product, then each times B_i, summed
            ae = (a.reshape(depth * d_out, d_out) @ e).reshape(depth, d_out, d_in)
            return np.einsum("ijk,ikl->jl", ae, b, optimize=True).ravel()

        w = self.suf[0] @ self.weights[0]
        if root is not None:
            w = w @ root
        u, _, vt = np.linalg.svd(w, full_matrices=False)
        guess = np.outer(u[:, 0], vt[0]).ravel()
        rnd = np.random.default_rng(0).standard_normal(d_out * d_in)
        v0 = guess / max(float(np.linalg.norm(guess)), 1e-300) + rnd / np.linalg.norm(rnd)
        return matvec, d_out * d_in, v0

    def layers(self, x: np.ndarray) -> list[np.ndarray]:
        """Views of a flat vector as the layers' shapes."""
        o = self.offsets
        return [x[o[j]:o[j + 1]].reshape(s) for j, s in enumerate(self.shapes)]

    def apply_layers(self, direction: Sequence[np.ndarray]) -> list[np.ndarray]:
        """∇²ℓ(W⃗)[V⃗], layer by layer."""
        ws, pre, suf = self.weights, self.pre, self.suf
        depth = len(ws)
        # dP_j (derivative of the product of the layers after j), j = L−1 … 0
        d_suf: list[np.ndarray | None] = [None] * depth
        acc: np.ndarray | None = None
        for j in range(depth - 2, -1, -1):
            term = suf[j + 1] @ direction[j + 1]
            acc = term if acc is None else acc @ ws[j + 1] + term
            d_suf[j] = acc
        d_w = suf[0] @ direction[0]
        if d_suf[0] is not None:
            d_w = d_w + d_suf[0] @ ws[0]
        d_g = d_w if self.sigma is None else d_w @ self.sigma
        out = [suf[j].T @ d_g @ pre[j].T for j in range(depth)]
        if self.residual_zero:
            return out
        # dQ_j (derivative of the product of the layers before j), j = 0 … L−1
        d_pre: np.ndarray | None = None
        for j in range(depth):
            if d_pre is not None:
                out[j] += self.suf_t_g[j] @ d_pre.T
            dj = d_suf[j]
            if dj is not None:
                out[j] += dj.T @ self.g_pre_t[j]
            if j + 1 < depth:
                step = direction[j] @ pre[j]
                d_pre = step if d_pre is None else step + ws[j] @ d_pre
        return out

    def matvec(self, x: np.ndarray) -> np.ndarray:
        """∇²ℓ(W⃗) x for a flat vector x (layers W_1 … W_L, each row-major)."""
        out = np.empty(self.size)
        for view, h in zip(self.layers(out), self.apply_layers(self.layers(x)), strict=True):
            view[...] = h
        return out


def hvp(weights: Sequence[np.ndarray], direction: Sequence[np.ndarray],
        sigma: np.ndarray | None, c: np.ndarray, *,
        state: HvpState | None = None) -> list[np.ndarray]:
    """Hessian–vector product ∇²ℓ(W⃗)[V⃗] of ``ℓ = ½‖WX − Y‖_F²`` (or ``½‖W − Φ‖_F²``).

    With ``Q_j = W_{j−1}⋯W_1``, ``P_j = W_L⋯W_{j+1}`` and ``G = WΣ − C``
    (``W − Φ`` in target form), ``∇_j = P_jᵀ G Q_jᵀ``. Differentiating along V⃗:

    ``d∇_j = dP_jᵀ G Q_jᵀ + P_jᵀ dG Q_jᵀ + P_jᵀ G dQ_jᵀ``, ``dG = dW Σ`` (``dW``
    in target form), ``dW = Σ_i P_i V_i Q_i``, where the recursions
    ``dQ_{j+1} = V_j Q_j + W_j dQ_j`` and ``dP_{j−1} = dP_j W_j + P_j V_j`` cost O(L)
    matrix products in all. For many products at one point use
    :class:`HessianOperator` (``state`` is accepted for compatibility and ignored).
    """
    del state
    return HessianOperator(weights, sigma, c).apply_layers(direction)


def lanczos_max(matvec: Callable[[np.ndarray], np.ndarray], n: int, *,
                tol: float = LANCZOS_TOL, max_steps: int = LANCZOS_MAX_STEPS,
                seed: int = 0, v0: np.ndarray | None = None) -> tuple[float, int, bool]:
    """Largest eigenvalue of a symmetric operator by Lanczos: ``(θ, steps, converged)``.

    Three-term recurrence (memory: three vectors, whatever the parameter count) with the
    residual stopping rule ``‖Hy − θy‖ ≤ tol·|θ|`` for the top Ritz pair; the residual
    is ``β_{m+1}|s_m|`` (s_m: last component of the Ritz vector in the Lanczos basis), so
    it needs no extra product. Without reorthogonalisation copies of converged Ritz
    values can appear later, but the extreme one and its residual estimate stay valid
    (Paige); the run stops at its first convergence. A rounding floor 1e-13·max|θ_i|
    covers θ ≈ 0, and an invariant subspace (β = 0) ends the run exactly.
    """
    q = (np.random.default_rng(seed).standard_normal(n) if v0 is None
         else np.array(v0, dtype=np.float64))
    q /= np.linalg.norm(q)
    q_prev = np.zeros(n)
    alphas: list[float] = []
    betas: list[float] = []
    beta = 0.0
    theta = math.nan
    next_check = 1
    # no stop at m = n: without reorthogonalisation T_n is not the exact projection
    for m in range(1, max_steps + 1):
        w = matvec(q)
        alpha = float(q @ w)
        w -= alpha * q
        w -= beta * q_prev
        # one step of local reorthogonalisation against the last two vectors
        w -= float(q @ w) * q
        w -= float(q_prev @ w) * q_prev
        alphas.append(alpha)
        beta = float(np.linalg.norm(w))
        if m >= next_check or beta == 0.0 or m == max_steps:
            next_check = m + max(1, m // 10)
            t = np.diag(alphas)
            if m > 1:
                off = np.array(betas)
                t += np.diag(off, 1) + np.diag(off, -1)
            vals, vecs = np.linalg.eigh(t)
            theta = float(vals[-1])
            resid = beta * abs(float(vecs[-1, -1]))
            floor = 1e-13 * float(np.max(np.abs(vals)))
            if resid <= max(tol * abs(theta), floor) or beta <= 1e-300:
                return theta, m, True
        betas.append(beta)
        q_prev, q = q, w / beta
    return theta, len(alphas), False


def top_hessian_eigenvalue(weights: Sequence[np.ndarray], sigma: np.ndarray | None,
                           c: np.ndarray, *, tol: float = LANCZOS_TOL) -> tuple[float, str]:
    """λ_max(∇²ℓ(W⃗)) and the method used (``"dense"`` or ``"lanczos"``).

    Up to DENSE_PARAMS parameters the Hessian is assembled from one product per unit
    vector; above, :func:`lanczos_max` on :class:`HessianOperator` products. Products
    of small layers run on one BLAS thread.
    """
    op = HessianOperator(weights, sigma, c)
    n = op.size
    small = max(max(s) for s in op.shapes) <= SMALL_PRODUCT
    with blas_threads(1) if small else nullcontext():
        if n <= DENSE_PARAMS:
            h = np.column_stack([op.matvec(e) for e in np.eye(n)])
            h = 0.5 * (h + h.T)
            return float(np.linalg.eigvalsh(h)[-1]), "dense"
        lam, converged = math.nan, False
        bound = op.residual_term_bound() if not op.residual_zero else 0.0
        if 0.0 < bound <= GN_RTOL * op.gauss_newton_upper_bound():
            # At a (near-)zero-residual point the second-order term is rounding noise:
            # Lanczos on JJᵀ (output space, two products per layer and step, warm start)
            # is exact to ``bound`` (Weyl); kept only when that is below GN_RTOL·|λ|.
            matvec, n_out, v0 = op.output_gram()
            lam, _, converged = lanczos_max(matvec, n_out, tol=tol, v0=v0)
            if not (converged and bound <= GN_RTOL * abs(lam)):
                converged = False
        if not converged:
            lam, _, converged = lanczos_max(op.matvec, n, tol=tol)
    if not converged:  # pragma: no cover - rare
        warnings.warn("Lanczos did not fully converge; λ_max is approximate",
                      GdcertWarning, stacklevel=2)
    return lam, "lanczos"


def balanced_minimum(u: np.ndarray, s: np.ndarray, vt: np.ndarray,
                     widths: Sequence[int]) -> list[np.ndarray]:
    """Balanced factorisation of ``U diag(s) Vᵀ`` into layers of the given widths.

    ``W_1 = P_1 S^{1/L} Vᵀ``, ``W_j = P_j S^{1/L} P_{j−1}ᵀ``, ``W_L = U S^{1/L} P_{L−1}ᵀ``
    with ``P_j = I_{d_j, k}`` (k = len(s) ≤ min hidden width). Every
    ``W_{j+1}ᵀW_{j+1} = W_jW_jᵀ`` (balanced), and the product is ``U S Vᵀ``.
    """
    depth = len(widths) - 1
    k = s.size
    root = s ** (1.0 / depth)
    out = []
    for j in range(1, depth + 1):
        left = u if j == depth else np.eye(widths[j], k)
        right = vt.T if j == 1 else np.eye(widths[j - 1], k)
        out.append((left * root) @ right.T)
    return out


def exact(*, weights: Sequence[np.ndarray], sigma: np.ndarray | None, c: np.ndarray,
          where: str, grad_norm: float | None = None, loss_scale: float = 1.0,
          closed_form_rho: float | None = None) -> Bound:
    """Exact local stability threshold ``η ≤ 2/λ_max(∇²ℓ(Ŵ⃗))`` at a critical point.

    At a zero-loss point ``∇²ℓ`` has the nonzero spectrum of
    ``E ↦ Σ_i A_i E B_i``; here the full Hessian (including the residual term) is used,
    so the threshold is exact at any critical point. At the balanced global minimum it
    equals Nar & Sastry's Corollary 1 exactly, and at any critical point it is ≤ their
    Theorem 1 (tests check both). ``where`` names the point (``"weights"`` or
    ``"balanced minimum"``).

    When ``closed_form_rho`` is given (the matrix-free computation was skipped as too
    large), the balanced minimum's spectrum is used in closed form:
    in the SVD basis the map is diagonal with eigenvalues
    ``Σ_i s_a^{2(L−i)/L} s_b^{2(i−1)/L}``, whose maximum is ``L ρ^{2(L−1)/L}``.
    """
    depth = len(weights)
    if closed_form_rho is not None:
        log_lam = math.log10(depth) + (2.0 * (depth - 1) / depth) * log10_or_inf(closed_form_rho)
        lam, method = 10.0**log_lam if log_lam < 308 else math.inf, "closed-form"
    else:
        lam, method = top_hessian_eigenvalue(weights, sigma, c)
        log_lam = log10_or_inf(max(lam, 0.0))
    assumptions = []
    critical = True
    if grad_norm is not None:
        critical = grad_norm <= 1e-6 * max(loss_scale, 1e-300)
        assumptions.append(Assumption("the point is critical: ‖∇ℓ‖_F ≈ 0", critical, grad_norm))
    return Bound(
        id="stability.exact", paper=PAPER, theorem="exact local threshold 2/λ_max(∇²ℓ)",
        kind="exact-local", applies=critical,
        reason="" if critical else
        f"the point is not critical (‖∇ℓ‖_F = {grad_norm:.3g}): local stability is undefined",
        log10_max_step=LOG10_2 - log_lam, init=None, point=where,
        assumptions=tuple(assumptions),
        guarantee=(f"at the {where}: above this step size the point is linearly unstable for "
                   "GD; at or below it, it is not repelling (a local statement only)"),
        extras={"where": where, "lambda_max": lam, "method": method},
    )
