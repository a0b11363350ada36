"""``gclab report`` at scale: the model and the page of an N-object snapshot (issue #9 part 7).

Usage::

    .venv/bin/python bench/report.py                     # n = 1,000,000 and 10,000,000
    .venv/bin/python bench/report.py --n 2000000 --repeat 3

The snapshot is a leaking service's heap built with numpy (no capture): a module whose cache
dict holds n/4 sessions, each with a payload list holding an int, plus n/4 objects of garbage in
two-object cycles. Printed per n: the analyses the report runs (garbage dry run, dominators,
suspects, histogram; seconds), the model built from their results, the page rendered and
written, and the page's size: the size stays bounded (the tree keeps 2,000 expanded nodes).
Medians of ``--repeat`` runs after a warm-up. Not part of the test suite; nothing here asserts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gclab.report import model_from_results, write_html
from gclab.snapshots import RootKind, Snapshot
from gclab.snapshots.dominators import dominator_tree
from gclab.snapshots.garbage import dry_run
from gclab.snapshots.histogram import histogram
from gclab.snapshots.leaks import suspects

TYPES = ["builtins.module", "builtins.dict", "app.Session", "builtins.list", "builtins.int",
         "app.Request", "app.Response"]


def leaking_heap(n: int) -> Snapshot:
    """The heap of the module docstring with about ``n`` nodes."""
    k = max(1, n // 4)                    # sessions; each has a list and an int
    g = max(1, n // 8)                    # garbage cycles of two
    sessions = 2 + np.arange(k)
    lists, ints = sessions + k, sessions + 2 * k
    requests = 2 + 3 * k + 2 * np.arange(g)
    total = 2 + 3 * k + 2 * g
    src = np.concatenate([[0], np.full(k, 1), sessions, lists, requests, requests + 1])
    dst = np.concatenate([[1], sessions, lists, ints, requests + 1, requests])
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    type_index = np.concatenate([[0, 1], np.full(k, 2), np.full(k, 3), np.full(k, 4),
                                 np.tile([5, 6], g)])
    size = np.array([72, 232, 48, 184, 28, 48, 48])[type_index]
    refcount = np.bincount(dst, minlength=total)
    refcount[0] += 1
    return Snapshot.from_arrays(
        address=np.uint64(0x7F00_0000_0000) + np.uint64(64) * np.arange(total, dtype=np.uint64),
        type_index=type_index, size=size, refcount=refcount, generation=np.full(total, 2),
        flags=np.ones(total, dtype=np.uint8), label=np.full(total, -1),
        ref_start=np.concatenate([[0], np.cumsum(np.bincount(src, minlength=total))]),
        ref_target=dst, ref_kind=np.zeros(len(dst), dtype=np.uint8), ref_name=np.full(len(dst), -1),
        root_node=[0], root_kind=[RootKind.MODULE], root_name=[0], types=TYPES,
        strings=["sys.modules['app']"], meta={"python": "3.11.7", "pid": 1})


def timed(repeat: int, work: Callable[[], Any]) -> tuple[float, float, float, Any]:
    """Median, min and max seconds of ``repeat`` runs after a warm-up; the last result."""
    result = work()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - began)
    return statistics.median(times), min(times), max(times), result


def bench_one(n: int, repeat: int) -> None:
    """Print the report's steps on an ``n``-object heap (see the module docstring)."""
    sys.stderr.write(f"bench/report.py: building a {n:,}-object heap\n")
    snap = leaking_heap(n)
    steps: dict[str, Any] = {}
    for name, work in [("garbage dry run", lambda: dry_run(snap)),
                       ("dominators + retained", lambda: dominator_tree(snap)),
                       ("leak suspects", lambda: suspects(snap)),
                       ("type histogram", lambda: histogram(snap))]:
        median, low, high, steps[name] = timed(repeat, work)
        print(f"{snap.n:>12,} {name:<28} {median:>9.3f} {low:>8.3f}-{high:<8.3f}")
    median, low, high, model = timed(repeat, lambda: model_from_results(
        snap, garbage=steps["garbage dry run"], tree=steps["dominators + retained"],
        suspects=steps["leak suspects"], histogram=steps["type histogram"]))
    print(f"{snap.n:>12,} {'report model':<28} {median:>9.3f} {low:>8.3f}-{high:<8.3f}")
    with tempfile.TemporaryDirectory() as work_dir:
        page = Path(work_dir) / "report.html"
        median, low, high, size = timed(repeat, lambda: write_html(model, page, overwrite=True))
    print(f"{snap.n:>12,} {'page rendered + written':<28} {median:>9.3f} "
          f"{low:>8.3f}-{high:<8.3f}")
    print(f"{snap.n:>12,} page: {size / 2**20:.2f} MiB, {len(model.tree['nodes']):,} tree "
          f"nodes, {len(model.tree['children']):,} expanded, {len(model.suspects)} suspect(s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, action="append",
                        help="objects (repeatable; default 1,000,000 and 10,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (default 3)")
    args = parser.parse_args(argv)
    print(f"{'n':>12} {'step':<28} {'median s':>9} {'range':>17}")
    for n in args.n or [1_000_000, 10_000_000]:
        bench_one(n, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
