"""The layout rules the low-level slot API enforces, one store or resize at a time.

Every kind fixes what its slots mean (:mod:`gclab.heap.layout`), and the by-id API
(``set_slot``, ``append_slot``, ``insert_slot``, ``delete_slot``, ``alloc``) keeps it so:

- list: anything goes;
- tuple: a fixed size (``set_slot`` fills it; no append, insert or delete);
- dict: ``key0, value0, key1, value1 ...``; single slots are never added or removed (use
  :meth:`~gclab.heap.containers.ContainersMixin.dict_set` and ``dict_delete``); a key slot takes
  a hashable key (not a list, dict or set) that is not already a key of the dict, or NULL;
- frame, module: ``name0, value0, ...`` like a dict, names being str atoms (or NULL);
- set: elements are unique (NULL slots are empty; hashability is the proxies' rule, so the
  low-level API can build the graph shapes the kernel tests use);
- instance: the slot count is fixed by the class layout (``__slots__``, then the inline
  attribute values or the one ``__dict__`` slot, which holds a dict or NULL).

Violations raise :class:`~gclab.errors.LayoutError` (a ``TypeError``) or
:class:`~gclab.errors.DuplicateKeyError` (a ``ValueError``) naming the object and the rule;
nothing changes. The bulk API applies the same rules vectorised (:mod:`gclab.heap.bulk`) and
the invariant checker verifies them (:mod:`gclab.heap.invariants`).

>>> from gclab.heap.core import HeapCore
>>> heap = HeapCore()
>>> t = heap.alloc("tuple", 1)
>>> heap.append_slot(t, heap.atom(1))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
gclab.errors.LayoutError: <tuple ...>: a tuple has a fixed size; append_slot would change it ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import DuplicateKeyError, LayoutError
from .flags import ALIVE
from .table import N_HEADS, NULL
from .types import Kind, TypeInfo

if TYPE_CHECKING:
    from .core import HeapCore

#: Kinds whose slots are key (or name) / value pairs.
PAIRED = frozenset({Kind.DICT, Kind.FRAME, Kind.MODULE})
#: Kinds whose slot count only the engine changes (never single-slot append/insert/delete).
FIXED = PAIRED | {Kind.TUPLE, Kind.INSTANCE}
#: Kinds CPython refuses as dict keys (``unhashable type``).
UNHASHABLE = frozenset({Kind.LIST, Kind.DICT, Kind.SET})
#: Kinds whose names are str atoms.
NAMESPACES = frozenset({Kind.FRAME, Kind.MODULE})

_RESIZE_HINT = {
    Kind.TUPLE: "a tuple has a fixed size; {op} would change it (set_slot fills a tuple)",
    Kind.DICT: "a dict's slots are key/value pairs; {op} of a single slot would break them "
               "(use dict_set / dict_delete of gclab.heap.containers)",
    Kind.FRAME: "a frame's slots are name/value pairs; {op} of a single slot would break them "
                "(use dict_set / dict_delete of gclab.heap.containers)",
    Kind.MODULE: "a module's slots are name/value pairs; {op} of a single slot would break "
                 "them (use dict_set / dict_delete of gclab.heap.containers)",
    Kind.INSTANCE: "an instance's slot count is fixed by its layout (__slots__, then the "
                   "inline values or one __dict__ slot); {op} would change it (use set_attr)",
}


def is_keyed_slot(kind: Kind, index: int) -> bool:
    """True when slot ``index`` of a ``kind`` object holds a key, a name or a set element."""
    return kind is Kind.SET or (kind in PAIRED and index % 2 == 0)


class LayoutMixin:
    """The one-at-a-time layout checks of :class:`~gclab.heap.core.HeapCore`."""

    def _check_mapping(self: HeapCore, d: object) -> int:
        """``d`` as the id of a live dict, frame or module (the objects the dict operations
        of :mod:`gclab.heap.containers` edit); a typed error for anything else."""
        t = self.table
        if type(d) is not int or not N_HEADS <= d < t.top or not t.mv_flags[d] & ALIVE:
            d = self.check_id(d)
        if self.types[t.mv_type_id[d]].kind not in PAIRED:
            raise TypeError(f"{self.describe(d)} is not a dict, frame or module")
        return d

    def instance_slot_range(self: HeapCore, info: TypeInfo) -> tuple[int, int]:
        """The fewest and most slots an instance of ``info`` has on this heap's profile.

        ``__slots__`` first; then, with a ``__dict__``, one slot for a real ``__dict__`` object
        (≤3.10 always; 3.11+ once the class's shared keys have run out, else NULL); with inline
        values (3.11+), up to one more per name of the class's shared keys (added as
        attributes are first stored)."""
        base = len(info.slot_names)
        if not info.has_dict:
            return base, base
        if self.profile.instance_dict == "separate":
            return base + 1, base + 1
        return base + 1, base + 1 + len(info.shared_keys)

    def _check_alloc_layout(self: HeapCore, info: TypeInfo, size: int) -> None:
        """LayoutError unless a new ``info`` object may have ``size`` slots."""
        if info.kind in PAIRED and size % 2:
            raise LayoutError(f"a {info.name} is allocated with an even number of slots "
                              f"(key/value pairs), not {size}")
        if info.kind is Kind.INSTANCE:
            low, high = self.instance_slot_range(info)
            if not low <= size <= high:
                span = f"{low}" if low == high else f"{low} to {high}"
                raise LayoutError(f"an instance of {info.name} has {span} slots on profile "
                                  f"{self.profile.name}, not {size}")

    def _check_resize(self: HeapCore, oid: int, info: TypeInfo, op: str) -> None:
        """LayoutError if ``op`` (append_slot, insert_slot, delete_slot) would change the slot
        count of an object whose layout fixes it."""
        hint = _RESIZE_HINT.get(info.kind)
        if hint is not None:
            raise LayoutError(f"{self.describe(oid)}: {hint.format(op=op)}")

    def _check_store(self: HeapCore, oid: int, info: TypeInfo, index: int, value: int,
                    *, new_slot: bool = False, unique: bool = True) -> None:
        """LayoutError / DuplicateKeyError unless ``value`` may go to slot ``index`` of ``oid``
        (``new_slot``: it is inserted there rather than replacing what is there; ``unique``:
        check that a key is not already present)."""
        kind = info.kind
        if is_keyed_slot(kind, index):
            self._check_key(oid, info, index, value, new_slot=new_slot, unique=unique)
        elif kind is Kind.INSTANCE and info.has_dict and index == len(info.slot_names):
            if value != NULL and (value < 0 or self.type_of(value).kind is not Kind.DICT):
                raise LayoutError(f"{self.describe(oid)}: slot {index} holds the instance's "
                                  f"__dict__ (a dict or NULL), not {self.describe_code(value)}")

    def _check_key(self: HeapCore, oid: int, info: TypeInfo, index: int, value: int,
                   *, new_slot: bool, unique: bool) -> None:
        if value == NULL:
            return
        what = _member_word(info.kind)
        if info.kind in NAMESPACES:
            if value >= 0 or not isinstance(self.atoms.value(value), str):
                raise LayoutError(f"{self.describe(oid)}: slot {index} is a name; names are "
                                  f"str atoms (heap.atom('x')) or NULL, not "
                                  f"{self.describe_code(value)}")
        elif info.kind is Kind.DICT and value >= 0 and self.type_of(value).kind in UNHASHABLE:
            raise LayoutError(f"{self.describe(oid)}: unhashable type: "
                              f"'{self.type_of(value).name}' ({self.describe(value)}) cannot be "
                              f"a {what}")
        other = self._find_member(oid, info, value, skip=-1 if new_slot else index)
        if unique and other >= 0:
            raise self._duplicate_error(oid, info, index, value, other)

    def _find_member(self: HeapCore, oid: int, info: TypeInfo, value: int, *,
                    skip: int = -1) -> int:
        """The slot of ``oid`` other than ``skip`` holding ``value`` as a key, name or set
        element, or -1."""
        slots = self.table.slots(oid)
        step = 1 if info.kind is Kind.SET else 2
        hits = np.flatnonzero(slots[::step] == value) * step
        hits = hits[hits != skip]
        return int(hits[0]) if len(hits) else -1

    def _duplicate_error(self: HeapCore, oid: int, info: TypeInfo, index: int, value: int,
                        other: int) -> DuplicateKeyError:
        """The error for storing ``value`` at ``index`` while slot ``other`` holds it."""
        what = _member_word(info.kind)
        return DuplicateKeyError(
            f"{self.describe(oid)}: {self.describe_code(value)} is already a {what} (slot "
            f"{other}); storing it at slot {index} would make it appear twice"
            + (" (dict_set replaces a value)" if info.kind in PAIRED else ""))


def _member_word(kind: Kind) -> str:
    return {Kind.SET: "set element", Kind.DICT: "dict key"}.get(kind, "name")


__all__ = ["FIXED", "NAMESPACES", "PAIRED", "UNHASHABLE", "LayoutMixin", "is_keyed_slot"]
