"""The ``gdcert simulate`` configuration schema (``gdcert.config.simulate``).

Every error is one line that names the file, the line and the key; relative paths
resolve against the config file's directory, never the working directory.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from gdcert.config import simulate as simconfig
from gdcert.errors import InputError
from gdcert.spec import StepSpec

HEAD = "problem:\n  target: phi.npy\nnetwork:\n  depth: 2\n"


@pytest.fixture
def cfgdir(tmp_path: Path) -> Path:
    d = tmp_path / "configs"
    d.mkdir()
    np.save(d / "phi.npy", np.diag([2.0, 1.0]))
    np.savez(d / "xy.npz", X=np.eye(2), Y=np.eye(2))
    np.savez(d / "w.npz", W1=np.eye(2), W2=np.eye(2))
    return d


def write(d: Path, text: str, name: str = "sim.yaml") -> Path:
    path = d / name
    path.write_text(text)
    return path


def error(d: Path, text: str) -> str:
    path = write(d, text)
    with pytest.raises(InputError) as info:
        simconfig.load(path)
    msg = str(info.value)
    assert "\n" not in msg, msg
    return msg


# --------------------------------------------------------------------------- good files


def test_minimal_config_and_defaults(cfgdir: Path) -> None:
    cfg = simconfig.load(write(cfgdir, HEAD + "step_size: 0.05\n"))
    assert cfg.target == str(cfgdir / "phi.npy") and cfg.data is None
    assert cfg.depth == 2 and cfg.widths is None and cfg.loss == "sum"
    assert cfg.init.name == "balanced"
    assert cfg.steps == (StepSpec(eta=0.05),)
    assert cfg.seeds == (0,) and cfg.iterations == 10_000 and cfg.tolerance is None
    assert cfg.output_json is None and cfg.output_plot is None


@pytest.mark.parametrize(("text", "value"), [
    ("1e-3", 1e-3), ("1E-3", 1e-3), ("2e+1", 20.0), (".5e-2", 0.005), ("1.0e-3", 1e-3),
    ("3", 3.0),
])
def test_exponent_numbers_are_numbers(cfgdir: Path, text: str, value: float) -> None:
    cfg = simconfig.load(write(cfgdir, HEAD + f"step_size: {text}\ntolerance: {text}\n"))
    assert cfg.steps[0].eta == value and isinstance(cfg.steps[0].eta, float)
    assert cfg.tolerance == value


def test_every_step_size_form(cfgdir: Path) -> None:
    cfg = simconfig.load(write(cfgdir, HEAD + (
        "init:\n  name: identity\n"
        "step_size:\n"
        "  - 1e-2\n"
        "  - {bound: nar_sastry.cor1, times: 0.9}\n"
        "  - {bound: nar_sastry.lemma3}\n"
        "  - {a1: 0.1, a2: 0.5, gamma: 0.5}\n"
        "  - {a2: 0.5, gamma: 1}\n")))
    assert cfg.steps == (
        StepSpec(eta=0.01), StepSpec(bound="nar_sastry.cor1", times=0.9),
        StepSpec(bound="nar_sastry.lemma3"), StepSpec(a1=0.1, a2=0.5, gamma=0.5),
        StepSpec(a1=math.inf, a2=0.5, gamma=1.0))
    assert cfg.steps[1].where is not None and cfg.steps[1].where.endswith(
        "sim.yaml:9: 'step_size.1.bound'")


@pytest.mark.parametrize(("text", "seeds"), [("3", (0, 1, 2)), ("[0, 7, 11]", (0, 7, 11))])
def test_seeds(cfgdir: Path, text: str, seeds: tuple[int, ...]) -> None:
    cfg = simconfig.load(write(cfgdir, HEAD + f"step_size: 0.1\nseeds: {text}\n"))
    assert cfg.seeds == seeds


def test_relative_paths_resolve_against_the_config_file(cfgdir: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = write(cfgdir, (
        "problem:\n  data: xy.npz\nnetwork:\n  depth: 2\n"
        "init:\n  name: file\n  file: w.npz\n"
        "step_size: 0.1\n"
        "output:\n  json: out/runs.json\n  plot: /abs/plot.png\n"))
    cfg = simconfig.load(os.path.relpath(path, elsewhere))
    assert Path(cfg.data).resolve() == (cfgdir / "xy.npz").resolve()  # type: ignore[arg-type]
    assert Path(cfg.init.file).resolve() == (cfgdir / "w.npz").resolve()  # type: ignore[arg-type]
    assert Path(cfg.output_json).resolve() == (  # type: ignore[arg-type]
        cfgdir / "out" / "runs.json").resolve()
    assert cfg.output_plot == "/abs/plot.png"


def test_npz_key_suffix_survives_resolution(cfgdir: Path) -> None:
    np.savez(cfgdir / "many.npz", A=np.eye(2), B=np.eye(2))
    cfg = simconfig.load(write(cfgdir, HEAD.replace("phi.npy", "many.npz:B")
                               + "step_size: 0.1\n"))
    assert cfg.target == f"{cfgdir / 'many.npz'}:B"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("body", "needles"), [
    # unknown key, with a suggestion
    (HEAD + "step_size: 0.1\niterashuns: 5\n", ["sim.yaml:6", "'iterashuns'", "iterations"]),
    (HEAD + "step_size: 0.1\ninit:\n  nam: identity\n", ["sim.yaml:7", "'nam'"]),
    # duplicate key (PyYAML would silently keep the last)
    (HEAD + "step_size: 0.1\nstep_size: 0.2\n", ["sim.yaml:6", "duplicate key 'step_size'"]),
    # wrong types
    ("problem:\n  target: phi.npy\nnetwork:\n  depth: two\nstep_size: 0.1\n",
     ["sim.yaml:4", "network.depth", "integer"]),
    (HEAD + "step_size: fast\n", ["sim.yaml:5", "'step_size'", "'fast'"]),
    (HEAD + "step_size: true\n", ["sim.yaml:5", "'step_size'"]),
    (HEAD + "step_size: -0.1\n", ["sim.yaml:5", "'step_size'"]),
    (HEAD + "step_size: [0.1, 0]\n", ["sim.yaml:5", "'step_size.1'"]),
    (HEAD + "step_size: []\n", ["sim.yaml:5", "'step_size' list is empty"]),
    (HEAD + "step_size: 0.1\niterations: 1.5\n", ["sim.yaml:6", "iterations", "integer"]),
    (HEAD + "step_size: 0.1\ntrack:\n  sharpness: yes\n", ["sim.yaml:7", "track.sharpness"]),
    (HEAD + "step_size: 0.1\ninit:\n  name: lecun\n", ["sim.yaml:7", "init.name", "'lecun'"]),
    # step_size maps
    (HEAD + "step_size: {eta: 0.1}\n", ["sim.yaml:5", "'step_size'", "['eta']"]),
    (HEAD + "step_size: {bound: nar_sastry.cor9}\n",
     ["sim.yaml:5", "'step_size.bound'", "unknown bound id 'nar_sastry.cor9'",
      "nar_sastry.cor1"]),
    (HEAD + "step_size:\n  - 0.1\n  - {bound: 3}\n", ["sim.yaml:7", "'step_size.1.bound'"]),
    (HEAD + "step_size: {bound: nar_sastry.cor1, tims: 2}\n", ["sim.yaml:5", "'tims'"]),
    (HEAD + "step_size: {bound: nar_sastry.cor1, times: 0}\n",
     ["sim.yaml:5", "'step_size.times'"]),
    (HEAD + "step_size: {a1: 0.1, gamma: -1}\n", ["sim.yaml:5", "'step_size.gamma'"]),
    (HEAD + "step_size: {gamma: 0.5}\n", ["sim.yaml:5", "needs a1 or a2"]),
    # missing / contradictory keys
    (HEAD, ["sim.yaml", "missing required key 'step_size'"]),
    ("network:\n  depth: 2\nstep_size: 0.1\n", ["sim.yaml", "problem"]),
    ("problem:\n  target: phi.npy\n  data: xy.npz\nnetwork:\n  depth: 2\nstep_size: 0.1\n",
     ["sim.yaml:1", "exactly one of 'problem.target' or 'problem.data'"]),
    ("problem:\n  loss: sum\nnetwork:\n  depth: 2\nstep_size: 0.1\n",
     ["sim.yaml:1", "exactly one of"]),
    # files that do not exist (resolved against the config's directory)
    (HEAD.replace("phi.npy", "nope.npy") + "step_size: 0.1\n",
     ["sim.yaml:2", "'problem.target'", "file not found", "nope.npy"]),
    ("problem:\n  data: nodata.npz\nnetwork:\n  depth: 2\nstep_size: 0.1\n",
     ["sim.yaml:2", "'problem.data'", "file not found"]),
    (HEAD + "init:\n  name: file\n  file: missing.npz\nstep_size: 0.1\n",
     ["sim.yaml:7", "'init.file'", "file not found"]),
    # seeds
    (HEAD + "step_size: 0.1\nseeds: 0\n", ["sim.yaml:6", "'seeds'"]),
    (HEAD + "step_size: 0.1\nseeds: -2\n", ["sim.yaml:6", "'seeds'"]),
    (HEAD + "step_size: 0.1\nseeds: [1, x]\n", ["sim.yaml:6", "'seeds'"]),
    (HEAD + "step_size: 0.1\nseeds: [1, -1]\n", ["sim.yaml:6", "'seeds'"]),
    (HEAD + "step_size: 0.1\nseeds: []\n", ["sim.yaml:6", "'seeds'"]),
    (HEAD + "step_size: 0.1\nseeds: true\n", ["sim.yaml:6", "'seeds'"]),
    (HEAD + "step_size: 0.1\nseeds: 1.5\n", ["sim.yaml:6", "'seeds'"]),
    # not a mapping / not YAML
    ("- 1\n- 2\n", ["sim.yaml", "mapping"]),
    ("problem: [\n", ["sim.yaml:", "YAML"]),
])
def test_errors_name_key_and_line(cfgdir: Path, body: str, needles: list[str]) -> None:
    msg = error(cfgdir, body)
    for needle in needles:
        assert needle in msg, (needle, msg)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        simconfig.load(tmp_path / "absent.yaml")
