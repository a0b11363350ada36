"""The low-level API by integer id keeps its promise: bad input gets a typed error naming the
object and the rule, and the heap is left exactly as it was (snapshots of ``heapstate.py``).

Covered here: the immortal shared empty tuple and the other static references (the module
namespace), the layout rules of :mod:`gclab.heap.rules`, numpy integers and bools as ids,
indices, sizes and counts, and queries on bad ids.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gclab
from gclab.errors import (
    DuplicateKeyError,
    ForeignObjectError,
    InvalidObjectError,
    LayoutError,
    RefcountUnderflowError,
    UseAfterFreeError,
)
from gclab.heap.core import HeapCore
from gclab.heap.invariants import check_invariants
from gclab.heap.table import NULL
from heapstate import assert_raises_unchanged, real_error

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


# -- layouts --------------------------------------------------------------------------------------


@pytest.fixture
def heap() -> gclab.Heap:
    h = gclab.Heap("3.12")
    h.gc.disable()
    return h


def _objects(heap: gclab.Heap) -> dict[str, int]:
    """One object of each layout, held by the test (ids)."""

    class Point:
        __slots__ = ("x", "y")

    class Plain:
        pass

    tup = heap.alloc("tuple", 2)
    d = heap.alloc("dict")
    heap.dict_set(d, heap.atom("k"), heap.atom(1))
    frame = heap.alloc("frame", 2)
    heap.set_slot(frame, 0, heap.atom("v"))
    point = heap.new_instance(heap.cls(Point)._info)  # type: ignore[attr-defined]
    plain = heap.new_instance(heap.cls(Plain)._info)  # type: ignore[attr-defined]
    return {"tuple": tup, "dict": d, "frame": frame, "module": heap.id_of(heap.globals),
            "instance": point, "plain": plain, "list": heap.alloc("list"),
            "set": heap.alloc("set")}


@pytest.mark.parametrize("kind", ["tuple", "dict", "frame", "module", "instance", "plain"])
@pytest.mark.parametrize("op", ["append_slot", "insert_slot", "delete_slot"])
def test_fixed_layouts_refuse_single_slot_resizes(heap: gclab.Heap, kind: str,
                                                  op: str) -> None:
    oid = _objects(heap)[kind]
    calls: dict[str, Callable[[], object]] = {
        "append_slot": lambda: heap.append_slot(oid, NULL),
        "insert_slot": lambda: heap.insert_slot(oid, 0, NULL),
        "delete_slot": lambda: heap.delete_slot(oid, 0)}
    error = assert_raises_unchanged(heap, calls[op], LayoutError, names=heap.describe(oid))
    assert isinstance(error, TypeError) and op in str(error)
    if kind in ("dict", "frame", "module"):
        assert "dict_set" in str(error)


def test_lists_and_sets_resize(heap: gclab.Heap) -> None:
    objs = _objects(heap)
    for kind in ("list", "set"):
        oid = objs[kind]
        heap.append_slot(oid, heap.atom(1))
        heap.insert_slot(oid, 0, heap.atom(2))
        heap.delete_slot(oid, 1)
        assert heap.slots(oid) == [heap.atom(2)]
    check_invariants(heap)


def test_tuples_are_filled_with_set_slot(heap: gclab.Heap) -> None:
    t = _objects(heap)["tuple"]
    lst = heap.alloc("list")
    heap.set_slot(t, 1, lst)
    heap.set_slot(t, 0, heap.atom("a"))
    assert heap.slots(t) == [heap.atom("a"), lst]
    check_invariants(heap)


def test_dict_key_slots(heap: gclab.Heap) -> None:
    """A key slot takes a hashable key not already in the dict; value slots take anything."""
    d = heap.alloc("dict", 4)
    lst, tup = heap.alloc("list"), heap.alloc("tuple", 1)
    heap.set_slot(d, 0, heap.atom("a"))
    heap.set_slot(d, 1, lst)  # a value: anything
    heap.set_slot(d, 2, tup)  # a tuple is hashable
    heap.set_slot(d, 0, heap.atom("a"))  # the same key in its own slot: fine
    for unhashable, host in ((lst, []), (heap.alloc("dict"), {}), (heap.alloc("set"), set())):
        expected = str(real_error(lambda host=host: {host: 1}))  # unhashable type: 'list'
        assert_raises_unchanged(heap, lambda u=unhashable: heap.set_slot(d, 2, u), LayoutError,
                                names=expected)
    error = assert_raises_unchanged(heap, lambda: heap.set_slot(d, 2, heap.atom("a")),
                                    DuplicateKeyError, names=heap.describe(d))
    assert "'a'" in str(error) and "slot 0" in str(error)
    heap.set_slot(d, 0, NULL)  # an empty entry
    heap.set_slot(d, 2, heap.atom("a"))  # now free
    check_invariants(heap)


def test_namespace_names_are_unique_str_atoms(heap: gclab.Heap) -> None:
    frame = heap.alloc("frame", 4)
    heap.set_slot(frame, 0, heap.atom("x"))
    heap.set_slot(frame, 3, heap.atom(5))  # a value
    for bad in (heap.atom(5), heap.alloc("list"), heap.atom(b"x")):
        assert_raises_unchanged(heap, lambda b=bad: heap.set_slot(frame, 2, b), LayoutError,
                                names="names are str atoms")
    assert_raises_unchanged(heap, lambda: heap.set_slot(frame, 2, heap.atom("x")),
                            DuplicateKeyError, names="'x'")
    g = heap.id_of(heap.globals)
    heap.globals.y = 1
    assert_raises_unchanged(heap, lambda: heap.set_slot(g, 0, heap.atom(1)), LayoutError)


def test_set_elements_stay_unique(heap: gclab.Heap) -> None:
    s = heap.alloc("set")
    lst = heap.alloc("list")
    heap.append_slot(s, lst)
    heap.append_slot(s, heap.atom(1))
    for call in (lambda: heap.append_slot(s, lst), lambda: heap.insert_slot(s, 0, lst),
                 lambda: heap.set_slot(s, 1, lst)):
        assert_raises_unchanged(heap, call, DuplicateKeyError, names="set element")
    heap.set_slot(s, 0, lst)  # itself: fine
    heap.append_slot(s, NULL)
    heap.append_slot(s, NULL)  # empty slots may repeat
    check_invariants(heap)


def test_separate_instance_dict_slot_holds_a_dict() -> None:
    heap = gclab.Heap("3.10")

    class A:
        pass

    a = heap.cls(A)()
    a.x = 1
    oid = heap.id_of(a)
    assert_raises_unchanged(heap, lambda: heap.set_slot(oid, 0, heap.atom(1)), LayoutError,
                            names="__dict__")
    lst = heap.alloc("list")
    assert_raises_unchanged(heap, lambda: heap.set_slot(oid, 0, lst), LayoutError,
                            names="__dict__")
    heap.set_slot(oid, 0, heap.alloc("dict"))  # another dict: fine
    heap.set_slot(oid, 0, NULL)  # none: made again at the next attribute store
    a.y = 2
    check_invariants(heap)


@pytest.mark.parametrize(("kind", "size"), [("dict", 1), ("dict", 3), ("frame", 1),
                                            ("module", 5), ("Point", 1), ("Point", 3),
                                            ("Plain", 0), ("Plain", 2)])
def test_alloc_sizes_follow_the_layout(heap: gclab.Heap, kind: str, size: int) -> None:
    class Point:
        __slots__ = ("x", "y")

    class Plain:
        pass

    infos = {"Point": heap.cls(Point)._info, "Plain": heap.cls(Plain)._info}  # type: ignore[attr-defined]
    type_ref = infos.get(kind, kind)
    assert_raises_unchanged(heap, lambda: heap.alloc(type_ref, size), LayoutError,
                            names=f"not {size}")
    assert_raises_unchanged(heap, lambda: heap.alloc_many(type_ref, 3, size), LayoutError)


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
    ("dict_len", lambda h, x: h.dict_len(x)), ("dict_find", lambda h, x: h.dict_find(x, NULL)),
    ("dict_get", lambda h, x: h.dict_get(x, NULL)),
    ("dict_set", lambda h, x: h.dict_set(x, h.atom("k"), NULL)),
    ("dict_delete", lambda h, x: h.dict_delete(x, h.atom("k"))),
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


def test_dict_operations_take_dicts_frames_and_modules(heap: gclab.Heap) -> None:
    """The operations the layout errors point at check what they are given."""
    lst, d = heap.alloc("list"), heap.alloc("dict")
    key = heap.atom("k")
    for call in (lambda: heap.dict_set(lst, key, NULL), lambda: heap.dict_delete(lst, key),
                 lambda: heap.dict_len(lst), lambda: heap.dict_get(lst, key)):
        assert_raises_unchanged(heap, call, TypeError, names=f"<list {lst}> is not a dict")
    assert_raises_unchanged(heap, lambda: heap.dict_set(d, -(10**6), NULL), InvalidObjectError)
    assert_raises_unchanged(heap, lambda: heap.dict_set(d, key, 10**6), InvalidObjectError)
    heap.dict_set(np.int64(d), np.int64(key), np.int32(lst))
    assert heap.dict_get(d, key) == lst and heap.dict_len(d) == 1
    check_invariants(heap)


def test_another_heaps_type_is_refused(heap: gclab.Heap) -> None:
    """A TypeInfo indexes this heap's registry: another heap's would name a wrong type."""
    other = gclab.Heap()

    class Point:
        __slots__ = ("x",)

    foreign = other.cls(Point)._info  # type: ignore[attr-defined]
    for info in (foreign, other.types.by_name("list")):
        assert_raises_unchanged(heap, lambda info=info: heap.alloc(info), ForeignObjectError,
                                names="belongs to another heap")
        assert_raises_unchanged(heap, lambda info=info: heap.alloc_many(info, 2),
                                ForeignObjectError)


def test_describe_and_is_alive_never_fail(heap: gclab.Heap) -> None:
    freed = heap.alloc("list")
    heap.decref(freed)
    assert heap.describe(10**9) == "<no object 1000000000>"
    assert heap.describe(freed) == f"<freed {freed}>"
    assert heap.describe("x") == "'x'"
    assert not heap.is_alive(10**9) and not heap.is_alive(-1) and not heap.is_alive(freed)
