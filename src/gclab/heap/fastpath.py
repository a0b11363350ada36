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
point of :func:`~gclab.heap.guard.operation_done` (the bracket: ``guard.enter_quick`` and
``guard.leave_quick``).
``heap._fast_paths = False`` sends every call down the general path (tests/test_fastpath.py
runs random programs both ways and compares the heaps after every step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _jit
from .args import INT32_MAX
from .flags import ALIVE, HAS_WEAKREFS, TRACKED
from .guard import enter_quick, leave_quick, operation_done
from .table import N_HEADS, NULL
from .types import DICT, LIST, SET, TypeInfo
from .usercode import host_collector

if TYPE_CHECKING:
    from .core import HeapCore

# name -> (type id, tracked when made): the built-in containers ``alloc(name)`` makes flat.
# Built-in names always name the built-in types (a class of the same name registers after
# them and never takes the name: TypeRegistry keeps the first).
QUICK_TYPES = {"list": (LIST, True), "dict": (DICT, False), "set": (SET, True)}

_LEAF_TYPES = frozenset({LIST, DICT, SET})  # what _free_leaf may free without the cascade


# The bracket of a quick call (heap/guard.py): enter_quick takes the lock, makes the guard's
# checks and counts the SIGINT deferral (or answers -1: the general path); under the lock the
# arguments are checked (anything unusual: the general path decides, raising its errors), the
# operation runs at depth 1, operation_done is its safe point, and leave_quick ends it.


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
        counted = enter_quick(self)
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
            leave_quick(self, counted)
        return oid

    def _quick_row(self: HeapCore, info: TypeInfo, size: int, track: bool) -> int:
        """_new_object then take_external, flat: a GC-capable ``info`` row with ``size`` NULL
        slots and one external reference, tracked if ``track``, made while nothing watches.
        A HeapFullError or MemoryError (room made first) changes nothing."""
        t = self.table
        if t.pool_top + size > len(t.pool) or (t.top >= len(t.type_id) and not t.free_ids):
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
        counted = enter_quick(self)
        if counted < 0:
            return self._general_new_instance(info)
        try:
            self._op_depth = 1
            try:
                oid = self._quick_instance(info, facts)
            finally:
                self._op_depth = 0
            operation_done(self)
        finally:
            leave_quick(self, counted)
        return oid

    def _new_instance_nested(self: HeapCore, info: TypeInfo) -> int:
        """:meth:`new_instance` from inside a running operation (the lock held, depth at
        least 1, as in a proxy's ``Class()``): the flat body where the twin would take it
        (fast paths on, nothing watching, a class made once already), else the general path.
        Either way the new instance is made and nothing else changes (no safe point: the
        enclosing operation has its own)."""
        facts = self._instance_facts.get(info) if type(info) is TypeInfo else None
        if facts is None or not self._fast_paths or self._watched or not self._op_depth:
            return self._general_new_instance(info)
        return self._quick_instance(info, facts)

    def _quick_instance(self: HeapCore, info: TypeInfo, facts: tuple[int, bool]) -> int:
        """new_instance's body inside its operation, for a class whose ``facts``
        (:meth:`_learn_instance`) are known: the tracked row with one external reference,
        its attribute order forgotten, one usable shared key taken for inline values."""
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
        return oid

    def _learn_instance(self: HeapCore, info: TypeInfo) -> None:
        """Remember what :meth:`new_instance` needs of ``info`` (a managed class of this heap
        whose instances it has made once through the general path): its slot count and
        whether its attributes are inline values."""
        size = len(info.slot_names) + (1 if info.has_dict else 0)
        self._instance_facts[info] = (size, self._inline(info))

    # -- attributes (inside an operation: no bracket) ------------------------------------------

    def set_attr(self: HeapCore, oid: int, name: str, value: int) -> None:
        """Store ``value`` in attribute ``name`` of instance ``oid`` (the specification:
        :meth:`_general_set_attr`): flat for an inline attribute of the class's shared keys
        while the ``__dict__`` is not materialised, stored into an empty value after every set
        one (or over a set one), ``value`` NULL, an atom or a live id, nothing watching."""
        t = self.table
        if (type(oid) is not int or not N_HEADS <= oid < t.top or not t.mv_flags[oid] & ALIVE
                or not self._fast_paths or self._watched or type(value) is not int
                or (value >= 0 and (value >= t.top or not t.mv_flags[value] & ALIVE))):
            return self._general_set_attr(oid, name, value)
        info = self.types.types[t.mv_type_id[oid]]
        facts = self._instance_facts.get(info)
        if facts is None or not facts[1] or name not in info.shared_keys:
            return self._general_set_attr(oid, name, value)
        base = facts[0]  # the dict slot; the inline values follow it
        start: int = t.mv_ref_start[oid]
        pool = t.mv_pool
        if pool[start + base - 1] != NULL or name in info.slot_names:
            return self._general_set_attr(oid, name, value)
        index = base + info.shared_keys.index(name)
        length: int = t.mv_ref_len[oid]
        while index >= length:  # write_insert(oid, length, NULL) until the slot exists
            if length >= t.mv_ref_cap[oid]:
                t.reserve(oid, length + 1)
                start = t.mv_ref_start[oid]
                pool = t.mv_pool
            pool[start + length] = NULL
            length += 1
            t.mv_ref_len[oid] = length
        at = start + index
        old: int = pool[at]
        if value != NULL and old == NULL and (oid in self.attr_order or any(
                pool[k] != NULL for k in range(at + 1, start + length))):
            return self._general_set_attr(oid, name, value)  # the insertion order changes
        if value >= 0:
            t.mv_refcnt[value] += 1
        pool[at] = value
        if old >= 0:
            self.release(old)
        return None

    # -- external references -------------------------------------------------------------------

    def incref(self: HeapCore, oid: int) -> None:
        """Take an external reference to ``oid`` (the specification: :meth:`_general_incref`;
        not an operation: no safe point)."""
        counted = enter_quick(self)
        if counted < 0:
            return self._general_incref(oid)
        try:
            t = self.table
            quick = (type(oid) is int and N_HEADS <= oid < t.top
                     and t.mv_flags[oid] & ALIVE and t.mv_refcnt[oid] < INT32_MAX)
            if quick:
                t.mv_refcnt[oid] += 1
                t.mv_extern[oid] += 1
        finally:
            leave_quick(self, counted)
        if not quick:
            self._general_incref(oid)  # raises
        return None

    def decref(self: HeapCore, oid: int) -> None:
        """Drop an external reference; at zero the object is deallocated at once (the
        specification: :meth:`_general_decref`)."""
        counted = enter_quick(self)
        if counted < 0:
            return self._general_decref(oid)
        try:
            t = self.table
            quick = type(oid) is int and N_HEADS <= oid < t.top and t.mv_flags[oid] & ALIVE
            if quick:
                extern: int = t.mv_extern[oid]
                # kept: the references decref may not drop (static ones, a live proxy's)
                if (extern < 2 or oid in self.static_refs) and extern <= self._kept_count(oid):
                    quick = False  # the general path raises RefcountUnderflowError
            if quick:
                self._op_depth = 1
                try:
                    self._drop_flat(oid)
                finally:
                    self._op_depth = 0
                operation_done(self)
        finally:
            leave_quick(self, counted)
        if not quick:
            self._general_decref(oid)  # raises
        return None

    def _release_nested(self: HeapCore, oid: int) -> None:
        """:meth:`release_external` for a caller that holds the lock (a dying proxy's
        release): deferred or given back as it does, with the decref twin's flat steps when
        fast paths are on and nothing watches: a count above one just goes down, a plain
        leaf (:meth:`_free_leaf`) is freed flat, anything else runs :meth:`_drop_external`."""
        if (self._defer_depth or host_collector.running or not self._fast_paths
                or self._watched):
            return self._release_external_locked(oid)
        self._drop_flat(oid)
        return None

    def _drop_flat(self: HeapCore, oid: int) -> None:
        """:meth:`_drop_external` of the live ``oid`` (an external reference it may drop),
        flat where it can be: a count above one just goes down, a plain leaf is freed by
        :meth:`_free_leaf`, anything else runs :meth:`_drop_external`."""
        t = self.table
        count: int = t.mv_refcnt[oid]
        if count > 1:  # others keep it alive: nothing is freed
            t.mv_extern[oid] -= 1
            t.mv_refcnt[oid] = count - 1
        elif not self._free_leaf(oid):
            self._drop_external(oid)

    def _free_leaf(self: HeapCore, oid: int) -> bool:
        """The last reference to ``oid`` goes and it is a *plain leaf*: a list, dict or set
        that holds no object (atoms and NULL only) and has no weakref, while the trashcan is
        idle, frees are not deferred and the compiled cascade is adopted already if it is
        due. Then ``oid`` is freed as its deallocation would free it (untracked, side tables
        forgotten, its row and id given back, the collector told) and True is returned;
        otherwise nothing changed and False is returned (the general cascade frees it)."""
        t = self.table
        type_id: int = t.mv_type_id[oid]
        if (type_id not in _LEAF_TYPES or t.mv_flags[oid] & HAS_WEAKREFS or self.defers_frees
                or self.trash_delete_later
                or self.trash_nesting >= self.profile.trashcan_deposit_at
                or (self.dealloc_kernel is None and self._kernel_pending and _jit.ACTIVE)):
            return False
        start: int = t.mv_ref_start[oid]
        size: int = t.mv_ref_len[oid]
        pool = t.mv_pool
        for at in range(start, start + size):
            if pool[at] >= 0:
                return False
        t.mv_extern[oid] -= 1  # _drop_external, then release to zero
        t.mv_refcnt[oid] = 0
        self._dealloc_depth += 1  # the invariant checker: a deallocation is running
        try:
            if t.mv_flags[oid] & TRACKED:
                self.untrack(oid)
            self.forget_object(oid)
            t.free_row(oid)
            self.observer.after_gc_free(self.types.types[type_id], size)
        finally:
            self._dealloc_depth -= 1
        return True


__all__ = ["QUICK_TYPES", "FastPathMixin"]
