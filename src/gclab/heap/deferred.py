"""Deferred reference counting, and the sweep primitive of the collectors that use it.

A collector whose ``capabilities.uses_refcounts`` is False makes the heap *defer frees*
(:attr:`DeferredMixin.defers_frees`, chosen from the capabilities when the collector is
attached, never from its class): reference counts are still kept exactly (the invariant
"refcount = slot references + external references" holds at every step, and the checker checks
it), but an object whose count reaches zero is **not** deallocated. It stays alive,
unreachable, with count 0, until its collector proves it unreachable and frees it with
:meth:`DeferredMixin.free_unreachable`. Every path that deallocates at zero goes through
``HeapCore.release`` (``decref``, ``decref_many`` and the bulk drops, stores that overwrite,
tp_clear, frames returning, proxies dying); ``release`` starts no cascade, compiled or not, in
this mode. Static references are never dropped in either mode.

The split between heap and collector for a sweep: the heap provides the steps
(``clear_weakref``/``call_weakref_callback``, ``call_finalizer``, :meth:`free_unreachable`);
the collector decides reachability and the order of the steps (``collectors/marksweep.py``
follows CPython's: weakrefs, then finalizers, then a re-mark, then the free).

>>> import gclab
>>> heap = gclab.Heap(collector="marksweep")
>>> heap.defers_frees
True
>>> a = heap.alloc("list"); b = heap.alloc("list"); heap.append_slot(a, b)
>>> heap.decref(b)                 # b is held by a's slot
>>> heap.decref(a)                 # count 0: a stays, unreachable, until it is swept
>>> heap.is_alive(a), heap.refcount(a), heap.refcount(b)
(True, 0, 1)
>>> heap.free_unreachable([a])     # a's reference to b is dropped; b is not freed (deferred)
1
>>> heap.is_alive(a), heap.is_alive(b), heap.refcount(b)
(False, True, 0)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..errors import SweepError
from .bulk import _column, _reject
from .table import N_HEADS

if TYPE_CHECKING:
    from .core import HeapCore


class DeferredMixin:
    """Deferred frees and the sweep primitive for :class:`~gclab.heap.core.HeapCore`."""

    #: True when an object whose count reaches zero stays alive until its collector frees it
    #: (the collector's ``capabilities.uses_refcounts`` is False).
    defers_frees: bool = False

    def choose_free_mode(self: HeapCore, collector: object) -> None:
        """Set :attr:`defers_frees` from ``collector.capabilities`` (no capabilities, as a
        bare heap's ``NoCollector``: reference counting frees at zero)."""
        capabilities = getattr(collector, "capabilities", None)
        self.defers_frees = (capabilities is not None
                             and not getattr(capabilities, "uses_refcounts", True))

    def free_unreachable(self: HeapCore, ids: object) -> int:
        """Free ``ids`` (1-D ints: live objects the collector proved unreachable) at once;
        returns how many were freed.

        Validated before anything changes (:class:`SweepError`): every id names a live object,
        none appears twice, none has an external reference (a proxy, a frame or static
        reference of the simulation, a low-level caller: such an object is a root). Which ids
        are unreachable is the collector's business: this is not checked.

        Then, in this order: (1) every reference a member holds to an object *outside* ``ids``
        is dropped (its count goes down; nothing else is freed, even at zero, in deferred
        mode; references between members vanish with them); (2) each member is freed in the
        order of ``ids``: untracked, its side tables forgotten (weakrefs still pointing at it
        are detached silently; a collector clears them with callbacks first), its row
        poisoned (a ``free`` event for mutation listeners, then the collector's
        ``after_gc_free`` for a GC-capable object). Afterwards no id of ``ids`` is live and the
        reference counts of the rest agree with their referrers again.
        """
        members = self._sweep_members(ids)
        self._drop_outside_references(members)
        for oid in members.tolist():
            info = self.type_of(oid)
            self._free(oid, info, int(self.table.ref_len[oid]))
        return len(members)

    def _sweep_members(self: HeapCore, ids: object) -> npt.NDArray[np.int32]:
        """``ids`` as int32 ids after the checks of :meth:`free_unreachable` (which raise)."""
        column = _column(ids, "ids")
        codes = column.codes
        if not len(codes):
            return codes
        alive = self._alive_mask(codes)
        if not alive.all():
            k = int(np.flatnonzero(~alive)[0])
            _reject(self, k, lambda: self.check_id(column.entry(k)))
        t = self.table
        unique, counts = np.unique(codes, return_counts=True)
        if (counts > 1).any():
            oid = int(unique[counts > 1][0])
            raise SweepError(f"{self.describe(oid)} is named more than once (nothing was "
                             f"changed)")
        held = np.flatnonzero(t.extern[codes] > 0)
        if len(held):
            oid = int(codes[held[0]])
            raise SweepError(f"{self.describe(oid)} has {int(t.extern[oid])} external "
                             f"reference(s): a root cannot be swept (nothing was changed)")
        return codes

    def _drop_outside_references(self: HeapCore, members: npt.NDArray[np.int32]) -> None:
        """Step (1) of :meth:`free_unreachable`: each reference a member's slots hold to a
        live object that is not a member is dropped, without deallocating anything.
        Afterwards every non-member's count is its references from non-members plus its
        external references (what it will be once the members are freed)."""
        t = self.table
        lengths = t.ref_len[members].astype(np.int64)
        if not lengths.sum():
            return
        starts = np.repeat(t.ref_start[members].astype(np.int64), lengths)
        offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths,
                                                            lengths)
        values = t.pool[starts + offsets].astype(np.int64)
        values = values[values >= N_HEADS]  # NULL and atoms are no references
        is_member = np.zeros(t.top, np.bool_)
        is_member[members] = True
        outside = values[~is_member[values]]
        np.subtract.at(t.refcnt, outside, 1)


__all__ = ["DeferredMixin"]
