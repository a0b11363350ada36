"""Memory accounting as an outside ledger: every row the heap makes and frees, with its bytes.

The ledger hears every new row (it wraps the table's ``init_rows``, which every allocation path
calls, single and bulk) and every freed row (``ObjectTable.free_listeners``, which both the
Python and the compiled deallocation call). It keeps its own set of live ids with their types,
so it can say, independently of the heap's own counters:

- objects allocated - objects freed = live objects = ``table.live`` = rows flagged ALIVE;
- bytes allocated - bytes freed = the nominal bytes (``TypeInfo.basic_size``) of the live rows;
- no row is made while it is alive, and none is freed twice.

>>> from gclab.heap.core import HeapCore
>>> heap = HeapCore()
>>> ledger = Ledger(heap)
>>> a = heap.alloc("list"); heap.decref(a)
>>> ledger.allocated - ledger.freed == heap.table.live
True
>>> ledger.check()
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import InvariantViolation
from ..heap.core import HeapCore
from ..heap.flags import ALIVE
from ..heap.table import N_HEADS, ObjectTable


class Ledger:
    """Counts objects and bytes allocated and freed on one heap, from the moment it attaches.

    The rows alive when it attaches are counted as allocated then (the empty tuple, the
    module namespace...). Afterwards :meth:`check` raises :class:`InvariantViolation` when the
    books and the table disagree."""

    def __init__(self, heap: HeapCore) -> None:
        # the table and the types, not the heap: a dropped heap is still freed at once
        self.table, self.types = heap.table, heap.types
        self.live: dict[int, int] = {}  # id -> type id, as the ledger saw it made
        self.allocated = self.freed = 0
        self.bytes_allocated = self.bytes_freed = 0
        self.errors: list[str] = []  # found inside the heap's calls, raised by check()
        table = heap.table
        for oid in _alive_rows(table):
            self._made(oid, int(table.type_id[oid]))
        init_rows: Callable[..., Any] = table.init_rows

        def counted_init_rows(ids: Any, type_id: int) -> None:
            for oid in np.atleast_1d(np.asarray(ids)).tolist():
                self._made(int(oid), int(type_id))
            init_rows(ids, type_id)

        # until the mutation surface's alloc event lands, every path that makes a row calls this
        table.init_rows = counted_init_rows  # type: ignore[method-assign]
        table.free_listeners.append(self._gone)

    def _size(self, type_id: int) -> int:
        return self.types[type_id].basic_size

    def _made(self, oid: int, type_id: int) -> None:
        if oid in self.live:
            self.errors.append(f"row {oid} made again while alive")
        self.live[oid] = type_id
        self.allocated += 1
        self.bytes_allocated += self._size(type_id)

    def _gone(self, oid: int) -> None:
        type_id = self.live.pop(oid, None)
        if type_id is None:
            self.errors.append(f"row {oid} freed but not alive in the ledger (freed twice?)")
            return
        self.freed += 1
        self.bytes_freed += self._size(type_id)

    def check(self) -> None:
        """The books balance against the table (see the module docstring)."""
        if self.errors:
            raise InvariantViolation("; ".join(self.errors))
        t = self.table
        alive = _alive_rows(t)
        counted = self.allocated - self.freed
        if not counted == len(self.live) == t.live == len(alive):
            raise InvariantViolation(
                f"objects: allocated {self.allocated} - freed {self.freed} = {counted}, ledger "
                f"live {len(self.live)}, table.live {t.live}, ALIVE rows {len(alive)}")
        if set(alive) != set(self.live):
            extra = sorted(set(alive) ^ set(self.live))[:5]
            raise InvariantViolation(f"the live rows and the ledger differ at ids {extra}")
        changed = [oid for oid in alive if int(t.type_id[oid]) != self.live[oid]]
        if changed:
            raise InvariantViolation(f"rows {changed[:5]} changed type while alive")
        table_bytes = sum(self._size(int(t.type_id[oid])) for oid in alive)
        booked = self.bytes_allocated - self.bytes_freed
        if booked != table_bytes:
            raise InvariantViolation(f"bytes: allocated {self.bytes_allocated} - freed "
                                     f"{self.bytes_freed} = {booked}, live rows {table_bytes}")


def _alive_rows(t: ObjectTable) -> list[int]:
    return (np.flatnonzero(t.flags[N_HEADS:t.top] & ALIVE) + N_HEADS).tolist()


__all__ = ["Ledger"]
