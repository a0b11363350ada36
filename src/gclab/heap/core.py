"""HeapCore: what exists. Objects, reference counts, slots, tracking, by integer id.

This is the low-level API (issue part 10) on which proxies, traces and the bulk API are built.
Every reference is counted: a slot of a live object, or an *external* reference (a proxy, a
frame held by the simulation, a caller of the low-level API). An object whose count reaches
zero is deallocated at once (see :mod:`gclab.heap.dealloc`).

>>> from gclab.heap.core import HeapCore
>>> heap = HeapCore()
>>> a = heap.alloc("list")             # the caller holds one external reference
>>> heap.append_slot(a, a)             # a list that contains itself
>>> heap.refcount(a)
2
>>> heap.decref(a)                     # drop the external reference: a leaks into a cycle
>>> heap.is_alive(a), heap.is_tracked(a)
(True, True)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import NoReturn, TypeVar

import numpy as np
import numpy.typing as npt

from .. import config
from ..errors import (
    HeapFullError,
    InvalidObjectError,
    RefcountUnderflowError,
    ShutdownError,
    UseAfterFreeError,
)
from ..profiles import Profile, get_profile
from .allocation import AllocationMixin
from .args import INT32_MAX, as_count, as_int, is_int
from .atoms import AtomTable
from .bulk import BulkMixin
from .containers import ContainersMixin
from .dealloc import DeallocMixin
from .deferred import DeferredMixin
from .fastpath import FastPathMixin
from .fastslots import FastSlotsMixin
from .flags import ALIVE
from .guard import NoUserCode, Operation, guard_methods, operation_done, quick_operation
from .interrupts import INTERRUPTS
from .interrupts import install as install_interrupts
from .layout import gc_referents, traverse_codes
from .mutation import MutationMixin
from .observer import AllocationObserver, NoCollector
from .rules import LayoutMixin
from .table import MAX_ID, N_HEADS, NULL, ObjectTable
from .types import DICT, TUPLE, Kind, TypeInfo, TypeRegistry
from .usercode import UserCalls, host_collector, watch_host_collector
from .weakrefs import WeakrefMixin

C = TypeVar("C", bound=AllocationObserver)


class HeapCore(FastPathMixin, FastSlotsMixin, AllocationMixin, ContainersMixin, DeallocMixin,
               DeferredMixin, WeakrefMixin, BulkMixin, LayoutMixin, MutationMixin):
    """Objects in flat arrays with CPython's reference-counting semantics."""

    def __init__(self, profile: str | Profile | None = None, *, capacity: int = 1024) -> None:
        capacity = as_count(capacity, "capacity")
        if capacity > MAX_ID + 1:
            raise HeapFullError(f"capacity {capacity} is past the int32 ids (at most "
                                f"{MAX_ID + 1} rows)")
        self.profile = get_profile(profile)
        self.table = ObjectTable(capacity)
        self.types = TypeRegistry()
        self.atoms = AtomTable()
        # The collector (heap/observer.py): a bare HeapCore's counts nothing, never collects.
        self.observer: AllocationObserver = NoCollector(self.table)
        self._init_mutation()  # before the first allocation: nobody listens yet
        # Makes a host-side handle (a proxy) for an id; the handle holds one reference.
        # Finalizers and weakref callbacks receive these. The proxy layer replaces it.
        # How many times host code was handed heap objects by the engine (a ``__del__``, a
        # weakref callback): only such code can resurrect a collection's garbage.
        self.user_calls = 0
        # The nesting of those calls, bounded by the profile's recursion limit (usercode.py).
        self.user_code = UserCalls(self.profile.recursion_limit)
        watch_host_collector()  # proxies it frees give their references back later
        install_interrupts()  # Ctrl-C waits for the end of an engine step
        self._lock = threading.RLock()  # taken by every entry point (heap/guard.py)
        self.shut_down = False  # set by Heap.shutdown(): every entry point refuses afterwards
        self._op_depth: int = 0
        self._op_counted: list[bool] = []  # per open operation: counted by INTERRUPTS
        self._interrupts_seen: int = INTERRUPTS.raised
        self._dealloc_depth = 0  # deallocation cascades running (HeapCore.release)
        self._defer_depth = 0
        self._deferred_releases: list[int] = []
        self._operation = Operation(self)
        self._no_user_code = NoUserCode(self)
        self._init_dealloc()
        self._init_weakrefs()
        self._init_containers()
        # managed class -> (slot count, inline values?): classes new_instance makes flat
        self._instance_facts: dict[TypeInfo, tuple[int, bool]] = {}
        # Invariant checks (gclab.heap.invariants): 1 after each collection, 2 after each op.
        self.debug_level = config.DEBUG_LEVEL
        # References the simulation itself holds and never drops (C statics): decref and
        # decref_many refuse to drop them, so these objects are immortal.
        self.static_refs: dict[int, int] = {}
        self.empty_tuple = self._new_object(self.types[TUPLE], 0, track=False)
        self.add_static_ref(self.empty_tuple)

    def attach(self, make: Callable[[HeapCore], C]) -> C:
        """Make ``make(self)`` the heap's collector (:attr:`observer`) and return it.

        The current collector gives its list heads back first, so the new one can reserve
        them; its lists must be empty (a collector is chosen before anything is tracked:
        :class:`~gclab.errors.HeapError` otherwise). If ``make`` fails, the current collector
        keeps its heads and its place: nothing changed."""
        if not callable(make):
            raise TypeError(f"attach takes a callable that makes the collector from the heap, "
                            f"not {type(make).__name__}")
        reserved = self.table.heads_reserved.copy()
        self.observer.detach()
        try:
            collector = make(self)
        except BaseException:
            self.table.heads_reserved[:] = reserved
            raise
        self.observer = collector
        self.choose_free_mode(collector)  # deferred frees if it does not use refcounts
        return collector


    def add_static_ref(self, oid: int) -> None:
        """Take a reference on behalf of the simulation itself (CPython's static empty tuple,
        the module namespace): it is counted as external and can never be dropped."""
        oid = self.check_id(oid)
        self.take_external(oid)
        self.static_refs[oid] = self.static_refs.get(oid, 0) + 1

    # -- validation ------------------------------------------------------------------------------

    def check_id(self, oid: object) -> int:
        """``oid`` as a Python int if it names a live object, else a typed error (TypeError for
        a non-int, InvalidObjectError out of range, UseAfterFreeError once freed)."""
        t = self.table
        if type(oid) is int and N_HEADS <= oid < t.top and t.mv_flags[oid] & ALIVE:
            return oid  # the usual case, read through the memoryview
        if not is_int(oid):
            raise TypeError(f"object ids are ints, got {type(oid).__name__} {oid!r}")
        number = int(oid)
        if not N_HEADS <= number < self.table.top:
            raise InvalidObjectError(f"no object with id {number} in this heap")
        if not self.table.flags[number] & ALIVE:
            raise UseAfterFreeError(f"object {number} was deallocated (use after free)")
        return number

    def check_value(self, code: object) -> int:
        """A slot value as a Python int: a live id, :data:`NULL` or an atom code."""
        if type(code) is int and code >= N_HEADS:
            t = self.table
            if code < t.top and t.mv_flags[code] & ALIVE:
                return code
        if not is_int(code):
            raise TypeError(f"slot values are object ids, atom codes (heap.atom(value)) or "
                            f"NULL, not {type(code).__name__} {code!r}")
        number = int(code)
        if number < 0:
            if number == NULL or self.atoms.is_live(number):
                return number
            raise InvalidObjectError(f"{number} is not an atom code of this heap")
        return self.check_id(number)

    def is_alive(self, oid: int) -> bool:
        """True when ``oid`` names a live object (TypeError if it is not an int)."""
        return self.table.is_alive(as_int(oid, "an object id"))

    def describe(self, oid: object) -> str:
        """``<TYPE id>``: how errors and debug output name an object (never raises)."""
        if not is_int(oid):
            return repr(oid)
        number = int(oid)
        if self.table.is_alive(number):
            return f"<{self.types[int(self.table.type_id[number])].name} {number}>"
        if N_HEADS <= number < self.table.top:
            return f"<freed {number}>"
        return f"<no object {number}>"

    def describe_code(self, code: int) -> str:
        """A slot value for messages: ``NULL``, an atom's repr or :meth:`describe`."""
        if code == NULL:
            return "NULL"
        if code < 0:
            return repr(self.atoms.value(code))
        return self.describe(code)

    def type_of(self, oid: int) -> TypeInfo:
        """The :class:`TypeInfo` of a live object (typed error for anything else)."""
        t = self.table
        if type(oid) is not int or not N_HEADS <= oid < t.top or not t.mv_flags[oid] & ALIVE:
            oid = self.check_id(oid)
        return self.types[t.mv_type_id[oid]]

    def atom(self, value: object) -> int:
        """The slot code of an atomic value (int, float, str, bytes, bool, None, complex).

        The code stays valid for the heap's life (the atom is pinned: never swept, see
        :class:`~gclab.heap.table.AtomTable`), so it can be stored at any later time."""
        if not AtomTable.is_atom_value(value):
            raise TypeError(f"{type(value).__name__} is not an atomic value")
        return self.atoms.pin(value)

    def sweep_atoms(self) -> int:
        """Release the atoms no slot of a live object holds (see
        :class:`~gclab.heap.table.AtomTable`); returns how many. Runs at the end of a
        top-level operation once the atom table has grown enough."""
        t = self.table
        alive = np.flatnonzero(t.flags[N_HEADS : t.top] & ALIVE) + N_HEADS
        lengths = t.ref_len[alive].astype(np.int64)
        before = np.cumsum(lengths) - lengths
        positions = np.repeat(t.ref_start[alive].astype(np.int64) - before, lengths)
        values = t.pool[positions + np.arange(int(lengths.sum()))]
        held = np.zeros(len(self.atoms._values), np.bool_)
        held[-2 - values[values <= -2].astype(np.int64)] = True
        return self.atoms.sweep(held)

    @property
    def sim_frames(self) -> int:
        """The simulated program's Python frames outside finalizers and callbacks: the module
        and every frame made by ``heap.frame()`` that has not returned."""
        t, frame_type = self.table, self.types.by_name("frame").type_id
        running = [f for f in self.running_frames
                   if t.is_alive(f) and int(t.type_id[f]) == frame_type]
        return 1 + len(running)

    def recover_interrupted(self) -> None:
        """After a KeyboardInterrupt raised outside engine code: anything it may have cut
        short before it took the heap is finished now (the proxy layer gives back releases a
        dying proxy's callback did not make; heap/interrupts.py)."""
        self._interrupts_seen = INTERRUPTS.raised
        recover = getattr(self, "recover_lost_releases", None)
        if recover is not None:
            recover()

    def refuse_after_shutdown(self) -> NoReturn:
        """Raise :class:`~gclab.errors.ShutdownError`: the heap was shut down."""
        raise ShutdownError("this heap was shut down (heap.shutdown()): the simulated "
                            "interpreter has exited; make a new gclab.Heap")

    # -- top-level operations and safe points ----------------------------------------------------

    def operation(self) -> Operation:
        """Bracket a top-level heap operation; its end is a safe point (spec §2.3, 3.12+).

        ``with heap.operation():`` counts the nesting; when the outermost one ends without an
        exception, the observer's safepoint runs (then the level-2 invariant check)."""
        return self._operation

    def no_user_code(self) -> NoUserCode:
        """Phases that run no user code: proxy releases wait until the phase is over.

        ``with heap.no_user_code():`` counts the nesting; when the outermost one ends without
        an exception, the deferred releases are done in order."""
        return self._no_user_code

    # -- reference counting ----------------------------------------------------------------------

    def _general_incref(self, oid: int) -> None:
        """Take an external reference to ``oid`` (the general path of ``incref``)."""
        oid = self.check_id(oid)
        if int(self.table.refcnt[oid]) >= INT32_MAX:
            raise HeapFullError(f"{self.describe(oid)} has {INT32_MAX} references (int32)")
        self.take_external(oid)

    def _general_decref(self, oid: int) -> None:
        """Drop an external reference; at zero the object is deallocated at once (the general
        path of ``decref``).

        RefcountUnderflowError if the caller holds none: the external references left are
        all kept (:meth:`_kept_refs`: the simulation's static reference, a live proxy's)."""
        oid = self.check_id(oid)
        if self.table.mv_extern[oid] - self._kept_count(oid) <= 0:
            why = self._kept_refs(oid)[1]
            raise RefcountUnderflowError(
                f"{self.describe(oid)} has no external reference to drop{why}")
        if not quick_operation(self):
            with self.operation():
                self._drop_external(oid)
            return
        self._op_depth += 1
        try:
            self._drop_external(oid)
        finally:
            self._op_depth -= 1
        if not self._op_depth:
            operation_done(self)

    def _kept_refs(self, oid: int) -> tuple[int, str]:
        """How many of ``oid``'s external references decref may not drop, and why (a phrase
        for messages): here the static references (:attr:`static_refs`)."""
        static = self.static_refs.get(oid, 0)
        return static, (" (the one left is the simulation's static reference, which is never "
                        "dropped)" if static else "")

    def _kept_count(self, oid: int) -> int:
        """The count of :meth:`_kept_refs` alone (no message): what decref checks first."""
        return self.static_refs.get(oid, 0)

    def _kept_refs_many(self, codes: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
        """:meth:`_kept_refs` for every entry of ``codes`` (live ids), vectorised."""
        kept = np.zeros(len(codes), np.int32)
        for oid, count in self.static_refs.items():
            kept[codes == oid] += count
        return kept

    def release_external(self, oid: int) -> None:
        """Drop an external reference on behalf of a dying proxy.

        Deferred (queued in ``_deferred_releases``) while a collector phase runs no user code,
        and while the *host's* cyclic collector runs: it frees proxies at whatever allocation
        triggered it, possibly half way through an engine step, so their references are given
        back at the next safe moment instead: the end of the phase, or the start or end of the
        next top-level heap operation (:meth:`flush_releases`)."""
        if self._defer_depth or host_collector.running:
            self._deferred_releases.append(oid)
        else:
            self._drop_external(oid)

    # release_external without the guard's wrapper, for callers that hold the lock already
    _release_external_locked = release_external

    def flush_releases(self) -> None:
        """Give back the references of deferred proxy releases, in the order they came."""
        while self._deferred_releases and not self._defer_depth:
            pending, self._deferred_releases = self._deferred_releases, []
            for oid in pending:
                self._drop_external(oid)

    def hold(self, code: int) -> None:
        """Count one more reference from inside the heap (a slot) to ``code`` (an engine
        primitive: not checked)."""
        if code >= 0:
            self.table.mv_refcnt[code] += 1

    def refcount(self, oid: int) -> int:
        """The simulated reference count of ``oid``: slot references plus external ones
        (proxies, frames held by the simulation, low-level callers, static references)."""
        oid = self.check_id(oid)
        return self.table.mv_refcnt[oid]

    # -- slots -----------------------------------------------------------------------------------

    def slots(self, oid: int) -> list[int]:
        """The slot values of ``oid`` (ids, atom codes, NULL)."""
        oid = self.check_id(oid)
        return self.table.slot_list(oid)

    def _check_index(self, oid: int, index: object, *, end_ok: bool = False) -> int:
        index = as_int(index, "a slot index")
        length = int(self.table.ref_len[oid])
        limit = length + 1 if end_ok else length
        if not 0 <= index < limit:
            raise IndexError(f"slot {index} out of range for {self.describe(oid)} "
                             f"with {length} slots")
        return index

    def _check_slotted(self, oid: int) -> TypeInfo:
        info = self.type_of(oid)
        if info.kind is Kind.WEAKREF:
            raise TypeError(f"{self.describe(oid)} has no reference slots")
        return info

    def _general_set_slot(self, oid: int, index: int, value: int) -> None:
        """Store ``value`` in slot ``index``: the new reference is taken, then the old dropped
        (``set_slot``'s general path: heap/fastslots.py).

        The layout rules of :mod:`gclab.heap.rules` apply (a dict key slot takes a hashable
        key not already in the dict, a frame's name slot a str atom, ...)."""
        oid = self.check_id(oid)
        info = self._check_slotted(oid)
        index = self._check_index(oid, index)
        value = self.check_value(value)
        self._check_store(oid, info, index, value)
        with self.operation():
            self.store(oid, index, value)

    def store(self, oid: int, index: int, value: int) -> None:
        """Unchecked set_slot (Py_XSETREF): hold the new value, then release the old one (an
        engine primitive: neither the arguments nor the layout rules are checked)."""
        self.hold(value)
        old = self.write_slot(oid, index, value)
        if int(self.table.type_id[oid]) == DICT:
            self.maintain_tracking(oid, value)
        self.release(old)

    def clear_slot(self, oid: int, index: int) -> None:
        """Empty slot ``index`` (drop its reference)."""
        self.set_slot(oid, index, NULL)

    def _general_append_slot(self, oid: int, value: int) -> None:
        """Add ``value`` as a new last slot (lists and sets: the other layouts fix their
        slot count): ``append_slot``'s general path (heap/fastslots.py)."""
        oid = self.check_id(oid)
        info = self._check_slotted(oid)
        self._check_resize(oid, info, "append_slot")
        value = self.check_value(value)
        self._insert(oid, info, int(self.table.ref_len[oid]), value)

    def insert_slot(self, oid: int, index: int, value: int) -> None:
        """Insert ``value`` before slot ``index`` (lists and sets)."""
        oid = self.check_id(oid)
        info = self._check_slotted(oid)
        self._check_resize(oid, info, "insert_slot")
        index = self._check_index(oid, index, end_ok=True)
        value = self.check_value(value)
        self._insert(oid, info, index, value)

    def _insert(self, oid: int, info: TypeInfo, index: int, value: int) -> None:
        self._check_store(oid, info, index, value, new_slot=True)
        self.table.reserve(oid, int(self.table.ref_len[oid]) + 1)  # may fail: nothing held yet
        with self.operation():
            self.hold(value)
            self.write_insert(oid, index, value)

    def delete_slot(self, oid: int, index: int) -> None:
        """Remove slot ``index`` (the slots after it shift left) and drop its reference
        (lists and sets)."""
        oid = self.check_id(oid)
        info = self._check_slotted(oid)
        self._check_resize(oid, info, "delete_slot")
        index = self._check_index(oid, index)
        with self.operation():
            (old,) = self.write_remove(oid, index)
            self.release(old)

    # -- traversal -------------------------------------------------------------------------------

    def traverse(self, oid: int) -> list[int]:
        """The values ``tp_traverse`` visits, in CPython's order (atoms as codes)."""
        oid = self.check_id(oid)
        info = self.type_of(oid)
        if not info.gc_capable:
            return []
        return traverse_codes(self.table, self.atoms, info, oid)

    def referents(self, oid: int) -> list[int]:
        """The object ids traverse visits (what the collector follows), in order."""
        oid = self.check_id(oid)
        return gc_referents(self.table, self.type_of(oid), oid)

    # alloc without the guard's wrapper, for callers that hold the lock already
    _alloc_locked = AllocationMixin._general_alloc

    def wrap(self, oid: int) -> object:
        """A host-side handle for ``oid`` holding one reference, given to finalizers and
        weakref callbacks (the proxy layer gives a proxy)."""
        return _PlainHandle(self, oid)


class _PlainHandle:
    """A minimal handle holding one reference (used when no proxy layer is installed)."""

    __slots__ = ("heap", "id")

    def __init__(self, heap: HeapCore, oid: int) -> None:
        self.heap = heap
        self.id = oid
        heap.take_external(oid)

    def __del__(self) -> None:
        self.heap.release_external(self.id)


# The entry points that change the heap (or intern atoms) take its lock: validation and the
# change happen under it, so another thread cannot free an object in between (heap/guard.py).
# Engine primitives (hold, release, store, track, ...) and one-column reads stay unguarded. The
# flat twins of heap/fastpath.py and heap/fastslots.py (alloc, incref, decref, new_instance,
# dict_get, dict_set, set_slot, append_slot) take the lock themselves and call these general
# paths otherwise.
LOCKED_API = (
    "add_static_ref", "_general_alloc", "_general_incref", "_general_decref",
    "_general_set_slot", "clear_slot", "_general_append_slot", "insert_slot", "delete_slot",
    "atom", "sweep_atoms",
    "release_external", "slots", "traverse", "referents", "_general_dict_get",
    "_general_dict_set", "dict_delete", "_general_new_instance", "new_frame", "frame_load",
    "frame_store", "frame_delete", "frame_locals", "frame_return",
    "new_weakref", "weakrefs_of", "alloc_many", "set_slots", "decref_many", "add_listener",
    "remove_listener", "free_unreachable",
)
# (get_attr, set_attr, del_attr: the managed instances' attribute access, which changes the
# heap only inside heap.operation())
guard_methods(HeapCore, LOCKED_API, None)
