"""The phases CPython's collector calls: compiled by default, the oracles under GCLAB_JIT=0.

Choosing the implementation is policy, so it is made here, in the collector layer: the names
bound below are those of :mod:`gclab.collectors.cpython.fast` (the compiled kernels, each
phase over the unreachable set with its shortcut) when :data:`gclab._jit.ENABLED` is true, else
those of :mod:`gclab.algorithms.cycles` and :mod:`gclab.algorithms.finalizers`; both have the
same signatures and post-conditions (``tests/test_kernels.py`` and
``tests/test_dealloc_kernel.py`` prove they agree). The collector looks each phase up here at
call time, so a test may put another implementation in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._jit import ENABLED

if TYPE_CHECKING or not ENABLED:  # the oracles' signatures are the contract
    from ...algorithms import cycles as _cycles
    from ...algorithms import finalizers as _finalizers
else:
    from . import fast as _cycles
    from . import fast as _finalizers

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
