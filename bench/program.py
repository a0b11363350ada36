"""The tutorial program, on real objects and on gclab three ways (issue #10, ``program``).

Usage::

    .venv/bin/python bench/program.py                    # n = 100,000, 5 runs
    .venv/bin/python bench/program.py --n 20000 --repeat 7 --json

The program: ``n`` two-dict cycles (``a = {}; b = {}; a['b'] = b; b['a'] = a; del a, b``),
``n`` linked instances of a class (each ``node.next`` the previous node), the last reference
dropped, then ``gc.collect()``. It runs as written (**whole**) and staged, one operation kind
at a time, so each kind is timed on its own:

* ``alloc``: 2n dicts and n instances made (host lists keep them);
* ``dict_store``: ``a['b'] = b; b['a'] = a`` for every pair (2n stores);
* ``attr_store``: ``nodes[i].next = nodes[i - 1]`` (n stores);
* ``dict_lookup``: ``a['b']`` for every pair (n lookups);
* ``del``: the host lists dropped (the chain is freed, the cycles stay);
* ``collect``: one ``gc.collect()`` (2n dicts freed).

Each variant runs in its own child interpreter (``sys.executable``), one after the other in the
same run. Variants: ``cpython`` (real objects), ``proxies`` (``gclab.Heap`` proxies and
``@heap.cls``), ``lowlevel`` (the id API: ``alloc``, ``dict_set``, ``new_instance``,
``set_attr``, ``dict_get``, ``decref``) and ``bulk`` (``alloc_many``, ``set_slots``,
``decref_many``; its heap is made with room for the 3n objects, inside the clock, as a bulk user
who knows the counts makes it; its class has ``__slots__ = ('next',)`` since inline attributes
are not slots the bulk API can store to, and it has no lookup). ``floor`` and ``floor-lists``
run the whole program (collection left out) against the least a Python-level flat table must do
for it (bench/floor.py: no checks beyond liveness, no lock, no collection; memoryview or list
columns): the floor under the low-level variant, whatever its implementation; ``floor-proxies``
runs it through the least a proxy is (an object that drops its reference when it dies), the
floor under the proxy variant. Every number is the median of ``--repeat`` runs after one warm-up
run, with the range; when the measured heaps are large enough to switch gclab to compiled
helpers, the switch is made before the warm-up (its cost is start-up, measured by
bench/startup.py); the machine may be shared and noisy, so read the ranges (``--cpu`` times the
process's CPU seconds instead of wall-clock ones, which a loaded machine disturbs less). Nothing
here asserts.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import floor  # bench/floor.py (a script's own folder is on sys.path)
import numpy as np

CLOCK = [time.perf_counter]  # --cpu: time.process_time (this process's CPU time)
KINDS = ("alloc", "dict_store", "attr_store", "dict_lookup", "del", "collect")
VARIANTS = ("cpython", "proxies", "lowlevel", "bulk", "floor", "floor-lists", "floor-proxies")
Timings = dict[str, float]


class _Clock:
    """Split times: ``lap(kind)`` adds the time since the previous lap to ``kind``."""

    def __init__(self) -> None:
        self.times: Timings = {}
        self.last = CLOCK[0]()

    def start(self) -> None:
        self.last = CLOCK[0]()

    def lap(self, kind: str) -> None:
        now = CLOCK[0]()
        self.times[kind] = self.times.get(kind, 0.0) + now - self.last
        self.last = now


# -- real objects (run in a child interpreter) ----------------------------------------------------


def cpython_staged(n: int) -> Timings:
    class Node:
        pass

    clock = _Clock()
    clock.start()
    as_ = [{} for _ in range(n)]
    bs = [{} for _ in range(n)]
    nodes = [Node() for _ in range(n)]
    clock.lap("alloc")
    for a, b in zip(as_, bs, strict=True):
        a["b"] = b
        b["a"] = a
    clock.lap("dict_store")
    prev = None
    for node in nodes:
        node.next = prev  # type: ignore[attr-defined]
        prev = node
    clock.lap("attr_store")
    for a in as_:
        a["b"]
    clock.lap("dict_lookup")
    del as_, bs, nodes, a, b, node, prev
    clock.lap("del")
    gc.collect()
    clock.lap("collect")
    return clock.times


def cpython_whole(n: int) -> float:
    class Node:
        pass

    t = CLOCK[0]()
    for _ in range(n):
        a: dict[str, object] = {}
        b: dict[str, object] = {}
        a["b"] = b
        b["a"] = a
        del a, b
    prev = None
    for _ in range(n):
        node = Node()
        node.next = prev  # type: ignore[attr-defined]
        prev = node
    del node, prev
    gc.collect()
    return CLOCK[0]() - t


# -- gclab through proxies ------------------------------------------------------------------------


def _heap() -> Any:
    import gclab
    return gclab.Heap()


def proxies_staged(n: int) -> Timings:
    heap = _heap()

    @heap.cls
    class Node:
        pass

    clock = _Clock()
    clock.start()
    as_ = [heap.dict() for _ in range(n)]
    bs = [heap.dict() for _ in range(n)]
    nodes = [Node() for _ in range(n)]
    clock.lap("alloc")
    for a, b in zip(as_, bs, strict=True):
        a["b"] = b
        b["a"] = a
    clock.lap("dict_store")
    prev = None
    for node in nodes:
        node.next = prev
        prev = node
    clock.lap("attr_store")
    for a in as_:
        a["b"]
    clock.lap("dict_lookup")
    del as_, bs, nodes, a, b, node, prev
    clock.lap("del")
    heap.gc.collect()
    clock.lap("collect")
    return clock.times


def proxies_whole(n: int) -> float:
    heap = _heap()

    @heap.cls
    class Node:
        pass

    t = CLOCK[0]()
    for _ in range(n):
        a = heap.dict()
        b = heap.dict()
        a["b"] = b
        b["a"] = a
        del a, b
    prev = None
    for _ in range(n):
        node = Node()
        node.next = prev
        prev = node
    del node, prev
    heap.gc.collect()
    return CLOCK[0]() - t


# -- gclab through the low-level id API -----------------------------------------------------------


def _lowlevel_setup() -> tuple[Any, Any, int, int, int]:
    heap = _heap()

    @heap.cls
    class Node:
        pass

    return heap, Node._info, heap.atom("a"), heap.atom("b"), heap.atom(None)


def lowlevel_staged(n: int) -> Timings:
    heap, info, key_a, key_b, none = _lowlevel_setup()
    alloc, new_instance, dict_set, dict_get = (heap.alloc, heap.new_instance, heap.dict_set,
                                               heap.dict_get)
    set_attr, operation, decref = heap.set_attr, heap.operation, heap.decref
    clock = _Clock()
    clock.start()
    as_ = [alloc("dict") for _ in range(n)]
    bs = [alloc("dict") for _ in range(n)]
    nodes = [new_instance(info) for _ in range(n)]
    clock.lap("alloc")
    for a, b in zip(as_, bs, strict=True):
        dict_set(a, key_b, b)
        dict_set(b, key_a, a)
    clock.lap("dict_store")
    prev = none
    for node in nodes:
        with operation():
            set_attr(node, "next", prev)
        prev = node
    clock.lap("attr_store")
    for a in as_:
        dict_get(a, key_b)
    clock.lap("dict_lookup")
    for oid in as_:
        decref(oid)
    for oid in bs:
        decref(oid)
    for oid in nodes:
        decref(oid)
    clock.lap("del")
    heap.gc.collect()
    clock.lap("collect")
    return clock.times


def lowlevel_whole(n: int) -> float:
    heap, info, key_a, key_b, none = _lowlevel_setup()
    alloc, new_instance, dict_set = heap.alloc, heap.new_instance, heap.dict_set
    set_attr, operation, decref = heap.set_attr, heap.operation, heap.decref
    t = CLOCK[0]()
    for _ in range(n):
        a = alloc("dict")
        b = alloc("dict")
        dict_set(a, key_b, b)
        dict_set(b, key_a, a)
        decref(a)
        decref(b)
    prev = none
    for _ in range(n):
        node = new_instance(info)
        with operation():
            set_attr(node, "next", prev)
        if prev != none:
            decref(prev)
        prev = node
    decref(prev)
    heap.gc.collect()
    return CLOCK[0]() - t


# -- gclab through the bulk API -------------------------------------------------------------------


def _bulk_setup(n: int) -> tuple[Any, Any, int, int, int]:
    """A heap with room for the program's 3n objects (a bulk user knows the counts: the
    engine cases of bench/run.py size their heaps too) and the class; timed as ``alloc``."""
    import gclab
    heap = gclab.Heap(capacity=3 * n + 64)

    @heap.cls
    class Node:
        __slots__ = ("next",)

    return heap, Node._info, heap.atom("a"), heap.atom("b"), heap.atom(None)


def _bulk_program(heap: Any, info: Any, keys: tuple[int, int, int], n: int,
                  clock: _Clock) -> None:
    key_a, key_b, none = keys
    dicts = heap.alloc_many("dict", 2 * n, 2)
    nodes = heap.alloc_many(info, n, 1)
    clock.lap("alloc")
    a, b = dicts[0::2], dicts[1::2]
    ids = np.repeat(dicts, 2)  # a: key, value; b: key, value
    indices = np.tile(np.array([0, 1], np.int32), 2 * n)
    values = np.empty(4 * n, np.int32)
    values[0::4], values[1::4], values[2::4], values[3::4] = key_b, b, key_a, a
    heap.set_slots(ids, indices, values)
    clock.lap("dict_store")
    previous = np.empty(n, np.int32)
    previous[0], previous[1:] = none, nodes[:-1]
    heap.set_slots(nodes, np.zeros(n, np.int32), previous)
    clock.lap("attr_store")
    heap.decref_many(dicts)
    heap.decref_many(nodes)
    clock.lap("del")
    heap.gc.collect()
    clock.lap("collect")


def bulk_staged(n: int) -> Timings:
    clock = _Clock()
    clock.start()
    heap, info, key_a, key_b, none = _bulk_setup(n)
    _bulk_program(heap, info, (key_a, key_b, none), n, clock)
    return clock.times


def bulk_whole(n: int) -> float:
    clock = _Clock()
    t = CLOCK[0]()
    clock.start()
    heap, info, key_a, key_b, none = _bulk_setup(n)
    _bulk_program(heap, info, (key_a, key_b, none), n, clock)
    return CLOCK[0]() - t


# -- the floor: the program's bare heap writes in plain Python (bench/floor.py) ------------------


def floor_whole(n: int) -> float:
    return floor.whole(n, "memoryview", CLOCK[0])


def floor_lists_whole(n: int) -> float:
    return floor.whole(n, "list", CLOCK[0])


def floor_proxies_whole(n: int) -> float:
    return floor.whole(n, "memoryview", CLOCK[0], proxies=True)


def _whole_only(n: int) -> Timings:
    return {}


PROGRAMS: dict[str, tuple[Callable[[int], Timings], Callable[[int], float]]] = {
    "cpython": (cpython_staged, cpython_whole),
    "proxies": (proxies_staged, proxies_whole),
    "lowlevel": (lowlevel_staged, lowlevel_whole),
    "bulk": (bulk_staged, bulk_whole),
    "floor": (_whole_only, floor_whole),
    "floor-lists": (_whole_only, floor_lists_whole),
    "floor-proxies": (_whole_only, floor_proxies_whole),
}


# -- measuring ----------------------------------------------------------------------------------


def measure(variant: str, n: int, repeat: int) -> dict[str, list[float]]:
    """Seconds per kind and for the whole program, one entry per run (after a warm-up run)."""
    staged, whole = PROGRAMS[variant]
    runs: dict[str, list[float]] = {kind: [] for kind in (*KINDS, "whole")}
    if variant in ("proxies", "lowlevel", "bulk"):
        _switch_if_measured_heaps_will(n)
    staged(min(n, 1000))
    whole(min(n, 1000))
    for _ in range(repeat):
        for kind, seconds in staged(n).items():
            runs[kind].append(seconds)
        gc.collect()
        runs["whole"].append(whole(n))
        gc.collect()
    return {kind: values for kind, values in runs.items() if values}


def _switch_if_measured_heaps_will(n: int) -> None:
    """When the measured heaps (3n objects) reach ``GCLAB_JIT_MIN`` rows, and so switch gclab
    to compiled helpers in their first run, switch now, before the warm-up: the warm-up then
    runs the compiled code, and loading (or compiling) it, which bench/startup.py measures,
    stays out of the measured runs."""
    from gclab import _jit, config
    if 3 * n >= config.JIT_MIN:
        _jit.activate()


def in_child(variant: str, n: int, repeat: int, timeout: float) -> dict[str, list[float]]:
    """:func:`measure` of ``variant`` in a fresh interpreter (``sys.executable``): each variant
    starts from the same process state, whatever ran before it (a variant measured after the
    proxy one in the same process ran up to 1.5x slower: the host's memory and collector
    state it left behind)."""
    cpu = ["--cpu"] if CLOCK[0] is time.process_time else []
    done = subprocess.run([sys.executable, __file__, "--child", variant, str(n), str(repeat),
                           *cpu], capture_output=True, text=True, check=True, timeout=timeout)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def summary(values: list[float]) -> dict[str, float]:
    """Median, min and max."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def report(results: dict[str, dict[str, list[float]]], n: int) -> str:
    """A table: per kind and variant, the median in ms (range) and the ratio to CPython."""
    clock = "CPU" if CLOCK[0] is time.process_time else "wall-clock"
    lines = [f"program n={n:,}, {clock} time: median ms [min-max] (x CPython median)"]
    base = results.get("cpython", {})
    for kind in (*KINDS, "whole"):
        cells = []
        for variant, runs in results.items():
            if kind not in runs:  # bulk has no lookup; the floors are timed whole only
                continue
            s = summary(runs[kind])
            ratio = (f" ({s['median'] / statistics.median(base[kind]):.1f}x)"
                     if variant != "cpython" and kind in base else "")
            cells.append(f"{variant} {1e3 * s['median']:.1f} [{1e3 * s['min']:.1f}-"
                         f"{1e3 * s['max']:.1f}]{ratio}")
        lines.append(f"  {kind:<12} " + " | ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="cycles and nodes (100,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per variant (5)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma-separated, from " + ", ".join(VARIANTS))
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds each variant's child process may take (900)")
    parser.add_argument("--json", action="store_true", help="print the raw runs as JSON")
    parser.add_argument("--cpu", action="store_true",
                        help="time CPU seconds of the process (time.process_time) instead of "
                             "wall-clock seconds: steadier on a shared, loaded machine")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # variant, n, repeat
    args = parser.parse_args(argv)
    if args.cpu:
        CLOCK[0] = time.process_time
    if args.child:
        variant, n, repeat = args.child
        print(json.dumps(measure(variant, int(n), int(repeat))))
        return
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown or args.n < 2 or args.repeat < 1:
        parser.error(f"bad arguments: unknown variants {sorted(unknown)}" if unknown
                     else "--n must be at least 2 and --repeat at least 1")
    results: dict[str, dict[str, list[float]]] = {}
    for variant in variants:
        results[variant] = in_child(variant, args.n, args.repeat, args.timeout)
    if args.json:
        print(json.dumps({"n": args.n, "repeat": args.repeat, "cpu": args.cpu,
                          "runs": results}))
    else:
        print(report(results, args.n))


if __name__ == "__main__":
    main()
