"""The CI gate's checks file (``.gdcert.yaml``) and ``lr_from`` lookups in training configs.

A check states a problem (target or dataset, depth, widths, loss convention), an
initialisation, a step size (given directly as ``lr`` or read from a training config with
``lr_from: {file, key}``) and a *requirement* (``necessary``, ``sufficient``,
``verified``; see :mod:`gdcert.api.checks`). :func:`load_checks` parses and validates a
checks file into :class:`~gdcert.spec.CheckSpec` objects; every ``lr_from`` is resolved
here, so configuration errors surface before any computation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdcert.config.document import ConfigDoc
from gdcert.config.keypath import format_keypath, lookup
from gdcert.config.loader import load_any, load_yaml
from gdcert.config.schema import Field, ListOf, positive_float, validate
from gdcert.errors import InputError
from gdcert.spec import (
    DEFAULT_CHECK_INIT,
    DEFAULT_CHECK_ITERATIONS,
    REQUIREMENTS,
    CheckSpec,
    StepSource,
)
from gdcert.spec import INIT_NAMES as ALL_INITS
from gdcert.validate import brief, check_dimension, check_iterations, check_seeds, clip

CHECKS_FILENAMES = (".gdcert.yaml", ".gdcert.yml")
#: Initialisations a check may name (besides an ``.npz`` file of weights W1..WL).
INIT_NAMES = tuple(n for n in ALL_INITS if n != "file")
DEFAULT_INIT = DEFAULT_CHECK_INIT
DEFAULT_ITERATIONS = DEFAULT_CHECK_ITERATIONS

# Keys a check (or the ``defaults`` section) may hold. Nothing is required by the schema
# itself: ``defaults`` fill in missing keys first, then _spec() checks what is needed.
_CHECK_KEYS: dict[str, Field] = {
    "name": Field(str, help="name of the check (unique in the file)"),
    "target": Field(str, help="target matrix file Φ (relative to the checks file)"),
    "data": Field(str, help="dataset .npz with arrays X, Y"),
    "samples_as_rows": Field(bool, help="X, Y hold one sample per row"),
    "depth": Field(int, positive=True, help="network depth L"),
    "widths": Field(ListOf(int, min_length=2), help="layer widths d0..dL"),
    "loss": Field(str, choices=("sum", "mean"), help="loss convention of the training"),
    "init": Field(str, help="initialisation name or .npz of W1..WL"),
    "require": Field(str, choices=REQUIREMENTS, help="requirement"),
    "lr": Field(float, positive=True, help="step size"),
    "lr_from": Field({"file": Field(str, required=True), "key": Field(str, required=True)},
                     help="read the step size from a training config"),
    "seeds": Field(int, positive=True, help="seeds 0..K-1 for random inits (verified)"),
    "iterations": Field(int, positive=True, help="iteration budget per simulation"),
    "tolerance": Field(float, positive=True, help="loss gap counted as converged"),
    "aposteriori": Field(bool, help="try the computer-assisted certificate (default true)"),
}
_DEFAULT_KEYS = {k: v for k, v in _CHECK_KEYS.items() if k != "name"}
CHECKS_SCHEMA: dict[str, Field] = {
    "version": Field(int, choices=(1,), help="checks-file format version"),
    "defaults": Field(_DEFAULT_KEYS, help="values every check inherits"),
    "checks": Field(ListOf(_CHECK_KEYS), required=True, help="the checks"),
}



# --------------------------------------------------------------------------- discovery


def find_checks_file(start: str | os.PathLike[str] | None = None) -> Path:
    """The nearest ``.gdcert.yaml`` (or ``.yml``) in ``start`` (default: cwd) or a parent."""
    here = Path(start if start is not None else Path.cwd()).resolve()
    for directory in (here, *here.parents):
        for name in CHECKS_FILENAMES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    raise InputError(f"no {CHECKS_FILENAMES[0]} found in {here} or any parent directory; "
                     "give a checks file, or TARGET with --depth and --lr for a single check")


# --------------------------------------------------------------------------- lr_from


def _display(path: Path) -> str:
    """A path relative to the working directory when it lies below it (for annotations)."""
    try:
        return os.path.relpath(path.resolve(), Path.cwd().resolve())
    except ValueError:  # another drive (Windows)
        return str(path.resolve())


def resolve_lr_from(file: str | os.PathLike[str], key: str, *,
                    base: str | os.PathLike[str] | None = None) -> tuple[float, StepSource]:
    """Read a step size at dotted ``key`` (``optimizer.lr``, ``stages[1].lr``) from a YAML,
    JSON or TOML training config; ``file`` is relative to ``base`` when given.

    Raises :class:`InputError` naming the file, the key path and the last key found, or
    the value when it is not a positive finite number.
    """
    path = Path(file)
    if base is not None and not path.is_absolute():
        path = Path(base) / path
    shown = _display(path)
    doc = load_any(path)
    doc.path = Path(shown)  # errors name the file as the user sees it from here
    value, line = lookup(doc, key)
    where = f"{shown}:{line}" if line is not None else shown
    if isinstance(value, str) and "${" in value:
        value = _interpolate(doc, key, value, where)
    eta = positive_float(value, where=f"{where}: key {brief(key)}")
    return eta, StepSource(shown, line, key)


def _interpolate(doc: ConfigDoc, key: str, expression: str, where: str) -> Any:
    """Resolve an OmegaConf/Hydra ``${…}`` interpolation at ``key`` (needs omegaconf)."""
    try:
        from omegaconf import OmegaConf
    except ImportError:
        raise InputError(f"{where}: key {brief(key)} is an interpolation {brief(expression)}; "
                         "install omegaconf to resolve it (pip install 'gdcert[omegaconf]') "
                         "or write the number") from None
    try:
        cfg = OmegaConf.create(doc.data)
        return OmegaConf.select(cfg, key, throw_on_missing=True)
    except Exception as exc:  # omegaconf raises its own error types, one per failure
        raise InputError(f"{where}: key {brief(key)}: cannot resolve {brief(expression)} "
                         f"({clip(exc)})") from None


def parse_lr_from(text: str) -> tuple[str, str]:
    """``--lr-from train.yaml:optimizer.lr`` → (file, key)."""
    file, sep, key = text.rpartition(":")
    if not sep or not file or not key:
        raise InputError(f"--lr-from: expected FILE:KEY (e.g. train.yaml:optimizer.lr), "
                         f"got {brief(text)}")
    return file, key


# --------------------------------------------------------------------------- checks file


def _check_init(init: str, where: str) -> None:
    if init in INIT_NAMES or init.lower().endswith(".npz"):
        return
    raise InputError(f"{where}: unknown init {brief(init)}; expected one of "
                     f"{', '.join(INIT_NAMES)} or an .npz file of weights W1..WL")


def _rebase(value: str, base: Path) -> str:
    """A path written in a checks file, made relative to that file's directory."""
    if os.path.isabs(value):
        return value
    return _display(base / value)


def _spec(doc: ConfigDoc, index: int, raw: Mapping[str, Any], given: Mapping[str, Any],
          defaults: Mapping[str, Any], defaults_given: Mapping[str, Any]) -> CheckSpec:
    path = doc.path
    base = path.parent
    line = doc.line(("checks", index))
    shown = _display(path)
    name = raw.get("name") or f"check {index + 1}"
    here = f"{shown}:{line}: check {brief(name)}" if line else f"{shown}: check {brief(name)}"

    def pick(key: str) -> tuple[Any, tuple[str | int, ...] | None]:
        """The check's value, else the default's; with the key path where it is written."""
        if key in given:
            return raw[key], ("checks", index, key)
        if key in defaults_given:
            return defaults[key], ("defaults", key)
        return None, None

    def one_of(a: str, b: str) -> tuple[str | None, Any, tuple[str | int, ...] | None]:
        """Which of two exclusive keys is set: the check's own keys win over defaults."""
        for scope in (given, defaults_given):
            if a in scope and b in scope:
                where = "the check" if scope is given else "'defaults'"
                raise InputError(f"{here}: give either {brief(a)} or {brief(b)}, not both "
                                 f"(in {where})")
            for key in (a, b):
                if key in scope:
                    value, keypath = pick(key) if scope is given else (
                        defaults[key], ("defaults", key))
                    return key, value, keypath
        return None, None, None

    which, where_value, _ = one_of("target", "data")
    if which is None:
        raise InputError(f"{here}: needs exactly one of 'target' (a matrix file) or 'data' "
                         "(an .npz with X and Y)")
    target = where_value if which == "target" else None
    data = where_value if which == "data" else None
    depth, _ = pick("depth")
    if depth is None:
        raise InputError(f"{here}: missing required key 'depth'")
    which, lr_value, lr_path = one_of("lr", "lr_from")
    if which is None:
        raise InputError(f"{here}: missing the step size: give 'lr' or "
                         "'lr_from: {file: train.yaml, key: optimizer.lr}'")
    lr = lr_value if which == "lr" else None
    lr_from = lr_value if which == "lr_from" else None
    if lr is not None:
        assert lr_path is not None
        source = StepSource(shown, doc.line(lr_path), format_keypath(lr_path))
        eta = float(lr)
    else:
        assert isinstance(lr_from, Mapping)
        eta, source = resolve_lr_from(lr_from["file"], lr_from["key"], base=base)
    init, _ = pick("init")
    init = init or DEFAULT_INIT
    _check_init(init, here)
    if init.lower().endswith(".npz"):
        init = _rebase(init, base)
    widths, _ = pick("widths")
    loss, _ = pick("loss")
    require, _ = pick("require")
    samples_as_rows, _ = pick("samples_as_rows")
    seeds, _ = pick("seeds")
    iterations, _ = pick("iterations")
    tolerance, _ = pick("tolerance")
    aposteriori, _ = pick("aposteriori")
    if seeds is not None:
        check_seeds(seeds, name=f"{here}: 'seeds'")
    if iterations is not None:
        check_iterations(iterations, name=f"{here}: 'iterations'")
    for w in widths or ():
        if w < 1:
            raise InputError(f"{here}: 'widths' must be positive integers, got {brief(w)}")
        check_dimension(w, what=f"{here}: 'widths'")
    return CheckSpec(
        name=str(name), depth=int(depth), step_size=eta, source=source,
        requirement=require or "necessary",
        target=_rebase(target, base) if target is not None else None,
        data=_rebase(data, base) if data is not None else None,
        widths=tuple(widths) if widths is not None else None,
        loss=loss or "sum", samples_as_rows=bool(samples_as_rows), init=init,
        seeds=seeds or 1, iterations=iterations or DEFAULT_ITERATIONS, tolerance=tolerance,
        aposteriori=True if aposteriori is None else bool(aposteriori),
        checks_file=shown, checks_line=line)


@dataclass(frozen=True)
class BrokenCheck:
    """A check of a checks file that cannot be evaluated: its one-line error and where to
    point an annotation (the ``lr_from`` line when it has one, else the check's line)."""

    name: str
    message: str
    source: StepSource
    checks_file: str
    requirement: str = "necessary"


def load_checks_lenient(path: str | os.PathLike[str]) -> list[CheckSpec | BrokenCheck]:
    """Like :func:`load_checks`, but a check that fails to resolve (a missing ``lr_from``
    key, a bad value) becomes a :class:`BrokenCheck` while the others still load.

    Errors of the file as a whole (syntax, schema, duplicate names) still raise.
    """
    return _load(path, lenient=True)


def load_checks(path: str | os.PathLike[str]) -> list[CheckSpec]:
    """Parse and validate a checks file; resolve every ``lr_from``.

    Unknown keys, duplicate keys, wrong types and duplicate check names are
    :class:`InputError` with the file and line; so is a file with no checks.
    """
    return [s for s in _load(path, lenient=False) if isinstance(s, CheckSpec)]


def _broken(doc: ConfigDoc, index: int, raw: Mapping[str, Any], given: Mapping[str, Any],
            exc: InputError) -> BrokenCheck:
    name = str(raw.get("name") or f"check {index + 1}")
    keypath: tuple[str | int, ...] = ("checks", index)
    for key in ("lr_from", "lr"):
        if key in given:
            keypath = ("checks", index, key)
            break
    shown = _display(doc.path)
    key = format_keypath(keypath)
    require = raw.get("require") or "necessary"
    return BrokenCheck(name=name, message=str(exc), checks_file=shown,
                       source=StepSource(shown, doc.line(keypath), key),
                       requirement=str(require))


def _load(path: str | os.PathLike[str], *, lenient: bool) -> list[CheckSpec | BrokenCheck]:
    p = Path(path)
    doc = load_yaml(p) if p.suffix.lower() not in (".json", ".toml") else load_any(p)
    if doc.data is None:
        raise InputError(f"{p}: the checks file is empty; expected a 'checks:' list")
    if isinstance(doc.data, dict) and "checks" in doc.data and doc.data["checks"] in (None, []):
        raise InputError(f"{_display(p)}:{doc.line(('checks',)) or 1}: no checks: "
                         "'checks' is empty; expected a list of checks")
    cfg = validate(doc, CHECKS_SCHEMA)
    raw_checks = doc.data.get("checks") if isinstance(doc.data, dict) else None
    defaults_given = (doc.data.get("defaults") or {}) if isinstance(doc.data, dict) else {}
    specs: list[CheckSpec | BrokenCheck] = []
    seen: dict[str, int | None] = {}
    for index, raw in enumerate(cfg["checks"]):
        given = raw_checks[index] if isinstance(raw_checks, list) else {}
        try:
            spec = _spec(doc, index, raw, given, cfg["defaults"], defaults_given)
        except InputError as exc:
            if not lenient:
                raise
            specs.append(_broken(doc, index, raw, given, exc))
            continue
        if spec.name in seen:
            raise InputError(f"{spec.where()}: duplicate check name (first at line "
                             f"{seen[spec.name]})")
        seen[spec.name] = spec.checks_line
        specs.append(spec)
    return specs
