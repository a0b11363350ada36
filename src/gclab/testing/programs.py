"""Random heap programs as plain data, and the Hypothesis strategy that draws them.

A :class:`Program` is a tuple of operations. Operations name the objects they act on by a
*pick*, an int the runner (:mod:`gclab.testing.runner`) reduces modulo the number of
candidates at the time the operation runs, so any tuple of operations is a valid program and
Hypothesis shrinks programs freely. A value pick below zero stands for an atom
(:data:`ATOM_VALUES`).

Operations come in two APIs: proxies (``heap.list/tuple/dict/set``, ``@heap.cls`` classes with
and without ``__slots__`` and ``__del__``, ``heap.weakref`` with callbacks, ``heap.frame()``,
``heap.globals``) and the low-level API by id (``heap.alloc``, ``append_slot``, ``set_slot``,
``dict_set``, ``incref``, ``decref``, ``decref_many``). A program can mix them: a proxy
container may hold a low-level object and the other way round.

>>> program = Program((Make("list"), Ring(("dict", "fin"), keep=-1), Collect(2)))
>>> len(program.ops)
3
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

ATOM_VALUES: tuple[object, ...] = (1, "s", None)
#: Objects the proxy API makes (class kinds: ``plain`` has a ``__dict__``, ``slotted`` has
#: ``__slots__``, ``fin`` has ``__slots__`` and a ``__del__``, ``phoenix`` a ``__dict__`` and a
#: ``__del__`` that resurrects the object into the program's grave list).
PROXY_KINDS = ("list", "tuple", "dict", "set", "plain", "slotted", "fin", "phoenix")
CLASS_KINDS = ("plain", "slotted", "fin", "phoenix")
FINALIZABLE = ("fin", "phoenix")
#: Objects the low-level API makes.
LOW_KINDS = ("low-list", "low-tuple", "low-dict")
#: Names: dict keys, attributes (the first two), globals and frame locals.
NAMES = ("k0", "k1", "k2")


@dataclass(frozen=True)
class Make:
    """A new proxy object of ``kind`` holding the picked ``items`` (dicts: under NAMES)."""

    kind: str
    items: tuple[int, ...] = ()


@dataclass(frozen=True)
class Alloc:
    """``heap.alloc(kind, size)``: a low-level object with ``size`` empty slots."""

    kind: str
    size: int = 0


@dataclass(frozen=True)
class Store:
    """``source`` stores ``value``: a list appends, a dict or instance sets the name picked by
    ``key``, a set adds (instances only), a low-level list appends (even ``key``) or replaces a
    slot, a low-level tuple replaces a slot."""

    source: int
    key: int
    value: int


@dataclass(frozen=True)
class Remove:
    """``source`` drops one reference: list pop, ``del d[name]``, set discard, ``delattr``,
    low-level ``delete_slot`` / ``clear_slot`` / ``dict_delete``."""

    source: int
    key: int


@dataclass(frozen=True)
class Drop:
    """The program drops its proxy of the picked object (or one low-level reference)."""

    var: int


@dataclass(frozen=True)
class Incref:
    """``heap.incref``: the program takes one more low-level reference."""

    var: int


@dataclass(frozen=True)
class Decref:
    """``heap.decref`` of one low-level reference the program holds."""

    var: int


@dataclass(frozen=True)
class DecrefMany:
    """``heap.decref_many`` of low-level references the program holds (distinct objects)."""

    vars: tuple[int, ...]


@dataclass(frozen=True)
class Weakref:
    """``heap.weakref(target, callback)`` of a weakrefable object the program holds."""

    target: int
    callback: bool


@dataclass(frozen=True)
class Global:
    """``heap.globals.<name> = value``."""

    name: int
    value: int


@dataclass(frozen=True)
class Enter:
    """``heap.frame().__enter__()``: a new running frame, the innermost."""


@dataclass(frozen=True)
class Local:
    """``frame.<name> = value`` in the innermost frame."""

    name: int
    value: int


@dataclass(frozen=True)
class Return:
    """The innermost frame returns (its locals are released) and is dropped."""


@dataclass(frozen=True)
class Ring:
    """A reference cycle through new proxy objects of ``kinds``; the program keeps the one at
    position ``keep`` (none if out of range) and, with ``weakref``, a weakref with a callback
    to the first weakrefable member."""

    kinds: tuple[str, ...]
    keep: int
    weakref: bool = False


@dataclass(frozen=True)
class Collect:
    """``heap.gc.collect(generation)`` (a collector without generations: ``collect()``)."""

    generation: int


@dataclass(frozen=True)
class Threshold:
    """``heap.gc.set_threshold(threshold)`` (generational collectors; 0 disables)."""

    threshold: int


@dataclass(frozen=True)
class Bury:
    """Empty the grave (where ``phoenix`` objects resurrect) and ``gc.garbage``."""


Op = (Make | Alloc | Store | Remove | Drop | Incref | Decref | DecrefMany | Weakref | Global
      | Enter | Local | Return | Ring | Collect | Threshold | Bury)


@dataclass(frozen=True)
class Program:
    """Operations run in order; ``thresholds``: set first (generational collectors), small so
    that automatic collections happen at many points."""

    ops: tuple[Op, ...]
    thresholds: tuple[int, int, int] = (3, 2, 2)


#: How often each operation is drawn (``programs(weights=...)`` overrides some).
WEIGHTS: dict[str, int] = {
    "make": 6, "alloc": 2, "store": 8, "remove": 2, "drop": 5, "incref": 1, "decref": 1,
    "decref_many": 1, "weakref": 2, "global": 1, "enter": 1, "local": 2, "return": 1,
    "ring": 3, "collect": 2, "threshold": 1, "bury": 1,
}

_PICK = st.integers(0, 63)
_VALUE = st.integers(-len(ATOM_VALUES), 63)


def _ops() -> dict[str, st.SearchStrategy[Op]]:
    """One strategy per operation name."""
    ring_kinds = st.sampled_from(("list", "dict", "plain", "slotted", "fin", "phoenix"))
    return {
        "make": st.builds(Make, st.sampled_from(PROXY_KINDS),
                          st.lists(_VALUE, max_size=3).map(tuple)),
        "alloc": st.builds(Alloc, st.sampled_from(LOW_KINDS), st.integers(0, 3)),
        "store": st.builds(Store, _PICK, _PICK, _VALUE),
        "remove": st.builds(Remove, _PICK, _PICK),
        "drop": st.builds(Drop, _PICK),
        "incref": st.builds(Incref, _PICK),
        "decref": st.builds(Decref, _PICK),
        "decref_many": st.builds(DecrefMany, st.lists(_PICK, min_size=1, max_size=4).map(tuple)),
        "weakref": st.builds(Weakref, _PICK, st.booleans()),
        "global": st.builds(Global, _PICK, _VALUE),
        "enter": st.just(Enter()),
        "local": st.builds(Local, _PICK, _VALUE),
        "return": st.just(Return()),
        "ring": st.builds(Ring, st.lists(ring_kinds, min_size=1, max_size=4).map(tuple),
                          st.integers(-1, 3), st.booleans()),
        "collect": st.builds(Collect, st.integers(0, 2)),
        "threshold": st.builds(Threshold, st.integers(0, 8)),
        "bury": st.just(Bury()),
    }


def programs(max_ops: int = 30, weights: dict[str, int] | None = None) -> st.SearchStrategy[
        Program]:
    """Programs of ``max_ops // 2`` to ``max_ops`` operations drawn with ``WEIGHTS`` (updated
    by ``weights``; a weight of 0 leaves the operation out). Short programs would be most of
    a small number of examples otherwise; a failure still shrinks to the shortest."""
    table = {**WEIGHTS, **(weights or {})}
    unknown = set(table) - set(WEIGHTS)
    if unknown:
        raise ValueError(f"unknown operations {sorted(unknown)}; known: {sorted(WEIGHTS)}")
    strategies = _ops()
    names = [name for name, weight in table.items() for _ in range(weight)]
    if not names:
        raise ValueError("every operation has weight 0")
    op = st.sampled_from(names).flatmap(strategies.__getitem__)
    thresholds = st.tuples(st.integers(2, 12), st.integers(1, 4), st.integers(1, 4))
    ops = st.lists(op, min_size=max_ops // 2, max_size=max_ops).map(tuple)
    return st.builds(Program, ops, thresholds)


__all__ = [
    "ATOM_VALUES", "CLASS_KINDS", "FINALIZABLE", "LOW_KINDS", "NAMES", "PROXY_KINDS", "WEIGHTS",
    "Alloc", "Bury", "Collect", "Decref", "DecrefMany", "Drop", "Enter", "Global", "Incref",
    "Local", "Make", "Op", "Program", "Remove", "Return", "Ring", "Store", "Threshold",
    "Weakref", "programs",
]
