"""Introspection: what ``gc.get_objects`` and ``gc.get_referrers`` find (spec §5).

Both scan the collector lists they are given head to tail, list after list (for CPython's
collector: gen0, gen1, gen2, never ``permanent``; the collector says which,
:meth:`~gclab.collectors.base.Collector.heads`), and report object ids in that scan order.
Compiled twins with the same names live in :mod:`gclab.kernels.introspection`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..heap.core import HeapCore


def get_objects_ids(heap: HeapCore, heads: Iterable[int]) -> list[int]:
    """The members of each list in ``heads``, list after list, each head to tail."""
    out: list[int] = []
    for head in heads:
        out.extend(heap.table.walk_members(head))
    return out


def get_referrer_ids(heap: HeapCore, targets: Iterable[int], heads: Iterable[int]) -> list[int]:
    """The members of the lists ``heads`` whose traverse visits any of ``targets``, each once,
    in scan order (list after list, each head to tail). Atoms are negative codes, never heap
    objects: a negative target never matches.
    """
    wanted = {t for t in targets if t >= 0}
    found: list[int] = []
    for oid in get_objects_ids(heap, heads):

        if any(code in wanted for code in heap.traverse(oid)):
            found.append(oid)
    return found


__all__ = ["get_objects_ids", "get_referrer_ids"]
