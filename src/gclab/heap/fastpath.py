"""The one-object operations of the low-level id API, flat, for the common case.

Each public method here (``alloc``, ``incref``, ``decref``, ``dict_set``, ``dict_get``,
``new_instance``) is the twin of a general method of the same name with a ``_general_``
prefix (heap/allocation.py, heap/core.py, heap/containers.py), which stays the readable
specification. The twin does the same thing in one Python frame, on Python ints and the
table's memoryviews, when the heap is *quiet*:

* the call is a top-level one (this thread does not hold the heap's lock: no operation, user
  code or collection of this thread is running);
* the heap is not shut down, has no interrupt to recover from, no deferred proxy release and
  no mutation listener or write barrier (``_watched``);
* the arguments are the usual ones (ints naming live objects or atoms, a built-in container
  type by name with no slots, a managed class of this heap) and the operation frees nothing
  (a decref or a dict store that would deallocate runs the general cascade, inside the same
  bracket).

Otherwise it calls the general method, which decides everything again (so every error, with
its message, comes from the general path, and a failed call changes nothing). In between the
two paths do the same steps in the same order: the lock, the SIGINT deferral on the main
thread (heap/interrupts.py), the operation's depth, the collector's count and trigger
(``observer.before_gc_alloc``), the row, the tracking, the external reference, then the safe
point of :func:`~gclab.heap.guard.operation_done`. ``heap._fast_paths = False`` sends every
call down the general path (tests/test_fastpath.py runs random programs both ways and compares
the heaps after every step).
"""

from __future__ import annotations

from threading import get_ident
from typing import TYPE_CHECKING

from .flags import ALIVE, TRACKED
from .guard import operation_done
from .interrupts import INTERRUPTS
from .table import N_HEADS, NULL
from .types import DICT, LIST, SET, Kind, TypeInfo

if TYPE_CHECKING:
    from .core import HeapCore

# name -> (type id, tracked when made): the built-in containers ``alloc(name)`` makes flat.
# Built-in names always name the built-in types (a class of the same name registers after
# them and never takes the name: TypeRegistry keeps the first).
QUICK_TYPES = {"list": (LIST, True), "dict": (DICT, False), "set": (SET, True)}

SMALL_DICT = 16  # entries: a dict this small is searched value by value (containers.py too)


def _enter(heap: HeapCore) -> int:
    """Take the lock for a quick top-level call. Returns 1 when the call is counted by the
    SIGINT deferral, 0 when not, and -1 (lock not taken) when the heap is not quiet."""
    lock = heap._lock
    if lock._is_owned() or not heap._fast_paths:  # type: ignore[attr-defined]
        return -1
    lock.acquire()
    interrupts = INTERRUPTS
    if (heap.shut_down or heap._deferred_releases or heap._watched
            or heap._interrupts_seen != interrupts.raised):
        lock.release()
        return -1
    if interrupts.installed and get_ident() == interrupts.main:
        interrupts.busy += 1
        return 1
    return 0


def _leave(heap: HeapCore, counted: int) -> None:
    """Undo :func:`_enter` (after a success or a failure): the SIGINT deferral's count (a
    SIGINT that waited is raised now), then the lock."""
    try:
        if counted:
            interrupts = INTERRUPTS
            if interrupts.busy == 1 and interrupts.pending:
                interrupts.leave()  # raises the waiting KeyboardInterrupt
            else:
                interrupts.busy -= 1
    finally:
        heap._lock.release()


class FastPathMixin:
    """The flat twins of the one-object operations (see the module docstring)."""

    _fast_paths = True  # False: every call takes the general path

    # -- allocation ---------------------------------------------------------------------------

    def alloc(self: HeapCore, type_ref: str | int | TypeInfo, size: int = 0) -> int:
        """Allocate an object with ``size`` empty slots; the caller holds one reference
        (:meth:`_general_alloc` is the specification: types, sizes, triggers, errors)."""
        quick = QUICK_TYPES.get(type_ref) if type(type_ref) is str and size == 0 else None
        if quick is None:
            return self._general_alloc(type_ref, size)
        counted = _enter(self)
        if counted < 0:
            return self._general_alloc(type_ref, size)
        try:
            self._op_depth = 1
            try:
                oid = self._quick_row(self.types.types[quick[0]], 0, quick[1])
            finally:
                self._op_depth = 0
            operation_done(self)
        finally:
            _leave(self, counted)
        return oid

    def _quick_row(self: HeapCore, info: TypeInfo, size: int, track: bool) -> int:
        """_new_object then take_external, flat: a GC-capable ``info`` row with ``size`` NULL
        slots and one external reference, tracked if ``track``, made while nothing watches.
        A HeapFullError or MemoryError (room made first) changes nothing."""
        t = self.table
        if t.pool_top + size > len(t.pool) or (not t.free_ids and t.top >= len(t.type_id)):
            t.check_room(1, size)
            t.reserve_rows(1)
            t.reserve_pool(size)
        self.observer.before_gc_alloc(info, size)  # may collect (sync profiles), run user code
        oid = t.new_row(info.type_id, size)  # grows if user code took the room
        if self._watched:  # user code the collection ran attached a listener: general tail
            self._tell_alloc(oid, info.type_id, size)
            if track:
                self.track(oid)
            self.take_external(oid)
            return oid
        if track:
            self.observer.place(oid)
            t.mv_flags[oid] = ALIVE | TRACKED  # new_row: ALIVE
        t.mv_refcnt[oid] = 1
        t.mv_extern[oid] = 1
        return oid

    def new_instance(self: HeapCore, info: TypeInfo) -> int:
        """Allocate an instance of a managed class, tracked at once (the specification:
        :meth:`_general_new_instance`)."""
        facts = self._instance_facts.get(info) if type(info) is TypeInfo else None
        if facts is None:
            return self._general_new_instance(info)
        counted = _enter(self)
        if counted < 0:
            return self._general_new_instance(info)
        try:
            self._op_depth = 1
            try:
                oid = self._quick_row(info, facts[0], True)
                if self.attr_order:
                    self.attr_order.pop(oid, None)
                if facts[1]:  # inline values: the new instance takes one usable shared key
                    usable = info.keys_usable
                    if usable is None:
                        usable = self.profile.shared_keys_max
                        info.keys_usable = usable
                    if usable > 1:
                        info.keys_usable = usable - 1
            finally:
                self._op_depth = 0
            operation_done(self)
        finally:
            _leave(self, counted)
        return oid

    def _learn_instance(self: HeapCore, info: TypeInfo) -> None:
        """Remember what :meth:`new_instance` needs of ``info`` (a managed class of this heap
        whose instances it has made once through the general path): its slot count and
        whether its attributes are inline values."""
        size = len(info.slot_names) + (1 if info.has_dict else 0)
        self._instance_facts[info] = (size, self._inline(info))

    # -- external references -------------------------------------------------------------------

    def incref(self: HeapCore, oid: int) -> None:
        """Take an external reference to ``oid`` (the specification: :meth:`_general_incref`)."""
        t = self.table
        if type(oid) is not int or not N_HEADS <= oid < t.top or not t.mv_flags[oid] & ALIVE:
            return self._general_incref(oid)
        counted = _enter(self)
        if counted < 0 or t.mv_refcnt[oid] >= 2**31 - 1:
            if counted >= 0:
                _leave(self, counted)
            return self._general_incref(oid)
        try:  # not an operation: no safe point (as the general path)
            t.mv_refcnt[oid] += 1
            t.mv_extern[oid] += 1
        finally:
            _leave(self, counted)
        return None

    def decref(self: HeapCore, oid: int) -> None:
        """Drop an external reference; at zero the object is deallocated at once (the
        specification: :meth:`_general_decref`)."""
        t = self.table
        if type(oid) is not int or not N_HEADS <= oid < t.top or not t.mv_flags[oid] & ALIVE:
            return self._general_decref(oid)
        counted = _enter(self)
        if counted < 0:
            return self._general_decref(oid)
        try:
            extern: int = t.mv_extern[oid]
            if extern - self._kept_count(oid) <= 0:
                _leave(self, counted)
                counted = -1
                return self._general_decref(oid)  # raises RefcountUnderflowError
            self._op_depth = 1
            try:
                count: int = t.mv_refcnt[oid]
                if count > 1:  # others keep it alive: nothing is freed
                    t.mv_extern[oid] = extern - 1
                    t.mv_refcnt[oid] = count - 1
                else:
                    self._drop_external(oid)
            finally:
                self._op_depth = 0
            operation_done(self)
        finally:
            if counted >= 0:
                _leave(self, counted)
        return None

    # -- dicts --------------------------------------------------------------------------------

    def dict_get(self: HeapCore, d: int, key: int) -> int:
        """The value code stored under ``key`` in dict ``d`` (the specification:
        :meth:`_general_dict_get`). A read: no lock state changes but the lock itself."""
        t = self.table
        if (type(d) is not int or not N_HEADS <= d < t.top or not t.mv_flags[d] & ALIVE
                or t.mv_type_id[d] != DICT or t.mv_ref_len[d] > 2 * SMALL_DICT):
            return self._general_dict_get(d, key)
        counted = _enter(self)
        if counted < 0:
            return self._general_dict_get(d, key)
        try:
            start: int = t.mv_ref_start[d]
            pool = t.mv_pool
            for at in range(start, start + t.mv_ref_len[d], 2):
                if pool[at] == key:
                    found: int = pool[at + 1]
                    return found
        finally:
            _leave(self, counted)
        raise KeyError(key)

    def dict_set(self: HeapCore, d: int, key: int, value: int) -> None:
        """insertdict (the specification: :meth:`_general_dict_set`): flat when ``d`` is a
        small dict, ``key`` and ``value`` are live ids or atoms and ``key`` is new or its old
        value stays alive."""
        t = self.table
        top = t.top
        flags = t.mv_flags
        if (type(d) is not int or not N_HEADS <= d < top or not flags[d] & ALIVE
                or t.mv_type_id[d] != DICT or t.mv_ref_len[d] > 2 * SMALL_DICT
                or not self._quick_code(key) or not self._quick_code(value)):
            return self._general_dict_set(d, key, value)
        counted = _enter(self)
        if counted < 0:
            return self._general_dict_set(d, key, value)
        try:
            self._op_depth = 1
            try:
                done = self._quick_insert(d, key, value)
            finally:
                self._op_depth = 0
            if done:
                operation_done(self)
        finally:
            _leave(self, counted)
        if not done:
            self._general_dict_set(d, key, value)
        return None

    def _quick_code(self: HeapCore, code: object) -> bool:
        """True when ``code`` is an int slot value check_value accepts as it is: a live id, an
        interned atom or NULL."""
        if type(code) is not int:
            return False
        if code >= N_HEADS:
            t = self.table
            return code < t.top and bool(t.mv_flags[code] & ALIVE)
        return code == NULL or (code < NULL and self.atoms.is_live(code))

    def _quick_insert(self: HeapCore, d: int, key: int, value: int) -> bool:
        """dict_set's body for checked arguments; False (nothing changed) when the general
        path must run it: the key is present and its old value would die."""
        t = self.table
        pool = t.mv_pool
        rc = t.mv_refcnt
        start: int = t.mv_ref_start[d]
        at: int = t.mv_ref_len[d]
        for k in range(start, start + at, 2):
            if pool[k] == key:
                old: int = pool[k + 1]
                if old >= 0 and rc[old] <= 1 and old != value:
                    return False
                if value >= 0:
                    rc[value] += 1
                pool[k + 1] = value
                if not t.mv_flags[d] & TRACKED:
                    self.maintain_tracking(d, value)
                if old >= 0:
                    rc[old] -= 1
                return True
        if at + 2 > t.mv_ref_cap[d]:
            t.reserve(d, at + 2)  # may fail: nothing held yet
            start = t.mv_ref_start[d]
            pool = t.mv_pool
        if key >= 0:
            rc[key] += 1
        if value >= 0:
            rc[value] += 1
        if not t.mv_flags[d] & TRACKED:
            self._track_dict_for(d, key, value)
        pool[start + at] = key
        pool[start + at + 1] = value
        t.mv_ref_len[d] = at + 2
        return True

    def _track_dict_for(self: HeapCore, d: int, key: int, value: int) -> None:
        """maintain_tracking(d, key, value) for an untracked dict: it starts tracking when the
        key or the value may be tracked (a GC-capable object; a tuple only if tracked)."""
        t = self.table
        types = self.types.types
        for code in (key, value):
            if code >= 0:
                info = types[t.mv_type_id[code]]
                if info.gc_capable and (info.kind is not Kind.TUPLE
                                        or t.mv_flags[code] & TRACKED):
                    self.observer.place(d)
                    t.mv_flags[d] |= TRACKED
                    return


__all__ = ["QUICK_TYPES", "FastPathMixin"]
