"""The collector contract: what a collector declares (:class:`Capabilities`) and the registry
that names collectors (``gclab.Heap(collector="cpython")``).

A collector is *policy*: when to collect and in which order the phases run. The heap tells it
about allocations and frees and hands it every new GC-capable object to place; the ``gc``
facade asks it for its lists and its state. What a collector can do is data, so the facade,
the conformance battery (:mod:`gclab.testing`) and the laboratory branch on
:class:`Capabilities`, never on a collector's name or class (``docs/design/ARCHITECTURE.md``,
"Adding a collector").

>>> from gclab.collectors.base import Capabilities
>>> Capabilities(collects_cycles=True, generational=False, incremental=False,
...              write_barrier=False, uses_refcounts=False).uses_refcounts
False
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import GCLabError


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


class UnknownCollectorError(GCLabError, ValueError):
    """``Heap(collector=...)`` named no registered collector."""


_REGISTRY: dict[str, Callable[..., Any]] = {}


def register(name: str) -> Callable[[type], type]:
    """Class decorator: make the collector class available as ``Heap(collector=name)``."""
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


__all__ = ["Capabilities", "UnknownCollectorError", "collector_class", "collector_names",
           "register"]
