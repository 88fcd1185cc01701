"""NumPy's BLAS thread count: limit OpenBLAS the way ``torch.set_num_threads`` limits torch.

Why: the NumPy fast paths (``rlbt.agents.fast.mlp``) multiply 64 x 64 matrices. A
pip-installed NumPy bundles OpenBLAS, which splits even those over every core;
on a busy machine (a sweep's other workers, a shared CI box) its threads wait
on each other and a 5 us matmul takes 500 us. One thread is fastest for tiny
networks, as for torch. NumPy has no API for this, so the bundled library's
own ``openblas_set_num_threads`` is called through ``ctypes`` (what
``threadpoolctl`` does); where NumPy uses another BLAS, nothing changes.

Process-wide, like ``rlbt.agents.base.set_threads``: the caller's choice, never an
agent's.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os
from collections.abc import Callable

import numpy as np

# The setter's name in NumPy's bundled scipy-openblas (64-bit ints) and in plain OpenBLAS.
_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)
_GETTERS = tuple(name.replace("set_", "get_") for name in _SETTERS)


def _bundled_libraries() -> list[str]:
    """OpenBLAS libraries shipped inside the NumPy wheel (Linux, macOS, Windows layouts)."""
    root = os.path.dirname(os.path.dirname(np.__file__))
    patterns = ("numpy.libs/*openblas*", "numpy/.dylibs/*openblas*", "numpy.libs/*openblas*.dll")
    return sorted({path for pattern in patterns for path in glob.glob(os.path.join(root, pattern))})


@functools.lru_cache(maxsize=1)
def _functions() -> tuple[Callable[[int], None], Callable[[], int]] | None:
    for path in _bundled_libraries():
        try:
            library = ctypes.CDLL(path)  # already loaded by NumPy: this finds the same copy
        except OSError:
            continue
        for setter, getter in zip(_SETTERS, _GETTERS, strict=True):
            if hasattr(library, setter) and hasattr(library, getter):
                set_fn, get_fn = getattr(library, setter), getattr(library, getter)
                set_fn.restype, get_fn.restype = None, ctypes.c_int
                set_fn.argtypes = [ctypes.c_int]
                return set_fn, get_fn
    return None


def blas_threads() -> int | None:
    """NumPy's OpenBLAS thread count, or None when NumPy does not bundle OpenBLAS."""
    functions = _functions()
    return None if functions is None else int(functions[1]())


class OneBlasThread:
    """Context manager: NumPy's OpenBLAS on one thread inside, as it was after.

    For the tiny matrix products of ``rlbt.agents.fast.mlp``: threads never pay at those
    sizes, and OpenBLAS threads next to torch's spinning OpenMP workers (torch's
    default threads, or any busy machine) turn a 120 us update into 8 ms. Costs
    one C call when the count is already 1, three otherwise.
    """

    __slots__ = ("_before",)

    def __init__(self) -> None:
        self._before = 1

    def __enter__(self) -> None:
        functions = _functions()
        if functions is not None:
            self._before = int(functions[1]())
            if self._before != 1:
                functions[0](1)

    def __exit__(self, *exc: object) -> None:
        if self._before != 1:
            functions = _functions()
            if functions is not None:
                functions[0](self._before)
            self._before = 1


def set_blas_threads(threads: int) -> bool:
    """Set NumPy's OpenBLAS thread count; 0 leaves it as it is.

    :param threads: threads for NumPy's matrix products (1 suits small networks).
    :return: True when a bundled OpenBLAS was found (and set, unless ``threads`` is 0).
    """
    functions = _functions()
    if functions is None:
        return False
    if threads > 0:
        functions[0](int(threads))
    return True
