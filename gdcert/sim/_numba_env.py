"""Where numba keeps gdcert's compiled kernels, set up before numba is imported.

numba's ``cache=True`` writes its index (``.nbi``) and machine code (``.nbc``) next to the
source file, in ``gdcert/sim/__pycache__``. When the package is installed somewhere read-only
(a system site-packages, a container image) and no other location is writable, numba fails at
import. :func:`ensure_cache_dir` (run on import of this module, which
:mod:`gdcert.sim.kernels` imports before numba) checks the in-tree directory and, if it cannot
write there, points ``NUMBA_CACHE_DIR`` at a per-user directory
(``$XDG_CACHE_HOME/gdcert/numba``, default ``~/.cache/gdcert/numba``), falling back to a
directory under the system temporary directory. A ``NUMBA_CACHE_DIR`` the user set is kept.

This module imports neither numpy nor numba, so ``gdcert cache clear`` stays cheap.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

#: The directory holding the kernels' source (numba keys its cache on this file's folder).
_SIM_DIR = Path(os.path.abspath(__file__)).parent
#: The one module whose compiled functions numba caches (``kernels.<name>-<line>.pyXY.nb?``).
_KERNEL_MODULE = "kernels"


def _writable(directory: Path) -> bool:
    """True if ``directory`` exists (or can be made) and a file can be created in it."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=directory, prefix=".gdcert-write-test-")
    except OSError:
        return False
    os.close(fd)
    try:
        os.unlink(name)
    except OSError:
        pass
    return True


def _user_cache_root() -> Path:
    """``$XDG_CACHE_HOME/gdcert/numba`` (default ``~/.cache/gdcert/numba``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gdcert" / "numba"


def _temp_cache_root() -> Path:
    """A per-user directory under the system temporary directory."""
    try:
        user = str(os.getuid())
    except AttributeError:  # pragma: no cover - Windows
        user = os.environ.get("USERNAME", "user")
    return Path(tempfile.gettempdir()) / f"gdcert-numba-{user}"


def ensure_cache_dir() -> None:
    """Make sure numba will find a writable cache location; set ``NUMBA_CACHE_DIR`` if not.

    Order: a user-set ``NUMBA_CACHE_DIR``; the in-tree ``gdcert/sim/__pycache__``; the
    per-user cache directory; a directory under the system temporary directory. If numba
    was already imported, its ``config.CACHE_DIR`` is updated too.
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    if _writable(_SIM_DIR / "__pycache__"):
        return
    for root in (_user_cache_root(), _temp_cache_root()):
        if _writable(root):
            os.environ["NUMBA_CACHE_DIR"] = str(root)
            config = sys.modules.get("numba.core.config")
            if config is not None:
                config.CACHE_DIR = str(root)  # type: ignore[attr-defined]
            return


def cache_dir() -> Path:
    """The directory where numba stores gdcert's compiled kernels.

    With ``NUMBA_CACHE_DIR`` set, numba mirrors the source folder below it as
    ``<parent-name>_<sha1 of the folder path>`` (numba's ``_CacheLocator``); otherwise the
    cache is ``gdcert/sim/__pycache__``.
    """
    user_dir = os.environ.get("NUMBA_CACHE_DIR")
    if user_dir:
        folder = str(_SIM_DIR)
        digest = hashlib.sha1(folder.encode()).hexdigest()
        return Path(user_dir) / f"{_SIM_DIR.name}_{digest}"
    return _SIM_DIR / "__pycache__"


def clear_cache() -> int:
    """Delete gdcert's compiled kernels from the cache; return the number of files removed.

    Only numba's files for :mod:`gdcert.sim.kernels` (``kernels.*.nbi`` / ``kernels.*.nbc``)
    are removed, so a shared ``NUMBA_CACHE_DIR`` keeps other projects' entries.
    """
    removed = 0
    directory = cache_dir()
    if not directory.is_dir():
        return 0
    for pattern in (f"{_KERNEL_MODULE}.*.nbi", f"{_KERNEL_MODULE}.*.nbc"):
        for path in directory.glob(pattern):
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed += 1
    return removed


#: Set by the CLI (:func:`set_compile_notice`): makes the context manager wrapped around a
#: kernel compilation (a status line on stderr). The simulator itself never prints.
_compile_notice: Callable[[], AbstractContextManager[object]] | None = None


def set_compile_notice(factory: Callable[[], AbstractContextManager[object]] | None) -> None:
    """Install ``factory``: the engine enters ``factory()`` while numba compiles a kernel that
    is not in the on-disk cache (``None``: no notice)."""
    global _compile_notice
    _compile_notice = factory


def compile_notice() -> AbstractContextManager[object]:
    """The installed compile notice (a no-op context manager when none is installed)."""
    factory = _compile_notice
    return factory() if factory is not None else contextlib.nullcontext()


ensure_cache_dir()
