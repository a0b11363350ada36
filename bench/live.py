"""Live analysis of a real process's heap: gclab against guppy3, Pympler, objgraph and refcycle.

Usage::

    .venv/bin/python bench/live.py                        # 1,300,000 tracked objects, 3 runs
    .venv/bin/python bench/live.py --n 10000000 --tools gclab --repeat 1   # the 10M target
    .venv/bin/python bench/live.py --tools gclab,objgraph --repeat 5

The heap (issue #9's benchmark): class instances in three-object cycles, each instance with a
one-item list payload, held by a module-level list (9 in 10 cycles) or dropped with the
collector disabled (1 in 10: cyclic garbage); ``--n`` counts the tracked objects (instances and
payload lists), about 2.3 references each.

Each tool runs in a fresh child process that builds the same heap and then times, after one
warm-up run where the tool allows it:

* ``gclab``: ``gclab.snapshot()`` (capture), then the garbage dry run, the dominator tree and
  retained sizes (``snap.garbage()``, ``snap.dominators()``), each timed and the total (after
  ``kernel_load``: the compiled kernels loaded once from numba's cache, printed apart);
* ``guppy3``: ``hpy().heap()``;  ``pympler``: ``summary.summarize(muppy.get_objects())``;
* ``objgraph``: ``get_leaking_objects()``;  ``refcycle``: ``snapshot()`` then
  ``strongly_connected_components()``.

Also printed: the peak memory the gclab capture adds (``VmHWM`` growth, bytes per tracked
object). Not part of the test suite; nothing here asserts.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

TOOLS = ("gclab", "guppy3", "pympler", "objgraph", "refcycle")


class Node:
    """One instance of a three-object cycle; ``payload`` is its one-item list."""

    def __init__(self, payload: list[int]) -> None:
        self.next: Node | None = None
        self.payload = payload


HEAP: list[Node] = []


def build(n: int) -> None:
    """``n`` tracked objects (n/6 cycles of three instances, each with a payload list)."""
    gc.disable()
    for k in range(n // 6):
        a, b, c = Node([k]), Node([k]), Node([k])
        a.next, b.next, c.next = b, c, a
        if k % 10:
            HEAP.append(a)
    gc.enable()


def vm_hwm() -> int:
    """The process's peak resident memory in bytes (Linux ``VmHWM``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _time(step: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    result = step()
    return time.perf_counter() - t, result


def warm_up() -> float:
    """Import the capture and load the analyses' compiled kernels (numba's on-disk cache) on a
    three-object snapshot: what a process pays once, timed apart from the capture."""
    import gclab.snapshots.capture  # noqa: F401
    from gclab import _jit
    from gclab.snapshots import Snapshot

    t = time.perf_counter()
    _jit.activate()  # a three-object snapshot alone would run the plain twins (engine.md)
    tiny = Snapshot.from_edges(types=["t"], type_index=[0, 0, 0], edges=[(0, 1), (1, 0)],
                               roots=[(0, 0, "m.x")])
    tiny.garbage()
    tiny.dominators()
    return time.perf_counter() - t


def run_gclab() -> dict[str, float]:
    import gclab

    load = warm_up()
    before = vm_hwm()
    capture, snap = _time(gclab.snapshot)
    peak = vm_hwm() - before
    garbage, _ = _time(snap.garbage)  # type: ignore[attr-defined]
    dominators, _ = _time(snap.dominators)  # type: ignore[attr-defined]
    return {"capture": capture, "garbage": garbage, "dominators": dominators,
            "total": capture + garbage + dominators, "peak_bytes": float(peak),
            "kernel_load": load,
            "nodes": float(snap.n), "references": float(snap.m)}  # type: ignore[attr-defined]


def run_peer(tool: str) -> dict[str, float]:
    if tool == "guppy3":
        from guppy import hpy
        step: Callable[[], object] = lambda: hpy().heap()  # noqa: E731
    elif tool == "pympler":
        from pympler import muppy, summary
        step = lambda: summary.summarize(muppy.get_objects())  # noqa: E731
    elif tool == "objgraph":
        import objgraph
        step = objgraph.get_leaking_objects
    else:
        import refcycle
        step = lambda: refcycle.snapshot().strongly_connected_components()  # noqa: E731
    seconds, result = _time(step)
    del result
    return {"total": seconds}


def child(tool: str, n: int) -> None:
    build(n)
    tracked = len(gc.get_objects())
    result = run_gclab() if tool == "gclab" else run_peer(tool)
    result["tracked"] = float(tracked)
    print(json.dumps(result))


def measure(tool: str, n: int, repeat: int) -> list[dict[str, float]]:
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, __file__, "--child", tool, "--n", str(n)],
                             capture_output=True, text=True, timeout=1800, check=False)
        if out.returncode:
            sys.stderr.write(f"bench/live.py: {tool} failed:\n{out.stderr[-2000:]}\n")
            return []
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return runs


def spread(values: list[float]) -> str:
    return (f"{statistics.median(values):7.3f} s  ({min(values):.3f}–{max(values):.3f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_300_000, help="tracked objects to build")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool (fresh processes)")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated tools")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print the runs as JSON")
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.n)
        return 0
    results = {}
    print(f"bench/live.py: n = {args.n:,} tracked objects, median of {args.repeat} fresh "
          f"processes (range), Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for tool in args.tools.split(","):
        runs = measure(tool, args.n, args.repeat)
        results[tool] = runs
        if not runs:
            continue
        if tool == "gclab":
            for key in ("kernel_load", "capture", "garbage", "dominators", "total"):
                print(f"  gclab {key:<22}{spread([r[key] for r in runs])}")
            peak = statistics.median(r["peak_bytes"] / r["tracked"] for r in runs)
            print(f"  gclab capture peak memory    {peak:7.1f} bytes per tracked object "
                  f"({int(runs[0]['nodes']):,} nodes, {int(runs[0]['references']):,} refs)")
        else:
            print(f"  {tool:<28}{spread([r['total'] for r in runs])}")
    base = results.get("gclab")
    if base:
        total = statistics.median(r["total"] for r in base)
        for tool, runs in results.items():
            if tool != "gclab" and runs:
                other = statistics.median(r["total"] for r in runs)
                print(f"  gclab (capture + dry run + dominators) / {tool}: "
                      f"{total / other:.2f}")
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
