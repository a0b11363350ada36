"""How fast the analyses of a captured heap run, on a synthetic snapshot of the issue's bench
heap (issue #9): class instances in three-object cycles, each with a list payload.

Usage::

    .venv/bin/python bench/garbage.py                   # 650,000 instances, median of 3
    .venv/bin/python bench/garbage.py --instances 3000000 --garbage 0.5 --repeat 5

The snapshot: ``3 * c`` instances (``--instances``, rounded down) in ``c`` rings of three
(``next``), each instance referring to its class and to a list that holds one untracked int:
with ``n`` instances, ``2n`` tracked objects, ``3n + 1`` nodes and ``4n`` references (650,000
instances: 1.3M tracked objects, 2.6M references). A share of the rings (``--garbage``) is
unreachable; each other ring is held from outside (one more reference count on its first
instance, and a module root). Built with numpy (no capture), so it times the analyses alone.

Cases: ``garbage`` (``dry_run``: CPython's phases, SCCs, sources, the untracked objects freed
with the garbage); ``why`` on one live instance, with the reversed strong graph cached, and
first (the reversed graph built too); ``scc`` and ``bfs`` (the two kernels alone on the
strong graph). Not part of the test suite; nothing here asserts.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from gclab.kernels import ENABLED
from gclab.kernels.paths import breadth_first
from gclab.kernels.scc import strongly_connected_components
from gclab.snapshots import GC_TYPE, TRACKED, RootKind, Snapshot
from gclab.snapshots.garbage import dry_run
from gclab.snapshots.paths import why


def bench_snapshot(instances: int, garbage: float) -> Snapshot:
    """The synthetic snapshot of the module docstring (nodes: instances, then their lists,
    then their ints, then the class)."""
    c = max(1, instances // 3)
    n = 3 * c
    inst = np.arange(n, dtype=np.int64)
    lists, ints, cls = n + inst, 2 * n + inst, 3 * n
    nxt = (inst // 3) * 3 + (inst % 3 + 1) % 3
    # instance: next, payload, class (3 refs); list: its int (1 ref); int, class: none
    targets = np.concatenate([np.stack([nxt, lists, np.full(n, cls)], 1).ravel(), ints])
    ref_start = np.concatenate([np.arange(0, 3 * n + 1, 3), 3 * n + np.arange(1, n + 1),
                                np.full(n + 1, 4 * n)])
    live_rings = np.arange(c)[np.arange(c) >= round(garbage * c)]
    refcount = np.ones(3 * n + 1, np.int64)
    refcount[cls] = n
    refcount[live_rings * 3] += 1
    flags = np.zeros(3 * n + 1, np.uint8)
    flags[: 2 * n] = TRACKED | GC_TYPE
    flags[cls] = TRACKED | GC_TYPE
    generation = np.full(3 * n + 1, 2, np.int8)
    generation[2 * n : 3 * n] = -1
    roots = live_rings * 3
    return Snapshot.from_arrays(
        address=0x10000 + 64 * np.arange(3 * n + 1, dtype=np.uint64),
        type_index=np.concatenate([np.zeros(n), np.ones(n), np.full(n, 2), [3]]).astype(
            np.int32),
        size=np.concatenate([np.full(n, 56), np.full(n, 64), np.full(n, 28), [1064]]),
        refcount=refcount, generation=generation, flags=flags,
        label=np.full(3 * n + 1, -1, np.int32), ref_start=ref_start, ref_target=targets,
        ref_kind=np.zeros(4 * n, np.uint8), ref_name=np.full(4 * n, -1, np.int32),
        root_node=roots, root_kind=np.full(len(roots), RootKind.MODULE, np.uint8),
        root_name=np.zeros(len(roots), np.int32),
        types=["bench.Node", "builtins.list", "builtins.int", "builtins.type"],
        strings=["bench.rings"], meta={"python": "3.12.1"})


def timed(fn: Callable[[], object], repeat: int) -> float:
    """The median seconds of ``repeat`` runs after one warm-up run."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=650_000)
    parser.add_argument("--garbage", type=float, default=0.5,
                        help="the share of the rings that is unreachable (default 0.5)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    t = time.perf_counter()
    snap = bench_snapshot(args.instances, args.garbage)
    graph = snap.graph()
    built = time.perf_counter() - t
    tracked = int(np.count_nonzero(snap.flags & TRACKED))
    print(f"snapshot: {snap.n:,} nodes ({tracked:,} tracked), {snap.m:,} references, "
          f"built in {built:.2f} s; kernels {'compiled' if ENABLED else 'plain Python'}")
    live = int(snap.root_node[0]) if len(snap.root_node) else 0
    t = time.perf_counter()
    why(snap, live + 1)
    print(f"why: the reversed strong graph built and cached in {time.perf_counter() - t:.2f} s")
    cases: dict[str, Callable[[], object]] = {
        "garbage": lambda: dry_run(snap),
        "why (cached reverse)": lambda: why(snap, live + 1, limit=3),
        "why (first: reverse)": lambda: (snap._cache.pop("graph.strong.reversed", None),
                                         why(snap, live + 1, limit=3)),
        "scc": lambda: strongly_connected_components(graph),
        "bfs": lambda: breadth_first(graph, snap.root_node),
    }
    report = dry_run(snap)
    print(f"dry run: {len(report.unreachable):,} unreachable, "
          f"{len(report.component_start) - 1:,} components, {len(report.sources):,} sources, "
          f"{len(report.freed):,} untracked freed with them, {report.freed_bytes:,} bytes")
    for name, fn in cases.items():
        print(f"{name:>22}: {timed(fn, args.repeat):.3f} s (median of {args.repeat})")


if __name__ == "__main__":
    main()
