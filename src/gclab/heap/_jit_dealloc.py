"""The compiled deallocation cascade: the twin of the generator driver in :mod:`gclab.heap.dealloc`
(the heap's own compiled helper, built on :mod:`gclab._jit` and :mod:`gclab.heap._jit_lists`).

The oracle runs a stack of Python generators (:meth:`DeallocMixin._run`); here :func:`_cascade`
runs the same cascade over an explicit stack of frames in a numpy array, for *plain* objects
only: those whose deallocation runs no user code and touches no side table (lists, tuples,
dicts, sets, frames, modules, instances of a class without ``__del__``; none with weakrefs
attached, flag ``HAS_WEAKREFS``). When it reaches a non-plain object it returns ``NEED`` with its
frames kept; the Python driver runs that object's generator (which may start nested segments of
this kernel above the paused one) and then resumes it. The trashcan (nesting, LIFO
``delete_later``) lives in numpy arrays shared by both paths, so its state is global across all
of them.

Frames (``FRAME`` words each of the uint32 array ``frames``: ``F_OID``, ``F_KIND``, ``F_K``,
``F_X``):

* ``FK_BODY``: a plain object releasing its ``F_X`` slots (``F_K`` released so far, list and
  tuple last to first); then it is freed (row poisoned, id pushed onto ``freed``, the log of
  the table's free ids, the collector's ``count[0]`` or free list updated) and leaves the trashcan,
  possibly turning into
* ``FK_DRAIN``: popping ``delete_later`` (most recent first) until it is empty.
* ``FK_CLEAR_FWD``/``FK_CLEAR_REV``: tp_clear of a list, dict, set, frame or module: the old
  values sit on the value stack ``vbuf`` (``F_X`` of them) and are released in order.
* ``FK_CLEAR_INST``: tp_clear of an instance: each slot set to NULL, then released (Py_CLEAR).
* ``FK_CLEAR_LIST``: tp_clear of every member of a list in turn, survivors moved to another
  list (:meth:`~gclab.heap.dealloc.DeallocMixin.clear_list`, the loop of CPython's
  delete_garbage; ``F_OID`` the member, ``F_K`` its phase); a weakref member is handed to
  Python (status ``MEMBER``).

A body releases a snapshot of the slots taken when it starts (user code run meanwhile by a
non-plain object's dealloc may still write to them, as through a dying proxy). Its first release
happens when the frame is pushed, so a body of one slot needs no snapshot: only bodies of two or
more slots copy them onto ``vbuf``. A list-like tp_clear releases its values straight from the
value stack (after NULLing the slots) and pushes its frame only when a release reaches zero
(another dealloc must run first) with values still to release; one whose releases reach no
zero, or only at the last value, pushes none. (The garbage of a young collection of two-list
cycles: 5 turns of the loop a cycle instead of 7. Freeing a body at once when its releases
reach no zero saved 2 more, but the longer dealloc entry made a chain's cascade 20 % slower.)

The registers (frame and value stack tops, the pending dealloc, the counters) live in locals
while the kernel runs and in the int64 array ``io`` between calls, next to the read-only
parameters. ``tests/test_dealloc_kernel.py`` runs twin heaps through both paths and compares
everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .._jit import at as _at
from .._jit import jit
from ._jit_lists import _list_append
from ._jit_lists import _list_remove as _unlink
from .flags import HAS_WEAKREFS, NOT_COLLECTING, TRACKED, UNTRACK_MASK
from .table import NULL
from .types import K_DICT, K_INSTANCE, K_LIST, K_TUPLE, K_WEAKREF, Kind

if TYPE_CHECKING:
    from .core import HeapCore
    from .types import TypeRegistry

# Kind codes are :class:`~gclab.heap.types.Kind`'s: the trashcan-bracketed kinds come first
# (``kind <= K_INSTANCE``), lists and tuples first of all (``kind <= K_TUPLE``: released last to
# first). One byte per type id: the kind code in the low bits, T_PLAIN when its dealloc runs no user

# code (no ``__del__``, not a weakref), T_GC when it is GC-capable.
T_KIND, T_PLAIN, T_GC = 7, 8, 16

# A frame is FRAME words of the flat uint32 array ``frames``: F_OID, F_KIND, F_K, F_X.
FRAME = 4
F_OID, F_KIND, F_K, F_X = range(FRAME)
FK_BODY, FK_DRAIN, FK_CLEAR_FWD, FK_CLEAR_REV, FK_CLEAR_INST, FK_CLEAR_LIST = range(6)
# Statuses returned by the kernel.
DONE, NEED, ROOM, NEGATIVE, MEMBER = range(5)
# io slots (int64): the kernel's registers kept between calls, then its read-only parameters,
# then the free-list capacities (from P_CAPS on).
(IO_TOP, IO_VTOP, IO_PENDING, IO_NFREED, IO_LIVE, IO_HOLES, IO_COUNT0, IO_MEMBERS, IO_SURVIVORS,
 IO_TARGET, IO_START_CLEAR, IO_START_LIST, IO_ROOM,
 P_DEPOSIT, P_DRAIN, P_ISHIFT, P_COUNTS, P_FREE_LISTS, P_TUPLE_MAX, P_CAPS) = range(20)
# ROOM causes (io[IO_TARGET]).
ROOM_FRAMES, ROOM_TRASH, ROOM_FREED, ROOM_VALUES = range(4)

U8 = npt.NDArray[np.uint8]


@jit
def _word(f, field):
    """Where ``field`` of frame ``f`` is in ``frames``."""
    return _at(FRAME * f + field)


@jit
def _push(frames, top, oid, kind, k, x):
    """Frame ``top`` set to ``(oid, kind, k, x)``; returns the new top."""
    frames[_word(top, F_OID)] = oid
    frames[_word(top, F_KIND)] = kind
    frames[_word(top, F_K)] = k
    frames[_word(top, F_X)] = x
    return top + 1


@jit
def _type_byte(tinfo, type_id, oid):
    """The ``tinfo`` byte of ``oid``'s type."""
    return tinfo[_at(type_id[oid])]


@jit
def _untrack(gc_next, gc_prev, flags, oid):
    """Unlink ``oid`` from its list; untracked."""
    _unlink(gc_next, gc_prev, oid)
    flags[oid] &= UNTRACK_MASK


@jit
def _free_row(oid, flags, ref_len, ref_cap, freed, nfreed):
    """ObjectTable.free_row of an untracked ``oid``: the row poisoned, its id at
    ``freed[nfreed]``; returns the pool slots it gave back."""
    cap = ref_cap[oid]
    ref_len[oid] = 0
    ref_cap[oid] = 0
    flags[oid] = 0
    freed[_at(nfreed)] = oid
    return cap


@jit
def _free_list(kind, size, free_lists, tuple_max):
    """The free list that would take the shell of a freed object (-1: none)."""
    slot = -1
    if free_lists != 0:
        if kind == K_LIST:
            slot = 0
        elif kind == K_DICT:
            slot = 1
        elif kind == K_TUPLE and 1 <= size <= tuple_max:
            slot = 2 + size
    return slot


@jit
def _cascade(type_id, flags, refcnt, gc_next, gc_prev, ref_start,
             ref_len, ref_cap, pool, tinfo, trash, dl, frames, vbuf, freed, fl_count, io, base):
    """Run the frames above ``base`` (after the start request in ``io``: at most one of
    ``IO_PENDING``, ``IO_START_CLEAR``, ``IO_START_LIST`` is set) until they are done
    (DONE), a non-plain object must be deallocated by Python (NEED, ``io[IO_TARGET]``), an array
    is full (ROOM), a tp_clear release went below zero (NEGATIVE) or a member of the list
    being cleared needs Python (MEMBER). Every return leaves a state from which a new call
    resumes exactly.

    Written as one loop over locals on purpose: numba updates the reference counts of the
    arrays passed to a helper that branches (atomic operations, several per object), so the
    helpers called here are straight-line code or take no arrays. A release that starts a
    dealloc continues with it at once (a branch, which the CPU predicts and runs ahead of, where
    a merged "pending = v or -1" would make every next object wait for the count's update)."""
    top, vtop, pending = io[IO_TOP], io[IO_VTOP], io[IO_PENDING]
    nfreed, live, holes, count0 = io[IO_NFREED], io[IO_LIVE], io[IO_HOLES], io[IO_COUNT0]
    start_clear, start_list = io[IO_START_CLEAR], io[IO_START_LIST]
    members, survivors = _at(io[IO_MEMBERS]), io[IO_SURVIVORS]
    deposit, drain, ishift, counting = io[P_DEPOSIT], io[P_DRAIN], io[P_ISHIFT], io[P_COUNTS]
    free_lists, tuple_max = io[P_FREE_LISTS], io[P_TUPLE_MAX]
    nesting, depth = trash[0], trash[1]
    status, target, need = DONE, np.int64(0), np.int64(0)
    while True:
        if pending >= 0:  # enter the dealloc of p (its count just reached 0, or drained)
            p = pending
            n = ref_len[p]
            if FRAME * top >= len(frames):
                status, target, need = ROOM, ROOM_FRAMES, top + 1
                break
            if depth >= len(dl):
                status, target, need = ROOM, ROOM_TRASH, depth + 1
                break
            if vtop + n > len(vbuf):
                status, target, need = ROOM, ROOM_VALUES, vtop + n
                break
            pending = -1
            ti = _type_byte(tinfo, type_id, p)
            if (ti & T_PLAIN) == 0 or (flags[p] & HAS_WEAKREFS) != 0:
                status, target = NEED, p
                break
            if flags[p] & TRACKED:
                _untrack(gc_next, gc_prev, flags, p)
            kind = ti & T_KIND
            if kind <= K_INSTANCE:  # Py_TRASHCAN_BEGIN
                shift = ishift if kind == K_INSTANCE else 0
                if nesting + shift >= deposit:
                    dl[_at(depth)] = p  # refcount 0, untracked: waits
                    depth += 1
                    continue
                nesting += 1
            first = np.int64(ref_start[p])  # where the slot released first is
            if n >= 2:  # the snapshot
                for i in range(n):
                    vbuf[_at(vtop + i)] = pool[first + i]
                vtop += n
                if kind <= K_TUPLE:
                    first += n - 1
            top = _push(frames, top, p, FK_BODY, min(n, 1), n)
            if n > 0:  # the body's first release, at once
                v = pool[first]
                if v >= 0:
                    refcnt[v] -= 1
                    if refcnt[v] == 0:
                        pending = v
                        continue
            # nothing happened since the push: on to the frame's next step
        elif start_clear >= 0:  # tp_clear of c begins (a request, or a garbage member's)
            c = start_clear
            n = ref_len[c]
            if FRAME * top >= len(frames):
                status, target, need = ROOM, ROOM_FRAMES, top + 1
                break
            if vtop + n > len(vbuf):
                status, target, need = ROOM, ROOM_VALUES, vtop + n
                break
            start_clear = -1
            kind = _type_byte(tinfo, type_id, c) & T_KIND
            if kind == K_INSTANCE:  # its slots are cleared in place, one at a time
                top = _push(frames, top, c, FK_CLEAR_INST, 0, n)
                continue
            start = np.int64(ref_start[c])  # the values move to the value stack
            for i in range(n):
                vbuf[_at(vtop + i)] = pool[start + i]
                pool[start + i] = NULL
            ref_len[c] = 0
            fk = FK_CLEAR_REV if kind <= K_TUPLE else FK_CLEAR_FWD
            hit = -1  # released in order until one reaches zero (or goes below)
            for i in range(n):
                v = vbuf[_at(vtop + (n - 1 - i if fk == FK_CLEAR_REV else i))]
                if v >= 0:
                    refcnt[v] -= 1
                    if refcnt[v] <= 0:
                        hit = v
                        if i < n - 1:  # values left to release after v's dealloc: a frame
                            top = _push(frames, top, c, fk, i + 1, n)
                            vtop += n
                        break
            if hit < 0:  # all released: no frame, the values never stay on the stack
                continue
            if refcnt[hit] < 0:
                status, target = NEGATIVE, hit
                break
            pending = hit
            continue
        elif start_list != 0:
            if FRAME * top >= len(frames):
                status, target, need = ROOM, ROOM_FRAMES, top + 1
                break
            start_list = 0
            top = _push(frames, top, 0, FK_CLEAR_LIST, 0, 0)
            continue
        f = top - 1
        if f < base:
            break
        fk = frames[_word(f, F_KIND)]
        oid = frames[_word(f, F_OID)]
        if fk == FK_BODY:
            n = frames[_word(f, F_X)]
            k = frames[_word(f, F_K)]
            ti = _type_byte(tinfo, type_id, oid)
            kind = ti & T_KIND
            if k < n:
                v = vbuf[_at(vtop - n + (n - 1 - k if kind <= K_TUPLE else k))]
                frames[_word(f, F_K)] = k + 1
                if v >= 0:
                    refcnt[v] -= 1
                    if refcnt[v] == 0:
                        pending = v
                continue
            if nfreed >= len(freed):
                status, target, need = ROOM, ROOM_FREED, nfreed + 1
                break
            if n >= 2:
                vtop -= n
            if flags[oid] & TRACKED:  # user code tracked it again
                _unlink(gc_next, gc_prev, oid)
            holes += _free_row(oid, flags, ref_len, ref_cap, freed, nfreed)
            nfreed += 1
            live -= 1
            if (ti & T_GC) != 0 and counting != 0:  # after_gc_free, as FreeAccounting says
                slot = _free_list(kind, n, free_lists, tuple_max)
                if slot >= 0 and fl_count[slot] < io[P_CAPS + slot]:
                    fl_count[slot] += 1
                elif count0 > 0:
                    count0 -= 1
            if kind <= K_INSTANCE:  # Py_TRASHCAN_END
                shift = ishift if kind == K_INSTANCE else 0
                nesting -= 1
                if depth > 0 and nesting + shift <= drain:
                    nesting += 1
                    frames[_word(f, F_KIND)] = FK_DRAIN
                    continue
            top = f
        elif fk == FK_DRAIN:
            if depth > 0:
                depth -= 1
                pending = dl[_at(depth)]
                continue
            nesting -= 1
            top = f
        elif fk == FK_CLEAR_FWD or fk == FK_CLEAR_REV:
            k = frames[_word(f, F_K)]
            cnt = frames[_word(f, F_X)]
            if k < cnt:
                v = vbuf[_at(vtop - cnt + (cnt - 1 - k if fk == FK_CLEAR_REV else k))]
                frames[_word(f, F_K)] = k + 1
                if v >= 0:
                    refcnt[v] -= 1
                    if refcnt[v] == 0:
                        pending = v
                    elif refcnt[v] < 0:
                        status, target = NEGATIVE, v
                        break
                continue
            vtop -= cnt
            top = f
        elif fk == FK_CLEAR_INST:
            k = frames[_word(f, F_K)]
            if k < frames[_word(f, F_X)] and k < ref_len[oid]:
                at = np.int64(ref_start[oid]) + k
                v = pool[at]
                frames[_word(f, F_K)] = k + 1
                if v != NULL:
                    pool[at] = NULL
                    if v >= 0:
                        refcnt[v] -= 1
                        if refcnt[v] == 0:
                            pending = v
                        elif refcnt[v] < 0:
                            status, target = NEGATIVE, v
                            break
                continue
            top = f
        else:  # FK_CLEAR_LIST: phases 0, 1, 2 per member; the next one follows at once unless a
            # dealloc is pending
            phase = frames[_word(f, F_K)]
            if phase == 1:  # cleared: drop the reference held on it
                frames[_word(f, F_K)] = 2
                refcnt[oid] -= 1
                if refcnt[oid] < 0:
                    status, target = NEGATIVE, oid
                    break
                if refcnt[oid] == 0:
                    pending = oid
                    continue
                phase = 2
            if phase == 2 and gc_next[members] == oid:  # still the head: it survived
                flags[oid] &= NOT_COLLECTING
                _unlink(gc_next, gc_prev, oid)
                _list_append(gc_next, gc_prev, oid, survivors)
            m = _at(gc_next[members])  # phase 0: the next member, held while its tp_clear runs
            if m == members:

                top = f
                continue
            kind = _type_byte(tinfo, type_id, m) & T_KIND
            if kind == K_WEAKREF:
                frames[_word(f, F_K)] = 0
                status, target = MEMBER, m
                break
            frames[_word(f, F_OID)] = m
            if kind == K_TUPLE:  # no tp_clear
                frames[_word(f, F_K)] = 2
                continue
            frames[_word(f, F_K)] = 1
            refcnt[m] += 1
            start_clear = m
    io[IO_TOP], io[IO_VTOP], io[IO_PENDING] = top, vtop, pending
    io[IO_NFREED], io[IO_LIVE], io[IO_HOLES], io[IO_COUNT0] = nfreed, live, holes, count0
    io[IO_START_CLEAR], io[IO_START_LIST] = start_clear, start_list
    io[IO_TARGET], io[IO_ROOM] = target, need
    trash[0], trash[1] = nesting, depth
    return status


# -- the Python side ----------------------------------------------------------------------------


def _grown(array: npt.NDArray[np.generic], size: int) -> npt.NDArray[np.generic]:
    out = np.zeros(size, dtype=array.dtype)
    out[: len(array)] = array
    return out


def _build_type_info(types: TypeRegistry) -> U8:
    tinfo = np.zeros(len(types), np.uint8)
    for info in types.types:
        plain = info.kind is not Kind.WEAKREF and info.finalizer is None
        tinfo[info.type_id] = (int(info.kind) | (T_PLAIN if plain else 0)
                               | (T_GC if info.gc_capable else 0))
    return tinfo


def dealloc_type_info(types: TypeRegistry) -> U8:
    """One byte per type id: its :class:`~gclab.heap.types.Kind` code | ``T_PLAIN`` | ``T_GC``
    (see above); cached on the registry (:meth:`~gclab.heap.types.TypeRegistry.derived`)."""
    return types.derived("heap.dealloc.type_info", _build_type_info)


class DeallocKernel:
    """One heap's kernel state: frame stack, value stack, registers and parameters (freed ids
    are pushed straight onto the log of the table's ``free_ids``,
    :class:`~gclab.heap.freeids.FreeIds`).

    Segments of the frame stack nest like the Python calls that start them: a segment is named
    by its base (the stack height when it started) and is done when the stack is back there.
    """

    def __init__(self) -> None:
        self.frames = np.zeros(256 * FRAME, np.uint32)
        self.vbuf = np.zeros(256, np.int32)
        self.io = np.zeros(P_CAPS + 1, np.int64)
        self.io[IO_PENDING] = self.io[IO_START_CLEAR] = -1
        self._no_free_lists = np.zeros(1, np.int64)
        # what the parameters were taken from (see _bind)
        self._observer: object = None
        self._counts: list[int] | None = None
        self._fl = self._no_free_lists

    def start(self, oid: int = -1, *, clear: int = -1,
              clear_list: tuple[int, int] | None = None) -> int:
        """Begin a segment: deallocate ``oid``, tp_clear ``clear`` or clear every member of a
        list, ``clear_list=(members, survivors)`` (one of them); returns the segment's base, to
        run at once with :meth:`resume`."""
        io = self.io
        io[IO_PENDING] = oid
        io[IO_START_CLEAR] = clear
        if clear_list is not None:
            io[IO_START_LIST] = 1
            io[IO_MEMBERS], io[IO_SURVIVORS] = clear_list
        return int(io[IO_TOP])

    def abandon(self, top: int, vtop: int) -> None:
        """Forget every frame above ``top`` (after an exception left them half done)."""
        io = self.io
        io[IO_TOP], io[IO_VTOP] = top, vtop
        io[IO_PENDING] = io[IO_START_CLEAR] = -1
        io[IO_START_LIST] = 0

    def resume(self, heap: HeapCore, base: int) -> tuple[int, int]:
        """Run segment ``base`` until DONE, NEED, NEGATIVE or MEMBER: ``(status, target)``.

        Afterwards the freed ids are pushed onto ``table.free_ids`` in order and ``live``,
        ``pool_holes``, the collector's ``counts[0]`` and free lists are up to date."""
        if heap.observer is not self._observer:
            self._bind(heap)
        t, io, counts = heap.table, self.io, self._counts
        tinfo = dealloc_type_info(heap.types)
        trash = heap.trash_delete_later
        free = t.free_ids
        while True:
            freed_before = free.size
            io[IO_NFREED] = freed_before
            io[IO_LIVE] = t.live
            io[IO_HOLES] = t.pool_holes
            if counts is not None:
                io[IO_COUNT0] = counts[0]
            status = _cascade(t.type_id, t.flags, t.refcnt, t.gc_next, t.gc_prev, t.ref_start,
                              t.ref_len, t.ref_cap, t.pool, tinfo, trash.state, trash.items,
                              self.frames, self.vbuf, free.items, self._fl, io, base)
            get = io.item
            t.live = get(IO_LIVE)
            t.pool_holes = get(IO_HOLES)
            free.size = get(IO_NFREED)
            if counts is not None:
                counts[0] = get(IO_COUNT0)
            if t.free_listeners:  # the kernel only pushes: new ids, in order
                for oid in free.items[freed_before:free.size].tolist():
                    for listener in t.free_listeners:
                        listener(oid)
            if status != ROOM:
                return status, get(IO_TARGET)
            self._make_room(heap, get(IO_TARGET), get(IO_ROOM))

    def _bind(self, heap: HeapCore) -> None:
        """Take the parameters of the heap's profile and of its collector's accounting
        (:class:`~gclab.heap.observer.FreeAccounting`) into ``io``: the trashcan levels,
        whether there is a ``counts[0]`` to count down, the free lists and their capacities."""
        observer, profile = heap.observer, heap.profile
        accounting = observer.accounting
        assert accounting is not None, "the compiled cascade runs only with FreeAccounting"
        fl, caps = accounting.free_counts, accounting.free_caps
        if fl is None or caps is None:
            fl = caps = None
        self._observer, self._counts = observer, accounting.counts
        self._fl = fl if fl is not None else self._no_free_lists
        io = np.zeros(P_CAPS + (len(caps) if caps is not None else 1), np.int64)
        io[:IO_ROOM + 1] = self.io[:IO_ROOM + 1]  # the registers
        io[P_DEPOSIT] = profile.trashcan_deposit_at
        io[P_DRAIN] = profile.trashcan_drain_at
        io[P_ISHIFT] = profile.trashcan_instance_shift
        io[P_COUNTS] = accounting.counts is not None
        io[P_FREE_LISTS] = fl is not None
        io[P_TUPLE_MAX] = accounting.tuple_max
        if caps is not None:
            io[P_CAPS:] = caps
        self.io = io


    def _make_room(self, heap: HeapCore, cause: int, need: int) -> None:
        if cause == ROOM_FRAMES:
            size = FRAME * max(2 * len(self.frames) // FRAME, need)
            self.frames = _grown(self.frames, size)  # type: ignore[assignment]
        elif cause == ROOM_VALUES:
            self.vbuf = _grown(self.vbuf, max(2 * len(self.vbuf), need))  # type: ignore[assignment]
        elif cause == ROOM_TRASH:
            heap.trash_delete_later.grow(need)
        else:  # ROOM_FREED: room for every row at once (a log never holds an id twice; the
            # pages are written only as ids are pushed), not a doubling and a round trip
            # through Python for each (12 of them when a collection frees 200,000 objects)
            heap.table.free_ids.grow(max(need, len(heap.table.type_id)))


__all__ = ["DONE", "MEMBER", "NEED", "NEGATIVE", "DeallocKernel", "dealloc_type_info"]
