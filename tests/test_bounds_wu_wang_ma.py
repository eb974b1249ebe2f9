"""Wu, Wang & Ma (2019), Theorem 4.3: φ, the min of the two step terms, iterations to ε."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdcert.bounds import wu_wang_ma as wwm

REL = 1e-12


@pytest.mark.parametrize(("fro", "depth", "phi"), [
    (1.0, 4, 2.0),                      # max(2·1, 3/2, 1) = 2
    (0.1, 2, 3.0 / math.sqrt(2.0)),     # max(0.2, 2.1213, 1) = 3/√2
    (0.25, 9, 1.0),                     # max(0.5, 3/3, 1) = 1
    (0.1, 100, 1.0),                    # max(0.2, 0.3, 1) = 1
    (5.0, 2, 10.0),                     # max(10, 2.12, 1) = 10
    (0.0, 4, 1.5),                      # max(0, 3/2, 1) = 1.5
])
def test_phi_constant(fro: float, depth: int, phi: float) -> None:
    assert wwm.phi_constant(fro_norm=fro, depth=depth) == pytest.approx(phi, rel=REL)


@pytest.mark.parametrize(("fro", "depth", "expected"), [
    # φ = 2, L = 4: 4L³φ⁶ = 4·64·64 = 16384, 144L²φ⁴ = 144·16·16 = 36864 → 1/36864
    (1.0, 4, 1.0 / 36864.0),
    # φ² = 4.5, L = 2: 4·8·91.125 = 2916, 144·4·20.25 = 11664 → 1/11664
    (0.1, 2, 1.0 / 11664.0),
    # φ = 1, L = 9: 4·729 = 2916, 144·81 = 11664 → 1/11664
    (0.25, 9, 1.0 / 11664.0),
    # φ = 1, L = 100: 4·10⁶ vs 144·10⁴ = 1.44·10⁶ → the first term: 1/(4·10⁶)
    (0.1, 100, 2.5e-7),
    # φ = 10, L = 2: 4·8·10⁶ = 3.2·10⁷ vs 144·4·10⁴ = 5.76·10⁶ → 1/(3.2·10⁷)
    (5.0, 2, 1.0 / 3.2e7),
])
def test_thm4_3_hand_values(fro: float, depth: int, expected: float) -> None:
    b = wwm.thm4_3(fro_norm=fro, depth=depth, square=True, square_layers=True)
    assert b.applies and b.kind == "sufficient" and b.init == "zas"
    assert b.max_step == pytest.approx(expected, rel=1e-12)
    assert b.extras["R0"] == pytest.approx(0.5 * fro**2, rel=REL)


@pytest.mark.parametrize(("eta", "loss0", "eps", "expected"), [
    # ln(0.25)/ln(0.75) = 1.3863/0.28768 = 4.819 → 5 (0.75⁵ = 0.237 ≤ 0.25 < 0.75⁴ = 0.316)
    (0.5, 1.0, 0.25, 5),
    # η = 1: ln(1e-3)/ln(0.5) = 9.966 → 10
    (1.0, 1.0, 1e-3, 10),
    (0.1, 1.0, 2.0, 0),    # R(0) ≤ ε already
    (0.1, 1.0, 1.0, 0),
])
def test_iterations_to_loss_hand_values(eta: float, loss0: float, eps: float,
                                        expected: int) -> None:
    assert wwm.iterations_to_loss(eta=eta, loss0=loss0, eps=eps) == expected


def test_iterations_to_loss_tiny_step_is_accurate() -> None:
    # η = 1e-12: ln(1 − 5e-13) = −5e-13 to 1e-25; t = 13.815510557964274/5e-13 = 2.7631e13
    t = wwm.iterations_to_loss(eta=1e-12, loss0=1.0, eps=1e-6)
    assert t == pytest.approx(math.log(1e6) / 5e-13, rel=1e-9)


@settings(max_examples=50, deadline=None)
@given(fro=st.floats(1e-3, 10.0), depth=st.integers(2, 60), tol=st.floats(1e-12, 0.5))
def test_iterations_are_the_first_time_the_envelope_reaches_eps(fro: float, depth: int,
                                                               tol: float) -> None:
    b = wwm.thm4_3(fro_norm=fro, depth=depth, square=True, square_layers=True,
                   eps=tol * 0.5 * fro**2)
    eta, r0, eps = b.max_step, b.extras["R0"], b.extras["loss_target"]
    t = b.extras["iterations_to_loss"]
    log_env = lambda k: k * math.log1p(-eta / 2) + math.log(r0)  # noqa: E731
    assert log_env(t) <= math.log(eps) + 1e-9
    assert log_env(t - 1) > math.log(eps) - 1e-9


@settings(max_examples=50, deadline=None)
@given(fro=st.floats(0.0, 100.0), depth=st.integers(2, 200))
def test_bound_is_min_of_two_terms(fro: float, depth: int) -> None:
    phi = max(2 * fro, 3 / math.sqrt(depth), 1.0)
    expected = min(1 / (4 * depth**3 * phi**6), 1 / (144 * depth**2 * phi**4))
    b = wwm.thm4_3(fro_norm=fro, depth=depth, square=True, square_layers=True)
    assert b.max_step == pytest.approx(expected, rel=1e-10)
    assert b.extras["phi"] == pytest.approx(phi, rel=REL)


@pytest.mark.parametrize(("kw", "needle"), [
    (dict(square=False, square_layers=False, depth=3), "square"),
    (dict(square=True, square_layers=False, depth=3), "square"),
    (dict(square=True, square_layers=True, depth=1), "L ≥ 2"),
])
def test_not_applicable(kw: dict[str, object], needle: str) -> None:
    b = wwm.thm4_3(fro_norm=1.0, **kw)  # type: ignore[arg-type]
    assert not b.applies and needle in b.reason and math.isnan(b.log10_max_step)


def test_zas_envelope_holds_under_gd() -> None:
    """The promise R(t) ≤ (1 − η/2)^t R(0), checked on plain-numpy GD from ZAS."""
    rng = np.random.default_rng(0)
    phi = rng.standard_normal((2, 2))
    phi *= 0.4 / np.linalg.norm(phi)
    depth = 3
    b = wwm.thm4_3(fro_norm=float(np.linalg.norm(phi)), depth=depth, square=True,
                   square_layers=True)
    eta = b.max_step
    ws = [np.eye(2), np.eye(2), np.zeros((2, 2))]
    r0 = 0.5 * float(np.sum(phi**2))
    for t in range(1, 301):
        p1 = ws[0]
        p2 = ws[1] @ p1
        g = ws[2] @ p2 - phi
        grads = [(ws[2] @ ws[1]).T @ g, ws[2].T @ g @ p1.T, g @ p2.T]
        ws = [w - eta * gr for w, gr in zip(ws, grads, strict=True)]
        loss = 0.5 * float(np.sum((ws[2] @ ws[1] @ ws[0] - phi) ** 2))
        assert loss <= (1 - eta / 2) ** t * r0 * (1 + 1e-12)


def test_underflowing_step_gives_infinite_iterations() -> None:
    # ‖Φ‖_F = 1e60, L = 2: φ = 2e60, log10 η = −(log10 4 + 3 log10 2 + 6·60.301) = −363.31;
    # η underflows to 0 and the iteration count does not fit a float: inf, not a crash.
    b = wwm.thm4_3(fro_norm=1e60, depth=2, square=True, square_layers=True)
    assert b.log10_max_step == pytest.approx(
        -(math.log10(4) + 3 * math.log10(2) + 6 * math.log10(2e60)), rel=1e-12)
    assert b.max_step == 0.0
    assert b.extras["iterations_to_loss"] == math.inf
    assert wwm.iterations_to_loss(eta=0.0, loss0=1.0, eps=0.5) == math.inf
    assert wwm.thm4_3(fro_norm=1e200, depth=2, square=True, square_layers=True).applies


def test_certify_huge_target_does_not_crash() -> None:
    from gdcert.api import certify

    r = certify(np.diag([1e60, 1.0]), depth=2)
    cor1 = next(b for b in r.bounds if b.id == "nar_sastry.cor1")
    assert cor1.log10_max_step == pytest.approx(-60.0, abs=1e-12)  # 2/(2·1e60)
    assert next(b for b in r.bounds if b.id == "wu_wang_ma.thm4_3").applies


def test_tiny_target_does_not_crash() -> None:
    # ‖Φ‖_F = 1.4e-159: R(0) = ½‖Φ‖² ≈ 1e-318 is subnormal and 10⁻⁶·R(0) underflows to 0;
    # no loss ε > 0 is given, so the envelope never reaches it: inf iterations, no crash.
    # φ = max(2.8e-159, 3/√2, 1) = 3/√2 → 1/11664 as in the hand-value table.
    b = wwm.thm4_3(fro_norm=1.3886932083507984e-159, depth=2, square=True, square_layers=True)
    assert b.max_step == pytest.approx(1.0 / 11664.0, rel=1e-12)
    assert b.extras["iterations_to_loss"] == math.inf
    assert wwm.iterations_to_loss(eta=0.1, loss0=1e-300, eps=0.0) == math.inf
