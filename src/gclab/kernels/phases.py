"""The phases the collector calls: compiled kernels by default, the oracles under GCLAB_JIT=0.

The names bound here are the functions of :mod:`gclab.kernels.cycles` when
:data:`gclab.kernels.ENABLED` is true, else those of :mod:`gclab.algorithms.cycles`; both have
the same signatures and post-conditions (``tests/test_kernels.py`` proves they agree).
"""

from __future__ import annotations

from . import ENABLED

if ENABLED:
    from .cycles import clear_collecting, deduce_unreachable, untrack_dicts, untrack_tuples
else:
    from ..algorithms.cycles import (
        clear_collecting,
        deduce_unreachable,
        untrack_dicts,
        untrack_tuples,
    )

__all__ = ["ENABLED", "clear_collecting", "deduce_unreachable", "untrack_dicts",
           "untrack_tuples"]
