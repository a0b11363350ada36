"""numba on demand, or the identity: the bottom layer every compiled helper imports.

``jit(fn)`` returns a :class:`Kernel`: a dispatcher that runs ``fn`` as plain Python (its twin,
tested equal) until the process *switches to compiled code*, and
``numba.njit(cache=True, nogil=True)(fn)`` from then on (compiled on its first call after the
switch, from numba's on-disk cache when it is there). The switch (:func:`activate`) happens
once per process, the first time

* a kernel is called with a numpy array of :data:`gclab.config.JIT_MIN` or more elements
  (a heap's columns have one element per row of its object table, so a heap whose table has
  grown to ``JIT_MIN`` rows switches at its next compiled-helper call), or
* a collector phase asks :func:`wants` about a table of that many rows
  (:mod:`gclab.collectors.phases`, :mod:`gclab.collectors.cpython.phases`), or
* the plain twins have run for :data:`gclab.config.JIT_AFTER` seconds in all (:func:`spent`:
  many collections of a small heap; ski rental: switch once the slow path has cost about what
  switching costs), or
* someone calls :func:`activate` (``GCLAB_JIT_MIN=0`` switches at import).

So a small heap never waits for numba: ``import gclab`` does not import it and a first small
collection runs the plain twins (measured: ``bench/startup.py``). ``GCLAB_JIT=0`` keeps
meaning "never compile": ``jit`` is then the identity and nothing imports numba.

Compiled code calls other kernels by their module-level names; numba types a :class:`Kernel`
as its compiled dispatcher (a ``typeof`` registered at the switch), so kernels compose as
plain ``njit`` functions do. At the switch every module global of gclab that is a Kernel is
rebound to its dispatcher (:func:`_rebind`), so calls after it cost what they did when ``jit``
was ``njit``. :data:`ENABLED` says whether compiled helpers may be used at all
(numba importable and ``GCLAB_JIT`` not ``0``); :data:`ACTIVE`, whether the switch has
happened. This module imports nothing of gclab but :mod:`gclab.config`, so the heap
(``heap/_jit_*.py``), the kernels and the graph view can all build on it
(``docs/design/ARCHITECTURE.md``, "Next stage").
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

from . import config

F = TypeVar("F", bound=Callable[..., Any])

#: True when the engine may run compiled helpers (numba importable and GCLAB_JIT != 0).
#: Finding numba does not import it (``importlib.util.find_spec``).
ENABLED: bool = config.JIT and importlib.util.find_spec("numba") is not None

#: True once the process has switched to compiled helpers (:func:`activate`).
ACTIVE: bool = False

_KERNELS: list[Kernel] = []
_TWIN_SECONDS = 0.0
_NESTING = 0  # plain twins running (run_twin counts the outermost only)
_HOOKS: list[Callable[[], None]] = []
_LOCK = threading.RLock()
_ACTIVATING = False  # set while activate() runs (a re-entrant call returns False)


class Kernel:
    """A compiled helper that is plain Python until :func:`activate`.

    Calling it runs ``fn`` while the process is not :data:`ACTIVE` (and no array argument
    has :data:`gclab.config.JIT_MIN` elements or more: such a call activates first), and the
    numba dispatcher of ``fn`` afterwards. ``__wrapped__`` is ``fn`` (doctest and inspect see
    the function)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        functools.update_wrapper(self, fn)
        self.py_func = fn
        self._compiled: Any = None
        # what a call runs: the gate while inactive, the numba dispatcher once active
        self._impl: Callable[..., Any] = self._gate

    def __call__(self, *args: Any) -> Any:
        return self._impl(*args)

    def __repr__(self) -> str:
        return f"<gclab kernel {self.py_func.__module__}.{self.py_func.__qualname__}>"

    def _gate(self, *args: Any) -> Any:
        """Inactive: the plain twin (its time counted by :func:`spent`), unless an argument is
        a large array (then activate and run compiled)."""
        limit = config.JIT_MIN
        for arg in args:
            if type(arg) is np.ndarray and arg.size >= limit and activate():
                return self._impl(*args)
        return run_twin(self.py_func, *args)

    def compiled(self) -> Any:
        """The numba dispatcher of ``fn`` (made on first use; requires :data:`ACTIVE`)."""
        if self._compiled is None:
            import numba

            self._compiled = numba.njit(cache=True, nogil=True)(self.py_func)
        return self._compiled

    def _switch(self) -> None:
        """Afterwards every call goes to the compiled dispatcher."""
        self._impl = self.compiled()


def _register_typeof() -> None:
    """Teach numba that a :class:`Kernel` (a global in compiled code) is its dispatcher."""
    from numba.extending import typeof_impl

    @typeof_impl.register(Kernel)
    def _typeof_kernel(val: Kernel, c: Any) -> Any:
        return typeof_impl(val.compiled(), c)


def _rebind() -> None:
    """Afterwards no module of gclab holds a :class:`Kernel` as a global: each is replaced by
    its numba dispatcher, so a call after the switch costs what it cost before lazy kernels
    (a Kernel's ``__call__`` adds a Python frame, 0.1-0.4 us). Attributes elsewhere (a test's
    reference, a class attribute) keep the Kernel, which forwards to the same dispatcher."""
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "gclab" or name.startswith("gclab.")):
            continue
        namespace = vars(module)
        for key, value in list(namespace.items()):
            if type(value) is Kernel:
                namespace[key] = value.compiled()


def on_switch(hook: Callable[[], None]) -> None:
    """Call ``hook`` (no arguments) at the switch, after the kernels are rebound; at once if
    the process has switched already. A dispatcher above this layer uses it to put the
    compiled functions in its own place (:func:`gclab.collectors.phases.rebind`)."""
    with _LOCK:
        if not ACTIVE:
            _HOOKS.append(hook)
            return
    hook()


def activate() -> bool:
    """Switch the process to compiled helpers (import numba; each kernel compiles, or loads
    from numba's cache, on its first call). Returns :data:`ACTIVE`: afterwards it is True
    unless compiling is off (``GCLAB_JIT=0`` or numba missing), when nothing happens, or the
    call is re-entrant (made while this thread activates: the caller runs the plain twin).
    Idempotent and thread-safe (other threads wait for the switch)."""
    global ACTIVE, _ACTIVATING
    if ACTIVE or not ENABLED:
        return ACTIVE
    with _LOCK:
        if ACTIVE or _ACTIVATING:  # a re-entrant call (host GC, a signal): not yet
            return ACTIVE
        _ACTIVATING = True
        try:
            # numba's typeof asks for numpy.ma at the first compiled call with an array;
            # imported here, before anything runs compiled (see heap/proxies/base.py)
            import numpy.ma  # noqa: F401

            _register_typeof()
            for kernel in _KERNELS:
                kernel._switch()
            _rebind()
            ACTIVE = True
            for hook in _HOOKS:
                hook()
            _HOOKS.clear()
        finally:
            _ACTIVATING = False
    return ACTIVE


def spent(seconds: float) -> None:
    """Count ``seconds`` of wall time spent in plain twins; once they add up to
    :data:`gclab.config.JIT_AFTER`, :func:`activate` (a long-running program on a small heap
    pays the compile step once instead of running the slow twins on: the compiled kernels
    load from numba's cache in ~0.5 s, compile in ~9 s on a fresh clone)."""
    global _TWIN_SECONDS
    _TWIN_SECONDS += seconds
    if _TWIN_SECONDS >= config.JIT_AFTER and not ACTIVE:
        activate()


def run_twin(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, a plain twin, its wall time counted by :func:`spent` unless it runs
    inside another twin (counted there: nested twins are not counted twice)."""
    global _NESTING
    if _NESTING:
        return fn(*args)
    _NESTING += 1
    started = time.perf_counter()
    try:
        return fn(*args)
    finally:
        _NESTING -= 1
        spent(time.perf_counter() - started)


def twin_seconds() -> float:
    """Wall time counted by :func:`spent` so far (plain twins and the user code they ran)."""
    return _TWIN_SECONDS


def wants(rows: int) -> bool:
    """True when compiled helpers should run for a table of ``rows`` rows: the process is
    :data:`ACTIVE`, or ``rows`` reaches :data:`gclab.config.JIT_MIN` (which activates it)."""
    if ACTIVE:
        return True
    return rows >= config.JIT_MIN and activate()


def jit(fn: F) -> F:
    """A :class:`Kernel` of ``fn`` when :data:`ENABLED`; its numba dispatcher itself once
    :data:`ACTIVE` (a module imported after the switch); ``fn`` unchanged when compiling is
    off."""
    if not ENABLED:
        return fn
    kernel = Kernel(fn)
    with _LOCK:
        _KERNELS.append(kernel)
        if ACTIVE:
            kernel._switch()
            return cast(F, kernel.compiled())
    return cast(F, kernel)


def _at(i: int) -> np.uint32:
    """``i`` (never negative) as an unsigned index: numba adds negative-index wraparound code to
    every signed index it cannot prove positive, which costs a kernel that indexes a lot
    (update_refs ran twice as fast with its row indices unsigned)."""
    return np.uint32(i)


at = jit(_at)

if ENABLED and config.JIT_MIN <= 0:  # GCLAB_JIT_MIN=0: compiled from the first call, as before
    activate()

__all__ = ["ACTIVE", "ENABLED", "Kernel", "activate", "at", "jit", "on_switch", "run_twin",
           "spent", "twin_seconds", "wants"]
