"""gdcert: certify step sizes for gradient descent on deep linear networks.

The public API is imported lazily so that ``import gdcert`` (and ``gdcert --help``)
stays fast: numpy, scipy and numba are loaded only by the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "certify",
    "load_problem",
    "Problem",
    "Report",
    "Bound",
    "Assumption",
    "InputError",
    "GdcertWarning",
]

_LAZY = {
    "certify": ("gdcert.api", "certify"),
    "load_problem": ("gdcert.api", "load_problem"),
    "Problem": ("gdcert.problem", "Problem"),
    "Report": ("gdcert.results", "Report"),
    "Bound": ("gdcert.results", "Bound"),
    "Assumption": ("gdcert.results", "Assumption"),
    "InputError": ("gdcert.errors", "InputError"),
    "GdcertWarning": ("gdcert.errors", "GdcertWarning"),
}

if TYPE_CHECKING:  # pragma: no cover
    from gdcert.api import certify, load_problem  # noqa: F401
    from gdcert.errors import GdcertWarning, InputError  # noqa: F401
    from gdcert.problem import Problem  # noqa: F401
    from gdcert.results import Assumption, Bound, Report  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'gdcert' has no attribute {name!r}")
