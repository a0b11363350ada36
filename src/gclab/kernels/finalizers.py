"""Fast twins of the unreachable-set phases (:mod:`gclab.algorithms.finalizers`).

These phases run user code, so they stay in Python; what is vectorised here is only the
common case in which a phase has nothing to do for most members (no ``__del__`` to call, no
weakref in or to the set) — the answer is then read off whole arrays instead of a loop per
object. Every function has the oracle's name, signature and post-condition, and falls back to
the oracle whenever the shortcut does not apply. ``tests/test_dealloc_kernel.py`` runs whole
collections both ways on twin heaps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..algorithms import finalizers as oracle
from ..heap.flags import COLLECTING, FINALIZED, HAS_WEAKREFS, UNREACHABLE
from ..heap.types import Kind
from . import lists
from .cycles import clear_collecting, deduce_unreachable

if TYPE_CHECKING:
    from ..heap.core import HeapCore

Members = npt.NDArray[np.int32]


def _members(heap: HeapCore, head: int) -> Members | None:
    """The members of ``head`` as an array, or None when the compiled cascade is off for this
    heap (then the oracles run, so both paths stay observable in tests)."""
    if heap.dealloc_kernel is None:
        return None
    return lists.list_members(heap.table, head)


def _type_flags(heap: HeapCore, members: Members) -> tuple[npt.NDArray[np.bool_],
                                                             npt.NDArray[np.bool_]]:
    """Per member: its type has a ``__del__``; it is a weakref."""
    types = heap.types.types
    has_del = np.array([info.finalizer is not None for info in types], bool)
    is_weakref = np.array([info.kind is Kind.WEAKREF for info in types], bool)
    tids = heap.table.type_id[members]
    return has_del[tids], is_weakref[tids]


def move_legacy_finalizers(heap: HeapCore, unreachable: int, finalizers: int) -> None:
    """As the oracle: UNREACHABLE cleared on all; legacy-finalizer objects to ``finalizers``."""
    members = _members(heap, unreachable)
    if members is None:
        oracle.move_legacy_finalizers(heap, unreachable, finalizers)
        return
    t = heap.table
    t.flags[members] &= ~UNREACHABLE & 0xFF
    if not heap.profile.legacy_finalizers:
        return
    has_del, _ = _type_flags(heap, members)
    for oid in members[has_del].tolist():  # in list order
        t.flags[oid] &= ~COLLECTING & 0xFF
        t.list_move(oid, finalizers)


def handle_weakrefs(heap: HeapCore, unreachable: int, old: int, wrcb_to_call: int) -> int:
    """As the oracle; with no weakref in or to the set there is nothing to clear or call."""
    members = _members(heap, unreachable)
    if members is not None:
        _, is_weakref = _type_flags(heap, members)
        if not is_weakref.any() and not (heap.table.flags[members] & HAS_WEAKREFS).any():
            return 0
    return oracle.handle_weakrefs(heap, unreachable, old, wrcb_to_call)


def finalize_garbage(heap: HeapCore, collectable: int, seen: int) -> None:
    """As the oracle; with no ``__del__`` left to call every member would move to ``seen`` and
    back in the same order, so nothing is done."""
    members = _members(heap, collectable)
    if members is not None and heap.table.list_is_empty(seen):
        has_del, _ = _type_flags(heap, members)
        if not (has_del & ((heap.table.flags[members] & FINALIZED) == 0)).any():
            return
    oracle.finalize_garbage(heap, collectable, seen)


def handle_resurrected_objects(heap: HeapCore, unreachable: int, still_unreachable: int,
                               old: int) -> None:
    """As the oracle, with the compiled reachability phases."""
    t = heap.table
    clear_collecting(heap, unreachable)
    deduce_unreachable(heap, unreachable, still_unreachable)
    t.flags[lists.list_members(t, still_unreachable)] &= ~UNREACHABLE & 0xFF
    clear_collecting(heap, unreachable)
    t.list_merge(unreachable, old)


def delete_garbage(heap: HeapCore, collectable: int, old: int, garbage: list[object],
                   saveall: bool) -> None:
    """As the oracle, the tp_clear loop run by the compiled cascade
    (:meth:`~gclab.heap.dealloc.DeallocMixin.delete_garbage_compiled`)."""
    if not saveall and heap.dealloc_kernel is not None and heap._observer_known():
        heap.delete_garbage_compiled(collectable, old)
        return
    oracle.delete_garbage(heap, collectable, old, garbage, saveall)


move_legacy_finalizer_reachable = oracle.move_legacy_finalizer_reachable
handle_legacy_finalizers = oracle.handle_legacy_finalizers
