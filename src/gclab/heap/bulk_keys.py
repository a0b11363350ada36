"""The key rules of a ``set_slots`` batch checked vectorised, for batches that store keys
into big containers (:mod:`gclab.heap.bulk`).

The compiled pass (:func:`gclab.heap._jit_bulk.check_keys`) checks the key rules of a batch
by scanning each container it stores a key into; past :data:`gclab.heap.bulk.KEY_SCAN_LIMIT`
key slots that scan would be quadratic, and these numpy passes check the batch instead:
hashable dict keys, str names, and keys unique over batch time (each key present in an object
is an interval of batch time; an entry clashes when an interval of the same object and key
spans it), all in sorted searches. Both give the same first bad entry and error
(``tests/test_bulk_kernels.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .args import INT32_MIN
from .rules import NAMESPACES, PAIRED, UNHASHABLE
from .table import N_HEADS, NULL
from .types import K_DICT, K_SET, Kind, TypeRegistry, type_arrays

if TYPE_CHECKING:
    from .bulk import _Column
    from .core import HeapCore

IDs = npt.NDArray[np.int32]
Mask = npt.NDArray[np.bool_]


# -- per-type arrays (indexed by type id) -----------------------------------------------------


def _code_set(kinds: frozenset[Kind]) -> list[int]:
    return [int(k) for k in kinds]


def _layout_arrays(types: TypeRegistry) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]:
    """Per type id: the kind's code, and the slot of an instance's ``__dict__`` (-1: none),
    which only a dict or NULL may fill (``LayoutMixin._check_store``, on every profile)."""
    kinds, _ = type_arrays(types)
    dict_slot = np.array([len(info.slot_names) if info.kind is Kind.INSTANCE and info.has_dict
                          else -1 for info in types.types], np.int32)
    return kinds, dict_slot


def first_layout_fault(heap: HeapCore, ids_c: _Column, idx_c: _Column, val_c: _Column,
                       end: int) -> tuple[int, tuple[int, int] | None]:
    """The first of entries ``0 .. end-1`` (all good but for the key rules) that breaks a
    layout rule, else ``end``; and the entry storing a duplicate key with the slot that
    holds it (or None)."""
    ids, indices, values = ids_c.codes[:end], idx_c.codes[:end], val_c.codes[:end]
    kinds, dict_slot = layout_arrays(heap)
    kind = kinds[heap.table.type_id[ids]]
    layout_ok, duplicate = _layout_mask(heap, ids, indices, values, kind,
                                        np.ones(end, bool), dict_slot, ids)
    faults = np.flatnonzero(~layout_ok)
    return (int(faults[0]) if len(faults) else end), duplicate


def _layout_mask(heap: HeapCore, ids: IDs, indices: IDs, values: IDs,
                 kind: npt.NDArray[np.uint8], ok: Mask, dict_slot: npt.NDArray[np.int32],
                 safe: npt.NDArray[Any]) -> tuple[Mask, tuple[int, int] | None]:
    """The entries the layout rules allow (see :mod:`gclab.heap.rules`), and the first
    entry that would store a duplicate key, name or element (with the slot holding it)."""
    good = np.ones(len(ids), bool)
    keyed = ok & ((kind == K_SET)
                  | (np.isin(kind, _code_set(PAIRED)) & (indices % 2 == 0)))
    if keyed.any():
        good &= _keys_ok(heap, values, kind, keyed)
    duplicate = None
    unique = keyed & good & (values != NULL)
    if unique.any():
        duplicate = _first_duplicate(heap, ids, indices, values, keyed & good, unique)
        if duplicate is not None:
            good[duplicate[0]] = False
    own_dict = ok & (dict_slot[heap.table.type_id[safe]] == indices)
    if own_dict.any():
        good &= ~own_dict | (values == NULL) | _kind_is(heap, values, ok, Kind.DICT)
    return good, duplicate


def layout_arrays(heap: HeapCore) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]:
    """Per type id: its kind's code and its ``__dict__`` slot (cached)."""
    return heap.types.derived("bulk.layout", _layout_arrays)


def _kind_is(heap: HeapCore, values: IDs, ok: Mask, *kinds: Kind) -> Mask:
    """Entries whose value is a (valid) id of one of ``kinds``."""
    t = heap.table
    is_id = ok & (values >= 0)
    codes, _ = layout_arrays(heap)
    value_kind = codes[t.type_id[np.where(is_id, values, N_HEADS)]]
    return is_id & np.isin(value_kind, _code_set(frozenset(kinds)))


def _keys_ok(heap: HeapCore, values: IDs, kind: npt.NDArray[np.uint8],
             keyed: Mask) -> Mask:
    """Keyed entries: hashable dict keys, str names (NULL is always fine)."""
    good = np.ones(len(values), bool)
    names = keyed & np.isin(kind, _code_set(NAMESPACES)) & (values != NULL)
    keys = keyed & (kind == K_DICT)
    good &= ~(keys & _kind_is(heap, values, keys, *UNHASHABLE))
    if names.any():  # the distinct name codes are few: each is looked at once
        codes = np.unique(values[names])
        is_str = np.array([c <= -2 and isinstance(heap.atoms.value(c), str)
                           for c in codes.tolist()], bool)
        good[names] &= is_str[np.searchsorted(codes, values[names])]
    return good


def _first_duplicate(heap: HeapCore, ids: IDs, indices: IDs, values: IDs, stores: Mask,
                     queries: Mask) -> tuple[int, int] | None:
    """The first entry of ``queries`` whose value is, when its turn comes, already a key
    (name, element) of its object at another slot, and that slot; None if there is none.

    ``stores`` are the batch's stores into key slots. Each key present in an object is an
    interval of batch time: an original key until the first store into its slot, a stored
    one from its entry to the next store into the same slot. Entry ``k`` clashes when an
    interval of the same (object, key) starts before ``k`` and ends after it (the interval
    of the slot ``k`` overwrites ends at ``k``). Counted with sorted searches: vectorised.
    """
    t = heap.table
    batch = len(ids)
    entries = np.flatnonzero(stores)
    objs = np.unique(ids[entries])
    # every key slot of the objects the batch stores keys into: (object, slot, key)
    lens = t.ref_len[objs].astype(np.int64)
    kinds, _ = layout_arrays(heap)
    step = np.where(kinds[t.type_id[objs]] == K_SET, 1, 2)
    n_keys = (lens + step - 1) // step
    owner = np.repeat(objs.astype(np.int64), n_keys)
    first = np.cumsum(n_keys) - n_keys
    slot = (np.arange(int(n_keys.sum())) - np.repeat(first, n_keys)) * np.repeat(step, n_keys)
    key = t.pool[t.ref_start[owner].astype(np.int64) + slot].astype(np.int64)
    # when each slot is stored into: sort the stores by (object, slot, entry)
    s_obj, s_slot = ids[entries].astype(np.int64), indices[entries].astype(np.int64)
    order = np.lexsort((entries, s_slot, s_obj))
    s_pair = (s_obj << 32 | s_slot)[order]
    s_time = entries[order]
    s_next = np.full(len(order), batch + 1, np.int64)
    same = s_pair[1:] == s_pair[:-1]
    s_next[:-1][same] = s_time[1:][same]
    o_pair = owner << 32 | slot
    where = np.searchsorted(s_pair, o_pair)
    hit = where < len(s_pair)
    hit[hit] = s_pair[where[hit]] == o_pair[hit]
    o_end = np.where(hit, s_time[np.minimum(where, len(s_time) - 1)], batch + 1)
    # intervals (object, key, start, end, slot); NULL is no key
    i_obj = np.concatenate((owner, s_obj[order]))
    i_key = np.concatenate((key, values[entries][order].astype(np.int64)))
    i_start = np.concatenate((np.full(len(owner), -1), s_time))
    i_end = np.concatenate((o_end, s_next))
    i_slot = np.concatenate((slot, s_slot[order]))
    present = i_key != NULL
    i_obj, i_key, i_start, i_end, i_slot = (a[present] for a in
                                            (i_obj, i_key, i_start, i_end, i_slot))
    q = np.flatnonzero(queries)
    q_group = ids[q].astype(np.int64) << 32 | (values[q].astype(np.int64) - INT32_MIN)
    i_group = i_obj << 32 | (i_key - INT32_MIN)
    _, rank = np.unique(np.concatenate((i_group, q_group)), return_inverse=True)
    i_rank, q_rank = rank[: len(i_group)], rank[len(i_group):]
    width = batch + 3
    starts = np.sort(i_rank * width + i_start + 1)
    ends = np.sort(i_rank * width + i_end + 1)
    base = q_rank * width
    at = base + q + 1
    began = np.searchsorted(starts, at) - np.searchsorted(starts, base)
    ended = np.searchsorted(ends, at, side="right") - np.searchsorted(ends, base)
    clash = np.flatnonzero(began > ended)
    if not len(clash):
        return None
    k = int(q[clash[0]])
    rk = q_rank[clash[0]]
    holder = np.flatnonzero((i_rank == rk) & (i_start < k) & (i_end > k))
    return k, int(i_slot[holder[0]])


__all__ = ["first_layout_fault", "layout_arrays"]
