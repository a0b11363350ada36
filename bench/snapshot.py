"""Capture speed and footprint on issue #9's heap (a benchmark, not a test; nothing asserts).

Usage::

    .venv/bin/python bench/snapshot.py                    # 1,300,000 tracked objects, 3 runs
    .venv/bin/python bench/snapshot.py --objects 200000 --repeat 5 --json

A child process (this interpreter, so only the benchmark heap and gclab are on its heap) builds
the heap of the issue: class instances in three-object cycles, each with a list payload of two
small ints (about 1.3M tracked objects and 3.2M references), then times, ``--repeat`` times:

* ``walk``: the agent's walk in this process (what a target pays: :func:`agent.walk`);
* ``build``: turning the walk into a Snapshot with numpy (:func:`capture.build`);
* ``snapshot``: ``gclab.snapshot()`` end to end;
* ``dump``: the agent writing a raw dump file (what ``attach`` runs in the target);

and the peak memory of one walk and of one ``gclab.snapshot()`` per captured node
(``tracemalloc``, in a separate run so that tracing does not slow the timed ones). Medians are
printed with the range (min-max). The attach and analysis helpers extend this file.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")


class Node:
    """One object of a three-object cycle, with a list payload."""

    def __init__(self) -> None:
        self.next: Node | None = None
        self.payload = [1, 2]


def build_heap(tracked: int) -> list[Node]:
    """About ``tracked`` tracked objects: tracked / 6 cycles of three Nodes, each with its
    payload list; returns the list of one Node per cycle (it keeps them alive)."""
    keep = []
    for _ in range(tracked // 6):
        a, b, c = Node(), Node(), Node()
        a.next, b.next, c.next = b, c, a
        keep.append(a)
    return keep


def timed(run, repeat: int) -> list[float]:
    """Wall seconds of ``repeat`` calls of ``run`` (after one warm-up call)."""
    run()
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        out.append(time.perf_counter() - started)
    return out


def time_build(walked: object, repeat: int) -> list[float]:
    """Seconds of turning one finished walk into a Snapshot, ``repeat`` times."""
    from gclab.snapshots import capture

    return timed(lambda: capture.from_walk(walked), repeat)  # type: ignore[arg-type]


def child(tracked: int, repeat: int) -> dict[str, object]:
    """Build the heap, time the capture's parts, measure their peak memory."""
    sys.path.insert(0, SRC)
    import gclab
    from gclab.snapshots import agent

    gc.disable()
    keep = build_heap(tracked)
    gc.collect()
    snap = gclab.snapshot()
    facts: dict[str, object] = {"nodes": snap.n, "references": snap.m,
                                "tracked": int((snap.flags & 1).sum()), "cycles": len(keep),
                                "python": sys.version.split()[0]}
    del snap
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "heap.raw")
        facts["dump"] = timed(lambda: agent.dump(path), repeat)
        facts["dump_bytes"] = os.path.getsize(path)
    facts["walk"] = timed(lambda: agent.walk(), repeat)
    facts["build"] = time_build(agent.walk(), repeat)
    facts["snapshot"] = timed(lambda: gclab.snapshot(), repeat)
    for name, run in (("walk_peak", agent.walk), ("snapshot_peak", gclab.snapshot)):
        tracemalloc.start()
        run()
        facts[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return facts


def summary(seconds: list[float]) -> str:
    """"median (min-max)" in seconds."""
    return f"{statistics.median(seconds):.3f} s ({min(seconds):.3f}-{max(seconds):.3f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="example: bench/snapshot.py --objects 200000")
    parser.add_argument("--objects", type=int, default=1_300_000,
                        help="tracked objects to build (default 1,300,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (default 3)")
    parser.add_argument("--json", action="store_true", help="print the facts as JSON")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.objects, args.repeat)))
        return 0
    print(f"bench/snapshot.py: building {args.objects:,} tracked objects in a child "
          f"process ...", file=sys.stderr)
    done = subprocess.run([sys.executable, __file__, "--child", "--objects", str(args.objects),
                           "--repeat", str(args.repeat)], capture_output=True, text=True,
                          timeout=1800, check=False)
    if done.returncode:
        print(done.stderr, file=sys.stderr)
        return done.returncode
    facts = json.loads(done.stdout)
    if args.json:
        print(json.dumps(facts, sort_keys=True, separators=(",", ":")))
        return 0
    nodes = facts["nodes"]
    print(f"Python {facts['python']}: {nodes:,} nodes ({facts['tracked']:,} tracked), "
          f"{facts['references']:,} references; medians of {args.repeat} runs (range)")
    for key, what in (("walk", "agent walk (in the target)"), ("build", "convert (numpy)"),
                      ("snapshot", "gclab.snapshot() total"), ("dump", "agent dump to file")):
        print(f"  {what:28s} {summary(facts[key])}")
    print(f"  {'walk peak memory':28s} {facts['walk_peak'] / nodes:.1f} bytes/node")
    print(f"  {'snapshot() peak memory':28s} {facts['snapshot_peak'] / nodes:.1f} bytes/node")
    print(f"  {'raw dump size':28s} {facts['dump_bytes'] / nodes:.1f} bytes/node")
    return 0


if __name__ == "__main__":
    sys.exit(main())
