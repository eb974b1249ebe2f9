"""Results of a sweep (``gdcert sweep``): one row per run, one group per task, power-law fits.

The row columns are stable and documented here (and in ``docs/sweeps.md``); renderers
(:mod:`gdcert.report.sweep_out`) write them to CSV or Parquet in this order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gdcert.results.core import jsonable

#: Table columns, in order, with their meaning. Missing values: empty in CSV, null in
#: Parquet (NaN for float columns).
COLUMNS: dict[str, str] = {
    "cell_id": "hash of the cell spec (gdcert version, problem content, depth, widths, init, "
               "step size, seed, iterations, tolerance, divergence factor, tracking)",
    "problem": "problem name (the file's stem unless problem.name is given)",
    "problem_file": "the target or data file",
    "depth": "L",
    "width": "hidden-layer width from the width axis (empty: the problem's square layers)",
    "widths": "d_0,…,d_L",
    "init": "initialisation name",
    "seed": "seed of the initialisation (0 for deterministic inits)",
    "step_label": "the step size as written: 0.01, 0.9×nar_sastry.cor1, 1.1×edge",
    "step_ref": "bound id or 'edge' the step size is relative to (empty: absolute)",
    "step_times": "the multiple of step_ref (empty: absolute)",
    "step_size": "η, resolved (empty when the reference bound does not apply)",
    "outcome": "converged_global, converged_critical, diverged, oscillating, plateau, "
               "unfinished, or not_applicable (step_ref does not apply to this cell)",
    "converged": "outcome is converged_global",
    "iterations": "GD steps taken (to the tolerance, to divergence, or the budget)",
    "final_loss": "loss at the last iterate",
    "optimal_loss": "least loss reachable at the network's rank cap",
    "loss_gap": "final_loss − optimal_loss",
    "sharpness_final": "λ_max(∇²ℓ) at the last record (when track.sharpness; else empty)",
    "promises_checked": "number of promise checks (sufficient bounds covering this η)",
    "promises_held": "every checked promise held (empty when none was checked or "
                     "could not be checked)",
    "promises": "each check as bound_id:held (true/false/none), ';'-separated",
    "note": "why a cell did not run (not_applicable); for a run, a caveat on one of its "
            "values (sharpness_final a lower estimate); else empty",
}

#: Outcome of a cell whose step size refers to a bound that does not apply.
NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class SweepGroup:
    """One (problem, depth, width, init): its bounds and (when computed) empirical edge."""

    key: str
    problem: str
    depth: int
    width: int | None
    widths: tuple[int, ...]
    init: str
    bounds: tuple[Mapping[str, Any], ...]  # id, kind, applies, max_step, log10_max_step, reason
    edge: float | None = None
    edge_bracket: tuple[float, float] | None = None
    seconds: float = 0.0
    runs: int = 0

    def bound(self, bound_id: str) -> float | None:
        """``max_step`` of an applicable bound, else ``None``."""
        for b in self.bounds:
            if b["id"] == bound_id and b["applies"]:
                return float(b["max_step"])
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "problem": self.problem, "depth": self.depth,
                "width": self.width, "widths": list(self.widths), "init": self.init,
                "bounds": jsonable([dict(b) for b in self.bounds]),
                "edge": jsonable(self.edge),
                "edge_bracket": jsonable(self.edge_bracket), "seconds": self.seconds,
                "runs": self.runs}


@dataclass(frozen=True)
class PowerLawFit:
    """``iterations ≈ c · L^exponent`` for one (problem, init, width), least squares in logs.

    ``iterations`` per depth is the fewest iterations to converge over the step sizes
    tried (at each step size the median over the seeds that converged): the paper's
    "tuned step size". Depths where nothing converged are left out.
    """

    problem: str
    init: str
    width: int | None
    depths: tuple[int, ...]
    iterations: tuple[float, ...]
    exponent: float
    coefficient: float
    r2: float

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self.__dict__)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class SweepResult:
    """Everything a sweep computed: rows (one per cell), groups, fits, settings.

    ``reused`` counts rows taken from an earlier run (resume); ``interrupted`` is true when
    Ctrl-C stopped the sweep (the rows cover only finished groups).
    """

    rows: tuple[Mapping[str, Any], ...]
    groups: tuple[SweepGroup, ...]
    fits: tuple[PowerLawFit, ...]
    settings: Mapping[str, Any]
    total_cells: int
    reused: int = 0
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(COLUMNS)

    def outcome_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.rows:
            counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
        return dict(sorted(counts.items()))

    def to_dict(self, *, with_rows: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema_version": 1,
            "settings": jsonable(dict(self.settings)),
            "total_cells": self.total_cells,
            "finished_cells": len(self.rows),
            "reused_cells": self.reused,
            "interrupted": self.interrupted,
            "seconds": self.seconds,
            "outcomes": self.outcome_counts(),
            "columns": dict(COLUMNS),
            "groups": [g.to_dict() for g in self.groups],
            "fits": [f.to_dict() for f in self.fits],
        }
        if with_rows:
            out["rows"] = [jsonable(dict(r)) for r in self.rows]
        return out
