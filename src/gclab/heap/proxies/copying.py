"""``copy.copy`` and ``copy.deepcopy`` of heap objects, with CPython's semantics on the heap.

* a list, dict or set copies into a new simulated object holding the same items; a tuple and a
  weak reference are their own copy (``copy.copy((1,)) is`` the tuple, as in CPython);
* a managed instance is copied as ``copy`` copies an instance: a new instance made without
  ``__init__``, its state (``__getstate__``: the attributes, ``__slots__`` apart) stored
  shallowly; the class's own ``__copy__``, ``__deepcopy__``, ``__reduce_ex__``/``__reduce__``,
  ``__getstate__``/``__setstate__`` and ``__getnewargs__`` are used when it defines them;
* ``deepcopy`` recurses with the memo, so a deep copy of a cycle is a new cycle (sets too:
  CPython rebuilds a set from its deep-copied items before remembering it, which copies a set
  reached again through its own items twice; here it is one new set);
* frames and the module namespace cannot be copied: ``TypeError: cannot pickle 'frame'
  object``, raised by a deep copy before anything is allocated when one is reachable.

>>> import copy, gclab
>>> heap = gclab.Heap()
>>> a = heap.list([1]); a.append(a)
>>> b = copy.deepcopy(a)
>>> b, b is not a, b[1] is b
([1, [...]], True, True)
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..table import NULL
from ..types import Kind
from .base import Proxy, heap_of

if TYPE_CHECKING:
    from ...simheap import Heap

_CHECKED = object()  # memo[id(_CHECKED)]: the objects a deep copy already checked
_Memo = dict[int, Any]


def deep_copy(proxy: Proxy, memo: _Memo) -> object:
    """``copy.deepcopy(proxy, memo)`` for the built-in kinds (the ``__deepcopy__`` hook)."""
    check_deep_copyable(proxy, memo)
    kind = heap_of(proxy).type_of(proxy._id).kind
    return _DEEP[kind](proxy, memo)


def check_deep_copyable(proxy: Proxy, memo: _Memo) -> None:
    """TypeError, before anything is allocated, when the deep copy would reach a frame or the
    module namespace. Instances whose class copies itself its own way are not entered."""
    heap = heap_of(proxy)
    checked: set[tuple[int, int]] = memo.setdefault(id(_CHECKED), set())
    stack = [proxy._id]
    while stack:
        oid = stack.pop()
        if (id(heap), oid) in checked:
            continue
        checked.add((id(heap), oid))
        info = heap.type_of(oid)
        if info.kind in (Kind.FRAME, Kind.MODULE):
            raise TypeError(f"cannot pickle '{info.name}' object")
        if info.kind is Kind.INSTANCE and has_copy_hooks(info.proxy_class):
            continue
        stack.extend(code for code in heap.table.slot_list(oid) if code >= 0)


def _deep_list(proxy: Any, memo: _Memo) -> object:
    copied = heap_of(proxy).list()
    memo[id(proxy)] = copied
    for item in proxy:
        copied.append(copy.deepcopy(item, memo))
    return copied


def _deep_dict(proxy: Any, memo: _Memo) -> object:
    copied = heap_of(proxy).dict()
    memo[id(proxy)] = copied
    for key, value in proxy.items():
        copied[copy.deepcopy(key, memo)] = copy.deepcopy(value, memo)
    return copied


def _deep_set(proxy: Any, memo: _Memo) -> object:
    copied = heap_of(proxy).set()
    memo[id(proxy)] = copied
    for item in proxy:
        copied.add(copy.deepcopy(item, memo))
    return copied


def _deep_tuple(proxy: Any, memo: _Memo) -> object:
    items = list(proxy)
    copies = [copy.deepcopy(item, memo) for item in items]
    if id(proxy) in memo:  # reached again through its own items
        return memo[id(proxy)]
    if all(a is b for a, b in zip(items, copies, strict=True)):
        return proxy
    return heap_of(proxy).tuple(copies)


def _itself(proxy: Proxy, memo: _Memo) -> object:
    return proxy  # a weak reference is atomic to copy


def _refuse(proxy: Proxy, memo: _Memo) -> object:
    raise TypeError(f"cannot pickle '{heap_of(proxy).type_of(proxy._id).name}' object")


_DEEP: dict[Kind, Callable[[Any, _Memo], object]] = {
    Kind.LIST: _deep_list, Kind.DICT: _deep_dict, Kind.SET: _deep_set, Kind.TUPLE: _deep_tuple,
    Kind.WEAKREF: _itself, Kind.FRAME: _refuse, Kind.MODULE: _refuse,
}


# -- managed instances ----------------------------------------------------------------------------

_HOOKS = ("__deepcopy__", "__reduce_ex__", "__reduce__", "__getstate__")


def has_copy_hooks(cls: type | None) -> bool:
    """True when the managed class defines how it is copied (user code decides what the copy
    reaches)."""
    from ..classes import InstanceProxy  # the managed classes' base (imports this module)

    return cls is not None and any(
        getattr(cls, name) is not getattr(InstanceProxy, name) for name in _HOOKS)


def _uses_reduce(cls: type) -> bool:
    from ..classes import InstanceProxy

    return (cls.__reduce_ex__ is not InstanceProxy.__reduce_ex__
            or cls.__reduce__ is not InstanceProxy.__reduce__)


def copy_instance(proxy: Any, memo: _Memo | None) -> object:
    """``copy.copy`` (``memo`` None) or ``copy.deepcopy`` of a managed instance."""
    cls = type(proxy)
    if memo is not None:
        check_deep_copyable(proxy, memo)
    if _uses_reduce(cls):
        reduced = proxy.__reduce_ex__(4)
        if isinstance(reduced, str):
            return proxy
        return _reconstruct(proxy, memo, *reduced)
    heap = heap_of(proxy)
    args, kwargs = _new_args(proxy)
    state = proxy.__getstate__()
    if memo is None:
        apply = _state_setter(heap, cls, state)  # checked before the copy is allocated
        return _filled(cls.__new__(cls, *args, **kwargs), apply)
    if args or kwargs:
        args, kwargs = copy.deepcopy((args, kwargs), memo)
    copied = cls.__new__(cls, *args, **kwargs)
    memo[id(proxy)] = copied
    return _filled(copied, _state_setter(heap, cls, copy.deepcopy(state, memo)))


def _filled(copied: Any, apply: Callable[[Any], None]) -> object:
    apply(copied)
    return copied


def _new_args(proxy: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """What copyreg's ``__reduce_ex__(4)`` passes to ``cls.__new__``."""
    cls = type(proxy)
    if hasattr(cls, "__getnewargs_ex__"):
        args, kwargs = proxy.__getnewargs_ex__()
        return tuple(args), dict(kwargs)
    if hasattr(cls, "__getnewargs__"):
        return tuple(proxy.__getnewargs__()), {}
    return (), {}


def _reconstruct(proxy: Any, memo: _Memo | None, func: Callable[..., Any],
                 args: tuple[Any, ...], state: object = None, listiter: Any = None,
                 dictiter: Any = None) -> object:
    """``copy._reconstruct``, storing a state dict as attributes (the 3.11+ profiles have no
    ``__dict__`` object to update)."""
    deep = memo is not None
    if deep and args:
        args = copy.deepcopy(args, memo)
    copied = func(*args)
    if memo is not None:
        memo[id(proxy)] = copied
    if state is not None:
        if deep:
            state = copy.deepcopy(state, memo)
        if isinstance(copied, Proxy):
            _state_setter(heap_of(copied), type(copied), state)(copied)
        else:  # the class's __reduce__ made a host object: copy's own rules
            _host_state(copied, state)
    for item in listiter or ():
        copied.append(copy.deepcopy(item, memo) if deep else item)
    for key, value in dictiter or ():
        if deep:
            key, value = copy.deepcopy(key, memo), copy.deepcopy(value, memo)
        copied[key] = value
    return copied


def _state_setter(heap: Heap, cls: type, state: object) -> Callable[[Any], None]:
    """How ``state`` goes into a new instance: ``__setstate__`` if the class has one, else
    the attributes (converted to codes now, so a value the heap cannot hold is refused before
    anything is allocated) and then the ``__slots__`` values, as ``copy._reconstruct`` does."""
    if state is None:
        return lambda copied: None
    if hasattr(cls, "__setstate__"):
        return lambda copied: copied.__setstate__(state)
    slot_state: Any = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slot_state = state
    attributes = list(state.items()) if state else []  # type: ignore[attr-defined]
    codes = list(zip([name for name, _ in attributes],
                     heap.to_codes([value for _, value in attributes]), strict=True))

    def apply(copied: Any) -> None:
        with heap.operation():
            for name, code in codes:
                heap.set_attr(copied._id, name, code)
        del attributes[:]  # the values' proxies held the codes' objects until now
        for name, value in (slot_state or {}).items():
            setattr(copied, name, value)

    return apply


def _host_state(copied: Any, state: Any) -> None:
    if hasattr(copied, "__setstate__"):
        copied.__setstate__(state)
        return
    slot_state: Any = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slot_state = state
    if state:
        copied.__dict__.update(state)
    for name, value in (slot_state or {}).items():
        setattr(copied, name, value)


def instance_state(proxy: Any) -> object:
    """``object.__getstate__`` of a managed instance: its attributes as a dict (None when it
    has none), paired with a dict of the ``__slots__`` that are set when there are any."""
    heap: Heap = heap_of(proxy)
    oid = proxy._id
    info = heap.type_of(oid)
    slots = {}
    for index, name in enumerate(info.slot_names):
        code = heap.table.get(oid, index)
        if code != NULL:
            slots[name] = heap.from_code(code)
    attributes = _attributes(heap, oid) if info.has_dict else {}
    state = attributes or None
    return (state, slots) if slots else state


def _attributes(heap: Heap, oid: int) -> dict[Any, object]:
    """The instance's ``__dict__`` contents, in order."""
    info = heap.type_of(oid)
    d = heap.instance_dict(oid)
    if d != NULL:
        codes = heap.table.slot_list(d)
        return {heap.from_code(k): heap.from_code(v) for k, v in zip(codes[0::2], codes[1::2],
                                                                      strict=True)}
    names = [name for name in heap.attr_names(oid) if name not in info.slot_names]
    return {name: heap.from_code(heap.get_attr(oid, name)) for name in names}
