"""Per-collector columns (``ObjectTable.add_column``): grown with the table, reset when a row
is allocated (one at a time and in bulk), removable; bad names, dtypes and fills are typed
errors that change nothing; a MemoryError while growing leaves every column as it was."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gclab
from gclab.errors import ColumnError
from gclab.heap import table as table_module
from gclab.heap.core import HeapCore
from gclab.heap.table import N_HEADS, ObjectTable


def test_columns_grow_with_the_table_and_keep_their_values() -> None:
    """Thousands of allocations past the initial capacity: each column is as long as the table
    after every growth, values written early survive, new rows read the fill."""
    heap = HeapCore(capacity=64)
    t = heap.table
    t.add_column("mark", np.uint8)
    t.add_column("colour", np.int8, fill=-1)
    ids = []
    for k in range(5000):
        oid = heap.alloc("list")
        ids.append(oid)
        assert len(t.column("mark")) == len(t.column("colour")) == t.capacity
        assert t.column("colour")[oid] == -1 and t.column("mark")[oid] == 0
        if k < 100:
            t.column("mark")[oid] = 1 + k % 200
    assert t.capacity > 5000
    assert t.column("mark")[ids[:100]].tolist() == [1 + k for k in range(100)]
    assert not t.column("mark")[ids[100:]].any()
    assert (t.column("colour")[ids] == -1).all()


def test_a_reused_row_starts_at_the_fill_again() -> None:
    """A freed id (here the only one) is reused by the next allocation, whose value is the
    fill, not the dead object's."""
    heap = HeapCore()
    colour = heap.table.add_column("colour", np.int32, fill=7)
    oid = heap.alloc("list")
    colour[oid] = 3
    heap.decref(oid)  # freed; the value is stale until reuse
    assert heap.alloc("dict") == oid
    assert heap.table.column("colour")[oid] == 7


def test_bulk_allocation_resets_reused_and_fresh_rows() -> None:
    heap = HeapCore()
    t = heap.table
    t.add_column("marked", bool)
    t.add_column("space", np.float64, fill=0.5)
    old = heap.alloc_many("list", 10, 1)
    t.column("marked")[old] = True
    t.column("space")[old] = 2.0
    heap.decref_many(old)
    new = heap.alloc_many("list", 2000, 1)  # the 10 freed ids, then fresh rows (growing)
    assert set(old.tolist()) <= set(new.tolist())
    assert not t.column("marked")[new].any()
    assert (t.column("space")[new] == 0.5).all()
    assert len(t.column("space")) == t.capacity


def test_a_column_added_late_covers_every_row_and_can_be_removed() -> None:
    heap = gclab.Heap()
    lst = heap.list([heap.dict()])
    t = heap.table
    marks = t.add_column("mark", np.uint16, fill=5)
    assert len(marks) == t.capacity and (marks == 5).all()
    assert t.column_names == ("mark",)
    t.remove_column("mark")
    assert t.column_names == ()
    with pytest.raises(ColumnError, match="no column named 'mark'"):
        t.column("mark")
    assert t.add_column("mark", np.uint8)[heap.id_of(lst)] == 0


def _columns(t: ObjectTable) -> dict[str, Any]:
    return {name: (t.column(name).dtype, t.column(name).tolist()) for name in t.column_names}


@pytest.mark.parametrize(("args", "error", "match"), [
    (("mark", np.uint8), ColumnError, "already"),
    (("refcnt", np.int32), ColumnError, "table's own columns"),
    (("not a name", np.int32), ColumnError, "identifier"),
    (("", np.int32), ColumnError, "identifier"),
    ((3, np.int32), TypeError, "a column name is a str"),
    (("c", object), ColumnError, "bool, integer or float"),
    (("c", "U4"), ColumnError, "bool, integer or float"),
    (("c", np.complex128), ColumnError, "bool, integer or float"),
    (("c", "no such dtype"), ColumnError, "not a dtype"),
    (("c", np.uint8, 256), ColumnError, "does not fit"),
    (("c", np.uint8, -1), ColumnError, "does not fit"),
    (("c", np.int32, 1.5), ColumnError, "does not fit"),
    (("c", bool, 2), ColumnError, "does not fit"),
    (("c", np.float32, 1e300), ColumnError, "does not fit"),
    (("c", np.int64, 2**70), ColumnError, "does not fit"),
    (("c", np.int64, "0"), ColumnError, "fill is a bool, int or float"),
    (("c", np.int64, None), ColumnError, "fill is a bool, int or float"),
])
def test_bad_columns_are_typed_errors_that_change_nothing(args: tuple[Any, ...],
                                                          error: type[Exception],
                                                          match: str) -> None:
    heap = HeapCore()
    t = heap.table
    t.add_column("mark", np.uint8, fill=1)
    t.column("mark")[N_HEADS] = 9
    before = _columns(t)
    with pytest.raises(error, match=match):
        t.add_column(*args)
    assert _columns(t) == before
    with pytest.raises(ColumnError, match="no column"):
        t.remove_column("colour")
    assert _columns(t) == before


def test_growth_that_fails_leaves_every_column_as_it_was(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """A MemoryError while the per-collector column grows (after the table's own columns
    were made) replaces nothing: the table's capacity, its columns and the extra one."""
    heap = HeapCore(capacity=32)
    t = heap.table
    t.add_column("mark", np.int16, fill=3)
    while t.top < t.capacity:
        heap.alloc("list")
    before = (t.capacity, t.refcnt.tolist(), _columns(t))
    grown = table_module._grown

    def fail_on_the_extra_column(array: Any, size: int, fill: Any) -> Any:
        if array.dtype == np.int16:
            raise MemoryError("injected: no room for the column")
        return grown(array, size, fill)

    monkeypatch.setattr(table_module, "_grown", fail_on_the_extra_column)
    with pytest.raises(MemoryError):
        heap.alloc("list")
    assert (t.capacity, t.refcnt.tolist(), _columns(t)) == before
    monkeypatch.undo()
    oid = heap.alloc("list")
    assert t.column("mark")[oid] == 3 and len(t.column("mark")) == t.capacity
