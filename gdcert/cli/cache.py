"""``gdcert cache``: inspect or clear numba's compiled-kernel cache."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

import click

#: Shown on stderr while numba compiles a kernel that is not in its cache yet.
COMPILE_MESSAGE = "compiling kernels (first run only)…"
#: Off a terminal, the notice is printed only when compiling takes longer than this (s).
COMPILE_NOTICE_DELAY = 1.0
#: Non-empty once the notice was printed: one line per process, however many kernels
#: (the float64 core, then the certificate's double-double re-run) compile in it.
_SAID: list[bool] = []


@contextlib.contextmanager
def compile_status() -> Iterator[None]:
    """One line on the process's stderr while kernels compile — at once on a terminal, else
    only once compiling has taken :data:`COMPILE_NOTICE_DELAY` seconds; at most once per
    process.

    Written to ``sys.__stderr__``: the notice is about this process (a one-time
    compilation), not part of a command's output, so a redirected ``sys.stderr`` (click's
    ``CliRunner``) keeps exactly the command's messages whatever the state of the cache.
    """
    stream = sys.__stderr__

    def say() -> None:
        if stream is not None and not _SAID:
            _SAID.append(True)
            stream.write(f"gdcert: {COMPILE_MESSAGE}\n")
            stream.flush()

    if stream is not None and stream.isatty():
        say()
        yield
        return
    timer = threading.Timer(COMPILE_NOTICE_DELAY, say)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def install_compile_status() -> None:
    """Make the simulator show :func:`compile_status` while it compiles (cheap: neither
    numpy nor numba is imported)."""
    from gdcert.sim._numba_env import set_compile_notice

    set_compile_notice(compile_status)


@click.group("cache")
def cache() -> None:
    """Where compiled kernels are cached, and how to clear them."""


@cache.command("clear")
def clear() -> int:
    """Delete every cached compiled kernel (they are rebuilt on next use)."""
    from gdcert.sim._numba_env import cache_dir, clear_cache

    n = clear_cache()
    click.echo(f"removed {n} cached file(s) from {cache_dir()}")
    return 0


@cache.command("dir")
def where() -> int:
    """Print the cache directory."""
    from gdcert.sim._numba_env import cache_dir

    click.echo(str(cache_dir()))
    return 0
