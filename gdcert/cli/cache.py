"""``gdcert cache``: inspect or clear numba's compiled-kernel cache."""

from __future__ import annotations

import click


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
