"""The empirical edge search: the largest constant step size at which GD still reaches
the optimal loss, within the iteration budget, for every seed.

Found by batched bracketing (factors of 4 around a starting guess, moving up or down) and
batched bisection on a log scale: each round asks ``converge`` about several candidate step
sizes at once (one call of the compiled core in the API), until the bracket is within
``rtol``. This module only searches: the API supplies ``converge`` (simulation) and the
starting guess (a bound), and compares the bounds with the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from gdcert.errors import InputError


def _bracket(history: Sequence[tuple[float, bool]]) -> tuple[float, float]:
    """(lo, hi): the top of the first run of successes (scanning up in η) and the failure
    just above it. Failures below the first success (too slow for the budget) are
    ignored; a success above a failure (non-monotone) does not move the edge up."""
    pts = sorted(history)
    lo, hi = 0.0, math.inf
    seen_success = False
    for e, ok in pts:
        if ok:
            seen_success = True
            lo = e
        elif seen_success:
            hi = e
            break
    return lo, hi


def search(converge: Callable[[Sequence[float]], list[bool]], *, start: float, rtol: float,
           per_round: int = 6, what: str = "") -> tuple[float, float, list[tuple[float, bool]]]:
    """``(lo, hi, history)``: ``lo`` converged, ``hi`` did not, ``hi/lo ≤ 1 + rtol``.

    ``converge(etas)`` says, for each step size, whether every seed converged.
    Non-monotone behaviour (a step size that converges above one that does not) is
    resolved towards the smallest failure.
    """
    if not 0 < rtol < 1:
        raise InputError(f"rtol must be in (0, 1), got {rtol}")
    history: list[tuple[float, bool]] = []

    def ask(etas: Sequence[float]) -> None:
        history.extend(zip(etas, converge(etas), strict=True))

    guess = start
    lo, hi = 0.0, math.inf
    for _ in range(40):
        ask([guess * 4.0**k for k in range(-3, 4)])
        lo, hi = _bracket(history)
        if lo > 0 and math.isfinite(hi):
            break
        guess = guess * 4.0**7 if lo > 0 else guess / 4.0**7
    if lo == 0.0:
        raise InputError(f"no step size down to {guess / 4**3:.3g} reached the optimal loss "
                         f"{what}for every seed: raise the iterations or the tolerance")
    if not math.isfinite(hi):
        raise InputError(f"every step size up to {lo:.3g} converged: no edge found")
    while hi / lo > 1.0 + rtol:
        ask(list(np.geomspace(lo, hi, per_round + 2)[1:-1]))
        lo, hi = _bracket(history)
    return lo, hi, history
