"""``run_sweep``: phase diagrams at scale — GD over a grid of depths, widths, step sizes,
inits, problems and seeds, one classified run per cell.

Data flow: the sweep spec is expanded into *cells* (one run each), grouped into *tasks*
by (problem, depth, width, init). A task (:func:`run_group`) is a pure function of its
:class:`GroupTask`: it builds the problem from the arrays it carries, computes the bounds
once (and the empirical edge when asked or needed), resolves every step size, and runs
all of its seeds × step sizes in one batched :func:`gdcert.sim.models.run_jobs` call.
Tasks run inline, in local processes or on Dask (:mod:`gdcert.api.sweep_exec`).

Resuming: every cell has a content hash (:func:`cell_id`); ``previous`` parts (what
``on_group`` was handed before) supply finished cells, which are not run again. This
module never writes a file: the caller (the CLI) stores each part as it arrives.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gdcert.errors import InputError
from gdcert.results.sweep import NOT_APPLICABLE, PowerLawFit, SweepGroup, SweepResult
from gdcert.spec import EDGE, LARGE_SWEEP_RUNS, InitSpec, ProblemSource, SweepSpec, SweepStep

#: A part: ``{"group": SweepGroup.to_dict(), "rows": [row, ...]}`` (what ``on_group`` gets).
Part = Mapping[str, Any]
#: Largest memory one batched kernel call may hold in trajectories (records and weights);
#: a task whose runs need more is split into several calls.
TASK_MEMORY_CAP = 256 * 2**20
#: Records kept per trajectory (the engine's automatic spacing).
RECORDS_PER_RUN = 1000


def _version() -> str:
    from gdcert import __version__

    return __version__


def _hash(doc: Mapping[str, Any]) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Cell:
    """One run: its position in the sweep, step size, seed and hash."""

    index: int
    step: SweepStep
    seed: int
    cell_id: str


@dataclass(frozen=True)
class GroupTask:
    """Everything one task needs (picklable, no file access): a pure function's input."""

    key: str
    source: ProblemSource
    arrays: tuple[Any, ...]  # (phi,) or (x, y) as read from the file
    depth: int
    width: int | None
    widths: tuple[int, ...]
    init: InitSpec
    cells: tuple[Cell, ...]
    iterations: int
    tolerance: float | None
    divergence_factor: float
    track_sharpness: bool
    edge_seeds: tuple[int, ...] | None  # None: no edge search
    edge_rtol: float
    edge_iterations: int
    known_edge: tuple[float, float] | None = None  # from an earlier run of this group
    parallel: bool = True

    @property
    def runs(self) -> int:
        return len(self.cells)


# --------------------------------------------------------------------------- planning


def _widths(source: ProblemSource, arrays: tuple[Any, ...], depth: int,
            width: int | None) -> tuple[int, ...]:
    if len(arrays) == 1:
        d_out, d_in = arrays[0].shape
    else:
        d_in, d_out = arrays[0].shape[0], arrays[1].shape[0]
    if width is None:
        if d_in != d_out and depth > 1:
            raise InputError(f"problem {source.name}: target is {d_out}×{d_in}; give 'width' "
                             "(hidden-layer width) for a non-square problem")
        return (d_in,) * depth + (d_out,)
    return (d_in,) + (width,) * (depth - 1) + (d_out,)


def _group_doc(spec: SweepSpec, source: ProblemSource, widths: tuple[int, ...],
               init: InitSpec) -> dict[str, Any]:
    return {"gdcert": _version(), "problem": source.key(), "widths": list(widths),
            "init": {"name": init.name, "sigma": init.sigma, "rank": init.rank,
                     "scale": init.scale},
            "iterations": spec.iterations, "tolerance": spec.tolerance,
            "divergence_factor": spec.divergence_factor}


def _edge_doc(spec: SweepSpec, seeds: Sequence[int]) -> dict[str, Any]:
    return {"rtol": spec.edge.rtol, "iterations": spec.edge.iterations or spec.iterations,
            "seeds": list(seeds)}


def cell_id(group_doc: Mapping[str, Any], step: SweepStep, seed: int, *,
            track_sharpness: bool, edge: Mapping[str, Any] | None) -> str:
    """Hash of everything that determines one run's row."""
    doc = {**group_doc, "step": step.key(), "seed": seed, "track_sharpness": track_sharpness}
    if step.ref == EDGE:
        doc["edge"] = dict(edge or {})
    return _hash(doc)


def _load_arrays(source: ProblemSource) -> tuple[Any, ...]:
    from gdcert import io

    if source.target is not None:
        return (io.load_matrix(source.target, what=f"problem {source.name}"),)
    assert source.data is not None
    return io.load_data(source.data, samples_as_rows=source.samples_as_rows)


def plan(spec: SweepSpec, *, parallel: bool = True) -> list[GroupTask]:
    """Every task of the sweep, in sweep order, with all of its cells."""
    tasks: list[GroupTask] = []
    index = 0
    for source in spec.problems:
        arrays = _load_arrays(source)
        for depth in spec.depths:
            for width in spec.widths:
                widths = _widths(source, arrays, depth, width)
                for init in spec.inits:
                    seeds = spec.seeds[:1] if init.deterministic else spec.seeds
                    edge_seeds = tuple(spec.edge.seeds or seeds)
                    if init.deterministic:
                        edge_seeds = edge_seeds[:1]
                    gdoc = _group_doc(spec, source, widths, init)
                    edoc = _edge_doc(spec, edge_seeds)
                    cells = []
                    for step in spec.steps:
                        for seed in seeds:
                            cells.append(Cell(index, step, seed, cell_id(
                                gdoc, step, seed, track_sharpness=spec.track_sharpness,
                                edge=edoc)))
                            index += 1
                    key = _hash({**gdoc, "edge": edoc if spec.needs_edge else None})
                    tasks.append(GroupTask(
                        key=key, source=source, arrays=arrays, depth=depth, width=width,
                        widths=widths, init=init, cells=tuple(cells),
                        iterations=spec.iterations, tolerance=spec.tolerance,
                        divergence_factor=spec.divergence_factor,
                        track_sharpness=spec.track_sharpness,
                        edge_seeds=edge_seeds if spec.needs_edge else None,
                        edge_rtol=spec.edge.rtol,
                        edge_iterations=spec.edge.iterations or spec.iterations,
                        parallel=parallel))
    return tasks


# --------------------------------------------------------------------------- one task


def _problem(task: GroupTask) -> Any:
    from gdcert.problem import Problem

    src = task.source
    if len(task.arrays) == 1:
        return Problem.from_target(task.arrays[0], depth=task.depth, widths=task.widths,
                                   source=src.name)
    return Problem.from_data(task.arrays[0], task.arrays[1], depth=task.depth,
                             widths=task.widths, loss=src.loss, source=src.name)  # type: ignore[arg-type]


def _bound_doc(b: Any) -> dict[str, Any]:
    return {"id": b.id, "init": b.init, "kind": b.kind, "applies": bool(b.applies),
            "max_step": float(b.max_step) if b.applies else math.nan,
            "log10_max_step": float(b.log10_max_step), "reason": b.reason}


def _base_row(task: GroupTask, cell: Cell) -> dict[str, Any]:
    return {"cell_id": cell.cell_id, "problem": task.source.name,
            "problem_file": task.source.file, "depth": task.depth, "width": task.width,
            "widths": ",".join(str(w) for w in task.widths), "init": task.init.name,
            "seed": cell.seed, "step_label": cell.step.label, "step_ref": cell.step.ref,
            "step_times": cell.step.times, "step_size": None, "outcome": NOT_APPLICABLE,
            "converged": False, "iterations": None, "final_loss": None,
            "optimal_loss": None, "loss_gap": None, "sharpness_final": None,
            "promises_checked": 0, "promises_held": None, "promises": "", "note": ""}


def _run_row(row: dict[str, Any], run: Any) -> dict[str, Any]:
    import numpy as np

    from gdcert.sim.kernels import SHARP_RTOL

    held = [p.held for p in run.promises]
    sharp = run.records.get("sharpness")
    sharp_final = None
    if sharp is not None:
        values = np.asarray(sharp, dtype=float)
        idx = np.flatnonzero(np.isfinite(values))
        if idx.size:
            sharp_final = float(values[idx[-1]])
            res = run.records.get("sharpness_residual")
            if res is not None and float(np.asarray(res, dtype=float)[idx[-1]]) > SHARP_RTOL:
                row["note"] = ("sharpness_final is a lower estimate: the tracker's product "
                               "budget ran out before its residual test")
    row.update(step_size=float(run.step_size), outcome=run.outcome,
               converged=run.outcome == "converged_global", iterations=int(run.iterations),
               final_loss=float(run.final_loss), optimal_loss=float(run.optimal_loss),
               loss_gap=float(run.final_loss - run.optimal_loss), sharpness_final=sharp_final,
               promises_checked=len(held),
               promises_held=(all(held) if held and None not in held else
                              (False if False in held else None)),
               promises=";".join(f"{p.bound_id}:{str(p.held).lower()}" for p in run.promises))
    return row


def _chunks(task: GroupTask, n_jobs: int) -> int:
    """Jobs per kernel call so that one call's trajectories stay under the memory cap."""
    params = sum(a * b for a, b in zip(task.widths[:-1], task.widths[1:], strict=True))
    records = min(task.iterations, RECORDS_PER_RUN) + 2
    per_job = 8 * (records * (3 + task.track_sharpness + task.depth) + 6 * params)
    return max(1, min(n_jobs, TASK_MEMORY_CAP // max(per_job, 1)))


def _edge(task: GroupTask, problem: Any, tol: float | None) -> tuple[tuple[float, float] | None,
                                                                     str]:
    from gdcert.api.edge import find_edge

    if task.known_edge is not None:
        return task.known_edge, ""
    assert task.edge_seeds is not None
    try:
        e = find_edge(problem, init=task.init, seeds=task.edge_seeds,
                      iterations=task.edge_iterations, tolerance=tol, rtol=task.edge_rtol)
    except InputError as exc:
        return None, f"no empirical edge: {exc}"
    return (float(e.bracket[0]), float(e.bracket[1])), ""


def _group_bounds(problem: Any, inits: Mapping[int, Any]) -> tuple[list[Any], dict[int, list[Any]]]:
    """Bounds once per group: the init's, and Nguegnang et al.'s at each seed's W⃗(0);
    ``(reported, per_seed)`` — the group reports the least over the seeds, as
    :func:`gdcert.api.edge.edge_bounds` does."""
    from gdcert.bounds.registry import compute_bounds, nguegnang_bounds

    base = [b for b in compute_bounds(problem, [next(iter(inits.values()))])
            if not b.id.startswith("nguegnang")]
    per_seed = {s: base + [b for b in nguegnang_bounds(problem, i) if b.applies]
                for s, i in inits.items()}
    least: dict[str, Any] = {}
    for bs in per_seed.values():
        for b in bs[len(base):]:
            if b.id not in least or b.log10_max_step < least[b.id].log10_max_step:
                least[b.id] = b
    return base + list(least.values()), per_seed


def _cell_eta(task: GroupTask, c: Any, per_seed: Mapping[int, list[Any]],
              edge: tuple[float, float] | None, edge_note: str) -> float:
    """The constant step size of one cell (a number, a multiple of a bound or of the edge);
    :class:`InputError` when the bound or the edge is not available."""
    from gdcert.api.simulation import bound_for

    if c.step.ref is None:
        return float(c.step.eta)
    if c.step.ref == EDGE:
        if edge is None:
            raise InputError(edge_note)
        return edge[0] * float(c.step.times)
    b = bound_for(per_seed[c.seed], c.step.ref, task.init.name, where="step_size")
    return b.max_step * float(c.step.times)


def _run_cells(task: GroupTask, problem: Any, jobs: list[Any], keep: list[Any], tol: float,
               rows: Mapping[int, dict[str, Any]]) -> None:
    """Run the jobs in memory-bounded batched kernel calls and fill the cells' rows."""
    from gdcert.api.runs import make_run
    from gdcert.api.simulation import gd_problem, least_delta_bal, needs_envelope
    from gdcert.sim.models import LinearModel, RunSettings, run_jobs

    model = LinearModel(gd_problem(problem))
    settings = RunSettings(max_iter=task.iterations, loss_target=problem.optimal_loss + tol,
                           div_factor=task.divergence_factor, parallel=task.parallel,
                           track_sharpness=task.track_sharpness,
                           track_balancedness=any(b.id.startswith("nguegnang")
                                                  for _, _, cov in keep for b in cov),
                           envelope=needs_envelope([cov for _, _, cov in keep]),
                           envelope_optimal_loss=problem.optimal_loss)
    size = _chunks(task, len(jobs))
    for start in range(0, len(jobs), size):
        batch = jobs[start:start + size]
        trajs, interrupted = run_jobs(model, batch, settings, group_size=len(batch))
        if interrupted:
            raise KeyboardInterrupt  # a half-finished group is never reported
        for (c, sched, cov), job, traj in zip(keep[start:start + size], batch, trajs,
                                              strict=True):
            run = make_run(problem, model, seed=c.seed, init_name=task.init.name,
                           step_label=c.step.label, schedule=sched, w0=job.init, cover=cov,
                           traj=traj, tol=tol, core_delta_bal=least_delta_bal(cov))
            _run_row(rows[c.index], run)


def run_group(task: GroupTask) -> dict[str, Any]:
    """Run one task; return its part ``{"group": ..., "rows": [...]}``.

    Pure: the result depends only on ``task`` (seeded inits, deterministic kernels), so a
    task lost with its worker can be run again anywhere.
    """
    from gdcert import inits as _inits
    from gdcert.api.runs import covering, default_tolerance
    from gdcert.api.simulation import promised_job
    from gdcert.sim.engine import Schedule

    t0 = time.perf_counter()
    if not task.parallel:
        import numba

        numba.set_num_threads(1)  # several tasks share the cores: no threads within one
    problem = _problem(task)
    tol = default_tolerance(problem) if task.tolerance is None else task.tolerance
    rows = {c.index: _base_row(task, c) for c in task.cells}
    seeds = sorted({c.seed for c in task.cells} | set(task.edge_seeds or ()))
    try:
        inits = {s: _inits.from_spec(task.init, task.widths, s) for s in seeds or [0]}
    except InputError as exc:  # e.g. identity init with a hidden width
        for r in rows.values():
            r["note"] = str(exc)
        return _part(task, [], None, rows, time.perf_counter() - t0)
    bounds, per_seed = _group_bounds(problem, inits)
    edge, edge_note = (_edge(task, problem, task.tolerance) if task.edge_seeds is not None
                       else (None, ""))
    jobs, keep = [], []
    for c in task.cells:
        try:
            sched = Schedule.constant(_cell_eta(task, c, per_seed, edge, edge_note))
        except InputError as exc:
            rows[c.index]["note"] = str(exc)
            continue
        cov = tuple(covering(per_seed[c.seed], sched, task.init.name))
        jobs.append(promised_job(problem, inits[c.seed].weights(), sched, cov))
        keep.append((c, sched, cov))
    _run_cells(task, problem, jobs, keep, tol, rows)
    return _part(task, bounds, edge, rows, time.perf_counter() - t0)


def _part(task: GroupTask, bounds: Sequence[Any], edge: tuple[float, float] | None,
          rows: Mapping[int, dict[str, Any]], seconds: float) -> dict[str, Any]:
    group = SweepGroup(key=task.key, problem=task.source.name, depth=task.depth,
                       width=task.width, widths=task.widths, init=task.init.name,
                       bounds=tuple(_bound_doc(b) for b in bounds),
                       edge=None if edge is None else edge[0], edge_bracket=edge,
                       seconds=seconds, runs=len(rows))
    return {"group": group.to_dict(), "rows": [rows[i] for i in sorted(rows)]}


# --------------------------------------------------------------------------- results


def _float(v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, str):
        return float(v)  # 'inf' / '-inf' from JSON
    return float(v)


def group_from_dict(d: Mapping[str, Any]) -> SweepGroup:
    bounds = tuple({**b, "max_step": _float(b["max_step"]) if b["max_step"] is not None
                    else math.nan,
                    "log10_max_step": _float(b["log10_max_step"])
                    if b["log10_max_step"] is not None else math.nan}
                   for b in d["bounds"])
    br = d.get("edge_bracket")
    return SweepGroup(key=d["key"], problem=d["problem"], depth=int(d["depth"]),
                      width=d["width"], widths=tuple(d["widths"]), init=d["init"],
                      bounds=bounds, edge=_float(d.get("edge")),
                      edge_bracket=None if br is None else (float(br[0]), _float(br[1]) or 0.0),
                      seconds=float(d.get("seconds", 0.0)), runs=int(d.get("runs", 0)))


def fit_power_law(depths: Sequence[float], values: Sequence[float]) -> tuple[float, float, float]:
    """Least squares ``ln v = ln c + γ ln L``: ``(γ, c, r²)``."""
    import numpy as np

    x, y = np.log(np.asarray(depths, float)), np.log(np.asarray(values, float))
    gamma, lnc = np.polyfit(x, y, 1)
    resid = y - (lnc + gamma * x)
    ss = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid ** 2)) / ss if ss > 0 else 1.0
    return float(gamma), float(math.exp(lnc)), r2


def _fits(rows: Sequence[Mapping[str, Any]]) -> list[PowerLawFit]:
    """Per (problem, init, width): fewest iterations to converge at each depth."""
    best: dict[tuple[Any, ...], dict[int, float]] = {}
    by_step: dict[tuple[Any, ...], list[int]] = {}
    for r in rows:
        if r["converged"]:
            by_step.setdefault((r["problem"], r["init"], r["width"], r["depth"],
                                r["step_label"]), []).append(int(r["iterations"]))
    for (prob, init, width, depth, _), its in by_step.items():
        med = float(statistics.median(its))
        cur = best.setdefault((prob, init, width), {})
        cur[depth] = min(cur.get(depth, math.inf), med)
    out = []
    for (prob, init, width), per_depth in best.items():
        depths = sorted(d for d in per_depth if per_depth[d] > 0)
        if len(depths) < 2:
            continue
        iters = [per_depth[d] for d in depths]
        gamma, coef, r2 = fit_power_law(depths, iters)
        out.append(PowerLawFit(problem=prob, init=init, width=width, depths=tuple(depths),
                               iterations=tuple(iters), exponent=gamma, coefficient=coef, r2=r2))
    return out


def settings_doc(spec: SweepSpec) -> dict[str, Any]:
    return {"gdcert": _version(), "sweep_file": spec.path,
            "problems": [{"name": p.name, "file": p.file, "loss": p.loss, "sha256": p.sha256}
                         for p in spec.problems],
            "depths": list(spec.depths), "widths": list(spec.widths),
            "inits": [i.name for i in spec.inits], "step_sizes": [s.label for s in spec.steps],
            "seeds": list(spec.seeds), "iterations": spec.iterations,
            "tolerance": spec.tolerance, "divergence_factor": spec.divergence_factor,
            "track_sharpness": spec.track_sharpness,
            "edge": {"computed": spec.needs_edge, "rtol": spec.edge.rtol}}


# --------------------------------------------------------------------------- entry point


def _check_size(n_runs: int, yes: bool) -> None:
    # a sweep above 10⁶ runs is confirmed explicitly (the CLI prints its size first)
    if n_runs > LARGE_SWEEP_RUNS and not yes:
        raise InputError(f"the sweep has {n_runs:,} runs (more than {LARGE_SWEEP_RUNS:,}); "
                         "pass --yes (yes=True) to run it")


def sweep_size(spec: SweepSpec | str | Path) -> tuple[int, int]:
    """``(runs, tasks)`` of a sweep, counted without building it."""
    spec = _spec(spec)
    per_init = [len(spec.seeds[:1] if i.deterministic else spec.seeds) for i in spec.inits]
    outer = len(spec.problems) * len(spec.depths) * len(spec.widths)
    return outer * len(spec.steps) * sum(per_init), outer * len(spec.inits)


def _spec(spec: SweepSpec | str | Path) -> SweepSpec:
    if isinstance(spec, SweepSpec):
        return spec
    from gdcert.config import sweep as sweep_config

    return sweep_config.load(spec)


def run_sweep(spec: SweepSpec | str | Path, *, workers: int = 1, scheduler: Any = None,
              previous: Iterable[Part] = (),
              on_group: Callable[[Part, Callable[[], SweepResult]], None] | None = None,
              progress: Callable[[int, int], None] | None = None, retries: int = 2,
              yes: bool = False) -> SweepResult:
    """Run every cell of a sweep not already in ``previous``; a :class:`SweepResult`.

    ``workers``: local processes (1: in this process, kernels on numba's threads).
    ``scheduler``: ``"local:N"`` (a Dask ``LocalCluster`` of N processes),
    ``"tcp://host:8786"``, or a ``distributed.Client``; needs ``gdcert[dask]``.
    ``previous``: parts from an earlier run (cells whose hash matches are reused).
    ``on_group(part, current)`` is called as each task finishes (store ``part`` to resume
    later; ``current()`` builds the result so far, e.g. to rewrite a table);
    ``progress(done_runs, total_runs)`` after each. ``retries``: re-runs of a task whose
    worker died. Ctrl-C returns the finished groups with ``interrupted=True``.
    """
    from gdcert.api.sweep_exec import execute
    from gdcert.validate import check_count

    spec = _spec(spec)
    check_count(workers, name="workers")
    t0 = time.perf_counter()
    _check_size(sweep_size(spec)[0], yes)
    tasks = plan(spec, parallel=workers == 1 and scheduler is None)
    total = sum(t.runs for t in tasks)
    done_rows: dict[str, dict[str, Any]] = {}
    groups: dict[str, SweepGroup] = {}
    for part in previous:
        groups[part["group"]["key"]] = group_from_dict(part["group"])
        for r in part["rows"]:
            done_rows.setdefault(r["cell_id"], dict(r))
    todo: list[GroupTask] = []
    reused = 0
    for t in tasks:
        pending = tuple(c for c in t.cells if c.cell_id not in done_rows)
        reused += t.runs - len(pending)
        g = groups.get(t.key)
        need_edge = t.edge_seeds is not None and (g is None or g.edge_bracket is None)
        if pending or need_edge or g is None:
            known = g.edge_bracket if g is not None and g.edge_bracket is not None else None
            todo.append(replace(t, cells=pending, known_edge=known))
    finished = reused
    keys = [t.key for t in tasks]

    def current(interrupted: bool = False) -> SweepResult:
        rows = tuple(done_rows[c.cell_id] for t in tasks for c in t.cells
                     if c.cell_id in done_rows)
        return SweepResult(rows=rows, groups=tuple(groups[k] for k in keys if k in groups),
                           fits=tuple(_fits(rows)), settings=settings_doc(spec),
                           total_cells=total, reused=reused, interrupted=interrupted,
                           seconds=time.perf_counter() - t0)

    if progress is not None:
        progress(finished, total)

    def done(part: Part) -> None:
        nonlocal finished
        groups[part["group"]["key"]] = group_from_dict(part["group"])
        for r in part["rows"]:
            done_rows[r["cell_id"]] = dict(r)
        finished += len(part["rows"])
        if on_group is not None:
            on_group(part, current)
        if progress is not None:
            progress(finished, total)

    interrupted = execute(todo, done, workers=workers, scheduler=scheduler, retries=retries)
    return current(interrupted)
