"""Fixed, hand-worked scenarios of the conformance battery, each from ``docs/spec/cpython-gc.md``.

Each scenario is a function ``scenario(heap, capabilities)`` that builds a small heap through
the proxy or the low-level API, collects, and asserts what the spec says must have happened,
branching on the collector's capabilities and the profile's finalizer rules
(``heap.profile.legacy_finalizers``), never on the collector's name. The expected outcomes
are worked out by hand from the spec (the section is named in each docstring), not taken from
gclab's output.

>>> from gclab.testing.conformance import capabilities_of, make_heap
>>> heap = make_heap("cpython", "3.12")
>>> SCENARIOS["self_cycle_and_two_dicts"](heap, capabilities_of(heap))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..collectors.base import Capabilities
from ..heap.invariants import check_invariants

Scenario = Callable[[Any, Capabilities], None]
SCENARIOS: dict[str, Scenario] = {}


def scenario(function: Scenario) -> Scenario:
    """Register ``function`` under its name."""
    SCENARIOS[function.__name__] = function
    return function


def watch_frees(heap: Any) -> list[int]:
    """A list that gets every id the heap frees from now on, in order."""
    freed: list[int] = []
    heap.table.free_listeners.append(freed.append)
    return freed


def _alive(heap: Any, *ids: int) -> list[bool]:
    return [heap.is_alive(oid) for oid in ids]


def _classes(heap: Any, log: list[str]) -> tuple[Any, Any, Any]:
    """``Plain``; ``Del`` (``__del__`` logs its ``name``); ``Phoenix`` (``__del__`` logs and
    resurrects the object into ``heap.globals.grave``)."""

    @heap.cls
    class Plain:
        pass

    @heap.cls
    class Del:
        name: str

        def __del__(self) -> None:
            log.append(self.name)

    @heap.cls
    class Phoenix:
        name: str

        def __del__(self) -> None:
            log.append(self.name)
            heap.globals.grave.append(self)

    return Plain, Del, Phoenix


@scenario
def self_cycle_and_two_dicts(heap: Any, caps: Capabilities) -> None:
    """§4.1 seed: ``l = []; l.append(l); a = {}; b = {}; a['b'] = b; b['a'] = a; del l, a,
    b``: a full collection frees all three (a collector that never collects cycles: none);
    a second one frees nothing more."""
    lst, a, b = heap.list(), heap.dict(), heap.dict()
    lst.append(lst)
    a["b"], b["a"] = b, a
    ids = [heap.id_of(x) for x in (lst, a, b)]
    del lst, a, b
    assert _alive(heap, *ids) == [True] * 3, "cycles must wait for the collector"
    heap.gc.collect()
    want = not caps.collects_cycles
    assert _alive(heap, *ids) == [want] * 3, f"after a full collection: {_alive(heap, *ids)}"
    heap.gc.collect()
    assert _alive(heap, *ids) == [want] * 3
    check_invariants(heap)


@scenario
def acyclic_garbage(heap: Any, caps: Capabilities) -> None:
    """§7.1: a list holding a list and a dict, dropped: reference counting frees all three at
    once, in the cascade; otherwise the next full collection does."""
    outer = heap.list([heap.list(), heap.dict(k=1)])
    ids = [heap.id_of(outer), *(heap.id_of(x) for x in outer)]
    del outer
    if caps.uses_refcounts:
        assert _alive(heap, *ids) == [False] * 3
    heap.gc.collect()
    assert _alive(heap, *ids) == [False] * 3
    check_invariants(heap)


@scenario
def finalizers_on_a_cycle(heap: Any, caps: Capabilities) -> None:
    """§4.1 / §8: two ``__del__`` instances in a cycle. PEP 442: a full collection runs both
    finalizers once and frees both; ``gc.garbage`` stays empty. Legacy (2.7): both go to
    ``gc.garbage``, no finalizer runs. Without cycle collection: nothing happens."""
    log: list[str] = []
    _, Del, _ = _classes(heap, log)
    a, b = Del(), Del()
    a.name, b.name, a.other, b.other = "a", "b", b, a
    ids = [heap.id_of(a), heap.id_of(b)]
    del a, b
    heap.gc.collect()
    garbage = sorted(heap.id_of(p) for p in heap.gc.garbage)
    if not caps.collects_cycles:
        assert (log, garbage, _alive(heap, *ids)) == ([], [], [True, True])
    elif heap.profile.legacy_finalizers:
        assert (log, garbage, _alive(heap, *ids)) == ([], sorted(ids), [True, True])
    else:
        assert (sorted(log), garbage, _alive(heap, *ids)) == (["a", "b"], [], [False, False])
    heap.gc.garbage.clear()
    check_invariants(heap)


@scenario
def legacy_finalizer_keeps_what_it_reaches(heap: Any, caps: Capabilities) -> None:
    """§8 (2.7, e23): ``D(__del__) <-> P`` cycle, ``P2`` reachable from D, an unrelated
    self-cycle S. Legacy: ``gc.garbage == [D]``, D, P and P2 stay, S is freed; the next
    collection changes nothing; emptying ``gc.garbage`` makes them garbage again and the next
    collection puts D back. PEP 442: D's finalizer runs once and all four are freed."""
    if not caps.collects_cycles:
        return
    log: list[str] = []
    Plain, Del, _ = _classes(heap, log)
    d, p, p2, s = Del(), Plain(), Plain(), heap.list()
    d.name, d.p, p.d, d.p2 = "d", p, d, p2
    s.append(s)
    ids = [heap.id_of(x) for x in (d, p, p2, s)]
    del d, p, p2, s
    heap.gc.collect()
    if not heap.profile.legacy_finalizers:
        assert (log, _alive(heap, *ids)) == (["d"], [False] * 4)
        return
    for _ in range(2):
        assert [heap.id_of(x) for x in heap.gc.garbage] == ids[:1]
        assert (log, _alive(heap, *ids)) == ([], [True, True, True, False])
        heap.gc.collect()
    heap.gc.garbage.clear()  # del gc.garbage[:]: no reference dies, they are a cycle
    heap.gc.collect()
    assert [heap.id_of(x) for x in heap.gc.garbage] == ids[:1]
    heap.gc.garbage.clear()
    check_invariants(heap)


@scenario
def resurrection(heap: Any, caps: Capabilities) -> None:
    """§3.2 step 12 (e4b): a self-cycle whose ``__del__`` stores the object in a global.
    PEP 442: the first full collection runs ``__del__`` and the object survives; once the
    global is cleared the next collection frees it without running ``__del__`` again.
    Legacy: it goes to ``gc.garbage`` and ``__del__`` never runs."""
    if not caps.collects_cycles:
        return
    log: list[str] = []
    _, _, Phoenix = _classes(heap, log)
    heap.globals.grave = heap.list()
    x = Phoenix()
    x.name, x.me = "x", x
    oid = heap.id_of(x)
    del x
    heap.gc.collect()
    if heap.profile.legacy_finalizers:
        assert (log, [heap.id_of(p) for p in heap.gc.garbage]) == ([], [oid])
        heap.gc.garbage.clear()
        return
    assert (log, heap.is_alive(oid)) == (["x"], True)
    assert [heap.id_of(p) for p in heap.globals.grave] == [oid]
    heap.globals.grave.clear()
    heap.gc.collect()
    assert (log, heap.is_alive(oid)) == (["x"], False)
    check_invariants(heap)


@scenario
def weakref_callbacks_of_a_cycle(heap: Any, caps: Capabilities) -> None:
    """§3.2 step 10 (e5): weakrefs the program holds, two to x and one to y, with callbacks,
    x and y a garbage cycle. A full collection calls each callback once, with its weakref
    already cleared, then frees x and y; a weakref without a callback is cleared too."""
    calls: list[tuple[int, object]] = []

    def callback(wr: Any) -> None:
        calls.append((heap.id_of(wr), wr()))

    x, y = heap.set(), heap.set()
    Plain, _, _ = _classes(heap, [])
    hx, hy = Plain(), Plain()
    hx.s, hx.o, hy.s, hy.o = x, hy, y, hx
    x.add(hy)  # x -> hy -> hx -> x: sets in a cycle through instances
    refs = [heap.weakref(x, callback), heap.weakref(x, callback), heap.weakref(y, callback),
            heap.weakref(x)]
    ids = [heap.id_of(o) for o in (x, y, hx, hy)]
    del x, y, hx, hy
    heap.gc.collect()
    if not caps.collects_cycles:
        assert calls == [] and all(r() is not None for r in refs)
        return
    assert sorted(calls, key=lambda c: c[0]) == [(heap.id_of(r), None) for r in refs[:3]]
    assert [r() for r in refs] == [None] * 4
    assert _alive(heap, *ids) == [False] * 4
    check_invariants(heap)


@scenario
def weakref_callback_on_refcount_death(heap: Any, caps: Capabilities) -> None:
    """§7.1: the last reference to a weakrefable object dies: its weakref's callback runs once
    with the weakref cleared (reference counting: at once; otherwise at the collection)."""
    calls: list[object] = []
    target = heap.set()
    ref = heap.weakref(target, lambda wr: calls.append(wr()))
    oid = heap.id_of(target)
    del target
    if caps.uses_refcounts:
        assert (calls, heap.is_alive(oid)) == ([None], False)
    heap.gc.collect()
    assert (calls, heap.is_alive(oid), ref()) == ([None], False, None)
    check_invariants(heap)


@scenario
def frames_and_globals_are_roots(heap: Any, caps: Capabilities) -> None:
    """A running frame's locals and the module's globals are roots: a full collection keeps
    what they reach. When the frame returns, its locals are released: an acyclic one dies
    (reference counting: at once), a cycle at the next full collection."""
    with heap.frame() as frame:
        frame.plain = heap.list()
        frame.ring = heap.list()
        frame.ring.append(frame.ring)
        heap.globals.kept = heap.dict(me=None)
        heap.globals.kept["me"] = heap.globals.kept
        ids = [heap.id_of(frame.plain), heap.id_of(frame.ring), heap.id_of(heap.globals.kept)]
        heap.gc.collect()
        assert _alive(heap, *ids) == [True] * 3, "a collection freed a frame's or a global's"
    if caps.uses_refcounts:
        assert not heap.is_alive(ids[0])
    heap.gc.collect()
    assert _alive(heap, *ids) == [False, not caps.collects_cycles, True]
    check_invariants(heap)


@scenario
def deep_chain(heap: Any, caps: Capabilities) -> None:
    """§7.2: a chain of 3,000 lists, each holding the next, dropped at its head: every list
    is freed (reference counting: at once, through the trashcan), nothing else is."""
    head = node = heap.list()
    for _ in range(2999):
        nxt = heap.list()
        node.append(nxt)
        node = nxt
    del nxt, node
    freed = watch_frees(heap)
    count = heap.table.live
    del head
    heap.gc.collect()
    assert len(set(freed)) == len(freed) == 3000 == count - heap.table.live
    check_invariants(heap)


@scenario
def low_level_cycle(heap: Any, caps: Capabilities) -> None:
    """The low-level API: two lists made with ``alloc``, each appended to the other, both
    references dropped: a full collection frees both (never the static empty tuple)."""
    a, b = heap.alloc("list"), heap.alloc("list")
    heap.append_slot(a, b)
    heap.append_slot(b, a)
    heap.decref_many([a, b])
    heap.gc.collect()
    assert _alive(heap, a, b, heap.empty_tuple) == [not caps.collects_cycles] * 2 + [True]
    check_invariants(heap)


__all__ = ["SCENARIOS", "scenario", "watch_frees"]
