"""Compiled helpers of the free-id set (:class:`gclab.heap.freeids.FreeIds`): a bitmap of
free ids, one bit per row id (byte ``id >> 3``, bit ``id & 7``), scanned upwards from its
lowest set bit.

``bmin`` is the lowest id whose bit is set, exactly, or :data:`EMPTY` when no bit is. The
bitmap's length is a multiple of 8 bytes so that ``words`` (the same buffer as uint64) lets a
scan skip 64 clear bits at a time. With ``GCLAB_JIT=0`` these run as plain Python (the twins);
``tests/test_free_ids.py`` checks both against a sorted-set model.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit

EMPTY = 2**62  # bmin of an empty bitmap: above every id

_LOWBIT = np.zeros(256, np.int64)  # _LOWBIT[b]: the index of b's lowest set bit (b > 0)
for _b in range(1, 256):
    _LOWBIT[_b] = (_b & -_b).bit_length() - 1
LOWBIT = _LOWBIT


@jit
def highest(ids, count):
    """The largest of ``ids[:count]`` (``-1`` when ``count`` is 0)."""
    top = -1
    for j in range(count):
        oid = int(ids[j])
        if oid > top:
            top = oid
    return top


@jit
def set_bits(bits, ids, count, bmin):
    """Set the bits of ``ids[:count]``; returns ``(added, bmin)``: how many bits were clear
    before (an id given twice counts once) and the new lowest set bit.

    Afterwards every id of ``ids[:count]`` has its bit set. The caller made the bitmap long
    enough (:func:`highest` ``< 8 * len(bits)``)."""
    added = 0
    for j in range(count):
        oid = int(ids[j])
        byte = oid >> 3
        mask = 1 << (oid & 7)
        if (int(bits[byte]) & mask) == 0:
            bits[byte] = int(bits[byte]) | mask
            added += 1
            if oid < bmin:
                bmin = oid
    return added, bmin


@jit
def _next_set(bits, words, byte):
    """The lowest set bit at or after byte ``byte`` (one must exist)."""
    nbytes = len(bits)
    while True:
        if (byte & 7) == 0 and byte + 8 <= nbytes and words[byte >> 3] == 0:
            byte += 8
            continue
        b = int(bits[byte])
        if b != 0:
            return (byte << 3) + LOWBIT[b]
        byte += 1


@jit
def take_lowest(bits, words, out, count, bmin, nbits, below):
    """Clear the ``count`` lowest set bits below id ``below`` (fewer if fewer are set) and
    write their ids to ``out`` in ascending order; returns ``(taken, bmin)``.

    ``bmin`` is the lowest set bit and ``nbits`` the number set, on entry; the returned
    ``bmin`` is the lowest one still set afterwards (:data:`EMPTY` if none)."""
    taken = 0
    if nbits == 0 or count <= 0 or bmin >= below:
        return 0, bmin
    byte = bmin >> 3
    while taken < count:
        if (byte & 7) == 0 and words[byte >> 3] == 0:
            byte += 8
            continue
        b = int(bits[byte])
        while b != 0 and taken < count:
            oid = (byte << 3) + LOWBIT[b]
            if oid >= below:
                bits[byte] = b
                return taken, oid
            out[taken] = oid
            taken += 1
            b &= b - 1
        bits[byte] = b
        if taken == nbits:
            return taken, EMPTY
        if b == 0:
            byte += 1
    return taken, _next_set(bits, words, byte)


@jit
def set_ids(bits, words, out, bmin, nbits):
    """The ids of the set bits in ascending order into ``out`` (``len(out) >= nbits``);
    the bitmap is unchanged."""
    found = 0
    byte = bmin >> 3
    while found < nbits:
        if (byte & 7) == 0 and words[byte >> 3] == 0:
            byte += 8
            continue
        b = int(bits[byte])
        while b != 0:
            out[found] = (byte << 3) + LOWBIT[b]
            found += 1
            b &= b - 1
        byte += 1
    return found


__all__ = ["EMPTY", "highest", "set_bits", "set_ids", "take_lowest"]
