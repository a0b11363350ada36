"""The ``refcount`` collector (issue #8 part 7): reference counting only, what ``gc.disable()``
from the first line on means.

A cycle leaks however often ``gc.collect()`` is called, acyclic garbage is freed at once, and
``__del__`` and weakref callbacks run when a count reaches zero. What the ``gc`` module answers
is checked against the real interpreter (this test's own Python, 3.11, with its collector
disabled before the program starts), and ``count[0]`` against what the table holds.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gclab
from gclab.heap.invariants import check_invariants
from gclab.heap.table import N_HEADS

PROFILES = ("2.7", "3.10", "3.11", "3.12", "3.13")


pytestmark = pytest.mark.usefixtures("host_collector_off")


def leak_cycles(heap: gclab.Heap, log: list[str]) -> list[Any]:
    """Three unreachable cycles: two lists holding an instance, a dict and an instance with
    ``__del__``, a list holding itself and a set watched by a weakref with a callback.
    Returns a weakref into each cycle."""

    @heap.cls
    class Plain:
        pass

    @heap.cls
    class Node:
        def __del__(self) -> None:
            log.append("del")

    a = heap.list([Plain()])
    b = heap.list([a])
    a.append(b)
    d = heap.dict()
    n = Node()
    n.d = d
    d["n"] = n
    s = heap.set()
    keep = heap.list([s])
    keep.append(keep)
    watched = [heap.weakref(a[0]), heap.weakref(n), heap.weakref(s, lambda w: log.append("cb"))]
    del a, b, d, n, s, keep
    return watched



@pytest.mark.parametrize("profile", PROFILES)
def test_a_cycle_leaks_through_any_number_of_collections(profile: str) -> None:
    heap = gclab.Heap(profile, collector="refcount")
    gc = heap.gc
    log: list[str] = []
    phases: list[str] = []
    if "callbacks" in heap.profile.gc_functions:
        gc.callbacks.append(lambda phase, info: phases.append(phase))
    watched = leak_cycles(heap, log)
    live = heap.table.live
    for _ in range(5):
        assert [gc.collect(g) for g in (0, 1, 2)] == [0, 0, 0]
    assert gc.collect() == 0
    gc.enable()  # automatic collections are asked for: allocations pass every threshold
    junk = heap.alloc_many("list", 5 * gc.get_threshold()[0])
    heap.decref_many(junk)
    assert all(w() is not None for w in watched)
    check_invariants(heap)
    assert heap.shutdown().uncollectable == 0  # and neither does the interpreter's exit
    assert heap.table.live == live
    assert (log, phases, gc.garbage, heap.history) == ([], [], [], [])

    # the same program on CPython's collector: the cycles are garbage it finds (2.7 keeps the
    # one with a __del__ in gc.garbage, uncollectable)
    cpython = gclab.Heap(profile)
    watched = leak_cycles(cpython, log)
    assert cpython.gc.collect() > 0
    assert watched[0]() is None and watched[2]() is None
    assert (watched[1]() is None) == (profile != "2.7") == (not cpython.gc.garbage)



@pytest.mark.parametrize("profile", PROFILES)
def test_acyclic_garbage_is_freed_at_once(profile: str) -> None:
    """A tree of every container kind dies with its root's last reference: every object is
    freed by the ``del`` itself (the free listener hears each id once), no collection runs."""
    heap = gclab.Heap(profile, collector="refcount")
    freed: list[int] = []
    heap.table.free_listeners.append(freed.append)

    @heap.cls
    class Leaf:
        pass

    before = heap.table.live
    leaves = [Leaf() for _ in range(3)]
    inner = [heap.list(leaves), heap.dict(k=heap.list()), heap.set(), heap.tuple([heap.list()])]
    root = heap.list(inner)
    made = {heap.id_of(o) for o in (*leaves, *inner, root, inner[1]["k"], inner[3][0])}
    del leaves, inner
    assert freed == []
    del root
    assert sorted(freed) == sorted(made)
    assert heap.table.live == before and heap.history == []


def test_del_and_weakref_callbacks_run_on_refcount_death() -> None:
    heap = gclab.Heap("3.12", collector="refcount")
    log: list[str] = []

    @heap.cls
    class Node:
        def __del__(self) -> None:
            log.append(f"del {self.name}")

    root = Node()
    root.name = "root"
    root.child = Node()
    root.child.name = "child"
    wr = heap.weakref(root.child, lambda w: log.append("callback"))
    del root
    assert log == ["del root", "del child", "callback"]
    assert wr() is None


# -- against the real interpreter with its collector disabled -------------------------------------

PROGRAM = '''
@managed
class Node:
    def __del__(self):
        log.append("del " + self.name)

def named(name):
    n = Node()
    n.name = name
    return n

def cb(wr):
    log.append("callback")

def nodes(objects):
    return [o.name for o in objects if isinstance(o, Node)]

a = named("a")
a.child = named("b")
a.child.child = named("c")
wc = new_weakref(a.child.child, cb)
x = named("x")
y = named("y")
x.peer = y
y.peer = x
wx = new_weakref(x, cb)
del x, y
lst = new_list()
lst.append(new_list())
empty = new_dict()
holder = new_dict()
holder["k"] = new_list()
atoms = new_tuple(1, "two")
report("tracked", gc.is_tracked(atoms), gc.is_tracked(empty), gc.is_tracked(holder),
       gc.is_tracked(lst), gc.is_tracked(lst[0]))
report("generations", nodes(gc.get_objects(0)), nodes(gc.get_objects(1)),
       nodes(gc.get_objects(2)), nodes(gc.get_objects()))
report("enabled", gc.isenabled(), gc.get_threshold())
del a
report("log", list(log), wc() is None, wx() is not None)
report("collect", nodes(gc.get_objects()))
gc.freeze()
report("frozen", nodes(gc.get_objects()), gc.get_freeze_count() > 0, gc.get_count()[0])
gc.unfreeze()
report("unfrozen", nodes(gc.get_objects(0)), nodes(gc.get_objects(2)), gc.get_freeze_count())
'''

REAL = '''
import gc, sys, weakref
source = sys.stdin.read()
log, out = [], []
gc.disable()
gc.collect()
gc.freeze()  # the interpreter's own objects are set aside: only the program's are seen
ns = {"log": log, "report": lambda *a: out.append(a), "managed": lambda c: c, "gc": gc,
      "new_list": list, "new_dict": dict, "new_tuple": lambda *a: a,
      "new_weakref": weakref.ref}
exec(source, ns)
print(repr(out))
'''


def run_real() -> list[tuple[Any, ...]]:
    if sys.version_info[:2] != (3, 11):
        pytest.skip("the comparison is with CPython 3.11 (the interpreter running the tests)")
    proc = subprocess.run([sys.executable, "-c", REAL], input=PROGRAM, capture_output=True,
                          text=True, timeout=120, check=True)
    return ast.literal_eval(proc.stdout.strip())  # type: ignore[no-any-return]


def run_sim() -> list[tuple[Any, ...]]:
    heap = gclab.Heap("3.11", collector="refcount", free_lists=True)
    log: list[str] = []
    out: list[tuple[Any, ...]] = []
    ns: dict[str, Any] = {
        "log": log, "report": lambda *a: out.append(a), "managed": heap.cls, "gc": heap.gc,
        "new_list": heap.list, "new_dict": heap.dict, "new_tuple": lambda *a: heap.tuple(a),
        "new_weakref": heap.weakref}
    exec(PROGRAM, ns)
    check_invariants(heap)
    return out


def test_gc_answers_as_cpython_with_its_collector_disabled() -> None:
    """Tracking, generations, enabled/thresholds, the order of ``__del__`` and callbacks, what
    a leaked cycle leaves in get_objects, freeze and unfreeze: as CPython 3.11 answers with
    ``gc.disable()`` before the program (which never calls ``gc.collect()``)."""
    real = run_real()
    assert dict((r[0], r[1:]) for r in real)["log"][0] == [
        "del a", "del b", "del c", "callback"]  # the real run did what the program says
    assert run_sim() == real


# -- count[0] is what the table holds ------------------------------------------------------------

step = st.one_of(st.tuples(st.just("new"), st.sampled_from(["list", "dict", "tuple", "set"])),
                 st.tuples(st.just("link"), st.integers(0, 50), st.integers(0, 50)),
                 st.tuples(st.just("drop"), st.integers(0, 50)),
                 st.tuples(st.just("many"), st.integers(1, 5)),
                 st.tuples(st.just("collect"), st.integers(0, 2)))


@settings(max_examples=60, deadline=None)
@given(st.lists(step, max_size=40))
def test_count_is_the_number_of_gc_objects_alive(steps: list[tuple[Any, ...]]) -> None:
    """Without free lists and with no collection ever, CPython's ``count[0]`` (up at each
    GC-capable allocation, down at each such free) is the number of GC-capable objects alive
    that were made since the heap was: checked against the table after random programs."""
    heap = gclab.Heap("3.12", collector="refcount")
    t = heap.table

    def gc_objects_alive() -> int:
        return sum(1 for oid in range(N_HEADS, t.top)
                   if t.is_alive(oid) and heap.type_of(oid).gc_capable)

    made_before = gc_objects_alive()  # the shared empty tuple, made before any collector
    held: list[int] = []
    for op, *args in steps:
        if op == "new":
            held.append(heap.alloc(args[0], 1 if args[0] == "tuple" else 0))
        elif op == "many":
            held.extend(heap.alloc_many("list", args[0]).tolist())
        elif op == "link" and held:
            src, dst = held[args[0] % len(held)], held[args[1] % len(held)]
            if heap.type_of(src).name == "list":
                heap.append_slot(src, dst)
        elif op == "drop" and held:
            heap.decref(held.pop(args[0] % len(held)))
        elif op == "collect":
            assert heap.gc.collect(args[0]) == 0
        assert heap.gc.get_count() == (gc_objects_alive() - made_before, 0, 0)
    check_invariants(heap)
