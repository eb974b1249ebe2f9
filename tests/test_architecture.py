"""The restructure's promises: data flows one way, bounds are computed once, the layers
hold (import-linter), and the public API is where the README says."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import gdcert
from gdcert.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SPD = ROOT / "sample_inputs" / "spd_4x4.npy"


def test_bound_verify_computes_the_bounds_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from gdcert.bounds import registry

    calls = []
    real = registry.compute_bounds

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(registry, "compute_bounds", counting)
    result = CliRunner().invoke(cli, ["bound", str(SPD), "-L", "3", "--lr", "0.01", "--verify",
                                      "--iterations", "200", "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["runs"]) > 0
    assert len(calls) == 1


def test_verify_simulates_the_seed_its_bound_was_computed_for() -> None:
    """Regression: --seed 5 reported Nguegnang's bound for seed 5 but simulated seed 0."""
    result = CliRunner().invoke(cli, ["bound", str(SPD), "-L", "3", "--init", "balanced",
                                      "--seed", "5", "--lr", "0.01", "--verify",
                                      "--iterations", "200", "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    bound = next(b for b in doc["bounds"]
                 if b["id"] == "nguegnang.thm2_4" and b["init"] == "balanced")
    run = next(r for r in doc["runs"] if r["step_label"] == "nguegnang.thm2_4")
    assert run["seed"] == 5
    assert run["step_size"] == pytest.approx(bound["max_step"], rel=1e-12)


def test_public_api_exports() -> None:
    for name in ("certify", "simulate", "edge", "check", "load_problem", "Report", "Bound",
                 "Run", "Simulation", "Edge", "CheckResult", "InputError"):
        assert name in dir(gdcert), name
        assert getattr(gdcert, name) is not None


def test_certify_accepts_every_registry_init() -> None:
    import numpy as np

    report = gdcert.certify(np.diag([2.0, 1.0]), depth=3, inits=["xavier", "near_identity"])
    inits = {b.init for b in report.bounds if b.id.startswith("nguegnang")}
    assert inits == {"xavier", "near_identity"}


@pytest.mark.skipif(shutil.which("lint-imports") is None, reason="import-linter not installed")
def test_import_contracts_hold() -> None:
    out = subprocess.run(["lint-imports"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "BROKEN" not in out.stdout


def test_no_import_cycle_between_api_and_sim() -> None:
    code = ("import sys, gdcert.sim.models, gdcert.sim.edge, gdcert.sim.classify; "
            "print(sorted(m for m in sys.modules if m.startswith('gdcert.api')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
