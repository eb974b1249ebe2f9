"""Contract shared by every bound in registry.BOUND_IDS, evaluated through certify() on a
table of problems (one parametrised table, optax ``_OPTIMIZERS_UNDER_TEST`` style)."""

from __future__ import annotations

import functools
import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdcert.api import certify
from gdcert.bounds.registry import BOUND_IDS
from gdcert.problem import Problem
from gdcert.results import Bound, Report

KINDS = {
    "nar_sastry.cor1": "necessary",
    "gdcert.cor1_data": "necessary",
    "nar_sastry.cor2": "necessary",
    "nar_sastry.thm1": "necessary",
    "stability.exact": "exact-local",
    "nar_sastry.thm2": "sufficient",
    "nar_sastry.lemma3": "sufficient",
    "nar_sastry.thm3": "sufficient",
    "nar_sastry.thm3_sharp": "sufficient",
    "wu_wang_ma.thm4_3": "sufficient",
    "nguegnang.thm2_4": "sufficient",
    "nguegnang.thm2_4_default": "sufficient",
    "aposteriori.pl_ball": "sufficient",
}
#: bounds about one point (the given weights): may carry a value although the point is not
#: critical and the bound therefore does not apply (results.Bound's documented contract)
POINT_BOUNDS = {"nar_sastry.thm1", "stability.exact"}


def _psd() -> Report:
    q = np.array([[0.6, -0.8], [0.8, 0.6]])
    return certify(q @ np.diag([4.0, 1.0]) @ q.T, depth=2, lr=0.1)


def _indefinite() -> Report:
    return certify(np.diag([2.0, -1.0, 0.5]), depth=3, lr=0.01)


def _general_with_weights() -> Report:
    rng = np.random.default_rng(0)
    phi = rng.standard_normal((3, 3))
    u, s, vt = np.linalg.svd(phi)
    w1, w2 = np.diag(s**0.5) @ vt, u @ np.diag(s**0.5)
    return certify(phi, depth=2, weights=[w1, w2], lr=1e-3)


def _not_critical() -> Report:
    return certify(np.diag([3.0, 1.0]), depth=2, weights=[np.eye(2), np.eye(2)], lr=0.3)


def _rectangular() -> Report:
    return certify(np.random.default_rng(1).standard_normal((2, 4)), depth=3, lr=1e-2)


def _data_not_whitened() -> Report:
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((3, 8)), rng.standard_normal((2, 8))
    return certify(Problem.from_data(x, y, depth=2, loss="mean"), lr=1e-2)


def _data_singular() -> Report:
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    return certify(Problem.from_data(x, y, depth=2), lr=1e-2)


def _zero() -> Report:
    return certify(np.zeros((2, 2)), depth=4, lr=1.0)


def _depth_one() -> Report:
    return certify(np.diag([3.0, 0.5]), depth=1, lr=0.5)


def _deep_large_rho() -> Report:
    # built with every warning an error (pytest already errors on gdcert RuntimeWarnings)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return certify(np.diag([1e6, 1.0]), depth=10_000, lr=1e-20,
                       inits=["identity", "zas"])


PROBLEMS = {
    "psd": _psd, "indefinite": _indefinite, "general+weights": _general_with_weights,
    "not-critical": _not_critical, "rectangular": _rectangular,
    "data-not-whitened": _data_not_whitened, "data-singular": _data_singular,
    "zero": _zero, "depth-1": _depth_one, "deep-large-rho": _deep_large_rho,
}


@functools.cache
def _report(name: str) -> Report:
    return PROBLEMS[name]()


def _bounds_with_id(bid: str) -> list[tuple[str, Bound]]:
    return [(name, b) for name in PROBLEMS for b in _report(name).bounds if b.id == bid]


def test_table_covers_every_bound() -> None:
    seen = {b.id for name in PROBLEMS for b in _report(name).bounds}
    assert seen == set(BOUND_IDS) == set(KINDS)
    for bid in BOUND_IDS:
        states = {b.applies for _, b in _bounds_with_id(bid)}
        assert True in states, f"{bid} never applies in the table"
        assert False in states, f"{bid} is never reported as not applicable in the table"


@pytest.mark.parametrize("bid", BOUND_IDS)
def test_bound_contract(bid: str) -> None:
    found = _bounds_with_id(bid)
    assert found
    for name, b in found:
        where = f"{bid} on {name} (init {b.init})"
        assert b.kind == KINDS[bid], where
        assert b.paper and b.theorem, where
        # value ⇔ applicability
        if b.applies:
            assert not math.isnan(b.log10_max_step), where
            assert b.reason == "", where
            assert b.guarantee, where
            assert b.max_step > 0.0 or b.log10_max_step < -323, where
        else:
            assert b.reason.strip(), where
            if bid not in POINT_BOUNDS:
                assert math.isnan(b.log10_max_step), where
        # max_step is 10**log10_max_step, with inf / 0 where a float cannot hold it
        lg = b.log10_max_step
        if math.isnan(lg):
            assert math.isnan(b.max_step), where
        elif lg > 308.26:
            assert b.max_step == math.inf, where
        elif lg < -330:
            assert b.max_step == 0.0, where
        elif 0.0 < b.max_step < math.inf:
            assert math.log10(b.max_step) == pytest.approx(lg, rel=1e-12, abs=1e-12), where
        # sufficient bounds: applying means every checked assumption holds, and when a
        # paper assumption fails the reason is that finding (not the requirement's text)
        if b.kind == "sufficient":
            if b.applies:
                assert all(a.holds for a in b.assumptions), where
            elif any(a.holds is False for a in b.assumptions):
                failed = [a for a in b.assumptions if a.holds is False]
                if b.reason in {a.finding for a in failed}:
                    assert not any(b.reason == a.text for a in b.assumptions), where
        # JSON: strict (no NaN/Infinity tokens) and faithful
        d = b.to_dict()
        text = json.dumps(d, allow_nan=False)
        back = json.loads(text)
        assert back["id"] == bid and back["kind"] == KINDS[bid]
        assert back["applies"] is b.applies
        if math.isnan(lg):
            assert back["log10_max_step"] is None and back["max_step"] is None
        elif math.isinf(lg):
            assert back["log10_max_step"] == ("inf" if lg > 0 else "-inf")
        else:
            assert back["log10_max_step"] == pytest.approx(lg)


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_report_is_strict_json(name: str) -> None:
    r = _report(name)
    json.dumps(r.to_dict(), allow_nan=False)
    assert r.verdict is not None
    assert r.verdict.status in ("certified", "impossible", "non_global", "uncertified")
    json.dumps(r.verdict.to_dict(), allow_nan=False)


def test_deep_large_rho_finite_logs_no_warning() -> None:
    r = _report("deep-large-rho")  # see _deep_large_rho: no warning of any kind
    for b in r.bounds:
        if b.applies:
            assert math.isfinite(b.log10_max_step), b.id
    ids = {b.id for b in r.bounds if b.applies}
    assert {"nar_sastry.cor1", "nar_sastry.cor2", "stability.exact", "nar_sastry.thm2",
            "nar_sastry.lemma3", "wu_wang_ma.thm4_3", "nguegnang.thm2_4",
            "nguegnang.thm2_4_default"} <= ids
    cor1 = next(b for b in r.bounds if b.id == "nar_sastry.cor1")
    # log10 2 − log10 10⁴ − (2·9999/10⁴)·6
    assert cor1.log10_max_step == pytest.approx(math.log10(2) - 4 - 1.9998 * 6, abs=1e-12)
    # the balanced minimum is recognised as critical despite rounding in a 10⁴-fold
    # product, and its exact threshold is Corollary 1's
    ex = next(b for b in r.bounds if b.id == "stability.exact")
    assert ex.applies
    assert ex.log10_max_step == pytest.approx(cor1.log10_max_step, abs=1e-9)


# ---------------------------------------------------------------------------------------
# Sufficient bounds never exceed the necessary one (target form)
# ---------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), depth=st.integers(1, 4), d=st.integers(1, 3),
       kind=st.sampled_from(["psd", "indefinite", "general"]), scale=st.floats(0.1, 3.0))
def test_sufficient_bounds_below_cor1(seed: int, depth: int, d: int, kind: str,
                                      scale: float) -> None:
    """A step size that guarantees convergence to a global minimum cannot exceed
    Corollary 1's necessary bound; Nguegnang's B ≥ 2eLρ^{2(L−1)/L} makes theirs smaller
    than cor1/e. Theorem 3 (and its sharp form) is excluded: its limit is *not* a global
    minimum, and e.g. Φ = [−2.6], L = 3 has thm3_sharp = 1/3.6 > cor1 = 2/(3·2.6^{4/3})."""
    rng = np.random.default_rng(seed)
    a = scale * rng.standard_normal((d, d))
    if kind == "psd":
        phi = a @ a.T
    elif kind == "indefinite":
        phi = a + a.T
    else:
        phi = a
    r = certify(phi, depth=depth)
    cor1 = next(b for b in r.bounds if b.id == "nar_sastry.cor1")
    for b in r.bounds:
        if b.kind == "sufficient" and b.applies and not b.id.startswith("nar_sastry.thm3"):
            assert b.log10_max_step <= cor1.log10_max_step + 1e-9, (b.id, b.init)
        if b.id.startswith("nguegnang") and b.applies:
            assert b.log10_max_step <= cor1.log10_max_step - math.log10(math.e) + 1e-9
    # the per-eigenvalue forms are never worse than the theorems they sharpen
    by_id = {b.id: b for b in r.bounds if b.init in (None, "identity")}
    for sharp, plain in (("nar_sastry.lemma3", "nar_sastry.thm2"),
                         ("nar_sastry.thm3_sharp", "nar_sastry.thm3")):
        assert by_id[sharp].applies == by_id[plain].applies
        if by_id[plain].applies:
            assert by_id[sharp].log10_max_step >= by_id[plain].log10_max_step - 1e-12
    if kind == "psd":
        assert by_id["nar_sastry.lemma3"].applies
