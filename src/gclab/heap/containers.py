"""Dict entries, instance attributes and frame locals on top of the slot API.

A dict's slots are ``key0, value0, key1, value1, ...`` in insertion order. Keys compare by
identity: atoms are interned, so equal atomic values share a code; heap objects used as keys
are equal only to themselves (tuples included, a documented simplification).

An instance's slots are its ``__slots__`` (sorted by name, as CPython lays them out); a class
with a ``__dict__`` then has one *dict slot* and, on inline profiles, the inline values::

    [ __slots__ values ... | dict slot | inline value 0, inline value 1, ... ]

* ``instance_dict="separate"`` (2.7, 3.10): the dict slot holds the ``__dict__``, made at the
  first attribute store (3.10 also at a failed ``del``). Its entries are in insertion order:
  3.10's key-sharing (split) tables only take keys in their shared order and become combined
  tables otherwise, so the order seen by traverse and dealloc is always the insertion order
  (measured, ``docs/cpython-gaps.md`` gap 5). 2.7 orders by string hash: not modelled.
* ``instance_dict="inline"`` (3.11+): inline value ``i`` is the attribute named by
  ``shared_keys[i]`` of the class (CPython's cached keys), visited and released in that
  order; the dict slot is NULL until the ``__dict__`` is materialised. The shared keys start
  with ``profile.shared_keys_max`` (30) usable entries; every new instance takes one while
  more than one is left, every new attribute name one. Storing a name the keys lack when none
  is left materialises the ``__dict__``: a real dict, holding the attributes in the instance's
  own insertion order, then the new one (gap 1).

A frame's slots are ``name0, value0, name1, value1, ...``: its fast locals in the order they
were first bound (CPython's ``co_varnames`` for straight-line code). ``del`` empties a slot
and a later store fills the same slot again; the return releases the values in slot order
(gap 2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import FrameReturnedError
from .guard import run_operation
from .table import NULL
from .types import DICT, FRAME, Kind, TypeInfo

SMALL_DICT = 16  # entries: up to this many, a dict is searched without numpy

if TYPE_CHECKING:
    from .core import HeapCore


class ContainersMixin:
    """Dict, instance-attribute and frame-local operations for
    :class:`~gclab.heap.core.HeapCore`."""

    def _init_containers(self: HeapCore) -> None:
        # Inline profiles: instance id -> the inline indices of its set attributes in the order
        # they were stored, kept only while that order is not ascending (CPython's per-object
        # insertion-order array, read when the __dict__ is materialised). An entry is trusted
        # only if it names exactly the set values; new_instance drops a stale one.
        self.attr_order: dict[int, list[int]] = {}
        # Frames whose function returned (heap.frame() clears its id again when it is reused).
        self.returned_frames: set[int] = set()
        self.running_frames: set[int] = set()  # made by new_frame, not returned yet

    # -- dicts -----------------------------------------------------------------------------------

    def dict_find(self: HeapCore, d: int, key: int) -> int:
        """The entry index of ``key`` in dict ``d``, or -1."""
        return self._find_entry(self._check_mapping(d), key)

    def _find_entry(self: HeapCore, d: int, key: int) -> int:
        """:meth:`dict_find` of a checked dict, frame or module: small ones are searched
        through the pool's memoryview, bigger ones (over :data:`SMALL_DICT` entries) with
        numpy."""
        t = self.table
        start: int = t.mv_ref_start[d]
        length: int = t.mv_ref_len[d]
        if length > 2 * SMALL_DICT:
            keys = t.pool[start : start + length : 2]
            hits = (keys == key).nonzero()[0]
            return int(hits[0]) if len(hits) else -1
        pool = t.mv_pool
        for at in range(start, start + length, 2):
            if pool[at] == key:
                return (at - start) >> 1
        return -1

    def _general_dict_get(self: HeapCore, d: int, key: int) -> int:
        """The value code stored under ``key`` (KeyError if absent): ``dict_get``'s general
        path (heap/fastpath.py)."""
        d = self._check_mapping(d)
        entry = self._find_entry(d, key)
        if entry < 0:
            raise KeyError(key)
        return self.table.get(d, 2 * entry + 1)

    def _general_dict_set(self: HeapCore, d: int, key: int, value: int) -> None:
        """``dict_set``'s general path (heap/fastpath.py). insertdict: a new key is appended;
        an existing key keeps its place and only its value is replaced (new value held, old
        released).

        ``d`` is a dict, frame or module; ``key`` and ``value`` are slot codes (typed errors
        otherwise, nothing changed)."""
        d = self._check_mapping(d)
        key, value = self.check_value(key), self.check_value(value)
        entry = self._find_entry(d, key)
        t = self.table
        if entry >= 0:
            self.hold(value)
            old = self.write_slot(d, 2 * entry + 1, value)
            if t.mv_type_id[d] == DICT:
                self.maintain_tracking(d, value)
            self.release(old)
            return
        at: int = t.mv_ref_len[d]
        if at + 2 > t.mv_ref_cap[d]:
            t.reserve(d, at + 2)  # may fail: nothing held yet
        self.hold(key)
        self.hold(value)
        if t.mv_type_id[d] == DICT:
            self.maintain_tracking(d, key, value)
        self.write_insert(d, at, key)
        self.write_insert(d, at + 1, value)

    # the names under which the proxies call the general paths without the guard's wrapper
    dict_get = _general_dict_get
    dict_set = _general_dict_set

    def dict_delete(self: HeapCore, d: int, key: int) -> None:
        """Remove ``key``'s entry (KeyError if absent): key released, then value."""
        d = self._check_mapping(d)
        entry = self._find_entry(d, key)
        if entry < 0:
            raise KeyError(key)
        old_key, old_value = self.write_remove(d, 2 * entry, 2)
        self.release(old_key)
        self.release(old_value)

    def dict_len(self: HeapCore, d: int) -> int:
        """Number of entries."""
        return self.table.mv_ref_len[self._check_mapping(d)] // 2

    # -- instances -------------------------------------------------------------------------------

    def _general_new_instance(self: HeapCore, info: TypeInfo) -> int:
        """Allocate an instance of a managed class (tracked at once, before ``__init__``):
        ``new_instance``'s general path (heap/fastpath.py, which learns the class here).

        Inline profiles: the new instance takes one usable entry of its class's shared keys
        while more than one is left (``_PyObject_InitInlineValues``; 3.11-3.13 measured)."""
        if info.kind is not Kind.INSTANCE:
            raise TypeError(f"{info.name} is not a managed class")
        oid = run_operation(self, self._new_instance, info)
        if info not in self._instance_facts:
            self._learn_instance(info)
        return oid

    new_instance = _general_new_instance

    def _new_instance(self: HeapCore, info: TypeInfo) -> int:
        """:meth:`new_instance` inside its operation."""
        oid = self._alloc_locked(info, len(info.slot_names) + (1 if info.has_dict else 0))
        if self.attr_order:
            self.attr_order.pop(oid, None)
        if info.has_dict and self._inline(info):
            usable = self._keys_usable(info)
            if usable > 1:
                info.keys_usable = usable - 1
        return oid

    def _inline(self: HeapCore, info: TypeInfo) -> bool:
        return info.has_dict and self.profile.instance_dict == "inline"

    def _keys_usable(self: HeapCore, info: TypeInfo) -> int:
        """The usable entries left in the class's shared keys (``dk_usable``)."""
        if info.keys_usable is None:
            info.keys_usable = self.profile.shared_keys_max
        return info.keys_usable

    def instance_dict(self: HeapCore, oid: int) -> int:
        """The ``__dict__`` of an instance (separate, or materialised on 3.11+), or NULL."""
        info = self.type_of(oid)
        if not info.has_dict:
            return NULL
        return self.table.get(oid, len(info.slot_names))

    def get_attr(self: HeapCore, oid: int, name: str) -> int:
        """The code stored in attribute ``name`` (AttributeError if unset)."""
        info = self.type_of(oid)
        value = self._attr_value(oid, info, name)
        if value == NULL:
            raise _no_attribute(info, name)
        return value

    def _attr_value(self: HeapCore, oid: int, info: TypeInfo, name: str) -> int:
        """The value of attribute ``name``, NULL if unset."""
        if name in info.slot_names:
            return self.table.get(oid, info.slot_names.index(name))
        if not info.has_dict:
            return NULL
        d = self.instance_dict(oid)
        if d != NULL:
            key = self.atoms.find(name)  # a lookup interns nothing
            entry = self._find_entry(d, key) if key is not None else -1
            return self.table.get(d, 2 * entry + 1) if entry >= 0 else NULL
        if self._inline(info) and name in info.shared_keys:
            index = len(info.slot_names) + 1 + info.shared_keys.index(name)
            return self.table.get(oid, index) if index < self.table.ref_len[oid] else NULL
        return NULL

    def _general_set_attr(self: HeapCore, oid: int, name: str, value: int) -> None:
        """Store ``value`` in attribute ``name`` (see the module docstring for the layout):
        ``set_attr``'s general path (heap/fastpath.py)."""
        info = self.type_of(oid)
        if name in info.slot_names:
            self.store(oid, info.slot_names.index(name), value)
            return
        if not info.has_dict:
            raise _no_attribute(info, name)
        d = self.table.get(oid, len(info.slot_names))  # instance_dict(oid)
        if d == NULL and self._inline(info):
            key = self._shared_key(info, name)
            if key >= 0:
                self.store(oid, self._inline_slot(oid, info, key, value), value)
                return
            d = self._materialise_dict(oid, info)
        elif d == NULL:
            d = self._ensure_dict(oid, info)
        self.dict_set(d, self.atoms.code(name), value)

    def del_attr(self: HeapCore, oid: int, name: str) -> None:
        """Delete attribute ``name`` (AttributeError if unset).

        A failed ``del`` still does what CPython's store path does before it notices:
        3.10 makes the (empty) ``__dict__``; 3.11+ enter the name into the shared keys if one
        is usable, and when none is, 3.11 and 3.12 materialise the ``__dict__``
        (``profile.failed_delete_makes_dict``; 2.7 and 3.13 make nothing)."""
        info = self.type_of(oid)
        if name in info.slot_names:
            index = info.slot_names.index(name)
            if self.table.get(oid, index) == NULL:
                raise _no_attribute(info, name)
            self.store(oid, index, NULL)
            return
        if not info.has_dict:
            raise _no_attribute(info, name)
        d = self.instance_dict(oid)
        if d == NULL and self._inline(info):
            key = self._shared_key(info, name)
            index = len(info.slot_names) + 1 + key
            if key >= 0 and index < self.table.ref_len[oid] and self.table.get(oid, index) != NULL:
                self._forget_order(oid, info, key)
                self.store(oid, index, NULL)
                return
            if key < 0 and self.profile.failed_delete_makes_dict:
                self._materialise_dict(oid, info)
            raise _no_attribute(info, name)
        if d == NULL:
            if self.profile.failed_delete_makes_dict:
                self._ensure_dict(oid, info)
            raise _no_attribute(info, name)
        try:
            self.dict_delete(d, self.atoms.code(name))
        except KeyError:
            raise _no_attribute(info, name) from None

    def attr_names(self: HeapCore, oid: int) -> list[str]:
        """Names of the attributes that are set, in layout order (slots, then the dict's
        entries or the inline values in shared-keys order)."""
        info = self.type_of(oid)
        names = [n for n in info.slot_names if self._attr_value(oid, info, n) != NULL]
        d = self.instance_dict(oid)
        if d != NULL:
            names += [str(self.atoms.value(k)) for k in self.table.slot_list(d)[0::2]]
        elif self._inline(info):
            names += [n for n in info.shared_keys if self._attr_value(oid, info, n) != NULL]
        return names

    def _shared_key(self: HeapCore, info: TypeInfo, name: str) -> int:
        """insert_into_dictkeys: the shared-keys index of ``name``, entering it while an entry
        is usable; -1 when the keys are full and lack it."""
        if name in info.shared_keys:
            return info.shared_keys.index(name)
        usable = self._keys_usable(info)
        if usable <= 0:
            return -1
        info.keys_usable = usable - 1
        info.shared_keys.append(name)
        return len(info.shared_keys) - 1

    def _inline_slot(self: HeapCore, oid: int, info: TypeInfo, key: int, value: int) -> int:
        """The slot of inline value ``key``, ready for ``value`` to be stored (the caller
        stores it, so a deallocation cascade costs no extra host frame): a value stored into
        an empty entry goes to the end of the instance's insertion order."""
        index = len(info.slot_names) + 1 + key
        t = self.table
        while index >= t.mv_ref_len[oid]:
            self.write_insert(oid, t.mv_ref_len[oid], NULL)
        if value != NULL and t.get(oid, index) == NULL:
            if oid not in self.attr_order and self._last_set(oid, index):
                return index  # stored after every set value: the order stays ascending
            order = self._insertion_order(oid, info)
            order.append(key)
            self._keep_order(oid, order)
        return index

    def _last_set(self: HeapCore, oid: int, index: int) -> bool:
        """True when every slot of ``oid`` after ``index`` is NULL."""
        t = self.table
        start: int = t.mv_ref_start[oid]
        pool = t.mv_pool
        return all(pool[at] == NULL for at in range(start + index + 1,
                                                      start + t.mv_ref_len[oid]))

    def _set_inline_keys(self: HeapCore, oid: int, info: TypeInfo) -> list[int]:
        """The inline indices of ``oid``'s set attributes, ascending."""
        base = len(info.slot_names) + 1
        values = self.table.slot_list(oid)[base:]
        return [key for key, value in enumerate(values) if value != NULL]

    def _insertion_order(self: HeapCore, oid: int, info: TypeInfo) -> list[int]:
        """The inline indices of the set attributes in the order they were stored."""
        present = self._set_inline_keys(oid, info)
        order = self.attr_order.get(oid)
        if order is not None and sorted(order) == present:
            return list(order)
        return present

    def _keep_order(self: HeapCore, oid: int, order: list[int]) -> None:
        if order == sorted(order):
            self.attr_order.pop(oid, None)
        else:
            self.attr_order[oid] = order

    def _forget_order(self: HeapCore, oid: int, info: TypeInfo, key: int) -> None:
        """An inline value is deleted: it leaves the insertion order."""
        order = self._insertion_order(oid, info)
        order.remove(key)
        self._keep_order(oid, order)

    def _materialise_dict(self: HeapCore, oid: int, info: TypeInfo) -> int:
        """make_dict_from_instance_attributes (3.11+): a new dict (counted; it may trigger a
        collection before it exists) takes over the inline values in the instance's insertion
        order; tracked if one of them may be. The instance now refers to its dict only."""
        d = self._new_object(self.types[DICT], 0, track=False)
        base = len(info.slot_names) + 1
        order = self._insertion_order(oid, info)
        values = [self.table.get(oid, base + key) for key in order]
        if self.table.ref_len[oid] > base:
            self.write_remove(oid, base, int(self.table.ref_len[oid]) - base)
        self.attr_order.pop(oid, None)
        for key, value in zip(order, values, strict=True):
            self.write_insert(d, int(self.table.ref_len[d]), self.atoms.code(info.shared_keys[key]))
            self.write_insert(d, int(self.table.ref_len[d]), value)  # the reference moves
        if any(self.may_be_tracked(v) for v in values):
            self.track(d)
        self.hold(d)  # the instance's dict slot holds the new dict
        self.write_slot(oid, base - 1, d)
        return d

    def _ensure_dict(self: HeapCore, oid: int, info: TypeInfo) -> int:
        """The separate ``__dict__`` (≤3.10), made now if the instance has none yet."""
        d = self.instance_dict(oid)
        if d == NULL:
            d = self._new_object(self.types[DICT], 0, track=False)
            self.hold(d)  # the instance's dict slot holds the new dict
            self.write_slot(oid, len(info.slot_names), d)
        return d

    # -- frames ----------------------------------------------------------------------------------

    def new_frame(self: HeapCore) -> int:
        """A running frame (not GC-tracked; the caller holds one reference)."""
        with self.operation():
            fid = self._new_object(self.types[FRAME], 0, track=False)
            self.take_external(fid)
            self.returned_frames.discard(fid)
            self.running_frames.add(fid)
        return fid

    def _running_frame(self: HeapCore, fid: int) -> None:
        self.check_id(fid)
        if int(self.table.type_id[fid]) != FRAME:
            raise TypeError(f"{self.describe(fid)} is not a frame")
        if fid in self.returned_frames:
            raise FrameReturnedError(f"{self.describe(fid)} has returned: its locals are gone")

    def _local_slot(self: HeapCore, fid: int, name: str) -> int:
        """The slot index of local ``name``'s value, or -1 if it was never bound."""
        key = self.atoms.find(name)  # a lookup interns nothing
        entry = self._find_entry(fid, key) if key is not None else -1
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
                self.write_insert(fid, at, self.atoms.code(name))
                self.write_insert(fid, at + 1, value)
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
            self.running_frames.discard(fid)
            values = [v for v in self.write_truncate(fid)[1::2] if v != NULL]
            if self.profile.frame_trashcan:
                self.release_bracketed(values)
            else:
                for value in values:
                    self.release(value)


def _no_attribute(info: TypeInfo, name: str) -> AttributeError:
    return AttributeError(f"'{info.name}' object has no attribute '{name}'")
