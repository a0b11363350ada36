"""The collector contract: what a collector is (:class:`Collector`), what it declares
(:class:`Capabilities`) and the registry that names collectors
(``gclab.Heap(collector="cpython")``).

A collector is *policy*: when to collect and in which order the phases run. The heap tells it
about allocations and frees and hands it every new GC-capable object to place (the heap's side
of the contract, :class:`~gclab.heap.observer.AllocationObserver`); the ``gc`` facade asks it
for its lists and its state. What a collector can do is data, so the facade, the conformance
battery (:mod:`gclab.testing`) and the laboratory branch on :class:`Capabilities`, never on a
collector's name or class (``docs/design/collectors.md`` is the recipe for a new one).

>>> from gclab.collectors.base import Capabilities
>>> Capabilities(collects_cycles=True, generational=False, incremental=False,
...              write_barrier=False, uses_refcounts=False).uses_refcounts
False
>>> "cpython" in collector_names() and "refcount" in collector_names()
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import GCLabError
from ..heap.observer import AllocationObserver

if TYPE_CHECKING:
    from .record import CollectionRecord
    from .state import DebugSink, GcState


@dataclass(frozen=True)
class Capabilities:
    """What a collector does, as data (the conformance battery skips what does not apply)."""

    #: A full collection frees every unreachable cycle (no legacy finalizers, no SAVEALL).
    collects_cycles: bool
    #: Objects are kept in age lists and young ones are collected more often.
    generational: bool
    #: A collection can be run a step at a time (``step()``) between mutator operations.
    incremental: bool
    #: The collector must see every reference store (the mutation surface applies its barrier).
    write_barrier: bool
    #: Objects die when their reference count reaches zero; when False, reference counting is
    #: deferred and objects die only when the collector frees them.
    uses_refcounts: bool
    #: ``gc.freeze()`` moves every tracked object to a permanent list the collector never
    #: examines (without it freeze and unfreeze do nothing and the freeze count stays 0).
    freezes: bool = False


class Collector(AllocationObserver, Protocol):
    """What a collector is: the heap's contract (:class:`AllocationObserver`: accounting,
    placing tracked objects, safe points, its own invariant check) and what the ``gc`` facade
    and the laboratory use. Constructed as ``cls(heap, *, free_lists=bool)`` by
    ``gclab.Heap``; it reserves its list heads from ``heap.table``."""

    #: The registered name (``CollectionRecord.collector``).
    name: str
    capabilities: Capabilities
    #: The state the ``gc`` module reads and writes (counts, thresholds, garbage, callbacks).
    state: GcState
    #: One record per collection, oldest first.
    history: list[CollectionRecord]
    #: Where the text of the DEBUG_* flags goes (the facade installs its printer).
    debug_sink: DebugSink

    def collect(self, generation: int, record: CollectionRecord) -> CollectionRecord:
        """One collection of ``generation`` (no callbacks, ``collecting`` not set: the
        caller's job); fills ``record`` with what it did and returns it."""

    def collect_with_callbacks(self, generation: int, reason: str = "manual", *,
                               callbacks: bool = True) -> int:

        """A collection of ``generation`` (and younger, if generational) with ``gc.callbacks``
        around it; returns collected + uncollectable (0 at once while one is running)."""

    def step(self) -> int:
        """One increment of an incremental collection (:class:`NotIncrementalError` when
        ``capabilities.incremental`` is False); returns what it collected."""

    def heads(self, generation: int | None = None) -> tuple[int, ...]:
        """The list heads ``gc.get_objects(generation)`` scans, in order (``None``: every
        generation, never the permanent one; a non-generational collector keeps everything in
        generation 0)."""

    def freeze(self) -> None:
        """gc.freeze(): every tracked object to the permanent list (``capabilities.freezes``)."""

    def unfreeze(self) -> None:
        """gc.unfreeze(): the permanent list back at the tail of the oldest generation."""

    def freeze_count(self) -> int:
        """gc.get_freeze_count(): the number of objects in the permanent list."""


class NotIncrementalError(GCLabError, TypeError):
    """``step()`` was called on a collector that does not collect incrementally."""


class UnknownCollectorError(GCLabError, ValueError):
    """``Heap(collector=...)`` named no registered collector."""


_REGISTRY: dict[str, Callable[..., Any]] = {}


def register(name: str) -> Callable[[type], type]:
    """Class decorator: make the collector class available as ``Heap(collector=name)``
    (a :class:`Collector`, made as ``cls(heap, free_lists=...)``)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"a collector's name is a non-empty str, got {name!r}")

    def decorate(cls: type) -> type:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"a collector named {name!r} is already registered "
                             f"({_REGISTRY[name].__qualname__})")
        _REGISTRY[name] = cls
        return cls

    return decorate


def collector_class(name: object) -> Callable[..., Any]:
    """The class registered as ``name``; :class:`UnknownCollectorError` lists the names."""
    if not isinstance(name, str):
        raise TypeError(f"collector must be a str naming a registered collector, got "
                        f"{type(name).__name__} {name!r}")
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownCollectorError(
            f"no collector named {name!r}; registered: {', '.join(sorted(_REGISTRY))}"
        ) from None


def collector_names() -> tuple[str, ...]:
    """The registered collector names, sorted."""
    return tuple(sorted(_REGISTRY))


__all__ = ["Capabilities", "Collector", "NotIncrementalError", "UnknownCollectorError",
           "collector_class", "collector_names", "register"]

