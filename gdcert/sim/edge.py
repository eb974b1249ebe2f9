"""The empirical edge search: the largest constant step size at which GD still reaches
the optimal loss, within the iteration budget, for every seed.

Found by batched bracketing and batched bisection on a log scale: each round asks
``converge`` about several candidate step sizes at once (one call of the compiled core in
the API), until the bracket is within ``rtol``. With a known upper bound (Nar & Sastry's
Corollary 1 is necessary for convergence to a global minimum, and the edge sat within
0.97–1.00 × of it in the audited identity and ZAS cases) the first round spreads its
candidates just below that bound; otherwise it brackets by factors of 4 around a guess.
This module only searches: the API supplies ``converge`` (simulation) and the starting
guess or upper bound (from the bounds), and compares the bounds with the result.
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


#: First-round candidates as fractions of a known upper bound of the edge (Corollary 1):
#: one just above it (expected to fail), then just below it, where audited edges sat.
#: Few on purpose: near the edge both the runs that converge and those that fail take
#: (nearly) the whole budget — a failure there is a run still converging, too slowly —, so
#: every candidate near the edge costs a full run; two rounds of two (one per core) then
#: narrow a 2 % bracket below 1 %.
UPPER_FRACTIONS = (1.002, 0.99, 0.97, 0.9)


def search(converge: Callable[[Sequence[float]], list[bool]], *, start: float, rtol: float,
           per_round: int = 6, what: str = "", upper: float | None = None,
           ) -> tuple[float, float, list[tuple[float, bool]]]:
    """``(lo, hi, history)``: ``lo`` converged, ``hi`` did not, ``hi/lo ≤ 1 + rtol``.

    ``converge(etas)`` says, for each step size, whether every seed converged.
    Non-monotone behaviour (a step size that converges above one that does not) is
    resolved towards the smallest failure. ``upper``, when given, is a step size the edge
    should not exceed (a necessary bound): the first round tries
    :data:`UPPER_FRACTIONS` of it; if that does not bracket the edge, bracketing by factors
    of 4 continues from there (``start`` is used only without ``upper``).
    """
    if not 0 < rtol < 1:
        raise InputError(f"rtol must be in (0, 1), got {rtol}")
    history: list[tuple[float, bool]] = []

    def ask(etas: Sequence[float]) -> None:
        history.extend(zip(etas, converge(etas), strict=True))

    lo, hi = 0.0, math.inf
    guess = start
    if upper is not None and math.isfinite(upper) and upper > 0:
        ask([upper * f for f in UPPER_FRACTIONS])
        lo, hi = _bracket(history)
        # nothing converged: bracket downwards from the smallest candidate; all did: upwards
        guess = upper * min(UPPER_FRACTIONS) / 4.0**3 if lo == 0 else upper * 4.0**3
    if not (lo > 0 and math.isfinite(hi)):
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
