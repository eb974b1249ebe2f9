"""Error and warning classes shared by every layer.

Exit codes (documented in the README):

* 0 — success (for ``gdcert check``: every check passes),
* 1 — a check failed (``gdcert check`` only),
* 2 — usage, configuration or input error (:class:`InputError`),
* 3 — internal error (a bug: please report it).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class GdcertError(Exception):
    """Base class for errors gdcert reports to users as one line."""

    exit_code = EXIT_INTERNAL


class InputError(GdcertError, ValueError):
    """Bad user input: a file, key, option or value that is not what was expected.

    The message is one line, names the file/key/option and says what was expected.
    """

    exit_code = EXIT_USAGE


class GdcertWarning(RuntimeWarning):
    """Non-fatal numerical trouble (e.g. Lanczos did not fully converge)."""
