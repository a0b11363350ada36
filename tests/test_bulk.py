"""The bulk API against the one-at-a-time API on twin heaps.

Two heaps are made by the same random program; then one runs a batch (``alloc_many``,
``set_slots``, ``decref_many``) and the other the equivalent loop of single calls. Their full
observable state must agree: live ids, types, reference counts, slots, flags, the order of every
collector list, ``count``, the collections run and the order of ``__del__`` calls. A rejected
batch must leave the heap exactly as it was.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gclab
from gclab.errors import (
    DuplicateKeyError,
    InvalidObjectError,
    LayoutError,
    RefcountUnderflowError,
    UseAfterFreeError,
)
from gclab.heap.core import HeapCore
from gclab.heap.invariants import check_invariants
from gclab.heap.table import N_HEADS, NULL

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
PROFILES = ("2.7", "3.10", "3.12", "3.13")


def make_heap(profile: str, program: list[tuple[int, int, int]], *, threshold: int,
              free_lists: bool = False) -> tuple[gclab.Heap, list[int], list[int]]:
    """A heap with garbage cycles, survivors and finalizers; returns (heap, held ids, del log)."""
    heap = gclab.Heap(profile, free_lists=free_lists)
    heap.gc.set_threshold(threshold, 3, 3)
    log: list[int] = []

    class Fin:
        __slots__ = ("a", "b")

        def __del__(self) -> None:
            log.append(self._id)  # type: ignore[attr-defined]

    fin = heap.cls(Fin)._info  # type: ignore[attr-defined]
    kinds = ["list", "dict", "tuple", fin]
    held: list[int] = []
    for kind, a, b in program:
        oid = heap.alloc(kinds[kind], 2 if kind != 1 else 0)
        held.append(oid)
        others = [x for x in held if heap.is_alive(x)]
        for j, pick in enumerate((a, b)):
            target = others[pick % len(others)]
            if kind == 1:
                heap.dict_set(oid, heap.atom(j) if pick % 3 else target, target)
            else:
                heap.set_slot(oid, j, target)
        if a % 2:
            heap.decref(oid)  # garbage unless something refers to it
            held.pop()
    return heap, [x for x in held if heap.is_alive(x)], log


def state(heap: HeapCore, log: list[int]) -> dict[str, Any]:
    t = heap.table
    live = [oid for oid in range(N_HEADS, t.top) if t.flags[oid] & 1]
    out: dict[str, Any] = {
        "live": live,
        "rows": [(int(t.type_id[o]), int(t.refcnt[o]), int(t.extern[o]), int(t.flags[o]),
                  t.slot_list(o)) for o in live],
        "lists": [t.list_members(h) for h in range(16)],
        "free_ids": list(t.free_ids),
        "log": list(log),
    }
    collector = getattr(heap, "collector", None)
    if collector is not None:
        out["count"] = list(collector.state.count)
        out["history"] = [(r.generation, r.collected) for r in collector.history]
    return out


programs = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 50), st.integers(0, 50)),
                    max_size=25)


@SETTINGS
@given(program=programs, profile=st.sampled_from(PROFILES), threshold=st.integers(0, 12),
       kind=st.sampled_from(["list", "dict", "tuple", "set", "frame"]), count=st.integers(0, 40),
       size=st.integers(0, 3), free_lists=st.booleans(), enabled=st.booleans())
def test_alloc_many_is_a_loop_of_alloc(program: list[tuple[int, int, int]], profile: str,
                                       threshold: int, kind: str, count: int, size: int,
                                       free_lists: bool, enabled: bool) -> None:
    a, _, log_a = make_heap(profile, program, threshold=threshold, free_lists=free_lists)
    b, _, log_b = make_heap(profile, program, threshold=threshold, free_lists=free_lists)
    for heap in (a, b):
        if not enabled:
            heap.gc.disable()
    assert state(a, log_a) == state(b, log_b)
    if kind in ("dict", "frame"):
        size -= size % 2  # key/value pairs
    ids = a.alloc_many(kind, count, size)
    loop = [b.alloc(kind, size) for _ in range(count)]
    assert ids.dtype == np.int32
    assert ids.tolist() == loop
    assert state(a, log_a) == state(b, log_b)


@SETTINGS
@given(program=programs, profile=st.sampled_from(PROFILES),
       stores=st.lists(st.tuples(st.integers(0, 99), st.integers(0, 1), st.integers(-3, 99)),
                       max_size=30))
def test_set_slots_stores_then_releases(program: list[tuple[int, int, int]], profile: str,
                                        stores: list[tuple[int, int, int]]) -> None:
    """Equal to: hold+store each entry in order, then release the old values in order."""
    a, held_a, log_a = make_heap(profile, program, threshold=5)
    b, held_b, log_b = make_heap(profile, program, threshold=5)
    assert held_a == held_b
    slotted = [x for x in held_a if int(a.table.ref_len[x]) >= 2]
    if not slotted:
        return
    atoms = [a.atom("x"), b.atom("x")][0], a.atom(3)
    b.atom(3)
    ids, indices, values = [], [], []
    for pick, index, val in stores:
        ids.append(slotted[pick % len(slotted)])
        indices.append(1 if a.type_of(ids[-1]).name == "dict" else index)  # values, not keys
        code = atoms[val % 2] if val < 0 else held_a[val % len(held_a)]
        values.append(NULL if val == -1 else code)
    a.set_slots(np.array(ids), np.array(indices), np.array(values))
    with b.operation():
        olds = []
        for oid, index, value in zip(ids, indices, values, strict=True):
            b.hold(value)
            olds.append(b.table.get(oid, index))
            b.table.put(oid, index, value)
            if int(b.table.type_id[oid]) == 2:  # dict
                b.maintain_tracking(oid, value)
        for old in olds:
            b.release(old)
    assert state(a, log_a) == state(b, log_b)


@SETTINGS
@given(program=programs, profile=st.sampled_from(PROFILES), picks=st.lists(st.integers(0, 99)))
def test_decref_many_is_a_loop_of_decref(program: list[tuple[int, int, int]], profile: str,
                                         picks: list[int]) -> None:
    a, held, log_a = make_heap(profile, program, threshold=4)
    b, _, log_b = make_heap(profile, program, threshold=4)
    if not held:
        return
    extern = {oid: int(a.table.extern[oid]) for oid in held}
    batch = []
    for pick in picks:
        oid = held[pick % len(held)]
        if extern[oid]:
            extern[oid] -= 1
            batch.append(oid)
    a.decref_many(np.array(batch, dtype=np.int64))
    for oid in batch:
        b.decref(oid)
    assert state(a, log_a) == state(b, log_b)


def test_set_slots_tracks_dicts_like_set_slot() -> None:
    heap = HeapCore()
    d1, d2, d3 = heap.alloc("dict", 2), heap.alloc("dict", 2), heap.alloc("dict", 2)
    lst = heap.alloc("list")
    tup = heap.alloc("tuple", 1)
    heap.set_slot(tup, 0, heap.atom(1))
    heap.untrack(tup)  # an atom-only tuple, as untrack_tuples leaves it
    heap.set_slots([d1, d2, d3], [1, 1, 1], [heap.atom(5), tup, lst])
    assert [heap.is_tracked(d) for d in (d1, d2, d3)] == [False, False, True]
    assert heap.table.list_members(0)[-1] == d3
    assert heap.refcount(lst) == 2


# -- rejection: a bad entry anywhere, nothing changed ----------------------------------------------


def _snapshot(heap: HeapCore) -> tuple[Any, ...]:
    t = heap.table
    arrays = (*(getattr(t, name).copy() for name in t.COLUMNS), t.pool.copy())
    return (*arrays, t.top, t.pool_top, list(t.free_ids), t.live,
            list(heap.collector.state.count) if hasattr(heap, "collector") else None)


def _same(before: tuple[Any, ...], after: tuple[Any, ...]) -> bool:
    return all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
               for x, y in zip(before, after, strict=True))


@pytest.fixture
def small() -> tuple[gclab.Heap, list[int], int, int]:
    heap = gclab.Heap()
    ids = heap.alloc_many("list", 5, 2).tolist()
    wr_target = heap.alloc("set")
    wr = heap.new_weakref(wr_target)
    dead = heap.alloc("list")
    heap.decref(dead)  # a poisoned id (the next allocation would reuse it)
    return heap, ids, dead, wr


@pytest.mark.parametrize(("where", "error"), [
    ("dead id", UseAfterFreeError), ("head id", InvalidObjectError),
    ("huge id", InvalidObjectError), ("index", IndexError), ("negative index", IndexError),
    ("bad atom", InvalidObjectError), ("dead value", UseAfterFreeError),
    ("weakref", TypeError),
])
def test_set_slots_rejects_the_whole_batch(small: Any, where: str, error: type) -> None:
    heap, ids, dead, wr = small
    oids = [ids[0], ids[1], ids[2], ids[3]]
    indices = [0, 1, 0, 1]
    values = [ids[4], ids[4], ids[0], heap.atom(1)]
    k = 2  # the bad entry comes after good ones that would already have been stored
    if where == "dead id":
        oids[k] = dead
    elif where == "head id":
        oids[k] = 3
    elif where == "huge id":
        oids[k] = 10**6
    elif where == "index":
        indices[k] = 2
    elif where == "negative index":
        indices[k] = -1
    elif where == "bad atom":
        values[k] = -1000
    elif where == "dead value":
        values[k] = dead
    elif where == "weakref":
        oids[k] = wr
    before = _snapshot(heap)
    with pytest.raises(error) as info:
        heap.set_slots(oids, indices, values)
    assert any("entry 2" in note for note in getattr(info.value, "__notes__", []))
    assert _same(before, _snapshot(heap))


def test_bulk_rejects_bad_arrays(small: Any) -> None:
    heap, ids, _, _ = small
    before = _snapshot(heap)
    with pytest.raises(TypeError):
        heap.set_slots([1.5], [0], [NULL])
    with pytest.raises(TypeError):
        heap.decref_many(np.array([True]))
    with pytest.raises(ValueError, match="length"):
        heap.set_slots(ids[:2], [0], [NULL, NULL])
    with pytest.raises(ValueError):
        heap.alloc_many("list", -1)
    with pytest.raises(TypeError):
        heap.alloc_many("weakref.ReferenceType", 2)
    with pytest.raises(InvalidObjectError):
        heap.alloc_many("no such type", 2)
    assert _same(before, _snapshot(heap))


def test_decref_many_rejects_the_whole_batch(small: Any) -> None:
    heap, ids, dead, _ = small
    before = _snapshot(heap)
    with pytest.raises(UseAfterFreeError):
        heap.decref_many([ids[0], ids[1], dead])
    with pytest.raises(InvalidObjectError):
        heap.decref_many([ids[0], 2])
    with pytest.raises(RefcountUnderflowError, match="entry 2"):
        heap.decref_many([ids[0], ids[1], ids[0]])  # one external reference each
    assert _same(before, _snapshot(heap))
    heap.decref_many(ids)
    assert not any(heap.is_alive(x) for x in ids)


def test_decref_many_names_the_entry_a_loop_of_decref_fails_at(small: Any) -> None:
    """Two objects overdrawn: the batch names the first failing entry in batch order (where
    ``len(ids)`` calls of decref would stop), not the smaller id."""
    heap, ids, _, _ = small
    low, high = sorted(ids[:2])
    before = _snapshot(heap)
    with pytest.raises(RefcountUnderflowError, match="entry 1 "):
        heap.decref_many([high, high, low, low])  # one external reference each
    assert _same(before, _snapshot(heap))


def test_alloc_many_empty_tuple_is_shared() -> None:
    heap = HeapCore()
    rc = heap.refcount(heap.empty_tuple)
    ids = heap.alloc_many("tuple", 3)
    assert set(ids.tolist()) == {heap.empty_tuple}
    assert heap.refcount(heap.empty_tuple) == rc + 3


@pytest.mark.parametrize("profile", PROFILES)
def test_alloc_many_reuses_freed_ids_like_alloc(profile: str) -> None:
    heaps = [gclab.Heap(profile), gclab.Heap(profile)]
    for heap in heaps:
        heap.gc.set_threshold(4)
        for oid in heap.alloc_many("list", 7).tolist()[::2]:
            heap.decref(oid)  # four freed ids, in a scrambled order
    bulk = heaps[0].alloc_many("tuple", 12, 1)
    loop = [heaps[1].alloc("tuple", 1) for _ in range(12)]
    assert bulk.tolist() == loop
    assert state(heaps[0], []) == state(heaps[1], [])


# -- inputs are range-checked before any cast -----------------------------------------------------


def _single_error(heap: HeapCore, call: Any) -> BaseException:
    """The error the one-at-a-time call raises."""
    with pytest.raises(Exception) as info:
        call()
    return info.value


@pytest.mark.parametrize(("column", "entry"), [
    ("values", np.array([2**64 - 1], np.uint64)),  # used to wrap to -1: NULL
    ("values", np.array([2**64 - 2], np.uint64)),  # used to wrap to -2: the first atom
    ("values", np.array([2**31], np.uint64)),
    ("values", np.array([2**32 + 18], np.int64)),  # used to wrap to a live id
    ("values", np.array([-(2**40)], np.int64)),
    ("values", [2**70]),  # too large for numpy: an object array
    ("values", [True]),  # a bool array
    ("ids", np.array([2**63 + 5], np.uint64)),
    ("ids", np.array([-(2**33)], np.int64)),
    ("ids", [None]),
    ("indices", np.array([2**63], np.uint64)),
    ("indices", np.array([2**32], np.int64)),  # used to wrap to slot 0
], ids=lambda x: repr(x) if isinstance(x, str) else f"{x!r}")
def test_set_slots_never_wraps(column: str, entry: Any) -> None:
    """Every entry outside int32 is rejected with set_slot's own error for it."""
    heap = gclab.Heap()
    a = heap.list([heap.list(), "x"])
    aid, lid = heap.id_of(a), heap.id_of(a[0])
    good: dict[str, list[int]] = {"ids": [aid, aid, aid], "indices": [1, 0, 0],
                                  "values": [lid, lid, lid]}
    bad = entry.tolist()[0] if isinstance(entry, np.ndarray) else entry[0]
    batch: dict[str, Any] = dict(good)
    batch[column] = (np.array([*good[column][:2], bad], entry.dtype)
                     if isinstance(entry, np.ndarray) else [*good[column][:2], bad])
    single = {name: values[2] for name, values in batch.items()}
    expected = _single_error(heap, lambda: heap.set_slot(single["ids"], single["indices"],
                                                          single["values"]))
    before = _snapshot(heap)
    with pytest.raises(type(expected)) as info:
        heap.set_slots(batch["ids"], batch["indices"], batch["values"])
    assert str(info.value) == str(expected)
    assert "(entry 2 of the batch; nothing was changed)" in info.value.__notes__
    assert _same(before, _snapshot(heap))


def test_set_slots_mixed_list_with_a_bool() -> None:
    """numpy turns ``[5, True]`` into ints; the bool is still set_slot's TypeError."""
    heap = gclab.Heap()
    a = heap.alloc("list", 2)
    expected = _single_error(heap, lambda: heap.set_slot(a, 1, True))
    before = _snapshot(heap)
    with pytest.raises(TypeError) as info:
        heap.set_slots([a, a], [0, 1], [heap.atom(5), True])
    assert str(info.value) == str(expected) and "entry 1" in info.value.__notes__[0]
    with pytest.raises(TypeError):
        heap.set_slots([a, a], [0, np.True_], [NULL, NULL])
    assert _same(before, _snapshot(heap))


def test_set_slots_reports_the_first_bad_entry_in_batch_order() -> None:
    heap = gclab.Heap()
    a = heap.alloc("list", 3)
    values = [NULL, 2**63, NULL]  # entry 1 does not fit; entry 2's id is not an object
    with pytest.raises(InvalidObjectError, match=str(2**63)) as info:
        heap.set_slots(np.array([a, a, 10**6], np.int64), [0, 1, 2], values)
    assert "entry 1" in info.value.__notes__[0]


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
                                   np.int64, np.uint64])
def test_set_slots_takes_every_integer_dtype(dtype: Any) -> None:
    heap = HeapCore()
    a, b = heap.alloc("list", 1), heap.alloc("list", 1)
    heap.set_slots(np.array([a, b], dtype), np.array([0, 0], dtype), np.array([b, a], dtype))
    assert heap.slots(a) == [b] and heap.slots(b) == [a]


def test_int32_batches_are_used_as_they_are() -> None:
    """No copy is made of int32 inputs (the common case of the benchmarks)."""
    from gclab.heap.bulk import _column

    codes = np.arange(5, dtype=np.int32)
    assert _column(codes, "ids").codes is codes


def test_decref_many_never_wraps() -> None:
    heap = HeapCore()
    a = heap.alloc("list")
    for batch in (np.array([a, 2**64 - 1], np.uint64), np.array([a, 2**32 + a], np.int64),
                  [a, 2**70], [a, True]):
        bad = batch[1] if not isinstance(batch, np.ndarray) else batch.tolist()[1]
        expected = _single_error(heap, lambda bad=bad: heap.decref(bad))
        before = _snapshot(heap)
        with pytest.raises(type(expected)) as info:
            heap.decref_many(batch)
        assert str(info.value) == str(expected) and "entry 1" in info.value.__notes__[0]
        assert _same(before, _snapshot(heap))


# -- the layout rules, entry by entry in batch order -------------------------------------------


def _keyed_heap() -> tuple[gclab.Heap, dict[str, int], list[int]]:
    """A dict with two entries, a set, a frame and a list; the values batches draw from."""
    heap = gclab.Heap()
    heap.gc.disable()
    d = heap.alloc("dict")
    heap.dict_set(d, heap.atom("a"), heap.atom(1))
    heap.dict_set(d, heap.atom("b"), heap.atom(2))
    s = heap.alloc("set", 3)
    heap.set_slot(s, 0, heap.atom("a"))
    frame = heap.alloc("frame", 4)
    heap.set_slot(frame, 0, heap.atom("a"))
    lst, tup = heap.alloc("list", 2), heap.alloc("tuple", 1)
    values = [NULL, heap.atom("a"), heap.atom("b"), heap.atom("c"), heap.atom(1), lst, tup]
    return heap, {"dict": d, "set": s, "frame": frame, "list": lst}, values


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(stores=st.lists(st.tuples(st.sampled_from(["dict", "set", "frame", "list"]),
                                 st.integers(0, 3), st.integers(0, 6)), max_size=8))
def test_set_slots_applies_layout_rules_like_a_loop(stores: list[tuple[str, int, int]]) -> None:
    """A batch into dicts, sets and frames is accepted exactly when the loop of set_slot is;
    otherwise it fails with the loop's error at the loop's entry, changing nothing."""
    a, objs, values = _keyed_heap()
    b, _, _ = _keyed_heap()
    ids = [objs[kind] for kind, _, _ in stores]
    indices = [i % max(1, int(a.table.ref_len[oid])) for (_, i, _), oid in zip(stores, ids,
                                                                                strict=True)]
    codes = [values[v] for _, _, v in stores]
    failure = None
    for k, (oid, index, code) in enumerate(zip(ids, indices, codes, strict=True)):
        try:
            b.set_slot(oid, index, code)
        except (LayoutError, DuplicateKeyError, IndexError) as exc:
            failure = (k, exc)
            break
    before = _snapshot(a)
    if failure is None:
        a.set_slots(np.array(ids, np.int32), np.array(indices, np.int32),
                    np.array(codes, np.int32))
        assert all(a.slots(o) == b.slots(o) for o in objs.values())
        check_invariants(a)
        return
    k, exc = failure
    with pytest.raises(type(exc)) as info:
        a.set_slots(np.array(ids, np.int32), np.array(indices, np.int32),
                    np.array(codes, np.int32))
    assert str(info.value) == str(exc)
    assert f"entry {k} " in info.value.__notes__[0]
    assert _same(before, _snapshot(a))


def test_set_slots_sees_keys_stored_earlier_in_the_batch() -> None:
    heap, objs, _ = _keyed_heap()
    d = objs["dict"]
    x = heap.atom("x")
    with pytest.raises(DuplicateKeyError, match="slot 0") as info:  # 'x' went to slot 0 first
        heap.set_slots([d, d], [0, 2], [x, x])
    assert "entry 1" in info.value.__notes__[0]
    heap.set_slots([d, d], [0, 2], [x, heap.atom("a")])  # 'a' left slot 0 before slot 2 took it
    assert heap.slots(d)[0::2] == [x, heap.atom("a")]
    with pytest.raises(LayoutError, match="unhashable type: 'list'"):
        heap.set_slots([d], [0], [objs["list"]])
    with pytest.raises(LayoutError, match="names are str atoms"):
        heap.set_slots([objs["frame"]], [2], [heap.atom(1)])
