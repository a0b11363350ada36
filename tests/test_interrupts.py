"""Ctrl-C at any moment: a real SIGINT raised at a random line of gclab's own code never leaves
the heap half changed (``gclab.heap.interrupts``).

A trace function counts the lines gclab's engine executes during a program of ordinary
operations and, at the N-th, raises SIGINT for real (``signal.raise_signal``): the handler
runs at the next bytecode, inside engine code. The program sees the ``KeyboardInterrupt``
between operations (the one that was running completed, or had not taken the heap yet), or not
at all when the signal was delivered inside a ``__del__`` (reported as unraisable, as CPython
does). The heap must pass the strict invariant check, hold nothing once the program's objects
are gone (no reference orphaned by a half-done step), and go on working.
"""

from __future__ import annotations

import gc as hostgc
import os
import signal
import sys
from types import FrameType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gclab
from gclab.heap.interrupts import INTERRUPTS
from gclab.heap.invariants import check_invariants

ENGINE = os.path.dirname(os.path.abspath(gclab.__file__))


def program(heap: gclab.Heap, log: list[str]) -> None:
    """Ordinary work with finalizers, weakrefs and collections; ``log`` records each step done
    (a step interrupted between operations is not logged)."""

    @heap.cls
    class Node:
        def __del__(self) -> None:
            log.append("del")

    keep = heap.list()
    for i in range(4):
        a, b = Node(), Node()
        a.peer, b.peer = b, a
        keep.append(heap.dict(x=heap.list([a, i])))
        heap.weakref(b, lambda ref: log.append("cb"))
        del a, b
        log.append(f"built {i}")
    heap.gc.collect()
    log.append("collected")
    keep.clear()
    heap.gc.collect()
    log.append("done")


def interrupted_at(line: int) -> tuple[gclab.Heap, list[str], BaseException | None, list[Any]]:
    """Run ``program`` with a SIGINT raised at the ``line``-th line gclab executes."""
    heap = gclab.Heap("3.12")
    log: list[str] = []
    reported: list[Any] = []
    count = [0]

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        if frame.f_code.co_filename.startswith(ENGINE):
            if event == "line":
                count[0] += 1
                if count[0] == line:
                    signal.raise_signal(signal.SIGINT)
            return tracer
        return None

    hook, sys.unraisablehook = sys.unraisablehook, reported.append
    caught: BaseException | None = None
    sys.settrace(tracer)
    try:
        program(heap, log)
    except KeyboardInterrupt as exc:
        caught = exc
    finally:
        sys.settrace(None)
        sys.unraisablehook = hook
    return heap, log, caught, reported


def orphaned_references(heap: gclab.Heap) -> dict[int, int]:
    """Objects holding external references that nothing holds: not the simulation's static
    ones, not a live proxy's (an interrupted release would leave one)."""
    t = heap.table
    out = {}
    for oid in range(16, t.top):
        if not t.is_alive(oid):
            continue
        ref = heap._proxies.get(oid)
        held = heap.static_refs.get(oid, 0) + (ref is not None and ref() is not None)
        if int(t.extern[oid]) != held:
            out[oid] = int(t.extern[oid]) - held
    return out


@pytest.fixture(autouse=True)
def _handler_installed() -> None:
    gclab.Heap()  # installs gclab's SIGINT handler if Python's default one is in place
    if not INTERRUPTS.installed:
        pytest.skip("SIGINT has a handler of the program's own: no deferral")


@settings(max_examples=40, deadline=None, derandomize=True)
@given(line=st.integers(1, 6000))
def test_a_sigint_anywhere_leaves_the_heap_whole(line: int) -> None:
    heap, _, caught, reported = interrupted_at(line)
    assert INTERRUPTS.busy == 0 and not INTERRUPTS.pending
    check_invariants(heap, strict=True)
    in_user_code = [r for r in reported if r.exc_type is KeyboardInterrupt]
    assert caught is None or not in_user_code  # delivered once, in one of the two places
    # nothing half done is left behind either: once the program's frames (held by the
    # interrupt's traceback) are gone, every object it made is freed or collectable
    del caught, reported
    hostgc.collect()
    heap.gc.collect()  # the heap goes on working (and gives back deferred releases)
    assert orphaned_references(heap) == {}
    lst = heap.list([1])
    lst.append(lst)
    del lst
    assert heap.gc.collect() == 1
    check_invariants(heap, strict=True)


def test_the_signal_is_not_lost() -> None:
    """A line inside the first collection: the interrupt arrives, after the collection."""
    lines = 0

    def count(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal lines
        if frame.f_code.co_filename.startswith(ENGINE):
            lines += event == "line"
            return count
        return None

    heap = gclab.Heap("3.12")
    sys.settrace(count)
    try:
        program(heap, [])
    finally:
        sys.settrace(None)
    assert lines > 100
    outcomes = [interrupted_at(n) for n in (lines // 3, lines // 2, 2 * lines // 3)]
    assert all(caught is not None or any(r.exc_type is KeyboardInterrupt for r in reported)
               for _, _, caught, reported in outcomes)
