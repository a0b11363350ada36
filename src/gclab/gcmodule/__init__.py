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

import functools
import operator
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

from ..collectors import phases  # compiled scans unless GCLAB_JIT=0
from ..errors import ForeignObjectError
from ..heap.flags import FINALIZED
from ..heap.guard import guard_methods
from ..heap.proxies import Proxy
from .debug import DebugPrinter

if TYPE_CHECKING:
    from ..collectors.base import Collector

_GATED = frozenset({"callbacks", "get_stats", "freeze", "unfreeze", "get_freeze_count",
                    "is_finalized"})


def _as_int(value: object) -> int:
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer"
                        ) from None


_C_INT = range(-(2**31), 2**31)
_SSIZE = range(-(2**63), 2**63)
_F = TypeVar("_F", bound=Callable[..., Any])


def _as_c_int(value: object) -> int:
    """An argument converted like argument clinic's ``int`` (a C int)."""
    number = _as_int(value)
    if number not in _C_INT:
        raise OverflowError("Python int too large to convert to C int")
    return number


def _check_args(name: str, args: tuple[object, ...], kwargs: dict[str, object], *,
                most: int, least: int = 0, keyword: str | None = None) -> None:
    """Raise the TypeError CPython's argument parsing raises for a bad call of ``name``."""
    given = len(args) + len(kwargs)
    if kwargs and keyword is None:
        raise TypeError(f"{name}() takes no keyword arguments")
    for key in kwargs:
        if key != keyword:
            raise TypeError(f"'{key}' is an invalid keyword argument for {name}()")
    if least == most == 0 and given:
        raise TypeError(f"{name}() takes no arguments ({given} given)")
    if least == most == 1 and given != 1:
        raise TypeError(f"{name}() takes exactly one argument ({given} given)")
    if given > most:
        plural = "argument" if most == 1 else "arguments"
        raise TypeError(f"{name}() takes at most {most} {plural} ({given} given)")
    if given < least:
        plural = "argument" if least == 1 else "arguments"
        raise TypeError(f"{name}() takes at least {least} {plural} ({given} given)")


def _fixed_args(count: int) -> Callable[[_F], _F]:
    """Methods taking no argument (or exactly one) reject others as the C functions do."""

    def decorate(method: _F) -> _F:
        @functools.wraps(method)
        def checked(self: Any, *args: object, **kwargs: object) -> Any:
            _check_args(f"gc.{method.__name__}", args, kwargs, most=count, least=count)
            return method(self, *args)

        return checked  # type: ignore[return-value]

    return decorate


class GcModule:
    """The ``gc`` module of one heap, over its collector (any :class:`Collector`: the facade
    reads its state, asks it for its lists and branches on its ``capabilities``)."""

    def __init__(self, heap: Any, collector: Collector) -> None:
        self._heap_ref = weakref.ref(heap)  # the heap owns its gc facade: no cycle back
        self._collector = collector
        self._state = collector.state
        state = self._state
        self._printer = DebugPrinter(weakref.proxy(heap), lambda: state.debug)  # type: ignore[arg-type]
        collector.debug_sink = self._printer
        for name, value in heap.profile.debug_flags:
            setattr(self, name, value)

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("cannot pickle 'module' object (heap.gc: the gc module of a simulated "
                        "heap)")

    @property
    def _heap(self) -> Any:
        heap = self._heap_ref()
        if heap is None:
            raise ReferenceError("this gc facade's heap no longer exists")
        return heap

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

    @_fixed_args(0)
    def enable(self) -> None:
        """Enable automatic collection."""
        self._state.enabled = True

    @_fixed_args(0)
    def disable(self) -> None:
        """Disable automatic collection (``collect()`` still works)."""
        self._state.enabled = False

    @_fixed_args(0)
    def isenabled(self) -> bool:
        """True if automatic collection is enabled."""
        return self._state.enabled

    def collect(self, *args: object, **kwargs: object) -> int:
        """collect(generation=2): run a collection; return collected + uncollectable."""
        _check_args("collect", args, kwargs, most=1, keyword="generation")
        generation = _as_c_int(args[0] if args else kwargs.get("generation", 2))
        if not 0 <= generation <= 2:
            raise ValueError("invalid generation")
        with self._heap.operation():
            return self._collector.collect_with_callbacks(generation, "manual")

    # -- counts and thresholds -------------------------------------------------------------------

    @_fixed_args(0)
    def get_count(self) -> tuple[int, int, int]:
        """The current collection counts."""
        c = self._state.count
        return (c[0], c[1], c[2])

    @_fixed_args(0)
    def get_threshold(self) -> tuple[int, int, int]:
        """The current collection thresholds."""
        t = self._state.thresholds
        return (t[0], t[1], t[2])

    def set_threshold(self, *args: int, **kwargs: object) -> None:
        """set_threshold(threshold0, [threshold1, [threshold2]]).

        Every argument is checked before any threshold changes (CPython 3.11 stores
        threshold0 before it rejects a bad threshold1; gclab leaves the state alone)."""
        _check_args("set_threshold", args, kwargs, most=3, least=1)
        values = [_as_int(a) for a in args]
        for value in values:
            if value >= 2**31:
                raise OverflowError("signed integer is greater than maximum")
            if value < -(2**31):
                raise OverflowError("signed integer is less than minimum")
        for index, value in enumerate(values):
            self._state.thresholds[index] = value

    @_fixed_args(0)
    def get_debug(self) -> int:
        """The debugging flags."""
        return self._state.debug

    @_fixed_args(1)
    def set_debug(self, flags: int) -> None:
        """Set the debugging flags (DEBUG_STATS, DEBUG_COLLECTABLE, ...)."""
        self._state.debug = _as_c_int(flags)

    # -- objects ---------------------------------------------------------------------------------

    def _id_of(self, obj: object) -> int | None:
        """The id of a proxy of this heap; None for atoms and other host values."""
        if isinstance(obj, Proxy):
            if obj._heap is not self._heap:
                raise ForeignObjectError(f"{obj._heap.describe(obj._id)} belongs to another heap")
            return obj._id
        return None

    def get_objects(self, *args: object, **kwargs: object) -> list[object]:
        """get_objects(generation=None): tracked objects of all generations (or one), in list
        order; not the permanent generation."""
        _check_args("get_objects", args, kwargs, most=1, keyword="generation")
        generation = args[0] if args else kwargs.get("generation")
        heads: tuple[int, ...]
        if generation is None:
            heads = self._collector.heads()
        else:
            if not hasattr(type(generation), "__index__"):
                raise TypeError(f"argument should be integer or None, not "
                                f"'{type(generation).__name__}'")
            generation = _as_int(generation)
            if generation not in _SSIZE:
                raise OverflowError("cannot fit 'int' into an index-sized integer")
            if generation >= 3:
                raise ValueError("generation parameter must be less than the number of "
                                 "available generations (3)")
            if generation < -1:
                raise ValueError("generation parameter cannot be negative")
            heads = self._collector.heads(None if generation == -1 else generation)
        ids = phases.get_objects_ids(self._heap, heads)
        return [self._heap.proxy(oid) for oid in ids]

    def get_referrers(self, *objs: object) -> list[object]:
        """Tracked objects (every generation, not the permanent one) that refer to any of
        ``objs``."""
        targets = {i for i in (self._id_of(o) for o in objs) if i is not None}
        found = phases.get_referrer_ids(self._heap, targets, self._collector.heads())
        return [self._heap.proxy(oid) for oid in found]

    def get_referents(self, *objs: object) -> list[object]:
        """What the traverse of each argument visits (untracked containers too)."""
        out: list[object] = []
        for obj in objs:
            oid = self._id_of(obj)
            if oid is not None:
                out.extend(self._heap.from_code(c) for c in self._heap.traverse(oid))
        return out

    @_fixed_args(1)
    def is_tracked(self, obj: object) -> bool:
        """True if the object is currently tracked by the collector."""
        oid = self._id_of(obj)
        return oid is not None and self._heap.is_tracked(oid)

    @_fixed_args(1)
    def is_finalized(self, obj: object) -> bool:
        """True if the object's finalizer has run (PEP 442)."""
        oid = self._id_of(obj)
        return oid is not None and bool(self._heap.table.flags[oid] & FINALIZED)

    @property
    def garbage(self) -> list[object]:
        """Uncollectable objects (and, with DEBUG_SAVEALL, everything collected)."""
        return self._state.garbage

    @property
    def callbacks(self) -> list[Any]:
        """Callables called as ``cb(phase, info)`` before and after every collection."""
        return self._state.callbacks

    @_fixed_args(0)
    def get_stats(self) -> list[dict[str, int]]:
        """Per-generation collection statistics since the heap was made."""
        return [dict(s) for s in self._state.stats]

    # -- the permanent generation ----------------------------------------------------------------

    @_fixed_args(0)
    def freeze(self) -> None:
        """Move every tracked object to the permanent generation (a collector without one:
        nothing happens)."""
        if self._collector.capabilities.freezes:
            self._collector.freeze()

    @_fixed_args(0)
    def unfreeze(self) -> None:
        """Move the permanent generation back into the oldest generation."""
        if self._collector.capabilities.freezes:
            self._collector.unfreeze()

    @_fixed_args(0)
    def get_freeze_count(self) -> int:
        """Number of objects in the permanent generation."""
        return self._collector.freeze_count() if self._collector.capabilities.freezes else 0



# Every function of the facade takes the heap's lock (heap/guard.py).
guard_methods(GcModule, [name for name, value in vars(GcModule).items()
                         if callable(value) and not name.startswith("_")],
              lambda gc: object.__getattribute__(gc, "_heap"))
