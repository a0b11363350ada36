"""The collector contract as the heap sees it: what the heap tells its collector and asks of it.

The heap decides nothing about collection. It tells the collector about every allocation and
free of a GC-capable object, hands it every object that starts being tracked (the collector
*places* it in one of its lists), reaches a safe point at the end of every top-level operation,
and asks it to check its own invariants. :class:`AllocationObserver` is that contract; the full
collector protocol (collecting, the lists the ``gc`` module sees, capabilities) extends it in
:mod:`gclab.collectors.base`.

A collector's lists are doubly linked lists through the table's ``gc_next``/``gc_prev`` columns
whose heads are rows the table sets aside (:meth:`~gclab.heap.table.ObjectTable.reserve_heads`):
which lists exist and what they mean belongs to the collector alone.

The compiled deallocation cascade frees plain objects without a Python call per object, so it
cannot call :meth:`AllocationObserver.after_gc_free` for them. A collector declares instead, as
data, what that method does (:class:`FreeAccounting`: a counter and free lists the cascade
updates itself), or ``accounting = None`` to be told of every free, in which case the heap
deallocates through the Python cascade only.

>>> from gclab.heap.core import HeapCore
>>> heap = HeapCore()
>>> type(heap.observer).__name__, heap.observer.accounting is IGNORE_FREES
('NoCollector', True)
>>> a = heap.alloc("list")
>>> heap.table.list_members(heap.observer.head) == [a]
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from .core import HeapCore
    from .table import ObjectTable
    from .types import TypeInfo

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class FreeAccounting:
    """What a collector's ``after_gc_free`` does, as data the compiled cascade applies itself.

    For each GC-capable object freed: if ``free_counts`` is given and the object's free list
    (slot 0 list, 1 dict, ``2 + n`` tuple of ``n`` items, ``n <= tuple_max``) holds fewer than
    ``free_caps`` shells, that count goes up; otherwise ``counts[0]`` goes down, never below 0.
    ``counts`` None: nothing is counted (``after_gc_free`` does nothing)."""

    counts: list[int] | None = None
    free_counts: I64 | None = None
    free_caps: I64 | None = None
    tuple_max: int = 0


#: The accounting of a collector whose ``after_gc_free`` does nothing.
IGNORE_FREES = FreeAccounting()


class AllocationObserver(Protocol):
    """What the heap tells its collector and asks of it (the collector decides *when* to
    collect and *where* a tracked object lives)."""

    #: What after_gc_free does, for the compiled cascade; None: call after_gc_free every time.
    accounting: FreeAccounting | None

    def before_gc_alloc(self, info: TypeInfo, size: int) -> None:
        """A GC-capable object of ``info`` is about to be allocated (CPython's gc_alloc)."""

    def bulk_gc_alloc(self, info: TypeInfo, size: int, count: int) -> int:
        """Account for up to ``count`` such allocations at once, as long as none of them would
        do more than count (trigger a collection, take a free list's shell); returns how many
        were accounted for (the bulk API sends the next one through before_gc_alloc)."""

    def bulk_alloc_compiled(self, info: TypeInfo, size: int, out: npt.NDArray[np.int32],
                            done: int) -> int:
        """Make the rows ``out[done:]`` of an ``alloc_many`` (room made) and run the
        collections they trigger, in compiled code, if the collector can do it exactly as the
        heap's loop would (``alloc`` for each row that triggers); returns how many of ``out``
        are made afterwards (``done``: nothing was done, the heap's loop goes on). Optional:
        the heap calls it only when the collector has it."""

    def after_gc_free(self, info: TypeInfo, size: int) -> None:
        """The memory of a GC-capable object was released (PyObject_GC_Del)."""

    def place(self, oid: int) -> None:
        """``oid`` starts being tracked: link it into the collector's list for new objects.
        (The heap sets the TRACKED flag.)"""

    def place_many(self, ids: npt.NDArray[np.int32]) -> None:
        """:meth:`place` of every id of ``ids``, in order."""

    def safepoint(self) -> None:
        """A top-level heap operation returned: a scheduled collection may run now."""

    @property
    def collecting(self) -> bool:
        """True while a collection is running (the heap's invariants hold only loosely then)."""

    def check(self, heap: HeapCore, *, strict: bool, rest: bool) -> None:
        """Raise :class:`~gclab.errors.InvariantViolation` if the collector's own invariants
        fail (``strict``: no deallocation or collection is running; ``rest``: and no
        operation)."""

    def detach(self) -> None:
        """The heap takes another collector: give the list heads back (the lists are empty)."""


class NoCollector:
    """The collector of a bare :class:`~gclab.heap.core.HeapCore`: it counts nothing and
    never collects; tracked objects are kept in one list, in the order they were tracked."""

    accounting: FreeAccounting | None = IGNORE_FREES

    def __init__(self, table: ObjectTable) -> None:
        self._table = table
        self.head = table.reserve_heads(1)

    def before_gc_alloc(self, info: TypeInfo, size: int) -> None:
        pass

    def bulk_gc_alloc(self, info: TypeInfo, size: int, count: int) -> int:
        return count

    def bulk_alloc_compiled(self, info: TypeInfo, size: int, out: npt.NDArray[np.int32],
                            done: int) -> int:
        return done

    def after_gc_free(self, info: TypeInfo, size: int) -> None:
        pass

    def place(self, oid: int) -> None:
        self._table.list_append(oid, self.head)

    def place_many(self, ids: npt.NDArray[np.int32]) -> None:
        self._table.list_extend(ids, self.head)

    def safepoint(self) -> None:
        pass

    @property
    def collecting(self) -> bool:
        return False

    def check(self, heap: HeapCore, *, strict: bool, rest: bool) -> None:
        pass

    def detach(self) -> None:
        self._table.release_heads(self.head, 1)


__all__ = ["IGNORE_FREES", "AllocationObserver", "FreeAccounting", "NoCollector"]
