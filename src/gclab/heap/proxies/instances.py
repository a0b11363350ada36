"""Fast paths of managed instances (``@heap.cls``): making one, storing and reading an attribute.

:class:`~gclab.heap.classes.InstanceProxy` is the specification; :func:`new_instance_proxy`,
:func:`set_instance_attr` and :func:`get_instance_attr` are its twins for ``Node()``,
``node.attr = value`` and ``node.attr``, the steps a program repeats most, and do the same
steps in the same order with less host work:
the proxy's link is read through the slots' descriptors (not through the class's
``__getattribute__`` hook), the data-descriptor test runs only for a name the class defines,
and the new object is adopted without the proxy cache's live-proxy checks (a new object has no
proxy). :func:`install_fast_paths` puts them on a proxy class made by
:func:`~gclab.heap.classes.make_managed_class` where that class still uses InstanceProxy's own
methods (a user ``__new__``, ``__setattr__`` or ``__getattribute__`` is left alone), and
``tests/test_proxy_fast_paths.py`` runs random programs both ways on twin heaps and compares
every column.

>>> import gclab
>>> heap = gclab.Heap()
>>> @heap.cls
... class Node:
...     pass
>>> node = Node()
>>> node.next = Node()
>>> node._id = 3
Traceback (most recent call last):
...
AttributeError: 'Node' object attribute '_id' is read-only (it links the proxy to its heap object)
"""

from __future__ import annotations

from typing import Any

from ..classes import InstanceProxy, _is_data_descriptor, _store_attr, class_heap
from ..guard import guarded_operation
from ..interrupts import INTERRUPTS
from ..table import NULL
from ..types import TypeInfo
from .base import _HEAP_OF, _ID_OF, Proxy, check_settable

_REFUSED = frozenset({"_heap", "_id", "__class__"})  # check_settable raises for these
_MISSING = object()


def new_instance_proxy(cls: type[InstanceProxy], *args: object,
                       **kwargs: object) -> InstanceProxy:
    """``cls()``'s ``__new__``: a new simulated instance and its proxy, in one operation."""
    heap: Any = class_heap(cls)
    return guarded_operation(heap, _new_proxy, heap, cls._info)  # type: ignore[return-value]


def _new_proxy(heap: Any, info: TypeInfo) -> Proxy:
    """A new instance of ``info`` and its proxy (inside an operation)."""
    oid = heap._new_instance_nested(info)
    return heap._adopt_new(oid, info.proxy_class)


def set_instance_attr(self: InstanceProxy, name: str, value: object) -> None:
    """``self.name = value``: a data descriptor of the class (a property, a host slot) takes
    it, else the heap stores it (interning and the store in one operation)."""
    if name in _REFUSED:
        check_settable(self, name)
    class_attr = getattr(type(self), name, _MISSING)
    if class_attr is not _MISSING and _is_data_descriptor(class_attr):
        object.__setattr__(self, name, value)
        return
    heap: Any = _HEAP_OF(self)
    guarded_operation(heap, _store_attr, heap, _ID_OF(self), name, value)


_HOOKED = frozenset({"__dict__", "__del__", "_heap", "_id", "__class__"})  # special cases


def get_instance_attr(self: InstanceProxy, name: str) -> Any:
    """``self.name``: InstanceProxy's ``__getattribute__`` with its common case flat: an
    inline attribute (a name of the class's shared keys, no ``__slots__`` entry, no
    materialised ``__dict__``, no data descriptor on the class) that is set is read straight
    from the pool (an atom's value, or the object's live proxy from the cache, else through
    the guarded ``proxy``);
    everything else, an unset attribute included, takes InstanceProxy's own hook."""
    cls = type(self)
    info = cls._info
    if name in _HOOKED or name not in info.shared_keys or name in info.slot_names:
        return InstanceProxy.__getattribute__(self, name)
    class_attr = getattr(cls, name, _MISSING)
    if class_attr is not _MISSING and _is_data_descriptor(class_attr):
        return InstanceProxy.__getattribute__(self, name)
    heap: Any = _HEAP_OF(self)
    if not info.has_dict or heap.profile.instance_dict != "inline":
        return InstanceProxy.__getattribute__(self, name)
    t = heap.table
    oid: int = _ID_OF(self)
    base = len(info.slot_names)  # the dict slot; the inline values follow it
    start: int = t.mv_ref_start[oid]
    index = base + 1 + info.shared_keys.index(name)
    if t.mv_pool[start + base] != NULL or index >= t.mv_ref_len[oid]:
        return InstanceProxy.__getattribute__(self, name)
    code: int = t.mv_pool[start + index]
    if code == NULL:  # unset: the class attribute, or the AttributeError, as the hook gives
        return InstanceProxy.__getattribute__(self, name)
    if code < 0:
        return heap.atoms.value(code)
    ref = heap._proxies.get(code)  # proxy()'s cache hit, where its guard would change nothing
    if ref is not None and not heap.shut_down and heap._interrupts_seen == INTERRUPTS.raised:
        found = ref()
        if found is not None:
            return found
    return heap.proxy(code)


def install_fast_paths(proxy_class: type[InstanceProxy]) -> None:
    """Give ``proxy_class`` the twins of InstanceProxy's ``__new__``, ``__setattr__`` and
    ``__getattribute__`` where it inherits InstanceProxy's own (a class, or a base, that
    defines one keeps it)."""
    if proxy_class.__new__ is InstanceProxy.__new__:
        proxy_class.__new__ = staticmethod(new_instance_proxy)  # type: ignore[method-assign]
    if proxy_class.__setattr__ is InstanceProxy.__setattr__:
        proxy_class.__setattr__ = set_instance_attr  # type: ignore[method-assign]
    if proxy_class.__getattribute__ is InstanceProxy.__getattribute__:
        proxy_class.__getattribute__ = get_instance_attr  # type: ignore[method-assign]


__all__ = ["get_instance_attr", "install_fast_paths", "new_instance_proxy", "set_instance_attr"]
