"""Compiled walks of the collector lists: the twins of ``ObjectTable.list_members``/``list_size``.

A list is a ring through ``gc_next`` starting and ending at its head row (spec §3.2); the walk
visits members head to tail. ``tests/test_kernels.py`` compares these with the Python walks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from . import at, jit

if TYPE_CHECKING:
    from ..heap.table import ObjectTable


@jit
def _list_size(gc_next, head):  # type: ignore[no-untyped-def]
    return _list_members(gc_next, head, np.empty(0, np.int32))


@jit
def _list_members(gc_next, head, out):  # type: ignore[no-untyped-def]
    """Write the members of ``head`` into ``out`` (as many as fit); returns how many."""
    count = 0
    step, alt = 1, 1
    node = gc_next[head]
    while node != head:
        while True:  # a run (see kernels.cycles)
            if count < len(out):  # (an empty ``out``: only count)
                out[count] = node
            count += 1
            following = gc_next[at(node)]
            if following != node + step or following == head:
                break
            node += step
            step, alt = alt, step
        step, alt = alt, following - node
        node = following
    return count


def list_size(table: ObjectTable, head: int) -> int:
    """Number of members of the list ``head`` (walks it, like CPython's gc_list_size)."""
    return int(_list_size(table.gc_next, int(head)))


def list_members(table: ObjectTable, head: int) -> npt.NDArray[np.int32]:
    """The members of the list ``head``, head to tail, as an int32 array."""
    out = np.empty(list_size(table, head), np.int32)
    _list_members(table.gc_next, int(head), out)
    return out


__all__ = ["list_members", "list_size"]
