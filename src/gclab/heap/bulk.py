"""The bulk API: build and change heaps from numpy arrays without a Python call per reference.

Three operations, each validated *entirely* before anything changes (a bad entry anywhere
rejects the whole batch with the error the one-at-a-time call would raise for the first bad
entry, plus a note naming its position; the heap is unchanged):

``alloc_many(type, count, size)``
    Exactly ``count`` calls of :meth:`~gclab.heap.core.HeapCore.alloc`, in order: same ids, same
    tracking (gen0 tail, dicts untracked), same ``count[0]`` and the same automatic collections
    at the same moments. Runs of allocations that cannot trigger anything are done in bulk; the
    allocation that may trigger a collection goes through ``alloc`` itself.
``set_slots(ids, indices, values)``
    Stores ``values[k]`` in slot ``indices[k]`` of ``ids[k]`` for every ``k`` in order (each new
    reference held, the dict tracking rule applied), **then** drops the overwritten references
    in batch order, like CPython's slice assignment (``list_ass_slice`` keeps the old items in a
    recycle array and releases them at the end). Compared with a loop of ``set_slot`` only the
    moment of deallocations caused by overwritten references differs: they happen after all the
    stores, so no entry of the batch can be freed before it is used. The batch is one heap
    operation (one safe point, at the end).
``decref_many(ids)``
    Exactly ``len(ids)`` calls of :meth:`~gclab.heap.core.HeapCore.decref`, in order. Drops that
    leave the count above zero are done in bulk; a drop to zero goes through ``decref`` (the
    cascade, finalizers and the safe point that follows).

With ``GCLAB_DEBUG=2`` the invariants are checked once after a batch instead of after every
element.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..errors import RefcountUnderflowError
from ..kernels import K_TUPLE, jit, type_arrays
from .flags import ALIVE, TRACKED
from .invariants import debug_check
from .table import GEN0, N_HEADS, NULL
from .types import DICT, Kind, TypeInfo

if TYPE_CHECKING:
    from .core import HeapCore

IDs = npt.NDArray[np.int32]


def _as_int_array(values: object, what: str) -> npt.NDArray[np.int64]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {array.shape}")
    if array.size and array.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integers, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def _reject(heap: HeapCore, position: int, check: object) -> None:
    """Re-run the one-at-a-time check of the first bad entry: it raises the same error."""
    try:
        check()  # type: ignore[operator]
    except Exception as exc:
        exc.add_note(f"(entry {position} of the batch; nothing was changed)")
        raise
    raise AssertionError("a batch entry was rejected but its check passed")  # pragma: no cover


# -- kernels (their plain twins are the one-at-a-time calls; tests/test_bulk.py compares) ------


@jit
def _store_many(pool, ref_start, refcnt, type_id, flags, gc_next, gc_prev,  # type: ignore[no-untyped-def]
                kinds, gc_capable, ids, indices, values, olds, dict_type):
    for k in range(len(ids)):
        oid = ids[k]
        value = values[k]
        if value >= 0:
            refcnt[value] += 1
        at = np.int64(ref_start[oid]) + indices[k]
        olds[k] = pool[at]
        pool[at] = value
        if type_id[oid] == dict_type and (flags[oid] & TRACKED) == 0 and value >= 0:
            tid = type_id[value]
            if gc_capable[tid] != 0 and (kinds[tid] != K_TUPLE or (flags[value] & TRACKED) != 0):
                last = gc_prev[0]  # GEN0's head is row 0
                gc_next[last] = oid
                gc_prev[oid] = last
                gc_next[oid] = 0
                gc_prev[0] = oid
                flags[oid] |= TRACKED


@jit
def _drop_run(refcnt, extern, codes, start, external):  # type: ignore[no-untyped-def]
    """Drop references ``codes[start:]`` while none reaches zero; the index where one would."""
    for k in range(start, len(codes)):
        code = codes[k]
        if code < 0:
            continue
        if refcnt[code] <= 1:
            return k
        refcnt[code] -= 1
        if external:
            extern[code] -= 1
    return len(codes)


@jit
def _first_overdraw(extern, ids):  # type: ignore[no-untyped-def]
    """The first entry of ``ids`` at which dropping the external references in order would take
    a count below zero, or -1. ``extern`` is counted down and restored: unchanged afterwards."""
    bad = -1
    done = 0
    for k in range(len(ids)):
        left = extern[ids[k]] - 1
        if left < 0:
            bad = k
            break
        extern[ids[k]] = left
        done += 1
    for k in range(done):
        extern[ids[k]] += 1
    return bad


class BulkMixin:
    """Bulk operations for :class:`~gclab.heap.core.HeapCore` (see the module docstring)."""

    # -- alloc_many ------------------------------------------------------------------------------

    def alloc_many(self: HeapCore, type_ref: str | int | TypeInfo, count: int,
                   size: int = 0) -> IDs:
        """``count`` new objects of one type with ``size`` empty slots each, as ``count`` calls
        of :meth:`alloc`; returns their ids in allocation order (int32).

        Afterwards each new object has refcount 1 (one external reference held by the caller),
        non-dict GC objects are tracked at the tail of gen0 in allocation order, ``count[0]``
        went up by the number of GC allocations and every automatic collection a loop of
        ``alloc`` would have run has run at the same point."""
        info = self.resolve_type(type_ref)
        for name, number in (("count", count), ("size", size)):
            if isinstance(number, bool) or not isinstance(number, int | np.integer) or number < 0:
                raise ValueError(f"{name} must be a non-negative int, got {number!r}")
        count, size = int(count), int(size)
        if info.kind is Kind.WEAKREF:
            raise TypeError("weak references are made with new_weakref()")
        out = np.empty(count, np.int32)
        if info.kind is Kind.TUPLE and size == 0:
            out[:] = self.empty_tuple
            self.table.refcnt[self.empty_tuple] += count
            self.table.extern[self.empty_tuple] += count
            return out
        done = 0
        while done < count:
            quiet = self._quiet_allocations(info, size, count - done)
            if quiet:
                out[done : done + quiet] = self._rows_many(info, quiet, size)
                done += quiet
            if done < count:
                out[done] = self.alloc(info, size)  # may trigger a collection: the real thing
                done += 1
        debug_check(self, 2)
        return out

    def _quiet_allocations(self: HeapCore, info: TypeInfo, size: int, wanted: int) -> int:
        """How many of the next ``wanted`` allocations trigger nothing; they are counted."""
        if not info.gc_capable:
            return wanted
        bulk = getattr(self.observer, "bulk_gc_alloc", None)
        if bulk is None:
            return wanted if type(self.observer).__name__ == "_NoCollector" else 0
        return int(bulk(info, size, wanted))

    def _rows_many(self: HeapCore, info: TypeInfo, count: int, size: int) -> IDs:
        """Rows as ``count`` calls of new_row (same ids), refcount 1, tracked like alloc."""
        t = self.table
        reused = min(count, len(t.free_ids))
        ids = np.empty(count, np.int32)
        if reused:
            ids[:reused] = t.free_ids.pop_many(reused)
        fresh = count - reused
        if fresh:
            if t.top + fresh > t.capacity:
                t._grow_rows(t.top + fresh)
            ids[reused:] = np.arange(t.top, t.top + fresh, dtype=np.int32)
            t.top += fresh
        if size and t.pool_top + count * size > len(t.pool):
            t._make_pool_room(count * size)
        starts = t.pool_top + size * np.arange(count, dtype=np.int64)
        t.pool[t.pool_top : t.pool_top + count * size] = NULL
        t.pool_top += count * size
        t.init_rows(ids, info.type_id)
        t.refcnt[ids] = 1
        t.extern[ids] = 1
        t.ref_start[ids] = starts
        t.ref_len[ids] = size
        t.ref_cap[ids] = size
        t.live += count
        if info.gc_capable and info.kind is not Kind.DICT:
            last = int(t.gc_prev[GEN0])
            chain = np.concatenate(([last], ids, [GEN0])).astype(np.int32)
            t.gc_next[chain[:-1]] = chain[1:]
            t.gc_prev[chain[1:]] = chain[:-1]
            t.flags[ids] = ALIVE | TRACKED
        return ids

    # -- set_slots -------------------------------------------------------------------------------

    def set_slots(self: HeapCore, ids: object, indices: object, values: object) -> None:
        """Store ``values[k]`` in slot ``indices[k]`` of ``ids[k]`` for every ``k``, in order,
        then drop the overwritten references in batch order (see the module docstring).

        Afterwards every slot holds its last value of the batch, each stored reference is
        counted, dicts that received a may-be-tracked value are tracked, and the overwritten
        references have been released (deallocating what they kept alive)."""
        ids_a = _as_int_array(ids, "ids")
        idx_a = _as_int_array(indices, "indices")
        val_a = _as_int_array(values, "values")
        if not len(ids_a) == len(idx_a) == len(val_a):
            raise ValueError(f"ids, indices and values differ in length: "
                             f"{len(ids_a)}, {len(idx_a)}, {len(val_a)}")
        self._validate_stores(ids_a, idx_a, val_a)
        if not len(ids_a):
            return
        t = self.table
        kinds, gc_capable = type_arrays(self.types)
        olds = np.empty(len(ids_a), np.int32)
        with self.operation():
            _store_many(t.pool, t.ref_start, t.refcnt, t.type_id, t.flags, t.gc_next,
                        t.gc_prev, kinds, gc_capable, ids_a.astype(np.int32),
                        idx_a.astype(np.int32), val_a.astype(np.int32), olds, DICT)
            self._drop_all(olds, external=False)

    def _validate_stores(self: HeapCore, ids: npt.NDArray[np.int64],
                         indices: npt.NDArray[np.int64], values: npt.NDArray[np.int64]) -> None:
        t = self.table
        alive = self._alive_mask(ids)
        safe = np.where(alive, ids, N_HEADS)
        slotted = np.array([info.kind is not Kind.WEAKREF for info in self.types.types])
        ok = alive & slotted[t.type_id[safe]]
        ok &= (indices >= 0) & (indices < t.ref_len[safe])
        ok &= (values == NULL) | self.atoms.live_codes(values) | self._alive_mask(values)
        if not ok.all():
            k = int(np.flatnonzero(~ok)[0])
            oid, index, value = int(ids[k]), int(indices[k]), int(values[k])

            def check() -> None:
                self.check_id(oid)
                self._check_slotted(oid)
                self._check_index(oid, index)
                self.check_value(value)
            _reject(self, k, check)

    def _alive_mask(self: HeapCore, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        t = self.table
        inside = (ids >= N_HEADS) & (ids < t.top)
        alive = np.zeros(len(ids), bool)
        alive[inside] = (t.flags[ids[inside]] & ALIVE) != 0
        return alive

    # -- decref_many -----------------------------------------------------------------------------

    def decref_many(self: HeapCore, ids: object) -> None:
        """Drop one external reference to each of ``ids``, in order, as ``len(ids)`` calls of
        :meth:`decref`.

        Rejected as a whole if an id is not live or the batch drops more references to an
        object than it has external ones. Afterwards each count went down by its number of
        occurrences and every object that reached zero was deallocated at its turn."""
        ids_a = _as_int_array(ids, "ids")
        t = self.table
        alive = self._alive_mask(ids_a)
        if not alive.all():
            k = int(np.flatnonzero(~alive)[0])
            _reject(self, k, lambda: self.check_id(int(ids_a[k])))
        codes = ids_a.astype(np.int32)
        k = int(_first_overdraw(t.extern, codes))
        if k >= 0:
            oid = int(codes[k])
            raise RefcountUnderflowError(
                f"{self.describe(oid)} has {int(t.extern[oid])} external references; the batch "
                f"drops one more at entry {k} (nothing was changed)")
        self._drop_all(codes, external=True)
        debug_check(self, 2)

    def _drop_all(self: HeapCore, codes: IDs, *, external: bool) -> None:
        """Drop ``codes`` in order: runs that stay above zero in bulk, the rest one by one."""
        t = self.table
        k = 0
        while k < len(codes):
            k = int(_drop_run(t.refcnt, t.extern, codes, k, external))
            if k < len(codes):
                if external:
                    self.decref(int(codes[k]))
                else:
                    self.release(int(codes[k]))
                k += 1


__all__ = ["BulkMixin"]
