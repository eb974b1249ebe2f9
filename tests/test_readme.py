"""README.md's Quickstart does what it says: two commands, the first one certifies."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def quickstart_commands() -> list[str]:
    """The lines of the first fenced code block under ``## Quickstart``."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Quickstart\s*$(.*?)(?=^## )", text, re.M | re.S)
    assert section, "README.md has no '## Quickstart' section"
    block = re.search(r"^```(?:bash|sh|console)?\s*$(.*?)^```\s*$", section.group(1),
                      re.M | re.S)
    assert block, "the Quickstart section has no fenced code block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def split_install(command: str) -> tuple[str, list[str]]:
    """``pip install X && rest`` → (``pip install X``, argv of ``rest``)."""
    install, sep, rest = command.partition("&&")
    assert sep, f"expected 'pip install … && …', got {command!r}"
    assert install.strip().startswith("pip install "), command
    return install.strip(), shlex.split(rest)


def gdcert_executable() -> str:
    beside = Path(sys.executable).parent / "gdcert"
    if beside.exists():
        return str(beside)
    found = shutil.which("gdcert")
    if found is None:
        pytest.skip("the gdcert console script is not installed")
    return found


def test_quickstart_is_two_commands() -> None:
    commands = quickstart_commands()
    assert len(commands) == 2, commands
    assert not any(c.startswith("#") for c in commands)


def test_quickstart_first_command_certifies() -> None:
    install, argv = split_install(quickstart_commands()[0])
    assert install == "pip install ."
    assert argv[0] == "gdcert" and argv[1] == "bound"
    assert "--lr" in argv
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    env.pop("GDCERT_DEBUG", None)
    # a cold numba cache compiles the kernels first (about a minute on 2 cores) and says so
    # on stderr; nothing else may appear there
    proc = subprocess.run([gdcert_executable(), *argv[1:]], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.replace("gdcert: compiling kernels (first run only)…", "").strip() == ""
    out = proc.stdout
    assert "CERTIFIED" in out and "UNCERTIFIED" not in out and "IMPOSSIBLE" not in out
    # the prose under the block names the certifying theorem: check it is in the verdict
    assert "nar_sastry.thm2" in out and "nar_sastry.lemma3" in out
    proc_json = subprocess.run([gdcert_executable(), *argv[1:], "--json"], cwd=ROOT,
                               capture_output=True, text=True, timeout=600, env=env)
    assert proc_json.returncode == 0, proc_json.stderr
    verdict = json.loads(proc_json.stdout)["verdict"]
    assert verdict["status"] == "certified"
    assert {"nar_sastry.thm2[identity]", "nar_sastry.lemma3[identity]"} <= set(
        verdict["certified_by"])


def test_quickstart_second_command_runs_pytest() -> None:
    install, argv = split_install(quickstart_commands()[1])
    assert install == "pip install '.[test]'"
    assert argv == ["python", "-m", "pytest", "-q"]


@pytest.mark.slow
def test_python_api_example_runs() -> None:
    """The README's Python API block runs as written (from the repository root)."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Python API\s*$(.*?)(?=^## )", text, re.M | re.S)
    assert section, "README.md has no '## Python API' section"
    block = re.search(r"^```python\s*$(.*?)^```\s*$", section.group(1), re.M | re.S)
    assert block
    code = block.group(1) + "\nassert report.verdict is not None\nassert result.passed\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
