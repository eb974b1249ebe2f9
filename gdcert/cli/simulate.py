"""``gdcert simulate CONFIG.yaml``: verification gradient descent from a config file."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gdcert.spec import ReluSimConfig


@click.command("simulate")
@click.argument("config", type=str)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON on stdout.")
@click.option("--output", "-o", type=str, default=None, metavar="FILE.json",
              help="Write the JSON result to FILE (overrides output.json in the config).")
@click.option("--plot", type=str, default=None, metavar="FILE.png",
              help="Draw loss curves (and sharpness) to a PNG (needs the plot extra).")
@click.option("--no-records", is_flag=True, help="Leave the per-iteration records out of JSON.")
def simulate(config: str, as_json: bool, output: str | None, plot: str | None,
             no_records: bool) -> int:
    """Run verification GD as CONFIG describes (schema: docs/config.md).

    Each run is classified (converged_global, converged_critical, diverged, oscillating,
    plateau, unfinished) and checked against the promises of every sufficient bound that
    covers its init and step size. Ctrl-C stops cleanly and still writes finished runs.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from gdcert.api import load_problem
    from gdcert.api import simulate as run_sim
    from gdcert.cli._common import check_outputs
    from gdcert.config import simulate as simconfig
    from gdcert.spec import ReluSimConfig

    cfg = simconfig.load(config)
    check_outputs(plot=plot or cfg.output_plot, outputs=(output or cfg.output_json,))
    if isinstance(cfg, ReluSimConfig):
        return _simulate_relu(cfg, as_json=as_json, output=output, plot=plot,
                              no_records=no_records)
    problem = load_problem(cfg.target, data=cfg.data, depth=cfg.depth, widths=cfg.widths,
                           loss=cfg.loss, samples_as_rows=cfg.samples_as_rows)  # type: ignore[arg-type]
    err = Console(stderr=True)
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("simulating", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        sim = run_sim(problem, init=cfg.init, step_sizes=cfg.steps, seeds=cfg.seeds,
                      iterations=cfg.iterations, tolerance=cfg.tolerance,
                      track_balancedness=cfg.track_balancedness,
                      track_sharpness=cfg.track_sharpness,
                      track_invariants=cfg.track_invariants, record_every=cfg.record_every,
                      div_factor=cfg.divergence_factor, progress=progress)
    write_outputs(sim, as_json=as_json, output=output or cfg.output_json,
                  plot=plot or cfg.output_plot, with_records=not no_records,
                  title=f"{problem.source}, L = {problem.depth}, init {cfg.init.name}")
    if sim.interrupted:
        click.echo(f"gdcert: interrupted: {len(sim.runs)} finished run(s) kept", err=True)
        return 130
    return 0


def _simulate_relu(cfg: ReluSimConfig, *, as_json: bool, output: str | None, plot: str | None,
                   no_records: bool) -> int:
    """``model: relu2``: GD on a two-layer ReLU network (gdcert.api.relu)."""
    from gdcert.api import simulate_relu
    from gdcert.report.plot_relu import plot_relu_runs

    sim = simulate_relu(cfg)
    conv = "½Σ‖f̂−f‖²" if cfg.loss == "half-sum" else "Σ‖f̂−f‖²"
    write_outputs(sim, as_json=as_json, output=output or cfg.output_json,
                  plot=plot or cfg.output_plot, with_records=not no_records,
                  title=f"two-layer ReLU network, loss {conv}", plotter=plot_relu_runs)
    if sim.interrupted:
        click.echo(f"gdcert: interrupted: {len(sim.runs)} finished run(s) kept", err=True)
        return 130
    return 0


def write_outputs(sim: object, *, as_json: bool, output: str | None, plot: str | None,
                  with_records: bool, title: str, plotter: Callable[..., bytes] | None = None
                  ) -> None:
    """JSON to stdout/file (atomically), the PNG plot, or the rich report."""
    import json
    from pathlib import Path

    from rich.console import Console

    from gdcert.cli._common import emit_bytes
    from gdcert.io import atomic_write_text
    from gdcert.report.sim_terminal import loss_curves, runs_table

    doc = json.dumps(sim.to_dict(with_records=with_records),  # type: ignore[attr-defined]
                     indent=2, allow_nan=False)
    if output:
        atomic_write_text(Path(output), doc + "\n")
    runs = sim.runs  # type: ignore[attr-defined]
    if plot and runs and plotter is not None:
        emit_bytes(plotter(sim, title=title), plot)
    elif plot and runs:
        from gdcert.report.plot import plot_runs

        emit_bytes(plot_runs(runs, title=title), plot)
    if as_json:
        click.echo(doc)
        return
    console = Console()
    console.print(runs_table(runs))
    if runs:
        console.print(loss_curves(runs, width=max(20, min(80, console.width - 14))))
    from rich.markup import escape

    if output:
        console.print(f"[dim]wrote {escape(output)}[/dim]")
    if plot and runs:
        console.print(f"[dim]wrote {escape(plot)}[/dim]")
