"""Gradient descent in double-double arithmetic: the a posteriori certificate's prefix check.

The certificate (:mod:`gdcert.api.aposteriori`) proves convergence from a float64 iterate
``Ŵᵏ``; to say how far the exact ``k``-th iterate lies from it, the prefix is re-run at
higher precision. This module runs that re-run compiled: every number is an unevaluated
sum ``hi + lo`` of two doubles (a *double-double*, ≈ 106-bit significand; Dekker 1971,
Hida–Li–Bailey's QD library), products are made error-free with a fused multiply–add
(``fma(a, b, −fl(ab))`` is the exact rounding error of ``fl(ab)``), sums with Knuth's
two-sum. The kernel is compiled *without* ``fastmath``: reassociation would destroy the
error-free transformations.

One step is the same GD step as the float64 core
(``W_l ← W_l − η P_lᵀ G Q_lᵀ``, ``G = W_{L:1} − Φ`` in target form, ``G = W_{L:1}Σ − C``
with ``Σ = XXᵀ``, ``C = YXᵀ`` in data form) organised in ``3L`` products:
``Q_{l+1} = W_l Q_l`` (prefix), ``B_{L−1} = G``, ``B_{l−1} = W_lᵀ B_l`` (so that
``B_l = P_lᵀ G``) and ``∇_l = B_l Q_lᵀ``.

Accuracy: each dd product ``Σ_k a_k b_k`` is accurate to about ``2⁻¹⁰⁴ Σ_k |a_k||b_k|``
(the products' low parts are accumulated in a plain double, renormalised once per
entry), which is ``2⁻⁵¹`` times below float64's own per-step error; the deviation of the
float64 run from this one is therefore the float64 run's deviation from exact GD to
about 15 digits until that deviation itself approaches ``2⁻¹⁰⁴`` relative.

``reverse=True`` sums every inner product in the opposite order: two dd runs that
differ only in that measure the dd rounding's own effect on the trajectory.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit
from numba.core import types
from numba.extending import intrinsic

__all__ = ["DDState", "dd_gd", "dd_trajectory", "fma"]


if numba.config.DISABLE_JIT:  # type: ignore[attr-defined]  # pragma: no cover
    from fractions import Fraction

    def fma(a: float, b: float, c: float) -> float:
        """``a·b + c`` rounded once (exact rational arithmetic, then one rounding)."""
        return float(Fraction(a) * Fraction(b) + Fraction(c))
else:
    @intrinsic
    def fma(typingctx, a, b, c):  # type: ignore[no-untyped-def]
        """``a·b + c`` rounded once: LLVM's ``llvm.fma.f64`` (a hardware FMA on x86-64 v3)."""
        sig = types.float64(types.float64, types.float64, types.float64)

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            return builder.fma(*args)

        return sig, codegen


@njit(cache=True, forceinline=True)
def _term(h, l, xh, xl, yh, yl):  # type: ignore[no-untyped-def]
    """``(h, l) += (xh + xl)(yh + yl)``: the product's rounding error by FMA, the sum's by
    two-sum (Knuth), both gathered with the low-order cross terms in ``l``."""
    p = xh * yh
    e = fma(xh, yh, -p) + fma(xl, yh, xh * yl)
    s = h + p
    bb = s - h
    return s, l + (((h - (s - bb)) + (p - bb)) + e)


class _IR:
    """The LLVM-IR pieces both vector code generators share: element pointers of numba
    arrays, ``<4 x double>`` splats and the double-double term of :func:`_term`."""

    def __init__(self, context, builder):  # type: ignore[no-untyped-def]
        from llvmlite import ir
        from numba.core import cgutils

        self.ir, self.cgutils = ir, cgutils
        self.context, self.builder = context, builder
        self.vec = ir.VectorType(ir.DoubleType(), 4)
        self.zero = ir.Constant(self.vec, [0.0] * 4)
        self.vfma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(self.vec, [self.vec] * 3), "llvm.fma.v4f64")

    def item(self, aty, aval, r, c, layer=None):  # type: ignore[no-untyped-def]
        """Pointer to ``a[r, c]``, or ``a[layer, r, c]`` for a 3-D array (indices IR
        integers or Python ints; ``layer`` ignored for a 2-D array)."""
        ir, cg, b = self.ir, self.cgutils, self.builder
        idx = [r, c] if aty.ndim == 2 else [layer, r, c]
        idx = [ir.Constant(ir.IntType(64), x) if isinstance(x, int) else x for x in idx]
        ary = self.context.make_array(aty)(self.context, b, aval)
        return cg.get_item_pointer2(self.context, b, ary.data, cg.unpack_tuple(b, ary.shape),
                                    cg.unpack_tuple(b, ary.strides), aty.layout, idx)

    def vptr(self, aty, aval, r, c, layer=None):  # type: ignore[no-untyped-def]
        """``a[r, c:c+4]`` (``a[layer, r, c:c+4]``) as a ``<4 x double>*``."""
        return self.builder.bitcast(self.item(aty, aval, r, c, layer), self.vec.as_pointer())

    def gather(self, aty, aval, c, layer=None):  # type: ignore[no-untyped-def]
        """Column ``c`` of a 4-row block, ``a[0:4, c]``, as a ``<4 x double>``."""
        b, i32 = self.builder, self.ir.IntType(32)
        v = self.ir.Constant(self.vec, self.ir.Undefined)
        for q in range(4):
            x = b.load(self.item(aty, aval, q, c, layer))
            v = b.insert_element(v, x, self.ir.Constant(i32, q))
        return v

    def splat(self, x):  # type: ignore[no-untyped-def]
        v = self.ir.Constant(self.vec, self.ir.Undefined)
        for q in range(4):
            v = self.builder.insert_element(v, x, self.ir.Constant(self.ir.IntType(32), q))
        return v

    def term(self, h, lo, xh, xl, yh, yl):  # type: ignore[no-untyped-def]
        """:func:`_term` on four lanes: ``(h, lo) += (xh + xl)(yh + yl)``, same order."""
        b = self.builder
        p = b.fmul(xh, yh)
        e = b.fadd(b.call(self.vfma, [xh, yh, b.fneg(p)]),
                   b.call(self.vfma, [xl, yh, b.fmul(xh, yl)]))
        s = b.fadd(h, p)
        bb = b.fsub(s, h)
        err = b.fadd(b.fsub(h, b.fsub(s, bb)), b.fsub(p, bb))
        return s, b.fadd(lo, b.fadd(err, e))

    def store(self, h, lo, hptr, lptr):  # type: ignore[no-untyped-def]
        """Renormalise ``(h, lo)`` (as :func:`_mm` does) and store both parts."""
        b = self.builder
        s = b.fadd(h, lo)
        b.store(b.fsub(lo, b.fsub(s, h)), lptr, align=8)
        b.store(s, hptr, align=8)


def _block_codegen(width: int, masked: bool = False):  # type: ignore[no-untyped-def]
    """LLVM IR for ``C[i, j:j+width] ← Σ_k op(A)[i, k] B[k, j:j+width]`` in double-double
    (``width`` = 4 or 8 columns, one or two ``<4 x double>`` accumulator pairs); A, B, C
    are layers ``la``, ``lb``, ``lc`` of 3-D buffers (or 2-D arrays, the layer ignored).

    The same operations as :func:`_term` in the same order (``k`` ascending), on 4 columns
    at once, the accumulators in registers across ``k`` (allocas that LLVM promotes); the
    result is bit-for-bit the scalar loop's. numba leaves the SLP vectoriser off and its
    loop vectoriser keeps the accumulators in memory, which made the scalar double-double
    products latency-bound (≈ 2 ns per term at d = 4, against ≈ 1.2 ns here).

    ``masked`` (width 4): only the first ``cnt`` (1–3) columns — B read by LLVM's masked
    loads (zeros in the other lanes, whose sums are discarded), C written lane by lane.
    The last columns of a width that is not a multiple of 4 ran one entry at a time, ≈ 2 ns
    per term: at d = 6 a third of the terms, which made d = 6 slower than d = 8.

    Two rows ``i`` and ``i2`` of C at once (B's vectors loaded once for both; ``i2 = i`` for
    a single row, computed twice). A term's two-sum is a chain of seven additions that
    does not feed the next term except through two of them, so the CPU overlaps
    consecutive terms only as far as its window reaches: more independent sums per step of
    ``k`` keep more of them in flight (d = 6: 2.2× faster than one row at a time)."""
    rows = 2
    nv = width // 4

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        ahv, alv, lav, tav, iv, i2v, bhv, blv, lbv, jv, kkv, chv, clv, lcv = args[:14]
        tys = signature.args[:4] + signature.args[5:]  # positions as without i2
        g = _IR(context, builder)
        ir = g.ir
        i32, i64 = ir.IntType(32), ir.IntType(64)
        if masked:
            cnt = args[14]
            mvec = ir.VectorType(ir.IntType(1), 4)
            mload = g.cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(g.vec, [g.vec.as_pointer(), i32, mvec, g.vec]),
                "llvm.masked.load.v4f64.p0")
            mask = ir.Constant(mvec, ir.Undefined)
            for q in range(4):
                mask = builder.insert_element(
                    mask, builder.icmp_signed(">", cnt, ir.Constant(cnt.type, q)),
                    ir.Constant(i32, q))

        def load(pv):  # type: ignore[no-untyped-def]
            if masked:
                return builder.call(mload, [pv, ir.Constant(i32, 8), mask, g.zero])
            return builder.load(pv, align=8)

        cols = [builder.add(jv, g.ir.Constant(jv.type, 4 * q)) for q in range(nv)]
        rws = [iv, i2v]
        hs = [[g.cgutils.alloca_once_value(builder, g.zero) for _ in range(nv)]
              for _ in range(rows)]
        ls = [[g.cgutils.alloca_once_value(builder, g.zero) for _ in range(nv)]
              for _ in range(rows)]
        transposed = builder.icmp_unsigned("!=", tav, g.ir.Constant(tav.type, 0))
        with g.cgutils.for_range(builder, kkv) as loop:
            k = loop.index
            ys = [(load(g.vptr(tys[5], bhv, k, cols[q], lbv)),
                   load(g.vptr(tys[6], blv, k, cols[q], lbv))) for q in range(nv)]
            for rr in range(rows):
                r = builder.select(transposed, k, rws[rr])
                c = builder.select(transposed, rws[rr], k)
                xh = g.splat(builder.load(g.item(tys[0], ahv, r, c, lav)))
                xl = g.splat(builder.load(g.item(tys[1], alv, r, c, lav)))
                for q in range(nv):
                    h, lo = g.term(builder.load(hs[rr][q]), builder.load(ls[rr][q]), xh, xl,
                                   *ys[q])
                    builder.store(lo, ls[rr][q])
                    builder.store(h, hs[rr][q])
        for rr in range(rows):
            if masked:
                h, lo = builder.load(hs[rr][0]), builder.load(ls[rr][0])
                tot = builder.fadd(h, lo)
                low = builder.fsub(lo, builder.fsub(tot, h))  # g.store's renormalisation
                for q in range(3):
                    with builder.if_then(builder.icmp_signed(">", cnt,
                                                             ir.Constant(cnt.type, q))):
                        col = builder.add(jv, ir.Constant(i64, q))
                        builder.store(builder.extract_element(low, ir.Constant(i32, q)),
                                      g.item(tys[11], clv, rws[rr], col, lcv), align=8)
                        builder.store(builder.extract_element(tot, ir.Constant(i32, q)),
                                      g.item(tys[10], chv, rws[rr], col, lcv), align=8)
                continue
            for q in range(nv):
                g.store(builder.load(hs[rr][q]), builder.load(ls[rr][q]),
                        g.vptr(tys[10], chv, rws[rr], cols[q], lcv),
                        g.vptr(tys[11], clv, rws[rr], cols[q], lcv))
        return context.get_dummy_value()

    return codegen


def _mm4_codegen():  # type: ignore[no-untyped-def]
    """LLVM IR for a whole 4×4 double-double product ``C ← op(A) op(B)``:
    :func:`_block_codegen` with every loop unrolled at code generation (rows and ``k``
    constant), B's rows (columns, when ``tb``) loaded once for all four rows of C, the
    accumulators SSA values. The four rows' sums are independent chains the CPU overlaps;
    the operations per entry are :func:`_term`'s, in its order (same bits). The operands
    are 2-D arrays, or layers ``la``, ``lb``, ``lc`` of 3-D buffers — read in place, so the
    double-double GD step takes no array views (whose reference counting cost more than
    the products at d = 4)."""

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        ahv, alv, lav, tav, bhv, blv, lbv, tbv, chv, clv, lcv = args
        tys = signature.args
        g = _IR(context, builder)
        zero = g.ir.Constant(tav.type, 0)
        ta = builder.icmp_unsigned("!=", tav, zero)
        tb = builder.icmp_unsigned("!=", tbv, zero)
        yhs, yls = [], []
        for k in range(4):
            for ty, val, acc in ((tys[4], bhv, yhs), (tys[5], blv, yls)):
                row = builder.load(g.vptr(ty, val, k, 0, lbv), align=8)
                acc.append(builder.select(tb, g.gather(ty, val, k, lbv), row))
        out = []
        for i in range(4):
            h = lo = g.zero
            for k in range(4):
                ah = builder.select(ta, builder.load(g.item(tys[0], ahv, k, i, lav)),
                                    builder.load(g.item(tys[0], ahv, i, k, lav)))
                al = builder.select(ta, builder.load(g.item(tys[1], alv, k, i, lav)),
                                    builder.load(g.item(tys[1], alv, i, k, lav)))
                h, lo = g.term(h, lo, g.splat(ah), g.splat(al), yhs[k], yls[k])
            out.append((h, lo))
        for i, (h, lo) in enumerate(out):  # stores last: C may be one of the inputs' rows
            g.store(h, lo, g.vptr(tys[8], chv, i, 0, lcv), g.vptr(tys[9], clv, i, 0, lcv))
        return context.get_dummy_value()

    return codegen


if numba.config.DISABLE_JIT:  # type: ignore[attr-defined]  # pragma: no cover
    def _at(a, layer):  # type: ignore[no-untyped-def]
        return a if a.ndim == 2 else a[layer]

    def _block_py(ah, al, ta, i, bh, bl, j, kk, ch, cl, width):  # type: ignore[no-untyped-def]
        for c in range(j, j + width):
            h = lo = 0.0
            for k in range(kk):
                xh, xl = (ah[k, i], al[k, i]) if ta else (ah[i, k], al[i, k])
                h, lo = _term(h, lo, xh, xl, bh[k, c], bl[k, c])
            s = h + lo
            cl[i, c] = lo - (s - h)
            ch[i, c] = s

    def _blocks_py(ah, al, la, ta, i, i2, bh, bl, lb, j, kk, ch, cl, lc,  # type: ignore[no-untyped-def]
                   width):
        for r in (i, i2):
            _block_py(_at(ah, la), _at(al, la), ta, r, _at(bh, lb), _at(bl, lb), j, kk,
                      _at(ch, lc), _at(cl, lc), width)

    def _block4(ah, al, la, ta, i, i2, bh, bl, lb, j, kk, ch, cl, lc):  # type: ignore[no-untyped-def]
        _blocks_py(ah, al, la, ta, i, i2, bh, bl, lb, j, kk, ch, cl, lc, 4)

    def _block8(ah, al, la, ta, i, i2, bh, bl, lb, j, kk, ch, cl, lc):  # type: ignore[no-untyped-def]
        _blocks_py(ah, al, la, ta, i, i2, bh, bl, lb, j, kk, ch, cl, lc, 8)

    def _block4m(ah, al, la, ta, i, i2, bh, bl, lb, j, kk, ch, cl, lc,  # type: ignore[no-untyped-def]
                 cnt):
        _blocks_py(ah, al, la, ta, i, i2, bh, bl, lb, j, kk, ch, cl, lc, cnt)

    def _mm4x4(ah, al, la, ta, bh, bl, lb, tb, ch, cl, lc):  # type: ignore[no-untyped-def]
        bh, bl = _at(bh, lb)[:4, :4], _at(bl, lb)[:4, :4]
        if tb:
            bh, bl = bh.T.copy(), bl.T.copy()
        hs, ls = np.zeros((4, 4)), np.zeros((4, 4))
        for i in range(4):
            _block_py(_at(ah, la), _at(al, la), ta, i, bh, bl, 0, 4, hs, ls, 4)
        _at(ch, lc)[:4, :4] = hs
        _at(cl, lc)[:4, :4] = ls
else:
    @intrinsic
    def _block4(typingctx, ah, al, la, ta, i, i2, bh, bl, lb, j, kk, ch, cl, lc):  # type: ignore[no-untyped-def]
        """``C[(i, i2), j:j+4]`` (see :func:`_block_codegen`); ``ta`` an integer flag."""
        return (types.void(ah, al, la, ta, i, i2, bh, bl, lb, j, kk, ch, cl, lc),
                _block_codegen(4))

    @intrinsic
    def _block8(typingctx, ah, al, la, ta, i, i2, bh, bl, lb, j, kk, ch, cl, lc):  # type: ignore[no-untyped-def]
        """``C[(i, i2), j:j+8]`` (see :func:`_block_codegen`)."""
        return (types.void(ah, al, la, ta, i, i2, bh, bl, lb, j, kk, ch, cl, lc),
                _block_codegen(8))

    @intrinsic
    def _block4m(typingctx, ah, al, la, ta, i, i2, bh, bl, lb, j, kk, ch, cl, lc,  # type: ignore[no-untyped-def]
                 cnt):
        """``C[(i, i2), j:j+cnt]``, ``cnt`` = 1–3 (see :func:`_block_codegen`,
        ``masked``)."""
        return (types.void(ah, al, la, ta, i, i2, bh, bl, lb, j, kk, ch, cl, lc, cnt),
                _block_codegen(4, masked=True))

    @intrinsic
    def _mm4x4(typingctx, ah, al, la, ta, bh, bl, lb, tb, ch, cl, lc):  # type: ignore[no-untyped-def]
        """A whole 4×4 product (see :func:`_mm4_codegen`); ``ta``, ``tb`` integer flags,
        ``la``, ``lb``, ``lc`` layer indices (ignored for 2-D arrays)."""
        return (types.void(ah, al, la, ta, bh, bl, lb, tb, ch, cl, lc), _mm4_codegen())


@njit(cache=True, forceinline=True)
def _mm_fixed(ah, al, bh, bl, ch, cl, ta, tb, size):  # type: ignore[no-untyped-def]
    """``C ← op(A) op(B)`` for square ``size × size`` blocks; ``ta``, ``tb`` and ``size`` are
    literals at the call sites, so LLVM unrolls every loop (the ``size²`` sums are
    independent chains it can interleave). C must not be A or B. Summation order: ``k``
    ascending, as in :func:`_mm`."""
    for i in range(size):
        for j in range(size):
            h = 0.0
            lo = 0.0
            for k in range(size):
                if ta:
                    xh = ah[k, i]
                    xl = al[k, i]
                else:
                    xh = ah[i, k]
                    xl = al[i, k]
                if tb:
                    yh = bh[j, k]
                    yl = bl[j, k]
                else:
                    yh = bh[k, j]
                    yl = bl[k, j]
                h, lo = _term(h, lo, xh, xl, yh, yl)
            s = h + lo
            cl[i, j] = lo - (s - h)
            ch[i, j] = s


@njit(cache=True)
def _mm(ah, al, la, bh, bl, lb, ch, cl, lc, m, kk, n, ta, reverse):  # type: ignore[no-untyped-def]
    """``C[lc] ← op(A[la]) B[lb]`` in double-double; ``op(A) = Aᵀ`` when ``ta``; sizes m×kk
    times kk×n; C's layer must differ from the inputs'.

    The operands are the leading blocks of layers of padded ``(·, dmax, dmax)`` buffers
    (hi and lo parts), addressed by index (no array views). Entry ``(i, j)`` sums
    ``a_ik b_kj`` over ``k`` ascending (descending when ``reverse``) by :func:`_term` — hi
    parts by two-sum, every error term gathered in the lo part — renormalised once at the
    end. Forward sums run 8 or 4 columns (and the last 1–3 masked) of two rows at a time
    in vector registers (:func:`_block_codegen`), the reverse order one entry at a time;
    both give the same bits. (A whole 4×4 product is one unrolled block, :func:`_mm4x4`,
    which :func:`_prod` calls directly.)
    """
    flag = 1 if ta else 0
    n8 = 0 if reverse else n - n % 8
    n4 = 0 if reverse else n - n % 4
    if not reverse:  # two rows of C at a time; an odd last row paired with itself
        for i in range(0, m, 2):
            i2 = min(i + 1, m - 1)
            for j in range(0, n8, 8):
                _block8(ah, al, la, flag, i, i2, bh, bl, lb, j, kk, ch, cl, lc)
            for j in range(n8, n4, 4):
                _block4(ah, al, la, flag, i, i2, bh, bl, lb, j, kk, ch, cl, lc)
            if n4 < n:
                _block4m(ah, al, la, flag, i, i2, bh, bl, lb, n4, kk, ch, cl, lc, n - n4)
        return
    for i in range(m):
        for j in range(n4, n):
            h = 0.0
            lo = 0.0
            for t in range(kk):
                k = kk - 1 - t if reverse else t
                if ta:
                    xh = ah[la, k, i]
                    xl = al[la, k, i]
                else:
                    xh = ah[la, i, k]
                    xl = al[la, i, k]
                h, lo = _term(h, lo, xh, xl, bh[lb, k, j], bl[lb, k, j])
            s = h + lo
            cl[lc, i, j] = lo - (s - h)
            ch[lc, i, j] = s


@njit(cache=True)
def _mm_nt(ah, al, la, bh, bl, lb, ch, cl, lc, m, kk, n, th, tl, lt,
           reverse):  # type: ignore[no-untyped-def]
    """``C[lc] ← A[la] B[lb]ᵀ`` (B is n×kk) through a transposed copy of B in layer ``lt``
    of ``(th, tl)``."""
    for i in range(n):
        for j in range(kk):
            th[lt, j, i] = bh[lb, i, j]
            tl[lt, j, i] = bl[lb, i, j]
    _mm(ah, al, la, th, tl, lt, ch, cl, lc, m, kk, n, False, reverse)


@njit(cache=True, forceinline=True)
def _prod(ah, al, la, ta, bh, bl, lb, tb, ch, cl, lc, m, kk, n, th, tl, lt,
          reverse):  # type: ignore[no-untyped-def]
    """``C[lc] ← op(A[la]) op(B[lb])`` (``ta``, ``tb`` not both set; ``lc`` a layer of
    neither input) on layers of 3-D buffers, addressed by index: square 2×2 products
    unrolled (:func:`_mm_fixed`, on views of the layers, which measured 10 % faster there),
    4×4 ones in one block (:func:`_mm4x4`, B read by columns when ``tb``), every other one
    through :func:`_mm` (``tb`` via a transposed copy in layer ``lt`` of ``(th, tl)``); no
    views but the 2×2 case's."""
    if m == 2 and kk == 2 and n == 2 and not reverse:  # on views: measured 10 % faster
        a_h, a_l, b_h, b_l, c_h, c_l = ah[la], al[la], bh[lb], bl[lb], ch[lc], cl[lc]
        if ta:
            _mm_fixed(a_h, a_l, b_h, b_l, c_h, c_l, True, False, 2)
        elif tb:
            _mm_fixed(a_h, a_l, b_h, b_l, c_h, c_l, False, True, 2)
        else:
            _mm_fixed(a_h, a_l, b_h, b_l, c_h, c_l, False, False, 2)
    elif m == 4 and kk == 4 and n == 4 and not reverse:
        _mm4x4(ah, al, la, 1 if ta else 0, bh, bl, lb, 1 if tb else 0, ch, cl, lc)
    elif tb:
        _mm_nt(ah, al, la, bh, bl, lb, ch, cl, lc, m, kk, n, th, tl, lt, reverse)
    else:
        _mm(ah, al, la, bh, bl, lb, ch, cl, lc, m, kk, n, ta, reverse)


@njit(cache=True, forceinline=True)
def _copy3(ah, al, la, ch, cl, lc, m, n):  # type: ignore[no-untyped-def]
    """``C[lc] ← A[la]`` (the leading m×n blocks, both parts)."""
    for i in range(m):
        for j in range(n):
            ch[lc, i, j] = ah[la, i, j]
            cl[lc, i, j] = al[la, i, j]


@njit(cache=True, forceinline=True)
def _sub_into(ah, al, la, lb, m, n):  # type: ignore[no-untyped-def]
    """``A[la] ← A[la] − A[lb]`` in double-double (accurate two-sum on both parts)."""
    for i in range(m):
        for j in range(n):
            s = ah[la, i, j] - ah[lb, i, j]
            bb = s - ah[la, i, j]
            e = (ah[la, i, j] - (s - bb)) + (-ah[lb, i, j] - bb)
            t = al[la, i, j] - al[lb, i, j]
            bb2 = t - al[la, i, j]
            f = (al[la, i, j] - (t - bb2)) + (-al[lb, i, j] - bb2)
            e += t
            hi = s + e
            e = e - (hi - s)
            e += f
            s2 = hi + e
            al[la, i, j] = e - (s2 - hi)
            ah[la, i, j] = s2


@njit(cache=True, forceinline=True)
def _step_into(h, lo_, lw, lg, eta, m, n):  # type: ignore[no-untyped-def]
    """``W ← W − η ∇`` in double-double, W and ∇ layers ``lw`` and ``lg`` of ``(h, lo_)``
    (η a double, its products made exact by FMA)."""
    for i in range(m):
        for j in range(n):
            p = eta * h[lg, i, j]
            e = fma(eta, h[lg, i, j], -p) + eta * lo_[lg, i, j]
            # W − (p + e): two-sum of the hi parts, the rest in the low part
            s = h[lw, i, j] - p
            bb = s - h[lw, i, j]
            err = (h[lw, i, j] - (s - bb)) + (-p - bb)
            lo = err + (lo_[lw, i, j] - e)
            hi = s + lo
            lo_[lw, i, j] = lo - (hi - s)
            h[lw, i, j] = hi


#: Operations of dd_gd's step schedule (column 0 of :func:`_schedule`'s rows).
_OP_PROD, _OP_COPY, _OP_SUB, _OP_STEP = 0, 1, 2, 3


@njit(cache=True)
def _schedule(depth, widths, data_form):  # type: ignore[no-untyped-def]
    """One GD step of :func:`dd_gd` as rows ``(op, la, ta, lb, tb, lc, m, kk, n)`` over the
    layers of its buffer: ``W_l`` at ``l``, ``Q_l`` at ``L + l``, ``∇_l`` at ``2L + l``,
    then the product, the two back-propagated matrices, C, Σ and a transpose scratch at
    ``3L … 3L + 5``. ``_OP_PROD``: ``C[lc] ← op(A[la]) op(B[lb])`` (m×kk times kk×n);
    ``_OP_COPY``: ``[lc] ← [la]`` (m×n); ``_OP_SUB``: ``[lc] ← [lc] − [la]``;
    ``_OP_STEP``: ``W[lc] ← W[lc] − η ∇[la]``. Returns ``(rows, count)``.

    A table instead of straight-line code: the step loop then has one product call site
    per transpose case (three), so the unrolled product code (the 2×2 and 4×4 blocks,
    inlined) is compiled three times instead of at six sites with all their variants
    (which had taken the kernel's cold compile from 15 to 35–41 s CPU)."""
    d0 = widths[0]
    dl = widths[depth]
    q0, g0 = depth, 2 * depth
    lp, lb1, lb2, lcc, ls = 3 * depth, 3 * depth + 1, 3 * depth + 2, 3 * depth + 3, 3 * depth + 4
    ops = np.zeros((4 * depth + 4, 9), dtype=np.int64)
    n_ops = 0

    def put(row, op, la, ta, lb, tb, lc, m, kk, n):  # type: ignore[no-untyped-def]
        ops[row, 0] = op
        ops[row, 1] = la
        ops[row, 2] = ta
        ops[row, 3] = lb
        ops[row, 4] = tb
        ops[row, 5] = lc
        ops[row, 6] = m
        ops[row, 7] = kk
        ops[row, 8] = n
        return row + 1

    # prefix products Q_1 = W_0, Q_{l+1} = W_l Q_l, then W_{L:1} = W_{L-1} Q_{L-1}
    if depth == 1:
        n_ops = put(n_ops, _OP_COPY, 0, 0, 0, 0, lp, dl, 0, d0)
    else:
        n_ops = put(n_ops, _OP_COPY, 0, 0, 0, 0, q0 + 1, widths[1], 0, d0)
        for lay in range(1, depth - 1):
            n_ops = put(n_ops, _OP_PROD, lay, 0, q0 + lay, 0, q0 + lay + 1, widths[lay + 1],
                        widths[lay], d0)
        n_ops = put(n_ops, _OP_PROD, depth - 1, 0, q0 + depth - 1, 0, lp, dl, widths[depth - 1],
                    d0)
    # the residual G = W_{L:1}(Σ) − C in B_{L-1}
    b, b2 = lb1, lb2
    if data_form:
        n_ops = put(n_ops, _OP_PROD, lp, 0, ls, 0, b, dl, d0, d0)
    else:
        n_ops = put(n_ops, _OP_COPY, lp, 0, 0, 0, b, dl, 0, d0)
    n_ops = put(n_ops, _OP_SUB, lcc, 0, 0, 0, b, dl, 0, d0)
    # ∇_l = B_l Q_lᵀ, B_{l-1} = W_lᵀ B_l
    for lay in range(depth - 1, -1, -1):
        if lay == 0:
            n_ops = put(n_ops, _OP_COPY, b, 0, 0, 0, g0, widths[1], 0, d0)
        else:
            n_ops = put(n_ops, _OP_PROD, b, 0, q0 + lay, 1, g0 + lay, widths[lay + 1], d0,
                        widths[lay])
            n_ops = put(n_ops, _OP_PROD, lay, 1, b, 0, b2, widths[lay], widths[lay + 1], d0)
            b, b2 = b2, b
    for lay in range(depth):
        n_ops = put(n_ops, _OP_STEP, g0 + lay, 0, 0, 0, lay, widths[lay + 1], 0, widths[lay])
    return ops, n_ops


@njit(cache=True, nogil=True)
def dd_gd(w_hi, w_lo, widths, c_hi, c_lo, s_hi, s_lo, data_form, eta, ks, out_hi, out_lo,
          reverse):  # type: ignore[no-untyped-def]
    """GD in double-double from ``(w_hi, w_lo)`` (``(L, dmax, dmax)``, layer ``l`` is
    ``widths[l+1] × widths[l]``); the iterates at the sorted steps ``ks`` go to
    ``out_hi[i], out_lo[i]``. ``C`` (target Φ, or ``YXᵀ``) and, in data form, ``Σ = XXᵀ``
    as dd pairs (``(dmax, dmax)``). The weights are updated in place.

    Every matrix lives in a layer of one 3-D buffer pair and a step runs the table of
    :func:`_schedule`; the products address layers by index (:func:`_prod`), so a step
    with 4×4 products creates no array views.
    """
    depth = w_hi.shape[0]
    dmax = w_hi.shape[1]
    bh = np.zeros((3 * depth + 6, dmax, dmax))
    bl = np.zeros((3 * depth + 6, dmax, dmax))
    bh[:depth] = w_hi
    bl[:depth] = w_lo
    bh[3 * depth + 3] = c_hi
    bl[3 * depth + 3] = c_lo
    bh[3 * depth + 4] = s_hi
    bl[3 * depth + 4] = s_lo
    lt = 3 * depth + 5
    ops, n_ops = _schedule(depth, widths, data_form)
    last = ks[ks.shape[0] - 1] if ks.shape[0] > 0 else 0
    nxt = 0
    for step in range(last + 1):
        while nxt < ks.shape[0] and ks[nxt] == step:
            out_hi[nxt] = bh[:depth]
            out_lo[nxt] = bl[:depth]
            nxt += 1
        if step == last:
            break
        for q in range(n_ops):
            op = ops[q, 0]
            la = ops[q, 1]
            lc = ops[q, 5]
            m = ops[q, 6]
            n = ops[q, 8]
            if op == _OP_PROD:  # one call site per transpose case: constant flags
                if ops[q, 2] != 0:
                    _prod(bh, bl, la, True, bh, bl, ops[q, 3], False, bh, bl, lc, m, ops[q, 7],
                          n, bh, bl, lt, reverse)
                elif ops[q, 4] != 0:
                    _prod(bh, bl, la, False, bh, bl, ops[q, 3], True, bh, bl, lc, m, ops[q, 7],
                          n, bh, bl, lt, reverse)
                else:
                    _prod(bh, bl, la, False, bh, bl, ops[q, 3], False, bh, bl, lc, m,
                          ops[q, 7], n, bh, bl, lt, reverse)
            elif op == _OP_COPY:
                _copy3(bh, bl, la, bh, bl, lc, m, n)
            elif op == _OP_SUB:
                _sub_into(bh, bl, lc, la, m, n)
            else:
                _step_into(bh, bl, lc, la, eta, m, n)
    w_hi[:] = bh[:depth]
    w_lo[:] = bl[:depth]


def _dd_gram(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``A Bᵀ`` of two float64 matrices as a double-double pair (products exact by FMA)."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    m, kk = a.shape
    n = b.shape[0]
    ch, cl = np.zeros((1, m, n)), np.zeros((1, m, n))
    th, tl = np.zeros((1, kk, n)), np.zeros((1, kk, n))
    _mm_nt(a[None], np.zeros((1, m, kk)), 0, b[None], np.zeros((1, n, kk)), 0, ch, cl, 0,
           m, kk, n, th, tl, 0, False)
    return ch[0], cl[0]


class DDState:
    """A double-double GD trajectory advanced on demand (``advance``), from float64 weights.

    Target form (``target`` Φ) or data form (``x`` d_0×N, ``y`` d_L×N: ``Σ = XXᵀ`` and
    ``C = YXᵀ`` are formed exactly to double-double from the float64 data). ``k`` is the
    current step. The kernel releases the GIL, so a thread can advance a state while the
    float64 simulation runs.
    """

    def __init__(self, weights: list[np.ndarray], eta: float, *,
                 target: np.ndarray | None = None, x: np.ndarray | None = None,
                 y: np.ndarray | None = None, reverse: bool = False) -> None:
        ws = [np.asarray(w, dtype=np.float64) for w in weights]
        self.depth = len(ws)
        self.widths = np.array([ws[0].shape[1]] + [w.shape[0] for w in ws], dtype=np.int64)
        dmax = int(self.widths.max())
        self.w_hi = np.zeros((self.depth, dmax, dmax))
        self.w_lo = np.zeros((self.depth, dmax, dmax))
        for j, w in enumerate(ws):
            self.w_hi[j, :w.shape[0], :w.shape[1]] = w
        self.c_hi, self.c_lo = np.zeros((dmax, dmax)), np.zeros((dmax, dmax))
        self.s_hi, self.s_lo = np.zeros((dmax, dmax)), np.zeros((dmax, dmax))
        d0, dl = int(self.widths[0]), int(self.widths[-1])
        if target is not None:
            self.c_hi[:dl, :d0] = target
            self.data_form = False
        else:
            if x is None or y is None:
                raise ValueError("DDState needs target, or both x and y")
            self.c_hi[:dl, :d0], self.c_lo[:dl, :d0] = _dd_gram(y, x)
            self.s_hi[:d0, :d0], self.s_lo[:d0, :d0] = _dd_gram(x, x)
            self.data_form = True
        self.eta = float(eta)
        self.reverse = bool(reverse)
        self.k = 0
        self._out = (np.zeros((1,) + self.w_hi.shape), np.zeros((1,) + self.w_hi.shape))
        from gdcert.sim.engine import ensure_compiled  # here: the compile notice, main thread

        ensure_compiled(dd_gd, self._args(1))

    def _args(self, steps: int) -> tuple[object, ...]:
        return (self.w_hi, self.w_lo, self.widths, self.c_hi, self.c_lo, self.s_hi, self.s_lo,
                self.data_form, self.eta, np.array([steps], dtype=np.int64), *self._out,
                self.reverse)

    def layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The current iterate: ``(hi, lo)`` per layer (copies)."""
        w = self.widths
        return [(self.w_hi[j, :w[j + 1], :w[j]].copy(), self.w_lo[j, :w[j + 1], :w[j]].copy())
                for j in range(self.depth)]

    def advance(self, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Run to step ``k`` (≥ the current step); the iterate there."""
        if k < self.k:
            raise ValueError(f"cannot go back from step {self.k} to {k}")
        if k > self.k:
            dd_gd(*self._args(k - self.k))  # updates w_hi, w_lo in place
            self.k = k
        return self.layers()


def dd_trajectory(weights: list[np.ndarray], eta: float, ks: list[int], *,
                  target: np.ndarray | None = None, x: np.ndarray | None = None,
                  y: np.ndarray | None = None, reverse: bool = False,
                  ) -> dict[int, list[tuple[np.ndarray, np.ndarray]]]:
    """Double-double GD from the float64 ``weights``; ``{k: [(hi_l, lo_l) per layer]}``
    at the steps ``ks`` (see :class:`DDState` for the data arguments)."""
    state = DDState(weights, eta, target=target, x=x, y=y, reverse=reverse)
    return {k: state.advance(k) for k in sorted(set(int(k) for k in ks))}
