"""The heap's compiled list primitives: walks (the twins of ``ObjectTable.list_members`` and
``list_size``) the link/unlink of one member and the merge of two lists that compiled code shares.

A list is a ring through ``gc_next`` starting and ending at its head row (spec §3.2); the walk
visits members head to tail. ``tests/test_kernels.py`` compares these with the Python walks.
These live in the heap (they are what its lists are), built on :mod:`gclab._jit` only; the
kernels and the compiled deallocation cascade import them from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .._jit import at, jit

if TYPE_CHECKING:
    from .table import ObjectTable


@jit
def _list_remove(gc_next, gc_prev, node):
    """Unlink ``node`` from its list; its links become NULL (-1)."""
    prev = at(gc_prev[node])
    nxt = at(gc_next[node])
    gc_next[prev] = nxt
    gc_prev[nxt] = prev
    gc_next[node] = -1
    gc_prev[node] = -1


@jit
def _list_append(gc_next, gc_prev, node, head):
    """Link ``node`` (in no list) at the tail of ``head``."""
    last = at(gc_prev[head])
    gc_next[last] = node
    gc_prev[node] = last
    gc_next[node] = head
    gc_prev[head] = node


@jit
def _list_extend(gc_next, gc_prev, nodes, head):
    """Link ``nodes`` (in no list), in order, at the tail of ``head``."""
    last = gc_prev[head]
    for k in range(len(nodes)):
        node = nodes[k]
        gc_next[at(last)] = node
        gc_prev[at(node)] = last
        last = node
    gc_next[at(last)] = head
    gc_prev[head] = last


@jit
def _list_merge(gc_next, gc_prev, source, target):
    """ObjectTable.list_merge: all of ``source``, in order, to the tail of ``target``."""
    if source == target or gc_next[source] == source:
        return
    first, last = gc_next[source], gc_prev[source]
    tail = gc_prev[target]
    gc_next[at(tail)] = first
    gc_prev[at(first)] = tail
    gc_next[at(last)] = target
    gc_prev[target] = last
    gc_next[source] = source
    gc_prev[source] = source


@jit
def _list_size(gc_next, head):

    return _list_members(gc_next, head, np.empty(0, np.int32))


@jit
def _list_members(gc_next, head, out):
    """Write the members of ``head`` into ``out`` (as many as fit); returns how many."""
    count = 0
    step, alt = 1, 1
    node = gc_next[head]
    while node != head:
        while True:  # a run (see gclab.kernels.cycles)
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
