"""A stop-the-world mark-sweep collector over deferred reference counting.

Reference counts are kept (the heap's invariant holds and the checker checks it) but do not
free anything: the collector's capabilities say ``uses_refcounts=False``, so the heap defers
frees (:mod:`gclab.heap.deferred`) and an object whose count reaches zero waits, alive and
unreachable, for the next collection. A collection, :meth:`MarkSweepCollector.collect`:

1. **roots**: every live object with an external reference (the table's ``extern`` column:
   proxies, the simulation's static references such as the module namespace and the empty
   tuple, frames held by the simulation) and every running frame;
2. **mark**: :func:`~gclab.algorithms.closure.mark_from` (the compiled twin unless
   ``GCLAB_JIT=0``) over a :class:`~gclab.graphview.GraphView` of the heap, the marks kept
   in the collector's own table column (``marksweep_mark``), not in the shared flags;
3. **weakrefs, then finalizers**, in CPython's order (``handle_weakrefs`` runs before
   ``finalize_garbage`` in gc_collect_main, spec §3.2 steps 10-11): every weakref to an
   unmarked object is cleared, and only the callbacks of weakrefs that are themselves marked
   run (a garbage weakref's callback is suppressed); then ``__del__`` is called once on each
   unmarked object that has one and was not finalized yet (PEP 442: FINALIZED set before the
   call). Legacy profiles (2.7) call no ``__del__`` from the collector, as CPython 2.7:
   after the mark, each unmarked object with a ``__del__`` goes to ``gc.garbage``
   (uncollectable) and it and all it reaches are kept. With frees deferred this covers
   acyclic ``__del__`` garbage too, which CPython 2.7 finalizes at refcount death;
4. **re-mark**: if user code ran, marking again from the roots keeps what a finalizer or a
   callback resurrected (and everything it reaches);
5. **sweep**: :meth:`~gclab.heap.deferred.DeferredMixin.free_unreachable` of what is still
   unmarked, in id order.

Scheduling: every GC-capable allocation counts (``count[0]``, as CPython's, free lists
included when modelled); when ``count[0]`` passes ``threshold0`` and collection is enabled a
collection runs (at the allocation on profiles that trigger synchronously, at the next safe
point on 3.12+), over the whole heap.

What the ``gc`` facade answers: ``gc.collect(g)`` runs a full collection whatever ``g`` and
returns the number of objects found garbage plus the uncollectable ones (legacy profiles);
``get_count()`` is ``(n, 0, 0)`` and ``set_threshold(n)`` sets the allocation threshold
(threshold1 and 2 are kept and mean nothing); ``get_objects(0)`` and ``get_objects()`` are
every tracked object, generations 1 and 2 are empty; ``get_stats()`` counts every collection
under generation 0, the only one;
``gc.freeze()`` does nothing (``capabilities.freezes`` is False, as the facade decides);
DEBUG_SAVEALL keeps the garbage in ``gc.garbage`` instead of freeing it.

>>> import gclab
>>> heap = gclab.Heap(collector="marksweep")
>>> a = heap.list(); a.append(a); b = heap.list(); del a, b   # a cycle and an acyclic list
>>> heap.gc.collect()
2
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .. import _jit
from .._jit import ENABLED
from ..errors import InvariantViolation
from ..graphview import GraphView
from ..heap.flags import ALIVE, FINALIZED
from ..heap.invariants import debug_check
from ..heap.table import N_HEADS
from ..profiles import DEBUG_COLLECTABLE, DEBUG_SAVEALL, DEBUG_STATS, DEBUG_UNCOLLECTABLE
from .base import Capabilities, register
from .counting import CountingCollector
from .phases import rebind

if ENABLED:  # the compiled twin for a large heap (gclab._jit.wants), the oracle below that
    from ..algorithms.closure import mark_from as _mark_oracle
    from ..kernels.closure import mark_from as _mark_kernel

    def mark_from(graph: GraphView, roots: object) -> npt.NDArray[np.uint8]:
        """:func:`gclab.algorithms.closure.mark_from`, compiled when the graph is large."""
        if _jit.ACTIVE or _jit.wants(graph.n):
            return _mark_kernel(graph, roots)
        return _jit.run_twin(_mark_oracle, graph, roots)

    mark_from.kernel_twin = _mark_kernel  # type: ignore[attr-defined]
    _jit.on_switch(lambda: rebind(globals()))
else:
    from ..algorithms.closure import mark_from

if TYPE_CHECKING:
    from ..heap.core import HeapCore
    from ..heap.types import TypeInfo
    from .record import CollectionRecord

IDs = npt.NDArray[np.int64]
#: The collector's column of marks (1: reachable from a root in the current collection).
MARK_COLUMN = "marksweep_mark"


@register("marksweep")
class MarkSweepCollector(CountingCollector):
    """Mark from the roots, sweep the rest; reference counting deferred."""

    name = "marksweep"
    capabilities = Capabilities(collects_cycles=True, generational=False, incremental=False,
                                write_barrier=False, uses_refcounts=False)
    lists = 1  # every tracked object, in the order it was tracked

    def __init__(self, heap: HeapCore, *, free_lists: bool = False) -> None:
        super().__init__(heap, free_lists=free_lists)
        self.young = self.first_head
        self.table.add_column(MARK_COLUMN, np.uint8)

    def detach(self) -> None:
        """Give the list head and the mark column back."""
        self.table.remove_column(MARK_COLUMN)
        super().detach()

    # -- scheduling ------------------------------------------------------------------------------

    def before_gc_alloc(self, info: TypeInfo, size: int) -> None:
        """count[0] += 1 (unless a free list supplies the shell); past threshold0, collect
        (now, or at the next safe point on profiles that schedule)."""
        if self.count_alloc(info, size) and self._over_threshold():
            if self.profile.trigger == "sync":
                self.collect_with_callbacks(0, "automatic")
            else:
                self.state.scheduled = True


    def _over_threshold(self) -> bool:
        state = self.state
        return (state.count[0] > state.thresholds[0] and state.enabled
                and bool(state.thresholds[0]) and not state.collecting)

    def safepoint(self) -> None:
        """Run a scheduled collection."""
        state = self.state
        if state.scheduled and not state.collecting:
            state.scheduled = False
            if state.enabled:
                self.collect_with_callbacks(0, "automatic")

    # -- one collection --------------------------------------------------------------------------

    def collect(self, generation: int, record: CollectionRecord) -> CollectionRecord:
        """One full collection (``generation`` is only recorded): roots, mark, weakrefs and
        finalizers of the unmarked, re-mark, sweep. Read it to see the algorithm."""
        heap, state, t = self.heap, self.state, self.table
        started = time.perf_counter()
        record.heap_objects_before = t.live
        record.count_before = (state.count[0], state.count[1], state.count[2])
        state.count[0] = 0
        if state.debug & DEBUG_STATS:
            record.generation_sizes = (t.list_size(self.young),)
            self.debug_sink.header(0, record.generation_sizes)
        with heap.no_user_code():
            self.mark(self.roots(), record)
            white = self.unmarked()
            record.candidates = t.live
            if self.profile.legacy_finalizers:
                white = self.keep_legacy_finalizers(white, record)
        user_calls = heap.user_calls
        self.handle_weakrefs(white)
        if not self.profile.legacy_finalizers:
            self.finalize(white)
        with heap.no_user_code():
            if heap.user_calls != user_calls:
                white = self.remark(white)
            collected = self.sweep(white)
        self.finish(collected, record, started)
        debug_check(heap, 1, after_collection=True)
        return record

    def roots(self) -> IDs:
        """Step 1: the ids of every live object with an external reference and of every
        running frame, ascending, each once."""
        heap, t = self.heap, self.table
        top = t.top
        held = np.flatnonzero((t.extern[:top] > 0) & ((t.flags[:top] & ALIVE) != 0))
        frames = [f for f in heap.running_frames if t.is_alive(f)]
        return np.union1d(held, np.asarray(frames, np.int64)).astype(np.int64)

    def mark(self, roots: IDs, record: CollectionRecord | None = None) -> None:
        """Step 2 (and 4): afterwards the mark column holds 1 exactly at the live objects a
        root reaches through slots (roots included), 0 at every other row."""
        t = self.table
        colour = mark_from(GraphView.of_table(t), roots)
        marks = t.column(MARK_COLUMN)
        marks[:] = 0
        marks[: len(colour)] = colour != 0
        if record is not None:
            reached = np.flatnonzero(colour)
            record.objects_visited += len(reached)
            record.references_visited += int(t.ref_len[reached].sum())

    def unmarked(self) -> IDs:
        """The live objects left unmarked (not reachable from a root), ascending."""
        t = self.table
        top = t.top
        live = (t.flags[:top] & ALIVE) != 0
        live[:N_HEADS] = False
        return np.flatnonzero(live & (t.column(MARK_COLUMN)[:top] == 0)).astype(np.int64)

    def keep_legacy_finalizers(self, white: IDs, record: CollectionRecord) -> IDs:
        """Step 2b, legacy profiles only (CPython 2.7's move_legacy_finalizers and
        move_legacy_finalizer_reachable, applied to all the garbage since nothing else frees):
        each unmarked object with a ``__del__`` is uncollectable, appended to ``gc.garbage``
        in id order, and it and everything it reaches are marked. Returns the members of
        ``white`` still unmarked; ``record.uncollectable`` counts the ``__del__`` objects."""
        heap, state = self.heap, self.state
        legacy = [oid for oid in white.tolist() if heap.type_of(oid).has_finalizer]
        if not legacy:
            return white
        self.mark(np.union1d(self.roots(), np.asarray(legacy, np.int64)))
        record.uncollectable = len(legacy)
        if state.debug & DEBUG_UNCOLLECTABLE:
            for oid in legacy:
                self.debug_sink.uncollectable(oid)
        state.garbage.extend(heap.wrap(oid) for oid in legacy)
        return white[self.table.column(MARK_COLUMN)[white] == 0]

    def handle_weakrefs(self, white: IDs) -> None:
        """Step 3a (CPython's handle_weakrefs, before any finalizer): every weakref to an
        unmarked object is cleared (and, where the profile says so, every unmarked weakref
        itself, bpo-38006); then the callbacks of the cleared weakrefs that are marked run,
        once each, in the order they were found, each weakref held during its call.
        Afterwards no weakref refers to an unmarked object."""
        heap, t = self.heap, self.table
        marks = t.column(MARK_COLUMN)
        pending: list[int] = []
        for oid in white.tolist():
            if oid in heap.wr_referent and heap.profile.clear_garbage_weakrefs:
                heap.clear_weakref(oid)
            for wr in heap.weaklists.get(oid, ())[:]:
                heap.clear_weakref(wr)
                if heap.wr_callback.get(wr) is not None and marks[wr]:
                    heap.hold(wr)
                    pending.append(wr)
        for wr in pending:
            callback = heap.wr_callback[wr]
            assert callback is not None
            heap.call_weakref_callback(wr, callback)
            heap.release(wr)

    def finalize(self, white: IDs) -> None:
        """Step 3b (PEP 442's finalize_garbage): ``__del__`` once on each unmarked object that
        has one and is not FINALIZED yet, in id order, FINALIZED set before the call.
        Afterwards every unmarked object with a ``__del__`` is FINALIZED."""
        heap, t = self.heap, self.table
        for oid in white.tolist():
            if not t.is_alive(oid):
                continue
            info = heap.type_of(oid)
            if info.finalizer is not None and not t.flags[oid] & FINALIZED:
                t.flags[oid] |= FINALIZED
                heap.call_finalizer(oid, info)

    def remark(self, white: IDs) -> IDs:
        """Step 4: mark again from the roots as they are after the user code; returns the
        members of ``white`` still unmarked (the resurrected, and all they reach, are
        kept)."""
        self.mark(self.roots())
        t = self.table
        alive = (t.flags[white] & ALIVE) != 0
        return white[alive & (t.column(MARK_COLUMN)[white] == 0)]

    def sweep(self, white: IDs) -> int:
        """Step 5: free ``white`` (or, with DEBUG_SAVEALL, keep each in ``gc.garbage``);
        returns how many were found garbage. Afterwards the mark column is all 0."""
        heap, state = self.heap, self.state
        if state.debug & DEBUG_COLLECTABLE:
            for oid in white.tolist():
                self.debug_sink.collectable(oid)
        if state.debug & DEBUG_SAVEALL:
            state.garbage.extend(heap.wrap(oid) for oid in white.tolist())
        else:
            heap.free_unreachable(white)
        self.table.column(MARK_COLUMN)[:] = 0
        return len(white)

    def finish(self, collected: int, record: CollectionRecord, started: float) -> None:
        """Statistics (generation 0's), the record filled and appended to the history."""
        state = self.state
        record.collected = collected
        record.wall_time = time.perf_counter() - started
        if state.debug & DEBUG_STATS:
            self.debug_sink.done(collected, record.uncollectable, record.wall_time)
        self.close_record(0, collected, record)

    # -- what the gc module sees; invariants -----------------------------------------------------

    def heads(self, generation: int | None = None) -> tuple[int, ...]:
        """Generation 0 (and ``None``): every tracked object; generations 1 and 2: nothing."""
        return (self.young,) if generation in (None, 0) else ()

    def check(self, heap: HeapCore, *, strict: bool, rest: bool) -> None:
        """Counts are sane; between operations no mark is left from a collection."""
        super().check(heap, strict=strict, rest=rest)
        if strict:
            marked = np.flatnonzero(self.table.column(MARK_COLUMN)[: self.table.top])
            if len(marked):
                raise InvariantViolation(f"{heap.describe(int(marked[0]))} keeps a mark "
                                         f"between operations")


__all__ = ["MARK_COLUMN", "MarkSweepCollector"]
