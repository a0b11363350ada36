"""Arguments of the low-level and bulk API: ids, indices, sizes and counts are ints.

Python ints and numpy integers are accepted alike (the bulk API itself returns numpy ints);
``bool`` is refused with a TypeError, as are floats, strings and everything else.
"""

from __future__ import annotations

from typing import Any, TypeGuard

import numpy as np

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def is_int(value: object) -> TypeGuard[int | np.integer[Any]]:
    """True for an int or a numpy integer that is not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def as_int(value: object, what: str) -> int:
    """``value`` as a Python int; a TypeError naming ``what`` for anything but an int.

    >>> as_int(np.int64(3), "an index"), as_int(7, "an index")
    (3, 7)
    >>> as_int(True, "a slot index")
    Traceback (most recent call last):
    ...
    TypeError: a slot index must be an int, not bool True
    """
    if not is_int(value):
        raise TypeError(f"{what} must be an int, not {type(value).__name__} {value!r}")
    return int(value)


def as_count(value: object, what: str) -> int:
    """``value`` as a non-negative int (TypeError for a non-int, ValueError if negative)."""
    number = as_int(value, what)
    if number < 0:
        raise ValueError(f"{what} must be non-negative, got {number}")
    return number
