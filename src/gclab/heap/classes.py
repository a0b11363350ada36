"""Managed classes (``@heap.cls``), frames (``heap.frame()``) and the module namespace.

A managed class is turned into a proxy class: calling it allocates a simulated instance
(tracked at once, before ``__init__``), and attribute stores go to the heap. Its ``__del__``
becomes the simulated finalizer, run when the *simulated* object dies. The class's methods
are the proxy class's: their ``__class__`` cells are moved to it (as ``dataclass(slots=True)``
does), so zero-argument ``super()`` works; the decorated class itself is not meant to be used
afterwards.

Instances copy as CPython copies instances (``copy.copy``, ``copy.deepcopy``, see
:mod:`gclab.heap.proxies.copying`), compare by identity unless the class defines ``__eq__``,
and cannot be pickled.

>>> import copy, gclab
>>> heap = gclab.Heap()
>>> @heap.cls
... class Node:
...     def __init__(self, value):
...         self.value = value
>>> @heap.cls
... class Leaf(Node):
...     def __init__(self):
...         super().__init__(0)
>>> leaf = Leaf()
>>> other = copy.copy(leaf)
>>> other.value, other is leaf, other == leaf
(0, False, False)
>>> repr(leaf).startswith("<gclab.heap.classes.Leaf object at 0x")
True
"""

from __future__ import annotations

import functools
import threading
import types
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

from ..errors import HeapError
from .guard import guarded_operation
from .proxies import Proxy, register_proxy_class
from .proxies.base import cannot_pickle, check_settable
from .proxies.copying import copy_instance, instance_state
from .table import NULL
from .types import Kind, TypeInfo

if TYPE_CHECKING:
    from .core import HeapCore

_SKIP = frozenset({"__dict__", "__weakref__", "__slots__", "__del__", "__module__",
                   "__qualname__", "__doc__"})
_MISSING = object()


def _is_data_descriptor(value: object) -> bool:
    return hasattr(type(value), "__set__") or hasattr(type(value), "__delete__")


# -- __del__: the simulated finalizer, and a method user code may call ----------------------------

_RUNNING = threading.local()  # (id(heap), id) -> how many user __del__ calls are running on it


def _running() -> dict[tuple[int, int], int]:
    return _RUNNING.__dict__.setdefault("calls", {})


def _key(proxy: object) -> tuple[int, int]:
    return id(object.__getattribute__(proxy, "_heap")), object.__getattribute__(proxy, "_id")


def _finalizer_call(function: Callable[..., object]) -> Callable[..., object]:
    """``function`` (a class's ``__del__``), marking its object while it runs, so that a
    ``super().__del__()`` inside finds the base class's ``__del__``."""

    @functools.wraps(function)
    def call(obj: object, *args: object, **kwargs: object) -> object:
        key, running = _key(obj), _running()
        running[key] = running.get(key, 0) + 1
        try:
            return function(obj, *args, **kwargs)
        finally:
            running[key] -= 1
            if not running[key]:
                del running[key]

    return call


def _nothing() -> None:
    return None


class UserDel:
    """A managed class's ``__del__`` in its proxy class.

    The heap calls it as the *simulated* finalizer, when the simulated object dies; user code
    may call it too (``obj.__del__()``, ``super().__del__()`` in a subclass's ``__del__``), as
    in CPython, without deleting anything. When the host frees the proxy it finds nothing to
    do: the proxy's reference goes back through the proxy cache, never through ``__del__``.
    """

    def __init__(self, function: Callable[..., object]) -> None:
        self.function = _finalizer_call(function)

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self.function
        if _key(obj) in _running():  # user code of this object asks (super().__del__())
            return types.MethodType(self.function, obj)
        return _nothing  # the host finalizing the proxy


def _user_del(proxy: object) -> Any:
    """``proxy.__del__`` as user code reads it: the class's finalizer, bound."""
    for klass in type(proxy).__mro__:
        found = klass.__dict__.get("__del__")
        if isinstance(found, UserDel):
            return types.MethodType(found.function, proxy)
    raise AttributeError(f"'{type(proxy).__name__}' object has no attribute '__del__'")


class InstanceProxy(Proxy):
    """Base of the proxy classes made by ``@heap.cls``."""

    __slots__ = ()
    _info: TypeInfo
    _gclab_heap: weakref.ref[Any]

    def __new__(cls, *args: object, **kwargs: object) -> InstanceProxy:
        heap: Any = class_heap(cls)
        # allocation and proxy in one step (heap/interrupts.py)
        return guarded_operation(heap, _new_proxy, heap, cls._info)

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __getattribute__(self, name: str) -> Any:
        if name == "__dict__":
            return _instance_dict(self)
        if name == "__del__":
            return _user_del(self)
        if name in ("_heap", "_id", "__class__"):
            return object.__getattribute__(self, name)
        cls = type(self)
        class_attr = getattr(cls, name, _MISSING)
        if class_attr is _MISSING or not _is_data_descriptor(class_attr):
            heap: Any = object.__getattribute__(self, "_heap")
            oid = object.__getattribute__(self, "_id")
            info = cls._info
            if name in info.slot_names or name in info.shared_keys or heap.instance_dict(oid) >= 0:
                try:
                    return heap.from_code(heap.get_attr(oid, name))
                except AttributeError:
                    if class_attr is _MISSING:
                        raise
        return object.__getattribute__(self, name)

    def __setattr__(self, name: str, value: object) -> None:
        check_settable(self, name)
        if _is_data_descriptor(getattr(type(self), name, None)):
            object.__setattr__(self, name, value)
            return
        heap: Any = object.__getattribute__(self, "_heap")
        # interning and the store in one step
        guarded_operation(heap, _store_attr, heap, object.__getattribute__(self, "_id"), name,
                          value)

    def __delattr__(self, name: str) -> None:
        check_settable(self, name)
        heap: Any = self._heap
        with heap.operation():
            heap.del_attr(self._id, name)

    def __repr__(self) -> str:
        cls = type(self)
        return f"<{cls.__module__}.{cls.__qualname__} object at 0x{self._id:x}>"

    # -- copying and pickling --------------------------------------------------------------------

    def __copy__(self) -> object:
        return copy_instance(self, None)

    def __deepcopy__(self, memo: dict[int, Any]) -> object:
        return copy_instance(self, memo)

    def __getstate__(self) -> object:
        """``object.__getstate__``: the attributes (None if there are none), paired with the
        ``__slots__`` values that are set when there are any."""
        return instance_state(self)

    def __reduce_ex__(self, protocol: object) -> Any:
        if type(self).__reduce__ is not InstanceProxy.__reduce__:
            return self.__reduce__()  # the class's own, as object.__reduce_ex__ does
        raise TypeError(cannot_pickle(self))

    def __reduce__(self) -> NoReturn:
        raise TypeError(cannot_pickle(self))


def _new_proxy(heap: Any, info: TypeInfo) -> InstanceProxy:
    """A new instance of ``info`` and its proxy (inside an operation)."""
    return heap._adopt(heap._new_instance_nested(info))


def _store_attr(heap: Any, oid: int, name: str, value: object) -> None:
    """``obj.name = value`` on the heap (inside an operation)."""
    code = heap.quick_code(value)
    heap.set_attr(oid, name, heap.to_code(value) if code is None else code)


def _instance_dict(proxy: InstanceProxy) -> Any:
    """``obj.__dict__``: the separate dict (≤3.10 profiles), made now if it does not exist yet.

    Materialising a dict from inline values (3.11+, which turns one object into two, spec e2)
    is not modelled: that raises NotImplementedError rather than answering wrongly.
    """
    heap: Any = object.__getattribute__(proxy, "_heap")
    oid = object.__getattribute__(proxy, "_id")
    info = type(proxy)._info
    if not info.has_dict:
        raise AttributeError(f"'{info.name}' object has no attribute '__dict__'")
    if heap.profile.instance_dict != "separate":
        raise NotImplementedError(
            f"profile {heap.profile.name}: materialising __dict__ from inline values is not "
            f"simulated; read the attributes directly")
    with heap.operation():
        return heap.proxy(heap._ensure_dict(oid, info))


def class_heap(cls: type) -> Any:
    """The heap a managed class belongs to. The class refers to it weakly (the heap keeps its
    classes: a strong reference back would be a cycle that keeps a dropped heap's arrays until
    the host's cyclic collector runs); its instances' proxies keep the heap alive."""
    heap = cls._gclab_heap()  # type: ignore[attr-defined]
    if heap is None:
        raise HeapError(f"the heap of managed class {cls.__qualname__} no longer exists "
                        f"(keep the heap, or an instance, alive while the class is used)")
    return heap


def _is_managed(cls: type) -> bool:
    """True for a proxy class made by :func:`make_managed_class` (not a plain subclass)."""
    return issubclass(cls, InstanceProxy) and "_gclab_heap" in cls.__dict__


def _managed_base(heap: HeapCore, user_class: type) -> type[InstanceProxy]:
    """The proxy class ``user_class`` derives from (InstanceProxy for ``object``); TypeError
    for a class that is already managed, or a base that is not a managed class of ``heap``."""
    name = user_class.__qualname__
    if _is_managed(user_class):
        owner = "this heap" if user_class.__dict__["_gclab_heap"]() is heap else "another heap"
        raise TypeError(f"{name} is already a managed class (of {owner}); decorate the plain "
                        f"class once, with the heap that should hold its instances")
    bases = [b for b in user_class.__bases__ if b is not object]
    if not bases:
        return InstanceProxy
    base = bases[0]
    if len(bases) > 1 or not _is_managed(base):
        raise TypeError("a managed class may only derive from object or one managed class")
    if base.__dict__["_gclab_heap"]() is not heap:
        raise TypeError(f"{name} derives from {base.__qualname__}, a managed class of another "
                        f"heap; a managed class derives from managed classes of its own heap")
    return base


def make_managed_class(heap: HeapCore, user_class: type) -> type[InstanceProxy]:
    """Register ``user_class`` with the heap and return its proxy class."""
    if not isinstance(user_class, type):
        raise TypeError(f"heap.cls decorates a class, not {type(user_class).__name__}")
    base_proxy = _managed_base(heap, user_class)
    base_info: TypeInfo | None = (None if base_proxy is InstanceProxy else base_proxy._info)
    declared = user_class.__dict__.get("__slots__", _MISSING)
    if declared is _MISSING:
        names: list[str] = []
        has_dict, weakrefable = True, True
    else:
        names = [declared] if isinstance(declared, str) else list(declared)
        has_dict, weakrefable = "__dict__" in names, "__weakref__" in names
    own_slots = sorted(n for n in names if n not in ("__dict__", "__weakref__"))
    user_del = user_class.__dict__.get("__del__")
    own_del = UserDel(user_del) if user_del is not None else None
    finalizer = own_del.function if own_del is not None else None
    if base_info is not None:
        has_dict = has_dict or base_info.has_dict
        weakrefable = weakrefable or base_info.weakrefable
        finalizer = finalizer if finalizer is not None else base_info.finalizer
        own_slots = own_slots + list(base_info.slot_names)
    info = heap.types.add_class(user_class.__name__, slot_names=tuple(own_slots),
                                has_dict=has_dict, weakrefable=weakrefable, finalizer=finalizer)
    # The user class's own member descriptors for __slots__ must not reach the proxy class:
    # the heap stores slot values (a host descriptor would reject the proxy).
    namespace = {k: v for k, v in user_class.__dict__.items()
                 if k not in _SKIP and k not in names}
    namespace.update(__slots__=(), _info=info, _gclab_heap=weakref.ref(heap),
                     __module__=user_class.__module__, __qualname__=user_class.__qualname__,
                     __doc__=user_class.__doc__)
    if own_del is not None:
        namespace["__del__"] = own_del
    proxy_class = type(user_class.__name__, (base_proxy,), namespace)
    info.proxy_class = proxy_class
    for member in user_class.__dict__.values():  # __del__ too, which the namespace skips
        for function in _functions(member):
            _move_class_cell(function, user_class, proxy_class)
    return proxy_class


def _functions(member: object) -> Iterator[types.FunctionType]:
    """The plain functions a class attribute is made of: itself, the ``__func__`` of a
    classmethod or staticmethod, a property's accessors, and what each one wraps."""
    if isinstance(member, (classmethod, staticmethod)):
        member = member.__func__
    parts = [member.fget, member.fset, member.fdel] if isinstance(member, property) else [member]
    for part in parts:
        seen: set[int] = set()
        while part is not None and id(part) not in seen:
            seen.add(id(part))
            if isinstance(part, types.FunctionType):
                yield part
            part = getattr(part, "__wrapped__", None)


def _move_class_cell(function: types.FunctionType, old: type, new: type) -> None:
    """Point ``function``'s ``__class__`` cell (zero-argument ``super()``) at ``new``."""
    try:
        index = function.__code__.co_freevars.index("__class__")
    except ValueError:
        return
    cell = (function.__closure__ or ())[index]
    try:
        current = cell.cell_contents
    except ValueError:  # an empty cell
        return
    if current is old:
        cell.cell_contents = new


class NamespaceProxy(Proxy):
    """Attribute access to a frame's locals or a module's globals (name/value pairs)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        heap: Any = object.__getattribute__(self, "_heap")
        oid = object.__getattribute__(self, "_id")
        key = heap.atoms.find(name)  # a lookup interns nothing
        try:
            if key is None:
                raise KeyError(name)
            return heap.from_code(heap.dict_get(oid, key))
        except KeyError:
            raise AttributeError(f"no variable named {name!r}") from None

    def __setattr__(self, name: str, value: object) -> None:
        check_settable(self, name)
        heap: Any = self._heap
        with heap.operation():  # interning and the store in one step
            heap.dict_set(self._id, heap.atoms.code(name), heap.to_code(value))

    def __delattr__(self, name: str) -> None:
        check_settable(self, name)
        heap: Any = self._heap
        try:
            with heap.operation():
                key = heap.atoms.find(name)  # a lookup interns nothing
                if key is None:
                    raise KeyError(name)
                heap.dict_delete(self._id, key)
        except KeyError:
            raise AttributeError(f"no variable named {name!r}") from None

    def __dir__(self) -> list[str]:
        heap: Any = self._heap
        return [heap.atoms.value(k) for k in heap.table.slot_list(self._id)[0::2]]

    def __repr__(self) -> str:
        return f"<{self._heap.type_of(self._id).name} with {self.__dir__()}>"


class FrameProxy(NamespaceProxy):
    """A running function frame: ``with heap.frame() as f:`` calls it, ``f.x = ...`` binds a
    local, ``del f.x`` unbinds it, leaving the block returns.

    Locals are fixed slots in the order of their first binding (``co_varnames`` for
    straight-line code); ``del`` empties a slot and a later store refills the same slot; the
    return releases the values in slot order, inside the trashcan bracket of ``frame_dealloc``
    on 2.7 and 3.10 (see :meth:`~gclab.heap.containers.ContainersMixin.frame_return`).

    After the return every load, store or delete of a local, and a second return, raise
    :class:`gclab.FrameReturnedError` (a ``HeapError`` and a ``RuntimeError``) and change
    nothing. Reading an unbound local raises AttributeError, like ``NameError`` in Python.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        heap: Any = object.__getattribute__(self, "_heap")
        oid = object.__getattribute__(self, "_id")
        return heap.from_code(heap.frame_load(oid, name))

    def __setattr__(self, name: str, value: object) -> None:
        check_settable(self, name)
        heap: Any = self._heap
        with heap.operation():  # interning and the store in one step
            heap.frame_store(self._id, name, heap.to_code(value))

    def __delattr__(self, name: str) -> None:
        check_settable(self, name)
        self._heap.frame_delete(self._id, name)

    def __dir__(self) -> list[str]:
        return self._heap.frame_locals(self._id)

    def __enter__(self) -> FrameProxy:
        self._heap._running_frame(self._id)
        return self

    def __exit__(self, *exc: object) -> None:
        self._heap.frame_return(self._id)


register_proxy_class(Kind.FRAME, FrameProxy)
register_proxy_class(Kind.MODULE, NamespaceProxy)

__all__ = ["NULL", "FrameProxy", "InstanceProxy", "NamespaceProxy", "make_managed_class"]
