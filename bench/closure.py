"""How fast ``mark_from`` marks a graph, against scipy's ``breadth_first_order`` in the same run.

Usage::

    .venv/bin/python bench/closure.py              # 1,000,000 nodes, median of 5
    .venv/bin/python bench/closure.py --n 10000000 --degree 3 --repeat 3

Graphs (``n`` nodes, one root, everything reachable or nearly so):

* ``chain``: node k refers to node k+1 (ids in order: the best case for the caches);
* ``random``: ``degree`` random out-edges a node (the worst case: every visit misses);
* ``heap``: a view of a real heap's table (a root list holding ``n`` lists, each holding the
  next, built through the bulk API): the pool as the heap lays it out.

For each it times the compiled ``kernels.closure.mark_from`` (on the zero-copy view) and
``scipy.sparse.csgraph.breadth_first_order`` (on a CSR matrix of the same graph, built before
timing) and prints both and their ratio. Needs scipy (the ``test`` extra). Not part of the test
suite; nothing here asserts.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from scipy.sparse.csgraph import breadth_first_order

import gclab
from gclab.graphview import GraphView
from gclab.kernels import ENABLED
from gclab.kernels.closure import mark_from


def chain(n: int, degree: int) -> tuple[GraphView, int]:
    indices = np.arange(1, n + 1, dtype=np.int32)
    indices[-1] = -1
    return GraphView.from_csr(np.arange(n + 1, dtype=np.int32), indices), 0


def random_graph(n: int, degree: int) -> tuple[GraphView, int]:
    rng = np.random.default_rng(1)
    indptr = np.arange(0, degree * n + 1, degree, dtype=np.int64)
    return GraphView.from_csr(indptr, rng.integers(0, n, degree * n).astype(np.int32)), 0


def heap_graph(n: int, degree: int) -> tuple[GraphView, int]:
    heap = gclab.Heap(capacity=n + 64)
    heap.gc.disable()
    root = int(heap.alloc("list", n))
    ids = heap.alloc_many("list", n, 1)
    heap.set_slots(np.full(n, root, np.int32), np.arange(n, dtype=np.int32), ids)
    heap.set_slots(ids[:-1], np.zeros(n - 1, np.int32), ids[1:])
    heap.decref_many(ids)
    heap_graph.last_heap = heap  # type: ignore[attr-defined]  # the view's owner stays alive
    return GraphView.of_table(heap.table), root


GRAPHS: dict[str, Callable[[int, int], tuple[GraphView, int]]] = {
    "chain": chain, "random": random_graph, "heap": heap_graph}


def median_times(runs: list[Callable[[], object]], repeat: int) -> list[float]:
    """Median seconds of each run, interleaved run by run after one warm-up each."""
    for run in runs:
        run()
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for run, spent in zip(runs, times, strict=True):
            t = time.perf_counter()
            run()
            spent.append(time.perf_counter() - t)
    return [statistics.median(spent) for spent in times]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=_positive, default=1_000_000, help="nodes")
    parser.add_argument("--degree", type=_positive, default=3, help="edges a node (random)")
    parser.add_argument("--repeat", type=_positive, default=5, help="timed runs (median)")
    args = parser.parse_args()
    print(f"mark_from vs scipy breadth_first_order, n={args.n:,}, kernels "
          f"{'compiled' if ENABLED else 'OFF (GCLAB_JIT=0)'}, median of {args.repeat}")
    print(f"{'graph':<10}{'scipy s':>10}{'gclab s':>10}{'ratio':>8}  reached")
    for name, make in GRAPHS.items():
        view, root = make(args.n, args.degree)
        matrix = view.to_scipy()
        reached = int(mark_from(view, [root]).sum())
        scipy_t, gclab_t = median_times(
            [lambda m=matrix, r=root: breadth_first_order(m, r, return_predecessors=False),
             lambda v=view, r=root: mark_from(v, [r])], args.repeat)
        print(f"{name:<10}{scipy_t:>10.4f}{gclab_t:>10.4f}{gclab_t / scipy_t:>8.2f}  "
              f"{reached:,}")


if __name__ == "__main__":
    main()
