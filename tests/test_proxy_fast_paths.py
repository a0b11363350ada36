"""Differential tests: the proxy layer's fast paths leave the heap as the general ones do.

Fast paths under test: ``heap.dict()`` and ``heap.list()`` adopting their new object
(``ProxyHeap._adopt_new``), the per-type proxy class cache (``ProxyHeap._proxy_classes``),
``d[key] = value`` as one guarded operation (``DictProxy.__setitem__``), the managed
instances' ``__new__``, ``__setattr__`` and ``__getattribute__`` twins
(``heap/proxies/instances.py``), and the flat bodies they reach inside their operation
(``FastPathMixin._new_instance_nested``, ``_release_nested`` for a dying proxy). Random
programs (new dicts and instances, item and attribute stores of atoms, proxies and objects
of another kind, lookups and attribute reads, host references dropped, collections) run on
twin heaps: one through the fast paths, one through the general ones (``_adopt`` with no
cache, ``DictProxy.update``, classes made by ``make_managed_class`` alone, whose methods are
InstanceProxy's). After every step every column, the pool, the free ids, the lists, the
counts, the proxy cache and the classes' shared keys must be equal, and every result the
same.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gclab
from gclab.heap.classes import InstanceProxy, make_managed_class
from gclab.heap.invariants import check_invariants
from gclab.heap.proxies import DictProxy
from gclab.heap.proxies.instances import (
    get_instance_attr,
    new_instance_proxy,
    set_instance_attr,
)
from heapstate import snapshot


class _NoCache(dict):  # type: ignore[type-arg]
    """A proxy class cache that never keeps anything (the general path every time)."""

    def __setitem__(self, key: object, value: object) -> None:
        pass


def _general(heap: gclab.Heap) -> gclab.Heap:
    """``heap`` made to take the general paths of adoption."""
    heap._proxy_classes = _NoCache()
    heap._fast_paths = False  # heap.dict() and heap.list() allocate through the general alloc
    heap._adopt_new = lambda oid, cls: heap._adopt(oid)  # type: ignore[method-assign]
    return heap


class Twin:
    """One side of a twin run: a heap, its class, and the host references a program holds."""

    def __init__(self, fast: bool) -> None:
        self.fast = fast
        self.heap = gclab.Heap() if fast else _general(gclab.Heap())
        gclab_cls = self.heap.cls if fast else (lambda c: make_managed_class(self.heap, c))

        @gclab_cls
        class Node:
            label = "class attribute"  # read when the instance has no "label" of its own

        @gclab_cls
        class Slotted:
            __slots__ = ("next",)

        self.classes = (Node, Slotted)
        self.held: list[Any] = []

    def value(self, pick: tuple[str, Any]) -> object:
        kind, what = pick
        if kind == "atom":
            return what
        if kind == "held" and self.held:
            return self.held[what % len(self.held)]
        if kind == "list":
            return self.heap.list([what])
        return None

    def step(self, op: tuple[Any, ...]) -> object:
        """Run one operation; its outcome as plain values (an error's type and message)."""
        try:
            return self._step(op)
        except Exception as exc:  # compared between the twins
            return (type(exc).__name__, str(exc))

    def _step(self, op: tuple[Any, ...]) -> object:
        name = op[0]
        heap = self.heap
        if name == "dict":
            self.held.append(heap.dict())
        elif name == "list":  # heap.list() and heap.list([]): the fast and the general path
            self.held.append(heap.list() if self.fast else heap.list([]))
        elif name == "new":
            self.held.append(self.classes[op[1]]())
        elif name == "drop" and self.held:
            del self.held[op[1] % len(self.held)]
        elif name == "setitem" and self.held:
            target, key, value = self.held[op[1] % len(self.held)], op[2], self.value(op[3])
            if not isinstance(target, DictProxy):
                return "not a dict"
            if self.fast:
                target[key] = value
            else:
                target.update([(key, value)])
        elif name == "setattr" and self.held:
            target, attr, value = self.held[op[1] % len(self.held)], op[2], self.value(op[3])
            setattr(target, attr, value)
        elif name == "getattr" and self.held:  # the hook's twin, flat for inline values
            found = getattr(self.held[op[1] % len(self.held)], op[2])
            if isinstance(found, type):  # __class__: each twin has its own classes
                return "class", found.__qualname__
            return type(found).__name__, heap.id_of(found) if isinstance(
                found, gclab.heap.proxies.Proxy) else found
        elif name == "getitem" and self.held:
            target = self.held[op[1] % len(self.held)]
            if isinstance(target, DictProxy):
                found = target[op[2]]
                return type(found).__name__, heap.id_of(found) if isinstance(
                    found, gclab.heap.proxies.Proxy) else found
        elif name == "collect":
            return heap.gc.collect()
        return None

    def state(self) -> dict[str, Any]:
        heap = self.heap
        out = snapshot(heap)
        atoms = heap.atoms  # atom codes may differ in meaning: compare the values
        out["values"] = {oid: [repr(atoms.value(c)) if c <= -2 else c for c in codes]
                         for oid, codes in out["slots"].items()}
        out["proxies"] = sorted((oid, type(ref()).__qualname__)
                                for oid, ref in heap._proxies.items() if ref() is not None)
        out["held"] = [(type(p).__qualname__, heap.id_of(p)) for p in self.held]
        # what making an instance changes outside the table (inline values: dk_usable)
        out["keys_usable"] = [(c._info.keys_usable, c._info.shared_keys) for c in self.classes]
        return out


KEYS = st.sampled_from(["a", "b", 1, 2.5, None, ("t", 1), ["unhashable"]])
ATTRS = st.sampled_from(["next", "other", "label", "_id", "__class__"])
VALUES = st.one_of(
    st.tuples(st.just("atom"), st.sampled_from([None, 0, "x", b"y", 1.5, object()])),
    st.tuples(st.just("held"), st.integers(0, 50)),
    st.tuples(st.just("list"), st.integers(0, 3)),
)
OPS = st.one_of(
    st.tuples(st.just("dict")),
    st.tuples(st.just("list")),
    st.tuples(st.just("new"), st.integers(0, 1)),
    st.tuples(st.just("drop"), st.integers(0, 50)),
    st.tuples(st.just("setitem"), st.integers(0, 50), KEYS, VALUES),
    st.tuples(st.just("setattr"), st.integers(0, 50), ATTRS, VALUES),
    st.tuples(st.just("getitem"), st.integers(0, 50), KEYS),
    st.tuples(st.just("getattr"), st.integers(0, 50), st.sampled_from(
        ["next", "other", "missing", "_id", "__class__", "__dict__", "label"])),
    st.tuples(st.just("collect")),
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(program=st.lists(OPS, min_size=1, max_size=40))
def test_fast_paths_leave_the_heap_as_the_general_ones(program: list[tuple[Any, ...]]) -> None:
    fast, general = Twin(fast=True), Twin(fast=False)
    for op in program:
        assert fast.step(op) == general.step(op), op
        assert fast.state() == general.state(), op
    del fast.held[:], general.held[:]
    assert fast.state() == general.state()
    check_invariants(fast.heap, strict=True)


def test_the_twins_are_installed_where_the_class_uses_instance_proxys_own() -> None:
    heap = gclab.Heap()

    @heap.cls
    class Plain:
        pass

    @heap.cls
    class Own:
        def __setattr__(self, name: str, value: object) -> None:
            super().__setattr__(name, value.upper() if isinstance(value, str) else value)

    @heap.cls
    class Child(Own):
        pass

    assert Plain.__setattr__ is set_instance_attr and Plain.__new__ is new_instance_proxy
    assert Plain.__getattribute__ is get_instance_attr
    assert Own.__setattr__ is not set_instance_attr and Child.__setattr__ is Own.__setattr__
    assert make_managed_class(gclab.Heap(), type("Bare", (), {})).__setattr__ is (
        InstanceProxy.__setattr__)
    child = Child()
    child.name = "x"  # the user's __setattr__, then the twin through super()
    assert child.name == "X"


@pytest.mark.parametrize("name", ["_heap", "_id", "__class__"])
def test_a_link_store_is_refused_as_by_instance_proxy(name: str) -> None:
    heap = gclab.Heap()
    node = heap.cls(type("Node", (), {}))()
    bare = make_managed_class(heap, type("Bare", (), {}))()
    errors = []
    for obj in (node, bare):
        with pytest.raises((AttributeError, TypeError)) as info:
            setattr(obj, name, 1)
        errors.append((info.type, str(info.value).replace("Bare", "Node")))
    assert errors[0] == errors[1]


def test_attribute_reads_through_the_twin_match_the_hook() -> None:
    """Set, unset, class-level, slot and link reads give the same results and leave the same
    heap through ``get_instance_attr`` as through InstanceProxy's own hook."""
    program: list[tuple[Any, ...]] = [("new", 0), ("new", 0), ("new", 1), ("list",)]
    for attr in ("next", "other", "label"):
        program += [("getattr", 0, attr), ("setattr", 0, attr, ("held", 1)),
                    ("getattr", 0, attr), ("setattr", 1, attr, ("atom", "x")),
                    ("getattr", 1, attr), ("setattr", 0, attr, ("atom", None)),
                    ("getattr", 0, attr), ("setattr", 2, attr, ("held", 3))]
    program += [("getattr", 2, "next"), ("getattr", 0, "_id"), ("getattr", 1, "__class__"),
                ("drop", 1), ("collect",), ("getattr", 0, "other"), ("getattr", 0, "next")]
    fast, general = Twin(fast=True), Twin(fast=False)
    for op in program:
        assert fast.step(op) == general.step(op), op
        assert fast.state() == general.state(), op


def test_a_proxy_valued_read_after_shutdown_is_refused_as_by_the_hook() -> None:
    """The twin's proxy-cache shortcut does not bypass the guard: after shutdown a read of an
    attribute holding an object raises what InstanceProxy's hook raises."""
    errors = []
    for fast in (True, False):
        twin = Twin(fast=fast)
        node, other = twin.classes[0](), twin.classes[0]()
        node.next = other
        twin.heap.shutdown()
        with pytest.raises(Exception) as info:
            node.next  # noqa: B018
        errors.append((info.type, str(info.value)))
    assert errors[0] == errors[1]
