"""The double-double GD kernel (the certificate's prefix cross-check) against exact arithmetic."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from numba import njit

from gdcert.sim.ddkernel import DDState, _term, dd_trajectory, fma
from gdcert.sim.ddkernel import _mm as dd_mm
from gdcert.sim.ddkernel import _prod as dd_prod

Mat = list[list[Fraction]]


def _frac(a: np.ndarray) -> Mat:
    return [[Fraction(float(v)) for v in row] for row in np.atleast_2d(a)]


def _mm(a: Mat, b: Mat) -> Mat:
    return [[sum((a[i][k] * b[k][j] for k in range(len(b))), Fraction(0))
             for j in range(len(b[0]))] for i in range(len(a))]


def _t(a: Mat) -> Mat:
    return [list(r) for r in zip(*a, strict=True)]


def _eye(n: int) -> Mat:
    return [[Fraction(int(i == j)) for j in range(n)] for i in range(n)]


def exact_gd(ws: list[np.ndarray], eta: float, steps: int, *, target: np.ndarray | None = None,
             x: np.ndarray | None = None, y: np.ndarray | None = None) -> list[Mat]:
    """GD in exact rational arithmetic: ``W_l ← W_l − η P_lᵀ G Q_lᵀ`` (sum convention)."""
    w = [_frac(a) for a in ws]
    e = Fraction(eta)
    if target is not None:
        c, sigma = _frac(target), None
    else:
        assert x is not None and y is not None
        xf, yf = _frac(x), _frac(y)
        c, sigma = _mm(yf, _t(xf)), _mm(xf, _t(xf))
    depth = len(w)
    for _ in range(steps):
        pre = [_eye(len(w[0][0]))]
        for j in range(depth - 1):
            pre.append(_mm(w[j], pre[j]))
        suf = [_eye(len(w[-1]))] * depth
        for j in range(depth - 2, -1, -1):
            suf[j] = _mm(suf[j + 1], w[j + 1])
        prod = _mm(suf[0], w[0])
        if sigma is not None:
            prod = _mm(prod, sigma)
        g = [[p - q for p, q in zip(r1, r2, strict=True)] for r1, r2 in zip(prod, c, strict=True)]
        w = [[[wv - e * gv for wv, gv in zip(wr, gr, strict=True)]
              for wr, gr in zip(w[j], _mm(_mm(_t(suf[j]), g), _t(pre[j])), strict=True)]
             for j in range(depth)]
    return w


def _error(dd: list[tuple[np.ndarray, np.ndarray]], exact: list[Mat]) -> float:
    """Largest |hi + lo − exact| over all entries (exact rational arithmetic)."""
    return max(float(abs(Fraction(float(h[i, j])) + Fraction(float(lo[i, j])) - ex[i][j]))
               for (h, lo), ex in zip(dd, exact, strict=True)
               for i in range(h.shape[0]) for j in range(h.shape[1]))


@pytest.mark.parametrize("widths", [(3, 3, 3, 3), (2, 4, 3), (3, 2), (2, 3, 5, 2),
                                    (9, 12, 8, 5), (4, 4, 4)])
def test_target_form_matches_exact_gd(widths: tuple[int, ...]) -> None:
    rng = np.random.default_rng(sum(widths))
    ws = [0.6 * rng.standard_normal((widths[j + 1], widths[j])) for j in range(len(widths) - 1)]
    phi = rng.standard_normal((widths[-1], widths[0]))
    steps = 4
    dd = dd_trajectory(ws, 0.05, [steps], target=phi)[steps]
    err = _error(dd, exact_gd(ws, 0.05, steps, target=phi))
    # float64 would be off by ~1e-16; double-double by ~1e-31
    assert err < 1e-29


def test_data_form_matches_exact_gd() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((3, 7)), rng.standard_normal((2, 7))
    ws = [0.5 * rng.standard_normal((4, 3)), 0.5 * rng.standard_normal((2, 4))]
    dd = dd_trajectory(ws, 0.01, [3], x=x, y=y)[3]
    assert _error(dd, exact_gd(ws, 0.01, 3, x=x, y=y)) < 1e-29


def test_advance_in_pieces_equals_one_run_and_stays_near_float64() -> None:
    rng = np.random.default_rng(3)
    ws = [np.eye(4) + 0.1 * rng.standard_normal((4, 4)) for _ in range(5)]
    phi = np.diag([2.0, 1.5, 1.0, 0.5])
    once = dd_trajectory(ws, 0.05, [300], target=phi)[300]
    state = DDState(ws, 0.05, target=phi)
    for k in (1, 17, 100, 300):
        pieces = state.advance(k)
    assert state.k == 300
    for (h1, l1), (h2, l2) in zip(once, pieces, strict=True):
        assert np.array_equal(h1, h2) and np.array_equal(l1, l2)
    with pytest.raises(ValueError, match="cannot go back"):
        state.advance(10)
    # a float64 GD from the same start stays within rounding of it
    w = [a.copy() for a in ws]
    for _ in range(300):
        pre = [np.eye(4)]
        for j in range(4):
            pre.append(w[j] @ pre[j])
        suf = [np.eye(4)] * 5
        for j in range(3, -1, -1):
            suf[j] = suf[j + 1] @ w[j + 1]
        g = suf[0] @ w[0] - phi
        w = [w[j] - 0.05 * suf[j].T @ g @ pre[j].T for j in range(5)]
    dev = max(float(np.max(np.abs(a - (h + lo)))) for a, (h, lo) in zip(w, once, strict=True))
    assert 0 < dev < 1e-12
    # the low parts are below half an ulp of the high parts (normalised pairs)
    for h, lo in once:
        assert np.all(np.abs(lo) <= 0.5 * np.spacing(np.abs(h)))


def test_reverse_order_agrees_to_double_double_rounding() -> None:
    rng = np.random.default_rng(11)
    ws = [np.eye(3) + 0.2 * rng.standard_normal((3, 3)) for _ in range(4)]
    phi = rng.standard_normal((3, 3))
    a = dd_trajectory(ws, 0.02, [200], target=phi)[200]
    b = dd_trajectory(ws, 0.02, [200], target=phi, reverse=True)[200]
    diff = max(float(np.max(np.abs((ha - hb) + (la - lb))))
               for (ha, la), (hb, lb) in zip(a, b, strict=True))
    assert diff < 1e-26


@njit(cache=False)
def _product_error(a: float, b: float) -> float:
    return fma(a, b, -(a * b))


def test_fma_gives_the_exact_rounding_error_of_a_product() -> None:
    rng = np.random.default_rng(0)
    for a, b in rng.standard_normal((200, 2)) * np.exp(rng.uniform(-30, 30, (200, 2))):
        err = _product_error(float(a), float(b))
        assert Fraction(float(a)) * Fraction(float(b)) == Fraction(a * b) + Fraction(err)


@njit(cache=False)
def _mm_scalar(ah, al, bh, bl, ch, cl, m, kk, n, ta):  # type: ignore[no-untyped-def]
    for i in range(m):
        for j in range(n):
            h = 0.0
            lo = 0.0
            for k in range(kk):
                xh, xl = (ah[k, i], al[k, i]) if ta else (ah[i, k], al[i, k])
                h, lo = _term(h, lo, xh, xl, bh[k, j], bl[k, j])
            s = h + lo
            cl[i, j] = lo - (s - h)
            ch[i, j] = s


@pytest.mark.parametrize(("m", "kk", "n"), [(6, 7, n) for n in (1, 3, 4, 5, 8, 9, 12, 13, 16, 21)]
                         + [(4, 4, 4), (4, 4, 5), (3, 4, 4)])
@pytest.mark.parametrize("ta", [False, True])
def test_vector_blocks_give_the_scalar_loops_bits(m: int, kk: int, n: int, ta: bool) -> None:
    """The 8- and 4-column vector blocks (two rows, masked last columns) of ``_mm`` are the
    scalar two-sum loop, bit for bit (same operations, same order), including the leftover
    columns."""
    rng = np.random.default_rng(n)
    ah = rng.standard_normal((kk, m) if ta else (m, kk))
    al = ah * 2.0**-60 * rng.standard_normal(ah.shape)
    bh = rng.standard_normal((kk, n)) * np.exp(rng.uniform(-5, 5, (kk, n)))
    bl = bh * 2.0**-60 * rng.standard_normal(bh.shape)
    out = [np.full((m, n), np.nan) for _ in range(4)]
    got = [np.full((2, m, n), np.nan) for _ in range(2)]
    dd_mm(ah[None], al[None], 0, bh[None], bl[None], 0, got[0], got[1], 1, m, kk, n, ta,
          False)
    out[0], out[1] = got[0][1], got[1][1]
    _mm_scalar(ah, al, bh, bl, out[2], out[3], m, kk, n, ta)
    assert np.array_equal(out[0], out[2]) and np.array_equal(out[1], out[3])


@njit(cache=False)
def _prod_call(ah, al, la, ta, bh, bl, lb, tb, ch, cl, lc, d):  # type: ignore[no-untyped-def]
    th = np.zeros((1, d, d))
    dd_prod(ah, al, la, ta, bh, bl, lb, tb, ch, cl, lc, d, d, d, th, th.copy(), 0, False)


@pytest.mark.parametrize("d", [2, 4, 5, 8])
@pytest.mark.parametrize(("ta", "tb"), [(False, False), (True, False), (False, True)])
def test_layer_addressed_products_give_the_scalar_loops_bits(d: int, ta: bool,
                                                             tb: bool) -> None:
    """The products dd_gd takes from layers of its 3-D buffers (no views: the unrolled 2×2,
    the 4×4 block with B read by columns when transposed, the vector blocks and the
    transposed copy) are the scalar loop on the layers, bit for bit, and write only their
    output layer."""
    rng = np.random.default_rng(7 + 2 * ta + tb + 10 * d)
    ah = rng.standard_normal((3, d, d))
    al = ah * 2.0**-60 * rng.standard_normal(ah.shape)
    bh = rng.standard_normal((3, d, d)) * np.exp(rng.uniform(-5, 5, (3, d, d)))
    bl = bh * 2.0**-60 * rng.standard_normal(bh.shape)
    ch, cl = np.full((3, d, d), np.nan), np.full((3, d, d), np.nan)
    _prod_call(ah, al, 1, ta, bh, bl, 2, tb, ch, cl, 0, d)
    b_h, b_l = (bh[2].T.copy(), bl[2].T.copy()) if tb else (bh[2], bl[2])
    want_h, want_l = np.zeros((d, d)), np.zeros((d, d))
    _mm_scalar(ah[1], al[1], b_h, b_l, want_h, want_l, d, d, d, ta)
    assert np.array_equal(ch[0], want_h) and np.array_equal(cl[0], want_l)
    assert np.isnan(ch[1:]).all() and np.isnan(cl[1:]).all()
