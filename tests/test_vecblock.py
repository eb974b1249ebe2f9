"""The float64 core's register-blocked products (gdcert.sim.vecblock, kernels._gemm_vec)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdcert.sim.kernels import _VEC_MAX_MNK, _gemm, _gemm_generic


@pytest.fixture(scope="module")
def gemm():  # type: ignore[no-untyped-def]
    from numba import njit

    @njit(cache=False)
    def call(a, oa, ta, b, ob, tb, out, oo, n, k, m):  # type: ignore[no-untyped-def]
        _gemm(a, oa, ta, b, ob, tb, out, oo, n, k, m)

    return call


@pytest.fixture(scope="module")
def gemm_generic():  # type: ignore[no-untyped-def]
    from numba import njit

    @njit(cache=False)
    def call(a, oa, ta, b, ob, tb, out, oo, n, k, m, acc):  # type: ignore[no-untyped-def]
        _gemm_generic(a, oa, ta, b, ob, tb, out, oo, n, k, m, acc)

    return call


@settings(max_examples=120, deadline=None)
@given(n=st.integers(1, 26), k=st.integers(1, 26), m=st.integers(1, 26),
       flags=st.sampled_from(["NN", "TN", "NT"]), accumulate=st.booleans(),
       seed=st.integers(0, 2**31))
def test_hvp_products_accumulate(gemm_generic, n: int, k: int, m: int,  # type: ignore[no-untyped-def]
                                 flags: str, accumulate: bool, seed: int) -> None:
    """The Hessian–vector products' ``_gemm_generic`` on every path (loops, register blocks
    with ``C += …``, BLAS): ``C ← op(A)op(B)`` or ``C ← C + op(A)op(B)`` to rounding, nothing
    written outside C."""
    ta, tb = flags[0] == "T", flags[1] == "T"
    rng = np.random.default_rng(seed)
    a_mat = rng.standard_normal((k, n) if ta else (n, k))
    b_mat = rng.standard_normal((m, k) if tb else (k, m))
    c0 = rng.standard_normal((n, m))
    a = np.concatenate([rng.standard_normal(2), a_mat.ravel()])
    b = np.concatenate([b_mat.ravel(), rng.standard_normal(3)])
    out = np.concatenate([np.full(4, np.pi), c0.ravel(), np.full(5, np.pi)])
    gemm_generic(a, 2, int(ta), b, 0, int(tb), out, 4, n, k, m, int(accumulate))
    want = (a_mat.T if ta else a_mat) @ (b_mat.T if tb else b_mat) + (c0 if accumulate else 0)
    got = out[4:4 + n * m].reshape(n, m)
    scale = np.abs(want).max() + np.abs(c0).max()
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13 * scale)
    assert (out[:4] == np.pi).all() and (out[4 + n * m:] == np.pi).all()


@settings(max_examples=120, deadline=None)
@given(n=st.integers(1, 26), k=st.integers(1, 26), m=st.integers(1, 26),
       flags=st.sampled_from(["NN", "TN", "NT"]), seed=st.integers(0, 2**31))
def test_products_match_numpy_and_touch_only_c(gemm, n: int, k: int, m: int,  # type: ignore[no-untyped-def]
                                               flags: str, seed: int) -> None:
    """Every path of ``_gemm`` (fixed, inlined loop, register blocks with masked last
    columns or a masked last stretch of ``p`` and an odd last row, BLAS) gives
    op(A)·op(B) to rounding, at offsets inside flat buffers, and writes nothing outside
    C's n·m entries."""
    ta, tb = flags[0] == "T", flags[1] == "T"
    rng = np.random.default_rng(seed)
    a_mat = rng.standard_normal((k, n) if ta else (n, k))
    b_mat = rng.standard_normal((m, k) if tb else (k, m))
    a = np.concatenate([rng.standard_normal(3), a_mat.ravel(), rng.standard_normal(2)])
    b = np.concatenate([rng.standard_normal(5), b_mat.ravel(), rng.standard_normal(1)])
    out = np.full(7 + n * m + 9, np.pi)
    gemm(a, 3, int(ta), b, 5, int(tb), out, 7, n, k, m)
    want = (a_mat.T if ta else a_mat) @ (b_mat.T if tb else b_mat)
    got = out[7:7 + n * m].reshape(n, m)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13 * np.abs(want).max())
    assert (out[:7] == np.pi).all() and (out[7 + n * m:] == np.pi).all()


def test_mid_sizes_take_the_register_blocks() -> None:
    """The sizes the blocks are for lie inside their range (a guard on the thresholds)."""
    assert 5 * 5 * 5 > 64 and 24**3 <= _VEC_MAX_MNK


@pytest.mark.parametrize("d", [2, 3, 4, 5, 8, 24, 25])
@pytest.mark.parametrize("flags", ["NN", "TN", "NT"])
def test_square_sizes_of_every_path(gemm, d: int, flags: str) -> None:  # type: ignore[no-untyped-def]
    """Square products at each path's edges: unrolled 2, 3, 4; inlined loop; vector blocks
    up to 24³; BLAS from 25."""
    ta, tb = flags[0] == "T", flags[1] == "T"
    rng = np.random.default_rng(d)
    a_mat, b_mat = rng.standard_normal((d, d)), rng.standard_normal((d, d))
    a = np.concatenate([[7.0], a_mat.ravel()])
    b = np.concatenate([[7.0, 7.0], b_mat.ravel()])
    out = np.full(3 + d * d + 2, np.e)
    gemm(a, 1, int(ta), b, 2, int(tb), out, 3, d, d, d)
    want = (a_mat.T if ta else a_mat) @ (b_mat.T if tb else b_mat)
    np.testing.assert_allclose(out[3:3 + d * d].reshape(d, d), want, rtol=1e-13,
                               atol=1e-13 * np.abs(want).max())
    assert (out[:3] == np.e).all() and (out[3 + d * d:] == np.e).all()
