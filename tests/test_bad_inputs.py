"""A generated corpus of bad inputs (tests/badinput/generate.py): every case exits 2 with
one stderr line naming the culprit, in under 20 s, under a 4 GB address-space limit.

Each case runs ``gdcert`` in a subprocess with ``resource.setrlimit(RLIMIT_AS, 4 GB)``, so
a loader that trusts a header and allocates is caught as a MemoryError (exit 3 before
the fix), and with a timeout, so a quadratic error message or an uncapped loop is caught.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.badinput.generate import Case, cases

LIMIT_AS = 4 * 1024**3
TIMEOUT = 20.0
_PRELUDE = (
    "import resource, sys\n"
    f"resource.setrlimit(resource.RLIMIT_AS, ({LIMIT_AS}, {LIMIT_AS}))\n"
    "from gdcert.cli import main\n"
    "main(sys.argv[1:])\n"
)


#: 103 subprocesses under a 4 GB address-space limit: minutes, so `.ci/run` runs them
#: in its slow pass (`pytest -m slow`), not in the fast default suite.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    tmp = tmp_path_factory.mktemp("badinput")
    return {c.id: c for c in cases(tmp)}


def _ids() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        return [c.id for c in cases(Path(d))]


IDS = _ids()


def run_case(case: Case, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **case.env}
    env.pop("GDCERT_DEBUG", None)
    return subprocess.run([sys.executable, "-c", _PRELUDE, *case.args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)


def test_corpus_covers_every_category() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        found = {c.category for c in cases(Path(d))}
    assert found >= {"declared-size", "option-size", "config-value", "parser", "magnitude",
                     "path", "checks-file"}
    assert len(IDS) >= 100, len(IDS)


@pytest.mark.parametrize("case_id", IDS)
def test_bad_input_exits_2_with_one_line(case_id: str, corpus: dict[str, Case]) -> None:
    case = corpus[case_id]
    if case.known:
        pytest.xfail(case.known)
    cwd = Path(case.args[1]).parent if len(case.args) > 1 else Path.cwd()
    result = run_case(case, cwd if cwd.is_dir() else Path.cwd())
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert len(lines) == 1, lines[:5]
    line = lines[0]
    assert line.startswith("gdcert: error: "), line
    assert "Traceback" not in result.stderr
    assert case.culprit in line, (case.culprit, line)
    assert len(line) < 600, line
