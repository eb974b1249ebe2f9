"""What a user asked for, before anything is computed: plain frozen specifications.

The configuration parsers (:mod:`gdcert.config`) and the CLI build these; the API
(:mod:`gdcert.api`) turns them into problems, initial weights, bounds and runs. They sit
in the bottom layer (numpy-free, no imports from gdcert but :mod:`gdcert.errors`) so that
every layer can name them, and they hold only names and numbers: a spec never loads a
file, draws weights or evaluates a bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

#: Every initialisation name (one registry: :mod:`gdcert.inits`); ``file`` reads weights.
INIT_NAMES = ("identity", "zas", "near_identity", "gaussian", "xavier", "orthogonal",
              "balanced", "file")
#: Initialisations whose weights do not depend on the seed.
DETERMINISTIC_INITS = ("identity", "zas", "file")
#: Initialisations ``gdcert bound`` evaluates by default (where defined for the widths).
DEFAULT_BOUND_INITS = ("identity", "zas", "balanced")

#: Stable ids of every bound ``gdcert bound`` can report, in report order.
BOUND_IDS = (
    "nar_sastry.cor1",
    "gdcert.cor1_data",
    "nar_sastry.cor2",
    "nar_sastry.thm1",
    "stability.exact",
    "nar_sastry.thm2",
    "nar_sastry.lemma3",
    "nar_sastry.thm3",
    "nar_sastry.thm3_sharp",
    "wu_wang_ma.thm4_3",
    "nguegnang.thm2_4",
    "nguegnang.thm2_4_default",
    "aposteriori.pl_ball",
)

Loss = Literal["sum", "mean"]
Requirement = Literal["necessary", "sufficient", "verified"]
REQUIREMENTS: tuple[Requirement, ...] = ("necessary", "sufficient", "verified")
DEFAULT_CHECK_INIT = "balanced"
DEFAULT_CHECK_ITERATIONS = 5_000


@dataclass(frozen=True)
class InitSpec:
    """How to initialise a run: a name from :data:`INIT_NAMES` and its knobs.

    ``sigma``: entry scale of ``near_identity``/``gaussian``; ``rank``/``scale``: of
    ``balanced`` (``scale`` also of ``orthogonal``); ``file``: an ``.npz`` of W1..WL.
    """

    name: str = "balanced"
    sigma: float | None = None
    rank: int | None = None
    scale: float = 1.0
    file: str | None = None

    @property
    def deterministic(self) -> bool:
        return self.name in DETERMINISTIC_INITS


@dataclass(frozen=True)
class StepSpec:
    """A step size: constant ``eta``; schedule ``min(a1, a2/(k+1)^gamma)``; or a bound.

    A bound is given by id (``nar_sastry.cor1``), optionally scaled by ``times``; the API
    resolves it for the run's own initialisation (init-dependent bounds such as
    Nguegnang et al.'s are evaluated at each seed's W⃗(0)).
    """

    eta: float | None = None
    a1: float | None = None
    a2: float | None = None
    gamma: float | None = None
    bound: str | None = None
    times: float = 1.0
    #: Where the step size was written (``file:line: 'key'``): prefixes errors about it.
    where: str | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        if self.bound is not None:
            return f"{self.times:g}×{self.bound}" if self.times != 1.0 else self.bound
        if self.eta is not None:
            return f"{self.eta:.4g}"
        return f"min({self.a1:.3g}, {self.a2:.3g}/(k+1)^{self.gamma:g})"


@dataclass(frozen=True)
class SimConfig:
    """A validated ``gdcert simulate`` configuration (``model: linear``), paths resolved."""

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
    model: str = "linear"


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
    model: str = "relu2"


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
    loss: Loss = "sum"
    samples_as_rows: bool = False
    init: str = DEFAULT_CHECK_INIT
    seeds: int = 1
    iterations: int = DEFAULT_CHECK_ITERATIONS
    tolerance: float | None = None
    checks_file: str | None = None
    checks_line: int | None = None
    #: Try the computer-assisted certificate (``aposteriori.pl_ball``) for ``sufficient`` and
    #: ``verified`` checks when no closed-form bound certifies η.
    aposteriori: bool = True

    @property
    def problem_source(self) -> str:
        return self.target if self.target is not None else f"--data {self.data}"

    def where(self) -> str:
        """``.gdcert.yaml:7: check 'spd'`` (for error messages)."""
        if self.checks_file is None:
            return f"check {self.name!r}"
        line = f":{self.checks_line}" if self.checks_line is not None else ""
        return f"{self.checks_file}{line}: check {self.name!r}"


# --------------------------------------------------------------------------- sweeps
# What a sweep asks for (``gdcert sweep``): the sweep-file parser (gdcert.config.sweep)
# builds a SweepSpec; gdcert.api.sweep.run_sweep expands it into cells (one GD run each)
# grouped by (problem, depth, width, init).

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
