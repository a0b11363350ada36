"""What happens to the unreachable set: legacy finalizers, weakrefs, __del__, tp_clear.

These phases run user code (weakref callbacks, ``__del__``) and so only touch the unreachable
set; they stay in Python (spec §3.2 steps 7-17).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..heap.flags import COLLECTING, FINALIZED, NOT_COLLECTING, NOT_UNREACHABLE
from ..heap.types import Kind
from .cycles import clear_collecting, deduce_unreachable

if TYPE_CHECKING:
    from ..heap.core import HeapCore


def has_legacy_finalizer(heap: HeapCore, oid: int) -> bool:
    """True for objects whose type has a legacy ``tp_del`` (a ``__del__`` before 3.4)."""
    return heap.profile.legacy_finalizers and heap.type_of(oid).has_finalizer


def move_legacy_finalizers(heap: HeapCore, unreachable: int, finalizers: int) -> None:
    """Clear UNREACHABLE on all of ``unreachable``; move legacy-finalizer objects to
    ``finalizers`` (COLLECTING cleared). Afterwards ``unreachable`` holds none of them."""
    t = heap.table
    for oid in t.list_members(unreachable):
        t.flags[oid] &= NOT_UNREACHABLE
        if has_legacy_finalizer(heap, oid):
            t.flags[oid] &= NOT_COLLECTING
            t.list_move(oid, finalizers)


def move_legacy_finalizer_reachable(heap: HeapCore, finalizers: int) -> None:
    """Move everything reachable from ``finalizers`` out of the unreachable set into it.

    Walks ``finalizers`` while it grows; afterwards no member of ``unreachable`` is reachable
    from a legacy finalizer."""
    t = heap.table
    node = int(t.gc_next[finalizers])
    while node != finalizers:
        for ref in heap.referents(node):
            if t.flags[ref] & COLLECTING:
                t.list_move(ref, finalizers)
                t.flags[ref] &= NOT_COLLECTING
        node = int(t.gc_next[node])


def handle_weakrefs(heap: HeapCore, unreachable: int, old: int, wrcb_to_call: int) -> int:
    """Clear every weakref to an unreachable object; call the callbacks of those outside.

    Pass 1 clears (and, bpo-38006, clears garbage weakrefs themselves) and moves each weakref
    whose callback must run to ``wrcb_to_call``, holding a reference to it. Pass 2 calls the
    callbacks in that order; a weakref that survives its callback moves to ``old``, one that
    dies counts as freed. Returns the number freed.
    """
    t = heap.table
    for oid in t.list_members(unreachable):
        if heap.type_of(oid).kind is Kind.WEAKREF and heap.profile.clear_garbage_weakrefs:
            heap.clear_weakref(oid)
        for wr in heap.weakrefs_of(oid):
            heap.clear_weakref(wr)
            if heap.wr_callback.get(wr) is None:
                continue
            if t.flags[wr] & COLLECTING:
                continue  # the weakref is garbage too: its callback is suppressed
            heap.hold(wr)
            t.list_move(wr, wrcb_to_call)
    num_freed = 0
    while not t.list_is_empty(wrcb_to_call):
        wr = int(t.gc_next[wrcb_to_call])
        callback = heap.wr_callback[wr]
        assert callback is not None
        heap.call_weakref_callback(wr, callback)
        heap.release(wr)
        if int(t.gc_next[wrcb_to_call]) == wr:
            t.list_move(wr, old)
        else:
            num_freed += 1
    return num_freed


def finalize_garbage(heap: HeapCore, collectable: int, seen: int) -> None:
    """Call ``__del__`` (tp_finalize) once on every member not yet FINALIZED, in list order.

    Always takes the head, moves it to ``seen``, sets FINALIZED *before* the call; objects freed
    meanwhile simply vanish. Afterwards ``collectable`` holds the members still alive, in order.
    """
    t = heap.table
    while not t.list_is_empty(collectable):
        oid = int(t.gc_next[collectable])
        t.list_move(oid, seen)
        info = heap.type_of(oid)
        if info.finalizer is not None and not t.flags[oid] & FINALIZED:
            t.flags[oid] |= FINALIZED
            heap.call_finalizer(oid, info)
    t.list_merge(seen, collectable)


def handle_resurrected_objects(heap: HeapCore, unreachable: int, still_unreachable: int,
                               old: int) -> None:
    """Recompute reachability inside ``unreachable`` after the finalizers ran.

    Afterwards ``still_unreachable`` holds the objects nothing outside refers to (the final
    garbage) and the resurrected ones (and all they reach) have been merged onto ``old``.
    """
    clear_collecting(heap, unreachable)
    deduce_unreachable(heap, unreachable, still_unreachable)
    t = heap.table
    for oid in t.list_members(still_unreachable):
        t.flags[oid] &= NOT_UNREACHABLE
    clear_collecting(heap, unreachable)
    t.list_merge(unreachable, old)


def delete_garbage(heap: HeapCore, collectable: int, old: int, garbage: list[object],
                   saveall: bool) -> None:
    """tp_clear every member (or, with DEBUG_SAVEALL, append it to ``gc.garbage``).

    Always takes the head; a member still alive afterwards moves to ``old``. Afterwards
    ``collectable`` is empty."""
    t = heap.table
    while not t.list_is_empty(collectable):
        oid = int(t.gc_next[collectable])
        if saveall:
            garbage.append(heap.wrap(oid))
            heap.keep_if_first(oid, collectable, old)
        else:
            heap.clear_member(oid, collectable, old)



def handle_legacy_finalizers(heap: HeapCore, finalizers: int, old: int,
                             garbage: list[object], saveall: bool) -> None:
    """Append legacy-finalizer objects (all, with DEBUG_SAVEALL) to ``gc.garbage``; merge
    ``finalizers`` onto ``old``: they survive, kept alive by ``gc.garbage``."""
    t = heap.table
    for oid in t.list_members(finalizers):
        if saveall or has_legacy_finalizer(heap, oid):
            garbage.append(heap.wrap(oid))
    t.list_merge(finalizers, old)
