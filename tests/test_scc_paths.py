"""The graph kernels of the garbage dry run and of ``gclab why``: strongly connected
components (algorithms/scc.py, kernels/scc.py) and multi-source breadth-first search
(algorithms/paths.py, kernels/paths.py).

Each oracle/kernel pair agrees exactly (labels, parents) on Hypothesis graphs with NULLs,
atoms and dead nodes, and both agree with independent computations: scipy's
``connected_components(connection='strong')`` partition and Tarjan's reverse topological
order checked edge by edge; distances from a breadth-first search written here, and parents
that are real edges one step closer. Under ``GCLAB_JIT=0`` the kernels run as plain Python;
both ways must pass (./run tests runs this file both ways).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gclab.algorithms import paths as paths_oracle
from gclab.algorithms import scc as scc_oracle
from gclab.errors import GraphTypeError, InvalidGraphError, InvalidRootError
from gclab.graphview import GraphView
from gclab.kernels import paths as paths_kernel
from gclab.kernels import scc as scc_kernel

csgraph = pytest.importorskip("scipy.sparse.csgraph")
sparse = pytest.importorskip("scipy.sparse")
nx = pytest.importorskip("networkx")

Case = tuple[GraphView, list[tuple[int, int]], list[bool]]


@st.composite
def graphs(draw: st.DrawFn, max_n: int = 30) -> Case:
    """A view (slots with NULLs and atoms, maybe dead nodes), its live edge list built
    separately, and which nodes live."""
    n = draw(st.integers(1, max_n))
    slots = [draw(st.lists(st.integers(-3, n - 1), max_size=4)) for _ in range(n)]
    alive = draw(st.one_of(st.none(), st.lists(st.booleans(), min_size=n, max_size=n)))
    live = alive if alive is not None else [True] * n
    indptr = np.cumsum([0] + [len(s) for s in slots])
    view = GraphView(indptr[:-1], np.diff(indptr),
                     np.array([t for s in slots for t in s], np.int32), n, alive)
    edges = [(i, t) for i in range(n) if live[i] for t in slots[i] if t >= 0 and live[t]]
    return view, edges, list(live)


# -- strongly connected components ---------------------------------------------------------


def scipy_partition(n: int, edges: list[tuple[int, int]], live: list[bool]) -> set[frozenset[int]]:
    """The live nodes' strong components, by scipy."""
    src = [a for a, _ in edges]
    dst = [b for _, b in edges]
    matrix = sparse.csr_matrix((np.ones(len(edges)), (src, dst)), shape=(n, n))
    _, labels = csgraph.connected_components(matrix, directed=True, connection="strong")
    groups: dict[int, set[int]] = {}
    for node in range(n):
        if live[node]:
            groups.setdefault(int(labels[node]), set()).add(node)
    return {frozenset(g) for g in groups.values()}


def partition(labels: list[int]) -> set[frozenset[int]]:
    """The nodes grouped by label (label -1 left out)."""
    groups: dict[int, set[int]] = {}
    for node, label in enumerate(labels):
        if label >= 0:
            groups.setdefault(label, set()).add(node)
    return {frozenset(g) for g in groups.values()}


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_scc_twins_agree_with_scipy(case: Case) -> None:
    view, edges, live = case
    labels = [twin.strongly_connected_components(view).tolist()
              for twin in (scc_oracle, scc_kernel)]
    assert labels[0] == labels[1]
    found = labels[0]
    assert partition(found) == scipy_partition(view.n, edges, live)
    assert all((found[i] < 0) == (not live[i]) for i in range(view.n))
    assert sorted(set(found) - {-1}) == list(range(len(partition(found))))  # 0 .. c-1
    for a, b in edges:  # completion order: a referenced component comes first
        assert found[b] <= found[a]


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_source_components_agree_with_networkx(case: Case) -> None:
    """Sources: the components with in-degree 0 in networkx's condensation."""
    view, edges, live = case
    labels = scc_kernel.strongly_connected_components(view)
    found = [twin.source_components(view, labels).tolist() for twin in (scc_oracle, scc_kernel)]
    assert found[0] == found[1]
    graph = nx.DiGraph()
    graph.add_nodes_from(i for i in range(view.n) if live[i])
    graph.add_edges_from(edges)
    condensed = nx.condensation(graph)
    expected = set()
    for c in condensed.nodes:
        if condensed.in_degree(c) == 0:
            members = condensed.nodes[c]["members"]
            expected.add(int(labels[next(iter(members))]))
    assert {k for k, source in enumerate(found[0]) if source} == expected


def test_source_components_bad_labels() -> None:
    view = GraphView.from_edges(2, [0], [1])
    for twin in (scc_oracle, scc_kernel):
        for bad in ([0], [0.0, 1.0], [-2, 0]):
            with pytest.raises(InvalidGraphError):
                twin.source_components(view, bad)


def test_scc_hand_worked() -> None:
    # 0 -> 1 -> 2 -> 0 (a ring), 2 -> 3 -> 4 -> 3, 5 -> 5 (a self loop), 6 alone, 5 -> 0
    view = GraphView.from_edges(7, [0, 1, 2, 2, 3, 4, 5, 5], [1, 2, 0, 3, 4, 3, 5, 0])
    for twin in (scc_oracle, scc_kernel):
        # the search from 0 completes {3, 4} first, then {0, 1, 2}; then 5, then 6
        assert twin.strongly_connected_components(view).tolist() == [1, 1, 1, 0, 0, 2, 3]


def test_scc_long_chain_and_ring_no_recursion() -> None:
    n = 200_000
    ring = GraphView.from_csr(np.arange(n + 1), (np.arange(n) + 1) % n)
    chain = GraphView.from_csr(np.concatenate([np.arange(n), [n - 1]]), np.arange(1, n))
    assert set(scc_kernel.strongly_connected_components(ring).tolist()) == {0}
    labels = scc_kernel.strongly_connected_components(chain)
    assert labels.tolist() == list(range(n - 1, -1, -1))  # the last node completes first


def test_scc_bad_input() -> None:
    for twin in (scc_oracle, scc_kernel):
        with pytest.raises(GraphTypeError):
            twin.strongly_connected_components([[0, 1]])  # type: ignore[arg-type]


# -- breadth-first search --------------------------------------------------------------------


def bfs_distances(n: int, edges: list[tuple[int, int]], sources: list[int]) -> list[int]:
    """Fewest edges from any source, -1 when unreached: a plain breadth-first search."""
    adjacency: dict[int, list[int]] = {}
    for a, b in edges:
        adjacency.setdefault(a, []).append(b)
    distance = [-1] * n
    queue: deque[int] = deque()
    for s in sources:
        if distance[s] < 0:
            distance[s] = 0
            queue.append(s)
    while queue:
        node = queue.popleft()
        for target in adjacency.get(node, []):
            if distance[target] < 0:
                distance[target] = distance[node] + 1
                queue.append(target)
    return distance


@st.composite
def searches(draw: st.DrawFn) -> tuple[Case, list[int]]:
    case = draw(graphs())
    live_nodes = [i for i, alive in enumerate(case[2]) if alive]
    sources = draw(st.lists(st.sampled_from(live_nodes), max_size=4)) if live_nodes else []
    return case, sources


@settings(max_examples=300, deadline=None)
@given(searches())
def test_bfs_twins_agree_and_are_shortest(search: tuple[Case, list[int]]) -> None:
    (view, edges, _), sources = search
    results = [twin.breadth_first(view, sources) for twin in (paths_oracle, paths_kernel)]
    assert results[0][0].tolist() == results[1][0].tolist()
    assert results[0][1].tolist() == results[1][1].tolist()
    parent, distance = results[0]
    assert distance.tolist() == bfs_distances(view.n, edges, sources)
    edge_set = set(edges)
    for node in range(view.n):
        if distance[node] > 0:  # reached from a parent one step closer, along a real edge
            assert (int(parent[node]), node) in edge_set
            assert distance[parent[node]] == distance[node] - 1
            path = paths_oracle.path_to(parent, node)
            assert path[0] in sources and len(path) == distance[node] + 1
        else:
            assert parent[node] == -1


def test_bfs_skips_weak_references() -> None:
    """A snapshot's strong graph has no weak edges: the search goes the long way round."""
    from gclab.snapshots import WEAK, RootKind, Snapshot

    snap = Snapshot.from_edges(types=["t"], type_index=[0] * 4,
                               edges=[(0, 3, WEAK), (0, 1), (1, 2), (2, 3)],
                               roots=[(0, RootKind.MODULE, "m.x")])
    for twin in (paths_oracle, paths_kernel):
        parent, distance = twin.breadth_first(snap.graph(), [0])
        assert distance.tolist() == [0, 1, 2, 3] and parent.tolist() == [-1, 0, 1, 2]
        assert twin.breadth_first(snap.graph(weak=True), [0])[1].tolist() == [0, 1, 2, 1]


def test_bfs_bad_sources() -> None:
    view = GraphView.from_edges(3, [0], [1])
    for twin in (paths_oracle, paths_kernel):
        for bad in ([3], [-1], [True], "0"):
            with pytest.raises(InvalidRootError):
                twin.breadth_first(view, bad)
    with pytest.raises(InvalidRootError):
        paths_oracle.path_to(np.array([1, 0]), 0)
