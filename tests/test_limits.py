"""Requests the heap cannot hold: a typed error before anything changes, and a real
MemoryError while growing leaves every row, id, ``count[0]`` and ``table.live`` as they were.

The limits (:class:`~gclab.errors.HeapFullError`, a MemoryError) are checked in this process.
Real MemoryErrors are made in a child interpreter whose address space is capped just above
what it uses (``resource.setrlimit(RLIMIT_AS)``), so numpy's allocations fail for real; the
child compares numpy copies of the table before and after and prints what differs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import gclab
from gclab.errors import HeapFullError
from gclab.heap.table import MAX_SLOTS, POOL_LIMIT
from heapstate import assert_raises_unchanged


@pytest.mark.parametrize("size", [MAX_SLOTS + 1, 2**33], ids=repr)
def test_alloc_size_past_the_slot_limit(size: int) -> None:
    """Checked before the allocation is counted: count[0] and table.live stay as they were
    (the row used to exist already, nobody owning it)."""
    heap = gclab.Heap()
    error = assert_raises_unchanged(heap, lambda: heap.alloc("list", size), HeapFullError,
                                    names=str(size))
    assert isinstance(error, MemoryError)


@pytest.mark.parametrize(("count", "size", "names"), [
    (2, 2**32, "2147483647 slots"),  # one object too big
    (4, 2**30, "reference pool is full"),  # count * size past the pool
    (2**31, 0, "ids are int32"),  # more ids than int32 holds
    (2**40, 1, "ids are int32"),
], ids=["size", "count*size", "ids", "huge count"])
def test_alloc_many_past_the_limits(count: int, size: int, names: str) -> None:
    heap = gclab.Heap()
    assert_raises_unchanged(heap, lambda: heap.alloc_many("list", count, size), HeapFullError,
                            names=names)


def test_pool_limit_counts_live_references_only() -> None:
    """Holes left by freed objects do not count against the pool's limit."""
    heap = gclab.Heap()
    table = heap.table
    table.pool_top, table.pool_holes = POOL_LIMIT - 10, POOL_LIMIT - 10  # all holes (faked)
    table.check_room(1, 100)
    table.pool_holes = 0
    with pytest.raises(HeapFullError):
        table.check_room(1, 100)


_CHILD = textwrap.dedent('''
    import json, resource, sys
    import numpy as np
    import gclab

    def vm_size():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024

    def state(heap):
        t = heap.table
        return {"columns": {n: getattr(t, n)[: t.top].copy() for n in t.COLUMNS},
                "pool": t.pool[: t.pool_top].copy(),
                "scalars": [t.top, t.live, t.pool_top, t.pool_holes, t.free_ids.tolist(),
                            list(heap.gc.get_count())]}

    def differences(before, heap):
        after, t = state(heap), heap.table
        out = [k for k in before["columns"]
               if not np.array_equal(before["columns"][k], after["columns"][k])]
        if not np.array_equal(before["pool"], after["pool"]):
            out.append("pool")
        if before["scalars"] != after["scalars"]:
            out.append(f"scalars {before['scalars']} -> {after['scalars']}")
        lengths = {len(getattr(t, n)) for n in t.COLUMNS}
        if len(lengths) != 1:
            out.append(f"columns of different lengths {sorted(lengths)}")
        return out

    def grown_rows():
        heap = gclab.Heap(capacity=2_000_000)
        heap.gc.disable()
        heap.alloc_many("list", heap.table.capacity - heap.table.top)  # full: the next grows
        return heap, lambda: heap.alloc("list")

    def appended():
        heap = gclab.Heap()
        big = heap.alloc("list", 2**22)
        other = heap.alloc("list")
        return heap, lambda: heap.append_slot(big, other)  # the slice moves, the pool grows

    def weakref_to_full_table():
        heap, _ = grown_rows()
        target = heap.alloc("set")  # reuses nothing: the table is full again after this
        heap.alloc_many("list", heap.table.capacity - heap.table.top)
        return heap, lambda: heap.new_weakref(target)  # the argument's reference stays out

    def dict_entry():
        heap = gclab.Heap()
        d = heap.alloc("dict", 2**22)
        value = heap.alloc("list")
        return heap, lambda: heap.dict_set(d, heap.atom("k"), value)  # two slots: pool grows

    def fresh(make):
        heap = gclab.Heap()
        heap.gc.disable()  # one bulk run: the rows grow in one go
        return heap, lambda: make(heap)

    CASES = {
        "alloc": lambda: fresh(lambda h: h.alloc("list", 2**28)),
        "alloc_many pool": lambda: fresh(lambda h: h.alloc_many("list", 1000, 2**20)),
        "alloc_many rows": lambda: fresh(lambda h: h.alloc_many("list", 4_000_000)),
        "grow rows": grown_rows,
        "append": appended,
        "weakref": weakref_to_full_table,
        "dict_set": dict_entry,
    }

    heap, call = CASES[sys.argv[1]]()
    before = state(heap)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (vm_size() + 20 * 2**20, hard))
    try:
        call()
        outcome = "no MemoryError"
    except MemoryError as exc:
        outcome = type(exc).__name__
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    print(json.dumps({"outcome": outcome, "changed": differences(before, heap)}))
''')


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and RLIMIT_AS")
@pytest.mark.parametrize("case", ["alloc", "alloc_many pool", "alloc_many rows", "grow rows",
                                  "append", "weakref", "dict_set"])
def test_memory_error_changes_nothing(case: str) -> None:
    """A MemoryError while growing the table or the pool: nothing changed, and the table's
    columns still have one length (they used to be replaced one by one). Nothing is held
    before the room exists (append_slot, dict_set), nor left held after (new_weakref)."""
    env = dict(os.environ, GCLAB_JIT="0")  # numpy alone: no compiler reserving memory
    run = subprocess.run([sys.executable, "-c", _CHILD, case], capture_output=True, text=True,
                         env=env, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {"outcome": "MemoryError", "changed": []}
