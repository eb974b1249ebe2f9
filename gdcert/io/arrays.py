"""Safe loaders for matrices, data and weights, and atomic writers.

Every loader returns C-contiguous ``float64`` arrays and reports bad input as a one-line
:class:`~gdcert.errors.InputError` that names the file (and the array, variable or line)
and says what was expected.  Nothing here ever unpickles: ``np.load`` is always called
with ``allow_pickle=False``, and the magic bytes are checked first so that a pickle or a
corrupt file gets a precise message instead of numpy's misleading one.

Supported matrix formats (by extension, case-insensitive):

* ``.npy`` — one array;
* ``.npz`` — ``file.npz:NAME`` selects an array; without a name the archive must hold one;
* ``.csv`` / ``.txt`` / ``.tsv`` — numbers separated by commas, semicolons, tabs or
  whitespace (detected from the first data line); ``#`` starts a comment;
* ``.mtx`` — MatrixMarket (``scipy.io.mmread``; sparse matrices are densified);
* ``.mat`` — MATLAB v4–v7 (``scipy.io.loadmat``); ``file.mat:NAME`` selects a variable.

scipy is imported only inside the ``.mtx`` / ``.mat`` branches.
"""

from __future__ import annotations

import math
import os
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np

from gdcert.errors import InputError
from gdcert.validate import (
    brief,
    check_dimension,
    check_memory,
    clip,
    format_bytes,
    shown_path,
    stat_error,
)

__all__ = [
    "SUPPORTED_MATRIX_EXTENSIONS",
    "load_data",
    "load_matrix",
    "load_npz_arrays",
    "load_weights",
]

#: Extensions :func:`load_matrix` understands, in the order error messages list them.
SUPPORTED_MATRIX_EXTENSIONS = (".npy", ".npz", ".csv", ".txt", ".tsv", ".mtx", ".mat")

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # local file header; empty archive
_PICKLE_MAGIC = b"\x80"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_KEYED_EXTENSIONS = (".npz", ".mat")
_TEXT_EXTENSIONS = (".csv", ".txt", ".tsv")
_OBJECT_ARRAY_MSG = "Object arrays cannot be loaded when allow_pickle=False"


# --------------------------------------------------------------------------- helpers


def _one_line(text: object) -> str:
    """Collapse an exception text to one line (messages must never span lines)."""
    return " ".join(str(text).split())


def _label(what: str, path: Path | str) -> str:
    return f"{what} {shown_path(path)}" if what else shown_path(path)


def _check_regular_file(path: Path, label: str) -> None:
    """The path exists and is a regular file (not a directory, fifo, ...)."""
    try:
        exists, is_file, is_dir = path.exists(), path.is_file(), path.is_dir()
    except (OSError, ValueError) as exc:
        raise InputError(f"{label}: cannot access: {stat_error(exc)}") from None
    if not exists:
        raise InputError(f"{label}: file not found")
    if not is_file:
        kind = "a directory" if is_dir else "not a regular file"
        raise InputError(f"{label}: is {kind}; expected a regular file")


def _read_head(path: Path, label: str, n: int = 8) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(n)
    except (OSError, ValueError) as exc:
        raise InputError(f"{label}: cannot read: {stat_error(exc)}") from None


# --------------------------------------------------------------------------- sizes


def _dims(shape: Sequence[int]) -> str:
    return "×".join(str(d) for d in shape) if shape else "scalar"


def _check_declared(shape: Sequence[int], label: str, *, itemsize: int = 8,
                    copies: int = 3) -> int:
    """Refuse a declared shape before allocating it: dims within limits, memory estimate
    (the float64 array and working copies) within ``--max-memory``. Returns its size."""
    for d in shape:
        check_dimension(int(d), what=label)
    count = math.prod(int(d) for d in shape)
    check_memory(count * max(itemsize, 8) * copies,
                 what=f"{label}: a {_dims(shape)} array")
    return count


def _npy_header(fh: IO[bytes], label: str) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """Shape and dtype from a .npy header, read without touching the data."""
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            shape, _, dtype = np.lib.format._read_array_header(  # type: ignore[attr-defined]
                fh, version)
        shape = tuple(shape)
        if not all(isinstance(d, int) and d >= 0 for d in shape):
            raise ValueError(f"bad shape {brief(shape)}")
    except InputError:
        raise
    except Exception as exc:  # ValueError, SyntaxError, TypeError, ... on a corrupt header
        raise InputError(f"{label}: corrupt .npy header ({clip(exc)})") from None
    return shape, dtype


def _check_npy_stream(fh: IO[bytes], label: str, available: int) -> None:
    """The header's shape fits the limits and the bytes that follow it."""
    shape, dtype = _npy_header(fh, label)
    count = _check_declared(shape, label, itemsize=dtype.itemsize)
    if dtype.hasobject:
        return  # refused as a pickle by np.load(allow_pickle=False)
    needed = count * dtype.itemsize
    have = available - fh.tell()
    if needed > have:
        raise InputError(f"{label}: not a valid .npy file (truncated, or a lying header: "
                         f"it declares a {_dims(shape)} "
                         f"{dtype} array ({format_bytes(needed)}) but only "
                         f"{format_bytes(max(have, 0))} of data follow)")


_T = TypeVar("_T")


def guarded(label: str, load: Callable[[], _T]) -> _T:
    """Run a loader; memory or recursion exhaustion becomes a one-line InputError."""
    try:
        return load()
    except MemoryError:
        raise InputError(f"{label}: out of memory while reading; the file is too large for "
                         "this machine") from None
    except RecursionError:
        raise InputError(f"{label}: nested too deeply to read") from None


def _refuse_pickle(head: bytes, label: str) -> None:
    if head.startswith(_PICKLE_MAGIC):
        raise InputError(
            f"{label}: is a Python pickle, which gdcert refuses to load (unpickling can run "
            "arbitrary code); save a numeric array with numpy.save/numpy.savez"
        )


def _describe_dtype(dtype: np.dtype[Any]) -> str:
    if dtype.names is not None:
        return f"structured dtype {dtype}"
    kinds = {
        "c": "complex",
        "U": "string",
        "S": "bytes",
        "O": "object",
        "V": "void/raw bytes",
        "M": "datetime",
        "m": "timedelta",
    }
    kind = kinds.get(dtype.kind)
    return f"{kind} dtype {dtype}" if kind else f"dtype {dtype}"


def _as_real_float64(arr: np.ndarray, label: str) -> np.ndarray:
    """Convert bool/integer/float arrays to float64; refuse every other dtype."""
    dtype = arr.dtype
    if dtype.names is None and dtype.kind in "biuf":
        return np.asarray(arr, dtype=np.float64)
    raise InputError(
        f"{label}: has {_describe_dtype(dtype)}; expected real numbers (float, integer or bool)"
    )


def _validate_array(arr: Any, label: str, *, ndims: Sequence[int] = (2,)) -> np.ndarray:
    """Numeric, non-empty, allowed ndim, finite; returned as C-contiguous float64."""
    if not isinstance(arr, np.ndarray):
        arr = np.asarray(arr)
    out = _as_real_float64(arr, label)
    if out.size == 0:
        raise InputError(f"{label}: is empty (shape {tuple(out.shape)}); expected numbers")
    if out.ndim not in ndims:
        if 2 in ndims and 1 not in ndims and out.ndim == 1:
            raise InputError(
                f"{label}: expected a 2-D matrix, got a 1-D array of length {out.shape[0]}; "
                "reshape to a column or row"
            )
        want = " or ".join(f"{d}-D" for d in ndims)
        noun = "matrix" if tuple(ndims) == (2,) else "array"
        raise InputError(f"{label}: expected a {want} {noun}, got shape {tuple(out.shape)}")
    finite = np.isfinite(out)
    if not finite.all():
        bad = int(out.size - np.count_nonzero(finite))
        first = tuple(int(i) for i in np.argwhere(~finite)[0])
        index = first[0] if len(first) == 1 else first
        raise InputError(
            f"{label}: contains {bad} non-finite value{'s' if bad != 1 else ''} (NaN/Inf), "
            f"first at index {index}; expected finite numbers"
        )
    return np.ascontiguousarray(out)


def _split_spec(spec: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """``path`` or ``path:key``; split on the last ':' only where that makes sense."""
    text = os.fsdecode(os.fspath(spec))
    if ":" in text and not os.path.exists(text):
        head, _, key = text.rpartition(":")
        if head and (os.path.isfile(head) or head.lower().endswith(_KEYED_EXTENSIONS)):
            return Path(head), key
    return Path(text), None


# --------------------------------------------------------------------------- formats


def _load_npy(path: Path, label: str) -> np.ndarray:
    head = _read_head(path, label)
    _refuse_pickle(head, label)
    if head.startswith(_ZIP_MAGICS):
        raise InputError(f"{label}: is a zip (.npz) archive, not a .npy file; rename it to .npz")
    if not head.startswith(_NPY_MAGIC):
        raise InputError(f"{label}: not a valid .npy file (missing the \\x93NUMPY header)")
    try:
        with path.open("rb") as fh:
            _check_npy_stream(fh, label, path.stat().st_size)
    except OSError as exc:
        raise InputError(f"{label}: cannot read: {stat_error(exc)}") from None
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if _OBJECT_ARRAY_MSG in str(exc):
            raise InputError(
                f"{label}: contains a pickled/object array; gdcert never unpickles — "
                "save a numeric array"
            ) from None
        raise InputError(f"{label}: not a valid .npy file ({clip(exc)})") from None
    except (OSError, EOFError) as exc:
        raise InputError(f"{label}: not a valid .npy file ({clip(exc)})") from None
    return np.asarray(arr)


def _read_npz(path: Path, label: str) -> dict[str, np.ndarray]:
    """All members of an .npz as raw arrays, in archive order (no validation yet)."""
    head = _read_head(path, label)
    _refuse_pickle(head, label)
    if head.startswith(_NPY_MAGIC):
        raise InputError(f"{label}: is a .npy file, not an .npz archive; rename it to .npy")
    if not head.startswith(_ZIP_MAGICS):
        raise InputError(f"{label}: not a valid .npz file (not a zip archive)")
    _check_npz_members(path, label)
    arrays: dict[str, np.ndarray] = {}
    name = ""
    try:
        with np.load(path, allow_pickle=False) as npz:
            for name in npz.files:
                value = npz[name]
                if not isinstance(value, np.ndarray):
                    raise InputError(
                        f"{label}: member {brief(name)} is not a .npy array; "
                        "expected an archive written by numpy.savez"
                    )
                arrays[name] = value
    except InputError:
        raise
    except ValueError as exc:
        if _OBJECT_ARRAY_MSG in str(exc):
            raise InputError(
                f"{label}: array {brief(name)} contains a pickled/object array; gdcert never "
                "unpickles — save a numeric array"
            ) from None
        raise InputError(f"{label}: not a valid .npz file ({clip(exc)})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError) as exc:
        raise InputError(f"{label}: not a valid .npz file ({clip(exc)})") from None
    return arrays


_MAX_MEMBERS = 10_000


def _check_npz_members(path: Path, label: str) -> None:
    """Every member's declared sizes (zip and .npy headers) fit the limits: no zip bomb,
    no header that declares more data than the member holds."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > _MAX_MEMBERS:
                raise InputError(f"{label}: has {len(infos)} members; expected at most "
                                 f"{_MAX_MEMBERS} arrays")
            total = sum(info.file_size for info in infos)
            check_memory(total * 2, what=f"{label}: {len(infos)} member(s) that decompress to "
                                         f"{format_bytes(total)}")
            for info in infos:
                if not info.filename.endswith(".npy"):
                    continue
                name = brief(info.filename[:-4])
                with zf.open(info) as fh:
                    _check_npy_stream(fh, f"{label}, array {name}", info.file_size)
    except InputError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, KeyError,
            RuntimeError, ValueError, NotImplementedError) as exc:
        raise InputError(f"{label}: not a valid .npz file ({clip(exc)})") from None


def _pick(items: Mapping[str, Any], key: str | None, label: str, noun: str, ext: str) -> str:
    """Choose the member named ``key``, or the only member when no key is given."""
    names = list(items)
    listing = clip(", ".join(names[:20])) if names else "none"
    if key is not None:
        if key not in items:
            raise InputError(f"{label}: no {noun} {brief(key)} (available: {listing})")
        return key
    if not names:
        raise InputError(f"{label}: contains no {noun}s; expected one numeric matrix")
    if len(names) > 1:
        raise InputError(
            f"{label}: contains several {noun}s ({listing}); choose one with FILE{ext}:NAME"
        )
    return names[0]


_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", None: "whitespace"}


def _split_fields(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    fields = [f.strip() for f in line.split(delimiter)]
    return [f[1:-1].strip() if len(f) >= 2 and f[0] == f[-1] == '"' else f for f in fields]


def _parse_number(field: str) -> float | None:
    try:
        return float(field)
    except ValueError:
        return None


def _load_text(path: Path, label: str) -> np.ndarray:
    head = _read_head(path, label)
    _refuse_pickle(head, label)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{label}: cannot read: {stat_error(exc)}") from None
    # Parsed text costs ~40 bytes per character in lists of floats before numpy.
    check_memory(size * 40, what=f"{label}: a {format_bytes(size)} text file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{label}: is not UTF-8 text; expected numbers as text") from None
    except OSError as exc:
        raise InputError(f"{label}: cannot read: {exc.strerror or exc}") from None
    delimiter: str | None = None
    first_line = 0
    rows: list[list[float]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not rows:
            first_line = lineno
            if ";" in line:
                delimiter = ";"
            elif "," in line:
                delimiter = ","
            elif "\t" in line:
                delimiter = "\t"
        fields = _split_fields(line, delimiter)
        values = [_parse_number(f) for f in fields]
        if not rows and all(v is None for v in values) and any(c.isalpha() for c in line):
            shown = clip(", ".join(repr(f) for f in fields[:4])
                          + (", ..." if len(fields) > 4 else ""))
            raise InputError(
                f"{label}: line {lineno} looks like a header ({shown}); expected only numbers "
                "— remove it or comment it out with '#'"
            )
        for col, (field, value) in enumerate(zip(fields, values, strict=True), start=1):
            if value is None:
                if field == "":
                    raise InputError(
                        f"{label}: line {lineno}, column {col}: empty value; expected a number "
                        f"({_DELIMITER_NAMES[delimiter]}-separated)"
                    )
                hint = " (decimal commas are not supported)" if "," in field else ""
                raise InputError(
                    f"{label}: line {lineno}, column {col}: cannot read {brief(field)} as a "
                    f"number{hint}"
                )
        numbers = [v for v in values if v is not None]
        if rows and len(numbers) != len(rows[0]):
            raise InputError(
                f"{label}: line {lineno} has {len(numbers)} values but line {first_line} has "
                f"{len(rows[0])}; expected the same number of "
                f"{_DELIMITER_NAMES[delimiter]}-separated values on every line"
            )
        rows.append(numbers)
    if not rows:
        raise InputError(f"{label}: contains no numbers; expected a non-empty matrix")
    return np.array(rows, dtype=np.float64)


def _load_mtx(path: Path, label: str) -> np.ndarray:
    head = _read_head(path, label)
    _refuse_pickle(head, label)
    import scipy.io

    try:
        rows, cols, entries, *_ = scipy.io.mminfo(path)
    except Exception as exc:
        raise InputError(f"{label}: not a valid MatrixMarket file "
                         f"({clip(exc)})") from None
    _check_declared((int(rows), int(cols)), label)
    check_memory(int(entries) * 40, what=f"{label}: {entries} entries")
    try:
        result = scipy.io.mmread(path)
    except Exception as exc:  # scipy raises ValueError, OSError, IndexError, ... on garbage
        raise InputError(f"{label}: not a valid MatrixMarket file "
                         f"({clip(exc)})") from None
    if hasattr(result, "toarray"):
        result = result.toarray()
    return np.asarray(result)


def _load_mat(path: Path, key: str | None, label: str) -> tuple[np.ndarray, str]:
    head = _read_head(path, label, 1024)
    _refuse_pickle(head, label)
    v73_hint = (
        f"{label}: is a MATLAB v7.3 (HDF5) file, which needs an HDF5 reader; "
        "re-save it in MATLAB with save(..., '-v7')"
    )
    if b"MATLAB 7.3" in head[:128] or head.startswith(_HDF5_MAGIC) or head[512:520] == _HDF5_MAGIC:
        raise InputError(v73_hint)
    import scipy.io

    try:
        listing = scipy.io.whosmat(path)
    except NotImplementedError:
        raise InputError(v73_hint) from None
    except Exception as exc:
        raise InputError(f"{label}: not a valid MATLAB .mat file "
                         f"({clip(exc)})") from None
    total = 0
    for var_name, var_shape, _ in listing:
        if key is None or var_name == key:
            total += _check_declared(tuple(var_shape), f"{label}, variable {brief(var_name)}")
    check_memory(total * 8 * 2, what=f"{label}: its variables")
    try:
        contents = scipy.io.loadmat(path)
    except NotImplementedError:
        raise InputError(v73_hint) from None
    except Exception as exc:  # loadmat raises ValueError, TypeError, OSError, ... on garbage
        raise InputError(f"{label}: not a valid MATLAB .mat file "
                         f"({clip(exc)})") from None
    variables = {k: v for k, v in contents.items() if not k.startswith("__")}
    name = _pick(variables, key, label, "variable", ".mat")
    value = variables[name]
    if hasattr(value, "toarray"):
        value = value.toarray()
    value = np.asarray(value)
    if value.dtype.kind == "O" or value.dtype.names is not None:
        raise InputError(
            f"{label}: variable {brief(name)} is a MATLAB cell array or struct; "
            "expected a numeric matrix"
        )
    return value, name


# --------------------------------------------------------------------------- public API


def load_matrix(spec: str | os.PathLike[str], *, what: str = "TARGET") -> np.ndarray:
    """Load one real, finite, non-empty 2-D matrix as C-contiguous float64.

    ``spec`` is a path, or ``path.npz:NAME`` / ``path.mat:NAME`` to pick an array or
    variable.  ``what`` names the input in error messages (e.g. ``"TARGET"``).  Sizes
    declared by headers are checked against :func:`gdcert.validate.limits` before any
    allocation.
    """
    return guarded(_label(what, _split_spec(spec)[0]), lambda: _load_matrix(spec, what))


def _load_matrix(spec: str | os.PathLike[str], what: str) -> np.ndarray:
    path, key = _split_spec(spec)
    label = _label(what, path)
    ext = path.suffix.lower()
    if ext not in SUPPORTED_MATRIX_EXTENSIONS:
        shown = brief(path.suffix) if path.suffix else "no extension"
        raise InputError(
            f"{label}: unsupported file type ({shown}); supported: "
            + ", ".join(SUPPORTED_MATRIX_EXTENSIONS)
        )
    if key is not None and ext not in _KEYED_EXTENSIONS:
        raise InputError(
            f"{label}: ':{clip(key)}' selects an array only in .npz or .mat files; "
            f"a {ext} file holds one matrix"
        )
    if key == "":
        raise InputError(f"{label}: empty name after ':'; expected FILE{ext}:NAME")
    _check_regular_file(path, label)
    if ext == ".npy":
        arr = _load_npy(path, label)
    elif ext == ".npz":
        arrays = _read_npz(path, label)
        name = _pick(arrays, key, label, "array", ".npz")
        arr, label = arrays[name], f"{label}, array {brief(name)}"
    elif ext in _TEXT_EXTENSIONS:
        arr = _load_text(path, label)
    elif ext == ".mtx":
        arr = _load_mtx(path, label)
    else:
        arr, name = _load_mat(path, key, label)
        label = f"{label}, variable {brief(name)}"
    return _validate_array(arr, label)


def load_npz_arrays(
    path: str | os.PathLike[str], *, required: Sequence[str] = (), what: str = "FILE"
) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` archive, validated and converted to float64.

    Each array must be real, finite, non-empty and 1-D or 2-D; the keys in ``required``
    must be present.  Arrays come back C-contiguous, in archive order.
    """
    p = Path(os.fsdecode(os.fspath(path)))
    return guarded(_label(what, p), lambda: _load_npz_arrays(p, required, what))


def _load_npz_arrays(p: Path, required: Sequence[str], what: str) -> dict[str, np.ndarray]:
    label = _label(what, p)
    if p.suffix.lower() != ".npz":
        raise InputError(f"{label}: expected an .npz archive (numpy.savez), got "
                         f"{brief(p.suffix)}")
    _check_regular_file(p, label)
    raw = _read_npz(p, label)
    missing = [k for k in required if k not in raw]
    if missing:
        present = clip(", ".join(list(raw)[:20])) if raw else "none"
        names = clip(", ".join(f"'{k}'" for k in missing))
        plural = "s" if len(missing) > 1 else ""
        raise InputError(f"{label}: missing required array{plural} {names} (present: {present})")
    if not raw:
        raise InputError(f"{label}: contains no arrays")
    return {
        name: _validate_array(arr, f"{label}, array {brief(name)}", ndims=(1, 2))
        for name, arr in raw.items()
    }


def load_data(
    path: str | os.PathLike[str], *, samples_as_rows: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``X`` (d_x × m) and outputs ``Y`` (d_y × m) from an ``.npz`` archive.

    Columns are samples; with ``samples_as_rows`` both arrays are transposed first.  A 1-D
    ``X`` or ``Y`` is one feature observed on every sample (shape ``1 × m``).
    """
    arrays = load_npz_arrays(path, required=("X", "Y"), what="DATA")
    label = _label("DATA", Path(os.fsdecode(os.fspath(path))))

    def orient(a: np.ndarray) -> np.ndarray:
        if a.ndim == 1:
            return a.reshape(1, -1)
        return np.ascontiguousarray(a.T) if samples_as_rows else a

    x, y = orient(arrays["X"]), orient(arrays["Y"])
    if x.shape[1] != y.shape[1]:
        if samples_as_rows:
            raise InputError(
                f"{label}: X has m={x.shape[1]} samples (rows, --samples-as-rows) but Y has "
                f"{y.shape[1]}; expected the same number of samples"
            )
        raise InputError(
            f"{label}: X has m={x.shape[1]} samples (columns) but Y has {y.shape[1]}; "
            "use --samples-as-rows if samples are rows"
        )
    return x, y


_WEIGHT_KEY = re.compile(r"W([1-9][0-9]*)")


def load_weights(path: str | os.PathLike[str], *, what: str = "weights") -> list[np.ndarray]:
    """Layer matrices ``[W1, ..., WL]`` from an ``.npz`` archive with keys ``W1``..``WL``.

    The network computes ``W_L ⋯ W_1 x``, so consecutive layers must chain:
    ``W_{j+1}.shape[1] == W_j.shape[0]``.
    """
    arrays = load_npz_arrays(path, what=what)
    label = _label(what, Path(os.fsdecode(os.fspath(path))))
    indices: dict[int, str] = {}
    extra: list[str] = []
    for key in arrays:
        match = _WEIGHT_KEY.fullmatch(key)
        if match:
            indices[int(match.group(1))] = key
        else:
            extra.append(key)
    if not indices:
        found = clip(", ".join(list(arrays)[:20]))
        raise InputError(
            f"{label}: contains no weight matrices; expected arrays W1, W2, ..., WL "
            f"(found: {found})"
        )
    depth = max(indices)
    if extra:
        names = clip(", ".join(f"'{k}'" for k in extra[:20]))
        raise InputError(
            f"{label}: unexpected array{'s' if len(extra) > 1 else ''} {names}; "
            f"expected only W1..W{depth}"
        )
    gaps = [f"W{j}" for j in range(1, depth + 1) if j not in indices]
    if gaps:
        raise InputError(
            f"{label}: missing {', '.join(gaps)}; expected consecutive W1..W{depth} with no gaps"
        )
    weights: list[np.ndarray] = []
    for j in range(1, depth + 1):
        w = arrays[f"W{j}"]
        if w.ndim != 2:
            raise InputError(
                f"{label}: W{j} is a 1-D array of length {w.shape[0]}; expected a 2-D matrix "
                f"(reshape to ({w.shape[0]}, 1) or (1, {w.shape[0]}))"
            )
        if weights and w.shape[1] != weights[-1].shape[0]:
            raise InputError(
                f"{label}: W{j} has {w.shape[1]} columns but W{j - 1} has "
                f"{weights[-1].shape[0]} rows: layers do not chain"
            )
        weights.append(w)
    return weights
