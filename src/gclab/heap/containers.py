"""Dict entries and instance attributes on top of the slot API.

A dict's slots are ``key0, value0, key1, value1, ...`` in insertion order. Keys compare by
identity: atoms are interned, so equal atomic values share a code; heap objects used as keys
are equal only to themselves (tuples included, a documented simplification).

An instance's slots are its ``__slots__`` (sorted by name, as CPython lays them out), then
either its inline values, one slot per name of the class's shared keys (3.11+), or one slot
holding a separate ``__dict__`` object made at the first attribute store (≤3.10). The entries
of a separate ``__dict__`` are in insertion order: 3.10's key-sharing (split) tables only take
keys in their shared order and become combined tables otherwise, so traverse and dealloc
always see the insertion order (measured); 2.7 orders by string hash (not modelled).

A frame's slots are ``name0, value0, name1, value1, ...``: its fast locals in the order they
were first bound (CPython's ``co_varnames`` for straight-line code). ``del`` empties a slot
and a later store fills the same slot again; the return releases the values in slot order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import FrameReturnedError
from .table import NULL
from .types import DICT, FRAME, Kind, TypeInfo

if TYPE_CHECKING:
    from .core import HeapCore


class ContainersMixin:
    """Dict, instance-attribute and frame-local operations for
    :class:`~gclab.heap.core.HeapCore`."""

    def _init_containers(self: HeapCore) -> None:
        # Frames whose function returned (heap.frame() clears its id again when it is reused).
        self.returned_frames: set[int] = set()

    # -- dicts -----------------------------------------------------------------------------------

    def dict_find(self: HeapCore, d: int, key: int) -> int:
        """The entry index of ``key`` in dict ``d``, or -1."""
        keys = self.table.slots(d)[0::2]
        hits = (keys == key).nonzero()[0]
        return int(hits[0]) if len(hits) else -1

    def dict_get(self: HeapCore, d: int, key: int) -> int:
        """The value code stored under ``key`` (KeyError if absent)."""
        entry = self.dict_find(d, key)
        if entry < 0:
            raise KeyError(key)
        return self.table.get(d, 2 * entry + 1)

    def dict_set(self: HeapCore, d: int, key: int, value: int) -> None:
        """insertdict: a new key is appended; an existing key keeps its place and only its
        value is replaced (new value held, old released)."""
        entry = self.dict_find(d, key)
        if entry >= 0:
            self.hold(value)
            old = self.table.get(d, 2 * entry + 1)
            self.table.put(d, 2 * entry + 1, value)
            if int(self.table.type_id[d]) == DICT:
                self.maintain_tracking(d, value)
            self.release(old)
            return
        self.hold(key)
        self.hold(value)
        if int(self.table.type_id[d]) == DICT:
            self.maintain_tracking(d, key, value)
        at = int(self.table.ref_len[d])
        self.table.insert(d, at, key)
        self.table.insert(d, at + 1, value)

    def dict_delete(self: HeapCore, d: int, key: int) -> None:
        """Remove ``key``'s entry (KeyError if absent): key released, then value."""
        entry = self.dict_find(d, key)
        if entry < 0:
            raise KeyError(key)
        old_key, old_value = self.table.get(d, 2 * entry), self.table.get(d, 2 * entry + 1)
        self.table.remove(d, 2 * entry, 2)
        self.release(old_key)
        self.release(old_value)

    def dict_len(self: HeapCore, d: int) -> int:
        """Number of entries."""
        return int(self.table.ref_len[d]) // 2

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
        self.dict_set(d, self.atoms.code(name), value)

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
        """Names of the attributes that are set, in layout order (slots, then the separate
        dict's entries or the inline values)."""
        info = self.type_of(oid)
        names = [n for n in info.slot_names if self._has(oid, info, n)]
        d = self.instance_dict(oid)
        if d != NULL:
            names += [str(self.atoms.value(k)) for k in self.table.slot_list(d)[0::2]]
        else:
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

    # -- frames ----------------------------------------------------------------------------------

    def new_frame(self: HeapCore) -> int:
        """A running frame (not GC-tracked; the caller holds one reference)."""
        with self.operation():
            fid = self._new_object(self.types[FRAME], 0, track=False)
            self.table.refcnt[fid] = 1
            self.table.extern[fid] = 1
            self.returned_frames.discard(fid)
        return fid

    def _running_frame(self: HeapCore, fid: int) -> None:
        self.check_id(fid)
        if int(self.table.type_id[fid]) != FRAME:
            raise TypeError(f"{self.describe(fid)} is not a frame")
        if fid in self.returned_frames:
            raise FrameReturnedError(f"{self.describe(fid)} has returned: its locals are gone")

    def _local_slot(self: HeapCore, fid: int, name: str) -> int:
        """The slot index of local ``name``'s value, or -1 if it was never bound."""
        entry = self.dict_find(fid, self.atoms.code(name))
        return 2 * entry + 1 if entry >= 0 else -1

    def frame_load(self: HeapCore, fid: int, name: str) -> int:
        """LOAD_FAST: the value of local ``name`` (NameError-like AttributeError if unbound)."""
        self._running_frame(fid)
        index = self._local_slot(fid, name)
        value = self.table.get(fid, index) if index >= 0 else NULL
        if value == NULL:
            raise AttributeError(f"no variable named {name!r}")
        return value

    def frame_store(self: HeapCore, fid: int, name: str, value: int) -> None:
        """STORE_FAST: the local's slot (made at its first binding) gets ``value``; the old
        value is released after the store."""
        self._running_frame(fid)
        with self.operation():
            index = self._local_slot(fid, name)
            if index < 0:
                self.hold(value)
                at = int(self.table.ref_len[fid])
                self.table.insert(fid, at, self.atoms.code(name))
                self.table.insert(fid, at + 1, value)
            else:
                self.store(fid, index, value)

    def frame_delete(self: HeapCore, fid: int, name: str) -> None:
        """DELETE_FAST: the slot is emptied (it keeps its place for a later store)."""
        self._running_frame(fid)
        index = self._local_slot(fid, name)
        if index < 0 or self.table.get(fid, index) == NULL:
            raise AttributeError(f"no variable named {name!r}")
        with self.operation():
            self.store(fid, index, NULL)

    def frame_locals(self: HeapCore, fid: int) -> list[str]:
        """The names of the bound locals, in slot order."""
        values = self.table.slot_list(fid)
        return [str(self.atoms.value(k)) for k, v in zip(values[0::2], values[1::2], strict=True)
                if v != NULL]

    def frame_return(self: HeapCore, fid: int) -> None:
        """The function returns: its locals are released in slot order.

        2.7 and 3.10 (``profile.frame_trashcan``) release them inside ``frame_dealloc``,
        which the trashcan brackets: one level deeper than a ``del`` in the body, and a return
        at nesting 0 drains the objects the trashcan deferred (2.7: those an instance chain
        left there). 3.11+ clear the locals in ``_PyFrame_Clear``, outside any bracket.
        gclab does not defer the frame itself when it returns at the deposit depth."""
        self._running_frame(fid)
        with self.operation():
            self.returned_frames.add(fid)
            values = [v for v in self.table.truncate(fid)[1::2] if v != NULL]
            if self.profile.frame_trashcan:
                self.release_bracketed(values)
            else:
                for value in values:
                    self.release(value)
