"""Random heaps from plain data: a :class:`HeapRecipe` and :func:`build`.

A recipe says which objects to make (``kinds``), what each refers to (``edges``), which of the
builder's own references to drop, which deep chains and which weak references (with or without
a callback) to add, and where the collector keeps each surviving object (``places``: gen0,
gen1, gen2 or the permanent generation, in a given ``order``). It is plain data, so Hypothesis
draws and shrinks it (:func:`gclab.testing.strategies.heap_recipes`) and a test can build the
same heap twice, on two heaps, and compare them.

Object kinds (:data:`KINDS`): ``list``, ``tuple``, ``dict``, ``set``, ``frame`` (a running
frame's name/value pairs: a root, never tracked), ``weakref`` (a weak reference to the most
recent weakrefable object made before it, without a callback), and four instance types:
``inst`` (``__slots__`` a, b, c, d), ``winst`` (the same, weakrefable), ``fin`` (the same, with
a ``__del__``) and ``dinst`` (a ``__dict__``: inline values on 3.11+, a separate dict before).

An edge ``(source, key, value)`` names objects by their index in ``kinds``; a code ``< 0`` is
:data:`NULL` (``-1``) or an atom (``-2, -3, -4``: :data:`ATOMS`). :func:`put` stores the value
the way the source's kind allows (see there).

>>> from gclab.heap.core import HeapCore
>>> recipe = HeapRecipe(kinds=["list", "dict"], edges=[(0, -1, 1), (1, 0, 0)],
...                     sizes=[0, 0], drops=[True, True])
>>> built = build(recipe, HeapCore())
>>> a, d = built.ids
>>> built.heap.slots(a) == [d], built.heap.is_alive(a)   # a holds d; d holds a as key and value
(True, True)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from ..collectors.cpython.generational import GEN0, GEN1, GEN2, PERMANENT
from ..heap.core import HeapCore
from ..heap.table import NULL
from ..heap.types import Kind, TypeInfo

KINDS = ("list", "tuple", "dict", "set", "inst", "winst", "fin", "dinst", "frame", "weakref")
INSTANCE_KINDS = ("inst", "winst", "fin", "dinst")
ATOMS: tuple[object, ...] = ("k", 7, 2.5)  # codes -2, -3, -4 in a recipe
# places: 0, 1, 2 are the generations, 3 the permanent generation (CPython's list heads)
PLACES = (GEN0, GEN1, GEN2, PERMANENT)
SLOT_NAMES = ("a", "b", "c", "d")
ATTRIBUTE_NAMES = ("x", "y", "z")  # the attributes a ``dinst`` gets (key code picks one)
MAX_GROWN = 6  # a list or set grows by put() until it has this many slots

H = TypeVar("H", bound=HeapCore)
Finalizer = Callable[[Any], object]


@dataclass
class HeapRecipe:
    """A heap as data (every list is indexed like ``kinds``; see the module docstring)."""

    kinds: list[str]
    #: (source index, key code, value code): source stores value (under key, for a dict).
    edges: list[tuple[int, int, int]] = field(default_factory=list)
    #: Slots of each list, tuple, set or frame (frames round down to name/value pairs);
    #: None: lists and tuples get ``slots``, sets and frames none.
    sizes: list[int] | None = None
    #: Drop the builder's reference to this object once everything is linked (None: keep all).
    drops: list[bool] | None = None
    #: Where each object that is still tracked goes: an index into :data:`PLACES` (None:
    #: where allocation put it).
    places: list[int] | None = None
    #: The order in which objects are moved to their places (None: index order).
    order: list[int] | None = None
    #: Objects a list at the tail of gen0 refers to (scanned last by a collection).
    root: list[int] = field(default_factory=list)
    #: Deep chains, each a list of kinds from head to tail; each node holds the next; the
    #: builder keeps only the head.
    chains: list[list[str]] = field(default_factory=list)
    #: Weak references made after the links: (target index, with a callback).
    weakrefs: list[tuple[int, bool]] = field(default_factory=list)
    #: ``gc.freeze()`` before the drops (heaps with a ``gc`` facade whose profile has it).
    freeze: bool = False
    #: The profile a heap for this recipe is made with (by the caller, or by :func:`build`).
    profile: str = "3.12"
    #: Slots of lists and tuples the recipe gives no size (chains, and all when ``sizes`` is
    #: None).
    slots: int = 3

    def __post_init__(self) -> None:
        """Reject a recipe whose lists disagree in length or that names unknown kinds."""
        n = len(self.kinds)
        unknown = [k for k in (*self.kinds, *itertools.chain(*self.chains)) if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown object kind {unknown[0]!r}; kinds are {KINDS}")
        for name in ("sizes", "drops", "places"):
            values = getattr(self, name)
            if values is not None and len(values) != n:
                raise ValueError(f"{name} has {len(values)} entries for {n} objects")
        if self.order is not None and sorted(self.order) != list(range(n)):
            raise ValueError("order must be a permutation of the object indices")


@dataclass
class BuiltHeap(Generic[H]):
    """What :func:`build` made."""

    heap: H
    #: The recipe's objects in recipe order (freed ones too), then the extra weakrefs.
    ids: list[int]
    #: The ids the builder still holds a reference to: kept objects, chain heads, extra
    #: weakrefs, the root list, the set the first weakrefs refer to when nothing else can be.
    held: list[int]
    #: The codes of :data:`ATOMS`.
    atoms: list[int]
    #: The instance types used (kind -> TypeInfo).
    types: dict[str, TypeInfo]


def instance_types(heap: HeapCore, finalizer: Finalizer | None = None, *,
                   managed: bool = False) -> dict[str, TypeInfo]:
    """Register the recipe's instance types on ``heap`` (``finalizer(handle)`` is the ``fin``
    type's ``__del__``; by default it does nothing).

    ``managed``: make them ``@heap.cls`` classes (a :class:`gclab.Heap` only), so that proxies
    of their instances exist (``heap.gc.get_objects()`` returns them); otherwise plain types,
    whose finalizer receives whatever ``heap.wrap`` makes."""
    call: Finalizer = finalizer if finalizer is not None else _ignore
    if not managed:
        def plain(name: str, weakrefable: bool, has_dict: bool = False,
                  fin: Finalizer | None = None) -> TypeInfo:
            slot_names = () if has_dict else SLOT_NAMES
            return heap.types.add_class(name, slot_names=slot_names, has_dict=has_dict,
                                        weakrefable=weakrefable, finalizer=fin)

        return {"inst": plain("I", False), "winst": plain("W", True),
                "fin": plain("F", True, fin=call), "dinst": plain("D", True, has_dict=True)}
    cls: Any = getattr(heap, "cls", None)
    if cls is None:
        raise TypeError("managed instance types need a gclab.Heap (heap.cls)")

    class I:  # noqa: E742 - the kind's one-letter name, as the plain types
        __slots__ = SLOT_NAMES

    class W:
        __slots__ = ("__weakref__", *SLOT_NAMES)

    class F:
        __slots__ = ("__weakref__", *SLOT_NAMES)

        def __del__(self) -> None:
            call(self)

    class D:
        pass

    classes = {"inst": I, "winst": W, "fin": F, "dinst": D}
    return {kind: cls(klass)._info for kind, klass in classes.items()}


def _ignore(_handle: object) -> None:
    return None


def new_object(heap: HeapCore, kind: str, types: dict[str, TypeInfo], size: int) -> int:
    """A new object of ``kind`` (not ``weakref``), the caller holding one reference.

    ``size``: the slots of a list, tuple or set; a frame gets ``size`` rounded down to
    name/value pairs; dicts and instances ignore it. A tuple of size 0 is the empty tuple."""
    if kind in INSTANCE_KINDS:
        return heap.new_instance(types[kind])
    if kind == "dict":
        return heap.alloc("dict")
    if kind == "frame":
        return heap.alloc("frame", 2 * (size // 2))
    return heap.alloc(kind, size)


def put(heap: HeapCore, oid: int, value: int, key: int = NULL) -> None:
    """Store ``value`` (a code) in ``oid`` the way its kind allows; ``key`` picks the place.

    - dict: ``d[key] = value`` (``key`` NULL: a fresh int key, the number of entries);
    - set: added once (a value already there is skipped), while under :data:`MAX_GROWN`;
    - an instance with a ``__dict__``: the attribute ``ATTRIBUTE_NAMES[|key| % 3]``;
    - list, tuple, slotted instance, frame (value slots only): the first empty slot; else a
      list grows (under :data:`MAX_GROWN` slots); else slot ``|key| % length`` is replaced;
    - the empty tuple and weakrefs: nothing."""
    info = heap.type_of(oid)
    kind, length = info.kind, int(heap.table.ref_len[oid])
    if oid == heap.empty_tuple or kind is Kind.WEAKREF:
        return
    if kind is Kind.DICT:
        heap.dict_set(oid, key if key != NULL else heap.atom(length // 2), value)
    elif kind is Kind.SET:
        if (value == NULL or value not in heap.slots(oid)) and length < MAX_GROWN:
            heap.append_slot(oid, value)
    elif kind is Kind.INSTANCE and info.has_dict:
        heap.set_attr(oid, ATTRIBUTE_NAMES[abs(key) % len(ATTRIBUTE_NAMES)], value)
    else:
        _put_in_slot(heap, oid, kind, length, value, key)


def _put_in_slot(heap: HeapCore, oid: int, kind: Kind, length: int, value: int,
                 key: int) -> None:
    """:func:`put` for objects whose references are plain slots (frames: value slots)."""
    step, first = (2, 1) if kind is Kind.FRAME else (1, 0)
    slots = heap.table.slot_list(oid)
    for index in range(first, length, step):
        if slots[index] == NULL:
            heap.set_slot(oid, index, value)
            return
    if kind is Kind.LIST and length < MAX_GROWN:
        heap.append_slot(oid, value)
    elif length >= step:
        heap.set_slot(oid, first + step * (abs(key) % (length // step)), value)


def build(recipe: HeapRecipe, heap: H | None = None, *,
          types: dict[str, TypeInfo] | None = None,
          callback: Finalizer | None = None) -> BuiltHeap[Any]:
    """Make the recipe's heap on ``heap`` (default: a new ``HeapCore(recipe.profile)``).

    In order: the objects, the edges, the chains, the extra weakrefs (``callback(weakref)``
    for those with one; by default it does nothing), the root list, ``gc.freeze()``, the
    drops, the places. ``types``: the instance types (default: :func:`instance_types` of the
    heap). Afterwards every object whose last reference was dropped has been freed (or
    waits in a cycle), and the builder holds exactly one reference to each id in
    ``BuiltHeap.held`` (two to a shared basic weakref listed twice)."""
    target: Any = heap if heap is not None else HeapCore(recipe.profile)
    types = types if types is not None else instance_types(target)
    ids, anchor = _make_objects(target, recipe, types)
    atoms = [target.atom(value) for value in ATOMS]

    def code(c: int) -> int:
        return c if c == NULL else atoms[-2 - c] if c < NULL else ids[c]

    for src, key, value in recipe.edges:
        put(target, ids[src], code(value), code(key) if key != NULL else NULL)
    heads = [_make_chain(target, kinds, types, recipe.slots) for kinds in recipe.chains]
    weakrefs = _make_weakrefs(target, recipe, ids, callback)
    root = _make_root(target, recipe, ids)
    if recipe.freeze and "freeze" in target.profile.gc_functions and hasattr(target, "gc"):
        target.gc.freeze()
    drops = recipe.drops or [False] * len(ids)
    kept = [oid for oid, drop in zip(ids, drops, strict=True) if not drop]
    for oid, drop in zip(ids, drops, strict=True):
        if drop:
            target.decref(oid)
    _place(target, recipe, ids)
    for oid in root:  # listed last in gen0, after the placed objects
        target.table.list_move(oid, GEN0)
    held = kept + heads + weakrefs + root + anchor
    return BuiltHeap(target, ids + weakrefs, held, atoms, types)


def _make_objects(heap: HeapCore, recipe: HeapRecipe,
                  types: dict[str, TypeInfo]) -> tuple[list[int], list[int]]:
    """The recipe's objects in order; a ``weakref`` refers to the latest weakrefable one made
    before it, or to an anchor (a set made for it, listed second)."""
    ids: list[int] = []
    anchor: list[int] = []  # a set made when a weakref has nothing else to refer to
    for index, kind in enumerate(recipe.kinds):
        if kind == "weakref":
            weakrefable = [o for o in ids if heap.type_of(o).weakrefable]
            if not weakrefable and not anchor:
                anchor.append(heap.alloc("set"))
            ids.append(heap.new_weakref(weakrefable[-1] if weakrefable else anchor[0]))
            continue
        size = recipe.sizes[index] if recipe.sizes is not None else (
            recipe.slots if kind in ("list", "tuple") else 0)
        ids.append(new_object(heap, kind, types, size))
    return ids, anchor


def _make_chain(heap: HeapCore, kinds: list[str], types: dict[str, TypeInfo],
                slots: int) -> int:
    """A chain of new objects, each holding the next; only the head stays held."""
    nodes = [new_object(heap, kind, types, slots) for kind in kinds]
    for a, b in itertools.pairwise(nodes):
        put(heap, a, b)
    heap.decref_many(np.array(nodes[1:], np.int32))
    return nodes[0]


def _make_weakrefs(heap: HeapCore, recipe: HeapRecipe, ids: list[int],
                   callback: Finalizer | None) -> list[int]:
    """The extra weakrefs, to targets that are alive and weakrefable (others are skipped)."""
    call = callback if callback is not None else _ignore
    out = []
    for index, with_callback in recipe.weakrefs:
        target = ids[index]
        if heap.is_alive(target) and heap.type_of(target).weakrefable:
            out.append(heap.new_weakref(target, call if with_callback else None))
    return out


def _make_root(heap: HeapCore, recipe: HeapRecipe, ids: list[int]) -> list[int]:
    """The root list (held by the builder) referring to ``recipe.root``, if any."""
    if not recipe.root:
        return []
    root = heap.alloc("list")
    for index in recipe.root:
        heap.append_slot(root, ids[index])
    return [root]


def _place(heap: HeapCore, recipe: HeapRecipe, ids: list[int]) -> None:
    """Move each live tracked object to its place (the tail of that list), in ``order``."""
    if recipe.places is None:
        return
    order = recipe.order if recipe.order is not None else range(len(ids))
    for index in order:
        oid = ids[index]
        if heap.is_alive(oid) and heap.is_tracked(oid):
            heap.table.list_move(oid, PLACES[recipe.places[index]])
