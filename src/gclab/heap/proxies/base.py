"""The proxy base class and the heap's side of proxies: converting host values to slot codes.

A proxy holds exactly one simulated reference to its object (architecture decision 6) and
releases it when the host drops the proxy, so ``a = heap.list(); del a`` behaves as in CPython.
There is at most one live proxy per object, so ``x.b is y`` works as expected.

A proxy's link to its object (``_heap``, ``_id``) cannot be reassigned or deleted, and a proxy
cannot change its class: either would make it release a reference it never took.

>>> import gclab
>>> heap = gclab.Heap()
>>> lst = heap.list([1])
>>> lst._id = 5
Traceback (most recent call last):
...
AttributeError: 'list' object attribute '_id' is read-only (it links the proxy to its heap object)
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import numpy as np
import numpy.ma
import numpy.typing as npt

from ...errors import ForeignObjectError, UseAfterFreeError
from ..atoms import AtomTable
from ..flags import ALIVE
from ..guard import guard_proxy_methods
from ..table import NULL
from ..types import Kind

if TYPE_CHECKING:  # the full heap (core + proxies), for type checking only
    from ...simheap import Heap

# numpy.ma is imported above, not lazily: numba's typeof asks for ``np.ma`` at the first
# compiled call with an array, and a proxy released by the host's garbage collector in the
# middle of that first import would run the compiled cascade, ask again, and recurse without end.

RESERVED = frozenset({"_heap", "_id"})
_ATOM_TYPES = frozenset(AtomTable.ATOM_TYPES)
_C = TypeVar("_C", bound=type)
_F = TypeVar("_F", bound=Callable[..., Any])


def takes_lock(function: _F) -> _F:
    """Mark a proxy method that takes the heap's lock itself (through
    :func:`~gclab.heap.guard.guarded_operation`): :func:`guard_proxy_methods` leaves it
    unwrapped, so the lock and the operation's bracket are entered once, not twice."""
    function.__gclab_guarded__ = True  # type: ignore[attr-defined]
    return function


def simulates(name: str) -> Callable[[_C], _C]:
    """Class decorator: the proxy class takes the simulated type's ``__name__``.

    The interpreter names types by ``__name__`` in its own messages, so ``hash(lst)`` says
    ``unhashable type: 'list'`` and ``lst < 1`` says ``'<' not supported between instances of
    'list' and 'int'``, as for the real type; ``__qualname__`` keeps the class's own name.
    """

    def rename(cls: _C) -> _C:
        cls.__name__ = name
        return cls

    return rename


def read_only(proxy: object, name: str) -> AttributeError:
    """The error for assigning or deleting a proxy's link to its object."""
    return AttributeError(f"'{type(proxy).__name__}' object attribute '{name}' is read-only "
                          f"(it links the proxy to its heap object)")


def check_settable(proxy: object, name: str) -> None:
    """Refuse ``_heap``, ``_id`` and ``__class__``: a proxy stands for one object for life."""
    if name in RESERVED:
        raise read_only(proxy, name)
    if name == "__class__":
        raise TypeError(f"__class__ assignment is not supported: a simulated "
                        f"'{type(proxy).__name__}' object cannot change its type")


class Proxy:
    """Base of every proxy: the heap and the id; one reference held while alive.

    The reference is released when the host frees the proxy, by the callback of the weak
    reference the heap's proxy cache keeps (:class:`ProxyRef`), not by a ``__del__``: no call
    made by user code (``obj.__del__()``, ``super().__del__()``) can release it twice.

    Equality and hashing are by identity (the simulated object's); container proxies override
    them with the semantics of the type they stand for.
    """

    __slots__ = ("__weakref__", "_heap", "_id")
    _heap: Heap
    _id: int

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """gclab's own proxy classes take the heap's lock in their methods (heap/guard.py);
        the proxy classes made for user classes (their module is the user's) do not: a user
        method may wait for another thread."""
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("gclab."):
            guard_proxy_methods(cls)

    def __setattr__(self, name: str, value: object) -> None:
        check_settable(self, name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        check_settable(self, name)
        object.__delattr__(self, name)

    def __repr__(self) -> str:
        return f"<{self._heap.type_of(self._id).name} object at 0x{self._id:x}>"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Proxy) and other._heap is self._heap and other._id == self._id:
            return True
        return NotImplemented

    def __hash__(self) -> int:
        return hash((id(self._heap), self._id))

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError(cannot_pickle(self))

    def __reduce__(self) -> NoReturn:
        raise TypeError(cannot_pickle(self))


guard_proxy_methods(Proxy)

# A proxy's link read and written through the slots' descriptors: no ``__getattribute__`` hook
# of an instance proxy runs on reads, and writes bypass the ``__setattr__`` that refuses them
_NEW_OBJECT = object.__new__
_HEAP_OF = Proxy.__dict__["_heap"].__get__
_ID_OF = Proxy.__dict__["_id"].__get__
_SET_HEAP = Proxy.__dict__["_heap"].__set__
_SET_ID = Proxy.__dict__["_id"].__set__


def cannot_pickle(proxy: Proxy) -> str:
    """Why a proxy cannot be pickled (or copied, for frames and module namespaces)."""
    info = proxy._heap.type_of(proxy._id)
    if info.kind in (Kind.FRAME, Kind.MODULE):  # CPython cannot pickle these either
        return f"cannot pickle '{info.name}' object"
    return (f"cannot pickle '{info.name}' object: it lives on a simulated heap "
            f"(gclab objects exist only in their Heap)")


class ProxyRef(weakref.ref):
    """The proxy cache's weak reference to a proxy (``oid``: its object); its callback
    releases the reference the proxy held when the host frees it."""

    __slots__ = ("done", "heap", "oid")
    oid: int
    heap: weakref.ref[Any]
    done: bool  # the reference was given back (by the callback, or by a recovery)


def _proxy_freed(ref: ProxyRef) -> None:
    """The callback of every ProxyRef: the proxy died, its heap (if alive) takes it back."""
    heap = ref.heap()
    if heap is not None and not heap.shut_down:  # after shutdown: nothing to give back
        heap._release_proxy(ref)


class ProxyHeap:
    """Mixin for :class:`HeapCore`: converting between host values and slot codes."""

    _proxies: dict[int, ProxyRef]

    def _init_proxies(self: Any) -> None:
        self._proxies = {}
        # type id -> its proxy class, filled on first use (:meth:`_proxy_class`)
        self._proxy_classes: dict[int, type[Proxy]] = {}
        # What every ProxyRef knows its heap by: a weak reference, so that the cache's
        # references to the heap form no cycle (a dropped heap is freed at once)
        self._self_ref = weakref.ref(self)

    def wrap(self: Any, oid: int) -> Proxy:
        """The proxy finalizers and weakref callbacks receive (HeapCore.wrap)."""
        return self.proxy(oid)

    def _release_proxy(self: Any, ref: ProxyRef) -> None:
        """A proxy was freed by the host: drop its cache entry (unless a newer proxy of the
        object has replaced it) and the reference it held (deferred during collector phases)."""
        if ref.done or self.shut_down or sys.is_finalizing():  # given back already, or the
            return  # simulation or the host has exited
        ref.done = True
        oid, proxies = ref.oid, self._proxies
        if proxies.get(oid) is ref:
            del proxies[oid]
        self._release_nested(oid)  # guarded: the lock is held (release_external, flat)

    def recover_lost_releases(self: Any) -> None:
        """Give back the references of dead proxies whose callback never finished: a
        KeyboardInterrupt can land on a callback's first bytecodes, before it takes the heap
        (heap/interrupts.py; run at the next entry point after such an interrupt)."""
        for ref in [r for r in self._proxies.values() if r() is None]:
            self._release_proxy(ref)

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("cannot pickle 'Heap' object: a simulated heap and its objects exist "
                        "only in this process")

    def proxy(self: Any, oid: int) -> Proxy:
        """The proxy of ``oid`` (the cached one, or a new one holding a new reference)."""
        ref = self._proxies.get(oid)
        if ref is not None:
            found = ref()
            if found is not None:
                return found
        oid = self.check_id(oid)  # a Python int from here on (numpy ints are accepted)
        self.take_external(oid)
        return self._adopt(oid)

    def _adopt(self: Any, oid: int) -> Proxy:
        """A proxy that takes over an external reference the caller already holds. If ``oid``
        has a live proxy already (``heap.weakref(x)`` returns the shared basic weakref), that
        one is returned and the caller's reference dropped: one live proxy per object, each
        proxy's ``ProxyRef`` in the cache for as long as the proxy lives."""
        ref = self._proxies.get(oid)
        if ref is not None:
            found = ref()
            if found is not None:
                self.drop_external_kept(oid)  # the live proxy holds a reference: not the last
                return found
            self._release_proxy(ref)  # a dead proxy whose callback has not run (or was
            # interrupted): the caller's reference keeps the object alive
        cls = self._proxy_classes.get(self.table.mv_type_id[oid])
        return self._new_proxy(oid, self._proxy_class(oid) if cls is None else cls)

    def _adopt_new(self: Any, oid: int, cls: type[Proxy]) -> Proxy:
        """:meth:`_adopt` of an object the caller has just made (of a type whose proxy class
        is ``cls``): no proxy of it can exist yet, unless its id was reused while a dead
        proxy's release is still pending, which the general path handles."""
        if oid in self._proxies:
            return self._adopt(oid)
        return self._new_proxy(oid, cls)

    def _proxy_class(self: Any, oid: int) -> type[Proxy]:
        """The proxy class of ``oid``'s type (a managed class's own, else its kind's),
        remembered per type id once the type has it for good."""
        info = self.type_of(oid)
        cls: type[Proxy] = info.proxy_class or _PROXY_CLASSES[info.kind]
        if info.proxy_class is not None or info.kind is not Kind.INSTANCE:
            self._proxy_classes[info.type_id] = cls
        return cls

    def _new_proxy(self: Any, oid: int, cls: type[Proxy]) -> Proxy:
        """A new ``cls`` proxy of ``oid`` owning the caller's external reference, entered in
        the proxy cache (the slots are written through their descriptors: no ``__setattr__``
        hook runs)."""
        proxy = _NEW_OBJECT(cls)
        _SET_HEAP(proxy, self)
        _SET_ID(proxy, oid)
        ref = ProxyRef(proxy, _proxy_freed)
        ref.oid = oid
        ref.heap = self._self_ref
        ref.done = False
        self._proxies[oid] = ref
        return proxy

    def quick_code(self: Any, value: object) -> int | None:
        """The slot code of ``value`` when it is a live proxy of this heap or an atom already
        interned, else None (then take the checked path, :meth:`to_code`). Nothing is
        interned and nothing raises."""
        if isinstance(value, Proxy):
            if _HEAP_OF(value) is self:
                oid: int = _ID_OF(value)
                if self.table.mv_flags[oid] & ALIVE:
                    return oid
            return None
        if type(value) in _ATOM_TYPES:
            return self.atoms.find(value)
        return None

    def to_code(self: Any, value: object) -> int:
        """The slot code of a host value to store: a proxy of this heap or an atomic value
        (interned on first use)."""
        self.check_storable(value)
        if isinstance(value, Proxy):
            return _ID_OF(value)
        return int(self.atoms.code(value))

    def check_storable(self: Any, value: object) -> None:
        """Raise the error storing ``value`` would raise (nothing is interned)."""
        if isinstance(value, Proxy):
            heap, oid = _HEAP_OF(value), _ID_OF(value)
            if heap is not self:
                raise ForeignObjectError(f"{heap.describe(oid)} belongs to another heap")
            if not self.table.is_alive(oid):
                raise UseAfterFreeError(f"object {oid} was deallocated")
        elif not AtomTable.is_atom_value(value):
            raise TypeError(
                f"a simulated heap stores atoms (int, float, str, bytes, bool, None) and heap "
                f"objects; got a host {type(value).__name__} (build it with heap.list(), "
                f"heap.dict(), ...)"
            )

    def to_codes(self: Any, values: Sequence[object]) -> list[int]:
        """``to_code`` of each value, every one checked before the first atom is interned."""
        for value in values:
            self.check_storable(value)
        code = self.atoms.code
        return [_ID_OF(value) if isinstance(value, Proxy) else int(code(value))
                for value in values]

    def hashable_codes(self: Any, values: Sequence[object]) -> list[int]:
        """``hashable_code`` of each value, every one checked before any is interned."""
        for value in values:
            hash(value)
        return self.to_codes(values)

    def find_code(self: Any, value: object) -> int | None:
        """The slot code ``value`` has if some slot of this heap can hold it, else None: an
        atom never stored, a host object, a proxy of another heap. Nothing is interned."""
        if isinstance(value, Proxy):
            oid: int = _ID_OF(value)
            if _HEAP_OF(value) is not self or not self.table.is_alive(oid):
                return None
            return oid
        found = self.atoms.find(value)
        return None if found is None else int(found)

    def hashable_code(self: Any, value: object) -> int:
        """``to_code`` for a dict key or set element: hashed first, so lists, dicts, sets and
        tuples holding them raise CPython's ``TypeError: unhashable type``."""
        hash(value)
        return int(self.to_code(value))

    def lookup_code(self: Any, value: object) -> int | None:
        """``find_code`` for a dict key or set element lookup: hashed first, as CPython does."""
        hash(value)
        return self.find_code(value)

    def _kept_refs(self: Any, oid: int) -> tuple[int, str]:
        """HeapCore._kept_refs plus the reference a live proxy of ``oid`` owns (and those of
        proxies whose release is deferred): decref may not drop them."""
        kept, why = super()._kept_refs(oid)  # type: ignore[misc]  # cooperative mixin
        owned = self._proxy_owned(oid)
        if owned:
            why = (" (its proxy owns the remaining one)" if not kept else
                   " (the ones left are its proxy's and the simulation's static reference)")
        return kept + owned, why

    def _kept_count(self: Any, oid: int) -> int:
        """The count of :meth:`_kept_refs` alone (no message)."""
        kept: int = self.static_refs.get(oid, 0)
        ref = self._proxies.get(oid)
        if ref is not None and ref() is not None:
            kept += 1
        if self._deferred_releases:
            kept += self._deferred_releases.count(oid)
        return kept

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


def heap_of(p: Proxy) -> Heap:
    """The heap of a proxy (read without the instance proxies' attribute hook)."""
    return _HEAP_OF(p)


def same_heap(p: Proxy, other: object) -> bool:
    """True when ``other`` is a proxy of ``p``'s heap."""
    return isinstance(other, Proxy) and heap_of(other) is heap_of(p)


# -- repr of recursive structures (CPython's Py_ReprEnter / Py_ReprLeave) -------------------------

_REPRS = threading.local()


def guarded_repr(proxy: Proxy, body: Callable[[], str], recursive: str) -> str:
    """``body()``, or ``recursive`` if ``proxy``'s object is already being repr'd on this
    thread (``[...]``, ``{...}``, ``(...)``): a user ``__repr__`` that reprs a container
    holding it does not recurse for ever."""
    active: set[tuple[int, int]] = _REPRS.__dict__.setdefault("active", set())
    key = (id(heap_of(proxy)), proxy._id)
    if key in active:
        return recursive
    active.add(key)
    try:
        return body()
    finally:
        active.discard(key)


def live_range(proxy: Any) -> Iterator[int]:
    """0, 1, ... while below ``len(proxy)``, read again at every step: a repr that runs user
    code (an element's ``__repr__``) sees the container as it is now, as CPython's do."""
    index = 0
    while index < len(proxy):
        yield index
        index += 1


_PROXY_CLASSES: dict[Kind, type[Proxy]] = {}


def register_proxy_class(kind: Kind, cls: type[Proxy]) -> None:
    """Install the proxy class for a kind (frames and modules register theirs)."""
    _PROXY_CLASSES[kind] = cls


class ContainerProxy(Proxy):
    """Shared behaviour of the container proxies: length and slot access."""

    __slots__ = ()

    def __len__(self) -> int:
        return int(heap_of(self).table.ref_len[self._id])

    def _codes(self) -> list[int]:
        """The slot codes, now (a copy)."""
        return heap_of(self).table.slot_list(self._id)

    def _value(self, index: int) -> object:
        """The host value in slot ``index`` (a proxy holds a reference while it lives)."""
        heap = heap_of(self)
        return heap.from_code(heap.table.get(self._id, index))

    def _repr_of(self, index: int) -> str:
        """repr() of slot ``index`` (``NULL`` for an empty slot the low-level API left)."""
        code = heap_of(self).table.get(self._id, index)
        return "NULL" if code == NULL else repr(self._value(index))


class MutableContainerProxy(ContainerProxy):
    """Containers with ``clear()``: emptied first, then the old references are dropped
    (list last to first), as their tp_clear does."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]

    def clear(self) -> None:
        """Empty the container, then drop the references it held."""
        heap = heap_of(self)
        with heap.operation():
            heap.clear(self._id)
