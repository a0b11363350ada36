"""The collector's phases with the compiled kernels: each kernel's shortcut, else the oracle.

The reachability phases are the compiled twins themselves (:mod:`gclab.kernels.cycles`). The
phases over the unreachable set run user code and stay in Python
(:mod:`gclab.algorithms.finalizers`); here each one first asks a compiled walk whether there is
anything to do (no ``__del__`` to call, no weakref in or to the set: the common case) and runs
the oracle only when there is. A heap whose compiled cascade is off (``heap.dealloc_kernel is
None``) gets the oracles, so both paths stay observable in tests. Every function has the
oracle's name, signature and post-condition (``tests/test_dealloc_kernel.py`` runs whole
collections both ways on twin heaps).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...algorithms import finalizers as oracle
from ...kernels import finalizers as kernel
from ...kernels.cycles import (
    clear_collecting,
    deduce_unreachable,
    move_unreachable,
    subtract_refs,
    untrack_dicts,
    untrack_tuples,
    update_refs,
)

if TYPE_CHECKING:
    from ...heap.core import HeapCore


def move_legacy_finalizers(heap: HeapCore, unreachable: int, finalizers: int) -> None:
    """As the oracle: UNREACHABLE cleared on all; legacy-finalizer objects to ``finalizers``."""
    if heap.dealloc_kernel is None:
        oracle.move_legacy_finalizers(heap, unreachable, finalizers)
    else:
        kernel.move_legacy_finalizers(heap, unreachable, finalizers)


def handle_weakrefs(heap: HeapCore, unreachable: int, old: int, wrcb_to_call: int) -> int:
    """As the oracle; with no weakref in or to the set there is nothing to clear or call."""
    if heap.dealloc_kernel is not None and not kernel.any_weakref_member(heap, unreachable):
        return 0
    return oracle.handle_weakrefs(heap, unreachable, old, wrcb_to_call)


def finalize_garbage(heap: HeapCore, collectable: int, seen: int) -> None:
    """As the oracle; with no ``__del__`` left to call every member would move to ``seen`` and
    back in the same order, so nothing is done."""
    if (heap.dealloc_kernel is not None and heap.table.list_is_empty(seen)
            and not kernel.any_finalizer_to_call(heap, collectable)):
        return
    oracle.finalize_garbage(heap, collectable, seen)


def handle_resurrected_objects(heap: HeapCore, unreachable: int, still_unreachable: int,
                               old: int) -> None:
    """As the oracle, with the compiled reachability phases."""
    kernel.handle_resurrected_objects(heap, unreachable, still_unreachable, old)


def delete_garbage(heap: HeapCore, collectable: int, old: int, garbage: list[object],
                   saveall: bool) -> None:
    """As the oracle; without DEBUG_SAVEALL the heap's service clears the list
    (:meth:`~gclab.heap.dealloc.DeallocMixin.clear_list`: the compiled cascade's loop)."""
    if heap.table.list_is_empty(collectable):  # the oracle's loop would not run
        return
    if saveall:
        oracle.delete_garbage(heap, collectable, old, garbage, saveall)
    else:
        heap.clear_list(collectable, old)



def handle_legacy_finalizers(heap: HeapCore, finalizers: int, old: int, garbage: list[object],
                             saveall: bool) -> None:
    """As the oracle; an empty ``finalizers`` list (the common case) has nothing to do."""
    if not heap.table.list_is_empty(finalizers):
        oracle.handle_legacy_finalizers(heap, finalizers, old, garbage, saveall)


def move_legacy_finalizer_reachable(heap: HeapCore, finalizers: int) -> None:
    """As the oracle; an empty ``finalizers`` list (every PEP 442 collection) reaches nothing."""
    if not heap.table.list_is_empty(finalizers):
        oracle.move_legacy_finalizer_reachable(heap, finalizers)


__all__ = ["clear_collecting", "deduce_unreachable", "delete_garbage", "finalize_garbage",
           "handle_legacy_finalizers", "handle_resurrected_objects", "handle_weakrefs",
           "move_legacy_finalizer_reachable", "move_legacy_finalizers", "move_unreachable",
           "subtract_refs", "untrack_dicts", "untrack_tuples", "update_refs"]
