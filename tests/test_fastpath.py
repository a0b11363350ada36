"""Differential tests: the flat one-object twins (``gclab.heap.fastpath`` and ``fastslots``)
leave the heap exactly as the general paths do.

Random low-level programs (allocations of every built-in kind and of managed classes with and
without ``__del__``, ``__slots__`` and inline attributes, increfs, decrefs that free chains and
leaves, dict stores and lookups with atom and object keys, attribute stores, slot stores and
appends, collections, and bad arguments of every sort) run on twin heaps of the same profile:
one takes the flat twins when it may, the other is told never to (``heap._fast_paths =
False``). After every step every table column, the pool, the free ids, the collector's counts
and stats, ``gc.garbage``, the finalizer log and the step's result or error (type and
message) must be equal. Small
thresholds make automatic collections (and finalizers run by them) happen mid-program.
Fixed cases check that the twins are really taken when the heap is quiet, and are left when
it is not.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gclab
from gclab.heap.core import HeapCore
from gclab.heap.mutation import EventLog
from gclab.heap.types import Kind

PROFILES = ("2.7", "3.10", "3.11", "3.12", "3.13")
KINDS = ("list", "dict", "set")
NAMES = ("a", "b", "next")
# the step kinds of run_step, weighted (instances, attributes and list slots often)
OPS_DRAWN = (0, 0, 1, 2, 2, 2, 3, 3, 4, 5, 5, 6, 7, 7, 7, 7, 8, 9, 10, 10, 11, 11)


class Twin:
    """One heap of a pair, with its classes and its finalizer log."""

    def __init__(self, profile: str, fast: bool) -> None:
        heap = gclab.Heap(profile)
        heap._fast_paths = fast
        heap.gc.set_threshold(7, 3, 3)
        self.heap = heap
        self.log: list[int] = []
        log = self.log

        @heap.cls
        class Node:
            pass

        @heap.cls
        class Slotted:
            __slots__ = ("a", "next")

        @heap.cls
        class Dying:
            def __del__(self) -> None:
                log.append(len(log))
                heap.alloc("list")  # user code that allocates (and leaks: kept alive)

        self.classes = [Node._info, Slotted._info, Dying._info]
        self.atoms = [heap.atom(v) for v in ("a", "b", 1, None)]


def snapshot(twin: Twin) -> dict[str, Any]:
    """Everything the two paths must agree on."""
    heap = twin.heap
    t, state = heap.table, heap.collector.state
    out: dict[str, Any] = {name: getattr(t, name)[: t.top].tolist() for name in t.COLUMNS}
    out["pool"] = t.pool[: t.pool_top].tolist()
    out["scalars"] = (t.top, t.live, t.pool_top, t.pool_holes, t.capacity)
    out["free_ids"] = list(t.free_ids)
    out["count"] = list(state.count)
    out["stats"] = [dict(gen) for gen in state.stats]
    out["garbage"] = len(state.garbage)
    out["log"] = list(twin.log)
    out["attr_order"] = dict(heap.attr_order)
    out["keys"] = [(i.shared_keys[:], i.keys_usable) for i in twin.classes]
    out["depth"] = (heap._op_depth, heap._dealloc_depth, heap._defer_depth)
    return out


def run_step(twin: Twin, held: list[int], step: tuple[int, int, int, int]) -> object:
    """One step of a program on ``twin``; ``held`` the ids the program holds a reference to
    (the same list on both twins: their ids agree while they are equal). Returns the result
    or the error as (type, message)."""
    heap = twin.heap
    op, x, y, z = step

    def pick(n: int) -> int:  # a held id, or an id no object has
        return held[n % len(held)] if held else 10**6 + n

    def code(n: int) -> int:  # an atom or a held id
        return twin.atoms[n % 4] if n % 3 == 0 else pick(n)

    try:
        if op == 0:
            held.append(heap.alloc(KINDS[x % 3]))
        elif op == 1:
            held.append(heap.alloc(("tuple", "list", "dict")[x % 3], y % 3))
        elif op == 2:
            held.append(heap.new_instance(twin.classes[x % 3]))
        elif op == 3 and held:
            oid = held.pop(x % len(held))
            heap.decref(oid)
        elif op == 4:
            heap.incref(pick(x))
            held.append(pick(x))
        elif op == 5:
            heap.dict_set(pick(x), code(y), code(z))
        elif op == 6:
            return heap.dict_get(pick(x), code(y))
        elif op == 7:
            instances = [oid for oid in held if heap.type_of(oid).kind is Kind.INSTANCE]
            target = instances[x % len(instances)] if instances and x % 4 else pick(x)
            with heap.operation():
                heap.set_attr(target, NAMES[y % 3], code(z))
        elif op == 8:
            return heap.gc.collect(x % 3)
        elif op == 9:
            return bad_call(heap, x, pick(y))
        elif op in (10, 11):
            lists = [oid for oid in held if heap.type_of(oid).name == "list"]
            target = lists[x % len(lists)] if lists and x % 4 else pick(x)
            if op == 10:
                heap.set_slot(target, y % 3, code(z))
            else:
                heap.append_slot(target, code(y))
    except Exception as exc:  # compared between the twins
        return type(exc).__name__, str(exc)
    return None


def bad_call(heap: gclab.Heap, x: int, oid: int) -> object:
    """A call with a bad argument (or a freed id, or a dropped reference too many)."""
    calls = [
        lambda: heap.decref(-5), lambda: heap.decref("x"), lambda: heap.decref(True),
        lambda: heap.alloc("nope"), lambda: heap.alloc(True), lambda: heap.alloc("dict", 3),
        lambda: heap.alloc("list", -1), lambda: heap.dict_set(oid, -10**6, oid),
        lambda: heap.dict_set(oid, 1.5, oid), lambda: heap.dict_get(oid, oid),
        lambda: heap.incref(10**9), lambda: heap.new_instance(heap.types[0]),
        lambda: heap.dict_set(heap.empty_tuple, -2, oid), lambda: heap.decref(oid),
        lambda: heap.set_slot(oid, -1, -1), lambda: heap.set_slot(oid, 1.0, -1),
        lambda: heap.set_slot(oid, 0, 10**7), lambda: heap.append_slot(oid, "x"),
        lambda: heap.append_slot(heap.empty_tuple, -1), lambda: heap.set_slot(oid, True, -1),
    ]
    return calls[x % len(calls)]()


steps = st.lists(st.tuples(st.sampled_from(OPS_DRAWN),
                           st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)),
                 min_size=5, max_size=80)


@pytest.mark.parametrize("profile", PROFILES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=steps)
def test_random_programs_leave_twin_heaps_equal(profile: str,
                                                program: list[tuple[int, int, int, int]]
                                                ) -> None:
    fast, general = Twin(profile, True), Twin(profile, False)
    held_fast: list[int] = []
    held_general: list[int] = []
    assert snapshot(fast) == snapshot(general)
    for number, step in enumerate(program):
        got = run_step(fast, held_fast, step)
        want = run_step(general, held_general, step)
        assert got == want, (number, step)
        assert held_fast == held_general, (number, step)
        assert snapshot(fast) == snapshot(general), (number, step)


@pytest.mark.parametrize("profile", ["2.7", "3.12"])
@pytest.mark.parametrize("seed", range(12))
def test_seeded_programs_leave_twin_heaps_equal(profile: str, seed: int) -> None:
    """Longer programs than hypothesis makes, drawn uniformly (every operation kind often)."""
    draw = random.Random(seed)
    program = [(draw.choice(OPS_DRAWN), draw.randrange(100), draw.randrange(100),
                draw.randrange(100)) for _ in range(150)]
    fast, general = Twin(profile, True), Twin(profile, False)
    held_fast: list[int] = []
    held_general: list[int] = []
    for number, step in enumerate(program):
        got = run_step(fast, held_fast, step)
        want = run_step(general, held_general, step)
        assert got == want, (number, step)
        assert snapshot(fast) == snapshot(general), (number, step)


def counting(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts the calls of each general path."""
    calls: dict[str, int] = {}
    for name in ("_general_alloc", "_general_decref", "_general_incref", "_general_dict_set",
                 "_general_dict_get", "_general_new_instance", "_general_set_slot",
                 "_general_append_slot"):
        real = getattr(HeapCore, name)

        def spy(heap: Any, *args: Any, _real: Any = real, _name: str = name) -> Any:
            calls[_name] = calls.get(_name, 0) + 1
            return _real(heap, *args)

        monkeypatch.setattr(HeapCore, name, spy)
    return calls


def test_a_quiet_heap_takes_the_flat_twins(monkeypatch: pytest.MonkeyPatch) -> None:
    heap = gclab.Heap()

    @heap.cls
    class Node:
        pass

    node = heap.new_instance(Node._info)  # learns the class (general path)
    calls = counting(monkeypatch)
    key = heap.atom("k")
    a, b = heap.alloc("dict"), heap.alloc("list")
    heap.dict_set(a, key, b)
    heap.dict_set(a, key, node)  # replaces b, which stays alive (the caller holds it)
    assert heap.dict_get(a, key) == node
    heap.incref(b)
    heap.decref(b)
    heap.decref(b)  # frees it: the general cascade inside the flat bracket
    assert not heap.is_alive(b)
    other = heap.new_instance(Node._info)
    items = heap.alloc("list")
    heap.append_slot(items, a)
    heap.append_slot(items, heap.atom(2))
    heap.set_slot(items, 1, node)
    assert heap.slots(items) == [a, node] and heap.refcount(node) == 3
    heap.decref(items)
    heap.decref(a)
    assert calls == {}
    assert other == b and heap.refcount(node) == 1 and not heap.is_alive(a)


def test_a_watched_or_busy_heap_takes_the_general_paths(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    heap = gclab.Heap()
    calls = counting(monkeypatch)
    log = EventLog()
    heap.add_listener(log)
    a = heap.alloc("dict")
    heap.remove_listener(log)
    with heap.operation():  # this thread holds the lock: nested calls are general
        heap.dict_set(a, heap.atom("k"), heap.atom(1))
    heap._fast_paths = False
    heap.decref(a)
    assert calls == {"_general_alloc": 1, "_general_dict_set": 1, "_general_decref": 1}
    assert log.events == [("alloc", a, 2, 0), ("incref", a)]


def test_bad_calls_fail_as_the_general_paths_do() -> None:
    heap = gclab.Heap()
    a = heap.alloc("dict")
    heap.decref(a)
    with pytest.raises(gclab.errors.UseAfterFreeError):
        heap.decref(a)
    with pytest.raises(gclab.errors.RefcountUnderflowError):
        heap.decref(heap.empty_tuple)
    b = heap.alloc("dict")
    with pytest.raises(TypeError):
        heap.dict_set(b, 1.5, heap.atom(1))
    with pytest.raises(KeyError):
        heap.dict_get(b, heap.atom("missing"))
    assert heap.dict_len(b) == 0 and heap.refcount(b) == 1
