"""Register-blocked float64 products for the GD core's mid-size matrices (d ≈ 5–24).

:func:`fblock` (NN and TN products): ``C[i:i+R, j:j+W] ← Σ_p op(A)[i:i+R, p] · B[p, j:j+W]``
on flat row-major buffers, with the ``R × W`` block of C in ``<4 x double>`` registers
across the whole ``p`` loop: per ``p`` one broadcast of each of the R entries of A and W/4
vector loads of B's row, then ``R·W/4`` fused multiply–adds. Each entry of C is
``fma(a_ip, b_pj, acc)`` over ``p`` ascending from 0: a fixed order, the one the scalar
loop with FMA contraction computes. B is not transposed (its rows are loaded as vectors);
A may be (``op(A)[i, p] = a[oa + i·sa_r + p·sa_c]``).

:func:`fblock_nt` (NT products, ``A Bᵀ``): 2 × 4 or 1 × 4 blocks of C, each entry a
4-lane dot product along the rows of A and B (see :func:`_codegen_nt`).

Generated as LLVM IR (numba intrinsics): numba leaves LLVM's SLP vectoriser off, and
the former loops were also kept scalar by numba's negative-index wrap-around on runtime
offsets — 1.1–2.3 ns per multiply–add inside the kernels, against 0.06–0.2 ns here at
d = 8–24 (``benchmarks/bench_gemm.py``). C must not overlap A or B; the last 1–3 columns
(and, for NT, the last ``k mod 4`` terms) are read with masked loads, so nothing past a
matrix is touched.
"""

from __future__ import annotations

import numba
from numba.core import types
from numba.extending import intrinsic

__all__ = ["fblock", "fblock_nt"]


def _accessors(context, builder, tys, arrays, vec):  # type: ignore[no-untyped-def]
    """``ptr(pos, idx)`` (a pointer to element ``idx`` of the 1-D array argument at
    position ``pos``) and ``vptr`` (the same as a ``<4 x double>*``) for a codegen."""
    from numba.core import cgutils

    def ptr(pos: int, idx):  # type: ignore[no-untyped-def]
        ary = context.make_array(tys[pos])(context, builder, arrays[pos])
        return cgutils.get_item_pointer2(context, builder, ary.data,
                                         cgutils.unpack_tuple(builder, ary.shape),
                                         cgutils.unpack_tuple(builder, ary.strides),
                                         tys[pos].layout, [idx])

    def vptr(pos: int, idx):  # type: ignore[no-untyped-def]
        return builder.bitcast(ptr(pos, idx), vec.as_pointer())

    return ptr, vptr


def _codegen(rows: int, width: int, masked: bool):  # type: ignore[no-untyped-def]
    """IR for one ``rows × width`` block (``width`` 4 or 8, ``rows`` 1 or 2); ``masked``
    (width 4 only): only the first ``cnt`` (1–3) columns are read and written — read by
    LLVM's masked loads (``vmaskmovpd``, no memory touched in the other lanes), written
    lane by lane."""
    nv = width // 4

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        from llvmlite import ir
        from numba.core import cgutils

        a, oa, sar, sac, b, ob, ldb, c, oc, ldc, i, j, k, cnt, add = args
        tys = signature.args
        vec = ir.VectorType(ir.DoubleType(), 4)
        i64 = ir.IntType(64)
        i32 = ir.IntType(32)
        vfma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vec, [vec] * 3), "llvm.fma.v4f64")
        arrays = {0: a, 4: b, 7: c}
        adding = builder.icmp_signed("!=", add, ir.Constant(add.type, 0))
        zero = ir.Constant(vec, [0.0] * 4)
        if masked:
            mvec = ir.VectorType(ir.IntType(1), 4)
            ptr_t = vec.as_pointer()
            mload = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(vec, [ptr_t, i32, mvec, vec]),
                "llvm.masked.load.v4f64.p0")
            mask = ir.Constant(mvec, ir.Undefined)
            for q in range(4):
                mask = builder.insert_element(
                    mask, builder.icmp_signed("<", ir.Constant(i64, q), cnt),
                    ir.Constant(i32, q))

        def load(pv):  # type: ignore[no-untyped-def]
            if masked:
                return builder.call(mload, [pv, ir.Constant(i32, 8), mask, zero])
            return builder.load(pv, align=8)

        def store(v, pv):  # type: ignore[no-untyped-def]
            if not masked:
                builder.store(v, pv, align=8)
                return
            # lane by lane: a masked store (vmaskmovpd) is microcoded and slow on AMD
            base = builder.bitcast(pv, ir.DoubleType().as_pointer())
            for q in range(3):
                with builder.if_then(builder.icmp_signed(">", cnt, ir.Constant(i64, q))):
                    builder.store(builder.extract_element(v, ir.Constant(i32, q)),
                                  builder.gep(base, [ir.Constant(i64, q)]), align=8)

        ptr, vptr = _accessors(context, builder, tys, arrays, vec)

        def splat(x):  # type: ignore[no-untyped-def]
            v = ir.Constant(vec, ir.Undefined)
            for q in range(4):
                v = builder.insert_element(v, x, ir.Constant(ir.IntType(32), q))
            return v

        crows = [builder.add(builder.add(oc, builder.mul(builder.add(i, ir.Constant(i64, r)),
                                                         ldc)), j) for r in range(rows)]
        # C += … (``add``): the sums start from C's entries, else from zero
        acc = [[cgutils.alloca_once_value(builder, zero) for _ in range(nv)]
               for _ in range(rows)]
        with builder.if_then(adding):
            for r in range(rows):
                for q in range(nv):
                    builder.store(load(vptr(7, builder.add(crows[r], ir.Constant(i64, 4 * q)))),
                                  acc[r][q])
        row_a = [builder.add(oa, builder.mul(builder.add(i, ir.Constant(i64, r)), sar))
                 for r in range(rows)]
        with cgutils.for_range(builder, k) as loop:
            p = loop.index
            pa = builder.mul(p, sac)
            brow = builder.add(builder.add(ob, builder.mul(p, ldb)), j)
            ys = [load(vptr(4, builder.add(brow, ir.Constant(i64, 4 * q)))) for q in range(nv)]
            for r in range(rows):
                x = splat(builder.load(ptr(0, builder.add(row_a[r], pa))))
                for q in range(nv):
                    builder.store(builder.call(vfma, [x, ys[q], builder.load(acc[r][q])]),
                                  acc[r][q])
        for r in range(rows):
            for q in range(nv):
                store(builder.load(acc[r][q]),
                      vptr(7, builder.add(crows[r], ir.Constant(i64, 4 * q))))
        return context.get_dummy_value()

    return codegen


def _codegen_nt(rows: int, masked: bool):  # type: ignore[no-untyped-def]
    """IR for ``C[i:i+rows, j:j+4] ← A[i:i+rows, :] · B[j:j+4, :]ᵀ`` (an NT product: both
    operands read along their rows, 4 entries of ``p`` per vector). Each of the ``rows × 4``
    entries keeps a vector of 4 partial sums (``p ≡ 0, 1, 2, 3 mod 4``, FMA chains), the
    last ``k mod 4`` entries of ``p`` by masked loads (zeros elsewhere, which leave the
    sums unchanged), reduced at the end as ``(s₀ + s₁) + (s₂ + s₃)`` by shuffles. With
    ``masked`` only the first ``cnt`` columns exist: the other lanes read B's row ``j`` again
    (no access past B) and are not stored."""

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        from llvmlite import ir
        from numba.core import cgutils

        a, oa, lda, b, ob, ldb, c, oc, ldc, i, j, k, cnt, add = args
        tys = signature.args
        vec = ir.VectorType(ir.DoubleType(), 4)
        i64, i32 = ir.IntType(64), ir.IntType(32)
        mvec = ir.VectorType(ir.IntType(1), 4)
        vfma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vec, [vec] * 3), "llvm.fma.v4f64")
        mload = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vec, [vec.as_pointer(), i32, mvec, vec]),
            "llvm.masked.load.v4f64.p0")
        arrays = {0: a, 3: b, 6: c}
        zero = ir.Constant(vec, [0.0] * 4)

        ptr, vptr = _accessors(context, builder, tys, arrays, vec)

        def const(x: int):  # type: ignore[no-untyped-def]
            return ir.Constant(i64, x)

        a_rows = [builder.add(oa, builder.mul(builder.add(i, const(r)), lda))
                  for r in range(rows)]
        b_rows = []
        for q in range(4):
            jq = builder.add(j, const(q))
            if masked and q > 0:
                jq = builder.select(builder.icmp_signed(">", cnt, const(q)), jq, j)
            b_rows.append(builder.add(ob, builder.mul(jq, ldb)))
        acc = [[cgutils.alloca_once_value(builder, zero) for _ in range(4)]
               for _ in range(rows)]
        k4 = builder.sub(k, builder.srem(k, const(4)))

        def chunk(p, load):  # type: ignore[no-untyped-def]
            ys = [load(vptr(3, builder.add(b_rows[q], p))) for q in range(4)]
            for r in range(rows):
                x = load(vptr(0, builder.add(a_rows[r], p)))
                for q in range(4):
                    builder.store(builder.call(vfma, [x, ys[q], builder.load(acc[r][q])]),
                                  acc[r][q])

        with cgutils.for_range_slice(builder, const(0), k4, const(4)) as (p, _):
            chunk(p, lambda pv: builder.load(pv, align=8))
        rest = builder.sub(k, k4)
        with builder.if_then(builder.icmp_signed(">", rest, const(0))):
            mask = ir.Constant(mvec, ir.Undefined)
            for q in range(4):
                mask = builder.insert_element(mask, builder.icmp_signed(">", rest, const(q)),
                                              ir.Constant(i32, q))
            chunk(k4, lambda pv: builder.call(mload, [pv, ir.Constant(i32, 8), mask, zero]))

        def shuf(x, y, idx):  # type: ignore[no-untyped-def]
            return builder.shuffle_vector(x, y, ir.Constant(ir.VectorType(i32, 4), idx))

        for r in range(rows):
            v = [builder.load(acc[r][q]) for q in range(4)]
            s01 = builder.fadd(shuf(v[0], v[1], [0, 4, 2, 6]), shuf(v[0], v[1], [1, 5, 3, 7]))
            s23 = builder.fadd(shuf(v[2], v[3], [0, 4, 2, 6]), shuf(v[2], v[3], [1, 5, 3, 7]))
            tot = builder.fadd(shuf(s01, s23, [0, 1, 4, 5]), shuf(s01, s23, [2, 3, 6, 7]))
            crow = builder.add(builder.add(oc, builder.mul(builder.add(i, const(r)), ldc)), j)
            # C += … (``add``): C's entries added to the finished sums
            old_c = cgutils.alloca_once_value(builder, zero)
            with builder.if_then(builder.icmp_signed("!=", add, ir.Constant(add.type, 0))):
                if masked:
                    cmask = ir.Constant(mvec, ir.Undefined)
                    for q in range(4):
                        cmask = builder.insert_element(
                            cmask, builder.icmp_signed(">", cnt, const(q)), ir.Constant(i32, q))
                    builder.store(builder.call(mload, [vptr(6, crow), ir.Constant(i32, 8),
                                                       cmask, zero]), old_c)
                else:
                    builder.store(builder.load(vptr(6, crow), align=8), old_c)
            tot = builder.fadd(builder.load(old_c), tot)
            if not masked:
                builder.store(tot, vptr(6, crow), align=8)
                continue
            for q in range(4):
                with builder.if_then(builder.icmp_signed(">", cnt, const(q))):
                    builder.store(builder.extract_element(tot, ir.Constant(i32, q)),
                                  ptr(6, builder.add(crow, const(q))), align=8)
        return context.get_dummy_value()

    return codegen


def _py_block(a, oa, sar, sac, b, ob, ldb, c, oc, ldc, i, j, k,  # type: ignore[no-untyped-def]
              cnt, add, rows, width):
    for r in range(rows):
        for q in range(min(width, cnt)):
            acc = c[oc + (i + r) * ldc + j + q] if add else 0.0
            for p in range(k):
                acc += a[oa + (i + r) * sar + p * sac] * b[ob + p * ldb + j + q]
            c[oc + (i + r) * ldc + j + q] = acc


def _py_block_nt(a, oa, lda, b, ob, ldb, c, oc, ldc, i, j, k,  # type: ignore[no-untyped-def]
                 cnt, add, rows):
    for r in range(rows):
        for q in range(cnt):
            acc = 0.0
            for p in range(k):
                acc += a[oa + (i + r) * lda + p] * b[ob + (j + q) * ldb + p]
            if add:
                acc = c[oc + (i + r) * ldc + j + q] + acc
            c[oc + (i + r) * ldc + j + q] = acc


if numba.config.DISABLE_JIT:  # type: ignore[attr-defined]  # pragma: no cover
    def fblock_nt(a, oa, lda, b, ob, ldb, c, oc, ldc, i, j, k,  # type: ignore[no-untyped-def]
                  cnt, add, rows, masked):
        """Python fallback of the NT block (see :func:`_codegen_nt`)."""
        _py_block_nt(a, oa, lda, b, ob, ldb, c, oc, ldc, i, j, k, cnt if masked else 4, add,
                     rows)

    def fblock(a, oa, sar, sac, b, ob, ldb, c, oc, ldc, i, j, k,  # type: ignore[no-untyped-def]
               cnt, add, rows, width, masked):
        """Python fallback of the register-blocked block (see the module docstring)."""
        _py_block(a, oa, sar, sac, b, ob, ldb, c, oc, ldc, i, j, k, cnt if masked else width,
                  add, rows, width)
else:
    @intrinsic
    def fblock(typingctx, a, oa, sar, sac, b, ob, ldb, c, oc, ldc, i, j, k,  # type: ignore[no-untyped-def]
            cnt, add, rows, width, masked):
        """``rows``, ``width`` and ``masked`` must be literals (``masked`` only with width
        4; ``cnt`` is then the number of valid columns, 1–3, else ignored); ``add ≠ 0``:
        ``C += …`` instead of ``C = …``."""
        r = getattr(rows, "literal_value", None)
        w = getattr(width, "literal_value", None)
        mk = getattr(masked, "literal_value", None)
        if r not in (1, 2) or w not in (4, 8) or mk not in (True, False) or (mk and w != 4):
            return None
        ints = [oa, sar, sac, ob, ldb, oc, ldc, i, j, k, cnt, add]
        if not all(isinstance(t, types.Integer) for t in ints):
            return None
        i64 = types.int64
        sig = types.void(a, i64, i64, i64, b, i64, i64, c, i64, i64, i64, i64, i64, i64, i64,
                         rows, width, masked)
        gen = _codegen(r, w, bool(mk))

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            return gen(context, builder, signature, args[:15])

        return sig, codegen

    @intrinsic
    def fblock_nt(typingctx, a, oa, lda, b, ob, ldb, c, oc, ldc, i, j, k,  # type: ignore[no-untyped-def]
               cnt, add, rows, masked):
        """``rows`` (1 or 2) and ``masked`` must be literals (see :func:`_codegen_nt`);
        ``add ≠ 0``: ``C += …``."""
        r = getattr(rows, "literal_value", None)
        mk = getattr(masked, "literal_value", None)
        if r not in (1, 2) or mk not in (True, False):
            return None
        if not all(isinstance(t, types.Integer) for t in [oa, lda, ob, ldb, oc, ldc, i, j, k,
                                                          cnt, add]):
            return None
        i64 = types.int64
        sig = types.void(a, i64, i64, b, i64, i64, c, i64, i64, i64, i64, i64, i64, i64, rows,
                         masked)
        gen = _codegen_nt(r, bool(mk))

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            return gen(context, builder, signature, args[:14])

        return sig, codegen

