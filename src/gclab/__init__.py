"""gclab: Python's memory management, simulated — reference counting, CPython's generational
cycle collector, finalizers, weak references and the ``gc`` module, over flat arrays."""

from .collectors.record import CollectionRecord
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

__version__ = "0.1.0"

__all__ = [
    "NULL", "PROFILES", "CollectionRecord", "DuplicateKeyError", "ForeignObjectError",
    "FrameReturnedError", "GCLabError", "Heap", "HeapError", "HeapFullError",
    "InvalidObjectError", "InvariantViolation", "LayoutError", "Profile", "ProfileError",
    "RefcountUnderflowError", "ShutdownError", "ShutdownReport", "UseAfterFreeError", "get_profile",
]
