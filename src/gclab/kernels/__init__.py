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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from .. import config
from ..heap.types import Kind

if TYPE_CHECKING:
    from ..heap.types import TypeRegistry

F = TypeVar("F", bound=Callable[..., Any])

_numba: Any = None
if config.JIT:  # GCLAB_JIT=0 does not even import numba
    try:  # pragma: no cover - depends on the environment
        import numba as _numba
    except ImportError:  # pragma: no cover
        _numba = None

#: True when the collector runs the compiled kernels (numba importable and GCLAB_JIT != 0).
ENABLED: bool = config.JIT and _numba is not None


def jit(fn: F) -> F:
    """``numba.njit(cache=True)`` when :data:`ENABLED`, else ``fn`` unchanged."""
    if not ENABLED:
        return fn
    return _numba.njit(cache=True, nogil=True)(fn)  # type: ignore[no-any-return]


def _at(i: int) -> np.uint32:
    """``i`` (never negative) as an unsigned index: numba adds negative-index wraparound code to
    every signed index it cannot prove positive, which costs a kernel that indexes a lot
    (update_refs ran twice as fast with its row indices unsigned)."""
    return np.uint32(i)


at = jit(_at)


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
