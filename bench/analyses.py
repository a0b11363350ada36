"""How fast the dominator tree and retained sizes of a captured heap are computed.

Usage::

    .venv/bin/python bench/analyses.py                   # 1,300,000 tracked objects, 5 runs
    .venv/bin/python bench/analyses.py --n 10000000 --repeat 3
    .venv/bin/python bench/analyses.py --anchor 100000   # networkx on 100k nodes (the anchor)

The snapshot is synthetic and shaped like issue #9's benchmark heap (``bench/live.py``):
``n`` tracked objects, class instances in three-object cycles, each instance with a one-item
list payload holding an int (untracked, one per cycle), each instance referring to its class;
a module-level list (a root) holds the first instance of 9 in 10 cycles, the rest is cyclic
garbage. About 2.2 references per tracked object.

Timed, after one warm-up (numba compiles and caches): ``dominator_tree(snap)`` (the dominator
tree by semi-NCA, its preorder and the retained sizes), ``histogram(snap)`` (on a tree already
computed) and ``suspects(snap)``. The anchor: ``networkx.immediate_dominators`` on a graph of
the same shape with ``--anchor`` nodes, against the kernel on the same graph. Medians with
ranges; not part of the test suite; nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from gclab import _jit
from gclab.snapshots.dominators import dominator_tree
from gclab.snapshots.histogram import histogram
from gclab.snapshots.leaks import suspects
from gclab.snapshots.model import GC_TYPE, TRACKED, RootKind, Snapshot


def bench_snapshot(n: int) -> Snapshot:
    """A snapshot of about ``n`` tracked objects shaped like the benchmark heap (see above)."""
    cycles = max(1, n // 6)
    # node ids: 0 the class, 1 the root list, then per cycle k: instances 2+7k .. 4+7k,
    # their payload lists 5+7k .. 7+7k, the int 8+7k
    base = 2 + 7 * np.arange(cycles, dtype=np.int64)
    total = 2 + 7 * cycles
    inst = base[:, None] + np.arange(3)                      # (cycles, 3)
    lists = inst + 3
    ints = base + 6
    # an instance's references: next, payload, its class (gc.get_referents order aside)
    inst_targets = np.stack([np.roll(inst, -1, axis=1), lists, np.zeros_like(inst)], axis=2)
    held = base[np.arange(cycles) % 10 != 0]
    counts = np.zeros(total, np.int64)
    counts[1] = len(held)
    counts[inst.ravel()] = 3
    counts[lists.ravel()] = 1
    starts = np.concatenate([[0], np.cumsum(counts)])
    targets = np.empty(int(starts[-1]), np.int64)
    targets[starts[1]:starts[2]] = held
    per_cycle = np.concatenate([inst_targets.reshape(cycles, 9),
                                np.repeat(ints[:, None], 3, axis=1)], axis=1)
    targets[starts[2]:] = per_cycle.ravel()
    type_index = np.zeros(total, np.int32)
    type_index[1] = 2
    type_index[inst.ravel()] = 1
    type_index[lists.ravel()] = 2
    type_index[ints] = 3
    size = np.full(total, 48, np.int64)
    size[lists.ravel()] = 64
    size[ints] = 28
    size[0], size[1] = 1072, 8 * len(held) + 56
    flags = np.full(total, TRACKED | GC_TYPE, np.uint8)
    flags[ints] = 0
    return Snapshot.from_arrays(
        address=0x7F0000000000 + 16 * np.arange(total, dtype=np.uint64), type_index=type_index,
        size=size, refcount=np.ones(total, np.int64), generation=np.full(total, 2, np.int8),
        flags=flags, label=np.full(total, -1, np.int32), ref_start=starts, ref_target=targets,
        ref_kind=np.zeros(len(targets), np.uint8), ref_name=np.full(len(targets), -1, np.int32),
        root_node=[1, 0], root_kind=[RootKind.MODULE, RootKind.MODULE], root_name=[0, 1],
        types=["builtins.type", "bench.Node", "builtins.list", "builtins.int"],
        strings=["bench.HEAP", "bench.Node"], meta={"python": "synthetic"})


def timings(step: Callable[[], object], repeat: int) -> list[float]:
    """Seconds of ``repeat`` runs of ``step`` after one warm-up."""
    step()
    spent = []
    for _ in range(repeat):
        t = time.perf_counter()
        step()
        spent.append(time.perf_counter() - t)
    return spent


def spread(values: list[float]) -> str:
    """The median and the range of ``values`` (seconds)."""
    return f"{statistics.median(values):8.3f} s  ({min(values):.3f}–{max(values):.3f})"


def fresh(snap: Snapshot) -> Snapshot:
    """``snap`` with an empty analysis cache but its strong graph view kept (built once)."""
    graph = snap.graph()
    snap._cache.clear()
    snap._cache["graph.strong"] = graph
    return snap


def anchor(n: int, repeat: int) -> None:
    """networkx.immediate_dominators against the kernel on the same graph of ``n`` nodes."""
    import networkx as nx

    from gclab.kernels.dominators import immediate_dominators

    snap = bench_snapshot(n)
    graph = snap.graph()
    src, dst = graph.edges()
    digraph = nx.DiGraph()
    digraph.add_nodes_from(range(snap.n + 1))
    digraph.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    digraph.add_edges_from((snap.n, int(r)) for r in snap.root_node)
    theirs = timings(lambda: nx.immediate_dominators(digraph, snap.n), repeat)
    ours = timings(lambda: immediate_dominators(graph, snap.root_node), repeat)
    print(f"anchor, {snap.n:,} nodes, {len(src):,} edges (idoms only):")
    print(f"  networkx.immediate_dominators {spread(theirs)}")
    print(f"  gclab kernel                  {spread(ours)}   "
          f"({statistics.median(theirs) / statistics.median(ours):,.0f}x)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_300_000, help="tracked objects")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs (median, range)")
    parser.add_argument("--anchor", type=int, default=0, metavar="N",
                        help="also time networkx.immediate_dominators on N objects")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    snap = bench_snapshot(args.n)
    built = time.perf_counter() - started
    started = time.perf_counter()
    snap.graph()
    viewed = time.perf_counter() - started
    print(f"bench/analyses.py: {snap!r}, built in {built:.2f} s, strong graph view "
          f"{viewed:.2f} s; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"{'compiled kernels' if _jit.ENABLED else 'GCLAB_JIT=0: plain Python'}; "
          f"median of {args.repeat} (range)")
    tree = timings(lambda: dominator_tree(fresh(snap)), args.repeat)
    print(f"  dominator_tree (idoms + preorder + retained) {spread(tree)}")
    snap.dominators()
    hist = timings(lambda: histogram(snap), args.repeat)
    print(f"  histogram (tree computed)                    {spread(hist)}")
    found = timings(lambda: suspects(snap), args.repeat)
    print(f"  suspects (tree, BFS parents cached)          {spread(found)}")
    if args.anchor:
        anchor(args.anchor, max(1, min(args.repeat, 3)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
