"""Arguments converted and refused as CPython's C functions convert and refuse them.

>>> item_index(True, "list"), ssize_arg(-3)
(1, -3)
>>> item_index("0", "tuple")
Traceback (most recent call last):
...
TypeError: tuple indices must be integers or slices, not str
>>> ssize_arg(1.5)
Traceback (most recent call last):
...
TypeError: 'float' object cannot be interpreted as an integer
"""

from __future__ import annotations

import operator
from typing import Any

from .base import Proxy

SSIZE_MIN, SSIZE_MAX = -(2**63), 2**63 - 1
# Host types whose reflected operators are sequence slots: the interpreter tries them only
# after the left operand's own sequence error, so a proxy must not ask them first.
BUILTIN_SEQUENCES = (str, bytes, bytearray, list, tuple, memoryview, range)


def item_index(index: Any, what: str) -> int:
    """An item index (``lst[i]``): anything with ``__index__``; may be out of range."""
    if not hasattr(type(index), "__index__"):
        raise TypeError(f"{what} indices must be integers or slices, not {type(index).__name__}")
    value = operator.index(index)
    if not SSIZE_MIN <= value <= SSIZE_MAX:
        raise IndexError(f"cannot fit '{type(index).__name__}' into an index-sized integer")
    return value


def in_range(index: int, length: int, message: str) -> int:
    """``index`` counted from the end when negative; IndexError(message) outside."""
    if index < 0:
        index += length
    if not 0 <= index < length:
        raise IndexError(message)
    return index


def ssize_arg(value: Any) -> int:
    """A ``Py_ssize_t`` argument (``list.insert``, ``list.pop``)."""
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer"
                        ) from None
    if not SSIZE_MIN <= number <= SSIZE_MAX:
        raise OverflowError("Python int too large to convert to C ssize_t")
    return number


def slice_bound(value: Any, length: int) -> int:
    """A start/stop argument of ``index()``: counted from the end, clamped at 0."""
    try:
        number: int = operator.index(value)
    except TypeError:
        raise TypeError("slice indices must be integers or have an __index__ method") from None
    return max(number + length, 0) if number < 0 else number


def repeat_count(value: Any) -> int | None:
    """The count of ``seq * value``, or None when ``value`` has no ``__index__``."""
    if not hasattr(type(value), "__index__"):
        return None
    count: int = operator.index(value)
    if not SSIZE_MIN <= count <= SSIZE_MAX:
        raise OverflowError(f"cannot fit '{type(value).__name__}' into an index-sized integer")
    return max(count, 0)


def check_repeat_size(length: int, count: int) -> None:
    """MemoryError before anything is allocated when a repeat cannot fit (CPython's check)."""
    if length and count > SSIZE_MAX // length:
        raise MemoryError


def reflected(other: object, name: str, proxy: Proxy) -> object:
    """``other``'s reflected operator ``name`` applied to ``proxy``, as the interpreter asks it
    before a sequence's own error (``lst + x`` lets ``x.__radd__`` answer); NotImplemented
    when it has none or is a built-in sequence or a proxy."""
    if isinstance(other, (Proxy, *BUILTIN_SEQUENCES)):
        return NotImplemented
    method = getattr(type(other), name, None)
    if method is None:
        return NotImplemented
    return method(other, proxy)


def not_repeatable(other: object) -> TypeError:
    """CPython's error for ``seq * other`` with a non-integer ``other``."""
    return TypeError(f"can't multiply sequence by non-int of type '{type(other).__name__}'")


def iterate(value: Any, message: str) -> list[object]:
    """``list(value)``, with ``message`` as the TypeError when it is not iterable at all
    (CPython's PySequence_Fast); errors raised while iterating propagate unchanged."""
    try:
        items = iter(value)
    except TypeError:
        raise TypeError(message) from None
    return list(items)

