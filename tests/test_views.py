"""The table's memoryviews (``ObjectTable.mv_*``) follow its arrays when they are replaced.

The one-object paths (the low-level API, the proxies) read and write the columns and the pool
through memoryviews; a view left on a replaced array would read stale values and write where
nobody looks. These tests grow the rows and the pool, and compact the pool, in the middle of a
program, and compare what the API reports with the numpy columns and the invariants.
"""

from __future__ import annotations

import gclab
from gclab.heap.invariants import check_invariants
from gclab.heap.table import ObjectTable


def _views_current(table: ObjectTable) -> None:
    for name in ObjectTable.VIEWED:
        view = getattr(table, "mv_" + name)
        assert view.obj is getattr(table, name), name


def test_views_follow_row_and_pool_growth_mid_program() -> None:
    """A program that outgrows a tiny table many times: counts and slots read back through
    the API agree with the numpy columns at every step."""
    heap = gclab.Heap(capacity=17)
    t = heap.table
    first_pool = t.pool
    key = heap.atom("k")
    held: list[int] = []
    for step in range(300):
        a, b = heap.alloc("dict"), heap.alloc("list", 16)
        heap.dict_set(a, key, b)
        heap.append_slot(b, a)
        if held:
            heap.append_slot(b, held[-1])
        held += [a, b]
        if step % 3 == 0:
            heap.decref(held.pop(0))
        _views_current(t)
        assert heap.refcount(b) == int(t.refcnt[b])
        assert heap.dict_get(a, key) == b
    assert t.capacity > 17 and t.pool is not first_pool
    for oid in held:
        assert heap.refcount(oid) == int(t.refcnt[oid])
        assert heap.slots(oid) == t.slots(oid).tolist()
    check_invariants(heap)
    for oid in held:
        heap.decref(oid)
    heap.gc.collect()
    check_invariants(heap)


def test_views_follow_pool_compaction() -> None:
    """Freeing most slices and then growing the pool compacts it (a new array): the views
    move with it and the survivors' slots read back unchanged."""
    heap = gclab.Heap()
    t = heap.table
    keep = [heap.alloc("list") for _ in range(8)]
    for oid in keep:
        heap.append_slot(oid, heap.atom(oid))
    junk = [heap.alloc("list", 64) for _ in range(200)]
    for oid in junk:
        heap.decref(oid)
    before = t.pool
    big = heap.alloc("list", 3 * len(t.pool))  # more than is left: compacts, then grows
    assert t.pool is not before
    _views_current(t)
    for oid in keep:
        assert heap.slots(oid) == [heap.atom(oid)]
        heap.append_slot(oid, big)
    assert heap.refcount(big) == 1 + len(keep) == int(t.refcnt[big])
    check_invariants(heap)


def test_views_follow_growth_through_proxies() -> None:
    """The proxy paths write through the same views: a heap that grows under proxies keeps
    its counts."""
    heap = gclab.Heap(capacity=17)

    @heap.cls
    class Node:
        pass

    prev = None
    pairs = []
    for _ in range(200):
        a, b = heap.dict(), heap.dict()
        a["b"] = b
        b["a"] = a
        pairs.append(a)
        node = Node()
        node.next = prev
        prev = node
    _views_current(heap.table)
    assert pairs[-1]["b"]["a"] is pairs[-1]
    assert heap.getrefcount(prev) == 2
    check_invariants(heap)
    del pairs, a, b, node, prev
    assert heap.gc.collect() == 400
    check_invariants(heap)
