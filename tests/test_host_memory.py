"""A dropped heap is freed at once, arrays and all (``repro_heap_cycle.py``,
``repro_heap_leak.py``): nothing the heap owns refers back to it strongly, so reference
counting frees it without the host's cyclic collector."""

from __future__ import annotations

import gc as hostgc
import weakref

import pytest

import gclab


def build(profile: str) -> weakref.ref[gclab.Heap]:
    heap = gclab.Heap(profile)
    gc = heap.gc

    @heap.cls
    class A:
        def __del__(self) -> None:
            pass

    keep = heap.list()
    for _ in range(200):
        a = A()
        a.me = a
        keep.append(heap.dict(x=a))
    heap.weakref(A(), lambda ref: None)
    gc.collect()
    frame = heap.frame()
    frame.x = keep
    with frame:
        pass
    if profile != "2.7":
        heap.gc.callbacks.append(lambda phase, info: None)
    return weakref.ref(heap)


@pytest.mark.parametrize("profile", ["2.7", "3.10", "3.12", "3.13"])
def test_a_dropped_heap_is_freed_without_the_host_collector(profile: str) -> None:
    enabled = hostgc.isenabled()
    hostgc.disable()
    try:
        ref = build(profile)
        assert ref() is None
    finally:
        if enabled:
            hostgc.enable()


def test_a_class_outliving_its_heap_says_so() -> None:
    heap = gclab.Heap()

    @heap.cls
    class A:
        pass

    a = A()
    del heap
    assert type(A()).__name__ == "A"  # an instance's proxy keeps the heap alive
    del a
    with pytest.raises(gclab.HeapError, match=r"heap of managed class \S*A no longer exists"):
        A()
