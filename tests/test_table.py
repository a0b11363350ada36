"""ObjectTable storage: pool compaction keeps every live object's values (issue #3, memory)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gclab.heap.table import ObjectTable


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4), st.booleans()), max_size=40))
def test_compact_pool_keeps_values_and_packs_slices_in_id_order(
        rows: list[tuple[int, int, bool]]) -> None:
    table = ObjectTable(4)
    values: dict[int, list[int]] = {}
    for length, extra, keep in rows:
        oid = table.new_row(0, length)
        table.reserve(oid, length + extra)  # a capacity beyond the length moves the slice
        for i in range(length):
            table.put(oid, i, 1000 + 10 * oid + i)
        if keep:
            values[oid] = table.slot_list(oid)
        else:
            table.free_row(oid)
    caps = {oid: int(table.ref_cap[oid]) for oid in values}
    table.compact_pool()
    assert table.pool_holes == 0
    expected_start = 0
    for oid in sorted(values):  # live slices back to back, in id order, capacities kept
        assert int(table.ref_start[oid]) == expected_start
        assert int(table.ref_cap[oid]) == caps[oid]
        assert table.slot_list(oid) == values[oid]
        expected_start += caps[oid]
    assert table.pool_top == expected_start
    assert np.all(table.pool[table.pool_top:] == -1)
