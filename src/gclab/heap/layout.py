"""Per-kind layouts: the order in which each type visits (traverse) and releases references.

These orders are observable (``gc.get_referents``, the reordering done by ``move_unreachable``,
which ``__del__`` runs first in a deallocation cascade) and follow spec §7.1 (CPython 3.11).
"""

from __future__ import annotations

from .atoms import AtomTable
from .table import NULL, ObjectTable
from .types import Kind, TypeInfo


def traverse_codes(table: ObjectTable, atoms: AtomTable, info: TypeInfo, oid: int) -> list[int]:
    """The values ``tp_traverse`` visits, in CPython's order (atoms included, NULLs skipped).

    list/tuple: items last to first; dict: per entry value then key, but keys are not visited
    when every key is a str (a unicode-keys table); set: elements; instance: slots, then inline
    values or the ``__dict__``; weakref: nothing the heap holds (its callback is host code).
    """
    values = table.slot_list(oid)
    kind = info.kind
    if kind in (Kind.LIST, Kind.TUPLE):
        out = values[::-1]
    elif kind is Kind.DICT:
        keys, vals = values[0::2], values[1::2]
        unicode_keys = all(k <= -2 and isinstance(atoms.value(k), str) for k in keys)
        out = []
        for k, v in zip(keys, vals, strict=False):
            out.append(v)
            if not unicode_keys:
                out.append(k)
    elif kind in (Kind.FRAME, Kind.MODULE):
        out = values[1::2]
    else:
        out = values
    return [v for v in out if v != NULL]


def gc_referents(table: ObjectTable, info: TypeInfo, oid: int) -> list[int]:
    """The object ids (no atoms, no NULLs) visited by traverse, in traverse order."""
    values = table.slot_list(oid)
    kind = info.kind
    if kind in (Kind.LIST, Kind.TUPLE):
        values.reverse()
    elif kind is Kind.DICT:
        # value then key per entry; atoms (str keys) drop out below
        values = [x for pair in zip(values[1::2], values[0::2], strict=False) for x in pair]
    return [v for v in values if v >= 0]


def release_order(info: TypeInfo, values: list[int]) -> list[int]:
    """The order in which a dealloc (or tp_clear) drops the references in ``values``."""
    if info.kind in (Kind.LIST, Kind.TUPLE):
        return values[::-1]
    return values
