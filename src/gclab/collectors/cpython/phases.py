"""The phases CPython's collector calls: the oracles for a small heap, the compiled kernels for
a large one.

Choosing the implementation is policy, so it is made here, in the collector layer: each name
below is a :func:`gclab.collectors.phases.choose` dispatcher between the oracle in
:mod:`gclab.algorithms.cycles` / :mod:`gclab.algorithms.finalizers` and its compiled twin in
:mod:`gclab.collectors.cpython.fast` (each phase over the unreachable set with its shortcut),
decided per call by :func:`gclab._jit.wants` (the process has switched to compiled helpers, or
the heap's table has reached ``GCLAB_JIT_MIN`` rows). Under ``GCLAB_JIT=0`` the names are the
oracles themselves. Both have the same signatures and post-conditions (``tests/test_kernels.py``
and ``tests/test_dealloc_kernel.py`` prove they agree), so switching between collections, or
between two phases of one, changes nothing observable. The collector looks each phase up here
at call time, so a test may put another implementation in.
"""

from __future__ import annotations

import sys
import types

from ... import _jit
from ...algorithms import cycles as _cycles
from ...algorithms import finalizers as _finalizers
from ..phases import choose, rebind

if _jit.ENABLED:
    from . import fast as _fast

    clear_collecting = choose(_cycles.clear_collecting, _fast.clear_collecting)
    deduce_unreachable = choose(_cycles.deduce_unreachable, _fast.deduce_unreachable)
    untrack_dicts = choose(_cycles.untrack_dicts, _fast.untrack_dicts)
    untrack_tuples = choose(_cycles.untrack_tuples, _fast.untrack_tuples)
    delete_garbage = choose(_finalizers.delete_garbage, _fast.delete_garbage)
    finalize_garbage = choose(_finalizers.finalize_garbage, _fast.finalize_garbage)
    handle_legacy_finalizers = choose(_finalizers.handle_legacy_finalizers,
                                      _fast.handle_legacy_finalizers)
    handle_resurrected_objects = choose(_finalizers.handle_resurrected_objects,
                                        _fast.handle_resurrected_objects)
    handle_weakrefs = choose(_finalizers.handle_weakrefs, _fast.handle_weakrefs)
    move_legacy_finalizer_reachable = choose(_finalizers.move_legacy_finalizer_reachable,
                                             _fast.move_legacy_finalizer_reachable)
    move_legacy_finalizers = choose(_finalizers.move_legacy_finalizers,
                                    _fast.move_legacy_finalizers)
    _jit.on_switch(lambda: rebind(globals()))  # after the switch: the kernels themselves
else:
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


class _PhaseModule(types.ModuleType):
    """This module, counting the assignments to its names (``rebinds``): the compiled twin
    (:func:`gclab.collectors.cpython.compiled.applies`) looks at what each phase is bound to
    only after one has changed, not at every collection. The switch's :func:`rebind` writes
    the module's dict directly: it puts in each phase's own kernel, which counts as the same
    phase there."""

    rebinds = 0

    def __setattr__(self, name: str, value: object) -> None:
        super().__setattr__(name, value)
        super().__setattr__("rebinds", self.rebinds + 1)

    def __delattr__(self, name: str) -> None:
        super().__delattr__(name)
        super().__setattr__("rebinds", self.rebinds + 1)


sys.modules[__name__].__class__ = _PhaseModule
