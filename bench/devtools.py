"""How fast a snapshot is exported as a Chrome DevTools ``.heapsnapshot``, how big the file is,
and (``--memlab``) how long memlab takes to load it and whether its retained sizes equal
gclab's on every reachable object.

Usage::

    .venv/bin/python bench/devtools.py                    # 1,300,000 tracked objects, 3 runs
    .venv/bin/python bench/devtools.py --n 10000000 --repeat 1
    .venv/bin/python bench/devtools.py --memlab           # also load the file with memlab

The snapshot is ``bench/analyses.py``'s synthetic one, shaped like issue #9's benchmark heap
(class instances in three-object cycles, each with a list payload; 9 in 10 cycles held by a
module list). Timed, after one warm-up (numba compiles and caches): ``export_heapsnapshot``
to a temporary folder (the OS page cache absorbs the writes). Medians with ranges; not part
of the test suite; nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analyses import bench_snapshot, spread, timings

from gclab import _jit
from gclab.snapshots.devtools import export_heapsnapshot, node_ids

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "memlab" / "retained.js"


def memlab_check(snap: object, path: str, synthetic: int) -> None:
    """Load ``path`` with memlab (tools/memlab/retained.js) and compare its retained sizes with
    gclab's dominator tree on every reachable object; print the time and the verdict."""
    from gclab.snapshots.dominators import dominator_tree

    started = time.perf_counter()
    done = subprocess.run(["node", "--max-old-space-size=8192", str(SCRIPT), path],
                          capture_output=True, text=True, timeout=1800, check=False)
    seconds = time.perf_counter() - started
    if done.returncode:
        print(f"memlab failed ({seconds:.1f} s): {done.stderr.strip()[-500:]}")
        return
    answer = json.loads(done.stdout)
    tree = dominator_tree(snap)  # type: ignore[arg-type]
    ids = node_ids(snap, synthetic)[0]  # type: ignore[arg-type]
    by_id = dict(zip(answer["ids"], answer["retained"], strict=True))
    reachable = np.flatnonzero(tree.reachable)
    theirs = np.array([by_id[int(i)] for i in ids[reachable]], dtype=np.int64)
    differ = int((theirs != tree.retained[reachable]).sum())
    print(f"memlab {answer['memlab']}: loaded and computed retained sizes in {seconds:.1f} s "
          f"(node start included); {len(reachable):,} reachable objects, "
          f"{differ:,} retained sizes differ from gclab's")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_300_000, help="tracked objects")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs")
    parser.add_argument("--memlab", action="store_true", help="load the file with memlab too")
    args = parser.parse_args(argv)
    snap = bench_snapshot(args.n)
    print(f"snapshot: {snap.n:,} nodes, {snap.m:,} references; numba "
          f"{'on' if _jit.ENABLED else 'off (GCLAB_JIT=0)'}")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bench.heapsnapshot")
        summary = export_heapsnapshot(snap, path, overwrite=True)

        def export() -> None:
            export_heapsnapshot(snap, path, overwrite=True)

        spent = timings(export, args.repeat)
        print(f"export_heapsnapshot: {spread(spent)}; {summary.bytes / 1e6:,.1f} MB "
              f"({summary.bytes / snap.n:.1f} bytes per object), "
              f"{summary.nodes:,} nodes, {summary.edges:,} edges, {summary.id_clashes} id clashes")
        if args.memlab:
            memlab_check(snap, path, summary.synthetic)
    return 0


if __name__ == "__main__":
    sys.exit(main())
