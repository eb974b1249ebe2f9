"""Log-space helpers shared by the bound functions."""

from __future__ import annotations

import math

LOG10_2 = math.log10(2.0)


def log10_rho_power(log10_rho: float, depth: int) -> float:
    """log10 of ρ^{2(L−1)/L}; ``-inf`` for ρ = 0 when L ≥ 2, 0 for L = 1."""
    exponent = 2.0 * (depth - 1) / depth
    if exponent == 0.0:
        return 0.0
    return exponent * log10_rho


def log10_min(*values: float) -> float:
    """min() that ignores NaN."""
    finite = [v for v in values if not math.isnan(v)]
    return min(finite) if finite else math.nan


def check_depth(depth: int) -> None:
    """Depth L must be an integer ≥ 1."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be an integer >= 1, got {depth!r}")


def check_nonneg(name: str, value: float) -> None:
    """A norm or singular value: finite and ≥ 0."""
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")


def check_step(eta: float) -> None:
    """Step size η: finite and > 0."""
    if not (math.isfinite(eta) and eta > 0.0):
        raise ValueError(f"step size must be finite and > 0, got {eta!r}")
