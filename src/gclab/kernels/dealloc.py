"""The compiled deallocation cascade: the twin of the generator driver in :mod:`gclab.heap.dealloc`.

The oracle runs a stack of Python generators (:meth:`DeallocMixin._run`); here :func:`_cascade`
runs the same cascade over an explicit stack of frames in numpy arrays, for *plain* objects only:
those whose deallocation runs no user code and touches no side table (lists, tuples, dicts,
sets, frames, modules, instances of a class without ``__del__``; none with weakrefs attached,
flag ``HAS_WEAKREFS``). When it reaches a non-plain object it returns ``NEED`` with its frames
kept; the Python driver runs that object's generator (which may start nested segments of this
kernel above the paused one) and then resumes it. The trashcan (nesting, LIFO ``delete_later``)
lives in numpy arrays shared by both paths, so its state is global across all of them.

Frames (``f_oid``, ``f_kind``, ``f_k``, ``f_x``):

* ``FK_BODY``: a plain object releasing a snapshot of its ``f_x`` slots, taken on the value
  stack ``vbuf`` (``f_k`` released so far, list and tuple last to first); then it is freed
  (row poisoned, id pushed onto ``freed``, the table's free-id stack, the collector's
  ``count[0]`` or free list updated) and leaves the trashcan, possibly turning into
* ``FK_DRAIN``: popping ``delete_later`` (most recent first) until it is empty.
* ``FK_CLEAR_FWD``/``FK_CLEAR_REV``: tp_clear of a list, dict, set, frame or module: the old
  values sit on the value stack ``vbuf`` (``f_x`` of them) and are released in order.
* ``FK_CLEAR_INST``: tp_clear of an instance: each slot set to NULL, then released (Py_CLEAR).
* ``FK_GARBAGE``: the collector's delete_garbage loop over a list (``f_k`` its phase); a weakref
  member is handed to Python (status ``MEMBER``).

``tests/test_dealloc_kernel.py`` runs twin heaps through both paths and compares everything.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ..heap.flags import HAS_WEAKREFS, ObjFlag
from ..heap.types import Kind
from . import jit
from .cycles import _list_append
from .cycles import _list_remove as _unlink

if TYPE_CHECKING:
    from ..heap.core import HeapCore
    from ..heap.types import TypeRegistry

NULL = -1
TRACKED = int(ObjFlag.TRACKED)
NOT_COLLECTING = 0xFF & ~int(ObjFlag.COLLECTING)
UNTRACK_MASK = 0xFF & ~int(ObjFlag.TRACKED | ObjFlag.COLLECTING | ObjFlag.UNREACHABLE)

# Kind codes; the first five are the trashcan-bracketed kinds (D_INSTANCE is the last of them).
D_LIST, D_TUPLE, D_DICT, D_SET, D_INSTANCE, D_WEAKREF, D_FRAME, D_MODULE = range(8)
_D_CODE = {Kind.LIST: D_LIST, Kind.TUPLE: D_TUPLE, Kind.DICT: D_DICT, Kind.SET: D_SET,
           Kind.INSTANCE: D_INSTANCE, Kind.WEAKREF: D_WEAKREF, Kind.FRAME: D_FRAME,
           Kind.MODULE: D_MODULE}

FK_BODY, FK_DRAIN, FK_CLEAR_FWD, FK_CLEAR_REV, FK_CLEAR_INST, FK_GARBAGE = range(6)
# Statuses returned by the kernel.
DONE, NEED, ROOM, NEGATIVE, MEMBER = range(5)
# io slots (int64): the kernel's registers, kept between calls.
(IO_TOP, IO_VTOP, IO_PENDING, IO_NFREED, IO_LIVE, IO_HOLES, IO_COUNT0, IO_COLLECTABLE, IO_OLD,
 IO_TARGET, IO_START_CLEAR, IO_START_GARBAGE, IO_ROOM) = range(13)
N_IO = 13
# ROOM causes (io[IO_TARGET]).
ROOM_FRAMES, ROOM_TRASH, ROOM_FREED, ROOM_VALUES = range(4)
# params slots (int64, read only).
P_DEPOSIT, P_DRAIN, P_ISHIFT, P_OBSERVER, P_FREE_LISTS, P_TUPLE_MAX = range(6)

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]


@jit
def _release(v, refcnt, io):  # type: ignore[no-untyped-def]
    """HeapCore.release inside tp_clear: True when the count went below zero."""
    if v < 0:
        return False
    refcnt[v] -= 1
    if refcnt[v] == 0:
        io[IO_PENDING] = v
    return refcnt[v] < 0


@jit
def _after_free(kind, size, fl_count, fl_cap, io, params):  # type: ignore[no-untyped-def]
    """GenerationalCollector.after_gc_free: a free list takes the shell, else count[0] -= 1."""
    if params[P_OBSERVER] == 0:
        return
    if params[P_FREE_LISTS] != 0:
        slot = -1
        if kind == D_LIST:
            slot = 0
        elif kind == D_DICT:
            slot = 1
        elif kind == D_TUPLE and 1 <= size <= params[P_TUPLE_MAX]:
            slot = 2 + size
        if slot >= 0 and fl_count[slot] < fl_cap[slot]:
            fl_count[slot] += 1
            return
    if io[IO_COUNT0] > 0:
        io[IO_COUNT0] -= 1


@jit
def _push(f_oid, f_kind, f_k, f_x, io, oid, kind, x):  # type: ignore[no-untyped-def]
    top = io[IO_TOP]
    f_oid[top] = oid
    f_kind[top] = kind
    f_k[top] = 0
    f_x[top] = x
    io[IO_TOP] = top + 1


@jit
def _start_clear(oid, type_id, ref_start, ref_len, pool, dkinds,  # type: ignore[no-untyped-def]
                 f_oid, f_kind, f_k, f_x, vbuf, io):
    """tp_clear begins: list/dict/set values moved to the value stack, instance slots in place."""
    n = ref_len[oid]
    if dkinds[type_id[oid]] == D_INSTANCE:
        _push(f_oid, f_kind, f_k, f_x, io, oid, FK_CLEAR_INST, n)
        return
    start = np.int64(ref_start[oid])
    vtop = io[IO_VTOP]
    for i in range(n):
        vbuf[vtop + i] = pool[start + i]
        pool[start + i] = NULL
    ref_len[oid] = 0
    io[IO_VTOP] = vtop + n
    kind = FK_CLEAR_REV if dkinds[type_id[oid]] <= D_TUPLE else FK_CLEAR_FWD
    _push(f_oid, f_kind, f_k, f_x, io, oid, kind, n)


@jit
def _room(io, cause, need):  # type: ignore[no-untyped-def]
    io[IO_TARGET] = cause
    io[IO_ROOM] = need
    return ROOM


@jit
def _cascade(type_id, flags, refcnt, gc_next, gc_prev, ref_start,  # type: ignore[no-untyped-def]
             ref_len, ref_cap, pool, dkinds, plain, gc_capable, trash, dl, f_oid, f_kind,
             f_k, f_x, vbuf, freed, fl_count, fl_cap, io, params, base):
    """Run the frames above ``base`` (and the start requests in ``io``) until they are done
    (DONE), a non-plain object must be deallocated by Python (NEED, ``io[IO_TARGET]``), an array
    is full (ROOM), a tp_clear release went below zero (NEGATIVE) or a garbage member needs
    Python (MEMBER). Every return leaves a state from which a new call resumes exactly."""
    nframes = len(f_oid)
    while True:
        p = io[IO_PENDING]
        if p >= 0:  # enter the dealloc of p (its count just reached 0, or drained)
            if io[IO_TOP] >= nframes:
                return _room(io, ROOM_FRAMES, io[IO_TOP] + 1)
            if trash[1] >= len(dl):
                return _room(io, ROOM_TRASH, trash[1] + 1)
            if io[IO_VTOP] + ref_len[p] > len(vbuf):
                return _room(io, ROOM_VALUES, io[IO_VTOP] + ref_len[p])
            io[IO_PENDING] = -1
            tid = type_id[p]
            if plain[tid] == 0 or (flags[p] & HAS_WEAKREFS) != 0:
                io[IO_TARGET] = p
                return NEED
            if flags[p] & TRACKED:
                _unlink(gc_next, gc_prev, p)
                flags[p] &= UNTRACK_MASK
            kind = dkinds[tid]
            if kind <= D_INSTANCE:
                shift = params[P_ISHIFT] if kind == D_INSTANCE else 0
                if trash[0] + shift >= params[P_DEPOSIT]:
                    dl[trash[1]] = p  # refcount 0, untracked: waits
                    trash[1] += 1
                    continue
                trash[0] += 1
            # the body releases a snapshot of the slots (user code run meanwhile by a non-plain
            # object's dealloc may still write to them, as through a dying proxy)
            n = ref_len[p]
            start = np.int64(ref_start[p])
            vtop = io[IO_VTOP]
            for i in range(n):
                vbuf[vtop + i] = pool[start + i]
            io[IO_VTOP] = vtop + n
            _push(f_oid, f_kind, f_k, f_x, io, p, FK_BODY, n)
            continue
        sc = io[IO_START_CLEAR]
        if sc >= 0:
            if io[IO_TOP] >= nframes:
                return _room(io, ROOM_FRAMES, io[IO_TOP] + 1)
            if io[IO_VTOP] + ref_len[sc] > len(vbuf):
                return _room(io, ROOM_VALUES, io[IO_VTOP] + ref_len[sc])
            io[IO_START_CLEAR] = -1
            _start_clear(sc, type_id, ref_start, ref_len, pool, dkinds, f_oid, f_kind, f_k,
                         f_x, vbuf, io)
            continue
        if io[IO_START_GARBAGE] != 0:
            if io[IO_TOP] >= nframes:
                return _room(io, ROOM_FRAMES, io[IO_TOP] + 1)
            io[IO_START_GARBAGE] = 0
            _push(f_oid, f_kind, f_k, f_x, io, NULL, FK_GARBAGE, 0)
            continue
        f = io[IO_TOP] - 1
        if f < base:
            return DONE
        fk = f_kind[f]
        oid = f_oid[f]
        if fk == FK_BODY:
            n = f_x[f]
            k = f_k[f]
            tid = type_id[oid]
            kind = dkinds[tid]
            if k < n:
                idx = n - 1 - k if kind <= D_TUPLE else k
                v = vbuf[io[IO_VTOP] - n + idx]
                f_k[f] = k + 1
                if v >= 0:
                    refcnt[v] -= 1
                    if refcnt[v] == 0:
                        io[IO_PENDING] = v
                continue
            if io[IO_NFREED] >= len(freed):
                return _room(io, ROOM_FREED, io[IO_NFREED] + 1)
            io[IO_VTOP] -= n
            if flags[oid] & TRACKED:
                _unlink(gc_next, gc_prev, oid)
                flags[oid] &= UNTRACK_MASK
            io[IO_HOLES] += ref_cap[oid]  # ObjectTable.free_row
            ref_len[oid] = 0
            ref_cap[oid] = 0
            flags[oid] = 0
            freed[io[IO_NFREED]] = oid
            io[IO_NFREED] += 1
            io[IO_LIVE] -= 1
            if gc_capable[tid] != 0:
                _after_free(kind, n, fl_count, fl_cap, io, params)
            if kind <= D_INSTANCE:  # Py_TRASHCAN_END
                shift = params[P_ISHIFT] if kind == D_INSTANCE else 0
                trash[0] -= 1
                if trash[1] > 0 and trash[0] + shift <= params[P_DRAIN]:
                    trash[0] += 1
                    f_kind[f] = FK_DRAIN
                    continue
            io[IO_TOP] = f
        elif fk == FK_DRAIN:
            if trash[1] > 0:
                trash[1] -= 1
                io[IO_PENDING] = dl[trash[1]]
                continue
            trash[0] -= 1
            io[IO_TOP] = f
        elif fk == FK_CLEAR_FWD or fk == FK_CLEAR_REV:
            k = f_k[f]
            cnt = f_x[f]
            if k < cnt:
                idx = cnt - 1 - k if fk == FK_CLEAR_REV else k
                v = vbuf[io[IO_VTOP] - cnt + idx]
                f_k[f] = k + 1
                if _release(v, refcnt, io):
                    io[IO_TARGET] = v
                    return NEGATIVE
                continue
            io[IO_VTOP] -= cnt
            io[IO_TOP] = f
        elif fk == FK_CLEAR_INST:
            k = f_k[f]
            if k < f_x[f] and k < ref_len[oid]:
                at = np.int64(ref_start[oid]) + k
                old = pool[at]
                f_k[f] = k + 1
                if old != NULL:
                    pool[at] = NULL
                    if _release(old, refcnt, io):
                        io[IO_TARGET] = old
                        return NEGATIVE
                continue
            io[IO_TOP] = f
        else:  # FK_GARBAGE
            coll = io[IO_COLLECTABLE]
            phase = f_k[f]
            if phase == 0:  # the next member: hold it and start its tp_clear
                m = gc_next[coll]
                if m == coll:
                    io[IO_TOP] = f
                    continue
                kind = dkinds[type_id[m]]
                if kind == D_WEAKREF:
                    io[IO_TARGET] = m
                    return MEMBER
                if kind == D_TUPLE:  # no tp_clear
                    f_oid[f] = m
                    f_k[f] = 2
                    continue
                if io[IO_TOP] >= nframes:
                    return _room(io, ROOM_FRAMES, io[IO_TOP] + 1)
                if io[IO_VTOP] + ref_len[m] > len(vbuf):
                    return _room(io, ROOM_VALUES, io[IO_VTOP] + ref_len[m])
                f_oid[f] = m
                f_k[f] = 1
                refcnt[m] += 1
                _start_clear(m, type_id, ref_start, ref_len, pool, dkinds, f_oid, f_kind, f_k,
                             f_x, vbuf, io)
            elif phase == 1:  # cleared: drop the reference held on it
                f_k[f] = 2
                if _release(oid, refcnt, io):
                    io[IO_TARGET] = oid
                    return NEGATIVE
            else:  # still the head: it survived, to the older generation
                f_k[f] = 0
                if gc_next[coll] == oid:
                    flags[oid] &= NOT_COLLECTING
                    _unlink(gc_next, gc_prev, oid)
                    _list_append(gc_next, gc_prev, oid, io[IO_OLD])


# -- the Python side ----------------------------------------------------------------------------


def _grown(array: npt.NDArray[np.generic], size: int) -> npt.NDArray[np.generic]:
    out = np.zeros(size, dtype=array.dtype)
    out[: len(array)] = array
    return out


_type_cache: weakref.WeakKeyDictionary[TypeRegistry, tuple[int, U8, U8, U8]] = (
    weakref.WeakKeyDictionary()
)


def dealloc_type_arrays(types: TypeRegistry) -> tuple[U8, U8, U8]:
    """``(kinds, plain, gc_capable)`` per type id: the D_* kind code, 1 when the type's dealloc
    runs no user code (no ``__del__``, not a weakref), 1 when GC-capable."""
    cached = _type_cache.get(types)
    if cached is not None and cached[0] == len(types):
        return cached[1], cached[2], cached[3]
    n = len(types)
    kinds = np.zeros(n, np.uint8)
    plain = np.zeros(n, np.uint8)
    gc_capable = np.zeros(n, np.uint8)
    for info in types.types:
        kinds[info.type_id] = _D_CODE[info.kind]
        plain[info.type_id] = info.kind is not Kind.WEAKREF and info.finalizer is None
        gc_capable[info.type_id] = info.gc_capable
    _type_cache[types] = (n, kinds, plain, gc_capable)
    return kinds, plain, gc_capable


class DeallocKernel:
    """One heap's kernel state: frame stack, value stack, registers (freed ids are pushed
    straight onto the table's ``free_ids`` stack).

    Segments of the frame stack nest like the Python calls that start them: a segment is named
    by its base (the stack height when it started) and is done when the stack is back there.
    """

    def __init__(self) -> None:
        self.f_oid = np.zeros(256, np.int32)
        self.f_kind = np.zeros(256, np.int8)
        self.f_k = np.zeros(256, np.int64)
        self.f_x = np.zeros(256, np.int64)
        self.vbuf = np.zeros(256, np.int32)
        self.io = np.zeros(N_IO, np.int64)
        self.io[IO_PENDING] = self.io[IO_START_CLEAR] = -1
        self._no_free_lists = np.zeros(1, np.int64)
        self._params_key: tuple[int, bool, bool] | None = None
        self._params = np.zeros(6, np.int64)

    def start(self, oid: int = -1, *, clear: int = -1, garbage: tuple[int, int] | None = None
              ) -> int:
        """Begin a segment: deallocate ``oid``, tp_clear ``clear`` or delete_garbage
        ``(collectable, old)``; returns the segment's base (run it with :meth:`resume`)."""
        io = self.io
        io[IO_PENDING] = oid
        io[IO_START_CLEAR] = clear
        if garbage is not None:
            io[IO_START_GARBAGE] = 1
            io[IO_COLLECTABLE], io[IO_OLD] = garbage
        return int(io[IO_TOP])

    def abandon(self, top: int, vtop: int) -> None:
        """Forget every frame above ``top`` (after an exception left them half done)."""
        io = self.io
        io[IO_TOP], io[IO_VTOP] = top, vtop
        io[IO_PENDING] = io[IO_START_CLEAR] = -1
        io[IO_START_GARBAGE] = 0

    def resume(self, heap: HeapCore, base: int) -> tuple[int, int]:
        """Run segment ``base`` until DONE, NEED or MEMBER: ``(status, target)``.

        Afterwards the freed ids are pushed onto ``table.free_ids`` in order and ``live``,
        ``pool_holes``, ``count[0]`` and the free lists are up to date."""
        t, io = heap.table, self.io
        observer = heap.observer
        state = getattr(observer, "state", None)
        counts = getattr(observer, "free_counts", None)
        fl = counts if counts is not None else self._no_free_lists
        caps = getattr(observer, "free_caps", fl)
        params = self._params_for(heap, state is not None, counts is not None)
        kinds, plain, gc_capable = dealloc_type_arrays(heap.types)
        trash = heap.trash_delete_later
        free = t.free_ids
        while True:
            freed_before = free.size
            io[IO_LIVE], io[IO_HOLES], io[IO_NFREED] = t.live, t.pool_holes, free.size
            io[IO_COUNT0] = state.count[0] if state is not None else 0
            status = int(_cascade(t.type_id, t.flags, t.refcnt, t.gc_next, t.gc_prev,
                                  t.ref_start, t.ref_len, t.ref_cap, t.pool, kinds, plain,
                                  gc_capable, trash.state, trash.items, self.f_oid, self.f_kind,
                                  self.f_k, self.f_x, self.vbuf, free.items, fl, caps, io,
                                  params, base))
            t.live, t.pool_holes = int(io[IO_LIVE]), int(io[IO_HOLES])
            free.size = int(io[IO_NFREED])
            for listener in t.free_listeners:  # the kernel only pushes: new ids, in order
                for oid in free.items[freed_before:free.size].tolist():
                    listener(oid)
            if state is not None:
                state.count[0] = int(io[IO_COUNT0])
            if status != ROOM:
                return status, int(io[IO_TARGET])
            self._make_room(heap, int(io[IO_TARGET]), int(io[IO_ROOM]))

    def _make_room(self, heap: HeapCore, cause: int, need: int) -> None:
        if cause == ROOM_FRAMES:
            size = max(2 * len(self.f_oid), need)
            self.f_oid = _grown(self.f_oid, size)  # type: ignore[assignment]
            self.f_kind = _grown(self.f_kind, size)  # type: ignore[assignment]
            self.f_k = _grown(self.f_k, size)  # type: ignore[assignment]
            self.f_x = _grown(self.f_x, size)  # type: ignore[assignment]
        elif cause == ROOM_VALUES:
            self.vbuf = _grown(self.vbuf, max(2 * len(self.vbuf), need))  # type: ignore[assignment]
        elif cause == ROOM_TRASH:
            heap.trash_delete_later.grow(need)
        else:  # ROOM_FREED
            heap.table.free_ids.grow(need)

    def _params_for(self, heap: HeapCore, observer: bool, free_lists: bool) -> I64:
        """The kernel's read-only ``params`` (built once per profile and observer shape)."""
        key = (id(heap.profile), observer, free_lists)
        if key != self._params_key:
            profile = heap.profile
            self._params = np.array([profile.trashcan_deposit_at, profile.trashcan_drain_at,
                                     profile.trashcan_instance_shift, observer, free_lists,
                                     profile.free_lists.tuple_max_size], np.int64)
            self._params_key = key
        return self._params


__all__ = ["DONE", "MEMBER", "NEED", "NEGATIVE", "DeallocKernel", "dealloc_type_arrays"]
