"""Phases any collector and the ``gc`` facade call: the oracles for a small heap, the compiled
kernels for a large one (choosing is policy, so it is made in the collector layer).

Each name here is a :func:`choose` dispatcher: it runs :mod:`gclab.kernels.introspection`'s
function when :func:`gclab._jit.wants` the heap's table (the process has switched to compiled
helpers, or this table has reached ``GCLAB_JIT_MIN`` rows, which switches it; so do
``GCLAB_JIT_AFTER_MS`` spent in oracles), else
:mod:`gclab.algorithms.introspection`'s; both have the same signatures and results
(``tests/test_introspection_kernels.py``). Under ``GCLAB_JIT=0`` the names are the oracles
themselves; after the switch, the kernels themselves (:func:`rebind`). Callers look them up
here at call time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from .. import _jit
from ..algorithms import introspection as _oracle

F = TypeVar("F", bound=Callable[..., Any])


def choose(oracle: F, kernel: Callable[..., Any]) -> F:
    """A function with ``oracle``'s name and signature whose first argument is a heap (or a
    table-like): it calls ``kernel`` when :func:`gclab._jit.wants` that heap's table, else
    ``oracle`` (its time counted by :func:`gclab._jit.run_twin`); just ``oracle`` when compiling
    is off (``GCLAB_JIT=0``, no numba)."""
    if not _jit.ENABLED:
        return oracle

    @functools.wraps(oracle)
    def phase(heap: Any, *args: Any) -> Any:
        if _jit.ACTIVE or _jit.wants(len(heap.table.gc_next)):
            return kernel(heap, *args)
        return _jit.run_twin(oracle, heap, *args)

    phase.kernel_twin = kernel  # type: ignore[attr-defined]  # what rebind() puts in
    return cast(F, phase)


def rebind(namespace: dict[str, Any]) -> None:
    """At the switch: every :func:`choose` dispatcher in ``namespace`` (a module's globals) is
    replaced by its kernel, so a phase call after it costs no extra frame; a name a test has
    set to something else is left alone."""
    for key, value in list(namespace.items()):
        kernel = getattr(value, "kernel_twin", None)
        if kernel is not None:
            namespace[key] = kernel


if _jit.ENABLED:
    from ..kernels import introspection as _kernel

    get_objects_ids = choose(_oracle.get_objects_ids, _kernel.get_objects_ids)
    get_referrer_ids = choose(_oracle.get_referrer_ids, _kernel.get_referrer_ids)
    _jit.on_switch(lambda: rebind(globals()))
else:
    get_objects_ids = _oracle.get_objects_ids
    get_referrer_ids = _oracle.get_referrer_ids

__all__ = ["choose", "get_objects_ids", "get_referrer_ids", "rebind"]
