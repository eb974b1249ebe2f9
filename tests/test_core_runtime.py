"""Runtime behaviour of the GD core added for fast cold starts and edge searches: the orbit
stop, the tail fingerprints (last 128 steps before the budget only), one kernel for serial
and threaded runs, the compile notice, and the edge search's first round below an upper
bound. No timings: only what is computed."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

from gdcert.sim import _numba_env
from gdcert.sim import engine as eng
from gdcert.sim import kernels as _k
from gdcert.sim.edge import UPPER_FRACTIONS, search
from gdcert.sim.engine import GDProblem, Schedule, run, run_batch, warm_up


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    warm_up()


def _scalar(depth: int = 2) -> tuple[GDProblem, list[np.ndarray]]:
    """ℓ = ½(w_2 w_1 − 1)² from (1.2, 0.8): converges for small η, orbits or diverges above
    Corollary 1 (η = 2/(L ρ^{2(L−1)/L}) = 1 for ρ = 1, L = 2)."""
    return GDProblem.target(np.ones((1, 1)), (1,) * (depth + 1)), \
        [np.array([[1.2]]), np.array([[0.8]])]


def test_orbit_stop_ends_an_orbit_early_and_spares_converging_runs() -> None:
    prob, init = _scalar()
    etas = [0.3, 0.9, 1.05]
    full = run_batch(prob, [init] * 3, [Schedule.constant(e) for e in etas], max_iter=20_000,
                     loss_target=1e-20, div_factor=1e6, record_every=0)
    stall = run_batch(prob, [init] * 3, [Schedule.constant(e) for e in etas], max_iter=20_000,
                      loss_target=1e-20, div_factor=1e6, record_every=0, orbit_window=256)
    for f, s in zip(full, stall, strict=True):
        if f.stop == "target":
            # a converging run is not touched by the stall test
            assert (s.stop, s.iterations) == ("target", f.iterations)
            np.testing.assert_array_equal(s.final_weights[0], f.final_weights[0])
        else:
            # one that settles on an orbit stops early (or diverges as before)
            assert s.stop in ("orbit", "diverged") and s.iterations < f.iterations
            assert s.stop != "orbit" or (s.iterations + 1) % 256 == 0
    assert {t.stop for t in full} >= {"target"} and any(t.stop != "target" for t in full)


def test_orbit_window_checked() -> None:
    prob, init = _scalar()
    with pytest.raises(ValueError, match="orbit_window"):
        run_batch(prob, [init], [Schedule.constant(0.1)], max_iter=10, loss_target=0.0,
                  orbit_window=-1)


def test_orbit_stop_spares_a_plateau() -> None:
    """Constant loss (a saddle: ℓ = ½ at w = 0) is no orbit: the run uses its budget."""
    prob, _ = _scalar()
    zero = [np.zeros((1, 1)), np.zeros((1, 1))]
    t = run_batch(prob, [zero], [Schedule.constant(0.1)], max_iter=2000, loss_target=1e-12,
                  orbit_window=256)[0]
    assert (t.stop, t.iterations) == ("budget", 2000)


def test_fingerprints_only_in_the_last_tail_before_the_budget() -> None:
    prob, init = _scalar()
    budget = run(prob, init, Schedule.constant(1.05), max_iter=1000, loss_target=-1.0)
    assert budget.stop == "budget" and budget.tail_fingerprint.shape == (_k.TAIL, _k.N_FP)
    assert np.all(np.isfinite(budget.tail_fingerprint))
    # the fingerprint is ⟨p_f, θ_K⟩ at the last step
    p = eng.fingerprint_vectors(2)
    theta = np.concatenate([w.ravel() for w in budget.final_weights])
    np.testing.assert_allclose(budget.tail_fingerprint[-1], p @ theta, rtol=1e-12)
    # a run that stops long before its budget has its losses but no fingerprints
    early = run(prob, init, Schedule.constant(0.3), max_iter=100_000, loss_target=1e-12)
    assert early.stop == "target" and early.iterations < 1000
    assert np.all(np.isfinite(early.tail_loss))
    assert np.all(np.isnan(early.tail_fingerprint))


def test_threads_and_serial_agree_on_many_trajectories() -> None:
    rng = np.random.default_rng(3)
    prob = GDProblem.target(rng.standard_normal((3, 3)), (3, 4, 3))
    inits = [[0.5 * rng.standard_normal((4, 3)), 0.5 * rng.standard_normal((3, 4))]
             for _ in range(9)]
    scheds = [Schedule.constant(e) for e in np.linspace(0.01, 0.3, 9)]
    a = run_batch(prob, inits, scheds, max_iter=300, loss_target=1e-8, parallel=True)
    b = run_batch(prob, inits, scheds, max_iter=300, loss_target=1e-8, parallel=False)
    for x, y in zip(a, b, strict=True):
        assert (x.stop, x.iterations) == (y.stop, y.iterations)
        np.testing.assert_array_equal(x.loss, y.loss)


class _FakeKernel:
    """Stands in for a numba dispatcher that has nothing compiled and nothing cached."""

    def __init__(self) -> None:
        self.overloads: dict[Any, Any] = {}
        self.compiled: list[tuple[Any, ...]] = []

    def typeof_pyval(self, value: Any) -> str:
        return type(value).__name__

    def compile(self, sig: tuple[Any, ...]) -> None:
        self.compiled.append(sig)


def test_compile_notice_wraps_an_uncached_compilation() -> None:
    entered: list[str] = []

    @contextlib.contextmanager
    def notice() -> Iterator[None]:
        entered.append("in")
        yield

    kernel = _FakeKernel()
    _numba_env.set_compile_notice(notice)
    try:
        eng.ensure_compiled(kernel, (1.0, 2))
    finally:
        _numba_env.set_compile_notice(None)
    assert entered == ["in"] and kernel.compiled == [("float", "int")]
    # already compiled in this process: no notice, no compilation
    kernel.overloads[("float", "int")] = object()
    eng.ensure_compiled(kernel, (1.0, 2))
    assert kernel.compiled == [("float", "int")]


def test_compiled_kernel_is_found_in_the_cache() -> None:
    """After warm_up the linear kernel is loaded: ensure_compiled is a no-op for it."""
    if not hasattr(_k._gd_batch, "overloads"):
        pytest.skip("JIT disabled")
    assert len(_k._gd_batch.overloads) >= 1


def _edge_at(edge: float, calls: list[list[float]]) -> Any:
    def converge(etas: Sequence[float]) -> list[bool]:
        calls.append(list(etas))
        return [e <= edge for e in etas]
    return converge


@pytest.mark.parametrize("fraction", [0.999, 0.985, 0.93, 0.5, 0.01])
def test_search_below_an_upper_bound(fraction: float) -> None:
    calls: list[list[float]] = []
    lo, hi, history = search(_edge_at(fraction, calls), start=1.0, rtol=0.01, upper=1.0)
    assert lo <= fraction < hi and hi / lo <= 1.01
    assert calls[0] == [f for f in UPPER_FRACTIONS]
    assert (hi, False) in history and (lo, True) in history
    if fraction >= 0.9:
        assert len(history) <= len(UPPER_FRACTIONS) + 2 * 6  # one round, at most two more


def test_search_upper_bound_exceeded() -> None:
    """An edge above the 'upper' bound is still found (bracketing upwards)."""
    lo, hi, _ = search(_edge_at(3.0, []), start=1.0, rtol=0.01, upper=1.0)
    assert lo <= 3.0 < hi and hi / lo <= 1.01


def test_search_without_upper_bound_unchanged() -> None:
    calls: list[list[float]] = []
    lo, hi, _ = search(_edge_at(0.37, calls), start=1.0, rtol=0.01)
    assert calls[0] == [4.0**k for k in range(-3, 4)]
    assert lo <= 0.37 < hi and hi / lo <= 1.01
    assert math.isfinite(hi)


class _Tty:
    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, s: str) -> None:
        self.text += s

    def flush(self) -> None:
        pass


def test_cli_compile_status_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal the notice is printed at once (to the process's stderr)."""
    import sys

    import gdcert.cli.cache as cache
    from gdcert.cli.cache import COMPILE_MESSAGE, compile_status, install_compile_status

    tty = _Tty()
    monkeypatch.setattr(sys, "__stderr__", tty)
    monkeypatch.setattr(cache, "_SAID", [])
    with compile_status():
        pass
    assert tty.text == f"gdcert: {COMPILE_MESSAGE}\n"
    with compile_status():  # a second kernel in the same process: no second line
        pass
    assert tty.text == f"gdcert: {COMPILE_MESSAGE}\n"
    install_compile_status()
    try:
        assert _numba_env._compile_notice is compile_status
    finally:
        _numba_env.set_compile_notice(None)
