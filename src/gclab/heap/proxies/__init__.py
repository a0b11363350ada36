"""Proxies: host objects that stand for heap objects and behave like the Python types.

``heap.list()``, ``heap.tuple()``, ``heap.dict()``, ``heap.set()`` and ``heap.weakref()`` return
proxies; ``@heap.cls`` classes make instance proxies (:mod:`gclab.heap.classes`). Each proxy
holds one simulated reference to its object while it lives (see :mod:`.base`).

Modules: :mod:`.base` (the proxy base class, the heap's conversions between host values and
slot codes), :mod:`.args` (CPython's argument checks), :mod:`.build` (new containers from
codes), :mod:`.sequences` (list, tuple), :mod:`.mappings` (dict), :mod:`.views` (dict views),
:mod:`.sets` (set), :mod:`.copying` (``copy`` and ``deepcopy``), :mod:`.weakrefs` (weakref).
"""

from __future__ import annotations

from collections import abc

from ..types import Kind
from .base import (
    ContainerProxy,
    MutableContainerProxy,
    Proxy,
    ProxyHeap,
    register_proxy_class,
)
from .mappings import DictProxy
from .sequences import ListProxy, SequenceProxy, TupleProxy
from .sets import SetProxy
from .views import ItemsView, KeysView, ValuesView
from .weakrefs import WeakrefProxy

for _kind, _cls in ((Kind.LIST, ListProxy), (Kind.TUPLE, TupleProxy), (Kind.DICT, DictProxy),
                    (Kind.SET, SetProxy), (Kind.WEAKREF, WeakrefProxy)):
    register_proxy_class(_kind, _cls)

# isinstance(lst, collections.abc.MutableSequence) and pattern matching as for the real types
abc.MutableSequence.register(ListProxy)
abc.Sequence.register(TupleProxy)
abc.MutableMapping.register(DictProxy)
abc.MutableSet.register(SetProxy)
abc.KeysView.register(KeysView)
abc.ItemsView.register(ItemsView)
abc.ValuesView.register(ValuesView)

__all__ = [
    "ContainerProxy",
    "DictProxy",
    "ItemsView",
    "KeysView",
    "ListProxy",
    "MutableContainerProxy",
    "Proxy",
    "ProxyHeap",
    "SequenceProxy",
    "SetProxy",
    "TupleProxy",
    "ValuesView",
    "WeakrefProxy",
    "register_proxy_class",
]
