"""copy, deepcopy and pickle of heap objects (issue #7, item 1).

CPython's semantics on the simulated heap: containers copy into new simulated objects, tuples
and weak references are their own copy, managed instances copy as ``copy`` copies instances,
deep copies keep cycles; frames, the module namespace, and anything pickled refuse with a
``TypeError``. Nothing that fails leaves the heap changed.
"""

from __future__ import annotations

import copy
import gc as host_gc
import pickle
import sys
from typing import Any

import pytest

import gclab
from gclab.heap.invariants import check_invariants
from heapstate import real_error
from proxy_support import live_state, to_host, unchanged

PROFILES = ["3.10", "3.12"]  # a separate __dict__ object, and inline values


@pytest.fixture(params=PROFILES)
def heap(request: pytest.FixtureRequest) -> gclab.Heap:
    return gclab.Heap(request.param)


# -- containers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["list", "dict", "set"])
def test_shallow_copy_is_a_new_object_holding_the_same_items(heap: gclab.Heap,
                                                            kind: str) -> None:
    item = heap.tuple([1])
    original = {"list": lambda: heap.list([item, 2]), "dict": lambda: heap.dict(k=item),
                "set": lambda: heap.set([item, 2])}[kind]()
    count, item_count = heap.getrefcount(original), heap.getrefcount(item)
    duplicate = copy.copy(original)
    assert duplicate is not original and type(duplicate) is type(original)
    assert to_host(duplicate) == to_host(original)
    assert heap.getrefcount(original) == count          # the copy took no reference to it
    assert heap.getrefcount(item) == item_count + 1     # ... but one to each item
    del duplicate
    assert heap.getrefcount(item) == item_count
    check_invariants(heap)


def test_copy_then_drop_both_keeps_the_object_alive_for_its_holder(heap: gclab.Heap) -> None:
    """repro_copy_proxy: the copy used to be a second proxy of the same id, without a
    reference; dropping both freed an object a list still held."""
    keep = heap.list()
    holder = heap.list([keep])
    copied = copy.copy(keep)
    del copied, keep
    host_gc.collect()
    item = holder[0]
    assert item == [] and heap.getrefcount(item) == 3  # holder, ``item``, the argument
    check_invariants(heap)


def test_tuples_and_weakrefs_are_their_own_copy(heap: gclab.Heap) -> None:
    atoms = heap.tuple([1, "a"])
    target = heap.set()
    ref = heap.weakref(target)
    assert copy.copy(atoms) is atoms and copy.deepcopy(atoms) is atoms
    assert copy.copy(ref) is ref and copy.deepcopy(ref) is ref
    real = (1, "a")
    assert (copy.copy(real) is real) and (copy.deepcopy(real) is real)  # what CPython does


def test_deepcopy_of_a_tuple_holding_a_list_is_a_new_tuple(heap: gclab.Heap) -> None:
    inner = heap.list([1])
    outer = heap.tuple([inner, 2])
    copied = copy.deepcopy(outer)
    assert copied is not outer and copied == outer and copied[0] is not inner


def test_deepcopy_of_cycles_is_a_new_cycle(heap: gclab.Heap) -> None:
    lst = heap.list([1])
    lst.append(lst)
    d = heap.dict(me=None)
    d["me"] = d
    d["pair"] = heap.tuple([lst, d])
    copied_list, copied_dict = copy.deepcopy(lst), copy.deepcopy(d)
    assert copied_list[1] is copied_list and copied_list is not lst
    assert copied_dict["me"] is copied_dict
    assert copied_dict["pair"][1] is copied_dict and copied_dict["pair"][0] is not lst
    assert repr(copied_dict) == repr(d)
    del lst, d, copied_list, copied_dict
    assert heap.gc.collect() > 0  # the copies were cycles of their own, now garbage
    check_invariants(heap)


def test_deepcopy_shares_what_is_shared(heap: gclab.Heap) -> None:
    shared = heap.list([1])
    outer = heap.list([shared, shared, heap.dict(k=heap.tuple([shared]))])
    copied = copy.deepcopy(outer)
    assert copied[0] is copied[1] and copied[0] is not shared
    assert copied[2]["k"][0] is copied[0]
    real = [[1]]
    real.append(real[0])
    assert to_host(copied)[:2] == copy.deepcopy(real)  # same shape as CPython's result


def test_deepcopy_of_a_set_in_a_cycle_is_one_new_set(heap: gclab.Heap) -> None:
    @heap.cls
    class Member:
        pass

    member = Member()
    group = heap.set([member])
    member.group = group
    copied = copy.deepcopy(group)
    (new_member,) = list(copied)
    assert new_member is not member and new_member.group is copied


# -- frames, the module namespace, pickle ---------------------------------------------------------


def test_frames_and_the_module_namespace_cannot_be_copied(heap: gclab.Heap) -> None:
    frame_error = real_error(lambda: copy.copy(sys._getframe()))
    module_error = real_error(lambda: copy.copy(sys))
    namespace = heap.globals  # a proxy made on demand: made before the heap is compared
    with heap.frame() as frame:
        frame.x = heap.list()
        holders = [heap.list([1, heap.list(), frame]), heap.dict(g=namespace)]
        cases = [(lambda: copy.copy(frame), frame_error),
                 (lambda: copy.deepcopy(frame), frame_error),
                 (lambda: copy.deepcopy(holders[0]), frame_error),
                 (lambda: copy.copy(namespace), module_error),
                 (lambda: copy.deepcopy(holders[1]), module_error)]
        for call, expected in cases:
            with unchanged(heap), pytest.raises(type(expected)) as info:
                call()
            assert str(info.value) == str(expected)
        holders.clear()


@pytest.mark.parametrize("kind", ["list", "tuple", "dict", "set", "weakref", "instance",
                                  "frame", "globals", "heap", "gc"])
def test_pickle_refuses_with_a_clear_type_error(heap: gclab.Heap, kind: str) -> None:
    @heap.cls
    class Point:
        pass

    target = heap.set()
    objects: dict[str, Any] = {
        "list": heap.list([1]), "tuple": heap.tuple([1]), "dict": heap.dict(a=1),
        "set": target, "weakref": heap.weakref(target), "instance": Point(),
        "frame": heap.frame(), "globals": heap.globals, "heap": heap, "gc": heap.gc}
    names = {"weakref": "weakref.ReferenceType", "instance": "Point", "globals": "module",
             "heap": "Heap", "gc": "module"}
    with unchanged(heap), pytest.raises(TypeError) as info:
        pickle.dumps(objects[kind])
    message = str(info.value)
    assert message.startswith(f"cannot pickle '{names.get(kind, kind)}' object"), message
    for internal in ("local object", "lambda", "Proxy", "GcModule", "_heap"):
        assert internal not in message


# -- managed instances ----------------------------------------------------------------------------


def _classes(heap: gclab.Heap) -> tuple[type, type]:
    """The same class as a plain host class and as a managed class of ``heap``."""

    def define() -> type:
        class Node:
            __slots__ = ("__dict__", "__weakref__", "slot")
            inits = 0

            def __init__(self, value: object) -> None:
                type(self).inits += 1
                self.value = value

        return Node

    return define(), heap.cls(define())


def test_copy_of_an_instance_is_a_new_instance_without_init(heap: gclab.Heap) -> None:
    """repro_copy_instance: the copy used to be a new instance's proxy pointed at the old id."""
    host_class, managed = _classes(heap)
    for cls in (host_class, managed):
        item = heap.list([1])
        original = cls(item)
        original.slot = 5
        before = cls.inits
        duplicate = copy.copy(original)
        assert cls.inits == before  # __init__ is not called
        assert duplicate is not original and type(duplicate) is cls
        assert duplicate.value is item and duplicate.slot == 5
        assert to_host(duplicate.__getstate__()) == to_host(original.__getstate__())
    holder = heap.list([original])
    del original, duplicate
    host_gc.collect()
    assert holder[0].slot == 5
    check_invariants(heap)


def test_getstate_matches_cpython(heap: gclab.Heap) -> None:
    host_class, managed = _classes(heap)
    for make in (lambda cls: cls.__new__(cls), lambda cls: cls(1)):
        host, sim = make(host_class), make(managed)
        assert to_host(sim.__getstate__()) == host.__getstate__()
        host.slot = sim.slot = 2
        assert to_host(sim.__getstate__()) == host.__getstate__()


def test_deepcopy_of_an_instance_copies_its_attributes_and_keeps_cycles(
        heap: gclab.Heap) -> None:
    _, managed = _classes(heap)
    item = heap.list([1])
    node = managed(item)
    node.me = node
    node.slot = item
    copied = copy.deepcopy(node)
    assert copied is not node and copied.me is copied
    assert copied.value == [1] and copied.value is not item and copied.slot is copied.value


class _Hooks:
    """Copy hooks a class may define (each test class takes some of them)."""

    def __copy__(self) -> str:
        return "copied by __copy__"

    def __deepcopy__(self, memo: dict[int, Any]) -> str:
        return "copied by __deepcopy__"


def test_user_copy_hooks_are_used(heap: gclab.Heap) -> None:
    hooked = heap.cls(type("Hooked", (), {"__copy__": _Hooks.__copy__,
                                          "__deepcopy__": _Hooks.__deepcopy__}))
    obj = hooked()
    assert copy.copy(obj) == "copied by __copy__"
    assert copy.deepcopy(obj) == "copied by __deepcopy__"

    @heap.cls
    class Reduced:
        def __init__(self, value: int) -> None:
            self.value = value

        def __reduce__(self) -> tuple[Any, ...]:
            return (type(self), (self.value + 1,))

    assert copy.copy(Reduced(1)).value == 2 and copy.deepcopy(Reduced(1)).value == 2

    @heap.cls
    class Stateful:
        def __init__(self) -> None:
            self.value = 1

        def __getstate__(self) -> dict[str, int]:
            return {"value": 10}

        def __setstate__(self, state: dict[str, int]) -> None:
            self.value = 2 * state["value"]

    assert copy.copy(Stateful()).value == 20 and copy.deepcopy(Stateful()).value == 20

    calls: list[tuple[object, ...]] = []

    @heap.cls
    class WithArgs:
        def __new__(cls, *args: object) -> Any:
            calls.append(args)
            return super().__new__(cls)

        def __getnewargs__(self) -> tuple[object, ...]:
            return ("again",)

    copy.copy(WithArgs("first"))
    assert calls == [("first",), ("again",)]


def test_a_failing_deepcopy_leaves_the_live_heap_as_it_was(heap: gclab.Heap) -> None:
    """User code that raises in the middle of a deep copy: the exception propagates (as in
    CPython) and the partial copies are freed."""

    @heap.cls
    class Bad:
        def __deepcopy__(self, memo: dict[int, Any]) -> Any:
            raise RuntimeError("no copies")

    outer = heap.list([heap.list([1]), heap.dict(a=heap.set([2])), Bad()])
    before = live_state(heap)
    with pytest.raises(RuntimeError, match="no copies"):
        copy.deepcopy(outer)
    assert live_state(heap) == before
    check_invariants(heap)


def test_a_copy_of_host_state_the_heap_cannot_hold_changes_nothing(heap: gclab.Heap) -> None:
    """A ``__getstate__`` returning host containers: refused before the copy is allocated."""

    @heap.cls
    class HostState:
        def __getstate__(self) -> dict[str, Any]:
            return {"values": [1, 2]}

    obj = HostState()
    with unchanged(heap), pytest.raises(TypeError, match="host list"):
        copy.copy(obj)
