"""The phases the collector calls: compiled kernels by default, the oracles under GCLAB_JIT=0.

The names bound here are the functions of :mod:`gclab.kernels.cycles` and
:mod:`gclab.kernels.finalizers` (and :mod:`gclab.kernels.introspection` for ``heap.gc``) when
:data:`gclab.kernels.ENABLED` is true, else those of the matching :mod:`gclab.algorithms`
modules; both have the same signatures and post-conditions (``tests/test_kernels.py``,
``tests/test_dealloc_kernel.py`` and ``tests/test_introspection_kernels.py`` prove they agree).
"""

from __future__ import annotations

from . import ENABLED

if ENABLED:
    from .cycles import clear_collecting, deduce_unreachable, untrack_dicts, untrack_tuples
    from .finalizers import (
        delete_garbage,
        finalize_garbage,
        handle_legacy_finalizers,
        handle_resurrected_objects,
        handle_weakrefs,
        move_legacy_finalizer_reachable,
        move_legacy_finalizers,
    )
    from .introspection import get_objects_ids, get_referrer_ids
else:
    from ..algorithms.cycles import (
        clear_collecting,
        deduce_unreachable,
        untrack_dicts,
        untrack_tuples,
    )
    from ..algorithms.finalizers import (
        delete_garbage,
        finalize_garbage,
        handle_legacy_finalizers,
        handle_resurrected_objects,
        handle_weakrefs,
        move_legacy_finalizer_reachable,
        move_legacy_finalizers,
    )
    from ..algorithms.introspection import get_objects_ids, get_referrer_ids

__all__ = ["ENABLED", "clear_collecting", "deduce_unreachable", "delete_garbage",
           "finalize_garbage", "get_objects_ids", "get_referrer_ids", "handle_legacy_finalizers",
           "handle_resurrected_objects", "handle_weakrefs", "move_legacy_finalizer_reachable",
           "move_legacy_finalizers", "untrack_dicts", "untrack_tuples"]
