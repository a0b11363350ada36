"""Dict entries and instance attributes on top of the slot API.

A dict's slots are ``key0, value0, key1, value1, ...`` in insertion order. Keys compare by
identity: atoms are interned, so equal atomic values share a code; heap objects used as keys
are equal only to themselves (tuples included, a documented simplification).

An instance's slots are its ``__slots__`` (sorted by name, as CPython lays them out), then
either its inline values, one slot per name of the class's shared keys (3.11+), or one slot
holding a separate ``__dict__`` object made at the first attribute store (≤3.10).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .table import NULL
from .types import DICT, Kind, TypeInfo

if TYPE_CHECKING:
    from .core import HeapCore


class ContainersMixin:
    """Dict and instance-attribute operations for :class:`~gclab.heap.core.HeapCore`."""

    # -- dicts -----------------------------------------------------------------------------------

    def dict_find(self: HeapCore, d: int, key: int) -> int:
        """The entry index of ``key`` in dict ``d``, or -1."""
        keys = self.table.slots(self._check_mapping(d))[0::2]
        hits = (keys == key).nonzero()[0]
        return int(hits[0]) if len(hits) else -1

    def dict_get(self: HeapCore, d: int, key: int) -> int:
        """The value code stored under ``key`` (KeyError if absent)."""
        d = self._check_mapping(d)
        entry = self.dict_find(d, key)
        if entry < 0:
            raise KeyError(key)
        return self.table.get(d, 2 * entry + 1)

    def dict_set(self: HeapCore, d: int, key: int, value: int, *, position: int = -1) -> None:
        """insertdict: a new key is appended (or put at entry ``position``); an existing key
        keeps its place and only its value is replaced (new value held, old released).

        ``d`` is a dict, frame or module; ``key`` and ``value`` are slot codes (typed errors
        otherwise, nothing changed)."""
        d = self._check_mapping(d)
        key, value = self.check_value(key), self.check_value(value)
        entry = self.dict_find(d, key)
        if entry >= 0:
            self.hold(value)
            old = self.table.get(d, 2 * entry + 1)
            self.table.put(d, 2 * entry + 1, value)
            if int(self.table.type_id[d]) == DICT:
                self.maintain_tracking(d, value)
            self.release(old)
            return
        self.table.reserve(d, int(self.table.ref_len[d]) + 2)  # may fail: nothing held yet
        self.hold(key)
        self.hold(value)
        if int(self.table.type_id[d]) == DICT:
            self.maintain_tracking(d, key, value)
        at = int(self.table.ref_len[d]) if position < 0 else 2 * position
        self.table.insert(d, at, value)
        self.table.insert(d, at, key)

    def dict_delete(self: HeapCore, d: int, key: int) -> None:
        """Remove ``key``'s entry (KeyError if absent): key released, then value."""
        d = self._check_mapping(d)
        entry = self.dict_find(d, key)
        if entry < 0:
            raise KeyError(key)
        old_key, old_value = self.table.get(d, 2 * entry), self.table.get(d, 2 * entry + 1)
        self.table.remove(d, 2 * entry, 2)
        self.release(old_key)
        self.release(old_value)

    def dict_len(self: HeapCore, d: int) -> int:
        """Number of entries."""
        return int(self.table.ref_len[self._check_mapping(d)]) // 2

    # -- instances -------------------------------------------------------------------------------

    def new_instance(self: HeapCore, info: TypeInfo) -> int:
        """Allocate an instance of a managed class (tracked at once, before ``__init__``)."""
        if info.kind is not Kind.INSTANCE:
            raise TypeError(f"{info.name} is not a managed class")
        size = len(info.slot_names) + (1 if self._separate_dict(info) else 0)
        return self.alloc(info, size)

    def _separate_dict(self: HeapCore, info: TypeInfo) -> bool:
        return info.has_dict and self.profile.instance_dict == "separate"

    def instance_dict(self: HeapCore, oid: int) -> int:
        """The separate ``__dict__`` of an instance (≤3.10 profiles), or NULL."""
        info = self.type_of(oid)
        if not self._separate_dict(info):
            return NULL
        return self.table.get(oid, len(info.slot_names))

    def get_attr(self: HeapCore, oid: int, name: str) -> int:
        """The code stored in attribute ``name`` (AttributeError if unset)."""
        info = self.type_of(oid)
        index = self._attr_slot(info, name, create=False)
        if index is not None:
            value = self.table.get(oid, index) if index < self.table.ref_len[oid] else NULL
        else:
            d = self.instance_dict(oid)
            entry = self.dict_find(d, self.atoms.code(name)) if d != NULL else -1
            value = self.table.get(d, 2 * entry + 1) if entry >= 0 else NULL
        if value == NULL:
            raise AttributeError(f"'{info.name}' object has no attribute '{name}'")
        return value

    def set_attr(self: HeapCore, oid: int, name: str, value: int) -> None:
        """Store ``value`` in attribute ``name``."""
        info = self.type_of(oid)
        index = self._attr_slot(info, name, create=True)
        if index is not None:
            while index >= self.table.ref_len[oid]:
                self.table.insert(oid, int(self.table.ref_len[oid]), NULL)
            self.store(oid, index, value)
            return
        d = self._ensure_dict(oid, info)
        position = self._dict_position(d, info, name)
        self.dict_set(d, self.atoms.code(name), value, position=position)

    def del_attr(self: HeapCore, oid: int, name: str) -> None:
        """Delete attribute ``name`` (AttributeError if unset)."""
        info = self.type_of(oid)
        self.get_attr(oid, name)
        index = self._attr_slot(info, name, create=False)
        if index is not None:
            self.store(oid, index, NULL)
        else:
            self.dict_delete(self.instance_dict(oid), self.atoms.code(name))

    def attr_names(self: HeapCore, oid: int) -> list[str]:
        """Names of the attributes that are set, in layout order."""
        info = self.type_of(oid)
        names = [n for n in info.slot_names if self._has(oid, info, n)]
        names += [n for n in info.shared_keys if self._has(oid, info, n)]
        return names

    def _has(self: HeapCore, oid: int, info: TypeInfo, name: str) -> bool:
        try:
            self.get_attr(oid, name)
        except AttributeError:
            return False
        return True

    def _attr_slot(self: HeapCore, info: TypeInfo, name: str, *, create: bool) -> int | None:
        """The slot index of ``name`` on the instance itself, or None if it lives in a dict."""
        if name in info.slot_names:
            return info.slot_names.index(name)
        if not info.has_dict:
            raise AttributeError(f"'{info.name}' object has no attribute '{name}'")
        if self._separate_dict(info):
            return None
        if not create and name not in info.shared_keys:
            return len(info.slot_names) + len(info.shared_keys)  # past the end: unset
        return len(info.slot_names) + info.key_index(name)

    def _ensure_dict(self: HeapCore, oid: int, info: TypeInfo) -> int:
        """Make the separate ``__dict__`` at the first attribute store (≤3.10)."""
        d = self.instance_dict(oid)
        if d == NULL:
            d = self._new_object(self.types[DICT], 0, track=False)
            self.table.refcnt[d] = 1
            self.table.put(oid, len(info.slot_names), d)
        return d

    def _dict_position(self: HeapCore, d: int, info: TypeInfo, name: str) -> int:
        """Entry position for a new attribute: split tables keep the class's key order."""
        rank = info.key_index(name)
        keys = self.table.slot_list(d)[0::2]
        for entry, key in enumerate(keys):
            other = self.atoms.value(key) if key <= -2 else None
            if isinstance(other, str) and other in info.shared_keys:
                if info.shared_keys.index(other) > rank:
                    return entry
        return -1
