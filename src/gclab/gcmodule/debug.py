"""The text CPython's collector prints for DEBUG_STATS, DEBUG_COLLECTABLE, DEBUG_UNCOLLECTABLE.

Formats from ``Modules/gcmodule.c`` (spec §4.3); an address prints as ``0x`` + hex of the id.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from ..profiles import DEBUG_OBJECTS

if TYPE_CHECKING:
    from ..heap.core import HeapCore


class DebugPrinter:
    """Writes the debug lines of one heap's collector to a stream (``sys.stderr`` if None)."""

    def __init__(self, heap: HeapCore, flags: Callable[[], int],
                 stream: TextIO | None = None) -> None:
        self.heap = heap
        self._flags = flags
        self.stream = stream
        self.legacy_text = heap.profile.debug_text == "2.7"

    def _write(self, text: str) -> None:
        (self.stream if self.stream is not None else sys.stderr).write(text)

    def address(self, oid: int) -> str:
        """How an object's address prints (``%p``)."""
        return f"0x{oid:x}"

    def header(self, generation: int, sizes: tuple[int, ...]) -> None:
        gens = "".join(f" {n}" for n in sizes[:3])
        text = f"gc: collecting generation {generation}...\ngc: objects in each generation:{gens}\n"
        if not self.legacy_text:
            text += f"gc: objects in permanent generation: {sizes[3]}\n"
        self._write(text)

    def _cycle(self, msg: str, oid: int) -> None:
        if self.legacy_text and not self._flags() & DEBUG_OBJECTS:
            return  # 2.7 prints objects only with DEBUG_OBJECTS
        name = self.heap.type_of(oid).name
        self._write(f"gc: {msg} <{name} {self.address(oid)}>\n")

    def collectable(self, oid: int) -> None:
        self._cycle("collectable", oid)

    def uncollectable(self, oid: int) -> None:
        self._cycle("uncollectable", oid)

    def done(self, collected: int, uncollectable: int, elapsed: float) -> None:
        total = collected + uncollectable
        if not self.legacy_text:
            self._write(f"gc: done, {total} unreachable, {uncollectable} uncollectable, "
                        f"{elapsed:.4f}s elapsed\n")
            return
        head = "gc: done" if total == 0 else (
            f"gc: done, {total} unreachable, {uncollectable} uncollectable")
        self._write(f"{head}, {elapsed:.4f}s elapsed.\n")
