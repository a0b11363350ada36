"""Compiled helpers of the unreachable-set phases (:mod:`gclab.algorithms.finalizers`).

These phases run user code, so they stay in Python; what is compiled here is only what the
common case needs: one walk of the list that answers "is there anything to do?" (no ``__del__``
to call, no weakref in or to the set), and the twins of the two phases that run no user code
(:func:`move_legacy_finalizers`, :func:`handle_resurrected_objects`). Which of these the
collector runs, and when it falls back to the oracle, is its choice
(:mod:`gclab.collectors.cpython.fast`). ``tests/test_dealloc_kernel.py`` runs whole collections
both ways on twin heaps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..heap import _jit_lists as lists
from ..heap.flags import FINALIZED, HAS_WEAKREFS, NOT_COLLECTING, NOT_UNREACHABLE
from ..heap.types import Kind
from . import at, jit, type_arrays
from .cycles import _clear_collecting, _clear_flag, _deduce_unreachable

if TYPE_CHECKING:
    from ..heap.core import HeapCore
    from ..heap.types import TypeRegistry

U8 = npt.NDArray[np.uint8]


@jit
def _any_member(gc_next, flags, type_id, by_type, unless, any_flag,
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
def _resurrection_pass(gc_next, gc_prev, flags, refcnt, gc_refs,
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


def any_weakref_member(heap: HeapCore, head: int) -> bool:
    """True when a member of ``head`` is a weakref or has weakrefs (one compiled walk; False
    at once when the heap has neither)."""
    if not heap.wr_referent and not heap.weaklists:  # no weakref object, no referent
        return False
    t = heap.table
    _, is_weakref = _type_flags(heap)
    return bool(_any_member(t.gc_next, t.flags, t.type_id, is_weakref, 0, HAS_WEAKREFS, head))


def any_finalizer_to_call(heap: HeapCore, head: int) -> bool:
    """True when a member of ``head`` has a ``__del__`` not yet run (not FINALIZED); False at
    once when no registered type has a ``__del__``."""
    if heap.types.derived("kernels.finalizers.no_finalizers", _no_finalizers):
        return False
    t = heap.table
    has_del, _ = _type_flags(heap)
    return bool(_any_member(t.gc_next, t.flags, t.type_id, has_del, FINALIZED, 0, head))


def move_legacy_finalizers(heap: HeapCore, unreachable: int, finalizers: int) -> None:
    """As the oracle: UNREACHABLE cleared on all; legacy-finalizer objects to ``finalizers``."""
    t = heap.table
    if not heap.profile.legacy_finalizers:
        _clear_flag(t.gc_next, t.flags, unreachable, NOT_UNREACHABLE)
        return
    members = lists.list_members(t, unreachable)
    t.flags[members] &= NOT_UNREACHABLE
    has_del, _ = _type_flags(heap)
    for oid in members[has_del[t.type_id[members]] != 0].tolist():  # in list order
        t.flags[oid] &= NOT_COLLECTING
        t.list_move(oid, finalizers)


def handle_resurrected_objects(heap: HeapCore, unreachable: int, still_unreachable: int,
                               old: int) -> None:
    """As the oracle, with the compiled reachability phases."""
    t = heap.table
    kinds, gc_capable = type_arrays(heap.types)
    _resurrection_pass(t.gc_next, t.gc_prev, t.flags, t.refcnt, t.gc_refs, t.type_id, kinds,
                       gc_capable, t.pool, t.ref_start, t.ref_len, unreachable,
                       still_unreachable)
    t.list_merge(unreachable, old)


__all__ = ["any_finalizer_to_call", "any_weakref_member", "handle_resurrected_objects",
           "move_legacy_finalizers"]
