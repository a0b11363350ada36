"""gclab vs CPython: the same-shaped object graph built and collected on both (issue #3).

Usage::

    .venv/bin/python bench/run.py                       # every case, n = 1,000,000, 3 runs
    .venv/bin/python bench/run.py --cases survivors,build --n 100000 --repeat 5
    .venv/bin/python bench/run.py --cases scale --scale-n 50000000

Each case times one thing (the median of ``--repeat`` runs after one warm-up run): the CPython
side runs in a fresh interpreter (``sys.executable``, so that only the benchmark graph is on its
heap), the gclab side in this process with the compiled kernels (``GCLAB_JIT=0`` times the
oracles). Not part of the test suite; nothing here asserts.

Cases (``n`` objects):

* ``survivors``: n live lists reachable from one list; one full collection.
* ``garbage-pairs``: n/2 unreachable two-list cycles; one full collection, freeing included.
* ``garbage-ring``: one unreachable ring of n lists; one full collection.
* ``young-churn``: n/2 two-list cycles made and dropped one by one with default thresholds;
  total time inside automatic collections (``gc.callbacks`` on both sides). gclab makes them
  through the bulk API in batches of 50 cycles.
* ``chain-free``: drop the last reference to an n-long chain of lists.
* ``churned``: 2n small lists (each holding one int) held by a root list, a random half
  (seeded) dropped, n new lists made into the holes, the old half dropped; one full
  collection of the n survivors (a fresh churned heap for every run, built outside the timer).
* ``build``: build the ``survivors`` graph (CPython: a plain loop; gclab: the bulk API, the
  root's id handed to ``set_slots`` as a broadcast view); reported as slot writes per second.
* ``scale``: build and fully collect ``--scale-n`` objects in gclab alone (a child process,
  for its peak memory; the build time includes making the heap, after a small warm-up build
  that imports gclab and loads the kernels).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

CASES = ("survivors", "garbage-pairs", "garbage-ring", "young-churn", "chain-free", "churned",
         "build", "scale")
CHURN_SEED = 10  # the random half the churned case drops
CHURN_BATCH = 50  # cycles per bulk call in gclab's young-churn
SCALE_TIMEOUT = 900  # seconds the scale child may take


# -- CPython side (runs in a child interpreter: `run.py --cpython CASE N REPEAT`) ----------------


def _cp_survivors(n: int) -> Callable[[], float]:
    gc.disable()
    root = [[] for _ in range(n)]
    gc.collect()

    def run() -> float:
        t = time.perf_counter()
        gc.collect()
        return time.perf_counter() - t
    run.keep = root  # type: ignore[attr-defined]
    return run


def _cp_garbage(n: int, shape: str) -> Callable[[], float]:
    gc.disable()

    def run() -> float:
        if shape == "pairs":
            for _ in range(n // 2):
                a: list[object] = []
                b = [a]
                a.append(b)
            del a, b
        else:
            first: list[object] = []
            node = first
            for _ in range(n - 1):
                node = [node]
            first.append(node)
            del first, node
        t = time.perf_counter()
        gc.collect()
        return time.perf_counter() - t
    return run


def _pause_timer() -> tuple[Callable[[str, dict[str, object]], None], list[float]]:
    """A ``gc.callbacks`` callback and the seconds it has summed between "start" and "stop"."""
    spent = [0.0]
    started = [0.0]

    def callback(phase: str, info: dict[str, object]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            spent[0] += time.perf_counter() - started[0]
    return callback, spent


def _cp_churn(n: int) -> Callable[[], float]:
    callback, spent = _pause_timer()
    gc.callbacks.append(callback)
    gc.enable()

    def run() -> float:
        gc.collect()
        spent[0] = 0.0
        for _ in range(n // 2):
            a: list[object] = []
            b = [a]
            a.append(b)
        return spent[0]
    return run


def _cp_chain_free(n: int) -> Callable[[], float]:
    gc.disable()

    def run() -> float:
        node = None
        for _ in range(n):
            node = [node]
        t = time.perf_counter()
        del node
        return time.perf_counter() - t
    return run


def _cp_churned(n: int) -> Callable[[], float]:
    gc.disable()

    def run() -> float:
        order = np.random.default_rng(CHURN_SEED).permutation(2 * n)
        old: list[object] = [[0] for _ in range(2 * n)]
        for k in order[:n].tolist():  # a random half dies
            old[k] = None
        new = [[0] for _ in range(n)]  # into the holes
        for k in order[n:].tolist():  # the old half dies
            old[k] = None
        del old
        t = time.perf_counter()
        gc.collect()
        elapsed = time.perf_counter() - t
        del new
        gc.collect()
        return elapsed
    return run


def _cp_build(n: int) -> Callable[[], float]:
    gc.disable()

    def run() -> float:
        t = time.perf_counter()
        root = []
        for _ in range(n):
            root.append([])
        elapsed = time.perf_counter() - t
        del root
        return elapsed
    return run


def _cp_sizes(n: int) -> dict[str, float]:
    root = [[] for _ in range(n)]
    total = sys.getsizeof(root) + sum(sys.getsizeof(x) for x in root)
    return {"bytes_per_object": total / (n + 1), "references": n}


def cpython_child(case: str, n: int, repeat: int) -> None:
    """Time one case in this (fresh) interpreter; print a JSON result."""
    makers: dict[str, Callable[[int], Callable[[], float]]] = {
        "survivors": _cp_survivors,
        "garbage-pairs": lambda k: _cp_garbage(k, "pairs"),
        "garbage-ring": lambda k: _cp_garbage(k, "ring"),
        "young-churn": _cp_churn,
        "chain-free": _cp_chain_free,
        "churned": _cp_churned,
        "build": _cp_build,
    }
    run = makers[case](n)
    times = _measure(run, repeat)
    out: dict[str, object] = {"times": times}
    if case == "survivors":
        out.update(_cp_sizes(n))
    print(json.dumps(out))


def cpython(case: str, n: int, repeat: int) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--cpython", case, str(n), str(repeat)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _measure(run: Callable[[], float], repeat: int) -> list[float]:
    run()  # warm-up
    return [run() for _ in range(repeat)]


# -- gclab side ------------------------------------------------------------------------------------


def _heap(**kwargs: object):  # type: ignore[no-untyped-def]
    import gclab

    profile = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return gclab.Heap(profile if profile in gclab.PROFILES else None, **kwargs)


def _survivors_graph(heap, n: int) -> tuple[int, np.ndarray]:  # type: ignore[no-untyped-def]
    """A root list held externally, holding n lists that nothing else holds (the root's id
    repeated as a broadcast view: int32 inputs of any layout are used as they are). The root
    is made by the bulk call too (one object of n slots, written as one slice)."""
    root = int(heap.alloc_many("list", 1, n)[0])
    ids = heap.alloc_many("list", n)
    heap.set_slots(np.broadcast_to(np.int32(root), n), np.arange(n, dtype=np.int32), ids)
    heap.decref_many(ids)
    return root, ids


def _gl_survivors(n: int) -> Callable[[], float]:
    heap = _heap(capacity=n + 64)
    heap.gc.disable()
    _survivors_graph(heap, n)
    heap.gc.collect()

    def run() -> float:
        t = time.perf_counter()
        heap.gc.collect()
        return time.perf_counter() - t
    run.heap = heap  # type: ignore[attr-defined]
    return run


def _gl_garbage(n: int, shape: str) -> Callable[[], float]:
    heap = _heap(capacity=n + 64)
    heap.gc.disable()

    def run() -> float:
        ids = heap.alloc_many("list", n if shape == "ring" else n // 2 * 2, 1)
        zeros = np.zeros(len(ids), np.int32)
        if shape == "pairs":
            targets = ids.reshape(-1, 2)[:, ::-1].ravel()  # a -> b, b -> a
        else:
            targets = np.roll(ids, -1)  # each list holds the next, the last the first
        heap.set_slots(ids, zeros, targets)
        heap.decref_many(ids)
        t = time.perf_counter()
        heap.gc.collect()
        return time.perf_counter() - t
    return run


def _gl_churn(n: int) -> Callable[[], float]:
    heap = _heap(capacity=4096)
    callback, spent = _pause_timer()
    heap.gc.callbacks.append(callback)
    zeros = np.zeros(2 * CHURN_BATCH, np.int32)

    def run() -> float:
        heap.gc.collect()
        spent[0] = 0.0
        for _ in range(n // 2 // CHURN_BATCH):
            ids = heap.alloc_many("list", 2 * CHURN_BATCH, 1)
            heap.set_slots(ids, zeros, ids.reshape(-1, 2)[:, ::-1].ravel())
            heap.decref_many(ids)
        return spent[0]
    return run


def _gl_chain_free(n: int) -> Callable[[], float]:
    heap = _heap(capacity=n + 64)
    heap.gc.disable()

    def run() -> float:
        ids = heap.alloc_many("list", n, 1)
        heap.set_slots(ids[1:], np.zeros(n - 1, np.int32), ids[:-1])  # node k holds node k-1
        heap.decref_many(ids[:-1])
        t = time.perf_counter()
        heap.decref(int(ids[-1]))
        return time.perf_counter() - t
    return run


def _gl_churned(n: int) -> Callable[[], float]:
    def run() -> float:
        heap = _heap(capacity=2 * n + 64)
        heap.gc.disable()
        order = np.random.default_rng(CHURN_SEED).permutation(2 * n)
        one, zeros = heap.atom(0), np.zeros(2 * n, np.int32)
        old = heap.alloc_many("list", 2 * n, 1)
        heap.set_slots(old, zeros, np.full(2 * n, one, np.int32))
        heap.decref_many(old[order[:n]])  # a random half dies
        root = int(heap.alloc("list", n))
        new = heap.alloc_many("list", n, 1)  # into the holes
        heap.set_slots(new, zeros[:n], np.full(n, one, np.int32))
        heap.set_slots(np.full(n, root, np.int32), np.arange(n, dtype=np.int32), new)
        heap.decref_many(new)
        heap.decref_many(old[order[n:]])  # the old half dies
        t = time.perf_counter()
        heap.gc.collect()
        return time.perf_counter() - t
    return run


def _gl_build(n: int) -> Callable[[], float]:
    def run() -> float:
        heap = _heap(capacity=n + 64)
        heap.gc.disable()
        t = time.perf_counter()
        _survivors_graph(heap, n)
        return time.perf_counter() - t
    return run


def gclab_sizes(heap) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Bytes per live object (the table's columns) and per reference (the pool)."""
    t = heap.table
    row_bytes = sum(getattr(t, name).itemsize for name in t.COLUMNS)
    refs = int(t.ref_len[: t.top].sum())
    return {"bytes_per_object": row_bytes, "bytes_per_reference": t.pool.itemsize,
            "allocated_bytes": sum(getattr(t, c).nbytes for c in t.COLUMNS) + t.pool.nbytes,
            "live": t.live, "references": refs}


def scale_child(n: int) -> None:
    """Build an n-object survivors heap through the bulk API and fully collect it."""
    from gclab import _jit

    _jit.activate()  # compiled helpers now, not at the first large array (part 5's switch)
    _survivors_graph(_heap(), 1000)  # warm-up: gclab imported, kernels loaded (not timed)
    marks = [time.perf_counter()]
    heap = _heap(capacity=n + 64)
    heap.gc.disable()
    marks.append(time.perf_counter())
    m = n - 1  # _survivors_graph's steps, each timed
    root = int(heap.alloc_many("list", 1, m)[0])
    ids = heap.alloc_many("list", m)
    marks.append(time.perf_counter())
    indices = np.arange(m, dtype=np.int32)  # the caller's input, timed as its own step
    marks.append(time.perf_counter())
    heap.set_slots(np.broadcast_to(np.int32(root), m), indices, ids)
    marks.append(time.perf_counter())
    heap.decref_many(ids)
    marks.append(time.perf_counter())
    del ids, indices
    built = marks[-1] - marks[0]
    stages = dict(zip(("heap", "alloc_many", "indices", "set_slots", "decref_many"),
                      np.diff(marks).tolist(), strict=True))
    t1 = time.perf_counter()
    heap.gc.collect()
    collected = time.perf_counter() - t1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"build": built, "collect": collected, "peak": peak, "stages": stages,
                      "first_touch": _first_touch_seconds_per_gib(), **gclab_sizes(heap)}))


def _first_touch_seconds_per_gib() -> float:
    """Seconds per GiB to write fresh numpy memory here (256 MiB of zeros, written once): the
    floor under a big build, which writes every column of every new row for the first time."""
    block = np.zeros(2**26, np.int32)
    t = time.perf_counter()
    block.fill(1)
    return (time.perf_counter() - t) * 4


# -- driver ----------------------------------------------------------------------------------------


GCLAB_CASES: dict[str, Callable[[int], Callable[[], float]]] = {
    "survivors": _gl_survivors,
    "garbage-pairs": lambda n: _gl_garbage(n, "pairs"),
    "garbage-ring": lambda n: _gl_garbage(n, "ring"),
    "young-churn": _gl_churn,
    "chain-free": _gl_chain_free,
    "churned": _gl_churned,
    "build": _gl_build,
}


def kernel_start_time() -> float:
    """Seconds to import gclab and run one tiny collection (compiling or loading kernels)."""
    code = ("import time; t=time.perf_counter(); import gclab; h=gclab.Heap(); "
            "a=h.list(); a.append(a); del a; h.gc.collect(); print(time.perf_counter()-t)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return float(done.stdout.strip())



def _positive_int(text: str) -> int:
    """argparse type: an int >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma-separated, from: {', '.join(CASES)}")
    parser.add_argument("--n", type=_positive_int, default=1_000_000, help="objects per case")
    parser.add_argument("--repeat", type=_positive_int, default=3,
                        help="timed runs (median reported)")
    parser.add_argument("--scale-n", type=_positive_int, default=50_000_000)
    parser.add_argument("--cpython", nargs=3, metavar=("CASE", "N", "REPEAT"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--scale-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cpython:
        cpython_child(args.cpython[0], int(args.cpython[1]), int(args.cpython[2]))
        return
    if args.scale_child:
        scale_child(args.scale_child)
        return
    cases = [c for c in args.cases.split(",") if c]
    unknown = set(cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    from gclab._jit import ENABLED

    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, kernels "
          f"{'compiled' if ENABLED else 'OFF (GCLAB_JIT=0)'}, n={args.n:,}, "
          f"median of {args.repeat} after 1 warm-up, {os.cpu_count()} cpus")
    print(f"kernel start (import + first collection, fresh process): "
          f"{kernel_start_time():.2f} s")
    print(f"{'case':<15}{'CPython s':>12}{'gclab s':>12}{'ratio':>9}  note")
    for case in cases:
        if case == "scale":
            _report_scale(args.scale_n)
            continue
        cp = cpython(case, args.n, args.repeat)
        run = GCLAB_CASES[case](args.n)
        gl = _measure(run, args.repeat)
        cp_t, gl_t = statistics.median(cp["times"]), statistics.median(gl)  # type: ignore[arg-type]
        note = ""
        if case == "build":
            note = (f"gclab {args.n / gl_t / 1e6:.1f}M slot writes/s, "
                    f"CPython {args.n / cp_t / 1e6:.1f}M appends/s")
        if case == "churned":
            note = (f"gclab {gl_t / args.n * 1e9:.0f} ns/object ({_span(gl, args.n)}), CPython "
                    f"{cp_t / args.n * 1e9:.0f} ({_span(cp['times'], args.n)})")  # type: ignore[arg-type]
        if case == "survivors":
            sizes = gclab_sizes(run.heap)  # type: ignore[attr-defined]
            note = (f"gclab {sizes['bytes_per_object']} B/object + "
                    f"{sizes['bytes_per_reference']} B/reference; CPython "
                    f"{cp['bytes_per_object']:.0f} B/object (getsizeof) + 8 B/reference")
        print(f"{case:<15}{cp_t:>12.4f}{gl_t:>12.4f}{gl_t / cp_t:>9.2f}  {note}")
        del run
        gc.collect()


def _span(times: list[float], n: int) -> str:
    """The range of ``times`` in ns per object."""
    return f"{min(times) / n * 1e9:.0f}-{max(times) / n * 1e9:.0f}"


def _report_scale(n: int) -> None:
    try:
        done = subprocess.run([sys.executable, __file__, "--scale-child", str(n)],
                              capture_output=True, text=True, timeout=SCALE_TIMEOUT)
    except subprocess.TimeoutExpired:
        print(f"{'scale':<15}{'-':>12}{'failed':>12}{'':>9}  no result in {SCALE_TIMEOUT} s")
        return
    if done.returncode:
        print(f"{'scale':<15}{'-':>12}{'failed':>12}{'':>9}  {done.stderr.strip()[-200:]}")
        return
    r = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{'scale':<15}{'-':>12}{r['collect']:>12.4f}{'':>9}  {n:,} objects: build "
          f"{r['build']:.1f} s, full collection {r['collect']:.2f} s, peak RSS "
          f"{r['peak'] / 2**30:.2f} GiB ({r['peak'] / n:.0f} B/object); build steps (s): "
          + ", ".join(f"{k} {v:.2f}" for k, v in r["stages"].items())
          + f"; first touch of fresh memory here {r['first_touch']:.2f} s/GiB")


if __name__ == "__main__":
    main()
