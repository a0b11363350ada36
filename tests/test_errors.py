"""Misuse of the heap API raises a typed error naming the object and changes nothing.

Every case takes a full snapshot of the heap (all table columns, the slots of live objects,
the weakref side tables, the collector's counts, thresholds, lists and garbage) before the bad
call and compares it afterwards. Errors that mirror Python (the ``gc`` facade, list and dict
proxies, weak references) take the expected type and message from the real interpreter in the
same test, never from a hard-coded copy.

Not compared: the atom table. Atoms are an intern cache of immortal host values (never heap
objects, never counted); a lookup such as ``d["missing"]`` may intern its key, as CPython
interns an attribute name it looks up.
"""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Callable
from typing import Any

import pytest

import gclab
from gclab.errors import (
    ForeignObjectError,
    InvalidObjectError,
    RefcountUnderflowError,
    UseAfterFreeError,
)
from gclab.heap.table import N_HEADS, NULL
from heapstate import assert_raises_unchanged, real_error

RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"
PROFILE = RUNNING if RUNNING in gclab.PROFILES else "3.12"


@pytest.fixture
def heap() -> gclab.Heap:
    """A small heap: a list holding a dict and a set, and a freed id."""
    h = gclab.Heap(PROFILE)
    h.gc.set_threshold(3, 2, 2)
    return h


@pytest.fixture
def objs(heap: gclab.Heap) -> dict[str, Any]:
    """Objects of the fixture heap, as proxies and ids."""
    lst = heap.list([1, "a"])
    d = heap.dict({"k": lst})
    s = heap.set([2])
    lst.append(d)
    w = heap.weakref(s)
    gone = heap.list()
    freed = gone._id
    del gone
    assert not heap.is_alive(freed)
    return {"list": lst, "dict": d, "set": s, "freed": freed, "weakref": w}


# -- ids ------------------------------------------------------------------------------------------

LOW_LEVEL: list[tuple[str, Callable[[gclab.Heap, int, int], object]]] = [
    ("incref", lambda h, bad, ok: h.incref(bad)),
    ("decref", lambda h, bad, ok: h.decref(bad)),
    ("refcount", lambda h, bad, ok: h.refcount(bad)),
    ("slots", lambda h, bad, ok: h.slots(bad)),
    ("set_slot", lambda h, bad, ok: h.set_slot(bad, 0, NULL)),
    ("append_slot", lambda h, bad, ok: h.append_slot(bad, NULL)),
    ("insert_slot", lambda h, bad, ok: h.insert_slot(bad, 0, NULL)),
    ("delete_slot", lambda h, bad, ok: h.delete_slot(bad, 0)),
    ("clear_slot", lambda h, bad, ok: h.clear_slot(bad, 0)),
    ("new_weakref", lambda h, bad, ok: h.new_weakref(bad)),
    ("value of set_slot", lambda h, bad, ok: h.set_slot(ok, 0, bad)),
    ("value of append_slot", lambda h, bad, ok: h.append_slot(ok, bad)),
    ("value of insert_slot", lambda h, bad, ok: h.insert_slot(ok, 0, bad)),
]


@pytest.mark.parametrize(("name", "call"), LOW_LEVEL, ids=[n for n, _ in LOW_LEVEL])
def test_freed_id(heap: gclab.Heap, objs: dict[str, Any], name: str,
                  call: Callable[[gclab.Heap, int, int], object]) -> None:
    """A freed id is poisoned: UseAfterFreeError naming it."""
    freed = objs["freed"]
    assert_raises_unchanged(heap, lambda: call(heap, freed, objs["list"]._id),
                            UseAfterFreeError, names=str(freed))


@pytest.mark.parametrize("bad", [10**6, N_HEADS - 1, 0, 3, True, False, 1.5, "17", None],
                         ids=repr)
@pytest.mark.parametrize(("name", "call"), LOW_LEVEL[:10], ids=[n for n, _ in LOW_LEVEL[:10]])
def test_invalid_id(heap: gclab.Heap, objs: dict[str, Any], bad: object, name: str,
                    call: Callable[[gclab.Heap, Any, int], object]) -> None:
    """Out-of-range ids and list heads: InvalidObjectError naming the value; bools and
    non-ints: TypeError naming it (an id is an int, as a list index is)."""
    wrong_type = isinstance(bad, bool) or not isinstance(bad, int)
    error = TypeError if wrong_type else InvalidObjectError
    assert_raises_unchanged(heap, lambda: call(heap, bad, objs["list"]._id),
                            error, names=repr(bad) if not isinstance(bad, int)
                            or isinstance(bad, bool) else str(bad))


@pytest.mark.parametrize("code", [-999, -2 - 10**6, True, 2.0], ids=repr)
def test_bad_slot_value(heap: gclab.Heap, objs: dict[str, Any], code: object) -> None:
    """A value that is neither NULL, an atom code of this heap nor a live id (a bool or a
    float is a TypeError: slot values are int codes)."""
    lst = objs["list"]._id
    wrong_type = isinstance(code, bool) or not isinstance(code, int)
    error = TypeError if wrong_type else InvalidObjectError
    assert_raises_unchanged(heap, lambda: heap.set_slot(lst, 0, code), error,
                            names=repr(code) if wrong_type else str(code))
    assert_raises_unchanged(heap, lambda: heap.append_slot(lst, code), error)


@pytest.mark.parametrize("index", [3, 99, -1, True, 1.0, "0"], ids=repr)
def test_bad_slot_index(heap: gclab.Heap, objs: dict[str, Any], index: object) -> None:
    """Slot indices out of range: IndexError naming the object; of the wrong type (a bool
    too): TypeError naming the index."""
    lst = objs["list"]._id
    wrong_type = isinstance(index, bool) or not isinstance(index, int)
    error, names = (TypeError, repr(index)) if wrong_type else (IndexError, f"<list {lst}>")
    for call in (lambda: heap.set_slot(lst, index, NULL),
                 lambda: heap.delete_slot(lst, index),
                 lambda: heap.clear_slot(lst, index)):
        assert_raises_unchanged(heap, call, error, names=names)
    if index != 3:  # inserting at the end is fine
        assert_raises_unchanged(heap, lambda: heap.insert_slot(lst, index, NULL), error,
                                names=names)


def test_weakref_has_no_slots(heap: gclab.Heap, objs: dict[str, Any]) -> None:
    """A weakref object has no reference slots."""
    wr = objs["weakref"]._id
    assert_raises_unchanged(heap, lambda: heap.append_slot(wr, NULL), TypeError,
                            names=str(wr))


def test_decref_below_zero(heap: gclab.Heap, objs: dict[str, Any]) -> None:
    """Dropping a reference nobody took: RefcountUnderflowError; the proxy's own reference
    cannot be dropped through the low-level API either."""
    d = objs["dict"]._id
    del objs["dict"]  # now only the list refers to it
    assert_raises_unchanged(heap, lambda: heap.decref(d), RefcountUnderflowError, names=str(d))
    lst = objs["list"]._id
    assert_raises_unchanged(heap, lambda: heap.decref(lst), RefcountUnderflowError,
                            names=str(lst))
    heap.incref(lst)
    heap.decref(lst)
    assert_raises_unchanged(heap, lambda: heap.decref(lst), RefcountUnderflowError)


@pytest.mark.parametrize(("type_ref", "size", "error"), [
    ("no-such-type", 0, InvalidObjectError), (999, 0, InvalidObjectError),
    (-1, 0, InvalidObjectError), (1.5, 0, TypeError), ("list", -1, ValueError),
    ("list", True, TypeError), ("list", 2.0, TypeError),
    ("weakref.ReferenceType", 0, TypeError)], ids=repr)
def test_bad_alloc(heap: gclab.Heap, type_ref: Any, size: Any,
                   error: type[BaseException]) -> None:
    """Unknown types, bad sizes and weakrefs made without new_weakref."""
    assert_raises_unchanged(heap, lambda: heap.alloc(type_ref, size), error)


def test_bad_atom(heap: gclab.Heap) -> None:
    """Only atomic host values have atom codes."""
    assert_raises_unchanged(heap, lambda: heap.atom([1]), TypeError, names="list")


# -- proxies --------------------------------------------------------------------------------------


def test_foreign_proxy(heap: gclab.Heap, objs: dict[str, Any]) -> None:
    """A proxy of another heap is refused everywhere, naming it."""
    other = gclab.Heap(PROFILE)
    alien = other.list()
    lst, d, s = objs["list"], objs["dict"], objs["set"]
    other_tuple = other.tuple([1])
    for call in (lambda: lst.append(alien), lambda: lst.__setitem__(0, alien),
                 lambda: d.__setitem__("x", alien), lambda: s.add(other_tuple),
                 lambda: heap.list([alien]), lambda: heap.tuple([alien]),
                 lambda: heap.dict(x=alien), lambda: heap.id_of(alien),
                 lambda: heap.getrefcount(alien), lambda: heap.weakref(other.set()),
                 lambda: heap.gc.is_tracked(alien), lambda: heap.gc.get_referrers(alien)):
        error = assert_raises_unchanged(heap, call, ForeignObjectError,
                                        names="belongs to another heap")
        assert str(error).startswith("<"), f"{error} does not name the object"


def test_host_objects_are_refused(heap: gclab.Heap, objs: dict[str, Any]) -> None:
    """Host containers are not heap values: TypeError, before anything is allocated."""
    for call in (lambda: heap.list([1, object()]), lambda: heap.tuple([[]]),
                 lambda: heap.set([1, {}]), lambda: objs["list"].append(object())):
        assert_raises_unchanged(heap, call, TypeError)


def test_unhashable(heap: gclab.Heap, objs: dict[str, Any]) -> None:
    """Lists, dicts and sets as keys or elements: Python's TypeError; nothing allocated."""
    lst, d, s = objs["list"], objs["dict"], objs["set"]
    for host, sim in (([], lst), ({}, d), (set(), s)):
        expected = real_error(lambda host=host: {host: 1})
        for call in (lambda sim=sim: d.__setitem__(sim, 1), lambda sim=sim: s.add(sim),
                     lambda sim=sim: heap.set([1, sim]), lambda sim=sim: heap.dict([(sim, 1)])):
            assert_raises_unchanged(heap, call, type(expected), message=str(expected))


def test_list_errors_match_python(heap: gclab.Heap, objs: dict[str, Any]) -> None:
    """IndexError/TypeError/ValueError of list operations, with Python's messages."""
    lst = objs["list"]
    host = [1, "a", None]
    cases: list[tuple[Callable[[Any], object], ...]] = [
        (lambda x: x[5],), (lambda x: x[-9],), (lambda x: x["0"],),
        (lambda x: x.__setitem__(5, 1),), (lambda x: x.__delitem__(5),), (lambda x: x.pop(7),),
        (lambda x: x.remove(99),), (lambda x: x.index(99),)]
    for (case,) in cases:
        expected = real_error(lambda case=case: case(host))
        assert_raises_unchanged(heap, lambda case=case: case(lst), type(expected),
                                message=str(expected))
    empty, host_empty = heap.list(), []
    expected = real_error(lambda: host_empty.pop())
    assert_raises_unchanged(heap, empty.pop, type(expected), message=str(expected))
    t, host_t = heap.tuple([1]), (1,)
    expected = real_error(lambda: host_t[3])
    assert_raises_unchanged(heap, lambda: t[3], type(expected), message=str(expected))


def test_dict_and_set_errors(heap: gclab.Heap, objs: dict[str, Any]) -> None:
    """Missing keys and elements: KeyError naming the key."""
    d, s = objs["dict"], objs["set"]
    assert_raises_unchanged(heap, lambda: d["missing"], KeyError, names="missing")
    assert_raises_unchanged(heap, lambda: d.__delitem__("missing"), KeyError, names="missing")
    assert_raises_unchanged(heap, lambda: s.remove(77), KeyError, names="77")


# -- weak references ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["list", "dict", "tuple"])
def test_weakref_to_unweakrefable(heap: gclab.Heap, kind: str) -> None:
    """``cannot create weak reference to 'list' object``, as CPython says it."""
    host = {"list": [1], "dict": {1: 2}, "tuple": (1, [])}[kind]
    obj = {"list": heap.list, "dict": heap.dict, "tuple": heap.tuple}[kind](
        {"list": [1], "dict": {1: 2}, "tuple": [1, heap.list()]}[kind])
    expected = real_error(lambda: weakref.ref(host))
    assert_raises_unchanged(heap, lambda: heap.weakref(obj), type(expected),
                            message=str(expected))
    assert_raises_unchanged(heap, lambda: heap.new_weakref(obj._id), type(expected),
                            message=str(expected))


def test_weakref_to_slots_class_without_weakref(heap: gclab.Heap) -> None:
    """A ``__slots__`` class without ``__weakref__``: the same TypeError as CPython."""

    class Point:
        __slots__ = ("x", "y")

    expected = real_error(lambda: weakref.ref(Point()))
    managed = heap.cls(Point)
    p = managed()
    assert_raises_unchanged(heap, lambda: heap.weakref(p), type(expected),
                            message=str(expected))
    assert_raises_unchanged(heap, lambda: heap.weakref(42), type(real_error(
        lambda: weakref.ref(42))), message=str(real_error(lambda: weakref.ref(42))))


def test_attribute_errors(heap: gclab.Heap) -> None:
    """Missing attributes and attributes a ``__slots__`` class does not have."""

    class Host:
        __slots__ = ("x",)

    class Plain:
        pass

    slotted, plain = heap.cls(Host)(), heap.cls(Plain)()
    for host, sim in ((Host(), slotted), (Plain(), plain)):
        for call in (lambda o: o.missing, lambda o: delattr(o, "missing")):
            expected = real_error(lambda call=call, host=host: call(host))
            assert_raises_unchanged(heap, lambda call=call, sim=sim: call(sim),
                                    type(expected), message=str(expected))
    expected = real_error(lambda: setattr(Host(), "y", 1))
    assert_raises_unchanged(heap, lambda: setattr(slotted, "y", 1), type(expected),
                            message=str(expected))


# -- the gc facade --------------------------------------------------------------------------------

GC_CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("collect", (3,), {}), ("collect", (-1,), {}), ("collect", ("x",), {}),
    ("collect", (1.5,), {}), ("collect", (2**70,), {}), ("collect", (1, 2), {}),
    ("collect", (), {"generation": 3}), ("collect", (), {"gen": 1}),
    ("get_objects", (3,), {}), ("get_objects", (-2,), {}), ("get_objects", ("x",), {}),
    ("get_objects", (2**70,), {}), ("get_objects", (None, None), {}),
    ("get_objects", (), {"generation": -5}),
    ("set_threshold", (), {}), ("set_threshold", (1, 2, 3, 4), {}),
    ("set_threshold", ("x",), {}), ("set_threshold", (1.5,), {}),
    ("set_threshold", (5, 2**40), {}), ("set_threshold", (5, 6, -(2**40)), {}),
    ("set_threshold", (), {"threshold0": 1}),
    ("set_debug", ("x",), {}), ("set_debug", (1.5,), {}), ("set_debug", (2**40,), {}),
    ("set_debug", (), {}), ("set_debug", (), {"flags": 1}),
    ("get_count", (1,), {}), ("get_threshold", (1,), {}), ("get_debug", (1,), {}),
    ("enable", (1,), {}), ("disable", (1,), {}), ("isenabled", (1,), {}),
    ("get_count", (), {"x": 1}), ("is_tracked", (), {}), ("is_tracked", (1, 2), {}),
    ("freeze", (1,), {}), ("unfreeze", (1,), {}), ("get_freeze_count", (1,), {}),
    ("get_stats", (1,), {}), ("is_finalized", (), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), GC_CALLS,
                         ids=[f"{n}{a}{k or ''}" for n, a, k in GC_CALLS])
def test_gc_argument_errors(heap: gclab.Heap, objs: dict[str, Any], name: str,
                            args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """The facade raises what the real gc module raises, and changes nothing (even where
    CPython 3.11 stores threshold0 before rejecting threshold1)."""
    if RUNNING != PROFILE:
        pytest.skip(f"no profile for the running python {RUNNING}")
    saved = gc.get_threshold()
    try:
        expected = real_error(lambda: getattr(gc, name)(*args, **kwargs))
    finally:
        gc.set_threshold(*saved)
    assert_raises_unchanged(heap, lambda: getattr(heap.gc, name)(*args, **kwargs),
                            type(expected), message=str(expected))


def test_gc_functions_a_profile_lacks() -> None:
    """2.7 has no gc.freeze: AttributeError, as on that interpreter."""
    old = gclab.Heap("2.7")
    assert_raises_unchanged(old, lambda: old.gc.freeze, AttributeError, names="freeze")


def test_use_after_free_through_stale_ids_is_caught_after_reuse_check(
        heap: gclab.Heap) -> None:
    """A freed id stays poisoned until reused; a reused id names the new object."""
    a = heap.alloc("list")
    heap.decref(a)
    assert_raises_unchanged(heap, lambda: heap.append_slot(a, NULL), UseAfterFreeError,
                            names=str(a))
    b = heap.alloc("dict")
    assert b == a and heap.type_of(b).name == "dict"
    heap.decref(b)
