"""How fast a ``.gcsnap`` file is written and read (issue #9: 10,000,000 objects load in ≤ 2 s).

Usage::

    .venv/bin/python bench/store.py                        # 10,000,000 objects, 25M references
    .venv/bin/python bench/store.py --n 1000000 --repeat 5 --strings 100000

Builds one synthetic snapshot shaped like a captured heap (``n`` objects of 300 types, 2.5
references each on average, some weak, one label in ten, ``--strings`` distinct strings, 1,000
roots), then times ``store.save`` and ``store.load`` (``--repeat`` runs each, after one warm-up
load; the file is in the page cache, as right after a capture) and ``SELECT count(*)``
through ``gclab query``. Prints median [min - max] wall-clock and CPU seconds (the machine may
be shared: CPU time leaves out the waiting) and the file size. Not part of the
test suite; nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from gclab.snapshots import STRONG, WEAK, RootKind, Snapshot
from gclab.snapshots.store import load, save


def synthetic(n: int, references: float, n_strings: int, seed: int = 1) -> Snapshot:
    """A snapshot of ``n`` objects and about ``references * n`` references."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(references, n).astype(np.int64)
    m = int(counts.sum())
    ref_start = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=ref_start[1:])
    label = np.full(n, -1, np.int32)
    labelled = rng.random(n) < 0.1
    label[labelled] = rng.integers(0, n_strings, int(labelled.sum()), dtype=np.int32)
    ref_name = np.full(m, -1, np.int32)
    named = rng.random(m) < 0.5
    ref_name[named] = rng.integers(0, min(n_strings, 2000), int(named.sum()), dtype=np.int32)
    roots = rng.integers(0, n, 1000, dtype=np.int32)
    return Snapshot.from_arrays(
        address=(rng.integers(2**44, 2**47, n, dtype=np.uint64) // 16) * 16,
        type_index=rng.integers(0, 300, n, dtype=np.int32),
        size=rng.choice(np.array([16, 28, 48, 56, 64, 72, 184, 232]), n).astype(np.int64),
        refcount=rng.integers(1, 6, n).astype(np.int64),
        generation=rng.integers(0, 3, n).astype(np.int8),
        flags=np.ones(n, np.uint8), label=label, ref_start=ref_start,
        ref_target=rng.integers(0, n, m, dtype=np.int32),
        ref_kind=np.where(rng.random(m) < 0.01, WEAK, STRONG).astype(np.uint8),
        ref_name=ref_name, root_node=roots,
        root_kind=np.full(1000, int(RootKind.MODULE), np.uint8),
        root_name=rng.integers(0, n_strings, 1000, dtype=np.int32),
        types=[f"module{i % 17}.Type{i}" for i in range(300)],
        strings=[f"string {i}" for i in range(n_strings)],
        meta={"python": "3.11.7", "pid": 1, "bench": True},
        warnings=["synthetic"])


def timed(function: Callable[[], Any], repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds (this process, all threads) of ``repeat`` calls."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def show(name: str, seconds: tuple[list[float], list[float]]) -> None:
    """One line: median wall seconds [range], then median CPU seconds [range]. On a machine
    shared with other work the wall clock includes waiting for a core; CPU time does not."""
    wall, cpu = seconds
    print(f"{name:<34} wall {statistics.median(wall):6.3f} s [{min(wall):.3f} - "
          f"{max(wall):.3f}]   cpu {statistics.median(cpu):6.3f} s [{min(cpu):.3f} - "
          f"{max(cpu):.3f}]  ({len(wall)} runs)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="objects (default 10M)")
    parser.add_argument("--references", type=float, default=2.5,
                        help="references an object on average (default 2.5)")
    parser.add_argument("--strings", type=int, default=1_000_000,
                        help="distinct strings (labels, names; default 1M)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (default 3)")
    args = parser.parse_args()
    start = time.perf_counter()
    snap = synthetic(args.n, args.references, args.strings)
    print(f"snapshot: {snap.n:,} objects, {snap.m:,} references, {len(snap.strings):,} "
          f"strings (built in {time.perf_counter() - start:.1f} s)", flush=True)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "bench.gcsnap")
        show("save", timed(lambda: save(snap, path, overwrite=True), args.repeat))
        print(f"{'file size':<34} {os.path.getsize(path) / 1e6:7.1f} MB  "
              f"({os.path.getsize(path) / snap.n:.1f} bytes an object)")
        load(path)  # warm-up: the page cache, pyarrow's first calls
        show("load (checksum + tables + checks)", timed(lambda: load(path), args.repeat))
        from gclab.snapshots.query import query

        loaded = load(path)
        show("query SELECT count(*) FROM objects",
             timed(lambda: query(loaded, "SELECT count(*) FROM objects"), args.repeat))


if __name__ == "__main__":
    main()
