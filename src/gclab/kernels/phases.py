"""The phases the collector calls: compiled kernels by default, the oracles under GCLAB_JIT=0.

The names bound here are the functions of :mod:`gclab.kernels.cycles` and
:mod:`gclab.kernels.finalizers` (and :mod:`gclab.kernels.introspection` for ``heap.gc``) when
:data:`gclab.kernels.ENABLED` is true, else those of the matching :mod:`gclab.algorithms`
modules; both have the same signatures and post-conditions (``tests/test_kernels.py``,
``tests/test_dealloc_kernel.py`` and ``tests/test_introspection_kernels.py`` prove they agree).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from . import ENABLED

if TYPE_CHECKING:  # both sides have the oracles' signatures
    from ..algorithms import cycles as _cycles
    from ..algorithms import finalizers as _finalizers
    from ..algorithms import introspection as _introspection
else:
    _SOURCE = "gclab.kernels" if ENABLED else "gclab.algorithms"
    _cycles = importlib.import_module(f"{_SOURCE}.cycles")
    _finalizers = importlib.import_module(f"{_SOURCE}.finalizers")
    _introspection = importlib.import_module(f"{_SOURCE}.introspection")

clear_collecting = _cycles.clear_collecting
deduce_unreachable = _cycles.deduce_unreachable
untrack_dicts = _cycles.untrack_dicts
untrack_tuples = _cycles.untrack_tuples
delete_garbage = _finalizers.delete_garbage
finalize_garbage = _finalizers.finalize_garbage
handle_legacy_finalizers = _finalizers.handle_legacy_finalizers
handle_resurrected_objects = _finalizers.handle_resurrected_objects
handle_weakrefs = _finalizers.handle_weakrefs
move_legacy_finalizer_reachable = _finalizers.move_legacy_finalizer_reachable
move_legacy_finalizers = _finalizers.move_legacy_finalizers
get_objects_ids = _introspection.get_objects_ids
get_referrer_ids = _introspection.get_referrer_ids
