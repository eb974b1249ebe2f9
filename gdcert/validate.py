"""One place for the argument checks every entry point shares (step size, counts).

Each check returns the value in canonical form or raises a one-line
:class:`~gdcert.errors.InputError` naming the argument as the caller spells it
(``name``: ``lr`` in the API, ``--lr`` on the command line).
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

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
        raise InputError(f"{name} must be a positive finite number, got {brief(value)}")
    return eta


def check_count(value: object, *, name: str, minimum: int = 1) -> int:
    """An integer ≥ ``minimum`` (integral floats such as ``1e4`` accepted)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be an integer >= {minimum}, got {str(value)[:80]!r}")
    if isinstance(value, float) and not value.is_integer():
        raise InputError(f"{name} must be an integer >= {minimum}, got {brief(value)}")
    return check_int(value, name=name, minimum=minimum)


# --------------------------------------------------------------------------- user values

#: The most characters of a user-supplied value an error message shows.
SHOWN_CHARS = 80
INT64_MAX = 2**63 - 1


def brief(value: object, *, limit: int = SHOWN_CHARS) -> str:
    """A bounded ``repr`` of a user value for error messages (never more than ``limit``
    characters, cheap even for a "billion laughs" document of shared nested lists)."""
    import reprlib

    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxdict, r.maxtuple, r.maxset = 2, 4, 4, 4, 4
    r.maxstring = r.maxother = r.maxlong = limit
    try:
        text = r.repr(value)
    except Exception:  # a hostile __repr__: describe the type only
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_int(value: object, *, name: str, minimum: int = 1,
              maximum: int = INT64_MAX) -> int:
    """An integer in ``[minimum, maximum]`` (int64 at most; integral floats accepted)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be an integer >= {minimum}, got {brief(value)}")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise InputError(f"{name} must be an integer >= {minimum}, got {brief(value)}")
    n = int(value)  # type: ignore[call-overload]
    if n < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {brief(n)}")
    if n > maximum:
        raise InputError(f"{name} must be at most {maximum}, got {brief(n)}")
    return n


# --------------------------------------------------------------------------- resource limits


@dataclass(frozen=True)
class Limits:
    """Resource caps applied while validating inputs (before anything is allocated).

    ``max_memory``: bytes an input or a computation may need (estimate); ``max_iterations``
    and ``max_seeds``: caps of a simulation's iteration budget and seed count. Override
    with the root options ``gdcert --max-memory 16G --max-iterations … --max-seeds …``, the
    environment variables ``GDCERT_MAX_MEMORY``, ``GDCERT_MAX_ITERATIONS``,
    ``GDCERT_MAX_SEEDS``, or :func:`resource_limits` in Python.
    """

    max_memory: int = 4 * 1024**3
    max_iterations: int = 10_000_000
    max_seeds: int = 10_000
    max_dimension: int = 2**31 - 1


_LIMITS: ContextVar[Limits | None] = ContextVar("gdcert_limits", default=None)
_SIZE_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?(?:[eE][0-9]+)?)\s*([kKmMgGtT]?)[iI]?[bB]?\s*")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str, *, name: str = "--max-memory") -> int:
    """``4G``, ``512M``, ``8GB``, ``1e9`` → bytes (one-line error otherwise)."""
    match = _SIZE_RE.fullmatch(str(text))
    if match is None:
        raise InputError(f"{name}: expected a size such as 4G, 512M or 8000000000, "
                         f"got {brief(text)}")
    value = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if not (math.isfinite(value) and 0 < value < 2**62):
        raise InputError(f"{name}: expected a positive size, got {brief(text)}")
    return int(value)


def _env_limits() -> Limits:
    base = Limits()
    out: dict[str, int] = {}
    for field_name, var in (("max_memory", "GDCERT_MAX_MEMORY"),
                            ("max_iterations", "GDCERT_MAX_ITERATIONS"),
                            ("max_seeds", "GDCERT_MAX_SEEDS")):
        raw = os.environ.get(var)
        if raw:
            out[field_name] = (parse_size(raw, name=var) if field_name == "max_memory"
                               else check_int(_number(raw, var), name=var))
    return replace(base, **out)


def _number(text: str, name: str) -> float | int:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise InputError(f"{name}: expected an integer, got {brief(text)}") from None


def limits() -> Limits:
    """The resource limits in force (defaults, the environment, or :func:`resource_limits`)."""
    current = _LIMITS.get()
    return current if current is not None else _env_limits()


@contextmanager
def resource_limits(**overrides: int | None) -> Iterator[Limits]:
    """Within the block, use these limits (``max_memory=...`` bytes, ...); ``None`` keeps one."""
    new = replace(limits(), **{k: v for k, v in overrides.items() if v is not None})
    token = _LIMITS.set(new)
    try:
        yield new
    finally:
        _LIMITS.reset(token)


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PB"  # pragma: no cover


def check_memory(nbytes: float, *, what: str) -> None:
    """Refuse work whose memory estimate ``nbytes`` exceeds the limit (one-line message).

    ``what`` names the culprit (``TARGET big.npy: a 100000×100000 matrix``).
    """
    cap = limits().max_memory
    if nbytes > cap:
        raise InputError(f"{what} needs about {format_bytes(nbytes)}, above the memory limit "
                         f"of {format_bytes(cap)}; raise it with --max-memory (or "
                         "GDCERT_MAX_MEMORY) if this machine has the memory")


def check_dimension(n: int, *, what: str) -> int:
    """A matrix dimension / layer width: a positive integer that fits the limits."""
    cap = limits().max_dimension
    if n > cap:
        raise InputError(f"{what}: dimension {brief(n)} is too large (at most {cap})")
    return n


def _check_capped(value: object, name: str, cap: int, noun: str, option: str) -> int:
    """An integer in ``[1, cap]``; above the cap the message names the opt-in option."""
    n = check_int(value, name=name)
    if n > cap:
        raise InputError(f"{name}: {n} {noun} is above the cap of {cap}; raise it with "
                         f"gdcert --{option} N (or GDCERT_{option.upper().replace('-', '_')}) "
                         "to opt in")
    return n


def check_iterations(value: object, *, name: str | None = None) -> int:
    """An iteration budget: an integer in [1, max_iterations]."""
    return _check_capped(value, name or label("iterations"), limits().max_iterations,
                         "iterations", "max-iterations")


def check_seeds(value: object, *, name: str | None = None) -> int:
    """A seed count: an integer in [1, max_seeds]."""
    return _check_capped(value, name or label("seeds"), limits().max_seeds, "seeds",
                         "max-seeds")


def weights_bytes(widths: Sequence[int], *, copies: int = 8) -> float:
    """Memory of ``copies`` sets of layer matrices W_j (d_j × d_{j-1}, float64)."""
    return float(sum(int(a) * int(b) for a, b in zip(widths[:-1], widths[1:],
                                                        strict=False))) * 8.0 * copies


def check_network_size(widths: Sequence[int], *, what: str, copies: int = 8) -> None:
    """Refuse layer widths whose weights (several copies, for gradients and products)
    exceed the memory limit."""
    for w in widths:
        check_dimension(int(w), what=what)
    shown = "×".join(str(w) for w in widths[:6]) + ("×…" if len(widths) > 6 else "")
    check_memory(weights_bytes(widths, copies=copies), what=f"{what}: widths {shown}")


def clip(text: object, *, limit: int = SHOWN_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters (no quotes added)."""
    out = " ".join(str(text).split())
    return out if len(out) <= limit else out[: limit - 1] + "…"


def shown_path(path: os.PathLike[str] | str, *, limit: int = 80) -> str:
    """A path as error messages show it: at most ``limit`` characters (middle elided)."""
    text = os.fsdecode(os.fspath(path)).encode("utf-8", "backslashreplace").decode()
    text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\0", "\\0")
    if len(text) <= limit:
        return text
    keep = limit - 1
    return text[: keep // 3] + "…" + text[-(keep - keep // 3):]


def stat_error(exc: BaseException) -> str:
    """Why a path could not be accessed, in a few words."""
    if isinstance(exc, ValueError):  # embedded NUL byte
        return "invalid file name (contains a NUL byte)"
    if isinstance(exc, OSError) and exc.errno == 36:  # ENAMETOOLONG
        return "file name too long"
    return str(getattr(exc, "strerror", None) or exc)
