"""Every proxy operation ends at a safe point, whichever bracket it takes (issue #10).

The proxy entry points (``heap.dict()``, ``heap.list()``, ``d[k] = v``, ``Class()``,
``obj.attr = v``) take the lock and the operation's bracket themselves
(:func:`gclab.heap.guard.guarded_operation`); when nothing is pending the bracket is the
operation depth alone, and its end must still be the operation's safe point
(:func:`gclab.heap.guard.operation_done`): a collection scheduled during the operation (3.12's
eval-breaker trigger, ``docs/design/engine.md``) runs before the call returns, a proxy the
host freed meanwhile is released. The fast and general twins share this bracket, so the twin
tests of ``test_proxy_fast_paths.py`` cannot see it; these tests check the contract itself.
"""

from __future__ import annotations

import gc as host_gc
from collections.abc import Callable
from typing import Any

import pytest

import gclab
from gclab.heap.flags import ALIVE


def _heap_and_objects() -> tuple[gclab.Heap, dict[str, Any]]:
    heap = gclab.Heap(profile="3.12")  # trigger "safepoint": a collection waits for one

    @heap.cls
    class Node:
        pass

    first = Node()
    first.next = None  # the attribute's name is known: the next store is the quick kind
    return heap, {"Node": Node, "node": first, "d": heap.dict(), "value": heap.list()}


OPERATIONS: dict[str, Callable[[gclab.Heap, dict[str, Any]], object]] = {
    "heap.dict()": lambda heap, o: heap.dict(),
    "heap.list()": lambda heap, o: heap.list(),
    "d[k] = v": lambda heap, o: o["d"].__setitem__("k", o["value"]),
    "Class()": lambda heap, o: o["Node"](),
    "obj.attr = v": lambda heap, o: setattr(o["node"], "next", o["value"]),
}


@pytest.mark.parametrize("name", OPERATIONS)
def test_a_collection_scheduled_before_the_operation_ends_runs_before_it_returns(
        name: str) -> None:
    heap, objects = _heap_and_objects()
    before = heap.gc.get_stats()[0]["collections"]
    heap.gc.set_threshold(1)  # count[0] is past it: as before_gc_alloc leaves the collector
    heap.observer.state.scheduled = True
    result = OPERATIONS[name](heap, objects)
    assert not heap.observer.state.scheduled
    assert heap.gc.get_stats()[0]["collections"] == before + 1
    del result


@pytest.mark.parametrize("name", ["heap.dict()", "heap.list()", "Class()"])
def test_the_allocation_that_passes_the_threshold_collects_at_its_own_end(name: str) -> None:
    heap, objects = _heap_and_objects()
    heap.gc.set_threshold(5)
    count = heap.gc.get_count()[0]
    kept = [OPERATIONS[name](heap, objects) for _ in range(5 - count)]  # count reaches 5
    assert heap.gc.get_stats()[0]["collections"] == 0
    kept.append(OPERATIONS[name](heap, objects))  # 6 > 5: scheduled, run at the safe point
    assert heap.gc.get_stats()[0]["collections"] == 1
    assert heap.gc.get_count()[0] == 0


def test_a_proxy_the_host_freed_is_released_by_the_next_operation() -> None:
    heap, objects = _heap_and_objects()
    cycle = heap.list()
    host_cycle: list[object] = [cycle]
    host_cycle.append(host_cycle)  # the proxy now dies only with a host collection
    oid = cycle._id
    del cycle, host_cycle
    host_gc.collect()  # the proxy is freed outside any operation: its release is deferred
    assert heap.table.flags[oid] & ALIVE  # the heap object waits for the release
    objects["d"]["k"] = objects["value"]  # the next operation releases it first
    assert not heap.table.flags[oid] & ALIVE  # the deferred release dropped the last ref
