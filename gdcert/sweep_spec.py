"""What a sweep asks for (``gdcert sweep``), before anything is computed: plain frozen specs.

The sweep-file parser (:mod:`gdcert.config.sweep`) builds a :class:`SweepSpec`; the API
(:func:`gdcert.api.sweep.run_sweep`) expands it into cells (one GD run each) grouped by
(problem, depth, width, init). Like :mod:`gdcert.spec`, this module sits in the bottom
layer: names and numbers only, no numpy, no files read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gdcert.spec import InitSpec

#: The step-size reference meaning "the empirical edge" (``{times: [...], bound: edge}``).
EDGE = "edge"
#: Above this many runs a sweep is refused unless ``--yes`` / ``yes=True`` is given.
LARGE_SWEEP_RUNS = 10**6


@dataclass(frozen=True)
class ProblemSource:
    """One problem of a sweep: a target matrix file or a dataset ``.npz``.

    ``sha256`` is the content hash of the file (set by the parser); it enters every cell's
    hash, so editing the file invalidates exactly the cells that use it.
    """

    name: str
    target: str | None = None
    data: str | None = None
    loss: str = "sum"
    samples_as_rows: bool = False
    sha256: str = ""

    @property
    def file(self) -> str:
        return str(self.target if self.target is not None else self.data)

    def key(self) -> dict[str, Any]:
        """What identifies the problem in a cell hash (content, not the path)."""
        return {"form": "target" if self.target is not None else "data",
                "sha256": self.sha256, "loss": self.loss,
                "samples_as_rows": self.samples_as_rows,
                "key": self.file.rsplit(":", 1)[1] if self.file.count(":") == 1 else None}


@dataclass(frozen=True)
class SweepStep:
    """One step size of the sweep axis: absolute ``eta``, or ``times`` × a reference.

    ``ref`` is a bound id of :data:`gdcert.spec.BOUND_IDS` or :data:`EDGE`.
    """

    eta: float | None = None
    times: float | None = None
    ref: str | None = None

    @property
    def label(self) -> str:
        if self.ref is None:
            return f"{self.eta:.6g}"
        return f"{self.times:g}×{self.ref}"

    def key(self) -> dict[str, Any]:
        if self.ref is None:
            return {"eta": float(self.eta)}  # type: ignore[arg-type]
        return {"times": float(self.times), "ref": self.ref}  # type: ignore[arg-type]


@dataclass(frozen=True)
class EdgeSettings:
    """How the empirical edge is searched (``gdcert.api.edge.find_edge``)."""

    compute: bool = False  # also when no step size is relative to the edge
    rtol: float = 0.02
    iterations: int | None = None  # default: the sweep's iterations
    seeds: tuple[int, ...] | None = None  # default: the sweep's seeds


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: the axes, the run settings and the outputs (paths resolved)."""

    problems: tuple[ProblemSource, ...]
    depths: tuple[int, ...]
    widths: tuple[int | None, ...]  # hidden-layer width; None: the problem's square layers
    inits: tuple[InitSpec, ...]
    steps: tuple[SweepStep, ...]
    seeds: tuple[int, ...]
    iterations: int = 10_000
    tolerance: float | None = None
    divergence_factor: float = 1e6
    track_sharpness: bool = False
    edge: EdgeSettings = field(default_factory=EdgeSettings)
    output_table: str | None = None
    output_summary: str | None = None
    output_plot: str | None = None
    path: str | None = None

    @property
    def needs_edge(self) -> bool:
        return self.edge.compute or any(s.ref == EDGE for s in self.steps)
