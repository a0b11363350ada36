"""What the heap's lock costs: a mix of proxy operations with and without the guards.

The guards (``gclab.heap.guard``) wrap the entry points of the heap, its proxies and ``heap.gc``
so that threads sharing a heap take turns. This runs the same operations twice in one process,
once as shipped and once with every guard taken off (the wrapped functions put back), and prints
the time per round of operations (median of ``--repeat`` runs, with the range) and the ratio.

    .venv/bin/python bench/lock.py --rounds 20000 --repeat 7
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager

import gclab
from gclab.gcmodule import GcModule
from gclab.heap import classes, proxies
from gclab.heap.core import HeapCore

OPERATIONS = "x = heap.list(); L.append(x); d['k'] = x; y = L[-1]; n = len(L)"


def guarded_classes() -> list[type]:
    """Every class whose methods the guards may wrap."""
    found: list[type] = [gclab.Heap, HeapCore, GcModule, classes.InstanceProxy,
                         classes.NamespaceProxy, classes.FrameProxy]
    pending = [proxies.Proxy]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


@contextmanager
def unguarded() -> Iterator[None]:
    """The guards taken off every class for the duration of the block."""
    saved: list[tuple[type, str, object]] = []
    for cls in guarded_classes():
        for name, value in list(vars(cls).items()):
            inner = getattr(value, "__wrapped__", None)
            if getattr(value, "__gclab_guarded__", False) and inner is not None:
                saved.append((cls, name, value))
                setattr(cls, name, inner)
    try:
        yield
    finally:
        for cls, name, value in saved:
            setattr(cls, name, value)


def one_run(rounds: int) -> float:
    """Microseconds per round of OPERATIONS on a fresh heap (collections off)."""
    heap = gclab.Heap()
    heap.gc.disable()
    L, d = heap.list(), heap.dict()
    started = time.perf_counter()
    for _ in range(rounds):
        x = heap.list()
        L.append(x)
        d["k"] = x
        y = L[-1]
        n = len(L)
    elapsed = time.perf_counter() - started
    del x, y, n
    return elapsed / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    one_run(1000)  # warm-up
    guarded, bare = [], []
    for _ in range(args.repeat):  # alternate, so that drift hits both alike
        guarded.append(one_run(args.rounds))
        with unguarded():
            bare.append(one_run(args.rounds))
    g, b = statistics.median(guarded), statistics.median(bare)
    print(f"round of operations: {OPERATIONS}")
    print(f"with the lock     {g:7.2f} us  ({min(guarded):.2f}-{max(guarded):.2f})")
    print(f"without the lock  {b:7.2f} us  ({min(bare):.2f}-{max(bare):.2f})")
    print(f"ratio             {g / b:7.2f}")


if __name__ == "__main__":
    main()
