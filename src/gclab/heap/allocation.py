"""Allocation and tracking: new rows, the collector's count and trigger, the tracked flag.

The general path of :meth:`~gclab.heap.core.HeapCore.alloc` (``_general_alloc``): every type,
every size, every state of the heap. :mod:`gclab.heap.fastpath` runs the common case (a
built-in container of size 0 at the top level of a quiet heap) as one flat function with the
same effects, and falls back to this one otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ForeignObjectError, HeapFullError, InvalidObjectError
from .args import as_count, is_int
from .flags import ALIVE, TRACKED, UNTRACK_MASK
from .guard import operation_done, quick_operation
from .table import MAX_SLOTS, N_HEADS
from .types import Kind, TypeInfo

if TYPE_CHECKING:
    from .core import HeapCore


class AllocationMixin:
    """Allocation and tracking for :class:`~gclab.heap.core.HeapCore`."""

    # -- allocation (the general path; heap/fastpath.py has the common case's twin) --------------

    def resolve_type(self: HeapCore, type_ref: str | int | TypeInfo) -> TypeInfo:
        """A :class:`TypeInfo` from a name, a type id or an info (of this heap)."""
        if isinstance(type_ref, TypeInfo):
            if not (type_ref.type_id < len(self.types)
                    and self.types[type_ref.type_id] is type_ref):
                raise ForeignObjectError(f"type {type_ref.name!r} belongs to another heap")
            return type_ref
        if is_int(type_ref):
            if 0 <= type_ref < len(self.types):
                return self.types[int(type_ref)]
            raise InvalidObjectError(f"no type with id {type_ref}")
        if isinstance(type_ref, str):
            try:
                return self.types.by_name(type_ref)
            except KeyError as exc:
                raise InvalidObjectError(str(exc.args[0])) from None
        raise TypeError(f"a type is a name, an id or a TypeInfo, not {type(type_ref).__name__}")

    def _general_alloc(self: HeapCore, type_ref: str | int | TypeInfo, size: int = 0) -> int:
        """Allocate an object with ``size`` empty slots; the caller holds one reference.

        GC-capable objects count toward ``count[0]`` and may trigger a collection (before the
        new object exists, on profiles that collect synchronously). A tuple of size 0 is the
        shared empty tuple, which is never tracked. ``size`` must suit the layout (even for a
        dict, frame or module; an instance's class fixes it) and the heap's limits
        (:class:`~gclab.errors.HeapFullError`); a failure, MemoryError included, changes
        nothing.
        """
        info = self.resolve_type(type_ref)
        if type(size) is not int or size < 0:
            size = as_count(size, "size")
        kind = info.kind
        if kind is Kind.WEAKREF:
            raise TypeError("weak references are made with new_weakref()")
        if kind is Kind.TUPLE and size == 0:
            self.incref(self.empty_tuple)
            return self.empty_tuple
        if size or kind is Kind.INSTANCE:
            self._check_size(info, size)
        if not quick_operation(self):
            with self.operation():
                oid = self._new_object(info, size, track=kind is not Kind.DICT)
                self.take_external(oid)
            return oid
        self._op_depth += 1
        try:
            oid = self._new_object(info, size, track=kind is not Kind.DICT)
            self.take_external(oid)
        finally:
            self._op_depth -= 1
        if not self._op_depth:
            operation_done(self)
        return oid


    def _check_size(self: HeapCore, info: TypeInfo, size: int) -> None:
        """A new ``info`` object may have ``size`` slots: the layout, then the limits."""
        self._check_alloc_layout(info, size)
        if size > MAX_SLOTS:
            raise HeapFullError(f"an object holds at most {MAX_SLOTS} slots, not {size}")

    def _new_object(self: HeapCore, info: TypeInfo, size: int, *, track: bool) -> int:
        """Count (GC types), make the row, track if asked; refcount 0, no references.

        Room for the row is made before anything is counted, so a HeapFullError or a
        MemoryError changes nothing. (Only user code run by a collection this allocation
        triggers could take that room again, and the row would then be made afterwards.)"""
        t = self.table
        if t.pool_top + size > len(t.pool) or (not t.free_ids and t.top >= len(t.type_id)):
            t.check_room(1, size)
            t.reserve_rows(1)
            t.reserve_pool(size)
        if info.gc_capable:
            self.observer.before_gc_alloc(info, size)
        oid = t.new_row(info.type_id, size)
        if self._watched:
            self._tell_alloc(oid, info.type_id, size)
        if track and info.gc_capable:
            self.track(oid)
        return oid

    # -- tracking --------------------------------------------------------------------------------

    def track(self: HeapCore, oid: int) -> None:
        """Start tracking a GC-capable object (CPython's _PyObject_GC_TRACK): the collector
        places it in its list for new objects (CPython's: the tail of gen0).

        An engine primitive, like :meth:`untrack`, :meth:`hold` and :meth:`store`: ``oid`` is
        not checked (callers pass live ids of the right kind)."""
        flags = self.table.mv_flags
        if flags[oid] & TRACKED:
            return
        self.observer.place(oid)
        flags[oid] |= TRACKED


    def untrack(self: HeapCore, oid: int) -> None:
        """Unlink from whatever list holds it; FINALIZED is kept, collection marks cleared."""
        t = self.table
        if not t.flags[oid] & TRACKED:
            return
        t.list_remove(oid)
        t.flags[oid] &= UNTRACK_MASK

    def is_tracked(self: HeapCore, oid: int) -> bool:
        """True when the object is linked into a collector list."""
        t = self.table
        if type(oid) is not int or not N_HEADS <= oid < t.top or not t.mv_flags[oid] & ALIVE:
            oid = self.check_id(oid)
        return bool(t.mv_flags[oid] & TRACKED)

    def may_be_tracked(self: HeapCore, code: int) -> bool:
        """CPython's _PyObject_GC_MAY_BE_TRACKED: GC-capable, and a tuple only if tracked."""
        if code < 0:
            return False
        info = self.type_of(code)
        if not info.gc_capable:
            return False
        return info.kind is not Kind.TUPLE or self.is_tracked(code)

    def maintain_tracking(self: HeapCore, oid: int, *codes: int) -> None:
        """A dict starts tracking when it stores a key or value that may be tracked."""
        if self.table.mv_flags[oid] & TRACKED:
            return
        for code in codes:
            if code >= 0 and self.may_be_tracked(code):
                self.track(oid)
                return


__all__ = ["AllocationMixin"]
