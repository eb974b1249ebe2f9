"""Tests for gdcert.io: every loader, every refusal, and atomic writes."""

from __future__ import annotations

import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gdcert.errors import InputError
from gdcert.io import (
    atomic_write_bytes,
    atomic_write_text,
    load_data,
    load_matrix,
    load_npz_arrays,
    load_weights,
)

M = np.array([[1.0, -2.5, 3.0], [4.0, 5.0, 6.25]])


def _expect(match: str):
    return pytest.raises(InputError, match=match)


def _one_line(exc: pytest.ExceptionInfo[InputError]) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


# --------------------------------------------------------------------------- .npy


def test_npy_roundtrip_is_c_contiguous_float64(tmp_path: Path) -> None:
    path = tmp_path / "m.npy"
    np.save(path, np.asfortranarray(M.astype(np.float32)))
    out = load_matrix(path)
    assert out.dtype == np.float64 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, M.astype(np.float32))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.bool_, np.float16])
def test_bool_and_integers_become_float64(tmp_path: Path, dtype: type) -> None:
    path = tmp_path / "i.npy"
    np.save(path, np.array([[1, 0], [0, 1]], dtype=dtype))
    out = load_matrix(path)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, np.eye(2))


def test_missing_file(tmp_path: Path) -> None:
    with _expect(r"^TARGET .*nope\.npy: file not found$") as exc:
        load_matrix(tmp_path / "nope.npy")
    _one_line(exc)


def test_not_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "dir.npy").mkdir()
    with _expect(r"dir\.npy: is a directory; expected a regular file"):
        load_matrix(tmp_path / "dir.npy")


def test_what_names_the_input(tmp_path: Path) -> None:
    with _expect(r"^--init-weights .*x\.npy: file not found"):
        load_matrix(tmp_path / "x.npy", what="--init-weights")


def test_object_array_refused(tmp_path: Path) -> None:
    path = tmp_path / "obj.npy"
    np.save(path, np.array([[{"a": 1}, None]], dtype=object), allow_pickle=True)
    with _expect(
        r"obj\.npy: contains a pickled/object array; gdcert never unpickles — "
        r"save a numeric array"
    ) as exc:
        load_matrix(path)
    _one_line(exc)


class _Boom:
    """Unpickling this would run code; the test proves we never get there."""

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, ("echo pwned > /dev/null",))


def test_raw_pickle_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.npy"
    with path.open("wb") as fh:
        pickle.dump(_Boom(), fh)
    with _expect(r"evil\.npy: is a Python pickle, which gdcert refuses to load"):
        load_matrix(path)


@pytest.mark.parametrize("ext", [".npz", ".csv", ".mtx", ".mat"])
def test_raw_pickle_refused_whatever_the_extension(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"evil{ext}"
    path.write_bytes(pickle.dumps(np.eye(2)))
    with _expect("is a Python pickle, which gdcert refuses to load"):
        load_matrix(path)


def test_garbage_npy(tmp_path: Path) -> None:
    path = tmp_path / "g.npy"
    path.write_bytes(b"hello, I am not numpy")
    with _expect(r"g\.npy: not a valid \.npy file"):
        load_matrix(path)


def test_truncated_npy(tmp_path: Path) -> None:
    good = tmp_path / "good.npy"
    np.save(good, np.ones((10, 10)))
    bad = tmp_path / "cut.npy"
    bad.write_bytes(good.read_bytes()[:150])
    with _expect(r"cut\.npy: not a valid \.npy file \(") as exc:
        load_matrix(bad)
    _one_line(exc)


def test_npz_named_npy(tmp_path: Path) -> None:
    path = tmp_path / "z.npy"
    with path.open("wb") as fh:
        np.savez(fh, a=M)
    with _expect(r"z\.npy: is a zip \(\.npz\) archive, not a \.npy file; rename it to \.npz"):
        load_matrix(path)


@pytest.mark.parametrize(
    ("array", "kind"),
    [
        (np.array([[1 + 2j]]), "complex dtype complex128"),
        (np.array([["a", "b"]]), "string dtype <U1"),
        (np.array([[b"a"]]), "bytes dtype |S1"),
        (np.zeros((2, 2), dtype=[("x", "f8")]), "structured dtype"),
        (np.array([["2020-01-01"]], dtype="datetime64[D]"), "datetime dtype"),
    ],
)
def test_non_real_dtypes_refused(tmp_path: Path, array: np.ndarray, kind: str) -> None:
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with _expect(rf"bad\.npy: has {kind}.*; expected real numbers"):
        load_matrix(path)


def test_nan_and_inf_reported_with_count_and_first_index(tmp_path: Path) -> None:
    path = tmp_path / "n.npy"
    np.save(path, np.array([[1.0, 2.0, 3.0], [np.inf, 5.0, np.nan]]))
    with _expect(
        r"n\.npy: contains 2 non-finite values \(NaN/Inf\), first at index \(1, 0\); "
        r"expected finite numbers"
    ):
        load_matrix(path)


def test_single_nan_is_singular(tmp_path: Path) -> None:
    path = tmp_path / "n.npy"
    np.save(path, np.array([[1.0, np.nan]]))
    with _expect(r"contains 1 non-finite value \(NaN/Inf\), first at index \(0, 1\)"):
        load_matrix(path)


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0,)])
def test_empty_refused(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = tmp_path / "e.npy"
    np.save(path, np.zeros(shape))
    with _expect(r"e\.npy: is empty \(shape"):
        load_matrix(path)


def test_1d_refused_with_reshape_hint(tmp_path: Path) -> None:
    path = tmp_path / "v.npy"
    np.save(path, np.arange(4.0))
    with _expect(
        r"v\.npy: expected a 2-D matrix, got a 1-D array of length 4; reshape to a column or row"
    ):
        load_matrix(path)


@pytest.mark.parametrize("shape", [(2, 2, 2), ()])
def test_other_ndim_refused(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = tmp_path / "t.npy"
    np.save(path, np.ones(shape))
    with _expect(rf"t\.npy: expected a 2-D matrix, got shape {re_tuple(shape)}"):
        load_matrix(path)


def re_tuple(shape: tuple[int, ...]) -> str:
    return str(shape).replace("(", r"\(").replace(")", r"\)")


def test_unknown_extension_lists_supported(tmp_path: Path) -> None:
    path = tmp_path / "m.xlsx"
    path.write_text("1,2")
    with _expect(
        r"m\.xlsx: unsupported file type \('\.xlsx'\); supported: "
        r"\.npy, \.npz, \.csv, \.txt, \.tsv, \.mtx, \.mat"
    ):
        load_matrix(path)


def test_extension_is_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "M.NPY"
    with path.open("wb") as fh:
        np.save(fh, M)
    np.testing.assert_array_equal(load_matrix(path), M)


def test_key_on_npy_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.npy"
    np.save(path, M)
    with _expect(r"':A' selects an array only in \.npz or \.mat files"):
        load_matrix(f"{path}:A")


def test_path_containing_colon_that_exists(tmp_path: Path) -> None:
    path = tmp_path / "a:b.npy"
    np.save(path, M)
    np.testing.assert_array_equal(load_matrix(str(path)), M)


# --------------------------------------------------------------------------- .npz


def test_npz_single_array_and_key(tmp_path: Path) -> None:
    one = tmp_path / "one.npz"
    np.savez(one, target=M)
    np.testing.assert_array_equal(load_matrix(one), M)
    two = tmp_path / "two.npz"
    np.savez(two, A=M, B=2 * M)
    np.testing.assert_array_equal(load_matrix(f"{two}:B"), 2 * M)


def test_npz_several_arrays_without_key_lists_them(tmp_path: Path) -> None:
    path = tmp_path / "two.npz"
    np.savez(path, A=M, B=M)
    with _expect(r"two\.npz: contains several arrays \(A, B\); choose one with FILE\.npz:NAME"):
        load_matrix(path)


def test_npz_unknown_key_lists_available(tmp_path: Path) -> None:
    path = tmp_path / "two.npz"
    np.savez(path, A=M, B=M)
    with _expect(r"two\.npz: no array 'C' \(available: A, B\)"):
        load_matrix(f"{path}:C")


def test_npz_missing_file_with_key(tmp_path: Path) -> None:
    with _expect(r"gone\.npz: file not found"):
        load_matrix(f"{tmp_path / 'gone.npz'}:A")


def test_npz_empty_key(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    np.savez(path, A=M)
    with _expect(r"empty name after ':'"):
        load_matrix(f"{path}:")


def test_npz_object_array_refused(tmp_path: Path) -> None:
    path = tmp_path / "obj.npz"
    np.savez(path, A=np.array([None, 1], dtype=object))
    with _expect(r"obj\.npz: array 'A' contains a pickled/object array; gdcert never unpickles"):
        load_matrix(path)


def test_npz_garbage(tmp_path: Path) -> None:
    path = tmp_path / "g.npz"
    path.write_bytes(b"not a zip at all")
    with _expect(r"g\.npz: not a valid \.npz file \(not a zip archive\)"):
        load_matrix(path)


def test_npz_corrupt_zip(tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    np.savez(good, A=np.ones((20, 20)))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(good.read_bytes()[:200])
    with _expect(r"bad\.npz: not a valid \.npz file \(") as exc:
        load_matrix(bad)
    _one_line(exc)


def test_npz_array_validation_names_the_array(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    np.savez(path, Z=np.array([[1j]]))
    with _expect(r"c\.npz, array 'Z': has complex dtype complex128; expected real numbers"):
        load_matrix(path)


def test_npz_member_that_is_not_npy(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "odd.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("notes.txt", "hello")
    with _expect(r"odd\.npz: member 'notes\.txt' is not a \.npy array"):
        load_matrix(path)


def test_npy_named_npz(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    with path.open("wb") as fh:
        np.save(fh, M)
    with _expect(r"a\.npz: is a \.npy file, not an \.npz archive"):
        load_matrix(path)


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("comma.csv", "1,-2.5,3\n4,5,6.25\n"),
        ("semi.csv", "1;-2.5;3\n4;5;6.25\n"),
        ("tab.tsv", "1\t-2.5\t3\n4\t5\t6.25\n"),
        ("space.txt", "  1   -2.5 3\n4 5     6.25\n"),
        ("comments.csv", "# a target\n\n1, -2.5, 3  # row one\n# between\n4, 5, 6.25\n"),
        ("bom.csv", "\ufeff1,-2.5,3\r\n4,5,6.25\r\n"),
        ("quoted.csv", '"1","-2.5","3"\n"4","5","6.25"\n'),
    ],
)
def test_text_delimiters(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    np.testing.assert_array_equal(load_matrix(path), M)


def test_text_single_row_and_single_column(tmp_path: Path) -> None:
    row = tmp_path / "row.txt"
    row.write_text("1 2 3\n")
    assert load_matrix(row).shape == (1, 3)
    col = tmp_path / "col.txt"
    col.write_text("1\n2\n3\n")
    assert load_matrix(col).shape == (3, 1)


def test_text_header_row_refused_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("# exported\na,b,c\n1,2,3\n")
    with _expect(
        r"h\.csv: line 2 looks like a header \('a', 'b', 'c'\); expected only numbers"
    ) as exc:
        load_matrix(path)
    _one_line(exc)


def test_text_bad_value_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("1,2,3\n4,oops,6\n")
    with _expect(r"b\.csv: line 2, column 2: cannot read 'oops' as a number"):
        load_matrix(path)


def test_text_decimal_comma_hint(tmp_path: Path) -> None:
    path = tmp_path / "eu.csv"
    path.write_text("1,5;2,0\n3,0;4,0\n")
    with _expect(r"line 1, column 1: cannot read '1,5' as a number \(decimal commas"):
        load_matrix(path)


def test_text_ragged_rows(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("1,2,3\n\n4,5\n")
    with _expect(
        r"r\.csv: line 3 has 2 values but line 1 has 3; expected the same number of "
        r"comma-separated values on every line"
    ):
        load_matrix(path)


def test_text_empty_field(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("1,,3\n")
    with _expect(r"e\.csv: line 1, column 2: empty value; expected a number"):
        load_matrix(path)


def test_text_only_comments(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("# nothing here\n\n")
    with _expect(r"c\.txt: contains no numbers; expected a non-empty matrix"):
        load_matrix(path)


def test_text_nan_refused(tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_text("1,2\n3,nan\n")
    with _expect(r"n\.csv: contains 1 non-finite value .* first at index \(1, 1\)"):
        load_matrix(path)


def test_text_binary_refused(tmp_path: Path) -> None:
    path = tmp_path / "bin.txt"
    path.write_bytes(b"\xff\xfe\x00\x01garbage")
    with _expect(r"bin\.txt: is not UTF-8 text"):
        load_matrix(path)


# --------------------------------------------------------------------------- .mtx / .mat


def test_mtx_dense_and_sparse(tmp_path: Path) -> None:
    import scipy.io
    import scipy.sparse

    dense = tmp_path / "d.mtx"
    scipy.io.mmwrite(dense, M)
    np.testing.assert_array_equal(load_matrix(dense), M)
    sparse = tmp_path / "s.mtx"
    scipy.io.mmwrite(sparse, scipy.sparse.coo_matrix(M))
    out = load_matrix(sparse)
    assert isinstance(out, np.ndarray) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, M)


def test_mtx_garbage(tmp_path: Path) -> None:
    path = tmp_path / "g.mtx"
    path.write_text("this is not matrix market\n")
    with _expect(r"g\.mtx: not a valid MatrixMarket file \(") as exc:
        load_matrix(path)
    _one_line(exc)


def test_mtx_complex_refused(tmp_path: Path) -> None:
    import scipy.io

    path = tmp_path / "c.mtx"
    scipy.io.mmwrite(path, np.array([[1 + 1j, 2], [3, 4]]))
    with _expect(r"c\.mtx: has complex dtype"):
        load_matrix(path)


def test_mat_single_variable_is_c_contiguous(tmp_path: Path) -> None:
    import scipy.io

    path = tmp_path / "m.mat"
    scipy.io.savemat(path, {"T": M})
    out = load_matrix(path)
    assert out.flags.c_contiguous and out.dtype == np.float64
    np.testing.assert_array_equal(out, M)


def test_mat_variable_selection_and_listing(tmp_path: Path) -> None:
    import scipy.io

    path = tmp_path / "m.mat"
    scipy.io.savemat(path, {"A": M, "B": 2 * M})
    np.testing.assert_array_equal(load_matrix(f"{path}:B"), 2 * M)
    with _expect(r"m\.mat: contains several variables \(A, B\); choose one with FILE\.mat:NAME"):
        load_matrix(path)
    with _expect(r"m\.mat: no variable 'C' \(available: A, B\)"):
        load_matrix(f"{path}:C")


def test_mat_vector_is_1_by_n(tmp_path: Path) -> None:
    import scipy.io

    path = tmp_path / "v.mat"
    scipy.io.savemat(path, {"v": np.arange(1.0, 4.0)})
    assert load_matrix(path).shape == (1, 3)


def test_mat_sparse_and_struct(tmp_path: Path) -> None:
    import scipy.io
    import scipy.sparse

    path = tmp_path / "s.mat"
    scipy.io.savemat(path, {"S": scipy.sparse.csc_matrix(M), "cfg": {"a": 1.0}})
    np.testing.assert_array_equal(load_matrix(f"{path}:S"), M)
    with _expect(r"s\.mat: variable 'cfg' is a MATLAB cell array or struct; expected a numeric"):
        load_matrix(f"{path}:cfg")


def test_mat_v73_hdf5_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "big.mat"
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5"
    path.write_bytes(header.ljust(512, b" ") + b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    with _expect(r"big\.mat: is a MATLAB v7\.3 \(HDF5\) file, which needs an HDF5 reader; .*-v7"):
        load_matrix(path)


def test_mat_garbage(tmp_path: Path) -> None:
    path = tmp_path / "g.mat"
    path.write_bytes(b"garbage" * 40)
    with _expect(r"g\.mat: not a valid MATLAB \.mat file") as exc:
        load_matrix(path)
    _one_line(exc)


def test_importing_io_does_not_import_scipy_or_numba() -> None:
    code = (
        "import sys, gdcert.io, gdcert.config; "
        "bad = [m for m in ('scipy', 'numba') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- round trips


finite_matrices = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
    elements=st.floats(allow_nan=False, allow_infinity=False, width=64),
)


@settings(max_examples=60, deadline=None)
@given(matrix=finite_matrices)
def test_roundtrip_npy_npz_csv_exact(tmp_path_factory: pytest.TempPathFactory, matrix) -> None:  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("rt")
    np.save(base / "m.npy", matrix)
    np.savez(base / "m.npz", M=matrix)
    (base / "m.csv").write_text(
        "\n".join(",".join(repr(float(v)) for v in row) for row in matrix) + "\n"
    )
    for spec in (base / "m.npy", base / "m.npz", f"{base / 'm.npz'}:M", base / "m.csv"):
        out = load_matrix(spec)
        assert out.dtype == np.float64 and out.flags.c_contiguous
        np.testing.assert_array_equal(out, matrix)
        # exact, including the sign of zero
        assert np.array_equal(np.signbit(out), np.signbit(matrix))


# --------------------------------------------------------------------------- load_npz_arrays


def test_npz_arrays_all_validated_and_converted(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    np.savez(path, a=np.arange(3), b=np.asfortranarray(M))
    out = load_npz_arrays(path)
    assert list(out) == ["a", "b"]
    assert all(v.dtype == np.float64 and v.flags.c_contiguous for v in out.values())


def test_npz_arrays_missing_required(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    np.savez(path, X=M, Z=M)
    with _expect(r"^RUN .*a\.npz: missing required array 'Y' \(present: X, Z\)$"):
        load_npz_arrays(path, required=("X", "Y"), what="RUN")


def test_npz_arrays_3d_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    np.savez(path, T=np.ones((2, 2, 2)))
    with _expect(r"a\.npz, array 'T': expected a 1-D or 2-D array, got shape \(2, 2, 2\)"):
        load_npz_arrays(path)


def test_npz_arrays_empty_archive(tmp_path: Path) -> None:
    path = tmp_path / "e.npz"
    np.savez(path)
    with _expect(r"e\.npz: contains no arrays"):
        load_npz_arrays(path)


def test_npz_arrays_wrong_extension(tmp_path: Path) -> None:
    path = tmp_path / "a.npy"
    np.save(path, M)
    with _expect(r"a\.npy: expected an \.npz archive"):
        load_npz_arrays(path)


# --------------------------------------------------------------------------- load_data


def test_load_data_columns_are_samples(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    x, y = np.ones((3, 10)), np.zeros((2, 10))
    np.savez(path, X=x, Y=y)
    gx, gy = load_data(path)
    assert gx.shape == (3, 10) and gy.shape == (2, 10)


def test_load_data_samples_as_rows(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    x = np.arange(30.0).reshape(10, 3)
    np.savez(path, X=x, Y=np.zeros((10, 2)))
    gx, gy = load_data(path, samples_as_rows=True)
    assert gx.shape == (3, 10) and gy.shape == (2, 10)
    assert gx.flags.c_contiguous and gy.flags.c_contiguous
    np.testing.assert_array_equal(gx, x.T)


@pytest.mark.parametrize("rows", [False, True])
def test_load_data_1d_is_one_feature(tmp_path: Path, rows: bool) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, X=np.arange(5.0), Y=np.arange(5.0) * 2)
    gx, gy = load_data(path, samples_as_rows=rows)
    assert gx.shape == (1, 5) and gy.shape == (1, 5)


def test_load_data_missing_y(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, X=M)
    with _expect(r"d\.npz: missing required array 'Y' \(present: X\)"):
        load_data(path)


def test_load_data_sample_mismatch_suggests_rows(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, X=np.ones((10, 3)), Y=np.ones((10, 2)))
    with _expect(
        r"d\.npz: X has m=3 samples \(columns\) but Y has 2; "
        r"use --samples-as-rows if samples are rows"
    ):
        load_data(path)
    np.savez(path, X=np.ones((3, 10)), Y=np.ones((4, 9)))
    with _expect(r"X has m=3 samples \(rows, --samples-as-rows\) but Y has 4; expected the same"):
        load_data(path, samples_as_rows=True)


def test_load_data_refuses_pickles(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, X=np.array([object()], dtype=object), Y=np.ones(1))
    with _expect("contains a pickled/object array"):
        load_data(path)


# --------------------------------------------------------------------------- load_weights


def test_weights_chain(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    ws = [np.ones((4, 3)), np.ones((5, 4)), np.ones((2, 5))]
    np.savez(path, W3=ws[2], W1=ws[0], W2=ws[1])
    out = load_weights(path)
    assert [w.shape for w in out] == [(4, 3), (5, 4), (2, 5)]


def test_weights_do_not_chain(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    np.savez(path, W1=np.ones((4, 3)), W2=np.ones((4, 4)), W3=np.ones((2, 5)))
    with _expect(r"^weights .*w\.npz: W3 has 5 columns but W2 has 4 rows: layers do not chain$"):
        load_weights(path)


def test_weights_gap(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    np.savez(path, W1=np.ones((2, 2)), W3=np.ones((2, 2)))
    with _expect(r"w\.npz: missing W2; expected consecutive W1\.\.W3 with no gaps"):
        load_weights(path)


def test_weights_extra_keys(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    np.savez(path, W1=np.ones((2, 2)), b1=np.ones(2), W01=np.ones((2, 2)))
    with _expect(r"w\.npz: unexpected arrays 'b1', 'W01'; expected only W1\.\.W1"):
        load_weights(path)


def test_weights_none(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    np.savez(path, A=np.ones((2, 2)))
    with _expect(r"w\.npz: contains no weight matrices; expected arrays W1, W2, \.\.\., WL"):
        load_weights(path, what="INIT")


def test_weights_1d_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    np.savez(path, W1=np.ones((3, 2)), W2=np.ones(3))
    with _expect(r"W2 is a 1-D array of length 3; expected a 2-D matrix"):
        load_weights(path)


def test_weights_nonfinite_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    np.savez(path, W1=np.array([[1.0, np.inf]]))
    with _expect(r"w\.npz, array 'W1': contains 1 non-finite value"):
        load_weights(path)


# --------------------------------------------------------------------------- atomic writes


def test_atomic_write_text_and_bytes(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    atomic_write_text(path, "héllo\n")
    assert path.read_text(encoding="utf-8") == "héllo\n"
    atomic_write_bytes(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temp left behind


def test_atomic_write_keeps_existing_mode(tmp_path: Path) -> None:
    path = tmp_path / "script.sh"
    path.write_text("old")
    path.chmod(0o750)
    atomic_write_text(path, "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o750
    assert path.read_text() == "new"


def test_atomic_write_new_file_respects_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "new.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o644


def test_atomic_write_missing_parent(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "out.txt"
    with _expect(r"out\.txt: cannot write: directory '.*such' does not exist"):
        atomic_write_text(path, "x")
    assert not (tmp_path / "no").exists()


def test_atomic_write_onto_directory(tmp_path: Path) -> None:
    with _expect("cannot write: is a directory"):
        atomic_write_bytes(tmp_path, b"x")


def test_atomic_write_failure_leaves_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keep.txt"
    path.write_text("old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with _expect(r"keep\.txt: cannot write: No space left on device"):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
