"""Random misuse: bad arguments, hostile user code and copies, interleaved with ordinary work.

A Hypothesis state machine keeps a heap (every profile) busy with ordinary operations (new
containers and instances, links, unlinks, ``del``, collections, weakrefs) whose user code
misbehaves at random: ``__del__``, weakref callbacks and ``gc.callbacks`` raise exceptions of
every kind (``KeyboardInterrupt``, ``SystemExit``, ``GeneratorExit``, ``MemoryError``,
``RecursionError``, ordinary ones), resurrect objects or do heap work of their own. In between
it misuses every entry point: the low-level API with ids that are wrong, freed, of the wrong
kind or out of range, slot indices past the layout, stores that break an object's layout,
references dropped that were never taken; the proxies with unhashable keys, bad indices and
foreign objects; the ``gc`` facade with bad arguments; ``copy``/``deepcopy``/``pickle``.

After every step:

- no exception raised by user code escaped (CPython reports them all as unraisable);
- every misuse raised a typed error (a ``GCLabError`` or the exception Python raises for the
  same misuse) and left the heap exactly as it was (every column, slot, list, count, side
  table and the atom table);
- :func:`gclab.heap.invariants.check_invariants` passes in its strict form.
"""

from __future__ import annotations

import copy
import gc as hostgc
import pickle
import sys
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

import gclab
from gclab.heap.invariants import check_invariants
from proxy_support import unchanged

PROFILES = ("2.7", "3.10", "3.11", "3.12", "3.13")
# What user code raises (MemoryError and RecursionError too: CPython swallows them all).
USER_ERRORS = (None, ValueError, KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError,
               RecursionError, StopIteration)
# What a misuse may raise: gclab's own errors, or the exception Python raises for it.
TYPED = (gclab.GCLabError, TypeError, ValueError, IndexError, KeyError, AttributeError,
         OverflowError)


def _raise(kind: type[BaseException] | None) -> None:
    if kind is not None:
        raise kind("raised by user code in a misuse test")


class Misuse(RuleBasedStateMachine):
    """Ordinary work with hostile user code, and misuse of every entry point."""

    def __init__(self) -> None:
        super().__init__()
        self.heap: gclab.Heap | None = None
        self.held: list[Any] = []  # proxies the test holds
        self.ids: list[int] = []  # low-level ids the test holds one reference to
        self.mood: list[type[BaseException] | None] = [None]  # what user code raises now
        # objects resurrected by finalizers: kept apart from ``held``, whose size the rules'
        # draws depend on (a finalizer runs whenever the host frees a proxy)
        self.phoenixes: list[Any] = []
        self.reported: list[Any] = []
        self.saved_hook = sys.unraisablehook

    # -- setting up -----------------------------------------------------------------------------

    @initialize(profile=st.sampled_from(PROFILES))
    def start(self, profile: str) -> None:
        heap = self.heap = gclab.Heap(profile)
        heap.debug_level = 0  # checked after every step below
        mood, phoenixes = self.mood, self.phoenixes

        @heap.cls
        class Grumpy:
            def __del__(self) -> None:
                _raise(mood[0])

        @heap.cls
        class Phoenix:
            def __del__(self) -> None:
                if len(phoenixes) < 40:
                    phoenixes.append(self)  # resurrected
                _raise(mood[0])

        @heap.cls
        class Worker:
            __slots__ = ("__weakref__", "a", "b")

            def __del__(self) -> None:
                scratch = heap.list([heap.dict(k=1)])  # heap work inside a finalizer
                scratch.append(scratch)
                _raise(mood[0])

        @heap.cls
        class Plain:
            pass

        self.classes = [Grumpy, Phoenix, Worker, Plain]
        # count the reports instead of letting pytest format thousands of them
        self.saved_hook = sys.unraisablehook
        sys.unraisablehook = lambda args: self.reported.append(args.exc_type)
        if profile != "2.7":
            heap.gc.callbacks.append(lambda phase, info: _raise(mood[0]))

    def teardown(self) -> None:
        self.held.clear()
        self.phoenixes.clear()
        self.reported.clear()
        sys.unraisablehook = self.saved_hook
        if self.heap is not None:
            self.heap.gc.garbage.clear()
            if self.heap.profile.name != "2.7":
                self.heap.gc.callbacks.clear()
        self.heap = None

    @invariant()
    def heap_is_consistent(self) -> None:
        if self.heap is not None:
            check_invariants(self.heap, strict=True)

    def pick(self, data: st.DataObject) -> Any:
        return self.held[data.draw(st.integers(0, len(self.held) - 1))]

    # -- ordinary work with hostile user code -----------------------------------------------------

    @precondition(lambda self: self.heap is not None)
    @rule(mood=st.sampled_from(USER_ERRORS))
    def change_mood(self, mood: type[BaseException] | None) -> None:
        self.mood[0] = mood

    @precondition(lambda self: self.heap is not None and len(self.held) < 60)
    @rule(kind=st.sampled_from(["list", "dict", "set", "tuple", "Grumpy", "Phoenix", "Worker",
                                "Plain"]))
    def new(self, kind: str) -> None:
        heap = self.heap
        assert heap is not None
        made: Any
        if kind == "list":
            made = heap.list([1, "a"])
        elif kind == "dict":
            made = heap.dict(k=None)
        elif kind == "set":
            made = heap.set([2])
        elif kind == "tuple":
            made = heap.tuple([heap.list(), 3])
        else:
            made = next(c for c in self.classes if c.__name__ == kind)()
        self.held.append(made)

    @precondition(lambda self: self.heap is not None and len(self.held) >= 2)
    @rule(data=st.data())
    def link(self, data: st.DataObject) -> None:
        src, dst = self.pick(data), self.pick(data)
        if isinstance(src, gclab.heap.proxies.ListProxy):
            src.append(dst)
        elif isinstance(src, gclab.heap.proxies.DictProxy):
            src[data.draw(st.sampled_from(["x", "y", 1]))] = dst
        elif type(src).__name__ in ("Grumpy", "Phoenix", "Plain", "Worker"):
            setattr(src, data.draw(st.sampled_from(["a", "b"])), dst)

    @precondition(lambda self: self.heap is not None and self.held)
    @rule(data=st.data())
    def drop(self, data: st.DataObject) -> None:
        del self.held[data.draw(st.integers(0, len(self.held) - 1))]

    @precondition(lambda self: self.heap is not None and self.held)
    @rule(data=st.data())
    def weakref_with_hostile_callback(self, data: st.DataObject) -> None:
        heap, target = self.heap, self.pick(data)
        assert heap is not None
        if type(target).__name__ in ("Grumpy", "Phoenix", "Plain", "Worker", "set"):
            mood = self.mood
            self.held.append(heap.weakref(target, lambda ref: _raise(mood[0])))

    @precondition(lambda self: self.heap is not None)
    @rule(generation=st.integers(0, 2))
    def collect(self, generation: int) -> None:
        assert self.heap is not None
        self.heap.gc.collect(generation)

    @precondition(lambda self: self.heap is not None)
    @rule()
    def clear_garbage(self) -> None:
        assert self.heap is not None
        self.heap.gc.garbage.clear()

    # -- misuse ----------------------------------------------------------------------------------

    def misuse(self, call: Any) -> None:
        """``call()`` raises a typed error and changes nothing. The host's collector is held
        off meanwhile: proxies it frees would change the heap by themselves."""
        assert self.heap is not None
        hostgc.disable()
        try:
            with unchanged(self.heap):
                try:
                    call()
                except TYPED:
                    return
        finally:
            hostgc.enable()
        raise AssertionError(f"{call} was accepted")

    @precondition(lambda self: self.heap is not None)
    @rule(data=st.data(), bad=st.sampled_from([-7, 0, 3, 15, 10**9, 2**31, 2**40, True, 1.5,
                                               "x", None, np.uint64(2**63)]))
    def low_level_bad_id(self, data: st.DataObject, bad: object) -> None:
        heap = self.heap
        assert heap is not None
        one = heap.atom(1)
        op = data.draw(st.sampled_from([
            lambda: heap.incref(bad), lambda: heap.decref(bad),
            lambda: heap.set_slot(bad, 0, one), lambda: heap.slots(bad),
            lambda: heap.is_tracked(bad), lambda: heap.type_of(bad),
            lambda: heap.append_slot(bad, -1), lambda: heap.new_weakref(bad)]))
        self.misuse(op)

    @precondition(lambda self: self.heap is not None)
    @rule(size=st.sampled_from([-1, 2**32, 2**40, True, 1.5, "x"]),
          kind=st.sampled_from(["list", "tuple", "nonsense", 99]))
    def low_level_bad_alloc(self, size: object, kind: object) -> None:
        heap = self.heap
        assert heap is not None
        self.misuse(lambda: heap.alloc(kind, size))  # type: ignore[arg-type]
        self.misuse(lambda: heap.alloc_many(kind, 2, size))  # type: ignore[arg-type]

    @precondition(lambda self: self.heap is not None)
    @rule(kind=st.sampled_from(["list", "tuple", "dict", "set"]), size=st.integers(1, 3),
          index=st.sampled_from([-1, 9, 2**31, True]))
    def low_level_layout_misuse(self, kind: str, size: int, index: object) -> None:
        heap = self.heap
        assert heap is not None
        oid = heap.alloc(kind, size if kind in ("list", "tuple") else 0)
        self.ids.append(oid)
        key = heap.atom("half an entry")
        self.misuse(lambda: heap.set_slot(oid, index, -1))  # type: ignore[arg-type]
        self.misuse(lambda: heap.delete_slot(oid, index))  # type: ignore[arg-type]
        if kind == "tuple":
            self.misuse(lambda: heap.append_slot(oid, -1))
            self.misuse(lambda: heap.delete_slot(oid, 0))
        if kind == "dict":
            self.misuse(lambda: heap.append_slot(oid, key))

    @precondition(lambda self: self.heap is not None and self.ids)
    @rule()
    def low_level_underflow(self) -> None:
        heap = self.heap
        assert heap is not None
        oid = self.ids.pop()
        heap.decref(oid)  # the test's own reference: fine
        if heap.is_alive(oid) and int(heap.table.extern[oid]) == 0:
            self.misuse(lambda: heap.decref(oid))  # one it never took
        self.misuse(lambda: heap.decref(heap.empty_tuple))  # the static reference

    @precondition(lambda self: self.heap is not None)
    @rule(values=st.sampled_from([np.array([2**64 - 1], np.uint64), np.array([2**40]),
                                  np.array([-(10**6)]), np.array([1.5]),
                                  np.zeros((1, 1), int)]))
    def bulk_misuse(self, values: Any) -> None:
        heap = self.heap
        assert heap is not None
        oid = heap.alloc("list", 1)
        self.ids.append(oid)
        self.misuse(lambda: heap.set_slots([oid], [0], values))
        self.misuse(lambda: heap.decref_many(np.array([oid, oid, oid])))

    @precondition(lambda self: self.heap is not None and self.held)
    @rule(data=st.data())
    def proxy_misuse(self, data: st.DataObject) -> None:
        heap, target = self.heap, self.pick(data)
        assert heap is not None
        alien = gclab.Heap().list()
        unhashable, a_set, a_tuple = heap.list(), heap.set(), heap.tuple([1])
        ops: list[Any] = [lambda: setattr(target, "_id", 5),
                          lambda: setattr(target, "_heap", alien._heap),
                          lambda: heap.list([object()]), lambda: heap.dict({unhashable: 1}),
                          lambda: heap.set([alien]), lambda: heap.weakref(a_tuple)]
        if isinstance(target, gclab.heap.proxies.ListProxy):
            ops += [lambda: target[10**6], lambda: target["x"], lambda: target.append(alien),
                    lambda: target.extend([1, object()]), lambda: target.insert(1.5, 1),
                    lambda: target.__setitem__(slice(0, 1, 2), [1, 2, 3])]
        if isinstance(target, gclab.heap.proxies.DictProxy):
            ops += [lambda: target[unhashable], lambda: target.__setitem__(a_set, 1),
                    lambda: target["never stored"]]
        self.misuse(data.draw(st.sampled_from(ops)))

    @precondition(lambda self: self.heap is not None)
    @rule(call=st.sampled_from([("collect", (3,)), ("collect", ("x",)), ("set_threshold", ()),
                                ("set_threshold", (2**40,)), ("get_objects", (7,)),
                                ("set_debug", ("x",)), ("is_tracked", ()),
                                ("get_count", (1,))]))
    def gc_facade_misuse(self, call: tuple[str, tuple[object, ...]]) -> None:
        heap = self.heap
        assert heap is not None
        name, args = call
        self.misuse(lambda: getattr(heap.gc, name)(*args))

    @precondition(lambda self: self.heap is not None and self.held)
    @rule(data=st.data(), how=st.sampled_from(["copy", "deepcopy", "pickle"]))
    def copies(self, data: st.DataObject, how: str) -> None:
        target = self.pick(data)
        if how == "pickle":
            self.misuse(lambda: pickle.dumps(target))
            return
        made = (copy.copy if how == "copy" else copy.deepcopy)(target)
        self.held.append(made)


Misuse.TestCase.settings = settings(max_examples=200, stateful_step_count=50, deadline=None,
                                    derandomize=True, suppress_health_check=list(HealthCheck))
TestMisuse = Misuse.TestCase


def test_user_exceptions_never_reach_the_caller() -> None:
    """The state machine's premise, shown on one program: a KeyboardInterrupt in every
    __del__ of a collected cycle is reported, and the caller sees only the return value."""
    heap = gclab.Heap()
    reported: list[str] = []

    @heap.cls
    class A:
        def __del__(self) -> None:
            raise KeyboardInterrupt

    old, sys.unraisablehook = sys.unraisablehook, lambda u: reported.append(u.exc_type.__name__)
    try:
        a, b = A(), A()
        a.b, b.a = b, a
        del a, b
        assert heap.gc.collect() == 2
    finally:
        sys.unraisablehook = old
    assert reported == ["KeyboardInterrupt", "KeyboardInterrupt"]
    check_invariants(heap, strict=True)
