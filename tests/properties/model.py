"""The shared model of the stateful property tests: random heap programs vs a plain model.

Two Hypothesis state machines drive a :class:`gclab.Heap` — one through the low-level API by
integer id (alloc, set/append/insert/delete/clear slot, incref/decref, new_weakref), one through
proxies (``heap.list()``, ``d[k] = v``, ``@heap.cls`` instances with and without ``__del__``,
frames, globals, ``heap.weakref``) — interleaved with ``gc.collect(g)``, ``freeze``/``unfreeze``
and small ``set_threshold`` values so automatic collections happen. Alongside, the test keeps its
own model: a dict of nodes, each with the list of ids it refers to and the number of references
the test itself holds. It never reads the heap's refcounts or lists to build the model; the only
thing it learns from the heap is *which* ids were freed (``ObjectTable.free_listeners``, which the
Python and the compiled deallocation both call).

After every step:

- nothing reachable (in the model) from a reference the test holds has been freed, and no
  ``__del__`` ran on such an object;
- an object the model counts no reference to has been freed (immediate deallocation);
- every live object's refcount equals the model's references to it plus what the test holds
  (plus the proxies in ``gc.garbage``), and its references equal the model's;
- after an explicit full collection (nothing frozen, DEBUG_SAVEALL off) every object the model
  finds unreachable has been freed (on 2.7, except what a ``__del__`` object keeps alive);
- ``__del__`` ran exactly once on every freed object whose class has one, at most once per
  object ever on PEP 442 profiles; weakrefs of dead referents are cleared and their callbacks
  ran at most once, and only once the referent was dead;
- :func:`gclab.heap.invariants.check_invariants` passes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import gclab
from gclab.heap.invariants import check_invariants
from gclab.heap.table import NULL

SETTINGS = settings(max_examples=60, stateful_step_count=40, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
PROFILES = ("2.7", "3.10", "3.11", "3.12", "3.13")
ATOMS = (1, "k", None, 2.5)
CONTAINERS = ("list", "tuple", "dict", "set", "inst", "fin", "phoenix", "obj", "plain", "bird")
FINALIZABLE = ("fin", "phoenix", "obj", "bird")


@dataclass
class Node:
    """One object as the model sees it."""

    kind: str
    serial: int
    edges: list[int] = field(default_factory=list)  # ids of referenced objects (a multiset)
    ext: int = 0  # references the test (or the simulation, for static objects) holds
    target: int | None = None  # weakrefs: the referent while it lives
    callback: bool = False
    died_at_step: int | None = None
    # Was unreachable at the end of some step: a collection may have cleared its weakrefs
    # (PEP 442: before resurrecting it; 2.7: a refcount death clears them before __del__).
    was_garbage: bool = False


class HeapModel(RuleBasedStateMachine):
    """The model and the per-step checks shared by both machines."""

    profile: ClassVar[str] = "3.12"

    def __init__(self) -> None:
        super().__init__()
        self.heap = gclab.Heap(self.profile)
        self.heap.debug_level = 0  # the test calls check_invariants itself after each step
        self.nodes: dict[int, Node] = {}
        self.serials = 0
        self.step = 0
        self.freed: list[int] = []
        self.finalized: list[int] = []  # ids whose __del__ ran during the step
        self.fin_count: Counter[int] = Counter()  # serial -> __del__ calls
        self.callbacks: list[int] = []  # weakref ids whose callback ran during the step
        self.cb_count: Counter[int] = Counter()  # serial -> callback calls
        self.full_collection = False
        self.heap.table.free_listeners.append(self.freed.append)
        self.add(self.heap.empty_tuple, "static", ext=1)
        self.add(self.heap.globals._id, "static", ext=1)
        finalized = self.finalized
        self.graveyard = self.heap.list()
        grave = self.grave = [self.graveyard]  # emptied at teardown: no proxy in a host cycle
        graveyard = self.graveyard
        self.add(graveyard._id, "graveyard", edges=[])

        @self.heap.cls
        class Fin:
            __slots__ = ("__weakref__", "a", "b", "c")

            def __del__(self) -> None:
                finalized.append(self._id)

        @self.heap.cls
        class Inst:
            __slots__ = ("__weakref__", "a", "b", "c")

        @self.heap.cls
        class Obj:
            def __del__(self) -> None:
                finalized.append(self._id)

        @self.heap.cls
        class Plain:
            pass

        @self.heap.cls
        class Phoenix:
            __slots__ = ("__weakref__", "a", "b", "c")

            def __del__(self) -> None:
                finalized.append(self._id)
                if grave:
                    grave[0].append(self)  # resurrected

        @self.heap.cls
        class Bird:
            def __del__(self) -> None:
                finalized.append(self._id)
                if grave:
                    grave[0].append(self)

        self.classes = {"fin": Fin, "inst": Inst, "obj": Obj, "plain": Plain,
                        "phoenix": Phoenix, "bird": Bird}

    def teardown(self) -> None:
        """Drop every proxy now. A heap with managed classes is a host reference cycle; a
        proxy left in it would run its ``__del__`` inside some later host collection."""
        self.grave.clear()
        self.heap.gc.garbage.clear()
        for name in ("held", "frames", "graveyard"):
            self.__dict__.pop(name, None)

    # -- the model --------------------------------------------------------------------------------

    def add(self, oid: int, kind: str, *, ext: int = 1, **extra: Any) -> Node:
        """Register a new object (after the step's frees were applied)."""
        assert oid not in self.nodes, f"id {oid} handed out while the model thinks it lives"
        self.serials += 1
        node = Node(kind, self.serials, ext=ext, **extra)
        self.nodes[oid] = node
        return node

    def callback(self, ref: Any) -> None:
        """A weakref callback: records which weakref it was called for."""
        self.callbacks.append(ref._id)

    def ids(self, *kinds: str) -> list[int]:
        """Model ids of the given kinds (all when none), in id order."""
        return sorted(i for i, n in self.nodes.items() if not kinds or n.kind in kinds)

    def pick(self, data: Any, kinds: tuple[str, ...], label: str) -> int | None:
        """Draw one model id of the given kinds, or None."""
        candidates = self.ids(*kinds)
        if not candidates:
            return None
        return candidates[data.draw(st.integers(0, len(candidates) - 1), label=label)]

    def roots(self) -> set[int]:
        """What the test or the simulation holds, plus what gc.garbage holds."""
        held = {i for i, n in self.nodes.items() if n.ext > 0}
        return held | set(self.garbage_counts())

    def garbage_counts(self) -> Counter[int]:
        """References the proxies in gc.garbage hold, by id."""
        return Counter(p._id for p in self.heap.gc.garbage)

    def reachable(self, roots: set[int]) -> set[int]:
        """Every model node reachable from ``roots`` along model edges."""
        seen: set[int] = set()
        stack = [r for r in roots if r in self.nodes]
        while stack:
            oid = stack.pop()
            if oid in seen:
                continue
            seen.add(oid)
            stack.extend(e for e in self.nodes[oid].edges if e in self.nodes)
        return seen

    def heap_edges(self, oid: int) -> list[int]:
        """The ids an object refers to, read from the heap (machine specific)."""
        return [v for v in self.heap.table.slot_list(oid) if v >= 0]

    # -- the checks -------------------------------------------------------------------------------

    @invariant()
    def check(self) -> None:
        """Reconcile the step's frees with the model, then check every property."""
        self.reconcile()
        self.check_counts()
        if self.full_collection:
            self.check_full_collection()
        self.full_collection = False
        check_invariants(self.heap, strict=True)

    def reconcile(self, new: tuple[int, str, dict[str, Any]] | None = None) -> None:
        """Apply the step's frees to the model, checking each was legitimate. ``new``: the
        object the step made, added once the frees are applied (id, kind, Node fields)."""
        heap = self.heap
        self.step += 1
        new_edges = set(new[2].get("edges", ())) if new else set()
        live_before = self.reachable(self.roots() | new_edges)
        for oid, node in self.nodes.items():
            node.was_garbage |= oid not in live_before
        for oid in self.freed:
            node = self.nodes.get(oid)
            if node is None:
                continue  # an object the model does not know (3.10 instance __dict__)
            assert oid not in live_before, f"{node.kind} {oid} freed while reachable"
            if node.kind in FINALIZABLE:
                assert self.fin_count[node.serial] + self.finalized.count(oid) == 1, (
                    f"{node.kind} {oid} freed, __del__ ran "
                    f"{self.fin_count[node.serial] + self.finalized.count(oid)} times")
        for oid in self.finalized:
            assert oid in self.nodes, f"__del__ ran on {oid}, unknown to the model"
            assert oid not in live_before, f"__del__ ran on reachable {oid}"
            self.fin_count[self.nodes[oid].serial] += 1
            if not heap.profile.legacy_finalizers:
                assert self.fin_count[self.nodes[oid].serial] == 1, f"__del__ of {oid} twice"
            if self.nodes[oid].kind in ("phoenix", "bird"):
                self.nodes[self.graveyard._id].edges.append(oid)
        dead = set(self.freed) & set(self.nodes)
        gone = {oid: self.nodes.pop(oid) for oid in dead}
        if new is not None:
            self.add(new[0], new[1], **new[2])
        for wr in self.callbacks:
            node = gone.get(wr) or self.nodes[wr]  # a weakref may die after its callback
            self.cb_count[node.serial] += 1
            assert self.cb_count[node.serial] == 1, f"callback of weakref {wr} ran twice"
            target = None if node.target is None else (  # its id may be reused already
                gone.get(node.target) or self.nodes.get(node.target))
            assert target is None or target.was_garbage, (
                f"callback of weakref {wr} ran while its referent lives")
        for wr, node in self.nodes.items():
            if node.kind == "weakref" and node.target in dead:
                node.target, node.died_at_step = None, self.step
                if node.callback and not node.was_garbage:  # else it may be cleared already
                    assert self.cb_count[node.serial] == 1, (
                        f"weakref {wr} outlived its referent, callback ran "
                        f"{self.cb_count[node.serial]} times")
        self.freed.clear()
        self.finalized.clear()
        self.callbacks.clear()

    def check_counts(self) -> None:
        """Immediate deallocation, exact refcounts, references and weakref targets."""
        heap, t = self.heap, self.heap.table
        garbage = self.garbage_counts()
        indegree: Counter[int] = Counter()
        for node in self.nodes.values():
            indegree.update(e for e in node.edges if e in self.nodes)
        for oid, node in self.nodes.items():
            expected = indegree[oid] + node.ext + garbage[oid]
            assert expected > 0, f"{node.kind} {oid}: no reference left, not freed"
            assert heap.is_alive(oid), f"{node.kind} {oid} lives in the model, not in the heap"
            assert int(t.refcnt[oid]) == expected, (
                f"{node.kind} {oid}: refcount {int(t.refcnt[oid])}, model {expected}")
            assert int(t.extern[oid]) == node.ext + garbage[oid], f"{oid}: external count"
            if node.kind == "weakref":
                got = heap.weakref_target(oid)
                if got == NULL and node.target is not None and (
                        self.nodes[node.target].was_garbage or node.was_garbage):
                    # a collection resurrected the referent, or found the weakref itself in
                    # the garbage (3.9+ clear it: spec §3.2 step 10) and resurrected it
                    node.target = None
                want = NULL if node.target is None else node.target
                assert got == want, f"weakref {oid} refers to {got}, model {want}"
            elif node.kind != "static":
                assert Counter(self.heap_edges(oid)) == Counter(node.edges), (
                    f"{node.kind} {oid}: heap refers to {self.heap_edges(oid)}, "
                    f"model to {node.edges}")

    def check_full_collection(self) -> None:
        """After gc.collect(2): nothing unreachable is left (2.7: unless a __del__ keeps it)."""
        heap = self.heap
        if heap.gc.get_debug() & 32 or (heap.profile.name != "2.7"
                                        and heap.gc.get_freeze_count()):
            return
        roots = self.roots() | self.tuple_cycles()
        if heap.profile.legacy_finalizers:
            roots |= {i for i, n in self.nodes.items() if n.kind in FINALIZABLE}
        keep = self.reachable(roots)
        left = sorted(set(self.nodes) - keep)
        assert not left, f"unreachable objects survived a full collection: {left}"

    def tuple_cycles(self) -> set[int]:
        """Tuples on a cycle made of tuples only: tuples have no tp_clear, so CPython's
        collector cannot break such a cycle (only the low-level API can build one)."""
        tuples = {i for i, n in self.nodes.items() if n.kind == "tuple"}
        stuck = set()
        for start in tuples:
            stack, seen = list(self.nodes[start].edges), set()
            while stack:
                oid = stack.pop()
                if oid == start:
                    stuck.add(start)
                    break
                if oid in tuples and oid not in seen:
                    seen.add(oid)
                    stack.extend(self.nodes[oid].edges)
        return stuck

    # -- rules shared by both machines -----------------------------------------------------------

    @initialize(t0=st.integers(2, 12), t1=st.integers(1, 4), t2=st.integers(1, 4))
    def thresholds(self, t0: int, t1: int, t2: int) -> None:
        """Small thresholds: automatic collections of every generation happen."""
        self.heap.gc.set_threshold(t0, t1, t2)

    @rule(generation=st.integers(0, 2))
    def collect(self, generation: int) -> None:
        """gc.collect(generation)."""
        self.heap.gc.collect(generation)
        self.full_collection = generation == 2

    @precondition(lambda self: self.profile != "2.7")
    @rule()
    def freeze(self) -> None:
        """gc.freeze()."""
        self.heap.gc.freeze()

    @precondition(lambda self: self.profile != "2.7")
    @rule()
    def unfreeze(self) -> None:
        """gc.unfreeze()."""
        self.heap.gc.unfreeze()

    @rule()
    def bury(self) -> None:
        """Empty the list that resurrecting ``__del__`` methods put their objects in."""
        self.nodes[self.graveyard._id].edges.clear()
        self.graveyard.clear()

    @rule(t0=st.integers(0, 8))
    def set_threshold(self, t0: int) -> None:
        """gc.set_threshold(t0) (0 disables automatic collection)."""
        self.heap.gc.set_threshold(t0)


def _without(edges: list[int], one: int) -> list[int]:
    """``edges`` with one occurrence of ``one`` removed."""
    out = list(edges)
    out.remove(one)
    return out


def _cases(machine: type[HeapModel], prefix: str) -> dict[str, Any]:
    out = {}
    for profile in PROFILES:
        cls = type(f"{prefix}_{profile.replace('.', '_')}", (machine,), {"profile": profile})
        case = cls.TestCase
        case.settings = SETTINGS
        out[f"Test{prefix}{profile.replace('.', '')}"] = case
    return out
