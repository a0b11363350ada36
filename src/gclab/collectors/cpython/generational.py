"""CPython's generational cycle collector (Modules/gcmodule.c, 2.7 and 3.10-3.13).

``collect()`` is the main function: read it to understand a collection. It follows the step
list of ``docs/spec/cpython-gc.md`` §3.2 (PEP 442 profiles) or §8 (legacy profiles); each
step is a named phase from :mod:`gclab.algorithms` (compiled twins from :mod:`gclab.kernels`,
chosen by :mod:`gclab.collectors.cpython.phases`).

Its lists are nine heads it reserves from the table, in this order (the offsets below; on a
``gclab.Heap`` it is the first collector to reserve, so these are also the rows): the three
generations, the permanent generation of ``gc.freeze()``, and five scratch lists a collection
borrows and leaves empty.

>>> import gclab
>>> heap = gclab.Heap("3.12")
>>> heap.collector.generations, heap.collector.permanent
((0, 1, 2), 3)
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from ... import _jit
from ...errors import InvariantViolation
from ...heap.flags import ALIVE, COLLECTING, UNREACHABLE
from ...heap.invariants import debug_check
from ...heap.table import N_HEADS
from ...heap.types import TypeInfo
from ...profiles import DEBUG_COLLECTABLE, DEBUG_SAVEALL, DEBUG_STATS, DEBUG_UNCOLLECTABLE
from ..base import Capabilities, register
from ..counting import CountingCollector
from ..record import CollectionRecord
from . import bulk_alloc, phases  # phases: compiled unless GCLAB_JIT=0
from . import compiled as twin

if TYPE_CHECKING:
    import numpy.typing as npt

    from ...heap.core import HeapCore

    U8 = npt.NDArray[np.uint8]

# The collector's lists, as offsets from its first head.
GEN0, GEN1, GEN2, PERMANENT = 0, 1, 2, 3
GENERATIONS = (GEN0, GEN1, GEN2)
# Scratch lists a collection borrows (never nested: the collecting flag forbids it).
UNREACHABLE_LIST, FINALIZERS_LIST, WRCB_LIST, SEEN_LIST, STILL_UNREACHABLE_LIST = range(4, 9)
LISTS = 9


@register("cpython")
class GenerationalCollector(CountingCollector):
    """Counts allocations, triggers collections and runs them, as CPython does."""

    name = "cpython"
    capabilities = Capabilities(collects_cycles=True, generational=True, incremental=False,
                                write_barrier=False, uses_refcounts=True, freezes=True)
    lists = LISTS
    permanent: int
    #: False: every collection takes the ordinary path (:meth:`run_collection`).
    compiled: bool = True
    #: False: ``alloc_many`` never makes its rows and collections in one compiled call
    #: (:mod:`gclab.collectors.cpython.bulk_alloc`).
    compiled_bulk: bool = True
    #: The compiled twin's arguments that change only when a type is added.
    compiled_fixed: tuple[int, U8, U8, U8, int, bool, bool] | None = None

    def __init__(
self, heap: HeapCore, *, free_lists: bool = False) -> None:
        super().__init__(heap, free_lists=free_lists)
        first = self.first_head
        self.generations = tuple(first + g for g in GENERATIONS)
        self.young = first + GEN0
        self.permanent = first + PERMANENT
        self.unreachable = first + UNREACHABLE_LIST
        self.finalizers = first + FINALIZERS_LIST
        self.wrcb_to_call = first + WRCB_LIST
        self.seen = first + SEEN_LIST
        self.still_unreachable = first + STILL_UNREACHABLE_LIST

    # -- counting and triggering -----------------------------------------------------------------

    def before_gc_alloc(self, info: TypeInfo, size: int) -> None:
        """count[0] += 1 (unless a free list supplies the shell), then maybe trigger."""
        if not self.count_alloc(info, size):
            return
        state = self.state
        if (state.count[0] > state.thresholds[0] and state.enabled
                and state.thresholds[0] and not state.collecting):
            if self.profile.trigger == "sync":
                self.collect_generations()
            else:
                state.scheduled = True


    def bulk_alloc_compiled(self, info: TypeInfo, size: int, out: npt.NDArray[np.int32],
                            done: int) -> int:
        """``alloc_many``'s rows ``out[done:]`` and the collections they trigger in one compiled
        call when :func:`bulk_alloc.applies` (else ``done``: the heap's loop makes them)."""
        if not bulk_alloc.applies(self, info, len(out) - done):
            return done
        return bulk_alloc.alloc_many(self, info, size, out, done)

    def safepoint(self) -> None:
        """Run a scheduled collection (3.12+ eval-breaker point)."""
        state = self.state
        if state.scheduled and not state.collecting:
            state.scheduled = False
            if state.enabled:
                self.collect_generations()

    def collect_generations(self) -> int:
        """Collect the oldest generation over its threshold (spec §2.4, the 25 % rule)."""
        state = self.state
        for gen in (2, 1, 0):
            if state.count[gen] > state.thresholds[gen]:
                if gen == 2 and state.long_lived_pending < state.long_lived_total // 4:
                    continue
                return self.collect_with_callbacks(gen, "automatic")
        return 0

    # -- one collection --------------------------------------------------------------------------

    def collect(self, generation: int, record: CollectionRecord) -> CollectionRecord:
        """gc_collect_main: collect ``generation`` and the younger ones. This is the main
        function: read it to understand how a collection proceeds."""
        heap = self.heap
        state, t = self.state, heap.table
        started = time.perf_counter()
        young = self.generations[generation]
        old = self.generations[generation + 1] if generation < 2 else young
        record.heap_objects_before = t.live
        record.count_before = (state.count[0], state.count[1], state.count[2])
        if state.debug & DEBUG_STATS:  # the sizes walk every list: only then, as in CPython
            record.generation_sizes = tuple(t.list_size(g)
                                            for g in (*self.generations, self.permanent))
            self.debug_sink.header(generation, record.generation_sizes)
        self.reset_counts(generation)
        self.merge_younger_generations(generation)
        with heap.no_user_code():
            self.find_unreachable(young, record)  # also sets record.candidates
            self.promote_survivors(generation, young, old)
            self.move_legacy_finalizers()
        self.collect_garbage(generation, old, record, started)
        return record

    def run_collection(self, generation: int, record: CollectionRecord) -> CollectionRecord:
        """:meth:`collect`, or its compiled twin when no user code can run in it
        (:mod:`gclab.collectors.cpython.compiled`: one call, the same results)."""
        heap = self._heap()
        if heap is not None and heap._kernel_pending and _jit.wants(len(self.table.gc_next)):
            heap.adopt_kernel_if_due()  # the start-up switch is due or done since heap was made
        if twin.applies(self):
            return twin.collect(self, generation, record)
        return self.collect(generation, record)

    def collect_rest(self, generation: int, record: CollectionRecord, started: float) -> None:
        """:meth:`collect` from step 7 on (the compiled twin hands over here when it finds a
        member of the unreachable set that could run user code)."""
        with self.heap.no_user_code():
            self.move_legacy_finalizers()
        old = self.generations[generation + 1] if generation < 2 else self.generations[2]
        self.collect_garbage(generation, old, record, started)

    def reset_counts(self, generation: int) -> None:
        """Step 2: ``count[generation+1] += 1``, counts of 0..generation zeroed."""
        count = self.state.count
        if generation < 2:
            count[generation + 1] += 1
        for gen in range(generation + 1):
            count[gen] = 0

    def merge_younger_generations(self, generation: int) -> None:
        """Step 3: gen0 .. gen(g-1) appended, in order, to gen g."""
        for gen in range(generation):
            self.table.list_merge(self.generations[gen], self.generations[generation])

    def find_unreachable(self, young: int, record: CollectionRecord) -> None:
        """Step 4-5: deduce_unreachable, then (3.x) untrack the survivors' atom-only tuples.

        Afterwards ``young`` holds the survivors, the unreachable list the unreachable."""
        inline = self.profile.tuple_untracking == "in_move_unreachable"
        objects, references = phases.deduce_unreachable(self.heap, young, self.unreachable,
                                                        inline)
        record.candidates = objects  # update_refs visits each member once: gc_list_size(young)
        record.objects_visited += objects
        record.references_visited += 2 * references
        if not inline:
            phases.untrack_tuples(self.heap, young)

    def promote_survivors(self, generation: int, young: int, old: int) -> None:
        """Step 6: survivors move to the next generation; a full collection untracks dicts
        and resets the long-lived bookkeeping."""
        state, t = self.state, self.table
        if young != old:
            if generation == 1:
                state.long_lived_pending += t.list_size(young)
            t.list_merge(young, old)
        else:
            phases.untrack_dicts(self.heap, young)
            state.long_lived_pending = 0
            state.long_lived_total = t.list_size(young)

    def move_legacy_finalizers(self) -> None:
        """Steps 7-8: UNREACHABLE cleared; (2.7) legacy-finalizer objects and all they reach
        to the finalizers list."""
        phases.move_legacy_finalizers(self.heap, self.unreachable, self.finalizers)
        phases.move_legacy_finalizer_reachable(self.heap, self.finalizers)

    def collect_garbage(self, generation: int, old: int, record: CollectionRecord,
                        started: float) -> None:
        """Steps 9-20: the unreachable set collected (PEP 442 or legacy), then :meth:`finish`."""
        if self.profile.legacy_finalizers:
            collected = self.collect_unreachable_legacy(old)
        else:
            collected = self.collect_unreachable(old)
        self.finish(generation, old, collected, record, started)
        debug_check(self.heap, 1, after_collection=True)

    def collect_unreachable(self, old: int) -> int:
        """Steps 9-14 (PEP 442): weakrefs, __del__, resurrection, tp_clear. Returns m."""
        heap = self.heap
        self._print_collectable()
        user_calls = heap.user_calls
        collected = phases.handle_weakrefs(heap, self.unreachable, old, self.wrcb_to_call)
        phases.finalize_garbage(heap, self.unreachable, self.seen)
        with heap.no_user_code():
            if heap.user_calls == user_calls:
                self.nothing_resurrected()
            else:
                phases.handle_resurrected_objects(heap, self.unreachable,
                                                  self.still_unreachable, old)
        collected += self.table.list_size(self.still_unreachable)
        phases.delete_garbage(heap, self.still_unreachable, old, self.state.garbage,
                              self._saveall)
        return collected

    def nothing_resurrected(self) -> None:
        """handle_resurrected_objects when no finalizer or weakref callback ran: only such code
        could have made a new reference to the garbage, so recomputing reachability inside it
        would move every member to the still-unreachable list, in order, flags and ``gc_refs``
        as they are (``tests/test_kernels.py`` checks this on random heaps). CPython does the
        recomputation anyway; here it is skipped."""
        self.table.list_merge(self.unreachable, self.still_unreachable)

    def collect_unreachable_legacy(self, old: int) -> int:
        """Pre-3.4 (spec §8): count, weakrefs, tp_clear; no finalizers are called. Returns m."""
        heap = self.heap
        collected = self.table.list_size(self.unreachable)
        self._print_collectable()
        collected += phases.handle_weakrefs(heap, self.unreachable, old, self.wrcb_to_call)
        phases.delete_garbage(heap, self.unreachable, old, self.state.garbage, self._saveall)
        return collected

    def finish(self, generation: int, old: int, collected: int, record: CollectionRecord,
               started: float) -> None:
        """Steps 15-20: count the uncollectable, handle legacy finalizers, stats."""
        t, state = self.table, self.state
        uncollectable_ids = [] if t.list_is_empty(self.finalizers) else t.list_members(
            self.finalizers)
        if state.debug & DEBUG_UNCOLLECTABLE:
            for oid in uncollectable_ids:
                self.debug_sink.uncollectable(oid)
        record.collected, record.uncollectable = collected, len(uncollectable_ids)
        record.wall_time = time.perf_counter() - started
        if state.debug & DEBUG_STATS:
            self.debug_sink.done(collected, len(uncollectable_ids), record.wall_time)
        phases.handle_legacy_finalizers(self.heap, self.finalizers, old, state.garbage,
                                        self._saveall)
        if generation == 2:
            self.clear_free_lists()
        self.close_record(generation, collected, record)

    @property
    def _saveall(self) -> bool:
        return bool(self.state.debug & DEBUG_SAVEALL)

    def _print_collectable(self) -> None:
        if self.state.debug & DEBUG_COLLECTABLE:
            for oid in self.table.list_members(self.unreachable):
                self.debug_sink.collectable(oid)

    # -- what the gc module sees; invariants -----------------------------------------------------

    def heads(self, generation: int | None = None) -> tuple[int, ...]:
        """The generations (all three, or the one asked for); never the permanent one."""
        return self.generations if generation is None else (self.generations[generation],)

    def check(self, heap: HeapCore, *, strict: bool, rest: bool) -> None:
        """Counts are sane; between operations (``strict``) nothing is left from a collection:
        the scratch lists are empty and no object is marked COLLECTING or UNREACHABLE."""
        super().check(heap, strict=strict, rest=rest)
        if not strict:
            return
        t = self.table
        for head in range(self.unreachable, self.still_unreachable + 1):
            if not t.list_is_empty(head):
                oid = int(t.gc_next[head])
                raise InvariantViolation(f"{heap.describe(oid)} is left in scratch list {head} "
                                         f"between operations")
        flags = t.flags[N_HEADS : t.top]
        marked = np.flatnonzero((flags & ALIVE != 0) & (flags & (COLLECTING | UNREACHABLE) != 0))
        if len(marked):
            oid = int(marked[0]) + N_HEADS
            raise InvariantViolation(f"{heap.describe(oid)} keeps collection flags "
                                     f"{int(t.flags[oid])} between operations")


__all__ = ["GEN0", "GEN1", "GEN2", "GENERATIONS", "PERMANENT", "GenerationalCollector"]
