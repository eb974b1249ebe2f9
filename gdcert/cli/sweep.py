"""``gdcert sweep``: phase diagrams at scale (schema and outputs: docs/sweeps.md)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

#: Least time between two rebuilds of the table while a sweep runs (it is always rebuilt
#: at the end); the part files are written as each task finishes regardless.
REBUILD_SECONDS = 2.0


def _check_outputs(table: str | None, summary: str | None, plot: str | None) -> None:
    import importlib.util

    from gdcert.cli._common import check_outputs
    from gdcert.errors import InputError

    check_outputs(plot=plot, outputs=(table, summary))
    if table and table.lower().endswith(".parquet") and importlib.util.find_spec(
            "pyarrow") is None:
        raise InputError(f"{table}: a .parquet table needs pyarrow: pip install "
                         "'gdcert[parquet]' (or write .csv)")
    if table and not table.lower().endswith((".parquet", ".csv")):
        raise InputError(f"--table {table}: expected a .parquet or .csv file name")
    if plot and not plot.lower().endswith((".png", ".svg")):
        raise InputError(f"--plot {plot}: expected a .png or .svg file name")


def plot_paths(plot: str) -> tuple[str, str]:
    """``sweep.png`` → ``sweep-phase.png``, ``sweep-iterations.png``."""
    p = Path(plot)
    return (str(p.with_name(f"{p.stem}-phase{p.suffix}")),
            str(p.with_name(f"{p.stem}-iterations{p.suffix}")))


def _write_table(result: Any, table: str) -> None:
    from gdcert.cli._common import emit_bytes
    from gdcert.report.sweep_out import to_table_bytes

    emit_bytes(to_table_bytes(result, table), table)


@click.command("sweep")
@click.argument("sweep_file", metavar="SWEEP.yaml")
@click.option("--workers", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Local worker processes (1: in this process, kernels on numba threads).")
@click.option("--scheduler", type=str, default=None, metavar="tcp://HOST:8786|local:N",
              help="Run the tasks on Dask distributed (needs gdcert[dask]).")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True,
              help="Re-runs of a task whose worker died.")
@click.option("--table", type=str, default=None, metavar="FILE.parquet|FILE.csv",
              help="The tidy table (overrides output.table); parts go to FILE.parts/.")
@click.option("--summary", type=str, default=None, metavar="FILE.json",
              help="The JSON summary (overrides output.summary).")
@click.option("--plot", type=str, default=None, metavar="FILE.png|FILE.svg",
              help="Pictures FILE-phase.png and FILE-iterations.png (needs gdcert[plot]).")
@click.option("--fresh", is_flag=True, help="Ignore finished parts; run every cell again.")
@click.option("--yes", "-y", is_flag=True, help="Run a sweep of more than 10^6 runs.")
@click.option("--dry-run", is_flag=True, help="Print the sweep's size and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON summary to stdout.")
def sweep(sweep_file: str, workers: int, scheduler: str | None, retries: int,
          table: str | None, summary: str | None, plot: str | None, fresh: bool, yes: bool,
          dry_run: bool, as_json: bool) -> int:
    """Run GD over a grid of depths, widths, step sizes, inits, problems and seeds.

    One classified run per cell, one row per run in the table; cells are grouped into
    tasks by (problem, depth, width, init), each one batched kernel call. Finished tasks
    are stored as they complete: a re-run skips finished cells, and editing the sweep
    file re-runs only the cells it changes. Ctrl-C keeps everything finished (exit 130).
    """
    from rich.console import Console

    from gdcert.api.sweep import run_sweep, sweep_size
    from gdcert.config import sweep as sweep_config
    from gdcert.errors import InputError
    from gdcert.io.sweep_parts import load_parts, parts_dir, write_part
    from gdcert.report.sweep_out import fits_text, summary_table, to_summary_json
    from gdcert.spec import LARGE_SWEEP_RUNS

    spec = sweep_config.load(sweep_file)
    spec = replace(spec, output_table=table or spec.output_table,
                   output_summary=summary or spec.output_summary,
                   output_plot=plot or spec.output_plot)
    if table and not summary:
        spec = replace(spec, output_summary=str(Path(table).with_suffix(".summary.json")))
    _check_outputs(spec.output_table, spec.output_summary, spec.output_plot)
    err = Console(stderr=True)
    n_runs, n_tasks = sweep_size(spec)
    parts_at = parts_dir(spec.output_table) if spec.output_table else None
    previous = [] if fresh or parts_at is None else load_parts(parts_at)
    click.echo(f"gdcert: sweep: {n_runs:,} runs in {n_tasks:,} tasks"
               + (f"; {len(previous)} finished part(s) in {parts_at}" if previous else ""),
               err=True)
    if dry_run:
        return 0
    if n_runs > LARGE_SWEEP_RUNS and not yes:
        raise InputError(f"the sweep has {n_runs:,} runs (more than {LARGE_SWEEP_RUNS:,}); "
                         "check its size, then pass --yes to run it")
    last = [time.monotonic()]

    def on_group(part: Any, current: Any) -> None:
        if parts_at is None or spec.output_table is None:
            return
        write_part(parts_at, part)
        if time.monotonic() - last[0] >= REBUILD_SECONDS:
            _write_table(current(), spec.output_table)
            last[0] = time.monotonic()

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), "eta", TimeRemainingColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("sweeping", total=n_runs)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = run_sweep(spec, workers=workers, scheduler=scheduler, previous=previous,
                           on_group=on_group, progress=progress, retries=retries, yes=yes)
    _outputs(result, spec)
    if as_json:
        click.echo(to_summary_json(result), nl=False)
    else:
        out = Console()
        out.print(summary_table(result))
        if result.fits:
            out.print(fits_text(result))
        for path in (spec.output_table, spec.output_summary):
            if path:
                out.print(f"[dim]wrote {path}[/dim]")
    if result.interrupted:
        click.echo(f"gdcert: interrupted: {len(result.rows)} of {result.total_cells} runs "
                   "finished and kept; run the same command again to resume", err=True)
        return 130
    return 0


def _outputs(result: Any, spec: Any) -> None:
    from gdcert.cli._common import emit, emit_bytes
    from gdcert.report.sweep_out import to_summary_json

    if spec.output_table:
        _write_table(result, spec.output_table)
    if spec.output_summary:
        emit(to_summary_json(result), spec.output_summary)
    if spec.output_plot and result.rows:
        from gdcert.report.plot_sweep import iterations_plot, phase_diagram

        fmt = Path(spec.output_plot).suffix.lstrip(".").lower()
        phase, iters = plot_paths(spec.output_plot)
        emit_bytes(phase_diagram(result, fmt=fmt), phase)
        emit_bytes(iterations_plot(result, fmt=fmt), iters)
