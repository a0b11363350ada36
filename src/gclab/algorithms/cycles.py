"""Reachability: which members of a generation are referenced from outside it (spec §3.2).

The input is a list head whose members are the objects being collected. ``deduce_unreachable``
splits them into survivors (left in the list, possibly reordered) and the tentatively
unreachable (moved to another list), exactly as CPython's ``deduce_unreachable`` does.

The unreachable-set phases read a *table-like* (:class:`gclab.graphview.TableLike`): a heap, or
a :class:`~gclab.graphview.GraphTable` over a graph that is not one (:func:`unreachable_in`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
import numpy.typing as npt

from ..graphview import GraphTable, GraphView, TableLike
from ..heap.flags import COLLECTING, NOT_COLLECTING, NOT_UNREACHABLE, UNREACHABLE
from ..heap.types import SET, Kind, TypeRegistry

if TYPE_CHECKING:
    from ..heap.core import HeapCore



def update_refs(heap: TableLike, young: int) -> int:
    """Copy each member's refcount into ``gc_refs`` and mark it COLLECTING.

    Afterwards every member has ``gc_refs == refcount`` and the COLLECTING flag.
    Returns the number of members.
    """
    t = heap.table
    members = t.list_members(young)
    for oid in members:
        t.gc_refs[oid] = t.refcnt[oid]
        t.flags[oid] |= COLLECTING
    return len(members)


def subtract_refs(heap: TableLike, young: int) -> int:
    """Subtract the references members hold to each other.

    Afterwards ``gc_refs`` of a member is the number of references to it from outside the set
    (other generations, untracked containers, roots and proxies). Returns references visited.
    """
    t = heap.table
    visited = 0
    for oid in t.list_members(young):
        for ref in heap.referents(oid):
            visited += 1
            if t.flags[ref] & COLLECTING:
                t.gc_refs[ref] -= 1
    return visited


def move_unreachable(heap: TableLike, young: int, unreachable: int,
                     untrack_tuples_inline: bool = False) -> None:
    """Move members with ``gc_refs == 0`` that nothing reachable refers to into ``unreachable``.

    Scans ``young`` from its head while it grows. A member with ``gc_refs > 0`` is reachable:
    its referents that were tentatively moved to ``unreachable`` come back to the tail of
    ``young`` (to be scanned again), referents still ahead get ``gc_refs = 1``. Afterwards
    ``young`` holds exactly the reachable members (COLLECTING cleared, in CPython's reordered
    sequence) and ``unreachable`` the rest (COLLECTING and UNREACHABLE set).
    With ``untrack_tuples_inline`` (2.7) a reachable tuple is untracked right after its scan
    (``heap`` must then be a heap).
    """
    t = heap.table
    node = int(t.gc_next[young])
    while node != young:
        if t.gc_refs[node] > 0:
            for ref in heap.referents(node):
                visit_reachable(heap, ref, young)
            t.flags[node] &= NOT_COLLECTING
            following = int(t.gc_next[node])
            if untrack_tuples_inline and cast("HeapCore", heap).type_of(node).kind is Kind.TUPLE:
                maybe_untrack_tuple(cast("HeapCore", heap), node)
            node = following
        else:
            following = int(t.gc_next[node])
            t.list_move(node, unreachable)
            t.flags[node] |= UNREACHABLE
            node = following


def visit_reachable(heap: TableLike, ref: int, young: int) -> None:
    """A referent of a reachable object is reachable too (visit_reachable in gcmodule.c)."""
    t = heap.table
    flags = t.flags[ref]
    if not flags & COLLECTING:
        return
    if flags & UNREACHABLE:
        t.list_move(ref, young)
        t.flags[ref] &= NOT_UNREACHABLE
        t.gc_refs[ref] = 1
    elif t.gc_refs[ref] == 0:
        t.gc_refs[ref] = 1


def deduce_unreachable(heap: TableLike, young: int, unreachable: int,
                       untrack_tuples_inline: bool = False) -> tuple[int, int]:
    """update_refs, subtract_refs, move_unreachable. Returns (objects, references) visited."""
    objects = update_refs(heap, young)
    references = subtract_refs(heap, young)
    move_unreachable(heap, young, unreachable, untrack_tuples_inline)
    return objects, references


def maybe_untrack_tuple(heap: HeapCore, oid: int) -> None:
    """_PyTuple_MaybeUntrack: untrack a tuple whose items are all present and none may be
    tracked."""
    if not heap.is_tracked(oid):
        return
    for item in heap.table.slot_list(oid):
        if item == -1 or heap.may_be_tracked(item):
            return
    heap.untrack(oid)


def untrack_tuples(heap: HeapCore, head: int) -> None:
    """Apply _PyTuple_MaybeUntrack to every tuple of the list, in list order."""
    for oid in heap.table.list_members(head):
        if heap.type_of(oid).kind is Kind.TUPLE:
            maybe_untrack_tuple(heap, oid)


def untrack_dicts(heap: HeapCore, head: int) -> None:
    """Apply _PyDict_MaybeUntrack to every dict of the list: a dict none of whose keys and
    values may be tracked is untracked (full collections only, issue #14775)."""
    for oid in heap.table.list_members(head):
        if heap.type_of(oid).kind is Kind.DICT and heap.is_tracked(oid):
            if not any(heap.may_be_tracked(c) for c in heap.table.slot_list(oid)):
                heap.untrack(oid)


def clear_collecting(heap: TableLike, head: int) -> None:
    """Clear COLLECTING and UNREACHABLE on every member of the list."""
    t = heap.table
    for oid in t.list_members(head):
        t.flags[oid] &= ~(COLLECTING | UNREACHABLE) & 0xFF


def unreachable_in(graph: GraphView, refcounts: object,
                   candidates: object) -> npt.NDArray[np.int64]:
    """CPython's ``deduce_unreachable`` on a graph that is not a heap (a captured one).

    ``refcounts``: per node, every reference to it (from the graph's slots and from outside);
    ``candidates``: distinct live nodes, in list order (the generation being collected).
    Afterwards the returned ids are the candidates that no reference from outside the
    candidates reaches (through candidates), in the order ``move_unreachable`` leaves them in
    the unreachable list; the graph is unchanged (the phases write a
    :class:`~gclab.graphview.GraphTable`'s own columns).

    >>> g = GraphView.from_edges(4, [0, 1, 2], [1, 0, 3])   # 0 <-> 1, 2 -> 3
    >>> unreachable_in(g, [1, 1, 1, 1], [0, 1, 2, 3]).tolist()  # 2 is held from outside
    [0, 1]
    """
    table = GraphTable(graph, refcounts, candidates, TypeRegistry(), SET)
    deduce_unreachable(table, table.young, table.unreachable)
    return table.members(table.unreachable)
