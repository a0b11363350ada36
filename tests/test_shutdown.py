"""After ``heap.shutdown()`` the heap refuses every operation with a clear error; proxies that
die afterwards release nothing and print nothing."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

import gclab


def test_every_entry_point_refuses_after_shutdown() -> None:
    heap = gclab.Heap()

    @heap.cls
    class A:
        pass

    lst, a, oid = heap.list([1]), A(), heap.alloc("list", 1)
    with heap.frame() as frame:
        pass
    heap.shutdown()
    calls: list[Callable[[], Any]] = [
        heap.list, lambda: heap.dict(a=1), lambda: heap.tuple([1]), lambda: heap.set(),
        A, lambda: heap.weakref(a), heap.frame, lambda: lst.append(2), lambda: lst[0],
        lambda: len(lst), lambda: heap.alloc("list"), lambda: heap.set_slot(oid, 0, oid),
        lambda: heap.decref(oid), heap.gc.collect, heap.gc.get_count, heap.gc.get_objects,
        lambda: setattr(a, "x", 1), heap.shutdown, lambda: heap.proxy(oid),
        lambda: heap.alloc_many("list", 3), lambda: heap.cls(type("B", (), {})),
        lambda: frame.__enter__()]
    for call in calls:
        with pytest.raises(gclab.ShutdownError, match="shut down"):
            call()


def test_proxies_dying_after_shutdown_are_silent() -> None:
    heap = gclab.Heap()
    keep = [heap.list() for _ in range(10)]
    keep[0].append(keep[1])
    heap.shutdown()
    seen: list[object] = []
    old, sys.unraisablehook = sys.unraisablehook, seen.append
    try:
        keep.clear()
    finally:
        sys.unraisablehook = old
    assert seen == []
