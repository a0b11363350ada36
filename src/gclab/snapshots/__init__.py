"""Snapshots of real Python processes and their analyses (``docs/design/snapshots.md``).

The layer sits beside ``trace`` in ``docs/design/ARCHITECTURE.md``: it imports the collectors'
algorithms and kernels (the garbage dry run uses CPython's own phases), never the simulated
heap (only a ``from_heap`` adapter may).
"""

from __future__ import annotations

from .model import (
    FINALIZED,
    FINALIZER,
    FROZEN,
    GC_TYPE,
    IMMORTAL,
    PARTIAL,
    PERMANENT,
    STRONG,
    TRACKED,
    UNTRACKED,
    WEAK,
    RootKind,
    Snapshot,
)

__all__ = ["FINALIZED", "FINALIZER", "FROZEN", "GC_TYPE", "IMMORTAL", "PARTIAL", "PERMANENT",
           "STRONG", "TRACKED", "UNTRACKED", "WEAK", "RootKind", "Snapshot"]
