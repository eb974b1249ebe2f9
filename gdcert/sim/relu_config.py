"""The ``model: relu2`` form of the ``gdcert simulate`` configuration (docs/config.md).

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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdcert.config import ConfigDoc, Field, positive_float, validate
from gdcert.errors import InputError

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


@dataclass(frozen=True)
class ReluSimConfig:
    """A validated ``model: relu2`` simulate configuration, with paths resolved."""

    path: Path
    loss: str
    model_file: str | None
    n_samples: int
    hidden: int
    seeds: tuple[int, ...]
    teacher_seed: int
    steps: tuple[float, ...]
    iterations: int
    tolerance: float | None
    divergence_factor: float
    record_every: int
    output_json: str | None
    output_plot: str | None


def _where(doc: ConfigDoc, keypath: tuple[str | int, ...]) -> str:
    line = doc.line(keypath)
    return f"{doc.path}:{line}" if line else str(doc.path)


def _seed_list(doc: ConfigDoc, value: Any) -> tuple[int, ...]:
    """``relu.seed``: a non-negative integer or a non-empty list of them."""
    where = _where(doc, ("relu", "seed"))
    items = value if isinstance(value, list) else [value]
    if items and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in items):
        return tuple(items)
    raise InputError(f"{where}: 'relu.seed' must be a non-negative integer or a non-empty "
                     f"list of them, got {value!r}")


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


def parse_relu(doc: ConfigDoc, data: dict[str, Any], *, resolve: Any,
               existing: Any) -> ReluSimConfig:
    """Validate the ``model: relu2`` form; ``resolve``/``existing`` resolve and check paths."""
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
    base = doc.path.parent
    out = cfg["output"]
    model_file = existing(doc, ("relu", "model_file"), resolve(base, relu["model_file"]))
    return ReluSimConfig(
        path=doc.path, loss=relu["loss"], model_file=model_file,
        n_samples=relu["n_samples"], hidden=relu["hidden"], seeds=seeds,
        teacher_seed=relu["teacher_seed"], steps=steps, iterations=cfg["iterations"],
        tolerance=cfg["tolerance"], divergence_factor=cfg["divergence_factor"],
        record_every=cfg["track"]["record_every"],
        output_json=resolve(base, out["json"]), output_plot=resolve(base, out["plot"]))
