"""CollectionRecord: one record per collection, for every collector.

``gc.callbacks`` info dicts, ``gc.get_stats()``, DEBUG_STATS text, reports and plots all read
these records (``heap.history``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class CollectionRecord:
    """What one collection did."""

    collector: str
    generation: int
    reason: str  # "manual", "automatic", "shutdown"
    candidates: int = 0  # objects examined: the generation(s) merged into the collected set
    collected: int = 0  # m: unreachable objects freed (plus weakrefs freed after callbacks)
    uncollectable: int = 0  # n: legacy-finalizer objects and what they keep alive
    objects_visited: int = 0
    references_visited: int = 0
    wall_time: float = 0.0  # seconds, measured on this machine
    heap_objects_before: int = 0
    heap_objects_after: int = 0
    # Byte accounting is not implemented yet: these stay 0 (issue #3, memory).
    heap_bytes_before: int = 0
    heap_bytes_after: int = 0
    # gen0, gen1, gen2, permanent sizes at the start (filled only under DEBUG_STATS)
    generation_sizes: tuple[int, ...] = ()
    count_before: tuple[int, int, int] = (0, 0, 0)
    count_after: tuple[int, int, int] = (0, 0, 0)

    @property
    def pause_units(self) -> int:
        """Simulated pause: objects plus references the collector visited."""
        return self.objects_visited + self.references_visited

    def info(self, phase: str) -> dict[str, object]:
        """The info dict ``gc.callbacks`` receive (3.15 adds ``duration`` and ``candidates``)."""
        stop = phase == "stop"
        return {
            "generation": self.generation,
            "collected": self.collected if stop else 0,
            "uncollectable": self.uncollectable if stop else 0,
            "candidates": self.candidates if stop else 0,
            "duration": self.wall_time if stop else 0.0,
        }
