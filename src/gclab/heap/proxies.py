"""Proxies: host objects that stand for heap objects and behave like the Python types.

A proxy holds exactly one simulated reference to its object (architecture decision 6) and
releases it when the host drops the proxy, so ``a = heap.list(); del a`` behaves as in CPython.
There is at most one live proxy per object, so ``x.b is y`` works as expected.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import ForeignObjectError, UseAfterFreeError
from .table import NULL, AtomTable
from .types import Kind

if TYPE_CHECKING:  # the full heap (core + proxies), for type checking only
    from ..simheap import Heap


class Proxy:
    """Base of every proxy: the heap and the id; one reference held while alive."""

    __slots__ = ("__weakref__", "_heap", "_id")
    _heap: Heap
    _id: int

    def __del__(self) -> None:
        if sys.is_finalizing():  # the host is exiting: the simulated heap goes with it
            return
        heap = self._heap
        cache = heap._proxies
        ref = cache.get(self._id)
        if ref is not None and ref() in (self, None):
            del cache[self._id]
        heap.release_external(self._id)

    def __repr__(self) -> str:
        return f"<{self._heap.type_of(self._id).name} object at 0x{self._id:x}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Proxy) and other._heap is self._heap and other._id == self._id

    def __hash__(self) -> int:
        return hash((id(self._heap), self._id))


class ProxyHeap:
    """Mixin for :class:`HeapCore`: converting between host values and slot codes."""

    _proxies: dict[int, weakref.ref[Proxy]]

    def _init_proxies(self: Any) -> None:
        self._proxies = {}
        self.wrap = self.proxy

    def proxy(self: Any, oid: int) -> Proxy:
        """The proxy of ``oid`` (the cached one, or a new one holding a new reference)."""
        ref = self._proxies.get(oid)
        if ref is not None:
            found = ref()
            if found is not None:
                return found
        oid = self.check_id(oid)  # a Python int from here on (numpy ints are accepted)
        self.table.refcnt[oid] += 1
        self.table.extern[oid] += 1
        return self._adopt(oid)

    def _adopt(self: Any, oid: int) -> Proxy:
        """A proxy that takes over an external reference the caller already holds."""
        info = self.type_of(oid)
        cls = info.proxy_class or _PROXY_CLASSES[info.kind]
        proxy = object.__new__(cls)
        object.__setattr__(proxy, "_heap", self)
        object.__setattr__(proxy, "_id", oid)
        self._proxies[oid] = weakref.ref(proxy)
        return proxy

    def to_code(self: Any, value: object) -> int:
        """The slot code of a host value: a proxy of this heap or an atomic value."""
        if isinstance(value, Proxy):
            if value._heap is not self:
                raise ForeignObjectError(
                    f"{value._heap.describe(value._id)} belongs to another heap")
            if not self.table.is_alive(value._id):
                raise UseAfterFreeError(f"object {value._id} was deallocated")
            return value._id
        if AtomTable.is_atom_value(value):
            return int(self.atoms.code(value))
        raise TypeError(
            f"a simulated heap stores atoms (int, float, str, bytes, bool, None) and heap "
            f"objects; got a host {type(value).__name__} (build it with heap.list(), "
            f"heap.dict(), ...)"
        )

    def hashable_code(self: Any, value: object) -> int:
        """``to_code`` for a dict key or set element: lists, dicts and sets are unhashable."""
        code = int(self.to_code(value))
        if code >= 0 and self.type_of(code).kind in (Kind.LIST, Kind.DICT, Kind.SET):
            raise TypeError(f"unhashable type: '{self.type_of(code).name}'")
        return code

    def _kept_refs(self: Any, oid: int) -> tuple[int, str]:
        """HeapCore._kept_refs plus the reference a live proxy of ``oid`` owns (and those of
        proxies whose release is deferred): decref may not drop them."""
        kept, why = super()._kept_refs(oid)  # type: ignore[misc]  # cooperative mixin
        owned = self._proxy_owned(oid)
        if owned:
            why = (" (its proxy owns the remaining one)" if not kept else
                   " (the ones left are its proxy's and the simulation's static reference)")
        return kept + owned, why

    def _kept_refs_many(self: Any, codes: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
        """:meth:`_kept_refs` for every entry of ``codes``: proxies are matched vectorised, the
        few ids that have one are then asked one by one."""
        kept: npt.NDArray[np.int32] = super()._kept_refs_many(codes)  # type: ignore[misc]
        owners = np.fromiter(self._proxies, np.int64, len(self._proxies))
        if self._deferred_releases:
            owners = np.concatenate((owners, np.array(self._deferred_releases, np.int64)))
        hit = np.flatnonzero(np.isin(codes, owners))
        if len(hit):
            ids, where = np.unique(codes[hit], return_inverse=True)
            owned = np.array([self._proxy_owned(int(i)) for i in ids], np.int32)
            kept[hit] += owned[where]
        return kept

    def _proxy_owned(self: Any, oid: int) -> int:
        ref = self._proxies.get(oid)
        owned = 1 if ref is not None and ref() is not None else 0
        return owned + int(self._deferred_releases.count(oid))

    def from_code(self: Any, code: int) -> object:
        """The host value of a slot code: a proxy, an atom's value, or None for NULL."""
        if code >= 0:
            return self.proxy(code)
        if code == NULL:
            return None
        return self.atoms.value(code)


def _heap(p: Proxy) -> Heap:
    return p._heap


class ContainerProxy(Proxy):
    """Shared behaviour of the container proxies: length, repr."""

    __slots__ = ()

    def __len__(self) -> int:
        return int(_heap(self).table.ref_len[self._id])

    def __repr__(self) -> str:
        return render(_heap(self), self._id)


class MutableContainerProxy(ContainerProxy):
    """Containers with ``clear()``: emptied first, then the old references are dropped
    (list last to first), as their tp_clear does."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]

    def clear(self) -> None:
        """Empty the container, then drop the references it held."""
        heap = _heap(self)
        with heap.operation():
            heap.clear(self._id)


class ListProxy(MutableContainerProxy):
    """A simulated ``list``."""

    __slots__ = ()

    def _index(self, index: int, what: str = "list index") -> int:
        n = len(self)
        if not isinstance(index, int):
            raise TypeError(f"list indices must be integers or slices, not {type(index).__name__}")
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"{what} out of range")
        return index

    def __getitem__(self, index: int | slice) -> object:
        heap = _heap(self)
        if isinstance(index, slice):  # a new list, like list slicing
            return heap.list(heap.from_code(c) for c in heap.table.slot_list(self._id)[index])
        return heap.from_code(heap.table.get(self._id, self._index(index)))

    def __setitem__(self, index: int, value: object) -> None:
        heap = _heap(self)
        index = self._index(index, "list assignment index")
        heap.set_slot(self._id, index, heap.to_code(value))

    def __delitem__(self, index: int) -> None:
        _heap(self).delete_slot(self._id, self._index(index, "list assignment index"))

    def __iter__(self) -> Iterator[object]:
        index = 0
        while index < len(self):
            yield self[index]
            index += 1

    def __contains__(self, value: object) -> bool:
        code = _heap(self).to_code(value)
        return code in _heap(self).table.slot_list(self._id)

    def append(self, value: object) -> None:
        """Append ``value``."""
        heap = _heap(self)
        heap.append_slot(self._id, heap.to_code(value))

    def extend(self, values: Iterable[object]) -> None:
        """Append every value of ``values``."""
        for value in list(values):
            self.append(value)

    def insert(self, index: int, value: object) -> None:
        """Insert ``value`` before ``index`` (clamped like list.insert)."""
        n = len(self)
        index = max(0, min(n, index + n if index < 0 else index))
        heap = _heap(self)
        heap.insert_slot(self._id, index, heap.to_code(value))

    def pop(self, index: int = -1) -> object:
        """Remove and return the item at ``index``."""
        if len(self) == 0:
            raise IndexError("pop from empty list")
        index = self._index(index, "pop index")
        value = self[index]
        del self[index]
        return value

    def remove(self, value: object) -> None:
        """Remove the first item identical to ``value``."""
        code = _heap(self).to_code(value)
        values = _heap(self).table.slot_list(self._id)
        if code not in values:
            raise ValueError("list.remove(x): x not in list")
        del self[values.index(code)]

    def index(self, value: object) -> int:
        """Position of the first item identical to ``value``."""
        code = _heap(self).to_code(value)
        values = _heap(self).table.slot_list(self._id)
        if code not in values:
            raise ValueError(f"{value!r} is not in list")
        return values.index(code)

    def count(self, value: object) -> int:
        """Number of items identical to ``value``."""
        return _heap(self).table.slot_list(self._id).count(_heap(self).to_code(value))

    def copy(self) -> ListProxy:
        """A shallow copy (a new list)."""
        return self[:]  # type: ignore[return-value]

    def reverse(self) -> None:
        """Reverse in place (no reference changes)."""
        slots = _heap(self).table.slots(self._id)
        slots[:] = slots[::-1].copy()

    def __iadd__(self, values: Iterable[object]) -> ListProxy:
        self.extend(values)
        return self


class TupleProxy(ContainerProxy):
    """A simulated ``tuple``."""

    __slots__ = ()

    def __getitem__(self, index: int) -> object:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("tuple index out of range")
        return _heap(self).from_code(_heap(self).table.get(self._id, index))

    def __iter__(self) -> Iterator[object]:
        for index in range(len(self)):
            yield self[index]


class DictProxy(MutableContainerProxy):
    """A simulated ``dict`` (keys compare by identity; atoms are interned)."""

    __slots__ = ()

    def __len__(self) -> int:
        return _heap(self).dict_len(self._id)

    def __getitem__(self, key: object) -> object:
        heap = _heap(self)
        try:
            return heap.from_code(heap.dict_get(self._id, heap.to_code(key)))
        except KeyError:
            raise KeyError(key) from None

    def __setitem__(self, key: object, value: object) -> None:
        heap = _heap(self)
        key_code, value_code = heap.to_code(key), heap.to_code(value)
        if key_code >= 0 and heap.type_of(key_code).kind in (Kind.LIST, Kind.DICT, Kind.SET):
            raise TypeError(f"unhashable type: '{heap.type_of(key_code).name}'")
        with heap.operation():
            heap.dict_set(self._id, key_code, value_code)

    def __delitem__(self, key: object) -> None:
        heap = _heap(self)
        try:
            with heap.operation():
                heap.dict_delete(self._id, heap.to_code(key))
        except KeyError:
            raise KeyError(key) from None

    def __contains__(self, key: object) -> bool:
        heap = _heap(self)
        return heap.dict_find(self._id, heap.to_code(key)) >= 0

    def __iter__(self) -> Iterator[object]:
        return iter(self.keys())

    def keys(self) -> list[object]:
        """The keys, in insertion order (a list)."""
        heap = _heap(self)
        return [heap.from_code(c) for c in heap.table.slot_list(self._id)[0::2]]

    def values(self) -> list[object]:
        """The values, in insertion order (a list)."""
        heap = _heap(self)
        return [heap.from_code(c) for c in heap.table.slot_list(self._id)[1::2]]

    def items(self) -> list[tuple[object, object]]:
        """(key, value) pairs in insertion order."""
        return list(zip(self.keys(), self.values(), strict=False))

    def get(self, key: object, default: object = None) -> object:
        """The value for ``key``, or ``default``."""
        return self[key] if key in self else default

    def pop(self, key: object, *default: object) -> object:
        """Remove ``key`` and return its value."""
        if key not in self:
            if default:
                return default[0]
            raise KeyError(key)
        value = self[key]
        del self[key]
        return value

    def setdefault(self, key: object, default: object = None) -> object:
        """``self[key]``, storing ``default`` first if absent."""
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, other: Any = (), **kwargs: object) -> None:
        """Store every pair of ``other`` (a mapping or pairs) and ``kwargs``."""
        pairs = other.items() if hasattr(other, "items") else other
        for key, value in list(pairs) + list(kwargs.items()):
            self[key] = value

    def copy(self) -> DictProxy:
        """A shallow copy (a new dict)."""
        return _heap(self).dict(self.items())

    def popitem(self) -> tuple[object, object]:
        """Remove and return the last inserted (key, value) pair."""
        if len(self) == 0:
            raise KeyError("popitem(): dictionary is empty")
        key = self.keys()[-1]
        return key, self.pop(key)


class SetProxy(MutableContainerProxy):
    """A simulated ``set`` (elements in insertion order; identity membership)."""

    __slots__ = ()

    def __contains__(self, value: object) -> bool:
        return _heap(self).to_code(value) in _heap(self).table.slot_list(self._id)

    def __iter__(self) -> Iterator[object]:
        heap = _heap(self)
        return iter([heap.from_code(c) for c in heap.table.slot_list(self._id)])

    def add(self, value: object) -> None:
        """Add ``value`` unless present."""
        heap = _heap(self)
        code = heap.to_code(value)
        if code >= 0 and heap.type_of(code).kind in (Kind.LIST, Kind.DICT, Kind.SET):
            raise TypeError(f"unhashable type: '{heap.type_of(code).name}'")
        if code not in heap.table.slot_list(self._id):
            heap.append_slot(self._id, code)

    def discard(self, value: object) -> None:
        """Remove ``value`` if present."""
        heap = _heap(self)
        values = heap.table.slot_list(self._id)
        code = heap.to_code(value)
        if code in values:
            heap.delete_slot(self._id, values.index(code))

    def remove(self, value: object) -> None:
        """Remove ``value`` (KeyError if absent)."""
        if value not in self:
            raise KeyError(value)
        self.discard(value)


class WeakrefProxy(Proxy):
    """A simulated ``weakref.ref``: calling it gives the referent's proxy or None."""

    __slots__ = ()

    def __call__(self) -> object:
        heap = _heap(self)
        target = heap.weakref_target(self._id)
        return None if target == NULL else heap.proxy(target)

    @property
    def __callback__(self) -> object:
        return _heap(self).wr_callback.get(self._id)

    def __repr__(self) -> str:
        heap = _heap(self)
        target = heap.weakref_target(self._id)
        if target == NULL:
            return f"<weakref at 0x{self._id:x}; dead>"
        return (f"<weakref at 0x{self._id:x}; to '{heap.type_of(target).name}' "
                f"at 0x{target:x}>")


def render(heap: Any, oid: int, seen: set[int] | None = None) -> str:
    """repr() of a container, with ``[...]``/``{...}`` for recursion like CPython."""
    seen = set() if seen is None else seen
    kind = heap.type_of(oid).kind
    if oid in seen:
        return {Kind.LIST: "[...]", Kind.DICT: "{...}"}.get(kind, "(...)")
    seen.add(oid)

    def one(code: int) -> str:
        if code >= 0:
            info = heap.type_of(code)
            if info.kind in (Kind.LIST, Kind.TUPLE, Kind.DICT, Kind.SET):
                return render(heap, code, seen)
            return f"<{info.name} object at 0x{code:x}>"
        return "NULL" if code == NULL else repr(heap.atoms.value(code))

    values = heap.table.slot_list(oid)
    if kind is Kind.DICT:
        pairs = zip(values[0::2], values[1::2], strict=True)
        body = ", ".join(f"{one(k)}: {one(v)}" for k, v in pairs)
        out = "{" + body + "}"
    elif kind is Kind.LIST:
        out = "[" + ", ".join(one(v) for v in values) + "]"
    elif kind is Kind.TUPLE:
        out = "(" + ", ".join(one(v) for v in values) + ("," if len(values) == 1 else "") + ")"
    else:
        out = "{" + ", ".join(one(v) for v in values) + "}" if values else "set()"
    seen.discard(oid)
    return out


_PROXY_CLASSES: dict[Kind, type[Proxy]] = {
    Kind.LIST: ListProxy,
    Kind.TUPLE: TupleProxy,
    Kind.DICT: DictProxy,
    Kind.SET: SetProxy,
    Kind.WEAKREF: WeakrefProxy,
}


def register_proxy_class(kind: Kind, cls: type[Proxy]) -> None:
    """Install the proxy class for a kind (frames and modules register theirs)."""
    _PROXY_CLASSES[kind] = cls
