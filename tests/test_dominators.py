"""Dominator trees and retained sizes: the oracle (algorithms/dominators.py) and the kernel
(kernels/dominators.py) agree with each other and with independent computations:
``networkx.immediate_dominators`` below a virtual root, and retained sizes by brute force
(the bytes no longer reachable from the roots when a node is removed), on Hypothesis graphs.

Under ``GCLAB_JIT=0`` the kernel runs as plain Python; both ways must pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gclab import _jit
from gclab.algorithms import dominators as oracle
from gclab.errors import GraphTypeError, InvalidGraphError, InvalidRootError
from gclab.graphview import GraphView
from gclab.kernels import dominators as kernel

nx = pytest.importorskip("networkx")

TWINS = (oracle, kernel)
Case = tuple[GraphView, list[tuple[int, int]], list[int], list[int]]


@st.composite
def graphs(draw: st.DrawFn) -> Case:
    """A view (slots with NULLs and atoms, sometimes dead nodes), its edge list built
    separately, live roots (repeats allowed) and a size per node."""
    n = draw(st.integers(1, 24))
    slots = [draw(st.lists(st.integers(-3, n - 1), max_size=4)) for _ in range(n)]
    alive = draw(st.one_of(st.none(), st.lists(st.booleans(), min_size=n, max_size=n)))
    live = alive if alive is not None else [True] * n
    indptr = np.cumsum([0] + [len(s) for s in slots])
    targets = np.array([t for s in slots for t in s], np.int64)
    view = GraphView(indptr[:-1], np.diff(indptr), targets, n, alive)
    edges = [(i, t) for i in range(n) if live[i] for t in slots[i] if t >= 0 and live[t]]
    candidates = [i for i in range(n) if live[i]]
    roots = draw(st.lists(st.sampled_from(candidates), max_size=4)) if candidates else []
    sizes = draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n))
    return view, edges, roots, sizes


def networkx_idoms(n: int, edges: list[tuple[int, int]], roots: list[int]) -> list[int]:
    """networkx's immediate dominators below a virtual root ``n`` over the roots; -1 for the
    nodes it does not reach."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n + 1))
    graph.add_edges_from(edges)
    graph.add_edges_from((n, root) for root in roots)
    found = nx.immediate_dominators(graph, n)
    return [found[v] if v in found else -1 for v in range(n)]


def reachable(n: int, edges: list[tuple[int, int]], roots: list[int],
              removed: int | None = None) -> set[int]:
    """The nodes a breadth-first search from the roots reaches, never entering ``removed``."""
    out: dict[int, list[int]] = {}
    for a, b in edges:
        out.setdefault(a, []).append(b)
    seen = {r for r in roots if r != removed}
    frontier = list(seen)
    while frontier:
        nxt = []
        for a in frontier:
            for b in out.get(a, []):
                if b != removed and b not in seen:
                    seen.add(b)
                    nxt.append(b)
        frontier = nxt
    return seen


def brute_force_retained(n: int, edges: list[tuple[int, int]], roots: list[int],
                         sizes: list[int]) -> tuple[list[int], list[int]]:
    """Retained bytes and objects of each node: what removing it leaves unreachable."""
    everything = reachable(n, edges, roots)
    retained, count = [0] * n, [0] * n
    for v in everything:
        lost = everything - reachable(n, edges, roots, removed=v)
        retained[v] = sum(sizes[u] for u in lost)
        count[v] = len(lost)
    return retained, count


def is_preorder(order: list[int], idom: list[int]) -> bool:
    """Every node of the tree listed once, each after its parent, each subtree contiguous."""
    n = len(idom)
    position = {v: k for k, v in enumerate(order)}
    if sorted(order) != [v for v in range(n) if idom[v] >= 0]:
        return False
    if any(idom[v] != n and position[idom[v]] > position[v] for v in order):
        return False
    stack: list[int] = []  # the chain of ancestors of the node being listed
    for v in order:
        while stack and stack[-1] != idom[v]:
            stack.pop()
        if idom[v] != n and not stack:
            return False  # its parent's subtree was closed before it: not contiguous
        stack.append(v)
    return True


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_idoms_equal_networkx(case: Case) -> None:
    view, edges, roots, _ = case
    expected = networkx_idoms(view.n, edges, roots)
    for twin in TWINS:
        idom = twin.immediate_dominators(view, roots)
        assert idom.dtype == np.int64 and idom.tolist() == expected


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_retained_sizes_equal_brute_force(case: Case) -> None:
    view, edges, roots, sizes = case
    idom = oracle.immediate_dominators(view, roots)
    expected = brute_force_retained(view.n, edges, roots, sizes)
    orders = [twin.dominator_order(idom) for twin in TWINS]
    assert orders[0].tolist() == orders[1].tolist()
    assert is_preorder(orders[0].tolist(), idom.tolist())
    for twin in TWINS:
        retained, count = twin.retained_sizes(idom, orders[0], sizes)
        assert (retained.tolist(), count.tolist()) == expected


def type_retained_by_definition(n: int, edges: list[tuple[int, int]], roots: list[int],
                                sizes: list[int], types: list[int], n_types: int) -> list[int]:
    """Per type: the bytes of the union of its instances' retained sets (each instance's
    set: what removing that instance alone leaves unreachable), by brute force. Shared
    objects that only the instances together hold are in no instance's set: MAT's "minimum
    retained size (quick approx.)" of a class."""
    everything = reachable(n, edges, roots)
    out = []
    for t in range(n_types):
        union: set[int] = set()
        for v in everything:
            if types[v] == t:
                union |= everything - reachable(n, edges, roots, removed=v)
        out.append(sum(sizes[u] for u in union))
    return out


@settings(max_examples=200, deadline=None)
@given(graphs(), st.data())
def test_type_retained_is_the_union_of_retained_sets(case: Case, data: st.DataObject) -> None:
    view, edges, roots, sizes = case
    types = data.draw(st.lists(st.integers(0, 2), min_size=view.n, max_size=view.n))
    idom = oracle.immediate_dominators(view, roots)
    order = oracle.dominator_order(idom)
    retained, count = oracle.retained_sizes(idom, order, sizes)
    expected = type_retained_by_definition(view.n, edges, roots, sizes, types, 3)
    for twin in TWINS:
        assert twin.type_retained(order, count, types, retained, 3).tolist() == expected


def test_a_hand_worked_graph() -> None:
    # roots 0 and 5; 0 -> 1 -> 2 -> 3, 0 -> 4 -> 3 (3 is dominated by 0 only), 2 -> 1 (a cycle),
    # 5 -> 6 and 4 -> 6 (6 is reached from both roots: dominated by the virtual root), 7 alone
    edges = [(0, 1), (1, 2), (2, 3), (0, 4), (4, 3), (2, 1), (5, 6), (4, 6)]
    view = GraphView.from_edges(8, [a for a, _ in edges], [b for _, b in edges])
    sizes = [1, 2, 4, 8, 16, 32, 64, 128]
    for twin in TWINS:
        idom = twin.immediate_dominators(view, [0, 5])
        assert idom.tolist() == [8, 0, 1, 0, 0, 8, 8, -1]
        order = twin.dominator_order(idom)
        assert order.tolist() == [0, 1, 2, 3, 4, 5, 6]
        retained, count = twin.retained_sizes(idom, order, sizes)
        assert retained.tolist() == [31, 6, 4, 8, 16, 32, 64, 0]
        assert count.tolist() == [5, 2, 1, 1, 1, 1, 1, 0]


@pytest.mark.parametrize("twin", TWINS, ids=["oracle", "kernel"])
def test_a_long_chain_needs_no_recursion(twin: object) -> None:
    # a chain 0 -> 1 -> ... -> n-1 with a back edge to the start: each node dominates the rest
    n = 1_000_000 if twin is kernel and _jit.ENABLED else 100_000
    targets = np.arange(1, n + 1)
    targets[-1] = 0
    chain = GraphView.from_csr(np.arange(n + 1), targets)
    idom = twin.immediate_dominators(chain, [0])  # type: ignore[attr-defined]
    assert idom[0] == n and (idom[1:] == np.arange(n - 1)).all()
    order = twin.dominator_order(idom)  # type: ignore[attr-defined]
    retained, count = twin.retained_sizes(idom, order, np.ones(n, np.int64))  # type: ignore[attr-defined]
    assert (retained == np.arange(n, 0, -1)).all() and (count == retained).all()


@pytest.mark.parametrize("twin", TWINS, ids=["oracle", "kernel"])
def test_bad_input_raises_typed_errors(twin: object) -> None:
    view = GraphView.from_edges(3, [0], [1])
    t: object = twin
    with pytest.raises(InvalidRootError):
        t.immediate_dominators(view, [3])  # type: ignore[attr-defined]
    with pytest.raises(GraphTypeError):
        t.immediate_dominators([0, 1], [0])  # type: ignore[attr-defined]
    with pytest.raises(InvalidGraphError):
        t.dominator_order([3, 4, 0])  # type: ignore[attr-defined]  # 4 is past n = 3
    with pytest.raises(InvalidGraphError, match="cycle"):
        t.dominator_order([1, 0, 3])  # type: ignore[attr-defined]  # 0 and 1 dominate each other
    with pytest.raises(InvalidGraphError):
        t.retained_sizes([3, 0, -1], [0, 1], [1, 2])  # type: ignore[attr-defined]
    with pytest.raises(InvalidGraphError):
        t.dominator_order(np.array([0.5]))  # type: ignore[attr-defined]
    with pytest.raises(InvalidGraphError):
        t.type_retained([0], [1], [5], [1], 2)  # type: ignore[attr-defined]
