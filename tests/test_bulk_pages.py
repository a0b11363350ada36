"""heap/pages.py: the table's big arrays on ordinary pages, with the same values."""

from __future__ import annotations

import numpy as np
import pytest

import gclab
from gclab.errors import InvariantViolation
from gclab.heap import pages
from gclab.heap.invariants import check_invariants


@pytest.mark.skipif(pages._SWITCH is None, reason="numpy has no huge-page switch here")
def test_small_pages_restores_numpy_setting_even_on_error() -> None:
    switch = pages._SWITCH
    assert switch is not None
    before = switch(True)
    try:
        with pytest.raises(RuntimeError), pages.small_pages():
            assert switch(False) is False  # inside: no advice
            raise RuntimeError("inside")
        assert switch(True) is True  # afterwards: what it was
    finally:
        switch(before)


@pytest.mark.parametrize("fill", [0, -1, 3])
def test_filled_and_grown_hold_the_values_numpy_would(fill: int) -> None:
    made = pages.filled(5, np.int32, fill)
    assert made.dtype == np.int32 and made.tolist() == [fill] * 5
    source = np.arange(4, dtype=np.int16)
    out = pages.grown(source, 9, fill)
    assert out.dtype == np.int16 and out.tolist() == [0, 1, 2, 3] + [fill] * 5
    assert pages.empty(3, np.uint8).shape == (3,)


@pytest.mark.parametrize("column", ["gc_refs", "gc_next", "ref_len", "pool", "mark"])
def test_a_value_past_top_is_an_invariant_violation(column: str) -> None:
    """alloc_many writes only the columns of its fresh rows that differ from the fill: the
    invariant checker catches anything written past top (or past pool_top) before."""
    heap = gclab.Heap()
    heap.table.add_column("mark", np.uint8, fill=2)
    ids = heap.alloc_many("list", 10, 1)
    check_invariants(heap)
    t = heap.table
    if column == "pool":
        t.pool[t.pool_top + 1] = 5
    elif column == "mark":
        t.column("mark")[t.top + 3] = 0
    else:
        getattr(t, column)[t.top + 3] = 7
    with pytest.raises(InvariantViolation, match="past"):
        check_invariants(heap)
    assert len(ids) == 10


def test_fresh_rows_after_growth_hold_what_alloc_writes() -> None:
    """Rows made by alloc_many past every growth: the fill where alloc writes the fill."""
    heap = gclab.Heap(capacity=20)
    heap.table.add_column("mark", np.int16, fill=-3)
    heap.gc.disable()
    ids = heap.alloc_many("dict", 3000, 2)
    t = heap.table
    assert (t.gc_refs[ids] == 0).all() and (t.gc_next[ids] == -1).all()  # dicts: untracked
    assert (t.column("mark")[ids] == -3).all() and (t.ref_cap[ids] == 2).all()
    assert (t.pool[t.ref_start[ids[-1]]: t.pool_top] == -1).all()
    check_invariants(heap, strict=True)


@pytest.mark.skipif(pages._SWITCH is None, reason="numpy has no huge-page switch here")
def test_nested_and_overlapping_blocks_restore_the_setting_once() -> None:
    """Blocks that overlap (as in two threads) leave numpy's setting as it was before the
    first, whichever ends last."""
    switch = pages._SWITCH
    assert switch is not None
    before = switch(True)
    try:
        first, second = pages.small_pages(), pages.small_pages()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        assert switch(False) is False  # still inside the second block
        second.__exit__(None, None, None)
        assert switch(True) is True
    finally:
        switch(before)
