"""Candidates for the free-id set (docs/design/engine.md, "Free ids"): the chosen
:class:`~gclab.heap.freeids.FreeIds` (a Python heap front over a bitmap), an int32 min-heap
with compiled sift called once per operation, and a Python ``heapq`` of every id; 1M free ids
scattered over 2M rows, medians of 5 with ranges. A Python ``list.append`` + ``pop`` pair is
timed first as a calibration of how loaded the machine is. Not part of the test suite.

Usage: ``.venv/bin/python bench/free_ids.py``
"""

from __future__ import annotations

import heapq
import statistics
import time
from collections.abc import Callable

import numba
import numpy as np

from gclab.heap.freeids import FreeIds

N = 1_000_000
K = 100_000  # single operations timed from Python
IDS = (np.random.default_rng(1).permutation(2 * N)[:N] + 16).astype(np.int32)


@numba.njit
def heap_push(a, n, x):  # type: ignore[no-untyped-def]
    i = n
    a[i] = x
    while i > 0:
        p = (i - 1) >> 1
        if a[p] <= a[i]:
            break
        a[p], a[i] = a[i], a[p]
        i = p
    return n + 1


@numba.njit
def heap_pop(a, n):  # type: ignore[no-untyped-def]
    top = a[0]
    n -= 1
    a[0] = a[n]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        c = left + 1 if left + 1 < n and a[left + 1] < a[left] else left
        if a[i] <= a[c]:
            break
        a[i], a[c] = a[c], a[i]
        i = c
    return top, n


@numba.njit
def heap_pop_into(a, n, out):  # type: ignore[no-untyped-def]
    for k in range(len(out)):
        out[k], n = heap_pop(a, n)
    return n


@numba.njit
def heap_push_all(a, n, ids):  # type: ignore[no-untyped-def]
    for x in ids:
        n = heap_push(a, n, x)
    return n


def _per(t0: float, count: int) -> float:
    return (time.perf_counter() - t0) / count * 1e9


def calibration() -> float:
    x: list[int] = []
    t0 = time.perf_counter()
    for _ in range(K):
        x.append(1)
        x.pop()
    return _per(t0, K)


def _logged() -> FreeIds:
    """1M ids pushed the way the compiled cascade pushes them."""
    free = FreeIds()
    free.grow(N)
    free.items[:N] = IDS
    free.size = N
    return free


def set_sort_in() -> float:
    free = _logged()
    t0 = time.perf_counter()
    free.pop_into(np.empty(0, np.int32))  # sorts the log in, takes nothing
    return _per(t0, N)


def set_take_all() -> float:
    free, out = _logged(), np.empty(N, np.int32)
    t0 = time.perf_counter()
    free.pop_into(out)
    return _per(t0, N)


def set_pop() -> float:
    free = _logged()
    free.pop()
    pop = free.pop
    t0 = time.perf_counter()
    for _ in range(K):
        pop()
    return _per(t0, K)


def set_pop_append() -> float:
    free = _logged()
    free.pop()
    pop, append = free.pop, free.append
    t0 = time.perf_counter()
    for _ in range(K):
        append(pop())
    return _per(t0, K)


HEAP = np.empty(N + 1, np.int32)
OUT = np.empty(N, np.int32)


def heap_pushes() -> float:
    t0 = time.perf_counter()
    heap_push_all(HEAP, 0, IDS)
    return _per(t0, N)


def heap_take_all() -> float:
    n = heap_push_all(HEAP, 0, IDS)
    t0 = time.perf_counter()
    heap_pop_into(HEAP, n, OUT)
    return _per(t0, N)


def heap_pops() -> float:
    n = heap_push_all(HEAP, 0, IDS)
    t0 = time.perf_counter()
    for _ in range(K):
        _, n = heap_pop(HEAP, n)
    return _per(t0, K)


def heapq_take_all() -> float:
    h = IDS.tolist()
    heapq.heapify(h)
    t0 = time.perf_counter()
    for _ in range(N):
        heapq.heappop(h)
    return _per(t0, N)


def main() -> None:
    cases: list[tuple[str, Callable[[], float]]] = [
        ("calibration: list append+pop (ns)", calibration),
        ("FreeIds: sort in 1M pushed ids (ns/id)", set_sort_in),
        ("FreeIds: take the 1M lowest incl. sort-in (ns/id)", set_take_all),
        ("FreeIds: one pop() from Python (ns)", set_pop),
        ("FreeIds: pop() + append() (ns/pair)", set_pop_append),
        ("int32 min-heap: 1M compiled pushes (ns/id)", heap_pushes),
        ("int32 min-heap: take the 1M lowest (ns/id)", heap_take_all),
        ("int32 min-heap: one pop() call from Python (ns)", heap_pops),
        ("Python heapq: take the 1M lowest (ns/id)", heapq_take_all),
    ]
    for name, fn in cases:
        fn()  # warm-up (and compile)
        times = [fn() for _ in range(5)]
        print(f"{name:52s} {statistics.median(times):8.1f}  "
              f"({min(times):.1f}-{max(times):.1f})")


if __name__ == "__main__":
    main()
