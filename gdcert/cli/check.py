"""``gdcert check``: a CI gate on step sizes (one check from options, or a checks file)."""

from __future__ import annotations

import click

from gdcert.cli._common import parse_widths

FORMATS = ("text", "json", "github", "junit", "markdown")


@click.command("check")
@click.argument("paths", nargs=-1, metavar="[TARGET | FILE...]")
@click.option("--depth", "-L", type=int, default=None,
              help="Network depth L (single check: with TARGET or --data).")
@click.option("--lr", type=float, default=None, metavar="ETA", help="The step size to check.")
@click.option("--lr-from", "lr_from", type=str, default=None, metavar="FILE:KEY",
              help="Read the step size from a training config, e.g. train.yaml:optimizer.lr.")
@click.option("--data", "data", type=str, default=None,
              help="Dataset .npz with arrays X, Y (columns are samples) instead of TARGET.")
@click.option("--samples-as-rows", is_flag=True,
              help="X and Y in --data hold one sample per row.")
@click.option("--loss", type=click.Choice(["sum", "mean"]), default="sum", show_default=True,
              help="Loss convention of your training: ½‖Y−WX‖² (sum) or (1/2m)‖Y−WX‖² (mean).")
@click.option("--widths", type=str, default=None, help="Layer widths d0,d1,…,dL.")
@click.option("--init", "init", type=str, default=None, metavar="NAME|FILE.npz",
              help="Initialisation of your training (default: balanced).")
@click.option("--require", "require", type=click.Choice(["necessary", "sufficient", "verified"]),
              default=None, help="What η must satisfy (default: necessary).")
@click.option("--seeds", type=click.IntRange(min=1), default=None,
              help="Seeds 0..K-1 for random inits (default 1).")
@click.option("--iterations", type=click.IntRange(min=1), default=None,
              help="Iteration budget of each simulation for 'verified' (default 5000).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Report format: rich text, JSON, GitHub annotations, JUnit XML or Markdown.")
@click.option("--output", "-o", type=str, default=None, metavar="FILE",
              help="Write the report to FILE (atomically) instead of stdout.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when a check fails (report only).")
def check(paths: tuple[str, ...], depth: int | None, lr: float | None, lr_from: str | None,
          data: str | None, samples_as_rows: bool, loss: str, widths: str | None,
          init: str | None, require: str | None, seeds: int | None, iterations: int | None,
          fmt: str, output: str | None, exit_zero: bool) -> int:
    """Fail CI when a step size breaks a bound.

    \b
    One check:    gdcert check TARGET --depth L --lr ETA [--init NAME] [--require R]
    Checks file:  gdcert check [FILE ...]   (default: .gdcert.yaml here or in a parent)
    Requirements: necessary (default) fails when η exceeds a necessary bound;
    sufficient passes only when a sufficient bound certifies η for the init;
    verified passes when certified or when simulated GD converges for every seed.
    Exit codes: 0 all checks pass · 1 a check fails · 2 usage/config/input error.
    """
    from gdcert.api import evaluate_all
    from gdcert.config.checks import (
        _check_init,
        find_checks_file,
        load_checks,
        parse_lr_from,
        resolve_lr_from,
    )
    from gdcert.errors import EXIT_CHECK_FAILED, InputError
    from gdcert.spec import CheckSpec, StepSource
    from gdcert.validate import check_iterations, check_seeds

    if seeds is not None:
        check_seeds(seeds, name="--seeds")
    if iterations is not None:
        check_iterations(iterations, name="--iterations")
    single = depth is not None or lr is not None or lr_from is not None or data is not None
    if single:
        if depth is None:
            raise InputError("--depth is required for a single check (TARGET --depth L --lr ETA)")
        if (lr is None) == (lr_from is None):
            raise InputError("a single check needs exactly one of --lr ETA or --lr-from FILE:KEY")
        if len(paths) > 1 or (data is not None and paths) or (data is None and not paths):
            raise InputError("a single check takes exactly one of TARGET or --data")
        if lr is not None:
            from gdcert.config import positive_float

            eta = positive_float(lr, where="--lr")
            source = StepSource(None, None, "--lr")
        else:
            assert lr_from is not None
            file, key = parse_lr_from(lr_from)
            eta, source = resolve_lr_from(file, key)
        chosen_init = init or "balanced"
        _check_init(chosen_init, "--init")
        target = paths[0] if paths else None
        specs = [CheckSpec(
            name=f"{target or data} L={depth}", depth=depth, step_size=eta, source=source,
            requirement=require or "necessary",  # type: ignore[arg-type]
            target=target, data=data, widths=parse_widths(widths),
            loss=loss,  # type: ignore[arg-type]
            samples_as_rows=samples_as_rows, init=chosen_init, seeds=seeds or 1,
            iterations=iterations or 5_000)]
    else:
        ignored = [flag for flag, value in (("--widths", widths), ("--init", init),
                                            ("--require", require), ("--seeds", seeds),
                                            ("--iterations", iterations)) if value is not None]
        if ignored or samples_as_rows or loss != "sum":
            raise InputError(f"{', '.join(ignored) or '--loss/--samples-as-rows'}: only for a "
                             "single check (TARGET --depth L --lr ETA); a checks file sets "
                             "these per check")
        files = list(paths) or [str(find_checks_file())]
        specs = [spec for f in files for spec in load_checks(f)]
    results = evaluate_all(specs)

    from gdcert.cli._common import emit
    from gdcert.report import check_out

    if fmt == "text" and (output is None or output == "-"):
        from rich.console import Console

        Console().print(check_out.text_renderable(results))
    else:
        emit(check_out.render(results, fmt=fmt), output)
    failed = any(not r.passed for r in results)
    return EXIT_CHECK_FAILED if failed and not exit_zero else 0
