"""``gdcert edge``: the empirical edge of stability and every bound's ratio to it."""

from __future__ import annotations

import click

from gdcert.cli._common import emit, parse_widths, problem_options


@click.command("edge")
@click.argument("target", required=False)
@problem_options
@click.option("--init", "init", default="balanced", show_default=True,
              help="identity, zas, near_identity, gaussian, xavier, orthogonal or balanced.")
@click.option("--seeds", type=click.IntRange(min=1), default=1, show_default=True,
              help="Number of seeds (0..K-1) that must all converge.")
@click.option("--iterations", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="Iteration budget per run.")
@click.option("--tolerance", type=float, default=None,
              help="Loss gap to the optimum counted as converged (default 1e-10 × ½‖Φ‖²).")
@click.option("--rtol", type=float, default=0.01, show_default=True,
              help="Relative width of the final bracket.")
@click.option("--no-certify", "no_certify", is_flag=True,
              help="Skip the largest computer-assisted certified step (aposteriori.pl_ball "
                   "tried at 0.99, 0.97, …, 0.5 × the edge).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: edge, init, seeds, ratios.")
@click.option("--output", "-o", type=str, default=None, help="Write the report to FILE.")
def edge(target: str | None, depth: int, data: str | None, samples_as_rows: bool, loss: str,
         widths: str | None, init: str, seeds: int, iterations: int, tolerance: float | None,
         rtol: float, no_certify: bool, as_json: bool, output: str | None) -> int:
    """Find the largest constant step size at which GD reaches the optimal loss.

    Batched bracketing and bisection to --rtol; reports bound / edge for every
    applicable bound (how conservative each one is).
    """
    from gdcert.api import find_edge, load_problem
    from gdcert.errors import InputError
    from gdcert.spec import INIT_NAMES as NAMES

    if init not in NAMES or init == "file":
        raise InputError(f"--init: expected one of {', '.join(n for n in NAMES if n != 'file')}"
                         f", got {init!r}")
    if tolerance is not None and not tolerance > 0:
        raise InputError(f"--tolerance must be positive, got {tolerance}")
    from gdcert.validate import check_iterations, check_seeds

    check_iterations(iterations, name="--iterations")
    check_seeds(seeds, name="--seeds")
    problem = load_problem(target, data=data, depth=depth, widths=parse_widths(widths),
                           loss=loss, samples_as_rows=samples_as_rows)  # type: ignore[arg-type]
    from rich.console import Console

    err = Console(stderr=True)
    with err.status("bracketing the edge…", spinner="dots") if err.is_terminal else \
            _NoStatus() as status:

        def progress(lo: float, hi: float) -> None:
            if status is not None:
                status.update(f"edge in [{lo:.5g}, {hi:.5g}]")

        result = find_edge(problem, init=init, seeds=range(seeds), iterations=iterations,
                           tolerance=tolerance, rtol=rtol, progress=progress,
                           certify=not no_certify)
    if as_json:
        import json

        emit(json.dumps(result.to_dict(), indent=2, allow_nan=False), output)
        return 0
    from gdcert.report.sim_terminal import edge_table

    console = Console()
    console.print(f"[bold]Empirical edge[/bold] η* = {result.edge:.5g} (bracket "
                  f"[{result.bracket[0]:.5g}, {result.bracket[1]:.5g}], {result.evaluations} "
                  f"runs of ≤ {iterations} iterations, {result.iterations_spent:,} in all)")
    if result.certified_edge is not None:
        level = (result.certificate or {}).get("level", "?")
        console.print(f"[bold green]Certified[/bold green] (computer-assisted, level {level}): "
                      f"η = {result.certified_edge:.5g} = "
                      f"{result.certified_edge / result.edge:.2f} × the edge")
    elif not no_certify:
        why = (result.certificate or {}).get("detail", "not attempted")
        console.print(f"[yellow]No computer-assisted certificate[/yellow] down to 0.5 × the "
                      f"edge: {why}")
    console.print(edge_table(result))
    if output:
        from gdcert.report.markdown import edge_markdown

        emit(edge_markdown(result), output)
    return 0


class _NoStatus:
    """Stand-in for rich's status spinner when stderr is not a terminal."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
