"""Attach to a running process with a large heap: wall time and the target's pause (issue #9).

Usage::

    .venv/bin/python bench/attach.py                         # 1,000,000 objects, 3.11, 3 runs
    .venv/bin/python bench/attach.py --n 200000 --python /root/.pyenv/versions/3.8.18/bin/python

The target is a child interpreter holding ``n`` tracked objects (``n/2`` instances of a class,
each with a one-item list) whose main thread is busy in a pure-Python loop that records the
longest gap between two of its iterations: the pause *as the target saw it* (gdb stopping the
process plus the agent's walk). Printed per run: the attach's wall time (gdb, the agent,
converting the dump here), the agent's own time (``meta["pause_seconds"]``), how long gdb held
the process (``attach_stopped_seconds``) and the longest gap the target measured. Not part of
the test suite; nothing here asserts.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGET = r"""
import select, sys, time
class Leak(object):
    def __init__(self, i):
        self.payload = [i]
leaks = [Leak(i) for i in range(int(sys.argv[1]) // 2)]
print("ready", flush=True)
gap = 0.0
last = time.perf_counter()
x = 0
while True:
    now = time.perf_counter()
    gap = max(gap, now - last)
    last = now
    x += 1
    if x % 20000 == 0 and select.select([sys.stdin], [], [], 0)[0]:
        line = sys.stdin.readline().strip()
        if line != "gap":
            break
        print("%.6f" % gap, flush=True)
        gap = 0.0
        last = time.perf_counter()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="tracked objects in the target")
    parser.add_argument("--python", default="/root/.pyenv/versions/3.11.7/bin/python",
                        help="the target's interpreter")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from gclab.snapshots.attach import attach

    child = subprocess.Popen([args.python, "-c", TARGET, str(args.n)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None
    try:
        child.stdout.readline()
        rows = []
        for _ in range(args.repeat):
            child.stdin.write("gap\n")
            child.stdin.flush()
            child.stdout.readline()                       # reset the target's gap
            start = time.perf_counter()
            snap = attach(child.pid, timeout=300)
            wall = time.perf_counter() - start
            child.stdin.write("gap\n")
            child.stdin.flush()
            gap = float(child.stdout.readline())
            meta = snap.meta
            rows.append((wall, meta["pause_seconds"], meta["attach_stopped_seconds"], gap))
            print(f"n={snap.n:,} objects, {snap.m:,} references ({meta['attach_method']}): "
                  f"attach {wall:.2f} s, agent {meta['pause_seconds']:.2f} s, gdb held "
                  f"{meta['attach_stopped_seconds']:.2f} s, converting here "
                  f"{wall - meta['pause_seconds'] - meta['attach_stopped_seconds']:.2f} s, "
                  f"target's longest gap {gap:.2f} s",
                  flush=True)
        med = [statistics.median(col) for col in zip(*rows, strict=True)]
        print(f"median of {args.repeat}: attach {med[0]:.2f} s, agent (pause) {med[1]:.2f} s, "
              f"gdb held {med[2]:.2f} s, target's longest gap {med[3]:.2f} s "
              f"(python {args.python}, n={args.n:,})")
    finally:
        child.kill()
        child.wait()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
