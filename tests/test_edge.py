"""The empirical edge (``gdcert.sim.edge.find_edge``, ``gdcert edge``).

From the identity init on an SPD target, every layer stays a polynomial in Φ and GD goes to
the *balanced* minimum ``W_j = Φ^{1/L}``, where the top Hessian eigenvalue is exactly
``Lρ^{2(L−1)/L}`` (BOUNDS.md, ``nar_sastry.cor1`` is tight there). So the edge is
Corollary 1's bound, up to the bracket's precision and the slowing down just below it
(contraction factor → −1): ``cor1 / edge`` lies in ``[1, 1.05]``. From any init the edge
can never exceed Corollary 1 (a necessary condition).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from gdcert.api import find_edge
from gdcert.bounds import nar_sastry
from gdcert.cli import cli
from gdcert.errors import InputError
from gdcert.problem import Problem
from gdcert.sim.edge import _bracket

SAMPLES = Path(__file__).resolve().parent.parent / "sample_inputs"


def cor1(phi: np.ndarray, depth: int) -> float:
    return nar_sastry.cor1(rho=float(np.linalg.norm(phi, 2)), depth=depth).max_step


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


# --------------------------------------------------------------------------- bracketing


@pytest.mark.parametrize(("history", "bracket"), [
    ([(0.1, True), (0.2, True), (0.4, False), (0.8, False)], (0.2, 0.4)),
    # a failure below the first success (too slow for the budget) is ignored
    ([(0.01, False), (0.1, True), (0.2, False)], (0.1, 0.2)),
    # non-monotone: a success above a failure does not move the edge up
    ([(0.1, True), (0.4, False), (0.8, True)], (0.1, 0.4)),
    ([(0.1, True), (0.3, True)], (0.3, math.inf)),
    ([(0.1, False), (0.3, False)], (0.0, math.inf)),
    ([], (0.0, math.inf)),
])
def test_bracket(history: list[tuple[float, bool]], bracket: tuple[float, float]) -> None:
    assert _bracket(history) == bracket
    assert _bracket(list(reversed(history))) == bracket  # order of evaluation is irrelevant


# --------------------------------------------------------------------------- find_edge


@pytest.mark.parametrize(("phi", "depth"), [
    (np.diag([2.0, 1.0]), 2),
    (np.diag([1.5, 0.7, 0.3]), 3),
    (np.array([[2.0, 0.5], [0.5, 1.0]]), 4),
])
def test_identity_edge_is_cor1(phi: np.ndarray, depth: int) -> None:
    p = Problem.from_target(phi, depth=depth)
    e = find_edge(p, init="identity", iterations=5000, rtol=0.005)
    bound = cor1(phi, depth)
    assert 1.0 <= bound / e.edge <= 1.05, (bound, e.edge)
    assert e.bracket[0] == e.edge and e.bracket[1] / e.bracket[0] <= 1.005
    assert e.ratios["nar_sastry.cor1"] == pytest.approx(bound / e.edge)
    # every step size tried below the edge converged, the one just above did not
    assert all(ok for eta, ok in e.history if eta <= e.edge)
    assert (e.bracket[1], False) in e.history
    assert e.evaluations == len(e.history)  # one seed


def test_random_inits_never_beat_cor1() -> None:
    phi = np.array([[1.2, -0.4], [0.3, 0.8]])
    p = Problem.from_target(phi, depth=3)
    e = find_edge(p, init="balanced", seeds=[0, 1, 2], iterations=4000, rtol=0.02)
    assert e.edge <= cor1(phi, 3)
    assert e.seeds == (0, 1, 2) and e.evaluations == 3 * len(e.history)


def test_edge_errors() -> None:
    p = Problem.from_target(np.diag([2.0, 1.0]), depth=2)
    with pytest.raises(InputError, match="rtol"):
        find_edge(p, init="identity", rtol=1.5)
    with pytest.raises(InputError, match="no step size .* reached the optimal loss"):
        find_edge(p, init="identity", iterations=1)


def test_edge_to_dict() -> None:
    p = Problem.from_target(np.diag([2.0, 1.0]), depth=2)
    doc = find_edge(p, init="identity", iterations=3000).to_dict()
    assert {"edge", "init", "seeds", "ratios", "bracket", "history", "bounds"} <= set(doc)
    json.dumps(doc, allow_nan=False)


# --------------------------------------------------------------------------- CLI


def test_cli_edge_json() -> None:
    result = invoke("edge", SAMPLES / "spd_4x4.npy", "-L", "3", "--init", "identity",
                    "--iterations", "5000", "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # the compile notice goes to the process's own stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    assert doc["evaluations"] == len(doc["history"]) and doc["iterations_spent"] > 0
    assert {"edge", "init", "seeds", "ratios"} <= set(doc)
    assert doc["init"] == "identity" and doc["seeds"] == [0]
    phi = np.load(SAMPLES / "spd_4x4.npy")
    assert 1.0 <= cor1(phi, 3) / doc["edge"] <= 1.05
    assert doc["ratios"]["nar_sastry.cor1"] == pytest.approx(cor1(phi, 3) / doc["edge"])
    # sufficient bounds for this init sit below the edge
    assert 0 < doc["ratios"]["nar_sastry.lemma3"] <= 1


def test_cli_edge_terminal_and_markdown(tmp_path: Path) -> None:
    out = tmp_path / "edge.md"
    result = invoke("edge", SAMPLES / "spd_4x4.npy", "-L", "2", "--init", "identity",
                    "--iterations", "3000", "--output", out)
    assert result.exit_code == 0, result.output
    assert "Empirical edge" in result.stdout
    assert "nar_sastry.cor1" in out.read_text()


@pytest.mark.parametrize(("args", "needle"), [
    (["--init", "lecun"], "--init"),
    (["--init", "file"], "--init"),
    (["--tolerance", "-1"], "--tolerance"),
    (["--seeds", "0"], "--seeds"),
])
def test_cli_edge_usage_errors(args: list[str], needle: str) -> None:
    result = invoke("edge", SAMPLES / "spd_4x4.npy", "-L", "2", *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("gdcert: error: ") and needle in line


def test_edge_reports_the_certified_step_below_it() -> None:
    """Issue 11: `gdcert edge` reports the largest computer-assisted certified η beside the
    empirical edge, never above it."""
    from gdcert.problem import Problem

    p = Problem.from_target(np.diag([3.0, 2.0, 1.0, 0.5]), depth=3)
    e = find_edge(p, init="zas", iterations=20_000)
    assert e.certified_edge is not None
    assert 0.5 * e.edge <= e.certified_edge <= e.edge
    doc = e.to_dict()
    assert doc["certified_ratio"] == pytest.approx(e.certified_edge / e.edge)
    assert doc["certificate"]["level"] in ("proved", "proved_from_step_k")
    assert find_edge(p, init="zas", iterations=20_000, certify=False).certified_edge is None
