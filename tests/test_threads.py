"""Threads that share a heap take turns (``gclab.heap.guard``): no corruption, no hang.

``repro_threads.py`` used to corrupt a heap ("free_ids lists an id twice") or hang in
``finalize_garbage`` with two threads building cycles and collecting.
"""

from __future__ import annotations

import sys
import threading
import time

import gclab
from gclab.heap.invariants import check_invariants


def test_two_threads_building_cycles_and_collecting() -> None:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: races show up at once
    heap = gclab.Heap()
    errors: list[str] = []
    finalized: list[int] = []

    @heap.cls
    class Node:
        def __del__(self) -> None:
            finalized.append(1)

    def work() -> None:
        try:
            for i in range(1500):
                a = heap.list()
                b = heap.dict(x=a)
                a.append(b)
                n = Node()
                n.peer = a
                n.me = n
                del a, b, n
                if i % 300 == 0:
                    heap.gc.collect()
        except BaseException as exc:  # any failure in a thread fails the test
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=work) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
    finally:
        sys.setswitchinterval(interval)
    assert not any(t.is_alive() for t in threads), "a thread hangs"
    assert errors == []
    heap.gc.collect()
    check_invariants(heap, strict=True)
    assert heap.table.live == 2 and len(finalized) == 3000


def test_a_second_thread_waits_while_the_first_is_inside_the_heap() -> None:
    """Thread A is inside a deallocation (its __del__ waits for the test); thread B's
    allocation waits until A's operation is over, then goes ahead."""
    heap = gclab.Heap()
    inside, proceed, b_done = threading.Event(), threading.Event(), threading.Event()
    order: list[str] = []

    @heap.cls
    class Slow:
        def __del__(self) -> None:
            inside.set()
            proceed.wait(timeout=30)
            order.append("A's __del__ returns")

    slow = Slow()

    def a() -> None:
        nonlocal slow
        del slow

    def b() -> None:
        heap.list()
        order.append("B allocated")
        b_done.set()

    thread_a = threading.Thread(target=a)
    thread_a.start()
    assert inside.wait(timeout=30)
    thread_b = threading.Thread(target=b)
    thread_b.start()
    time.sleep(0.3)
    assert not b_done.is_set()  # B is held at the heap's lock
    proceed.set()
    thread_a.join(timeout=30)
    thread_b.join(timeout=30)
    assert order == ["A's __del__ returns", "B allocated"]
    check_invariants(heap, strict=True)


def test_user_code_may_use_the_heap_from_its_own_thread() -> None:
    """The lock is re-entrant: a __del__ run inside an operation allocates and collects."""
    heap = gclab.Heap()
    made: list[object] = []

    @heap.cls
    class Busy:
        def __del__(self) -> None:
            a = heap.list()
            b = heap.list([a])
            a.append(b)
            del a, b  # a two-list cycle
            made.append(heap.gc.collect())

    b = Busy()
    del b
    assert made == [2]
    check_invariants(heap, strict=True)
