"""The invariant checker catches each corruption a bug could leave (``GCLAB_DEBUG=2`` runs it
after every operation). Each test builds a consistent heap, writes to the table the way a
bug would, and asserts that :func:`check_invariants` names the object and what is wrong.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import gclab
from gclab.errors import InvariantViolation
from gclab.heap.core import HeapCore
from gclab.heap.invariants import at_rest, check_invariants, is_quiescent
from gclab.heap.table import NULL
from gclab.heap.types import LIST


def violation(heap: HeapCore) -> str:
    """The checker's message (it must find something)."""
    with pytest.raises(InvariantViolation) as info:
        check_invariants(heap)
    return str(info.value)


@pytest.fixture
def heap() -> gclab.Heap:
    h = gclab.Heap("3.12")
    h.debug_level = 0  # the tests call the checker themselves
    h.gc.disable()
    check_invariants(h)
    return h


# -- leftovers at rest ----------------------------------------------------------------------------


def test_live_object_with_refcount_zero(heap: gclab.Heap) -> None:
    a = heap.alloc("list")
    heap.table.refcnt[a] = 0  # a reference dropped without deallocating
    heap.table.extern[a] = 0
    assert re.search(rf"<list {a}> is alive with refcount 0 at rest", violation(heap))


def test_stuck_trashcan_nesting(heap: gclab.Heap) -> None:
    """A nesting left above 0 (a cascade interrupted) is a violation at rest, not a sign that
    a deallocation is running (the checker used to go loose and miss everything)."""
    heap.trash_nesting = 2
    assert is_quiescent(heap) and at_rest(heap)
    assert "trashcan nesting is 2 at rest" in violation(heap)


def test_stuck_nesting_does_not_hide_a_bad_count(heap: gclab.Heap) -> None:
    a = heap.alloc("list")
    heap.trash_nesting = 1
    heap.table.refcnt[a] += 1
    assert f"<list {a}>: refcount 2" in violation(heap)


def test_object_left_in_delete_later(heap: gclab.Heap) -> None:
    a = heap.alloc("list")
    heap.table.refcnt[a] = 0
    heap.table.extern[a] = 0
    heap.untrack(a)
    heap.trash_delete_later.append(a)
    assert f"left in the trashcan's delete_later at rest: <list {a}>" in violation(heap)


def test_deferred_release_left_behind(heap: gclab.Heap) -> None:
    """A release the host's collector deferred waits legitimately for the next operation, but
    only while the reference it gives back exists."""
    a = heap.alloc("list")
    heap._deferred_releases.append(a)
    check_invariants(heap, strict=True)  # a's external reference is there to give back
    heap._deferred_releases.append(a)
    assert "has no external reference left to give back" in violation(heap)


def test_an_operation_in_progress_is_not_at_rest(heap: gclab.Heap) -> None:
    """Inside an operation or a deallocation the same state is legitimate."""
    a = heap.alloc("list")
    with heap.operation():
        heap.trash_nesting = 1
        heap.table.refcnt[a] = 0
        heap.table.extern[a] = 0
        assert not at_rest(heap)
        check_invariants(heap)
        heap._dealloc_depth += 1
        assert not is_quiescent(heap)
        check_invariants(heap)
        heap._dealloc_depth -= 1
        heap.trash_nesting = 0
        heap.table.refcnt[a] = heap.table.extern[a] = 1


def test_profile_27_leaves_instance_chains_waiting_legitimately() -> None:
    """2.7's instances never drain the trashcan themselves (CPython 2.7 does the same): what
    a chain of instances deferred waits, refcount 0 and untracked, for the next drain."""
    heap = gclab.Heap("2.7")

    @heap.cls
    class Node:
        __slots__ = ("next",)

    head: Any = Node()
    node = head
    for _ in range(120):
        node.next = Node()
        node = node.next
    del node
    del head
    assert len(heap.trash_delete_later) > 0 and at_rest(heap)
    check_invariants(heap)
    waiting = heap.trash_delete_later.tolist()[0]
    heap.track(waiting)  # but a waiting object must not be tracked
    assert f"{heap.describe(waiting)} waits in delete_later" in violation(heap)
    heap.untrack(waiting)
    lst = heap.list()
    del lst  # a list's deallocation drains the trashcan
    assert not heap.trash_delete_later
    check_invariants(heap)


# -- layouts --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dict", "frame", "module"])
def test_odd_slot_count_in_a_paired_layout(heap: gclab.Heap, kind: str) -> None:
    oid = heap.id_of(heap.globals) if kind == "module" else heap.alloc(kind)
    heap.dict_set(oid, heap.atom("k"), heap.atom(1))
    heap.table.insert(oid, 2, heap.atom("half"))  # a key without a value
    assert f"<{kind} {oid}> has 3 slots: a {kind}'s slots are key/value pairs" in \
        violation(heap)


def test_tuple_grown_past_its_size(heap: gclab.Heap) -> None:
    t = heap.alloc("tuple", 2)
    heap.table.insert(t, 2, NULL)  # what an append to a tuple would do
    assert f"<tuple {t}> has 3 items but was allocated with" in violation(heap)


def test_tuple_shrunk(heap: gclab.Heap) -> None:
    t = heap.alloc("tuple", 2)
    heap.table.remove(t, 0)
    assert f"<tuple {t}> has 1 items but was allocated with 2" in violation(heap)


@pytest.mark.parametrize("profile", ["3.10", "3.12"])
def test_instance_slots_past_its_layout(profile: str) -> None:
    heap = gclab.Heap(profile)

    class Point:
        __slots__ = ("x", "y")

    class Plain:
        pass

    point = heap.cls(Point)()
    p = heap.id_of(point)
    q = heap.cls(Plain)()
    q.a = 1
    check_invariants(heap)
    heap.table.insert(p, 2, NULL)
    assert f"<Point {p}> has 3 slots; its layout has 2" in violation(heap)
    heap.table.remove(p, 2)
    qid = heap.id_of(q)
    heap.table.insert(qid, int(heap.table.ref_len[qid]), NULL)
    assert re.search(rf"<Plain {qid}> has \d slots; its layout has", violation(heap))


@pytest.mark.parametrize(("kind", "what"), [("dict", "key"), ("frame", "name"),
                                            ("set", "element")])
def test_duplicate_keys_names_and_elements(heap: gclab.Heap, kind: str, what: str) -> None:
    oid = heap.alloc(kind)
    if kind == "set":
        for value in ("a", "b"):
            heap.append_slot(oid, heap.atom(value))
        heap.table.put(oid, 1, heap.atom("a"))
    else:
        for key in ("a", "b"):
            heap.dict_set(oid, heap.atom(key), heap.atom(1))
        heap.table.put(oid, 2, heap.atom("a"))
    assert f"<{kind} {oid}> holds the {what} 'a' twice" in violation(heap)


def test_names_are_str(heap: gclab.Heap) -> None:
    frame = heap.alloc("frame")
    heap.dict_set(frame, heap.atom("x"), heap.atom(1))
    heap.table.put(frame, 0, heap.atom(5))
    assert f"<frame {frame}> has the name 5: names are str atoms" in violation(heap)


# -- static references ----------------------------------------------------------------------------


def test_empty_tuple_tracked(heap: gclab.Heap) -> None:
    heap.track(heap.empty_tuple)
    assert f"the empty tuple <tuple {heap.empty_tuple}> is tracked" in violation(heap)


def test_empty_tuple_replaced(heap: gclab.Heap) -> None:
    """The repro's outcome: the id of the empty tuple now names a list."""
    heap.table.type_id[heap.empty_tuple] = LIST
    assert f"the empty tuple is <list {heap.empty_tuple}>" in violation(heap)


def test_static_reference_dropped(heap: gclab.Heap) -> None:
    g = heap.id_of(heap.globals)
    heap.table.extern[g] -= 1  # the static reference dropped; the object kept alive by a slot
    heap.table.refcnt[g] -= 1
    keeper = heap.alloc("list")
    heap.table.insert(keeper, 0, g)
    heap.table.refcnt[g] += 1
    assert f"<module {g}>: 1 static reference(s) but only 0 external" in violation(heap)


def test_empty_tuple_lost_its_static_reference(heap: gclab.Heap) -> None:
    heap.incref(heap.empty_tuple)
    del heap.static_refs[heap.empty_tuple]
    assert "has lost its static reference" in violation(heap)


def test_static_object_freed() -> None:
    heap = HeapCore()
    x = heap.alloc("list")
    heap.add_static_ref(x)
    heap.table.extern[x] -= 2
    heap.table.refcnt[x] -= 2
    heap.untrack(x)
    heap.table.flags[x] = 0  # freed by a bug (its row poisoned, its id handed back)
    heap.table.free_ids.append(x)
    heap.table.live -= 1
    assert f"object {x}, held by a static reference, was freed" in violation(heap)
