"""Import hygiene of the CLI: heavy modules are imported only where a command needs them.

DESIGN.md ("Known traps"): numba costs ~0.4 s and scipy.linalg ~0.35 s to import, so
``import gdcert.cli`` and ``gdcert --help`` must not pay for them, and ``gdcert bound``
on a small target must not pay for numba.  Each check runs in a fresh interpreter and
inspects ``sys.modules`` — behaviour, not wall time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

HEAVY = ("numba", "scipy", "llvmlite", "matplotlib")


def _modules_after(code: str, *, cwd: Path, report: str = "modules.json") -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; at exit it writes which HEAVY modules loaded.

    The report goes to a file (written by an ``atexit`` hook, so it also sees modules
    imported while the CLI was exiting), leaving the CLI's stdout and stderr untouched.
    """
    out_file = cwd / report
    prologue = textwrap.dedent(f"""
        import atexit, json, sys

        def _report():
            loaded = {{m: m in sys.modules for m in {HEAVY!r}}}
            with open({str(out_file)!r}, "w") as fh:
                json.dump(loaded, fh)

        atexit.register(_report)
    """)
    proc = subprocess.run([sys.executable, "-c", prologue + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120, cwd=cwd)
    assert out_file.exists(), f"child did not report (rc={proc.returncode}): {proc.stderr}"
    out: dict[str, object] = json.loads(out_file.read_text())
    out["_returncode"] = proc.returncode
    out["_stdout"] = proc.stdout
    out["_stderr"] = proc.stderr
    return out


def test_import_cli_is_light(tmp_path: Path) -> None:
    mods = _modules_after("import gdcert.cli", cwd=tmp_path)
    assert mods["_returncode"] == 0, mods["_stderr"]
    assert mods["numba"] is False
    assert mods["scipy"] is False
    assert mods["llvmlite"] is False


def test_help_does_not_import_scipy_or_numba(tmp_path: Path) -> None:
    mods = _modules_after("""
        from gdcert.cli import main
        main(["--help"])
    """, cwd=tmp_path)
    assert mods["_returncode"] == 0, mods["_stderr"]
    assert "bound" in mods["_stdout"]
    assert mods["scipy"] is False
    assert mods["numba"] is False


def test_bound_help_does_not_import_scipy_or_numba(tmp_path: Path) -> None:
    mods = _modules_after("""
        from gdcert.cli import main
        main(["bound", "--help"])
    """, cwd=tmp_path)
    assert mods["_returncode"] == 0, mods["_stderr"]
    assert "--depth" in mods["_stdout"]
    assert mods["scipy"] is False
    assert mods["numba"] is False


def test_bound_small_target_does_not_import_numba(tmp_path: Path) -> None:
    np.save(tmp_path / "phi.npy", np.diag([4.0, 1.0]))
    mods = _modules_after("""
        from gdcert.cli import main
        # --lr without --no-aposteriori simulates (numba) for the computer-assisted
        # certificate; the closed forms alone never import numba
        main(["bound", "phi.npy", "--depth", "3", "--lr", "0.05", "--json",
              "--no-aposteriori"])
    """, cwd=tmp_path)
    assert mods["_returncode"] == 0, mods["_stderr"]
    assert json.loads(str(mods["_stdout"]))["verdict"]["status"] == "certified"
    assert mods["numba"] is False
    assert mods["llvmlite"] is False
    assert mods["matplotlib"] is False


def test_bound_terminal_and_markdown_do_not_import_numba(tmp_path: Path) -> None:
    np.save(tmp_path / "phi.npy", np.diag([4.0, 1.0]))
    mods = _modules_after("""
        from gdcert.cli import cli
        for extra in ([], ["--markdown"]):
            try:
                cli.main(["bound", "phi.npy", "-L", "2", "--lr", "0.1", "--no-aposteriori",
                          *extra], prog_name="gdcert")
            except SystemExit as exc:
                assert exc.code == 0, exc.code
    """, cwd=tmp_path)
    assert mods["_returncode"] == 0, mods["_stderr"]
    assert "CERTIFIED" in str(mods["_stdout"])
    assert mods["numba"] is False


def test_the_probe_can_fail(tmp_path: Path) -> None:
    """The helper does see a heavy import when one happens."""
    mods = _modules_after("import scipy.linalg", cwd=tmp_path)
    assert mods["scipy"] is True
    assert mods["numba"] is False
