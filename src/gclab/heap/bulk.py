"""The bulk API: build and change heaps from numpy arrays without a Python call per reference.

Three operations, each validated *entirely* before anything changes (a bad entry anywhere
rejects the whole batch with the error the one-at-a-time call would raise for the first bad
entry, plus a note naming its position; the heap is unchanged):

``alloc_many(type, count, size)``
    Exactly ``count`` calls of :meth:`~gclab.heap.core.HeapCore.alloc`, in order: same ids, same
    tracking (placed by the collector in order, dicts untracked), same accounting and the same
    automatic collections at the same moments. Runs of allocations that cannot trigger anything
    are done in bulk; the allocation that may trigger a collection goes through ``alloc``
    itself, unless the collector can make the rows and run the collections they trigger in
    one compiled call (``observer.bulk_alloc_compiled``: CPython's collector when no user code
    can run, :mod:`gclab.collectors.cpython.bulk_alloc`).

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

Inputs are one-dimensional integer arrays (or sequences of ints); int32 arrays are used as
they are. Every entry is range-checked before any cast: an id, index or value outside int32 is
a bad entry like any other, rejected with the error the one-at-a-time call raises for it (a
``bool`` in a list is a TypeError, as for ``set_slot``). The layout rules of
:mod:`gclab.heap.rules` apply to ``set_slots`` entry by entry, in batch order (a dict key stored
by an earlier entry is present for the later ones).

Each call is one compiled pass (:mod:`gclab.heap._jit_bulk`) that checks the whole batch
first and works only if it is good; no array of the batch's length is made but the
overwritten ids ``set_slots`` releases at the end (every overwritten value while a listener
hears them). Contiguous int32 arrays are taken as they are, and so is one value broadcast
(``np.broadcast_to``: no memory at all); a strided int32 view is copied once (each layout is
another compilation of the passes).

With ``GCLAB_DEBUG=2`` the invariants are checked once after a batch instead of after every
element.

Mutation listeners (:mod:`gclab.heap.mutation`) hear a batch as the one-at-a-time calls would
tell it: ``alloc_many`` an ``alloc`` and an ``incref`` per object, ``set_slots`` one
``store_many`` (the kernel's writes, in batch order, before any overwritten reference is
released), ``decref_many`` a ``decref`` per entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import HeapFullError, RefcountUnderflowError
from . import _jit_bulk, pages
from .args import INT32_MAX, INT32_MIN, as_count, is_int
from .bulk_keys import first_layout_fault, layout_arrays
from .flags import ALIVE, TRACKED
from .invariants import debug_check
from .table import N_HEADS
from .types import (
    DICT,
    Kind,
    TypeInfo,
    type_arrays,
)

if TYPE_CHECKING:
    from .core import HeapCore

IDs = npt.NDArray[np.int32]
Mask = npt.NDArray[np.bool_]

# An int32 code that is invalid as an id (below N_HEADS), an index (negative) and a value (an
# atom code past any atom table): what an entry that does not fit int32 becomes.
_BAD = INT32_MIN

# decref_pass's statuses
_NOT_LIVE, _OVERDRAWN, _NEED_KEPT, _CHECKED = range(4)
_NO_OWNERS = np.empty(0, np.int32)
_NO_NAMES = np.empty(0, np.bool_)  # set_slots_pass asks for the names' table when it needs it
#: Key slots per object up to which set_slots checks uniqueness by scanning the object (in
#: the compiled pass); a batch that stores keys into a bigger one is checked vectorised.
KEY_SCAN_LIMIT = 64


class _Column:
    """One bulk input as int32 codes (bad entries as ``_BAD``) and the caller's entries, so
    that the error for a bad entry is raised from its exact original value."""

    __slots__ = ("codes", "original")

    def __init__(self, codes: IDs, original: Sequence[Any] | npt.NDArray[Any]) -> None:
        self.codes = codes
        self.original = original

    def __len__(self) -> int:
        return len(self.codes)

    def entry(self, k: int) -> object:
        """Entry ``k`` as the caller gave it (a Python int for numpy integer entries)."""
        value = self.original[k]
        return int(value) if isinstance(value, np.integer) else value


def _column(values: object, what: str) -> _Column:
    """``values`` as int32 codes, every entry range-checked before the cast."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {array.shape}")
    if array.dtype == np.int32:
        if array.strides[0] not in (0, 4):  # a strided view: one layout fewer to compile
            return _Column(np.ascontiguousarray(array), array)
        return _Column(array, array)  # contiguous, or one value broadcast: as it is
    if array.dtype == object or (isinstance(values, (list, tuple))
                                 and array.dtype.kind not in "iu"):
        # ints beyond 64 bits, bools, or a mix numpy made floats or strings of: one by one
        return _object_column(np.asarray(values, dtype=object))
    if array.size and array.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integers, got dtype {array.dtype}")
    codes = _narrow(array)
    if isinstance(values, (list, tuple)) and array.size:
        kinds = set(map(type, values))
        if bool in kinds or np.bool_ in kinds:  # np.asarray made them 0 and 1
            codes[np.fromiter(map(_is_bool, values), bool, len(values))] = _BAD
        return _Column(codes, values)
    return _Column(codes, array)


def _narrow(array: npt.NDArray[Any]) -> IDs:
    """An integer array as int32 (one conversion), entries outside int32 replaced by ``_BAD``.
    The range is checked with two reductions; a mask is made only when an entry is outside."""
    if array.dtype.itemsize < 4 or (array.dtype.kind == "i" and array.dtype.itemsize == 4):
        return array.astype(np.int32)
    if not array.size or (int(array.max()) <= INT32_MAX
                          and (array.dtype.kind == "u" or int(array.min()) >= INT32_MIN)):
        return array.astype(np.int32)
    bad = array > INT32_MAX
    if array.dtype.kind == "i":
        bad |= array < INT32_MIN
    codes = np.where(bad, 0, array).astype(np.int32)
    codes[bad] = _BAD
    return codes


def _is_bool(value: object) -> bool:
    return isinstance(value, (bool, np.bool_))


def _object_column(array: npt.NDArray[Any]) -> _Column:
    """Python objects (ints too large for numpy, mixed types): converted one by one."""
    codes = np.fromiter(
        (int(v) if is_int(v) and INT32_MIN <= v <= INT32_MAX else _BAD for v in array),
        np.int32, len(array))
    return _Column(codes, array)


def _reject(heap: HeapCore, position: int, check: Callable[[], object]) -> None:
    """Re-run the one-at-a-time check of the first bad entry: it raises the same error."""
    try:
        check()
    except Exception as exc:
        exc.add_note(f"(entry {position} of the batch; nothing was changed)")
        raise
    raise AssertionError("a batch entry was rejected but its check passed")  # pragma: no cover


class BulkMixin:
    """Bulk operations for :class:`~gclab.heap.core.HeapCore` (see the module docstring)."""

    # -- alloc_many ------------------------------------------------------------------------------

    def alloc_many(self: HeapCore, type_ref: str | int | TypeInfo, count: int,
                   size: int = 0) -> IDs:
        """``count`` new objects of one type with ``size`` empty slots each, as ``count`` calls
        of :meth:`alloc`; returns their ids in allocation order (int32).

        Afterwards each new object has refcount 1 (one external reference held by the caller),
        non-dict GC objects are tracked, placed by the collector in allocation order (CPython's:
        at the tail of gen0), the collector accounted for every GC allocation and every
        automatic collection a loop of ``alloc`` would have run has run at the same point.


        Everything is checked first (the layout's size rule, ``count * size`` against the
        pool's limit, the ids against int32: :class:`~gclab.errors.HeapFullError`), then the
        rows, the pool and every temporary array are allocated, and only then is anything
        counted or made: a MemoryError leaves the heap exactly as it was. (User code run by a
        collection the batch triggers may take that room: after each such collection it is
        checked and made again, so a HeapFullError or MemoryError may then come as from the
        loop of ``alloc``; what the batch made before then stays made.)"""
        info = self.resolve_type(type_ref)
        count, size = as_count(count, "count"), as_count(size, "size")
        if info.kind is Kind.WEAKREF:
            raise TypeError("weak references are made with new_weakref()")
        if info.kind is Kind.TUPLE and size == 0:
            return self._empty_tuples(count)
        self._check_size(info, size)
        t = self.table
        t.check_room(count, count * size)
        out = pages.empty(count, np.int32)
        t.reserve_rows(count)
        t.reserve_pool(count * size)
        done = 0
        while done < count:
            if done:  # a collection's user code may have taken the room: make it again
                left = count - done
                t.check_room(left, left * size)
                t.reserve_rows(left)
                t.reserve_pool(left * size)
            compiled = getattr(self.observer, "bulk_alloc_compiled", None)  # optional
            if compiled is not None:
                done = compiled(info, size, out, done)
                if done == count:
                    break
            quiet = self._quiet_allocations(info, size, count - done)
            if quiet:
                self._rows_many(info, size, out[done : done + quiet])
                done += quiet
            if done < count:
                out[done] = self.alloc(info, size)  # may trigger a collection: the real thing
                done += 1
        debug_check(self, 2)
        return out

    def _row_after_count(self: HeapCore, info: TypeInfo, size: int) -> int:
        """The rest of an ``alloc`` of a GC-capable ``info`` whose count and collection are
        done (``_new_object`` after ``before_gc_alloc``, then the external reference): a new
        row with ``size`` NULL slots, tracked unless a dict, held once. Returns its id."""
        t = self.table
        oid = t.new_row(info.type_id, size)  # grows if user code took the room
        if self._watched:
            self._tell_alloc(oid, info.type_id, size)
        if info.kind is not Kind.DICT:
            self.track(oid)
        self.take_external(oid)
        return oid

    def _empty_tuples(self: HeapCore, count: int) -> IDs:
        """``count`` references to the shared empty tuple."""
        t, oid = self.table, self.empty_tuple
        if int(t.refcnt[oid]) + count > INT32_MAX:
            raise HeapFullError(f"{self.describe(oid)} would have more than {INT32_MAX} "
                                f"references (int32)")
        out = np.full(count, oid, np.int32)
        t.refcnt[oid] += count
        t.extern[oid] += count
        if self._watched:
            self._tell_increfs(oid, count)
        return out

    def _quiet_allocations(self: HeapCore, info: TypeInfo, size: int, wanted: int) -> int:
        """How many of the next ``wanted`` allocations trigger nothing; they are counted."""
        if not info.gc_capable:
            return wanted
        return int(self.observer.bulk_gc_alloc(info, size, wanted))

    def _rows_many(self: HeapCore, info: TypeInfo, size: int, out: IDs) -> None:
        """``len(out)`` rows as calls of new_row (same ids), refcount 1, tracked like alloc;
        their ids go to ``out``. Room exists: nothing here allocates an array.

        Freed ids come first (written one by one, compiled); the rest are the fresh range
        ``top, top + 1, ...``, whose rows and pool slices are contiguous: written as slices."""
        t = self.table
        count = len(out)
        reused = t.free_ids.pop_into(out)
        tracked = info.gc_capable and info.kind is not Kind.DICT
        flag = ALIVE | TRACKED if tracked else ALIVE
        start = t.pool_top
        if reused:
            _jit_bulk.init_rows_at(out[:reused], t.type_id, t.flags, t.refcnt, t.extern,
                                   t.gc_next, t.gc_prev, t.gc_refs, t.ref_start, t.ref_len,
                                   t.ref_cap, info.type_id, flag, size, start)
            for name, column in t._extra.items():  # per-collector columns start at their fill
                column[out[:reused]] = t._fills[name]
        if reused < count:
            self._fresh_rows(info.type_id, flag, size, count - reused, start + reused * size)
            fresh = out[reused:]
            fresh.fill(1)
            fresh[0] = t.top
            np.cumsum(fresh, out=fresh)
            t.top += count - reused
        t.pool_top += count * size  # the slices past pool_top are NULL already
        t.live += count
        if tracked:
            self.observer.place_many(out)
        if self._watched:
            self._tell_rows(out, info.type_id, size)

    def _fresh_rows(self: HeapCore, tid: int, flag: int, size: int, count: int,
                    pool_start: int) -> None:
        """Rows ``top .. top + count - 1`` made as :func:`_jit_bulk.init_rows_at` makes them
        (slices of ``size`` slots from ``pool_start`` on; empty objects keep ``ref_start``
        0), column by column.

        Rows past ``top`` hold every column's fill already (nothing writes them before they
        are made; growth fills them; ``check_invariants`` checks it), so only the columns
        whose new value differs are written: the first write of a page is most of a big
        build's time (:mod:`gclab.heap.pages`), and np.zeros' pages are not written at all
        until used (``gc_refs``, the links of an untracked row, ``ref_len``/``ref_cap`` of
        empty objects, collector columns)."""
        t = self.table
        rows = slice(t.top, t.top + count)
        t.type_id[rows] = tid
        t.flags[rows] = flag
        t.refcnt[rows] = 1
        t.extern[rows] = 1
        if size:
            t.ref_len[rows] = size
            t.ref_cap[rows] = size
            starts = t.ref_start[rows]
            starts.fill(size)
            starts[0] = pool_start
            np.cumsum(starts, dtype=np.uint32, out=starts)
        # an empty object's ref_start says nothing (its capacity is 0: no slice, nothing
        # reads it, a growth gives it a new slice): fresh empty rows keep the fill, 0

    # -- set_slots -------------------------------------------------------------------------------

    def set_slots(self: HeapCore, ids: object, indices: object, values: object) -> None:
        """Store ``values[k]`` in slot ``indices[k]`` of ``ids[k]`` for every ``k``, in order,
        then drop the overwritten references in batch order (see the module docstring).

        Afterwards every slot holds its last value of the batch, each stored reference is
        counted, dicts that received a may-be-tracked value are tracked, and the overwritten
        references have been released (deallocating what they kept alive).

        One compiled call checks every entry, the key rules included, and, if all are good,
        does the stores (:func:`~gclab.heap._jit_bulk.set_slots_pass`); only a batch that
        stores keys into a container of more than :data:`KEY_SCAN_LIMIT` key slots has the
        key rules checked in between, vectorised."""
        ids_c, idx_c, val_c = (_column(ids, "ids"), _column(indices, "indices"),
                               _column(values, "values"))
        n = len(ids_c)
        if not n == len(idx_c) == len(val_c):
            raise ValueError(f"ids, indices and values differ in length: "
                             f"{n}, {len(idx_c)}, {len(val_c)}")
        if not n:
            return
        olds = np.empty(n if self._watched else 0, np.int32)
        status, bad, slot, dropped, n_dropped, tracked, placed = self._store_pass(
            ids_c, idx_c, val_c, olds, _NO_NAMES)
        if status == _jit_bulk.KEYS_NEED_NAMES:
            status, bad, slot, dropped, n_dropped, tracked, placed = self._store_pass(
                ids_c, idx_c, val_c, olds, self._name_table(val_c.codes))
        duplicate = (bad, slot) if slot >= 0 else None
        if status == _jit_bulk.KEYS_VECTORISED:  # big containers: the key rules vectorised
            bad, duplicate = first_layout_fault(self, ids_c, idx_c, val_c, bad)
            if bad == n:
                _, _, _, dropped, n_dropped, tracked, placed = self._store_pass(
                    ids_c, idx_c, val_c, olds, _NO_NAMES, layout_checked=True)
        if bad < n:
            self._reject_store(ids_c, idx_c, val_c, bad, duplicate)
        with self.operation():
            if placed:
                self.observer.place_many(tracked[:placed])
            if self._watched:  # the kernel's writes, told before any old value is released
                self._tell_stores(ids_c.codes, idx_c.codes, olds, val_c.codes)
            self._drop_all(dropped[:n_dropped], external=False)

    def _store_pass(self: HeapCore, ids_c: _Column, idx_c: _Column, val_c: _Column,
                    olds: IDs, name_ok: Mask, *, layout_checked: bool = False
                    ) -> tuple[Any, ...]:
        """:func:`~gclab.heap._jit_bulk.set_slots_pass` on this heap's arrays."""
        t = self.table
        kinds, gc_capable = type_arrays(self.types)
        _, dict_slot = layout_arrays(self)
        atoms = self.atoms
        atom_live = atoms._live[: len(atoms._values)]  # per atom index: interned now
        return _jit_bulk.set_slots_pass(
            t.pool, t.ref_start, t.ref_len, t.refcnt, t.type_id, t.flags, t.top, kinds,
            gc_capable, dict_slot, atom_live, name_ok, ids_c.codes, idx_c.codes, val_c.codes,
            layout_checked, KEY_SCAN_LIMIT, olds, DICT)

    def _name_table(self: HeapCore, values: IDs) -> Mask:
        """Per atom index: True for the str atoms among ``values`` (the others, and atoms
        not in ``values``, False): what the compiled check reads to see that a name is a str.
        Each distinct atom of the batch is looked at once."""
        atoms = self.atoms
        table = np.zeros(max(len(atoms._values), 1), bool)
        codes = np.unique(values[values <= -2])
        codes = codes[-2 - codes.astype(np.int64) < len(atoms._values)]
        for code in codes.tolist():
            if atoms._live[-2 - code] and isinstance(atoms.value(code), str):
                table[-2 - code] = True
        return table

    def _reject_store(self: HeapCore, ids_c: _Column, idx_c: _Column, val_c: _Column, k: int,
                      duplicate: tuple[int, int] | None) -> None:
        """Raise set_slot's error for entry ``k`` (the batch's first bad one), with a note."""
        oid, index, value = ids_c.entry(k), idx_c.entry(k), val_c.entry(k)

        def check() -> None:
            checked = self.check_id(oid)
            info = self._check_slotted(checked)
            at = self._check_index(checked, index)
            code = self.check_value(value)
            if duplicate is not None and duplicate[0] == k:
                self._check_store(checked, info, at, code, unique=False)
                raise self._duplicate_error(checked, info, at, code, duplicate[1])
            self._check_store(checked, info, at, code)
        _reject(self, k, check)

    def _alive_mask(self: HeapCore, ids: npt.NDArray[np.integer]) -> Mask:
        """Per entry: a live id (vectorised ``check_id``; the sweep of heap/deferred.py)."""
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
        object than it has external ones it may drop (:meth:`_kept_refs`: static references
        and live proxies' are never dropped). Afterwards each count went down by its number of
        occurrences and every object that reached zero was deallocated at its turn.

        One compiled pass (:func:`~gclab.heap._jit_bulk.decref_pass`) checks the batch and
        does its drops up to the first that reaches zero; the kept references are asked for
        only for the ids in the batch that may have some."""
        column = _column(ids, "ids")
        codes = column.codes
        t = self.table
        owners = self._kept_owners()
        kept = np.full(len(owners), -1, np.int32)
        status, k = _jit_bulk.decref_pass(t.flags, t.top, t.refcnt, t.extern, codes, owners,
                                          kept)
        if status == _NEED_KEPT:
            asked = np.flatnonzero(kept == -2)
            kept[kept < 0] = 0
            kept[asked] = self._kept_refs_many(owners[asked])
            status, k = _jit_bulk.decref_pass(t.flags, t.top, t.refcnt, t.extern, codes,
                                              owners, kept)
        if status == _NOT_LIVE:
            _reject(self, k, lambda: self.check_id(column.entry(k)))
        if status == _OVERDRAWN:
            oid = int(codes[k])
            keep, why = self._kept_refs(oid)
            raise RefcountUnderflowError(
                f"{self.describe(oid)} has {int(t.extern[oid]) - keep} external reference(s) "
                f"the caller may drop{why}; the batch drops one more at entry {k} (nothing "
                f"was changed)")
        if self._watched:
            self._tell_decrefs(codes[:k])
        if k < len(codes):
            self.decref(int(codes[k]))
            self._drop_all(codes, external=True, start=k + 1)
        debug_check(self, 2)

    def _kept_owners(self: HeapCore) -> npt.NDArray[np.int32]:
        """Sorted, the ids that may have external references :meth:`_kept_refs` keeps (static
        references, live proxies, proxies whose release is deferred); every other id keeps
        none."""
        owners = [*self.static_refs, *self._deferred_releases,
                  *getattr(self, "_proxies", ())]
        if not owners:
            return _NO_OWNERS
        return np.array(sorted(set(owners)), np.int32)

    def _drop_all(self: HeapCore, codes: IDs, *, external: bool, start: int = 0) -> None:
        """Drop ``codes[start:]`` in order: runs that stay above zero in bulk, the rest one by
        one."""
        t = self.table
        k = start
        while k < len(codes):
            run = k
            k = int(_jit_bulk.drop_run(t.refcnt, t.extern, codes, k, external))
            if external and self._watched:
                self._tell_decrefs(codes[run:k])
            if k < len(codes):
                if external:
                    self.decref(int(codes[k]))
                else:
                    self.release(int(codes[k]))
                k += 1


__all__ = ["BulkMixin"]
