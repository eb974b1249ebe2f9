"""Results of verification runs: one :class:`Run` per trajectory, a :class:`Simulation`
holding them with the bounds they were compared against."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gdcert.results.core import Bound, jsonable


@dataclass(frozen=True)
class Run:
    """One verification run: its settings, outcome, promises and recorded curves."""

    seed: int
    init: str
    step_label: str
    step_size: float | None
    schedule: dict[str, float]
    outcome: str
    outcome_summary: str
    iterations: int
    final_loss: float
    optimal_loss: float
    tolerance: float
    promises: tuple[Any, ...]  # PromiseCheck objects (gdcert.sim.promises): .to_dict()
    details: dict[str, Any]
    records: dict[str, Any] = field(repr=False)

    def to_dict(self, *, with_records: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seed": self.seed,
            "init": self.init,
            "step_size": jsonable(self.step_size),
            "step_label": self.step_label,
            "schedule": jsonable(self.schedule),
            "outcome": self.outcome,
            "outcome_summary": self.outcome_summary,
            "iterations": self.iterations,
            "final_loss": jsonable(self.final_loss),
            "optimal_loss": jsonable(self.optimal_loss),
            "loss_gap": jsonable(self.final_loss - self.optimal_loss),
            "tolerance": self.tolerance,
            "promises": [p.to_dict() for p in self.promises],
            "details": jsonable(self.details),
        }
        if with_records:
            out["records"] = jsonable(self.records)
        return out


@dataclass(frozen=True)
class Simulation:
    """All runs of one simulation, with the bounds they were compared against."""

    problem: dict[str, Any]
    runs: tuple[Run, ...]
    bounds: tuple[Bound, ...]
    settings: dict[str, Any]
    interrupted: bool = False

    def to_dict(self, *, with_records: bool = True) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "problem": jsonable(self.problem),
            "settings": jsonable(self.settings),
            "interrupted": self.interrupted,
            "runs": [r.to_dict(with_records=with_records) for r in self.runs],
            "bounds": [b.to_dict() for b in self.bounds],
        }
