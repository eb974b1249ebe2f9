"""CI gate: named step-size checks, read from a ``.gdcert.yaml`` or given on the command line.

A check states a problem (target or dataset, depth, widths, loss convention), an
initialisation, a step size (given directly as ``lr`` or read from a training config with
``lr_from: {file, key}``) and a *requirement*:

* ``necessary`` — fails when η violates an applicable necessary bound (GD cannot converge
  to a global minimum); passes, with a note, when no necessary bound applies;
* ``sufficient`` — passes only when an applicable sufficient bound certifies η for the
  stated initialisation;
* ``verified`` — passes when certified, or when GD simulated from the stated
  initialisation reaches the optimal loss (``converged_global``) for every seed within the
  iteration budget.

:func:`load_checks` parses and validates a checks file (every ``lr_from`` is resolved
there, so configuration errors surface before any computation); :func:`evaluate` runs one
check and returns a frozen :class:`CheckResult`. Nothing here prints: the renderers in
:mod:`gdcert.report.check_out` format the results.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gdcert.config import (
    ConfigDoc,
    Field,
    ListOf,
    format_keypath,
    load_any,
    load_yaml,
    lookup,
    positive_float,
    validate,
)
from gdcert.errors import InputError

Requirement = Literal["necessary", "sufficient", "verified"]
REQUIREMENTS: tuple[Requirement, ...] = ("necessary", "sufficient", "verified")
CHECKS_FILENAMES = (".gdcert.yaml", ".gdcert.yml")
#: Initialisations a check may name (besides an ``.npz`` file of weights W1..WL).
INIT_NAMES = ("identity", "zas", "balanced", "near_identity", "gaussian", "xavier",
              "orthogonal")
DEFAULT_INIT = "balanced"
DEFAULT_ITERATIONS = 5_000

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
}
_DEFAULT_KEYS = {k: v for k, v in _CHECK_KEYS.items() if k != "name"}
CHECKS_SCHEMA: dict[str, Field] = {
    "version": Field(int, choices=(1,), help="checks-file format version"),
    "defaults": Field(_DEFAULT_KEYS, help="values every check inherits"),
    "checks": Field(ListOf(_CHECK_KEYS), required=True, help="the checks"),
}


# --------------------------------------------------------------------------- objects


@dataclass(frozen=True)
class StepSource:
    """Where a step size was written: a file and line (``None`` for the command line)."""

    file: str | None
    line: int | None
    key: str  # 'optimizer.lr' in a training config, 'checks[0].lr' or '--lr'

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "key": self.key}


@dataclass(frozen=True)
class CheckSpec:
    """One check, fully resolved: paths are absolute or relative to the working directory."""

    name: str
    depth: int
    step_size: float
    source: StepSource
    requirement: Requirement = "necessary"
    target: str | None = None
    data: str | None = None
    widths: tuple[int, ...] | None = None
    loss: Literal["sum", "mean"] = "sum"
    samples_as_rows: bool = False
    init: str = DEFAULT_INIT
    seeds: int = 1
    iterations: int = DEFAULT_ITERATIONS
    tolerance: float | None = None
    checks_file: str | None = None
    checks_line: int | None = None

    @property
    def problem_source(self) -> str:
        return self.target if self.target is not None else f"--data {self.data}"

    def where(self) -> str:
        """``.gdcert.yaml:7: check 'spd'`` (for error messages)."""
        if self.checks_file is None:
            return f"check {self.name!r}"
        line = f":{self.checks_line}" if self.checks_line is not None else ""
        return f"{self.checks_file}{line}: check {self.name!r}"


@dataclass(frozen=True)
class Suggestion:
    """The largest step size that would pass the requirement, and the bound that sets it."""

    max_step: float | None
    bound: str | None
    init: str | None
    text: str

    def to_dict(self) -> dict[str, Any]:
        from gdcert.results import jsonable

        return {"max_step": jsonable(self.max_step), "bound": self.bound, "init": self.init,
                "text": self.text}


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: pass/fail, the verdict behind it and what to do."""

    name: str
    passed: bool
    requirement: Requirement
    step_size: float
    source: StepSource
    status: str  # the verdict: certified / impossible / uncertified
    message: str
    suggestion: Suggestion | None = None
    passed_by: str | None = None  # 'bound', 'simulation', 'no-necessary-bound' or None
    init: str = DEFAULT_INIT
    problem: str = ""
    checks_file: str | None = None
    seconds: float = 0.0
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from gdcert.results import jsonable

        return {
            "name": self.name,
            "passed": self.passed,
            "requirement": self.requirement,
            "step_size": jsonable(self.step_size),
            "source": self.source.to_dict(),
            "status": self.status,
            "passed_by": self.passed_by,
            "message": self.message,
            "suggestion": self.suggestion.to_dict() if self.suggestion else None,
            "init": self.init,
            "problem": self.problem,
            "checks_file": self.checks_file,
            "seconds": round(self.seconds, 3),
            "details": jsonable(dict(self.details)),
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
    eta = positive_float(value, where=f"{where}: key {key!r}")
    return eta, StepSource(shown, line, key)


def parse_lr_from(text: str) -> tuple[str, str]:
    """``--lr-from train.yaml:optimizer.lr`` → (file, key)."""
    file, sep, key = text.rpartition(":")
    if not sep or not file or not key:
        raise InputError(f"--lr-from: expected FILE:KEY (e.g. train.yaml:optimizer.lr), "
                         f"got {text!r}")
    return file, key


# --------------------------------------------------------------------------- checks file


def _check_init(init: str, where: str) -> None:
    if init in INIT_NAMES or init.lower().endswith(".npz"):
        return
    raise InputError(f"{where}: unknown init {init!r}; expected one of "
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
    here = f"{shown}:{line}: check {name!r}" if line else f"{shown}: check {name!r}"

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
                raise InputError(f"{here}: give either {a!r} or {b!r}, not both (in {where})")
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
    return CheckSpec(
        name=str(name), depth=int(depth), step_size=eta, source=source,
        requirement=require or "necessary",
        target=_rebase(target, base) if target is not None else None,
        data=_rebase(data, base) if data is not None else None,
        widths=tuple(widths) if widths is not None else None,
        loss=loss or "sum", samples_as_rows=bool(samples_as_rows), init=init,
        seeds=seeds or 1, iterations=iterations or DEFAULT_ITERATIONS, tolerance=tolerance,
        checks_file=shown, checks_line=line)


def load_checks(path: str | os.PathLike[str]) -> list[CheckSpec]:
    """Parse and validate a checks file; resolve every ``lr_from``.

    Unknown keys, duplicate keys, wrong types and duplicate check names are
    :class:`InputError` with the file and line; so is a file with no checks.
    """
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
    specs: list[CheckSpec] = []
    seen: dict[str, int | None] = {}
    for index, raw in enumerate(cfg["checks"]):
        given = raw_checks[index] if isinstance(raw_checks, list) else {}
        spec = _spec(doc, index, raw, given, cfg["defaults"], defaults_given)
        if spec.name in seen:
            raise InputError(f"{spec.where()}: duplicate check name (first at line "
                             f"{seen[spec.name]})")
        seen[spec.name] = spec.checks_line
        specs.append(spec)
    return specs


# --------------------------------------------------------------------------- evaluation


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _bound_label(b: Any) -> str:
    return f"{b.id} (init {b.init})" if b.init else b.id


def _reports(spec: CheckSpec, problem: Any) -> list[Any]:
    """One certify() report per distinct initialisation (per seed for random inits)."""
    from gdcert import inits as base_inits
    from gdcert.api import certify
    from gdcert.sim import inits as sim_inits

    if spec.init in ("identity", "zas") or spec.init.lower().endswith(".npz"):
        return [certify(problem, inits=[spec.init], lr=spec.step_size)]
    out = []
    for seed in range(spec.seeds):
        ws = sim_inits.make(spec.init, problem.widths, seed=seed)
        init = base_inits.from_weights(spec.init, ws)
        out.append(certify(problem, inits=[init], lr=spec.step_size, seed=seed))
    return out


def _usable(b: Any) -> bool:
    return bool(b.applies) and not math.isnan(b.log10_max_step)


def evaluate(spec: CheckSpec) -> CheckResult:
    """Evaluate one check (loads its problem; may simulate for ``verified``)."""
    from gdcert.api import load_problem

    started = time.perf_counter()
    try:
        problem = load_problem(spec.target, data=spec.data, depth=spec.depth,
                               widths=spec.widths, loss=spec.loss,
                               samples_as_rows=spec.samples_as_rows)
        reports = _reports(spec, problem)
    except InputError as exc:
        raise InputError(f"{spec.where()}: {exc}") from None
    eta = spec.step_size
    # Global necessary bounds (not those at one given solution, which carry a `point`).
    necessary = [b for b in reports[0].bounds
                 if _usable(b) and b.kind == "necessary" and b.point is None]
    violated = [b for b in necessary if not b.admits(eta)]
    nec_limit = min(necessary, key=lambda b: b.log10_max_step, default=None)
    # Per report (seed), the sufficient bounds for the stated init; a random init is
    # certified only when every seed's init is, so its limit is the least over seeds.
    per_seed = [[b for b in r.bounds if _usable(b) and b.kind == "sufficient"
                 and b.init is not None] for r in reports]
    best_per_seed = [max(s, key=lambda b: b.log10_max_step) for s in per_seed if s]
    suff_limit = (min(best_per_seed, key=lambda b: b.log10_max_step)
                  if len(best_per_seed) == len(per_seed) else None)
    certified_by = [b for b in per_seed[0] if b.admits(eta)]
    certified = all(any(b.admits(eta) for b in s) for s in per_seed) and bool(certified_by)
    status = "impossible" if violated else "certified" if certified else "uncertified"
    details: dict[str, Any] = {
        "necessary": [{"id": b.id, "max_step": b.max_step} for b in necessary],
        "sufficient": [{"id": b.id, "init": b.init, "max_step": b.max_step,
                        "guarantee": b.guarantee} for b in per_seed[0]],
        "certified_by": [f"{b.id}[{b.init}]" for b in certified_by] if certified else [],
        "violates": [b.id for b in violated],
        "verdict": reports[0].verdict.summary if len(reports) == 1 and reports[0].verdict
        else None,
        "seeds_certified": len(reports),
    }
    nec_suggestion = (Suggestion(nec_limit.max_step, nec_limit.id, None,
                                 f"use η ≤ {_fmt(nec_limit.max_step)} (set by the necessary "
                                 f"bound {nec_limit.id})") if nec_limit is not None else None)
    suff_suggestion = (Suggestion(suff_limit.max_step, suff_limit.id, suff_limit.init,
                                  f"use η ≤ {_fmt(suff_limit.max_step)} (certified by "
                                  f"{_bound_label(suff_limit)})")
                       if suff_limit is not None else None)
    no_suff = (f"no sufficient bound applies to init {spec.init} for this problem"
               + ("" if spec.init in ("identity", "zas") else
                  " (Nguegnang et al. needs XXᵀ of full rank)"))
    passed_by: str | None = None
    suggestion: Suggestion | None
    if spec.requirement == "necessary":
        suggestion = nec_suggestion
        if violated:
            b = min(violated, key=lambda b: b.log10_max_step)
            passed = False
            message = (f"η = {_fmt(eta)} exceeds the necessary bound {b.id} "
                       f"(max {_fmt(b.max_step)}): GD cannot converge to a global minimum at "
                       "this step size")
        elif nec_limit is None:
            passed, passed_by = True, "no-necessary-bound"
            message = (f"η = {_fmt(eta)}: no necessary bound applies to this problem (e.g. "
                       "data not whitened), so nothing rules this step size out")
        else:
            passed, passed_by = True, "bound"
            message = (f"η = {_fmt(eta)} is within the necessary bound {nec_limit.id} "
                       f"(max {_fmt(nec_limit.max_step)})")
    elif spec.requirement == "sufficient":
        suggestion = suff_suggestion
        if certified:
            passed, passed_by = True, "bound"
            message = (f"η = {_fmt(eta)} is certified for init {spec.init} by "
                       + ", ".join(f"{b.id} (max {_fmt(b.max_step)})" for b in certified_by)
                       + f": {certified_by[0].guarantee}")
        else:
            passed = False
            if suff_limit is None:
                message = f"η = {_fmt(eta)} is not certified: {no_suff}"
            else:
                message = (f"η = {_fmt(eta)} is above every applicable sufficient bound for "
                           f"init {spec.init} (largest: {_bound_label(suff_limit)}, "
                           f"{_fmt(suff_limit.max_step)})")
            if violated:
                message += f"; it also exceeds the necessary bound {violated[0].id}"
    else:
        suggestion = suff_suggestion
        if certified:
            passed, passed_by = True, "bound"
            message = (f"η = {_fmt(eta)} is certified for init {spec.init} by "
                       + ", ".join(b.id for b in certified_by) + " (no simulation needed)")
        elif violated:
            b = violated[0]
            passed = False
            message = (f"η = {_fmt(eta)} exceeds the necessary bound {b.id} "
                       f"(max {_fmt(b.max_step)}): GD cannot converge to a global minimum "
                       "(not simulated)")
            suggestion = suff_suggestion or nec_suggestion
        else:
            passed, message, sim = _verify_by_simulation(spec, problem)
            passed_by = "simulation" if passed else None
            details["simulation"] = sim
        if not passed:
            edge = (f"run `gdcert edge {spec.problem_source} --depth {spec.depth} "
                    f"--init {spec.init}` for the empirical limit")
            if suggestion is not None:
                suggestion = Suggestion(suggestion.max_step, suggestion.bound, suggestion.init,
                                        f"{suggestion.text}; {edge}")
            else:
                suggestion = Suggestion(None, None, None, f"{no_suff}; {edge}")
    return CheckResult(
        name=spec.name, passed=passed, requirement=spec.requirement, step_size=eta,
        source=spec.source, status=status, message=message, suggestion=suggestion,
        passed_by=passed_by, init=spec.init, problem=spec.problem_source,
        checks_file=spec.checks_file, seconds=time.perf_counter() - started,
        details=details)


def _verify_by_simulation(spec: CheckSpec, problem: Any) -> tuple[bool, str, dict[str, Any]]:
    """Simulate GD at η from the stated init for every seed; pass iff all converge globally."""
    from gdcert.sim.inits import DETERMINISTIC
    from gdcert.sim.runner import InitSpec, simulate

    init = (InitSpec(name="file", file=spec.init) if spec.init.lower().endswith(".npz")
            else InitSpec(name=spec.init))
    sim = simulate(problem, init=init, step_sizes=[spec.step_size],
                   seeds=list(range(spec.seeds)), iterations=spec.iterations,
                   tolerance=spec.tolerance)
    runs = list(sim.runs)
    expected = 1 if init.name in DETERMINISTIC else spec.seeds
    info = {"iterations": spec.iterations, "tolerance": sim.settings.get("tolerance"),
            "interrupted": sim.interrupted,
            "runs": [{"seed": r.seed, "outcome": r.outcome, "iterations": r.iterations,
                      "final_loss": r.final_loss, "optimal_loss": r.optimal_loss}
                     for r in runs]}
    bad = [r for r in runs if r.outcome != "converged_global"]
    seeds = ", ".join(str(r.seed) for r in runs)
    eta = _fmt(spec.step_size)
    if sim.interrupted or len(runs) < expected:
        return False, f"η = {eta}: simulation interrupted before every seed ran", info
    if not bad:
        worst = max(r.iterations for r in runs)
        return True, (f"η = {eta} is not certified, but verified by simulation: GD from init "
                      f"{spec.init} reached the optimal loss for seed{'s' if len(runs) > 1 else ''}"
                      f" {seeds} within {worst} of {spec.iterations} iterations (empirical, not "
                      "a proof)"), info
    r = bad[0]
    return False, (f"η = {eta} is not certified, and simulation from init {spec.init} did not "
                   f"reach the optimal loss: seed {r.seed} ended {r.outcome} after "
                   f"{r.iterations} iterations (budget {spec.iterations})"), info


def evaluate_all(specs: Sequence[CheckSpec]) -> list[CheckResult]:
    """Evaluate every check in order."""
    return [evaluate(s) for s in specs]
