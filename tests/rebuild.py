"""A mutation listener that rebuilds the object graph from the events alone.

:class:`Rebuild` keeps, per live id, its type, its slot values and its count of external
references, changing them only as the events say (``gclab.heap.mutation``); it never reads the
heap. :meth:`Rebuild.check` then compares that graph with the heap: the live set, every slot,
every external count, and every reference count against the one the rebuilt graph implies
(references from live slots plus external ones: the refcount invariant, computed here
independently of the heap's own counts).

Events that contradict the rebuilt graph (a store whose ``old`` is not what the slot holds, an
id allocated twice, a decref below zero...) are kept in :attr:`Rebuild.errors` rather than
raised, since the heap reports a listener's exceptions through ``sys.unraisablehook``;
:meth:`Rebuild.check` fails on the first one.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from gclab.heap.core import HeapCore
from gclab.heap.table import N_HEADS, NULL


class Rebuild:
    """Slots, types and external counts per live id, from events only."""

    def __init__(self) -> None:
        self.slots: dict[int, list[int]] = {}
        self.types: dict[int, int] = {}
        self.ext: Counter[int] = Counter()
        self.errors: list[str] = []
        self.events = 0

    def _require(self, ok: bool, what: str) -> bool:
        if not ok:
            self.errors.append(what)
        return ok

    def _known(self, oid: int, event: str) -> bool:
        return self._require(oid in self.slots, f"{event}: {oid} is not live")

    def alloc(self, oid: int, type_id: int, size: int) -> None:
        self.events += 1
        if self._require(oid not in self.slots, f"alloc: {oid} is live already"):
            self.slots[oid] = [NULL] * size
            self.types[oid] = type_id

    def store(self, oid: int, index: int, old: int, new: int) -> None:
        self.events += 1
        if not self._known(oid, "store"):
            return
        slots = self.slots[oid]
        if self._require(0 <= index < len(slots) and slots[index] == old,
                         f"store({oid}, {index}, {old}, {new}) onto {slots}"):
            slots[index] = new

    def insert(self, oid: int, index: int, new: int) -> None:
        self.events += 1
        if not self._known(oid, "insert"):
            return
        slots = self.slots[oid]
        if self._require(0 <= index <= len(slots), f"insert({oid}, {index}) into {slots}"):
            slots.insert(index, new)

    def delete(self, oid: int, index: int, old: int) -> None:
        self.events += 1
        if not self._known(oid, "delete"):
            return
        slots = self.slots[oid]
        if self._require(0 <= index < len(slots) and slots[index] == old,
                         f"delete({oid}, {index}, {old}) from {slots}"):
            del slots[index]

    def incref(self, oid: int) -> None:
        self.events += 1
        if self._known(oid, "incref"):
            self.ext[oid] += 1

    def decref(self, oid: int) -> None:
        self.events += 1
        if self._known(oid, "decref") and self._require(self.ext[oid] > 0,
                                                        f"decref({oid}) below zero"):
            self.ext[oid] -= 1

    def free(self, oid: int) -> None:
        self.events += 1
        if self._known(oid, "free"):
            del self.slots[oid], self.types[oid]
            self.ext.pop(oid, None)

    def store_many(self, oids: Any, indices: Any, olds: Any, news: Any) -> None:
        for k in range(len(oids)):
            self.store(int(oids[k]), int(indices[k]), int(olds[k]), int(news[k]))

    def check(self, heap: HeapCore) -> None:
        """The rebuilt graph is the heap's (see the module docstring)."""
        assert not self.errors, f"events contradict the rebuilt graph: {self.errors[:3]}"
        t = heap.table
        live = {oid for oid in range(N_HEADS, t.top) if t.is_alive(oid)}
        assert set(self.slots) == live, (
            f"live in the heap only: {sorted(live - set(self.slots))[:5]}, "
            f"in the rebuild only: {sorted(set(self.slots) - live)[:5]}")
        held = Counter(v for slots in self.slots.values() for v in slots if v >= 0)
        for oid in sorted(live):
            assert self.slots[oid] == t.slot_list(oid), (
                f"{heap.describe(oid)}: slots {t.slot_list(oid)}, rebuilt {self.slots[oid]}")
            assert self.types[oid] == int(t.type_id[oid]), f"{heap.describe(oid)}: type"
            assert self.ext[oid] == int(t.extern[oid]), (
                f"{heap.describe(oid)}: {int(t.extern[oid])} external references, rebuilt "
                f"{self.ext[oid]}")
            assert int(t.refcnt[oid]) == held[oid] + self.ext[oid], (
                f"{heap.describe(oid)}: refcount {int(t.refcnt[oid])}, rebuilt "
                f"{held[oid]} from slots + {self.ext[oid]} external")
