"""The bulk API's compiled passes (the heap's own compiled helpers, built on :mod:`gclab._jit`).

Each bulk call of :mod:`gclab.heap.bulk` is one call of one of these kernels: it first checks
every entry of the batch, in batch order, and only when all are good does the work, so a batch
with a bad entry anywhere changes nothing (the Python side then raises the one-at-a-time call's
error for the first bad entry). With ``GCLAB_JIT=0`` the ``jit`` decorator is the identity and
the same source runs as plain Python: that is the twin ``tests/test_bulk.py`` compares with the
compiled kernels (and the one-at-a-time calls remain the specification of both).

Inputs are int32 arrays of any layout (a broadcast id costs no memory); nothing here allocates
an array of the batch's length except the overwritten references :func:`store_all` must keep
until all the stores are done (only the ids among them, or every one when a listener hears
them) and :func:`check_keys`' undo log (one int32 per key store of the batch).

Checking and storing stay two passes: one pass would have to log every overwritten value to
undo the stores before a bad entry (4 bytes per entry of fresh memory, whose first writes cost
on the measuring machine about what the second pass costs, see :mod:`gclab.heap.pages`).
"""

from __future__ import annotations

import numpy as np

from .._jit import jit
from .flags import ALIVE, TRACKED
from .table import N_HEADS, NULL
from .types import K_DICT, K_FRAME, K_LIST, K_MODULE, K_SET, K_TUPLE, K_WEAKREF


@jit
def _grown(buffer, count):
    """``buffer`` with twice the room, its first ``count`` entries kept."""
    out = np.empty(max(16, 2 * len(buffer)), np.int32)
    out[:count] = buffer[:count]
    return out


@jit
def check_stores(flags, top, ref_start, ref_len, type_id, pool, kinds, dict_slot, atom_live,
                 ids, indices, values):
    """Check a ``set_slots`` batch in batch order; nothing is written.

    Returns ``(bad, keyed, old_ids)``: ``bad`` the first entry ``set_slot`` would reject for
    its id (not live), object (a weakref), index (out of range), value (not NULL, an interned
    atom or a live id) or an instance's ``__dict__`` slot (only a dict or NULL), else
    ``len(ids)``; ``keyed`` the first entry that stores a non-NULL key, name or set element
    (whose rules, hashability, str names and uniqueness, the caller checks), else ``len(ids)``;
    ``old_ids`` how many of the slots stored into hold an id now.

    The checks are written out in the loop: numba called helpers taking arrays without
    inlining them, which made this pass several times slower."""
    n = len(ids)
    keyed = n
    old_ids = 0
    last = np.int64(-1)  # the object of the previous entry and what was read of it
    tid = kind = length = dslot = 0
    start = np.int64(0)
    for k in range(n):
        oid = ids[k]
        if oid != last:
            if oid < N_HEADS or oid >= top or (flags[oid] & ALIVE) == 0:
                return k, keyed, old_ids
            tid = type_id[oid]
            kind = kinds[tid]
            if kind == K_WEAKREF:
                return k, keyed, old_ids
            last = oid
            length = ref_len[oid]
            start = np.int64(ref_start[oid])
            dslot = dict_slot[tid]
        index = indices[k]
        if index < 0 or index >= length:
            return k, keyed, old_ids
        value = values[k]  # NULL, an interned atom or a live id (check_value)
        if value >= 0:
            if value < N_HEADS or value >= top or (flags[value] & ALIVE) == 0:
                return k, keyed, old_ids
        elif value != NULL:
            atom = -2 - np.int64(value)
            if atom >= len(atom_live) or not atom_live[atom]:
                return k, keyed, old_ids
        if kind == K_SET or ((kind == K_DICT or kind == K_FRAME or kind == K_MODULE)
                             and index % 2 == 0):  # a key, name or set element (is_keyed_slot)
            if value != NULL and keyed == n:
                keyed = k
        elif index == dslot and value != NULL:
            if value < 0 or kinds[type_id[value]] != K_DICT:
                return k, keyed, old_ids
        if pool[start + index] >= 0:
            old_ids += 1
    return n, keyed, old_ids


@jit
def store_all(pool, ref_start, refcnt, type_id, flags, kinds, gc_capable, ids, indices,
              values, olds, old_ids, dict_type):
    """The stores of a checked ``set_slots`` batch, in batch order: each new value held, the
    overwritten one kept; a dict that receives a value that may be tracked is flagged TRACKED
    and listed for the collector to place, in order.

    ``olds`` of the batch's length receives every overwritten value (for listeners); an empty
    ``olds`` means only the overwritten ids are kept, in order, in a buffer of ``old_ids``
    entries (what :func:`check_stores` counted: it grows only when a slot is stored into twice).
    Returns ``(dropped, how many, listed dicts, how many)``: the references to release, in
    order, and the dicts to place."""
    n = len(ids)
    every = len(olds) == n
    dropped = olds if every else np.empty(old_ids, np.int32)
    tracked = np.empty(4, np.int32)
    k = n_dropped = n_tracked = 0
    while True:  # the buffers grow between runs: a loop that reassigns arrays runs slowly
        k, n_dropped, n_tracked = _store_run(pool, ref_start, refcnt, type_id, flags, kinds,
                                             gc_capable, ids, indices, values, every, dropped,
                                             n_dropped, tracked, n_tracked, dict_type, k)
        if k == n:
            return dropped, (n if every else n_dropped), tracked, n_tracked
        if n_dropped == len(dropped):
            dropped = _grown(dropped, n_dropped)
        if n_tracked == len(tracked):
            tracked = _grown(tracked, n_tracked)


@jit
def _store_run(pool, ref_start, refcnt, type_id, flags, kinds, gc_capable, ids, indices,
               values, every, dropped, n_dropped, tracked, n_tracked, dict_type, start):
    """Stores ``start ..`` of :func:`store_all` until the batch ends or a buffer is full
    (``dropped`` when the next old id has no room, ``tracked`` when a dict has none: that
    entry is not done). Returns ``(next entry, n_dropped, n_tracked)``."""
    last = np.int64(-1)  # the object of the previous entry and what was read of it
    base = np.int64(0)
    is_dict = False
    for k in range(start, len(ids)):
        oid = ids[k]
        if oid != last:
            last = oid
            base = np.int64(ref_start[oid])
            is_dict = type_id[oid] == dict_type
        value = values[k]
        at = base + indices[k]
        old = pool[at]
        if every:
            dropped[k] = old
        elif old >= 0:
            if n_dropped == len(dropped):
                return k, n_dropped, n_tracked
            dropped[n_dropped] = old
            n_dropped += 1
        if is_dict and (flags[oid] & TRACKED) == 0 and value >= 0:
            tid = type_id[value]
            if gc_capable[tid] != 0 and (kinds[tid] != K_TUPLE or (flags[value] & TRACKED) != 0):
                if n_tracked == len(tracked):
                    if not every and old >= 0:
                        n_dropped -= 1  # the entry is done again after the growth
                    return k, n_dropped, n_tracked
                flags[oid] |= TRACKED
                tracked[n_tracked] = oid
                n_tracked += 1
        if value >= 0:
            refcnt[value] += 1
        pool[at] = value
    return len(ids), n_dropped, n_tracked


# check_keys' statuses (what set_slots_pass returns as ``status``)
KEYS_DONE, KEYS_VECTORISED, KEYS_NEED_NAMES = range(3)


@jit
def check_keys(pool, ref_start, ref_len, type_id, kinds, name_ok, ids, indices, values, end,
               scan_limit):
    """The key rules of entries ``0 .. end-1`` of a ``set_slots`` batch (every one good for
    :func:`check_stores`), in batch order: a dict key is hashable (no list, dict or set id), a
    frame's or module's name is a str atom (``name_ok`` per atom index), and no key, name or
    set element is already one of its object at another slot *when its turn comes* (earlier
    entries of the batch stored, NULL removing a key).

    Each key store is written to the pool as it is checked and every such write is undone
    before returning, so the pool is as it was (when the key stores go to strictly ascending
    objects, the usual shape of a build, none is written: each object's other slots are then
    what its scan must see). Returns ``(status, k, slot)``: status
    ``KEYS_DONE`` with ``k`` the first entry breaking a key rule (``end`` if none) and
    ``slot`` the slot already holding its key when it is a duplicate (else -1);
    ``KEYS_VECTORISED`` when an object stored into has more than ``scan_limit`` key slots (a
    scan per store would be quadratic: the caller checks vectorised); ``KEYS_NEED_NAMES`` when
    a name is to be checked and ``name_ok`` is empty (the caller makes it and calls again)."""
    status, stop, slot = KEYS_DONE, end, -1
    n_writes = 0
    single = True  # the key stores go to strictly ascending objects: one at most per object
    previous = np.int64(-1)
    for k in range(end):  # how many key stores: the undo log's length
        oid = ids[k]
        kind = kinds[type_id[oid]]
        if kind == K_SET or ((kind == K_DICT or kind == K_FRAME or kind == K_MODULE)
                             and indices[k] % 2 == 0):
            n_writes += 1
            if oid <= previous:
                single = False
            previous = oid
    # With one key store at most per object, the other slots hold at its turn what they hold
    # now (value stores change no key): the scan needs no write, and nothing is to be undone.
    undo = np.empty(0 if single else n_writes, np.int32)
    n_writes = 0
    upto = 0  # entries 0 .. upto-1 are written (those that store a key)
    for k in range(end):
        oid = ids[k]
        kind = kinds[type_id[oid]]
        index = indices[k]
        step = 1
        if kind != K_SET:
            if not ((kind == K_DICT or kind == K_FRAME or kind == K_MODULE) and index % 2 == 0):
                continue
            step = 2
        value = values[k]
        base = np.int64(ref_start[oid])
        if value != NULL:
            if kind == K_DICT:
                if value >= 0:
                    vkind = kinds[type_id[value]]
                    if vkind == K_LIST or vkind == K_DICT or vkind == K_SET:  # UNHASHABLE
                        stop = k
                        break
            elif kind != K_SET:  # a name: a str atom
                if value >= 0:
                    stop = k
                    break
                if len(name_ok) == 0:
                    status = KEYS_NEED_NAMES
                    break
                if not name_ok[-2 - np.int64(value)]:
                    stop = k
                    break
            length = ref_len[oid]
            if (length + step - 1) // step > scan_limit:
                status = KEYS_VECTORISED
                break
            for j in range(0, length, step):
                if j != index and pool[base + j] == value:
                    slot = j
                    break
            if slot >= 0:
                stop = k
                break
        if single:
            continue
        undo[n_writes] = pool[base + index]
        n_writes += 1
        pool[base + index] = value
        upto = k + 1
    for k in range(upto - 1, -1, -1):  # undo the writes, last first
        oid = ids[k]
        kind = kinds[type_id[oid]]
        index = indices[k]
        if kind == K_SET or ((kind == K_DICT or kind == K_FRAME or kind == K_MODULE)
                             and index % 2 == 0):
            n_writes -= 1
            pool[np.int64(ref_start[oid]) + index] = undo[n_writes]
    return status, stop, slot


@jit
def set_slots_pass(pool, ref_start, ref_len, refcnt, type_id, flags, top, kinds, gc_capable,
                   dict_slot, atom_live, name_ok, ids, indices, values, layout_checked,
                   scan_limit, olds, dict_type):
    """A whole ``set_slots`` batch in one call: :func:`check_stores`, then (unless the
    caller has checked the keys: ``layout_checked``) :func:`check_keys` on the entries before
    the first bad one, then, only if every entry is good, :func:`store_all`.

    Returns ``(status, bad, slot, dropped, n_dropped, tracked, n_tracked)``: ``status`` is
    :func:`check_keys`' (``KEYS_DONE`` when it did not run); ``bad`` the first bad entry (the
    batch's length if none), ``slot`` the slot holding its key when it is a duplicate (else
    -1); then the four results of the stores (empty when nothing was stored: a bad entry, or a
    status other than ``KEYS_DONE``)."""
    bad, keyed, old_ids = check_stores(flags, top, ref_start, ref_len, type_id, pool, kinds,
                                       dict_slot, atom_live, ids, indices, values)
    none = np.empty(0, np.int32)
    status, slot = KEYS_DONE, -1
    if keyed < bad and not layout_checked:
        status, bad, slot = check_keys(pool, ref_start, ref_len, type_id, kinds, name_ok, ids,
                                       indices, values, bad, scan_limit)
        if status != KEYS_DONE:
            return status, bad, slot, none, 0, none, 0
    if bad < len(ids):
        return status, bad, slot, none, 0, none, 0
    dropped, n_dropped, tracked, n_tracked = store_all(pool, ref_start, refcnt, type_id, flags,
                                                       kinds, gc_capable, ids, indices, values,
                                                       olds, old_ids, dict_type)
    return status, bad, slot, dropped, n_dropped, tracked, n_tracked


@jit
def decref_pass(flags, top, refcnt, extern, codes, owners, kept):
    """Check a ``decref_many`` batch and do its drops up to the first one that reaches zero.

    ``owners`` (sorted) are the ids that may have external references decref may not drop,
    ``kept[c]`` how many of ``owners[c]``'s (-1: not known yet). Returns ``(status, k)``:

    * ``(0, k)``: entry ``k`` is not a live id (the first such entry; nothing changed);
    * ``(1, k)``: entry ``k`` is the first at which the drops in order would take an external
      count below what it keeps (nothing changed);
    * ``(2, 0)``: some ``kept`` of the batch are not known; they are now ``-2`` (nothing
      changed: the caller fills them in and calls again);
    * ``(3, k)``: the batch is good; entries ``0 .. k-1`` were dropped (none reached zero) and
      entry ``k`` (if ``k < len(codes)``) would take its object's count to zero: that drop and
      the rest are the caller's."""
    n = len(codes)
    dead = n
    over = n
    need = False
    counted = 0  # extern is counted down for codes[:counted]
    n_owners = len(owners)
    low = owners[0] if n_owners else 0
    high = owners[n_owners - 1] if n_owners else -1
    for k in range(n):
        oid = codes[k]
        if oid < N_HEADS or oid >= top or (flags[oid] & ALIVE) == 0:
            dead = k
            break
        if over < n:
            continue
        keep = 0
        if low <= oid <= high:  # a binary search of owners, written out (see check_stores)
            lo, hi = 0, n_owners
            while lo < hi:
                mid = (lo + hi) // 2
                if owners[mid] < oid:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < n_owners and owners[lo] == oid:
                if kept[lo] < 0:
                    kept[lo] = -2
                    need = True
                keep = kept[lo]
        if need:
            continue
        left = extern[oid] - 1
        if left < keep:
            over = k
            continue
        extern[oid] = left
        counted = k + 1
    if dead < n or over < n or need:
        for k in range(counted):
            extern[codes[k]] += 1
        if dead < n:
            return 0, dead
        if need:
            return 2, 0
        return 1, over
    stop = n
    for k in range(n):
        oid = codes[k]
        if refcnt[oid] <= 1:
            stop = k
            break
        refcnt[oid] -= 1
    for k in range(stop, n):  # those drops are the caller's, extern included
        extern[codes[k]] += 1
    return 3, stop


@jit
def drop_run(refcnt, extern, codes, start, external):
    """Drop references ``codes[start:]`` while none reaches zero; the index where one would.
    Negative codes (NULL, atoms) are skipped; ``external`` drops count down ``extern`` too."""
    for k in range(start, len(codes)):
        code = codes[k]
        if code < 0:
            continue
        if refcnt[code] <= 1:
            return k
        refcnt[code] -= 1
        if external:
            extern[code] -= 1
    return len(codes)


@jit
def init_rows_at(ids, type_id, flags, refcnt, extern, gc_next, gc_prev, gc_refs, ref_start,
                 ref_len, ref_cap, tid, flag, size, pool_start):
    """Rows ``ids`` (any ids, e.g. reused ones) made new objects of type ``tid``: flags
    ``flag``, one reference (external), in no list, ``size`` slots, ``ids[k]``'s at
    ``pool_start + k * size``."""
    for k in range(len(ids)):
        oid = ids[k]
        type_id[oid] = tid
        flags[oid] = flag
        refcnt[oid] = 1
        extern[oid] = 1
        gc_next[oid] = NULL
        gc_prev[oid] = NULL
        gc_refs[oid] = 0
        ref_start[oid] = pool_start + k * size
        ref_len[oid] = size
        ref_cap[oid] = size


__all__ = ["KEYS_DONE", "KEYS_NEED_NAMES", "KEYS_VECTORISED", "check_keys", "check_stores",
           "decref_pass", "drop_run", "init_rows_at", "set_slots_pass", "store_all"]
