"""``alloc_many`` with its automatic collections inside one compiled call (issue #10, part 4).

``alloc_many(type, count, size)`` is ``count`` calls of ``alloc``: its quiet runs are made in
bulk, and each allocation that triggers a collection goes through ``alloc`` and the whole
Python path of a collection (``before_gc_alloc`` or the safe point, ``collect_generations``,
``collect_with_callbacks``, ``run_collection``, the compiled twin). A build of 300,000 objects
triggers some 430 young collections; each cost ~30 us of Python around ~14 us of kernel. Here
:func:`gclab.kernels.bulk_alloc.alloc_and_collect` runs the rows *and* the collections in one
call, and this driver makes the :class:`~gclab.collectors.record.CollectionRecord` of each
afterwards. :func:`applies` says when (all of it, else the heap keeps its own loop):

- each collection may be the compiled twin's one call (:func:`compiled.applies`: kernels on,
  no DEBUG flag, no free-list model, no free listener, no mutation listener, phases as built),
  and the collector is not told otherwise (``collector.compiled_bulk = False``, what the
  differential test ``tests/test_bulk_collect.py`` does on one twin);
- the type is GC-capable and the batch would trigger a collection (else nothing is collected:
  the heap's loop makes the rows as one quiet run);
- no ``gc.callbacks`` (user code around each collection), no collection running or scheduled;
- ``alloc`` would take its quick bracket at the top level (:func:`quick_operation` and depth
  0: its end is the safe point that runs a scheduled collection, nothing is deferred) and that
  safe point does nothing else (no atom sweep due, ``debug_level`` 0);
- the table has no per-collector columns.

Both triggers are modelled: ``sync`` (up to 3.11) collects before the triggering object
exists, the 3.12+ safe point right after it is made (the end of that ``alloc``'s operation).
None of these conditions can change inside the compiled call (only user code could change
them, and none runs there). When a collection could run user code (``BAIL``) or its cascade
needs Python (another status), the call returns, and the driver finishes that collection as
the compiled twin does (:meth:`collect_rest`, :func:`compiled._finish_cascade`), inside the
brackets ``alloc`` would have it in, then the triggering row if it is not made yet; the heap's
loop goes on from there.

Every record, the stats and ``history`` are what the ordinary path writes, but
``wall_time``: the compiled call is timed as a whole and each record made from it gets a
share proportional to its pause units (objects plus references visited, plus one); a
collection finished in Python counts from the call's return.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from ..._jit import ENABLED
from ...heap.guard import operation_done, quick_operation
from ...heap.invariants import debug_check
from ...heap.types import Kind
from ...kernels.bulk_alloc import (
    C_AFTER0,
    C_BEFORE0,
    C_CANDIDATES,
    C_COLLECTED,
    C_GEN,
    C_LIVE_AFTER,
    C_LIVE_BEFORE,
    C_REFERENCES,
    FINISHED,
    FULL,
    N_FIELDS,
    N_REGS,
    R_BASE,
    R_BMIN,
    R_COUNT0,
    R_DONE,
    R_HOLES,
    R_LIVE,
    R_NBITS,
    R_NFREED,
    R_NREC,
    R_PENDING,
    R_POOL_TOP,
    R_TOP,
    R_TOTAL,
    R_VTOP,
    alloc_and_collect,
)
from ...kernels.young import BAIL
from ..record import CollectionRecord
from . import compiled as twin

if TYPE_CHECKING:
    import numpy.typing as npt

    from ...heap.types import TypeInfo
    from .generational import GenerationalCollector

    IDs = npt.NDArray[np.int32]
    I64 = npt.NDArray[np.int64]

#: Records made room for per call at most (a call that fills them returns and is called again).
MAX_RECORDS = 4096


def applies(collector: GenerationalCollector, info: TypeInfo, left: int) -> bool:
    """True when ``alloc_many``'s next ``left`` rows of ``info`` may run here (the conditions
    above) and would trigger a collection (else the heap's loop makes them as one quiet run,
    writing the fresh range as numpy slices: ~10 % faster than the compiled loop for millions
    of rows)."""
    heap = collector._heap()
    if heap is None or not (collector.compiled_bulk and info.gc_capable):
        return False
    state, atoms = collector.state, heap.atoms
    threshold = state.thresholds[0]
    return (state.enabled and threshold > 0 and state.count[0] + left > threshold
            and not state.callbacks and not state.collecting and not state.scheduled
            and not heap._op_depth and not heap.debug_level and not heap.table._extra
            and atoms.new_since_sweep <= atoms.sweep_at and quick_operation(heap)
            and twin.applies(collector))


def alloc_many(collector: GenerationalCollector, info: TypeInfo, size: int, out: IDs,
               done: int) -> int:
    """Rows ``out[done:]`` as ``alloc_many``'s loop makes them, with the collections they
    trigger, until all are made or a collection had to be finished in Python (:func:`applies`
    must be true; room for every row and slot is made). Returns how many of ``out`` are made
    afterwards; the heap, the collector's state, ``history`` and the stats are what that many
    calls of ``alloc`` leave (``wall_time`` aside)."""
    heap = collector.heap
    t, state = heap.table, collector.state
    kernel = heap.dealloc_kernel
    assert kernel is not None
    if heap.observer is not kernel._observer:  # as compiled.collect: the cascade's parameters
        kernel._bind(heap)
    fixed = collector.compiled_fixed
    if fixed is None or fixed[0] != len(heap.types):
        fixed = twin._fixed_arguments(collector, heap)
    free, trash, count = t.free_ids, heap.trash_delete_later, state.count
    bits, words, bmin, nbits = free.export_bitmap(len(t.type_id))
    regs = np.array([t.top, t.pool_top, t.live, t.pool_holes, 0, bmin, nbits, *count,
                     state.long_lived_pending, state.long_lived_total, done, 0, 0, 0],
                    np.int64)
    assert len(regs) == N_REGS
    thresholds = np.array(state.thresholds, np.int64)
    expected = (len(out) - done) // state.thresholds[0] + 2  # a collection per threshold
    records = np.zeros((min(expected, MAX_RECORDS), N_FIELDS), np.int64)
    sync = collector.profile.trigger == "sync"
    arguments = (
        t.type_id, t.flags, t.refcnt, t.extern, t.gc_next, t.gc_prev, t.gc_refs, t.ref_start,
        t.ref_len, t.ref_cap, t.pool, fixed[1], fixed[2], fixed[3], trash.state, trash.items,
        kernel.frames, kernel.vbuf, free.items, kernel._fl, kernel.io, bits, words,
        np.empty(1, np.int32), regs, records, out, info.type_id, size, info.kind is not Kind.DICT,
        sync, state.enabled, thresholds, collector.first_head, fixed[5], fixed[6])
    started = time.perf_counter()
    if ENABLED:  # compiled code makes no host object: no proxy can be released meanwhile
        status = int(alloc_and_collect(*arguments))
    else:  # its plain Python (tests): proxy releases wait, as in collect()'s phases
        with heap.no_user_code():
            status = int(alloc_and_collect(*arguments))
    returned = time.perf_counter()
    _registers_back(collector, regs)
    made = int(regs[R_NREC]) - (status not in (FINISHED, FULL))
    _close_records(collector, records[:made], returned - started)
    done = int(regs[R_DONE])
    if status in (FINISHED, FULL):
        return done
    row = records[made].tolist()
    record = _open_record(collector, row)
    halted = (status, int(regs[R_BASE]), int(regs[R_VTOP]), row[C_COLLECTED])
    if sync:  # alloc's bracket: the collection inside it, then the row
        heap._op_depth += 1
        try:
            _finish(collector, halted, record, returned)
            out[done] = heap._row_after_count(info, size)
        finally:
            heap._op_depth -= 1
        if not heap._op_depth:
            operation_done(heap)
        return done + 1
    _finish(collector, halted, record, returned)  # the safe point's collection
    atoms = heap.atoms  # the rest of operation_done after its safepoint()
    if atoms.new_since_sweep > atoms.sweep_at and not heap.user_code.depth:
        heap.sweep_atoms()
    if heap.debug_level >= 2:
        debug_check(heap, 2)
    return done


def _registers_back(collector: GenerationalCollector, regs: I64) -> None:
    """Afterwards the table, the free ids and the collector's counts hold the registers."""
    t, state = collector.table, collector.state
    r = regs.tolist()
    t.top, t.pool_top, t.live, t.pool_holes = r[R_TOP], r[R_POOL_TOP], r[R_LIVE], r[R_HOLES]
    t.free_ids.import_bitmap(r[R_BMIN], r[R_NBITS], r[R_NFREED])
    state.count[:] = r[R_COUNT0 : R_COUNT0 + 3]
    state.long_lived_pending, state.long_lived_total = r[R_PENDING], r[R_TOTAL]


def _open_record(collector: GenerationalCollector, r: list[int]) -> CollectionRecord:
    """The record of a collection as ``collect()`` has it before its end (from its row of
    fields): generation, counts and size before, candidates and visits."""
    record = CollectionRecord(collector.name, r[C_GEN], "automatic")
    record.count_before = (r[C_BEFORE0], r[C_BEFORE0 + 1], r[C_BEFORE0 + 2])
    record.heap_objects_before = r[C_LIVE_BEFORE]
    record.candidates = record.objects_visited = r[C_CANDIDATES]
    record.references_visited = r[C_REFERENCES]
    return record


def _close_records(collector: GenerationalCollector, rows: I64, seconds: float) -> None:
    """What ``close_record`` does for each collection the compiled call finished, in order,
    with the sizes and counts it saw: the stats count it, its record joins ``history``. Each
    gets a share of ``seconds`` proportional to its pause units plus one. (One constructor
    call a record and the stats summed per generation: a build of 300,000 objects makes ~430.)"""
    if not len(rows):
        return
    weights = rows[:, C_CANDIDATES] + rows[:, C_REFERENCES] + 1
    shares = (weights * (seconds / int(weights.sum()))).tolist()
    name, append = collector.name, collector.history.append
    for r, share in zip(rows.tolist(), shares, strict=True):
        append(CollectionRecord(
            name, r[C_GEN], "automatic", candidates=r[C_CANDIDATES], collected=r[C_COLLECTED],
            objects_visited=r[C_CANDIDATES], references_visited=r[C_REFERENCES],
            wall_time=share, heap_objects_before=r[C_LIVE_BEFORE],
            heap_objects_after=r[C_LIVE_AFTER],
            count_before=(r[C_BEFORE0], r[C_BEFORE0 + 1], r[C_BEFORE0 + 2]),
            count_after=(r[C_AFTER0], r[C_AFTER0 + 1], r[C_AFTER0 + 2])))
    generations = rows[:, C_GEN]
    runs = np.bincount(generations, minlength=3).tolist()
    collected = np.bincount(generations, rows[:, C_COLLECTED], minlength=3).tolist()
    for stats, n, freed in zip(collector.state.stats, runs, collected, strict=True):
        stats["collections"] += n
        stats["collected"] += int(freed)


def _finish(collector: GenerationalCollector, halted: tuple[int, int, int, int],
            record: CollectionRecord, started: float) -> None:
    """The collection the compiled call stopped in, finished as ``compiled.collect`` finishes
    it, inside ``collect_with_callbacks``' bracket (no callbacks are registered). ``halted``:
    the status, the cascade's stack tops and the number of objects handed to
    delete_garbage."""
    status, base, vtop, collected = halted
    state = collector.state
    state.collecting = True
    try:
        if status == BAIL:
            collector.collect_rest(record.generation, record, started)
            return
        twin._finish_cascade(collector.heap, status, base, vtop)
        record.collected, record.uncollectable = collected, 0
        record.wall_time = time.perf_counter() - started
        collector.close_record(record.generation, collected, record)
    finally:
        state.collecting = False


__all__ = ["MAX_RECORDS", "alloc_many", "applies"]
