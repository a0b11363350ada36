"""Start-up without the compiler (issue #10 part 5): below ``GCLAB_JIT_MIN`` the plain twins run
and numba is not even imported; past it the process switches to compiled helpers, with the
same results. Each case runs in a child process of its own (the switch is once per process;
the suite itself runs with ``GCLAB_JIT_MIN=0``, see ``conftest.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gclab import _jit

SRC = str(Path(__file__).resolve().parents[1] / "src")
NEEDS_NUMBA = pytest.mark.skipif(not _jit.ENABLED, reason="compiling is off (GCLAB_JIT=0)")

README_PROGRAM = """
import sys, json
import gclab
from gclab import _jit
heap = gclab.Heap()
gc = heap.gc
lst = heap.list(); lst.append(lst)
a = heap.dict(); b = heap.dict()
a["b"] = b; b["a"] = a
del lst, a, b
print(json.dumps({"collected": gc.collect(), "numba": "numba" in sys.modules,
                  "active": _jit.ACTIVE}))
"""

# A program that grows a heap past a small threshold half-way: cycles, chains, instances with
# __del__ and weakrefs, bulk drops and collections of every generation; prints what it saw.
GROWING_PROGRAM = """
import sys, json, hashlib
import numpy as np
import gclab
from gclab import _jit
from gclab.heap.flags import ALIVE
heap = gclab.Heap("3.12")
heap.gc.set_threshold(50, 3, 3)
freed = []
heap.table.free_listeners.append(freed.append)

@heap.cls
class Node:
    def __del__(self):
        freed.append(-1)

def rnd(state=[12345]):
    state[0] = (state[0] * 1103515245 + 12345) % 2**31
    return state[0]

seen = []
for rnd_round in range(4):
    ids = [heap.alloc("list") for _ in range(300 * (rnd_round + 1))]
    for i, oid in enumerate(ids):
        heap.append_slot(oid, ids[rnd() % len(ids)])
    nodes = [Node() for _ in range(20)]
    for i, n in enumerate(nodes):
        n.other = nodes[(i + 1) % len(nodes)]
    del nodes, n
    heap.decref_many(ids[: len(ids) // 2])
    seen.append([heap.gc.collect(g) for g in (0, 1, 2)])
    seen.append(("active", _jit.ACTIVE))
t = heap.table
digest = hashlib.sha256()
for name in ("refcnt", "flags", "gc_next", "gc_prev", "type_id", "ref_len"):
    digest.update(np.ascontiguousarray(getattr(t, name)[: t.top]).tobytes())
print(json.dumps({"seen": [s for s in seen if s[0] != "active"], "freed": freed,
                  "counts": heap.gc.get_count(), "digest": digest.hexdigest(),
                  "free_ids": [len(t.free_ids)] + np.flatnonzero(
                      (t.flags[: t.top] & ALIVE) == 0).tolist(),
                  "history": [(r.generation, r.collected, r.uncollectable)
                              for r in heap.history],
                  "switched_at": [s[1] for s in seen if s[0] == "active"].index(True)
                  if _jit.ACTIVE else None,
                  "active": _jit.ACTIVE, "numba": "numba" in sys.modules}))
"""


def _child(code: str, **env: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter (gclab from this tree, ``env`` on top of ours with
    no GCLAB_JIT_MIN/GCLAB_JIT unless given); its last stdout line, as JSON."""
    full = {k: v for k, v in os.environ.items() if k not in ("GCLAB_JIT_MIN", "GCLAB_JIT")}
    full.update(env, PYTHONPATH=SRC)
    done = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_small_heap_never_imports_numba() -> None:
    """The README's first example, with the default threshold: the plain twins, no numba."""
    out = _child(README_PROGRAM)
    assert out == {"collected": 3, "numba": False, "active": False}


def test_never_compile_means_never() -> None:
    """GCLAB_JIT=0 with a threshold of 0: still no numba."""
    out = _child(README_PROGRAM, GCLAB_JIT="0", GCLAB_JIT_MIN="0")
    assert out == {"collected": 3, "numba": False, "active": False}


@NEEDS_NUMBA
def test_threshold_zero_compiles_from_the_start() -> None:
    out = _child(README_PROGRAM, GCLAB_JIT_MIN="0")
    assert out == {"collected": 3, "numba": True, "active": True}


@NEEDS_NUMBA
def test_a_heap_growing_past_the_threshold_switches_with_the_same_results() -> None:
    """The same program never compiled, switched mid-program (its table grows to 2,048 rows
    in a later round) and compiled throughout: every observable result is identical."""
    plain = _child(GROWING_PROGRAM, GCLAB_JIT="0")
    switched = _child(GROWING_PROGRAM, GCLAB_JIT_MIN="2000")
    compiled = _child(GROWING_PROGRAM, GCLAB_JIT_MIN="0")
    assert (plain["active"], switched["active"], compiled["active"]) == (False, True, True)
    assert compiled["switched_at"] == 0
    assert 0 < switched["switched_at"] < 4  # type: ignore[operator]  # mid-program
    assert (plain["numba"], switched["numba"]) == (False, True)
    for key in ("seen", "freed", "counts", "digest", "free_ids", "history"):
        assert plain[key] == switched[key] == compiled[key], key


def test_the_demo_prints_before_any_compile_step() -> None:
    """``gclab demo``: its first line is written with numba not imported (the tour's heaps
    are small; its plain twins run ~0.6 s in all, under GCLAB_JIT_AFTER_MS)."""
    code = """
import sys, json
first = []
class Probe:
    def __init__(self, out): self.out = out
    def write(self, s):
        if not first and s.strip():
            first.append("numba" in sys.modules)
        return self.out.write(s)
    def __getattr__(self, name): return getattr(self.out, name)
real = sys.stdout
sys.stdout = Probe(real)
from gclab.cli import main
status = main(["demo"])
sys.stdout = real
print(json.dumps({"status": status, "first": first}))
"""
    assert _child(code) == {"status": 0, "first": [False]}


@NEEDS_NUMBA
def test_a_large_array_argument_switches_a_kernel() -> None:
    """A compiled helper called with an array of GCLAB_JIT_MIN elements switches the process
    (the graph tools over real snapshots take this way), a small one runs the twin."""
    code = """
import sys, json
import numpy as np
from gclab import _jit
from gclab.heap import _jit_lists
nxt = np.array([1, 2, 0], np.int32)
small = _jit_lists._list_size(nxt, 0)
before = (_jit.ACTIVE, "numba" in sys.modules)
big = np.arange(1, 5001, dtype=np.int32); big[-1] = 0
size = _jit_lists._list_size(big, 0)
print(json.dumps({"small": int(small), "before": before, "size": int(size),
                  "active": _jit.ACTIVE,
                  "compiled": not isinstance(_jit_lists._list_size, _jit.Kernel)}))
"""
    out = _child(code, GCLAB_JIT_MIN="5000")
    assert out == {"small": 2, "before": [False, False], "size": 4999, "active": True,
                   "compiled": True}


@NEEDS_NUMBA
def test_time_in_the_twins_switches_a_small_heap() -> None:
    """Collections of a small heap add up: past GCLAB_JIT_AFTER_MS of plain twins the process
    compiles (here 1 ms: during the first collection,
    between two of its phases, with the same result)."""
    code = """
import sys, json
import gclab
from gclab import _jit
heap = gclab.Heap()
states = []
for _ in range(4):
    ids = [heap.alloc("list") for _ in range(300)]
    for oid in ids:
        heap.append_slot(oid, oid)
    heap.decref_many(ids)
    states.append((heap.gc.collect(), _jit.ACTIVE))
print(json.dumps({"states": states, "rows": heap.table.capacity,
                  "spent": _jit.twin_seconds() > 0}))
"""
    out = _child(code, GCLAB_JIT_AFTER_MS="1")  # 300 objects take more than 1 ms
    assert out == {"states": [[300, True]] * 4, "rows": 1024, "spent": True}
    out = _child(code)  # the default budget: four small collections stay plain
    assert out == {"states": [[300, False]] * 4, "rows": 1024, "spent": True}


def test_kernel_looks_like_its_function() -> None:
    """A kernel keeps its function's name, doc and module (doctest and inspect find it)."""
    from gclab.heap import _jit_lists

    fn = _jit_lists._list_size
    assert fn.__name__ == "_list_size"
    assert fn.__module__ == "gclab.heap._jit_lists"
    if _jit.ACTIVE:  # the module global is the numba dispatcher now
        assert not isinstance(fn, _jit.Kernel)
        assert hasattr(fn, "py_func")
    else:
        assert not _jit.ENABLED or isinstance(fn, _jit.Kernel)


def test_the_switch_rebinds_kernels_to_their_dispatchers() -> None:
    """After the switch no gclab module holds a Kernel or a phase dispatcher: calls go
    straight to numba and to the compiled phases."""
    if not _jit.ACTIVE:
        pytest.skip("the process has not switched (GCLAB_JIT=0 or GCLAB_JIT_MIN > 0)")
    held = [f"{name}.{key}" for name, module in list(sys.modules.items())
            if module is not None and name.startswith("gclab")
            for key, value in vars(module).items()
            if isinstance(value, _jit.Kernel) or hasattr(value, "kernel_twin")]
    assert held == []
    from gclab.collectors import marksweep
    from gclab.collectors.cpython import fast, phases
    from gclab.kernels import closure

    assert phases.deduce_unreachable is fast.deduce_unreachable
    assert marksweep.mark_from is closure.mark_from


ADOPT_PROGRAM = """
import json
import gclab
from gclab import _jit
from gclab.collectors.cpython import compiled
heap = gclab.Heap()
heap.gc.disable()
before = _jit.ACTIVE
ids = [heap.alloc("list") for _ in range(3000)]  # past GCLAB_JIT_MIN: the switch; nothing freed
kernel_before = heap.dealloc_kernel is not None
runs = []
real = compiled.collect
compiled.collect = lambda *args: runs.append(1) or real(*args)
heap.gc.collect(0)
print(json.dumps({"before": before, "active": _jit.ACTIVE, "kernel_before": kernel_before,
                  "kernel_after": heap.dealloc_kernel is not None, "compiled_runs": len(runs)}))
"""


@NEEDS_NUMBA
def test_a_heap_made_before_the_switch_collects_compiled_after_it() -> None:
    """A heap that switched while nothing was freed adopts its compiled cascade when its next
    collection starts, and that collection runs as the compiled twin."""
    out = _child(ADOPT_PROGRAM, GCLAB_JIT_MIN="2000")
    assert out == {"before": False, "active": True, "kernel_before": False,
                   "kernel_after": True, "compiled_runs": 1}
