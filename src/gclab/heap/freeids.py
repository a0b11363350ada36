"""The free row ids, reused lowest first (issue #10, "churn-proof list walks").

Ids are gclab's own: CPython's collector lists follow allocation order, and reusing the lowest
free id keeps a list built after churn close to ascending id order, so walks through it touch
the columns nearly in order instead of chasing random rows. Last-freed-first reuse (the old
stack) made a full collection of a churned heap 1.8-2.9x slower than CPython; lowest-first makes
it a fraction (docs/design/engine.md, "Free ids").

:class:`FreeIds` keeps a free id in one of three places:

* the *log* ``items[:size]``: ids pushed in order and not yet sorted in. Compiled code (the
  deallocation cascade) pushes here directly: it writes ``items[size], items[size + 1], ...``
  and the caller then sets ``size`` (``grow`` makes room first). Every reading method sorts the
  log in first.
* the *front* ``_low``: a small binary min-heap (``heapq``) of ids, where :meth:`append` puts
  an id and :meth:`pop` takes one, so one free or one allocation from Python costs a heap
  push or pop (about 0.2 us) and no compiled call.
* the *bitmap* (:mod:`gclab.heap._jit_ids`): one bit per row id, with ``_bmin`` its lowest
  set bit and ``_nbits`` how many are set. The front refills from it 256 ids at a time; bulk
  takes (:meth:`pop_into`) scan it upwards from ``_bmin`` in compiled code.

The three are disjoint, and :meth:`pop` returns the lowest id of all of them. An id must not
be added while it is free (a double free upstream): the bitmap would hold it once, the front
twice (``check_heap``'s "free_ids lists an id twice" sees the latter).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from . import _jit_ids
from ._jit_ids import EMPTY

I32 = npt.NDArray[np.int32]

REFILL = 256  # ids the front takes from the bitmap at a time
FRONT_MAX = 1024  # the front spills into the bitmap past this many ids
SHORT_LOG = 8  # a log this short is sorted into the front, in Python


class FreeIds:
    """The free row ids; :meth:`pop` returns the lowest, :meth:`pop_many` and
    :meth:`pop_into` the lowest ones in ascending order.

    >>> free = FreeIds()
    >>> for oid in (40, 17, 93, 18):
    ...     free.append(oid)
    >>> free.pop(), free.pop_many(2).tolist(), len(free)
    (17, [18, 40], 1)
    """

    __slots__ = ("_bits", "_bmin", "_low", "_nbits", "_scratch", "_words", "items", "size")

    def __init__(self, capacity: int = 64) -> None:
        self.items: I32 = np.zeros(max(capacity, 1), np.int32)  # the log
        self.size = 0
        self._bits = np.zeros(64, np.uint8)
        self._words = self._bits.view(np.uint64)
        self._bmin = EMPTY
        self._nbits = 0
        self._low: list[int] = []
        self._scratch = np.zeros(max(REFILL, FRONT_MAX + SHORT_LOG), np.int32)

    def __len__(self) -> int:
        return self.size + len(self._low) + self._nbits

    def __bool__(self) -> bool:
        return bool(self.size or self._low or self._nbits)

    def __iter__(self) -> Iterator[int]:
        return iter(self.tolist())

    def __repr__(self) -> str:
        return f"FreeIds({self.tolist()!r})"

    def tolist(self) -> list[int]:
        """The free ids in ascending order (the order :meth:`pop` would return them)."""
        return self.sorted_ids().tolist()

    def sorted_ids(self) -> I32:
        """The free ids in ascending order, as a new array (nothing changes)."""
        in_bits = np.empty(self._nbits, np.int32)
        _jit_ids.set_ids(self._bits, self._words, in_bits, self._bmin, self._nbits)
        ids = np.concatenate([self.items[: self.size], np.asarray(self._low, np.int32),
                              in_bits])
        ids.sort()
        return ids

    def grow(self, needed: int) -> None:
        """Make room in the log for at least ``needed`` ids (contents kept)."""
        if needed > len(self.items):
            items = np.zeros(max(needed, 2 * len(self.items)), np.int32)
            items[: self.size] = self.items[: self.size]
            self.items = items

    def append(self, oid: int) -> None:
        """Add the free id ``oid`` (not already free)."""
        heapq.heappush(self._low, oid)
        if len(self._low) > FRONT_MAX:
            self._spill()

    def pop(self) -> int:
        """Remove and return the lowest free id."""
        if self.size:
            self._sort_in_log()
        low = self._low
        if low and low[0] < self._bmin:
            return heapq.heappop(low)
        if not self._nbits:
            raise IndexError("pop from an empty FreeIds")
        self._refill()
        return heapq.heappop(self._low)

    def pop_many(self, count: int) -> I32:
        """The ``count`` lowest free ids (fewer if fewer are free), ascending (removed)."""
        out = np.empty(min(count, len(self)), np.int32)
        self.pop_into(out)
        return out

    def pop_into(self, out: npt.NDArray[np.integer]) -> int:
        """Remove the ``len(out)`` lowest free ids (fewer if fewer are free) and write them to
        ``out`` in ascending order; returns how many. Allocates nothing but when the bitmap
        must grow to take in the log."""
        if self.size:
            self._sort_in_log()
        if self._low:
            self._spill()
        taken, self._bmin = _jit_ids.take_lowest(self._bits, self._words, out, len(out),
                                                  self._bmin, self._nbits, EMPTY)
        self._nbits -= taken
        return int(taken)

    # -- compiled code that takes and frees ids itself ----------------------------------------

    def export_bitmap(self, rows: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint64],
                                                int, int]:
        """Afterwards every free id is in the bitmap (the log and the front are empty) and the
        bitmap covers every id below ``rows``; returns ``(bits, words, bmin, nbits)`` for
        compiled code that takes ids (``_jit_ids.take_lowest``), sets freed ones
        (``_jit_ids.set_bits``) and pushes to the log ``items``; it hands the three counts
        back through :meth:`import_bitmap` before anything else uses this set."""
        if self.size:
            self._sort_in_log()
        if self._low:
            self._spill()
        needed = ((rows + 63) >> 6) * 8
        if len(self._bits) < needed:
            bits = np.zeros(needed, np.uint8)
            bits[: len(self._bits)] = self._bits
            self._bits, self._words = bits, bits.view(np.uint64)
        return self._bits, self._words, int(self._bmin), self._nbits

    def import_bitmap(self, bmin: int, nbits: int, logged: int) -> None:
        """The counts compiled code left after :meth:`export_bitmap`: the bitmap's lowest set
        bit and number of set bits, and the length of the log it pushed to."""
        self._bmin, self._nbits, self.size = int(bmin), int(nbits), int(logged)

    # -- moving ids between the log, the front and the bitmap -------------------------------

    def _sort_in_log(self) -> None:
        """Afterwards the log is empty and its ids are in the front (a short log: a few heap
        pushes cost less than a compiled call) or the bitmap."""
        if self.size <= SHORT_LOG and len(self._low) + self.size <= FRONT_MAX:
            low = self._low
            for oid in self.items[: self.size].tolist():
                heapq.heappush(low, oid)
        else:
            self._set_bits(self.items, self.size)
        self.size = 0

    def _spill(self) -> None:
        """Afterwards the front is empty and its ids are in the bitmap."""
        low = self._low
        count = len(low)
        self._scratch[:count] = low
        self._set_bits(self._scratch, count)
        low.clear()

    def _refill(self) -> None:
        """Afterwards the front holds the lowest free ids: the bitmap's lowest ones (at most
        :data:`REFILL`) when it was empty, else those below its lowest (pushed onto it, at most
        :data:`SHORT_LOG` at a time before it spills). The bitmap is non-empty on entry."""
        low, out = self._low, self._scratch
        if low:
            taken, self._bmin = _jit_ids.take_lowest(self._bits, self._words, out, SHORT_LOG,
                                                      self._bmin, self._nbits, low[0])
            self._nbits -= taken
            for oid in out[:taken].tolist():
                heapq.heappush(low, oid)
            if len(low) > FRONT_MAX:
                self._spill()
                self._refill()
            return
        taken, self._bmin = _jit_ids.take_lowest(self._bits, self._words, out, REFILL,
                                                  self._bmin, self._nbits, EMPTY)
        self._nbits -= taken
        self._low = out[:taken].tolist()  # ascending: already a heap

    def _set_bits(self, ids: I32, count: int) -> None:
        """Set the bits of ``ids[:count]``, growing the bitmap to reach the highest."""
        top = _jit_ids.highest(ids, count)
        if top >= 8 * len(self._bits):
            size = max(2 * len(self._bits), ((top >> 6) + 1) * 8)
            bits = np.zeros(size, np.uint8)
            bits[: len(self._bits)] = self._bits
            self._bits, self._words = bits, bits.view(np.uint64)
        added, self._bmin = _jit_ids.set_bits(self._bits, ids, count, self._bmin)
        self._nbits += added


__all__ = ["FRONT_MAX", "REFILL", "FreeIds"]
