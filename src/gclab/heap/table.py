"""The object table: one row per object in parallel numpy columns, references in one pool.

Ids are row numbers. Rows ``0 .. N_HEADS-1`` are list heads (sentinels of the doubly linked
collector lists, like CPython's ``PyGC_Head`` of a generation); objects start at ``N_HEADS``.
The heads belong to no one until a collector reserves some (:meth:`ObjectTable.reserve_heads`):
what its lists mean (generations, scratch lists of a collection) is the collector's business.
Each object owns a slice ``pool[ref_start : ref_start + ref_len]`` of the reference pool, with
room for ``ref_cap`` values. A pool value is an object id (``>= 0``), :data:`NULL` (an empty
slot) or an atom code (``<= -2``, see
:class:`~gclab.heap.atoms.AtomTable`): atoms are never heap objects.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from .. import _jit
from ..errors import HeapError, HeapFullError
from . import _jit_lists
from .columns import ColumnsMixin
from .flags import ALIVE
from .freeids import FreeIds
from .pages import filled
from .pages import grown as _grown  # the name tests/test_columns.py patches

# compiled list walks once the process has switched to compiled helpers (gclab._jit.ACTIVE:
# a large heap); numpy/Python before the switch, under GCLAB_JIT=0, or with _lists None
_lists = _jit_lists if _jit.ENABLED else None

NULL = -1
N_HEADS = 16  # rows set aside as list heads, for collectors to reserve
POOL_LIMIT = 2**32 - 1  # ref_start is uint32
MAX_ID = 2**31 - 1  # ids are int32 (the columns, the pool, the lists)
MAX_SLOTS = 2**31 - 1  # ref_len and ref_cap are int32
SMALL_SLICE = 64  # slices up to this capacity are moved value by value, without numpy

I32 = npt.NDArray[np.int32]

IdStack = FreeIds  # the free-id container's name before ids were reused lowest first


class ObjectTable(ColumnsMixin):
    """Parallel columns of object state plus the reference pool (struct of arrays), and the
    per-collector columns (:mod:`gclab.heap.columns`)."""

    COLUMNS = ("type_id", "flags", "refcnt", "extern", "gc_next", "gc_prev", "gc_refs",
               "ref_start", "ref_len", "ref_cap")
    mv_type_id: memoryview  # the views of refresh_views()
    mv_flags: memoryview
    mv_refcnt: memoryview
    mv_extern: memoryview
    mv_gc_next: memoryview
    mv_gc_prev: memoryview
    mv_gc_refs: memoryview
    mv_ref_start: memoryview
    mv_ref_len: memoryview
    mv_ref_cap: memoryview
    mv_pool: memoryview

    def __init__(self, capacity: int = 1024, pool_capacity: int = 4096) -> None:
        n = max(capacity, N_HEADS + 1)
        # ordinary pages (heap/pages.py); zero-filled columns are not written until used
        self.type_id = filled(n, np.int32, 0)
        self.flags = filled(n, np.uint8, 0)
        self.refcnt = filled(n, np.int32, 0)
        self.extern = filled(n, np.int32, 0)  # references held from outside the heap
        self.gc_next = filled(n, np.int32, NULL)
        self.gc_prev = filled(n, np.int32, NULL)
        self.gc_refs = filled(n, np.int32, 0)  # scratch, valid only during a collection
        self.ref_start = filled(n, np.uint32, 0)  # pool index: up to 2**32 - 1 references
        self.ref_len = filled(n, np.int32, 0)
        self.ref_cap = filled(n, np.int32, 0)
        self.pool = filled(max(pool_capacity, 16), np.int32, NULL)
        self.pool_top = 0  # first never-used pool index
        self.pool_holes = 0  # pool entries owned by no live object
        self.top = N_HEADS  # first never-used id
        self.free_ids = FreeIds()  # freed ids, reused lowest first
        # Called with every freed id, in order, by the Python and the compiled cascade alike
        # (tools and tests that watch deaths, and the heap's mutation listeners' ``free``
        # events, gclab.heap.mutation; empty by default, costing nothing).
        self.free_listeners: list[Callable[[int], None]] = []
        self._init_columns()
        self.refresh_views()
        self.live = 0
        self.heads_reserved = np.zeros(N_HEADS, np.bool_)
        for head in range(N_HEADS):
            self.gc_next[head] = head
            self.gc_prev[head] = head

    # -- rows ---------------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        """Number of rows allocated (used or not)."""
        return len(self.type_id)

    def check_room(self, rows: int, slots: int) -> None:
        """Raise :class:`~gclab.errors.HeapFullError` unless ``rows`` new objects holding
        ``slots`` references in all fit the table's limits (ids below 2**31, at most
        :data:`POOL_LIMIT` references in the pool). Changes nothing."""
        fresh = max(0, rows - len(self.free_ids))
        if self.top + fresh > MAX_ID + 1:
            raise HeapFullError(
                f"{rows} new object(s) would need ids up to {self.top + fresh - 1}; ids are "
                f"int32 (at most {MAX_ID})")
        live_slots = self.pool_top - self.pool_holes
        if live_slots + slots > POOL_LIMIT:
            raise HeapFullError(
                f"the reference pool is full: {live_slots} references in use, {slots} more "
                f"requested, at most {POOL_LIMIT}")

    def reserve_rows(self, rows: int) -> None:
        """Make room for ``rows`` new objects (free ids first, then rows past ``top``).

        Atomic: every new column is allocated before any is replaced, so a MemoryError leaves
        the table exactly as it was."""
        fresh = max(0, rows - len(self.free_ids))
        if self.top + fresh > self.capacity:
            self._grow_rows(self.top + fresh)

    def _grow_rows(self, needed: int) -> None:
        size = min(max(needed, 2 * self.capacity), MAX_ID + 1)
        made = {name: _grown(getattr(self, name), size,
                             NULL if name in ("gc_next", "gc_prev") else 0)
                for name in self.COLUMNS}
        extra = {name: _grown(column, size, self._fills[name])
                 for name, column in self._extra.items()}
        for name, column in made.items():  # nothing can fail from here on
            setattr(self, name, column)
        self._extra.update(extra)
        self.refresh_views()

    # Memoryviews of the columns and the pool, for the one-object paths (the low-level API and
    # the proxies): a memoryview reads and writes Python ints several times faster than numpy
    # scalar indexing. They stay valid only while the arrays they view are the table's:
    # every method that replaces an array (row growth, pool growth and compaction) calls this.
    VIEWED = ("type_id", "flags", "refcnt", "extern", "gc_next", "gc_prev", "gc_refs",
              "ref_start", "ref_len", "ref_cap", "pool")

    def refresh_views(self) -> None:
        """Afterwards ``mv_NAME`` is a memoryview of the current array ``NAME`` for every name
        of :attr:`VIEWED` (same length, same items, shared memory)."""
        for name in self.VIEWED:
            setattr(self, "mv_" + name, memoryview(getattr(self, name)))

    def new_row(self, type_id: int, nslots: int) -> int:
        """A fresh row of type ``type_id`` with ``nslots`` NULL slots, refcount 0, untracked.

        Room is made first (:meth:`check_room`, :meth:`reserve_rows`, :meth:`reserve_pool`):
        a HeapFullError or MemoryError leaves the table as it was. When the room is there
        already (the usual case) the row is written through the memoryviews."""
        start = self.pool_top
        free = self.free_ids
        reuse = bool(free)
        if start + nslots > len(self.pool) or (not reuse and self.top >= len(self.type_id)):
            return self._new_row_growing(type_id, nslots)
        if reuse:
            oid = free.pop()
        else:
            oid = self.top
            self.top = oid + 1
        self.init_rows(oid, type_id)  # every path that makes a row calls it (testing/ledger.py)
        if nslots:
            pool = self.mv_pool
            for at in range(start, start + nslots):
                pool[at] = NULL
        self.mv_ref_start[oid] = start
        self.mv_ref_cap[oid] = nslots
        self.mv_ref_len[oid] = nslots
        self.pool_top = start + nslots
        self.live += 1
        return oid

    def _new_row_growing(self, type_id: int, nslots: int) -> int:
        """:meth:`new_row` when the table or the pool may have to grow first."""
        self.check_room(1, nslots)
        self.reserve_rows(1)
        self.reserve_pool(nslots)
        if self.free_ids:
            oid = self.free_ids.pop()
        else:
            oid = self.top
            self.top += 1
        self.init_rows(oid, type_id)
        self._give_slice(oid, nslots)
        self.ref_len[oid] = nslots
        self.live += 1
        return oid

    def init_rows(self, ids: int | npt.NDArray[np.int32], type_id: int) -> None:
        """Fresh state for one row or an array of rows: ALIVE, no references, in no list
        (the reference slice is set by the caller). One row given as a Python int is written
        through the memoryviews."""
        if type(ids) is int:
            self.mv_type_id[ids] = type_id
            self.mv_flags[ids] = ALIVE
            self.mv_refcnt[ids] = 0
            self.mv_extern[ids] = 0
            self.mv_gc_next[ids] = NULL
            self.mv_gc_prev[ids] = NULL
            self.mv_gc_refs[ids] = 0
            if self._extra:
                for name, column in self._extra.items():
                    column[ids] = self._fills[name]
            return
        self.type_id[ids] = type_id
        self.flags[ids] = ALIVE
        self.refcnt[ids] = 0
        self.extern[ids] = 0
        self.gc_next[ids] = NULL
        self.gc_prev[ids] = NULL
        self.gc_refs[ids] = 0
        if self._extra:  # per-collector columns start at their fill value
            for name, column in self._extra.items():
                column[ids] = self._fills[name]

    def free_row(self, oid: int) -> None:
        """Poison ``oid`` (no ALIVE flag) and give its id and pool slice back."""
        self.pool_holes += self.mv_ref_cap[oid]
        self.mv_ref_len[oid] = 0
        self.mv_ref_cap[oid] = 0
        self.mv_flags[oid] = 0
        self.free_ids.append(oid)
        self.live -= 1
        for listener in self.free_listeners:
            listener(oid)

    def is_alive(self, oid: int) -> bool:
        """True when ``oid`` names a live object."""
        return N_HEADS <= oid < self.top and bool(self.mv_flags[oid] & ALIVE)

    # -- the reference pool ---------------------------------------------------------------------

    def _give_slice(self, oid: int, capacity: int) -> None:
        """A NULL-filled slice of ``capacity`` values at the pool top (room already made)."""
        start = self.pool_top
        self.pool[start : start + capacity] = NULL
        self.ref_start[oid] = start
        self.ref_cap[oid] = capacity
        self.pool_top += capacity

    def reserve_pool(self, capacity: int) -> None:
        """Make room for ``capacity`` more values at the pool top (compacting the pool when
        more than half of it is holes or the limit is near, growing it otherwise).

        Atomic: the new pool array is complete before anything is replaced, so a MemoryError
        leaves the table as it was. Call :meth:`check_room` first for the limit."""
        if self.pool_top + capacity <= len(self.pool):
            return
        live = self.pool_top - self.pool_holes
        if self.pool_holes > len(self.pool) // 2 or self.pool_top + capacity > POOL_LIMIT:
            self.compact_pool(min(max(len(self.pool), live + capacity), POOL_LIMIT))
        if self.pool_top + capacity > len(self.pool):
            size = min(max(2 * len(self.pool), self.pool_top + capacity), POOL_LIMIT)
            self.pool = _grown(self.pool, size, NULL)
            self.refresh_views()

    def compact_pool(self, size: int | None = None) -> None:
        """Rewrite the live slices contiguously in id order; afterwards there are no holes.

        ``size``: the length of the new pool (default: unchanged; at least what is live).
        Vectorised: every live object's slice moves to the running sum of the capacities
        before it, values copied with one gather (no Python loop per object). Every array is
        computed before the table changes, so a MemoryError leaves it as it was."""
        alive = np.flatnonzero(self.flags[: self.top] & ALIVE)
        caps = self.ref_cap[alive].astype(np.int64)
        lengths = self.ref_len[alive].astype(np.int64)
        new_starts = np.cumsum(caps) - caps
        # slot j of object k: from old_start[k] + j to new_starts[k] + j
        within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        old_starts = self.ref_start[alive].astype(np.int64)
        new_pool = filled(max(len(self.pool) if size is None else size, int(caps.sum())),
                          np.int32, NULL)
        new_pool[np.repeat(new_starts, lengths) + within] = (
            self.pool[np.repeat(old_starts, lengths) + within])
        starts32 = new_starts.astype(np.uint32)
        self.ref_start[alive] = starts32  # same dtype: no temporary, nothing left to fail
        self.pool = new_pool
        self.refresh_views()
        self.pool_top = int(caps.sum())
        self.pool_holes = 0

    def reserve(self, oid: int, capacity: int) -> None:
        """Make room for ``capacity`` values in ``oid``'s slice (moving it to the pool top).

        HeapFullError if ``capacity`` passes :data:`MAX_SLOTS` or the pool limit; like every
        growth, atomic (a MemoryError changes nothing)."""
        old_cap: int = self.mv_ref_cap[oid]
        if capacity <= old_cap:
            return
        new_start = self.pool_top
        doubled = 2 * old_cap if old_cap > 2 else 4
        new_cap = capacity if capacity > doubled else doubled
        if (new_cap <= SMALL_SLICE and new_start + new_cap <= len(self.pool)
                and new_start - self.pool_holes + new_cap <= POOL_LIMIT):
            # the usual case: a small slice moves value by value through the memoryviews
            # (no numpy temporaries) to a new slice of new_cap at the pool top, the rest NULL
            pool = self.mv_pool
            start: int = self.mv_ref_start[oid]
            length: int = self.mv_ref_len[oid]
            for k in range(length):
                pool[new_start + k] = pool[start + k]
            for at in range(new_start + length, new_start + new_cap):
                pool[at] = NULL
            self.mv_ref_start[oid] = new_start
            self.mv_ref_cap[oid] = new_cap
            self.pool_top = new_start + new_cap
            self.pool_holes += old_cap
            return
        if capacity > MAX_SLOTS:
            raise HeapFullError(f"object {oid} would hold {capacity} slots; at most {MAX_SLOTS}")
        live = self.pool_top - self.pool_holes
        if live + capacity > POOL_LIMIT:
            self.check_room(0, capacity)  # raises
        new_cap = min(max(capacity, 2 * old_cap, 4), MAX_SLOTS, POOL_LIMIT - live)
        length = self.mv_ref_len[oid]
        old = self.slots(oid).copy()
        self.reserve_pool(new_cap)  # may compact (moves slices, keeps values)
        self._give_slice(oid, new_cap)
        self.pool_holes += old_cap
        begin = int(self.ref_start[oid])
        self.pool[begin : begin + length] = old

    def slots(self, oid: int) -> I32:
        """A view of ``oid``'s slot values."""
        start = int(self.ref_start[oid])
        return self.pool[start : start + int(self.ref_len[oid])]

    def slot_list(self, oid: int) -> list[int]:
        """``oid``'s slot values as a Python list."""
        return self.slots(oid).tolist()

    def get(self, oid: int, index: int) -> int:
        """The value in slot ``index`` of ``oid``."""
        return self.mv_pool[self.mv_ref_start[oid] + index]

    def put(self, oid: int, index: int, value: int) -> None:
        """Store ``value`` in slot ``index`` (no reference counting)."""
        self.mv_pool[self.mv_ref_start[oid] + index] = value

    def insert(self, oid: int, index: int, value: int) -> None:
        """Insert ``value`` before slot ``index``, shifting the rest right."""
        length: int = self.mv_ref_len[oid]
        if index == length and length < self.mv_ref_cap[oid]:  # an append with room
            self.mv_pool[self.mv_ref_start[oid] + length] = value
            self.mv_ref_len[oid] = length + 1
            return
        self.reserve(oid, length + 1)
        start = int(self.ref_start[oid])
        pool = self.pool
        pool[start + index + 1 : start + length + 1] = pool[start + index : start + length]
        self.pool[start + index] = value
        self.ref_len[oid] = length + 1

    def remove(self, oid: int, index: int, count: int = 1) -> None:
        """Remove ``count`` slots starting at ``index``, shifting the rest left."""
        length = int(self.ref_len[oid])
        start = int(self.ref_start[oid])
        tail = self.pool[start + index + count : start + length].copy()
        self.pool[start + index : start + length - count] = tail
        self.pool[start + length - count : start + length] = NULL
        self.ref_len[oid] = length - count

    def truncate(self, oid: int) -> list[int]:
        """Empty ``oid``'s slots and return the values they held (in slot order)."""
        values = self.slot_list(oid)
        self.slots(oid)[:] = NULL
        self.ref_len[oid] = 0
        return values

    # -- ordered collector lists (CPython's gc_list_* on the next/prev columns) ----------------

    def reserve_heads(self, count: int) -> int:
        """Set aside ``count`` consecutive list heads (the lowest free ones) for a collector's
        lists; returns the first. They are empty lists until the collector links objects in.

        >>> table = ObjectTable()
        >>> table.reserve_heads(3), table.reserve_heads(1)
        (0, 3)
        """
        free = ~self.heads_reserved
        for first in range(N_HEADS - count + 1):
            if free[first : first + count].all():
                self.heads_reserved[first : first + count] = True
                return first
        raise HeapError(f"no {count} consecutive free list heads left (there are {N_HEADS}, "
                        f"{int(self.heads_reserved.sum())} reserved)")

    def release_heads(self, first: int, count: int) -> None:
        """Give back the heads ``first .. first + count - 1``; their lists must be empty."""
        for head in range(first, first + count):
            if not self.list_is_empty(head):
                raise HeapError(f"list head {head} still has members: a collector's lists must "
                                f"be empty when it lets them go")
        self.heads_reserved[first : first + count] = False

    def list_init(self, head: int) -> None:
        """Make ``head`` an empty list."""
        self.gc_next[head] = head
        self.gc_prev[head] = head

    def list_is_empty(self, head: int) -> bool:
        """True when the list has no members."""
        return int(self.gc_next[head]) == head

    def list_append(self, node: int, head: int) -> None:
        """Link ``node`` (in no list) at the tail of ``head``."""
        nxt, prv = self.mv_gc_next, self.mv_gc_prev
        last = prv[head]
        nxt[last] = node
        prv[node] = last
        nxt[node] = head
        prv[head] = node

    def list_remove(self, node: int) -> None:
        """Unlink ``node`` from whatever list holds it."""
        nxt, prv = self.mv_gc_next, self.mv_gc_prev
        before, after = prv[node], nxt[node]
        nxt[before] = after
        prv[after] = before
        nxt[node] = NULL
        prv[node] = NULL

    def list_extend(self, nodes: npt.NDArray[np.integer], head: int) -> None:
        """Link ``nodes`` (in no list, distinct), in order, at the tail of ``head``
        (:meth:`list_append` of each; compiled once gclab._jit.ACTIVE)."""
        if not len(nodes):
            return
        if _lists is not None and _jit.ACTIVE:
            _lists._list_extend(self.gc_next, self.gc_prev, nodes, head)
            return
        last = int(self.gc_prev[head])

        first, final = int(nodes[0]), int(nodes[-1])
        self.gc_next[last] = first
        self.gc_prev[first] = last
        self.gc_next[nodes[:-1]] = nodes[1:]
        self.gc_prev[nodes[1:]] = nodes[:-1]
        self.gc_next[final] = head
        self.gc_prev[head] = final

    def list_move(self, node: int, head: int) -> None:
        """Move ``node`` to the tail of ``head``."""
        self.list_remove(node)
        self.list_append(node, head)

    def list_merge(self, source: int, target: int) -> None:
        """Append all of ``source``, in order, to the tail of ``target``; ``source`` empties."""
        if source == target or self.list_is_empty(source):
            return
        first, last = int(self.gc_next[source]), int(self.gc_prev[source])
        tail = int(self.gc_prev[target])
        self.gc_next[tail] = first
        self.gc_prev[first] = tail
        self.gc_next[last] = target
        self.gc_prev[target] = last
        self.list_init(source)

    def list_members(self, head: int) -> list[int]:
        """The members of a list, head to tail (compiled walk once gclab._jit.ACTIVE)."""
        if _lists is not None and _jit.ACTIVE:
            return _lists.list_members(self, head).tolist()
        return self.walk_members(head)

    def walk_members(self, head: int) -> list[int]:
        """The members of a list, head to tail: the plain-Python walk (the kernels' oracle)."""
        out: list[int] = []
        nxt = self.gc_next
        node = int(nxt[head])
        while node != head:
            out.append(node)
            node = int(nxt[node])
        return out

    def list_size(self, head: int) -> int:
        """Number of members (walks the list, like CPython's gc_list_size)."""
        if _lists is not None and _jit.ACTIVE:
            return _lists.list_size(self, head)
        return len(self.walk_members(head))
