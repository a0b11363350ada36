"""Weak references: the side tables, their order on the referent, clearing and callbacks.

A weakref object is a GC-capable heap object with no slots (its referent is not a strong
reference; its callback is host code). Each referent keeps its weakrefs in CPython's list order
(spec §3.2 step 10): the callback-less basic ref first, then refs with callbacks newest first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .flags import HAS_WEAKREFS
from .table import NULL
from .types import TUPLE, WEAKREF

if TYPE_CHECKING:
    from .core import HeapCore

Callback = Callable[[object], object]


class WeakrefMixin:
    """Weak references for :class:`~gclab.heap.core.HeapCore`."""

    def _init_weakrefs(self: HeapCore) -> None:
        self.wr_referent: dict[int, int] = {}  # weakref id -> referent id or NULL once cleared
        self.wr_callback: dict[int, Callback | None] = {}
        self.weaklists: dict[int, list[int]] = {}  # referent id -> its weakrefs, in list order

    def new_weakref(self: HeapCore, target: int, callback: Callback | None = None) -> int:
        """A weak reference to ``target`` (the caller holds one reference to the weakref).

        Without a callback the existing basic ref is shared, as ``weakref.ref(x)`` does.
        """
        target = self.check_id(target)
        info = self.type_of(target)
        if not info.weakrefable:
            raise TypeError(f"cannot create weak reference to '{info.name}' object")
        # Like weakref.ref, a non-callable callback is accepted; calling it fails later and
        # is reported as unraisable ("Exception ignored in: 5").
        refs = self.weaklists.get(target)
        if callback is None and refs and self.wr_callback[refs[0]] is None:
            self.incref(refs[0])
            return refs[0]
        with self.operation():
            # The argument is a reference (as in CPython): a collection run by this
            # allocation must not free the target. Not release(): it stays alive.
            self.take_external(target)
            try:  # a HeapFullError or MemoryError must not leave the argument's reference
                wr = self._new_object(self.types[WEAKREF], 0, track=True)
            finally:
                self.drop_external_kept(target)
            self.take_external(wr)
            self.wr_referent[wr] = target
            self.wr_callback[wr] = callback
            refs = self.weaklists.setdefault(target, [])  # the allocation may have collected
            self.table.flags[target] |= HAS_WEAKREFS  # weaklists has an entry: not plain
            if callback is None or not refs or self.wr_callback[refs[0]] is not None:
                refs.insert(0, wr)
            else:
                refs.insert(1, wr)  # right after the basic ref: newest callback ref first
        return wr

    def weakref_target(self: HeapCore, wr: int) -> int:
        """The referent id of weakref ``wr``, or NULL once it is cleared."""
        return self.wr_referent.get(self.check_id(wr), NULL)

    def weakrefs_of(self: HeapCore, oid: int) -> list[int]:
        """The weakrefs to ``oid``, in list order (a copy)."""
        return list(self.weaklists.get(self.check_id(oid), ()))

    def clear_weakref(self: HeapCore, wr: int) -> None:
        """Detach ``wr`` from its referent; calling it now gives None."""
        target = self.wr_referent.get(wr, NULL)
        if target == NULL:
            return
        self.wr_referent[wr] = NULL
        refs = self.weaklists.get(target)
        if refs is not None:
            refs.remove(wr)
            if not refs:
                del self.weaklists[target]
                self.table.flags[target] &= ~HAS_WEAKREFS & 0xFF

    def drop_callback(self: HeapCore, wr: int) -> Callback | None:
        """Take the callback away from ``wr`` (it will never be called) and return it."""
        callback = self.wr_callback.get(wr)
        if wr in self.wr_callback:
            self.wr_callback[wr] = None
        return callback

    def call_weakref_callback(self: HeapCore, wr: int, callback: Callback) -> None:
        """handle_callback: ``callback(wr)``; any exception is reported through
        ``sys.unraisablehook`` as raised by the callback, never raised.

        The call is a safe point, like :meth:`call_finalizer`'s: on 3.12+ a collection that
        PyObject_ClearWeakRefs' tuple scheduled runs before the first callback (measured)."""
        self.user_calls += 1
        handle = self.wrap(wr)
        self.observer.safepoint()
        self.user_code.call(callback, handle, callback, frames=self.sim_frames,
                            legacy=self.profile.unraisable_text == "2.7")

    def clear_weakrefs_with_callbacks(self: HeapCore, oid: int) -> None:
        """PyObject_ClearWeakRefs: the refcount death of a weakly referenced object.

        Callback-less refs at the head are cleared first. Below ``profile.weakref_tuple_min``
        remaining refs (2 on 2.7 and 3.10-3.12, so: one ref) it is cleared and its callback
        called. Otherwise a tuple of ``2 * n`` items is allocated (a real GC allocation: it
        counts toward ``count[0]``, may trigger or schedule a collection, is tracked in gen0
        while the callbacks run and shows in ``gc.get_objects()``, as measured on 2.7 and
        3.10-3.13); each ref is cleared and put in it (the callback items stay NULL: callbacks
        are host code), the callbacks are called in list order, and the tuple dies, releasing
        the refs last to first.
        """
        refs = self.weaklists.get(oid)
        for _ in range(2):
            if refs and self.wr_callback[refs[0]] is None:
                self.clear_weakref(refs[0])
        refs = self.weaklists.get(oid)
        if not refs:
            return
        if len(refs) < self.profile.weakref_tuple_min:
            wr = refs[0]
            callback = self.drop_callback(wr)
            self.clear_weakref(wr)
            if callback is not None:
                self.call_weakref_callback(wr, callback)
            return
        items = self._new_object(self.types[TUPLE], 2 * len(refs), track=True)
        self.take_external(items)  # held by PyObject_ClearWeakRefs
        pending: list[tuple[int, Callback | None]] = []
        # the allocation may have collected: read the list again (CPython's count is kept)
        for i, wr in enumerate(list(self.weaklists.get(oid, ()))[: len(refs)]):
            callback = self.drop_callback(wr)
            self.clear_weakref(wr)
            if self.table.refcnt[wr] > 0:
                self.hold(wr)
                self.write_slot(items, 2 * i, wr)
                pending.append((wr, callback))
        for wr, callback in pending:
            if callback is not None:
                self.call_weakref_callback(wr, callback)
        self._drop_external(items)

    def clear_weakrefs_silently(self: HeapCore, oid: int) -> None:
        """Clear every weakref to ``oid`` without calling callbacks."""
        for wr in self.weakrefs_of(oid):
            self.clear_weakref(wr)

    def forget_object(self: HeapCore, oid: int) -> None:
        """Drop side-table entries of an object whose memory is being released."""
        if oid in self.wr_referent:
            self.clear_weakref(oid)
            del self.wr_referent[oid]
            self.wr_callback.pop(oid, None)
        refs = self.weaklists.pop(oid, None)
        self.table.flags[oid] &= ~HAS_WEAKREFS & 0xFF
        if refs:  # a referent dies with weakrefs left (should have been cleared): detach them
            for wr in refs:
                self.wr_referent[wr] = NULL
