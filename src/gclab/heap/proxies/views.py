"""Live views of a simulated dict: ``d.keys()``, ``d.values()``, ``d.items()``.

A view holds the dict's proxy (so the dict lives while the view does, as in CPython) and reads
it at every use. Keys and items views are set-like: ``&``, ``|``, ``-``, ``^`` (results are new
simulated sets; an items view contributes new simulated ``(key, value)`` tuples), comparisons
with sets and ``isdisjoint``. Iteration raises ``RuntimeError`` when the dict changes size.

>>> import gclab
>>> heap = gclab.Heap()
>>> d = heap.dict(a=1, b=2)
>>> keys, items = d.keys(), d.items()
>>> d["c"] = 3
>>> len(keys), "c" in keys, ("a", 1) in items, keys == {"a", "b", "c"}
(3, True, True, True)
>>> d.values()
dict_values([1, 2, 3])
>>> keys - {"a"}, ["z"] | keys
({'b', 'c'}, {'a', 'b', 'c', 'z'})
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .base import heap_of, simulates
from .sets import SetProxy

if TYPE_CHECKING:
    from .mappings import DictProxy


class DictView:
    """What the three views share: the dict, its length, live iteration, repr."""

    __slots__ = ("_mapping",)

    def __init__(self, mapping: DictProxy) -> None:
        self._mapping = mapping

    def _at(self, entry: int) -> object:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._mapping)

    def __iter__(self) -> Iterator[object]:
        return (self._at(entry) for entry in self._mapping._entries())

    def __reversed__(self) -> Iterator[object]:
        return (self._at(entry) for entry in self._mapping._entries(backwards=True))

    def __repr__(self) -> str:
        return f"{type(self).__name__}([{', '.join(repr(x) for x in self)}])"

    @property
    def mapping(self) -> DictProxy:
        """The dict this view reads."""
        return self._mapping


class SetView(DictView):
    """Keys and items views: set operations and set comparisons."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]

    def _storable(self) -> list[object]:
        """The elements as values a simulated set can hold."""
        return list(self)

    def _as_set(self) -> SetProxy:
        elements = self._storable()
        return heap_of(self._mapping).set(elements)

    def _others(self, other: object, stored: bool) -> list[object]:
        """The distinct elements of ``other`` (hashed, any iterable, as CPython takes them);
        with ``stored``, only those not in the view, each checked to be storable before the
        result is built (the others are equal to an element the result has already)."""
        elements = list(dict.fromkeys(other))  # type: ignore[call-overload]
        if not stored:
            return elements
        mine = set(self)
        extra = [value for value in elements if value not in mine]
        for value in extra:
            heap_of(self._mapping).check_storable(value)
        return extra

    def __and__(self, other: object) -> SetProxy:
        elements = self._others(other, stored=False)
        result = self._as_set()
        result.intersection_update(elements)
        return result

    __rand__ = __and__

    def __or__(self, other: object) -> SetProxy:
        extra = self._others(other, stored=True)
        result = self._as_set()
        result.update(extra)
        return result

    __ror__ = __or__

    def __sub__(self, other: object) -> SetProxy:
        elements = self._others(other, stored=False)
        result = self._as_set()
        result.difference_update(elements)
        return result

    def __rsub__(self, other: object) -> SetProxy:
        extra = self._others(other, stored=True)
        return heap_of(self._mapping).set(extra)

    def __xor__(self, other: object) -> SetProxy:
        elements = self._others(other, stored=False)
        self._others(elements, stored=True)  # the ones the result will hold are checked now
        result = self._as_set()
        result.symmetric_difference_update(elements)
        return result

    __rxor__ = __xor__

    def isdisjoint(self, other: object) -> bool:
        """True when no element of ``other`` is in the view."""
        mine = set(self)
        return not any(value in mine for value in list(other))  # type: ignore[call-overload]

    # -- comparisons (dictview_richcompare) ------------------------------------------------------

    def _compare(self, other: object, size_ok: bool, mine_first: bool) -> Any:
        if not isinstance(other, (set, frozenset, SetProxy, SetView)):
            return NotImplemented
        if not size_ok:
            return False
        inner, outer = (self, other) if mine_first else (other, self)
        if not isinstance(outer, (set, frozenset)):
            outer = set(outer)  # elements compared as the host compares them
        return all(value in outer for value in inner)

    def __eq__(self, other: object) -> Any:
        return self._compare(other, _len(other) == len(self), True)

    def __ne__(self, other: object) -> Any:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __le__(self, other: object) -> Any:
        return self._compare(other, len(self) <= _len(other), True)

    def __lt__(self, other: object) -> Any:
        return self._compare(other, len(self) < _len(other), True)

    def __ge__(self, other: object) -> Any:
        return self._compare(other, len(self) >= _len(other), False)

    def __gt__(self, other: object) -> Any:
        return self._compare(other, len(self) > _len(other), False)


def _len(other: object) -> int:
    return len(other) if hasattr(other, "__len__") else -1


@simulates("dict_keys")
class KeysView(SetView):
    """``d.keys()``."""

    __slots__ = ()

    def _at(self, entry: int) -> object:
        return self._mapping._key(entry)

    def __contains__(self, key: object) -> bool:
        return key in self._mapping


@simulates("dict_items")
class ItemsView(SetView):
    """``d.items()``: ``(key, value)`` tuples (host tuples of proxies and atoms)."""

    __slots__ = ()

    def _at(self, entry: int) -> object:
        return self._mapping._key(entry), self._mapping._item(entry)

    def __contains__(self, item: object) -> bool:
        from .sequences import TupleProxy

        if not isinstance(item, (tuple, TupleProxy)) or len(item) != 2:
            return False
        key, value = item
        entry = self._mapping._entry(key)
        if entry < 0:
            return False
        found = self._mapping._item(entry)
        return found is value or bool(found == value)

    def _storable(self) -> list[object]:
        pairs = list(self)
        for pair in pairs:
            hash(pair)  # CPython's TypeError for an unhashable value, before any tuple is made
        heap = heap_of(self._mapping)
        return [heap.tuple(pair) for pair in pairs]  # type: ignore[arg-type]


@simulates("dict_values")
class ValuesView(DictView):
    """``d.values()`` (not set-like; compares by identity, as CPython's)."""

    __slots__ = ()

    def _at(self, entry: int) -> object:
        return self._mapping._item(entry)

    def __contains__(self, value: object) -> bool:
        return any(item is value or item == value for item in self)
