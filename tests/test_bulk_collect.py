"""Differential tests: ``alloc_many`` with its automatic collections in one compiled call
(``collectors/cpython/bulk_alloc.py``, ``kernels/bulk_alloc.py``) leaves everything as the
heap's own loop does (a quiet run in bulk, ``alloc`` for each allocation that triggers).

Twin heaps run the same random program: one may take the compiled call, the other is told not
to (``collector.compiled_bulk = False``; its collections still take the compiled twin of
``collect()`` where they may, which ``tests/test_young_fast.py`` compares with the ordinary
path). Programs mix ``alloc_many`` of dicts, tuples, lists and instances (sizes, counts
crossing several thresholds) with garbage cycles (so collections free rows and ids are
reused), cycles holding ``__del__`` objects or weakly referenced objects with callbacks (so
collections stop and Python finishes them), threshold changes, ``gc.disable()``, explicit
collections, on sync (2.7-3.11) and safe-point (3.12+) profiles. After every step every table
column, the pool, the free ids, the counts, the long-lived counts, the stats, the history (wall
time aside), ``gc.garbage``, the trashcan, the weakref tables, the log of finalizers and
callbacks and the ids ``alloc_many`` returned must be equal. Fixed cases make sure each way
out of the compiled call is taken (all done, records full, a collection handed to the ordinary
phases, a cascade finished by Python, arrays grown) and that the conditions choose the heap's
own loop. Under ``GCLAB_JIT=0`` the heaps get the compiled cascade's plain Python, so the call's
twin runs there too.
"""

from __future__ import annotations

import random
import types
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gclab
from gclab.collectors.cpython import bulk_alloc
from gclab.heap._jit_dealloc import DONE, FRAME, NEED, DeallocKernel
from gclab.heap.core import HeapCore
from gclab.kernels.bulk_alloc import FINISHED, FULL
from gclab.kernels.young import BAIL
from gclab.profiles import DEBUG_STATS
from heapstate import collection_state

PROFILES = ("2.7", "3.10", "3.11", "3.12", "3.13")


@pytest.fixture
def statuses(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[int]]:
    """Counts the compiled call's results by status (FINISHED, FULL, BAIL, NEED, ...)."""
    seen: Counter[int] = Counter()
    kernel = bulk_alloc.alloc_and_collect

    def counting(*args: Any) -> Any:
        status = kernel(*args)
        seen[int(status)] += 1
        return status

    monkeypatch.setattr(bulk_alloc, "alloc_and_collect", counting)
    yield seen


class Twin:
    """One heap of a pair; ``log`` records ``__del__`` calls and weakref callbacks in order,
    ``made`` every array ``alloc_many`` returned, ``held`` the ids held (one reference each)."""

    def __init__(self, profile: str, fast: bool) -> None:
        self.heap = heap = gclab.Heap(profile)
        if heap.dealloc_kernel is None:  # GCLAB_JIT=0: the cascade's plain Python, forced on
            heap.dealloc_kernel = DeallocKernel()
        heap.collector.compiled_bulk = fast  # type: ignore[attr-defined]
        heap.wrap = types.MethodType(HeapCore.wrap, heap)  # type: ignore[method-assign]
        self.log: list[tuple[str, int]] = []
        add = heap.types.add_class
        self.node = add("Node", slot_names=("a",), has_dict=False, weakrefable=True,
                        finalizer=None)
        self.fin = add("Fin", slot_names=("a",), has_dict=False, weakrefable=True,
                       finalizer=lambda p: self.log.append(("del", p.id)))
        self.made: list[list[int]] = []
        self.held: list[int] = []

    def size_of(self, kind: str, size: int) -> tuple[Any, int]:
        """The type and a size ``alloc_many`` accepts for it."""
        heap = self.heap
        if kind in ("node", "fin"):
            info = self.node if kind == "node" else self.fin
            return info, heap.instance_slot_range(info)[0]
        if kind == "dict":
            return kind, 2 * (size % 3)
        return kind, size % 4

    def alloc(self, kind: str, count: int, size: int) -> np.ndarray:
        type_ref, size = self.size_of(kind, size)
        ids = self.heap.alloc_many(type_ref, count, size)
        self.made.append(ids.tolist())
        return ids

    def cycles(self, kind: str, count: int) -> None:
        """``count`` garbage objects of ``kind`` (list, node, fin), each slot 0 to the next
        one's (a ring per pair)."""
        ids = self.alloc(kind, 2 * count, 1)
        self.heap.set_slots(ids, np.zeros(len(ids), np.int32),
                            ids.reshape(-1, 2)[:, ::-1].ravel())
        self.heap.decref_many(ids)

    def step(self, op: str, a: int, b: int) -> None:
        heap = self.heap
        if op == "alloc":
            kind = ("dict", "tuple", "list", "node", "set", "fin")[a % 6]
            ids = self.alloc(kind, b, a // 6)
            if kind == "tuple" and not a // 6 % 4:
                heap.decref_many(ids)  # the empty tuple's references
            else:
                self.held.extend(ids.tolist())
        elif op == "cycles":
            self.cycles(("list", "node", "fin")[a % 3] if a % 5 else "list", b)
        elif op == "weak":  # a weakly referenced garbage pair, the weakref held
            ids = self.alloc("node", 2, 1)
            heap.set_slots(ids, np.zeros(2, np.int32), ids[::-1].copy())
            self.held.append(heap.new_weakref(int(ids[0]),
                                              lambda w: self.log.append(("cb", w.id))))
            heap.decref_many(ids)
        elif op == "drop" and self.held:
            k = a % len(self.held)
            drops = self.held[k : k + b]
            del self.held[k : k + b]
            heap.decref_many(np.array(drops, np.int32))
        elif op == "threshold":
            heap.gc.set_threshold(1 + a % 40, 1 + b % 4, 1 + (a + b) % 3)
        elif op == "switch":
            if a % 2:
                heap.gc.enable()
            else:
                heap.gc.disable()
        elif op == "collect":
            heap.gc.collect(a % 3)


def snapshot(twin: Twin) -> dict[str, Any]:
    """Everything the two paths must agree on: the collection state, the finalizer log, the
    ids each ``alloc_many`` returned and the collector's switches."""
    state = twin.heap.collector.state  # type: ignore[attr-defined]
    out = collection_state(twin.heap)
    out["log"] = list(twin.log)
    out["made"] = list(twin.made)
    out["state"] = (state.enabled, state.collecting, state.scheduled, list(state.thresholds))
    return out


def assert_same(fast: Twin, slow: Twin, when: str) -> None:
    got, want = snapshot(fast), snapshot(slow)
    for key in want:
        assert got[key] == want[key], f"{key} differs {when}"


def run_program(profile: str, steps: list[tuple[str, int, int]]) -> Twin:
    fast, slow = Twin(profile, True), Twin(profile, False)
    for index, (op, a, b) in enumerate(steps):
        fast.step(op, a, b)
        slow.step(op, a, b)
        assert_same(fast, slow, f"after step {index} {(op, a, b)}")
    for twin in (fast, slow):
        twin.heap.decref_many(np.array(twin.held, np.int32))
        twin.heap.gc.collect()
    assert_same(fast, slow, "after the last drops and a full collection")
    return fast


STEP = st.one_of(
    st.tuples(st.just("alloc"), st.integers(0, 47), st.integers(0, 300)),
    st.tuples(st.just("cycles"), st.integers(0, 14), st.integers(1, 60)),
    st.tuples(st.just("weak"), st.just(0), st.just(0)),
    st.tuples(st.just("drop"), st.integers(0, 500), st.integers(1, 200)),
    st.tuples(st.just("threshold"), st.integers(0, 100), st.integers(0, 100)),
    st.tuples(st.just("switch"), st.integers(0, 1), st.just(0)),
    st.tuples(st.just("collect"), st.integers(0, 2), st.just(0)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PROFILES), st.lists(STEP, max_size=14))
def test_random_programs_agree(profile: str, steps: list[tuple[str, int, int]]) -> None:
    """Random programs: the twin heaps agree after every step."""
    run_program(profile, [("threshold", 9, 1), *steps])


@pytest.mark.parametrize("seed", range(6))
def test_seeded_programs_agree(seed: int, statuses: Counter[int]) -> None:
    """Longer seeded programs, mostly allocations and garbage with small thresholds: many
    collections of every generation inside the compiled call, some handed to Python."""
    rng = random.Random(seed)
    steps: list[tuple[str, int, int]] = [("threshold", rng.randrange(5, 30), 2)]
    for _ in range(40):
        op = rng.choice(("alloc", "alloc", "alloc", "cycles", "cycles", "drop", "weak",
                         "threshold", "collect", "switch"))
        steps.append((op, rng.randrange(48), rng.randrange(1, 400)))
    steps.append(("switch", 1, 0))
    steps.append(("alloc", 2, 2000))
    fast = run_program(PROFILES[seed % len(PROFILES)], steps)
    assert statuses[FINISHED]
    assert {r.generation for r in fast.heap.history} == {0, 1, 2}


@pytest.mark.parametrize("profile", PROFILES)
def test_every_way_out_of_the_call(profile: str, statuses: Counter[int],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Records full (two per call), a ``__del__`` among the garbage (BAIL: the ordinary phases
    finish it) and garbage holding the last reference to an old ``__del__`` object (NEED: the
    heap's driver finishes the cascade), on both triggers."""
    monkeypatch.setattr(bulk_alloc, "MAX_RECORDS", 2)
    steps = [("threshold", 9, 1), ("alloc", 3, 100), ("cycles", 2, 5), ("alloc", 2, 200)]
    run_program(profile, steps)
    assert statuses[FULL] and statuses[FINISHED] and statuses[BAIL]
    twins = [Twin(profile, fast) for fast in (True, False)]
    for twin in twins:
        heap = twin.heap
        old = heap.alloc_many(twin.fin, 1, 1)
        heap.gc.collect()  # old is in the oldest generation
        ring = heap.alloc_many("list", 2, 2)
        heap.set_slots(ring[[0, 1, 0]], np.array([0, 0, 1], np.int32),
                       np.array([ring[1], ring[0], old[0]], np.int32))
        heap.decref_many(old)
        heap.decref_many(ring)
        heap.gc.set_threshold(5, 10, 10)
        twin.alloc("list", 50, 1)
    assert_same(*twins, "after a cascade reaching an old finalizer")
    assert len(twins[0].log) == 1
    assert statuses[NEED] >= 1


@pytest.mark.parametrize("profile", PROFILES)
def test_arrays_that_must_grow(profile: str, statuses: Counter[int]) -> None:
    """The cascade's stacks and the trashcan start with room for one entry: the call stops
    for room and Python grows them and finishes the collection."""
    twins = [Twin(profile, fast) for fast in (True, False)]
    for twin in twins:
        heap = twin.heap
        kernel = heap.dealloc_kernel
        assert kernel is not None
        kernel.frames = np.zeros(FRAME, np.uint32)
        kernel.vbuf = np.zeros(1, np.int32)
        heap.trash_delete_later.items = np.zeros(1, np.int32)
        heap.gc.set_threshold(700, 10, 10)
        ids = heap.alloc_many("list", 300, 2)  # a ring of lists, each also holding a dict
        dicts = heap.alloc_many("dict", 300, 2)
        heap.set_slots(ids, np.zeros(300, np.int32), np.roll(ids, -1))
        heap.set_slots(ids, np.ones(300, np.int32), dicts)
        heap.decref_many(dicts)
        heap.decref_many(ids)
        twin.alloc("list", 2000, 0)
    assert_same(*twins, "after the collections")
    assert set(statuses) - {FINISHED, FULL, DONE, BAIL}


def test_conditions_choose_the_heaps_loop(statuses: Counter[int]) -> None:
    """gc.callbacks, a DEBUG flag, a type that is not GC-capable, a free listener, a nested
    call, ``compiled_bulk = False``: the heap's own loop, nothing compiled."""
    twin = Twin("3.12", True)
    heap, collector = twin.heap, twin.heap.collector
    heap.alloc_many("module", 3000)
    heap.gc.callbacks.append(lambda phase, info: None)
    heap.alloc_many("list", 3000)
    heap.gc.callbacks.clear()
    heap.gc.set_debug(DEBUG_STATS)
    heap.alloc_many("list", 3000)
    heap.gc.set_debug(0)
    heap.table.free_listeners.append(lambda oid: None)
    heap.alloc_many("list", 3000)
    heap.table.free_listeners.clear()
    collector.compiled_bulk = False  # type: ignore[attr-defined]
    heap.alloc_many("list", 3000)
    assert not statuses
    assert len(heap.history) >= 4 * 4 and heap.gc.get_count()[0] < 3000
    collector.compiled_bulk = True  # type: ignore[attr-defined]
    heap.alloc_many("list", 3000)
    assert statuses[FINISHED] == 1


@pytest.mark.parametrize("profile", PROFILES)
def test_the_benchmark_program_agrees(profile: str, statuses: Counter[int]) -> None:
    """``bench/program.py``'s bulk program (two-dict cycles, linked instances of a managed
    class, everything dropped, a full collection), smaller, with a managed class that has a
    ``__del__`` among the dicts' values: the twin heaps agree at each stage."""
    twins = [Twin(profile, fast) for fast in (True, False)]
    stages: list[list[dict[str, Any]]] = [[], []]
    for twin, seen in zip(twins, stages, strict=True):
        heap = twin.heap
        del heap.wrap  # the __del__ of a managed class receives its proxy

        @heap.cls
        class Node:
            __slots__ = ("next",)

        log = twin.log

        @heap.cls
        class Fin:
            __slots__ = ("next",)

            def __del__(self, log: list[tuple[str, int]] = log) -> None:
                log.append(("del", 0))

        n = 3000
        key_a, key_b = heap.atom("a"), heap.atom("b")
        dicts = heap.alloc_many("dict", 2 * n, 2)
        seen.append(snapshot(twin))
        nodes = heap.alloc_many(Node._info, n, 1)  # type: ignore[attr-defined]
        fins = heap.alloc_many(Fin._info, 10, 1)  # type: ignore[attr-defined]
        seen.append(snapshot(twin))
        values = np.empty(4 * n, np.int32)
        values[0::4], values[1::4], values[2::4], values[3::4] = (
            key_b, dicts[1::2], key_a, dicts[0::2])
        values[1:40:4] = fins  # ten a-dicts hold a Fin instead of their b-dict (below)
        heap.set_slots(np.repeat(dicts, 2), np.tile(np.array([0, 1], np.int32), 2 * n),
                       values)
        heap.set_slots(fins, np.zeros(10, np.int32), dicts[1:20:2])  # a -> Fin -> b -> a
        heap.set_slots(nodes[1:], np.zeros(n - 1, np.int32), nodes[:-1])
        heap.decref_many(fins)
        heap.decref_many(dicts)
        heap.decref_many(nodes)
        twin.alloc("list", 5000, 1)  # collections in the call find the garbage
        seen.append(snapshot(twin))
        heap.gc.collect()
        seen.append(snapshot(twin))
    for index, (got, want) in enumerate(zip(*stages, strict=True)):
        for key in want:
            assert got[key] == want[key], f"{key} differs at stage {index}"
    assert statuses[FINISHED] >= 2 and statuses[BAIL] >= 1
    if profile == "2.7":  # legacy finalizers: the cycles are uncollectable, in gc.garbage
        assert not twins[0].log and len(twins[0].heap.gc.garbage) >= 10
    else:
        assert twins[0].log == [("del", 0)] * 10
