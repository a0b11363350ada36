"""Simulated ``set``: insertion order, identity membership, CPython's operators and methods.

Elements are slot codes: ``x in s``, ``add``, ``discard`` and ``remove`` find a value when it is
the same heap object or the same interned atom. Everything that involves another collection
(``s <= {1, 2}``, ``s == t``, ``s - [1]``, ``s | t``, ``s & d.keys()``) compares elements as the
host does, with ``==`` and hashes, as CPython asks the other operand; of the other's elements
only those that go into the result are stored. Results CPython builds (``s | t``, ``{1} - s``)
are new simulated sets.

>>> import gclab
>>> heap = gclab.Heap()
>>> s = heap.set([1, 2])
>>> s | {3}, {2, 9} & s, s <= {1, 2, 5}, s.isdisjoint([7])
({1, 2, 3}, {2}, True, True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..types import SET
from .base import MutableContainerProxy, guarded_repr, heap_of, live_range, simulates
from .build import new_container, write_slots
from .copying import deep_copy

_SET_LIKE = (set, frozenset)


def unique(codes: Iterable[int]) -> list[int]:
    """``codes`` without repeats, first occurrences in order."""
    return list(dict.fromkeys(codes))


@simulates("set")
class SetProxy(MutableContainerProxy):
    """A simulated ``set`` (elements in insertion order; identity membership)."""

    __slots__ = ()

    # -- membership ------------------------------------------------------------------------------

    def _lookup(self, value: object) -> int | None:
        """The code to look for (hashed first), None when it cannot be an element. A set
        argument is looked up as a frozenset, as CPython does: never an element here."""
        if isinstance(value, (set, SetProxy)):
            return None
        return heap_of(self).lookup_code(value)

    def __contains__(self, value: object) -> bool:
        code = self._lookup(value)
        return code is not None and code in self._codes()

    def _holds(self, other: object) -> Callable[[int], bool]:
        """Whether the value of one of this heap's codes is in ``other``, asked as the host asks
        (``==`` and hash; any iterable is made a set first, as CPython does)."""
        host: Any = other if isinstance(other, _SET_LIKE) else set(other)  # type: ignore[call-overload]
        heap = heap_of(self)
        return lambda code: heap.from_code(code) in host

    def _values(self) -> set[object]:
        """The elements as a host set (equal elements once, compared as the host does)."""
        return set(self)

    def _elements(self, other: object) -> list[object]:
        """The distinct elements of ``other`` (hashed: CPython's TypeError for unhashable
        ones), in a list the caller keeps alive until their codes are held."""
        return list(dict.fromkeys(other))  # type: ignore[call-overload]

    def _merged(self, codes: list[int], elements: list[object]) -> list[int]:
        """``codes``, then the codes of the ``elements`` whose values are not among theirs
        (only those are converted and stored)."""
        heap = heap_of(self)
        present = {heap.from_code(code) for code in codes}
        fresh = heap.hashable_codes([value for value in elements if value not in present])
        return unique(codes + fresh)

    def __iter__(self) -> Iterator[object]:
        size = len(self)
        for index in range(size):
            if len(self) != size:
                raise RuntimeError("Set changed size during iteration")
            yield self._value(index)
        if len(self) != size:
            raise RuntimeError("Set changed size during iteration")

    # -- elements --------------------------------------------------------------------------------

    def add(self, value: object) -> None:
        """Add ``value`` unless present."""
        heap = heap_of(self)
        code = heap.hashable_code(value)
        if code not in self._codes():
            heap.append_slot(self._id, code)

    def discard(self, value: object) -> None:
        """Remove ``value`` if present."""
        code = self._lookup(value)
        codes = self._codes()
        if code is not None and code in codes:
            heap_of(self).delete_slot(self._id, codes.index(code))

    def remove(self, value: object) -> None:
        """Remove ``value`` (KeyError if absent)."""
        if value not in self:
            raise KeyError(value)
        self.discard(value)

    def pop(self) -> object:
        """Remove and return an element (the oldest)."""
        if len(self) == 0:
            raise KeyError("pop from an empty set")
        value = self._value(0)
        heap_of(self).delete_slot(self._id, 0)
        return value

    def _new(self, codes: list[int]) -> SetProxy:
        heap = heap_of(self)
        return heap._adopt(new_container(heap, SET, codes))  # type: ignore[return-value]

    def copy(self) -> SetProxy:
        """A shallow copy (a new set)."""
        return self._new(self._codes())

    def __copy__(self) -> SetProxy:
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> object:
        return deep_copy(self, memo)

    def _replace(self, codes: list[int]) -> None:
        """Make ``codes`` the elements: new ones held first, those gone released after."""
        heap = heap_of(self)
        old = self._codes()
        kept, before = set(codes), set(old)
        added = [code for code in codes if code not in before]
        with heap.operation():
            for code in added:
                heap.hold(code)
            write_slots(heap, self._id, codes)
            for code in old:
                if code not in kept:
                    heap.release(code)

    # -- algebra (results are new sets; *_update methods change this one) ------------------------

    def _union(self, groups: list[Any]) -> list[int]:
        codes = self._codes()
        for elements in groups:
            codes = self._merged(codes, elements)
        return codes

    def _intersection(self, others: tuple[object, ...]) -> list[int]:
        codes = self._codes()
        for other in others:
            holds = self._holds(other)
            codes = [code for code in codes if holds(code)]
        return codes

    def _difference(self, others: tuple[object, ...]) -> list[int]:
        codes = self._codes()
        for other in others:
            holds = self._holds(other)
            codes = [code for code in codes if not holds(code)]
        return codes

    def _symmetric(self, elements: list[object]) -> list[int]:
        mine = self._codes()
        values = [heap_of(self).from_code(code) for code in mine]
        other_values: set[object] = set(elements)
        kept = [code for code, value in zip(mine, values, strict=True)
                if value not in other_values]
        my_values = set(values)
        return self._merged(kept, [value for value in elements if value not in my_values])

    def union(self, *others: object) -> SetProxy:
        """A new set with the elements of this set and of every one of ``others``."""
        groups = [self._elements(other) for other in others]
        return self._new(self._union(groups))

    def intersection(self, *others: object) -> SetProxy:
        """A new set with the elements found in every one of ``others``."""
        return self._new(self._intersection(others))

    def difference(self, *others: object) -> SetProxy:
        """A new set with the elements found in none of ``others``."""
        return self._new(self._difference(others))

    def symmetric_difference(self, other: object) -> SetProxy:
        """A new set with the elements in exactly one of this set and ``other``."""
        elements = self._elements(other)
        return self._new(self._symmetric(elements))

    def update(self, *others: object) -> None:
        """Add the elements of every one of ``others``."""
        groups = [self._elements(other) for other in others]
        self._replace(self._union(groups))

    def intersection_update(self, *others: object) -> None:
        """Keep only the elements found in every one of ``others``."""
        self._replace(self._intersection(others))

    def difference_update(self, *others: object) -> None:
        """Remove the elements found in any of ``others``."""
        self._replace(self._difference(others))

    def symmetric_difference_update(self, other: object) -> None:
        """Keep the elements in exactly one of this set and ``other``."""
        elements = self._elements(other)
        self._replace(self._symmetric(elements))

    def issubset(self, other: object) -> bool:
        """True when every element is in ``other``."""
        holds = self._holds(other)
        return all(holds(code) for code in self._codes())

    def issuperset(self, other: object) -> bool:
        """True when every element of ``other`` is in this set."""
        mine = self._values()
        return all(value in mine for value in list(other))  # type: ignore[call-overload]

    def isdisjoint(self, other: object) -> bool:
        """True when no element of ``other`` is in this set."""
        mine = self._values()
        return not any(value in mine for value in list(other))  # type: ignore[call-overload]

    # -- operators (the other operand must be a set, as for the real type) -----------------------

    def __or__(self, other: object) -> Any:
        return self.union(other) if _set_like(other) else NotImplemented

    def __and__(self, other: object) -> Any:
        return self.intersection(other) if _set_like(other) else NotImplemented

    def __sub__(self, other: object) -> Any:
        return self.difference(other) if _set_like(other) else NotImplemented

    def __xor__(self, other: object) -> Any:
        return self.symmetric_difference(other) if _set_like(other) else NotImplemented

    def __ror__(self, other: object) -> Any:
        if not _set_like(other):
            return NotImplemented
        elements = self._elements(other)
        return self._new(self._merged(self._merged([], elements), list(self)))

    def __rand__(self, other: object) -> Any:
        return self.__and__(other)

    def __rsub__(self, other: object) -> Any:
        if not _set_like(other):
            return NotImplemented
        elements, mine = self._elements(other), self._values()
        return self._new(self._merged([], [value for value in elements if value not in mine]))

    def __rxor__(self, other: object) -> Any:
        return self.__xor__(other)

    def __ior__(self, other: object) -> Any:
        return self._in_place(other, self.update)

    def __iand__(self, other: object) -> Any:
        return self._in_place(other, self.intersection_update)

    def __isub__(self, other: object) -> Any:
        return self._in_place(other, self.difference_update)

    def __ixor__(self, other: object) -> Any:
        return self._in_place(other, self.symmetric_difference_update)

    def _in_place(self, other: object, update: Callable[[object], None]) -> Any:
        if not _set_like(other):
            return NotImplemented
        update(other)
        return self

    # -- comparisons (set_richcompare: subset tests) ---------------------------------------------

    def __eq__(self, other: object) -> Any:
        if not _set_like(other):
            return NotImplemented
        return len(self) == len(other) and self.issubset(other)  # type: ignore[arg-type]

    def __ne__(self, other: object) -> Any:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __le__(self, other: object) -> Any:
        return self.issubset(other) if _set_like(other) else NotImplemented

    def __lt__(self, other: object) -> Any:
        if not _set_like(other):
            return NotImplemented
        return len(self) < len(other) and self.issubset(other)  # type: ignore[arg-type]

    def __ge__(self, other: object) -> Any:
        return self.issuperset(other) if _set_like(other) else NotImplemented

    def __gt__(self, other: object) -> Any:
        if not _set_like(other):
            return NotImplemented
        return len(self) > len(other) and self.issuperset(other)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        if len(self) == 0:
            return "set()"
        return guarded_repr(self, lambda: "{" + ", ".join(
            self._repr_of(i) for i in live_range(self)) + "}", "set(...)")


def _set_like(other: object) -> bool:
    return isinstance(other, (*_SET_LIKE, SetProxy))
