"""Compiled introspection scans: the twins of :mod:`gclab.algorithms.introspection` (spec §5).

Same names, signatures and results (order included) as the oracles; ``tests/
test_introspection_kernels.py`` checks that on random heaps. The ``@jit`` functions walk the
collector rings through ``gc_next`` and read the reference pool directly.

What traverse visits, as :func:`gclab.heap.layout.traverse_codes` (only *whether* a target is
visited matters here, not the order): nothing for a type that is not GC-capable (frames,
modules); a dict's complete key/value entries (an odd trailing key is not an entry); every slot
of any other kind. Negative slot values (NULL, atoms) never match a target.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from ..heap._jit_lists import _list_size
from ..heap.types import K_DICT
from . import jit, type_arrays

if TYPE_CHECKING:
    from ..heap.core import HeapCore


@jit
def _count_members(gc_next, heads):
    count = 0
    for h in range(len(heads)):
        count += _list_size(gc_next, heads[h])
    return count


@jit
def _get_objects_ids(gc_next, heads, out):
    count = 0
    for h in range(len(heads)):
        head = heads[h]
        node = gc_next[head]
        while node != head:
            out[count] = node
            count += 1
            node = gc_next[node]
    return count


@jit
def _get_referrer_ids(gc_next, type_id, kinds, gc_capable,
                      pool, ref_start, ref_len, heads, is_target, out):
    count = 0
    for h in range(len(heads)):
        head = heads[h]
        node = gc_next[head]
        while node != head:
            tid = type_id[node]
            if gc_capable[tid] != 0:
                start = np.int64(ref_start[node])  # uint32 column: widen before arithmetic
                length = np.int64(ref_len[node])
                if kinds[tid] == K_DICT:
                    length -= length % 2  # complete entries only
                for i in range(start, start + length):
                    ref = pool[i]
                    if ref >= 0 and is_target[ref] != 0:
                        out[count] = node
                        count += 1
                        break
            node = gc_next[node]
    return count


def _heads_array(heads: Iterable[int]) -> np.ndarray:
    return np.array(list(heads), dtype=np.int64)


def get_objects_ids(heap: HeapCore, heads: Iterable[int]) -> list[int]:
    """The members of each list in ``heads``, list after list, each head to tail."""
    gc_next = heap.table.gc_next
    heads_arr = _heads_array(heads)
    out = np.empty(_count_members(gc_next, heads_arr), np.int32)
    count = _get_objects_ids(gc_next, heads_arr, out)
    return out[:count].tolist()


def get_referrer_ids(heap: HeapCore, targets: Iterable[int], heads: Iterable[int]) -> list[int]:
    """The members of the lists ``heads`` whose traverse visits any of ``targets``, each once,
    in scan order (list after list, each head to tail). Atoms are negative codes, never heap
    objects: a negative target never matches.
    """
    t = heap.table
    is_target = np.zeros(t.capacity, np.uint8)
    wanted = np.fromiter(targets, np.int64)
    is_target[wanted[(wanted >= 0) & (wanted < t.capacity)]] = 1
    kinds, gc_capable = type_arrays(heap.types)
    heads_arr = _heads_array(heads)

    out = np.empty(_count_members(t.gc_next, heads_arr), np.int32)
    count = _get_referrer_ids(t.gc_next, t.type_id, kinds, gc_capable, t.pool, t.ref_start,
                              t.ref_len, heads_arr, is_target, out)
    return out[:count].tolist()


__all__ = ["get_objects_ids", "get_referrer_ids"]
