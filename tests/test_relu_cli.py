"""``gdcert relu`` and ``gdcert simulate`` with ``model: relu2`` end to end (CliRunner):
the shipped Figure 2 configuration, JSON and plot outputs, and one-line errors (exit 2) for
bad model files and configs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from gdcert.cli import cli

SAMPLES = Path(__file__).resolve().parent.parent / "sample_inputs"


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result: Result, *needles: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("gdcert: error: ") and "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def figure2(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path | None]:
    png = tmp_path_factory.mktemp("fig2") / "fig2.png"
    # The PNG needs the `plot` extra; without matplotlib the runs are still checked.
    plot = ["--plot", png] if importlib.util.find_spec("matplotlib") else []
    result = invoke("simulate", SAMPLES / "relu_figure2.yaml", "--json", *plot)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), (png if plot else None)


@pytest.mark.plot
def test_figure2_fixed_point_at_2e4_and_orbit_at_3e4(figure2: tuple[dict, Path | None]) -> None:
    doc, png = figure2
    assert doc["problem"]["form"] == "relu2" and doc["problem"]["loss"] == "sum"
    assert doc["problem"]["n_samples"] == 1000
    assert doc["problem"]["shape"] == {"outputs": 1, "hidden_units": 20, "inputs": 1}
    x = np.asarray(doc["problem"]["x"])[0]
    np.testing.assert_allclose(x, np.arange(1, 1001) / 1000)
    small, large = doc["runs"]
    assert small["step_size"] == 2e-4 and large["step_size"] == 3e-4
    assert small["outcome"].startswith("converged_")
    assert large["outcome"] == "oscillating"
    assert len(small["details"]["f_hat"]) == 1000
    # Theorem 4 at the converged model (Σ loss: 1/(2 max_i |x_i||f̂(x_i)|)) admits 2e-4
    t4 = small["details"]["thm4"]
    assert t4["max_step"] == pytest.approx(0.5 / t4["max_x_f"]) and t4["eta_within"]
    det = large["details"]
    odd, even = np.asarray(det["f_hat_odd"]), np.asarray(det["f_hat_even"])
    assert odd.shape == even.shape == (1000,)
    assert det["max_abs_f_hat_diff"] == pytest.approx(np.max(np.abs(odd - even)))
    assert det["max_abs_f_hat_diff"] > 0.1
    assert det["step_norm_two"] <= 1e-3 * det["step_norm_last"]
    if png is not None:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _model(tmp_path: Path, name: str = "m.npz", **over: object) -> Path:
    rng = np.random.default_rng(0)
    arrays: dict[str, object] = {"W": rng.standard_normal((1, 4)),
                                 "V": rng.standard_normal((4, 1)),
                                 "b": rng.standard_normal(4),
                                 "X": np.linspace(0.1, 1.0, 12)[None, :],
                                 "Y": np.linspace(0.0, 1.0, 12)[None, :]}
    for k, v in over.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    path = tmp_path / name
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


def _config(tmp_path: Path, model: Path, extra: str = "") -> Path:
    cfg = tmp_path / "relu.yaml"
    cfg.write_text(f"model: relu2\nrelu:\n  model_file: {model.name}\n  loss: half-sum\n"
                   f"step_size: [1.0e-3, 5.0e-2]\niterations: 2000\n{extra}")
    return cfg


def test_simulate_relu2_from_model_file(tmp_path: Path) -> None:
    cfg = _config(tmp_path, _model(tmp_path))
    result = invoke("simulate", cfg, "--json", "--no-records")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [r["step_size"] for r in doc["runs"]] == [1e-3, 5e-2]
    assert all(r["init"] == "file" and "records" not in r for r in doc["runs"])
    # the rich report renders too
    result = invoke("simulate", cfg)
    assert result.exit_code == 0, result.output
    assert "Verification runs" in result.stdout


@pytest.mark.parametrize(("over", "needles"), [
    ({"V": None}, ("missing required array", "'V'")),
    ({"V": np.ones((3, 1))}, ("V has shape (3, 1)",)),
    ({"b": np.ones(5)}, ("b has 5 entries",)),
    ({"X": np.ones((2, 12))}, ("X has shape (2, 12)",)),
    ({"W": np.array([[1.0, np.nan, 0.0, 1.0]])}, ("NaN",)),
])
def test_bad_model_files_one_line_errors(tmp_path: Path, over: dict, needles: tuple) -> None:
    model = _model(tmp_path, **over)
    one_line_error(invoke("relu", model), *needles)
    one_line_error(invoke("simulate", _config(tmp_path, model)), *needles)


def test_bad_targets_in_simulate_model_file(tmp_path: Path) -> None:
    one_line_error(invoke("simulate", _config(tmp_path, _model(tmp_path, Y=None))),
                   "missing the targets")
    one_line_error(invoke("simulate", _config(tmp_path, _model(tmp_path, Y=np.ones((1, 5))))),
                   "targets 'Y' have shape (1, 5)")
    one_line_error(invoke("simulate", _config(tmp_path, _model(tmp_path, Y=None,
                                                               f=np.full(12, np.inf)))), "f")


def test_relu_cli_missing_file(tmp_path: Path) -> None:
    one_line_error(invoke("relu", tmp_path / "absent.npz"))
    one_line_error(invoke("simulate", _config(tmp_path, tmp_path / "absent.npz")),
                   "model_file", "file not found")


@pytest.mark.parametrize(("text", "needles"), [
    ("model: relu3\nstep_size: 0.1\n", ("'model'",)),
    ("model: relu2\nrelu: {hidden: 3}\nstep_size: {bound: nar_sastry.cor1}\n",
     ("constant step sizes only",)),
    ("model: relu2\nrelu: {hidden: 3}\nstep_size: 0.1\nnetwork: {depth: 2}\n",
     ("'network' is for model: linear",)),
    ("model: relu2\nrelu: {hidden: 3}\nstep_size: 0.1\nseeds: 3\n", ("relu.seed",)),
    ("model: relu2\nrelu: {hidden: 3, seed: -1}\nstep_size: 0.1\n", ("relu.seed",)),
    ("model: relu2\nrelu: {hidden: 3, los: sum}\nstep_size: 0.1\n", ("los",)),
    ("model: relu2\nrelu: {hidden: 3, loss: mean}\nstep_size: 0.1\n", ("loss",)),
    ("model: relu2\nstep_size: 0.1\n", ("relu",)),
])
def test_relu2_config_errors(tmp_path: Path, text: str, needles: tuple) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    one_line_error(invoke("simulate", cfg), *needles)


def test_generated_problem_several_seeds_and_half_sum(tmp_path: Path) -> None:
    cfg = tmp_path / "gen.yaml"
    cfg.write_text("model: relu2\nrelu: {n_samples: 50, hidden: 5, seed: [1, 2], "
                   "teacher_seed: 7}\nstep_size: [1.0e-3, 2.0e-3]\niterations: 300\n")
    result = invoke("simulate", cfg, "--json", "--no-records")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [(r["seed"], r["step_size"]) for r in doc["runs"]] == [
        (1, 1e-3), (1, 2e-3), (2, 1e-3), (2, 2e-3)]
    assert doc["problem"]["loss"] == "half-sum" and doc["problem"]["teacher_seed"] == 7
    assert set(doc["problem"]["targets"]) == {"1", "2"}
