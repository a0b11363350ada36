"""One whole collection in one compiled call, for collections that can run no user code.

The twin of :meth:`GenerationalCollector.collect
<gclab.collectors.cpython.generational.GenerationalCollector.collect>` from the merge of the
younger generations to the end of delete_garbage, for the case the collector checks first
(:mod:`gclab.collectors.cpython.compiled`): no DEBUG flag, no free-list model, no free listener,
a compiled cascade that may run tp_clear. :func:`_collect` runs, in ``collect()``'s order:

1. merge_younger_generations;
2. deduce_unreachable (update_refs, subtract_refs, move_unreachable; 2.7 untracks tuples
   inline), then untrack_tuples on the survivors (3.x);
3. promote_survivors (a full collection: untrack_dicts; the long-lived sizes are returned);
4. move_legacy_finalizers with nothing to move (UNREACHABLE cleared on all), and the check
   that decides the rest: if a member of the unreachable set is not *plain* (its type has a
   ``__del__`` or is the weakref type, or it has weakrefs: user code could run in
   handle_weakrefs, finalize_garbage or its deallocation) it returns ``BAIL`` and the
   collector goes on with the ordinary phases from move_legacy_finalizers;
5. handle_weakrefs and
   finalize_garbage (nothing to do), nothing_resurrected (PEP 442 profiles: the set moves to
   the still-unreachable list), the count of what will be freed;
6. delete_garbage: the heap's compiled deallocation cascade
   (:func:`gclab.heap._jit_dealloc._cascade`, the one that frees every plain object and pushes
   the freed ids) started on the list, as :meth:`~gclab.heap.dealloc.DeallocMixin.clear_list`
   starts it. Its status is returned: anything but ``DONE`` (a non-plain object reached
   outside the set, an array to grow) is finished by the heap's Python driver.

Every phase is the compiled twin the ordinary path calls (:mod:`gclab.kernels.cycles`), so the
lists, flags, ``gc_refs`` and visit counts come out the same; ``tests/test_young_fast.py`` runs
random programs on twin heaps, one on each path, and compares everything after every step.
"""

from __future__ import annotations

from ..heap._jit_dealloc import (
    DONE,
    IO_COUNT0,
    IO_HOLES,
    IO_LIVE,
    IO_MEMBERS,
    IO_NFREED,
    IO_START_LIST,
    IO_SURVIVORS,
    IO_TOP,
    IO_VTOP,
    T_PLAIN,
    _cascade,
)
from ..heap._jit_lists import _list_merge, _list_size
from ..heap.flags import HAS_WEAKREFS, NOT_UNREACHABLE
from ..heap.types import K_DICT, K_TUPLE
from . import at, jit
from .cycles import _deduce_unreachable, _untrack_scan

#: Returned instead of a cascade status when a member of the unreachable set is not plain.
BAIL = 16

# The collector's lists, as offsets from its first head (as gclab.collectors.cpython).
_UNREACHABLE, _STILL_UNREACHABLE = 4, 8


@jit
def _unreachable_all_plain(gc_next, flags, type_id, tinfo, head):
    """move_legacy_finalizers when nothing is to move: UNREACHABLE cleared on each member of
    ``head``, whose number is returned, if every member is plain (a ``T_PLAIN`` type, no
    weakrefs); else -1 at the first that is not, the members before it cleared (harmless: the
    ordinary phase that takes over clears every member first)."""
    count = 0
    step, alt = 1, 1
    node = gc_next[head]
    while node != head:
        while True:  # a run (see kernels.cycles)
            u = at(node)
            f = flags[u]
            if (tinfo[at(type_id[u])] & T_PLAIN) == 0 or (f & HAS_WEAKREFS) != 0:
                return -1
            flags[u] = f & NOT_UNREACHABLE
            count += 1
            following = gc_next[u]
            if following != node + step or following == head:
                break
            node += step
            step, alt = alt, step
        step, alt = alt, following - node
        node = following
    return count


@jit
def _collect(gc_next, gc_prev, flags, refcnt, gc_refs, type_id, kinds, gc_capable, pool,
             ref_start, ref_len, ref_cap, tinfo, trash_state, trash_items, frames, vbuf, freed,
             fl_count, io, first, generation, inline, legacy, nfreed, live, holes, count0):
    """Steps 1-6 above on the collector whose lists start at ``first``; ``nfreed``, ``live``,
    ``holes`` and ``count0`` are the cascade's registers as its Python driver would set them
    (the free ids' size, ``table.live``, ``table.pool_holes``, ``count[0]``).

    Returns ``(status, objects, references, survivors, collected, nfreed, live, holes,
    count0, base, vtop)``: ``status`` is ``BAIL`` (steps 1-3 done, the rest left to the
    ordinary phases), else the cascade's (``DONE``: the collection is over); ``objects`` and
    ``references`` as deduce_unreachable returns them; ``survivors`` the size of the collected
    generation after promotion (0 for generation 0, which does not need it); ``collected`` the
    number of objects handed to delete_garbage; then the cascade's registers afterwards (also
    left in ``io``) and its frame and value stack tops before (where an exception in Python's
    part rolls back)."""
    base, vtop = io[IO_TOP], io[IO_VTOP]
    young = first + generation
    old = young + 1 if generation < 2 else young
    unreachable = first + _UNREACHABLE
    for gen in range(generation):  # merge_younger_generations
        _list_merge(gc_next, gc_prev, first + gen, young)
    objects, references = _deduce_unreachable(  # find_unreachable
        gc_next, gc_prev, flags, refcnt, gc_refs, type_id, kinds, gc_capable, pool, ref_start,
        ref_len, young, unreachable, inline)
    if not inline:
        _untrack_scan(gc_next, gc_prev, flags, type_id, kinds, gc_capable, pool, ref_start,
                      ref_len, young, K_TUPLE)
    survivors = 0  # promote_survivors
    if young != old:
        if generation == 1:
            survivors = _list_size(gc_next, young)
        _list_merge(gc_next, gc_prev, young, old)
    else:
        _untrack_scan(gc_next, gc_prev, flags, type_id, kinds, gc_capable, pool, ref_start,
                      ref_len, young, K_DICT)
        survivors = _list_size(gc_next, young)
    collected = _unreachable_all_plain(gc_next, flags, type_id, tinfo, unreachable)
    if collected < 0:
        return BAIL, objects, references, survivors, 0, nfreed, live, holes, count0, base, vtop
    members = unreachable  # handle_weakrefs, finalize_garbage: nothing to do
    if not legacy:  # nothing_resurrected
        members = first + _STILL_UNREACHABLE
        _list_merge(gc_next, gc_prev, unreachable, members)
    status = DONE
    if collected:  # delete_garbage: clear_list(members, old) on the compiled cascade
        io[IO_NFREED], io[IO_LIVE], io[IO_HOLES], io[IO_COUNT0] = nfreed, live, holes, count0
        io[IO_START_LIST] = 1
        io[IO_MEMBERS] = members
        io[IO_SURVIVORS] = old
        status = _cascade(type_id, flags, refcnt, gc_next, gc_prev, ref_start, ref_len, ref_cap,
                          pool, tinfo, trash_state, trash_items, frames, vbuf, freed, fl_count,
                          io, base)
        nfreed, live, holes, count0 = io[IO_NFREED], io[IO_LIVE], io[IO_HOLES], io[IO_COUNT0]
    return (status, objects, references, survivors, collected, nfreed, live, holes, count0,
            base, vtop)


__all__ = ["BAIL"]
