"""GraphView: the read-only (start, length, targets, n) view over a plain CSR or a heap's table.

Every check compares the view with an independent description of the same graph: the lists a
test built the arrays from, scipy's own CSR matrix, or the heap's ``referents`` (its layout
code, which never reads the view).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gclab
from gclab.errors import GraphTypeError, InvalidGraphError, InvalidRootError
from gclab.graphview import GraphView

scipy_sparse = pytest.importorskip("scipy.sparse")


# -- random slot graphs, described twice: as arrays and as plain Python lists -----------------


@st.composite
def slot_graphs(draw: st.DrawFn, max_nodes: int = 25) -> tuple[GraphView, list[list[int]]]:
    """A view with slices scattered in a targets array (gaps filled with junk, NULLs and atoms
    in slots, dead nodes whose slices are junk) and, per node, the edges it should show."""
    n = draw(st.integers(0, max_nodes))
    slots = [draw(st.lists(st.integers(-4, n - 1) if n else st.integers(-4, -1), max_size=5))
             for _ in range(n)]
    alive = draw(st.one_of(st.none(), st.lists(st.booleans(), min_size=n, max_size=n)))
    targets: list[int] = []
    start, length = [], []
    for node in draw(st.permutations(range(n))):  # slices in random order, gaps between
        targets += [n + 7] * draw(st.integers(0, 2))  # junk no live slice covers
        start.append((node, len(targets)))
        targets += slots[node]
    starts = [0] * n
    for node, first in start:
        starts[node] = first
    length = [len(s) for s in slots]
    if alive is not None:  # a dead node's slice may be anything at all
        for node in range(n):
            if not alive[node] and draw(st.booleans()):
                starts[node], length[node] = len(targets) + 100, 3
    dtype = draw(st.sampled_from([np.int32, np.int64]))
    view = GraphView(np.array(starts, np.uint32), np.array(length, np.int32),
                     np.array(targets, dtype), n,
                     None if alive is None else np.array(alive, np.bool_))
    live = alive if alive is not None else [True] * n
    expected = [[t for t in slots[i] if t >= 0 and live[t]] if live[i] else [] for i in range(n)]
    return view, expected


@settings(max_examples=200, deadline=None)
@given(slot_graphs())
def test_edges_are_the_live_non_negative_slot_values(case: tuple[GraphView, list[list[int]]]
                                                     ) -> None:
    view, expected = case
    assert [view.out_edges(i).tolist() for i in range(view.n)] == expected
    src, dst = view.edges()
    assert list(zip(src.tolist(), dst.tolist(), strict=True)) == [
        (i, t) for i in range(view.n) for t in expected[i]]
    matrix = view.to_scipy()
    assert matrix.shape == (view.n, view.n)
    counts = Counter((i, t) for i in range(view.n) for t in expected[i])
    assert {(int(i), int(j)): int(v) for (i, j), v in matrix.todok().items()} == dict(counts)


def test_from_csr_is_scipys_matrix() -> None:
    rng = np.random.default_rng(8)
    for n, m in ((1, 0), (10, 30), (500, 2000)):
        matrix = scipy_sparse.random(n, n, density=m / n**2, format="csr", random_state=rng)
        view = GraphView.from_csr(matrix.indptr, matrix.indices)
        assert view.n == n
        assert np.shares_memory(view.targets, matrix.indices) or matrix.nnz == 0
        assert np.shares_memory(view.start, matrix.indptr)
        assert (view.to_scipy() != (matrix != 0).astype(np.int32)).nnz == 0


def test_from_edges_keeps_each_sources_order() -> None:
    view = GraphView.from_edges(4, [3, 1, 3, 0, 3], [0, 2, 2, 1, 0])
    assert [view.out_edges(i).tolist() for i in range(4)] == [[1], [2], [], [0, 2, 0]]
    empty = GraphView.from_edges(0, [], [])
    assert empty.n == 0 and empty.edges()[0].size == 0


def test_views_are_read_only_and_the_callers_arrays_are_not() -> None:
    start = np.array([0, 1], np.int64)
    length = np.array([1, 1], np.int64)
    targets = np.array([1, 0], np.int32)
    alive = np.array([True, True])
    view = GraphView(start, length, targets, 2, alive)
    for name in ("start", "length", "targets", "alive"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(view, name)[0] = 0
    for array in (start, length, targets, alive):
        assert array.flags.writeable
    targets[0] = 0  # the view sees the caller's array: it is a view, not a copy
    assert view.out_edges(0).tolist() == [0]


# -- a view of a real heap ---------------------------------------------------------------------


def heap_graph() -> tuple[gclab.Heap, list[object]]:
    """A heap with lists, dicts, tuples and sets, atoms in slots, freed rows (by refcount and
    by a collection) and a reused id; returns the heap and the proxies still held."""
    heap = gclab.Heap()
    a = heap.list([1, "two", None])
    b = heap.dict({"a": a, 3: 4.5})
    c = heap.tuple([a, b, "x"])
    a.append(c)
    s = heap.set([heap.tuple([1, 2]), 7])
    dead = heap.list([a])
    ring = heap.list()
    ring.append(heap.list([ring]))
    del dead, ring  # dead is freed at once, the ring by the collection
    heap.gc.collect()
    fresh = heap.list([s])  # takes a freed id back
    return heap, [a, b, c, s, fresh]


def test_a_heap_view_shares_the_pool_and_shows_the_heaps_references() -> None:
    heap, held = heap_graph()
    table = heap.table
    view = GraphView.of_table(table)
    assert view.n == table.top
    assert np.shares_memory(view.targets, table.pool)
    assert np.shares_memory(view.start, table.ref_start)
    assert np.shares_memory(view.length, table.ref_len)
    assert table.pool.flags.writeable and table.ref_start.flags.writeable
    live = [i for i in range(table.top) if table.is_alive(i)]
    assert len(live) < table.top - 16  # freed rows (besides the 16 list heads)
    for i in range(table.top):
        assert view.is_alive(i) == (i in live)
        expected = sorted(heap.referents(i)) if i in live else []
        assert sorted(view.out_edges(i).tolist()) == expected  # atoms and NULLs are no edges
    a = heap.id_of(held[0])
    assert sorted(view.out_edges(a).tolist()) == [heap.id_of(held[2])]


def test_of_table_needs_the_columns() -> None:
    with pytest.raises(GraphTypeError, match="not table-like: no pool"):
        GraphView.of_table(type("T", (), {"ref_start": 0, "ref_len": 0, "top": 0,
                                          "flags": 0})())


# -- bad input: a typed error, nothing changed -------------------------------------------------


BAD = [
    (GraphTypeError, dict(start=[0.0], length=[0], targets=[], n=1)),
    (GraphTypeError, dict(start=[0], length=[0], targets=np.array([0.5]), n=1)),
    (GraphTypeError, dict(start=[0], length=[0], targets=[], n=1.0)),
    (GraphTypeError, dict(start=[0], length=[0], targets=[], n=True)),
    (GraphTypeError, dict(start=[0], length=[0], targets=[], n=1, alive=[1])),
    (InvalidGraphError, dict(start=[[0]], length=[0], targets=[], n=1)),
    (InvalidGraphError, dict(start=[0], length=[0, 0], targets=[], n=1)),
    (InvalidGraphError, dict(start=[0], length=[0], targets=[], n=-1)),
    (InvalidGraphError, dict(start=[0], length=[-1], targets=[0], n=1)),
    (InvalidGraphError, dict(start=[-1], length=[1], targets=[0], n=1)),
    (InvalidGraphError, dict(start=[1], length=[1], targets=[0], n=1)),
    (InvalidGraphError, dict(start=[0], length=[1], targets=[1], n=1)),
    (InvalidGraphError, dict(start=[0], length=[0], targets=[], n=1, alive=[True, True])),
]


@pytest.mark.parametrize(("error", "args"), BAD)
def test_bad_arrays_raise_typed_errors(error: type[Exception],
                                       args: dict[str, object]) -> None:
    arrays = {k: np.array(v) for k, v in args.items() if isinstance(v, list)}
    before = {k: v.copy() for k, v in arrays.items()}
    with pytest.raises(error):
        GraphView(**{**args, **arrays})
    for k, v in arrays.items():
        assert v.flags.writeable and np.array_equal(v, before[k])


def test_bad_csr_and_edge_lists() -> None:
    with pytest.raises(InvalidGraphError):
        GraphView.from_csr([], [])
    with pytest.raises(InvalidGraphError):
        GraphView.from_csr([0, 2, 1], [0, 1])  # a decreasing indptr: a negative length
    with pytest.raises(InvalidGraphError):
        GraphView.from_csr(np.array([0, 2, 1], np.uint64), [0, 1])
    with pytest.raises(InvalidGraphError, match="dst"):
        GraphView.from_edges(2, [0], [2])
    with pytest.raises(InvalidGraphError, match="src"):
        GraphView.from_edges(2, [-1], [0])
    with pytest.raises(InvalidGraphError):
        GraphView.from_edges(2, [0, 1], [0])


def test_bad_nodes_and_roots() -> None:
    view = GraphView([0, 0, 0], [0, 0, 0], [], 3, alive=[True, False, True])
    for bad in (3, -1, True, "0"):
        with pytest.raises(InvalidRootError):
            view.out_edges(bad)  # type: ignore[arg-type]
    for roots in ([3], [-1], [1], [[0]], [0.0], "0"):
        with pytest.raises(InvalidRootError):
            view.check_roots(roots)
    assert view.check_roots(2).tolist() == [2]
    assert view.check_roots(np.array([], np.uint8)).tolist() == []
