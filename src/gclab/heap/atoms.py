"""Interned atomic values: what a reference slot holds when it holds no heap object.

An atom is stored in a pool slot as the negative code ``-2 - index`` (``heap/table.py``: ``>= 0``
an object id, ``-1`` NULL, ``<= -2`` an atom).

>>> atoms = AtomTable()
>>> code = atoms.code("spam")
>>> code <= -2, atoms.value(code), atoms.code("spam") == code
(True, 'spam', True)
"""

from __future__ import annotations

import threading
from collections.abc import Hashable

import numpy as np
import numpy.typing as npt

_FREE = object()  # the value of an atom index that was swept and may be reused


class AtomTable:
    """Interned atomic values (int, float, str, bytes, bool, None, complex).

    An atom is stored in a slot as the negative code ``-2 - index``. Atoms are never heap
    objects and never tracked, like small ints and interned strings, and their reference counts
    are not simulated; values are interned by ``(type, value)`` so ``1`` and ``True`` stay
    distinct.

    An atom lives while a slot of a live object holds it. Atoms no slot holds are released by a
    *sweep* (:meth:`sweep`, run by the heap at the end of a top-level operation once
    ``max(SWEEP_MIN, atoms that survived the last sweep)`` new atoms were interned since it):
    the table stays within a small multiple of the atoms in use, however many distinct values
    a program stores over time, and the sweeps' cost (a pass over every slot) is amortised.

    A value is interned just before it is stored, and code the engine runs in between (a
    finalizer the host's collector set off) may run heap operations of its own. So the heap
    never sweeps from inside a finalizer or callback, and a sweep never releases an atom
    interned since the previous sweep; nor one handed out by :meth:`pin` (the low-level
    ``heap.atom()``, whose caller may store the code at any later time). A released index is
    reused by a later value.

    >>> atoms = AtomTable()
    >>> code = atoms.code("b")
    >>> code <= -2, atoms.value(code)
    (True, 'b')
    """

    ATOM_TYPES = (int, float, str, bytes, bool, type(None), complex)
    SWEEP_MIN = 4096  # no sweep before this many new atoms

    def __init__(self) -> None:
        self._values: list[object] = []
        self._codes: dict[tuple[type, Hashable], int] = {}
        self._free: list[int] = []  # released indices, reused last released first
        self._born = np.zeros(64, np.int64)  # per index: the sweep epoch it was interned in
        self._live = np.zeros(64, np.bool_)  # per index: interned now
        self._pinned: set[int] = set()
        self._lock = threading.Lock()
        self.epoch = 0  # sweeps so far
        self.new_since_sweep = 0
        self.sweep_at = self.SWEEP_MIN  # sweep once new_since_sweep passes this

    def __len__(self) -> int:
        """The number of atoms interned now (released ones not counted)."""
        return len(self._values) - len(self._free)

    @classmethod
    def is_atom_value(cls, value: object) -> bool:
        """True for the host values stored as atoms."""
        return type(value) in cls.ATOM_TYPES

    def code(self, value: object) -> int:
        """The code of ``value``, interning it on first use."""
        key = (type(value), value)
        found = self._codes.get(key)
        if found is not None:
            return found
        with self._lock:  # two threads interning at once must not take one index
            found = self._codes.get(key)
            return found if found is not None else self._intern(key, value)

    def _intern(self, key: tuple[type, Hashable], value: object) -> int:
        if self._free:
            index = self._free.pop()
            self._values[index] = value
        else:
            index = len(self._values)
            self._values.append(value)
            if index >= len(self._born):
                self._born = _grown(self._born, 2 * len(self._born), 0)  # type: ignore[assignment]
                self._live = _grown(self._live, 2 * len(self._live), 0)  # type: ignore[assignment]
        self._born[index] = self.epoch
        self._live[index] = True
        self.new_since_sweep += 1
        code = -2 - index
        self._codes[key] = code
        return code

    def pin(self, value: object) -> int:
        """:meth:`code`, and the atom is never swept (for codes handed to a caller)."""
        code = self.code(value)
        self._pinned.add(-2 - code)
        return code

    def find(self, value: object) -> int | None:
        """The code of ``value`` if it is already interned, else None (nothing is interned:
        lookups use this, so ``5 in lst`` does not grow the table).

        >>> atoms = AtomTable()
        >>> atoms.find("b") is None, atoms.find([1]) is None
        (True, True)
        >>> atoms.find("b") is None  # still not interned
        True
        """
        if type(value) not in self.ATOM_TYPES:
            return None
        return self._codes.get((type(value), value))

    def value(self, code: int) -> object:
        """The host value of an atom code."""
        return self._values[-2 - code]

    def is_live(self, code: int) -> bool:
        """True when ``code`` (``<= -2``) names an interned atom."""
        index = -2 - code
        return 0 <= index < len(self._values) and bool(self._live[index])

    def live_codes(self, codes: npt.NDArray[np.integer]) -> npt.NDArray[np.bool_]:
        """Vectorised :meth:`is_live` of atom codes (``<= -2``)."""
        index = -2 - codes
        inside = (index >= 0) & (index < len(self._values))
        out = np.zeros(len(codes), np.bool_)
        out[inside] = self._live[index[inside]]
        return out

    def sweep(self, held: npt.NDArray[np.bool_]) -> int:
        """Release every atom that no slot holds (``held[index]`` false), except those
        interned since the previous sweep and the pinned ones; returns how many.

        >>> atoms = AtomTable()
        >>> a, b = atoms.code("a"), atoms.code("b")
        >>> atoms.sweep(np.zeros(2, bool)), len(atoms)  # both are new: kept once
        (0, 2)
        >>> atoms.sweep(np.array([True, False])), len(atoms), atoms.value(a)
        (1, 1, 'a')
        >>> atoms.code("c") == b  # b's index is reused
        True
        """
        n = len(self._values)
        old = self._born[:n] < self.epoch
        unused = np.flatnonzero(old & ~held[:n])
        released = 0
        for index in unused.tolist():
            value = self._values[index]
            if value is _FREE or index in self._pinned:
                continue
            del self._codes[(type(value), value)]
            self._values[index] = _FREE
            self._live[index] = False
            self._free.append(index)
            released += 1
        # the next sweep comes once as many new atoms as there are atoms that have survived a
        # sweep (the young ones kept now are candidates next time, whatever the count)
        young = int(np.count_nonzero(self._live[:n] & (self._born[:n] == self.epoch)))
        self.epoch += 1
        self.new_since_sweep = 0
        self.sweep_at = max(self.SWEEP_MIN, len(self) - young)
        return released


def _grown(array: npt.NDArray[np.generic], size: int, fill: int) -> npt.NDArray[np.generic]:
    """A copy of ``array`` grown to ``size`` elements, the new ones ``fill``."""
    out = np.full(size, fill, dtype=array.dtype)
    out[: len(array)] = array
    return out


__all__ = ["AtomTable"]
