"""``gc.get_objects`` / ``gc.get_referrers``: kernels against oracles, and both against the table.

Random heaps (:mod:`gclab.testing.builders`: lists, tuples, dicts with object keys and values,
sets, slotted instances, instances with attributes (inline values on 3.12, a separate
``__dict__`` on 3.10), weakrefs, frames, NULL slots and atoms, dropped external references) are
spread over gen0, gen1, gen2 and the permanent generation in a random order. Then:

* the oracle (:mod:`gclab.algorithms.introspection`) and the kernel
  (:mod:`gclab.kernels.introspection`) must return identical id lists, order included;
* ``heap.gc.get_objects`` / ``heap.gc.get_referrers`` must match a brute force computed here
  from the raw ``heap.table`` columns: lists walked backwards through ``gc_prev``, and what
  traverse visits read straight from the reference pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gclab
from gclab.algorithms import introspection as oracle
from gclab.collectors import phases
from gclab.collectors.cpython.generational import GEN0, GEN1, GEN2, GENERATIONS, PERMANENT
from gclab.heap.flags import ALIVE, TRACKED
from gclab.heap.table import N_HEADS
from gclab.heap.types import Kind
from gclab.kernels import introspection as kernel
from gclab.testing.builders import HeapRecipe, instance_types
from gclab.testing.builders import build as build_heap
from gclab.testing.strategies import heap_recipes

KINDS = ("list", "tuple", "dict", "set", "inst", "winst", "dinst", "frame", "weakref")


# -- random heaps (gclab.testing) -----------------------------------------------------------------


@dataclass
class Recipe:
    heap: HeapRecipe
    targets: list[int]  # recipe indices
    atom_targets: list[int]  # atom indices (never referrable)


@st.composite
def recipes(draw: st.DrawFn, max_objects: int = 30) -> Recipe:
    heap = draw(heap_recipes(kinds=KINDS, max_objects=max_objects, edges_per_object=4,
                             drops=(True, True, False), places=(0, 0, 1, 2, 3), freeze=True,
                             profiles=("3.10", "3.12")))
    n = len(heap.kinds)
    return Recipe(heap, targets=draw(st.lists(st.integers(0, n - 1), max_size=4)),
                  atom_targets=draw(st.lists(st.integers(0, 2), max_size=2)))


def build(recipe: Recipe) -> tuple[gclab.Heap, list[int], list[int]]:
    """The recipe's heap, the ids of its objects (freed ones included) and its atom codes;
    instances are of ``@heap.cls`` classes, so ``gc.get_objects()`` can return them."""
    heap = gclab.Heap(recipe.heap.profile)
    heap.gc.disable()
    built = build_heap(recipe.heap, heap, types=instance_types(heap, managed=True))
    return heap, built.ids, built.atoms


# -- the brute force: raw columns only -------------------------------------------------------------


def walk_back(heap: gclab.Heap, head: int) -> list[int]:
    """A list's members head to tail, found by walking ``gc_prev`` from the tail."""
    out = []
    node = int(heap.table.gc_prev[head])
    while node != head:
        out.append(node)
        node = int(heap.table.gc_prev[node])
    return out[::-1]


def brute_objects(heap: gclab.Heap, heads: tuple[int, ...]) -> list[int]:
    return [oid for head in heads for oid in walk_back(heap, head)]


def visited_ids(heap: gclab.Heap, oid: int) -> set[int]:
    """The object ids tp_traverse of ``oid`` visits, read from the pool (spec §7.1)."""
    t = heap.table
    info = heap.types[int(t.type_id[oid])]
    if not info.gc_capable:
        return set()
    start, length = int(t.ref_start[oid]), int(t.ref_len[oid])
    values = t.pool[start : start + length].tolist()
    if info.kind is Kind.DICT:
        values = values[: length - length % 2]  # whole key/value entries
    elif info.kind in (Kind.FRAME, Kind.MODULE):
        values = values[1::2]
    return {v for v in values if v >= 0}


def brute_referrers(heap: gclab.Heap, targets: set[int]) -> list[int]:
    return [oid for oid in brute_objects(heap, GENERATIONS) if visited_ids(heap, oid) & targets]


def ids_of(heap: gclab.Heap, proxies: list[object]) -> list[int]:
    return [heap.id_of(p) for p in proxies]


# -- the tests -------------------------------------------------------------------------------------


SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(recipe=recipes())
def test_kernels_agree_with_oracles(recipe: Recipe) -> None:
    heap, ids, atoms = build(recipe)
    for heads in (GENERATIONS, (GEN0,), (GEN1,), (GEN2,), (PERMANENT,), (GEN2, GEN0), ()):
        want = oracle.get_objects_ids(heap, heads)
        assert kernel.get_objects_ids(heap, heads) == want, heads
        assert phases.get_objects_ids(heap, heads) == want, heads
    targets = [ids[i] for i in recipe.targets if heap.is_alive(ids[i])]
    targets += [atoms[i] for i in recipe.atom_targets]
    want = oracle.get_referrer_ids(heap, targets, GENERATIONS)
    assert kernel.get_referrer_ids(heap, targets, GENERATIONS) == want
    assert phases.get_referrer_ids(heap, targets, GENERATIONS) == want
    assert want == brute_referrers(heap, {t for t in targets if t >= 0})
    every = [oid for oid in ids if heap.is_alive(oid)]
    assert (kernel.get_referrer_ids(heap, every, GENERATIONS)
            == oracle.get_referrer_ids(heap, every, GENERATIONS))


@SETTINGS
@given(recipe=recipes())
def test_gc_module_matches_brute_force(recipe: Recipe) -> None:
    heap, ids, _atoms = build(recipe)
    gc = heap.gc
    t = heap.table
    tracked = {oid for oid in range(N_HEADS, t.top)
               if t.flags[oid] & ALIVE and t.flags[oid] & TRACKED}
    assert set(brute_objects(heap, (*GENERATIONS, PERMANENT))) == tracked
    everything = brute_objects(heap, GENERATIONS)
    assert ids_of(heap, gc.get_objects()) == everything
    assert ids_of(heap, gc.get_objects(None)) == everything
    assert ids_of(heap, gc.get_objects(-1)) == everything
    assert ids_of(heap, gc.get_objects(generation=2)) == walk_back(heap, GEN2)
    for gen, head in enumerate(GENERATIONS):
        assert ids_of(heap, gc.get_objects(gen)) == walk_back(heap, head)
    target_ids = sorted({ids[i] for i in recipe.targets if heap.is_alive(ids[i])})
    objs: list[object] = [heap.proxy(oid) for oid in target_ids]
    objs += ["k", 7][: len(recipe.atom_targets)]  # atoms: never found
    found = ids_of(heap, gc.get_referrers(*objs))
    assert found == brute_referrers(heap, set(target_ids))
    assert len(found) == len(set(found))
    assert ids_of(heap, gc.get_referrers()) == []


# -- fixed cases -----------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", [oracle, kernel], ids=["oracle", "kernel"])
def test_referrers_fixed_heap(impl: object) -> None:
    """Scan order gen0, gen1, gen2; once per referrer; permanent, untracked and frames never."""
    heap = gclab.Heap("3.12")
    heap.gc.disable()
    x, y = heap.alloc("list"), heap.alloc("list")
    d_key = heap.alloc("dict")
    heap.dict_set(d_key, x, heap.atom(1))  # x as a key only
    both = heap.alloc("list")
    for code in (x, y, x):
        heap.append_slot(both, code)
    tup = heap.alloc("tuple", 2)
    heap.set_slot(tup, 1, y)
    frozen = heap.alloc("list")
    heap.append_slot(frozen, x)
    untracked = heap.alloc("dict")
    heap.dict_set(untracked, heap.atom("a"), heap.atom(2))
    frame = heap.alloc("frame", 2)
    heap.set_slot(frame, 1, x)
    heap.table.list_move(tup, GEN1)
    heap.table.list_move(d_key, GEN2)
    heap.table.list_move(frozen, PERMANENT)
    assert not heap.is_tracked(untracked) and not heap.is_tracked(frame)
    assert impl.get_referrer_ids(  # type: ignore[attr-defined]
        heap, [x, y], GENERATIONS) == [both, tup, d_key]
    assert impl.get_referrer_ids(heap, [x], GENERATIONS) == [both, d_key]  # type: ignore[attr-defined]
    assert impl.get_referrer_ids(heap, [heap.atom(1)], GENERATIONS) == []  # type: ignore[attr-defined]
    assert impl.get_referrer_ids(heap, [], GENERATIONS) == []  # type: ignore[attr-defined]
    assert impl.get_objects_ids(heap, GENERATIONS) == [  # type: ignore[attr-defined]
        x, y, both, tup, d_key]
    assert impl.get_objects_ids(heap, (PERMANENT,)) == [frozen]  # type: ignore[attr-defined]


def test_facade_uses_the_dispatched_phases(monkeypatch: pytest.MonkeyPatch) -> None:
    heap = gclab.Heap()
    lst = heap.list()
    lst.append(lst)
    calls: list[str] = []
    for name in ("get_objects_ids", "get_referrer_ids"):
        real = getattr(phases, name)

        def spy(*args: object, _real: object = real, _name: str = name) -> object:
            calls.append(_name)
            return _real(*args)  # type: ignore[operator]

        monkeypatch.setattr(phases, name, spy)
    assert heap.gc.get_referrers(lst) == [lst]
    assert lst in heap.gc.get_objects(0)
    assert calls == ["get_referrer_ids", "get_objects_ids"]
