"""Wu, Wang & Ma, "Global Convergence of Gradient Descent for Deep Linear Residual
Networks", NeurIPS 2019.

References
----------
L. Wu, Q. Wang and C. Ma. Global convergence of gradient descent for deep linear
residual networks. NeurIPS 2019. https://arxiv.org/abs/1911.00645
"""

from __future__ import annotations

import math

from gdcert.bounds._common import check_depth, check_nonneg
from gdcert.results import Assumption, Bound

PAPER = "Wu, Wang & Ma (2019)"


def phi_constant(*, fro_norm: float, depth: int) -> float:
    """φ = max{2‖Φ‖_F, 3 L^{−1/2}, 1} (Theorem 4.3)."""
    return max(2.0 * fro_norm, 3.0 / math.sqrt(depth), 1.0)


def iterations_to_loss(*, eta: float, loss0: float, eps: float) -> float:
    """t_ε = ⌈ln(ε/R(0)) / ln(1 − η/2)⌉ from the envelope R(t) ≤ (1 − η/2)^t R(0).

    0 when R(0) ≤ ε already; computed with log1p so tiny η loses no accuracy; ``inf``
    when η is so small (or underflowed to 0) that the count exceeds a float, or ε ≤ 0.
    """
    if loss0 <= eps:
        return 0
    rate = math.log1p(-eta / 2.0)
    if rate == 0.0 or eps <= 0.0:  # η underflowed, or ε = 0 (e.g. 10⁻⁶·R(0) underflowed)
        return math.inf
    t = math.log(eps / loss0) / rate
    return float(math.ceil(t)) if math.isfinite(t) else math.inf


def thm4_3(*, fro_norm: float, depth: int, square: bool, square_layers: bool,
           eps: float | None = None) -> Bound:
    """Zero-asymmetric (ZAS) initialisation: a sufficient step size with a loss envelope.

    Wu, Wang & Ma (2019), Theorem 4.3: target form, Φ ∈ R^{d×d}, square d×d layers,
    L ≥ 2, ZAS init ``W_L(0) = 0``, ``W_j(0) = I`` (j < L). With
    ``φ = max{2‖Φ‖_F, 3L^{−1/2}, 1}``,

    .. math:: η ≤ \\min\\{(4L^3φ^6)^{−1},\\; (144L^2φ^4)^{−1}\\}
              ⇒  R(t) ≤ (1 − η/2)^t R(0),  R(0) = ½‖Φ‖_F².

    Extras: ``R0`` and the iterations to reach a loss ``eps`` (default 10⁻⁶·R(0)) at
    the bound. Notes: Appendix A's ``φ ≥ e/√L`` is the same condition (3 ≥ e);
    the paper's rectangular remark covers only the continuous-time Theorem 4.1, so
    non-square targets or layers are reported as not applicable.
    """
    check_depth(depth)
    check_nonneg("fro_norm", fro_norm)
    a = [
        Assumption("Φ is square", square, failed="Φ is not square (d_L ≠ d_0)"),
        Assumption("all layers are square d×d", square_layers,
                   failed="the layers are not all square (the widths differ)"),
        Assumption("depth L ≥ 2", depth >= 2, depth,
                   failed="L = 1: Theorem 4.3 needs depth L ≥ 2"),
    ]
    if not all(x.holds for x in a):
        failed = next(x.finding for x in a if not x.holds)
        return Bound(id="wu_wang_ma.thm4_3", paper=PAPER, theorem="Theorem 4.3",
                     kind="sufficient", applies=False, reason=failed,
                     log10_max_step=math.nan, guarantee="", init="zas", assumptions=tuple(a))
    phi = phi_constant(fro_norm=fro_norm, depth=depth)
    lg_l, lg_phi = math.log10(depth), math.log10(phi)
    log10_eta = min(
        -(math.log10(4.0) + 3.0 * lg_l + 6.0 * lg_phi),
        -(math.log10(144.0) + 2.0 * lg_l + 4.0 * lg_phi),
    )
    loss0 = 0.5 * fro_norm * fro_norm  # (** would raise OverflowError above 1.3e154)
    eps_eff = eps if eps is not None else 1e-6 * loss0
    eta = 10.0**log10_eta
    return Bound(
        id="wu_wang_ma.thm4_3", paper=PAPER, theorem="Theorem 4.3", kind="sufficient",
        applies=True, log10_max_step=log10_eta, init="zas", assumptions=tuple(a),
        guarantee="from ZAS init the loss obeys R(t) ≤ (1 − η/2)^t R(0) → global minimum",
        extras={"phi": phi, "R0": loss0, "loss_target": eps_eff,
                "iterations_to_loss": iterations_to_loss(eta=eta, loss0=loss0, eps=eps_eff)},
    )
