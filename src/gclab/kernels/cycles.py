"""Compiled reachability phases: the twins of :mod:`gclab.algorithms.cycles` (spec §3.2).

Each public function has the oracle's name, signature and post-conditions; it gathers the table
columns and calls a private ``@jit`` kernel that works on numpy arrays only. The kernels follow
the oracles step for step, so list order (CPython's move_unreachable reordering included), flags
and ``gc_refs`` come out identical; ``tests/test_kernels.py`` checks that on random heaps.

Traverse order inside the kernels (as :func:`gclab.heap.layout.gc_referents`): list and tuple
items last to first; dict entries value then key (an odd trailing key is not an entry); every
other kind in slot order. Negative slot values (NULL, atoms) are skipped.

The wrappers of the unreachable-set phases take a table-like (:class:`gclab.graphview.TableLike`):
a heap, or a :class:`~gclab.graphview.GraphTable` over a graph that is not one
(:func:`unreachable_in`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..graphview import GraphTable, GraphView, TableLike
from ..heap._jit_lists import _list_append, _list_remove
from ..heap.flags import (
    COLLECTING,
    NOT_COLLECTING,
    NOT_COLLECTING_UNREACHABLE,
    NOT_UNREACHABLE,
    TRACKED,
    UNREACHABLE,
    UNTRACK_MASK,
)
from ..heap.table import NULL
from ..heap.types import K_DICT, K_LIST, K_TUPLE, SET, TypeRegistry
from . import at, jit, type_arrays

if TYPE_CHECKING:
    from ..heap.core import HeapCore



# -- helpers shared by the kernels (inlined by numba) ----------------------------------------------
#
# Runs: every walk below follows ``gc_next`` through an inner loop over a *run*: members whose
# ids follow a guessed step (``gc_next[node] == node + step``). Inside a run the next id is
# known before ``gc_next[node]`` is loaded, so the CPU need not wait for each load in turn: a
# plain ``node = gc_next[node]`` chain runs about four times slower on such lists. The guess is
# the step taken two moves before (``alt`` holds it), which covers a constant step (objects
# allocated one after another: 1) and two alternating ones (1, -3, 1, -3 ...). Freed ids are
# reused lowest first (:mod:`gclab.heap.freeids`), so objects made after churn follow each
# other in ascending ids with gaps: no run, but the loads go front to back through the columns,
# which the CPU prefetches. A list in random id order walks as fast as a plain chain. The
# members visited and their order are exactly the list's; a run never continues into the head.


@jit
def _traverse_count(kind, length):
    """How many slots tp_traverse visits: a dict's odd trailing key is not an entry."""
    if kind == K_DICT:
        return length - (length & 1)
    return length


@jit
def _traverse_index(kind, start, length, j):
    """Pool index of the ``j``-th slot tp_traverse visits: list and tuple items last to first,
    dict entries value then key, every other kind in slot order."""
    if kind == K_LIST or kind == K_TUPLE:
        i = start + length - 1 - j
    elif kind == K_DICT:
        i = start + (j ^ 1)  # entry j // 2: its value (odd slot) first, then its key
    else:
        i = start + j
    return i


@jit
def _may_be_tracked(code, type_id, flags, kinds, gc_capable):
    """_PyObject_GC_MAY_BE_TRACKED: GC-capable, and a tuple only while tracked."""
    if code < 0:
        return False
    tid = type_id[code]
    if gc_capable[tid] == 0:
        return False
    return kinds[tid] != K_TUPLE or (flags[code] & TRACKED) != 0


@jit
def _maybe_untrack_tuple(oid, gc_next, gc_prev, flags, type_id, kinds, gc_capable,
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
def _update_refs(gc_next, refcnt, gc_refs, flags, young):
    count = 0
    step, alt = 1, 1
    node = gc_next[young]
    while node != young:
        while True:  # a run
            u = at(node)
            gc_refs[u] = refcnt[u]
            flags[u] |= COLLECTING
            count += 1
            following = gc_next[u]
            if following != node + step or following == young:
                break
            node += step
            step, alt = alt, step
        step, alt = alt, following - node
        node = following
    return count


@jit
def _subtract_refs(gc_next, flags, gc_refs, type_id, kinds,
                   pool, ref_start, ref_len, young):
    visited = 0
    step, alt = 1, 1
    node = gc_next[young]
    while node != young:
        while True:  # a run
            u = at(node)
            start = np.int64(ref_start[u])  # uint32 column: widen before arithmetic
            # the decrements commute: the traversed slots in pool order
            end = start + _traverse_count(kinds[at(type_id[u])], ref_len[u])
            for i in range(start, end):
                ref = pool[at(i)]
                if ref >= 0:
                    visited += 1
                    r = at(ref)
                    if flags[r] & COLLECTING:
                        gc_refs[r] -= 1
            following = gc_next[u]
            if following != node + step or following == young:
                break
            node += step
            step, alt = alt, step
        step, alt = alt, following - node
        node = following
    return visited


@jit
def _move_stretch(gc_next, gc_prev, flags, gc_refs, first, young, unreachable):
    """Move ``first`` and the members after it with ``gc_refs == 0`` to the tail of
    ``unreachable`` (flag UNREACHABLE), in order, as one splice: the same lists as moving them
    one at a time. Returns the last one moved, whose ``gc_next`` still names the member after
    it (the caller reads it, then sets it to ``unreachable``)."""
    last = first
    step, alt = 1, 1
    while True:
        while True:  # a run
            flags[last] |= UNREACHABLE
            following = gc_next[last]
            if following != last + step or following == young or gc_refs[following] != 0:
                break
            last += step
            step, alt = alt, step
        if following == young or gc_refs[following] != 0:
            break
        step, alt = alt, following - last
        last = following
    prev = gc_prev[first]  # unlink first..last from young
    gc_next[prev] = following
    gc_prev[following] = prev
    tail = gc_prev[unreachable]  # and append it to unreachable
    gc_next[tail] = first
    gc_prev[first] = tail
    gc_prev[unreachable] = last
    return last


@jit
def _move_unreachable(gc_next, gc_prev, flags, gc_refs, type_id, kinds,
                      gc_capable, pool, ref_start, ref_len, young, unreachable, inline):
    step, alt = 1, 1
    node = gc_next[young]
    while node != young:
        while True:  # a run (the list may change under it: ``following``
            # is read exactly where the oracle reads it)
            u = at(node)
            if gc_refs[u] > 0:
                kind = kinds[at(type_id[u])]
                start = np.int64(ref_start[u])  # uint32 column: widen before arithmetic
                length = ref_len[u]
                for j in range(_traverse_count(kind, length)):
                    ref = pool[at(_traverse_index(kind, start, length, j))]
                    if ref < 0:
                        continue
                    # visit_reachable (written out: numba runs a helper here 3x slower)
                    f = flags[at(ref)]
                    if (f & COLLECTING) == 0:
                        continue
                    if f & UNREACHABLE:  # tentatively unreachable: back to young's tail
                        _list_remove(gc_next, gc_prev, ref)
                        _list_append(gc_next, gc_prev, ref, young)
                        flags[ref] = f & NOT_UNREACHABLE
                        gc_refs[ref] = 1
                    elif gc_refs[at(ref)] == 0:
                        gc_refs[at(ref)] = 1
                flags[u] &= NOT_COLLECTING
                following = gc_next[u]
                if inline and kind == K_TUPLE:
                    _maybe_untrack_tuple(node, gc_next, gc_prev, flags, type_id, kinds,
                                         gc_capable, pool, ref_start, ref_len)
            else:  # tentatively unreachable, with the members after it that are too
                node = _move_stretch(gc_next, gc_prev, flags, gc_refs, node, young,
                                     unreachable)
                following = gc_next[node]
                gc_next[node] = unreachable
            if following != node + step or following == young:
                break
            node += step
            step, alt = alt, step
        step, alt = alt, following - node
        node = following


@jit
def _maybe_untrack_dict(oid, gc_next, gc_prev, flags, type_id, kinds, gc_capable,
                        pool, ref_start, ref_len):
    """_PyDict_MaybeUntrack on a dict ``oid``."""
    if (flags[oid] & TRACKED) == 0:
        return
    start = np.int64(ref_start[oid])  # uint32 column: widen before arithmetic
    for i in range(start, start + ref_len[oid]):
        if _may_be_tracked(pool[i], type_id, flags, kinds, gc_capable):
            return
    _list_remove(gc_next, gc_prev, oid)
    flags[oid] &= UNTRACK_MASK


@jit
def _untrack_scan(gc_next, gc_prev, flags, type_id, kinds, gc_capable,
                  pool, ref_start, ref_len, head, kind):
    """_PyTuple_MaybeUntrack (``kind`` K_TUPLE) or _PyDict_MaybeUntrack (K_DICT) on every
    member of that kind, in list order."""
    step, alt = 1, 1
    node = gc_next[head]
    while node != head:
        while True:  # a run
            following = gc_next[at(node)]
            if kinds[at(type_id[at(node)])] == kind:
                if kind == K_TUPLE:
                    _maybe_untrack_tuple(node, gc_next, gc_prev, flags, type_id, kinds,
                                         gc_capable, pool, ref_start, ref_len)
                else:
                    _maybe_untrack_dict(node, gc_next, gc_prev, flags, type_id, kinds,
                                        gc_capable, pool, ref_start, ref_len)
            if following != node + step or following == head:
                break
            node += step
            step, alt = alt, step
        step, alt = alt, following - node
        node = following


@jit
def _clear_flag(gc_next, flags, head, keep):
    """``flags &= keep`` on every member of the list ``head``."""
    step, alt = 1, 1
    node = gc_next[head]
    while node != head:
        while True:  # a run
            flags[at(node)] &= keep
            following = gc_next[at(node)]
            if following != node + step or following == head:
                break
            node += step
            step, alt = alt, step
        step, alt = alt, following - node
        node = following


@jit
def _clear_collecting(gc_next, flags, head):
    _clear_flag(gc_next, flags, head, NOT_COLLECTING_UNREACHABLE)


# -- public wrappers (the oracles' names and signatures) -------------------------------------------


def update_refs(heap: TableLike, young: int) -> int:
    """Copy each member's refcount into ``gc_refs`` and mark it COLLECTING.

    Afterwards every member has ``gc_refs == refcount`` and the COLLECTING flag.
    Returns the number of members."""
    t = heap.table
    return int(_update_refs(t.gc_next, t.refcnt, t.gc_refs, t.flags, int(young)))


def subtract_refs(heap: TableLike, young: int) -> int:
    """Subtract the references members hold to each other.

    Afterwards ``gc_refs`` of a member is the number of references to it from outside the set.
    Returns the number of references (object ids) visited."""
    t = heap.table
    kinds, _ = type_arrays(heap.types)
    return int(_subtract_refs(t.gc_next, t.flags, t.gc_refs, t.type_id, kinds,
                              t.pool, t.ref_start, t.ref_len, int(young)))


def move_unreachable(heap: TableLike, young: int, unreachable: int,
                     untrack_tuples_inline: bool = False) -> None:
    """Move members nothing reachable refers to into ``unreachable`` (CPython's reordering).

    Afterwards ``young`` holds exactly the reachable members (COLLECTING cleared) in CPython's
    order and ``unreachable`` the rest (COLLECTING and UNREACHABLE set). With
    ``untrack_tuples_inline`` (2.7) a reachable tuple is untracked right after its scan."""
    t = heap.table
    kinds, gc_capable = type_arrays(heap.types)
    _move_unreachable(t.gc_next, t.gc_prev, t.flags, t.gc_refs, t.type_id, kinds, gc_capable,
                      t.pool, t.ref_start, t.ref_len, int(young), int(unreachable),
                      bool(untrack_tuples_inline))


@jit
def _deduce_unreachable(gc_next, gc_prev, flags, refcnt, gc_refs,
                        type_id, kinds, gc_capable, pool, ref_start, ref_len, young,
                        unreachable, inline):
    """The three steps of deduce_unreachable in one call: (objects, references) visited."""
    objects = _update_refs(gc_next, refcnt, gc_refs, flags, young)
    references = _subtract_refs(gc_next, flags, gc_refs, type_id, kinds, pool, ref_start,
                                ref_len, young)
    _move_unreachable(gc_next, gc_prev, flags, gc_refs, type_id, kinds, gc_capable, pool,
                      ref_start, ref_len, young, unreachable, inline)
    return objects, references


def deduce_unreachable(heap: TableLike, young: int, unreachable: int,
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
    _untrack_scan(t.gc_next, t.gc_prev, t.flags, t.type_id, kinds, gc_capable,
                  t.pool, t.ref_start, t.ref_len, int(head), K_TUPLE)


def untrack_dicts(heap: HeapCore, head: int) -> None:
    """Apply _PyDict_MaybeUntrack to every dict of the list, in list order.

    Afterwards no dict of the list whose keys and values may all not be tracked is tracked."""
    t = heap.table
    kinds, gc_capable = type_arrays(heap.types)
    _untrack_scan(t.gc_next, t.gc_prev, t.flags, t.type_id, kinds, gc_capable,
                  t.pool, t.ref_start, t.ref_len, int(head), K_DICT)


def clear_collecting(heap: TableLike, head: int) -> None:
    """Clear COLLECTING and UNREACHABLE on every member of the list."""
    t = heap.table
    _clear_collecting(t.gc_next, t.flags, int(head))


def unreachable_in(graph: GraphView, refcounts: object,
                   candidates: object) -> npt.NDArray[np.int64]:
    """CPython's ``deduce_unreachable`` on a graph that is not a heap (a captured one).

    Afterwards the returned ids are the candidates that no reference from outside the
    candidates reaches, in the order ``move_unreachable`` leaves them; the graph is unchanged
    (the oracle's post-conditions, :func:`gclab.algorithms.cycles.unreachable_in`).

    >>> g = GraphView.from_csr([0, 1, 2, 3], [1, 0, 0])   # 0 <-> 1, 2 -> 0
    >>> unreachable_in(g, [2, 1, 0], [0, 1, 2]).tolist()  # nothing holds 2: all garbage
    [0, 1, 2]
    """
    table = GraphTable(graph, refcounts, candidates, TypeRegistry(), SET)
    deduce_unreachable(table, table.young, table.unreachable)
    return table.members(table.unreachable)


__all__ = ["clear_collecting", "deduce_unreachable", "move_unreachable", "subtract_refs",
           "unreachable_in", "untrack_dicts", "untrack_tuples", "update_refs"]
