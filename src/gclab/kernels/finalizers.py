"""Fast twins of the unreachable-set phases (:mod:`gclab.algorithms.finalizers`).

These phases run user code, so they stay in Python; what is vectorised here is only the
common case in which a phase has nothing to do for most members (no ``__del__`` to call, no
weakref in or to the set) — the answer is then read off one compiled walk of the list instead
of a Python loop per object. Every function has the oracle's name, signature and
post-condition, and falls back to the oracle whenever the shortcut does not apply, or when the
compiled cascade is off for the heap (``heap.dealloc_kernel is None``: then the oracles run, so
both paths stay observable in tests). ``tests/test_dealloc_kernel.py`` runs whole collections
both ways on twin heaps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..algorithms import finalizers as oracle
from ..heap.flags import COLLECTING, FINALIZED, HAS_WEAKREFS, UNREACHABLE
from ..heap.types import Kind
from . import at, jit, lists, type_arrays
from .cycles import _clear_collecting, _clear_flag, _deduce_unreachable

if TYPE_CHECKING:
    from ..heap.core import HeapCore
    from ..heap.types import TypeRegistry

U8 = npt.NDArray[np.uint8]
NOT_UNREACHABLE = 0xFF & ~UNREACHABLE


@jit
def _any_member(gc_next, flags, type_id, by_type, unless, any_flag,  # type: ignore[no-untyped-def]
                head):
    """True when a member of ``head`` has a flag of ``any_flag``, or a type marked in
    ``by_type`` and none of the flags ``unless``."""
    found = False
    step, alt = 1, 1
    node = gc_next[head]
    while node != head and not found:
        while True:  # a run (see kernels.cycles)
            f = flags[at(node)]
            if (f & any_flag) != 0 or (by_type[at(type_id[at(node)])] != 0 and (f & unless) == 0):
                found = True
            following = gc_next[at(node)]
            if found or following != node + step or following == head:
                break
            node += step
            step, alt = alt, step
        step, alt = alt, following - node
        node = following
    return found


@jit
def _resurrection_pass(gc_next, gc_prev, flags, refcnt, gc_refs,  # type: ignore[no-untyped-def]
                       type_id, kinds, gc_capable, pool, ref_start, ref_len, unreachable,
                       still_unreachable):
    """handle_resurrected_objects up to the final merge, in one call."""
    _clear_collecting(gc_next, flags, unreachable)
    _deduce_unreachable(gc_next, gc_prev, flags, refcnt, gc_refs, type_id, kinds, gc_capable,
                        pool, ref_start, ref_len, unreachable, still_unreachable, False)
    _clear_flag(gc_next, flags, still_unreachable, NOT_UNREACHABLE)
    _clear_collecting(gc_next, flags, unreachable)


def _build_type_flags(types: TypeRegistry) -> tuple[U8, U8]:
    has_del = np.array([info.finalizer is not None for info in types.types], np.uint8)
    is_weakref = np.array([info.kind is Kind.WEAKREF for info in types.types], np.uint8)
    return has_del, is_weakref


def _no_finalizers(types: TypeRegistry) -> bool:
    return not any(info.finalizer is not None for info in types.types)


def _type_flags(heap: HeapCore) -> tuple[U8, U8]:
    """Per type id: 1 if the type has a ``__del__``; 1 if it is the weakref type (cached on
    the registry: types are only appended, a finalizer never changes)."""
    return heap.types.derived("kernels.finalizers.type_flags", _build_type_flags)


def move_legacy_finalizers(heap: HeapCore, unreachable: int, finalizers: int) -> None:
    """As the oracle: UNREACHABLE cleared on all; legacy-finalizer objects to ``finalizers``."""
    if heap.dealloc_kernel is None:
        oracle.move_legacy_finalizers(heap, unreachable, finalizers)
        return
    t = heap.table
    if not heap.profile.legacy_finalizers:
        _clear_flag(t.gc_next, t.flags, unreachable, NOT_UNREACHABLE)
        return
    members = lists.list_members(t, unreachable)
    t.flags[members] &= NOT_UNREACHABLE
    has_del, _ = _type_flags(heap)
    for oid in members[has_del[t.type_id[members]] != 0].tolist():  # in list order
        t.flags[oid] &= ~COLLECTING & 0xFF
        t.list_move(oid, finalizers)


def handle_weakrefs(heap: HeapCore, unreachable: int, old: int, wrcb_to_call: int) -> int:
    """As the oracle; with no weakref in or to the set there is nothing to clear or call."""
    if heap.dealloc_kernel is not None:
        if not heap.wr_referent and not heap.weaklists:  # no weakref object, no referent
            return 0
        t = heap.table
        _, is_weakref = _type_flags(heap)
        if not _any_member(t.gc_next, t.flags, t.type_id, is_weakref, 0, HAS_WEAKREFS,
                           unreachable):
            return 0
    return oracle.handle_weakrefs(heap, unreachable, old, wrcb_to_call)


def finalize_garbage(heap: HeapCore, collectable: int, seen: int) -> None:
    """As the oracle; with no ``__del__`` left to call every member would move to ``seen`` and
    back in the same order, so nothing is done."""
    t = heap.table
    if heap.dealloc_kernel is not None and t.list_is_empty(seen):
        if heap.types.derived("kernels.finalizers.no_finalizers", _no_finalizers):
            return  # no registered type has a __del__
        has_del, _ = _type_flags(heap)
        if not _any_member(t.gc_next, t.flags, t.type_id, has_del, FINALIZED, 0, collectable):
            return
    oracle.finalize_garbage(heap, collectable, seen)


def handle_resurrected_objects(heap: HeapCore, unreachable: int, still_unreachable: int,
                               old: int) -> None:
    """As the oracle, with the compiled reachability phases."""
    t = heap.table
    kinds, gc_capable = type_arrays(heap.types)
    _resurrection_pass(t.gc_next, t.gc_prev, t.flags, t.refcnt, t.gc_refs, t.type_id, kinds,
                       gc_capable, t.pool, t.ref_start, t.ref_len, unreachable,
                       still_unreachable)
    t.list_merge(unreachable, old)


def delete_garbage(heap: HeapCore, collectable: int, old: int, garbage: list[object],
                   saveall: bool) -> None:
    """As the oracle, the tp_clear loop run by the compiled cascade
    (:meth:`~gclab.heap.dealloc.DeallocMixin.delete_garbage_compiled`), unless a mutation
    listener or write barrier must hear its slot writes."""
    if heap.table.list_is_empty(collectable):  # the oracle's loop would not run
        return
    if not saveall and heap._clear_compiled():
        heap.delete_garbage_compiled(collectable, old)
        return
    oracle.delete_garbage(heap, collectable, old, garbage, saveall)


def handle_legacy_finalizers(heap: HeapCore, finalizers: int, old: int, garbage: list[object],
                             saveall: bool) -> None:
    """As the oracle; an empty ``finalizers`` list (the common case) has nothing to do."""
    if not heap.table.list_is_empty(finalizers):
        oracle.handle_legacy_finalizers(heap, finalizers, old, garbage, saveall)


def move_legacy_finalizer_reachable(heap: HeapCore, finalizers: int) -> None:
    """As the oracle; an empty ``finalizers`` list (every PEP 442 collection) reaches nothing."""
    if not heap.table.list_is_empty(finalizers):
        oracle.move_legacy_finalizer_reachable(heap, finalizers)
