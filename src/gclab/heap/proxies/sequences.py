"""Simulated ``list`` and ``tuple``: indexing, slicing, operators and comparisons as CPython's.

Items are looked up by identity (``x in lst``, ``index``, ``count``, ``remove``): atoms are
interned, so equal atoms of one type are the same item. Comparisons with ``==`` and ``<`` are
CPython's, item by item, against real lists and tuples as well as proxies. A result that
CPython builds (``lst + [1]``, ``[1] + lst``, ``lst * 2``, ``t[1:]``) is a new simulated object.

>>> import gclab
>>> heap = gclab.Heap()
>>> lst = heap.list([3, 1, 2])
>>> [0] + lst, lst == [3, 1, 2], lst < [3, 2]
([0, 3, 1, 2], True, True)
>>> lst.sort(); lst[::2] = "ab"; lst
['a', 2, 'b']
>>> t = heap.tuple([1, 2])
>>> t[:1], hash(t) == hash((1, 2)), t.index(2)
((1,), True, 1)
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, cast

from ..table import POOL_LIMIT
from ..types import LIST, TUPLE
from .args import (
    BUILTIN_SEQUENCES,
    SSIZE_MAX,
    check_repeat_size,
    in_range,
    item_index,
    iterate,
    not_repeatable,
    reflected,
    repeat_count,
    slice_bound,
    ssize_arg,
)
from .base import (
    ContainerProxy,
    MutableContainerProxy,
    guarded_repr,
    heap_of,
    live_range,
    same_heap,
    simulates,
)
from .build import new_container, write_slots
from .copying import deep_copy

_Op = Callable[[Any, Any], Any]


class SequenceProxy(ContainerProxy):
    """What lists and tuples share: lookups, iteration, comparisons, concatenation."""

    __slots__ = ()
    _host: ClassVar[type]  # the real type a proxy compares and concatenates with
    _type_id: ClassVar[int]

    # -- lookups -------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[object]:
        index = 0
        while index < len(self):  # live: sees changes made while iterating, as listiter does
            yield self._value(index)
            index += 1

    def __contains__(self, value: object) -> bool:
        code = heap_of(self).find_code(value)
        return code is not None and code in self._codes()

    def count(self, value: object) -> int:
        """Number of items identical to ``value``."""
        code = heap_of(self).find_code(value)
        return 0 if code is None else self._codes().count(code)

    def _find(self, value: object, start: object, stop: object) -> int:
        """Position of the first item identical to ``value`` in ``[start:stop]``, or -1."""
        codes = self._codes()
        low, high = slice_bound(start, len(codes)), slice_bound(stop, len(codes))
        code = heap_of(self).find_code(value)
        if code is not None:
            for position in range(low, min(high, len(codes))):
                if codes[position] == code:
                    return position
        return -1

    # -- comparisons (CPython's list_richcompare / tuplerichcompare) -----------------------------

    def _compare(self, other: object, op: _Op) -> Any:
        if not isinstance(other, (self._host, type(self))):
            return NotImplemented
        theirs: Any = other
        if op in (operator.eq, operator.ne) and len(self) != len(theirs):
            return op is operator.ne
        index = 0
        while index < len(self) and index < len(theirs):
            mine, their = self._value(index), theirs[index]
            if not (mine is their or mine == their):
                break
            index += 1
        if index >= len(self) or index >= len(theirs):
            return op(len(self), len(theirs))
        if op is operator.eq:
            return False
        if op is operator.ne:
            return True
        return op(mine, their)

    def __eq__(self, other: object) -> Any:
        return self._compare(other, operator.eq)

    def __ne__(self, other: object) -> Any:
        return self._compare(other, operator.ne)

    def __lt__(self, other: object) -> Any:
        return self._compare(other, operator.lt)

    def __le__(self, other: object) -> Any:
        return self._compare(other, operator.le)

    def __gt__(self, other: object) -> Any:
        return self._compare(other, operator.gt)

    def __ge__(self, other: object) -> Any:
        return self._compare(other, operator.ge)

    # -- building new sequences ------------------------------------------------------------------

    def _codes_of(self, other: Any) -> list[int]:
        """Codes of the items of ``other`` (a proxy of this heap is read directly)."""
        if same_heap(self, other):
            return other._codes()
        heap = heap_of(self)
        return heap.to_codes(list(other))

    def _new(self, codes: list[int]) -> Any:
        heap = heap_of(self)
        return heap._adopt(new_container(heap, self._type_id, codes))

    def _concat_error(self, other: object) -> TypeError:
        name = self._host.__name__
        return TypeError(f'can only concatenate {name} (not "{type(other).__name__}") to {name}')

    def __add__(self, other: object) -> Any:
        if not isinstance(other, (self._host, type(self))):
            result = reflected(other, "__radd__", self)
            if result is NotImplemented:
                raise self._concat_error(other)
            return result
        return self._concat(self, other)

    def __radd__(self, other: object) -> Any:
        if not isinstance(other, self._host):
            return NotImplemented
        return self._concat(other, self)

    def _concat(self, left: Any, right: Any) -> Any:
        return self._new(self._codes_of(left) + self._codes_of(right))

    def __mul__(self, other: object) -> Any:
        count = repeat_count(other)
        if count is None:
            result = reflected(other, "__rmul__", self)
            if result is NotImplemented:
                raise not_repeatable(other)
            return result
        return self._repeat(count)

    def __rmul__(self, other: object) -> Any:
        count = repeat_count(other)
        if count is None:
            if isinstance(other, BUILTIN_SEQUENCES):
                return NotImplemented  # the interpreter raises the sequence's own error
            raise not_repeatable(other)
        return self._repeat(count)

    def _repeat(self, count: int) -> Any:
        codes = self._codes()
        _check_size(len(codes), count)
        return self._new(codes * count)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return deep_copy(self, memo)


def _check_size(length: int, count: int) -> None:
    """MemoryError, nothing allocated, for a result larger than CPython or the pool allows."""
    check_repeat_size(length, count)
    if length * count > POOL_LIMIT:
        raise MemoryError


@simulates("list")
class ListProxy(MutableContainerProxy, SequenceProxy):
    """A simulated ``list``."""

    __slots__ = ()
    _host = list
    _type_id = LIST

    def __getitem__(self, index: object) -> Any:
        if isinstance(index, slice):  # a new list, like list slicing
            return self._new(self._codes()[index])
        position = in_range(item_index(index, "list"), len(self), "list index out of range")
        return self._value(position)

    def __setitem__(self, index: object, value: object) -> None:
        if isinstance(index, slice):
            self._assign_slice(index, value)
            return
        heap = heap_of(self)
        position = in_range(item_index(index, "list"), len(self),
                            "list assignment index out of range")
        heap.set_slot(self._id, position, heap.to_code(value))

    def __delitem__(self, index: object) -> None:
        if isinstance(index, slice):
            self._delete_slice(index)
            return
        position = in_range(item_index(index, "list"), len(self),
                            "list assignment index out of range")
        heap_of(self).delete_slot(self._id, position)

    def _assign_slice(self, where: slice, value: object) -> None:
        """``lst[a:b] = items`` (list_ass_slice: the old items are released last to first) or
        ``lst[a:b:c] = items`` (released in slice order); every item is checked first."""
        heap = heap_of(self)
        start, stop, step = where.indices(len(self))
        message = "can only assign an iterable" if step == 1 else (
            "must assign iterable to extended slice")
        items = self._codes() if value is self else iterate(value, message)  # alive until held
        positions = range(start, max(stop, start)) if step == 1 else range(start, stop, step)
        if step != 1 and len(items) != len(positions):
            raise ValueError(f"attempt to assign sequence of size {len(items)} to extended "
                             f"slice of size {len(positions)}")
        codes = self._codes() if value is self else heap.to_codes(items)
        with heap.operation():
            for code in codes:
                heap.hold(code)
            slots = self._codes()
            old = [slots[position] for position in positions]
            if step == 1:
                slots[start : start + len(old)] = codes
            else:
                for position, code in zip(positions, codes, strict=True):
                    slots[position] = code
            write_slots(heap, self._id, slots)
            for code in reversed(old) if step == 1 else old:
                heap.release(code)

    def _delete_slice(self, where: slice) -> None:
        """``del lst[a:b]`` (released last to first) or ``del lst[a:b:c]`` (released in index
        order)."""
        heap = heap_of(self)
        start, stop, step = where.indices(len(self))
        positions = range(start, max(stop, start)) if step == 1 else range(start, stop, step)
        if not positions:
            return
        ordered = sorted(positions)
        with heap.operation():
            slots = self._codes()
            old = [slots[position] for position in ordered]
            gone = set(ordered)
            write_slots(heap, self._id, [c for i, c in enumerate(slots) if i not in gone])
            for code in reversed(old) if step == 1 else old:
                heap.release(code)

    def __reversed__(self) -> Iterator[object]:
        index = len(self) - 1
        while 0 <= index < len(self):
            yield self._value(index)
            index -= 1

    def __repr__(self) -> str:
        return guarded_repr(self, lambda: "[" + ", ".join(
            self._repr_of(i) for i in live_range(self)) + "]", "[...]")

    # -- methods ---------------------------------------------------------------------------------

    def append(self, value: object) -> None:
        """Append ``value``."""
        heap = heap_of(self)
        code = heap.quick_code(value)  # a live proxy or an interned atom: nothing to check
        heap.append_slot(self._id, heap.to_code(value) if code is None else code)

    def extend(self, values: Iterable[object]) -> None:
        """Append every value of ``values`` (all checked before the first is appended)."""
        heap = heap_of(self)
        items = list(values)  # keeps new proxies alive until their references are held
        codes = heap.to_codes(items)
        with heap.operation():
            for code in codes:
                heap.hold(code)
            write_slots(heap, self._id, self._codes() + codes)

    def insert(self, index: object, value: object) -> None:
        """Insert ``value`` before ``index`` (clamped to the list, like list.insert)."""
        heap = heap_of(self)
        position = ssize_arg(index)
        code = heap.to_code(value)
        length = len(self)
        position = max(position + length, 0) if position < 0 else min(position, length)
        heap.insert_slot(self._id, position, code)

    def pop(self, index: object = -1) -> object:
        """Remove and return the item at ``index``."""
        position = ssize_arg(index)
        if len(self) == 0:
            raise IndexError("pop from empty list")
        position = in_range(position, len(self), "pop index out of range")
        value = self._value(position)
        heap_of(self).delete_slot(self._id, position)
        return value

    def remove(self, value: object) -> None:
        """Remove the first item identical to ``value``."""
        position = self._find(value, 0, SSIZE_MAX)
        if position < 0:
            raise ValueError("list.remove(x): x not in list")
        heap_of(self).delete_slot(self._id, position)

    def index(self, value: object, start: object = 0, stop: object = SSIZE_MAX) -> int:
        """Position of the first item identical to ``value`` (in ``[start:stop]``)."""
        position = self._find(value, start, stop)
        if position < 0:
            raise ValueError(f"{value!r} is not in list")
        return position

    def copy(self) -> ListProxy:
        """A shallow copy (a new list)."""
        return self[:]

    def __copy__(self) -> ListProxy:
        return self.copy()

    def reverse(self) -> None:
        """Reverse in place (no reference changes)."""
        write_slots(heap_of(self), self._id, self._codes()[::-1])

    def sort(self, *args: object, key: Callable[[Any], Any] | None = None,
             reverse: object = False) -> None:
        """Sort in place, stably (a permutation of the slots: no reference changes). If the key
        function or a comparison raises, the list is left as it was."""
        if args:
            raise TypeError("sort() takes no positional arguments")
        backwards = bool(ssize_arg(reverse))
        codes = self._codes()
        values = [heap_of(self).from_code(code) for code in codes]
        keys: list[Any] = values if key is None else [key(value) for value in values]
        order = sorted(range(len(codes)), key=lambda i: keys[i], reverse=backwards)
        if self._codes() != codes:
            raise ValueError("list modified during sort")
        write_slots(heap_of(self), self._id, [codes[i] for i in order])

    def __iadd__(self, values: object) -> Any:
        self.extend(cast(Iterable[object], values))
        return self

    def __imul__(self, other: object) -> Any:
        count = repeat_count(other)
        if count is None:
            return NotImplemented  # the interpreter tries __mul__, which raises CPython's error
        heap = heap_of(self)
        codes = self._codes()
        _check_size(len(codes), count)
        if count == 0:
            self.clear()
            return self
        with heap.operation():
            for code in codes * (count - 1):
                heap.hold(code)
            write_slots(heap, self._id, codes * count)
        return self


@simulates("tuple")
class TupleProxy(SequenceProxy):
    """A simulated ``tuple`` (hashed by content, like a real one)."""

    __slots__ = ()
    _host = tuple
    _type_id = TUPLE

    def __getitem__(self, index: object) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step == 1 and start == 0 and stop == len(self):
                return self  # tuple_subscript returns the tuple itself
            return self._new(self._codes()[index])
        position = in_range(item_index(index, "tuple"), len(self), "tuple index out of range")
        return self._value(position)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        def body() -> str:
            items = [self._repr_of(i) for i in range(len(self))]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"

        return guarded_repr(self, body, "(...)")

    def index(self, value: object, start: object = 0, stop: object = SSIZE_MAX) -> int:
        """Position of the first item identical to ``value`` (in ``[start:stop]``)."""
        position = self._find(value, start, stop)
        if position < 0:
            raise ValueError("tuple.index(x): x not in tuple")
        return position

    def _concat(self, left: Any, right: Any) -> Any:
        if len(right) == 0 and isinstance(left, TupleProxy):
            return left  # tuple_concat returns an operand when the other is empty
        if len(left) == 0 and isinstance(right, TupleProxy):
            return right
        return super()._concat(left, right)

    def _repeat(self, count: int) -> Any:
        if count == 1 or len(self) == 0:
            return self
        return super()._repeat(count)

    def __copy__(self) -> TupleProxy:
        return self  # copy.copy of a tuple is the tuple

