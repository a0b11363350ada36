"""``gclab.Heap``: a simulated Python heap with a collector and the ``gc`` interface.

The collector is CPython's by default (each profile names its own, ``Profile.collector``);
``collector=`` picks another registered one (``gclab.COLLECTORS``).

>>> import gclab
>>> heap = gclab.Heap()
>>> a = heap.dict(); b = heap.dict()
>>> a["b"] = b; b["a"] = a
>>> del a, b
>>> heap.gc.collect()
2
>>> rc = gclab.Heap(collector="refcount")             # reference counting alone
>>> a = rc.list(); a.append(a); del a
>>> rc.gc.collect(), len(rc.gc.get_objects())         # the cycle is never collected
(0, 1)

>>> gclab.Heap(collector="tracing")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
gclab.collectors.base.UnknownCollectorError: no collector named 'tracing'; registered: cpython, ...
"""

from __future__ import annotations

import builtins
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .collectors import collector_class
from .collectors.base import Collector
from .collectors.record import CollectionRecord
from .errors import ForeignObjectError
from .gcmodule import GcModule
from .heap.atoms import AtomTable
from .heap.classes import FrameProxy, NamespaceProxy, make_managed_class
from .heap.core import HeapCore
from .heap.guard import guard_methods, guarded_operation
from .heap.proxies import DictProxy, ListProxy, Proxy, ProxyHeap, SetProxy, TupleProxy
from .heap.proxies.base import takes_lock
from .heap.proxies.build import new_container, new_dict
from .heap.proxies.instances import install_fast_paths
from .heap.proxies.mappings import mapping_pairs, pair_codes
from .heap.types import DICT, LIST, MODULE, SET, TUPLE, TypeInfo
from .profiles import DEBUG_SAVEALL, DEBUG_UNCOLLECTABLE, Profile, get_profile


@dataclass(frozen=True)
class ShutdownReport:
    """What ``heap.shutdown()`` found: uncollectable objects left in ``gc.garbage``."""

    uncollectable: int
    warning: str | None


class Heap(ProxyHeap, HeapCore):
    """A simulated heap: objects, reference counts, a collector, ``heap.gc``.

    ``collector`` names a registered collector (``gclab.COLLECTORS``); None means the
    profile's (``Profile.collector``: ``"cpython"`` for every built-in profile). An unknown
    name is an :class:`~gclab.collectors.base.UnknownCollectorError` listing the names, raised
    before anything is built. ``free_lists=True`` models CPython's list/dict/tuple free lists in
    ``count[0]`` (they start empty, as right after a full collection).
    """

    def __init__(self, profile: str | Profile | None = None, *, collector: str | None = None,
                 capacity: int = 1024, free_lists: bool = False) -> None:
        if not isinstance(free_lists, bool):
            raise TypeError(f"free_lists must be a bool, got {type(free_lists).__name__} "
                            f"{free_lists!r}")
        make = collector_class(get_profile(profile).collector if collector is None
                               else collector)
        HeapCore.__init__(self, profile, capacity=capacity)
        self._init_proxies()
        # the types of heap.dict() and heap.list(), looked up once
        self._dict_info, self._list_info = self.types[DICT], self.types[LIST]
        self.collector: Collector = self.attach(lambda heap: make(heap, free_lists=free_lists))
        self.gc = GcModule(self, self.collector)

        # The module namespace: held by the simulation (a static reference, like
        # sys.modules's), so it lives until the heap does; heap.globals hands out proxies.
        self._globals_id = self._new_object(self.types[MODULE], 0, track=False)
        self.add_static_ref(self._globals_id)

    # -- building objects ------------------------------------------------------------------------

    # Each builder converts every value first (a bad one raises before anything changes) and
    # keeps the host values alive until the new object holds them: they may be proxies made
    # on the fly (``heap.list(heap.list() for _ in range(3))``).

    @takes_lock
    def list(self, iterable: Iterable[object] = ()) -> ListProxy:
        """A new list holding the items of ``iterable``."""
        if type(iterable) is builtins.tuple and not iterable:  # heap.list()
            return guarded_operation(  # type: ignore[return-value]
                self, self._new_empty, self._list_info, ListProxy)
        return self._list_of(iterable)

    def _list_of(self, iterable: Iterable[object]) -> ListProxy:
        values = builtins.list(iterable)
        codes = self.to_codes(values)
        return self._adopt_new(  # type: ignore[return-value]
            new_container(self, LIST, codes), ListProxy)

    def tuple(self, iterable: Iterable[object] = ()) -> TupleProxy:
        """A new tuple (tracked at creation; the empty tuple is a shared singleton)."""
        values = builtins.list(iterable)
        codes = self.to_codes(values)
        return self._adopt(new_container(self, TUPLE, codes))  # type: ignore[return-value]

    @takes_lock
    def dict(self, mapping: Mapping[object, object] | Iterable[Any] = (),
             **kwargs: object) -> DictProxy:
        """A new dict (untracked until it stores something that may be tracked): from a
        mapping (anything with ``keys()``) or an iterable of pairs, then ``kwargs``."""
        if type(mapping) is builtins.tuple and not mapping and not kwargs:  # heap.dict()
            return guarded_operation(  # type: ignore[return-value]
                self, self._new_empty, self._dict_info, DictProxy)
        return self._dict_of(mapping, kwargs)

    def _dict_of(self, mapping: Mapping[object, object] | Iterable[Any],
                 kwargs: builtins.dict[str, object]) -> DictProxy:
        pairs = mapping_pairs(mapping) + builtins.list(kwargs.items())
        codes = pair_codes(self, pairs)
        return self._adopt_new(new_dict(self, codes), DictProxy)  # type: ignore[return-value]

    def _new_empty(self, info: TypeInfo, cls: type[Proxy]) -> Proxy:
        """A new empty dict or list (``info``) and its ``cls`` proxy, inside the operation
        :func:`guarded_operation` brackets. With the heap's fast paths on, the row comes from
        :meth:`~gclab.heap.fastpath.FastPathMixin._quick_row` (what ``alloc`` does flat), else
        from the general ``alloc``; either way the collector counts it first, and the
        operation's safe point follows."""
        if not self._fast_paths:
            return self._adopt_new(self._alloc_locked(info), cls)
        return self._adopt_new(self._quick_row(info, 0, info.type_id != DICT), cls)

    def set(self, iterable: Iterable[object] = ()) -> SetProxy:
        """A new set (its elements in insertion order)."""
        values = builtins.list(iterable)
        codes = builtins.list(dict.fromkeys(self.hashable_codes(values)))
        return self._adopt_new(new_container(self, SET, codes), SetProxy)  # type: ignore[return-value]

    def cls(self, user_class: type) -> type:
        """Class decorator: instances of the class live on this heap."""
        proxy_class = make_managed_class(self, user_class)
        install_fast_paths(proxy_class)
        return proxy_class

    def weakref(self, obj: object, callback: Callable[[Any], object] | None = None) -> Any:
        """``weakref.ref(obj, callback)`` on the simulated heap."""
        if not isinstance(obj, Proxy):
            raise TypeError(f"cannot create weak reference to '{type(obj).__name__}' object")
        oid = self.to_code(obj)
        return self._adopt(self.new_weakref(oid, callback))

    def frame(self) -> FrameProxy:
        """A running frame: ``with heap.frame() as f: f.x = ...``; leaving it returns."""
        return self._adopt(self.new_frame())  # type: ignore[return-value]

    @property
    def globals(self) -> NamespaceProxy:
        """The module namespace (a proxy; the simulation's own reference keeps it alive)."""
        return self.proxy(self._globals_id)  # type: ignore[return-value]

    # -- inspecting ------------------------------------------------------------------------------

    def id_of(self, obj: object) -> int:
        """The integer id of a proxy of this heap (for the low-level API).

        TypeError for anything that is not a proxy, ForeignObjectError for another heap's."""
        if not isinstance(obj, Proxy):
            raise TypeError(f"{obj!r} ({type(obj).__name__}) is not a heap object")
        if obj._heap is not self:
            raise ForeignObjectError(f"{obj._heap.describe(obj._id)} belongs to another heap")
        return obj._id

    def getrefcount(self, obj: object) -> int:
        """``sys.getrefcount(obj)`` on the simulated heap: the simulated count of ``obj``'s
        object plus one for the argument.

        Each live proxy holds one reference and stands for the host variables bound to it.
        Host aliases of one proxy (``y = x``) share that proxy, so they count once: after
        ``x = heap.list(); y = x`` this gives 2 where ``sys.getrefcount`` gives 3. A proxy made
        by the argument expression itself (``heap.getrefcount(f.r)`` when no variable holds
        that object's proxy) holds a reference too, so it counts one more than CPython would.

        >>> import gclab
        >>> heap = gclab.Heap()
        >>> x = heap.list()
        >>> heap.getrefcount(x)              # x, and the argument
        2
        >>> holder = heap.list([x])
        >>> heap.getrefcount(x)              # x, holder[0], the argument
        3

        Only proxies are counted: an int is an atom (immortal, its count is not simulated),
        never an object id; :meth:`refcount` counts by id, without the argument.
        """
        if not isinstance(obj, Proxy):
            if AtomTable.is_atom_value(obj):
                raise TypeError(
                    f"heap.getrefcount takes a heap object, not the atom {obj!r}: atoms are "
                    f"immortal and their counts are not simulated (to count an object by id, "
                    f"call heap.refcount(oid))")
            raise TypeError(f"heap.getrefcount takes a heap object (a proxy), not "
                            f"{type(obj).__name__}; to count by id call heap.refcount(oid)")
        return self.refcount(self.id_of(obj)) + 1

    @property
    def history(self) -> builtins.list[CollectionRecord]:
        """One :class:`CollectionRecord` per collection, oldest first."""
        return self.collector.history

    # -- shutdown --------------------------------------------------------------------------------

    def shutdown(self) -> ShutdownReport:
        """CPython's shutdown sequence (spec §4.4): a collection with callbacks (if enabled),
        module globals cleared, a collection without callbacks, then the uncollectable report
        (a ResourceWarning from module ``gc``, line 0). Afterwards the heap refuses every
        operation with :class:`~gclab.errors.ShutdownError`; proxies still alive release
        nothing when they die."""
        state = self.collector.state
        if state.enabled:
            self.gc.collect()
        with self.operation():
            self._clear_module(self._globals_id)
            self.collector.collect_with_callbacks(2, "shutdown", callbacks=False)
        message = None
        if self.profile.shutdown_warning and state.garbage and not state.debug & DEBUG_SAVEALL:
            message = f"gc: {len(state.garbage)} uncollectable objects at shutdown"
            if state.debug & DEBUG_UNCOLLECTABLE:
                (self.gc.stream or __import__("sys").stderr).write(
                    f"      {state.garbage!r}\n")
            else:
                message += "; use gc.set_debug(gc.DEBUG_UNCOLLECTABLE) to list them"
            warnings.warn_explicit(message, ResourceWarning, "gc", 0, module="gc")
        self.shut_down = True  # from now on every entry point raises ShutdownError
        return ShutdownReport(len(state.garbage), message)

    def _clear_module(self, oid: int) -> None:
        """_PyModule_ClearDict: names with one leading underscore first, then the others,
        each set to None."""
        none = self.atoms.code(None)
        names = [str(self.atoms.value(k)) for k in self.table.slot_list(oid)[0::2]]
        first = [n for n in names if n.startswith("_") and not n.startswith("__")]
        rest = [n for n in names if n not in first and n != "__builtins__"]
        for name in first + rest:
            self.dict_set(oid, self.atoms.code(name), none)


# Builders and the proxy conversions take the heap's lock (heap/guard.py).
# (to_code and from_code are not: interning has its own lock, and from_code makes a proxy
# through the guarded proxy().)
# (heap.list() and heap.dict() take it themselves, through guarded_operation, when empty.)
guard_methods(Heap, ("_list_of", "tuple", "_dict_of", "set", "cls", "weakref", "frame",
                     "getrefcount", "shutdown", "proxy", "_release_proxy"), None)
