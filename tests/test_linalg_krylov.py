"""Block Lanczos, the sliced helpers and the BLAS thread cap in :mod:`gdcert.linalg`."""

from __future__ import annotations

import numpy as np
import pytest

from gdcert import linalg


def _sym_with_spectrum(rng: np.random.Generator, lams: np.ndarray) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((lams.size, lams.size)))
    s = (q * lams) @ q.T
    return 0.5 * (s + s.T)


@pytest.mark.parametrize("block", [1, 3, 16])
def test_block_lanczos_extremes_match_eigvalsh(block: int) -> None:
    rng = np.random.default_rng(0)
    s = _sym_with_spectrum(rng, rng.standard_normal(200))
    w = np.linalg.eigvalsh(s)
    res = linalg.block_lanczos(lambda x: s @ x, 200, ends=("min", "max"), block=block,
                               max_dim=200)
    for end, ref in (("min", w[0]), ("max", w[-1])):
        theta, y = res[end]
        assert theta == pytest.approx(ref, rel=1e-12)
        # the residual rule holds for the returned vector
        assert np.linalg.norm(s @ y - theta * y) <= 1e-9 * abs(theta) * np.linalg.norm(y)


def test_block_lanczos_exact_when_the_basis_spans_everything() -> None:
    rng = np.random.default_rng(1)
    s = _sym_with_spectrum(rng, np.linspace(1.0, 1.0 + 1e-9, 12))  # no gap at all
    res = linalg.block_lanczos(lambda x: s @ x, 12, ends=("max",), block=4, max_dim=12)
    assert res["max"][0] == pytest.approx(np.linalg.eigvalsh(s)[-1], rel=1e-14)


def test_block_lanczos_invariant_subspace_and_zero_operator() -> None:
    # rank-2 operator: the Krylov space becomes invariant after one step
    rng = np.random.default_rng(2)
    u = np.linalg.qr(rng.standard_normal((50, 2)))[0]
    s = (u * [3.0, -2.0]) @ u.T
    res = linalg.block_lanczos(lambda x: s @ x, 50, ends=("min", "max"), block=2)
    assert res["max"][0] == pytest.approx(3.0, rel=1e-12)
    assert res["min"][0] == pytest.approx(-2.0, rel=1e-12)
    zero = linalg.block_lanczos(lambda x: 0.0 * x, 30, ends=("max",), block=4)
    assert zero["max"][0] == 0.0


def test_block_lanczos_reports_no_convergence() -> None:
    rng = np.random.default_rng(3)
    s = _sym_with_spectrum(rng, np.linspace(0.0, 1.0, 300))  # evenly spread: slow
    with pytest.raises(linalg.KrylovNoConvergence):
        linalg.block_lanczos(lambda x: s @ x, 300, ends=("min",), block=2, max_dim=8)


def test_gram_matmat_is_one_pass_gram_product() -> None:
    rng = np.random.default_rng(4)
    for shape in ((70, 40), (40, 70)):
        a = rng.standard_normal(shape)
        mm, n = linalg.gram_matmat(a)
        x = rng.standard_normal((n, 5))
        g = a.T @ a if shape[1] <= shape[0] else a @ a.T
        assert n == min(shape)
        assert np.allclose(mm(x), g @ x, rtol=1e-13, atol=1e-12)


def test_sliced_helpers_agree_with_plain_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linalg, "ROW_BLOCK_BYTES", 64)  # a few rows per slice
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((2, 37, 37))
    assert linalg.diff_norm_sq(a, b) == pytest.approx(np.linalg.norm(a - b) ** 2, rel=1e-13)
    assert linalg.asymmetry_norm(a) == pytest.approx(np.linalg.norm(a - a.T), rel=1e-13)
    assert np.array_equal(linalg.symmetric_part(a), 0.5 * (a + a.T))


def test_eigvalsh_values_overwrite_path() -> None:
    rng = np.random.default_rng(6)
    n = linalg.DENSE_LIMIT + 5  # the LAPACK-through-scipy path
    a = rng.standard_normal((n, n))
    s = 0.5 * (a + a.T)
    ref = np.linalg.eigvalsh(s)
    assert np.allclose(linalg.eigvalsh_values(s.copy(), overwrite=True), ref, atol=1e-12)
    assert np.allclose(linalg.eigvalsh_values(s), ref, atol=1e-12)


def test_blas_threads_cap_is_restored() -> None:
    apis = linalg._openblas_apis()
    before = [get() for get, _ in apis]
    with linalg.blas_threads(1):
        assert all(get() == 1 for get, _ in apis)
    assert [get() for get, _ in apis] == before


def test_eigvalsh_values_two_stage_matches_syevd(monkeypatch: pytest.MonkeyPatch) -> None:
    # the two-stage values-only solver (ctypes, bundled OpenBLAS) gives syevd's values
    rng = np.random.default_rng(21)
    a = rng.standard_normal((400, 400))
    s = 0.5 * (a + a.T)
    monkeypatch.setattr(linalg, "EIG_TWO_STAGE_MIN", 10**9)
    ref = linalg.eigvalsh_values(s)
    monkeypatch.setattr(linalg, "EIG_TWO_STAGE_MIN", 1)
    keep = s.copy()
    got = linalg.eigvalsh_values(s)
    assert np.array_equal(s, keep)  # not overwritten without overwrite=True
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13 * np.max(np.abs(ref)))
    assert np.all(np.diff(got) >= 0)
    got2 = linalg.eigvalsh_values(s.copy(), overwrite=True)
    np.testing.assert_allclose(got2, ref, rtol=0, atol=1e-13 * np.max(np.abs(ref)))


def test_gram_matmat_split_over_threads_matches_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(22)
    for shape in ((900, 300), (300, 900)):
        a = rng.standard_normal(shape)
        x = rng.standard_normal((min(shape), 5))
        gram = a.T @ a if shape[1] <= shape[0] else a @ a.T
        monkeypatch.setattr(linalg, "GRAM_PARALLEL_MIN", 1)
        monkeypatch.setattr(linalg, "_blas_width", lambda apis: 3)
        mm, n = linalg.gram_matmat(a)
        assert n == min(shape)
        np.testing.assert_allclose(mm(x), gram @ x, rtol=1e-12, atol=1e-10)
        np.testing.assert_array_equal(mm(x), mm(x))  # a fixed order of the partial sums
