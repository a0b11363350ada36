"""A listener that rebuilds the graph from mutation events alone matches the heap (issue #8).

The listener (``tests/rebuild.py``) is attached with ``replay=True`` to a fresh heap and learns
everything from events: which ids live, their slots and external counts. After every step of a
random program its graph must be the heap's, reference counts included (slots + external: the
refcount invariant computed from the events), and ``check_invariants`` must pass.

The programs: the low-level and the proxy machines of ``model.py`` (with their own model checks
still on), and a machine of its own that mixes everything with no model besides the rebuilt
graph: proxies (slice assignment and deletion, sort, reverse, extend, ``*=``, ``clear``, dict
``pop``/``popitem``/``update``, set ``pop``), the low-level API by id, the bulk API
(``alloc_many``, ``set_slots``, ``decref_many``), frames, globals, instances whose attributes
outgrow the shared keys (3.11+ materialises their ``__dict__``), weakrefs whose callbacks store
references, ``__del__`` methods that resurrect their object or drop references, collections
(``DEBUG_SAVEALL`` too), and a second listener and a write barrier attached and removed on the
way (the kernels' paths switch with them).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from model import _cases
from test_lowlevel_machine import LowLevelMachine
from test_proxy_machine import ProxyMachine

import gclab
from gclab.heap.invariants import check_invariants
from gclab.heap.mutation import EventLog, OneAtATimeBarrier
from gclab.heap.table import NULL
from rebuild import Rebuild

PROFILES = ("2.7", "3.10", "3.11", "3.12", "3.13")
SETTINGS = settings(max_examples=40, stateful_step_count=50, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
ATOMS = (1, "k", None, 2.5, "x")
NAMES = tuple(f"a{i}" for i in range(34))  # more than the 30 shared keys of 3.11+


class RebuildCheck:
    """Mixed into a machine: a rebuilding listener from the start, checked after every step."""

    heap: gclab.Heap

    def __init__(self) -> None:
        super().__init__()
        self.rebuild = Rebuild()
        self.heap.add_listener(self.rebuild, replay=True)

    @invariant()
    def rebuilt_graph_is_the_heap(self) -> None:
        """The graph rebuilt from events is the heap's."""
        self.rebuild.check(self.heap)


class RebuiltLowLevel(RebuildCheck, LowLevelMachine):
    """The low-level machine, rebuilt from events."""


class RebuiltProxies(RebuildCheck, ProxyMachine):
    """The proxy machine, rebuilt from events."""


globals().update(_cases(RebuiltLowLevel, "RebuiltLowLevel"))
globals().update(_cases(RebuiltProxies, "RebuiltProxies"))


class CountingBarrier(OneAtATimeBarrier):
    """A write barrier that counts the writes it sees."""

    def __init__(self) -> None:
        self.seen = 0

    def write_barrier(self, oid: int, old: int, new: int) -> None:
        self.seen += 1


def _callback(ref: Any) -> None:
    """A weakref callback that stores a reference: the weakref goes into ``log``."""
    log = ref._heap.globals.log
    if len(log) < 6:
        log.append(ref)


class Mixed(RuleBasedStateMachine):
    """Everything at once; the only model is the rebuilt graph."""

    profile = "3.12"

    def __init__(self) -> None:
        super().__init__()
        heap = self.heap = gclab.Heap(self.profile)
        heap.debug_level = 0
        self.rebuild = Rebuild()
        heap.add_listener(self.rebuild, replay=True)
        self.other: EventLog | None = None
        self.ids: list[int] = []  # external references the test holds by id (a multiset)
        self.proxies: list[Any] = []
        self.frames: list[Any] = []
        heap.globals.grave = heap.list()  # where resurrecting __del__ methods put their object
        heap.globals.log = heap.list()  # where weakref callbacks put their weakref

        @heap.cls
        class Plain:
            pass

        @heap.cls
        class Dropper:
            def __del__(self) -> None:  # drops references while it is being deallocated
                self.a0 = None
                self._heap.globals.log.clear()

        @heap.cls
        class Phoenix:
            def __del__(self) -> None:  # resurrects itself (once it is in the grave, no more)
                grave = self._heap.globals.grave
                if len(grave) < 4:
                    grave.append(self)

        @heap.cls
        class Slotted:
            __slots__ = ("__weakref__", "a0", "a1")

        self.classes = {"plain": Plain, "dropper": Dropper, "phoenix": Phoenix,
                        "slotted": Slotted}

    def teardown(self) -> None:
        """Drop every proxy now (none may die later inside a host collection)."""
        self.heap.gc.garbage.clear()
        self.proxies.clear()
        self.frames.clear()

    @invariant()
    def rebuilt_graph_is_the_heap(self) -> None:
        """The graph rebuilt from events is the heap's; the heap is consistent."""
        self.rebuild.check(self.heap)
        check_invariants(self.heap, strict=True)

    # -- drawing -----------------------------------------------------------------------------------

    def held(self, data: Any, *types: type) -> Any:
        """A held proxy of one of ``types`` (any when none), or None."""
        found = [p for p in self.proxies if not types or isinstance(p, types)]
        return found[data.draw(st.integers(0, len(found) - 1))] if found else None

    def value(self, data: Any, *, hashable: bool = False) -> Any:
        """An atom or a held proxy (hashable: an instance)."""
        kinds = (gclab.heap.classes.InstanceProxy,) if hashable else ()
        found = [p for p in self.proxies if not kinds or isinstance(p, kinds)]
        if not found or data.draw(st.booleans(), label="atom?"):
            return data.draw(st.sampled_from(ATOMS), label="atom")
        return found[data.draw(st.integers(0, len(found) - 1), label="proxy")]

    def code(self, data: Any) -> int:
        """A slot code for the low-level API: NULL, an atom or a held id."""
        choice = data.draw(st.integers(0, 2), label="code kind")
        if choice == 0 or not self.ids:
            return NULL if choice == 0 else self.heap.atom(data.draw(st.sampled_from(ATOMS)))
        return self.ids[data.draw(st.integers(0, len(self.ids) - 1), label="id")]

    def list_ids(self) -> list[int]:
        """The held ids of lists."""
        t, lst = self.heap.table, self.heap.types.by_name("list").type_id
        return sorted({i for i in self.ids if int(t.type_id[i]) == lst})

    # -- proxies -----------------------------------------------------------------------------------

    @rule(kind=st.sampled_from(("list", "tuple", "dict", "set", "plain", "dropper", "phoenix",
                                "slotted")), data=st.data())
    def new(self, kind: str, data: Any) -> None:
        """A new container or instance, held by the test."""
        heap = self.heap
        if kind in self.classes:
            self.proxies.append(self.classes[kind]())
            return
        items = [self.value(data, hashable=kind in ("dict", "set"))
                 for _ in range(data.draw(st.integers(0, 3), label="n"))]
        made = {"list": heap.list, "tuple": heap.tuple, "set": heap.set,
                "dict": lambda xs: heap.dict((x, x) for x in xs)}[kind](items)
        self.proxies.append(made)

    @rule(data=st.data())
    def change_list(self, data: Any) -> None:
        """One list operation, slices and whole rewrites included."""
        lst = self.held(data, gclab.heap.proxies.ListProxy)
        if lst is None:
            return
        n = len(lst)
        op = data.draw(st.sampled_from(("append", "insert", "set", "del", "pop", "slice",
                                        "del_slice", "extend", "reverse", "sort", "clear",
                                        "imul")), label="op")
        at = data.draw(st.integers(0, max(n - 1, 0)), label="at")
        if op == "append":
            lst.append(self.value(data))
        elif op == "insert":
            lst.insert(at, self.value(data))
        elif op in ("set", "del", "pop") and n:
            if op == "set":
                lst[at] = self.value(data)
            elif op == "del":
                del lst[at]
            else:
                lst.pop(at)
        elif op == "slice":
            stop = data.draw(st.integers(at, n), label="stop")
            lst[at:stop] = [self.value(data) for _ in range(data.draw(st.integers(0, 3)))]
        elif op == "del_slice":
            del lst[at :: data.draw(st.integers(1, 3), label="step")]
        elif op == "extend":
            lst.extend([self.value(data) for _ in range(data.draw(st.integers(0, 3)))])
        elif op == "reverse":
            lst.reverse()
        elif op == "sort":
            lst.sort(key=lambda v: type(v).__name__)
        elif op == "clear":
            lst.clear()
        elif op == "imul" and n <= 4:
            lst *= data.draw(st.integers(0, 2), label="times")

    @rule(data=st.data())
    def change_dict(self, data: Any) -> None:
        """One dict operation."""
        d = self.held(data, gclab.heap.proxies.DictProxy)
        if d is None:
            return
        op = data.draw(st.sampled_from(("set", "del", "pop", "popitem", "clear", "update",
                                        "setdefault")), label="op")
        key = self.value(data, hashable=True)
        if op == "set":
            d[key] = self.value(data)
        elif op in ("del", "pop"):
            if key in d:
                if op == "del":
                    del d[key]
                else:
                    d.pop(key)
        elif op == "popitem" and len(d):
            d.popitem()
        elif op == "clear":
            d.clear()
        elif op == "update":
            d.update({key: self.value(data)})
        elif op == "setdefault":
            d.setdefault(key, self.value(data))

    @rule(data=st.data())
    def change_set(self, data: Any) -> None:
        """One set operation."""
        s = self.held(data, gclab.heap.proxies.SetProxy)
        if s is None:
            return
        op = data.draw(st.sampled_from(("add", "discard", "pop", "clear", "update")), label="op")
        if op == "add":
            s.add(self.value(data, hashable=True))
        elif op == "discard":
            s.discard(self.value(data, hashable=True))
        elif op == "pop" and len(s):
            s.pop()
        elif op == "clear":
            s.clear()
        elif op == "update":
            s.update([self.value(data, hashable=True) for _ in range(2)])

    @rule(data=st.data(), name=st.sampled_from(NAMES), delete=st.booleans())
    def change_attribute(self, data: Any, name: str, delete: bool) -> None:
        """Set or delete an attribute (many names: the shared keys run out on 3.11+)."""
        obj = self.held(data, *(c for k, c in self.classes.items() if k != "slotted"))
        if obj is None:
            return
        if delete:
            try:
                delattr(obj, name)
            except AttributeError:
                pass
        else:
            setattr(obj, name, self.value(data))

    @rule(data=st.data())
    def change_slotted(self, data: Any) -> None:
        """Set a ``__slots__`` attribute."""
        obj = self.held(data, self.classes["slotted"])
        if obj is not None:
            setattr(obj, data.draw(st.sampled_from(("a0", "a1"))), self.value(data))

    @rule(data=st.data(), callback=st.booleans())
    def weakref(self, data: Any, callback: bool) -> None:
        """A weakref to a held instance (its callback stores a reference)."""
        obj = self.held(data, self.classes["slotted"], self.classes["plain"],
                        self.classes["phoenix"])
        if obj is not None:
            self.proxies.append(self.heap.weakref(obj, _callback if callback else None))

    @rule(data=st.data())
    def drop(self, data: Any) -> None:
        """The test drops a proxy (its reference goes)."""
        if self.proxies:
            del self.proxies[data.draw(st.integers(0, len(self.proxies) - 1), label="drop")]

    @rule(data=st.data())
    def frame(self, data: Any) -> None:
        """Enter a frame, bind or unbind a local of the newest, or return from it."""
        op = data.draw(st.integers(0, 3), label="frame op")
        if op == 0 or not self.frames:
            self.frames.append(self.heap.frame().__enter__())
        elif op == 1:
            setattr(self.frames[-1], data.draw(st.sampled_from("xyz")), self.value(data))
        elif op == 2:
            try:
                delattr(self.frames[-1], data.draw(st.sampled_from("xyz")))
            except AttributeError:
                pass
        else:
            self.frames.pop().__exit__(None, None, None)

    @rule(data=st.data(), name=st.sampled_from(("g0", "g1")), delete=st.booleans())
    def global_variable(self, data: Any, name: str, delete: bool) -> None:
        """Bind or delete a global."""
        g = self.heap.globals
        if delete:
            try:
                delattr(g, name)
            except AttributeError:
                pass
        else:
            setattr(g, name, self.value(data))

    # -- by id and in bulk ----------------------------------------------------------------------

    @rule(kind=st.sampled_from(("list", "tuple", "dict", "set")), size=st.integers(0, 2))
    def alloc(self, kind: str, size: int) -> None:
        """heap.alloc: the test holds the id."""
        self.ids.append(self.heap.alloc(kind, 2 * size if kind == "dict" else size))

    @rule(count=st.integers(1, 6), size=st.integers(0, 2))
    def alloc_many(self, count: int, size: int) -> None:
        """heap.alloc_many of lists."""
        self.ids.extend(self.heap.alloc_many("list", count, size).tolist())

    @rule(data=st.data())
    def set_slots(self, data: Any) -> None:
        """heap.set_slots on held lists (every entry valid)."""
        heap = self.heap
        lists = [i for i in self.list_ids() if int(heap.table.ref_len[i])]
        if not lists:
            return
        entries = data.draw(st.integers(1, 6), label="entries")
        ids, indices, values = [], [], []
        for _ in range(entries):
            oid = lists[data.draw(st.integers(0, len(lists) - 1))]
            ids.append(oid)
            indices.append(data.draw(st.integers(0, int(heap.table.ref_len[oid]) - 1)))
            values.append(self.code(data))
        heap.set_slots(ids, indices, values)

    @rule(data=st.data())
    def change_by_id(self, data: Any) -> None:
        """set_slot, insert_slot or delete_slot on a held list."""
        lists = self.list_ids()
        if not lists:
            return
        heap, oid = self.heap, lists[data.draw(st.integers(0, len(lists) - 1))]
        n = int(heap.table.ref_len[oid])
        op = data.draw(st.sampled_from(("set", "insert", "delete")), label="op")
        at = data.draw(st.integers(0, n), label="at")
        if op == "insert":
            heap.insert_slot(oid, at, self.code(data))
        elif at < n:
            if op == "set":
                heap.set_slot(oid, at, self.code(data))
            else:
                heap.delete_slot(oid, at)

    @rule(data=st.data())
    def share(self, data: Any) -> None:
        """Hold an id's object by proxy too, or a proxy's object by id too."""
        if self.ids and data.draw(st.booleans()):
            self.proxies.append(self.heap.proxy(self.ids[data.draw(
                st.integers(0, len(self.ids) - 1))]))
        elif self.proxies:
            oid = self.heap.id_of(self.proxies[data.draw(st.integers(0, len(self.proxies) - 1))])
            self.heap.incref(oid)
            self.ids.append(oid)

    @rule(data=st.data(), bulk=st.booleans())
    def decref(self, data: Any, bulk: bool) -> None:
        """Drop held ids: one by one or with decref_many."""
        if not self.ids:
            return
        picks = data.draw(st.lists(st.integers(0, len(self.ids) - 1), min_size=1, max_size=4,
                                   unique=True), label="picks")
        dropped = [self.ids[k] for k in picks]
        for k in sorted(picks, reverse=True):
            del self.ids[k]
        if bulk:
            self.heap.decref_many(dropped)
        else:
            for oid in dropped:
                self.heap.decref(oid)

    # -- the collector and the watchers ---------------------------------------------------------

    @rule(generation=st.integers(0, 2))
    def collect(self, generation: int) -> None:
        """gc.collect(generation)."""
        self.heap.gc.collect(generation)

    @rule(t0=st.integers(0, 6))
    def threshold(self, t0: int) -> None:
        """Small thresholds: automatic collections inside the other rules."""
        self.heap.gc.set_threshold(t0, 2, 2)

    @rule(saveall=st.booleans(), clear=st.booleans())
    def debug(self, saveall: bool, clear: bool) -> None:
        """DEBUG_SAVEALL on or off; gc.garbage emptied."""
        self.heap.gc.set_debug(self.heap.gc.DEBUG_SAVEALL if saveall else 0)
        if clear:
            self.heap.gc.garbage.clear()

    @rule()
    def bury(self) -> None:
        """Empty the grave and the callbacks' log (their objects may die now)."""
        self.heap.globals.grave.clear()
        self.heap.globals.log.clear()

    @rule(replay=st.booleans())
    def second_listener(self, replay: bool) -> None:
        """Attach another listener (replaying the heap or not), or detach it."""
        if self.other is None:
            self.other = EventLog()
            self.heap.add_listener(self.other, replay=replay)
        else:
            self.heap.remove_listener(self.other)
            self.other = None

    @rule()
    def barrier(self) -> None:
        """Install a write barrier, or remove it."""
        heap = self.heap
        heap.barrier = CountingBarrier() if heap.barrier is None else None


globals().update(_cases(Mixed, "Mixed"))
for _name in [n for n in globals() if n.startswith(("TestRebuilt", "TestMixed"))]:
    globals()[_name].settings = SETTINGS
