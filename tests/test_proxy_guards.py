"""Proxies cannot be tampered with, and misuse gets CPython's errors (issue #7, items 2-3).

Every expected error is taken from the real interpreter running the same operation on a real
list, tuple, dict or set; every failing call leaves the heap exactly as it was, and a lookup
(``in``, ``count``, ``index``, ``get``, ``discard`` ...) never interns a new atom.
"""

from __future__ import annotations

import gc as host_gc
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import numpy as np
import pytest

import gclab
from gclab.heap.invariants import check_invariants
from heapstate import real_error
from proxy_support import atom_count, outcome, unchanged

# -- item 2: tampering ----------------------------------------------------------------------------


def _proxies(heap: gclab.Heap) -> dict[str, Any]:
    @heap.cls
    class Plain:
        pass

    @heap.cls
    class Slotted:
        __slots__ = ("__weakref__", "x")

    target = Slotted()
    return {"list": heap.list([1]), "tuple": heap.tuple([1]), "dict": heap.dict(a=1),
            "set": heap.set([1]), "weakref": heap.weakref(target), "instance": Plain(),
            "slotted": target, "frame": heap.frame(), "globals": heap.globals}


@pytest.mark.parametrize("kind", ["list", "tuple", "dict", "set", "weakref", "instance",
                                  "slotted", "frame", "globals"])
def test_a_proxy_link_cannot_be_reassigned(kind: str) -> None:
    """repro_proxy_tamper: ``L._id = 5`` used to be accepted; the proxy then released a
    reference to a list head."""
    heap = gclab.Heap()
    proxies = _proxies(heap)
    proxy, other = proxies[kind], gclab.Heap().list()
    oid = proxy._id
    count = heap.refcount(oid)
    attacks: list[Callable[[], object]] = [
        lambda: setattr(proxy, "_id", 5), lambda: setattr(proxy, "_heap", other._heap),
        lambda: delattr(proxy, "_id"), lambda: delattr(proxy, "_heap")]
    for attack in attacks:
        with unchanged(heap), pytest.raises(AttributeError, match="read-only"):
            attack()
    with unchanged(heap), pytest.raises(TypeError, match="__class__ assignment"):
        proxy.__class__ = type(other)
    assert proxy._id == oid and proxy._heap is heap and heap.refcount(oid) == count
    attacks.clear()
    proxies.clear()
    proxy = other = None
    host_gc.collect()
    check_invariants(heap)  # each proxy released exactly the reference it held


def test_one_live_proxy_per_object_even_for_the_shared_weakref() -> None:
    """``heap.weakref(x)`` without a callback returns the shared basic weakref, as CPython's
    ``weakref.ref(x) is weakref.ref(x)``; it used to get a second proxy, and with proxies
    released through the proxy cache the first one's reference would have leaked."""
    heap = gclab.Heap()
    target = heap.set()
    first = heap.weakref(target)
    assert heap.weakref(target) is first and heap.getrefcount(first) == 2  # + the argument
    oid = first._id
    del first
    host_gc.collect()
    assert not heap.is_alive(oid)
    check_invariants(heap)


def test_instance_attributes_named_like_internals_are_attributes() -> None:
    heap = gclab.Heap()

    @heap.cls
    class Record:
        def __init__(self) -> None:
            self._info = "user data"

    assert Record()._info == "user data"


# -- item 3: indices ------------------------------------------------------------------------------


def _pairs(heap: gclab.Heap) -> dict[str, tuple[Any, Any]]:
    """The same small containers, real and simulated."""
    return {"list": ([1, 2, 3], heap.list([1, 2, 3])), "tuple": ((1, 2), heap.tuple([1, 2])),
            "dict": ({"a": 1}, heap.dict(a=1)), "set": ({1}, heap.set([1]))}


Case = tuple[str, Callable[[Any], object]]

INDEX_CASES: list[Case] = [
    ("list", lambda x: x[np.int64(1)]), ("list", lambda x: x[np.int8(-1)]),
    ("list", lambda x: x[True]), ("list", lambda x: x["0"]), ("list", lambda x: x[1.0]),
    ("list", lambda x: x[None]), ("list", lambda x: x[10**30]), ("list", lambda x: x[-(10**30)]),
    ("list", lambda x: x.__setitem__("a", 1)), ("list", lambda x: x.__setitem__(1.5, 1)),
    ("list", lambda x: x.__setitem__(10**30, 1)), ("list", lambda x: x.__delitem__("a")),
    ("list", lambda x: x.__delitem__(10**30)), ("list", lambda x: x.__setitem__(np.int64(0), 7)),
    ("list", lambda x: x.insert("x", 1)), ("list", lambda x: x.insert(1.5, 1)),
    ("list", lambda x: x.insert(10**30, 1)), ("list", lambda x: x.insert(-(10**30), 1)),
    ("list", lambda x: x.insert(np.int64(1), 9)), ("list", lambda x: x.insert(99, 9)),
    ("list", lambda x: x.insert(-99, 9)), ("list", lambda x: x.pop("x")),
    ("list", lambda x: x.pop(1.0)), ("list", lambda x: x.pop(10**30)), ("list", lambda x: x.pop(5)),
    ("list", lambda x: x.pop(np.int64(0))), ("list", lambda x: x.index(1, "a")),
    ("list", lambda x: x.index(3, -1)), ("list", lambda x: x.index(1, 1)),
    ("list", lambda x: x.index(2, 0, 1)), ("list", lambda x: x.index(1, -(10**30), 10**30)),
    ("list", lambda x: x[::0]), ("list", lambda x: x["a":]), ("list", lambda x: x[:: 10**30]),
    ("list", lambda x: x.__setitem__(slice(0, 1), 5)),
    ("list", lambda x: x.__setitem__(slice(None, None, 2), 5)),
    ("list", lambda x: x.__setitem__(slice(None, None, 2), [1])),
    ("list", lambda x: x.__setitem__(slice(None, None, 0), [1])),
    ("list", lambda x: x.sort(None)), ("list", lambda x: x.sort(reverse="x")),
    ("list", lambda x: x * "a"), ("list", lambda x: "a" * x), ("list", lambda x: x * 1.5),
    ("list", lambda x: 1.5 * x), ("list", lambda x: x * 10**30), ("list", lambda x: x * 2**62),
    ("list", lambda x: x * None), ("list", lambda x: object() * x),
    ("list", lambda x: x + (1,)), ("list", lambda x: (1,) + x), ("list", lambda x: 5 + x),  # noqa: RUF005
    ("list", lambda x: x + 5), ("list", lambda x: x < (1,)), ("list", lambda x: x < 1),
    ("list", lambda x: hash(x)), ("list", lambda x: x.no_such_method),
    ("tuple", lambda x: x["a"]), ("tuple", lambda x: x[1.0]), ("tuple", lambda x: x[5]),
    ("tuple", lambda x: x[10**30]), ("tuple", lambda x: x[np.int64(1)]),
    ("tuple", lambda x: x[0:1]), ("tuple", lambda x: x[::-1]), ("tuple", lambda x: x.index(9)),
    ("tuple", lambda x: x.index(2, 1)), ("tuple", lambda x: x + [1]),  # noqa: RUF005
    ("tuple", lambda x: [1] + x),  # noqa: RUF005
    ("tuple", lambda x: x * "a"), ("tuple", lambda x: x < [1]),
    ("dict", lambda x: x < x), ("dict", lambda x: x | [1]), ("dict", lambda x: [1] | x),
    ("dict", lambda x: x.update(1, 2)), ("dict", lambda x: x.update([1])),
    ("dict", lambda x: x.update([(1, 2, 3)])), ("dict", lambda x: x.update(["abc"])),
    ("dict", lambda x: x.pop("a", 1, 2)), ("dict", lambda x: x.popitem()),
    ("dict", lambda x: hash(x)), ("dict", lambda x: x[[]]), ("dict", lambda x: x.get({})),
    ("set", lambda x: x | [1]), ("set", lambda x: [1] | x), ("set", lambda x: x < [1]),
    ("set", lambda x: x.remove(5)), ("set", lambda x: x.discard([])), ("set", lambda x: [] in x),
    ("set", lambda x: x.union([[1]])), ("set", lambda x: x.intersection([[1]])),
    ("set", lambda x: x.issubset([[1]])), ("set", lambda x: x.isdisjoint([[1]])),
    ("set", lambda x: hash(x)), ("set", lambda x: x.remove(set())),
]


@pytest.mark.parametrize(("kind", "case"), INDEX_CASES,
                         ids=[f"{i}-{kind}" for i, (kind, _) in enumerate(INDEX_CASES)])
def test_arguments_are_checked_like_cpython(kind: str, case: Callable[[Any], object]) -> None:
    """The same result or the same error (type and message) as the real type; a failing call
    changes nothing."""
    heap = gclab.Heap()
    real, sim = _pairs(heap)[kind]
    expected = outcome(lambda: case(real))
    if expected[0] == "error":
        with unchanged(heap):
            assert outcome(lambda: case(sim)) == expected
    else:
        assert outcome(lambda: case(sim)) == expected
    from proxy_support import to_host

    assert to_host(sim) == real  # the same state afterwards


@pytest.mark.parametrize("kind", ["list", "tuple", "dict", "set"])
def test_lookups_of_values_a_heap_cannot_hold_answer_like_cpython(kind: str) -> None:
    """``object() in L`` is False (it used to raise): host objects, atoms never stored and
    proxies of another heap cannot be in a simulated container. No atom is interned."""
    heap = gclab.Heap()
    real, sim = _pairs(heap)[kind]
    alien = gclab.Heap().tuple([1])
    lookups: dict[str, list[Callable[[Any, object], object]]] = {
        "list": [lambda x, v: v in x, lambda x, v: x.count(v), lambda x, v: x.index(v),
                 lambda x, v: x.remove(v)],
        "tuple": [lambda x, v: v in x, lambda x, v: x.count(v), lambda x, v: x.index(v)],
        "dict": [lambda x, v: v in x, lambda x, v: x.get(v), lambda x, v: x.get(v, "dflt"),
                 lambda x, v: x[v], lambda x, v: x.pop(v, "dflt"), lambda x, v: x.pop(v),
                 lambda x, v: x.__delitem__(v), lambda x, v: v in x.keys(),
                 lambda x, v: (v, 1) in x.items(), lambda x, v: v in x.values()],
        "set": [lambda x, v: v in x, lambda x, v: x.discard(v), lambda x, v: x.remove(v),
                lambda x, v: x.issuperset([v]), lambda x, v: x.isdisjoint([v]),
                lambda x, v: x - {v}, lambda x, v: x & {v}, lambda x, v: x == {v}],
    }
    for value in (object(), 12345, "never stored", alien, 2.5j):
        for lookup in lookups[kind]:
            expected = outcome(lambda lookup=lookup, value=value: lookup(real, value))
            with unchanged(heap) if expected[0] == "error" else _no_atoms(heap):
                got = outcome(lambda lookup=lookup, value=value: lookup(sim, value))
            assert got == expected, (kind, value)


class _no_atoms:  # a context manager used like ``unchanged``
    def __init__(self, heap: gclab.Heap) -> None:
        self.heap, self.atoms = heap, atom_count(heap)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        assert atom_count(self.heap) == self.atoms, "a lookup interned an atom"


def test_extend_checks_every_value_before_appending() -> None:
    heap = gclab.Heap()
    lst, d, s = heap.list([1]), heap.dict(a=1), heap.set([1])
    with unchanged(heap), pytest.raises(TypeError, match="host object"):
        lst.extend([2, object()])
    with unchanged(heap), pytest.raises(ZeroDivisionError):
        lst.extend(1 // x for x in (1, 0))
    for bad in ([[1]], [2, {}], [3, object()]):
        for call in (lambda bad=bad: lst.__setitem__(slice(0, 1), bad),
                     lambda bad=bad: lst.__iadd__(bad), lambda bad=bad: lst + bad,
                     lambda bad=bad: bad + lst, lambda bad=bad: d.update(x=1, y=bad),
                     lambda bad=bad: d.update(zip(bad, bad, strict=True)),
                     lambda bad=bad: s.update(bad),
                     lambda bad=bad: heap.list(bad), lambda bad=bad: heap.set(bad),
                     lambda bad=bad: d.fromkeys(bad, bad)):
            with unchanged(heap), pytest.raises(TypeError):
                call()
    assert lst == [1] and d == {"a": 1} and s == {1}


def test_builders_keep_new_proxies_alive_until_they_are_held() -> None:
    """``heap.list(heap.list() for ...)``: each inner proxy dies as soon as the generator moves
    on; its object used to be freed before the new list held it."""
    heap = gclab.Heap()
    built = [heap.list(heap.list([i]) for i in range(3)),
             heap.tuple(heap.list([i]) for i in range(3)),
             heap.dict((i, heap.list([i])) for i in range(3)),
             heap.set(heap.tuple([i]) for i in range(3))]
    lst = heap.list()
    lst.extend(heap.list([i]) for i in range(3))
    lst[1:2] = (heap.list([9]) for _ in range(2))
    s = heap.set()
    s.update(heap.tuple([i]) for i in range(3))
    s |= {heap.tuple([7])}
    check_invariants(heap)
    assert [sorted(map(repr, x)) for x in built[3:]] == [["(0,)", "(1,)", "(2,)"]]
    assert lst == [[0], [9], [9], [2]] and len(s) == 4


# -- heap.cls -------------------------------------------------------------------------------------


def test_heap_cls_refuses_managed_classes() -> None:
    heap, other = gclab.Heap(), gclab.Heap()
    mine = heap.cls(type("Mine", (), {}))
    theirs = other.cls(type("Theirs", (), {}))
    for bad, owner in ((mine, "this heap"), (theirs, "another heap")):
        with unchanged(heap), pytest.raises(TypeError, match=f"already a managed class.*{owner}"):
            heap.cls(bad)
    with unchanged(heap), pytest.raises(TypeError, match="managed class of another heap"):
        heap.cls(type("Child", (theirs,), {}))
    with unchanged(heap), pytest.raises(TypeError, match="may only derive"):
        heap.cls(type("Mixed", (mine, theirs), {}))
    assert heap.cls(type("Child", (mine,), {}))().__class__.__mro__[1] is mine


def test_list_errors_have_cpython_messages_across_the_api() -> None:
    """A sample of compound cases (sorting mixed types, extended slices) end to end."""
    heap = gclab.Heap()
    calls: list[Callable[[Any], object]] = [
        lambda x: x.sort(), lambda x: x.sort(key=lambda v: -v),
        lambda x: x.sort(key=str, reverse=True),
        lambda x: x.__setitem__(slice(None, None, -1), "ab"),
        lambda x: x.__delitem__(slice(0, 5, 2))]
    for host in ([1, "a"], [3, 1, 2]):
        for call in calls:
            real, sim = list(host), heap.list(host)
            expected = outcome(lambda call=call, real=real: call(real))
            with unchanged(heap) if expected[0] == "error" else nullcontext():
                assert outcome(lambda call=call, sim=sim: call(sim)) == expected
            assert sim == real
    assert real_error(lambda: [1, "a"].sort()) is not None
