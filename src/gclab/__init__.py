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

#: Names imported on first use (the snapshot layer loads only when asked):
#: name -> (module, attribute).
_LAZY = {"monitor": (".snapshots.monitor", "monitor")}


def __getattr__(name: str) -> object:
    """``gclab.monitor`` (and the other names of ``_LAZY``), imported on first use."""
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module, __name__), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "COLLECTORS", "NULL", "PROFILES", "Capabilities", "CollectionRecord", "DuplicateKeyError",
    "ForeignObjectError", "FrameReturnedError", "GCLabError", "Heap", "HeapError",
    "HeapFullError", "InvalidObjectError", "InvariantViolation", "LayoutError", "Profile",
    "ProfileError", "RefcountUnderflowError", "ShutdownError", "ShutdownReport",
    "UnknownCollectorError", "UseAfterFreeError", "get_profile", "monitor",
]

