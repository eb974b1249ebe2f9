"""Reading and writing files: safe array loaders (:mod:`gdcert.io.arrays`) and atomic
writers (:mod:`gdcert.io.atomic`). Nothing here unpickles."""

from gdcert.io.arrays import (
    SUPPORTED_MATRIX_EXTENSIONS,
    load_data,
    load_matrix,
    load_npz_arrays,
    load_weights,
)
from gdcert.io.atomic import atomic_write_bytes, atomic_write_text

__all__ = [
    "SUPPORTED_MATRIX_EXTENSIONS",
    "atomic_write_bytes",
    "atomic_write_text",
    "load_data",
    "load_matrix",
    "load_npz_arrays",
    "load_weights",
]
