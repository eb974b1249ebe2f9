"""gdcert: certify step sizes for gradient descent on deep linear networks.

The public API is imported lazily so that ``import gdcert`` (and ``gdcert --help``)
stays fast: numpy, scipy and numba are loaded only by the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    # the API (gdcert.api): orchestration
    "certify": ("gdcert.api", "certify"),
    "simulate": ("gdcert.api", "simulate"),
    "edge": ("gdcert.api", "find_edge"),
    "check": ("gdcert.api", "check"),
    "certify_relu": ("gdcert.api", "certify_relu"),
    "load_problem": ("gdcert.api", "load_problem"),
    # inputs and specifications
    "Problem": ("gdcert.problem", "Problem"),
    "Init": ("gdcert.inits", "Init"),
    "InitSpec": ("gdcert.spec", "InitSpec"),
    "StepSpec": ("gdcert.spec", "StepSpec"),
    # results
    "Report": ("gdcert.results", "Report"),
    "Bound": ("gdcert.results", "Bound"),
    "Assumption": ("gdcert.results", "Assumption"),
    "Verdict": ("gdcert.results", "Verdict"),
    "Run": ("gdcert.results", "Run"),
    "Simulation": ("gdcert.results", "Simulation"),
    "Edge": ("gdcert.results", "Edge"),
    "CheckResult": ("gdcert.results", "CheckResult"),
    # errors
    "InputError": ("gdcert.errors", "InputError"),
    "GdcertWarning": ("gdcert.errors", "GdcertWarning"),
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from gdcert.api import certify, certify_relu, check, load_problem, simulate  # noqa: F401
    from gdcert.api import find_edge as edge  # noqa: F401
    from gdcert.errors import GdcertWarning, InputError  # noqa: F401
    from gdcert.inits import Init  # noqa: F401
    from gdcert.problem import Problem  # noqa: F401
    from gdcert.results import (  # noqa: F401
        Assumption,
        Bound,
        CheckResult,
        Edge,
        Report,
        Run,
        Simulation,
        Verdict,
    )
    from gdcert.spec import InitSpec, StepSpec  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'gdcert' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({n for n in globals() if not n.startswith("_") and n not in (
        "Any", "TYPE_CHECKING", "annotations")} | set(_LAZY) | {"__version__"})
