"""New containers from slot codes, and whole-slot rewrites of existing ones.

Every builder takes validated codes, *pins* the objects among them (one external reference
each, counted in ``table.extern`` so the invariants hold) before allocating; a pin becomes the
new container's reference to its object (or is dropped, for a dict key stored twice). An
allocation may run a collection and with it user code (``__del__``, weakref callbacks); a
pinned object cannot be freed under the builder, whoever else let go of it.

>>> import gclab
>>> heap = gclab.Heap()
>>> lst = heap.list(heap.list([i]) for i in range(2))  # the inner proxies die at once
>>> lst
[[0], [1]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..types import DICT, TUPLE

if TYPE_CHECKING:
    from ...simheap import Heap


def pin(heap: Heap, codes: Sequence[int]) -> None:
    """One external reference to every object among ``codes``."""
    for code in codes:
        if code >= 0:
            heap.take_external(code)


def unpin(heap: Heap, codes: Sequence[int]) -> None:
    """Drop the references :func:`pin` took (an object nobody else holds is freed)."""
    for code in codes:
        if code >= 0:
            heap._drop_external(code)


def new_container(heap: Heap, type_id: int, codes: Sequence[int]) -> int:
    """A new list, tuple or set holding ``codes`` (a set's codes already unique); the caller
    holds one external reference to it."""
    with heap.operation():
        pin(heap, codes)
        try:
            oid = heap.alloc(heap.types[type_id], len(codes) if type_id == TUPLE else 0)
        except BaseException:
            unpin(heap, codes)
            raise
        write_slots(heap, oid, codes)
        for code in codes:  # each pin is now the reference of the slot holding the code
            if code >= 0:
                heap.external_to_slot(code)
    return oid


def new_dict(heap: Heap, pairs: Sequence[tuple[int, int]]) -> int:
    """A new dict with the (key code, value code) ``pairs`` stored in order (a repeated key
    keeps its first place and its last value, as in ``dict(pairs)``)."""
    codes = [code for pair in pairs for code in pair]
    with heap.operation():
        pin(heap, codes)
        try:
            oid = heap.alloc(heap.types[DICT])
        except BaseException:
            unpin(heap, codes)
            raise
        for key, value in pairs:
            heap.dict_set(oid, key, value)
        unpin(heap, codes)
    return oid


def write_slots(heap: Heap, oid: int, codes: Sequence[int]) -> None:
    """Make ``codes`` the slot values of ``oid`` (no reference counting: the caller holds
    what is new and releases what is gone), through the mutation surface
    (:meth:`~gclab.heap.mutation.MutationMixin.write_all`)."""
    heap.write_all(oid, codes)
