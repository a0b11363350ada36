"""The GC monitor's cost: what the recorder adds to each collection, and how fast a report of
a million events is made.

Usage::

    PYTHONPATH=src .venv/bin/python bench/monitor.py [--collections 20000] [--events 1000000]

* ``per-collection``: ``gc.collect(0)`` on a small heap, the median time per call without and
  with ``gclab.monitor()`` recording (the difference is the callback's cost);
* ``churn``: 2,000,000 two-list cycles made and dropped with default thresholds, wall time
  without and with the monitor, and the share of it the monitor reports as GC pauses;
* ``report``: ``gc_report`` + ``prometheus_text`` over ``--events`` synthetic events.

Not part of the test suite; nothing here asserts.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import numpy as np

from gclab.snapshots.monitor import GcEvents, gc_report, monitor, prometheus_text


def per_collection(count: int) -> tuple[float, float]:
    """Median ns per gc.collect(0) without and with the monitor (5 rounds each)."""
    def one_round() -> float:
        t = time.perf_counter_ns()
        for _ in range(count):
            gc.collect(0)
        return (time.perf_counter_ns() - t) / count

    plain = statistics.median(one_round() for _ in range(5))
    with monitor():
        watched = statistics.median(one_round() for _ in range(5))
    return plain, watched


def churn(cycles: int) -> tuple[float, float, float]:
    """Wall seconds of making and dropping two-list cycles, without and with the monitor,
    and the share of time in GC that the monitor reports."""
    def work() -> float:
        t = time.perf_counter()
        for _ in range(cycles):
            a: list[object] = []
            b: list[object] = [a]
            a.append(b)
        return time.perf_counter() - t

    plain = work()
    with monitor() as mon:
        watched = work()
    return plain, watched, mon.report().gc_share


def report_speed(events: int) -> float:
    """Seconds for gc_report and prometheus_text over ``events`` synthetic events."""
    rng = np.random.default_rng(1)
    generation = rng.choice([0, 1, 2], size=events, p=[0.9, 0.09, 0.01]).astype(np.int8)
    pause = rng.lognormal(10, 1, size=events).astype(np.int64)
    totals = {"total_count": np.bincount(generation, minlength=4),
              "total_pause_ns": np.bincount(generation, weights=pause, minlength=4).astype(
                  np.int64),
              "total_collected": np.zeros(4, np.int64),
              "total_uncollectable": np.zeros(4, np.int64)}
    ev = GcEvents(generation=generation, start_ns=np.arange(events, dtype=np.int64) * 10**6,
                  pause_ns=pause, collected=np.zeros(events, np.int64),
                  uncollectable=np.zeros(events, np.int64),
                  candidates=np.full(events, -1, np.int64), wall_ns=events * 10**6,
                  totals=totals)
    t = time.perf_counter()
    prometheus_text(gc_report(ev))
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collections", type=int, default=20000)
    parser.add_argument("--cycles", type=int, default=2_000_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    plain, watched = per_collection(args.collections)
    print(f"per-collection  gc.collect(0): {plain:,.0f} ns plain, {watched:,.0f} ns monitored "
          f"(+{watched - plain:,.0f} ns per collection)")
    plain_s, watched_s, share = churn(args.cycles)
    print(f"churn           {args.cycles:,} cycles: {plain_s:.3f} s plain, {watched_s:.3f} s "
          f"monitored; {share:.1%} of it in GC pauses")
    print(f"report          {args.events:,} events: gc_report + prometheus_text in "
          f"{report_speed(args.events):.3f} s")


if __name__ == "__main__":
    main()
