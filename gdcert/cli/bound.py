"""``gdcert bound``: every applicable step-size bound for a target, dataset or weights."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from gdcert.cli._common import parse_widths, problem_options, render


@click.command("bound")
@click.argument("target", required=False)
@problem_options
@click.option("--init", "inits", multiple=True, metavar="NAME|FILE.npz",
              help="Initialisation: identity, zas, balanced, or an .npz of W1..WL. Repeatable. "
                   "Default: every built-in init defined for the shape.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the random balanced initialisation.")
@click.option("--init-rank", type=int, default=None,
              help="Rank of the random balanced initialisation (default: min width).")
@click.option("--init-scale", type=float, default=1.0, show_default=True,
              help="Scale s of the balanced initialisation (W_j = s F_j F_{j-1}ᵀ).")
@click.option("--weights", type=str, default=None, metavar="FILE.npz",
              help="A trained solution W1..WL: Theorem 1 and the exact threshold at it.")
@click.option("--lr", type=float, default=None, metavar="ETA",
              help="Your step size: get a verdict and Corollary 2's cap.")
@click.option("--tol", type=float, default=1e-6, show_default=True,
              help="Relative tolerance for the iteration estimates (Lemma 3, Wu et al.).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (schema in docs/json-schema.md).")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print a Markdown report.")
@click.option("--output", "-o", type=str, default=None, metavar="FILE",
              help="Write the report to FILE (atomically) instead of stdout.")
@click.option("--verify", is_flag=True,
              help="Simulate GD at --lr and at each applicable sufficient bound (per init) "
                   "and add the outcomes to the report.")
@click.option("--iterations", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="Iteration budget of each --verify run.")
@click.option("--no-aposteriori", "no_aposteriori", is_flag=True,
              help="With --lr: skip the computer-assisted certificate (aposteriori.pl_ball: "
                   "simulate, then prove convergence from the reached iterate).")
@click.option("--seeds", type=click.IntRange(min=1), default=1, show_default=True,
              help="Seeds per --verify run (random inits).")
def bound(target: str | None, depth: int, data: str | None, samples_as_rows: bool, loss: str,
          widths: str | None, inits: tuple[str, ...], seed: int, init_rank: int | None,
          init_scale: float, weights: str | None, lr: float | None, tol: float, as_json: bool,
          as_markdown: bool, output: str | None, verify: bool, iterations: int,
          no_aposteriori: bool, seeds: int) -> int:
    """Compute every step-size bound that applies to TARGET (or --data) at depth L.

    \b
    TARGET: .npy, .npz[:key], .csv/.txt, .mtx or .mat[:var].
    Examples:
      gdcert bound target.npy --depth 20
      gdcert bound --data xy.npz --loss mean --depth 3 --lr 1e-3 --json
    """
    from gdcert.api import certify, load_problem
    from gdcert.errors import InputError
    from gdcert.validate import argument_names

    if as_json and as_markdown:
        raise InputError("--json and --markdown are mutually exclusive")
    if not (tol > 0 and tol < 1):
        raise InputError(f"--tol must be in (0, 1), got {tol}")
    if lr is not None:
        from gdcert.validate import check_lr

        lr = check_lr(lr, name="--lr")
    if verify:
        from gdcert.validate import check_iterations, check_seeds

        check_iterations(iterations, name="--iterations")
        check_seeds(seeds, name="--seeds")
    layer_widths = parse_widths(widths)
    # Only a simulation (--verify, the certificate with --lr), trained weights or an init
    # built layer by layer holds the L layer matrices; the closed forms at the default inits
    # need the target's memory, not the network's.
    analytic = all(str(i) in ("identity", "zas", "balanced") for i in inits)
    copies = 0 if analytic and not verify and weights is None and (
        lr is None or no_aposteriori) else 8
    inferred_from: str | None = None
    if layer_widths is None:  # an .npz of weights of the right depth sets the widths
        from gdcert.api.inputs import widths_from_weights

        files = [(f, "--init") for f in inits if f.lower().endswith(".npz")]
        files += [(weights, "--weights")] if weights else []
        if files:
            found = widths_from_weights(files[0][0], what=files[0][1])
            if len(found) == depth + 1:
                layer_widths, inferred_from = found, f"{files[0][1]} {files[0][0]}"
    try:
        with argument_names(widths="--widths", data="DATA"):
            problem = load_problem(target, data=data, depth=depth, widths=layer_widths,
                                   loss=loss,  # type: ignore[arg-type]
                                   samples_as_rows=samples_as_rows, network_copies=copies)
    except InputError as exc:
        if inferred_from is None or not str(exc).startswith("--widths: "):
            raise
        # The file's widths do not fit the target: default widths, and the init/weights
        # checks below say what is wrong with the file.
        problem = load_problem(target, data=data, depth=depth, widths=None,
                               loss=loss,  # type: ignore[arg-type]
                               samples_as_rows=samples_as_rows, network_copies=copies)
    with argument_names(init="--init", weights="--weights", lr="--lr", depth="--depth"):
        report = _certify_with_status(
            certify, problem, inits=list(inits) or None, weights=weights, lr=lr, seed=seed,
            init_rank=init_rank, init_scale=init_scale, tol=tol,
            aposteriori=not no_aposteriori)
    if verify:
        from gdcert.api import verify_report

        report = verify_report(problem, report, iterations=iterations, seeds=seeds,
                               init_rank=init_rank, init_scale=init_scale)
    render(report, as_json=as_json, as_markdown=as_markdown, output=output)
    return 0


def _certify_with_status(certify: Callable[..., Any], problem: Any, **kw: Any) -> Any:
    """``certify(problem, **kw)``, with a status line on a terminal while the
    computer-assisted certificate simulates (it may compile the kernels on a first run)."""
    from rich.console import Console

    err = Console(stderr=True)
    if kw.get("lr") is None or not kw.get("aposteriori") or not err.is_terminal:
        return certify(problem, **kw)
    with err.status("bounds, then the computer-assisted certificate (simulate, then prove; "
                    "the first run compiles the kernels)…", spinner="dots"):
        return certify(problem, **kw)
