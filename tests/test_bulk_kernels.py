"""The bulk API's compiled passes (:mod:`gclab.heap._jit_bulk`) against their plain-Python twins.

Twin heaps are built by the same random program; one runs a random batch (good or bad entries
anywhere, any input dtype) through the compiled kernels, the other through the same source run
as Python (each kernel replaced by its ``py_func``). Afterwards every column, the pool, the
free ids, the collector's lists and counts must be identical, and so must the error (type,
message and note). Under ``GCLAB_JIT=0`` both sides run the Python source: the test then checks
the batch against itself, and ``tests/test_bulk.py`` against the one-at-a-time calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gclab
from gclab.errors import DuplicateKeyError, LayoutError
from gclab.heap import _jit_bulk, bulk
from gclab.heap.invariants import check_invariants
from gclab.heap.mutation import EventLog
from gclab.heap.table import N_HEADS, NULL
from gclab.heap.types import Kind
from test_bulk import PROFILES, _keyed_heap, make_heap, programs

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
KERNELS = [name for name in dir(_jit_bulk) if hasattr(getattr(_jit_bulk, name), "py_func")]


@contextmanager
def plain_twins() -> Iterator[None]:
    """Inside: every compiled helper of _jit_bulk is its plain-Python source (the twins call
    each other through the module, so the whole pass runs as Python)."""
    saved = {name: getattr(_jit_bulk, name) for name in KERNELS}
    try:
        for name, kernel in saved.items():
            setattr(_jit_bulk, name, kernel.py_func)
        yield
    finally:
        for name, kernel in saved.items():
            setattr(_jit_bulk, name, kernel)


def heap_state(heap: gclab.Heap) -> dict[str, Any]:
    """Everything a batch may change, column by column."""
    t = heap.table
    out: dict[str, Any] = {name: getattr(t, name)[: t.top].tolist() for name in t.COLUMNS}
    out["pool"] = t.pool[: t.pool_top].tolist()
    out.update(top=t.top, pool_top=t.pool_top, holes=t.pool_holes, live=t.live,
               free=list(t.free_ids), lists=[t.list_members(h) for h in range(N_HEADS)],
               count=list(heap.collector.state.count),
               history=[(r.generation, r.collected) for r in heap.collector.history])
    return out


def outcome(call: Callable[[], object]) -> tuple[str, str, list[str]] | None:
    """None, or the error ``call`` raised: its type, message and notes."""
    try:
        call()
    except Exception as exc:
        return type(exc).__name__, str(exc), list(getattr(exc, "__notes__", []))
    return None


def run_twins(profile: str, program: list[tuple[int, int, int]],
              batch: Callable[[gclab.Heap, list[int], int], Callable[[], object]]) -> None:
    """``batch`` (given a heap, its live ids and a dead id) on twin heaps: compiled and plain."""
    results = []
    for twin in ("compiled", "plain"):
        heap, _, _ = make_heap(profile, program, threshold=5)
        dead = heap.alloc("list", 1)
        heap.decref(dead)
        live = [oid for oid in range(N_HEADS, heap.table.top) if heap.is_alive(oid)]
        call = batch(heap, live, dead)
        if twin == "plain":
            with plain_twins():
                result = outcome(call)
        else:
            result = outcome(call)
        results.append((result, heap_state(heap)))
    assert results[0][0] == results[1][0]
    assert results[0][1] == results[1][1]


def _value(pick: int, live: list[int], atoms: list[int]) -> int:
    """A good value: a live id, an atom or NULL."""
    kind, at = pick % 6, pick // 6
    if kind <= 3:
        return live[at % len(live)]
    return atoms[at % len(atoms)] if kind == 4 else NULL


def _entry(pick: tuple[int, int, int, int], slotted: list[int], live: list[int], dead: int,
           atoms: list[int], heap: gclab.Heap) -> tuple[int, int, int]:
    """One ``(id, index, value)``: good unless ``fault`` names one of set_slot's errors."""
    obj_pick, index_pick, value_pick, fault = pick
    oid = slotted[obj_pick % len(slotted)]
    index = index_pick % int(heap.table.ref_len[oid])
    value = _value(value_pick, live, atoms)
    if fault == 0:
        oid = dead
    elif fault == 1:
        oid = 3  # a list head
    elif fault == 2:
        index = -1 if index_pick % 2 else int(heap.table.ref_len[oid])
    elif fault == 3:
        value = -1000  # no such atom
    elif fault == 4:
        value = dead
    return oid, index, value


entries = st.lists(st.tuples(st.integers(0, 200), st.integers(0, 7), st.integers(0, 200),
                             st.integers(0, 60)), max_size=40)
dtypes = st.sampled_from([np.int32, np.int64, np.uint32, np.int16, "list"])


def _as(values: list[int], dtype: Any) -> Any:
    if dtype == "list":
        return values
    if np.dtype(dtype).kind == "u" and min(values, default=0) < 0:
        return np.array(values, np.int64)
    return np.array(values, dtype)


@SETTINGS
@given(program=programs, profile=st.sampled_from(PROFILES), stores=entries, dtype=dtypes,
       watched=st.booleans())
def test_set_slots_twins_agree(program: list[tuple[int, int, int]], profile: str,
                               stores: list[tuple[int, int, int, int]], dtype: Any,
                               watched: bool) -> None:
    def batch(heap: gclab.Heap, live: list[int], dead: int) -> Callable[[], object]:
        atoms = [heap.atom("k"), heap.atom(7), heap.atom("name")]
        if watched:
            heap.add_listener(EventLog())
        slotted = [o for o in live if int(heap.table.ref_len[o]) and heap.type_of(o).kind
                   is not Kind.WEAKREF] or [heap.alloc("list", 2)]
        made = [_entry(pick, slotted, live, dead, atoms, heap) for pick in stores]
        ids, indices, values = ([entry[j] for entry in made] for j in range(3))
        return lambda: heap.set_slots(_as(ids, dtype), _as(indices, dtype), _as(values, dtype))
    run_twins(profile, program, batch)


@SETTINGS
@given(program=programs, profile=st.sampled_from(PROFILES),
       picks=st.lists(st.integers(0, 300), max_size=40), dtype=dtypes)
def test_decref_many_twins_agree(program: list[tuple[int, int, int]], profile: str,
                                 picks: list[int], dtype: Any) -> None:
    def batch(heap: gclab.Heap, live: list[int], dead: int) -> Callable[[], object]:
        codes = [dead if p == 300 else live[p % len(live)] for p in picks]
        return lambda: heap.decref_many(_as(codes, dtype))
    run_twins(profile, program, batch)


@SETTINGS
@given(program=programs, profile=st.sampled_from(PROFILES),
       kind=st.sampled_from(["list", "dict", "tuple", "set"]), count=st.integers(0, 30),
       size=st.integers(0, 2), freed=st.lists(st.integers(0, 99), max_size=10))
def test_alloc_many_twins_agree(program: list[tuple[int, int, int]], profile: str, kind: str,
                                count: int, size: int, freed: list[int]) -> None:
    def batch(heap: gclab.Heap, live: list[int], dead: int) -> Callable[[], object]:
        for pick in freed:  # free ids to reuse, in a scrambled order
            oid = live[pick % len(live)]
            if heap.is_alive(oid) and int(heap.table.extern[oid]) > heap._kept_refs(oid)[0]:
                heap.decref(oid)
        return lambda: heap.alloc_many(kind, count, size - size % 2 if kind == "dict" else size)
    run_twins(profile, program, batch)


def test_every_kernel_has_a_twin() -> None:
    """The twins the tests above swap in are every compiled helper of the module."""
    assert {"check_stores", "check_keys", "store_all", "set_slots_pass", "decref_pass",
            "drop_run", "init_rows_at"} <= set(KERNELS) or not gclab._jit.ENABLED


# -- the key rules: the compiled scan, its plain twin and the vectorised check agree -----------


def _keyed_outcome(stores: list[tuple[str, int, int]], how: str,
                   monkeypatch: pytest.MonkeyPatch) -> tuple[Any, dict[str, Any]]:
    """A batch of stores into dicts, a set, a frame and a list (``_keyed_heap``), checked
    ``how``: compiled (the scan), plain (its twin) or vectorised (KEY_SCAN_LIMIT 0)."""
    heap, objs, values = _keyed_heap()
    values = [*values, objs["dict"], heap.atom("d")]  # a dict as a key: unhashable
    ids = [objs[kind] for kind, _, _ in stores]
    indices = [i % int(heap.table.ref_len[oid]) for (_, i, _), oid in zip(stores, ids,
                                                                          strict=True)]
    codes = [values[v % len(values)] for _, _, v in stores]
    with monkeypatch.context() as patch:
        if how == "vectorised":
            patch.setattr(bulk, "KEY_SCAN_LIMIT", 0)
        call = lambda: heap.set_slots(np.array(ids, np.int32),  # noqa: E731
                                      np.array(indices, np.int32), np.array(codes, np.int32))
        if how == "plain":
            with plain_twins():
                result = outcome(call)
        else:
            result = outcome(call)
    check_invariants(heap)
    return result, heap_state(heap)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(stores=st.lists(st.tuples(st.sampled_from(["dict", "set", "frame", "list"]),
                                 st.integers(0, 5), st.integers(0, 8)), max_size=24))
def test_key_rules_compiled_scan_twin_and_vectorised_agree(
        stores: list[tuple[str, int, int]]) -> None:
    """Hashable keys, str names and unique keys over batch time: the same first bad entry,
    the same error (message and note) and the same heap, column by column, whichever check
    ran; a rejected batch leaves the pool as it was (the scan's trial writes undone)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        results = [_keyed_outcome(stores, how, monkeypatch)
                   for how in ("compiled", "plain", "vectorised")]
    assert results[0] == results[1] == results[2]


def test_key_rules_in_a_big_dict_are_checked_vectorised() -> None:
    """A dict with more key slots than the scan covers: the vectorised check finds the
    duplicate stored earlier in the batch, and a good batch is stored."""
    heap = gclab.Heap()
    n = bulk.KEY_SCAN_LIMIT + 10
    d = heap.alloc("dict", 2 * n)
    keys = [heap.atom(f"k{j}") for j in range(n)]
    heap.set_slots([d] * n, list(range(0, 2 * n, 2)), keys)
    assert heap.slots(d)[0::2] == keys
    with pytest.raises(DuplicateKeyError, match="slot 6") as info:
        heap.set_slots([d, d], [0, 2], [heap.atom("new"), keys[3]])
    assert "entry 1" in info.value.__notes__[0]
    assert heap.slots(d)[0::2] == keys


# -- inputs of any layout, the __dict__ slot on every profile -----------------------------------


@pytest.mark.parametrize("make", [
    lambda root, n: np.broadcast_to(np.int32(root), n),  # read-only, stride 0
    lambda root, n: np.full(2 * n, root, np.int32)[::2],  # strided: copied once
    lambda root, n: np.full(n, root, np.dtype(">i4")),  # int32, not native: converted once
])
def test_int32_inputs_of_any_layout(make: Callable[[int, int], Any]) -> None:
    heap = gclab.Heap()
    n = 50
    root = heap.alloc("list", n)
    ids = heap.alloc_many("list", n)
    heap.set_slots(make(root, n), np.arange(n, dtype=np.int32), ids)
    heap.decref_many(ids)
    assert heap.slots(root) == ids.tolist()
    assert all(heap.refcount(int(x)) == 1 for x in ids)


def test_one_object_batch_of_many_stores() -> None:
    """A batch that stores into one object again and again (the pass reads it once)."""
    heap = gclab.Heap()
    a = heap.alloc("list", 3)
    b, c = heap.alloc("list"), heap.alloc("list")
    heap.set_slots([a] * 6, [0, 1, 2, 0, 1, 2], [b, c, b, c, NULL, NULL])
    assert heap.slots(a) == [c, NULL, NULL]
    assert heap.refcount(b) == 1 and heap.refcount(c) == 2


@pytest.mark.parametrize("profile", PROFILES)
def test_set_slots_keeps_the_dict_slot_rule(profile: str) -> None:
    """Only a dict or NULL goes to an instance's ``__dict__`` slot, on every profile, as with
    set_slot (the bulk check used to apply it on the profiles with a separate dict only)."""
    heap = gclab.Heap(profile)

    class C:
        pass

    info = heap.cls(C)._info  # type: ignore[attr-defined]
    obj = heap.alloc(info, heap.instance_slot_range(info)[0])
    slot = len(info.slot_names)
    lst = heap.alloc("list")
    with pytest.raises(LayoutError) as single:
        heap.set_slot(obj, slot, lst)
    with pytest.raises(LayoutError) as bulk:
        heap.set_slots([obj], [slot], [lst])
    assert str(bulk.value) == str(single.value)
    heap.set_slots([obj], [slot], [heap.alloc("dict")])


@pytest.mark.parametrize("profile", ["3.10", "3.12", "3.13"])  # 2.7 keeps such cycles
def test_alloc_many_makes_room_again_after_user_code(profile: str) -> None:
    """A finalizer run by a collection the batch triggers takes every row and pool slot left:
    the rest of the batch makes room again (it used to write past the columns' ends)."""
    heap = gclab.Heap(profile, capacity=64)
    heap.gc.set_threshold(30, 10, 10)
    kept: list[Any] = []

    class Greedy:
        def __del__(self) -> None:  # every row and pool slot left, exactly
            t = heap.table
            kept.append(heap.alloc("list", len(t.pool) - t.pool_top))
            kept.extend(heap.alloc_many("list", t.capacity - t.top + len(t.free_ids)).tolist())

    for _ in range(3):  # garbage cycles of finalizable instances
        a, b = heap.cls(Greedy)(), heap.cls(Greedy)()
        a.other, b.other = b, a
        del a, b
    ids = heap.alloc_many("list", 200, 3).tolist()
    assert len(kept) > 200  # the finalizers ran during the batch
    assert len(set(ids) | set(kept)) == len(ids) + len(kept)
    assert all(heap.is_alive(x) and heap.slots(x) == [NULL] * 3 for x in ids)
    check_invariants(heap, strict=True)
