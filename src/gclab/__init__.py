"""gclab: Python's memory management, simulated — reference counting, CPython's generational
cycle collector, finalizers, weak references and the ``gc`` module, over flat arrays."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .collectors import collector_names
from .collectors.base import Capabilities, UnknownCollectorError
from .collectors.record import CollectionRecord
from .config import VERSION
from .errors import (
    DuplicateKeyError,
    ForeignObjectError,
    FrameReturnedError,
    GCLabError,
    HeapError,
    HeapFullError,
    InvalidObjectError,
    InvariantViolation,
    LayoutError,
    ProfileError,
    RefcountUnderflowError,
    ShutdownError,
    UseAfterFreeError,
)
from .heap.table import NULL
from .profiles import PROFILES, Profile, get_profile
from .simheap import Heap, ShutdownReport

if TYPE_CHECKING:
    from .snapshots.model import Snapshot
    from .snapshots.monitor import GcMonitor

__version__ = VERSION

#: The registered collectors' names, for ``gclab.Heap(collector=...)``.
COLLECTORS: tuple[str, ...] = collector_names()

__all__ = [
    "COLLECTORS", "NULL", "PROFILES", "Capabilities", "CollectionRecord", "DuplicateKeyError",
    "ForeignObjectError", "FrameReturnedError", "GCLabError", "Heap", "HeapError",
    "HeapFullError", "InvalidObjectError", "InvariantViolation", "LayoutError", "Profile",
    "ProfileError", "RefcountUnderflowError", "ShutdownError", "ShutdownReport",
    "UnknownCollectorError", "UseAfterFreeError", "get_profile", "monitor", "snapshot",
]


def snapshot(*, collect: bool = False) -> Snapshot:
    """Capture this process's heap as a :class:`~gclab.snapshots.Snapshot` (issue #9):
    every object the collector tracks and the untracked objects they reference, with their
    references and roots. ``collect`` runs ``gc.collect()`` first. The capture code is
    imported on the first call, so ``import gclab`` stays fast."""
    from .snapshots.capture import snapshot as capture

    return capture(collect=collect)


def monitor(*, max_events: int = 1_000_000) -> GcMonitor:
    """Record the real collector's pauses while a ``with`` block runs (issue #9)::

        with gclab.monitor() as mon:
            run_the_workload()
        print(mon.report().stats(2).pause_p99_ns)

    ``max_events`` collections are kept one by one (the totals stay exact past it). The
    monitor's code is imported on the first call."""
    from .snapshots.monitor import monitor as make

    return make(max_events=max_events)
