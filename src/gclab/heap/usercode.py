"""Calling host code from the engine: finalizers, weakref callbacks, ``gc.callbacks``.

CPython calls such code from C and never lets its exception escape: ``PyErr_WriteUnraisable``
hands it to ``sys.unraisablehook`` and the deallocation or collection goes on. That holds for
*every* exception, ``KeyboardInterrupt``, ``SystemExit`` and ``GeneratorExit`` included
(measured on 2.7 and 3.10-3.13: ``docs/design/user-code.md``). gclab does the same here, so a
misbehaving ``__del__`` can never leave a collection or a cascade half done.

Nested user code is bounded the way the simulated interpreter bounds it, not by gclab's own
Python stack: a finalizer that drops the next object of a chain runs the next finalizer inside
its own call, so the nesting of simulated calls is the simulated program's recursion depth.
When it would pass the profile's ``recursion_limit`` the call is not made and a
``RecursionError`` is reported instead (3.13 runs 999 levels of such a chain under the default
limit of 1000, then reports one RecursionError per remaining object). Meanwhile the *host's*
recursion limit is raised as the nesting grows, so gclab's own frames between two simulated
calls never run out first; past ``MAX_NESTING`` levels (2000, twice CPython's default) the host's
C stack would, so a deeper call is reported as a RecursionError whatever the profile says.

>>> import sys, gclab
>>> seen = []
>>> def hook(args):
...     seen.append((args.exc_type.__name__, args.object.__qualname__))
>>> old, sys.unraisablehook = sys.unraisablehook, hook
>>> heap = gclab.Heap()
>>> @heap.cls
... class A:
...     def __del__(self):
...         raise KeyboardInterrupt
>>> a = A(); del a                  # the interrupt is reported, not raised
>>> sys.unraisablehook = old
>>> seen
[('KeyboardInterrupt', 'A.__del__')]
"""

from __future__ import annotations

import gc
import os
import sys
import types
from collections.abc import Callable
from typing import Any

from .interrupts import INTERRUPTS

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../gclab

# The most nested simulated calls gclab makes, whatever the profile's recursion limit: each
# level costs about 1.5 KiB of the host's C stack (8 MiB on Linux; a chain of 6000 levels
# crashed the host here, 4500 did not), so deeper nesting is reported as a RecursionError
# instead. CPython's own default limit allows 999 levels.
MAX_NESTING = 2000

# Host frames one level of simulated nesting may use: the user's own function plus gclab's
# frames from a store back to the next call (about 15), with room for the user's helpers.
HOST_FRAMES_PER_LEVEL = 64

def _learn_unraisable_args_type() -> type:
    """``sys.UnraisableHookArgs``, which CPython does not export: the type of the argument the
    hook receives, learned once (at import, with a shallow stack) from a real unraisable
    exception."""
    captured: list[Any] = []
    previous = sys.unraisablehook
    sys.unraisablehook = captured.append

    class _Probe:
        def __del__(self) -> None:
            raise RuntimeError("gclab: learning the type of sys.unraisablehook's argument")

    try:
        _Probe()
    finally:
        sys.unraisablehook = previous
    args = captured.pop()  # its traceback holds this frame: drop it, no cycle is left behind
    found = type(args)
    del args
    return found


_UNRAISABLE_ARGS = _learn_unraisable_args_type()


def hook_args(exc: BaseException, obj: object, tb: types.TracebackType | None = None,
              err_msg: str | None = None) -> Any:
    """The argument ``sys.unraisablehook`` receives for ``exc`` raised by ``obj``."""
    return _UNRAISABLE_ARGS((type(exc), exc, tb, err_msg, obj))


def legacy_text(exc: BaseException, obj: object) -> str:
    """Python 2.7's ``PyErr_WriteUnraisable`` line: ``Exception T: T(args) in <obj> ignored``."""
    try:
        where = repr(obj)
    except Exception:
        where = "<object repr() failed>"
    return f"Exception {type(exc).__name__}: {type(exc).__name__}{exc.args!r} in {where} ignored\n"


def write_unraisable(exc: BaseException, obj: object, *, legacy: bool = False,
                     tb: types.TracebackType | None = None) -> None:
    """``PyErr_WriteUnraisable(obj)`` for ``exc``: call ``sys.unraisablehook``.

    With ``legacy`` (the 2.7 profile) the default hook's text is 2.7's one line, and a custom
    hook gets the exception without its traceback and the function for a bound method. A hook
    that raises has its own exception written by the default hook, as CPython does; nothing
    ever propagates."""
    hook = sys.unraisablehook
    try:
        if legacy:
            # 2.7 prints one line and keeps nothing: a hook must not receive frames that hold
            # the dying object (2.7 would call its __del__ again each time it dies again)
            exc.__traceback__ = tb = None
            if hook is sys.__unraisablehook__:
                sys.stderr.write(legacy_text(exc, obj))
                return
            obj = getattr(obj, "__func__", obj)
        hook(hook_args(exc, obj, tb))
    except BaseException as failure:  # the hook failed: report that with the default hook
        try:
            sys.__unraisablehook__(hook_args(failure, hook, user_traceback(failure),
                                             "Exception ignored in sys.unraisablehook"))
        except BaseException:  # pragma: no cover - stderr itself is broken
            pass


def _traceback_at_user_code() -> types.TracebackType | None:
    """A one-entry traceback at the innermost frame outside gclab: where CPython's report of a
    RecursionError raised on entering a call points (the statement that caused the call)."""
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return None
    return types.TracebackType(None, frame, frame.f_lasti, frame.f_lineno)


def user_traceback(exc: BaseException) -> types.TracebackType | None:
    """``exc``'s traceback from the user's own frame on (the engine's calling frame dropped)."""
    return exc.__traceback__.tb_next if exc.__traceback__ is not None else None


class HostCollector:
    """Whether the host interpreter's cyclic collector is running now, learned through
    ``gc.callbacks`` (:func:`watch_host_collector`)."""

    __slots__ = ("running",)

    def __init__(self) -> None:
        self.running = False

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        self.running = phase == "start"


host_collector = HostCollector()


def watch_host_collector() -> None:
    """Make sure ``host_collector`` is in the host's ``gc.callbacks`` (called when a heap is
    made: a program may have cleared the list)."""
    if host_collector not in gc.callbacks:
        gc.callbacks.append(host_collector)


class UserCalls:
    """The nesting of simulated calls into host code for one heap, and the host's recursion
    limit raised to match (restored when the outermost call returns)."""

    __slots__ = ("depth", "limit", "saved_limit")

    def __init__(self, limit: int) -> None:
        self.depth = 0  # simulated calls in progress (each is one simulated Python frame)
        self.limit = limit  # the simulated interpreter's recursion limit
        self.saved_limit = 0

    def call(self, fn: Callable[[Any], object], arg: object, report_as: object, *,
             frames: int = 1, legacy: bool = False) -> None:
        """``fn(arg)`` one level deeper; any exception is reported as raised by
        ``report_as``. ``frames`` is the simulated depth outside user calls (module + open
        frames): past the limit the call is replaced by a reported RecursionError."""
        if frames + self.depth >= self.limit or self.depth >= MAX_NESTING:
            write_unraisable(RecursionError("maximum recursion depth exceeded"), report_as,
                             legacy=legacy, tb=_traceback_at_user_code())
            return
        if self.depth == 0:
            self.saved_limit = sys.getrecursionlimit()
        self.depth += 1
        needed = self.saved_limit + self.depth * HOST_FRAMES_PER_LEVEL
        if sys.getrecursionlimit() < needed:
            sys.setrecursionlimit(needed)
        engine_depth = INTERRUPTS.busy
        try:
            # user code is not engine code: a SIGINT waiting is delivered here (and reported)
            INTERRUPTS.user_code()
            fn(arg)  # not fn(*args): that would cost a C-level call at every level
        except BaseException as exc:
            # the report starts at the user's frame, as CPython's does (it has no caller
            # here); no local keeps the traceback, whose frames would form a cycle with this one
            write_unraisable(exc, report_as, legacy=legacy, tb=user_traceback(exc))
        finally:
            INTERRUPTS.busy = engine_depth
            self.depth -= 1
            if self.depth == 0 and sys.getrecursionlimit() != self.saved_limit:
                sys.setrecursionlimit(self.saved_limit)


__all__ = ["HostCollector", "UserCalls", "hook_args", "host_collector", "legacy_text",
           "watch_host_collector", "write_unraisable"]
