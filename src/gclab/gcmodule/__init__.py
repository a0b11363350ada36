"""``heap.gc``: the ``gc`` module's interface for one simulated heap.

Same names, signatures, return values and errors as the real module of the heap's profile
(functions a version lacks raise AttributeError, as on that interpreter).

>>> import gclab
>>> heap = gclab.Heap()
>>> gc = heap.gc
>>> lst = heap.list(); lst.append(lst); del lst
>>> gc.collect()
1
>>> gc.collect(3)
Traceback (most recent call last):
...
ValueError: invalid generation
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import ForeignObjectError
from ..heap.flags import ObjFlag
from ..heap.proxies import Proxy
from ..heap.table import GENERATIONS
from .debug import DebugPrinter

if TYPE_CHECKING:
    from ..collectors.generational import GenerationalCollector

_GATED = frozenset({"callbacks", "get_stats", "freeze", "unfreeze", "get_freeze_count",
                    "is_finalized"})


def _as_int(value: object) -> int:
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer"
                        ) from None


class GcModule:
    """The ``gc`` module of one heap."""

    def __init__(self, heap: Any, collector: GenerationalCollector) -> None:
        self._heap = heap
        self._collector = collector
        self._state = collector.state
        self._printer = DebugPrinter(heap, lambda: self._state.debug)
        collector.debug_sink = self._printer
        for name, value in heap.profile.debug_flags:
            setattr(self, name, value)

    def __getattribute__(self, name: str) -> Any:
        if name in _GATED:
            profile = object.__getattribute__(self, "_heap").profile
            if name not in profile.gc_functions:
                raise AttributeError(f"module 'gc' has no attribute '{name}'")
        return object.__getattribute__(self, name)

    # -- where DEBUG_* text goes -----------------------------------------------------------------

    @property
    def stream(self) -> TextIO | None:
        """Where debug text is written; None means ``sys.stderr`` at the time of writing."""
        return self._printer.stream

    @stream.setter
    def stream(self, stream: TextIO | None) -> None:
        self._printer.stream = stream

    # -- switching and collecting ----------------------------------------------------------------

    def enable(self) -> None:
        """Enable automatic collection."""
        self._state.enabled = True

    def disable(self) -> None:
        """Disable automatic collection (``collect()`` still works)."""
        self._state.enabled = False

    def isenabled(self) -> bool:
        """True if automatic collection is enabled."""
        return self._state.enabled

    def collect(self, generation: int = 2) -> int:
        """Run a collection of ``generation``; return collected + uncollectable."""
        generation = _as_int(generation)
        if not 0 <= generation <= 2:
            raise ValueError("invalid generation")
        with self._heap.operation():
            return self._collector.collect_with_callbacks(generation, "manual")

    # -- counts and thresholds -------------------------------------------------------------------

    def get_count(self) -> tuple[int, int, int]:
        """The current collection counts."""
        c = self._state.count
        return (c[0], c[1], c[2])

    def get_threshold(self) -> tuple[int, int, int]:
        """The current collection thresholds."""
        t = self._state.thresholds
        return (t[0], t[1], t[2])

    def set_threshold(self, *args: int) -> None:
        """set_threshold(threshold0, [threshold1, [threshold2]])."""
        if not 1 <= len(args) <= 3:
            if not args:
                raise TypeError("set_threshold expected at least 1 argument, got 0")
            raise TypeError(f"set_threshold expected at most 3 arguments, got {len(args)}")
        values = [_as_int(a) for a in args]
        for index, value in enumerate(values):
            if not -(2**31) <= value < 2**31:
                raise OverflowError("signed integer is greater than maximum")
            self._state.thresholds[index] = value

    def get_debug(self) -> int:
        """The debugging flags."""
        return self._state.debug

    def set_debug(self, flags: int) -> None:
        """Set the debugging flags (DEBUG_STATS, DEBUG_COLLECTABLE, ...)."""
        self._state.debug = _as_int(flags)

    # -- objects ---------------------------------------------------------------------------------

    def _id_of(self, obj: object) -> int | None:
        """The id of a proxy of this heap; None for atoms and other host values."""
        if isinstance(obj, Proxy):
            if obj._heap is not self._heap:
                raise ForeignObjectError(f"{obj!r} belongs to another heap")
            return obj._id
        return None

    def get_objects(self, generation: int | None = None) -> list[object]:
        """Tracked objects of all generations (or one), in list order; not the permanent."""
        if generation is None:
            heads = GENERATIONS
        else:
            generation = _as_int(generation)
            if generation >= 3:
                raise ValueError("generation parameter must be less than the number of "
                                 "available generations (3)")
            if generation < -1:
                raise ValueError("generation parameter cannot be negative")
            heads = GENERATIONS if generation == -1 else (GENERATIONS[generation],)
        table = self._heap.table
        ids = [oid for head in heads for oid in table.list_members(head)]
        return [self._heap.proxy(oid) for oid in ids]

    def get_referrers(self, *objs: object) -> list[object]:
        """Tracked objects (gen0, gen1, gen2) that refer to any of ``objs``."""
        targets = {i for i in (self._id_of(o) for o in objs) if i is not None}
        table = self._heap.table
        found = []
        for head in GENERATIONS:
            for oid in table.list_members(head):
                if targets.intersection(self._heap.traverse(oid)):
                    found.append(oid)
        return [self._heap.proxy(oid) for oid in found]

    def get_referents(self, *objs: object) -> list[object]:
        """What the traverse of each argument visits (untracked containers too)."""
        out: list[object] = []
        for obj in objs:
            oid = self._id_of(obj)
            if oid is not None:
                out.extend(self._heap.from_code(c) for c in self._heap.traverse(oid))
        return out

    def is_tracked(self, obj: object) -> bool:
        """True if the object is currently tracked by the collector."""
        oid = self._id_of(obj)
        return oid is not None and self._heap.is_tracked(oid)

    def is_finalized(self, obj: object) -> bool:
        """True if the object's finalizer has run (PEP 442)."""
        oid = self._id_of(obj)
        return oid is not None and bool(self._heap.table.flags[oid] & ObjFlag.FINALIZED)

    @property
    def garbage(self) -> list[object]:
        """Uncollectable objects (and, with DEBUG_SAVEALL, everything collected)."""
        return self._state.garbage

    @property
    def callbacks(self) -> list[Any]:
        """Callables called as ``cb(phase, info)`` before and after every collection."""
        return self._state.callbacks

    def get_stats(self) -> list[dict[str, int]]:
        """Per-generation collection statistics since the heap was made."""
        return [dict(s) for s in self._state.stats]

    # -- the permanent generation ----------------------------------------------------------------

    def freeze(self) -> None:
        """Move every tracked object to the permanent generation."""
        self._collector.freeze()

    def unfreeze(self) -> None:
        """Move the permanent generation back into the oldest generation."""
        self._collector.unfreeze()

    def get_freeze_count(self) -> int:
        """Number of objects in the permanent generation."""
        return self._collector.freeze_count()
