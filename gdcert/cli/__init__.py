"""Command-line interface: the root group and its commands (one module each).

Only click is imported here, so ``gdcert --help`` stays fast; each command imports
numpy/scipy/numba inside its body, where it needs them.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from gdcert import __version__
from gdcert.errors import EXIT_INTERNAL, EXIT_USAGE, GdcertError
from gdcert.validate import clip

EXIT_INTERRUPTED = 130


def _err(message: str) -> None:
    click.echo(f"gdcert: error: {message}", err=True)


class GdcertGroup(click.Group):
    """Root group whose ``main`` maps every error to a one-line message and an exit code.

    0 success; 1 a check failed (``gdcert check``); 2 usage, configuration or input
    error; 3 internal error (a bug); 130 interrupted. Set ``GDCERT_DEBUG=1`` to see the
    traceback of an internal error.
    """

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        argv = list(args) if args is not None else sys.argv[1:]
        if not argv:  # no arguments: the usage and commands on stdout, exit 0
            with self.make_context(prog_name or "gdcert", ["--help"],
                                   resilient_parsing=True) as ctx:
                click.echo(self.get_help(ctx))
            if standalone_mode:
                sys.exit(0)
            return 0
        try:
            rv = super().main(args=args, prog_name=prog_name or "gdcert",
                              complete_var=complete_var, standalone_mode=False,
                              windows_expand_args=windows_expand_args, **extra)
        except click.UsageError as exc:  # bad option, missing argument, bad value
            msg = exc.format_message().replace("\n", " ")
            _err(msg)
            code = EXIT_USAGE
        except click.Abort:
            click.echo("gdcert: interrupted", err=True)
            code = EXIT_INTERRUPTED
        except click.ClickException as exc:
            _err(exc.format_message().replace("\n", " "))
            code = exc.exit_code
        except GdcertError as exc:
            _err(clip(exc, limit=1000))
            code = exc.exit_code
        except MemoryError:
            _err("out of memory: the inputs or options ask for more memory than this machine "
                 "has; use smaller inputs or lower --max-memory so they are refused up front")
            code = EXIT_USAGE
        except RecursionError:
            _err("input nested too deeply to process")
            code = EXIT_USAGE
        except KeyboardInterrupt:
            click.echo("gdcert: interrupted", err=True)
            code = EXIT_INTERRUPTED
        except BrokenPipeError:
            code = 0
        except Exception as exc:  # a bug: never show a bare traceback to users
            if os.environ.get("GDCERT_DEBUG"):
                raise
            _err(f"internal error: {type(exc).__name__}: {clip(exc, limit=300)} (this is a "
                 "bug; rerun with GDCERT_DEBUG=1 for the traceback and please report it)")
            code = EXIT_INTERNAL
        else:
            code = rv if isinstance(rv, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


@click.group(cls=GdcertGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="gdcert")
@click.option("--max-memory", "max_memory", type=str, default=None, metavar="SIZE",
              help="Refuse inputs whose memory estimate exceeds SIZE (default 4G; "
                   "env GDCERT_MAX_MEMORY).")
@click.option("--max-iterations", "max_iterations", type=str, default=None, metavar="N",
              help="Cap on a simulation's iterations (default 10000000; "
                   "env GDCERT_MAX_ITERATIONS).")
@click.option("--max-seeds", "max_seeds", type=str, default=None, metavar="N",
              help="Cap on the number of seeds (default 10000; env GDCERT_MAX_SEEDS).")
@click.pass_context
def cli(ctx: click.Context, max_memory: str | None, max_iterations: str | None,
        max_seeds: str | None) -> None:
    """Certify step sizes for gradient descent on deep linear networks.

    \b
    Exit codes: 0 ok · 1 a check failed · 2 usage/input error · 3 internal error.
    Inputs are checked against resource limits before anything is allocated.
    """
    from gdcert.validate import check_int, parse_size, resource_limits

    def count(text: str | None, name: str) -> int | None:
        if text is None:
            return None
        try:
            value: float = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                value = math.nan
        return check_int(value, name=name)

    ctx.with_resource(resource_limits(
        max_memory=parse_size(max_memory) if max_memory is not None else None,
        max_iterations=count(max_iterations, "--max-iterations"),
        max_seeds=count(max_seeds, "--max-seeds")))

    from gdcert.cli.cache import install_compile_status

    install_compile_status()  # "compiling kernels (first run only)…" on stderr


def _register() -> None:
    from gdcert.cli.bound import bound
    from gdcert.cli.cache import cache
    from gdcert.cli.check import check
    from gdcert.cli.edge import edge
    from gdcert.cli.relu import relu
    from gdcert.cli.simulate import simulate
    from gdcert.cli.sweep import sweep

    for command in (bound, check, simulate, edge, relu, cache, sweep):
        cli.add_command(command)


_register()


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="gdcert")
