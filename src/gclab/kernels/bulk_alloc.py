"""``alloc_many``'s allocations and the automatic collections they trigger, in one compiled call.

The twin of the loop in :meth:`~gclab.heap.bulk.BulkMixin.alloc_many` on a heap whose
collector is CPython's and whose collections may each run as one compiled call
(:mod:`gclab.collectors.cpython.compiled`); the driver that checks the conditions and makes
the records is :mod:`gclab.collectors.cpython.bulk_alloc`. :func:`alloc_and_collect` loops:

1. the *quiet* allocations, those that cannot trigger a collection (``count[0]`` stays within
   threshold 0, as ``bulk_gc_alloc`` counts them): the lowest free ids first (ascending, as
   ``FreeIds.pop_into`` takes them; rows as :func:`gclab.heap._jit_bulk.init_rows_at` makes
   them), then the fresh range from ``top`` (as ``_fresh_rows`` writes it: the columns whose
   fill differs), the pool slices in order from ``pool_top``, tracked kinds linked at the tail
   of gen0 in that order (``place_many``);
2. the allocation that triggers: counted, then, where the trigger is ``sync`` (CPython up to
   3.11), the collection runs before the new object exists and the row is made after it; where
   it is the 3.12+ safe point, the row is made first (``new_row``, then tracked) and the
   collection runs at the end of that allocation's operation, as ``operation_done`` runs it;
3. the collection: the generation chosen as ``collect_generations`` chooses it (2, 1, 0; over
   its threshold; generation 2 only when the long-lived pending count is at least a quarter of
   the total), ``reset_counts``, :func:`gclab.kernels.young._collect` (the call the compiled
   twin makes) and the long-lived bookkeeping of ``compiled._long_lived``; then the ids the
   cascade freed (pushed to the log ``freed``) are set in the bitmap, so the next rows take
   the lowest.

Each collection fills one row of ``records`` (the ``C_*`` fields) for the driver to make its
:class:`~gclab.collectors.record.CollectionRecord`. The call returns ``FINISHED`` when every
row is made, ``FULL`` when ``records`` has no room for the next collection (before it is
counted: the driver makes the records and calls again), and otherwise the status of a
collection it could not finish (``BAIL``: a member of the unreachable set could run user code;
a cascade status other than ``DONE``): that collection's record is the last one, partly
filled, and the driver finishes it as the compiled twin does. The registers (``R_*``) live in
``regs`` between calls.
"""

from __future__ import annotations

from ..heap._jit_bulk import init_rows_at
from ..heap._jit_dealloc import DONE
from ..heap._jit_ids import EMPTY, set_bits, take_lowest
from ..heap._jit_lists import _list_append, _list_extend
from ..heap.flags import ALIVE, TRACKED
from ..heap.table import NULL
from . import jit
from .young import BAIL, _collect

# The registers: the table's counters, the free ids (log size, bitmap's lowest and count), the
# collector's counts and long-lived counts, rows made, records made, the cascade's stack tops.
(R_TOP, R_POOL_TOP, R_LIVE, R_HOLES, R_NFREED, R_BMIN, R_NBITS, R_COUNT0, R_COUNT1, R_COUNT2,
 R_PENDING, R_TOTAL, R_DONE, R_NREC, R_BASE, R_VTOP) = range(16)
N_REGS = 16
# A record's fields: generation, counts before, live before, candidates, references visited,
# collected, live after, counts after.
(C_GEN, C_BEFORE0, C_BEFORE1, C_BEFORE2, C_LIVE_BEFORE, C_CANDIDATES, C_REFERENCES,
 C_COLLECTED, C_LIVE_AFTER, C_AFTER0, C_AFTER1, C_AFTER2) = range(12)
N_FIELDS = 12
#: Returned when every row is made.
FINISHED = 32
#: Returned when ``records`` is full (nothing of the next allocation done).
FULL = 33


@jit
def _rows(out, lo, hi, type_id, flags, refcnt, extern, gc_next, gc_prev, gc_refs, ref_start,
          ref_len, ref_cap, bits, words, regs, tid, flag, size, track, young):
    """Rows ``out[lo:hi]`` made as ``_rows_many`` makes them: the lowest free ids (ascending),
    then fresh ids from ``top``; type ``tid``, flags ``flag``, one external reference, ``size``
    slots each from ``pool_top`` on (an empty fresh row keeps ``ref_start`` 0); linked at the
    tail of ``young`` in order when ``track``. Afterwards the registers count them."""
    ids = out[lo:hi]
    count = hi - lo
    reused, bmin = take_lowest(bits, words, ids, count, regs[R_BMIN], regs[R_NBITS], EMPTY)
    regs[R_BMIN] = bmin
    regs[R_NBITS] -= reused
    start = regs[R_POOL_TOP]
    init_rows_at(ids[:reused], type_id, flags, refcnt, extern, gc_next, gc_prev, gc_refs,
                 ref_start, ref_len, ref_cap, tid, flag, size, start)
    top = regs[R_TOP]
    for k in range(reused, count):
        oid = top + k - reused
        ids[k] = oid
        type_id[oid] = tid
        flags[oid] = flag
        refcnt[oid] = 1
        extern[oid] = 1
        if size:
            ref_start[oid] = start + k * size
            ref_len[oid] = size
            ref_cap[oid] = size
    regs[R_TOP] = top + count - reused
    regs[R_POOL_TOP] = start + count * size
    regs[R_LIVE] += count
    if track:
        _list_extend(gc_next, gc_prev, ids, young)


@jit
def _row(one, type_id, flags, refcnt, extern, gc_next, gc_prev, gc_refs, ref_start, ref_len,
         ref_cap, pool, bits, words, regs, tid, size, track, young):
    """One row as ``new_row`` makes it (the lowest free id, else ``top``; ``size`` NULL slots at
    ``pool_top``, ``ref_start`` set even when empty), then tracked when ``track`` (linked at the
    tail of ``young``) and given its external reference. Returns its id."""
    taken, bmin = take_lowest(bits, words, one, 1, regs[R_BMIN], regs[R_NBITS], EMPTY)
    if taken:
        oid = one[0]
        regs[R_BMIN] = bmin
        regs[R_NBITS] -= 1
    else:
        oid = regs[R_TOP]
        regs[R_TOP] = oid + 1
    start = regs[R_POOL_TOP]
    type_id[oid] = tid
    flags[oid] = ALIVE
    refcnt[oid] = 0
    extern[oid] = 0
    gc_next[oid] = NULL
    gc_prev[oid] = NULL
    gc_refs[oid] = 0
    for at in range(start, start + size):
        pool[at] = NULL
    ref_start[oid] = start
    ref_cap[oid] = size
    ref_len[oid] = size
    regs[R_POOL_TOP] = start + size
    regs[R_LIVE] += 1
    if track:
        _list_append(gc_next, gc_prev, oid, young)
        flags[oid] = ALIVE | TRACKED
    refcnt[oid] = 1
    extern[oid] = 1
    return oid


@jit
def _generation(regs, thresholds):
    """The generation ``collect_generations`` collects: the oldest over its threshold, skipping
    generation 2 while the long-lived pending count is under a quarter of the total; -1 when
    none is over."""
    for gen in range(2, -1, -1):
        if regs[R_COUNT0 + gen] > thresholds[gen]:
            if gen == 2 and regs[R_PENDING] < regs[R_TOTAL] // 4:
                continue
            return gen
    return -1


@jit
def _collection(gc_next, gc_prev, flags, refcnt, gc_refs, type_id, kinds, gc_capable, pool,
                ref_start, ref_len, ref_cap, tinfo, trash_state, trash_items, frames, vbuf,
                freed, fl_count, io, bits, regs, record, first, generation, inline, legacy):
    """One automatic collection of ``generation`` as the compiled twin runs it, ``record``
    filled; returns its status (``DONE``: over, the freed ids in the bitmap; ``BAIL`` or another
    cascade status: the driver finishes it, the registers as the twin leaves them)."""
    record[C_GEN] = generation
    record[C_BEFORE0] = regs[R_COUNT0]
    record[C_BEFORE1] = regs[R_COUNT1]
    record[C_BEFORE2] = regs[R_COUNT2]
    record[C_LIVE_BEFORE] = regs[R_LIVE]
    if generation < 2:  # reset_counts
        regs[R_COUNT0 + generation + 1] += 1
    for gen in range(generation + 1):
        regs[R_COUNT0 + gen] = 0
    (status, objects, references, survivors, collected, nfreed, live, holes, count0, base,
     vtop) = _collect(gc_next, gc_prev, flags, refcnt, gc_refs, type_id, kinds, gc_capable,
                      pool, ref_start, ref_len, ref_cap, tinfo, trash_state, trash_items,
                      frames, vbuf, freed, fl_count, io, first, generation, inline, legacy,
                      regs[R_NFREED], regs[R_LIVE], regs[R_HOLES], regs[R_COUNT0])
    record[C_CANDIDATES] = objects
    record[C_REFERENCES] = 2 * references
    if generation == 1:  # promote_survivors' long-lived bookkeeping (compiled._long_lived)
        regs[R_PENDING] += survivors
    elif generation == 2:
        regs[R_PENDING] = 0
        regs[R_TOTAL] = survivors
    if status == BAIL:
        return status
    regs[R_NFREED], regs[R_LIVE], regs[R_HOLES], regs[R_COUNT0] = nfreed, live, holes, count0
    regs[R_BASE], regs[R_VTOP] = base, vtop
    record[C_COLLECTED] = collected
    if status != DONE:
        return status
    added, bmin = set_bits(bits, freed, nfreed, regs[R_BMIN])  # the log into the bitmap
    regs[R_BMIN] = bmin
    regs[R_NBITS] += added
    regs[R_NFREED] = 0
    record[C_LIVE_AFTER] = live
    record[C_AFTER0] = regs[R_COUNT0]
    record[C_AFTER1] = regs[R_COUNT1]
    record[C_AFTER2] = regs[R_COUNT2]
    return status


@jit
def alloc_and_collect(type_id, flags, refcnt, extern, gc_next, gc_prev, gc_refs, ref_start,
                      ref_len, ref_cap, pool, kinds, gc_capable, tinfo, trash_state,
                      trash_items, frames, vbuf, freed, fl_count, io, bits, words, one, regs,
                      records, out, tid, size, track, sync, enabled, thresholds, first, inline,
                      legacy):
    """Rows ``out[regs[R_DONE]:]`` of type ``tid`` with ``size`` slots each, and the automatic
    collections they trigger, in order (the module docstring); returns ``FINISHED``, ``FULL``
    or the status of the collection it stopped in. ``first`` is the collector's first list
    head (gen0); ``track`` whether the rows are tracked (not dicts); ``sync`` whether a
    collection runs before the row that triggers it; ``enabled`` ``gc.isenabled()``."""
    count = len(out)
    done = regs[R_DONE]
    flag = ALIVE | TRACKED if track else ALIVE
    th0 = thresholds[0]
    while done < count:
        quiet = count - done
        if enabled and th0:
            room = th0 - regs[R_COUNT0]
            quiet = min(quiet, room if room > 0 else 0)
        if quiet:
            _rows(out, done, done + quiet, type_id, flags, refcnt, extern, gc_next, gc_prev,
                  gc_refs, ref_start, ref_len, ref_cap, bits, words, regs, tid, flag, size,
                  track, first)
            regs[R_COUNT0] += quiet
            done += quiet
            regs[R_DONE] = done
            if done == count:
                break
        nrec = regs[R_NREC]
        if nrec == len(records):
            return FULL
        regs[R_COUNT0] += 1  # the allocation that triggers: counted
        if not sync:  # made first; its operation's safe point collects
            out[done] = _row(one, type_id, flags, refcnt, extern, gc_next, gc_prev, gc_refs,
                             ref_start, ref_len, ref_cap, pool, bits, words, regs, tid, size,
                             track, first)
            done += 1
            regs[R_DONE] = done
        regs[R_NREC] = nrec + 1
        status = _collection(gc_next, gc_prev, flags, refcnt, gc_refs, type_id, kinds,
                             gc_capable, pool, ref_start, ref_len, ref_cap, tinfo, trash_state,
                             trash_items, frames, vbuf, freed, fl_count, io, bits, regs,
                             records[nrec], first, _generation(regs, thresholds), inline,
                             legacy)
        if status != DONE:
            return status
        if sync:
            out[done] = _row(one, type_id, flags, refcnt, extern, gc_next, gc_prev, gc_refs,
                             ref_start, ref_len, ref_cap, pool, bits, words, regs, tid, size,
                             track, first)
            done += 1
            regs[R_DONE] = done
    return FINISHED


__all__ = ["FINISHED", "FULL", "N_FIELDS", "N_REGS", "alloc_and_collect"]
