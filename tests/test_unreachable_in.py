"""CPython's unreachable-set phases on a graph that is not a heap: ``unreachable_in`` (the
oracle in algorithms/cycles.py, the compiled twin in kernels/cycles.py) over a GraphTable.

Checked against an independent computation (networkx): the unreachable candidates are those
not reachable, through candidates, from a candidate with references from outside the
candidates (refcount > references the candidates hold to it); and on a real heap against what
the heap's own collector frees.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gclab
from gclab.algorithms import cycles as oracle
from gclab.errors import GraphTypeError, InvalidGraphError, InvalidRootError
from gclab.graphview import GraphTable, GraphView
from gclab.heap.flags import TRACKED
from gclab.heap.types import SET, TypeRegistry
from gclab.kernels import cycles as kernel

nx = pytest.importorskip("networkx")


def expected_unreachable(n: int, edges: list[tuple[int, int]], refcounts: list[int],
                         candidates: list[int]) -> set[int]:
    """The candidates that no candidate with an outside reference reaches (networkx)."""
    members = set(candidates)
    inside = [(a, b) for a, b in edges if a in members and b in members]
    held = {c: sum(1 for _, b in inside if b == c) for c in members}
    graph = nx.DiGraph()
    graph.add_nodes_from(members)
    graph.add_edges_from(inside)
    reached: set[int] = set()
    for c in members:
        if refcounts[c] > held[c]:
            reached |= {c} | nx.descendants(graph, c)
    return members - reached


def both(view: GraphView, refcounts: object, candidates: object) -> list[int]:
    """The two twins' answer (the same ids in the same order)."""
    answers = [twin.unreachable_in(view, refcounts, candidates).tolist()
               for twin in (oracle, kernel)]
    assert answers[0] == answers[1]
    return answers[0]  # type: ignore[no-any-return]


@st.composite
def cases(draw: st.DrawFn) -> tuple[GraphView, list[tuple[int, int]], list[int], list[int]]:
    """A CSR graph (NULLs, atoms, dead nodes), its edge list, refcounts at least the in-degree,
    and distinct live candidates in a random order."""
    n = draw(st.integers(1, 25))
    slots = [draw(st.lists(st.integers(-2, n - 1), max_size=4)) for _ in range(n)]
    alive = draw(st.one_of(st.none(), st.lists(st.booleans(), min_size=n, max_size=n)))
    live = alive if alive is not None else [True] * n
    indptr = np.cumsum([0] + [len(s) for s in slots])
    view = GraphView(indptr[:-1], np.diff(indptr),
                     np.array([t for s in slots for t in s], np.int32), n, alive)
    edges = [(i, t) for i in range(n) if live[i] for t in slots[i] if t >= 0 and live[t]]
    extra = draw(st.lists(st.sampled_from([0, 0, 0, 1, 2]), min_size=n, max_size=n))
    refcounts = [sum(1 for _, b in edges if b == i) + extra[i] for i in range(n)]
    pool = [i for i in range(n) if live[i]]
    candidates = draw(st.permutations(pool)) if pool else []
    candidates = candidates[: draw(st.integers(0, len(candidates)))]
    return view, edges, refcounts, candidates


@settings(max_examples=300, deadline=None)
@given(cases())
def test_twins_agree_with_networkx(case: tuple[GraphView, list[tuple[int, int]], list[int],
                                               list[int]]) -> None:
    view, edges, refcounts, candidates = case
    targets = view.targets.copy()
    found = both(view, refcounts, candidates)
    assert len(found) == len(set(found))
    assert set(found) == expected_unreachable(view.n, edges, refcounts, candidates)
    assert np.array_equal(view.targets, targets)  # the graph is unchanged


def test_a_hand_worked_graph() -> None:
    # 0 -> 1 -> 2 -> 0 (a ring nothing outside holds), 3 -> 4 with 3 held from outside,
    # 5 -> 0: 5 is no candidate, so its reference to 0 is an outside one in the second call
    view = GraphView.from_edges(6, [0, 1, 2, 3, 5], [1, 2, 0, 4, 0])
    refcounts = [2, 1, 1, 1, 1, 0]
    assert sorted(both(view, refcounts, [0, 1, 2, 3, 4, 5])) == [0, 1, 2, 5]
    assert both(view, refcounts, [0, 1, 2, 3, 4]) == []
    assert both(view, refcounts, []) == []


def test_the_heaps_collector_frees_what_unreachable_in_finds() -> None:
    heap = gclab.Heap()
    keep = heap.list([1, "a"])
    for k in range(30):  # cycles of lists and dicts, every third one held from outside
        a = heap.list([k])
        b = heap.dict({"a": a, "k": k})
        a.append(b)
        if k % 3 == 0:
            keep.append(a)
    del a, b
    table = heap.table
    top = table.top
    candidates = [i for i in range(top) if table.flags[i] & TRACKED]
    view = GraphView.of_table(table)
    found = both(view, table.refcnt[:top].copy(), candidates)
    freed: list[int] = []
    table.free_listeners.append(freed.append)
    heap.gc.collect()
    assert len(found) == 40 and sorted(found) == sorted(set(freed) & set(candidates))


def test_a_graph_table_is_a_table_like_of_its_own() -> None:
    view = GraphView.from_edges(3, [0, 1], [1, 0])
    table = GraphTable(view, [1, 1, 0], [2, 0, 1], TypeRegistry(), SET)
    assert table.table is table and (table.young, table.unreachable) == (3, 4)
    assert table.list_members(table.young) == [2, 0, 1]
    assert table.list_members(table.unreachable) == []
    assert np.shares_memory(table.pool, view.targets)
    table.list_move(0, table.unreachable)
    assert table.list_members(table.young) == [2, 1]
    assert table.list_members(table.unreachable) == [0]
    assert table.referents(1) == [0]


@pytest.mark.parametrize("twin", [oracle, kernel], ids=["oracle", "kernel"])
def test_bad_input_raises_typed_errors(twin: object) -> None:
    unreachable_in = twin.unreachable_in  # type: ignore[attr-defined]
    view = GraphView([0, 1, 1], [1, 0, 0], [1], 3, alive=[True, True, False])
    with pytest.raises(InvalidGraphError, match="refcount 0"):
        unreachable_in(view, [0, 0, 0], [0, 1])  # 0 holds a reference to 1
    with pytest.raises(InvalidGraphError):
        unreachable_in(view, [0, 1], [0])
    with pytest.raises(GraphTypeError):
        unreachable_in(view, [0.0, 1.0, 0.0], [0])
    with pytest.raises(InvalidRootError, match="twice"):
        unreachable_in(view, [0, 1, 0], [0, 1, 0])
    with pytest.raises(InvalidRootError, match="dead"):
        unreachable_in(view, [0, 1, 0], [2])
    with pytest.raises(GraphTypeError):
        unreachable_in(view.to_scipy(), [0, 1, 0], [0])
