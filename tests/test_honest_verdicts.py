"""Issue 9: verdicts that claim no more than the maths and the runs support."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from rich.console import Console

import gdcert
from gdcert.cli import cli
from gdcert.report.ladder import ladder

ROOT = Path(__file__).resolve().parent.parent


def test_impossible_is_qualified_when_the_init_already_is_a_global_minimum() -> None:
    # Φ = I, L = 3: Corollary 1 gives 2/3 < 1, but W_j(0) = I already fits Φ exactly.
    report = gdcert.certify(np.eye(3), depth=3, inits=["identity"], lr=1.0)
    v = report.verdict
    assert v is not None and v.status == "impossible"
    assert "unless it starts at one" in v.summary and "identity" in v.summary
    other = gdcert.certify(np.diag([2.0, 1.0]), depth=3, inits=["identity"], lr=1.0)
    assert other.verdict is not None and "unless" not in other.verdict.summary


def test_theorem3_alone_is_never_a_plain_certified() -> None:
    phi = np.diag([2.0, -1.0])
    report = gdcert.certify(phi, depth=2, inits=["identity"])
    thm3 = report.bound("nar_sastry.thm3", init="identity")
    lr = thm3.max_step * 0.99
    v = gdcert.certify(phi, depth=2, inits=["identity"], lr=lr).verdict
    assert v is not None
    assert v.status == "non_global", v.summary
    assert "exact arithmetic" in v.summary and "may leave that saddle" in v.summary
    assert "cannot fit" not in v.summary


@pytest.mark.parametrize("trained", [True, False])
def test_relu_theorem4_checks_criticality_from_the_data(tmp_path: Path, trained: bool) -> None:
    rng = np.random.default_rng(3)
    w, v, b = rng.standard_normal((1, 4)), rng.standard_normal((4, 1)), rng.standard_normal(4)
    x = np.linspace(0.1, 1.0, 12)[None, :]
    y = w @ np.maximum(v @ x - b[:, None], 0.0)  # the model fits its targets: ∇ℓ = 0
    if not trained:
        y = y + 0.5  # an untrained model: a residual, a gradient
    path = tmp_path / "m.npz"
    np.savez(path, W=w, V=v, b=b, X=x, Y=y)
    r = CliRunner().invoke(cli, ["relu", str(path), "--lr", "1e-3", "--json"],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    bound = json.loads(r.stdout)["bounds"][0]
    crit = bound["assumptions"][1]
    assert crit["holds"] is trained and bound["applies"] is trained
    assert bound["extras"]["grad_norm"] >= 0
    if not trained:
        assert "not a critical point" in bound["reason"]


def test_relu_without_targets_reports_the_assumption_unchecked(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    np.savez(path, W=np.ones((1, 2)), V=np.ones((2, 1)), b=np.zeros(2), X=np.ones((1, 3)))
    r = CliRunner().invoke(cli, ["relu", str(path), "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    crit = json.loads(r.stdout)["bounds"][0]["assumptions"][1]
    assert crit["holds"] is None and "not checked" in crit["text"]


def test_ladder_legend_reads_without_colour() -> None:
    report = gdcert.certify(np.diag([4.0, 1.0]), depth=3, lr=0.01)
    console = Console(no_color=True, width=100, record=True)
    console.print(ladder(report.bounds, 0.01, total_width=96))
    text = console.export_text()
    legend = text.strip().splitlines()[-1]
    glyphs = [legend.split(kind)[0].split()[-1] for kind in
              ("necessary", "sufficient", "exact-local")]
    assert len(set(glyphs)) == 3, legend


def test_report_leads_with_the_verdict_and_labels_the_applies_column() -> None:
    r = CliRunner().invoke(cli, ["bound", str(ROOT / "sample_inputs" / "spd_4x4.npy"),
                                 "-L", "3", "--lr", "0.2"], catch_exceptions=False)
    assert r.exit_code == 0
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    assert lines[0].startswith("Verdict: IMPOSSIBLE")
    header = next(ln for ln in lines if "bound / init" in ln)
    assert "applies" in header and "your η" in header


def test_raw_data_has_a_necessary_bound_and_check_fails_a_huge_step() -> None:
    """Issue 9: `check --data raw_data.npz -L 3 --lr 1000` used to pass."""
    r = CliRunner().invoke(cli, ["check", "--data", str(ROOT / "sample_inputs" /
                                                       "raw_data.npz"),
                                 "--depth", "3", "--lr", "1000", "--format", "json"],
                           catch_exceptions=False)
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    res = doc["results"][0] if "results" in doc else doc["checks"][0]
    assert "gdcert.cor1_data" in res["message"]


def test_reasons_are_findings_not_requirements() -> None:
    nonsym = gdcert.certify(np.array([[1.0, 2.0], [0.0, 1.0]]), depth=2, inits=["identity"])
    assert nonsym.bound("nar_sastry.thm2", init="identity").reason == "Φ is not symmetric"
    pd = gdcert.certify(np.diag([2.0, 0.52]), depth=2, inits=["identity"])
    reason = pd.bound("nar_sastry.thm3", init="identity").reason
    assert reason.startswith("λ_min = 0.52 ≥ 0") and "no negative eigenvalue" in reason


def test_theorem3_needs_depth_two() -> None:
    report = gdcert.certify(np.diag([2.0, -1.0]), depth=1, inits=["identity"])
    b = report.bound("nar_sastry.thm3", init="identity")
    assert not b.applies and "L = 1" in b.reason
    deep = gdcert.certify(np.diag([2.0, -1.0]), depth=2, inits=["identity"])
    good = deep.bound("nar_sastry.thm3", init="identity")
    assert good.applies and "exact arithmetic" in good.guarantee
    assert "cannot fit" not in good.guarantee


def test_data_whitened_up_to_scale_get_the_scaled_nar_sastry_bounds() -> None:
    """XXᵀ = cI (Nar & Sastry's (1/m)XXᵀ = I under the sum convention) is whitened up to
    scale: ½‖Y − WX‖² = c·½‖W − Φ‖² + const, so each closed form holds with η/c."""
    from gdcert.problem import Problem

    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    x = q[:3] * np.sqrt(5.0)  # XXᵀ = 5 I
    phi = np.diag([2.0, 1.0, 0.5])
    data = gdcert.certify(Problem.from_data(x, phi @ x, depth=3), aposteriori=False)
    target = gdcert.certify(phi, depth=3)
    assert data.problem["whitening_scale"] == pytest.approx(5.0)
    for bid in ("nar_sastry.cor1", "nar_sastry.thm2", "nar_sastry.lemma3"):
        b = data.bound(bid) if bid == "nar_sastry.cor1" else data.bound(bid, init="identity")
        t = target.bound(bid) if bid == "nar_sastry.cor1" else target.bound(bid,
                                                                            init="identity")
        assert b.applies and b.max_step == pytest.approx(t.max_step / 5.0, rel=1e-12)
    # and the exact threshold of the data problem (no closed form involved) agrees
    assert data.bound("stability.exact").max_step == pytest.approx(
        data.bound("nar_sastry.cor1").max_step, rel=1e-8)
