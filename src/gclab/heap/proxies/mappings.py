"""Simulated ``dict``: keys compare by identity (atoms are interned), views are live.

``keys()``, ``values()`` and ``items()`` return views like CPython's (``len``, iteration,
``in``, set operations on keys and items); ``==`` compares contents with real dicts and other
proxies (keys as the host compares them, so equal tuples match); ``|`` and ``|=`` merge.
Errors are CPython's (``KeyError``, ``unhashable type``, ``dictionary update sequence element
#0 has length 1; 2 is required``) and leave the heap unchanged: every key and value is checked
before the first one is stored.

>>> import gclab
>>> heap = gclab.Heap()
>>> d = heap.dict(a=1)
>>> d |= [("b", 2)]
>>> d.keys(), d == {"b": 2, "a": 1}, d.keys() & {"a", "z"}
(dict_keys(['a', 'b']), True, {'a'})
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..atoms import AtomTable
from ..containers import ContainersMixin
from ..fastslots import SMALL_DICT
from ..guard import guarded_operation
from .base import (
    MutableContainerProxy,
    guarded_repr,
    heap_of,
    live_range,
    same_heap,
    simulates,
    takes_lock,
)
from .build import new_dict
from .copying import deep_copy

if TYPE_CHECKING:
    from ...simheap import Heap
    from .views import ItemsView, KeysView, ValuesView

_MISSING: Any = object()
ATOM_TYPES = frozenset(AtomTable.ATOM_TYPES)
DICT_SET = ContainersMixin.dict_set  # the checked dict_set, without the guard's wrapper
SMALL_SLOTS = 2 * SMALL_DICT  # a dict up to this many slots: FastSlotsMixin._quick_insert


def mapping_pairs(other: Any) -> list[tuple[Any, Any]]:
    """The (key, value) pairs ``dict(other)`` takes from a mapping (anything with ``keys()``)
    or an iterable of pairs, refused with CPython's errors."""
    if type(other) is dict or isinstance(other, DictProxy):
        items: Any = other.items()
        return list(items)
    if hasattr(other, "keys"):
        return [(key, other[key]) for key in other.keys()]
    pairs = []
    for position, item in enumerate(other):
        try:
            pair = list(item)
        except TypeError:
            raise TypeError(f"cannot convert dictionary update sequence element #{position} "
                            f"to a sequence") from None
        if len(pair) != 2:
            raise ValueError(f"dictionary update sequence element #{position} has length "
                             f"{len(pair)}; 2 is required")
        pairs.append((pair[0], pair[1]))
    return pairs


def _store_item(heap: Heap, d: int, key: object, value: object) -> None:
    """``d[key] = value`` inside its operation: the codes (the key hashed and every check made
    before an atom is interned), then insertdict (flat for a small dict, as ``dict_set``'s
    fast path: :meth:`~gclab.heap.fastslots.FastSlotsMixin._quick_insert`; it declines,
    changing nothing, when an old value would die)."""
    value_code = heap.quick_code(value)  # interns nothing
    if value_code is not None and type(key) in ATOM_TYPES:  # hashable: nothing can fail
        key_code = heap.atoms.code(key)
    else:
        ((key_code, value_code),) = pair_codes(heap, [(key, value)])
    # dict_set's flat body for a small dict (the codes are checked), else the general one
    if (not heap._fast_paths or heap._watched or heap.table.mv_ref_len[d] > SMALL_SLOTS
            or not heap._quick_insert(d, key_code, value_code)):
        DICT_SET(heap, d, key_code, value_code)


def pair_codes(heap: Heap, pairs: list[tuple[Any, Any]]) -> list[tuple[int, int]]:
    """Key and value codes of ``pairs``, all checked (keys hashed) before any is stored."""
    for key, _ in pairs:
        hash(key)
    for key, value in pairs:  # everything checked before the first atom is interned
        heap.check_storable(key)
        heap.check_storable(value)
    return [(heap.to_code(key), heap.to_code(value)) for key, value in pairs]


@simulates("dict")
class DictProxy(MutableContainerProxy):
    """A simulated ``dict`` (keys compare by identity; atoms are interned)."""

    __slots__ = ()

    def __len__(self) -> int:
        return heap_of(self).dict_len(self._id)

    # -- entries ---------------------------------------------------------------------------------

    def _entry(self, key: object) -> int:
        """The entry index of ``key``, or -1 (hashed first, as CPython does)."""
        heap = self._heap
        code = heap.atoms.find(key) if type(key) in ATOM_TYPES else heap.lookup_code(key)
        return -1 if code is None else heap._find_entry(self._id, code)

    def _key(self, entry: int) -> object:
        return self._value(2 * entry)

    def _item(self, entry: int) -> object:
        heap = self._heap
        t = heap.table
        code = t.mv_pool[t.mv_ref_start[self._id] + 2 * entry + 1]
        if code >= 0:  # the cached proxy, if it is alive (else a new one: from_code)
            ref = heap._proxies.get(code)
            found = ref() if ref is not None else None
            if found is not None:
                return found
        return heap.from_code(code)

    def _entries(self, backwards: bool = False) -> Iterator[int]:
        """Entry indices, read live; RuntimeError once the size changes, as dictiter raises."""
        size = len(self)
        for step in range(size):
            if len(self) != size:
                raise RuntimeError("dictionary changed size during iteration")
            yield size - 1 - step if backwards else step
        if len(self) != size:
            raise RuntimeError("dictionary changed size during iteration")

    # -- the mapping protocol --------------------------------------------------------------------

    def __getitem__(self, key: object) -> Any:
        entry = self._entry(key)
        if entry < 0:
            raise KeyError(key)
        return self._item(entry)

    @takes_lock
    def __setitem__(self, key: object, value: object) -> None:
        heap = self._heap
        guarded_operation(heap, _store_item, heap, self._id, key, value)

    def __delitem__(self, key: object) -> None:
        entry = self._entry(key)
        if entry < 0:
            raise KeyError(key)
        heap = heap_of(self)
        with heap.operation():
            heap.dict_delete(self._id, heap.table.get(self._id, 2 * entry))

    def __contains__(self, key: object) -> bool:
        return self._entry(key) >= 0

    def __iter__(self) -> Iterator[object]:
        return (self._key(entry) for entry in self._entries())

    def __reversed__(self) -> Iterator[object]:
        return (self._key(entry) for entry in self._entries(backwards=True))

    def keys(self) -> KeysView:
        """A live view of the keys."""
        from .views import KeysView

        return KeysView(self)

    def values(self) -> ValuesView:
        """A live view of the values."""
        from .views import ValuesView

        return ValuesView(self)

    def items(self) -> ItemsView:
        """A live view of the (key, value) pairs."""
        from .views import ItemsView

        return ItemsView(self)

    # -- methods ---------------------------------------------------------------------------------

    def get(self, key: object, default: object = None) -> object:
        """The value for ``key``, or ``default``."""
        entry = self._entry(key)
        return default if entry < 0 else self._item(entry)

    def pop(self, key: object, *default: object) -> object:
        """Remove ``key`` and return its value (or ``default`` if absent)."""
        if len(default) > 1:
            raise TypeError(f"pop expected at most 2 arguments, got {1 + len(default)}")
        entry = self._entry(key) if len(self) else -1  # an empty dict does not hash the key
        if entry < 0:
            if default:
                return default[0]
            raise KeyError(key)
        value = self._item(entry)
        del self[key]
        return value

    def popitem(self) -> tuple[object, object]:
        """Remove and return the last inserted (key, value) pair."""
        if len(self) == 0:
            raise KeyError("popitem(): dictionary is empty")
        entry = len(self) - 1
        key, value = self._key(entry), self._item(entry)
        heap = heap_of(self)
        with heap.operation():
            heap.dict_delete(self._id, heap.table.get(self._id, 2 * entry))
        return key, value

    def setdefault(self, key: object, default: object = None) -> object:
        """``self[key]``, storing ``default`` first if absent."""
        entry = self._entry(key)
        if entry >= 0:
            return self._item(entry)
        self[key] = default
        return default

    def update(self, *args: object, **kwargs: object) -> None:
        """Store every pair of a mapping or iterable of pairs, then of ``kwargs`` (all checked
        before the first is stored)."""
        if len(args) > 1:
            raise TypeError(f"update expected at most 1 argument, got {len(args)}")
        pairs = (mapping_pairs(args[0]) if args else []) + list(kwargs.items())
        self._store(pairs)

    def _store(self, pairs: list[tuple[Any, Any]]) -> None:
        heap = heap_of(self)
        codes = pair_codes(heap, pairs)
        with heap.operation():
            for key, value in codes:
                heap.dict_set(self._id, key, value)

    def _pairs(self) -> list[tuple[int, int]]:
        codes = self._codes()
        return list(zip(codes[0::2], codes[1::2], strict=True))

    def copy(self) -> DictProxy:
        """A shallow copy (a new dict)."""
        heap = heap_of(self)
        return heap._adopt(new_dict(heap, self._pairs()))  # type: ignore[return-value]

    def __copy__(self) -> DictProxy:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> object:
        return deep_copy(self, memo)

    def fromkeys(self, iterable: object, value: object = None) -> DictProxy:
        """A new dict with the keys of ``iterable``, each mapped to ``value``."""
        heap = heap_of(self)
        keys = list(iterable)  # type: ignore[call-overload]
        codes = pair_codes(heap, [(key, value) for key in keys])
        return heap._adopt(new_dict(heap, codes))  # type: ignore[return-value]

    # -- operators -------------------------------------------------------------------------------

    def __or__(self, other: object) -> Any:
        if not isinstance(other, (dict, DictProxy)):
            return NotImplemented
        return self._merged(self._pairs(), other)

    def __ror__(self, other: object) -> Any:
        if not isinstance(other, dict):
            return NotImplemented
        heap = heap_of(self)
        return self._merged(pair_codes(heap, mapping_pairs(other)), self)

    def _merged(self, first: list[tuple[int, int]], other: object) -> DictProxy:
        heap = heap_of(self)
        second = other._pairs() if same_heap(self, other) else pair_codes(  # type: ignore[attr-defined]
            heap, mapping_pairs(other))
        return heap._adopt(new_dict(heap, first + second))  # type: ignore[return-value]

    def __ior__(self, other: object) -> DictProxy:
        self.update(other)
        return self

    def __eq__(self, other: object) -> Any:
        if not isinstance(other, (dict, DictProxy)):
            return NotImplemented
        if len(self) != len(other):
            return False
        items: Any = other.items()
        lookup: dict[Any, Any] = other if type(other) is dict else dict(items)
        for entry in range(len(self)):  # keys are looked up as CPython looks them up
            key, mine = self._key(entry), self._item(entry)
            theirs = dict.get(lookup, key, _MISSING)
            if theirs is _MISSING or not (mine is theirs or mine == theirs):
                return False
        return True

    def __ne__(self, other: object) -> Any:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __repr__(self) -> str:
        def body() -> str:
            return "{" + ", ".join(f"{self._repr_of(2 * e)}: {self._repr_of(2 * e + 1)}"
                                   for e in live_range(self)) + "}"

        return guarded_repr(self, body, "{...}")


