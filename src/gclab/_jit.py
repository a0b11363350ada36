"""numba or the identity: the bottom layer every compiled helper imports.

``jit`` is ``numba.njit(cache=True, nogil=True)`` when numba is importable and ``GCLAB_JIT`` is
not ``0``; otherwise it is the identity, so compiled helpers still run (slowly) as plain Python,
which is how the differential tests cover their source lines. :data:`ENABLED` says whether the
engine uses the compiled helpers. This module imports nothing of gclab but :mod:`gclab.config`,
so the heap (``heap/_jit_*.py``), the kernels and the graph view can all build on it
(``docs/design/ARCHITECTURE.md``, "Next stage").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from . import config

F = TypeVar("F", bound=Callable[..., Any])

_numba: Any = None
if config.JIT:  # GCLAB_JIT=0 does not even import numba
    try:  # pragma: no cover - depends on the environment
        import numba as _numba
    except ImportError:  # pragma: no cover
        _numba = None

#: True when the engine runs the compiled helpers (numba importable and GCLAB_JIT != 0).
ENABLED: bool = config.JIT and _numba is not None


def jit(fn: F) -> F:
    """``numba.njit(cache=True, nogil=True)`` when :data:`ENABLED`, else ``fn`` unchanged."""
    if not ENABLED:
        return fn
    return _numba.njit(cache=True, nogil=True)(fn)


def _at(i: int) -> np.uint32:
    """``i`` (never negative) as an unsigned index: numba adds negative-index wraparound code to
    every signed index it cannot prove positive, which costs a kernel that indexes a lot
    (update_refs ran twice as fast with its row indices unsigned)."""
    return np.uint32(i)


at = jit(_at)

__all__ = ["ENABLED", "at", "jit"]
