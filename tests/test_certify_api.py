"""certify() end to end: applicability per problem, verdicts, sum vs mean conventions,
and a performance smoke test that checks behaviour (no full eigendecomposition), not time."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gdcert.api import certify, make_verdict
from gdcert.bounds import stability
from gdcert.errors import InputError
from gdcert.problem import Problem
from gdcert.results import Report


def _one(r: Report, bid: str, init: str | None = None, point: str | None = None):  # noqa: ANN202
    matches = [b for b in r.bounds if b.id == bid and (init is None or b.init == init)
               and (point is None or b.point == point)]
    assert len(matches) == 1, (bid, init, point, [(b.id, b.init, b.point) for b in r.bounds])
    return matches[0]


def _rotation(theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


# ---------------------------------------------------------------------------------------
# Applicability (registry)
# ---------------------------------------------------------------------------------------
def test_symmetric_psd_target() -> None:
    q = _rotation(0.3)
    phi = q @ np.diag([4.0, 1.0]) @ q.T
    r = certify(0.5 * (phi + phi.T), depth=2)
    # Corollary 1: 2/(2·4) = 0.25; Theorem 2: min(1/2, 1/8); Lemma 3: δ_c(4) = 1/8
    assert _one(r, "nar_sastry.cor1").max_step == pytest.approx(0.25, rel=1e-12)
    assert _one(r, "nar_sastry.thm2").max_step == pytest.approx(0.125, rel=1e-12)
    assert _one(r, "nar_sastry.lemma3").max_step == pytest.approx(0.125, rel=1e-12)
    assert _one(r, "nar_sastry.thm2").applies and _one(r, "nar_sastry.lemma3").applies
    for bid in ("nar_sastry.thm3", "nar_sastry.thm3_sharp"):
        b = _one(r, bid)
        assert not b.applies and "negative eigenvalue" in b.reason
    ex = _one(r, "stability.exact", point="balanced minimum")
    assert ex.applies and ex.max_step == pytest.approx(0.25, rel=1e-9)
    assert {b.init for b in r.bounds if b.id == "nguegnang.thm2_4"} == {
        "identity", "zas", "balanced"}


def test_indefinite_target_floor_and_applicability() -> None:
    # Φ = Q diag(3, −1, −2) Qᵀ: the loss floor of identity init is ½(1 + 4) = 2.5
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    phi = q @ np.diag([3.0, -1.0, -2.0]) @ q.T
    r = certify(0.5 * (phi + phi.T), depth=2)
    for bid in ("nar_sastry.thm3", "nar_sastry.thm3_sharp"):
        b = _one(r, bid)
        assert b.applies and b.extras["loss_floor"] == pytest.approx(2.5, rel=1e-10)
        assert "exact arithmetic" in b.guarantee and "cannot fit" not in b.guarantee
    # Theorem 3: min(1/(1+2), 1/2, 1/(2·3)) = 1/6; sharp: min(δ_c(3) = 1/6, 1/3) = 1/6
    assert _one(r, "nar_sastry.thm3").max_step == pytest.approx(1 / 6, rel=1e-10)
    assert _one(r, "nar_sastry.thm3_sharp").max_step == pytest.approx(1 / 6, rel=1e-10)
    for bid in ("nar_sastry.thm2", "nar_sastry.lemma3"):
        assert not _one(r, bid).applies and "semidefinite" in _one(r, bid).reason


def test_general_square_target_nar_sastry_sufficient_not_applicable() -> None:
    r = certify(np.array([[1.0, 2.0], [0.0, 1.0]]), depth=3)
    for bid in ("nar_sastry.thm2", "nar_sastry.lemma3", "nar_sastry.thm3",
                "nar_sastry.thm3_sharp"):
        b = _one(r, bid)
        assert not b.applies and "symmetric" in b.reason
    assert _one(r, "nar_sastry.cor1").applies and _one(r, "wu_wang_ma.thm4_3").applies


def test_rectangular_target() -> None:
    rng = np.random.default_rng(1)
    r = certify(rng.standard_normal((2, 3)), depth=3)
    wu = _one(r, "wu_wang_ma.thm4_3")
    assert not wu.applies and "square" in wu.reason
    assert [i["name"] for i in r.problem["inits"]] == ["balanced"]  # no identity / ZAS
    assert {b.init for b in r.bounds if b.id.startswith("nguegnang")} == {"balanced"}
    with pytest.raises(InputError, match="square"):
        certify(rng.standard_normal((2, 3)), depth=3, inits=["identity"])
    assert any("identity and ZAS" in n for n in r.notes)


def test_identity_not_requested() -> None:
    r = certify(np.diag([4.0, 1.0]), depth=2, inits=["balanced"])
    b = _one(r, "nar_sastry.thm2")
    assert not b.applies and "--init identity" in b.reason
    assert "--init zas" in _one(r, "wu_wang_ma.thm4_3").reason


def test_non_whitened_data() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((2, 6)), rng.standard_normal((2, 6))
    residual = np.linalg.norm(x @ x.T - np.eye(2), 2)
    r = certify(Problem.from_data(x, y, depth=2), lr=1e-3)
    for bid in ("nar_sastry.cor1", "nar_sastry.cor2", "nar_sastry.thm2", "nar_sastry.lemma3"):
        b = _one(r, bid)
        assert not b.applies and f"{residual:.3g}" in b.reason and "whitened" in b.reason
    assert "whitened" in _one(r, "wu_wang_ma.thm4_3").reason
    for init in ("identity", "zas", "balanced"):
        assert _one(r, "nguegnang.thm2_4", init=init).applies
    assert r.verdict is not None and r.verdict.status == "certified"
    assert r.verdict.violates == ()  # no global necessary bound applies


def test_singular_xxt_does_not_crash() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((2, 3))  # d_x = 4 > m = 3
    r = certify(Problem.from_data(x, y, depth=2), lr=1e-3)
    for b in r.bounds:
        if b.id.startswith("nguegnang"):
            assert not b.applies and "singular" in b.reason
    assert any("singular" in n for n in r.notes)
    assert r.verdict is not None and r.verdict.status == "uncertified"


def test_zero_target() -> None:
    r = certify(np.zeros((2, 2)), depth=3, lr=1e3)
    assert _one(r, "nar_sastry.cor1").max_step == math.inf
    assert _one(r, "stability.exact", point="balanced minimum").max_step == math.inf
    assert any("zero" in n for n in r.notes)
    assert r.verdict is not None and r.verdict.status != "impossible"


def test_depth_one() -> None:
    r = certify(np.diag([5.0, 1.0]), depth=1, lr=1.5)
    assert _one(r, "nar_sastry.cor1").max_step == pytest.approx(2.0)
    assert not _one(r, "nar_sastry.cor2").applies
    assert not _one(r, "wu_wang_ma.thm4_3").applies
    # Theorem 2 at L = 1: min(1, 1) = 1; Lemma 3: δ_c(5) = 1/(1·5⁰) = 1
    assert _one(r, "nar_sastry.thm2").max_step == pytest.approx(1.0)
    # exact local at L = 1: the Hessian is the identity, 2/1
    assert _one(r, "stability.exact").max_step == pytest.approx(2.0)


def test_weights_not_critical() -> None:
    r = certify(np.diag([3.0, 1.0]), depth=2, weights=[np.eye(2), np.eye(2)])
    t1 = _one(r, "nar_sastry.thm1")
    assert not t1.applies and "critical" in t1.reason
    assert not _one(r, "stability.exact", point="weights").applies


def test_weights_at_a_global_minimum() -> None:
    # W1 = diag(2, 1), W2 = diag(1, 3), Φ = diag(2, 3): thm1 = 2/10, exact = 2/13 (by hand,
    # see test_bounds_stability), Corollary 1 = 2/(2·3) = 1/3
    r = certify(np.diag([2.0, 3.0]), depth=2, weights=[np.diag([2.0, 1.0]),
                                                      np.diag([1.0, 3.0])], lr=0.18)
    assert _one(r, "nar_sastry.thm1").max_step == pytest.approx(0.2)
    assert _one(r, "stability.exact", point="weights").max_step == pytest.approx(2 / 13)
    assert r.verdict is not None
    assert any("exact local threshold" in d for d in r.verdict.details)
    assert not any("Theorem 1" in d for d in r.verdict.details)  # 0.18 ≤ 0.2


def test_bad_weights_and_lr_rejected() -> None:
    with pytest.raises(InputError, match="chain"):
        certify(np.eye(2), depth=2, weights=[np.eye(2), np.ones((2, 3))])
    with pytest.raises(InputError, match="layers given"):
        certify(np.eye(2), depth=2, weights=[np.eye(2)])
    for lr in (0.0, -1.0, math.inf, math.nan, True):
        with pytest.raises(InputError, match="lr must be"):
            certify(np.eye(2), depth=2, lr=lr)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="depth"):
        certify(np.eye(2))


# ---------------------------------------------------------------------------------------
# Verdicts
# ---------------------------------------------------------------------------------------
def test_verdict_certified() -> None:
    # Φ = diag(4, 1), L = 2: η = 0.1 ≤ Theorem 2's 1/8
    r = certify(np.diag([4.0, 1.0]), depth=2, lr=0.1)
    assert r.verdict is not None and r.verdict.status == "certified"
    assert "nar_sastry.thm2[identity]" in r.verdict.certified_by
    assert "nar_sastry.lemma3[identity]" in r.verdict.certified_by
    assert "wu_wang_ma.thm4_3[zas]" not in r.verdict.certified_by  # 0.1 ≫ Wu et al.
    assert r.verdict.violates == ()


def test_verdict_impossible() -> None:
    # η = 0.3 > Corollary 1's 0.25
    r = certify(np.diag([4.0, 1.0]), depth=2, lr=0.3)
    assert r.verdict is not None and r.verdict.status == "impossible"
    assert r.verdict.violates == ("nar_sastry.cor1",)
    assert r.verdict.certified_by == ()
    assert any("cannot fit" in d for d in r.verdict.details)  # Corollary 2 at η = 0.3


def test_verdict_uncertified_between() -> None:
    # 1/8 < η = 0.2 < 1/4: neither certified nor ruled out
    r = certify(np.diag([4.0, 1.0]), depth=2, lr=0.2, aposteriori=False)
    assert r.verdict is not None and r.verdict.status == "uncertified"
    assert "nar_sastry.cor1" in r.verdict.summary
    assert any("within reach" in d for d in r.verdict.details)


def test_verdict_at_the_edges() -> None:
    # exactly at Corollary 1 (0.25) is allowed, exactly at Theorem 2 (0.125) is certified
    assert certify(np.diag([4.0, 1.0]), depth=2, lr=0.25,
                   aposteriori=False).verdict.status == "uncertified"
    assert certify(np.diag([4.0, 1.0]), depth=2, lr=0.125).verdict.status == "certified"


def test_make_verdict_directly() -> None:
    r = certify(np.diag([4.0, 1.0]), depth=2)
    p = Problem.from_target(np.diag([4.0, 1.0]), depth=2)
    assert make_verdict(0.01, r.bounds, p).status == "certified"
    assert make_verdict(1.0, r.bounds, p).status == "impossible"


# ---------------------------------------------------------------------------------------
# Sum vs mean convention: step sizes differ by the factor m
# ---------------------------------------------------------------------------------------
def test_mean_vs_sum_non_whitened_data_ratio_m() -> None:
    rng = np.random.default_rng(4)
    m = 7
    x, y = rng.standard_normal((2, m)), rng.standard_normal((2, m))
    rs = certify(Problem.from_data(x, y, depth=3, loss="sum"))
    rm = certify(Problem.from_data(x, y, depth=3, loss="mean"))
    compared = 0
    for bs, bm in zip(rs.bounds, rm.bounds, strict=True):
        assert (bs.id, bs.init, bs.point) == (bm.id, bm.init, bm.point)
        assert bs.applies == bm.applies, bs.id
        if bs.applies:
            assert bm.max_step / bs.max_step == pytest.approx(m, rel=1e-6), (bs.id, bs.init)
            compared += 1
    # stability.exact + both Nguegnang variants for the inits where they apply
    assert compared >= 5
    assert any("mean convention" in n for n in rm.notes)


def test_mean_vs_sum_whitened_data_cor1() -> None:
    # X with XXᵀ = m I: whitened in the mean convention (XXᵀ/m = I), not in the sum one.
    rng = np.random.default_rng(5)
    m = 6
    q, _ = np.linalg.qr(rng.standard_normal((m, m)))
    x = math.sqrt(m) * q[:2]
    y = rng.standard_normal((2, m))
    pm = Problem.from_data(x, y, depth=3, loss="mean")
    ps = Problem.from_data(x, y, depth=3, loss="sum")
    rm, rs = certify(pm), certify(ps)
    cor1_mean = _one(rm, "nar_sastry.cor1")
    # XXᵀ = mI is whitened up to scale in the sum convention too: the bound scales by 1/m
    cor1_sum = _one(rs, "nar_sastry.cor1")
    assert cor1_mean.applies and cor1_sum.applies
    assert cor1_sum.max_step == pytest.approx(cor1_mean.max_step / m, rel=1e-10)
    # mean-convention Φ = YXᵀ/m: Corollary 1 by hand
    rho = np.linalg.norm(y @ x.T / m, 2)
    assert cor1_mean.max_step == pytest.approx(2 / (3 * rho ** (4 / 3)), rel=1e-10)
    ex_sum = _one(rs, "stability.exact", point="balanced minimum")
    ex_mean = _one(rm, "stability.exact", point="balanced minimum")
    assert ex_mean.max_step == pytest.approx(cor1_mean.max_step, rel=1e-8)
    assert ex_mean.max_step / ex_sum.max_step == pytest.approx(m, rel=1e-8)


def test_whitened_data_equals_target_form() -> None:
    rng = np.random.default_rng(6)
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    x, y = q[:3], rng.standard_normal((3, 5))  # XXᵀ = I
    phi = y @ x.T
    phi = phi + phi.T  # a symmetric Φ; Y = ΦX lies in X's row space, so Φ = YXᵀ exactly
    y = phi @ x
    rd = certify(Problem.from_data(x, y, depth=2))
    rt = certify(phi, depth=2)
    # Data form adds gdcert.cor1_data, which for Σ = I is Corollary 1 itself.
    (c1d,) = [b for b in rd.bounds if b.id == "gdcert.cor1_data"]
    assert c1d.max_step == pytest.approx(rt.bound("nar_sastry.cor1").max_step, rel=1e-10)
    data_bounds = [b for b in rd.bounds if b.id != "gdcert.cor1_data"]
    for bd, bt in zip(data_bounds, rt.bounds, strict=True):
        assert (bd.id, bd.init, bd.applies) == (bt.id, bt.init, bt.applies)
        if bd.applies:  # Nguegnang too: ℓ₀, ‖Y‖ = ρ(Φ), σ_min(X) = ‖X‖ = 1, ‖XYᵀ‖ = ‖Φ‖
            assert bd.max_step == pytest.approx(bt.max_step, rel=1e-8), bd.id


# ---------------------------------------------------------------------------------------
# Performance smoke tests: behaviour, not time
# ---------------------------------------------------------------------------------------
class _NoFullDecomposition:
    """Patch numpy's dense eigen/singular-vector solvers to fail on big matrices."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
        self.calls: list[str] = []
        for name in ("eig", "eigh", "eigvals", "eigvalsh", "svd"):
            orig = getattr(np.linalg, name)
            monkeypatch.setattr(np.linalg, name, self._wrap(name, orig, limit))

    def _wrap(self, name, orig, limit):  # noqa: ANN001, ANN202
        def f(a, *args, **kwargs):  # noqa: ANN001, ANN202
            big = min(np.shape(a)[-2:]) >= limit
            values_only = name == "svd" and kwargs.get("compute_uv", True) is False
            if big and not values_only:
                raise AssertionError(f"np.linalg.{name} on a {np.shape(a)} matrix")
            if big:
                self.calls.append(name)
            return orig(a, *args, **kwargs)
        return f


def test_large_target_uses_extremal_solvers(monkeypatch: pytest.MonkeyPatch) -> None:
    # 310 > DENSE_LIMIT: ARPACK paths; depth·d³ > EXACT_WORK_LIMIT: closed form.
    rng = np.random.default_rng(0)
    n = 310
    guard = _NoFullDecomposition(monkeypatch, n)
    phi = rng.standard_normal((n, n))
    r = certify(phi, depth=20, inits=["identity", "zas"])
    ex = _one(r, "stability.exact", point="balanced minimum")
    assert ex.extras["method"] == "closed-form"
    monkeypatch.undo()
    rho = np.linalg.norm(phi, 2)
    assert _one(r, "nar_sastry.cor1").max_step == pytest.approx(
        2 / (20 * rho ** (2 * 19 / 20)), rel=1e-9)
    assert ex.max_step == pytest.approx(_one(r, "nar_sastry.cor1").max_step, rel=1e-9)
    assert guard.calls in ([], ["svd"])  # at most the values-only SVD behind the rank


def test_large_symmetric_psd_target_no_eigendecomposition(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    n = 310
    a = rng.standard_normal((n, n)) / math.sqrt(n)
    phi = a @ a.T + 0.1 * np.eye(n)
    lam = np.linalg.eigvalsh(phi)
    _NoFullDecomposition(monkeypatch, n)
    r = certify(phi, depth=20, inits=["identity"])
    l3 = _one(r, "nar_sastry.lemma3")
    assert l3.applies
    lmax = lam[-1]  # δ_c(λ_max) by hand, λ_max > 1 here
    assert lmax > 1
    assert l3.max_step == pytest.approx(1 / (20 * lmax ** (2 * 19 / 20)), rel=1e-8)


@pytest.mark.slow
def test_certify_2000_square_depth_20(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    guard = _NoFullDecomposition(monkeypatch, 2000)
    phi = rng.standard_normal((2000, 2000))
    r = certify(phi, depth=20)
    assert _one(r, "stability.exact").extras["method"] == "closed-form"
    assert _one(r, "nar_sastry.cor1").applies
    assert _one(r, "nguegnang.thm2_4", init="balanced").applies
    assert all(math.isfinite(b.log10_max_step) for b in r.bounds if b.applies)
    assert guard.calls in ([], ["svd"])
    assert stability.DENSE_PARAMS < 2000 * 2000


def test_deep_exact_minimum_is_recognised_as_critical() -> None:
    # Φ = [1e8], L = 200, W_j = [1e8^{1/200}]: rounding in the 200-fold product leaves a
    # residual ~1e-8 that the layers amplify to ‖∇ℓ‖ ~ 1e3 — still ≈ 0 on the gradient's
    # own scale ‖Φ‖·‖P_j‖‖Q_j‖ ≈ 1e8·1e8, so both point bounds apply and equal cor1.
    depth, rho = 200, 1e8
    ws = [np.array([[rho ** (1 / depth)]]) for _ in range(depth)]
    r = certify(np.array([[rho]]), depth=depth, weights=ws, inits=["identity"])
    cor1 = 2 / (depth * rho ** (2 * (depth - 1) / depth))
    for b in (_one(r, "stability.exact", point="balanced minimum"),
              _one(r, "stability.exact", point="weights"), _one(r, "nar_sastry.thm1")):
        assert b.applies, b.reason
        assert b.max_step == pytest.approx(cor1, rel=1e-8)
