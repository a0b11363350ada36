"""Simulated ``weakref.ref``: calling it gives the referent's proxy, or None once it is dead.

A weak reference is its own copy (``copy.copy`` and ``copy.deepcopy`` return it), as in CPython.
"""

from __future__ import annotations

from typing import Any

from ..table import NULL
from .base import Proxy, heap_of


class WeakrefProxy(Proxy):
    """A simulated ``weakref.ref``: calling it gives the referent's proxy or None."""

    __slots__ = ()

    def __call__(self) -> object:
        heap = heap_of(self)
        target = heap.weakref_target(self._id)
        return None if target == NULL else heap.proxy(target)

    @property
    def __callback__(self) -> object:
        return heap_of(self).wr_callback.get(self._id)

    def __repr__(self) -> str:
        heap = heap_of(self)
        target = heap.weakref_target(self._id)
        if target == NULL:
            return f"<weakref at 0x{self._id:x}; dead>"
        return (f"<weakref at 0x{self._id:x}; to '{heap.type_of(target).name}' "
                f"at 0x{target:x}>")

    def __copy__(self) -> WeakrefProxy:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> WeakrefProxy:
        return self
