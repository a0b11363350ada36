"""What CPython's collector and the collectors modelled on it share: the interpreter's
allocation count and free lists, the ``gc`` module's state, callbacks, history and freeze.

:class:`CountingCollector` is a base class, not a collector: a subclass sets ``name``,
``capabilities`` and ``lists`` (how many list heads it reserves), picks which of them takes new
objects (``young``) and which is permanent, and writes ``collect()``. What it keeps:

- ``count[0]``, as CPython counts it: up at every GC-capable allocation, down (never below 0)
  at every such free, except when a modelled free list supplies or takes the shell (spec §2.2;
  ``free_lists=True``). The compiled deallocation cascade applies the free half itself, from
  :attr:`CountingCollector.accounting`.
- the ``gc`` module's :class:`~gclab.collectors.state.GcState`, ``history`` (one
  :class:`~gclab.collectors.record.CollectionRecord` per collection) and ``gc.callbacks``
  around each collection (:meth:`CountingCollector.collect_with_callbacks`).
- ``gc.freeze()`` over its lists (:meth:`CountingCollector.freeze`).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import numpy.typing as npt

from ..errors import InvariantViolation
from ..heap.observer import FreeAccounting
from ..heap.types import Kind, TypeInfo
from ..heap.usercode import user_traceback, write_unraisable
from .base import Capabilities, NotIncrementalError
from .record import CollectionRecord
from .state import DebugSink, GcState, SilentSink

if TYPE_CHECKING:
    from ..heap.core import HeapCore


class CountingCollector:
    """The shared part of a collector modelled on CPython's (see the module docstring)."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    #: How many list heads the collector reserves (``first_head`` is the first).
    lists: ClassVar[int]

    def __init__(self, heap: HeapCore, *, free_lists: bool = False) -> None:
        if not isinstance(free_lists, bool):
            raise TypeError(f"free_lists must be a bool, got {type(free_lists).__name__} "
                            f"{free_lists!r}")
        self._heap = weakref.ref(heap)  # the heap owns its collector: no cycle back
        self.table = heap.table
        self.profile = heap.profile
        self.state = GcState(thresholds=list(self.profile.thresholds))
        self.history: list[CollectionRecord] = []
        self.debug_sink: DebugSink = SilentSink()
        # Free lists (spec §2.2): shells kept per slot (0 list, 1 dict, 2 + n tuple of size n),
        # None when not modelled; an int64 array so that the compiled cascade updates it too.
        limits = self.profile.free_lists
        self.free_caps = np.array([limits.list, limits.dict, 0]
                                  + [limits.tuple_per_size] * limits.tuple_max_size, np.int64)
        self.free_counts: npt.NDArray[np.int64] | None = (
            np.zeros(len(self.free_caps), np.int64) if free_lists else None)
        self.accounting: FreeAccounting | None = FreeAccounting(
            self.state.count, self.free_counts, self.free_caps, limits.tuple_max_size)
        self.first_head = self.table.reserve_heads(self.lists)
        #: The list new objects are placed in (set by the subclass).
        self.young = self.first_head
        #: The permanent list of gc.freeze(), or None (set by the subclass).
        self.permanent: int | None = None

    @property
    def heap(self) -> HeapCore:
        """The heap this collector collects (held weakly: the heap owns its collector)."""
        heap = self._heap()
        if heap is None:
            raise ReferenceError("the collector's heap no longer exists")
        return heap

    def detach(self) -> None:
        """Give the list heads back to the table (the lists must be empty)."""
        self.table.release_heads(self.first_head, self.lists)

    # -- counting (the heap's AllocationObserver) ----------------------------------------------

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

    def count_alloc(self, info: TypeInfo, size: int) -> bool:
        """A GC-capable allocation: a free list's shell is taken if one fits, else ``count[0]``
        goes up. Returns True when it went up."""
        counts = self.free_counts
        if counts is not None:
            slot = self._free_list_slot(info, size)
            if slot >= 0 and counts[slot] > 0 and not (
                    info.kind is Kind.TUPLE and size > self.profile.free_lists.tuple_reuse_max):
                counts[slot] -= 1
                return False
        self.state.count[0] += 1
        return True

    def bulk_gc_alloc(self, info: TypeInfo, size: int, count: int) -> int:
        """Count up to ``count`` allocations at once while none of them could trigger a
        collection (``count[0]`` stays within threshold0) or use a free list; returns how many
        were counted (the bulk API allocates those rows itself and sends the next one through
        ``before_gc_alloc``)."""
        state = self.state
        if self.free_counts is not None or state.scheduled:
            return 0
        quiet = count
        if state.enabled and state.thresholds[0] and not state.collecting:
            quiet = max(0, min(count, state.thresholds[0] - state.count[0]))
        state.count[0] += quiet
        return quiet

    def bulk_alloc_compiled(self, info: TypeInfo, size: int, out: npt.NDArray[np.int32],
                            done: int) -> int:
        """Nothing done here (``done``): the heap's own loop makes the rows (a subclass may
        make them in compiled code, :mod:`gclab.collectors.cpython.bulk_alloc`)."""
        return done

    def close_record(self, generation: int, collected: int, record: CollectionRecord) -> None:
        """The end of every collection: ``generation``'s stats count it, ``record`` gets the
        heap's size and the counts afterwards and joins ``history``."""
        state = self.state
        stats = state.stats[generation]
        stats["collections"] += 1
        stats["collected"] += collected
        stats["uncollectable"] += record.uncollectable
        record.heap_objects_after = self.table.live
        record.count_after = (state.count[0], state.count[1], state.count[2])
        self.history.append(record)

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

    def clear_free_lists(self) -> None:
        """The free lists' shells are really freed (CPython: at the end of a full collection)."""
        if self.free_counts is None:
            return
        shells = int(self.free_counts.sum())
        self.free_counts[:] = 0
        self.state.count[0] = max(0, self.state.count[0] - shells)

    def place(self, oid: int) -> None:
        """A newly tracked object goes to the tail of ``young``."""
        self.table.list_append(oid, self.young)

    def place_many(self, ids: npt.NDArray[np.int32]) -> None:
        """:meth:`place` of each of ``ids``, in order."""
        self.table.list_extend(ids, self.young)

    # -- collections and callbacks ---------------------------------------------------------------

    @property
    def collecting(self) -> bool:
        """True while a collection runs."""
        return self.state.collecting

    def collect(self, generation: int, record: CollectionRecord) -> CollectionRecord:
        """One collection (the subclass's algorithm); fills and returns ``record``."""
        raise NotImplementedError

    def run_collection(self, generation: int, record: CollectionRecord) -> CollectionRecord:
        """The collection :meth:`collect_with_callbacks` runs: :meth:`collect` (a subclass may
        choose a compiled twin with the same results)."""
        return self.collect(generation, record)

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
            self.run_collection(generation, record)
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

    def step(self) -> int:
        """Not an incremental collector: :class:`NotIncrementalError`."""
        raise NotIncrementalError(f"the {self.name!r} collector does not collect incrementally "
                                  f"(capabilities.incremental is False): use collect")

    # -- the lists the gc module sees, and freeze (spec §2.6) -----------------------------------

    def heads(self, generation: int | None = None) -> tuple[int, ...]:
        """The list heads ``gc.get_objects(generation)`` scans (the subclass's layout)."""
        raise NotImplementedError

    def freeze(self) -> None:
        """Move every tracked object to the permanent list; counts zeroed."""
        if self.permanent is None:
            return
        for head in self.heads():
            self.table.list_merge(head, self.permanent)
        self.state.count[:] = [0, 0, 0]

    def unfreeze(self) -> None:
        """Put the permanent list back, at the tail of the oldest generation."""
        if self.permanent is not None:
            self.table.list_merge(self.permanent, self.heads()[-1])

    def freeze_count(self) -> int:
        """Number of objects in the permanent list."""
        return 0 if self.permanent is None else self.table.list_size(self.permanent)

    # -- invariants ------------------------------------------------------------------------------

    def check(self, heap: HeapCore, *, strict: bool, rest: bool) -> None:
        """Counts are sane: no count below 0, every free list within ``0 .. its capacity``."""
        count = self.state.count
        if len(count) != 3 or any(c < 0 for c in count):
            raise InvariantViolation(f"{self.name} collector: counts {count} (three counts, "
                                     f"none below 0)")
        counts = self.free_counts
        if counts is not None and ((counts < 0).any() or (counts > self.free_caps).any()):
            raise InvariantViolation(f"{self.name} collector: free lists {counts.tolist()} "
                                     f"outside 0 .. {self.free_caps.tolist()}")


__all__ = ["CountingCollector"]
