"""Compiled twins of the O(heap) phases (architecture decision 5).

Every kernel module here mirrors a readable oracle in :mod:`gclab.algorithms` function for
function: same names, same signatures, same results (list order included), proved by the
differential tests in ``tests/test_kernels.py``. A public wrapper reads the table columns and
calls a private ``@jit`` function that works on plain numpy arrays. Kernels import the heap and
:mod:`gclab._jit`, never an oracle: which of the two runs is the collectors' choice
(:mod:`gclab.collectors.phases`, :mod:`gclab.collectors.cpython.phases`).

``jit`` is ``numba.njit(cache=True)`` when numba is importable and ``GCLAB_JIT`` is not ``0``;
otherwise it is the identity, so the kernels still run (slowly) as plain Python, which is how the
differential tests cover their source lines. :data:`ENABLED` says whether the collectors use
the kernels.
"""

from __future__ import annotations

from .._jit import ENABLED, at, jit
from ..heap.types import type_arrays

__all__ = ["ENABLED", "at", "jit", "type_arrays"]
