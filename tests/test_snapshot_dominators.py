"""snapshots/dominators.py and snapshots/histogram.py on snapshots: weak references keep
nothing alive, every root kind hangs below the virtual root, and the results equal
independent computations (networkx's immediate dominators on the strong edges, retained
sizes and type totals by brute-force removal) on Hypothesis snapshots and hand-worked ones.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gclab.errors import SnapshotError
from gclab.snapshots.dominators import DominatorTree, dominator_tree
from gclab.snapshots.histogram import TypeRow, histogram
from gclab.snapshots.model import STRONG, WEAK, RootKind, Snapshot

nx = pytest.importorskip("networkx")

TYPES = ["builtins.list", "builtins.dict", "app.Session"]


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    """Small snapshots: strong and weak references, roots of every kind, sizes and types."""
    n = draw(st.integers(1, 16))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                    st.sampled_from([STRONG, STRONG, WEAK])), max_size=3 * n))
    roots = draw(st.lists(st.tuples(st.integers(0, n - 1), st.sampled_from(list(RootKind)),
                                    st.sampled_from(["m.a", "m.b", ""])), max_size=4))
    return Snapshot.from_edges(
        types=TYPES, type_index=draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)),
        size=draw(st.lists(st.integers(0, 500), min_size=n, max_size=n)), edges=edges,
        roots=roots)


def strong_edges(snap: Snapshot) -> list[tuple[int, int]]:
    """The strong references as (source, target) pairs, read from the columns."""
    out = []
    for v in range(snap.n):
        for k in range(int(snap.ref_start[v]), int(snap.ref_start[v + 1])):
            if snap.ref_kind[k] == STRONG:
                out.append((v, int(snap.ref_target[k])))
    return out


def reached(snap: Snapshot, removed: set[int] = frozenset()) -> set[int]:  # type: ignore[assignment]
    """The nodes the named roots reach along strong references, never entering ``removed``."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(snap.n))
    graph.add_edges_from((a, b) for a, b in strong_edges(snap) if b not in removed)
    out: set[int] = set()
    for root in snap.root_node.tolist():
        if root not in removed:
            out |= {root} | nx.descendants(graph, root)
    return out


@settings(max_examples=150, deadline=None)
@given(snapshots())
def test_the_tree_equals_networkx_and_brute_force(snap: Snapshot) -> None:
    tree = dominator_tree(snap)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(snap.n + 1))
    graph.add_edges_from(strong_edges(snap))
    graph.add_edges_from((snap.n, r) for r in snap.root_node.tolist())
    idoms = nx.immediate_dominators(graph, snap.n)
    assert tree.idom.tolist() == [idoms.get(v, -1) if v in idoms else -1
                                  for v in range(snap.n)]
    everything = reached(snap)
    assert tree.reachable.tolist() == [v in everything for v in range(snap.n)]
    sizes = snap.size.tolist()
    for v in range(snap.n):
        lost = everything - reached(snap, {v}) if v in everything else set()
        assert tree.retained[v] == sum(sizes[u] for u in lost)
        assert sorted(tree.subtree(v).tolist()) == sorted(lost)
    assert tree.total == sum(sizes[u] for u in everything)
    assert sorted(tree.order.tolist()) == sorted(everything)
    hist = histogram(snap)
    counts = Counter(snap.type_name(v) for v in range(snap.n))
    for row in hist.rows:
        instances = [v for v in everything if snap.type_name(v) == row.type]
        union: set[int] = set()
        for v in instances:
            union |= everything - reached(snap, {v})
        assert row.count == counts[row.type]
        assert row.shallow == sum(sizes[v] for v in range(snap.n)
                                  if snap.type_name(v) == row.type)
        assert row.retained == sum(sizes[u] for u in union)
    assert {row.type for row in hist.rows} == set(counts)
    assert [row.retained for row in hist.rows] == sorted((r.retained for r in hist.rows),
                                                         reverse=True)


def test_weak_references_keep_nothing_alive() -> None:
    # a module dict (root) -> a session (strong), a cache -> the session (weak); a weakly
    # held list is unreachable: no retained size, no idom
    snap = Snapshot.from_edges(
        types=TYPES, type_index=[1, 2, 1, 0], size=[100, 50, 200, 30],
        edges=[(0, 1), (2, 1, WEAK), (0, 3, WEAK)],
        roots=[(0, RootKind.MODULE, "app.state"), (2, RootKind.CLASS, "app.Cache.entries")])
    tree = dominator_tree(snap)
    assert tree.idom.tolist() == [4, 0, 4, -1]
    assert tree.retained.tolist() == [150, 50, 200, 0]
    assert tree.reachable.tolist() == [True, True, True, False]
    assert tree.children(4).tolist() == [2, 0]          # biggest retained first
    assert tree.chain(1) == [1, 0] and tree.chain(3) == []
    assert tree.subtree(3).tolist() == []


def test_every_root_kind_is_below_the_virtual_root() -> None:
    kinds = list(RootKind)
    snap = Snapshot.from_edges(types=TYPES, type_index=[0] * len(kinds),
                               roots=[(i, kind, f"r{i}") for i, kind in enumerate(kinds)])
    tree = dominator_tree(snap)
    assert tree.idom.tolist() == [len(kinds)] * len(kinds)
    assert tree.total == 64 * len(kinds)


def test_a_snapshot_without_roots_retains_nothing() -> None:
    snap = Snapshot.from_edges(types=TYPES, type_index=[0, 1], edges=[(0, 1), (1, 0)])
    tree = dominator_tree(snap)
    assert tree.idom.tolist() == [-1, -1] and tree.retained.tolist() == [0, 0]
    assert tree.order.tolist() == [] and tree.total == 0
    assert histogram(snap).rows == (TypeRow("builtins.dict", 1, 64, 0),  # ties: by name
                                    TypeRow("builtins.list", 1, 64, 0))


def test_the_snapshot_methods_cache_the_results() -> None:
    snap = Snapshot.from_edges(types=TYPES, type_index=[0], roots=[(0, RootKind.MODULE, "m")])
    assert snap.dominators() is snap.dominators()
    assert isinstance(snap.dominators(), DominatorTree)
    assert snap.histogram().row("builtins.list") == TypeRow("builtins.list", 1, 64, 64)


def test_bad_input_raises_snapshot_errors() -> None:
    snap = Snapshot.from_edges(types=TYPES, type_index=[0], roots=[(0, RootKind.MODULE, "m")])
    with pytest.raises(SnapshotError):
        dominator_tree("snap.gcsnap")  # type: ignore[arg-type]
    with pytest.raises(SnapshotError):
        histogram(None)  # type: ignore[arg-type]
    tree = dominator_tree(snap)
    for bad in (2, -1, "0", True):
        with pytest.raises(SnapshotError):
            tree.children(bad)  # type: ignore[arg-type]
    with pytest.raises(SnapshotError):
        tree.subtree(1)
    with pytest.raises(SnapshotError, match="sort"):
        histogram(snap).top(3, by="size")
    with pytest.raises(SnapshotError, match="no instance"):
        histogram(snap).row("builtins.dict")
    assert tree.idom.flags.writeable is False
    with pytest.raises(ValueError):
        tree.retained[0] = 1
    np.testing.assert_array_equal(tree.retained, [64])
