"""Differential tests: every kernel in gclab.kernels agrees with its oracle in gclab.algorithms.

A random heap is built from a Hypothesis recipe (:mod:`gclab.testing.builders`: lists, tuples,
dicts with atom and object keys, sets, instances, untracked frames, self-cycles, NULL slots,
dropped external references, objects spread over the three generations in a random order). The
oracle and the kernel then run on the same heap state (the collector-scratch columns are
snapshotted and restored between the two runs) and every column they may touch must come out
identical: ``gc_refs``, ``flags`` and the ``gc_next``/``gc_prev`` links, i.e. the order of every
collector list.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gclab
from gclab.algorithms import cycles as oracle
from gclab.algorithms import finalizers as finalizer_oracle
from gclab.collectors.cpython import generational
from gclab.collectors.cpython.generational import GEN0, GEN1, GEN2, GENERATIONS
from gclab.heap import _jit_lists as lists
from gclab.heap import flags as heap_flags
from gclab.heap.core import HeapCore
from gclab.heap.table import N_HEADS
from gclab.heap.types import K_DICT, K_INSTANCE, K_LIST, K_SET, K_TUPLE, type_arrays
from gclab.kernels import cycles as kernel
from gclab.testing.builders import HeapRecipe
from gclab.testing.builders import build as build_heap
from gclab.testing.strategies import heap_recipes

UNREACHABLE_LIST = 4
STILL_UNREACHABLE_LIST = 8
SCRATCH = ("flags", "gc_refs", "gc_next", "gc_prev")
KINDS = ("list", "tuple", "dict", "set", "inst", "frame")


# -- random heaps (gclab.testing) -----------------------------------------------------------------


def recipes(max_objects: int = 30) -> st.SearchStrategy[HeapRecipe]:
    """Heaps of lists, tuples, dicts, sets, slotted instances and frames, spread over the three
    generations in a random order (often a guessable id order: the kernels' runs), with a
    root list at the tail of gen0; half of them dense (every slot points somewhere)."""
    return heap_recipes(kinds=KINDS, max_objects=max_objects, dense=True, places=(0, 1, 2),
                        layouts=True, root=True)


def build(recipe: HeapRecipe, heap: HeapCore | None = None) -> HeapCore:
    """Make the recipe's heap; objects whose last reference was dropped are freed."""
    return build_heap(recipe, heap).heap


def snapshot(heap: HeapCore) -> dict[str, np.ndarray]:
    return {name: getattr(heap.table, name).copy() for name in SCRATCH}


def restore(heap: HeapCore, saved: dict[str, np.ndarray]) -> None:
    for name, array in saved.items():
        getattr(heap.table, name)[:] = array


def assert_same(heap: HeapCore, expected: dict[str, np.ndarray], what: str) -> None:
    got = snapshot(heap)
    for name in SCRATCH:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=f"{what}: {name}")


def both(heap: HeapCore, phase: str, *args: object) -> object:
    """Run the oracle then the kernel from the same state; assert identical results."""
    before = snapshot(heap)
    want = getattr(oracle, phase)(heap, *args)
    after = snapshot(heap)
    restore(heap, before)
    got = getattr(kernel, phase)(heap, *args)
    assert got == want, f"{phase} returned {got}, oracle {want}"
    assert_same(heap, after, phase)
    return got


def prepare(heap: HeapCore, generation: int) -> int:
    """Merge the younger generations into ``generation`` as collect() does; its list head."""
    for gen in range(generation):
        heap.table.list_merge(GENERATIONS[gen], GENERATIONS[generation])
    return GENERATIONS[generation]


# -- the differential tests -----------------------------------------------------------------------


SETTINGS = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(recipe=recipes(), generation=st.integers(0, 2), inline=st.booleans())
def test_reachability_phases_agree(recipe: HeapRecipe, generation: int, inline: bool) -> None:
    heap = build(recipe)
    young = prepare(heap, generation)
    both(heap, "update_refs", young)
    both(heap, "subtract_refs", young)
    both(heap, "move_unreachable", young, UNREACHABLE_LIST, inline)
    both(heap, "untrack_tuples", young)
    both(heap, "untrack_dicts", young)
    both(heap, "clear_collecting", UNREACHABLE_LIST)


@SETTINGS
@given(recipe=recipes(), generation=st.integers(0, 2), inline=st.booleans())
def test_deduce_unreachable_agrees(recipe: HeapRecipe, generation: int, inline: bool) -> None:
    heap = build(recipe)
    young = prepare(heap, generation)
    members = heap.table.list_size(young)
    objects, _ = both(heap, "deduce_unreachable", young, UNREACHABLE_LIST, inline)  # type: ignore[misc]
    assert objects == members


@SETTINGS
@given(recipe=recipes(), untracked_tuples=st.booleans())
def test_untracking_scans_agree_on_whole_generations(recipe: HeapRecipe,
                                                     untracked_tuples: bool) -> None:
    heap = build(recipe)
    if untracked_tuples:  # tuples untracked first change what later scans see
        both(heap, "untrack_tuples", GEN2)
    for head in (GEN0, GEN1, GEN2):
        both(heap, "untrack_tuples", head)
        both(heap, "untrack_dicts", head)


def _collect_with(phases: object, recipe: HeapRecipe, generation: int, profile: str,
                  monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict[str, np.ndarray]]:
    for name in ("deduce_unreachable", "untrack_tuples", "untrack_dicts"):
        monkeypatch.setattr(generational.phases, name, getattr(phases, name))
    heap = gclab.Heap(profile)
    heap.gc.disable()
    build(recipe, heap)
    found = heap.gc.collect(generation)
    columns = {name: getattr(heap.table, name).copy()
               for name in ("flags", "refcnt", "gc_next", "gc_prev", "type_id")}
    return found, columns


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(recipe=recipes(), generation=st.integers(0, 2), profile=st.sampled_from(["2.7", "3.12"]))
def test_whole_collection_agrees(recipe: HeapRecipe, generation: int, profile: str,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    want, expected = _collect_with(oracle, recipe, generation, profile, monkeypatch)
    got, columns = _collect_with(kernel, recipe, generation, profile, monkeypatch)
    assert got == want
    for name, array in expected.items():
        np.testing.assert_array_equal(columns[name], array, err_msg=name)


@SETTINGS
@given(recipe=recipes(), generation=st.integers(0, 2))
def test_recheck_without_user_code_finds_everything_still_unreachable(recipe: HeapRecipe,
                                                                      generation: int) -> None:
    """What lets the collector skip handle_resurrected_objects when no finalizer or weakref
    callback ran: recomputing reachability inside the unreachable set then moves every member
    to still_unreachable, in order, with flags and gc_refs as they were."""
    heap = build(recipe)
    young = prepare(heap, generation)
    oracle.deduce_unreachable(heap, young, UNREACHABLE_LIST)
    t = heap.table
    for oid in t.list_members(UNREACHABLE_LIST):  # move_legacy_finalizers (PEP 442 profiles)
        t.flags[oid] &= ~heap_flags.UNREACHABLE & 0xFF
    before = snapshot(heap)
    t.list_merge(UNREACHABLE_LIST, STILL_UNREACHABLE_LIST)
    shortcut = snapshot(heap)
    restore(heap, before)
    finalizer_oracle.handle_resurrected_objects(heap, UNREACHABLE_LIST, STILL_UNREACHABLE_LIST,
                                                GEN2)
    assert_same(heap, shortcut, "handle_resurrected_objects")


# -- fixed cases: known CPython behaviour, so a shared mistake cannot hide ------------------------


@pytest.mark.parametrize("phases", [oracle, kernel], ids=["oracle", "kernel"])
def test_move_unreachable_reorders_like_cpython(phases: object) -> None:
    """Spec §3.2 step 4 (e14): A, B, C with C->B->A, only C referenced: survivors C, B, A."""
    heap = HeapCore()
    a, b, c = heap.alloc("list"), heap.alloc("list"), heap.alloc("list")
    heap.append_slot(c, b)
    heap.append_slot(b, a)
    heap.decref(a)
    heap.decref(b)
    phases.deduce_unreachable(heap, GEN0, UNREACHABLE_LIST)  # type: ignore[attr-defined]
    assert heap.table.list_members(GEN0) == [c, b, a]
    assert heap.table.list_members(UNREACHABLE_LIST) == []


@pytest.mark.parametrize("phases", [oracle, kernel], ids=["oracle", "kernel"])
def test_move_unreachable_visits_containers_in_traverse_order(phases: object) -> None:
    """A list brings its items back last to first, a dict value then key (spec §7.1)."""
    heap = HeapCore()
    k, v, a, b = (heap.alloc("list") for _ in range(4))
    d = heap.alloc("dict")
    heap.dict_set(d, k, v)
    lst = heap.alloc("list")
    heap.append_slot(lst, a)
    heap.append_slot(lst, b)
    for oid in (k, v, a, b):
        heap.decref(oid)
    for oid in (d, lst):
        heap.table.list_move(oid, GEN0)  # order: k v a b d lst
    phases.deduce_unreachable(heap, GEN0, UNREACHABLE_LIST)  # type: ignore[attr-defined]
    assert heap.table.list_members(GEN0) == [d, lst, v, k, b, a]


@pytest.mark.parametrize("phases", [oracle, kernel], ids=["oracle", "kernel"])
def test_untrack_tuples_follows_list_order(phases: object) -> None:
    """An outer tuple listed before its inner atom-only tuple stays tracked (one pass)."""
    heap = HeapCore()
    inner = heap.alloc("tuple", 1)
    heap.set_slot(inner, 0, heap.atom(1))
    outer = heap.alloc("tuple", 1)
    heap.set_slot(outer, 0, inner)
    heap.table.list_move(inner, GEN0)  # order: outer, inner
    phases.untrack_tuples(heap, GEN0)  # type: ignore[attr-defined]
    assert (heap.is_tracked(outer), heap.is_tracked(inner)) == (True, False)
    phases.untrack_tuples(heap, GEN0)  # type: ignore[attr-defined]
    assert not heap.is_tracked(outer)


def test_type_arrays_follow_registrations() -> None:
    heap = HeapCore()
    kinds, gc_capable = type_arrays(heap.types)
    assert (kinds[0], kinds[1], kinds[2], kinds[3]) == (K_LIST, K_TUPLE, K_DICT, K_SET)
    assert gc_capable[heap.types.by_name("frame").type_id] == 0
    info = heap.types.add_class("Late", slot_names=(), has_dict=True, weakrefable=True,
                                finalizer=None)
    kinds, gc_capable = type_arrays(heap.types)
    assert len(kinds) == len(heap.types)
    assert (kinds[info.type_id], gc_capable[info.type_id]) == (K_INSTANCE, 1)


# -- list walks ------------------------------------------------------------------------------------


@SETTINGS
@given(recipe=recipes())
def test_list_walks_agree(recipe: HeapRecipe) -> None:
    heap = build(recipe)
    for head in range(N_HEADS):
        members = heap.table.walk_members(head)
        assert lists.list_members(heap.table, head).tolist() == members
        assert lists.list_size(heap.table, head) == len(members)
        assert heap.table.list_members(head) == members
        assert heap.table.list_size(head) == len(members)
