"""Differential tests: the compiled deallocation cascade agrees with the generator oracle.

Each test builds the same random heap (:mod:`gclab.testing.builders`) twice, on one heap with
the kernel (:mod:`gclab.heap._jit_dealloc`; under ``GCLAB_JIT=0`` its uncompiled Python, forced
on) and on one with ``dealloc_kernel = None`` (the generators of :mod:`gclab.heap.dealloc`),
runs the same drops, bulk drops and collections on both, and compares everything observable:
every table column and the reference pool, ``free_ids``, the order of frees (a free listener),
``live``/``pool_holes``, the
collector's counts and free lists, the trashcan, the weakref side tables, the order of
``__del__`` calls and weakref callbacks, ``gc.garbage`` and ``heap.history``.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gclab
from gclab._jit import ENABLED
from gclab.collectors.cpython import phases
from gclab.errors import InvariantViolation
from gclab.heap._jit_dealloc import FRAME, IO_TOP, IO_VTOP, DeallocKernel
from gclab.heap.core import HeapCore
from gclab.heap.flags import HAS_WEAKREFS
from gclab.heap.table import NULL
from gclab.testing.builders import HeapRecipe, instance_types, new_object, put
from gclab.testing.builders import build as build_heap
from gclab.testing.strategies import heap_recipes

PROFILES = ("2.7", "3.11", "3.12", "3.13")
KINDS = ("list", "tuple", "dict", "set", "inst", "fin", "winst")


@pytest.fixture(autouse=True, scope="module")
def _delete_garbage_through_the_kernel() -> Iterator[None]:
    """Under GCLAB_JIT=0 the collector runs the oracle phases, whose delete_garbage never starts
    the kernel's delete_garbage frames; the phase that does (it falls back to the oracle for a
    heap without the kernel) is put in, so that those frames run as plain Python too."""
    if ENABLED:
        yield
        return
    from gclab.collectors.cpython import fast

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(phases, "delete_garbage", fast.delete_garbage)
        yield


@dataclass
class Recipe:
    heap: HeapRecipe  # objects, (source, key, value) edges, chains, weakrefs, profile, slots
    free_lists: bool
    steps: list[tuple[str, int]]  # ("drop", object index), ("bulk", count), ("collect", g)
    thresholds: tuple[int, int, int]


def recipe(profile: str, kinds: list[str], edges: list[tuple[int, int]], *,
           free_lists: bool = False, chains: list[list[str]] | None = None,
           weakrefs: list[tuple[int, bool]] | None = None,
           steps: list[tuple[str, int]] | None = None,
           thresholds: tuple[int, int, int] = (700, 10, 10), slots: int = 3) -> Recipe:
    """A fixed case: ``edges`` as (source, target) pairs (a dict stores under a new key)."""
    heap = HeapRecipe(kinds, edges=[(src, NULL, dst) for src, dst in edges],
                      chains=chains or [], weakrefs=weakrefs or [], profile=profile,
                      slots=slots)
    return Recipe(heap, free_lists, steps or [], thresholds)


@st.composite
def recipes(draw: st.DrawFn) -> Recipe:
    heap = draw(heap_recipes(kinds=KINDS, max_objects=25, drops=None, sizes=False, chains=2,
                             chain_kinds=("list", "list", "list", "tuple", "dict", "inst", "fin"),
                             weakrefs=5, profiles=PROFILES, slots=(1, 2, 3)))
    n = len(heap.kinds)
    step = st.one_of(st.tuples(st.just("drop"), st.integers(0, n + 1)),
                     st.tuples(st.just("bulk"), st.integers(1, 4)),
                     st.tuples(st.just("collect"), st.integers(0, 2)))
    steps = draw(st.lists(step, max_size=12))
    thresholds = draw(st.sampled_from([(0, 10, 10), (3, 2, 2), (700, 10, 10)]))
    return Recipe(heap, draw(st.booleans()), steps, thresholds)


class Twin:
    """One heap of a twin pair and its logs (``tiny``: the kernel's stacks and the trashcan
    start with room for one entry, so that every path that grows them runs)."""

    def __init__(self, recipe: Recipe, kernel: bool, tiny: bool = False) -> None:
        self.heap = heap = gclab.Heap(recipe.heap.profile, free_lists=recipe.free_lists)
        if kernel and (heap.dealloc_kernel is None or tiny):
            heap.dealloc_kernel = DeallocKernel()  # GCLAB_JIT=0: the kernel's plain Python
        if not kernel:
            heap.dealloc_kernel = None
        if tiny:
            heap.trash_delete_later.items = np.zeros(1, np.int32)
            if heap.dealloc_kernel is not None:
                heap.dealloc_kernel.frames = np.zeros(FRAME, np.uint32)
                heap.dealloc_kernel.vbuf = np.zeros(1, np.int32)
        heap.gc.set_threshold(*recipe.thresholds)
        # finalizers and callbacks get plain handles (``.id``), not proxies
        heap.wrap = types.MethodType(HeapCore.wrap, heap)  # type: ignore[method-assign]
        self.log: list[tuple[str, int]] = []
        self.types = instance_types(heap, lambda p: self.log.append(("del", p.id)))
        self.slots = recipe.heap.slots
        built = build_heap(recipe.heap, heap, types=self.types,
                           callback=lambda w: self.log.append(("cb", w.id)))
        self.held: list[int] = built.held  # ids we hold one external reference to, in order
        self.freed: list[int] = []  # every freed id, in the order freed (free_ids is sorted)
        heap.table.free_listeners.append(self.freed.append)

    def new(self, kind: str) -> int:
        return new_object(self.heap, kind, self.types, self.slots)

    def put(self, oid: int, value: int) -> None:
        """Store ``value`` in ``oid`` the way its kind allows."""
        put(self.heap, oid, value)

    def run(self, recipe: Recipe) -> None:
        heap = self.heap
        for op, arg in recipe.steps:
            if op == "collect":
                heap.gc.collect(arg)
            elif op == "bulk":
                live = [oid for oid in self.held[:arg] if heap.is_alive(oid)]
                del self.held[:arg]
                heap.decref_many(np.array(live, np.int32))
            elif self.held:
                oid = self.held.pop(arg % len(self.held))
                if heap.is_alive(oid):
                    heap.decref(oid)
        for oid in self.held:  # every external reference goes, then a full collection
            if heap.is_alive(oid):
                heap.decref(oid)
        heap.gc.collect()


def state(twin: Twin) -> dict[str, Any]:
    """Everything the two paths must agree on."""
    heap, t = twin.heap, twin.heap.table
    collector = heap.collector
    out: dict[str, Any] = {name: getattr(t, name)[: t.top].tolist() for name in t.COLUMNS}
    out["pool"] = t.pool[: t.pool_top].tolist()
    out["scalars"] = (t.top, t.live, t.pool_top, t.pool_holes)
    out["free_ids"] = list(t.free_ids)
    out["freed"] = list(twin.freed)
    out["count"] = list(collector.state.count)
    out["free_lists"] = collector.free_lists
    out["trash"] = (heap.trash_nesting, heap.trash_delete_later.tolist())
    out["weak"] = (heap.weaklists, heap.wr_referent,
                   {wr: cb is None for wr, cb in heap.wr_callback.items()})
    out["log"] = list(twin.log)
    out["garbage"] = [p.id for p in collector.state.garbage]  # type: ignore[attr-defined]
    out["history"] = [{k: v for k, v in dataclasses.asdict(r).items() if k != "wall_time"}
                      for r in heap.history]
    return out


def assert_twins_agree(recipe: Recipe, tiny: bool = False) -> None:
    fast, slow = Twin(recipe, kernel=True, tiny=tiny), Twin(recipe, kernel=False, tiny=tiny)
    assert state(fast) == state(slow), "after building"
    fast.run(recipe)
    slow.run(recipe)
    got, want = state(fast), state(slow)
    for key in want:
        assert got[key] == want[key], f"{key} differs between the kernel and the oracle"
    # HAS_WEAKREFS is set exactly on the objects with weakrefs
    t = fast.heap.table
    flagged = {oid for oid in range(t.top) if t.flags[oid] & HAS_WEAKREFS}
    assert flagged == set(fast.heap.weaklists)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipes())
def test_kernel_agrees_with_oracle(recipe: Recipe) -> None:
    """Random heaps, drops, bulk drops and collections: both paths give the same heap."""
    assert_twins_agree(recipe)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("free_lists", [False, True])
@pytest.mark.parametrize("slots", [1, 2])
def test_deep_chain_with_finalizers_hits_the_trashcan(profile: str, free_lists: bool,
                                                      slots: int) -> None:
    """A chain deeper than every profile's trashcan (3.13: 9950) with a ``__del__`` every 97
    nodes and weakref callbacks on some: same deferral order, same frees, same counts. Lists
    and tuples of one slot take the kernel's path without a snapshot; of two, the one with."""
    kinds = ["fin" if i % 97 == 5 else "tuple" if i % 7 == 3 else "list"
             for i in range(10_200)]
    case = recipe(profile, ["winst", "set"], [(0, 1)], free_lists=free_lists, chains=[kinds],
                  weakrefs=[(0, True), (1, True), (1, False)],
                  steps=[("drop", 2), ("drop", 0), ("collect", 2)], slots=slots)
    assert_twins_agree(case)


@pytest.mark.parametrize("profile", PROFILES)
def test_garbage_rings_through_delete_garbage(profile: str) -> None:
    """Rings of lists, dicts, instances and weakrefs freed by a collection (tp_clear path)."""
    kinds = ["list", "dict", "inst", "set", "tuple", "winst", "list", "fin"] * 8
    n = len(kinds)
    edges = [(i, (i + 1) % n) for i in range(n)] + [(i, (i * 7) % n) for i in range(n)]
    case = recipe(profile, kinds, edges, free_lists=True,
                  weakrefs=[(5, True), (13, True), (21, False)],
                  steps=[("bulk", n), ("collect", 0), ("collect", 2)])
    assert_twins_agree(case)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("slots", [1, 2])
def test_garbage_pairs_and_a_ring_of_small_containers(profile: str, slots: int) -> None:
    """Two-object cycles and a ring, as the benchmarks make them, freed by a collection: a
    member's tp_clear frees its partner at once (a body whose only release starts nothing), the
    member follows when its hold is dropped (a body of no slots); the ring frees as a chain.
    A tuple (no tp_clear), a ``__del__`` and a weakref'd instance sit among them."""
    kinds = ["list", "list", "tuple", "list", "list", "fin", "winst", "list"] * 6 + ["list"] * 60
    pairs = [(i, i ^ 1) for i in range(48)]
    ring = [(48 + i, 48 + (i + 1) % 60) for i in range(60)]
    case = recipe(profile, kinds, pairs + ring, free_lists=True,
                  weakrefs=[(6, True), (14, False)],
                  steps=[("bulk", len(kinds)), ("collect", 0), ("collect", 2)], slots=slots)
    assert_twins_agree(case)


@pytest.mark.parametrize("profile", PROFILES)
def test_garbage_members_that_outlive_their_tp_clear(profile: str) -> None:
    """delete_garbage moves a member that is still alive after its tp_clear to the older
    generation (it dies later): a list still referenced by another member, a tuple (no
    tp_clear) in a cycle. Both stand at the head of the list when their turn comes."""
    kinds = ["list", "list", "list", "tuple", "list", "dict"]
    edges = [(0, 1), (1, 0), (2, 0), (3, 4), (4, 3), (5, 3), (5, 0)]
    for generation in (0, 2):
        case = recipe(profile, kinds, edges,
                      steps=[("bulk", len(kinds)), ("collect", generation)], slots=1)
        assert_twins_agree(case)


@pytest.mark.parametrize("profile", PROFILES)
def test_stacks_grow_on_every_path(profile: str) -> None:
    """From stacks of one entry (frames, values, trashcan), every start and push grows them."""
    kinds = ["list", "dict", "inst", "set", "tuple", "winst", "list", "fin"] * 8
    n = len(kinds)
    edges = [(i, (i + 1) % n) for i in range(n)] + [(i, (i * 7) % n) for i in range(n)]
    chain = ["fin" if i % 97 == 5 else "tuple" if i % 7 == 3 else "list" for i in range(400)]
    case = recipe(profile, kinds, edges, free_lists=True, chains=[chain], weakrefs=[(5, True)],
                  steps=[("bulk", n), ("collect", 0), ("drop", 1), ("collect", 2)])
    assert_twins_agree(case, tiny=True)
    # a chain whose 50th list holds two: both wait in the trashcan at once (nesting 50)
    fan = [(i, i + 1) for i in range(50)] + [(49, 51)]
    drops = [("drop", 1)] * 51 + [("drop", 0)]
    assert_twins_agree(recipe(profile, ["list"] * 52, fan, steps=drops), tiny=True)


@pytest.mark.parametrize("kind", ["list", "dict"])
def test_a_count_going_below_zero_in_tp_clear_raises(kind: str) -> None:
    """A broken count found by tp_clear raises on both paths; the kernel forgets the frames
    the error left (it runs again afterwards)."""
    case = recipe("3.12", [kind, "list"], [(0, 1)])
    for twin in (Twin(case, kernel=True), Twin(case, kernel=False)):
        heap = twin.heap
        holder, held = twin.held
        heap.table.refcnt[held] = 0  # broken: the holder still refers to it
        with pytest.raises(InvariantViolation, match="below zero"):
            heap.clear(holder)
        kernel = heap.dealloc_kernel
        if kernel is not None:
            assert (kernel.io[IO_TOP], kernel.io[IO_VTOP]) == (0, 0)
        heap.table.refcnt[held] = 1
        twin.run(case)
        assert not heap.is_alive(holder) and not heap.is_alive(held)


@pytest.mark.parametrize("profile", PROFILES)
def test_a_weakref_in_the_garbage_is_cleared_by_python(profile: str) -> None:
    """A weakref object that is garbage itself (held by a cycle) reaches the head of the
    delete_garbage list: the kernel hands it to Python, then goes on with the next member."""
    case = recipe(profile, [], [], steps=[("collect", 2)])
    twins = [Twin(case, kernel=True), Twin(case, kernel=False)]
    for twin in twins:
        heap = twin.heap
        target = twin.new("winst")
        ref = heap.new_weakref(target, lambda w, log=twin.log: log.append(("cb", w.id)))
        inst, lst = twin.new("winst"), twin.new("list")
        for src, dst in ((inst, ref), (inst, lst), (lst, inst), (lst, target)):
            twin.put(src, dst)
        heap.decref_many(np.array([target, ref, inst, lst], np.int32))
        twin.run(case)
    assert state(twins[0]) == state(twins[1])
    assert twins[0].heap.table.live == twins[1].heap.table.live


def test_free_listeners_hear_the_same_in_the_same_order() -> None:
    """Two listeners: the kernel's driver calls both for one freed id before the next id, as
    ``ObjectTable.free_row`` does on the oracle's path."""
    case = recipe("3.12", ["list", "list", "fin"], [(0, 1), (1, 0), (1, 2)],
                  chains=[["list"] * 130], steps=[("bulk", 3), ("collect", 2)], slots=1)
    twins = [Twin(case, kernel=True), Twin(case, kernel=False)]  # both alive to the end
    logs: list[list[tuple[str, int]]] = [[], []]
    for twin, log in zip(twins, logs, strict=True):
        twin.heap.table.free_listeners += [lambda oid, log=log: log.append(("a", oid)),
                                           lambda oid, log=log: log.append(("b", oid))]
        twin.run(case)
    assert logs[0] == logs[1]
    assert len(logs[0]) == 2 * 133  # every object made


def test_kernel_is_used() -> None:
    """With the kernels on, a heap gets the compiled cascade (else the test above is moot)."""
    heap = gclab.Heap()
    assert (heap.dealloc_kernel is not None) == ENABLED


def _chain_freed(kernel: bool) -> tuple[list[int], list[int]]:
    """A 121-list chain dropped from its head: (the ids, the ids free listeners heard)."""
    heap = gclab.Heap(profile="3.11")
    if not kernel:
        heap.dealloc_kernel = None
    heard: list[int] = []
    heap.table.free_listeners.append(heard.append)
    head = heap.alloc("list")
    ids = [head]
    for _ in range(120):  # deep enough for the trashcan
        nxt = heap.alloc("list")
        heap.append_slot(ids[-1], nxt)
        heap.decref(nxt)
        ids.append(nxt)
    heap.decref(head)
    assert not any(heap.is_alive(i) for i in ids)
    assert set(ids) <= set(heap.table.free_ids)
    return ids, heard


def test_free_listeners_see_every_freed_id_in_order() -> None:
    """Both cascades report each freed id once, in the order they free them (free_ids itself
    is sorted: ids are reused lowest first, so the order comes from the generator cascade)."""
    ids, heard = _chain_freed(kernel=True)
    assert sorted(heard) == sorted(ids)
    assert heard == _chain_freed(kernel=False)[1]
