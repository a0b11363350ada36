"""The collector interface (issue #8 parts 1 and 2): the registry and ``Heap(collector=...)``,
profiles naming their collector, list heads a collector reserves, new objects placed by the
collector, the compiled cascade's accounting declared as data, and the invariants split between
the heap and CPython's collector."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gclab
from gclab.collectors import GenerationalCollector, RefcountCollector, collector_names
from gclab.collectors.base import NotIncrementalError, UnknownCollectorError, collector_class
from gclab.errors import HeapError, InvariantViolation, ProfileError
from gclab.heap import table as table_module
from gclab.heap._jit_dealloc import DeallocKernel
from gclab.heap.core import HeapCore
from gclab.heap.flags import COLLECTING
from gclab.heap.invariants import check_invariants
from gclab.heap.observer import IGNORE_FREES, NoCollector
from gclab.heap.table import N_HEADS, ObjectTable
from gclab.heap.types import TypeInfo
from gclab.profiles import PROFILES, get_profile

# -- the registry and Heap(collector=...) ---------------------------------------------------------


def test_collectors_lists_the_registered_names() -> None:
    assert gclab.COLLECTORS == collector_names()
    assert {"cpython", "refcount"} <= set(gclab.COLLECTORS)
    assert collector_class("cpython") is GenerationalCollector
    assert collector_class("refcount") is RefcountCollector


@pytest.mark.parametrize("name", ["cpython", "refcount"])
def test_heap_gets_the_named_collector(name: str) -> None:
    heap = gclab.Heap("3.12", collector=name)
    assert type(heap.collector) is collector_class(name)
    assert heap.observer is heap.collector
    assert heap.collector.name == name


def test_every_profile_defaults_to_cpythons_collector() -> None:
    for name, profile in PROFILES.items():
        assert profile.collector == "cpython"
        assert type(gclab.Heap(name).collector) is GenerationalCollector


def test_a_profile_can_name_another_collector() -> None:
    profile = get_profile("3.11").with_changes(collector="refcount")
    assert type(gclab.Heap(profile).collector) is RefcountCollector
    heap = gclab.Heap(profile, collector="cpython")  # an explicit name wins
    assert type(heap.collector) is GenerationalCollector


@pytest.mark.parametrize("bad", [5, "", "two words", None, ("cpython",)])
def test_a_profiles_collector_field_is_checked(bad: object) -> None:
    with pytest.raises(ProfileError, match="collector must be a collector's name"):
        get_profile("3.12").with_changes(collector=bad)


def test_an_unknown_collector_is_rejected_before_anything_is_built(
        monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []
    real_init = HeapCore.__init__

    def spy(self: HeapCore, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(HeapCore, "__init__", spy)
    with pytest.raises(UnknownCollectorError) as info:
        gclab.Heap("3.12", collector="marksweep-2000")
    message = str(info.value)
    assert "no collector named 'marksweep-2000'" in message
    for name in gclab.COLLECTORS:
        assert name in message
    with pytest.raises(UnknownCollectorError):
        gclab.Heap(get_profile("3.12").with_changes(collector="nothing_like_it"))
    with pytest.raises(TypeError, match="collector must be a str"):
        gclab.Heap("3.12", collector=3)  # type: ignore[arg-type]
    assert built == []
    assert isinstance(info.value, gclab.GCLabError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("name", ["cpython", "refcount"])
def test_capabilities_are_data_and_step_needs_an_incremental_collector(name: str) -> None:
    heap = gclab.Heap(collector=name)
    caps = heap.collector.capabilities
    assert (caps.collects_cycles, caps.generational) == ((True, True) if name == "cpython"
                                                          else (False, False))
    assert (caps.incremental, caps.write_barrier, caps.uses_refcounts) == (False, False, True)
    with pytest.raises(NotIncrementalError, match="does not collect incrementally"):
        heap.collector.step()


# -- list heads and placement ---------------------------------------------------------------------


def test_heads_are_reserved_lowest_first_and_given_back_empty() -> None:
    table = ObjectTable()
    assert table.reserve_heads(9) == 0
    assert table.reserve_heads(2) == 9
    table.release_heads(0, 9)
    assert table.reserve_heads(4) == 0  # the lowest free run again
    with pytest.raises(HeapError, match="no 6 consecutive free list heads"):
        table.reserve_heads(6)  # 4, 5, 6, 7, 8 are free: five only
    oid = table.new_row(0, 0)
    table.list_append(oid, 9)
    with pytest.raises(HeapError, match="list head 9 still has members"):
        table.release_heads(9, 2)
    assert table.heads_reserved[9]  # refused: nothing given back


@pytest.mark.parametrize("dtype", [np.int32, np.intp])
def test_list_extend_links_like_list_append(dtype: type, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    """place_many's table service, compiled and in numpy (GCLAB_JIT=0), against a loop of
    list_append: the same links, every column."""
    ids = np.array([20, 17, 30, 18, 25], dtype)
    tables = [ObjectTable(64) for _ in range(3)]
    for table in tables:
        table.list_append(16, 3)  # a member already there
    for oid in ids.tolist():
        tables[0].list_append(oid, 3)
    tables[1].list_extend(ids, 3)
    monkeypatch.setattr(table_module, "_lists", None)
    tables[2].list_extend(ids, 3)
    for table in tables[1:]:
        np.testing.assert_array_equal(table.gc_next, tables[0].gc_next)
        np.testing.assert_array_equal(table.gc_prev, tables[0].gc_prev)
    assert tables[1].walk_members(3) == [16, 20, 17, 30, 18, 25]


def test_a_bare_heap_keeps_tracked_objects_in_its_one_list() -> None:
    heap = HeapCore()
    assert isinstance(heap.observer, NoCollector)
    assert heap.observer.accounting is IGNORE_FREES
    ids = [heap.alloc("list") for _ in range(3)] + heap.alloc_many("tuple", 2, 1).tolist()
    assert heap.table.walk_members(heap.observer.head) == ids
    assert all(heap.table.list_is_empty(h) for h in range(N_HEADS) if h != heap.observer.head)


def test_attach_gives_the_old_collectors_heads_back() -> None:
    heap = HeapCore()
    collector = heap.attach(lambda h: RefcountCollector(h))
    assert heap.observer is collector
    assert (collector.young, collector.permanent) == (0, 2)  # the head NoCollector held is free

    a = heap.alloc("list")
    assert heap.table.walk_members(collector.young) == [a]


def test_a_failed_attach_changes_nothing() -> None:
    heap = HeapCore()
    before = heap.observer, heap.table.heads_reserved.copy()

    def broken(h: HeapCore) -> RefcountCollector:
        h.table.reserve_heads(2)  # half made, then it fails
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        heap.attach(broken)
    with pytest.raises(TypeError, match="attach takes a callable"):
        heap.attach(RefcountCollector(HeapCore()))  # type: ignore[arg-type]
    assert heap.observer is before[0]
    np.testing.assert_array_equal(heap.table.heads_reserved, before[1])
    a = heap.alloc("list")
    assert heap.table.walk_members(heap.observer.head) == [a]
    with pytest.raises(HeapError, match="still has members"):  # too late: a is tracked
        heap.attach(lambda h: RefcountCollector(h))
    assert heap.observer is before[0]
    check_invariants(heap)



@pytest.mark.parametrize("name", ["cpython", "refcount"])
def test_new_objects_go_where_the_collector_places_them(name: str) -> None:
    """alloc, alloc_many, a dict that starts tracking (one at a time and through set_slots):
    each lands at the tail of the collector's list for new objects, in order."""
    heap = gclab.Heap("3.11", collector=name)
    heap.gc.disable()
    young = heap.collector.heads(0)[0]
    a = heap.alloc("list")
    many = heap.alloc_many("list", 3).tolist()
    d1, d2 = heap.alloc("dict"), heap.alloc("dict")
    heap.dict_set(d1, heap.atom("k"), heap.atom(1))  # atoms only: d1 stays untracked
    heap.dict_set(d2, heap.atom("k"), a)  # d2 starts tracking first
    assert not heap.is_tracked(d1)
    heap.set_slots(np.array([d1], np.int32), np.array([1], np.int32),
                   np.array([many[0]], np.int32))  # the bulk store tracks d1
    assert heap.table.walk_members(young) == [a, *many, d2, d1]
    check_invariants(heap)


def test_a_batch_that_starts_many_dicts_tracking_places_them_in_batch_order() -> None:
    """set_slots tracks a dict at the first store of a value that may be tracked; the dicts go
    to the collector in batch order (40 of them: past the kernel's first 16 places)."""
    heap = gclab.Heap("3.12")
    heap.gc.disable()
    dicts = heap.alloc_many("dict", 40).tolist()
    for d in dicts:
        heap.dict_set(d, heap.atom("k"), heap.atom(0))
    value = heap.alloc("list")
    order = np.random.default_rng(7).permutation(40)
    batch = np.array([dicts[i] for i in order] * 2, np.int32)  # each dict twice
    heap.set_slots(batch, np.ones(80, np.int32), np.full(80, value, np.int32))
    members = heap.table.walk_members(heap.collector.young)
    assert members[-40:] == [dicts[i] for i in order]
    check_invariants(heap)


# -- the compiled cascade's accounting is declared ------------------------------------------------



class Telling(RefcountCollector):
    """A collector that wants to be told of every free (``accounting = None``)."""

    def __init__(self, heap: HeapCore, *, free_lists: bool = False) -> None:
        super().__init__(heap, free_lists=free_lists)
        self.accounting = None
        self.frees: list[str] = []

    def after_gc_free(self, info: TypeInfo, size: int) -> None:
        self.frees.append(info.name)
        super().after_gc_free(info, size)


def test_a_collector_without_accounting_is_told_of_every_free() -> None:
    heap = HeapCore("3.12")
    collector = heap.attach(lambda h: Telling(h))
    head = heap.alloc("list")
    node = head
    for _ in range(199):  # a chain of 200 lists: the compiled cascade would free it all
        nxt = heap.alloc("list")
        heap.append_slot(node, nxt)
        heap.decref(nxt)
        node = nxt
    heap.decref(head)
    assert collector.frees == ["list"] * 200
    assert collector.state.count == [0, 0, 0]  # 200 up, 200 down


@pytest.mark.parametrize("free_lists", [False, True])
def test_declared_accounting_matches_being_told(free_lists: bool) -> None:
    """The compiled cascade applies FreeAccounting itself; a heap that is told of every free
    ends with the same counts and free lists (a chain of 101 lists, 100 1-tuples and 100
    dicts, worked out by hand: with free lists, 80 lists, 80 dicts and all the tuples keep
    their shells, so 41 of 301 frees count down)."""
    results = []
    for telling in (False, True):
        heap = HeapCore("3.13")
        heap.dealloc_kernel = DeallocKernel()  # under GCLAB_JIT=0: its plain Python
        make = Telling if telling else RefcountCollector
        collector = heap.attach(lambda h, make=make: make(h, free_lists=free_lists))
        head = heap.alloc("list")
        node = head
        for i in range(300):
            nxt = heap.alloc(("list", "tuple", "dict")[i % 3], 1 if i % 3 == 1 else 0)
            if heap.type_of(node).name == "dict":
                heap.dict_set(node, heap.atom(i), nxt)
            elif heap.type_of(node).name == "tuple":
                heap.set_slot(node, 0, nxt)
            else:
                heap.append_slot(node, nxt)
            heap.decref(nxt)
            node = nxt
        heap.decref(head)
        assert heap.table.live == 1  # the empty tuple
        results.append((list(collector.state.count), collector.free_lists))
    assert results[0] == results[1]
    if free_lists:
        assert results[0] == ([260, 0, 0], {"list": 80, "dict": 80, ("tuple", 1): 100})
    else:
        assert results[0] == ([0, 0, 0], None)



# -- invariants: the heap's and the collector's ----------------------------------------------------


def test_cpythons_quiet_state_is_checked_by_its_collector() -> None:
    heap = gclab.Heap("3.12")
    heap.debug_level = 0
    heap.gc.disable()
    a = heap.alloc("list")
    heap.table.list_move(a, heap.collector.unreachable)
    with pytest.raises(InvariantViolation, match=rf"<list {a}> is left in scratch list"):
        check_invariants(heap)
    heap.table.list_move(a, heap.collector.young)
    heap.table.flags[a] |= COLLECTING
    with pytest.raises(InvariantViolation, match=rf"<list {a}> keeps collection flags"):
        check_invariants(heap)
    heap.table.flags[a] &= ~COLLECTING & 0xFF
    heap.collector.state.count[1] = -1
    with pytest.raises(InvariantViolation, match=r"counts \[1, -1, 0\] \(three counts"):

        check_invariants(heap)


def test_a_bare_heap_checks_heap_invariants_only() -> None:
    """Lists are the collector's: a bare heap's checker asks nothing about scratch lists or
    collection marks, and still finds a broken list."""
    heap = HeapCore()
    a, b = heap.alloc("list"), heap.alloc("list")
    heap.table.list_move(a, 5)
    heap.table.flags[b] |= COLLECTING
    check_invariants(heap)
    heap.table.gc_prev[b] = b
    with pytest.raises(InvariantViolation, match="gc_prev is"):
        check_invariants(heap)
