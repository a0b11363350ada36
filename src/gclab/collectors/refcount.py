"""Reference counting alone: what ``gc.disable()`` from the first line on means.

An object dies when its reference count reaches zero, at once, with its ``__del__`` and its
weakrefs' callbacks (the heap's deallocation cascade does all of that, for every collector
that ``uses_refcounts``). Nothing else ever frees anything: a cycle that loses its last outside
reference stays, unreachable, until the heap goes away. The algorithm is therefore the empty
one: count allocations, place new objects, never collect.

What the ``gc`` facade answers, modelled on CPython 3.11 with the collector disabled from the
start (measured: ``gc.disable()``, then a cycle is leaked and allocations go past threshold 0):

- ``gc.collect()`` returns 0 and changes nothing: no ``gc.callbacks``, no statistics, no
  DEBUG_STATS text, ``gc.garbage`` stays empty (CPython would still collect when asked; a
  runtime without a cycle collector cannot);
- ``gc.get_count()`` is ``(n, 0, 0)``: ``count[0]`` goes up at every GC-capable allocation and
  down at every such free, as CPython's does (free lists included when modelled), and no
  collection resets it; ``gc.get_threshold()``/``set_threshold()`` keep the profile's
  thresholds, which trigger nothing; ``gc.isenabled()`` starts False (``gc.enable()`` sets the
  flag, and still nothing is collected);
- ``gc.get_objects(0)`` is every tracked object in the order it was tracked; generations 1
  and 2 are empty, since only a collection promotes (until ``gc.unfreeze()``, below);
- ``gc.is_tracked()`` follows CPython's rules at allocation and store (a dict starts tracking
  when it stores something that may be tracked); nothing is ever untracked by a collection, so
  a tuple of atoms stays tracked (as a tuple built at run time does on CPython 3.11 with the
  collector disabled);
- ``gc.freeze()`` moves every tracked object to a permanent list (the counts zeroed),
  ``gc.get_freeze_count()`` counts them, ``gc.unfreeze()`` puts them at the tail of
  generation 2, as CPython does.

>>> import gclab
>>> heap = gclab.Heap(collector="refcount")
>>> a = heap.list(); a.append(a); del a      # a cycle: it leaks
>>> heap.gc.collect(), heap.gc.get_count()
(0, (1, 0, 0))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Capabilities, register
from .counting import CountingCollector

if TYPE_CHECKING:
    from ..heap.core import HeapCore
    from ..heap.types import TypeInfo
    from .record import CollectionRecord


# Its lists, as offsets from its first head: new objects, what gc.unfreeze() gives back (the
# "oldest generation"), the permanent list of gc.freeze().
YOUNG, OLD, PERMANENT = 0, 1, 2


@register("refcount")
class RefcountCollector(CountingCollector):
    """Reference counting only; cycles are never collected."""

    name = "refcount"
    capabilities = Capabilities(collects_cycles=False, generational=False, incremental=False,
                                write_barrier=False, uses_refcounts=True, freezes=True)
    lists = 3

    def __init__(self, heap: HeapCore, *, free_lists: bool = False) -> None:
        super().__init__(heap, free_lists=free_lists)
        self.young = self.first_head + YOUNG
        self.old = self.first_head + OLD
        self.permanent = self.first_head + PERMANENT
        self.state.enabled = False  # gc.disable(), from the first line on

    def before_gc_alloc(self, info: TypeInfo, size: int) -> None:
        """Count the allocation; nothing is ever triggered."""
        self.count_alloc(info, size)

    def bulk_gc_alloc(self, info: TypeInfo, size: int, count: int) -> int:
        """Count ``count`` allocations at once (one by one when free lists are modelled)."""
        if self.free_counts is not None:
            return 0
        self.state.count[0] += count
        return count

    def safepoint(self) -> None:
        """Nothing is ever scheduled."""

    def collect(self, generation: int, record: CollectionRecord) -> CollectionRecord:
        """Reference counting finds no cycle: ``record`` is returned as it came."""
        return record

    def collect_with_callbacks(self, generation: int, reason: str = "manual",
                               *, callbacks: bool = True) -> int:
        """No collection: nothing runs, nothing is recorded; returns 0."""
        return 0

    def heads(self, generation: int | None = None) -> tuple[int, ...]:
        """Generation 0: everything tracked since the start; 1: nothing; 2: what
        ``gc.unfreeze()`` gave back."""
        return {None: (self.young, self.old), 0: (self.young,), 1: (), 2: (self.old,)}[
            generation]



__all__ = ["RefcountCollector"]
