"""Helpers shared by the CLI commands: option parsing, output, consoles."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from gdcert.errors import InputError
from gdcert.validate import brief, check_dimension

F = TypeVar("F", bound=Callable[..., Any])


def parse_widths(value: str | None) -> tuple[int, ...] | None:
    """``--widths d0,d1,...,dL`` → tuple of ints (one-line error otherwise)."""
    if value is None:
        return None
    parts = [p.strip() for p in value.replace(" ", ",").split(",") if p.strip()]
    try:
        widths = tuple(int(p) for p in parts)
    except ValueError:
        raise InputError(f"--widths: expected comma-separated positive integers d0,…,dL, "
                         f"got {brief(value)}") from None
    if not widths or any(w < 1 for w in widths):
        raise InputError(f"--widths: expected comma-separated positive integers, got "
                         f"{brief(value)}")
    for w in widths:
        check_dimension(w, what="--widths")
    return widths


def emit(text: str, output: str | None) -> None:
    """Write the report to stdout, or atomically to ``--output``."""
    if output is None or output == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    from gdcert.io import atomic_write_text

    atomic_write_text(Path(output), text if text.endswith("\n") else text + "\n")


def problem_options(f: F) -> F:
    """Options shared by commands that read a problem: depth, data, loss, widths."""
    decorators = [
        click.option("--depth", "-L", type=int, required=True, help="Network depth L (≥ 1)."),
        click.option("--data", "data", type=str, default=None,
                     help="Dataset .npz with arrays X, Y (columns are samples) instead of TARGET."),
        click.option("--samples-as-rows", is_flag=True,
                     help="X and Y in --data hold one sample per row (transpose them)."),
        click.option("--loss", type=click.Choice(["sum", "mean"]), default="sum",
                     show_default=True,
                     help="Loss convention of your training: ½‖Y−WX‖² (sum) or (1/2m)‖Y−WX‖² "
                          "(mean). Every step size is reported in this convention."),
        click.option("--widths", type=str, default=None,
                     help="Layer widths d0,d1,…,dL (default: square layers of the target's size)."),
    ]
    for d in reversed(decorators):
        f = d(f)
    return f


def render(report: object, *, as_json: bool, as_markdown: bool, output: str | None) -> None:
    """Hand a bound report to the JSON, Markdown or rich terminal renderer."""
    if as_json:
        from gdcert.report.json_out import to_json

        emit(to_json(report), output)  # type: ignore[arg-type]
    elif as_markdown:
        from gdcert.report.markdown import to_markdown

        emit(to_markdown(report), output)  # type: ignore[arg-type]
    elif output is None or output == "-":
        from rich.console import Console

        from gdcert.report.terminal import build

        console = Console()
        if not console.is_terminal:  # a CI log or a pipe: a wide layout, no 80-column wrap
            console = Console(width=max(console.width, 120))
        console.print(build(report, width=console.width - 4))  # type: ignore[arg-type]
    else:
        from gdcert.report.terminal import to_text

        emit(to_text(report), output)  # type: ignore[arg-type]


def emit_bytes(data: bytes, output: str) -> None:
    """Write binary output (a PNG) atomically."""
    from gdcert.io import atomic_write_bytes

    atomic_write_bytes(Path(output), data)


def check_outputs(*, plot: str | None = None, outputs: tuple[str | None, ...] = ()) -> None:
    """Validate output paths and extras before any work starts (one-line errors)."""
    import importlib.util

    if plot and importlib.util.find_spec("matplotlib") is None:
        raise InputError("--plot needs matplotlib: pip install 'gdcert[plot]'")
    for out in (plot, *outputs):
        if out and out != "-":
            parent = Path(out).parent
            if not parent.is_dir():
                raise InputError(f"{out}: cannot write: directory '{parent}' does not exist")
            if Path(out).is_dir():
                raise InputError(f"{out}: cannot write: is a directory; expected a file path")
