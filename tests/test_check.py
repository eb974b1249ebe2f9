"""``gdcert check``: the CI gate — exit codes, formats, checks files, lr_from, bad input.

Reference problem (by hand, as in test_cli_bound.py): Φ = diag(4, 1) at depth L = 2.
Corollary 1 (necessary): 2/(L ρ^{2(L−1)/L}) = 2/(2·4) = 0.25; Theorem 2 (sufficient,
identity init): min{1/L, 1/(L ρ^{2(L−1)/L})} = 0.125. So η = 0.1 is certified, η = 0.2 is
possible but not certified, η = 0.5 is impossible.

For ``verified`` by simulation: the sample SPD target (eigenvalues 3, 2, 1, 0.5) at depth
3 with the identity init has Theorem 2's bound 0.0770 and Corollary 1's 0.1541; GD at
η = 0.12 reaches the optimal loss in 56 iterations.
"""

from __future__ import annotations

import json
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from gdcert.cli import cli

SAMPLES = Path(__file__).resolve().parents[1] / "sample_inputs"
COR1 = 0.25
THM2 = 0.125


# --------------------------------------------------------------------------- helpers


def run(*args: str, code: int | None = 0) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if code is not None:
        assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def one_error_line(result: Result) -> str:
    """The single stderr line of an exit-2 error."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("gdcert: error: ")
    return lines[0]


def as_json(result: Result) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory (the working directory) with a target and a training config."""
    np.save(tmp_path / "phi.npy", np.diag([4.0, 1.0]))
    shutil.copy(SAMPLES / "spd_4x4.npy", tmp_path / "spd.npy")
    shutil.copy(SAMPLES / "raw_data.npz", tmp_path / "raw.npz")
    (tmp_path / "train.yaml").write_text(
        "model:\n  depth: 2\noptimizer:\n  name: sgd\n  lr: 1e-1\n"
        "stages:\n  - lr: 0.1\n  - lr: 0.2\n  - lr: 0.5\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_checks(where: Path, body: str, name: str = ".gdcert.yaml") -> Path:
    path = where / name
    path.write_text(body)
    return path


CHECK = "  - name: {name}\n    target: phi.npy\n    depth: 2\n    init: identity\n"


# --------------------------------------------------------------------------- exit codes


def test_single_check_passes_exit_0(proj: Path) -> None:
    r = run("check", "phi.npy", "--depth", "2", "--lr", "0.1")
    assert "PASS" in r.stdout and "nar_sastry.cor1" in r.stdout


def test_single_check_fails_exit_1_and_says_what_to_do(proj: Path) -> None:
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.5", "--format", "json", code=1)
    (c,) = as_json(r)["checks"]
    assert not c["passed"] and c["status"] == "impossible"
    assert "GD cannot converge to a global minimum" in c["message"]
    assert c["suggestion"]["bound"] == "nar_sastry.cor1"
    assert c["suggestion"]["max_step"] == pytest.approx(COR1)


def test_exit_zero_reports_but_exits_0(proj: Path) -> None:
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.5", "--exit-zero")
    assert "FAIL" in r.stdout and "0.25" in r.stdout


@pytest.mark.parametrize("args", [
    ["phi.npy", "--lr", "0.1"],                                  # no --depth
    ["phi.npy", "-L", "2"],                                      # no step size (file mode)
    ["phi.npy", "-L", "2", "--lr", "0.1", "--lr-from", "train.yaml:optimizer.lr"],
    ["phi.npy", "spd.npy", "-L", "2", "--lr", "0.1"],            # two targets
    ["-L", "2", "--lr", "0.1"],                                  # no target
    ["phi.npy", "-L", "2", "--lr", "-0.1"],
    ["phi.npy", "-L", "2", "--lr", "nan"],
    ["phi.npy", "-L", "2", "--lr", "0.1", "--init", "kaiming"],
    ["phi.npy", "-L", "2", "--lr", "0.1", "--require", "maybe"],
    ["phi.npy", "-L", "2", "--lr", "0.1", "--format", "xml"],
    ["missing.npy", "-L", "2", "--lr", "0.1"],
    ["phi.npy", "-L", "2", "--lr-from", "train.yaml"],
])
def test_usage_and_input_errors_exit_2(proj: Path, args: list[str]) -> None:
    one_error_line(run("check", *args, code=None))


def test_internal_error_is_3_not_a_failed_check(proj: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import gdcert.api

    def boom(specs: Any) -> Any:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(gdcert.api, "evaluate_all", boom)
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.1", code=3)
    assert "internal error" in r.stderr


def test_single_check_lr_from(proj: Path) -> None:
    r = run("check", "phi.npy", "-L", "2", "--lr-from", "train.yaml:stages[2].lr",
            "--format", "json", code=1)
    (c,) = as_json(r)["checks"]
    assert c["step_size"] == 0.5
    assert c["source"] == {"file": "train.yaml", "line": 9, "key": "stages[2].lr"}


# --------------------------------------------------------------------------- requirements


def test_sufficient_passes_when_certified_and_fails_above(proj: Path) -> None:
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.1", "--init", "identity",
            "--require", "sufficient", "--format", "json")
    (c,) = as_json(r)["checks"]
    assert c["passed"] and c["passed_by"] == "bound" and c["status"] == "certified"
    assert "nar_sastry.thm2" in c["message"]
    # between the closed forms: the computer-assisted certificate passes it, and says so
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.2", "--init", "identity",
            "--require", "sufficient", "--format", "json")
    (c,) = as_json(r)["checks"]
    assert c["passed"] and c["status"] == "certified"
    assert "aposteriori.pl_ball (computer-assisted, level proved" in c["message"]
    # above Corollary 1: fails, suggesting the largest closed-form step
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.3", "--init", "identity",
            "--require", "sufficient", "--format", "json", code=1)
    (c,) = as_json(r)["checks"]
    assert c["status"] == "impossible"
    assert c["suggestion"]["max_step"] == pytest.approx(THM2)
    assert c["suggestion"]["bound"] in ("nar_sastry.thm2", "nar_sastry.lemma3")
    assert c["suggestion"]["init"] == "identity"


def test_sufficient_uses_the_stated_init(proj: Path) -> None:
    # Balanced init: only Nguegnang et al. applies, far below Theorem 2's 0.125.
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.1", "--init", "balanced",
            "--require", "sufficient", "--no-aposteriori", "--format", "json", code=1)
    (c,) = as_json(r)["checks"]
    assert c["suggestion"]["bound"].startswith("nguegnang")
    assert c["suggestion"]["max_step"] < THM2


def test_necessary_passes_between_bounds_and_is_unknown_when_none_applies(proj: Path) -> None:
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.2", "--format", "json")
    (c,) = as_json(r)["checks"]
    assert c["passed"] and c["status"] == "uncertified" and c["passed_by"] == "bound"
    # Data that are not whitened: gdcert.cor1_data (Corollary 1 with Σ = XXᵀ) rules η out.
    r = run("check", "--data", "raw.npz", "-L", "3", "--loss", "mean", "--lr", "10",
            "--format", "json", code=1)
    (c,) = as_json(r)["checks"]
    assert not c["passed"] and c["status"] == "impossible"
    assert "gdcert.cor1_data" in c["message"]
    # A bottleneck (width 1 < min(d_in, d_out)) and data that are not whitened: no
    # necessary bound applies, so the result is unknown (issue 9 item 4) — never a pass;
    # exit 1 unless --allow-unknown; the message suggests --require verified.
    r = run("check", "--data", "raw.npz", "-L", "3", "--widths", "4,1,1,3", "--loss", "mean",
            "--lr", "10", "--format", "json", code=1)
    (c,) = as_json(r)["checks"]
    assert not c["passed"] and c["status"] == "unknown" and c["outcome"] == "unknown"
    assert c["passed_by"] is None and "--require verified" in c["message"]
    assert as_json(r)["summary"]["unknown"] == 1
    run("check", "--data", "raw.npz", "-L", "3", "--widths", "4,1,1,3", "--loss", "mean",
        "--lr", "10", "--allow-unknown", code=0)


def test_verified_by_certificate_between_theorem2_and_cor1(proj: Path) -> None:
    r = run("check", "spd.npy", "-L", "3", "--lr", "0.12", "--init", "identity",
            "--require", "verified", "--iterations", "300", "--format", "json")
    (c,) = as_json(r)["checks"]
    assert c["passed"] and c["passed_by"] == "bound" and c["status"] == "certified"
    assert "aposteriori.pl_ball" in c["message"] and "no simulation needed" in c["message"]


def test_verified_by_simulation_when_no_certificate_applies(proj: Path) -> None:
    # a bottleneck (width 2 < 4): no closed form, no a posteriori certificate (its PL form
    # needs min width ≥ min(d_in, d_out)); GD converges to the rank-2 optimum
    r = run("check", "spd.npy", "-L", "2", "--widths", "4,2,4", "--lr", "0.05",
            "--init", "balanced", "--require", "verified", "--iterations", "20000",
            "--format", "json")
    (c,) = as_json(r)["checks"]
    assert c["passed"] and c["passed_by"] == "simulation" and c["status"] == "uncertified"
    assert "verified by simulation" in c["message"]
    assert [run_["outcome"] for run_ in c["details"]["simulation"]["runs"]] == [
        "converged_global"]


def test_verified_fails_when_the_budget_is_too_small(proj: Path) -> None:
    r = run("check", "spd.npy", "-L", "3", "--lr", "0.12", "--init", "identity",
            "--require", "verified", "--iterations", "5", "--no-aposteriori",
            "--format", "json", code=1)
    (c,) = as_json(r)["checks"]
    assert "did not reach the optimal loss" in c["message"]
    assert "gdcert edge spd.npy --depth 3 --init identity" in c["suggestion"]["text"]
    assert c["suggestion"]["bound"] in ("nar_sastry.thm2", "nar_sastry.lemma3")


def test_verified_by_certificate_and_impossible_without_simulating(proj: Path) -> None:
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.1", "--init", "identity",
            "--require", "verified", "--format", "json")
    (c,) = as_json(r)["checks"]
    assert c["passed_by"] == "bound" and "simulation" not in c["details"]
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.5", "--init", "identity",
            "--require", "verified", "--format", "json", code=1)
    (c,) = as_json(r)["checks"]
    assert "not simulated" in c["message"] and "simulation" not in c["details"]


def test_verified_random_init_simulates_every_seed(proj: Path) -> None:
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.1", "--init", "balanced",
            "--seeds", "3", "--iterations", "3000", "--require", "verified",
            "--no-aposteriori", "--format", "json")
    (c,) = as_json(r)["checks"]
    assert c["passed_by"] == "simulation"
    runs = c["details"]["simulation"]["runs"]
    assert [(x["seed"], x["outcome"]) for x in runs] == [
        (0, "converged_global"), (1, "converged_global"), (2, "converged_global")]
    assert "seeds 0, 1, 2" in c["message"]


def test_sufficient_random_init_takes_the_least_bound_over_seeds(proj: Path) -> None:
    """Nguegnang et al.'s bound depends on W(0): each seed's xavier init gives its own."""
    from gdcert import inits
    from gdcert.api import certify

    per_seed = []
    for seed in range(3):
        init = inits.make("xavier", (2, 2, 2), seed=seed)
        report = certify(np.diag([4.0, 1.0]), depth=2, inits=[init])
        per_seed.append(max(b.max_step for b in report.bounds
                            if b.applies and b.kind == "sufficient"))
    assert len(set(per_seed)) == 3
    for seeds, expected in ((1, per_seed[0]), (3, min(per_seed))):
        r = run("check", "phi.npy", "-L", "2", "--lr", "0.1", "--init", "xavier", "--seeds",
                str(seeds), "--require", "sufficient", "--no-aposteriori", "--format",
                "json", code=1)
        (c,) = as_json(r)["checks"]
        assert c["suggestion"]["max_step"] == pytest.approx(expected)
    # Between the least and the largest seed's bound: not certified for every seed.
    eta = (min(per_seed) + max(per_seed)) / 2
    r = run("check", "phi.npy", "-L", "2", "--lr", repr(eta), "--init", "xavier", "--seeds",
            "3", "--require", "sufficient", "--no-aposteriori", "--format", "json", code=1)
    r = run("check", "phi.npy", "-L", "2", "--lr", repr(min(per_seed)), "--init", "xavier",
            "--seeds", "3", "--require", "sufficient")


# --------------------------------------------------------------------------- checks files


def test_checks_file_discovered_in_a_parent_and_paths_relative_to_it(
        proj: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_checks(proj, "checks:\n" + CHECK.format(name="a")
                 + "    lr_from: {file: train.yaml, key: optimizer.lr}\n")
    sub = proj / "src" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    doc = as_json(run("check", "--format", "json"))
    (c,) = doc["checks"]
    assert c["passed"] and c["step_size"] == 0.1
    assert Path(c["source"]["file"]).resolve() == proj / "train.yaml"


def test_explicit_checks_files_from_another_directory(proj: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    first = write_checks(proj, "checks:\n" + CHECK.format(name="a") + "    lr: 0.1\n", "a.yaml")
    second = write_checks(proj, "checks:\n" + CHECK.format(name="b") + "    lr: 0.5\n",
                          "b.yaml")
    elsewhere = proj.parent / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    doc = as_json(run("check", str(first), str(second), "--format", "json", code=1))
    assert [c["passed"] for c in doc["checks"]] == [True, False]
    assert doc["summary"] == {"total": 2, "passed": 1, "failed": 1, "unknown": 0, "errors": 0}


def test_defaults_are_inherited_and_overridden(proj: Path) -> None:
    write_checks(proj, """\
defaults:
  target: phi.npy
  depth: 2
  init: identity
  require: sufficient
  aposteriori: false
  lr_from: {file: train.yaml, key: optimizer.lr}
checks:
  - name: inherits
  - name: own-lr
    lr: 0.2
  - name: own-requirement
    lr: 0.2
    require: necessary
  - name: own-data
    data: raw.npz
    depth: 3
    loss: mean
    init: balanced
    require: necessary
""")
    doc = as_json(run("check", "--format", "json", code=1))
    got = {c["name"]: (c["passed"], c["requirement"], c["step_size"]) for c in doc["checks"]}
    assert got == {"inherits": (True, "sufficient", 0.1), "own-lr": (False, "sufficient", 0.2),
                   "own-requirement": (True, "necessary", 0.2),
                   "own-data": (True, "necessary", 0.1)}  # within gdcert.cor1_data


def test_sample_checks_file_passes() -> None:
    r = run("check", str(SAMPLES / "ci" / ".gdcert.yaml"), "--format", "json")
    doc = as_json(r)
    assert doc["passed"] and len(doc["checks"]) == 4
    assert {c["passed_by"] for c in doc["checks"]} == {"bound"}
    verified = next(c for c in doc["checks"] if c["name"] == "stage-main-verified")
    assert "aposteriori.pl_ball" in verified["message"]


# --------------------------------------------------------------------------- lr_from


@pytest.mark.parametrize(("name", "text", "key", "line"), [
    ("train.yaml", "optim:\n  groups:\n    - lr: 0.3\n    - {lr: 2e-2, wd: 0}\n",
     "optim.groups[1].lr", 4),
    ("train.yml", "stages:\n  - lr: 0.3\n  - lr: 2e-2\n", "stages.1.lr", 3),
    ("train.json", '{\n  "optim": {\n    "groups": [\n      {"lr": 0.3},\n      {"lr": 0.02}\n'
     '    ]\n  }\n}\n', "optim.groups[1].lr", 5),
    ("train.toml", "[optim]\nname = 'sgd'\n\n[[optim.groups]]\nlr = 0.3\n\n[[optim.groups]]\n"
     "lr = 2e-2\n", "optim.groups[1].lr", 8),
])
def test_lr_from_yaml_json_toml(proj: Path, name: str, text: str, key: str, line: int) -> None:
    (proj / "cfg").mkdir()
    (proj / "cfg" / name).write_text(text)
    write_checks(proj, "checks:\n" + CHECK.format(name="x")
                 + f"    lr_from: {{file: cfg/{name}, key: '{key}'}}\n")
    (c,) = as_json(run("check", "--format", "json"))["checks"]
    assert c["step_size"] == pytest.approx(0.02)
    assert c["source"] == {"file": f"cfg/{name}", "line": line, "key": key}


# --------------------------------------------------------------------------- formats


def test_github_annotation_points_at_the_training_config_line(proj: Path) -> None:
    write_checks(proj, "checks:\n" + CHECK.format(name="fast")
                 + "    lr_from: {file: train.yaml, key: 'stages[2].lr'}\n"
                 + CHECK.format(name="direct") + "    lr: 0.1\n")
    r = run("check", "--format", "github", code=1)
    lines = r.stdout.splitlines()
    error = next(x for x in lines if x.startswith("::error "))
    props, message = error[len("::error "):].split("::", 1)
    fields = dict(p.split("=", 1) for p in props.split(","))
    assert fields["file"] == "train.yaml" and fields["line"] == "9"
    assert "fast" in fields["title"] and "%3A" not in fields["file"]
    assert "nar_sastry.cor1" in message and "0.25" in message and "\n" not in message
    notice = next(x for x in lines if x.startswith("::notice "))
    fields = dict(p.split("=", 1) for p in notice.split("::")[1][len("notice "):].split(","))
    assert fields["file"] == ".gdcert.yaml" and fields["line"] == "11"  # its `lr:` line


def test_junit_xml(proj: Path) -> None:
    write_checks(proj, "checks:\n" + CHECK.format(name="ok") + "    lr: 0.1\n"
                 + CHECK.format(name="too-big") + "    lr: 0.5\n")
    r = run("check", "--format", "junit", code=1)
    root = ET.fromstring(r.stdout)
    assert root.tag == "testsuites" and root.get("tests") == "2" and root.get("failures") == "1"
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ["ok", "too-big"]
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure is not None and "nar_sastry.cor1" in (failure.get("message") or "")
    # junit-10.xsd has no file/line on <testcase>: where η is written is in the text.
    assert cases[1].get("file") is None and ".gdcert.yaml:11" in (failure.text or "")


def test_junit_to_output_file(proj: Path) -> None:
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.1", "--format", "junit",
            "--output", "reports/gdcert.xml", code=None)
    assert r.exit_code == 2  # the directory does not exist: an input error, not a failure
    (proj / "reports").mkdir()
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.1", "--format", "junit",
            "--output", "reports/gdcert.xml")
    assert r.stdout == ""
    root = ET.parse(proj / "reports" / "gdcert.xml").getroot()
    assert root.get("failures") == "0" and len(root.findall(".//testcase")) == 1


def test_markdown_table(proj: Path) -> None:
    write_checks(proj, "checks:\n" + CHECK.format(name="ok") + "    lr: 0.1\n"
                 + CHECK.format(name="too|big") + "    lr: 0.5\n")
    r = run("check", "--format", "markdown", code=1)
    lines = r.stdout.splitlines()
    assert lines[0].startswith("### ❌ gdcert check: 1 of 2 checks failed")
    table = [x for x in lines if x.startswith("|")]
    assert len(table) == 4
    assert all(x.count(" | ") == table[0].count(" | ") for x in table[2:])
    assert "too\\|big" in table[3] and "0.25 (`nar_sastry.cor1`)" in table[3]


def test_text_and_json_outputs(proj: Path) -> None:
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.5", code=1)
    assert "FAIL" in r.stdout and "use η ≤ 0.25" in r.stdout and r.stderr == ""
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.5", "--format", "json", code=1)
    doc = as_json(r)  # stdout holds the JSON alone
    assert doc["schema_version"] == 1 and doc["passed"] is False
    run("check", "phi.npy", "-L", "2", "--lr", "0.5", "-o", "out.txt", code=1)
    assert "FAIL" in (proj / "out.txt").read_text()


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("train", "key", "expected"), [
    ("optimizer:\n  lr: 0.1\n", "optimizer.learning_rate",
     "key 'optimizer.learning_rate' not found: 'optimizer' has no key 'learning_rate'"),
    ("optimizer:\n  lr: 0.1\n", "optim.lr", "the top level has no key 'optim'"),
    ("stages:\n  - lr: 0.1\n", "stages[3].lr", "index 3 out of range"),
    ("optimizer:\n  lr: 0\n", "optimizer.lr", "train.yaml:2: key 'optimizer.lr': expected a "
     "positive finite number, got 0"),
    ("optimizer:\n  lr: -1e-3\n", "optimizer.lr", "got -0.001"),
    ("optimizer:\n  lr: .inf\n", "optimizer.lr", "got inf"),
    ("optimizer:\n  lr: fast\n", "optimizer.lr", "got 'fast'"),
    ("optimizer:\n  lr: true\n", "optimizer.lr", "got True"),
    ("optimizer:\n  lr: [0.1]\n", "optimizer.lr", "got [0.1]"),
    ("optimizer:\n  lr: 0.1\n  lr: 0.2\n", "optimizer.lr", "train.yaml:3: duplicate key 'lr'"),
])
def test_bad_training_config(proj: Path, train: str, key: str, expected: str) -> None:
    (proj / "train.yaml").write_text(train)
    write_checks(proj, "checks:\n" + CHECK.format(name="x")
                 + f"    lr_from: {{file: train.yaml, key: '{key}'}}\n")
    line = one_error_line(run("check", code=None))
    assert "train.yaml" in line and expected in line


def test_yaml_exponent_strings_are_numbers(proj: Path) -> None:
    (proj / "train.yaml").write_text("optimizer:\n  lr: 1e-3\n")
    write_checks(proj, "checks:\n" + CHECK.format(name="x")
                 + "    lr_from: {file: train.yaml, key: optimizer.lr}\n  - name: y\n"
                 "    target: phi.npy\n    depth: 2\n    lr: 1E-2\n")
    doc = as_json(run("check", "--format", "json"))
    assert [c["step_size"] for c in doc["checks"]] == [0.001, 0.01]


@pytest.mark.parametrize(("body", "expected"), [
    ("checks:\n  - name: a\n    target: phi.npy\n    depth: 2\n    lerning_rate: 0.1\n",
     ".gdcert.yaml:5: unknown key 'lerning_rate' in 'checks[0]'"),
    ("chekcs: []\n", ".gdcert.yaml:1: unknown key 'chekcs' at the top level"),
    ("checks:\n  - name: a\n    target: phi.npy\n    depth: 2\n    depth: 3\n    lr: 0.1\n",
     ".gdcert.yaml:5: duplicate key 'depth'"),
    ("checks: []\n", ".gdcert.yaml:1: no checks"),
    ("checks:\n", "no checks"),
    ("# nothing here\n", "the checks file is empty"),
    ("defaults:\n  depth: 2\n", "missing required key 'checks'"),
    ("checks:\n  - name: a\n    target: phi.npy\n    depth: 2\n    lr: 0.1\n"
     "  - name: a\n    target: phi.npy\n    depth: 2\n    lr: 0.2\n",
     ".gdcert.yaml:6: check 'a': duplicate check name (first at line 2)"),
    ("checks:\n  - name: a\n    target: phi.npy\n    depth: 2\n",
     ".gdcert.yaml:2: check 'a': missing the step size"),
    ("checks:\n  - name: a\n    target: phi.npy\n    depth: 2\n    lr: 0.1\n"
     "    lr_from: {file: train.yaml, key: optimizer.lr}\n", "give either 'lr' or 'lr_from'"),
    ("checks:\n  - name: a\n    target: phi.npy\n    data: raw.npz\n    depth: 2\n    lr: 0.1\n",
     "give either 'target' or 'data'"),
    ("checks:\n  - name: a\n    depth: 2\n    lr: 0.1\n", "needs exactly one of 'target'"),
    ("checks:\n  - name: a\n    target: phi.npy\n    lr: 0.1\n", "missing required key 'depth'"),
    ("checks:\n  - name: a\n    target: phi.npy\n    depth: 2\n    lr: -0.1\n",
     ".gdcert.yaml:5: key 'checks[0].lr' must be positive"),
    ("checks:\n  - name: a\n    target: phi.npy\n    depth: 2\n    lr: 0.1\n"
     "    require: suficient\n", "did you mean 'sufficient'?"),
    ("checks:\n  - name: a\n    target: phi.npy\n    depth: 2\n    lr: 0.1\n    init: he\n",
     "check 'a': unknown init 'he'"),
    ("checks:\n  - name: a\n    target: nope.npy\n    depth: 2\n    lr: 0.1\n",
     ".gdcert.yaml:2: check 'a': TARGET nope.npy: file not found"),
    ("checks:\n  - name: a\n    target: phi.npy\n    depth: 2\n    lr: 0.1\n"
     "    lr_from: {file: train.yaml}\n", "missing required key 'checks[0].lr_from.key'"),
    ("checks:\n  - name: a\n    target: phi.npy\n    depth: 2\n"
     "    lr_from: {file: missing.yaml, key: lr}\n", "missing.yaml: file not found"),
    ("checks: [\n", "invalid YAML"),
])
def test_bad_checks_file(proj: Path, body: str, expected: str) -> None:
    write_checks(proj, body)
    line = one_error_line(run("check", code=None))
    assert expected in line


def test_no_checks_file_and_no_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    line = one_error_line(run("check", code=None))
    assert "no .gdcert.yaml found" in line and "TARGET" in line


def test_options_for_single_checks_are_refused_in_file_mode(proj: Path) -> None:
    write_checks(proj, "checks:\n" + CHECK.format(name="a") + "    lr: 0.1\n")
    assert "--require" in one_error_line(run("check", "--require", "sufficient", code=None))


def test_real_exit_codes_in_a_subprocess(proj: Path) -> None:
    import subprocess

    def code(*args: str) -> int:
        return subprocess.run([sys.executable, "-m", "gdcert", "check", *args],
                              capture_output=True, text=True, cwd=proj).returncode

    assert code("phi.npy", "-L", "2", "--lr", "0.1") == 0
    assert code("phi.npy", "-L", "2", "--lr", "0.5") == 1
    assert code("phi.npy", "-L", "2", "--lr", "0.5", "--exit-zero") == 0
    assert code("phi.npy", "-L", "2", "--lr", "zero") == 2


def test_check_modules_import_no_numpy() -> None:
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c",
         "import sys, gdcert.cli, gdcert.config.checks, gdcert.report.check_out;"
         "print(sorted(m for m in ('numpy', 'scipy', 'numba') if m in sys.modules))"],
        capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
