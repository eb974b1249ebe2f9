"""One place for the argument checks every entry point shares (step size, counts).

Each check returns the value in canonical form or raises a one-line
:class:`~gdcert.errors.InputError` naming the argument as the caller spells it
(``name``: ``lr`` in the API, ``--lr`` on the command line).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from gdcert.errors import InputError

_LABELS: ContextVar[tuple[tuple[str, str], ...]] = ContextVar("gdcert_argument_labels",
                                                              default=())


@contextmanager
def argument_names(**names: str) -> Iterator[None]:
    """Within the block, error messages name arguments as the caller spells them.

    The API names its arguments (``init``, ``weights``, ``lr``); the CLI wraps its calls in
    ``argument_names(init="--init", weights="--weights", lr="--lr")`` so that the same
    checks name the options a user typed.
    """
    token = _LABELS.set(tuple({**dict(_LABELS.get()), **names}.items()))
    try:
        yield
    finally:
        _LABELS.reset(token)


def label(name: str) -> str:
    """How the current caller spells the argument ``name`` (see :func:`argument_names`)."""
    return dict(_LABELS.get()).get(name, name)


def check_lr(value: object, *, name: str | None = None) -> float:
    """A step size η: a finite real number > 0."""
    name = name or label("lr")
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
