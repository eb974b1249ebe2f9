"""The ``gdcert simulate`` configuration file: one schema, ``model:`` the discriminator.

``model: linear`` (the default) describes GD on a deep linear network; ``model: relu2`` a
two-layer ReLU network (Nar & Sastry 2018, Section 4). Documented in ``docs/config.md``.
Relative paths resolve against the config file's directory.

Linear form: ``step_size`` takes several forms, so it is parsed here (with line numbers)
rather than by the generic schema:

* a number (``0.05``, ``1e-3``) — constant;
* ``{bound: nar_sastry.cor1, times: 0.9}`` — a bound by id, scaled;
* ``{a1: 0.01, a2: 0.5, gamma: 0.5}`` — Nguegnang et al. eq. (5.2) ``min{a1, a2/(k+1)^γ}``;
* a list of any of the above (each is a separate set of runs).

A two-layer ReLU network ``f̂(x) = W g(Vx − b)`` (Nar & Sastry 2018, Section 4), either
from a model file or generated like the paper's Figure 2::

    model: relu2
    relu:
      model_file: fig2.npz       # W (m×r), V (r×n), b (r), X (n×N), targets Y (m×N) or f
      # ... or a generated problem (when model_file is absent):
      n_samples: 1000            # x_i = i/N, i = 1..N, on (0, 1]
      hidden: 20                 # r
      seed: 54                   # W, V, b ~ N(0, 1) from this seed (an int or a list)
      teacher_seed: 1054         # f = W_t g(V_t x − b), W_t, V_t ~ N(0, 1), b shared
      loss: sum                  # sum: Σ‖f̂ − f‖² (Figure 2) | half-sum: ½Σ (Theorem 4)
    step_size: [2.0e-4, 3.0e-4]  # constant step sizes only
    iterations: 20000
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from gdcert.config.document import ConfigDoc
from gdcert.config.loader import load_yaml
from gdcert.config.schema import Field, ListOf, positive_float, validate
from gdcert.errors import InputError
from gdcert.spec import BOUND_IDS, INIT_NAMES, InitSpec, ReluSimConfig, SimConfig, StepSpec
from gdcert.validate import (
    INT64_MAX,
    brief,
    check_dimension,
    check_iterations,
    check_memory,
    check_seeds,
)

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


RELU_SECTION: dict[str, Field] = {
    "model_file": Field((str, type(None)), help=".npz with W, V, b, X and Y (or f)"),
    "n_samples": Field(int, default=1000, positive=True),
    "hidden": Field(int, default=20, positive=True),
    "teacher_seed": Field(int, default=1),
    "loss": Field(str, default="half-sum", choices=("half-sum", "sum")),
}

RELU_SCHEMA: dict[str, Field] = {
    "model": Field(str, choices=("relu2",)),
    "relu": Field(RELU_SECTION, required=True),
    "iterations": Field(int, default=10_000, positive=True),
    "tolerance": Field((float, type(None)), positive=True),
    "divergence_factor": Field(float, default=1e6, positive=True),
    "track": Field({"record_every": Field(int, default=0)}),
    "output": Field({
        "json": Field((str, type(None))),
        "plot": Field((str, type(None))),
    }),
}

#: Keys of the linear form that have no meaning for ``model: relu2``.
LINEAR_ONLY = ("problem", "network", "init", "seeds")



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
                                 f"nar_sastry.cor1, got {brief(value['bound'])}")
            if value["bound"] not in BOUND_IDS:
                raise InputError(f"{where}: '{key}.bound': unknown bound id "
                                 f"{brief(value['bound'])}; expected one of {', '.join(BOUND_IDS)}")
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
                raise InputError(f"{where}: '{key}.gamma' must be a number >= 0, got {brief(g)}")
            return StepSpec(a1=a1, a2=a2, gamma=gamma)
        raise InputError(f"{where}: '{key}' must be a number, {{bound: ID, times: X}} or "
                         f"{{a1, a2, gamma}}, got keys {sorted(keys)}")
    return StepSpec(eta=positive_float(value, where=f"{where}: '{key}'"))


#: Largest number of values the simulator keeps as records (sim.engine.MAX_RECORD_VALUES).
MAX_RECORD_VALUES = 50_000_000


def _budget(doc: ConfigDoc, iterations: int, n_traj: int, record_every: int,
            every_key: tuple[str, ...], *, extra_columns: int = 0) -> int:
    """Iterations within the cap; ``record_every`` ≥ 0 and not too many records kept."""
    iterations = check_iterations(iterations, name=f"{_where(doc, ('iterations',))}: "
                                                   "'iterations'")
    where = _where(doc, every_key)
    if record_every < 0:
        raise InputError(f"{where}: '{'.'.join(every_key)}' must be >= 0 (0: automatic), "
                         f"got {brief(record_every)}")
    if record_every > 0:
        records = n_traj * (iterations // record_every + 2) * (5 + extra_columns)
        if records > MAX_RECORD_VALUES:
            raise InputError(f"{where}: '{'.'.join(every_key)}' = {record_every} keeps "
                             f"{records} values ({n_traj} runs × {iterations} iterations); "
                             "raise it or use 0 for automatic decimation")
    return iterations


def _seeds(doc: ConfigDoc, value: Any) -> tuple[int, ...]:
    """``seeds: 3`` (seeds 0, 1, 2) or ``seeds: [0, 7, 11]``."""
    where = _where(doc, ("seeds",))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise InputError(f"{where}: 'seeds' must be a positive count or a list, got {value}")
        return tuple(range(check_seeds(value, name=f"{where}: 'seeds'")))
    if isinstance(value, list) and value and all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= INT64_MAX
            for v in value):
        check_seeds(len(value), name=f"{where}: 'seeds'")
        return tuple(value)
    raise InputError(f"{where}: 'seeds' must be a positive count or a non-empty list of "
                     f"non-negative integers, got {brief(value)}")


def parse(doc: ConfigDoc) -> SimConfig:
    """Validate a loaded document into a :class:`SimConfig`."""
    if not isinstance(doc.data, dict):
        raise InputError(f"{doc.path}: expected a mapping of settings (see docs/config.md)")
    data = dict(doc.data)
    model = data.pop("model", "linear")
    if model not in ("linear", "relu2"):
        raise InputError(f"{_where(doc, ('model',))}: 'model' must be linear or relu2, "
                         f"got {brief(model)}")
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
    iterations = _budget(doc, cfg["iterations"], len(seeds_t) * len(steps),
                         track["record_every"], ("track", "record_every"),
                         extra_columns=cfg["network"]["depth"])
    if init["sigma"] is not None and not (math.isfinite(init["sigma"]) and init["sigma"] >= 0):
        raise InputError(f"{_where(doc, ('init', 'sigma'))}: 'init.sigma' must be a finite "
                         f"number >= 0, got {brief(init['sigma'])}")
    if init["rank"] is not None and init["rank"] < 1:
        raise InputError(f"{_where(doc, ('init', 'rank'))}: 'init.rank' must be a positive "
                         f"integer, got {brief(init['rank'])}")
    if widths:
        for i, w in enumerate(widths):
            if w < 1:
                raise InputError(f"{_where(doc, ('network', 'widths', i))}: 'network.widths' "
                                 f"must be positive integers, got {brief(w)}")
            check_dimension(w, what=f"{_where(doc, ('network', 'widths', i))}: "
                                    "'network.widths'")
    return SimConfig(
        path=doc.path,
        target=_existing(doc, ("problem", "target"), _resolve(base, prob["target"])),
        data=_existing(doc, ("problem", "data"), _resolve(base, prob["data"])),
        samples_as_rows=prob["samples_as_rows"], loss=prob["loss"],
        depth=cfg["network"]["depth"], widths=tuple(widths) if widths else None,
        init=InitSpec(name=init["name"], sigma=init["sigma"], rank=init["rank"],
                      scale=init["scale"],
                      file=_existing(doc, ("init", "file"), _resolve(base, init["file"]))),
        steps=steps, iterations=iterations, tolerance=cfg["tolerance"],
        seeds=seeds_t, divergence_factor=cfg["divergence_factor"],
        track_balancedness=track["balancedness"], track_sharpness=track["sharpness"],
        track_invariants=track["invariants"],
        record_every=track["record_every"],
        output_json=_resolve(base, out["json"]), output_plot=_resolve(base, out["plot"]))


def load(path: str | Path) -> SimConfig | ReluSimConfig:
    """Read and validate a simulate configuration file (YAML); ``model: relu2`` gives a
    :class:`gdcert.spec.ReluSimConfig`."""
    doc = load_yaml(path)
    if isinstance(doc.data, dict) and doc.data.get("model") == "relu2":
        return parse_relu(doc, dict(doc.data))
    return parse(doc)


def _seed_list(doc: ConfigDoc, value: Any) -> tuple[int, ...]:
    """``relu.seed``: a non-negative integer or a non-empty list of them."""
    where = _where(doc, ("relu", "seed"))
    items = value if isinstance(value, list) else [value]
    if items and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= INT64_MAX
                     for v in items):
        check_seeds(len(items), name=f"{where}: 'relu.seed'")
        return tuple(items)
    raise InputError(f"{where}: 'relu.seed' must be a non-negative integer or a non-empty "
                     f"list of them, got {brief(value)}")


def _steps(doc: ConfigDoc, value: Any) -> tuple[float, ...]:
    """Constant step sizes only (a number or a list of numbers)."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise InputError(f"{_where(doc, ('step_size',))}: 'step_size' list is empty")
    out = []
    for i, v in enumerate(items):
        key: tuple[str | int, ...] = ("step_size", i) if isinstance(value, list) else (
            "step_size",)
        if isinstance(v, dict):
            raise InputError(f"{_where(doc, key)}: 'step_size': model relu2 takes constant "
                             "step sizes only (numbers), not bounds or schedules")
        out.append(positive_float(v, where=f"{_where(doc, key)}: 'step_size'"))
    return tuple(out)


def parse_relu(doc: ConfigDoc, data: dict[str, Any]) -> ReluSimConfig:
    """Validate the ``model: relu2`` form of the configuration."""
    for key in LINEAR_ONLY:
        if key in data:
            hint = " (use 'relu.seed')" if key == "seeds" else ""
            raise InputError(f"{_where(doc, (key,))}: '{key}' is for model: linear; model "
                             f"relu2 is described by the 'relu' section{hint}")
    if "step_size" not in data:
        raise InputError(f"{doc.path}: missing required key 'step_size'")
    data = dict(data)
    steps = _steps(doc, data.pop("step_size"))
    relu_raw = data.get("relu")
    seeds: tuple[int, ...] = (0,)
    if isinstance(relu_raw, dict):
        relu_raw = dict(relu_raw)
        if "seed" in relu_raw:
            seeds = _seed_list(doc, relu_raw.pop("seed"))
        data["relu"] = relu_raw
    cfg = validate(doc, RELU_SCHEMA, data=data)
    relu = cfg["relu"]
    if relu["teacher_seed"] < 0:
        raise InputError(f"{_where(doc, ('relu', 'teacher_seed'))}: 'relu.teacher_seed' must "
                         f"be a non-negative integer, got {relu['teacher_seed']}")
    iterations = _budget(doc, cfg["iterations"], len(seeds) * len(steps),
                         cfg["track"]["record_every"], ("track", "record_every"))
    hidden, n_samples = relu["hidden"], relu["n_samples"]
    for key, value in (("hidden", hidden), ("n_samples", n_samples)):
        check_dimension(value, what=f"{_where(doc, ('relu', key))}: 'relu.{key}'")
    # Weights, activations and gradients of a width-r network on N samples (float64).
    check_memory(8.0 * 8 * hidden * n_samples * max(len(seeds) * len(steps), 1),
                 what=f"{_where(doc, ('relu',))}: 'relu.hidden' = {hidden} units on "
                      f"'relu.n_samples' = {n_samples} samples")
    base = doc.path.parent
    out = cfg["output"]
    model_file = _existing(doc, ("relu", "model_file"), _resolve(base, relu["model_file"]))
    return ReluSimConfig(
        path=doc.path, loss=relu["loss"], model_file=model_file,
        n_samples=relu["n_samples"], hidden=relu["hidden"], seeds=seeds,
        teacher_seed=relu["teacher_seed"], steps=steps, iterations=iterations,
        tolerance=cfg["tolerance"], divergence_factor=cfg["divergence_factor"],
        record_every=cfg["track"]["record_every"],
        output_json=_resolve(base, out["json"]), output_plot=_resolve(base, out["plot"]))
