"""The program's own model of the heap, and the monitor that checks the heap against it.

The model is a dict of :class:`Node`: what each object refers to (as the program stored it)
and how many references the program itself holds. It never reads the heap's counts or slots;
from the heap it learns only *events*: which ids were freed (``ObjectTable.free_listeners``),
whose ``__del__`` ran and which weakref callbacks ran (the program's own classes and callbacks
report them). :class:`Monitor` reconciles those events with the model after every heap call
(:meth:`Monitor.sync`) and checks the properties it was asked for (:data:`CHECKS`):

``reachable``
    no object reachable (in the model) from a root is freed, and no ``__del__`` runs on one.
    Roots: the program's references (proxies, low-level references, frames), the simulation's
    static references (the module namespace, the empty tuple) and ``gc.garbage``.
``finalizers``
    ``__del__`` runs at most once per object on PEP 442 profiles; on legacy profiles (2.7) it
    runs once per death, so a second run needs a resurrection in between; an object with a
    ``__del__`` is never freed before its ``__del__`` ran.
``weakrefs``
    when an object is freed none of its weakrefs still refers to it; a callback sees its
    weakref already cleared, runs at most once, only once its referent was unreachable, and
    exactly once when the weakref was reachable when its referent was freed (and never
    garbage itself: 3.9+ clear the weakrefs found in the garbage, spec §3.2 step 10); a
    weakref is never cleared while both it and its referent were always reachable.
``refcounts``
    (collectors that use reference counts) an object no reference is left to is freed at once.

The checks after a whole operation (full collections, accounting, invariants) are in
:mod:`gclab.testing.runner`.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..heap.table import NULL
from .programs import FINALIZABLE

CHECKS = frozenset({"reachable", "finalizers", "weakrefs", "refcounts", "cycles", "accounting",
                    "invariants"})


@dataclass(eq=False)
class Node:
    """One object as the program sees it."""

    serial: int  # ids are reused; serials are not
    kind: str
    items: list[int | None] = field(default_factory=list)  # sequence slots (None: no object)
    entries: dict[str, int | None] = field(default_factory=dict)  # named references
    held: int = 0  # references the program holds (a proxy counts one)
    static: bool = False  # held by the simulation for ever
    target: int | None = None  # a weakref's referent while it lives
    callback: bool = False
    was_garbage: bool = False  # unreachable at the end of some heap call

    def edges(self) -> list[int]:
        """The ids this object refers to (a multiset)."""
        return [v for v in (*self.items, *self.entries.values()) if v is not None]


class Model:
    """The nodes, and reachability over their edges."""

    def __init__(self) -> None:
        self.nodes: dict[int, Node] = {}
        self.serials = 0

    def add(self, oid: int, kind: str, **fields: Any) -> Node:
        """A new node for a new object ``oid``."""
        if oid in self.nodes:
            raise AssertionError(f"id {oid} handed out while {self.nodes[oid].kind} {oid} "
                                 f"lives (in the model)")
        self.serials += 1
        node = Node(self.serials, kind, **fields)
        self.nodes[oid] = node
        return node

    def reachable(self, roots: Iterable[int]) -> set[int]:
        """Every node reachable from ``roots`` along edges."""
        seen: set[int] = set()
        stack = [r for r in roots if r in self.nodes]
        while stack:
            oid = stack.pop()
            if oid not in seen:
                seen.add(oid)
                stack.extend(e for e in self.nodes[oid].edges() if e in self.nodes)
        return seen

    def indegree(self) -> Counter[int]:
        """References to each node from other nodes."""
        out: Counter[int] = Counter()
        for node in self.nodes.values():
            out.update(node.edges())
        return out

    def on_cycle(self, oid: int, within: set[int]) -> bool:
        """True when ``oid`` reaches itself through nodes of ``within``."""
        stack, seen = [e for e in self.nodes[oid].edges() if e in within], set()
        while stack:
            node = stack.pop()
            if node == oid:
                return True
            if node not in seen:
                seen.add(node)
                stack.extend(e for e in self.nodes[node].edges() if e in within)
        return False


class Monitor:
    """Hears the heap's events and checks them against the model (see the module doc)."""

    def __init__(self, heap: Any, checks: Iterable[str], *, legacy: bool,
                 refcounts: bool) -> None:
        # weakly: the heap refers to the monitor (a free listener, the program's classes), and
        # a dropped heap should be freed at once, not by the host's collector
        self._heap = weakref.ref(heap)
        self.checks = frozenset(checks)
        unknown = self.checks - CHECKS
        if unknown:
            raise ValueError(f"unknown checks {sorted(unknown)}; known: {sorted(CHECKS)}")
        self.legacy, self.refcounts = legacy, refcounts
        self.model = Model()
        self.events: list[tuple[str, int]] = []  # ("free" | "del" | "cb", id), in order
        self.errors: list[str] = []  # found inside a heap call, raised at the next sync
        self.runs: Counter[int] = Counter()  # serial -> __del__ runs
        self.resurrections: Counter[int] = Counter()  # serial -> times put in the grave
        self.called: Counter[int] = Counter()  # serial -> weakref callback runs
        self.grave: int | None = None  # the id of the list phoenix objects resurrect into
        heap.table.free_listeners.append(self.freed)

    @property
    def heap(self) -> Any:
        """The heap watched."""
        return self._heap()

    # -- events (called inside heap calls: record, never raise) ---------------------------------

    def freed(self, oid: int) -> None:
        """A row was freed: none of its weakrefs may still refer to it."""
        self.events.append(("free", oid))
        if "weakrefs" in self.checks:
            still = [wr for wr, target in self.heap.wr_referent.items() if target == oid]
            if still or oid in self.heap.weaklists:
                self.errors.append(f"{self.describe(oid)} freed while weakrefs {still} still "
                                   f"refer to it")

    def finalized(self, oid: int) -> None:
        """A ``__del__`` ran on ``oid``."""
        self.events.append(("del", oid))

    def called_back(self, wr: int) -> None:
        """A weakref callback ran with weakref ``wr``: it must already be cleared."""
        self.events.append(("cb", wr))
        if "weakrefs" in self.checks and self.heap.wr_referent.get(wr, NULL) != NULL:
            self.errors.append(f"the callback of weakref {wr} ran before it was cleared")

    # -- reconciling ----------------------------------------------------------------------------

    def garbage(self) -> Counter[int]:
        """References ``gc.garbage`` holds, by id."""
        return Counter(self.heap.id_of(p) for p in self.heap.gc.garbage)

    def roots(self) -> set[int]:
        """What the program, the simulation and ``gc.garbage`` hold."""
        held = {oid for oid, node in self.model.nodes.items() if node.held > 0 or node.static}
        return held | set(self.garbage())

    def live(self) -> set[int]:
        """The nodes reachable from the roots now."""
        return self.model.reachable(self.roots())

    def sync(self, new: tuple[int, str, dict[str, Any]] | None = None) -> Node | None:
        """Apply the last heap call's events to the model and check them. ``new``: the object
        the call returned (id, kind, node fields), added once the frees are applied unless
        the model knows it (a shared object: the empty tuple, a basic weakref). Returns the
        new node, or None."""
        if self.errors:
            raise AssertionError("; ".join(self.errors))
        model, events = self.model, self.events
        self.events = []
        extra = set(new[2].get("items", ())) | set(new[2].get("entries", {}).values()) if new \
            else set()
        live = model.reachable(self.roots() | {e for e in extra if e is not None})
        for oid, node in model.nodes.items():
            node.was_garbage |= oid not in live
        frees = [oid for kind, oid in events if kind == "free"]
        for kind, oid in events:
            if kind == "del":
                self._finalized(oid, live)
            elif kind == "cb":
                self._called_back(oid, frees)
        dead = self._apply_frees(frees, live)
        self._weakrefs_of_dead(dead, live)
        made = None
        if new is not None and new[0] not in model.nodes:
            made = model.add(new[0], new[1], **new[2])
        if "refcounts" in self.checks and self.refcounts:
            self._check_freed_at_once()
        return made

    def _finalized(self, oid: int, live: set[int]) -> None:
        node = self.model.nodes.get(oid)
        if node is None:
            raise AssertionError(f"__del__ ran on {oid}, which the program never made")
        if "reachable" in self.checks and oid in live:
            raise AssertionError(f"__del__ ran on reachable {self.describe(oid)}")
        self.runs[node.serial] += 1
        runs, allowed = self.runs[node.serial], 1 + self.resurrections[node.serial]
        if "finalizers" in self.checks and (runs > allowed or (not self.legacy and runs > 1)):
            raise AssertionError(f"__del__ of {self.describe(oid)} ran {runs} times "
                                 f"({'legacy' if self.legacy else 'PEP 442'} rules, "
                                 f"{self.resurrections[node.serial]} resurrection(s))")
        if node.kind == "phoenix" and self.grave is not None:  # its __del__ resurrects it
            self.model.nodes[self.grave].items.append(oid)
            self.resurrections[node.serial] += 1

    def _called_back(self, wr: int, frees: list[int]) -> None:
        node = self.model.nodes.get(wr)
        if node is None:
            raise AssertionError(f"a callback ran with {wr}, a weakref the program never made")
        self.called[node.serial] += 1
        if "weakrefs" not in self.checks:
            return
        if self.called[node.serial] > 1:
            raise AssertionError(f"the callback of weakref {wr} ran "
                                 f"{self.called[node.serial]} times")
        target = self.model.nodes.get(node.target) if node.target is not None else None
        if target is not None and not target.was_garbage and node.target not in frees:
            raise AssertionError(f"the callback of weakref {wr} ran while its referent "
                                 f"{node.target} was reachable")

    def _apply_frees(self, frees: list[int], live: set[int]) -> set[int]:
        """Remove freed nodes, checking each was unreachable and finalized; the ids."""
        dead = set()
        for oid in frees:
            node = self.model.nodes.pop(oid, None)
            if node is None:
                continue  # an object the program did not make (a 3.10 instance __dict__)
            dead.add(oid)
            if "reachable" in self.checks and oid in live:
                raise AssertionError(f"{node.kind} {oid} freed while reachable")
            if ("finalizers" in self.checks and node.kind in FINALIZABLE
                    and not self.runs[node.serial]):
                raise AssertionError(f"{node.kind} {oid} freed before its __del__ ran")
        return dead

    def _weakrefs_of_dead(self, dead: set[int], live: set[int]) -> None:
        """Weakrefs whose referent died: cleared, and called back if they were reachable."""
        for wr, node in self.model.nodes.items():
            if node.kind != "weakref" or node.target not in dead:
                continue
            node.target = None
            # exactly once, unless the weakref itself was ever garbage: a collection may
            # have cleared it then without calling back (spec §3.2 step 10)
            if ("weakrefs" in self.checks and node.callback and wr in live
                    and not node.was_garbage and self.called[node.serial] != 1):
                raise AssertionError(f"weakref {wr} outlived its referent, its callback ran "
                                     f"{self.called[node.serial]} times")

    def _check_freed_at_once(self) -> None:
        """Reference counting: no node without references is left alive."""
        indegree, garbage = self.model.indegree(), self.garbage()
        for oid, node in self.model.nodes.items():
            if not (node.static or node.held or indegree[oid] or garbage[oid]):
                raise AssertionError(f"{node.kind} {oid} has no reference left but was not "
                                     f"freed")

    # -- checks after a whole operation ----------------------------------------------------------

    def check_weakref_targets(self) -> None:
        """Live weakrefs refer to their live referents (cleared only once it was garbage)."""
        for wr, node in self.model.nodes.items():
            if node.kind != "weakref":
                continue
            got = self.heap.wr_referent.get(wr, NULL)
            target = self.model.nodes.get(node.target) if node.target is not None else None
            if got == NULL and target is not None and (target.was_garbage or node.was_garbage):
                # cleared by a collection that resurrected the referent, or (3.9+) that found
                # the weakref itself in the garbage (spec §3.2 step 10), then resurrected it
                node.target = target = None
            want = NULL if node.target is None else node.target
            if got != want:
                raise AssertionError(f"weakref {wr} refers to {got}, the program expects "
                                     f"{want}")

    def describe(self, oid: int) -> str:
        """``kind id`` of a node (``object id`` if the model does not know it)."""
        node = self.model.nodes.get(oid)
        return f"{node.kind} {oid}" if node is not None else f"object {oid}"


__all__ = ["CHECKS", "Model", "Monitor", "Node"]
