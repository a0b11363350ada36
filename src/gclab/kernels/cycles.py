"""Compiled reachability phases: the twins of :mod:`gclab.algorithms.cycles` (spec §3.2).

Each public function has the oracle's name, signature and post-conditions; it gathers the table
columns and calls a private ``@jit`` kernel that works on numpy arrays only. The kernels follow
the oracles step for step, so list order (CPython's move_unreachable reordering included), flags
and ``gc_refs`` come out identical; ``tests/test_kernels.py`` checks that on random heaps.

Traverse order inside the kernels (as :func:`gclab.heap.layout.gc_referents`): list and tuple
items last to first; dict entries value then key (an odd trailing key is not an entry); every
other kind in slot order. Negative slot values (NULL, atoms) are skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..heap.flags import ObjFlag
from . import K_DICT, K_LIST, K_TUPLE, jit, type_arrays

if TYPE_CHECKING:
    from ..heap.core import HeapCore

NULL = -1
TRACKED = int(ObjFlag.TRACKED)
COLLECTING = int(ObjFlag.COLLECTING)
UNREACHABLE = int(ObjFlag.UNREACHABLE)
NOT_COLLECTING = 0xFF & ~COLLECTING
NOT_UNREACHABLE = 0xFF & ~UNREACHABLE
NOT_COLLECTING_UNREACHABLE = 0xFF & ~(COLLECTING | UNREACHABLE)
UNTRACK_MASK = 0xFF & ~(TRACKED | COLLECTING | UNREACHABLE)


# -- helpers shared by the kernels (inlined by numba) ----------------------------------------------


@jit
def _list_remove(gc_next, gc_prev, node):  # type: ignore[no-untyped-def]
    prev = gc_prev[node]
    nxt = gc_next[node]
    gc_next[prev] = nxt
    gc_prev[nxt] = prev
    gc_next[node] = NULL
    gc_prev[node] = NULL


@jit
def _list_append(gc_next, gc_prev, node, head):  # type: ignore[no-untyped-def]
    last = gc_prev[head]
    gc_next[last] = node
    gc_prev[node] = last
    gc_next[node] = head
    gc_prev[head] = node


@jit
def _may_be_tracked(code, type_id, flags, kinds, gc_capable):  # type: ignore[no-untyped-def]
    """_PyObject_GC_MAY_BE_TRACKED: GC-capable, and a tuple only while tracked."""
    if code < 0:
        return False
    tid = type_id[code]
    if gc_capable[tid] == 0:
        return False
    return kinds[tid] != K_TUPLE or (flags[code] & TRACKED) != 0


@jit
def _maybe_untrack_tuple(oid, gc_next, gc_prev, flags, type_id, kinds, gc_capable,  # type: ignore[no-untyped-def]
                         pool, ref_start, ref_len):
    """_PyTuple_MaybeUntrack on a tuple ``oid``."""
    if (flags[oid] & TRACKED) == 0:
        return
    start = np.int64(ref_start[oid])  # uint32 column: widen before arithmetic
    for i in range(start, start + ref_len[oid]):
        item = pool[i]
        if item == NULL or _may_be_tracked(item, type_id, flags, kinds, gc_capable):
            return
    _list_remove(gc_next, gc_prev, oid)
    flags[oid] &= UNTRACK_MASK


# -- the kernels -----------------------------------------------------------------------------------


@jit
def _update_refs(gc_next, refcnt, gc_refs, flags, young):  # type: ignore[no-untyped-def]
    count = 0
    node = gc_next[young]
    while node != young:
        gc_refs[node] = refcnt[node]
        flags[node] |= COLLECTING
        count += 1
        node = gc_next[node]
    return count


@jit
def _subtract_refs(gc_next, flags, gc_refs, type_id, kinds,  # type: ignore[no-untyped-def]
                   pool, ref_start, ref_len, young):
    visited = 0
    node = gc_next[young]
    while node != young:
        kind = kinds[type_id[node]]
        start = np.int64(ref_start[node])  # uint32 column: widen before arithmetic
        length = ref_len[node]
        if kind == K_LIST or kind == K_TUPLE:
            for i in range(start + length - 1, start - 1, -1):
                ref = pool[i]
                if ref >= 0:
                    visited += 1
                    if flags[ref] & COLLECTING:
                        gc_refs[ref] -= 1
        elif kind == K_DICT:
            for e in range(length // 2):
                for i in (start + 2 * e + 1, start + 2 * e):
                    ref = pool[i]
                    if ref >= 0:
                        visited += 1
                        if flags[ref] & COLLECTING:
                            gc_refs[ref] -= 1
        else:
            for i in range(start, start + length):
                ref = pool[i]
                if ref >= 0:
                    visited += 1
                    if flags[ref] & COLLECTING:
                        gc_refs[ref] -= 1
        node = gc_next[node]
    return visited


@jit
def _visit_reachable(ref, gc_next, gc_prev, flags, gc_refs, young):  # type: ignore[no-untyped-def]
    f = flags[ref]
    if (f & COLLECTING) == 0:
        return
    if f & UNREACHABLE:
        _list_remove(gc_next, gc_prev, ref)
        _list_append(gc_next, gc_prev, ref, young)
        flags[ref] = f & NOT_UNREACHABLE
        gc_refs[ref] = 1
    elif gc_refs[ref] == 0:
        gc_refs[ref] = 1


@jit
def _move_unreachable(gc_next, gc_prev, flags, gc_refs, type_id, kinds,  # type: ignore[no-untyped-def]
                      gc_capable, pool, ref_start, ref_len, young, unreachable, inline):
    node = gc_next[young]
    while node != young:
        if gc_refs[node] > 0:
            kind = kinds[type_id[node]]
            start = np.int64(ref_start[node])  # uint32 column: widen before arithmetic
            length = ref_len[node]
            if kind == K_LIST or kind == K_TUPLE:
                for i in range(start + length - 1, start - 1, -1):
                    ref = pool[i]
                    if ref >= 0:
                        _visit_reachable(ref, gc_next, gc_prev, flags, gc_refs, young)
            elif kind == K_DICT:
                for e in range(length // 2):
                    for i in (start + 2 * e + 1, start + 2 * e):
                        ref = pool[i]
                        if ref >= 0:
                            _visit_reachable(ref, gc_next, gc_prev, flags, gc_refs, young)
            else:
                for i in range(start, start + length):
                    ref = pool[i]
                    if ref >= 0:
                        _visit_reachable(ref, gc_next, gc_prev, flags, gc_refs, young)
            flags[node] &= NOT_COLLECTING
            following = gc_next[node]
            if inline and kind == K_TUPLE:
                _maybe_untrack_tuple(node, gc_next, gc_prev, flags, type_id, kinds, gc_capable,
                                     pool, ref_start, ref_len)
            node = following
        else:
            following = gc_next[node]
            _list_remove(gc_next, gc_prev, node)
            _list_append(gc_next, gc_prev, node, unreachable)
            flags[node] |= UNREACHABLE
            node = following


@jit
def _untrack_tuples(gc_next, gc_prev, flags, type_id, kinds, gc_capable,  # type: ignore[no-untyped-def]
                    pool, ref_start, ref_len, head):
    node = gc_next[head]
    while node != head:
        following = gc_next[node]
        if kinds[type_id[node]] == K_TUPLE:
            _maybe_untrack_tuple(node, gc_next, gc_prev, flags, type_id, kinds, gc_capable,
                                 pool, ref_start, ref_len)
        node = following


@jit
def _untrack_dicts(gc_next, gc_prev, flags, type_id, kinds, gc_capable,  # type: ignore[no-untyped-def]
                   pool, ref_start, ref_len, head):
    node = gc_next[head]
    while node != head:
        following = gc_next[node]
        if kinds[type_id[node]] == K_DICT and (flags[node] & TRACKED) != 0:
            start = np.int64(ref_start[node])  # uint32 column: widen before arithmetic
            keep = False
            for i in range(start, start + ref_len[node]):
                if _may_be_tracked(pool[i], type_id, flags, kinds, gc_capable):
                    keep = True
                    break
            if not keep:
                _list_remove(gc_next, gc_prev, node)
                flags[node] &= UNTRACK_MASK
        node = following


@jit
def _clear_collecting(gc_next, flags, head):  # type: ignore[no-untyped-def]
    node = gc_next[head]
    while node != head:
        flags[node] &= NOT_COLLECTING_UNREACHABLE
        node = gc_next[node]


# -- public wrappers (the oracles' names and signatures) -------------------------------------------


def update_refs(heap: HeapCore, young: int) -> int:
    """Copy each member's refcount into ``gc_refs`` and mark it COLLECTING.

    Afterwards every member has ``gc_refs == refcount`` and the COLLECTING flag.
    Returns the number of members."""
    t = heap.table
    return int(_update_refs(t.gc_next, t.refcnt, t.gc_refs, t.flags, np.int64(young)))


def subtract_refs(heap: HeapCore, young: int) -> int:
    """Subtract the references members hold to each other.

    Afterwards ``gc_refs`` of a member is the number of references to it from outside the set.
    Returns the number of references (object ids) visited."""
    t = heap.table
    kinds, _ = type_arrays(heap.types)
    return int(_subtract_refs(t.gc_next, t.flags, t.gc_refs, t.type_id, kinds,
                              t.pool, t.ref_start, t.ref_len, np.int64(young)))


def move_unreachable(heap: HeapCore, young: int, unreachable: int,
                     untrack_tuples_inline: bool = False) -> None:
    """Move members nothing reachable refers to into ``unreachable`` (CPython's reordering).

    Afterwards ``young`` holds exactly the reachable members (COLLECTING cleared) in CPython's
    order and ``unreachable`` the rest (COLLECTING and UNREACHABLE set). With
    ``untrack_tuples_inline`` (2.7) a reachable tuple is untracked right after its scan."""
    t = heap.table
    kinds, gc_capable = type_arrays(heap.types)
    _move_unreachable(t.gc_next, t.gc_prev, t.flags, t.gc_refs, t.type_id, kinds, gc_capable,
                      t.pool, t.ref_start, t.ref_len, np.int64(young), np.int64(unreachable),
                      bool(untrack_tuples_inline))


@jit
def _deduce_unreachable(gc_next, gc_prev, flags, refcnt, gc_refs,  # type: ignore[no-untyped-def]
                        type_id, kinds, gc_capable, pool, ref_start, ref_len, young,
                        unreachable, inline):
    """The three steps of deduce_unreachable in one call: (objects, references) visited."""
    objects = _update_refs(gc_next, refcnt, gc_refs, flags, young)
    references = _subtract_refs(gc_next, flags, gc_refs, type_id, kinds, pool, ref_start,
                                ref_len, young)
    _move_unreachable(gc_next, gc_prev, flags, gc_refs, type_id, kinds, gc_capable, pool,
                      ref_start, ref_len, young, unreachable, inline)
    return objects, references


def deduce_unreachable(heap: HeapCore, young: int, unreachable: int,
                       untrack_tuples_inline: bool = False) -> tuple[int, int]:
    """update_refs, subtract_refs, move_unreachable (one compiled call). Returns (objects,
    references) visited."""
    t = heap.table
    kinds, gc_capable = type_arrays(heap.types)
    objects, references = _deduce_unreachable(
        t.gc_next, t.gc_prev, t.flags, t.refcnt, t.gc_refs, t.type_id, kinds, gc_capable,
        t.pool, t.ref_start, t.ref_len, young, unreachable, bool(untrack_tuples_inline))
    return int(objects), int(references)


def untrack_tuples(heap: HeapCore, head: int) -> None:
    """Apply _PyTuple_MaybeUntrack to every tuple of the list, in list order.

    Afterwards no tracked tuple of the list holds only present items that may not be tracked."""
    t = heap.table
    kinds, gc_capable = type_arrays(heap.types)
    _untrack_tuples(t.gc_next, t.gc_prev, t.flags, t.type_id, kinds, gc_capable,
                    t.pool, t.ref_start, t.ref_len, np.int64(head))


def untrack_dicts(heap: HeapCore, head: int) -> None:
    """Apply _PyDict_MaybeUntrack to every dict of the list, in list order.

    Afterwards no dict of the list whose keys and values may all not be tracked is tracked."""
    t = heap.table
    kinds, gc_capable = type_arrays(heap.types)
    _untrack_dicts(t.gc_next, t.gc_prev, t.flags, t.type_id, kinds, gc_capable,
                   t.pool, t.ref_start, t.ref_len, np.int64(head))


def clear_collecting(heap: HeapCore, head: int) -> None:
    """Clear COLLECTING and UNREACHABLE on every member of the list."""
    t = heap.table
    _clear_collecting(t.gc_next, t.flags, np.int64(head))


__all__ = ["clear_collecting", "deduce_unreachable", "move_unreachable", "subtract_refs",
           "untrack_dicts", "untrack_tuples", "update_refs"]
