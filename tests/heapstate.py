"""A heap's whole observable state as plain Python values, and the "error changes nothing"
assertion built on it (the style of ``test_errors.py``, for HeapCore and Heap alike).

Not compared: the atom table (an intern cache of immortal host values; a failing call may
intern a value, as CPython interns a name it looks up) and the table's capacity (room made in
advance is not state: ids, rows and counts are).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from gclab.heap.core import HeapCore
from gclab.heap.invariants import check_invariants
from gclab.heap.table import N_HEADS


def snapshot(heap: HeapCore) -> dict[str, Any]:
    """Everything an error could wrongly change."""
    t = heap.table
    live = [i for i in range(N_HEADS, t.top) if t.is_alive(i)]
    out: dict[str, Any] = {
        "columns": {name: getattr(t, name)[: t.top].tolist() for name in t.COLUMNS},
        "slots": {oid: t.slot_list(oid) for oid in live},
        "scalars": (t.top, t.live, t.pool_top, t.pool_holes, list(t.free_ids)),
        "lists": [t.walk_members(head) for head in range(N_HEADS)],
        "weakrefs": (dict(heap.wr_referent), {k: id(v) for k, v in heap.wr_callback.items()},
                     {k: list(v) for k, v in heap.weaklists.items()}),
        "static": dict(heap.static_refs),
        "trash": (heap.trash_nesting, heap.trash_delete_later.tolist()),
        "types": len(heap.types),
    }
    collector = getattr(heap, "collector", None)
    if collector is not None:
        state = collector.state
        free = collector.free_counts
        out["gc"] = (list(state.count), list(state.thresholds), state.enabled, state.debug,
                     state.scheduled, [p._id for p in state.garbage], len(collector.history),
                     None if free is None else free.tolist())
    return out


def collection_state(heap: Any) -> dict[str, Any]:
    """What a collection path leaves, for twin heaps that must agree (tests/test_young_fast.py,
    tests/test_bulk_collect.py): every column, the pool, the table's counters, the free ids,
    the collector's counts, long-lived counts and stats, ``gc.garbage``, the trashcan, the
    weakref tables and the history (every field but ``wall_time``)."""
    t, state = heap.table, heap.collector.state
    out: dict[str, Any] = {name: getattr(t, name)[: t.top].tolist() for name in t.COLUMNS}
    out["pool"] = t.pool[: t.pool_top].tolist()
    out["scalars"] = (t.top, t.live, t.pool_top, t.pool_holes)
    out["free_ids"] = list(t.free_ids)
    out["count"] = list(state.count)
    out["long_lived"] = (state.long_lived_pending, state.long_lived_total)
    out["stats"] = [dict(gen) for gen in state.stats]  # what gc.get_stats() shows (3.4+)
    out["garbage"] = [getattr(p, "id", None) or heap.id_of(p) for p in state.garbage]
    out["trash"] = (heap.trash_nesting, heap.trash_delete_later.tolist())
    out["weak"] = (heap.weaklists, heap.wr_referent,
                   {wr: cb is None for wr, cb in heap.wr_callback.items()})
    out["history"] = [{k: v for k, v in dataclasses.asdict(r).items() if k != "wall_time"}
                      for r in heap.history]
    return out


def assert_unchanged(before: dict[str, Any], heap: HeapCore) -> None:
    """``heap`` is exactly as ``before`` shows it, and consistent."""
    after = snapshot(heap)
    for key in before:
        assert after[key] == before[key], f"{key} changed by a failing call"
    check_invariants(heap)


def assert_raises_unchanged(heap: HeapCore, call: Callable[[], object],
                            error: type[BaseException], names: str | None = None,
                            message: str | None = None) -> BaseException:
    """``call()`` raises ``error`` (whose message contains ``names``, or equals ``message``)
    and leaves the heap exactly as it was."""
    before = snapshot(heap)
    with pytest.raises(error) as info:
        call()
    assert_unchanged(before, heap)
    if names is not None:
        assert names in str(info.value), f"{str(info.value)!r} does not name {names!r}"
    if message is not None:
        assert str(info.value) == message
    return info.value


def real_error(call: Callable[[], object]) -> BaseException:
    """The exception the real interpreter raises for the same misuse."""
    try:
        call()
    except Exception as exc:  # any type: the caller compares it
        return exc
    raise AssertionError("the real interpreter accepted the call")
