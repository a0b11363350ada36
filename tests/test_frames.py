"""Frames (``heap.frame()``): fixed local slots, and what happens after the return.

The order in which a return releases the locals is checked against the real interpreters by
the differential suite (programs ``gap2``, ``gap4-function`` and ``e18-frame`` in
``tests/differential/test_differential_regressions.py``); these tests cover gclab's own API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gclab

PROFILES = tuple(gclab.PROFILES)


def _state(heap: gclab.Heap) -> tuple[Any, ...]:
    """Everything a heap operation could change, as comparable values."""
    t = heap.table
    live = np.flatnonzero(t.flags[: t.top] & 1)
    return (live.tolist(), t.refcnt[live].tolist(), t.extern[live].tolist(),
            [t.slot_list(int(i)) for i in live], list(heap.gc.get_count()),
            len(heap.trash_delete_later), heap.trash_nesting)


@pytest.mark.parametrize("profile", PROFILES)
def test_locals_after_the_return_raise_and_change_nothing(profile: str) -> None:
    """Loads, stores, deletes, a second return and re-entering raise FrameReturnedError."""
    heap = gclab.Heap(profile)
    keep = heap.list()
    with heap.frame() as f:
        f.a = keep
        f.b = heap.list()
        del f.b
    before = _state(heap)
    actions: list[Callable[[], object]] = [
        lambda: f.a, lambda: f.b, lambda: setattr(f, "a", keep), lambda: setattr(f, "c", 1),
        lambda: delattr(f, "a"), lambda: delattr(f, "zz"), lambda: f.__exit__(None, None, None),
        lambda: f.__enter__(),
    ]
    for action in actions:
        with pytest.raises(gclab.FrameReturnedError, match="has returned"):
            action()
        assert _state(heap) == before
    assert dir(f) == []


def test_frame_returned_error_is_a_heap_error_and_a_runtime_error() -> None:
    assert issubclass(gclab.FrameReturnedError, gclab.HeapError)
    assert issubclass(gclab.FrameReturnedError, RuntimeError)


@pytest.mark.parametrize("profile", PROFILES)
def test_a_deleted_local_keeps_its_slot(profile: str) -> None:
    """``del`` empties the slot; binding the name again fills the same slot."""
    heap = gclab.Heap(profile)
    with heap.frame() as f:
        f.a = 1
        f.b = 2
        del f.a
        assert dir(f) == ["b"]
        f.c = 3
        f.a = 4
        assert dir(f) == ["a", "b", "c"]
        assert (f.a, f.b, f.c) == (4, 2, 3)


@pytest.mark.parametrize("profile", PROFILES)
def test_unbound_locals(profile: str) -> None:
    """Reading or deleting an unbound local is an AttributeError (Python: NameError) and
    changes nothing."""
    heap = gclab.Heap(profile)
    with heap.frame() as f:
        f.a = heap.list()
        del f.a
        before = _state(heap)
        with pytest.raises(AttributeError, match="no variable named 'a'"):
            _ = f.a
        with pytest.raises(AttributeError, match="no variable named 'a'"):
            del f.a
        with pytest.raises(AttributeError, match="no variable named 'x'"):
            del f.x
        assert _state(heap) == before
