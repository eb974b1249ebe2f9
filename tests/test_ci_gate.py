"""The CI gate's reports (issue 10, issue 9 item 4): broken checks, unknown results,
JUnit against junit-10.xsd, JSON against the shipped JSON Schemas, GitHub annotation
paths, repeatable --format, the job summary, the pre-commit file pattern, and the Python
API's notebook/pandas views.

Reference problem: Φ = diag(4, 1) at depth 2 — Corollary 1 (necessary) 0.25, Theorem 2
(sufficient, identity) 0.125 (see tests/test_check.py).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner, Result

from gdcert.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_inputs"
XSD = Path(__file__).parent / "schemas" / "junit-10.xsd"


def run(*args: str, code: int | None = 0, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)
    if code is not None:
        assert result.exit_code == code, (result.stdout, result.stderr)
    return result


@pytest.fixture
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    np.save(tmp_path / "phi.npy", np.diag([4.0, 1.0]))
    shutil.copy(SAMPLES / "raw_data.npz", tmp_path / "raw.npz")
    (tmp_path / "train.yaml").write_text("optimizer:\n  lr: 0.1\n  big: 0.5\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return tmp_path


CHECKS = """\
checks:
  - name: ok
    target: phi.npy
    depth: 2
    lr: 0.1
  - name: broken
    target: phi.npy
    depth: 2
    lr_from: {file: train.yaml, key: optimizer.nope}
  - name: too-big
    target: phi.npy
    depth: 2
    lr_from: {file: train.yaml, key: optimizer.big}
  - name: undecided
    data: raw.npz
    loss: mean
    depth: 3
    widths: [4, 1, 1, 3]
    lr: 10
"""


def validator(name: str) -> Any:
    import jsonschema

    from gdcert import schemas

    schema = schemas.load(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def junit_valid(text: str) -> None:
    import xmlschema

    xmlschema.XMLSchema(str(XSD)).validate(text)


# --------------------------------------------------------------------------- broken checks


def test_broken_check_is_an_error_result_and_the_others_run(proj: Path) -> None:
    (proj / ".gdcert.yaml").write_text(CHECKS)
    r = run("check", "--format", "json:out.json", "--format", "junit:out.xml",
            "--format", "github", "--exit-zero", code=2)
    # one stderr line per broken check, naming the file, line and key
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("gdcert: error: ") and "optimizer.nope" in line
    doc = json.loads((proj / "out.json").read_text())
    validator("check").validate(doc)
    by_name = {c["name"]: c for c in doc["checks"]}
    assert by_name["ok"]["outcome"] == "pass"
    assert by_name["broken"]["status"] == "error" and by_name["broken"]["step_size"] is None
    assert by_name["too-big"]["outcome"] == "fail"
    assert by_name["undecided"]["outcome"] == "unknown"
    assert doc["summary"] == {"total": 4, "passed": 1, "failed": 1, "unknown": 1, "errors": 1}
    # JUnit: valid against junit-10.xsd, <error> for the broken check, errors counted
    xml = (proj / "out.xml").read_text()
    junit_valid(xml)
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml)
    assert root.get("errors") == "1" and root.get("failures") == "2"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["broken"].find("error") is not None
    assert cases["undecided"].find("failure") is not None
    # GitHub: ::error at the lr_from line of the checks file
    error = next(x for x in r.stdout.splitlines() if "broken" in x)
    assert error.startswith("::error file=.gdcert.yaml,line=9,")
    warning = next(x for x in r.stdout.splitlines() if "undecided" in x)
    assert warning.startswith("::warning ")


def test_output_written_even_when_every_check_is_broken(proj: Path) -> None:
    (proj / ".gdcert.yaml").write_text(
        "checks:\n  - {name: a, target: missing.npy, depth: 2, lr: 0.1}\n")
    r = run("check", "--format", "junit", "--output", "gd.xml", "--exit-zero", code=2)
    assert "missing.npy" in r.stderr
    junit_valid((proj / "gd.xml").read_text())


def test_unreadable_checks_file_still_writes_reports(proj: Path) -> None:
    (proj / "bad.yaml").write_text("checks: [\n")
    (proj / ".gdcert.yaml").write_text(
        "checks:\n  - {name: fine, target: phi.npy, depth: 2, lr: 0.1}\n")
    r = run("check", "bad.yaml", ".gdcert.yaml", "--format", "json:out.json", code=2)
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("gdcert: error: bad.yaml:2: invalid YAML")
    doc = json.loads((proj / "out.json").read_text())
    validator("check").validate(doc)
    assert [c["outcome"] for c in doc["checks"]] == ["error", "pass"]
    assert doc["checks"][0]["source"] == {"file": "bad.yaml", "line": 2, "key": "checks file"}


def test_unknown_fails_unless_allowed(proj: Path) -> None:
    # a bottleneck and data that are not whitened: no necessary bound applies
    args = ("check", "--data", "raw.npz", "--loss", "mean", "-L", "3", "--widths", "4,1,1,3",
            "--lr", "10")
    r = run(*args, code=1)
    assert "UNKNOWN" in r.stdout and "--require verified" in r.stdout
    run(*args, "--allow-unknown", code=0)


# --------------------------------------------------------------------------- formats


def test_format_is_repeatable_with_files(proj: Path) -> None:
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.1", "--format", "markdown:s.md",
            "--format", "json")
    assert json.loads(r.stdout)["passed"] is True
    assert (proj / "s.md").read_text().startswith("### ✅")
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.1", "--format", "json",
            "--format", "text", code=2)
    assert "stdout" in r.stderr
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.1", "--format", "yaml", code=2)
    assert "--format" in r.stderr


def test_step_summary_written_when_set(proj: Path) -> None:
    summary = proj / "summary.md"
    summary.write_text("previous\n")
    run("check", "phi.npy", "-L", "2", "--lr", "0.1",
        env={"GITHUB_STEP_SUMMARY": str(summary)})
    text = summary.read_text()
    assert text.startswith("previous\n") and "| ✅ |" in text


def test_text_report_does_not_wrap_off_a_terminal(proj: Path) -> None:
    r = run("check", "phi.npy", "-L", "2", "--lr", "0.5", code=1,
            env={"COLUMNS": "40"})
    head, body = r.stdout.splitlines()[:2]
    assert head.startswith("FAIL") and "from --lr" in head
    assert "GD cannot converge to a global minimum at this step size" in body


def test_annotation_paths_relative_to_the_repository(proj: Path) -> None:
    sub = proj / "ci"
    sub.mkdir()
    (sub / ".gdcert.yaml").write_text(
        "checks:\n  - {target: ../phi.npy, depth: 2, lr_from: {file: ../train.yaml, "
        "key: optimizer.big}}\n")
    r = run("check", "ci/.gdcert.yaml", "--format", "github", code=1,
            env={"GITHUB_WORKSPACE": str(proj)})
    assert r.stdout.startswith("::error file=train.yaml,line=3,")
    (proj / ".git").mkdir()  # no GITHUB_WORKSPACE: the git root
    import os

    os.chdir(sub)
    r = run("check", "--format", "github", code=1)
    assert r.stdout.startswith("::error file=train.yaml,line=3,")


def test_json_outputs_match_the_shipped_schemas(proj: Path) -> None:
    r = run("bound", "phi.npy", "-L", "2", "--lr", "0.1", "--json")
    validator("bound").validate(json.loads(r.stdout))
    r = run("bound", "--data", "raw.npz", "-L", "3", "--loss", "mean", "--json")
    validator("bound").validate(json.loads(r.stdout))
    for path in (SAMPLES / "ci" / ".gdcert.yaml",):
        validator("gdcert-yaml").validate(yaml.safe_load(path.read_text()))
    bad = yaml.safe_load(CHECKS.replace("depth: 2", "depht: 2", 1))
    assert list(validator("gdcert-yaml").iter_errors(bad))


def test_schemas_are_package_data() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert '"schemas/*.json"' in text
    from gdcert import schemas

    assert {n: schemas.load(n)["title"] for n in schemas.NAMES}


# --------------------------------------------------------------------------- pre-commit


def test_precommit_files_pattern_covers_every_input_case_insensitively() -> None:
    from gdcert.config import CONFIG_EXTENSIONS
    from gdcert.io import SUPPORTED_MATRIX_EXTENSIONS

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    pattern = re.compile(hook["files"])
    for ext in (*SUPPORTED_MATRIX_EXTENSIONS, *CONFIG_EXTENSIONS):
        for name in (f"data/x{ext}", f"data/X{ext.upper()}"):
            assert pattern.search(name), name
    assert pattern.search("ci/.gdcert.yaml") and pattern.search(".GDCERT.YML")
    assert not pattern.search("src/model.py")


# --------------------------------------------------------------------------- API


def test_report_notebook_views_and_frame() -> None:
    import gdcert

    report = gdcert.certify(gdcert.load_problem(SAMPLES / "spd_4x4.npy", depth=3), lr=0.05)
    md = report._repr_markdown_()
    assert md.startswith("**gdcert report**") and "| `nar_sastry.cor1` |" in md
    assert len(md) < 4000
    from rich.console import Console

    console = Console(record=True, width=120)
    console.print(report)
    assert "nar_sastry.cor1" in console.export_text()
    pd = pytest.importorskip("pandas")
    frame = report.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) == len(report.bounds)
    assert frame["max_step"].dtype == np.float64
    assert frame.loc[frame["id"] == "nar_sastry.cor1", "max_step"].iloc[0] == pytest.approx(
        report.bound("nar_sastry.cor1").max_step)


def test_version_single_sourced() -> None:
    import importlib.metadata

    import gdcert

    assert importlib.metadata.version("gdcert") == gdcert.__version__
    text = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in text


def test_no_arguments_prints_usage_and_exits_0() -> None:
    r = CliRunner().invoke(cli, [])
    assert r.exit_code == 0 and r.stdout.startswith("Usage: ") and r.stderr == ""
    assert "Commands:" in r.stdout and "check" in r.stdout


def test_widths_taken_from_an_init_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "xy.npz", X=rng.standard_normal((6, 20)),
             Y=rng.standard_normal((4, 20)))
    np.savez(tmp_path / "w0.npz", W1=rng.standard_normal((5, 6)),
             W2=rng.standard_normal((4, 5)))
    r = run("bound", "--data", str(tmp_path / "xy.npz"), "--depth", "2", "--init",
            str(tmp_path / "w0.npz"), "--json")
    assert json.loads(r.stdout)["problem"]["widths"] == [6, 5, 4]


def test_omegaconf_interpolation_in_lr_from(proj: Path) -> None:
    pytest.importorskip("omegaconf")
    (proj / "hydra.yaml").write_text("base: 0.1\noptimizer:\n  lr: ${base}\n  bad: ${nope}\n")
    r = run("check", "phi.npy", "-L", "2", "--lr-from", "hydra.yaml:optimizer.lr",
            "--format", "json")
    (c,) = json.loads(r.stdout)["checks"]
    assert c["step_size"] == 0.1 and c["source"]["line"] == 3
    r = run("check", "phi.npy", "-L", "2", "--lr-from", "hydra.yaml:optimizer.bad", code=2)
    assert "hydra.yaml:4" in r.stderr and "${nope}" in r.stderr
