"""The empirical edge: the largest constant step size at which simulated GD still reaches
the optimal loss, and how every bound compares with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gdcert.results.core import Bound, jsonable


@dataclass(frozen=True)
class Edge:
    """The empirical edge and how every applicable bound compares with it."""

    edge: float
    bracket: tuple[float, float]
    init: str
    seeds: tuple[int, ...]
    iterations: int
    tolerance: float
    evaluations: int
    ratios: dict[str, float]
    bounds: tuple[Bound, ...] = field(repr=False)
    history: tuple[tuple[float, bool], ...] = field(repr=False, default=())
    #: GD steps over all runs of the search (``evaluations`` counts the runs).
    iterations_spent: int = 0
    #: The largest η certified (computer-assisted, ``aposteriori.pl_ball``) for every seed
    #: among fractions of the edge, with the certificate of the first seed (or, when none
    #: is certified, why not); ``None`` when not attempted.
    certified_edge: float | None = None
    certificate: dict[str, Any] | None = field(repr=False, default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "edge": jsonable(self.edge),
            "bracket": jsonable(list(self.bracket)),
            "init": self.init,
            "seeds": list(self.seeds),
            "iterations": self.iterations,
            "tolerance": self.tolerance,
            "evaluations": self.evaluations,
            "iterations_spent": self.iterations_spent,
            "ratios": jsonable(self.ratios),
            "bounds": [b.to_dict() for b in self.bounds],
            "history": [{"step_size": e, "converged_all_seeds": ok} for e, ok in self.history],
            "certified_edge": jsonable(self.certified_edge),
            "certified_ratio": jsonable(None if self.certified_edge is None
                                        else self.certified_edge / self.edge),
            "certificate": jsonable(self.certificate),
        }
