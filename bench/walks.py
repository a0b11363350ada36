"""How fast the kernels walk a collector list, by the layout of its ids (docs/design/engine.md).

Usage::

    .venv/bin/python bench/walks.py            # 1,000,000 members, median of 9

For each layout (ascending ids, descending, pairs as allocated from the LIFO free-id stack,
random) it times ``heap._jit_lists.list_size`` (the run loop every kernel walk uses) against a
plain ``node = gc_next[node]`` chain compiled the same way, and prints both and their ratio.
Not part of the test suite; nothing here asserts.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numba
import numpy as np

from gclab.heap import _jit_lists as lists
from gclab.heap.table import N_HEADS

HEAD = 4


@numba.njit(cache=True, nogil=True)
def chain_size(gc_next, head):  # type: ignore[no-untyped-def]
    """A plain walk: each step waits for the previous load."""
    count = 0
    node = gc_next[head]
    while node != head:
        count += 1
        node = gc_next[node]
    return count


def ring(order: np.ndarray) -> np.ndarray:
    """A gc_next column whose list at HEAD visits ``order`` (ids offset past the heads)."""
    ids = order.astype(np.int32) + N_HEADS
    gc_next = np.full(len(ids) + N_HEADS, -1, np.int32)
    gc_next[HEAD] = ids[0]
    gc_next[ids[:-1]] = ids[1:]
    gc_next[ids[-1]] = HEAD
    return gc_next


def layouts(n: int) -> dict[str, np.ndarray]:
    pairs = np.arange(n - n % 2).reshape(-1, 2)[::-1].ravel()
    return {"ascending": np.arange(n), "descending": np.arange(n)[::-1],
            "pairs": pairs, "random": np.random.default_rng(1).permutation(n)}


def median_times(walks: list[Callable[[np.ndarray, int], object]], gc_next: np.ndarray,
                 repeat: int) -> list[float]:
    """Median seconds of each walk over ``gc_next``, the walks interleaved run by run."""
    for walk in walks:
        walk(gc_next, HEAD)  # warm-up (and compile)
    times: list[list[float]] = [[] for _ in walks]
    for _ in range(repeat):
        for walk, spent in zip(walks, times, strict=True):
            t = time.perf_counter()
            walk(gc_next, HEAD)
            spent.append(time.perf_counter() - t)
    return [statistics.median(spent) for spent in times]


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an int of at least ``minimum``."""
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=_int_at_least(2), default=1_000_000)
    parser.add_argument("--repeat", type=_int_at_least(1), default=9)
    args = parser.parse_args()
    print(f"{'layout':<12}{'runs ms':>10}{'chain ms':>10}{'ratio':>8}")
    for name, order in layouts(args.n).items():
        gc_next = ring(order)
        runs, chain = median_times([lists._list_size, chain_size], gc_next, args.repeat)
        print(f"{name:<12}{runs * 1e3:>10.2f}{chain * 1e3:>10.2f}{runs / chain:>8.2f}")


if __name__ == "__main__":
    main()
