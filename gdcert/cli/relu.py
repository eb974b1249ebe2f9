"""``gdcert relu MODEL.npz``: Nar & Sastry's Theorem 4 for a two-layer ReLU network."""

from __future__ import annotations

import click

from gdcert.cli._common import render


@click.command("relu")
@click.argument("model", type=str)
@click.option("--lr", type=float, default=None, metavar="ETA", help="Your step size: a verdict.")
@click.option("--loss", type=click.Choice(["half-sum", "sum", "mean"]), default="half-sum",
              show_default=True,
              help="½Σ‖f̂−f‖² (Theorem 4), Σ‖f̂−f‖² (Figure 2) or (1/2N)Σ‖f̂−f‖².")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (same bound schema).")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print Markdown.")
@click.option("--output", "-o", type=str, default=None, metavar="FILE",
              help="Write the report to FILE (atomically).")
def relu(model: str, lr: float | None, loss: str, as_json: bool, as_markdown: bool,
         output: str | None) -> int:
    """Largest step size at which GD could have converged to a two-layer ReLU MODEL.

    MODEL is an .npz with W (m×r), V (r×n), b (r) and the inputs X (n×N, columns are
    samples). Reports max_i ‖x_i‖‖f̂(x_i)‖, the bound 1/max (Theorem 4's ½Σ loss), the
    sample that attains it, and a verdict for --lr.
    """
    import math

    from gdcert.api import certify_relu
    from gdcert.errors import InputError
    from gdcert.relu_model import load_model

    if as_json and as_markdown:
        raise InputError("--json and --markdown are mutually exclusive")
    if lr is not None and not (math.isfinite(lr) and lr > 0):
        raise InputError(f"--lr must be a positive finite number, got {lr!r}")
    report = certify_relu(load_model(model), lr=lr, loss=loss)
    render(report, as_json=as_json, as_markdown=as_markdown, output=output)
    return 0
