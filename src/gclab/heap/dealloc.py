"""Reference-count deallocation: the cascade, finalizers on the refcount path, the trashcan.

A deallocation is a generator that yields the references it drops; :meth:`_run` drives a stack
of them, so a million-long chain is freed without Python recursion while the order of events is
exactly that of CPython's recursive deallocators (spec §7.1) bracketed by the trashcan (§7.2):
a bracketed dealloc entered at nesting depth ``trashcan_deposit_at`` is deferred onto the
``delete_later`` stack, which is drained most recent first once the nesting unwinds to
``trashcan_drain_at``.

With the kernels on (``heap.dealloc_kernel`` set), plain objects are deallocated by the compiled
twin of this driver, :mod:`gclab.heap._jit_dealloc`; :meth:`_run_mixed` interleaves it with the
generators of the objects that run user code. The trashcan state (:class:`TrashCan`) is shared.
While a mutation listener or a write barrier watches (:mod:`gclab.heap.mutation`), tp_clear
runs on its Python twin, whose slot writes they hear; cascades stay compiled (they write no
slot, and their frees reach the listeners through ``ObjectTable.free_listeners``).
"""

from __future__ import annotations

from collections.abc import Generator
from types import MethodType
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .. import _jit
from ..errors import InvariantViolation
from . import _jit_dealloc as _kernel
from .flags import FINALIZED, HAS_WEAKREFS, NOT_COLLECTING, TRACKED
from .layout import release_order
from .table import NULL
from .types import Kind, TypeInfo

if TYPE_CHECKING:
    from .core import HeapCore

DECREF, DEALLOC = 0, 1
Step = tuple[int, int]
Dealloc = Generator[Step, None, None]

# Types whose deallocator is bracketed by Py_TRASHCAN_BEGIN/END.
_TRASHCAN_KINDS = frozenset({Kind.LIST, Kind.TUPLE, Kind.DICT, Kind.SET, Kind.INSTANCE})


class TrashCan:
    """The trashcan's ``delete_later`` LIFO stack; ``state`` is ``[nesting, depth]`` (int64).

    Numpy storage, so that the compiled cascade and the generators share one trashcan."""

    def __init__(self) -> None:
        self.state = np.zeros(2, np.int64)
        self.items: npt.NDArray[np.int32] = np.zeros(64, np.int32)

    def append(self, oid: int) -> None:
        """Push ``oid`` (deferred: refcount 0, untracked)."""
        depth = int(self.state[1])
        if depth >= len(self.items):
            self.grow(depth + 1)
        self.items[depth] = oid
        self.state[1] = depth + 1

    def pop(self) -> int:
        """Remove and return the most recently pushed id."""
        depth = int(self.state[1]) - 1
        if depth < 0:
            raise IndexError("pop from an empty trashcan")
        self.state[1] = depth
        return int(self.items[depth])

    def grow(self, size: int) -> None:
        """Make room for at least ``size`` ids (contents kept)."""
        items = np.zeros(max(size, 2 * len(self.items)), np.int32)
        items[: len(self.items)] = self.items
        self.items = items

    def __len__(self) -> int:
        return int(self.state[1])

    def __bool__(self) -> bool:
        return bool(self.state[1])

    def tolist(self) -> list[int]:
        """The waiting ids, oldest first."""
        return self.items[: int(self.state[1])].tolist()


class DeallocMixin:
    """Deallocation for :class:`~gclab.heap.core.HeapCore`."""

    def _init_dealloc(self: HeapCore) -> None:
        self.trash_delete_later = TrashCan()
        # The compiled cascade (None: the generators alone, as under GCLAB_JIT=0 and while the
        # process runs the plain twins; adopted at the first top-level release after the switch
        # to compiled helpers, gclab._jit.ACTIVE, unless someone set it meanwhile).
        self.dealloc_kernel: _kernel.DeallocKernel | None = (
            _kernel.DeallocKernel() if _jit.ACTIVE else None)
        self._kernel_pending = _jit.ENABLED and self.dealloc_kernel is None

    def _adopt_kernel(self: HeapCore) -> None:
        """Between deallocations (none running), once the process compiles: afterwards the heap
        has its compiled cascade, as if made after the switch. Nothing of the kernel's state
        carries over from before (it has none between deallocations; the trashcan is shared)."""
        self._kernel_pending = False
        self.dealloc_kernel = _kernel.DeallocKernel()

    def adopt_kernel_if_due(self: HeapCore) -> None:
        """Afterwards the heap has its compiled cascade if the process has compiled since
        the heap was made and no deallocation is running (else nothing changes). A
        deallocation and a collection call it before they start, so a heap made before the
        start-up switch runs compiled from its next free or collection on."""
        if (self.dealloc_kernel is None and self._kernel_pending and _jit.ACTIVE
                and not self._deallocating()):
            self._adopt_kernel()

    @property
    def trash_nesting(self) -> int:
        """The trashcan nesting level (CPython's per-thread ``delete_nesting``)."""
        return int(self.trash_delete_later.state[0])

    @trash_nesting.setter
    def trash_nesting(self, value: int) -> None:
        self.trash_delete_later.state[0] = value

    # -- the driver ------------------------------------------------------------------------------

    def release(self: HeapCore, code: int) -> None:
        """Drop one reference held inside the heap; at zero, deallocate (cascading), unless
        the heap defers frees (:mod:`gclab.heap.deferred`): then the object stays, count 0,
        and no cascade (compiled or not) starts."""
        if code < 0:
            return
        rc = self.table.mv_refcnt
        count = rc[code] - 1
        rc[code] = count
        if count == 0 and not self.defers_frees:
            self.adopt_kernel_if_due()
            self._dealloc_depth += 1  # the invariant checker: a deallocation is running
            try:
                if self.dealloc_kernel is not None and self.observer.accounting is not None:
                    self._run_mixed([self._dealloc_step(code)])
                else:
                    self._run(self._dealloc(code))
            finally:
                self._dealloc_depth -= 1
        elif count < 0:
            raise InvariantViolation(f"{self.describe(code)}: reference count below zero")

    def _run(self: HeapCore, first: Dealloc) -> None:
        """Drive nested deallocations with an explicit stack instead of recursion."""
        stack = [first]
        while stack:
            try:
                op, target = next(stack[-1])
            except StopIteration:
                stack.pop()
                continue
            if op == DEALLOC:
                stack.append(self._dealloc(target))
            elif target >= 0:
                rc = self.table.refcnt  # user code may have grown the table
                rc[target] -= 1
                if rc[target] == 0 and not self.defers_frees:
                    stack.append(self._dealloc(target))

    # -- the driver with the compiled cascade ----------------------------------------------------
    #
    # It runs when the heap has it (``dealloc_kernel``) and the collector's after_gc_free is
    # data the kernel can apply itself (``observer.accounting``, heap/observer.py); a collector
    # that wants every free reported (``accounting is None``) gets the generators alone.

    def _clear_compiled(self: HeapCore) -> bool:
        """True when tp_clear may run in the compiled cascade: it runs, no mutation listener
        or write barrier must hear the slot writes (gclab.heap.mutation), and the heap does
        not defer frees (the kernel deallocates at zero)."""
        return (not self._watched and self.dealloc_kernel is not None
                and self.observer.accounting is not None and not self.defers_frees)

    def _deallocating(self: HeapCore) -> bool:
        """True while a deallocation runs: a cascade of :meth:`release`, or a compiled segment
        (tp_clear, delete_garbage) paused for Python."""
        kernel = self.dealloc_kernel
        return bool(self._dealloc_depth) or (kernel is not None
                                            and kernel.io.item(_kernel.IO_TOP) > 0)

    def _is_plain(self: HeapCore, oid: int) -> bool:
        """True when ``oid``'s dealloc runs no user code and touches no side table."""
        tinfo = _kernel.dealloc_type_info(self.types)
        t = self.table
        return bool(tinfo[t.type_id[oid]] & _kernel.T_PLAIN) and not t.flags[oid] & HAS_WEAKREFS

    def _dealloc_step(self: HeapCore, oid: int) -> Dealloc | int:
        """What deallocates ``oid``: a kernel segment (its base) if plain, else a generator."""
        if self._is_plain(oid):
            assert self.dealloc_kernel is not None
            return self.dealloc_kernel.start(oid)
        return self._dealloc(oid)

    def _run_mixed(self: HeapCore, stack: list[Dealloc | int]) -> None:
        """:meth:`_run` with kernel segments (ints) on the stack next to generators.

        Same order of events as :meth:`_run`: a segment runs until it is done or reaches a
        non-plain object, whose generator is pushed above it; the segment resumes after it."""
        kernel = self.dealloc_kernel
        assert kernel is not None
        saved = kernel.io.item(_kernel.IO_TOP), kernel.io.item(_kernel.IO_VTOP)
        try:
            while stack:
                top = stack[-1]
                if type(top) is int:
                    status, target = kernel.resume(self, top)
                    if status == _kernel.DONE:
                        stack.pop()
                    elif status == _kernel.NEED:
                        stack.append(self._dealloc(target))
                    elif status == _kernel.MEMBER:
                        self._clear_member_for_kernel(target)
                    else:  # NEGATIVE
                        raise InvariantViolation(
                            f"{self.describe(target)}: reference count below zero")
                    continue
                try:
                    op, target = next(top)  # type: ignore[arg-type]
                except StopIteration:
                    stack.pop()
                    continue
                if op == DEALLOC:
                    stack.append(self._dealloc_step(target))
                elif target >= 0:
                    rc = self.table.refcnt
                    rc[target] -= 1
                    if rc[target] == 0 and not self.defers_frees:
                        stack.append(self._dealloc_step(target))
        except BaseException:
            kernel.abandon(*saved)
            raise

    def _clear_member_for_kernel(self: HeapCore, oid: int) -> None:
        """One member of the list the kernel clears that it leaves to Python (a weakref)."""
        assert self.dealloc_kernel is not None
        io = self.dealloc_kernel.io
        members, survivors = int(io[_kernel.IO_MEMBERS]), int(io[_kernel.IO_SURVIVORS])
        self.clear_member(oid, members, survivors)

    # -- clearing lists of objects (a service for collectors: CPython's delete_garbage) ----------

    def clear_member(self: HeapCore, oid: int, members: int, survivors: int) -> None:
        """tp_clear ``oid``, the first member of the list ``members``, under a held reference
        (if its type has a tp_clear). Afterwards ``oid`` is freed, or, when it is still the
        first member (it survived: something outside still refers to it), it has moved to the
        tail of ``survivors`` with COLLECTING cleared."""
        if self.has_clear(oid):

            self.hold(oid)
            self.clear(oid)
            self.release(oid)
        self.keep_if_first(oid, members, survivors)

    def keep_if_first(self: HeapCore, oid: int, members: int, survivors: int) -> None:
        """If ``oid`` is still the first member of ``members``, move it to the tail of
        ``survivors`` with COLLECTING cleared (what is left of a cleared member survived)."""
        t = self.table
        if int(t.gc_next[members]) == oid:
            t.flags[oid] &= NOT_COLLECTING
            t.list_move(oid, survivors)

    def clear_list(self: HeapCore, members: int, survivors: int) -> None:
        """:meth:`clear_member` on the first member of ``members`` until the list is empty,
        through the compiled cascade when it can run (else one member at a time). Afterwards
        ``members`` is empty: each member was freed or moved to ``survivors``."""
        if self._clear_compiled():  # not while a listener or barrier must hear tp_clear
            self._run_mixed([self.dealloc_kernel.start(clear_list=(members, survivors))])  # type: ignore[union-attr]
            return
        t = self.table
        while not t.list_is_empty(members):
            self.clear_member(int(t.gc_next[members]), members, survivors)

    # -- one deallocation ------------------------------------------------------------------------

    def _dealloc(self: HeapCore, oid: int) -> Dealloc:
        """tp_dealloc of ``oid``: untrack, trashcan, type-specific body, free."""
        info = self.type_of(oid)
        self.untrack(oid)
        bracketed = info.kind in _TRASHCAN_KINDS
        # 2.7's subtype_dealloc wraps Py_TRASHCAN_SAFE_BEGIN/END in ++/-- of the nesting:
        # an instance is deferred one level earlier and never drains the chain itself.
        shift = self.profile.trashcan_instance_shift if info.kind is Kind.INSTANCE else 0
        if bracketed:
            if self.trash_nesting + shift >= self.profile.trashcan_deposit_at:
                self.trash_delete_later.append(oid)  # refcount 0, untracked, waits
                return
            self.trash_nesting += 1
        yield from self._dealloc_body(oid, info)
        if bracketed:
            yield from self._trashcan_end(shift)

    def _trashcan_end(self: HeapCore, shift: int = 0) -> Dealloc:
        """Leave a bracketed dealloc; drain deferred objects, most recent first."""
        self.trash_nesting -= 1
        if (self.trash_delete_later
                and self.trash_nesting + shift <= self.profile.trashcan_drain_at):
            self.trash_nesting += 1
            while self.trash_delete_later:
                yield DEALLOC, self.trash_delete_later.pop()
            self.trash_nesting -= 1

    def release_bracketed(self: HeapCore, values: list[int]) -> None:
        """Release ``values`` in order as the body of a trashcan-bracketed deallocation whose
        object is not part of the cascade (2.7/3.10 ``frame_dealloc`` on a return): the
        nesting is one higher during the releases, then Py_TRASHCAN_END drains the deferred
        objects if it is back at ``trashcan_drain_at``."""
        self.trash_nesting += 1
        try:
            for value in values:
                self.release(value)
        except BaseException:
            self.trash_nesting -= 1
            raise
        drain = self._trashcan_end()
        if self.dealloc_kernel is not None and self.observer.accounting is not None:
            self._run_mixed([drain])
        else:
            self._run(drain)

    def _dealloc_body(self: HeapCore, oid: int, info: TypeInfo) -> Dealloc:
        kind = info.kind
        if kind is Kind.INSTANCE:
            if not self._finalize_instance(oid, info):
                return  # resurrected by its __del__
        elif kind is Kind.SET and info.weakrefable:
            self.clear_weakrefs_with_callbacks(oid)
        elif kind is Kind.WEAKREF:
            self.clear_weakref(oid)
        values = self.table.slot_list(oid)
        for value in release_order(info, values):
            if value >= 0:
                yield DECREF, value
        self._free(oid, info, len(values))

    def _finalize_instance(self: HeapCore, oid: int, info: TypeInfo) -> bool:
        """subtype_dealloc up to the release of slots; False if ``__del__`` resurrected it."""
        legacy = self.profile.unraisable_text == "2.7"
        if legacy and info.weakrefable:
            self.clear_weakrefs_with_callbacks(oid)  # 2.7: weakrefs before __del__
        if info.finalizer is not None:
            self.track(oid)
            resurrected = self._call_finalizer_from_dealloc(oid, info)
            if resurrected:
                # stays tracked, placed again by the collector (CPython: at the tail of gen0,
                # e29); 2.7 too: ``goto endlabel``
                # comes before _PyObject_GC_UNTRACK in its subtype_dealloc
                return False
            self.untrack(oid)
        if not legacy and info.weakrefable:
            self.clear_weakrefs_with_callbacks(oid)
            if info.finalizer is not None:
                self.clear_weakrefs_silently(oid)  # made during __del__: no callbacks
        return True

    def _call_finalizer_from_dealloc(self: HeapCore, oid: int, info: TypeInfo) -> bool:
        """PyObject_CallFinalizerFromDealloc: count 1 during the call; True if resurrected."""
        t = self.table
        t.refcnt[oid] = 1
        if self.profile.legacy_finalizers:
            self.call_finalizer(oid, info)
        elif not t.flags[oid] & FINALIZED:
            self.call_finalizer(oid, info)
            t.flags[oid] |= FINALIZED  # refcount path: set after the call
        t.refcnt[oid] -= 1
        return bool(t.refcnt[oid] > 0)

    def call_finalizer(self: HeapCore, oid: int, info: TypeInfo) -> None:
        """Run the type's ``__del__`` on a handle of ``oid``; any exception is reported through
        ``sys.unraisablehook`` as raised by the ``__del__`` function (2.7: the bound method),
        never raised (:mod:`gclab.heap.usercode`).

        The call is a safe point (a Python function's RESUME checks the eval breaker): on
        3.12+ a collection scheduled earlier in the same operation runs first."""
        assert info.finalizer is not None
        self.user_calls += 1
        handle = self.wrap(oid)
        self.observer.safepoint()
        legacy = self.profile.unraisable_text == "2.7"
        report_as = MethodType(info.finalizer, handle) if legacy else info.finalizer
        self.user_code.call(info.finalizer, handle, report_as, frames=self.sim_frames,
                            legacy=legacy)

    def _free(self: HeapCore, oid: int, info: TypeInfo, size: int) -> None:
        """Release the memory (PyObject_GC_Del for GC types): the id is poisoned."""
        if self.table.flags[oid] & TRACKED:
            self.untrack(oid)
        self.forget_object(oid)
        self.table.free_row(oid)
        if info.gc_capable:
            self.observer.after_gc_free(info, size)

    # -- tp_clear (used by the collector's delete_garbage) ---------------------------------------

    def has_clear(self: HeapCore, oid: int) -> bool:
        """True when the type has a tp_clear (tuples do not)."""
        return self.type_of(oid).kind is not Kind.TUPLE

    def clear(self: HeapCore, oid: int) -> None:
        """tp_clear: drop the references ``oid`` holds, breaking the cycles through it.

        list, dict, set: emptied first, then the old references dropped (list last to first);
        instance: each slot set to NULL and its reference dropped, one at a time (Py_CLEAR);
        weakref: detached from its referent (its callback will never run).
        """
        info = self.type_of(oid)
        if info.kind is Kind.INSTANCE:
            for index in range(int(self.table.ref_len[oid])):
                if index >= int(self.table.ref_len[oid]):
                    break
                if self.table.get(oid, index) != NULL:
                    self.release(self.write_slot(oid, index, NULL))
        elif info.kind is Kind.WEAKREF:
            self.clear_weakref(oid)
            self.drop_callback(oid)
        elif info.kind is not Kind.TUPLE:
            if self._clear_compiled():
                self._run_mixed([self.dealloc_kernel.start(clear=oid)])  # type: ignore[union-attr]
                return
            for value in release_order(info, self.write_truncate(oid)):
                self.release(value)
