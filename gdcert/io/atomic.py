"""Atomic writers: a reader sees the old file or the complete new one, never a partial write."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from gdcert.errors import InputError


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same directory, fsync, rename.

    Readers see either the old file or the complete new one, never a partial write.  The
    parent directory must exist.  An existing file keeps its permission bits.
    """
    target = Path(os.fsdecode(os.fspath(path)))
    parent = target.parent
    if not parent.is_dir():
        raise InputError(f"{target}: cannot write: directory '{parent}' does not exist")
    if target.is_dir():
        raise InputError(f"{target}: cannot write: is a directory; expected a file path")
    tmp = parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    try:
        # 0o666 filtered by the umask, like a plain open(); O_EXCL never clobbers.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise InputError(f"{target}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        except FileNotFoundError:
            pass
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{target}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(parent)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8, newlines as given) atomically; see :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _fsync_dir(directory: Path) -> None:
    """Persist the rename itself (POSIX); silently skipped where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
