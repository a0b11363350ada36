"""The type registry: what kinds of object exist and how each one behaves.

Every object row stores a type id; everything the engine needs to know about a type (is it
GC-capable, does it support weak references, does it have a finalizer, in which order does it
visit and release its references) is found here, not in the row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T")
U8 = npt.NDArray[np.uint8]


class Kind(IntEnum):
    """The layout family of a type: it fixes traverse and release order (spec §7.1).

    The value is the kind's code everywhere, compiled code included (:func:`type_arrays`, the
    deallocation cascade's type byte): the trashcan-bracketed kinds come first, so ``kind <=
    INSTANCE`` says "bracketed", and every code fits in three bits.

    >>> int(Kind.DICT), Kind(4).name, Kind.INSTANCE >= Kind.SET
    (2, 'INSTANCE', True)
    """

    LIST = 0  # slots = items; traverse and release last to first
    TUPLE = 1  # slots = items; traverse and release last to first; no tp_clear
    DICT = 2  # slots = key0, value0, key1, value1 ...; release key then value, in order
    SET = 3  # slots = elements in insertion order
    INSTANCE = 4  # slots = __slots__ (sorted), then inline name/value pairs or a dict
    WEAKREF = 5  # no slots: the referent is not a strong reference
    FRAME = 6  # a running frame: slots = name/value pairs; a root, never tracked
    MODULE = 7  # a module namespace (heap.globals); a root, never tracked


# The kind codes as plain ints, for compiled code (numba reads module-level ints as constants).
K_LIST, K_TUPLE, K_DICT, K_SET, K_INSTANCE, K_WEAKREF, K_FRAME, K_MODULE = (int(k) for k in Kind)


@dataclass(eq=False)
class TypeInfo:
    """One simulated type."""

    type_id: int
    name: str
    kind: Kind
    gc_capable: bool = True
    weakrefable: bool = False
    # A Python-level ``__del__``: tp_finalize (PEP 442) or tp_del (legacy profiles).
    finalizer: Callable[..., object] | None = None
    # Instances: names of __slots__ in layout order, and whether arbitrary attributes exist.
    slot_names: tuple[str, ...] = ()
    has_dict: bool = False
    # Instances: the host-side proxy class whose instances stand for objects of this type.
    proxy_class: type | None = field(default=None, repr=False)
    # Nominal size in bytes of one object (CPython 3.11, 64-bit) for memory reports.
    basic_size: int = 56
    # Instances: the class-wide attribute order (CPython's shared keys): inline values and
    # split-table dict values are laid out, visited and released in this order.
    shared_keys: list[str] = field(default_factory=list)
    # Inline profiles: the usable entries left in the shared keys (CPython's ``dk_usable``;
    # None until the heap first needs it, see gclab.heap.containers).
    keys_usable: int | None = None

    def key_index(self, name: str) -> int:
        """The shared-keys index of attribute ``name``, adding it on first use."""
        try:
            return self.shared_keys.index(name)
        except ValueError:
            self.shared_keys.append(name)
            return len(self.shared_keys) - 1

    @property
    def has_finalizer(self) -> bool:
        """True when the type defines ``__del__``."""
        return self.finalizer is not None


# Fixed ids of the built-in types (the registry always starts with these, in this order).
LIST, TUPLE, DICT, SET, WEAKREF, FRAME, MODULE = range(7)

_BUILTINS: tuple[tuple[str, Kind, bool, bool, int], ...] = (
    # name, kind, gc_capable, weakrefable, basic size
    ("list", Kind.LIST, True, False, 56),
    ("tuple", Kind.TUPLE, True, False, 40),
    ("dict", Kind.DICT, True, False, 64),
    ("set", Kind.SET, True, True, 216),
    ("weakref.ReferenceType", Kind.WEAKREF, True, False, 64),
    ("frame", Kind.FRAME, False, False, 64),
    ("module", Kind.MODULE, False, False, 72),
)


class TypeRegistry:
    """Maps type ids to :class:`TypeInfo`; the built-in types are always registered first."""

    def __init__(self) -> None:
        self.types: list[TypeInfo] = []
        self._by_name: dict[str, TypeInfo] = {}
        self._derived: dict[str, tuple[int, Any]] = {}
        for name, kind, gc_capable, weakrefable, size in _BUILTINS:
            self._add(TypeInfo(len(self.types), name, kind, gc_capable, weakrefable,
                               basic_size=size))

    def _add(self, info: TypeInfo) -> TypeInfo:
        self.types.append(info)
        self._by_name.setdefault(info.name, info)
        return info

    def add_class(
        self,
        name: str,
        *,
        slot_names: tuple[str, ...],
        has_dict: bool,
        weakrefable: bool,
        finalizer: Callable[..., object] | None,
    ) -> TypeInfo:
        """Register a managed class (an instance type) and return its info."""
        size = 16 + 8 * len(slot_names) + (8 if has_dict else 0) + (8 if weakrefable else 0)
        info = TypeInfo(len(self.types), name, Kind.INSTANCE, True, weakrefable, finalizer,
                        slot_names, has_dict, basic_size=max(size, 16))
        return self._add(info)

    def __getitem__(self, type_id: int) -> TypeInfo:
        return self.types[type_id]

    def by_name(self, name: str) -> TypeInfo:
        """The type registered under ``name`` (the first one, for classes sharing a name)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no type named {name!r} in this heap") from None

    def __len__(self) -> int:
        return len(self.types)

    def derived(self, key: str, build: Callable[[TypeRegistry], T]) -> T:
        """``build(self)``, computed once per registry state and cached under ``key``.

        Types are only ever appended and a registered type never changes, so the number of
        types is the registry's version: the cached value is rebuilt after a registration.

        >>> types = TypeRegistry()
        >>> types.derived("names", lambda r: [i.name for i in r.types])[:2]
        ['list', 'tuple']
        """
        cached = self._derived.get(key)
        if cached is None or cached[0] != len(self.types):
            cached = (len(self.types), build(self))
            self._derived[key] = cached
        return cached[1]


def _build_type_arrays(types: TypeRegistry) -> tuple[U8, U8]:
    kinds = np.array([info.kind for info in types.types], np.uint8)
    gc_capable = np.array([info.gc_capable for info in types.types], np.uint8)
    return kinds, gc_capable


def type_arrays(types: TypeRegistry) -> tuple[U8, U8]:
    """``(kinds, gc_capable)``: per type id, its :class:`Kind` code and 1 if the type is
    GC-capable.

    Cached on the registry (:meth:`TypeRegistry.derived`), so the arrays always cover every
    type id.
    """
    return types.derived("types.type_arrays", _build_type_arrays)
