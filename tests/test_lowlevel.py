"""The low-level API by integer id keeps its promise: bad input gets a typed error naming the
object and the rule, and the heap is left exactly as it was (snapshots of ``heapstate.py``).

Covered here: the immortal shared empty tuple and the other static references (the module
namespace), numpy integers and bools as ids, indices, sizes and counts, and queries on bad
ids.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gclab
from gclab.errors import InvalidObjectError, RefcountUnderflowError, UseAfterFreeError
from gclab.heap.core import HeapCore
from gclab.heap.invariants import check_invariants
from gclab.heap.table import NULL
from heapstate import assert_raises_unchanged

# -- static references: the empty tuple and the module namespace --------------------------------


def test_empty_tuple_cannot_be_decref_without_a_reference() -> None:
    """Giving back a taken reference is fine; one more decref would drop the static one."""
    heap = gclab.Heap()
    e = heap.alloc("tuple", 0)
    assert e == heap.empty_tuple
    heap.decref(e)
    error = assert_raises_unchanged(heap, lambda: heap.decref(e), RefcountUnderflowError,
                                    names=f"<tuple {e}>")
    assert "static reference" in str(error)
    assert heap.type_of(heap.alloc("tuple", 0)).name == "tuple"


def test_empty_tuple_static_reference_and_a_proxy_are_both_kept() -> None:
    """A live proxy of the empty tuple owns one reference, the simulation another: a decref
    that would drop either is refused (the proxy layer and the core agree)."""
    heap = gclab.Heap()
    t = heap.tuple()
    e = heap.id_of(t)
    assert e == heap.empty_tuple
    assert_raises_unchanged(heap, lambda: heap.decref(e), RefcountUnderflowError,
                            names="static reference")
    assert_raises_unchanged(heap, lambda: heap.decref_many([e]), RefcountUnderflowError,
                            names="entry 0")
    heap.incref(e)
    heap.decref_many(np.array([e]))  # the caller's own reference: fine
    del t
    check_invariants(heap)
    assert heap.refcount(e) == 1 and heap.is_alive(e)


def test_empty_tuple_survives_decref_many_and_alloc_many() -> None:
    heap = HeapCore()
    e = heap.empty_tuple
    ids = heap.alloc_many("tuple", 3)
    heap.decref_many(ids)
    assert_raises_unchanged(heap, lambda: heap.decref_many(ids[:1]), RefcountUnderflowError,
                            names="static reference")
    assert heap.refcount(e) == 1


def test_module_namespace_is_held_statically() -> None:
    """heap.globals is held by a static reference, not by a proxy: proxies come and go."""
    heap = gclab.Heap()
    g = heap.id_of(heap.globals)
    assert heap.static_refs[g] == 1 and heap.refcount(g) == 1  # the temporary proxy died
    assert_raises_unchanged(heap, lambda: heap.decref(g), RefcountUnderflowError,
                            names=f"<module {g}>")
    assert_raises_unchanged(heap, lambda: heap.decref_many([g]), RefcountUnderflowError)
    namespace = heap.globals
    namespace.x = heap.list()
    assert heap.refcount(g) == 2 and heap.globals is namespace
    del namespace
    assert heap.refcount(g) == 1
    heap.shutdown()
    assert heap.is_alive(g)


def test_decref_many_never_drops_a_live_proxy_reference() -> None:
    """Two references the caller took and one the proxy owns: dropping three is refused as a
    whole (it used to drop two, then fail on the third)."""
    heap = gclab.Heap()
    x = heap.list()
    i = heap.id_of(x)
    heap.incref(i)
    heap.incref(i)
    assert_raises_unchanged(heap, lambda: heap.decref_many([i, i, i]), RefcountUnderflowError,
                            names="its proxy owns")
    heap.decref_many([i, i])
    assert heap.refcount(i) == 1


# -- a heap ----------------------------------------------------------------------------------------


@pytest.fixture
def heap() -> gclab.Heap:
    h = gclab.Heap("3.12")
    h.gc.disable()
    return h


# -- numpy integers, bools, bad ids ---------------------------------------------------------------


def test_numpy_integers_are_ints(heap: gclab.Heap) -> None:
    """Every id, index, size and count may be a numpy integer (alloc_many returns them)."""
    a, b = heap.alloc_many("list", np.int64(2), np.int32(1))
    s = heap.alloc(np.int64(3))  # the type id of set
    assert heap.type_of(s).name == "set"
    heap.set_slot(a, np.int64(0), b)
    heap.append_slot(np.int32(a), np.int64(heap.atom(1)))
    heap.insert_slot(a, np.uint8(0), np.int64(NULL))
    heap.delete_slot(a, np.int64(0))
    heap.clear_slot(a, np.int16(1))
    heap.incref(b)
    heap.decref(np.int64(b))
    assert heap.slots(np.int64(a)) == [b, NULL]
    assert heap.refcount(np.int32(b)) == 2
    assert heap.is_tracked(a) and heap.is_alive(np.int64(a))
    assert heap.type_of(np.int64(a)).name == "list"
    assert heap.traverse(np.int64(a)) == [b] and heap.referents(np.int64(a)) == [b]
    wr = heap.new_weakref(np.int64(s))
    assert heap.weakrefs_of(np.int64(s)) == [wr] and heap.weakref_target(np.int64(wr)) == s
    p = heap.proxy(np.int64(a))
    assert type(p._id) is int and heap.id_of(p) == a
    check_invariants(heap)


BOOL_CALLS: list[tuple[str, Callable[[gclab.Heap, int], object]]] = [
    ("id", lambda h, ok: h.set_slot(True, 0, NULL)),
    ("index", lambda h, ok: h.set_slot(ok, True, NULL)),
    ("numpy bool index", lambda h, ok: h.set_slot(ok, np.True_, NULL)),
    ("value", lambda h, ok: h.set_slot(ok, 0, False)),
    ("insert index", lambda h, ok: h.insert_slot(ok, True, NULL)),
    ("delete index", lambda h, ok: h.delete_slot(ok, False)),
    ("size", lambda h, ok: h.alloc("list", True)),
    ("count", lambda h, ok: h.alloc_many("list", True)),
    ("bulk size", lambda h, ok: h.alloc_many("list", 2, np.True_)),
    ("incref", lambda h, ok: h.incref(True)),
    ("is_alive", lambda h, ok: h.is_alive(True)),
    ("is_tracked", lambda h, ok: h.is_tracked(np.True_)),
]


@pytest.mark.parametrize(("what", "call"), BOOL_CALLS, ids=[w for w, _ in BOOL_CALLS])
def test_bools_are_not_ints_here(heap: gclab.Heap, what: str,
                                 call: Callable[[gclab.Heap, int], object]) -> None:
    ok = heap.alloc("list", 1)
    error = assert_raises_unchanged(heap, lambda: call(heap, ok), TypeError)
    assert "bool" in str(error) and "out of range" not in str(error)


QUERIES: list[tuple[str, Callable[[gclab.Heap, Any], object]]] = [
    ("is_tracked", lambda h, x: h.is_tracked(x)), ("type_of", lambda h, x: h.type_of(x)),
    ("referents", lambda h, x: h.referents(x)), ("traverse", lambda h, x: h.traverse(x)),
    ("slots", lambda h, x: h.slots(x)), ("refcount", lambda h, x: h.refcount(x)),
    ("weakrefs_of", lambda h, x: h.weakrefs_of(x)),
    ("weakref_target", lambda h, x: h.weakref_target(x)),
    ("proxy", lambda h, x: h.proxy(x)),
    ("add_static_ref", lambda h, x: h.add_static_ref(x)),
]


@pytest.mark.parametrize(("name", "query"), QUERIES, ids=[n for n, _ in QUERIES])
@pytest.mark.parametrize("bad", [10**9, -1, -(2**40), 3, "freed"], ids=repr)
def test_queries_refuse_bad_ids(heap: gclab.Heap, name: str,
                                query: Callable[[gclab.Heap, Any], object], bad: Any) -> None:
    """Out of range, negative (no wrap-around to the table's end), a list head, a freed id."""
    if bad == "freed":
        bad = heap.alloc("list")
        heap.decref(bad)
        error: type[Exception] = UseAfterFreeError
    else:
        error = InvalidObjectError
    assert_raises_unchanged(heap, lambda: query(heap, bad), error, names=str(bad))


def test_describe_and_is_alive_never_fail(heap: gclab.Heap) -> None:
    freed = heap.alloc("list")
    heap.decref(freed)
    assert heap.describe(10**9) == "<no object 1000000000>"
    assert heap.describe(freed) == f"<freed {freed}>"
    assert heap.describe("x") == "'x'"
    assert not heap.is_alive(10**9) and not heap.is_alive(-1) and not heap.is_alive(freed)
