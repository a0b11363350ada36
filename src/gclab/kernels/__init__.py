"""Compiled twins of the O(heap) phases (architecture decision 5).

Every kernel module here mirrors a readable oracle in :mod:`gclab.algorithms` function for
function: same names, same signatures, same results (list order included), proved by the
differential tests in ``tests/test_kernels.py``. A public wrapper reads the table columns and
calls a private ``@jit`` function that works on plain numpy arrays. Kernels import the heap and
:mod:`gclab._jit`, never an oracle: which of the two runs is the collectors' choice
(:mod:`gclab.collectors.phases`, :mod:`gclab.collectors.cpython.phases`).

``jit`` (:mod:`gclab._jit`) makes each ``_private`` function a lazy kernel: plain Python until
the process switches to compiled helpers (a heap of ``GCLAB_JIT_MIN`` rows, a large array
argument, ``GCLAB_JIT_AFTER_MS`` spent in plain twins), ``numba.njit(cache=True)`` after; under
``GCLAB_JIT=0`` or without numba it is the identity, so the kernels still run (slowly) as plain
Python, which is how the differential tests cover their source lines. :data:`ENABLED` says
whether compiled helpers may run at all; whether they run now is ``gclab._jit.ACTIVE`` (read it
there: it changes at the switch).
"""

from __future__ import annotations

from .._jit import ENABLED, at, jit
from ..heap.types import type_arrays

__all__ = ["ENABLED", "at", "jit", "type_arrays"]
