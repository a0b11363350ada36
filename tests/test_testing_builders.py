"""gclab.testing.builders: a recipe builds the heap it describes, the same way every time."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings

import gclab
from gclab.heap.invariants import check_invariants
from gclab.heap.table import N_HEADS
from gclab.testing.builders import KINDS, HeapRecipe, build, instance_types, put
from gclab.testing.strategies import heap_recipes

RECIPES = heap_recipes(kinds=KINDS, dense=True, places=(0, 1, 2, 3), layouts=True, root=True,
                       chains=2, chain_length=60, weakrefs=3, profiles=("2.7", "3.10", "3.12"))


def table_state(heap: gclab.Heap) -> tuple[object, ...]:
    t = heap.table
    return (*(getattr(t, name)[: t.top].tolist() for name in t.COLUMNS),
            t.pool[: t.pool_top].tolist(), list(t.free_ids))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RECIPES)
def test_build_holds_what_it_says_and_is_deterministic(recipe: HeapRecipe) -> None:
    """The heap is consistent; the builder holds one external reference per entry of
    ``held`` and no other; a second build on a fresh heap is identical, row for row."""
    built = build(recipe)
    heap = built.heap
    check_invariants(heap)
    t = heap.table
    held = Counter(built.held)
    for oid in range(N_HEADS, t.top):
        if t.is_alive(oid):
            static = heap.static_refs.get(oid, 0)
            assert int(t.extern[oid]) == held[oid] + static, heap.describe(oid)
    assert all(heap.is_alive(oid) for oid in held)
    assert table_state(build(recipe).heap) == table_state(heap)


def test_put_fills_empty_slots_then_grows_lists_then_replaces() -> None:
    """The order put() documents, worked by hand on a list of two empty slots."""
    recipe = HeapRecipe(kinds=["list", "dict", "tuple"], sizes=[2, 0, 1])
    built = build(recipe)
    heap, (lst, d, tup) = built.heap, built.ids
    for value in (d, tup, d, d, d, d):
        put(heap, lst, value)
    assert heap.slots(lst) == [d, tup, d, d, d, d]  # two filled, then grown to six
    put(heap, lst, tup, key=8)  # full: slot 8 % 6 = 2 replaced
    assert heap.slots(lst) == [d, tup, tup, d, d, d]
    put(heap, d, tup)
    put(heap, d, lst)  # no key: a new int key each time (0, then 1)
    assert heap.slots(d) == [heap.atom(0), tup, heap.atom(1), lst]


def test_recipe_rejects_what_it_cannot_build() -> None:
    with pytest.raises(ValueError, match="unknown object kind 'blob'"):
        HeapRecipe(kinds=["list", "blob"])
    with pytest.raises(ValueError, match="unknown object kind 'nope'"):
        HeapRecipe(kinds=["list"], chains=[["list", "nope"]])
    with pytest.raises(ValueError, match="drops has 1 entries for 2 objects"):
        HeapRecipe(kinds=["list", "set"], drops=[True])
    with pytest.raises(ValueError, match="permutation"):
        HeapRecipe(kinds=["list", "set"], order=[0, 0])


def test_managed_instance_types_need_a_full_heap() -> None:
    from gclab.heap.core import HeapCore

    with pytest.raises(TypeError, match=r"heap\.cls"):
        instance_types(HeapCore(), managed=True)
    heap = gclab.Heap()
    types = instance_types(heap, managed=True)
    oid = heap.new_instance(types["dinst"])
    assert type(heap.proxy(oid)).__name__ == "D"
