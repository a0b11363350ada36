"""The atom table: values no slot holds are released by sweeps; held ones never change.

A long-running simulation that stores ever new ints and strings must not grow the atom table
without bound (``repro_heap_cycle.py``, ``t13_proxy_churn.py``), and a sweep must never release
an atom that a slot holds, that was just interned for a store, or that ``heap.atom()`` handed
out.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import gclab
from gclab.heap.invariants import check_invariants


def small_sweeps(heap: gclab.Heap, every: int = 8) -> gclab.Heap:
    """Make the heap sweep after ``every`` new atoms (the default waits for 4096)."""
    heap.atoms.SWEEP_MIN = every
    heap.atoms.sweep_at = every
    return heap


def test_churning_distinct_values_keeps_the_table_bounded() -> None:
    heap = gclab.Heap()
    n = 20_000
    for round_ in range(6):
        lst = heap.list(range(round_ * n, (round_ + 1) * n))
        assert lst[n - 1] == (round_ + 1) * n - 1
        del lst
    assert len(heap.atoms._values) <= 2 * n + heap.atoms.SWEEP_MIN
    check_invariants(heap, strict=True)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(["store", "drop", "collect"]),
                          st.integers(0, 40) | st.text(max_size=3) | st.floats(allow_nan=False)),
                min_size=1, max_size=80))
def test_sweeps_never_change_a_held_value(program: list[tuple[str, object]]) -> None:
    """Stores and drops of random values, sweeping every few new atoms: every slot reads back
    the value stored in it, and every atom code in a slot names a live atom."""
    heap = small_sweeps(gclab.Heap())
    held = heap.list()
    model: list[object] = []
    for op, value in program:
        if op == "store":
            held.append(value)
            model.append(value)
        elif op == "drop" and model:
            held.pop(0)
            model.pop(0)
        else:
            heap.gc.collect()
        check_invariants(heap, strict=True)
    assert [type(v) for v in held] == [type(v) for v in model]
    assert list(held) == model
    assert heap.atoms.epoch > 0 or len(heap.atoms) <= 8


def test_a_code_interned_for_a_store_survives_work_done_before_the_store() -> None:
    """A value interned just before its store (as a proxy does) survives whatever runs in
    between: finalizers doing heap work never sweep, and one top-level sweep keeps it."""
    heap = small_sweeps(gclab.Heap(), every=1)

    @heap.cls
    class Busy:
        def __del__(self) -> None:
            for i in range(5):  # operations that would sweep, inside a finalizer
                scratch = heap.list([f"inside {i}", i])
                del scratch

    holder = heap.alloc("list", 1)
    epoch = heap.atoms.epoch
    code = heap.to_code("interned, not stored yet")
    busy = Busy()
    del busy  # its finalizer runs here, between the interning and the store
    assert heap.atoms.epoch == epoch  # ten new atoms, but no sweep inside the finalizer
    other = heap.list(["a top-level operation that sweeps"])
    assert len(other) == 1
    assert heap.atoms.epoch == epoch + 1
    heap.set_slot(holder, 0, code)
    assert heap.proxy(holder)[0] == "interned, not stored yet"


def test_low_level_atom_codes_are_pinned() -> None:
    heap = small_sweeps(gclab.Heap(), every=1)
    code = heap.atom("kept for later")
    for i in range(5):
        scratch = heap.list([f"filler {i}"])
        del scratch
    holder = heap.alloc("list", 1)
    heap.set_slot(holder, 0, code)
    assert heap.proxy(holder)[0] == "kept for later"


def test_a_released_code_is_rejected() -> None:
    heap = gclab.Heap()
    lst = heap.list(["short-lived"])
    code = heap.slots(heap.id_of(lst))[0]
    del lst
    assert heap.sweep_atoms() == 0  # interned since the last sweep: kept once
    assert heap.sweep_atoms() == 1
    assert not heap.atoms.is_live(code) and heap.atoms.find("short-lived") is None
    holder = heap.alloc("list", 1)
    try:
        heap.set_slot(holder, 0, code)
    except gclab.InvalidObjectError:
        pass
    else:
        raise AssertionError("a released atom code was accepted")
    assert heap.atoms.code("reused") == code  # the index is reused
