"""Compiled twins of the O(heap) phases (architecture decision 5).

Every kernel module here mirrors a readable oracle in :mod:`gclab.algorithms` function for
function: same names, same signatures, same results (list order included), proved by the
differential tests in ``tests/test_kernels.py``. A public wrapper reads the table columns and
calls a private ``@jit`` function that works on plain numpy arrays.

``jit`` is ``numba.njit(cache=True)`` when numba is importable and ``GCLAB_JIT`` is not ``0``;
otherwise it is the identity, so the kernels still run (slowly) as plain Python, which is how the
differential tests cover their source lines. :data:`ENABLED` says whether the collector uses the
kernels (see :mod:`gclab.kernels.phases`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .._jit import ENABLED as _ENABLED
from .._jit import at, jit
from ..heap.types import Kind

if TYPE_CHECKING:
    from ..heap.types import TypeRegistry

#: True when the collector runs the compiled kernels (numba importable and GCLAB_JIT != 0).
ENABLED = _ENABLED


# Kind codes as the kernels see them (a uint8 per type id).
K_OTHER, K_LIST, K_TUPLE, K_DICT = 0, 1, 2, 3
_KIND_CODE = {Kind.LIST: K_LIST, Kind.TUPLE: K_TUPLE, Kind.DICT: K_DICT}

U8 = npt.NDArray[np.uint8]


def _build_type_arrays(types: TypeRegistry) -> tuple[U8, U8]:
    kinds = np.zeros(len(types), np.uint8)
    gc_capable = np.zeros(len(types), np.uint8)
    for info in types.types:
        kinds[info.type_id] = _KIND_CODE.get(info.kind, K_OTHER)
        gc_capable[info.type_id] = 1 if info.gc_capable else 0
    return kinds, gc_capable


def type_arrays(types: TypeRegistry) -> tuple[U8, U8]:
    """``(kinds, gc_capable)``: per type id, the kind code and 1 if the type is GC-capable.

    Cached on the registry (:meth:`~gclab.heap.types.TypeRegistry.derived`), so the arrays
    always cover every type id.
    """
    return types.derived("kernels.type_arrays", _build_type_arrays)


__all__ = ["ENABLED", "K_DICT", "K_LIST", "K_OTHER", "K_TUPLE", "at", "jit", "type_arrays"]
