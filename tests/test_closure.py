"""mark_from: the oracle (algorithms/closure.py) and the kernel (kernels/closure.py) agree with
each other and with independent reachability (networkx ``descendants``, scipy's
``breadth_first_order``) on plain CSR graphs and on views of real heaps.

Under ``GCLAB_JIT=0`` the kernel runs as plain Python; both ways must pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gclab
from gclab import _jit
from gclab.algorithms import closure as oracle
from gclab.errors import GraphTypeError, InvalidRootError
from gclab.graphview import GraphView
from gclab.kernels import closure as kernel

nx = pytest.importorskip("networkx")
csgraph = pytest.importorskip("scipy.sparse.csgraph")
scipy_sparse = pytest.importorskip("scipy.sparse")

TWINS = (oracle.mark_from, kernel.mark_from)


def reachable_nx(n: int, edges: list[tuple[int, int]], roots: list[int]) -> list[int]:
    """0/1 per node: reached from a root, by networkx on a graph built from an edge list."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    reached: set[int] = set()
    for root in roots:
        reached |= {root} | nx.descendants(graph, root)
    return [int(i in reached) for i in range(n)]


def both(view: GraphView, roots: object) -> list[int]:
    """The two twins' answer, after checking they agree and return fresh uint8 arrays."""
    marks = [twin(view, roots) for twin in TWINS]
    for m in marks:
        assert m.dtype == np.uint8 and m.shape == (view.n,)
    assert marks[0].tolist() == marks[1].tolist()
    return marks[0].tolist()  # type: ignore[no-any-return]


# -- random plain graphs ------------------------------------------------------------------------


@st.composite
def graphs(draw: st.DrawFn) -> tuple[GraphView, list[tuple[int, int]], list[int]]:
    """A view (slots with NULLs and atoms, dead nodes), its edge list built separately, and
    live roots."""
    n = draw(st.integers(1, 30))
    slots = [draw(st.lists(st.integers(-3, n - 1), max_size=4)) for _ in range(n)]
    alive = draw(st.one_of(st.none(), st.lists(st.booleans(), min_size=n, max_size=n)))
    live = alive if alive is not None else [True] * n
    indptr = np.cumsum([0] + [len(s) for s in slots])
    targets = np.array([t for s in slots for t in s], np.int64)
    view = GraphView(indptr[:-1], np.diff(indptr), targets, n, alive)
    edges = [(i, t) for i in range(n) if live[i] for t in slots[i] if t >= 0 and live[t]]
    candidates = [i for i in range(n) if live[i]]
    roots = draw(st.lists(st.sampled_from(candidates), max_size=4)) if candidates else []
    return view, edges, roots


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_twins_agree_with_networkx(case: tuple[GraphView, list[tuple[int, int]], list[int]]
                                   ) -> None:
    view, edges, roots = case
    assert both(view, roots) == reachable_nx(view.n, edges, roots)


@pytest.mark.parametrize("seed", range(6))
def test_twins_agree_with_scipy_bfs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 3000))
    m = int(rng.integers(0, 3 * n))
    matrix = scipy_sparse.csr_matrix(
        (np.ones(m), (rng.integers(0, n, m), rng.integers(0, n, m))), shape=(n, n))
    roots = rng.integers(0, n, int(rng.integers(1, 4)))
    expected = np.zeros(n, np.uint8)
    for root in roots:
        expected[csgraph.breadth_first_order(matrix, int(root), return_predecessors=False)] = 1
    view = GraphView.from_csr(matrix.indptr, matrix.indices)
    assert both(view, roots) == expected.tolist()


def test_a_hand_worked_graph() -> None:
    # 0 -> 1 -> 2 -> 0 (a ring), 3 -> 1, 4 alone, 5 dead with an edge to 4, 2 -> 5 (ignored)
    view = GraphView([0, 1, 2, 4, 5, 5], [1, 1, 2, 1, 0, 1], [1, 2, 0, 5, 1, 4], 6,
                     alive=[True] * 5 + [False])
    assert both(view, [0]) == [1, 1, 1, 0, 0, 0]
    assert both(view, [3]) == [1, 1, 1, 1, 0, 0]
    assert both(view, [4, 4]) == [0, 0, 0, 0, 1, 0]
    assert both(view, []) == [0] * 6


def test_a_long_chain_needs_no_recursion() -> None:
    n = 200_000
    chain = GraphView.from_csr(np.arange(n + 1), np.append(np.arange(1, n), -1))
    assert int(oracle.mark_from(chain, [0]).sum()) == n
    assert int(kernel.mark_from(chain, [0]).sum()) == n
    assert int(kernel.mark_from(chain, [n // 2]).sum()) == n - n // 2


@pytest.mark.skipif(not _jit.ENABLED, reason="10M nodes only with the compiled kernel")
def test_the_kernel_handles_ten_million_nodes() -> None:
    n = 10_000_000
    indices = np.arange(1, n + 1, dtype=np.int32)
    indices[-1] = -1  # a chain, with the last node's slot NULL
    marks = kernel.mark_from(GraphView.from_csr(np.arange(n + 1, dtype=np.int32), indices),
                             [n - 3, 0])
    assert int(marks.sum()) == n


# -- views of real heaps ------------------------------------------------------------------------


@st.composite
def heap_programs(draw: st.DrawFn) -> list[tuple[str, int, list[object]]]:
    """(kind, index, items) for each new container; an item is ("obj", k) for an earlier
    container or an atom."""
    steps = []
    for k in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["list", "dict", "tuple"]))
        atom = st.one_of(st.integers(-3, 3), st.sampled_from(["s", None, 2.5]))
        ref = st.tuples(st.just("obj"), st.integers(0, k - 1)) if k else atom
        steps.append((kind, k, draw(st.lists(st.one_of(atom, ref), max_size=4))))
    return steps


def build_heap(steps: list[tuple[str, int, list[object]]], drop: list[bool],
               cycles: list[tuple[int, int]]) -> tuple[gclab.Heap, list[object]]:
    """Run the program on a fresh heap: containers, list back-edges (cycles), dropped
    proxies (freed by refcount or by a collection), then one more list to reuse an id."""
    heap = gclab.Heap()
    kept = make_objects(heap, steps, drop, cycles)  # the dropped proxies died with its frame
    heap.gc.collect()
    kept.append(heap.list(kept[:1]))
    return heap, kept


def make_objects(heap: gclab.Heap, steps: list[tuple[str, int, list[object]]],
                 drop: list[bool], cycles: list[tuple[int, int]]) -> list[object]:
    """The program's containers; returns the proxies not dropped."""
    made: list[object] = []
    for kind, _, items in steps:
        values = [made[v[1]] if isinstance(v, tuple) else v for v in items]
        if kind == "list":
            made.append(heap.list(values))
        elif kind == "dict":
            made.append(heap.dict(dict(enumerate(values))))
        else:
            made.append(heap.tuple(values))
    for a, b in cycles:
        if steps[a][0] == "list":
            made[a].append(made[b])  # type: ignore[attr-defined]
    return [obj for obj, d in zip(made, drop, strict=False) if not d]


@settings(max_examples=60, deadline=None)
@given(heap_programs(), st.lists(st.booleans(), max_size=14),
       st.lists(st.tuples(st.integers(0, 13), st.integers(0, 13)), max_size=5), st.data())
def test_twins_agree_with_networkx_on_a_heap(steps: list[tuple[str, int, list[object]]],
                                             drop: list[bool], cycles: list[tuple[int, int]],
                                             data: st.DataObject) -> None:
    cycles = [(a, b) for a, b in cycles if a < len(steps) and b < len(steps)]
    heap, kept = build_heap(steps, drop, cycles)
    table = heap.table
    live = [i for i in range(table.top) if table.is_alive(i)]
    edges = [(i, r) for i in live for r in heap.referents(i)]  # the heap's layout code
    held = sorted({heap.id_of(p) for p in kept})
    roots = data.draw(st.lists(st.sampled_from(held), max_size=3))
    view = GraphView.of_table(table)
    assert both(view, roots) == reachable_nx(table.top, edges, roots)
    freed = [i for i in range(16, table.top) if i not in live]
    if freed:
        with pytest.raises(InvalidRootError, match="dead"):
            kernel.mark_from(view, [freed[0]])


def test_a_heap_with_freed_rows_and_atoms() -> None:
    heap = gclab.Heap()
    a = heap.list([1, "x", None])
    b = heap.list([a, 2])
    c = heap.dict({"k": b, "n": 3})
    gone = heap.list([c])
    gone_id = heap.id_of(gone)
    del gone
    a.append(c)  # a -> c -> b -> a: a cycle through atoms' neighbours
    d = heap.tuple([4, "y"])  # atoms only
    view = GraphView.of_table(heap.table)
    ids = [heap.id_of(p) for p in (a, b, c, d)]
    for twin in TWINS:
        marks = twin(view, [ids[1]])
        assert [int(marks[i]) for i in ids] == [1, 1, 1, 0]
        assert int(marks.sum()) == 3 and marks[gone_id] == 0
        assert twin(view, [ids[3]]).sum() == 1


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("twin", TWINS, ids=["oracle", "kernel"])
def test_invalid_roots_and_graphs_raise_typed_errors(twin: object) -> None:
    mark_from = twin  # type: ignore[assignment]
    view = GraphView([0, 1, 1], [1, 0, 0], [1], 3, alive=np.array([1, 1, 0], np.uint8))
    for roots in ([3], [-1], [2], [[0]], [0.5], ["0"], [True]):
        with pytest.raises(InvalidRootError):
            mark_from(view, roots)  # type: ignore[operator]
    for graph in (None, [[1], []], view.to_scipy()):
        with pytest.raises(GraphTypeError):
            mark_from(graph, [0])  # type: ignore[operator]
    assert mark_from(view, np.array([0], np.uint16)).tolist() == [1, 1, 0]  # type: ignore[operator]
