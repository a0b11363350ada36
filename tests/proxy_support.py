"""Helpers for the proxy tests: proxies as host values, outcomes, unchanged-heap checks.

The heap snapshot is ``heapstate.snapshot`` (every column, slot, list, count and side table);
``unchanged`` adds the atom table, which lookups must not grow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import gclab
from gclab.heap.invariants import check_invariants
from gclab.heap.proxies import (
    DictProxy,
    ItemsView,
    KeysView,
    ListProxy,
    SetProxy,
    TupleProxy,
    ValuesView,
)
from heapstate import snapshot

VIEWS = (KeysView, ItemsView, ValuesView)


def to_host(value: Any, memo: dict[tuple[int, int], Any] | None = None) -> Any:
    """``value`` with every list, tuple, dict and set proxy (and dict view) replaced by the real
    type holding the same contents, recursively; a cycle becomes the same cycle. Real
    containers are converted too (they may hold proxies); instances and weakrefs stay."""
    memo = {} if memo is None else memo
    if isinstance(value, (ListProxy, DictProxy)):
        key = (id(value._heap), value._id)
        if key in memo:
            return memo[key]
        out: Any = [] if isinstance(value, ListProxy) else {}
        memo[key] = out
        if isinstance(out, list):
            out.extend(to_host(item, memo) for item in value)
        else:
            out.update((to_host(k, memo), to_host(v, memo)) for k, v in value.items())
        return out
    if isinstance(value, (TupleProxy, tuple)):
        return tuple(to_host(item, memo) for item in value)
    if isinstance(value, (SetProxy, set, frozenset)):
        return {to_host(item, memo) for item in value}
    if isinstance(value, list):
        return [to_host(item, memo) for item in value]
    if isinstance(value, dict):
        return {to_host(k, memo): to_host(v, memo) for k, v in value.items()}
    if isinstance(value, (*VIEWS, type({}.keys()), type({}.values()), type({}.items()))):
        return (type(value).__name__, [to_host(item, memo) for item in value])
    return value


def outcome(call: Callable[[], object]) -> tuple[Any, ...]:
    """("ok", the result as host values) or ("error", exception type, message)."""
    try:
        result = call()
    except Exception as exc:  # any type: the caller compares them
        return ("error", type(exc), str(exc))
    return ("ok", to_host(result))


def atom_count(heap: gclab.Heap) -> int:
    """How many atoms the heap has interned."""
    return len(heap.atoms)


@contextmanager
def unchanged(heap: gclab.Heap) -> Iterator[None]:
    """The block leaves the heap exactly as it was (atoms included) and its invariants hold."""
    before, atoms = snapshot(heap), atom_count(heap)
    yield
    after = snapshot(heap)
    for key in before:
        assert after[key] == before[key], f"{key} changed"
    assert atom_count(heap) == atoms, "the atom table grew"
    check_invariants(heap)


def live_state(heap: gclab.Heap) -> dict[str, Any]:
    """The live objects (type, refcount, slots), the generations and counts: what a failed
    operation that ran user code must give back (rows it used and freed may differ)."""
    t = heap.table
    live = [i for i in range(16, t.top) if t.is_alive(i)]
    return {"objects": {i: (int(t.type_id[i]), int(t.refcnt[i]), t.slot_list(i)) for i in live},
            "lists": [t.list_members(head) for head in range(4)],
            "count": list(heap.collector.state.count)}
