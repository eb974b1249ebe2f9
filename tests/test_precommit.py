"""The ``gdcert-check`` pre-commit hook, end to end through ``pre-commit try-repo``.

``try-repo`` clones a repository at a commit, so the hook repository here is a temporary
git repository holding a committed copy of the working tree's package files (the tests
check the code as it is, not the last commit). pre-commit then builds the hook's own
virtualenv with pip — numpy, scipy, numba and the rest from the package index: measured
at 25–55 s per ``try-repo`` run with a warm pip cache (a cold cache downloads ~100 MB and
takes minutes). ``try-repo`` builds the environment in a temporary store on every call,
so the end-to-end test (a passing and a failing run) takes about 1–2 minutes.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _pre_commit() -> list[str] | None:
    if importlib.util.find_spec("pre_commit") is not None:
        return [sys.executable, "-m", "pre_commit"]
    exe = shutil.which("pre-commit")
    return [exe] if exe else None


PRE_COMMIT = _pre_commit()
GIT = shutil.which("git")
MISSING = "pre-commit" if PRE_COMMIT is None else "git" if GIT is None else None
GIT_ID = ["-c", "user.name=gdcert tests", "-c", "user.email=tests@gdcert.invalid",
          "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]


def git(cwd: Path, *args: str) -> None:
    assert GIT is not None
    subprocess.run([GIT, *GIT_ID, *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository with the working tree's package and hook definition, committed."""
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / "gdcert", repo / "gdcert",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hook under test")
    return repo


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A user's repository: a target, a training config and a .gdcert.yaml, staged."""
    np.save(tmp_path / "phi.npy", np.diag([4.0, 1.0]))
    (tmp_path / "train.yaml").write_text("optimizer:\n  lr: 1e-1\n")
    (tmp_path / ".gdcert.yaml").write_text(
        "checks:\n  - name: main-lr\n    target: phi.npy\n    depth: 2\n"
        "    lr_from: {file: train.yaml, key: optimizer.lr}\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    yield tmp_path


def try_repo(project: Path, hook_repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    assert PRE_COMMIT is not None
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([*PRE_COMMIT, "try-repo", str(hook_repo), "gdcert-check",
                           "--all-files", "--color", "never"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=1200)


@pytest.mark.slow
@pytest.mark.skipif(MISSING is not None, reason=f"needs {MISSING} installed (pip install "
                    "'.[test]' installs pre-commit)")
def test_hook_passes_and_fails_through_try_repo(project: Path, hook_repo: Path,
                                                pre_commit_home: Path) -> None:
    ok = try_repo(project, hook_repo, pre_commit_home)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "gdcert check (step sizes)" in ok.stdout and "Passed" in ok.stdout

    # η = 0.5 is above Corollary 1's 2/(Lρ^{2(L−1)/L}) = 0.25: the hook must fail and say so.
    (project / "train.yaml").write_text("optimizer:\n  lr: 0.5\n")
    git(project, "add", "train.yaml")
    bad = try_repo(project, hook_repo, pre_commit_home)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout
    assert "nar_sastry.cor1" in bad.stdout and "train.yaml:2" in bad.stdout


@pytest.mark.parametrize(("path", "runs"), [
    (".gdcert.yaml", True), ("ci/.gdcert.yml", True), ("train.yaml", True),
    ("conf/train.yml", True), ("config.json", True), ("pyproject.toml", True),
    ("data/phi.npy", True), ("xy.npz", True), ("phi.csv", True), ("phi.mtx", True),
    ("phi.mat", True), ("README.md", False), ("train.py", False),
    # .txt/.tsv targets count (gdcert reads them), so any .txt change reruns the checks;
    # extensions match in any case.
    ("phi.txt", True), ("data/y.tsv", True), ("PHI.NPY", True), ("Train.YAML", True),
    ("model.pt", False),
])
def test_hook_definition(path: str, runs: bool) -> None:
    """The hook runs the checks file (no file names), serially, when a config or a matrix
    changes — and not for other files."""
    import re

    import yaml

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "gdcert-check" and hook["entry"] == "gdcert check"
    assert hook["language"] == "python"
    assert hook["require_serial"] is True and hook["pass_filenames"] is False
    assert bool(re.search(hook["files"], path)) is runs
