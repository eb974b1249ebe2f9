"""``gdcert check``: a CI gate on step sizes (one check from options, or a checks file)."""

from __future__ import annotations

from typing import Any

import click

from gdcert.cli._common import parse_widths
from gdcert.validate import brief, clip

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
@click.option("--format", "formats", multiple=True, metavar="FMT[:FILE]",
              help="Report format: text (default), json, github, junit or markdown; "
                   "FMT:FILE writes it to FILE. Repeatable, e.g. --format github "
                   "--format junit:gdcert.xml --format json:gdcert.json.")
@click.option("--output", "-o", type=str, default=None, metavar="FILE",
              help="Write the report (the --format given without a FILE) to FILE, "
                   "atomically, instead of stdout.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when a check fails (report only).")
@click.option("--no-aposteriori", "no_aposteriori", is_flag=True,
              help="Do not try the computer-assisted certificate (aposteriori.pl_ball) for "
                   "--require sufficient/verified (a checks file can say aposteriori: false).")
@click.option("--allow-unknown", is_flag=True,
              help="A 'necessary' check that no bound decides (unknown) does not fail.")
def check(paths: tuple[str, ...], depth: int | None, lr: float | None, lr_from: str | None,
          data: str | None, samples_as_rows: bool, loss: str, widths: str | None,
          init: str | None, require: str | None, seeds: int | None, iterations: int | None,
          formats: tuple[str, ...], output: str | None, exit_zero: bool,
          allow_unknown: bool, no_aposteriori: bool) -> int:
    """Fail CI when a step size breaks a bound.

    \b
    One check:    gdcert check TARGET --depth L --lr ETA [--init NAME] [--require R]
    Checks file:  gdcert check [FILE ...]   (default: .gdcert.yaml here or in a parent)
    Requirements: necessary (default) fails when η exceeds a necessary bound;
    sufficient passes only when a sufficient bound certifies η for the init;
    verified passes when certified or when simulated GD converges for every seed.
    Exit codes: 0 all checks pass · 1 a check fails (or is unknown) · 2 usage,
    config or input error (a broken check is reported as 'error'; the others still run).
    With $GITHUB_STEP_SUMMARY set, a Markdown summary is appended to it.
    """
    from gdcert.api import evaluate_all
    from gdcert.config.checks import (
        BrokenCheck,
        _check_init,
        find_checks_file,
        parse_lr_from,
        resolve_lr_from,
    )
    from gdcert.errors import EXIT_CHECK_FAILED, EXIT_USAGE, InputError
    from gdcert.spec import CheckSpec, StepSource
    from gdcert.validate import check_iterations, check_seeds

    if seeds is not None:
        check_seeds(seeds, name="--seeds")
    if iterations is not None:
        check_iterations(iterations, name="--iterations")
    targets = parse_formats(formats, output)
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
        specs: list[CheckSpec | BrokenCheck] = [CheckSpec(
            name=f"{target or data} L={depth}", depth=depth, step_size=eta, source=source,
            requirement=require or "necessary",  # type: ignore[arg-type]
            target=target, data=data, widths=parse_widths(widths),
            loss=loss,  # type: ignore[arg-type]
            samples_as_rows=samples_as_rows, init=chosen_init, seeds=seeds or 1,
            iterations=iterations or 5_000, aposteriori=not no_aposteriori)]
    else:
        ignored = [flag for flag, value in (("--widths", widths), ("--init", init),
                                            ("--require", require), ("--seeds", seeds),
                                            ("--iterations", iterations)) if value is not None]
        if ignored or samples_as_rows or loss != "sum":
            raise InputError(f"{', '.join(ignored) or '--loss/--samples-as-rows'}: only for a "
                             "single check (TARGET --depth L --lr ETA); a checks file sets "
                             "these per check")
        files = list(paths) or [str(find_checks_file())]
        specs = [spec for f in files for spec in _load_file(f)]
        if no_aposteriori:
            from dataclasses import replace

            specs = [replace(s, aposteriori=False) if isinstance(s, CheckSpec) else s
                     for s in specs]
    results = evaluate_all(specs)
    write_reports(results, targets)
    for r in results:
        if r.outcome == "error":
            click.echo(f"gdcert: error: {clip(r.message, limit=1000)}", err=True)
    if any(r.outcome == "error" for r in results):
        return EXIT_USAGE
    failed = any(r.outcome == "fail" or (r.outcome == "unknown" and not allow_unknown)
                 for r in results)
    return EXIT_CHECK_FAILED if failed and not exit_zero else 0


def _load_file(path: str) -> list[Any]:
    """The checks of one file; a file that cannot be read at all is one broken check, so
    that every report is still written (and the other files still run)."""
    import re

    from gdcert.config.checks import BrokenCheck, load_checks_lenient
    from gdcert.errors import InputError
    from gdcert.spec import StepSource

    try:
        return list(load_checks_lenient(path))
    except InputError as exc:
        match = re.match(r"[^:]*:(\d+):", str(exc))
        line = int(match.group(1)) if match else None
        return [BrokenCheck(name=path, message=str(exc), checks_file=path,
                            source=StepSource(path, line, "checks file"))]


def parse_formats(formats: tuple[str, ...], output: str | None) -> list[tuple[str, str | None]]:
    """``--format FMT[:FILE]`` (repeatable) and ``--output`` → [(format, file or None)].

    At most one format goes to stdout; ``--output`` takes the one given without a file.
    """
    from gdcert.cli._common import check_outputs
    from gdcert.errors import InputError

    targets: list[tuple[str, str | None]] = []
    for item in formats or ("text",):
        fmt, sep, file = item.partition(":")
        if fmt not in FORMATS:
            raise InputError(f"--format: expected one of {', '.join(FORMATS)} (optionally "
                             f"FMT:FILE), got {brief(item)}")
        if sep and not file:
            raise InputError(f"--format {fmt}: empty FILE after ':'")
        targets.append((fmt, file or None))
    to_stdout = [fmt for fmt, file in targets if file is None]
    if len(to_stdout) > 1:
        raise InputError(f"--format: {' and '.join(to_stdout)} would both go to stdout; "
                         "give all but one a FILE (FMT:FILE)")
    if output is not None:
        if not to_stdout:
            raise InputError("--output: every --format already has a FILE")
        targets = [(fmt, file if file is not None else output) for fmt, file in targets]
    files = [file for _, file in targets if file is not None and file != "-"]
    if len(set(files)) != len(files):
        raise InputError("--format: two reports would be written to the same FILE")
    check_outputs(outputs=tuple(files))
    return targets


def repository_root() -> str | None:
    """$GITHUB_WORKSPACE, else the nearest directory with a .git, else None."""
    import os
    from pathlib import Path

    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace:
        return os.path.abspath(workspace)
    here = Path.cwd().resolve()
    for directory in (here, *here.parents):
        if (directory / ".git").exists():
            return str(directory)
    return None


def write_reports(results: list[Any], targets: list[tuple[str, str | None]]) -> None:
    """Every requested report (stdout or files) and the GitHub job summary."""
    import os
    import sys

    from gdcert.cli._common import emit
    from gdcert.report import check_out

    cwd, root = os.getcwd(), repository_root()
    for fmt, file in targets:
        if fmt == "text" and (file is None or file == "-") and sys.stdout.isatty():
            from rich.console import Console

            Console().print(check_out.text_renderable(results))
            continue
        width = 10_000 if fmt == "text" else 120
        text = (check_out.to_text(results, width=width) if fmt == "text"
                else check_out.render(results, fmt=fmt, cwd=cwd, root=root))
        emit(text, file)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        try:
            with open(summary_file, "a", encoding="utf-8") as fh:
                fh.write(check_out.to_markdown(results) + "\n")
        except OSError as exc:
            click.echo(f"gdcert: warning: cannot append to $GITHUB_STEP_SUMMARY "
                       f"({exc.strerror or exc})", err=True)
