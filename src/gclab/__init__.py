"""gclab: Python's memory management, simulated — reference counting, CPython's generational
cycle collector, finalizers, weak references and the ``gc`` module, over flat arrays."""

from .collectors import collector_names
from .collectors.base import Capabilities, UnknownCollectorError
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

#: The registered collectors' names, for ``gclab.Heap(collector=...)``.
COLLECTORS: tuple[str, ...] = collector_names()

__all__ = [
    "COLLECTORS", "NULL", "PROFILES", "Capabilities", "CollectionRecord", "DuplicateKeyError",
    "ForeignObjectError", "FrameReturnedError", "GCLabError", "Heap", "HeapError",
    "HeapFullError", "InvalidObjectError", "InvariantViolation", "LayoutError", "Profile",
    "ProfileError", "RefcountUnderflowError", "ShutdownError", "ShutdownReport",
    "UnknownCollectorError", "UseAfterFreeError", "get_profile",
]

