"""``gdcert bound`` end to end: every option, every bad input, the JSON schema.

Most tests go through ``click.testing.CliRunner`` (click ≥ 8.2 keeps stderr apart:
``result.stdout`` is the report alone, ``result.stderr`` the error line); a few run
``python -m gdcert`` in a subprocess to check real exit codes and stderr.

Reference problem: Φ = diag(4, 1) at depth L = 2, where by hand
Corollary 1 gives 2/(L ρ^{2(L−1)/L}) = 2/(2·4) = 0.25 and Theorem 2 (identity init)
gives min{1/L, 1/(L ρ^{2(L−1)/L})} = 0.125.  So η = 0.05 is certified, η = 0.2 is
neither certified nor ruled out, and η = 0.5 is impossible.
"""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from gdcert.cli import cli

PHI = np.diag([4.0, 1.0])
COR1 = 0.25  # 2 / (L ρ^{2(L−1)/L}) with ρ = 4, L = 2
THM2 = 0.125  # min{1/L, 1/(L ρ^{2(L−1)/L})}

BOUND_IDS = {
    "nar_sastry.cor1", "gdcert.cor1_data", "nar_sastry.cor2", "nar_sastry.thm1", "stability.exact",
    "nar_sastry.thm2", "nar_sastry.lemma3", "nar_sastry.thm3", "nar_sastry.thm3_sharp",
    "wu_wang_ma.thm4_3", "nguegnang.thm2_4", "nguegnang.thm2_4_default", "aposteriori.pl_ball",
}


# --------------------------------------------------------------------------- helpers


def invoke(*args: object, env: dict[str, str] | None = None) -> Result:
    runner = CliRunner(env=env)
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def run(*args: object) -> Result:
    """``gdcert bound ARGS`` in process."""
    return invoke("bound", *args)


def ok(*args: object) -> Result:
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert result.stderr == "", result.stderr
    return result


def ok_json(*args: object) -> dict[str, Any]:
    return strict_loads(ok(*args, "--json").stdout)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def strict_loads(text: str) -> dict[str, Any]:
    """``json.loads`` that refuses NaN / Infinity / -Infinity literals."""
    doc = json.loads(text, parse_constant=_refuse_constant)
    assert isinstance(doc, dict)
    return doc


def assert_usage_error(result: Result, *needles: str) -> str:
    """Exit 2, nothing on stdout, exactly one stderr line naming what was wrong."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("gdcert: error: "), line
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def find(doc: dict[str, Any], bound_id: str, *, init: str | None = None,
         point: str | None = None) -> dict[str, Any]:
    hits = [b for b in doc["bounds"] if b["id"] == bound_id
            and (init is None or b["init"] == init) and (point is None or b["point"] == point)]
    assert len(hits) == 1, (bound_id, init, point, [(b["id"], b["init"]) for b in doc["bounds"]])
    return hits[0]


def step(b: dict[str, Any]) -> float:
    """A bound's max_step as a float (``"inf"`` → inf); it must have been computed."""
    value = b["max_step"]
    assert value is not None, b
    return math.inf if value == "inf" else float(value)


# --------------------------------------------------------------------------- files


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory with every good and bad input file the tests use."""
    import scipy.io

    d = tmp_path_factory.mktemp("inputs")
    rng = np.random.default_rng(7)
    np.save(d / "phi.npy", PHI)
    np.savez(d / "one.npz", Phi=PHI)
    np.savez(d / "two.npz", A=2.0 * PHI, B=PHI)
    np.savetxt(d / "phi.csv", PHI, delimiter=",")
    (d / "phi.txt").write_text("# a comment\n4.0   0.0\n  0\t\t1.0  \n")
    scipy.io.mmwrite(str(d / "phi.mtx"), PHI)
    scipy.io.savemat(str(d / "phi.mat"), {"Phi": PHI, "other": np.eye(3)})
    np.save(d / "zero.npy", np.zeros((3, 3)))
    np.save(d / "rect.npy", rng.standard_normal((3, 5)))
    # bad targets
    (d / "pickle.npy").write_bytes(pickle.dumps(PHI))
    np.save(d / "object.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
    np.savez(d / "object.npz", A=np.array([1, "a", None], dtype=object))
    np.save(d / "nan.npy", np.array([[1.0, np.nan], [0.0, 1.0]]))
    np.save(d / "inf.npy", np.array([[1.0, 0.0], [-np.inf, 1.0]]))
    np.save(d / "empty.npy", np.zeros((0, 3)))
    np.save(d / "vector.npy", np.ones(3))
    np.save(d / "cube.npy", np.ones((2, 2, 2)))
    np.save(d / "complex.npy", np.eye(2) * (1 + 1j))
    np.save(d / "strings.npy", np.array([["a", "b"], ["c", "d"]]))
    (d / "phi.xyz").write_text("1 0\n0 1\n")
    # data: X (3 × m), Y (2 × m), columns are samples
    x = rng.standard_normal((3, 20))
    y = rng.standard_normal((2, 20))
    np.savez(d / "xy.npz", X=x, Y=y)
    np.savez(d / "xy_rows.npz", X=x.T, Y=y.T)
    np.savez(d / "xy_bad_m.npz", X=x, Y=y[:, :12])
    np.savez(d / "xy_zero_row.npz", X=np.vstack([x[:2], np.zeros((1, 20))]), Y=y)
    np.savez(d / "xy_dup_row.npz", X=np.vstack([x[:2], x[:1]]), Y=y)
    np.savez(d / "xy_tall.npz", X=rng.standard_normal((5, 3)), Y=rng.standard_normal((2, 3)))
    # weights for Φ = diag(4, 1) at depth 2
    np.savez(d / "w_good.npz", W1=np.diag([2.0, 1.0]), W2=np.diag([2.0, 1.0]))
    np.savez(d / "w_nochain.npz", W1=np.eye(2), W2=np.ones((2, 3)))
    np.savez(d / "w_3x3.npz", W1=np.eye(3), W2=np.eye(3))
    np.savez(d / "w_depth3.npz", W1=np.eye(2), W2=np.eye(2), W3=np.eye(2))
    np.savez(d / "init_half.npz", W1=0.5 * np.eye(2), W2=0.5 * np.eye(2))
    return d


# --------------------------------------------------------------------------- TARGET formats


@pytest.mark.parametrize("spec, rho", [
    ("phi.npy", 4.0),
    ("one.npz", 4.0),
    ("two.npz:A", 8.0),
    ("two.npz:B", 4.0),
    ("phi.csv", 4.0),
    ("phi.txt", 4.0),
    ("phi.mtx", 4.0),
    ("phi.mat:Phi", 4.0),
])
def test_target_formats(files: Path, spec: str, rho: float) -> None:
    doc = ok_json(files / spec, "--depth", 2)
    assert doc["problem"]["form"] == "target"
    assert doc["problem"]["shape"] == [2, 2]
    assert doc["problem"]["rho"] == pytest.approx(rho)
    # Corollary 1: 2 / (L ρ^{2(L−1)/L}) = 1/ρ at L = 2
    assert step(find(doc, "nar_sastry.cor1")) == pytest.approx(1.0 / rho)


def test_reference_values_by_hand(files: Path) -> None:
    doc = ok_json(files / "phi.npy", "-L", 2)
    assert step(find(doc, "nar_sastry.cor1")) == pytest.approx(COR1)
    assert find(doc, "nar_sastry.cor1")["log10_max_step"] == pytest.approx(math.log10(COR1))
    assert step(find(doc, "nar_sastry.thm2", init="identity")) == pytest.approx(THM2)
    # at the balanced minimum the exact threshold equals Corollary 1
    assert step(find(doc, "stability.exact", point="balanced minimum")) == pytest.approx(COR1)
    # without --lr: no verdict, no Corollary 2
    assert doc["verdict"] is None
    assert not [b for b in doc["bounds"] if b["id"] == "nar_sastry.cor2"]


def test_terminal_report_default(files: Path) -> None:
    out = ok(files / "phi.npy", "--depth", 2).stdout
    for text in ("Problem", "Step-size bounds", "nar_sastry.cor1", "nguegnang.thm2_4", "0.25"):
        assert text in out
    assert "Verdict" not in out  # no --lr, no verdict


# --------------------------------------------------------------------------- --data, --loss


def test_data_sum_vs_mean_differ_by_m(files: Path) -> None:
    s = ok_json("--data", files / "xy.npz", "-L", 2, "--loss", "sum")
    m = ok_json("--data", files / "xy.npz", "-L", 2, "--loss", "mean")
    assert s["problem"]["form"] == m["problem"]["form"] == "data"
    assert s["problem"]["n_samples"] == 20
    assert (s["problem"]["loss"], m["problem"]["loss"]) == ("sum", "mean")
    compared = 0
    for bs, bm in zip(s["bounds"], m["bounds"], strict=True):
        assert (bs["id"], bs["init"], bs["point"]) == (bm["id"], bm["init"], bm["point"])
        if bs["applies"]:
            assert step(bm) == pytest.approx(20 * step(bs), rel=1e-6), bs["id"]
            compared += 1
    assert compared >= 3  # stability.exact and both Nguegnang bounds at least
    assert any("mean convention" in n and "m = 20" in n for n in m["notes"])


def test_data_samples_as_rows_is_the_transpose(files: Path) -> None:
    cols = ok_json("--data", files / "xy.npz", "-L", 2)
    rows = ok_json("--data", files / "xy_rows.npz", "--samples-as-rows", "-L", 2)
    assert rows["problem"]["n_samples"] == 20
    cols["problem"].pop("source")
    rows["problem"].pop("source")
    assert rows["problem"] == cols["problem"]
    assert rows["bounds"] == cols["bounds"]


def test_data_without_samples_as_rows_is_refused(files: Path) -> None:
    # X is 20×3, Y is 20×2: 3 vs 2 "samples" when columns are read as samples
    assert_usage_error(run("--data", files / "xy_rows.npz", "-L", 2), "xy_rows.npz",
                       "--samples-as-rows")


def test_data_not_whitened_nar_sastry_not_applicable(files: Path) -> None:
    doc = ok_json("--data", files / "xy.npz", "-L", 2)
    cor1 = find(doc, "nar_sastry.cor1")
    assert cor1["applies"] is False
    assert "not whitened" in cor1["reason"]
    assert cor1["max_step"] is None and cor1["log10_max_step"] is None


# --------------------------------------------------------------------------- --widths


def test_widths_rectangular(files: Path) -> None:
    doc = ok_json(files / "rect.npy", "-L", 2, "--widths", "5,4,3")
    assert doc["problem"]["widths"] == [5, 4, 3]
    assert doc["problem"]["shape"] == [3, 5]
    assert [i["name"] for i in doc["problem"]["inits"]] == ["balanced"]
    assert find(doc, "nar_sastry.thm2")["applies"] is False
    assert find(doc, "wu_wang_ma.thm4_3")["applies"] is False
    assert find(doc, "nguegnang.thm2_4", init="balanced")["applies"] is True


def test_widths_bottleneck_changes_rank_cap(files: Path) -> None:
    doc = ok_json(files / "phi.npy", "-L", 2, "--widths", "2,1,2")
    assert doc["problem"]["widths"] == [2, 1, 2]
    assert doc["problem"]["rank_cap"] == 1
    # best rank-1 approximation of diag(4, 1) leaves ½·1² = 0.5
    assert doc["problem"]["optimal_loss"] == pytest.approx(0.5)
    assert any("rank cap" in n for n in doc["notes"])


# --------------------------------------------------------------------------- --init & friends


def test_init_repeatable_names(files: Path) -> None:
    doc = ok_json(files / "phi.npy", "-L", 2, "--init", "identity", "--init", "zas")
    assert [i["name"] for i in doc["problem"]["inits"]] == ["identity", "zas"]
    assert {b["init"] for b in doc["bounds"] if b["id"].startswith("nguegnang")} == {
        "identity", "zas"}
    assert find(doc, "wu_wang_ma.thm4_3")["applies"] is True


def test_init_subset_marks_others_not_requested(files: Path) -> None:
    doc = ok_json(files / "phi.npy", "-L", 2, "--init", "balanced")
    assert [i["name"] for i in doc["problem"]["inits"]] == ["balanced"]
    thm2 = find(doc, "nar_sastry.thm2")
    assert thm2["applies"] is False and "--init identity" in thm2["reason"]
    zas = find(doc, "wu_wang_ma.thm4_3")
    assert zas["applies"] is False and "--init zas" in zas["reason"]


def test_init_from_weights_file(files: Path) -> None:
    doc = ok_json(files / "phi.npy", "-L", 2, "--init", files / "init_half.npz")
    assert [i["name"] for i in doc["problem"]["inits"]] == ["init_half.npz"]
    b = find(doc, "nguegnang.thm2_4", init="init_half.npz")
    assert b["applies"] is True
    # W_1 = W_2 = I/2: balanced (b₀ = 0); loss₀ = ½‖I/4 − Φ‖_F² = ½(3.75² + 0.75²)
    assert b["extras"]["b0"] == pytest.approx(0.0)
    assert b["extras"]["loss0"] == pytest.approx(0.5 * (3.75**2 + 0.75**2))


def test_seed_same_seed_identical_output(files: Path) -> None:
    a = ok(files / "phi.npy", "-L", 3, "--init", "balanced", "--seed", 5, "--json").stdout
    b = ok(files / "phi.npy", "-L", 3, "--init", "balanced", "--seed", 5, "--json").stdout
    assert a == b
    t1 = ok(files / "phi.npy", "-L", 3, "--seed", 5).stdout
    t2 = ok(files / "phi.npy", "-L", 3, "--seed", 5).stdout
    assert t1 == t2


def test_seed_different_seeds_different_balanced_bounds(files: Path) -> None:
    values = set()
    for seed in (0, 1, 2):
        doc = ok_json(files / "phi.npy", "-L", 3, "--init", "balanced", "--seed", seed)
        assert f"seed {seed}" in doc["problem"]["inits"][0]["description"]
        values.add(step(find(doc, "nguegnang.thm2_4", init="balanced")))
    assert len(values) == 3


def test_init_rank_and_scale(files: Path) -> None:
    base = ok_json(files / "phi.npy", "-L", 3, "--init", "balanced")
    rank1 = ok_json(files / "phi.npy", "-L", 3, "--init", "balanced", "--init-rank", 1)
    scaled = ok_json(files / "phi.npy", "-L", 3, "--init", "balanced", "--init-scale", 0.25)
    assert "rank 2" in base["problem"]["inits"][0]["description"]
    assert "rank 1" in rank1["problem"]["inits"][0]["description"]
    assert "scale 0.25" in scaled["problem"]["inits"][0]["description"]
    b0 = find(base, "nguegnang.thm2_4", init="balanced")
    b1 = find(rank1, "nguegnang.thm2_4", init="balanced")
    b2 = find(scaled, "nguegnang.thm2_4", init="balanced")
    assert b1["extras"]["loss0"] != pytest.approx(b0["extras"]["loss0"])
    assert b2["extras"]["loss0"] != pytest.approx(b0["extras"]["loss0"])
    assert len({step(b0), step(b1), step(b2)}) == 3


# --------------------------------------------------------------------------- --weights


def test_weights_thm1_and_exact_at_weights(files: Path) -> None:
    doc = ok_json(files / "phi.npy", "-L", 2, "--weights", files / "w_good.npz")
    thm1 = find(doc, "nar_sastry.thm1")
    assert thm1["applies"] is True and thm1["point"] == "weights"
    # W1 = W2 = diag(2, 1) is the balanced minimum: Theorem 1 = Corollary 1 = 0.25
    assert step(thm1) == pytest.approx(COR1)
    assert thm1["extras"]["rho_solution"] == pytest.approx(4.0)
    ex = find(doc, "stability.exact", point="weights")
    assert ex["applies"] is True
    assert step(ex) == pytest.approx(COR1)
    assert ex["extras"]["lambda_max"] == pytest.approx(8.0)  # L ρ^{2(L−1)/L}
    out = ok(files / "phi.npy", "-L", 2, "--weights", files / "w_good.npz").stdout
    assert "nar_sastry.thm1" in out and "@ weights" in out


def test_weights_not_critical_reported(files: Path) -> None:
    doc = ok_json(files / "phi.npy", "-L", 2, "--weights", files / "init_half.npz")
    thm1 = find(doc, "nar_sastry.thm1")
    assert thm1["applies"] is False and "critical" in thm1["reason"]
    crit = [a for a in thm1["assumptions"] if "critical" in a["text"]]
    assert crit and crit[0]["holds"] is False and crit[0]["value"] > 0


# --------------------------------------------------------------------------- --lr verdicts


@pytest.mark.parametrize("lr, status, word", [
    (0.05, "certified", "CERTIFIED"),
    (0.5, "impossible", "IMPOSSIBLE"),
    (0.2, "uncertified", "UNCERTIFIED"),
])
def test_lr_verdict_json_and_terminal(files: Path, lr: float, status: str, word: str) -> None:
    """The closed-form verdicts (the computer-assisted certificate is skipped here; see
    test_computer_assisted_certificate_between_the_closed_forms)."""
    doc = ok_json(files / "phi.npy", "-L", 2, "--lr", lr, "--no-aposteriori")
    v = doc["verdict"]
    assert v["status"] == status
    assert v["step_size"] == pytest.approx(lr)
    if status == "certified":
        assert "nar_sastry.thm2[identity]" in v["certified_by"] and v["violates"] == []
    elif status == "impossible":
        assert v["violates"] == ["nar_sastry.cor1"] and v["certified_by"] == []
        assert "cannot converge" in v["summary"]
    else:
        assert v["certified_by"] == [] and v["violates"] == []
        assert "neither certified nor ruled out" in v["summary"]
    cor2 = find(doc, "nar_sastry.cor2")
    assert cor2["extras"]["eta"] == pytest.approx(lr)
    assert cor2["extras"]["target_reachable"] is (lr <= COR1)
    out = ok(files / "phi.npy", "-L", 2, "--lr", lr, "--no-aposteriori").stdout
    assert f"Verdict for η = {lr:.4g}" in out
    verdict_words = {w for w in ("UNCERTIFIED", "IMPOSSIBLE") if w in out}
    if "CERTIFIED" in out.replace("UNCERTIFIED", ""):
        verdict_words.add("CERTIFIED")
    assert verdict_words == {word}


def test_lr_verdict_markdown(files: Path) -> None:
    md = ok(files / "phi.npy", "-L", 2, "--lr", 0.5, "--markdown").stdout
    assert "## Verdict for η = 0.5: **impossible**" in md


# --------------------------------------------------------------------------- --tol


def test_tol_changes_iteration_estimates(files: Path) -> None:
    loose = ok_json(files / "phi.npy", "-L", 2, "--tol", 1e-2)
    tight = ok_json(files / "phi.npy", "-L", 2, "--tol", 1e-8)
    l3_loose = find(loose, "nar_sastry.lemma3")["extras"]
    l3_tight = find(tight, "nar_sastry.lemma3")["extras"]
    assert l3_loose["tol"] == pytest.approx(1e-2) and l3_tight["tol"] == pytest.approx(1e-8)
    # iterations ⌈ln tol / ln β⌉ scale with ln tol: 4× as many for tol 1e-8 vs 1e-2
    assert l3_tight["iterations_to_tol"] > 3 * l3_loose["iterations_to_tol"]
    w_loose = find(loose, "wu_wang_ma.thm4_3")["extras"]
    w_tight = find(tight, "wu_wang_ma.thm4_3")["extras"]
    assert w_tight["iterations_to_loss"] > w_loose["iterations_to_loss"]
    # the bounds themselves do not depend on tol
    assert step(find(loose, "nar_sastry.lemma3")) == step(find(tight, "nar_sastry.lemma3"))


@pytest.mark.parametrize("tol", ["0", "1", "-0.1", "nan"])
def test_tol_out_of_range(files: Path, tol: str) -> None:
    assert_usage_error(run(files / "phi.npy", "-L", 2, "--tol", tol), "--tol")


# --------------------------------------------------------------------------- output formats


def test_json_is_strict_and_inf_is_a_string(files: Path) -> None:
    # the zero target has infinite bounds: they must not become the Infinity literal
    text = ok(files / "zero.npy", "-L", 2, "--json", "--lr", 0.1).stdout
    assert "Infinity" not in text and "NaN" not in text
    doc = strict_loads(text)
    assert find(doc, "nar_sastry.cor1")["max_step"] == "inf"
    with pytest.raises(ValueError):
        strict_loads('{"x": NaN}')


def test_markdown(files: Path) -> None:
    md = ok(files / "phi.npy", "-L", 2, "--markdown").stdout
    assert md.startswith("# gdcert bound report\n")
    assert "## Problem" in md and "## Bounds" in md
    assert "| `nar_sastry.cor1` | necessary | 0.25 | ✓ |" in md
    assert "`nar_sastry.thm2 [identity]`" in md
    assert "\x1b[" not in md


@pytest.mark.parametrize("fmt", [None, "--json", "--markdown"])
def test_output_file(files: Path, tmp_path: Path, fmt: str | None) -> None:
    target = tmp_path / "report.out"
    args = [files / "phi.npy", "-L", 2, "--lr", 0.05, "--output", target]
    if fmt:
        args.append(fmt)
    result = ok(*args)
    assert result.stdout == ""
    text = target.read_text(encoding="utf-8")
    assert "\x1b[" not in text
    if fmt == "--json":
        assert strict_loads(text)["verdict"]["status"] == "certified"
    elif fmt == "--markdown":
        assert text.startswith("# gdcert bound report")
    else:
        assert "CERTIFIED" in text and "nar_sastry.cor1" in text
    # -o is the short form
    short = tmp_path / "short.out"
    args[args.index("--output")] = "-o"
    args[args.index(target)] = short
    ok(*args)
    if fmt == "--json":  # the same report, up to measured times (the arb prefix's seconds)
        assert _untimed(strict_loads(short.read_text(encoding="utf-8"))) == _untimed(
            strict_loads(text))
    else:
        assert short.read_text(encoding="utf-8") == text or fmt is None


def _untimed(doc: object) -> object:
    """``doc`` without keys ending in ``seconds`` (wall times differ between two runs)."""
    if isinstance(doc, dict):
        return {k: _untimed(v) for k, v in doc.items() if not k.endswith("seconds")}
    if isinstance(doc, list):
        return [_untimed(v) for v in doc]
    return doc


def test_output_to_missing_directory(files: Path, tmp_path: Path) -> None:
    bad = tmp_path / "no" / "such" / "dir" / "r.json"
    assert_usage_error(run(files / "phi.npy", "-L", 2, "--json", "-o", bad), str(bad))
    assert not bad.exists()


def test_json_and_markdown_together(files: Path) -> None:
    assert_usage_error(run(files / "phi.npy", "-L", 2, "--json", "--markdown"),
                       "--json", "--markdown")


# --------------------------------------------------------------------------- non-error edge cases


def test_zero_target(files: Path) -> None:
    doc = ok_json(files / "zero.npy", "-L", 3)
    for b in (find(doc, "nar_sastry.cor1"), find(doc, "stability.exact")):
        assert b["applies"] is True
        assert b["max_step"] == "inf" and b["log10_max_step"] == "inf"
    assert any("zero" in n and "infinite" in n for n in doc["notes"])
    out = ok(files / "zero.npy", "-L", 3).stdout
    assert "∞" in out and "target is zero" in out


@pytest.mark.parametrize("name", ["xy_zero_row.npz", "xy_dup_row.npz", "xy_tall.npz"])
def test_singular_xxt_is_not_an_error(files: Path, name: str) -> None:
    """XXᵀ singular (a zero row, a repeated row, more features than samples): exit 0,
    Nguegnang et al. reported as not applicable, with the reason."""
    doc = ok_json("--data", files / name, "-L", 2)
    assert doc["problem"]["xxt_full_rank"] is False
    nguegnang = [b for b in doc["bounds"] if b["id"].startswith("nguegnang")]
    assert nguegnang
    for b in nguegnang:
        assert b["applies"] is False
        assert "singular" in b["reason"] and "full rank" in b["reason"]
        assert b["max_step"] is None
        full_rank = [a for a in b["assumptions"] if "full rank" in a["text"]]
        assert full_rank and full_rank[0]["holds"] is False
    assert any("singular" in n for n in doc["notes"])
    out = ok("--data", files / name, "-L", 2).stdout
    assert "XXᵀ is singular" in out


# --------------------------------------------------------------------------- bad input → exit 2


BAD_INPUTS = [
    # (arguments with {d} for the files directory, words the error line must contain)
    ("{d}/missing.npy -L 2", ["missing.npy", "not found"]),
    ("{d}/missing.npz:A -L 2", ["missing.npz", "not found"]),
    ("{d}/phi.xyz -L 2", ["phi.xyz", ".xyz"]),
    ("{d}/pickle.npy -L 2", ["pickle.npy", "pickle"]),
    ("{d}/object.npy -L 2", ["object.npy", "object"]),
    ("{d}/object.npz -L 2", ["object.npz", "'A'", "object"]),
    ("{d}/nan.npy -L 2", ["nan.npy", "NaN"]),
    ("{d}/inf.npy -L 2", ["inf.npy", "Inf"]),
    ("{d}/empty.npy -L 2", ["empty.npy", "empty"]),
    ("{d}/vector.npy -L 2", ["vector.npy", "1-D"]),
    ("{d}/cube.npy -L 2", ["cube.npy", "(2, 2, 2)"]),
    ("{d}/complex.npy -L 2", ["complex.npy", "complex"]),
    ("{d}/strings.npy -L 2", ["strings.npy", "string"]),
    ("{d}/two.npz -L 2", ["two.npz", "A, B", ":NAME"]),
    ("{d}/two.npz:C -L 2", ["two.npz", "'C'"]),
    ("{d}/phi.mat -L 2", ["phi.mat", "Phi, other"]),
    ("{d}/phi.mat:nope -L 2", ["phi.mat", "'nope'"]),
    ("{d}/phi.npy:A -L 2", ["phi.npy", ":A"]),
    ("{d}/phi.npy -L 0", ["--depth", "0"]),
    ("{d}/phi.npy -L -1", ["--depth", "-1"]),
    ("{d}/phi.npy -L 2.5", ["--depth", "2.5"]),
    ("{d}/phi.npy --depth abc", ["--depth", "abc"]),
    ("{d}/phi.npy", ["--depth"]),
    ("{d}/phi.npy -L 2 --lr 0", ["--lr", "0"]),
    ("{d}/phi.npy -L 2 --lr -1", ["--lr", "-1"]),
    ("{d}/phi.npy -L 2 --lr nan", ["--lr", "nan"]),
    ("{d}/phi.npy -L 2 --lr inf", ["--lr", "inf"]),
    ("{d}/phi.npy -L 2 --lr abc", ["--lr", "abc"]),
    ("--data {d}/xy_bad_m.npz -L 2", ["xy_bad_m.npz", "20", "12", "samples"]),
    ("--data {d}/missing.npz -L 2", ["missing.npz", "not found"]),
    ("--data {d}/one.npz -L 2", ["one.npz", "'X'", "'Y'"]),
    ("--data {d}/phi.npy -L 2", ["phi.npy", ".npz"]),
    ("--data {d}/xy.npz -L 2 --loss median", ["--loss", "median"]),
    ("{d}/phi.npy --data {d}/xy.npz -L 2", ["TARGET", "--data"]),
    ("-L 2", ["TARGET", "--data"]),
    ("{d}/phi.npy -L 2 --weights {d}/w_nochain.npz", ["w_nochain.npz", "W2", "chain"]),
    ("{d}/phi.npy -L 2 --weights {d}/w_3x3.npz", ["--weights", "3×3", "2×2"]),
    ("{d}/phi.npy -L 2 --weights {d}/w_depth3.npz", ["--weights", "3 layers", "--depth"]),
    ("{d}/phi.npy -L 2 --weights {d}/missing.npz", ["--weights", "missing.npz"]),
    ("{d}/phi.npy -L 2 --weights {d}/phi.npy", ["--weights", "phi.npy", ".npz"]),
    ("{d}/phi.npy -L 2 --init nonsense", ["--init", "nonsense"]),
    ("{d}/phi.npy -L 2 --init {d}/missing.npz", ["--init", "missing.npz"]),
    ("{d}/phi.npy -L 2 --init {d}/w_depth3.npz", ["--init", "w_depth3.npz"]),
    ("{d}/phi.npy -L 2 --init-rank 0", ["--init-rank", "0"]),
    ("{d}/phi.npy -L 2 --init-rank 3", ["--init-rank", "3"]),
    ("{d}/phi.npy -L 2 --seed abc", ["--seed", "abc"]),
    ("{d}/phi.npy -L 2 --widths 2,2", ["--widths", "3"]),
    ("{d}/phi.npy -L 2 --widths 2,2,2,2", ["--widths", "3", "4"]),
    ("{d}/phi.npy -L 2 --widths 2,x,2", ["--widths", "2,x,2"]),
    ("{d}/phi.npy -L 2 --widths 2,2.5,2", ["--widths", "2,2.5,2"]),
    ("{d}/phi.npy -L 2 --widths 2,0,2", ["--widths", "2,0,2"]),
    ("{d}/phi.npy -L 2 --widths 3,2,2", ["--widths", "(2, 2)", "(3, 2)"]),
    ("{d}/phi.npy -L 2 --widths 2,2,5", ["--widths", "(2, 5)"]),
    ("{d}/phi.npy -L 2 --frobnicate", ["--frobnicate"]),
]


@pytest.mark.parametrize("argline, needles", BAD_INPUTS,
                         ids=[a.replace("{d}/", "") for a, _ in BAD_INPUTS])
def test_bad_input(files: Path, argline: str, needles: list[str]) -> None:
    args = ["bound", *argline.format(d=files).split()]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert_usage_error(result, *needles)


def test_bad_seed_negative(files: Path) -> None:
    assert_usage_error(run(files / "phi.npy", "-L", 2, "--seed", -1), "--seed", "-1")


@pytest.mark.parametrize("scale", ["-1", "0", "nan"])
def test_bad_init_scale_names_option(files: Path, scale: str) -> None:
    assert_usage_error(run(files / "phi.npy", "-L", 2, "--init-scale", scale),
                       "--init-scale", scale)


def test_huge_init_scale(files: Path) -> None:
    assert_usage_error(run(files / "phi.npy", "-L", 2, "--init-scale", "1e308"),
                       "--init-scale")


def test_huge_depth(files: Path) -> None:
    assert_usage_error(run(files / "phi.npy", "-L", 10**20), "--depth")


# --------------------------------------------------------------------------- root group


def test_version() -> None:
    from gdcert import __version__

    result = invoke("--version")
    assert result.exit_code == 0
    assert __version__ in result.stdout and "gdcert" in result.stdout


def test_root_help() -> None:
    for flag in ("--help", "-h"):
        result = invoke(flag)
        assert result.exit_code == 0, result.output
        assert "bound" in result.stdout and "Exit codes" in result.stdout


def test_bound_help_lists_every_option() -> None:
    from gdcert.cli.bound import bound

    result = invoke("bound", "--help")
    assert result.exit_code == 0, result.output
    expected = {"TARGET", "--depth", "-L", "--data", "--samples-as-rows", "--loss", "--widths",
                "--init", "--seed", "--init-rank", "--init-scale", "--weights", "--lr", "--tol",
                "--json", "--markdown", "--output", "-o"}
    # and whatever options were added since: each one must be documented in --help
    for param in bound.params:
        expected.update(o for o in param.opts if o.startswith("-"))
    for opt in sorted(expected):
        assert opt in result.stdout, opt


@pytest.mark.slow
def test_verify_adds_runs(files: Path) -> None:
    """``--verify`` simulates GD (numba) at --lr and at the sufficient bounds."""
    doc = ok_json(files / "phi.npy", "-L", 2, "--init", "identity", "--lr", 0.05,
                  "--verify", "--iterations", 2000)
    runs = doc.pop("runs")
    check_document(doc)
    assert runs and all(r["init"] == "identity" for r in runs)
    assert any(r["step_size"] == pytest.approx(0.05) for r in runs)
    for r in runs:
        assert isinstance(r["outcome"], str) and r["iterations"] <= 2000


def test_unknown_command() -> None:
    assert_usage_error(invoke("frobnicate"), "frobnicate")


def test_no_command_shows_usage() -> None:
    result = invoke()
    assert result.exit_code in (0, 2)
    assert "Usage" in result.output
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- real processes


def _python_m(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gdcert", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**_clean_env(), "NO_COLOR": "1"})


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "GDCERT_DEBUG"}


def test_subprocess_success_json(files: Path) -> None:
    proc = _python_m("bound", files / "phi.npy", "-L", 2, "--lr", 0.05, "--json")
    assert proc.returncode == 0, proc.stderr
    # nothing but, on a cold kernel cache, the one-time compile notice
    from gdcert.cli.cache import COMPILE_MESSAGE

    assert proc.stderr.replace(f"gdcert: {COMPILE_MESSAGE}\n", "") == "", proc.stderr
    assert strict_loads(proc.stdout)["verdict"]["status"] == "certified"


@pytest.mark.parametrize("args, needle", [
    (["bound", "{d}/missing.npy", "-L", "2"], "missing.npy"),
    (["bound", "{d}/pickle.npy", "-L", "2"], "pickle"),
    (["bound", "{d}/phi.npy", "-L", "2", "--lr", "nan"], "--lr"),
    (["nope"], "nope"),
])
def test_subprocess_errors_exit_2_one_line(files: Path, args: list[str], needle: str) -> None:
    proc = _python_m(*[a.format(d=files) for a in args])
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("gdcert: error: ") and needle in lines[0]


# --------------------------------------------------------------------------- JSON schema


NUMBER = (int, float)
INF_STRINGS = ("inf", "-inf")

PROBLEM_FIELDS: dict[str, tuple[type, ...]] = {
    "source": (str,), "form": (str,), "shape": (list,), "depth": (int,), "widths": (list,),
    "loss": (str,), "rho": NUMBER, "fro_norm": NUMBER, "square": (bool,),
    "symmetric": (bool,), "definiteness": (str,), "eig_min": (*NUMBER, type(None)),
    "eig_max": (*NUMBER, type(None)), "rank": (int,), "rank_cap": (int,),
    "optimal_loss": NUMBER, "inits": (list,),
}
DATA_FIELDS: dict[str, tuple[type, ...]] = {
    "n_samples": (int,), "whitening_residual": NUMBER, "whitened": (bool,),
    "whitening_scale": (*NUMBER, type(None)),
    "sigma_min_x": NUMBER, "xxt_full_rank": (bool,),
}
BOUND_FIELDS = ["id", "init", "point", "kind", "paper", "theorem", "applies", "reason",
                "assumptions", "max_step", "log10_max_step", "guarantee", "extras"]
# extras keys per bound id, when the bound was evaluated (docs/json-schema.md)
EXTRAS = {
    "nar_sastry.cor1": {"rho"},
    "gdcert.cor1_data": {"log10_b", "v_sigma_v", "s", "sigma1_m"},
    "nar_sastry.cor2": {"eta", "rho_cap", "log10_rho_cap", "target_reachable"},
    "nar_sastry.thm1": {"rho_solution", "log10_p", "log10_q"},
    "stability.exact": {"where", "lambda_max", "method"},
    "nar_sastry.thm2": {"rate"},
    "nar_sastry.lemma3": {"beta_max", "rate_step_size", "tol", "iterations_to_tol",
                          "sublinear"},
    "nar_sastry.thm3": {"loss_floor"},
    "nar_sastry.thm3_sharp": {"loss_floor"},
    "wu_wang_ma.thm4_3": {"phi", "R0", "loss_target", "iterations_to_loss"},
    "nguegnang.thm2_4": {"delta_bal", "b0", "M", "optimised", "loss0"},
    "nguegnang.thm2_4_default": {"delta_bal", "b0", "M", "optimised", "loss0"},
    "aposteriori.pl_ball": {"certificate"},
}
INIT_BOUNDS = {"nar_sastry.thm2": "identity", "nar_sastry.lemma3": "identity",
               "nar_sastry.thm3": "identity", "nar_sastry.thm3_sharp": "identity",
               "wu_wang_ma.thm4_3": "zas"}


def is_num(x: object) -> bool:
    """A JSON number (not a bool)."""
    return isinstance(x, NUMBER) and not isinstance(x, bool)


def is_step(x: object) -> bool:
    """The step-size encoding: a finite number ≥ 0, the string "inf", or null."""
    return x is None or x == "inf" or (is_num(x) and math.isfinite(x) and x >= 0)  # type: ignore[arg-type]


def is_log10(x: object) -> bool:
    return x is None or x in INF_STRINGS or (is_num(x) and math.isfinite(x))  # type: ignore[arg-type]


def is_scalar(x: object) -> bool:
    """Measured values: a number, "inf"/"-inf", a bool, a string or null."""
    return x is None or isinstance(x, (bool, str)) or is_num(x)


def check_document(doc: dict[str, Any]) -> None:
    """Hand-written validation of docs/json-schema.md."""
    assert set(doc) == {"schema_version", "problem", "bounds", "verdict", "notes"}
    assert doc["schema_version"] == 1
    p = doc["problem"]
    fields = dict(PROBLEM_FIELDS)
    assert p["form"] in ("target", "data")
    if p["form"] == "data":
        fields.update(DATA_FIELDS)
    assert set(p) == set(fields), set(p) ^ set(fields)
    for key, types in fields.items():
        assert isinstance(p[key], types), (key, p[key])
        assert not (isinstance(p[key], bool) and bool not in types), key
    assert p["loss"] in ("sum", "mean")
    assert len(p["shape"]) == 2 and all(isinstance(n, int) for n in p["shape"])
    assert len(p["widths"]) == p["depth"] + 1
    assert p["widths"][0] == p["shape"][1] and p["widths"][-1] == p["shape"][0]
    assert p["rank_cap"] == min(p["widths"])
    assert p["definiteness"] in ("positive definite", "positive semidefinite",
                                 "negative semidefinite", "indefinite", "n/a (not symmetric)")
    for init in p["inits"]:
        assert set(init) == {"name", "description", "b0", "seed", "path"}
        assert isinstance(init["name"], str) and isinstance(init["description"], str)
        if init["name"] in ("identity", "zas", "balanced"):
            assert init["path"] is None
        else:
            assert isinstance(init["path"], str) and init["path"].endswith(init["name"])
        assert is_num(init["b0"]) and init["b0"] >= 0

    init_names = {i["name"] for i in p["inits"]}
    assert isinstance(doc["bounds"], list) and doc["bounds"]
    for b in doc["bounds"]:
        assert list(b) == BOUND_FIELDS, list(b)
        assert b["id"] in BOUND_IDS
        assert b["kind"] in ("necessary", "sufficient", "exact-local")
        for key in ("paper", "theorem", "reason", "guarantee"):
            assert isinstance(b[key], str), key
        assert isinstance(b["applies"], bool)
        assert b["init"] is None or isinstance(b["init"], str)
        assert b["point"] is None or b["point"] in ("weights", "balanced minimum")
        if b["id"].startswith("nguegnang") or (b["id"] == "aposteriori.pl_ball"
                                               and b["point"] is None):
            assert b["init"] in init_names
        elif b["id"] in INIT_BOUNDS:
            assert b["init"] == INIT_BOUNDS[b["id"]]
        else:
            assert b["init"] is None
        if b["id"] in ("nar_sastry.thm1", "stability.exact"):
            assert b["point"] is not None
        elif b["id"] == "aposteriori.pl_ball":
            assert b["point"] in (None, "weights")
        else:
            assert b["point"] is None
        if not b["applies"]:
            assert b["reason"], b["id"]
        else:
            assert b["reason"] == "" and b["guarantee"]
            assert b["max_step"] is not None and b["log10_max_step"] is not None
        assert is_step(b["max_step"]), b["max_step"]
        assert is_log10(b["log10_max_step"]), b["log10_max_step"]
        # the two encodings agree
        assert (b["max_step"] is None) == (b["log10_max_step"] is None)
        if b["max_step"] == "inf":
            assert b["log10_max_step"] == "inf"
        elif is_num(b["max_step"]) and b["max_step"] > 0:
            assert b["log10_max_step"] == pytest.approx(math.log10(b["max_step"]), abs=1e-9)
        for a in b["assumptions"]:
            assert set(a) == {"text", "holds", "value"}
            assert isinstance(a["text"], str) and a["text"]
            assert isinstance(a["holds"], bool) or a["holds"] is None
            assert a["value"] is None or a["value"] in INF_STRINGS or is_num(a["value"])
        assert isinstance(b["extras"], dict)
        if b["applies"]:
            assert set(b["extras"]) == EXTRAS[b["id"]], (b["id"], set(b["extras"]))
        else:
            assert set(b["extras"]) <= EXTRAS[b["id"]], (b["id"], set(b["extras"]))
        for key, value in b["extras"].items():
            if key in ("log10_p", "log10_q"):
                assert isinstance(value, list) and all(is_log10(v) for v in value)
                assert len(value) == p["depth"] + 1
            elif key == "certificate":  # aposteriori.pl_ball (docs/certificate.md)
                assert isinstance(value, dict) and isinstance(value["certified"], bool)
                assert value["certified"] is b["applies"]
                assert "level" in value if value["certified"] else "reason" in value
            else:
                assert is_scalar(value), (key, value)
        if b["id"] == "stability.exact" and b["extras"]:
            assert b["extras"]["method"] in ("dense", "lanczos", "closed-form")
            assert b["extras"]["where"] == b["point"]

    v = doc["verdict"]
    if v is not None:
        assert set(v) == {"step_size", "status", "summary", "certified_by", "violates",
                          "details"}
        assert is_num(v["step_size"]) and v["step_size"] > 0
        assert v["status"] in ("certified", "impossible", "non_global", "uncertified")
        assert isinstance(v["summary"], str) and v["summary"]
        for key in ("certified_by", "violates", "details"):
            assert isinstance(v[key], list) and all(isinstance(s, str) for s in v[key])
        labels = {f"{b['id']}[{b['init']}]" for b in doc["bounds"]
                  if b["kind"] == "sufficient" and b["applies"]}
        assert set(v["certified_by"]) <= labels
        assert set(v["violates"]) <= {b["id"] for b in doc["bounds"] if b["kind"] == "necessary"}
        assert (v["status"] == "certified") == bool(v["certified_by"] and not v["violates"])
        assert (v["status"] == "impossible") == bool(v["violates"])
    assert isinstance(doc["notes"], list) and all(isinstance(n, str) for n in doc["notes"])


SCHEMA_CASES = [
    "{d}/phi.npy -L 2",
    "{d}/phi.npy -L 2 --lr 0.05",
    "{d}/phi.npy -L 2 --lr 0.5 --weights {d}/w_good.npz",
    "{d}/phi.npy -L 2 --lr 0.2 --weights {d}/init_half.npz --init {d}/init_half.npz",
    "{d}/zero.npy -L 3 --lr 1.0",
    "{d}/rect.npy -L 3 --widths 5,4,4,3 --lr 1e-3",
    "{d}/phi.npy -L 1 --lr 0.1",
    "{d}/phi.npy -L 2 --widths 2,1,2",
    "{r}/indefinite_4x4.npy -L 4 --lr 0.01",
    "{r}/zas_6x6.npy -L 20 --init zas --lr 1e-9",
    "{r}/spd_4x4.npy -L 3 --weights {r}/trained_weights_spd_L3.npz --lr 0.05",
    "--data {d}/xy.npz -L 2 --loss mean --lr 0.01",
    "--data {d}/xy_zero_row.npz -L 2 --lr 0.01",
    "--data {r}/whitened_data.npz -L 2 --widths 4,4,3 --lr 0.01",
]

SAMPLES = Path(__file__).resolve().parents[1] / "sample_inputs"


@pytest.mark.parametrize("argline", SCHEMA_CASES)
def test_json_schema(files: Path, argline: str) -> None:
    args = argline.format(d=files, r=SAMPLES).split()
    doc = ok_json(*args)
    check_document(doc)


def test_json_schema_large_depth(files: Path) -> None:
    """Depth 10⁴ stays finite in log space; the document is still valid strict JSON."""
    doc = ok_json(files / "phi.npy", "-L", 10_000, "--init", "identity", "--lr", 1e-6)
    check_document(doc)
    cor1 = find(doc, "nar_sastry.cor1")
    # log10(2/(L ρ^{2(L−1)/L})) = log10 2 − 4 − 2·(9999/10⁴)·log10 4
    expected = math.log10(2) - 4 - 2 * 0.9999 * math.log10(4)
    assert cor1["log10_max_step"] == pytest.approx(expected)


def test_json_matches_api(files: Path) -> None:
    """The --json document is Report.to_dict() of the API's report."""
    import gdcert

    report = gdcert.certify(PHI, depth=2, lr=0.05)
    doc = ok_json(files / "phi.npy", "-L", 2, "--lr", 0.05)
    api = json.loads(json.dumps(report.to_dict()))
    api["problem"].pop("source")
    doc["problem"].pop("source")
    assert _untimed(doc) == _untimed(api)


def test_computer_assisted_certificate_between_the_closed_forms(files: Path) -> None:
    """η = 0.2 is above every closed-form sufficient bound (1/8) and below Corollary 1
    (1/4): the a posteriori certificate proves it for the identity init."""
    doc = ok_json(files / "phi.npy", "-L", 2, "--lr", 0.2, "--init", "identity")
    v = doc["verdict"]
    assert v["status"] == "certified" and "computer-assisted" in v["summary"]
    assert v["certified_by"] == ["aposteriori.pl_ball[identity]"]
    (row,) = [b for b in doc["bounds"] if b["id"] == "aposteriori.pl_ball"]
    cert = row["extras"]["certificate"]
    assert row["applies"] and row["max_step"] == pytest.approx(0.2)
    assert cert["level"] in ("proved", "proved_from_step_k")
    assert 0 <= cert["q"] < 1 and cert["mu"] > 0 and cert["r"] > cert["epsilon"] >= 0
    # above Corollary 1 nothing is certified, and the row says why
    doc = ok_json(files / "phi.npy", "-L", 2, "--lr", 0.3, "--init", "identity")
    assert doc["verdict"]["status"] == "impossible"
    (row,) = [b for b in doc["bounds"] if b["id"] == "aposteriori.pl_ball"]
    assert not row["applies"] and row["reason"].startswith("no certificate")
