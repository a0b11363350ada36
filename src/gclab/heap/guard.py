"""One thread at a time: the heap's lock, taken by every entry point.

CPython's heap is protected by the GIL: two threads never change it at the same moment. A
simulated heap has its own re-entrant lock, ``heap._lock``, that every public entry point takes
(the low-level and bulk API, the proxies' methods, ``heap.gc``, a dying proxy's release, and
every top-level operation), so two threads that share a heap take turns at the granularity of
one call, and the heap is never seen half changed. The lock is re-entrant: user code that the
engine runs (a ``__del__``, a weakref callback, a ``gc.callbacks`` entry) may use the heap from
the same thread. Unlike the GIL it is held while such code runs, so user code that waits for
*another* thread using the same heap (joins it, waits on its event) would wait for ever.

After ``heap.shutdown()`` every guarded entry point raises :class:`gclab.ShutdownError`.

Read-only paths that touch a single column (``len``, ``type_of``) are not guarded: a thread
reading while another writes sees the value before or after the write, never a broken heap.

>>> import gclab, threading
>>> heap = gclab.Heap()
>>> keep = heap.list()
>>> def work():
...     for _ in range(200):
...         keep.append(heap.dict(x=heap.list()))
>>> threads = [threading.Thread(target=work) for _ in range(2)]
>>> for t in threads: t.start()
>>> for t in threads: t.join()
>>> len(keep)
400
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterable
from threading import get_ident
from types import FunctionType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .interrupts import INTERRUPTS
from .invariants import debug_check

if TYPE_CHECKING:
    from .core import HeapCore

C = TypeVar("C", bound=type)
R = TypeVar("R")

# Special methods of proxies that read or change the heap. Attribute access (__getattribute__,
# __getattr__, __setattr__, __delattr__) is not wrapped: it changes the heap only inside
# heap.operation() or guarded heap methods, which take the lock, and a wrapper there would add
# a C-level call to every level of a finalizer chain (``self.next = None`` in ``__del__``).
GUARDED_DUNDERS = frozenset({
    "__len__", "__getitem__", "__setitem__", "__delitem__", "__contains__", "__bool__",
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__",
    "__add__", "__radd__", "__iadd__", "__mul__", "__rmul__", "__imul__",
    "__or__", "__ror__", "__ior__", "__and__", "__rand__", "__iand__",
    "__sub__", "__rsub__", "__isub__", "__xor__", "__rxor__", "__ixor__",
    "__repr__", "__call__", "__enter__", "__exit__", "__copy__", "__deepcopy__", "__reversed__",
})


def _heap_of_proxy(obj: Any) -> Any:
    return object.__getattribute__(obj, "_heap")


def _guarded(function: Callable[..., Any], heap_of: Callable[[Any], Any] | None
             ) -> Callable[..., Any]:
    """``function`` taking the heap's lock (``heap_of(self)``'s; ``self``'s when None).

    The entry checks (shutdown, an interrupt to recover from, the SIGINT deferral of
    :meth:`Interrupts.enter` and :meth:`Interrupts.leave`) are written in place: a guarded call
    costs the lock and a few attribute tests, not three more calls."""
    if getattr(function, "__gclab_guarded__", False):
        return function
    interrupts = INTERRUPTS
    main = interrupts.main

    @functools.wraps(function)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        heap = self if heap_of is None else heap_of(self)
        lock = heap._lock
        if lock._is_owned():  # re-entered from a guarded call: the lock is held already
            return function(self, *args, **kwargs)
        with lock:
            if heap.shut_down:
                heap.refuse_after_shutdown()
            if heap._interrupts_seen != interrupts.raised:
                heap.recover_interrupted()
            if not interrupts.installed or get_ident() != main:  # Interrupts.enter: False
                return function(self, *args, **kwargs)
            interrupts.busy += 1
            try:  # a SIGINT waits for the end of the call (heap/interrupts.py)
                return function(self, *args, **kwargs)
            finally:
                if interrupts.busy == 1 and interrupts.pending:
                    interrupts.leave()  # raises the waiting KeyboardInterrupt
                else:
                    interrupts.busy -= 1

    method.__gclab_guarded__ = True  # type: ignore[attr-defined]
    return method


def guard_proxy_methods(cls: C) -> C:
    """Class decorator: the class's own public methods and heap-touching special methods
    take the heap's lock (generators only while they are made: each item is read through a
    guarded method)."""
    for name, value in list(vars(cls).items()):
        if not isinstance(value, FunctionType):
            continue
        if name.startswith("_") and name not in GUARDED_DUNDERS:
            continue
        setattr(cls, name, _guarded(value, _heap_of_proxy))
    return cls


def guard_methods(cls: C, names: Iterable[str], heap_of: Callable[[Any], Any] | None) -> C:
    """Wrap the methods ``names`` of ``cls`` (found anywhere in its MRO) so that they take the
    lock of ``heap_of(self)`` (of ``self`` when ``heap_of`` is None)."""
    for name in names:
        function = getattr(cls, name)
        if isinstance(function, FunctionType):
            setattr(cls, name, _guarded(function, heap_of))
    return cls


# -- the brackets of operations and phases -------------------------------------------------------


class Operation:
    """The context manager of :meth:`HeapCore.operation` (a class: it is entered often).

    It refers to its heap through a weak reference, as every part the heap owns does: a heap no
    longer referenced is freed at once, arrays and all, without waiting for the host's cyclic
    collector."""

    __slots__ = ("heap",)

    def __init__(self, heap: HeapCore) -> None:
        # a weak reference, typed as never dead: the bracket is reached through its heap
        self.heap = cast("Callable[[], HeapCore]", weakref.ref(heap))

    def __enter__(self) -> None:
        heap = self.heap()
        heap._lock.acquire()  # one thread at a time (heap/guard.py)
        if heap.shut_down and not heap._op_depth:
            heap._lock.release()
            heap.refuse_after_shutdown()
        if heap._interrupts_seen != INTERRUPTS.raised and not heap._op_depth:
            heap.recover_interrupted()
        interrupts = INTERRUPTS  # Interrupts.enter, written out: a SIGINT waits
        counted = interrupts.installed and get_ident() == interrupts.main
        if counted:
            interrupts.busy += 1
        heap._op_counted.append(counted)
        if heap._deferred_releases and not heap._op_depth:
            heap.flush_releases()  # proxies the host's collector freed since the last one
        heap._op_depth += 1

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        heap = self.heap()
        try:
            heap._op_depth -= 1
            if exc_type is None and heap._op_depth == 0:
                operation_done(heap)
        finally:
            if heap._op_counted.pop():  # Interrupts.leave, written out for the usual case
                interrupts = INTERRUPTS
                if interrupts.busy == 1 and interrupts.pending:
                    heap._lock.release()
                    interrupts.leave()  # raises the waiting KeyboardInterrupt
                interrupts.busy -= 1
            heap._lock.release()


def quick_operation(heap: HeapCore) -> bool:
    """True when an operation of ``heap`` may be bracketed by ``heap._op_depth`` alone (then
    :func:`operation_done` after a success at depth 0), because everything else
    :meth:`Operation.__enter__` does would change nothing now: this thread holds the lock
    already (a guarded entry point), the SIGINT deferral is counted already or does not count
    here, and at the outermost level the heap is not shut down, has no interrupt to recover
    from and no deferred release to flush."""
    interrupts = INTERRUPTS
    if not heap._lock._is_owned():  # type: ignore[attr-defined]
        return False
    if not interrupts.busy and interrupts.installed and get_ident() == interrupts.main:
        return False
    return bool(heap._op_depth) or not (heap._deferred_releases or heap.shut_down
                                         or heap._interrupts_seen != interrupts.raised)


def run_operation(heap: HeapCore, function: Callable[..., R], *args: Any) -> R:
    """``function(*args)`` as one operation of ``heap``: bracketed by the depth alone when
    :func:`quick_operation` allows it (then :func:`operation_done` after a success at depth
    0), else by :meth:`HeapCore.operation`. The same steps run in the same order either way."""
    if not quick_operation(heap):
        with heap.operation():
            return function(*args)
    heap._op_depth += 1
    try:
        result = function(*args)
    finally:
        heap._op_depth -= 1
    if not heap._op_depth:
        operation_done(heap)
    return result


def guarded_operation(heap: HeapCore, function: Callable[..., R], *args: Any) -> R:
    """``function(*args)`` as one top-level operation from code that may not hold the lock
    yet (a proxy's attribute hooks): the same steps as ``with heap.operation():`` (the lock,
    the shutdown and interrupt checks, the SIGINT deferral, the deferred releases, the safe
    point). When nothing is pending, the bracket is the depth alone, written out here: this
    is every proxy store's and every ``Class()``'s entry, so each call it saves shows."""
    lock = heap._lock
    if lock._is_owned():  # type: ignore[attr-defined]
        return run_operation(heap, function, *args)
    with lock:
        interrupts = INTERRUPTS
        if heap.shut_down or heap._interrupts_seen != interrupts.raised or heap._deferred_releases:
            with heap.operation():
                return function(*args)
        # run_operation's quick bracket (quick_operation holds: the lock is ours, nothing is
        # pending, the depth is 0 since no operation runs outside the lock)
        counted = interrupts.installed and get_ident() == interrupts.main
        if counted:
            interrupts.busy += 1
        try:
            heap._op_depth = 1
            try:
                result = function(*args)
            finally:
                heap._op_depth = 0
            operation_done(heap)
            return result
        finally:
            if counted:
                if interrupts.busy == 1 and interrupts.pending:
                    interrupts.leave()  # raises the waiting KeyboardInterrupt
                else:
                    interrupts.busy -= 1


def enter_quick(heap: HeapCore) -> int:
    """The start of a flat twin's bracket (heap/fastpath.py): -1 when the call must take the
    general path (a nested call, fast paths off, or a heap that is shut down, has deferred
    releases, a listener or an interrupt to recover from), the lock not held afterwards;
    else the lock is held, and 1 when the SIGINT deferral counted the call (the main thread,
    the handler installed), 0 when not. :func:`leave_quick` ends it."""
    lock = heap._lock
    if lock._is_owned() or not heap._fast_paths:  # type: ignore[attr-defined]
        return -1
    lock.acquire()
    interrupts = INTERRUPTS
    if (heap.shut_down or heap._deferred_releases or heap._watched
            or heap._interrupts_seen != interrupts.raised):
        lock.release()
        return -1
    if interrupts.installed and get_ident() == interrupts.main:
        interrupts.busy += 1
        return 1
    return 0


def leave_quick(heap: HeapCore, counted: int) -> None:
    """The end of a bracket :func:`enter_quick` began (``counted`` what it returned): the
    deferral's count given back, raising a KeyboardInterrupt that waited for the outermost
    operation (the lock let go first), and the lock let go."""
    lock = heap._lock
    if counted:
        interrupts = INTERRUPTS
        busy = interrupts.busy
        if busy == 1 and interrupts.pending:
            lock.release()
            interrupts.leave()  # raises the waiting KeyboardInterrupt
        interrupts.busy = busy - 1
    lock.release()


def operation_done(heap: HeapCore) -> None:
    """The end of a top-level operation that succeeded (its safe point): deferred releases
    given back, the collector's safepoint, an atom sweep when due (never from inside user
    code: see AtomTable), the level-2 invariant check."""
    if heap._deferred_releases:
        heap.flush_releases()
    heap.observer.safepoint()
    atoms = heap.atoms
    if atoms.new_since_sweep > atoms.sweep_at and not heap.user_code.depth:
        heap.sweep_atoms()
    if heap.debug_level >= 2:
        debug_check(heap, 2)


class NoUserCode:
    """The context manager of :meth:`HeapCore.no_user_code` (a weak reference to the heap)."""

    __slots__ = ("heap",)

    def __init__(self, heap: HeapCore) -> None:
        # a weak reference, typed as never dead: the bracket is reached through its heap
        self.heap = cast("Callable[[], HeapCore]", weakref.ref(heap))

    def __enter__(self) -> None:
        self.heap()._defer_depth += 1

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        heap = self.heap()
        heap._defer_depth -= 1
        if exc_type is None and heap._defer_depth == 0 and heap._deferred_releases:
            heap.flush_releases()


__all__ = ["GUARDED_DUNDERS", "NoUserCode", "Operation", "guard_methods", "guard_proxy_methods",
           "guarded_operation", "operation_done", "quick_operation", "run_operation"]
