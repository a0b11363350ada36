"""What every collector keeps for the ``gc`` module: :class:`GcState`, and where the text of
the DEBUG_* flags goes (:class:`DebugSink`).

The ``gc`` facade reads and writes a collector's ``state`` (counts, thresholds, the enabled
flag, debug flags, ``gc.garbage``, ``gc.callbacks``, statistics) whatever the collector; what the
numbers mean for a collector that has no generations is in its module docstring.

>>> GcState(thresholds=[700, 10, 10]).count
[0, 0, 0]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class GcState:
    """The collector's state as the ``gc`` module shows it: CPython's ``GCState`` (spec §2.1)."""

    thresholds: list[int]
    count: list[int] = field(default_factory=lambda: [0, 0, 0])
    enabled: bool = True
    debug: int = 0
    collecting: bool = False
    scheduled: bool = False  # 3.12+: a collection waits for the next safe point
    long_lived_total: int = 0
    long_lived_pending: int = 0
    stats: list[dict[str, int]] = field(
        default_factory=lambda: [
            {"collections": 0, "collected": 0, "uncollectable": 0} for _ in range(3)
        ]
    )
    garbage: list[object] = field(default_factory=list)
    callbacks: list[Callable[[str, dict[str, object]], object]] = field(default_factory=list)


class DebugSink(Protocol):
    """Receives the moments of a collection that DEBUG_* flags print (spec §4.3)."""

    def header(self, generation: int, sizes: tuple[int, ...]) -> None: ...
    def collectable(self, oid: int) -> None: ...
    def uncollectable(self, oid: int) -> None: ...
    def done(self, collected: int, uncollectable: int, elapsed: float) -> None: ...


class SilentSink:
    """A :class:`DebugSink` that prints nothing (until the ``gc`` facade installs its printer)."""

    def header(self, generation: int, sizes: tuple[int, ...]) -> None:
        pass

    def collectable(self, oid: int) -> None:
        pass

    def uncollectable(self, oid: int) -> None:
        pass

    def done(self, collected: int, uncollectable: int, elapsed: float) -> None:
        pass


__all__ = ["DebugSink", "GcState", "SilentSink"]
