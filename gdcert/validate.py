"""One place for the argument checks every entry point shares (step size, counts).

Each check returns the value in canonical form or raises a one-line
:class:`~gdcert.errors.InputError` naming the argument as the caller spells it
(``name``: ``lr`` in the API, ``--lr`` on the command line).
"""

from __future__ import annotations

import math
import numbers

from gdcert.errors import InputError


def check_lr(value: object, *, name: str = "lr") -> float:
    """A step size η: a finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a positive finite number, got {str(value)[:80]!r}")
    eta = float(value)
    if not (math.isfinite(eta) and eta > 0):
        raise InputError(f"{name} must be a positive finite number, got {value!r}")
    return eta


def check_count(value: object, *, name: str, minimum: int = 1) -> int:
    """An integer ≥ ``minimum`` (integral floats such as ``1e4`` accepted)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be an integer >= {minimum}, got {str(value)[:80]!r}")
    if isinstance(value, float) and not value.is_integer():
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    n = int(float(value))
    if n < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {n}")
    return n
