"""Flat twins of the dict and list slot calls of the low-level id API (``dict_get``,
``dict_set``, ``set_slot``, ``append_slot``): the same contract as :mod:`gclab.heap.fastpath`
(a top-level call on a quiet heap, arguments checked under the lock, the general method
``_general_NAME`` for everything else and for every error), for dicts of up to
:data:`SMALL_DICT` entries and for lists (whose slots no layout rule constrains).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .flags import ALIVE, TRACKED
from .guard import enter_quick, leave_quick, operation_done
from .table import N_HEADS, NULL
from .types import DICT, LIST, Kind

if TYPE_CHECKING:
    from .core import HeapCore

SMALL_DICT = 16  # entries: a dict this small is searched value by value (containers.py too)


class FastSlotsMixin:
    """The flat twins of the dict and list slot calls (see the module docstring)."""

    # -- dicts --------------------------------------------------------------------------------

    def dict_get(self: HeapCore, d: int, key: int) -> int:
        """The value code stored under ``key`` in dict ``d`` (the specification:
        :meth:`_general_dict_get`; a read, not an operation)."""
        counted = enter_quick(self)
        if counted < 0:
            return self._general_dict_get(d, key)
        try:
            t = self.table
            quick = (type(d) is int and N_HEADS <= d < t.top and t.mv_flags[d] & ALIVE
                     and t.mv_type_id[d] == DICT and t.mv_ref_len[d] <= 2 * SMALL_DICT)
            if quick:
                start: int = t.mv_ref_start[d]
                pool = t.mv_pool
                for at in range(start, start + t.mv_ref_len[d], 2):
                    if pool[at] == key:
                        found: int = pool[at + 1]
                        return found
        finally:
            leave_quick(self, counted)
        if not quick:
            return self._general_dict_get(d, key)
        raise KeyError(key)

    def dict_set(self: HeapCore, d: int, key: int, value: int) -> None:
        """insertdict (the specification: :meth:`_general_dict_set`): flat when ``d`` is a
        small dict, ``key`` and ``value`` are live ids, atoms or NULL, and ``key`` is new or
        its old value stays alive."""
        counted = enter_quick(self)
        if counted < 0:
            return self._general_dict_set(d, key, value)
        try:
            t = self.table
            top = t.top
            flags = t.mv_flags
            quick = (type(d) is int and N_HEADS <= d < top and flags[d] & ALIVE
                     and t.mv_type_id[d] == DICT and t.mv_ref_len[d] <= 2 * SMALL_DICT
                     and type(key) is int and type(value) is int
                     and (key < N_HEADS or (key < top and flags[key] & ALIVE))
                     and (value < N_HEADS or (value < top and flags[value] & ALIVE))
                     and (key == NULL or key >= N_HEADS or self.atoms.is_live(key))
                     and (value == NULL or value >= N_HEADS or self.atoms.is_live(value)))
            if quick:
                self._op_depth = 1
                try:
                    quick = self._quick_insert(d, key, value)
                finally:
                    self._op_depth = 0
                if quick:
                    operation_done(self)
        finally:
            leave_quick(self, counted)
        if not quick:
            self._general_dict_set(d, key, value)
        return None

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

    # -- list slots ---------------------------------------------------------------------------

    def set_slot(self: HeapCore, oid: int, index: int, value: int) -> None:
        """Store ``value`` in slot ``index`` (the specification: :meth:`_general_set_slot`):
        flat for a list, an int index in range and a live id, an atom or NULL."""
        counted = enter_quick(self)
        if counted < 0:
            return self._general_set_slot(oid, index, value)
        try:
            t = self.table
            top = t.top
            flags = t.mv_flags
            quick = (type(oid) is int and N_HEADS <= oid < top and flags[oid] & ALIVE
                     and t.mv_type_id[oid] == LIST and type(index) is int
                     and 0 <= index < t.mv_ref_len[oid] and type(value) is int
                     and (value < N_HEADS or (value < top and flags[value] & ALIVE))
                     and (value == NULL or value >= N_HEADS or self.atoms.is_live(value)))
            if quick:
                self._op_depth = 1
                try:  # store(): hold the new value, write it, release the old one
                    if value >= 0:
                        t.mv_refcnt[value] += 1
                    pool = t.mv_pool
                    at = t.mv_ref_start[oid] + index
                    old: int = pool[at]
                    pool[at] = value
                    self.release(old)
                finally:
                    self._op_depth = 0
                operation_done(self)
        finally:
            leave_quick(self, counted)
        if not quick:
            self._general_set_slot(oid, index, value)
        return None

    def append_slot(self: HeapCore, oid: int, value: int) -> None:
        """Add ``value`` as a new last slot (the specification: :meth:`_general_append_slot`):
        flat for a list and a live id, an atom or NULL."""
        counted = enter_quick(self)
        if counted < 0:
            return self._general_append_slot(oid, value)
        try:
            t = self.table
            top = t.top
            flags = t.mv_flags
            quick = (type(oid) is int and N_HEADS <= oid < top and flags[oid] & ALIVE
                     and t.mv_type_id[oid] == LIST and type(value) is int
                     and (value < N_HEADS or (value < top and flags[value] & ALIVE))
                     and (value == NULL or value >= N_HEADS or self.atoms.is_live(value)))
            if quick:
                length: int = t.mv_ref_len[oid]
                if length >= t.mv_ref_cap[oid]:
                    t.reserve(oid, length + 1)  # may fail: nothing held yet
                self._op_depth = 1
                try:
                    if value >= 0:
                        t.mv_refcnt[value] += 1
                    t.mv_pool[t.mv_ref_start[oid] + length] = value
                    t.mv_ref_len[oid] = length + 1
                finally:
                    self._op_depth = 0
                operation_done(self)
        finally:
            leave_quick(self, counted)
        return None if quick else self._general_append_slot(oid, value)


__all__ = ["SMALL_DICT", "FastSlotsMixin"]
