"""The float64 core's register-blocked products (gdcert.sim.vecblock, kernels._gemm_vec)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdcert.sim.kernels import _VEC_MAX_MNK, _gemm


@pytest.fixture(scope="module")
def gemm():  # type: ignore[no-untyped-def]
    from numba import njit

    @njit(cache=False)
    def call(a, oa, ta, b, ob, tb, out, oo, n, k, m):  # type: ignore[no-untyped-def]
        _gemm(a, oa, ta, b, ob, tb, out, oo, n, k, m)

    return call


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
