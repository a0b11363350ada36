"""Deferred reference counting (issue #8 part 4): a heap whose collector does not use
reference counts keeps every count exact but frees nothing at zero; ``free_unreachable`` is
the sweep primitive.

Every expected value comes from the program itself (what it allocated and dropped) or from the
heap-level invariant "refcount = slot references + external references", which
``check_invariants`` recomputes from the slots independently of the counts.
"""

from __future__ import annotations

import numpy as np
import pytest

import gclab
from gclab.errors import InvalidObjectError, SweepError, UseAfterFreeError
from gclab.heap.core import HeapCore
from gclab.heap.invariants import check_invariants
from gclab.heap.mutation import EventLog

PROFILES = ("2.7", "3.10", "3.11", "3.12", "3.13")


pytestmark = pytest.mark.usefixtures("host_collector_off")


def deferred_heap(profile: str = "3.12") -> gclab.Heap:
    """A heap under a deferred collector that never collects on its own."""
    heap = gclab.Heap(profile, collector="marksweep")
    heap.gc.disable()
    return heap


def test_the_mode_follows_the_capabilities() -> None:
    assert deferred_heap().defers_frees
    assert not gclab.Heap(collector="refcount").defers_frees
    assert not gclab.Heap(collector="cpython").defers_frees
    assert not HeapCore().defers_frees  # a bare heap's collector declares nothing


@pytest.mark.parametrize("profile", PROFILES)
def test_a_dropped_acyclic_list_stays_alive_until_a_collection(profile: str) -> None:
    heap = deferred_heap(profile)
    inner = heap.alloc("list")
    outer = heap.alloc("list")
    heap.append_slot(outer, inner)
    heap.decref(inner)
    heap.decref(outer)  # under reference counting both would be gone now
    check_invariants(heap)
    assert heap.is_alive(outer) and heap.is_alive(inner)
    assert (heap.refcount(outer), heap.refcount(inner)) == (0, 1)
    assert heap.gc.collect() == 2
    assert not heap.is_alive(outer) and not heap.is_alive(inner)
    check_invariants(heap)


def test_every_path_that_frees_at_zero_defers() -> None:
    """decref, decref_many, an overwritten slot, a deleted slot, a frame's return and a dying
    proxy each take a count to zero; nothing is freed and the counts stay exact."""
    heap = deferred_heap()
    holder = heap.alloc("list")
    ids = [heap.alloc("list") for _ in range(6)]
    heap.decref_many(ids[:2])                          # decref_many
    heap.append_slot(holder, ids[2])
    heap.decref(ids[2])
    heap.set_slot(holder, 0, ids[3])                    # the store releases ids[2]
    heap.decref(ids[3])
    heap.delete_slot(holder, 0)                         # releases ids[3]
    frame = heap.new_frame()
    heap.frame_store(frame, "x", ids[4])
    heap.decref(ids[4])
    heap.frame_return(frame)                            # releases ids[4]
    proxy = heap.proxy(ids[5])
    heap.decref(ids[5])
    del proxy                                           # the proxy's reference goes
    check_invariants(heap)
    assert all(heap.is_alive(oid) and heap.refcount(oid) == 0 for oid in ids)


def test_static_references_are_never_dropped() -> None:
    heap = deferred_heap()
    with pytest.raises(gclab.errors.RefcountUnderflowError):
        heap.decref(heap.empty_tuple)
    heap.gc.collect()
    assert heap.is_alive(heap.empty_tuple) and heap.is_alive(heap._globals_id)


def test_a_long_chain_is_not_freed_by_the_compiled_cascade() -> None:
    """Dropping the head of a 10 000-long chain frees nothing (the compiled cascade would
    free it all under reference counting)."""
    heap = deferred_heap()
    ids = heap.alloc_many("list", 10_000, size=1)
    heap.set_slots(ids[:-1], np.zeros(len(ids) - 1, np.int64), ids[1:])
    heap.decref_many(ids)
    assert heap.table.live >= 10_000
    assert heap.refcount(int(ids[0])) == 0
    assert all(heap.refcount(int(oid)) == 1 for oid in ids[1:])
    check_invariants(heap)
    assert heap.gc.collect() == 10_000


def chain(heap: gclab.Heap, length: int) -> tuple[list[int], int]:
    """``length`` lists, each holding the next, the last one holding ``outside`` (which the
    caller keeps); every list's own external reference dropped."""
    outside = heap.alloc("list")
    ids = [heap.alloc("list") for _ in range(length)]
    for oid, nxt in zip(ids, [*ids[1:], outside], strict=True):
        heap.append_slot(oid, nxt)
    heap.decref_many(ids)
    return ids, outside


def test_free_unreachable_frees_a_chain_in_the_order_given() -> None:
    heap = deferred_heap()
    ids, outside = chain(heap, 4)
    before = heap.refcount(outside)
    log = EventLog()
    heap.add_listener(log)
    order = ids[::-1]
    assert heap.free_unreachable(order) == 4
    assert log.events == [("free", oid) for oid in order]  # no other event: slots end with rows
    assert not any(heap.is_alive(oid) for oid in ids)
    assert heap.refcount(outside) == before - 1  # the last list's reference is gone
    heap.remove_listener(log)
    check_invariants(heap)


def test_free_unreachable_does_not_cascade() -> None:
    """The outside object reaches zero and stays (deferred)."""
    heap = deferred_heap()
    ids, outside = chain(heap, 2)
    heap.decref(outside)
    heap.free_unreachable(ids)
    assert heap.is_alive(outside) and heap.refcount(outside) == 0
    check_invariants(heap)


def test_free_unreachable_of_a_cycle_and_its_weakrefs() -> None:
    """A weakref still pointing at a swept object is detached (no callback: the collector
    runs them first)."""
    heap = deferred_heap()
    calls: list[object] = []

    @heap.cls
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    ref = heap.weakref(a, calls.append)
    ids = [heap.id_of(a), heap.id_of(b)]
    del a, b
    heap.free_unreachable(ids)
    assert ref() is None and calls == []
    check_invariants(heap)


def snapshot(heap: gclab.Heap) -> tuple[int, list[int], list[int]]:
    t = heap.table
    return t.live, t.refcnt[: t.top].tolist(), t.flags[: t.top].tolist()


@pytest.mark.parametrize(("bad", "error"), [
    ("twice", SweepError), ("held", SweepError), ("freed", UseAfterFreeError),
    ("head", InvalidObjectError), ("float", TypeError), ("2-D", ValueError)])
def test_free_unreachable_rejects_bad_ids_and_changes_nothing(bad: str,
                                                              error: type[Exception]) -> None:
    heap = deferred_heap()
    ids, outside = chain(heap, 3)
    gone = heap.alloc("list")
    heap.decref(gone)
    heap.free_unreachable([gone])
    given: object = {"twice": [ids[0], ids[1], ids[0]], "held": [ids[0], outside],
                     "freed": [ids[0], gone], "head": [ids[0], 0],
                     "float": np.array([1.5]), "2-D": [[ids[0]]]}[bad]
    before = snapshot(heap)
    with pytest.raises(error):
        heap.free_unreachable(given)
    assert snapshot(heap) == before
    check_invariants(heap)


def test_free_unreachable_of_nothing() -> None:
    heap = deferred_heap()
    assert heap.free_unreachable([]) == 0
