"""``gdcert simulate``, ``gdcert bound --verify`` and ``gdcert cache`` end to end.

Through ``click.testing.CliRunner`` (stdout and stderr kept apart, exceptions not caught):
a config error is exit 2 with one stderr line naming the file, line and key and nothing on
stdout; a good run writes the JSON document (``runs``: seed, step_size, init, outcome,
iterations, final_loss, optimal_loss, promises) to stdout (``--json``) and atomically to
``output.json`` (resolved against the config's directory), and ``--plot`` writes a PNG.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from gdcert.cli import cli

SAMPLES = Path(__file__).resolve().parent.parent / "sample_inputs"
RUN_KEYS = {"seed", "step_size", "init", "outcome", "iterations", "final_loss",
            "optimal_loss", "promises"}


def invoke(*args: object, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _refuse(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def loads(text: str) -> dict[str, Any]:
    doc = json.loads(text, parse_constant=_refuse)
    assert isinstance(doc, dict)
    return doc


def ok_json(*args: object) -> dict[str, Any]:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == "", result.stderr
    return loads(result.stdout)


def usage_error(result: Result, *needles: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("gdcert: error: ") and "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def cfgdir(tmp_path: Path) -> Path:
    d = tmp_path / "cfg"
    d.mkdir()
    np.save(d / "spd.npy", np.diag([3.0, 1.0, 0.5]))
    np.save(d / "indef.npy", np.diag([2.0, -1.0]))
    return d


def write(d: Path, text: str, name: str = "sim.yaml") -> Path:
    path = d / name
    path.write_text(text)
    return path


GOOD = """\
problem:
  target: spd.npy
network:
  depth: 2
init:
  name: identity
step_size:
  - {bound: nar_sastry.lemma3}
  - 1e-1
  - {bound: nar_sastry.cor1, times: 3}
iterations: 2000
"""


# --------------------------------------------------------------------------- good runs


def test_json_document(cfgdir: Path) -> None:
    doc = ok_json("simulate", write(cfgdir, GOOD))
    runs = doc["runs"]
    assert [r["step_label"] for r in runs] == ["nar_sastry.lemma3", "0.1",
                                               "3×nar_sastry.cor1"]
    for r in runs:
        assert RUN_KEYS <= set(r), set(r)
        assert r["init"] == "identity" and r["seed"] == 0 and r["optimal_loss"] == 0.0
        assert isinstance(r["step_size"], float)
    assert [r["outcome"] for r in runs] == ["converged_global", "converged_global", "diverged"]
    (p,) = runs[0]["promises"]
    assert p["bound"] == "nar_sastry.lemma3" and p["held"] is True
    assert runs[2]["promises"] == []
    assert runs[0]["step_size"] == pytest.approx(1 / (2 * 3.0))  # δ_c(3) = 1/(L·3^{2(L−1)/L})
    assert len(runs[0]["records"]["loss"]) == len(runs[0]["records"]["step_index"])
    assert doc["settings"]["iterations"] == 2000


def test_no_records(cfgdir: Path) -> None:
    doc = ok_json("simulate", write(cfgdir, GOOD), "--no-records")
    assert all("records" not in r for r in doc["runs"])


def test_output_json_is_written_next_to_the_config(cfgdir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(cfgdir, GOOD + "output:\n  json: out/runs.json\n")
    (cfgdir / "out").mkdir()
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = invoke("simulate", cfg, "--json")
    assert result.exit_code == 0, result.output
    written = cfgdir / "out" / "runs.json"
    assert loads(written.read_text()) == loads(result.stdout)
    # atomic: nothing but the final file is left behind, nothing in the working directory
    assert sorted(p.name for p in (cfgdir / "out").iterdir()) == ["runs.json"]
    assert list(elsewhere.iterdir()) == []


def test_output_option_overrides_the_config(cfgdir: Path, tmp_path: Path) -> None:
    cfg = write(cfgdir, GOOD + "output:\n  json: from_config.json\n")
    target = tmp_path / "cli.json"
    result = invoke("simulate", cfg, "--output", target)
    assert result.exit_code == 0, result.output
    assert "Verification runs" in result.stdout  # the terminal report still goes to stdout
    assert not (cfgdir / "from_config.json").exists()
    assert [r["outcome"] for r in loads(target.read_text())["runs"]][0] == "converged_global"


@pytest.mark.plot
def test_plot_writes_a_png(cfgdir: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "loss.png"
    result = invoke("simulate", write(cfgdir, GOOD), "--plot", png, "--json")
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert loads(result.stdout)["runs"]


def test_sample_configs_run(tmp_path: Path) -> None:
    """The shipped identity example (paths relative to sample_inputs/)."""
    doc = ok_json("simulate", SAMPLES / "simulate_identity.yaml", "--no-records")
    assert [r["outcome"] for r in doc["runs"]] == [
        "converged_global", "converged_global", "converged_global", "oscillating"]


def test_cli_import_does_not_load_numba() -> None:
    code = ("import sys, gdcert.cli, gdcert.cli.simulate, gdcert.cli.edge, gdcert.cli.cache; "
            "sys.exit('numba' in sys.modules or 'numpy' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --------------------------------------------------------------------------- config errors


@pytest.mark.parametrize(("body", "needles"), [
    (GOOD + "iterashuns: 5\n", ["sim.yaml:12", "'iterashuns'"]),
    (GOOD + "iterations: 5\n", ["sim.yaml:12", "duplicate key 'iterations'"]),
    (GOOD.replace("depth: 2", "depth: 2.5"), ["sim.yaml:4", "network.depth"]),
    (GOOD.replace("spd.npy", "missing.npy"), ["sim.yaml:2", "'problem.target'",
                                             "file not found"]),
    (GOOD.replace("step_size:", "step_sizes:"), ["sim.yaml", "'step_size'"]),
    (GOOD.replace("  target: spd.npy\n", "  target: spd.npy\n  data: xy.npz\n"),
     ["sim.yaml:1", "exactly one of"]),
    (GOOD.replace("{bound: nar_sastry.lemma3}", "{bound: lemma3}"),
     ["sim.yaml:8", "'step_size.0.bound'", "unknown bound id 'lemma3'"]),
    (GOOD + "seeds: [0, -3]\n", ["sim.yaml:12", "'seeds'"]),
    # a bound that does not apply: known only once the target is loaded
    (GOOD.replace("spd.npy", "indef.npy"),
     ["sim.yaml:8", "'step_size.0.bound'", "nar_sastry.lemma3 does not apply",
      "positive semidefinite"]),
    # a bound for another init
    (GOOD.replace("name: identity", "name: balanced"),
     ["sim.yaml:8", "'step_size.0.bound'", "is for init 'identity'"]),
    (GOOD.replace("{bound: nar_sastry.lemma3}", "{bound: wu_wang_ma.thm4_3}"),
     ["sim.yaml:8", "is for init 'zas'"]),
])
def test_config_errors_exit_2_with_one_line(cfgdir: Path, body: str,
                                            needles: list[str]) -> None:
    usage_error(invoke("simulate", write(cfgdir, body), "--json"), *needles)


def test_yaml_exponent_is_a_number_end_to_end(cfgdir: Path) -> None:
    doc = ok_json("simulate", write(cfgdir, GOOD.replace("1e-1", "1e-3")), "--no-records")
    assert doc["runs"][1]["step_size"] == 1e-3


def test_missing_config_file(tmp_path: Path) -> None:
    usage_error(invoke("simulate", tmp_path / "absent.yaml"), "absent.yaml", "not found")


def test_config_error_is_one_line_without_json(cfgdir: Path) -> None:
    usage_error(invoke("simulate", write(cfgdir, GOOD.replace("spd.npy", "indef.npy"))),
                "does not apply")


# --------------------------------------------------------------------------- bound --verify


def test_bound_verify_adds_runs() -> None:
    doc = ok_json("bound", SAMPLES / "spd_4x4.npy", "-L", "3", "--lr", "0.1", "--init",
                  "identity", "--verify", "--iterations", "3000")
    runs = doc["runs"]
    assert runs and all(RUN_KEYS <= set(r) for r in runs)
    by_label = {r["step_label"]: r for r in runs}
    assert {"0.1", "nar_sastry.thm2", "nar_sastry.lemma3"} <= set(by_label)
    assert by_label["0.1"]["outcome"] == "converged_global"
    lemma3 = by_label["nar_sastry.lemma3"]
    assert lemma3["outcome"] == "converged_global"
    assert any(p["bound"] == "nar_sastry.lemma3" and p["held"] for p in lemma3["promises"])
    # without --verify there are no runs
    plain = ok_json("bound", SAMPLES / "spd_4x4.npy", "-L", "3", "--lr", "0.1")
    assert not plain.get("runs")


# --------------------------------------------------------------------------- cache


def test_cache_dir_and_clear_in_a_private_cache(tmp_path: Path) -> None:
    """Only in a temporary NUMBA_CACHE_DIR, so the real compiled kernels stay cached."""
    from gdcert.sim._numba_env import _SIM_DIR

    env = {"NUMBA_CACHE_DIR": str(tmp_path)}
    result = invoke("cache", "dir", env=env)
    assert result.exit_code == 0, result.output
    where = Path(result.stdout.strip())
    assert where.parent == tmp_path and where.name.startswith(f"{_SIM_DIR.name}_")
    where.mkdir()
    for name in ("kernels._gd_target-377.py311.nbi", "kernels._gd_target-377.py311.1.nbc"):
        (where / name).write_bytes(b"x")
    (where / "other.mod-1.py311.nbi").write_bytes(b"keep")  # another module's entry
    result = invoke("cache", "clear", env=env)
    assert result.exit_code == 0, result.output
    assert "removed 2 cached file(s)" in result.stdout and str(where) in result.stdout
    assert sorted(p.name for p in where.iterdir()) == ["other.mod-1.py311.nbi"]
    assert "removed 0 cached file(s)" in invoke("cache", "clear", env=env).stdout
