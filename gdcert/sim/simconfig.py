"""The ``gdcert simulate`` configuration file: schema, step-size forms, path resolution.

Documented in ``docs/config.md``. Relative paths resolve against the config file's
directory. ``step_size`` takes several forms, so it is parsed here (with line numbers)
rather than by the generic schema:

* a number (``0.05``, ``1e-3``) — constant;
* ``{bound: nar_sastry.cor1, times: 0.9}`` — a bound by id, scaled;
* ``{a1: 0.01, a2: 0.5, gamma: 0.5}`` — Nguegnang et al. eq. (5.2) ``min{a1, a2/(k+1)^γ}``
  (``a1``/``a2`` may also be a bound: ``{a1: {bound: nguegnang.thm2_4}, ...}`` is not
  supported — use numbers);
* a list of any of the above (each is a separate set of runs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdcert.config import ConfigDoc, Field, ListOf, load_yaml, positive_float, validate
from gdcert.errors import InputError
from gdcert.sim.inits import NAMES as INIT_NAMES
from gdcert.sim.relu_config import ReluSimConfig
from gdcert.sim.runner import InitSpec, StepSpec

SCHEMA: dict[str, Field] = {
    "problem": Field({
        "target": Field((str, type(None)), help="target matrix file (.npy/.npz[:key]/.csv/…)"),
        "data": Field((str, type(None)), help=".npz with X and Y (columns are samples)"),
        "samples_as_rows": Field(bool, default=False),
        "loss": Field(str, default="sum", choices=("sum", "mean")),
    }, required=True),
    "network": Field({
        "depth": Field(int, required=True, positive=True),
        "widths": Field(ListOf(int)),
    }, required=True),
    "init": Field({
        "name": Field(str, default="balanced", choices=INIT_NAMES),
        "sigma": Field((float, type(None))),
        "rank": Field((int, type(None))),
        "scale": Field(float, default=1.0, positive=True),
        "file": Field((str, type(None))),
    }),
    "iterations": Field(int, default=10_000, positive=True),
    "tolerance": Field((float, type(None)), positive=True),
    "divergence_factor": Field(float, default=1e6, positive=True),
    "track": Field({
        "balancedness": Field((bool, type(None))),
        "sharpness": Field(bool, default=False),
        "invariants": Field(bool, default=False),
        "record_every": Field(int, default=0),
    }),
    "output": Field({
        "json": Field((str, type(None))),
        "plot": Field((str, type(None))),
    }),
}


@dataclass(frozen=True)
class SimConfig:
    """A validated simulate configuration, with paths resolved."""

    path: Path
    target: str | None
    data: str | None
    samples_as_rows: bool
    loss: str
    depth: int
    widths: tuple[int, ...] | None
    init: InitSpec
    steps: tuple[StepSpec, ...]
    iterations: int
    tolerance: float | None
    seeds: tuple[int, ...]
    divergence_factor: float
    track_balancedness: bool | None
    track_sharpness: bool
    track_invariants: bool
    record_every: int
    output_json: str | None
    output_plot: str | None


def _resolve(base: Path, value: str | None) -> str | None:
    if value is None:
        return None
    name, sep, key = value.partition(":") if value.count(":") == 1 and not Path(
        value).exists() else (value, "", "")
    p = Path(name)
    full = str(p if p.is_absolute() else (base / p))
    return full + (sep + key if sep else "")


def _existing(doc: ConfigDoc, keypath: tuple[str, ...], path: str | None) -> str | None:
    """``path`` (resolved, optionally ``file:key``) if its file exists; else a one-line error."""
    if path is None:
        return None
    name = path
    if not Path(path).exists() and path.count(":") >= 1:
        name = path.rsplit(":", 1)[0]
    if not Path(name).is_file():
        what = "not a file" if Path(name).exists() else "file not found"
        raise InputError(f"{_where(doc, keypath)}: '{'.'.join(keypath)}': {what}: {name}")
    return path


def _where(doc: ConfigDoc, keypath: tuple[str | int, ...]) -> str:
    line = doc.line(keypath)
    return f"{doc.path}:{line}" if line else str(doc.path)


def _step(doc: ConfigDoc, value: Any, keypath: tuple[str | int, ...]) -> StepSpec:
    where = _where(doc, keypath)
    key = ".".join(str(k) for k in keypath)
    if isinstance(value, dict):
        keys = set(value)
        if "bound" in keys:
            extra = keys - {"bound", "times"}
            if extra:
                raise InputError(f"{where}: unknown key {sorted(extra)[0]!r} in '{key}' "
                                 "(expected bound, times)")
            if not isinstance(value["bound"], str):
                raise InputError(f"{where}: '{key}.bound' must be a bound id such as "
                                 f"nar_sastry.cor1, got {value['bound']!r}")
            from gdcert.bounds.registry import BOUND_IDS

            if value["bound"] not in BOUND_IDS:
                raise InputError(f"{where}: '{key}.bound': unknown bound id "
                                 f"{value['bound']!r}; expected one of {', '.join(BOUND_IDS)}")
            times = positive_float(value.get("times", 1.0), where=f"{where}: '{key}.times'")
            # `where` lets the runner name this line when the bound does not apply.
            return StepSpec(bound=value["bound"], times=times, where=f"{where}: '{key}.bound'")
        if keys & {"a1", "a2", "gamma"}:
            extra = keys - {"a1", "a2", "gamma"}
            if extra:
                raise InputError(f"{where}: unknown key {sorted(extra)[0]!r} in '{key}' "
                                 "(expected a1, a2, gamma)")
            a1 = positive_float(value["a1"], where=f"{where}: '{key}.a1'") if "a1" in value \
                else math.inf
            a2 = positive_float(value["a2"], where=f"{where}: '{key}.a2'") if "a2" in value \
                else math.inf
            if math.isinf(min(a1, a2)):
                raise InputError(f"{where}: '{key}' needs a1 or a2")
            g = value.get("gamma", 0.0)
            try:
                gamma = float(g)
            except (TypeError, ValueError):
                gamma = -1.0
            if isinstance(g, bool) or not (math.isfinite(gamma) and gamma >= 0):
                raise InputError(f"{where}: '{key}.gamma' must be a number >= 0, got {g!r}")
            return StepSpec(a1=a1, a2=a2, gamma=gamma)
        raise InputError(f"{where}: '{key}' must be a number, {{bound: ID, times: X}} or "
                         f"{{a1, a2, gamma}}, got keys {sorted(keys)}")
    return StepSpec(eta=positive_float(value, where=f"{where}: '{key}'"))


def _seeds(doc: ConfigDoc, value: Any) -> tuple[int, ...]:
    """``seeds: 3`` (seeds 0, 1, 2) or ``seeds: [0, 7, 11]``."""
    where = _where(doc, ("seeds",))
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise InputError(f"{where}: 'seeds' must be a positive count or a list, got {value}")
        return tuple(range(value))
    if isinstance(value, list) and value and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        return tuple(value)
    raise InputError(f"{where}: 'seeds' must be a positive count or a non-empty list of "
                     f"non-negative integers, got {value!r}")


def parse(doc: ConfigDoc) -> SimConfig:
    """Validate a loaded document into a :class:`SimConfig`."""
    if not isinstance(doc.data, dict):
        raise InputError(f"{doc.path}: expected a mapping of settings (see docs/config.md)")
    data = dict(doc.data)
    model = data.pop("model", "linear")
    if model not in ("linear", "relu2"):
        raise InputError(f"{_where(doc, ('model',))}: 'model' must be linear or relu2, "
                         f"got {model!r}")
    if "step_size" not in data:
        raise InputError(f"{doc.path}: missing required key 'step_size'")
    raw_steps = data.pop("step_size")
    raw_seeds = data.pop("seeds", [0])
    cfg = validate(doc, {**SCHEMA}, data=data)
    if isinstance(raw_steps, list):
        if not raw_steps:
            raise InputError(f"{_where(doc, ('step_size',))}: 'step_size' list is empty")
        steps = tuple(_step(doc, v, ("step_size", i)) for i, v in enumerate(raw_steps))
    else:
        steps = (_step(doc, raw_steps, ("step_size",)),)
    prob = cfg["problem"]
    if (prob["target"] is None) == (prob["data"] is None):
        raise InputError(f"{_where(doc, ('problem',))}: give exactly one of 'problem.target' "
                         "or 'problem.data'")
    base = doc.path.parent
    init = cfg["init"]
    seeds_t = _seeds(doc, raw_seeds)
    widths = cfg["network"]["widths"]
    out = cfg["output"]
    track = cfg["track"]
    return SimConfig(
        path=doc.path,
        target=_existing(doc, ("problem", "target"), _resolve(base, prob["target"])),
        data=_existing(doc, ("problem", "data"), _resolve(base, prob["data"])),
        samples_as_rows=prob["samples_as_rows"], loss=prob["loss"],
        depth=cfg["network"]["depth"], widths=tuple(widths) if widths else None,
        init=InitSpec(name=init["name"], sigma=init["sigma"], rank=init["rank"],
                      scale=init["scale"],
                      file=_existing(doc, ("init", "file"), _resolve(base, init["file"]))),
        steps=steps, iterations=cfg["iterations"], tolerance=cfg["tolerance"],
        seeds=seeds_t, divergence_factor=cfg["divergence_factor"],
        track_balancedness=track["balancedness"], track_sharpness=track["sharpness"],
        track_invariants=track["invariants"],
        record_every=track["record_every"],
        output_json=_resolve(base, out["json"]), output_plot=_resolve(base, out["plot"]))


def load(path: str | Path) -> SimConfig | ReluSimConfig:
    """Read and validate a simulate configuration file (YAML); ``model: relu2`` gives a
    :class:`gdcert.sim.relu_config.ReluSimConfig`."""
    doc = load_yaml(path)
    if isinstance(doc.data, dict) and doc.data.get("model") == "relu2":
        from gdcert.sim.relu_config import parse_relu

        return parse_relu(doc, dict(doc.data), resolve=_resolve, existing=_existing)
    return parse(doc)
