"""Managed classes (``@heap.cls``), frames (``heap.frame()``) and the module namespace.

A managed class is turned into a proxy class: calling it allocates a simulated instance
(tracked at once, before ``__init__``), and attribute stores go to the heap. Its ``__del__``
becomes the simulated finalizer, run when the *simulated* object dies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .proxies import Proxy, register_proxy_class
from .table import NULL
from .types import Kind, TypeInfo

if TYPE_CHECKING:
    from .core import HeapCore

_SKIP = frozenset({"__dict__", "__weakref__", "__slots__", "__del__", "__module__",
                   "__qualname__", "__doc__"})
_MISSING = object()


def _is_data_descriptor(value: object) -> bool:
    return hasattr(type(value), "__set__") or hasattr(type(value), "__delete__")


class InstanceProxy(Proxy):
    """Base of the proxy classes made by ``@heap.cls``."""

    __slots__ = ()
    _info: TypeInfo
    _gclab_heap: Any

    def __new__(cls, *args: object, **kwargs: object) -> InstanceProxy:
        heap: Any = cls._gclab_heap
        oid = heap.new_instance(cls._info)
        return heap._adopt(oid)  # type: ignore[no-any-return]

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __getattribute__(self, name: str) -> Any:
        if name == "__dict__":
            return _instance_dict(self)
        if name in ("_heap", "_id", "__class__", "_info"):
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
        if _is_data_descriptor(getattr(type(self), name, None)):
            object.__setattr__(self, name, value)
            return
        heap: Any = self._heap
        code = heap.to_code(value)
        with heap.operation():
            heap.set_attr(self._id, name, code)

    def __delattr__(self, name: str) -> None:
        heap: Any = self._heap
        with heap.operation():
            heap.del_attr(self._id, name)

    def __repr__(self) -> str:
        return f"<{type(self).__qualname__} object at 0x{self._id:x}>"


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


def make_managed_class(heap: HeapCore, user_class: type) -> type[InstanceProxy]:
    """Register ``user_class`` with the heap and return its proxy class."""
    if not isinstance(user_class, type):
        raise TypeError(f"heap.cls decorates a class, not {type(user_class).__name__}")
    bases = [b for b in user_class.__bases__ if b is not object]
    base_info: TypeInfo | None = None
    base_proxy: type[InstanceProxy] = InstanceProxy
    if bases:
        if len(bases) > 1 or not issubclass(bases[0], InstanceProxy):
            raise TypeError("a managed class may only derive from object or one managed class")
        base_proxy = bases[0]
        base_info = base_proxy._info
    declared = user_class.__dict__.get("__slots__", _MISSING)
    if declared is _MISSING:
        names: list[str] = []
        has_dict, weakrefable = True, True
    else:
        names = [declared] if isinstance(declared, str) else list(declared)  # type: ignore[call-overload]
        has_dict, weakrefable = "__dict__" in names, "__weakref__" in names
    own_slots = sorted(n for n in names if n not in ("__dict__", "__weakref__"))
    finalizer = user_class.__dict__.get("__del__")
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
    namespace.update(__slots__=(), _info=info, _gclab_heap=heap,
                     __module__=user_class.__module__, __qualname__=user_class.__qualname__,
                     __doc__=user_class.__doc__)
    proxy_class = type(user_class.__name__, (base_proxy,), namespace)
    info.proxy_class = proxy_class
    return proxy_class


class NamespaceProxy(Proxy):
    """Attribute access to a frame's locals or a module's globals (name/value pairs)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        heap: Any = object.__getattribute__(self, "_heap")
        oid = object.__getattribute__(self, "_id")
        try:
            return heap.from_code(heap.dict_get(oid, heap.atoms.code(name)))
        except KeyError:
            raise AttributeError(f"no variable named {name!r}") from None

    def __setattr__(self, name: str, value: object) -> None:
        heap: Any = self._heap
        code = heap.to_code(value)
        with heap.operation():
            heap.dict_set(self._id, heap.atoms.code(name), code)

    def __delattr__(self, name: str) -> None:
        heap: Any = self._heap
        try:
            with heap.operation():
                heap.dict_delete(self._id, heap.atoms.code(name))
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
        heap: Any = self._heap
        heap.frame_store(self._id, name, heap.to_code(value))

    def __delattr__(self, name: str) -> None:
        self._heap.frame_delete(self._id, name)

    def __dir__(self) -> list[str]:
        return self._heap.frame_locals(self._id)  # type: ignore[no-any-return]

    def __enter__(self) -> FrameProxy:
        self._heap._running_frame(self._id)
        return self

    def __exit__(self, *exc: object) -> None:
        self._heap.frame_return(self._id)


register_proxy_class(Kind.FRAME, FrameProxy)
register_proxy_class(Kind.MODULE, NamespaceProxy)

__all__ = ["NULL", "FrameProxy", "InstanceProxy", "NamespaceProxy", "make_managed_class"]
