"""The compiled twin of ``GenerationalCollector.collect()``: a collection in one compiled call.

``collect()`` (:mod:`gclab.collectors.cpython.generational`) is the specification and runs a
dozen phases, each a Python call and most a kernel dispatch; a young collection of a few
hundred objects spends most of its time there. When no user code can run in it, the same
collection is one call of :func:`gclab.kernels.young._collect`. :func:`applies` says when:

- the kernels are on: the heap has its compiled cascade, and tp_clear may run in it (no
  mutation listener or write barrier must hear the writes, frees are not deferred:
  ``heap._clear_compiled()``);
- no DEBUG_* flag (they print members and sizes between the phases);
- no free-list model (``free_lists=True``; the ordinary path stays the one that models it);
- nobody listens to frees (``table.free_listeners``: the cascade's caller tells them);
- the collector has not been told to take the ordinary path (``collector.compiled = False``,
  what the differential test does on one twin), and no test has put another implementation
  of a phase into :mod:`~gclab.collectors.cpython.phases`.

The kernel itself finds out the rest: when a member of the unreachable set has a ``__del__``
(or a legacy finalizer), is a weakref or has weakrefs, it stops after promote_survivors and
:func:`collect` goes on with the ordinary phases (:meth:`GenerationalCollector.collect_rest`).
``gc.callbacks`` are called around ``collect()`` by ``collect_with_callbacks`` and are no
concern here. Everything written (lists, flags, counts, stats, the record, history) is what
the ordinary path writes; only ``wall_time`` differs (``tests/test_young_fast.py``).
"""

from __future__ import annotations

import operator
import time
from typing import TYPE_CHECKING

from ..._jit import ENABLED
from ...errors import InvariantViolation
from ...heap import _jit_dealloc as cascade
from ...heap.invariants import debug_check
from ...heap.types import type_arrays
from ...kernels.young import BAIL, _collect
from ..record import CollectionRecord
from . import phases

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ...heap.core import HeapCore
    from ...heap.dealloc import Dealloc
    from .generational import GenerationalCollector

    U8 = npt.NDArray[np.uint8]


_PHASES = ("deduce_unreachable", "untrack_tuples", "untrack_dicts", "move_legacy_finalizers",
           "move_legacy_finalizer_reachable", "handle_weakrefs", "finalize_garbage",
           "handle_resurrected_objects", "delete_garbage")
_bound = operator.attrgetter(*_PHASES)


def _phase_bindings() -> tuple[object, ...]:
    """The phases the twin stands in for, as :mod:`~gclab.collectors.cpython.phases` binds
    them now (a test may put another implementation in; then the ordinary path runs it). Each
    is named by its Python function, so the dispatcher of start-up, the kernel the switch
    rebinds it to and that kernel's numba dispatcher count as the same phase."""
    return tuple(_function_of(f) for f in _bound(phases))


def _function_of(phase: object) -> object:
    """The Python function behind a phase binding: a :func:`~gclab.collectors.phases.choose`
    dispatcher's kernel, a :class:`gclab._jit.Kernel`'s or a numba dispatcher's ``py_func``."""
    phase = getattr(phase, "kernel_twin", phase)
    return getattr(phase, "py_func", phase)


_AS_BUILT = _phase_bindings()
#: ``phases.rebinds`` when the phases were last looked at, and whether they were as built.
_last_seen: list[int | bool] = [-1, True]


def _phases_as_built() -> bool:
    """True when every phase is bound to the implementation the twin stands in for (looked at
    again only after an assignment to a name of the phases module: 2 us a collection else)."""
    rebinds = phases.rebinds  # type: ignore[attr-defined]
    if rebinds != _last_seen[0]:
        _last_seen[:] = [rebinds, _phase_bindings() == _AS_BUILT]
    return bool(_last_seen[1])


def applies(collector: GenerationalCollector) -> bool:
    """True when a collection may run as one compiled call (the conditions above)."""
    heap = collector._heap()
    return (collector.compiled and heap is not None and not collector.state.debug
            and collector.free_counts is None and not collector.table.free_listeners
            and heap._clear_compiled() and _phases_as_built())


def collect(collector: GenerationalCollector, generation: int,
            record: CollectionRecord) -> CollectionRecord:
    """``collector.collect(generation, record)`` as one compiled call (:func:`applies` must be
    true). Afterwards the heap, the collector's state, ``record`` and ``history`` are what the
    ordinary path leaves (``wall_time`` aside).

    Written flat: a young collection of a few hundred objects takes ~20 us in the kernel, so
    every Python call and attribute lookup here shows (``bench/run.py --cases young-churn``)."""
    heap = collector._heap()
    assert heap is not None
    t, count = collector.table, collector.state.count
    started = time.perf_counter()
    record.heap_objects_before = t.live
    record.count_before = (count[0], count[1], count[2])
    if generation < 2:  # reset_counts
        count[generation + 1] += 1
    for gen in range(generation + 1):
        count[gen] = 0
    kernel = heap.dealloc_kernel
    assert kernel is not None
    if heap.observer is not kernel._observer:  # as DeallocKernel.resume: its parameters
        kernel._bind(heap)
    fixed = collector.compiled_fixed
    if fixed is None or fixed[0] != len(heap.types):
        fixed = _fixed_arguments(collector, heap)
    free, trash = t.free_ids, heap.trash_delete_later
    arguments = (
        t.gc_next, t.gc_prev, t.flags, t.refcnt, t.gc_refs, t.type_id, fixed[1], fixed[2],
        t.pool, t.ref_start, t.ref_len, t.ref_cap, fixed[3], trash.state, trash.items,
        kernel.frames, kernel.vbuf, free.items, kernel._fl, kernel.io, fixed[4], generation,
        fixed[5], fixed[6],
        # the cascade's registers, as DeallocKernel.resume sets them before each call
        free.size, t.live, t.pool_holes, count[0])
    if ENABLED:  # compiled code makes no host object: no proxy can be released meanwhile
        result = _collect(*arguments)
    else:  # its plain Python (tests): proxy releases wait, as in collect()'s phases
        with heap.no_user_code():
            result = tuple(map(int, _collect(*arguments)))  # Python ints, not numpy ones
    (status, objects, references, survivors, collected, nfreed, live, holes, count0, base,
     vtop) = result
    record.candidates = objects
    record.objects_visited += objects
    record.references_visited += 2 * references
    if generation:
        _long_lived(collector, generation, survivors)
    if status == BAIL:
        collector.collect_rest(generation, record, started)
        return record
    # the registers back, as DeallocKernel.resume takes them
    t.live, t.pool_holes, free.size, count[0] = live, holes, nfreed, count0
    if status != cascade.DONE:
        _finish_cascade(heap, status, base, vtop)
    record.collected, record.uncollectable = collected, 0
    record.wall_time = time.perf_counter() - started
    collector.close_record(generation, collected, record)
    if heap.debug_level:
        debug_check(heap, 1, after_collection=True)
    return record


#: What :func:`_collect` takes that changes only when a type is added: the number of types,
#: the kind codes, the GC-capable bytes, the cascade's type bytes, the collector's first list
#: head, whether tuples are untracked inside move_unreachable, whether finalizers are legacy.
Fixed = tuple[int, "U8", "U8", "U8", int, bool, bool]


def _fixed_arguments(collector: GenerationalCollector, heap: HeapCore) -> Fixed:
    """The :data:`Fixed` arguments, kept on the collector until a type is added (types are
    only appended and never change)."""
    types, profile = heap.types, collector.profile
    kinds, gc_capable = type_arrays(types)
    fixed = (len(types), kinds, gc_capable, cascade.dealloc_type_info(types),
             collector.first_head, profile.tuple_untracking == "in_move_unreachable",
             profile.legacy_finalizers)
    collector.compiled_fixed = fixed
    return fixed


def _long_lived(collector: GenerationalCollector, generation: int, survivors: int) -> None:
    """promote_survivors' bookkeeping: generation 1 adds its survivors to the pending count, a
    full collection starts both counts afresh."""
    state = collector.state
    if generation == 1:
        state.long_lived_pending += survivors
    elif generation == 2:
        state.long_lived_pending = 0
        state.long_lived_total = survivors


def _finish_cascade(heap: HeapCore, status: int, base: int, vtop: int) -> None:
    """Finish the delete_garbage segment the kernel left at ``status`` as the heap's driver
    (``_run_mixed``) finishes one of its own: a non-plain object's generator above it, a
    weakref member cleared by Python, an array grown. An exception forgets the segment, as the
    driver's does. Afterwards the list is cleared."""
    kernel = heap.dealloc_kernel
    assert kernel is not None
    io = kernel.io
    target = io.item(cascade.IO_TARGET)
    try:
        stack: list[Dealloc | int] = [base]
        if status == cascade.NEED:
            stack.append(heap._dealloc(target))
        elif status == cascade.MEMBER:
            heap._clear_member_for_kernel(target)
        elif status == cascade.NEGATIVE:
            raise InvariantViolation(f"{heap.describe(target)}: reference count below zero")
        else:  # ROOM
            kernel._make_room(heap, target, io.item(cascade.IO_ROOM))
        heap._run_mixed(stack)
    except BaseException:
        kernel.abandon(base, vtop)
        raise


__all__ = ["applies", "collect"]
