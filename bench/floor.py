"""The floor under any Python-level heap API: the tutorial program's bare heap writes.

``bench/program.py`` runs the tutorial program (``n`` two-dict cycles, ``n`` linked
instances) through gclab's one-object API. This module runs the same program against the
least a Python-level implementation of a flat object table must do for it, and nothing more:
a row per object (type, flags, refcount, external count), a doubly linked generation list for
tracked objects, a reference pool with one slice per object, a free-id stack, the allocation
count. It checks only that the two objects of a dict store are alive; it takes no lock, keeps
no statistics, tells no observer, never collects (the count is kept, the collection that
would run at the threshold is not), frees a dead chain with an explicit stack and reads no
user class. It is a yardstick, not a heap: wrong ids corrupt it.

Two column representations: ``memoryview`` (memoryviews of numpy arrays, the form gclab's
table keeps for compiled kernels) and ``list`` (Python lists, the fastest item access plain
Python has). Whatever a real API adds (argument checks, errors that leave the heap unchanged,
the lock, signal safety, observers, collections) comes on top of these times.

    .venv/bin/python bench/program.py --variants cpython,floor,floor-lists,floor-proxies
    .venv/bin/python bench/floor.py     # one allocation's writes: Python or a numba call
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import numpy as np

ALIVE, TRACKED = 1, 2
NULL = -1
THRESHOLD = 700
DICT, INSTANCE, ATOM = 1, 2, 3
HEAD = 0  # row 0: the generation list's head


class FloorHeap:
    """The bare table (module docstring) for up to ``rows`` objects and ``slots`` slots."""

    def __init__(self, rows: int, slots: int, columns: str = "memoryview") -> None:
        def column(dtype: Any, fill: int, size: int = rows) -> Any:
            if columns == "list":
                return [fill] * size
            return memoryview(np.full(size, fill, dtype))

        self.type_id, self.flags = column(np.int32, 0), column(np.uint8, 0)
        self.refcnt, self.extern = column(np.int32, 0), column(np.int32, 0)
        self.gc_next, self.gc_prev = column(np.int32, HEAD), column(np.int32, HEAD)
        self.ref_start, self.ref_len = column(np.int32, 0), column(np.int32, 0)
        self.ref_cap = column(np.int32, 0)
        self.pool = column(np.int32, NULL, slots)
        self.free: list[int] = []
        self.top, self.pool_top, self.count0 = 1, 0, 0

    def alloc(self, tid: int) -> int:
        """A new row, refcount 1 (the caller's), counted; the collection is left out."""
        oid = self.free.pop() if self.free else self.top
        if oid == self.top:
            self.top = oid + 1
        self.type_id[oid], self.flags[oid] = tid, ALIVE
        self.refcnt[oid] = self.extern[oid] = 1
        self.count0 += 1
        if self.count0 > THRESHOLD:
            self.count0 = 0  # a young collection would run here
        return oid

    def track(self, oid: int) -> None:
        """``oid`` to the tail of the generation list."""
        last = self.gc_prev[HEAD]
        self.gc_next[last], self.gc_prev[oid] = oid, last
        self.gc_next[oid], self.gc_prev[HEAD] = HEAD, oid
        self.flags[oid] |= TRACKED

    def new_instance(self, tid: int, size: int) -> int:
        """An object with ``size`` empty slots, tracked."""
        oid = self.alloc(tid)
        start = self.pool_top
        self.pool_top = start + size
        self.ref_start[oid], self.ref_len[oid], self.ref_cap[oid] = start, size, size
        self.track(oid)
        return oid

    def dict_set(self, d: int, key: int, value: int) -> None:
        """``d[key] = value``: a linear probe of d's entries, growth by a new slice of 4."""
        flags, pool = self.flags, self.pool
        if not flags[d] & ALIVE or not flags[value] & ALIVE:
            raise ValueError("dead object")
        n, start = self.ref_len[d], self.ref_start[d]
        for i in range(start, start + n, 2):
            if pool[i] == key:
                old, pool[i + 1] = pool[i + 1], value
                self.refcnt[value] += 1
                self.release(old)
                return
        if n + 2 > self.ref_cap[d]:
            start, self.pool_top = self.pool_top, self.pool_top + max(4, 2 * n)
            for i in range(n):
                pool[start + i] = pool[self.ref_start[d] + i]
            self.ref_start[d], self.ref_cap[d] = start, max(4, 2 * n)
        pool[start + n], pool[start + n + 1] = key, value
        self.ref_len[d] = n + 2
        self.refcnt[key] += 1
        self.refcnt[value] += 1
        if not flags[d] & TRACKED:
            self.track(d)

    def set_slot(self, oid: int, index: int, value: int) -> None:
        """Slot ``index`` of ``oid`` = ``value``; the old value released."""
        at = self.ref_start[oid] + index
        old, self.pool[at] = self.pool[at], value
        self.refcnt[value] += 1
        if old != NULL:
            self.release(old)

    def decref(self, oid: int) -> None:
        """The caller drops its reference."""
        self.extern[oid] -= 1
        self.release(oid)

    def release(self, oid: int) -> None:
        """refcount - 1; at zero, the object and everything only it kept are freed."""
        count = self.refcnt[oid] - 1
        self.refcnt[oid] = count
        if count == 0:
            self._free(oid)

    def _free(self, oid: int) -> None:
        """Free ``oid`` and, with an explicit stack, what its references kept alive."""
        refcnt, flags, pool, stack = self.refcnt, self.flags, self.pool, [oid]
        while stack:
            oid = stack.pop()
            if flags[oid] & TRACKED:
                before, after = self.gc_prev[oid], self.gc_next[oid]
                self.gc_next[before], self.gc_prev[after] = after, before
            start = self.ref_start[oid]
            for i in range(start, start + self.ref_len[oid]):
                target = pool[i]
                if target != NULL:
                    pool[i] = NULL
                    count = refcnt[target] - 1
                    refcnt[target] = count
                    if count == 0:
                        stack.append(target)
            flags[oid] = 0
            self.free.append(oid)
            self.count0 = max(0, self.count0 - 1)


def program(heap: FloorHeap, n: int) -> None:
    """The tutorial program of bench/program.py's ``lowlevel_whole``, collection left out."""
    key_a, key_b, none = heap.alloc(ATOM), heap.alloc(ATOM), heap.alloc(ATOM)
    alloc, dict_set, decref = heap.alloc, heap.dict_set, heap.decref
    new_instance, set_slot = heap.new_instance, heap.set_slot
    for _ in range(n):
        a = alloc(DICT)
        b = alloc(DICT)
        dict_set(a, key_b, b)
        dict_set(b, key_a, a)
        decref(a)
        decref(b)
    prev = none
    for _ in range(n):
        node = new_instance(INSTANCE, 1)
        set_slot(node, 0, prev)
        if prev != none:
            decref(prev)
        prev = node
    decref(prev)


class FloorProxy:
    """The least a proxy is: a Python object that holds one reference to its row and drops it
    when it dies (no identity cache, no lock, no checks)."""

    __slots__ = ("heap", "oid")

    def __init__(self, heap: FloorHeap, oid: int) -> None:
        object.__setattr__(self, "heap", heap)
        object.__setattr__(self, "oid", oid)

    def __del__(self) -> None:
        self.heap.decref(self.oid)


class FloorDict(FloorProxy):
    """A dict proxy: ``d[key] = value`` for an atom key and a proxied value."""

    __slots__ = ()

    def __setitem__(self, key: int, value: FloorProxy) -> None:
        self.heap.dict_set(self.oid, key, value.oid)


class FloorNode(FloorProxy):
    """An instance proxy with one attribute, ``next``, kept in slot 0."""

    __slots__ = ()

    def __setattr__(self, name: str, value: FloorProxy) -> None:
        self.heap.set_slot(self.oid, 0, value.oid)


def program_proxies(heap: FloorHeap, n: int) -> None:
    """:func:`program` written with :class:`FloorProxy` objects, as bench/program.py's
    ``proxies_whole`` is (the atom keys stand for the string keys)."""
    key_a, key_b = heap.alloc(ATOM), heap.alloc(ATOM)
    none = FloorProxy(heap, heap.alloc(ATOM))
    for _ in range(n):
        a = FloorDict(heap, heap.alloc(DICT))
        b = FloorDict(heap, heap.alloc(DICT))
        a[key_b] = b
        b[key_a] = a
        del a, b
    prev = none
    for _ in range(n):
        node = FloorNode(heap, heap.new_instance(INSTANCE, 1))
        node.next = prev
        prev = node
    del node, prev, none


def check(heap: FloorHeap, n: int, atoms: int) -> None:
    """What the program must leave: the n cycles alive (2n dicts) and ``atoms`` atoms, the
    chain freed."""
    alive = sum(1 for oid in range(1, heap.top) if heap.flags[oid] & ALIVE)
    if alive != 2 * n + atoms:
        raise AssertionError(f"floor heap: {alive} objects alive, expected {2 * n + atoms}")


def whole(n: int, columns: str, clock: Any, proxies: bool = False) -> float:
    """Seconds for :func:`program` (or :func:`program_proxies`) on a fresh
    :class:`FloorHeap` (made outside the clock)."""
    heap = FloorHeap(3 * n + 8, 10 * n + 8, columns)
    started = clock()
    (program_proxies if proxies else program)(heap, n)
    seconds = float(clock() - started)
    check(heap, n, 2 if proxies else 3)  # the proxied None atom dies with its proxy
    return seconds


# -- one allocation's writes three ways (python bench/floor.py) -----------------------------------


def _alloc_writes(type_id: Any, flags: Any, refcnt: Any, extern: Any, gc_next: Any,
                  gc_prev: Any, oid: int, tid: int) -> int:
    """The writes of one tracked allocation: the row, then the link at the list's tail."""
    type_id[oid], flags[oid], refcnt[oid], extern[oid] = tid, ALIVE | TRACKED, 1, 1
    last = gc_prev[HEAD]
    gc_next[last], gc_prev[oid], gc_next[oid], gc_prev[HEAD] = oid, last, HEAD, oid
    return oid


def call_costs(calls: int, repeat: int) -> dict[str, list[float]]:
    """Nanoseconds per call of :func:`_alloc_writes` as Python on memoryviews, as Python on
    lists and as a numba-compiled function called from Python with the six arrays (what a
    compiled one-object operation would cost before it does anything)."""
    import numba  # only here: the program variants do not need it

    compiled = numba.njit(_alloc_writes)
    arrays = [np.zeros(calls + 1, np.int32) for _ in range(6)]
    forms: dict[str, tuple[Any, list[Any]]] = {
        "python, memoryviews": (_alloc_writes, [memoryview(a) for a in arrays]),
        "python, lists": (_alloc_writes, [[0] * (calls + 1) for _ in range(6)]),
        "numba call": (compiled, arrays),
    }
    compiled(*arrays, 1, DICT)  # compile outside the clock
    costs: dict[str, list[float]] = {name: [] for name in forms}
    for _ in range(repeat):
        for name, (function, cols) in forms.items():
            t_id, fl, rc, ex, nx, pv = cols
            started = time.perf_counter()
            for oid in range(1, calls + 1):
                function(t_id, fl, rc, ex, nx, pv, oid, DICT)
            costs[name].append(1e9 * (time.perf_counter() - started) / calls)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description="one allocation's writes three ways: Python "
                                     "on memoryviews, Python on lists, a numba call")
    parser.add_argument("--calls", type=int, default=200_000, help="calls per run (200,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per form (5)")
    parser.add_argument("--json", action="store_true", help="print the raw runs as JSON")
    args = parser.parse_args()
    if args.calls < 1 or args.repeat < 1:
        parser.error("--calls and --repeat must be at least 1")
    costs = call_costs(args.calls, args.repeat)
    if args.json:
        print(json.dumps({"calls": args.calls, "ns_per_call": costs}))
        return
    for name, values in costs.items():
        print(f"{name:<20} {statistics.median(values):6.0f} ns/call "
              f"[{min(values):.0f}-{max(values):.0f}]")


if __name__ == "__main__":
    main()
