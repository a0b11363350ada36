"""``heap.getrefcount(obj)`` counts like ``sys.getrefcount`` (the simulated count plus one for
the argument), checked against the real interpreter; ``heap.refcount(oid)`` counts by id."""

from __future__ import annotations

import sys

import pytest

import gclab


def test_getrefcount_counts_like_sys_getrefcount() -> None:
    """The same situations on the host and on the heap give the same numbers: a fresh object
    in a variable, also stored in a list and in a dict value, after ``del`` of the list and
    after the dict is emptied."""
    heap = gclab.Heap()
    x: list[object] = []
    sim_x = heap.list()
    expected, got = [sys.getrefcount(x)], [heap.getrefcount(sim_x)]
    lst, sim_lst = [x], heap.list([sim_x])
    d, sim_d = {"k": x}, heap.dict(k=sim_x)
    expected.append(sys.getrefcount(x))
    got.append(heap.getrefcount(sim_x))
    del lst, sim_lst
    expected.append(sys.getrefcount(x))
    got.append(heap.getrefcount(sim_x))
    d.clear()
    sim_d.clear()
    expected.append(sys.getrefcount(x))
    got.append(heap.getrefcount(sim_x))
    assert got == expected


def test_refcount_counts_by_id_without_the_argument() -> None:
    heap = gclab.Heap()
    x = heap.list()
    oid = heap.id_of(x)
    assert heap.refcount(oid) == 1 == heap.getrefcount(x) - 1  # the proxy's reference


def test_getrefcount_host_aliases_share_one_proxy() -> None:
    """``y = x`` binds the same proxy: one simulated reference (documented)."""
    heap = gclab.Heap()
    x = heap.list()
    y = x
    assert y is x and heap.getrefcount(x) == 2


@pytest.mark.parametrize("value", [5, "name", None, 2.5, True, b"x", [], object()], ids=repr)
def test_getrefcount_takes_heap_objects_only(value: object) -> None:
    """An int is an atom, never an object id (it used to be taken as one): a TypeError that
    says what to call instead; nothing changes."""
    heap = gclab.Heap()
    t = heap.table
    before = (t.refcnt[: t.top].tolist(), t.extern[: t.top].tolist(), t.top)
    with pytest.raises(TypeError, match=r"heap\.refcount") as info:
        heap.getrefcount(value)
    assert (t.refcnt[: t.top].tolist(), t.extern[: t.top].tolist(), t.top) == before
    atom = type(value) in (int, str, type(None), float, bool, bytes)
    assert ("atom" in str(info.value)) == atom
