"""The mutation surface: the one place where reference slots and external references change.

Every path that writes a reference slot (the low-level and bulk API, proxies, frames, globals,
dicts, instance layouts, weakrefs, tp_clear, a frame's return) or takes or drops an external
reference (proxies, frames held by the simulation, callers of the low-level API, static
references) calls a method of :class:`MutationMixin`, and the surface tells whoever watches:

* **listeners** (:meth:`~MutationMixin.add_listener`): any number of objects with the
  :class:`MutationListener` methods, told every event in the order the writes happen;
* the **write barrier** (:attr:`~MutationMixin.barrier`): at most one object with the
  :class:`WriteBarrier` methods (a collector whose ``Capabilities.write_barrier`` is true
  installs itself), called with ``(oid, old, new)`` right after every slot write.

The events (codes: an object id ``>= 0``, ``NULL`` ``-1``, an atom ``<= -2``):

=========================================  =======================================================
``alloc(oid, type_id, size)``              a new row with ``size`` NULL slots and no references
``store(oid, index, old, new)``            slot ``index`` overwritten (``old`` was in it)
``insert(oid, index, new)``                a slot inserted before ``index`` (later slots shift)
``delete(oid, index, old)``                slot ``index`` removed (later slots shift left);
                                           emptying an object (tp_clear of a list, dict or set,
                                           a frame's return) deletes from the last slot to the
                                           first
``incref(oid)``                            one more external reference
``decref(oid)``                            one external reference fewer (told before the release
                                           it may start, so before the frees it causes)
``free(oid)``                              the row is freed; its slots are gone with it
``store_many(oids, indices, olds, news)``  the bulk ``set_slots``: ``store`` for each entry, in
                                           order (read-only int32 arrays)
=========================================  =======================================================

Together they describe the slots of every live object and its count of external references;
its reference count is then the references its live referrers' slots hold plus the external
ones. A deallocation releases the slots of the dying object without writing them (the
``free`` event ends them), and references an engine step holds for a moment (delete_garbage's
hold on the member it clears, a finalizer call's count of one) are not events: between two
top-level operations the counts agree with the events again (``tests/properties``
rebuilds the graph from the events alone and compares).

The write barrier sees ``store`` as ``(oid, old, new)``, ``insert`` as ``(oid, NULL, new)``,
``delete`` as ``(oid, old, NULL)`` and ``store_many`` as one ``write_barrier_many(oids, olds,
news)``; allocations, frees and external references are not barrier events.

Costs and kernels. Without listeners and barrier every hot path pays one test of the bool
``heap._watched``, and the compiled kernels run as before; the flat one-object twins of
:mod:`gclab.heap.fastpath` (which write the columns directly) run only then. With them, per
path:

* the deallocation cascade keeps running compiled: it frees and writes no slot, and its frees
  reach the listeners through ``ObjectTable.free_listeners`` after each kernel call, before
  Python goes on (so in order);
* tp_clear (``heap.clear``) and the collector's delete_garbage loop run on their plain-Python
  twins, whose slot writes go through this surface;
* the bulk store kernel runs, then its stores are told as one ``store_many`` (and one
  ``write_barrier_many``) before any overwritten reference is released;
* the bulk allocations and external drops are told one event per object, in batch order.

Listeners and the barrier are called in the middle of engine steps (a cascade, a collection):
they may read the heap, never change it.

Errors. A listener or barrier that raises is reported through ``sys.unraisablehook`` (as a
``__del__`` is) and the heap goes on: a write is never left half done, and the other
listeners still hear the event. A listener or barrier is attached between operations or from
user code, but not while a deallocation runs (it may be half way through a compiled tp_clear
the newcomer could not follow): :class:`~gclab.errors.ListenerError`, as for a listener added
twice or removed when absent. Removing one is allowed at any time.

>>> from gclab.heap.core import HeapCore
>>> heap = HeapCore()
>>> log = EventLog()
>>> heap.add_listener(log)
>>> a = heap.alloc("list")                 # the caller's reference is an external one
>>> heap.append_slot(a, a)
>>> heap.decref(a)
>>> log.events == [("alloc", a, 0, 0), ("incref", a), ("insert", a, 0, a), ("decref", a)]
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..errors import ListenerError
from .flags import ALIVE
from .table import N_HEADS, NULL
from .usercode import user_traceback, write_unraisable

if TYPE_CHECKING:
    from .core import HeapCore

I32 = npt.NDArray[np.int32]


@runtime_checkable
class MutationListener(Protocol):
    """What a listener implements: one method per event (see the module docstring).
    :class:`BaseListener` does nothing for every event: subclass it and override some."""

    def alloc(self, oid: int, type_id: int, size: int) -> None:
        """A new row ``oid`` of type ``type_id`` with ``size`` NULL slots, no references."""

    def store(self, oid: int, index: int, old: int, new: int) -> None:
        """Slot ``index`` of ``oid`` held ``old`` and now holds ``new``."""

    def insert(self, oid: int, index: int, new: int) -> None:
        """A slot holding ``new`` was inserted before slot ``index`` of ``oid``."""

    def delete(self, oid: int, index: int, old: int) -> None:
        """Slot ``index`` of ``oid``, holding ``old``, was removed."""

    def incref(self, oid: int) -> None:
        """One more external reference to ``oid``."""

    def decref(self, oid: int) -> None:
        """One external reference to ``oid`` fewer."""

    def free(self, oid: int) -> None:
        """``oid`` was freed (its slots are gone; the id may be reused)."""

    def store_many(self, oids: I32, indices: I32, olds: I32, news: I32) -> None:
        """``store(oids[k], indices[k], olds[k], news[k])`` for every ``k``, in order."""


@runtime_checkable
class WriteBarrier(Protocol):
    """What a write barrier implements (:attr:`MutationMixin.barrier`)."""

    def write_barrier(self, oid: int, old: int, new: int) -> None:
        """A slot of ``oid`` held ``old`` and now holds ``new`` (either may be NULL)."""

    def write_barrier_many(self, oids: I32, olds: I32, news: I32) -> None:
        """``write_barrier(oids[k], olds[k], news[k])`` for every ``k``, in order."""


class BaseListener:
    """A listener that ignores every event; ``store_many`` calls ``store`` entry by entry."""

    def alloc(self, oid: int, type_id: int, size: int) -> None:
        """Ignored."""

    def store(self, oid: int, index: int, old: int, new: int) -> None:
        """Ignored."""

    def insert(self, oid: int, index: int, new: int) -> None:
        """Ignored."""

    def delete(self, oid: int, index: int, old: int) -> None:
        """Ignored."""

    def incref(self, oid: int) -> None:
        """Ignored."""

    def decref(self, oid: int) -> None:
        """Ignored."""

    def free(self, oid: int) -> None:
        """Ignored."""

    def store_many(self, oids: I32, indices: I32, olds: I32, news: I32) -> None:
        """One :meth:`store` per entry, in order."""
        store = self.store
        for oid, index, old, new in zip(oids.tolist(), indices.tolist(), olds.tolist(),
                                        news.tolist(), strict=True):
            store(oid, index, old, new)


class EventLog(BaseListener):
    """A listener that keeps every event as a tuple ``(name, *arguments)`` in :attr:`events`
    (a bulk store as one ``store`` tuple per entry)."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def alloc(self, oid: int, type_id: int, size: int) -> None:
        """Kept."""
        self.events.append(("alloc", oid, type_id, size))

    def store(self, oid: int, index: int, old: int, new: int) -> None:
        """Kept."""
        self.events.append(("store", oid, index, old, new))

    def insert(self, oid: int, index: int, new: int) -> None:
        """Kept."""
        self.events.append(("insert", oid, index, new))

    def delete(self, oid: int, index: int, old: int) -> None:
        """Kept."""
        self.events.append(("delete", oid, index, old))

    def incref(self, oid: int) -> None:
        """Kept."""
        self.events.append(("incref", oid))

    def decref(self, oid: int) -> None:
        """Kept."""
        self.events.append(("decref", oid))

    def free(self, oid: int) -> None:
        """Kept."""
        self.events.append(("free", oid))


class OneAtATimeBarrier:
    """A write barrier base whose ``write_barrier_many`` calls ``write_barrier`` per entry."""

    def write_barrier(self, oid: int, old: int, new: int) -> None:
        """Override: the barrier for one write."""

    def write_barrier_many(self, oids: I32, olds: I32, news: I32) -> None:
        """One :meth:`write_barrier` per entry, in order."""
        barrier = self.write_barrier
        for oid, old, new in zip(oids.tolist(), olds.tolist(), news.tolist(), strict=True):
            barrier(oid, old, new)


Hook = Callable[..., object]


def _tell(hooks: Sequence[Hook], *args: object) -> None:
    """Call every hook with ``args``; an exception is reported, never raised."""
    for hook in hooks:
        try:
            hook(*args)
        except BaseException as exc:
            write_unraisable(exc, hook, tb=user_traceback(exc))


def _read_only(array: I32) -> I32:
    view = array.view()
    view.flags.writeable = False
    return view


class Dispatch:
    """Who hears the events of one heap: the listeners' bound methods per event, in the order
    the listeners were added, and the barrier's."""

    EVENTS = ("alloc", "store", "insert", "delete", "incref", "decref", "free", "store_many")

    def __init__(self) -> None:
        self.listeners: list[MutationListener] = []
        self.barrier: WriteBarrier | None = None
        self.hooks: dict[str, list[Hook]] = {}
        self.wb: list[Hook] = []
        self.wb_many: list[Hook] = []
        self.rebuild()

    def rebuild(self) -> None:
        """Afterwards the hook lists match :attr:`listeners` and :attr:`barrier`."""
        self.hooks = {name: [getattr(listener, name) for listener in self.listeners]
                      for name in self.EVENTS}
        barrier = self.barrier
        self.wb = [barrier.write_barrier] if barrier is not None else []
        self.wb_many = [barrier.write_barrier_many] if barrier is not None else []

    def alloc(self, oid: int, type_id: int, size: int) -> None:
        """Tell an allocation."""
        _tell(self.hooks["alloc"], oid, type_id, size)

    def store(self, oid: int, index: int, old: int, new: int) -> None:
        """Tell a slot write, then the barrier."""
        _tell(self.hooks["store"], oid, index, old, new)
        _tell(self.wb, oid, old, new)

    def insert(self, oid: int, index: int, new: int) -> None:
        """Tell a slot insertion, then the barrier."""
        _tell(self.hooks["insert"], oid, index, new)
        _tell(self.wb, oid, NULL, new)

    def delete(self, oid: int, index: int, old: int) -> None:
        """Tell a slot removal, then the barrier."""
        _tell(self.hooks["delete"], oid, index, old)
        _tell(self.wb, oid, old, NULL)

    def incref(self, oid: int) -> None:
        """Tell one more external reference."""
        _tell(self.hooks["incref"], oid)

    def decref(self, oid: int) -> None:
        """Tell one external reference fewer."""
        _tell(self.hooks["decref"], oid)

    def free(self, oid: int) -> None:
        """Tell a free (``ObjectTable.free_listeners`` calls this while listeners exist)."""
        _tell(self.hooks["free"], oid)

    def store_many(self, oids: I32, indices: I32, olds: I32, news: I32) -> None:
        """Tell a batch of slot writes (read-only arrays), then the barrier."""
        oids, indices, olds, news = map(_read_only, (oids, indices, olds, news))
        _tell(self.hooks["store_many"], oids, indices, olds, news)
        _tell(self.wb_many, oids, olds, news)


class MutationMixin:
    """The mutation surface of :class:`~gclab.heap.core.HeapCore` (see the module docstring)."""

    def _init_mutation(self: HeapCore) -> None:
        self._dispatch = Dispatch()
        self._watched = False  # a listener or a barrier is attached: the hot paths' one test

    # -- attaching ---------------------------------------------------------------------------------

    @property
    def listeners(self: HeapCore) -> tuple[MutationListener, ...]:
        """The attached listeners, in the order they were added."""
        return tuple(self._dispatch.listeners)

    def add_listener(self: HeapCore, listener: MutationListener, *, replay: bool = False) -> None:
        """Tell ``listener`` every event from now on (after the listeners added before it).

        ``replay``: first tell it the heap as it stands, as if it had been built now: an
        ``alloc`` of every live object (in id order), a ``store`` of every non-NULL slot, an
        ``incref`` per external reference; a listener that rebuilds the graph then needs no
        other source. TypeError for an object without the :class:`MutationListener` methods;
        :class:`~gclab.errors.ListenerError` if it is attached already or a deallocation runs.
        """
        if isinstance(listener, type) or not isinstance(listener, MutationListener):
            raise TypeError(f"a mutation listener has the methods {', '.join(Dispatch.EVENTS)}; "
                            f"got {listener!r}")
        if any(known is listener for known in self._dispatch.listeners):
            raise ListenerError(f"{listener!r} listens to this heap already")
        self._refuse_while_deallocating("add a listener")
        if replay:
            self._replay(listener)
        if not self._dispatch.listeners:
            self.table.free_listeners.append(self._dispatch.free)
        self._dispatch.listeners.append(listener)
        self._dispatch.rebuild()
        self._watched = True

    def remove_listener(self: HeapCore, listener: MutationListener) -> None:
        """Stop telling ``listener`` (:class:`~gclab.errors.ListenerError` if it is not
        attached)."""
        listeners = self._dispatch.listeners
        found = [position for position, known in enumerate(listeners) if known is listener]
        if not found:
            raise ListenerError(f"{listener!r} does not listen to this heap")
        del listeners[found[0]]
        if not listeners:
            self.table.free_listeners.remove(self._dispatch.free)
        self._dispatch.rebuild()
        self._watched = bool(listeners) or self._dispatch.barrier is not None

    @property
    def barrier(self: HeapCore) -> WriteBarrier | None:
        """The write barrier called on every slot write, or None (the default).

        Set it to an object with the :class:`WriteBarrier` methods (TypeError otherwise), or to
        None to remove it; :class:`~gclab.errors.ListenerError` when a barrier is installed
        already (remove it first) or a deallocation runs. A collector whose
        ``Capabilities.write_barrier`` is true installs itself here.

        >>> from gclab.heap.core import HeapCore
        >>> class Shade(OneAtATimeBarrier):      # Dijkstra's barrier: a new target turns gray
        ...     def __init__(self):
        ...         self.gray = []
        ...     def write_barrier(self, oid, old, new):
        ...         if new >= 0:
        ...             self.gray.append(new)
        >>> heap = HeapCore()
        >>> heap.barrier = shade = Shade()
        >>> a, b = heap.alloc("list"), heap.alloc("list")
        >>> heap.append_slot(a, b); heap.set_slots([a], [0], [a])
        >>> shade.gray == [b, a]
        True
        """
        return self._dispatch.barrier

    @barrier.setter
    def barrier(self: HeapCore, barrier: WriteBarrier | None) -> None:
        with self._lock:
            if barrier is not None:
                if isinstance(barrier, type) or not isinstance(barrier, WriteBarrier):
                    raise TypeError(f"a write barrier has the methods write_barrier and "
                                    f"write_barrier_many; got {barrier!r}")
                if self._dispatch.barrier is not None:
                    raise ListenerError(f"{self._dispatch.barrier!r} is this heap's write "
                                        f"barrier already (set heap.barrier = None first)")
                self._refuse_while_deallocating("install a write barrier")
            self._dispatch.barrier = barrier
            self._dispatch.rebuild()
            self._watched = bool(self._dispatch.listeners) or barrier is not None

    def _refuse_while_deallocating(self: HeapCore, what: str) -> None:
        if self._deallocating():
            raise ListenerError(f"cannot {what} while a deallocation runs (from a __del__ or "
                                f"weakref callback it runs); do it between operations")

    def _replay(self: HeapCore, listener: MutationListener) -> None:
        """Tell ``listener`` the heap as it stands (see :meth:`add_listener`)."""
        t = self.table
        alive = (np.flatnonzero(t.flags[N_HEADS : t.top] & ALIVE) + N_HEADS).tolist()
        for oid in alive:
            _tell([listener.alloc], oid, int(t.type_id[oid]), int(t.ref_len[oid]))
        for oid in alive:
            for index, value in enumerate(t.slot_list(oid)):
                if value != NULL:
                    _tell([listener.store], oid, index, NULL, value)
        for oid in alive:
            for _ in range(int(t.extern[oid])):
                _tell([listener.incref], oid)

    # -- slot writes -------------------------------------------------------------------------------
    # None counts references: the callers hold what they store and release what they remove.

    def write_slot(self: HeapCore, oid: int, index: int, value: int) -> int:
        """Store ``value`` in slot ``index`` of ``oid``; returns the value it held."""
        t = self.table
        pool = t.mv_pool
        at = t.mv_ref_start[oid] + index
        old: int = pool[at]
        pool[at] = value
        if self._watched:
            self._dispatch.store(oid, index, old, value)
        return old

    def write_insert(self: HeapCore, oid: int, index: int, value: int) -> None:
        """Insert a slot holding ``value`` before slot ``index`` (room is made first: a
        HeapFullError or MemoryError changes nothing)."""
        self.table.insert(oid, index, value)
        if self._watched:
            self._dispatch.insert(oid, index, value)

    def write_remove(self: HeapCore, oid: int, index: int, count: int = 1) -> list[int]:
        """Remove ``count`` slots from ``index`` on; returns the values they held, in order."""
        t = self.table
        start = int(t.ref_start[oid]) + index
        olds: list[int] = t.pool[start : start + count].tolist()
        t.remove(oid, index, count)
        if self._watched:
            for old in olds:
                self._dispatch.delete(oid, index, old)
        return olds

    def write_truncate(self: HeapCore, oid: int) -> list[int]:
        """Empty ``oid``'s slots; returns the values they held, in slot order."""
        values = self.table.truncate(oid)
        if self._watched:
            for index in range(len(values) - 1, -1, -1):
                self._dispatch.delete(oid, index, values[index])
        return values

    def write_all(self: HeapCore, oid: int, codes: Sequence[int]) -> None:
        """Make ``codes`` the slots of ``oid`` (a slice assignment, sort, reverse, extend...).

        Told as a ``store`` per changed slot of the common length, then an ``insert`` per
        slot added at the end or a ``delete`` per slot removed from the end (last first)."""
        t = self.table
        olds: list[int] = t.slot_list(oid) if self._watched else []
        old_length = int(t.ref_len[oid])
        t.reserve(oid, len(codes))
        start = int(t.ref_start[oid])
        t.pool[start : start + len(codes)] = codes
        if old_length > len(codes):
            t.pool[start + len(codes) : start + old_length] = NULL
        t.ref_len[oid] = len(codes)
        if self._watched:
            self._tell_rewrite(oid, olds, list(codes))

    def _tell_rewrite(self: HeapCore, oid: int, olds: list[int], news: list[int]) -> None:
        common = min(len(olds), len(news))
        for index in range(common):
            if olds[index] != news[index]:
                self._dispatch.store(oid, index, olds[index], news[index])
        for index in range(common, len(news)):
            self._dispatch.insert(oid, index, news[index])
        for index in range(len(olds) - 1, common - 1, -1):
            self._dispatch.delete(oid, index, olds[index])

    # -- external references -----------------------------------------------------------------------

    def take_external(self: HeapCore, oid: int) -> None:
        """One more external reference to ``oid`` (its count and ``extern`` go up)."""
        t = self.table
        t.mv_refcnt[oid] += 1
        t.mv_extern[oid] += 1
        if self._watched:
            self._dispatch.incref(oid)

    def _drop_external(self: HeapCore, oid: int) -> None:
        """One external reference fewer; at zero ``oid`` is deallocated at once."""
        self.table.mv_extern[oid] -= 1
        if self._watched:
            self._dispatch.decref(oid)
        self.release(oid)

    def drop_external_kept(self: HeapCore, oid: int) -> None:
        """One external reference fewer to an object other references keep alive (its count
        stays above zero): nothing is deallocated."""
        t = self.table
        t.mv_extern[oid] -= 1
        t.mv_refcnt[oid] -= 1
        if self._watched:
            self._dispatch.decref(oid)

    def external_to_slot(self: HeapCore, oid: int) -> None:
        """The caller's external reference to ``oid`` is now the reference of a slot it has
        written: ``extern`` goes down, the count stays."""
        self.table.mv_extern[oid] -= 1
        if self._watched:
            self._dispatch.decref(oid)

    # -- what the bulk API and allocation did (called only while watched) ------------------------

    def _tell_alloc(self: HeapCore, oid: int, type_id: int, size: int) -> None:
        """Tell a new row (:meth:`HeapCore._new_object`)."""
        self._dispatch.alloc(oid, type_id, size)

    def _tell_rows(self: HeapCore, ids: I32, type_id: int, size: int) -> None:
        """Tell rows the bulk API made, each with its caller's external reference: ``alloc``
        then ``incref`` per id, in order."""
        for oid in ids.tolist():
            self._dispatch.alloc(oid, type_id, size)
            self._dispatch.incref(oid)

    def _tell_increfs(self: HeapCore, oid: int, count: int) -> None:
        """Tell ``count`` new external references to ``oid``."""
        for _ in range(count):
            self._dispatch.incref(oid)

    def _tell_decrefs(self: HeapCore, ids: I32) -> None:
        """Tell one external reference fewer to each of ``ids``, in order."""
        for oid in ids.tolist():
            self._dispatch.decref(oid)

    def _tell_stores(self: HeapCore, ids: I32, indices: I32, olds: I32, news: I32) -> None:
        """Tell the bulk store kernel's writes, in batch order."""
        self._dispatch.store_many(ids, indices, olds, news)


__all__ = ["BaseListener", "EventLog", "MutationListener", "MutationMixin",
           "OneAtATimeBarrier", "WriteBarrier"]
