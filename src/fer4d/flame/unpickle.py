"""A restricted unpickler for FLAME model files.

FLAME's ``.pkl`` files were written by Python 2 with chumpy arrays and scipy sparse matrices.
Unpickling can run arbitrary code, so only the classes such files need are resolved: NumPy
arrays and dtypes, scipy.sparse matrices and chumpy's ``Ch`` array. Anything else (say a
pickle that calls ``os.system``) is refused with an ``InputFileError``. When chumpy is not
installed, ``Ch`` objects load as a stub that keeps their array. Arrays are size-checked before
they are allocated (``MAX_ARRAY_BYTES``), so a small pickle cannot claim gigabytes.
"""

from __future__ import annotations

import copyreg
import importlib
import math
import os
import pickle
from typing import Any

import numpy as np
import scipy.sparse

from fer4d.errors import InputFileError

MAX_ARRAY_BYTES = 1 << 30
"""The largest array a model pickle may hold (FLAME 2023's largest, shapedirs, is ~50 MB)."""


def check_array_size(shape, dtype) -> None:
    """Refuse (``ValueError``) an array of ``shape`` and ``dtype`` larger than ``MAX_ARRAY_BYTES``."""
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    n_bytes = math.prod(int(d) for d in dims) * np.dtype(dtype).itemsize
    if n_bytes > MAX_ARRAY_BYTES:
        raise ValueError(f"refusing an array of shape {dims} ({n_bytes} bytes, more than {MAX_ARRAY_BYTES})")


class _CheckedArray:
    """Stands for ``numpy.ndarray`` in a pickle: calling it checks the size before allocating."""

    def __new__(cls, shape, dtype=float, buffer=None, offset=0, strides=None, order=None):
        if buffer is None:
            check_array_size(shape, dtype)
        return np.ndarray(shape, dtype, buffer, offset, strides, order)


def _checked_reconstruct(subtype, shape, dtype):
    """numpy's ``_reconstruct`` (the first step of unpickling an array), size-checked first."""
    check_array_size(shape, dtype)
    return np.ndarray.__new__(np.ndarray, shape, dtype)


_CHECKED_NUMPY = {"ndarray": _CheckedArray, "_reconstruct": _checked_reconstruct}
_NUMPY_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
}
_BUILTIN_GLOBALS = {
    ("copy_reg", "_reconstructor"): copyreg._reconstructor,
    ("copyreg", "_reconstructor"): copyreg._reconstructor,
    ("__builtin__", "object"): object,
    ("builtins", "object"): object,
    ("__builtin__", "set"): set,
    ("builtins", "set"): set,
    ("_codecs", "encode"): lambda text, encoding="utf-8": text.encode(encoding),
}
_SPARSE_CLASSES = {"csc_matrix", "csr_matrix", "coo_matrix", "csc_array", "csr_array", "coo_array"}
_SPARSE_MODULES = {
    "scipy.sparse",
    "scipy.sparse.csc",
    "scipy.sparse.csr",
    "scipy.sparse.coo",
    "scipy.sparse._csc",
    "scipy.sparse._csr",
    "scipy.sparse._coo",
}
_CHUMPY_GLOBALS = {("chumpy.ch", "Ch"), ("chumpy", "Ch")}


class ChumpyStub:
    """Stands in for ``chumpy.ch.Ch`` when chumpy is absent; holds the pickled state."""

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return np.asarray(self.__dict__["x"], dtype=dtype)


def chumpy_class() -> type:
    """The real ``chumpy.ch.Ch`` when importable, else ``ChumpyStub``."""
    try:
        return importlib.import_module("chumpy.ch").Ch
    except ImportError:
        return ChumpyStub


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only NumPy, scipy.sparse and chumpy array classes."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_GLOBALS:
            return _CHECKED_NUMPY.get(name) or getattr(importlib.import_module(module), name)
        if (module, name) in _BUILTIN_GLOBALS:
            return _BUILTIN_GLOBALS[(module, name)]
        if module in _SPARSE_MODULES and name in _SPARSE_CLASSES:
            return getattr(scipy.sparse, name)
        if (module, name) in _CHUMPY_GLOBALS:
            return chumpy_class()
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def restricted_load(path: str | os.PathLike) -> Any:
    """Unpickle ``path`` with ``RestrictedUnpickler`` (Python 2 pickles read as latin-1)."""
    try:
        with open(path, "rb") as handle:
            return RestrictedUnpickler(handle, encoding="latin1").load()
    except pickle.UnpicklingError as err:
        raise InputFileError(path, f"unsafe or invalid pickle: {err}") from err
    except (OSError, EOFError, ValueError, TypeError, AttributeError, ImportError, MemoryError, RecursionError) as err:
        raise InputFileError(path, f"cannot unpickle: {type(err).__name__}: {err}") from err


def to_numpy(value: Any) -> np.ndarray:
    """A dense float/int ndarray from an ndarray, scipy sparse matrix or chumpy array."""
    if scipy.sparse.issparse(value):
        check_array_size(value.shape, value.dtype)
        return value.toarray()
    if hasattr(value, "r") and not isinstance(value, np.ndarray):
        return np.asarray(value.r)
    return np.asarray(value)
