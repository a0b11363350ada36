"""Differential tests: a collection in one compiled call (``collectors/cpython/compiled.py``,
``kernels/young.py``) leaves everything as ``collect()`` does.

Random heaps (:mod:`gclab.testing.strategies`: every kind, ``__del__``, weakrefs with and
without callbacks, deep chains) and random programs over them (drops, bulk drops, new objects
linked to old ones, bulk-made cycles, collections of every generation, small thresholds so that
automatic collections happen everywhere) run on twin heaps: one whose collector may take the
compiled twin, one told to take the ordinary path (``collector.compiled = False``). After
every step every table column, the pool, the free ids, the counts, ``get_stats()``,
``gc.garbage``, the long-lived counts, the trashcan, the weakref tables, the log of finalizers
and callbacks and every collection record (wall time aside) must be equal.
Fixed cases make sure each way through the twin runs: all done in the kernel, handed over to the
ordinary phases (a ``__del__`` or a weakref among the garbage), and the cascade finished by
Python (a non-plain object outside the set, arrays that must grow). Under ``GCLAB_JIT=0`` the
heaps get the compiled cascade's plain Python, so the twin runs there too.
"""

from __future__ import annotations

import types
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gclab
from gclab.collectors.cpython import compiled, phases
from gclab.heap._jit_dealloc import DONE, FRAME, NEED, DeallocKernel
from gclab.heap.core import HeapCore
from gclab.kernels.young import BAIL
from gclab.profiles import DEBUG_SAVEALL
from gclab.testing.builders import HeapRecipe, instance_types, new_object, put
from gclab.testing.builders import build as build_heap
from gclab.testing.strategies import heap_recipes
from heapstate import collection_state

PROFILES = ("2.7", "3.10", "3.11", "3.12", "3.13")


@pytest.fixture
def statuses(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[int]]:
    """Counts the compiled twin's results by status (BAIL, DONE, NEED, ...)."""
    seen: Counter[int] = Counter()
    kernel = compiled._collect

    def counting(*args: Any) -> Any:
        result = kernel(*args)
        seen[int(result[0])] += 1
        return result

    monkeypatch.setattr(compiled, "_collect", counting)
    yield seen


def new_heap(profile: str, fast: bool, **kwargs: Any) -> gclab.Heap:
    """A heap whose collector takes the compiled twin when it may (``fast``) or never."""
    heap = gclab.Heap(profile, **kwargs)
    if heap.dealloc_kernel is None:  # GCLAB_JIT=0: the cascade's plain Python, forced on
        heap.dealloc_kernel = DeallocKernel()
    heap.collector.compiled = fast  # type: ignore[attr-defined]
    # each collection through collect() or its twin, counted by ``statuses``: alloc_many's own
    # compiled call (which runs the twin's kernel inside) is tests/test_bulk_collect.py's
    heap.collector.compiled_bulk = False  # type: ignore[attr-defined]
    return heap


def snapshot(heap: gclab.Heap) -> dict[str, Any]:
    """Everything the two paths must agree on."""
    return collection_state(heap)


def assert_same(fast: gclab.Heap, slow: gclab.Heap, when: str) -> None:
    got, want = snapshot(fast), snapshot(slow)
    for key in want:
        assert got[key] == want[key], f"{key} differs {when}"


KINDS = ("list", "tuple", "dict", "set", "inst", "winst", "dinst", "fin", "frame", "weakref")
NEW_KINDS = ("list", "list", "tuple", "dict", "set", "inst", "dinst", "fin")


@dataclass
class Recipe:
    heap: HeapRecipe  # objects, edges, chains, weakrefs, profile, slots
    steps: list[tuple[str, int, int]]
    thresholds: tuple[int, int, int]


@st.composite
def recipes(draw: st.DrawFn) -> Recipe:
    heap = draw(heap_recipes(kinds=KINDS, max_objects=25, chains=1, chain_length=40,
                             chain_kinds=("list", "tuple", "dict", "inst", "fin"), weakrefs=3,
                             profiles=PROFILES, slots=(1, 2, 3)))
    pick = st.integers(0, 40)
    step = st.one_of(st.tuples(st.just("drop"), pick, st.just(0)),
                     st.tuples(st.just("bulk"), st.integers(1, 4), st.just(0)),
                     st.tuples(st.just("collect"), st.integers(0, 2), st.just(0)),
                     st.tuples(st.just("new"), st.integers(0, len(NEW_KINDS) - 1), pick),
                     st.tuples(st.just("link"), pick, pick),
                     st.tuples(st.just("cycles"), st.integers(1, 30), st.just(0)),
                     st.tuples(st.just("atoms"), st.integers(0, 5), st.just(0)))
    steps = draw(st.lists(step, max_size=25))
    thresholds = draw(st.sampled_from([(0, 10, 10), (3, 2, 2), (10, 3, 2), (700, 10, 10)]))
    return Recipe(heap, steps, thresholds)


class Twin:
    """One heap of a pair, built from a recipe; ``log`` records ``__del__`` calls and weakref
    callbacks in order."""

    def __init__(self, recipe: Recipe, fast: bool) -> None:
        self.heap = heap = new_heap(recipe.heap.profile, fast)
        heap.gc.set_threshold(*recipe.thresholds)
        # finalizers and callbacks get plain handles (``.id``), not proxies
        heap.wrap = types.MethodType(HeapCore.wrap, heap)  # type: ignore[method-assign]
        self.log: list[tuple[str, int]] = []
        self.types = instance_types(heap, lambda p: self.log.append(("del", p.id)))
        self.slots = recipe.heap.slots
        built = build_heap(recipe.heap, heap, types=self.types,
                           callback=lambda w: self.log.append(("cb", w.id)))
        self.held: list[int] = built.held  # one external reference each, in order

    def alive(self, k: int) -> int | None:
        """The ``k``-th held id still alive (modulo), or None."""
        live = [oid for oid in self.held if self.heap.is_alive(oid)]
        return live[k % len(live)] if live else None

    def step(self, op: str, a: int, b: int) -> None:
        heap = self.heap
        if op == "collect":
            heap.gc.collect(a)
        elif op == "bulk":
            live = [oid for oid in self.held[:a] if heap.is_alive(oid)]
            del self.held[:a]
            heap.decref_many(np.array(live, np.int32))
        elif op == "drop" and self.held:
            oid = self.held.pop(a % len(self.held))
            if heap.is_alive(oid):
                heap.decref(oid)
        elif op == "new":  # may trigger a collection; then it refers to a held object
            oid = new_object(heap, NEW_KINDS[a], self.types, self.slots)
            self.held.append(oid)
            target = self.alive(b)
            if target is not None:
                put(heap, oid, target)
        elif op == "link":
            source, target = self.alive(a), self.alive(b)
            if source is not None and target is not None:
                put(heap, source, target)
        elif op == "cycles":
            churn(heap, 1, a)
        elif op == "atoms":  # a tuple or dict of atoms only, held (untracked when collected)
            oid = new_object(heap, "dict" if a % 2 else "tuple", self.types, 1 + a % 3)
            self.held.append(oid)
            if a % 2:  # a dict is tracked once it holds an object, and stays so
                heap.dict_set(oid, heap.atom("k"), oid)
            for index in range(1 + a % 3):
                put(heap, oid, heap.atom(index), heap.atom("k" if index == 0 else str(index)))

    def close(self) -> None:
        for oid in self.held:
            if self.heap.is_alive(oid):
                self.heap.decref(oid)
        self.heap.gc.collect()


def assert_twins_agree(recipe: Recipe) -> None:
    fast, slow = Twin(recipe, True), Twin(recipe, False)
    assert_same(fast.heap, slow.heap, "after building")
    for index, (op, a, b) in enumerate(recipe.steps):
        fast.step(op, a, b)
        slow.step(op, a, b)
        assert_same(fast.heap, slow.heap, f"after step {index} {(op, a, b)}")
        assert fast.log == slow.log
    fast.close()
    slow.close()
    assert_same(fast.heap, slow.heap, "after the last drops and a full collection")
    assert fast.log == slow.log


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipes())
def test_random_programs_agree(recipe: Recipe) -> None:
    """Random heaps and programs: the twin heaps agree after every step."""
    assert_twins_agree(recipe)


# -- each way through the twin, on fixed cases ---------------------------------------------------


def churn(heap: gclab.Heap, batches: int, batch: int = 50) -> None:
    """``batches`` bulk allocations of ``batch`` two-list cycles, each batch dropped at once
    (in two bulk calls)."""
    zeros = np.zeros(2 * batch, np.int32)
    for _ in range(batches):
        ids = heap.alloc_many("list", 2 * batch, 1)
        heap.set_slots(ids, zeros, ids.reshape(-1, 2)[:, ::-1].ravel())
        heap.decref_many(ids[: batch])
        heap.decref_many(ids[batch:])


@pytest.mark.parametrize("profile", PROFILES)
def test_churn_runs_in_the_kernel(profile: str, statuses: Counter[int]) -> None:
    """Young-churn: every automatic collection is one compiled call and frees its cycles;
    young, middle and full collections all agree with the ordinary path."""
    heaps = [new_heap(profile, fast) for fast in (True, False)]
    for heap in heaps:
        heap.gc.set_threshold(50, 3, 2)
        churn(heap, 40)
        heap.gc.collect(1)
        heap.gc.collect(2)
    assert_same(*heaps, "after churning")
    assert statuses[DONE] > 10 and BAIL not in statuses
    assert {r.generation for r in heaps[0].history} == {0, 1, 2}
    assert sum(r.collected for r in heaps[0].history) == 4000


def garbage_with_user_code(heap: gclab.Heap, what: str) -> list[str]:
    """A young cycle holding a ``__del__`` object (``del``), a weakref with a callback
    (``weakref``) or weakly referenced itself (``referent``); collect(0), then a full one.
    Returns the log of finalizers and callbacks."""
    log: list[str] = []

    @heap.cls
    class Fin:
        def __del__(self) -> None:
            log.append("del")

    @heap.cls
    class Plain:
        pass

    a, b = heap.list(), Plain()
    a.append(b)
    b.other = a
    keep = None
    if what == "del":
        a.append(Fin())
    elif what == "weakref":
        a.append(heap.weakref(heap.set(), lambda _w: log.append("cb")))
    else:
        keep = heap.weakref(b, lambda _w: log.append("cb"))
    del a, b
    heap.gc.collect(0)
    del keep
    heap.gc.collect()
    return log


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("what", ["del", "weakref", "referent"])
def test_user_code_among_garbage_takes_the_ordinary_phases(profile: str, what: str,
                                                            statuses: Counter[int]) -> None:
    """A ``__del__``, a weakref or a weakly referenced object in the garbage: the twin stops
    after promote_survivors and the ordinary phases finish (callbacks and finalizers run once,
    in the same order)."""
    heaps = [new_heap(profile, fast) for fast in (True, False)]
    logs = [garbage_with_user_code(heap, what) for heap in heaps]
    assert_same(*heaps, "after the collections")
    assert logs[0] == logs[1]
    assert statuses[BAIL] >= 1


def garbage_holding_an_old_finalizer(heap: gclab.Heap) -> list[int]:
    """A young cycle holding the last reference to an object with a ``__del__`` in the oldest
    generation; collect(0). Returns the ids finalized."""
    log: list[int] = []

    @heap.cls
    class Fin:
        def __del__(self) -> None:
            log.append(heap.id_of(self))

    old = Fin()
    heap.gc.collect()  # old is in the oldest generation now
    a, b = heap.list([old]), heap.list()
    a.append(b)
    b.append(a)
    del old, a, b
    heap.gc.collect(0)
    return log


@pytest.mark.parametrize("profile", PROFILES)
def test_cascade_reaching_a_finalizer_outside_the_set(profile: str,
                                                      statuses: Counter[int]) -> None:
    """Young garbage holds the last reference to an old object with a ``__del__``: the kernel's
    cascade stops there (NEED) and the heap's driver finishes it."""
    heaps = [new_heap(profile, fast) for fast in (True, False)]
    logs = [garbage_holding_an_old_finalizer(heap) for heap in heaps]
    assert_same(*heaps, "after the collection")
    assert logs[0] == logs[1] and len(logs[0]) == 1
    assert statuses[NEED] == 1


@pytest.mark.parametrize("profile", PROFILES)
def test_arrays_that_must_grow(profile: str, statuses: Counter[int]) -> None:
    """The cascade's frame and value stacks and the trashcan start with room for one entry, so
    the kernel stops for room and the driver grows them and goes on."""
    heaps = [new_heap(profile, fast) for fast in (True, False)]
    for heap in heaps:
        kernel = heap.dealloc_kernel
        assert kernel is not None
        kernel.frames = np.zeros(FRAME, np.uint32)
        kernel.vbuf = np.zeros(1, np.int32)
        heap.trash_delete_later.items = np.zeros(1, np.int32)
        ids = heap.alloc_many("list", 300, 2)  # a ring of lists, each also holding a dict
        dicts = heap.alloc_many("dict", 300, 2)
        heap.set_slots(ids, np.zeros(300, np.int32), np.roll(ids, -1))
        heap.set_slots(ids, np.ones(300, np.int32), dicts)
        heap.decref_many(dicts)
        heap.decref_many(ids)
        heap.gc.collect(0)
    assert_same(*heaps, "after the collection")
    assert statuses and BAIL not in statuses and set(statuses) != {DONE}


def test_conditions_choose_the_ordinary_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A DEBUG flag, the free-list model, a free listener, ``compiled = False`` or a phase put
    in by a test: no twin."""
    heap = new_heap("3.12", True)
    assert compiled.applies(heap.collector)  # type: ignore[arg-type]
    with monkeypatch.context() as patch:
        patch.setattr(phases, "delete_garbage", lambda *args: None)
        assert not compiled.applies(heap.collector)  # type: ignore[arg-type]
    assert compiled.applies(heap.collector)  # type: ignore[arg-type]
    heap.gc.set_debug(DEBUG_SAVEALL)
    assert not compiled.applies(heap.collector)  # type: ignore[arg-type]
    heap.gc.set_debug(0)
    heap.table.free_listeners.append(lambda _oid: None)
    assert not compiled.applies(heap.collector)  # type: ignore[arg-type]
    heap.table.free_listeners.clear()
    assert not compiled.applies(new_heap("3.12", True, free_lists=True).collector)  # type: ignore[arg-type]
    assert not compiled.applies(new_heap("3.12", False).collector)  # type: ignore[arg-type]



def fan_garbage(heap: gclab.Heap, rounds: int) -> None:
    """Young garbage whose releases reach zero at the first, a middle and the last value: a
    list, a tuple and a dict each holding three one-slot lists (the dict two, under atom
    keys); the first list holds the container back (a cycle), the last one a dict that holds
    it too, the middle one nothing."""
    for _ in range(rounds):
        for kind in ("list", "tuple", "dict"):
            items = [heap.alloc("list", 1) for _ in range(3)]
            if kind == "dict":
                head = heap.alloc("dict", 4)
                for index, item in enumerate(items[:2]):
                    heap.set_slot(head, 2 * index, heap.atom(f"k{index}"))
                    heap.set_slot(head, 2 * index + 1, item)
            else:
                head = heap.alloc(kind, 3)
                for index, item in enumerate(items):
                    heap.set_slot(head, index, item)
            heap.set_slot(items[0], 0, head)
            holder = heap.alloc("dict", 2)
            heap.set_slot(holder, 0, heap.atom("h"))
            heap.set_slot(holder, 1, head)
            heap.set_slot(items[2], 0, holder)
            for oid in (head, *items, holder):
                heap.decref(oid)


@pytest.mark.parametrize("profile", PROFILES)
def test_garbage_whose_releases_reach_zero_anywhere(profile: str,
                                                    statuses: Counter[int]) -> None:
    """tp_clear and deallocs of young garbage whose releases reach zero at the first, a middle
    or the last value (a tp_clear pushes a frame only for the first two): young and middle
    collections agree with the ordinary path, all in the kernel."""
    heaps = [new_heap(profile, fast) for fast in (True, False)]
    for heap in heaps:
        heap.gc.set_threshold(40, 3, 2)
        fan_garbage(heap, 30)
        heap.gc.collect(1)
    assert_same(*heaps, "after the collections")
    assert statuses[DONE] > 10 and BAIL not in statuses
    collected = sum(r.collected for r in heaps[0].history)
    assert collected == sum(r.collected for r in heaps[1].history) > 30 * 3 * 4
