"""CPython's generational cycle collector (Modules/gcmodule.c, 2.7 and 3.10-3.13).

``collect()`` is the main function: read it to understand a collection. It follows the step
list of ``docs/spec/cpython-gc.md`` §3.2 (PEP 442 profiles) or §8 (legacy profiles); each
step is a named phase from :mod:`gclab.algorithms`.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from ..heap.invariants import debug_check
from ..heap.table import GEN0, GENERATIONS, PERMANENT
from ..heap.types import Kind, TypeInfo
from ..heap.usercode import user_traceback, write_unraisable
from ..profiles import DEBUG_COLLECTABLE, DEBUG_SAVEALL, DEBUG_STATS, DEBUG_UNCOLLECTABLE
from .cpython import phases  # compiled unless GCLAB_JIT=0
from .record import CollectionRecord

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..heap.core import HeapCore

# Scratch list heads a collection borrows (never nested: the collecting flag forbids it).
UNREACHABLE_LIST, FINALIZERS_LIST, WRCB_LIST, SEEN_LIST, STILL_UNREACHABLE_LIST = range(4, 9)


class DebugSink(Protocol):
    """Receives the moments of a collection that DEBUG_* flags print (spec §4.3)."""

    def header(self, generation: int, sizes: tuple[int, ...]) -> None: ...
    def collectable(self, oid: int) -> None: ...
    def uncollectable(self, oid: int) -> None: ...
    def done(self, collected: int, uncollectable: int, elapsed: float) -> None: ...


class _Silent:
    def header(self, generation: int, sizes: tuple[int, ...]) -> None:
        pass

    def collectable(self, oid: int) -> None:
        pass

    def uncollectable(self, oid: int) -> None:
        pass

    def done(self, collected: int, uncollectable: int, elapsed: float) -> None:
        pass


@dataclass
class GcState:
    """The collector's state: CPython's ``GCState`` (spec §2.1)."""

    thresholds: list[int]
    count: list[int] = field(default_factory=lambda: [0, 0, 0])
    enabled: bool = True
    debug: int = 0
    collecting: bool = False
    scheduled: bool = False  # 3.12+: a collection waits for the next safe point
    long_lived_total: int = 0
    long_lived_pending: int = 0
    stats: list[dict[str, int]] = field(
        default_factory=lambda: [
            {"collections": 0, "collected": 0, "uncollectable": 0} for _ in range(3)
        ]
    )
    garbage: list[object] = field(default_factory=list)
    callbacks: list[Callable[[str, dict[str, object]], object]] = field(default_factory=list)


class GenerationalCollector:
    """Counts allocations, triggers collections and runs them, as CPython does."""

    name = "cpython"
    # The compiled deallocation cascade repeats after_gc_free's count[0] and free-list
    # bookkeeping on this class's state (heap/_jit_dealloc.py); an observer without this flag
    # gets every free through after_gc_free.
    kernel_accounting = True

    def __init__(self, heap: HeapCore, *, free_lists: bool = False) -> None:
        self._heap = weakref.ref(heap)  # the heap owns its collector: no cycle back
        self.profile = heap.profile
        self.state = GcState(thresholds=list(self.profile.thresholds))
        self.history: list[CollectionRecord] = []
        self.debug_sink: DebugSink = _Silent()
        # Free lists (spec §2.2): shells kept per slot (0 list, 1 dict, 2 + n tuple of size n),
        # None when not modelled; an int64 array so that the compiled cascade updates it too.
        limits = self.profile.free_lists
        self.free_caps = np.array([limits.list, limits.dict, 0]
                                  + [limits.tuple_per_size] * limits.tuple_max_size, np.int64)
        self.free_counts: npt.NDArray[np.int64] | None = (
            np.zeros(len(self.free_caps), np.int64) if free_lists else None)
        heap.observer = self

    @property
    def heap(self) -> HeapCore:
        """The heap this collector collects (held weakly: the heap owns its collector)."""
        heap = self._heap()
        if heap is None:
            raise ReferenceError("the collector's heap no longer exists")
        return heap

    # -- counting and triggering (AllocationObserver) ------------------------------------------

    @property
    def free_lists(self) -> dict[object, int] | None:
        """The non-empty free lists by key (``"list"``, ``"dict"``, ``("tuple", n)``), or None
        when they are not modelled."""
        if self.free_counts is None:
            return None
        keys: list[object] = ["list", "dict", None]
        keys += [("tuple", n) for n in range(1, len(self.free_counts) - 2)]
        return {key: int(c) for key, c in zip(keys, self.free_counts.tolist(), strict=True)
                if c}

    def _free_list_slot(self, info: TypeInfo, size: int) -> int:
        """The free list an object of this type and size uses (an index), or -1."""
        if info.kind is Kind.LIST:
            return 0
        if info.kind is Kind.DICT:
            return 1
        if info.kind is Kind.TUPLE and 1 <= size <= self.profile.free_lists.tuple_max_size:
            return 2 + size
        return -1

    def before_gc_alloc(self, info: TypeInfo, size: int) -> None:
        """count[0] += 1 (unless a free list supplies the shell), then maybe trigger."""
        counts = self.free_counts
        if counts is not None:
            slot = self._free_list_slot(info, size)
            if slot >= 0 and counts[slot] > 0 and not (
                    info.kind is Kind.TUPLE and size > self.profile.free_lists.tuple_reuse_max):
                counts[slot] -= 1
                return
        state = self.state
        state.count[0] += 1
        if (state.count[0] > state.thresholds[0] and state.enabled
                and state.thresholds[0] and not state.collecting):
            if self.profile.trigger == "sync":
                self.collect_generations()
            else:
                state.scheduled = True

    def bulk_gc_alloc(self, info: TypeInfo, size: int, count: int) -> int:
        """Count up to ``count`` allocations at once while none of them could trigger a
        collection or use a free list; returns how many were counted (the bulk API allocates
        those rows itself and sends the next one through ``before_gc_alloc``)."""
        state = self.state
        if self.free_counts is not None or state.scheduled:
            return 0
        quiet = count
        if state.enabled and state.thresholds[0] and not state.collecting:
            quiet = max(0, min(count, state.thresholds[0] - state.count[0]))
        state.count[0] += quiet
        return quiet

    def after_gc_free(self, info: TypeInfo, size: int) -> None:
        """count[0] -= 1, clamped at 0 (unless the shell goes to a free list)."""
        counts = self.free_counts
        if counts is not None:
            slot = self._free_list_slot(info, size)
            if slot >= 0 and counts[slot] < self.free_caps[slot]:
                counts[slot] += 1
                return
        if self.state.count[0] > 0:
            self.state.count[0] -= 1

    def safepoint(self) -> None:
        """Run a scheduled collection (3.12+ eval-breaker point)."""
        state = self.state
        if state.scheduled and not state.collecting:
            state.scheduled = False
            if state.enabled:
                self.collect_generations()

    def _clear_free_lists(self) -> None:
        """End of a full collection: the free lists' shells are really freed."""
        if self.free_counts is None:
            return
        shells = int(self.free_counts.sum())
        self.free_counts[:] = 0
        self.state.count[0] = max(0, self.state.count[0] - shells)

    # -- choosing and wrapping a collection ------------------------------------------------------

    def collect_generations(self) -> int:
        """Collect the oldest generation over its threshold (spec §2.4, the 25 % rule)."""
        state = self.state
        for gen in (2, 1, 0):
            if state.count[gen] > state.thresholds[gen]:
                if gen == 2 and state.long_lived_pending < state.long_lived_total // 4:
                    continue
                return self.collect_with_callbacks(gen, "automatic")
        return 0

    def collect_with_callbacks(self, generation: int, reason: str = "manual",
                               *, callbacks: bool = True) -> int:
        """gc_collect_with_callback: "start" callbacks, collect, "stop" callbacks.

        Returns 0 at once, calling nothing, while a collection is running."""
        state = self.state
        if state.collecting:
            return 0
        state.collecting = True
        try:
            record = CollectionRecord(self.name, generation, reason)
            if callbacks:
                self._invoke_callbacks("start", record)
            self.collect(generation, record)
            if callbacks:
                self._invoke_callbacks("stop", record)
        finally:
            state.collecting = False
        return record.collected + record.uncollectable

    def _invoke_callbacks(self, phase: str, record: CollectionRecord) -> None:
        callbacks = self.state.callbacks
        if not callbacks:
            return
        info = record.info(phase)
        index = 0
        while index < len(callbacks):  # the live list, by index, as CPython iterates it
            callback = callbacks[index]
            try:
                callback(phase, info)
            except BaseException as exc:  # any exception, as CPython: reported, never raised
                write_unraisable(exc, callback, tb=user_traceback(exc))
            index += 1

    # -- one collection --------------------------------------------------------------------------

    def collect(self, generation: int, record: CollectionRecord) -> CollectionRecord:
        """gc_collect_main: collect ``generation`` and the younger ones. This is the main
        function: read it to understand how a collection proceeds."""
        heap = self.heap
        state, t = self.state, heap.table
        started = time.perf_counter()
        young = GENERATIONS[generation]
        old = GENERATIONS[generation + 1] if generation < 2 else young
        record.heap_objects_before = t.live
        record.count_before = (state.count[0], state.count[1], state.count[2])
        if state.debug & DEBUG_STATS:  # the sizes walk every list: only then, as in CPython
            record.generation_sizes = tuple(t.list_size(g) for g in (*GENERATIONS, PERMANENT))
            self.debug_sink.header(generation, record.generation_sizes)
        self.reset_counts(generation)
        self.merge_younger_generations(generation)
        with heap.no_user_code():
            self.find_unreachable(young, record)  # also sets record.candidates
            self.promote_survivors(generation, young, old)
            phases.move_legacy_finalizers(heap, UNREACHABLE_LIST, FINALIZERS_LIST)
            phases.move_legacy_finalizer_reachable(heap, FINALIZERS_LIST)
        if self.profile.legacy_finalizers:
            collected = self.collect_unreachable_legacy(old)
        else:
            collected = self.collect_unreachable(old)
        self.finish(generation, old, collected, record, started)
        debug_check(heap, 1, after_collection=True)
        return record

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
            self.heap.table.list_merge(GENERATIONS[gen], GENERATIONS[generation])

    def find_unreachable(self, young: int, record: CollectionRecord) -> None:
        """Step 4-5: deduce_unreachable, then (3.x) untrack the survivors' atom-only tuples.

        Afterwards ``young`` holds the survivors, UNREACHABLE_LIST the unreachable."""
        inline = self.profile.tuple_untracking == "in_move_unreachable"
        objects, references = phases.deduce_unreachable(self.heap, young, UNREACHABLE_LIST, inline)
        record.candidates = objects  # update_refs visits each member once: gc_list_size(young)
        record.objects_visited += objects
        record.references_visited += 2 * references
        if not inline:
            phases.untrack_tuples(self.heap, young)

    def promote_survivors(self, generation: int, young: int, old: int) -> None:
        """Step 6: survivors move to the next generation; a full collection untracks dicts
        and resets the long-lived bookkeeping."""
        state, t = self.state, self.heap.table
        if young != old:
            if generation == 1:
                state.long_lived_pending += t.list_size(young)
            t.list_merge(young, old)
        else:
            phases.untrack_dicts(self.heap, young)
            state.long_lived_pending = 0
            state.long_lived_total = t.list_size(young)

    def collect_unreachable(self, old: int) -> int:
        """Steps 9-14 (PEP 442): weakrefs, __del__, resurrection, tp_clear. Returns m."""
        heap = self.heap
        t = heap.table
        self._print_collectable()
        user_calls = heap.user_calls
        collected = phases.handle_weakrefs(heap, UNREACHABLE_LIST, old, WRCB_LIST)
        phases.finalize_garbage(heap, UNREACHABLE_LIST, SEEN_LIST)
        with heap.no_user_code():
            if heap.user_calls == user_calls:
                self.nothing_resurrected()
            else:
                phases.handle_resurrected_objects(heap, UNREACHABLE_LIST,
                                                  STILL_UNREACHABLE_LIST, old)
        collected += t.list_size(STILL_UNREACHABLE_LIST)
        phases.delete_garbage(heap, STILL_UNREACHABLE_LIST, old, self.state.garbage, self._saveall)
        return collected

    def nothing_resurrected(self) -> None:
        """handle_resurrected_objects when no finalizer or weakref callback ran: only such code
        could have made a new reference to the garbage, so recomputing reachability inside it
        would move every member to the still-unreachable list, in order, flags and ``gc_refs``
        as they are (``tests/test_kernels.py`` checks this on random heaps). CPython does the
        recomputation anyway; here it is skipped."""
        self.heap.table.list_merge(UNREACHABLE_LIST, STILL_UNREACHABLE_LIST)

    def collect_unreachable_legacy(self, old: int) -> int:
        """Pre-3.4 (spec §8): count, weakrefs, tp_clear; no finalizers are called. Returns m."""
        heap = self.heap
        t = heap.table
        collected = t.list_size(UNREACHABLE_LIST)
        self._print_collectable()
        collected += phases.handle_weakrefs(heap, UNREACHABLE_LIST, old, WRCB_LIST)
        phases.delete_garbage(heap, UNREACHABLE_LIST, old, self.state.garbage, self._saveall)
        return collected

    def finish(self, generation: int, old: int, collected: int, record: CollectionRecord,
               started: float) -> None:
        """Steps 15-20: count the uncollectable, handle legacy finalizers, stats."""
        t, state = self.heap.table, self.state
        uncollectable_ids = [] if t.list_is_empty(FINALIZERS_LIST) else t.list_members(
            FINALIZERS_LIST)
        if state.debug & DEBUG_UNCOLLECTABLE:
            for oid in uncollectable_ids:
                self.debug_sink.uncollectable(oid)
        record.collected, record.uncollectable = collected, len(uncollectable_ids)
        record.wall_time = time.perf_counter() - started
        if state.debug & DEBUG_STATS:
            self.debug_sink.done(collected, len(uncollectable_ids), record.wall_time)
        phases.handle_legacy_finalizers(self.heap, FINALIZERS_LIST, old, state.garbage,
                                        self._saveall)
        if generation == 2:
            self._clear_free_lists()
        stats = state.stats[generation]
        stats["collections"] += 1
        stats["collected"] += collected
        stats["uncollectable"] += record.uncollectable
        record.heap_objects_after = t.live
        record.count_after = (state.count[0], state.count[1], state.count[2])
        self.history.append(record)

    @property
    def _saveall(self) -> bool:
        return bool(self.state.debug & DEBUG_SAVEALL)

    def _print_collectable(self) -> None:
        if self.state.debug & DEBUG_COLLECTABLE:
            for oid in self.heap.table.list_members(UNREACHABLE_LIST):
                self.debug_sink.collectable(oid)

    # -- freeze (spec §2.6) ----------------------------------------------------------------------

    def freeze(self) -> None:
        """Move every tracked object to the permanent generation; counts zeroed."""
        for head in GENERATIONS:
            self.heap.table.list_merge(head, PERMANENT)
        self.state.count[:] = [0, 0, 0]

    def unfreeze(self) -> None:
        """Put the permanent generation back, at the tail of the oldest generation."""
        self.heap.table.list_merge(PERMANENT, GENERATIONS[2])

    def freeze_count(self) -> int:
        """Number of objects in the permanent generation."""
        return self.heap.table.list_size(PERMANENT)


__all__ = ["GEN0", "GcState", "GenerationalCollector"]
