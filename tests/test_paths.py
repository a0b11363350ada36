"""Retainer paths (snapshots/paths.py): on Hypothesis snapshots with weak references and
roots of every kind, every path of ``why`` is a chain of strong references from its root's
node to the object, as short as a breadth-first search written here finds from that root, the
paths start at distinct root nodes, shortest first, and no root nearer than the last one is
left out; a hand-worked example with a weak shortcut; ``to_dot`` renders with Debian's ``dot``;
bad input.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gclab.errors import SnapshotError
from gclab.snapshots import STRONG, WEAK, RootKind, Snapshot
from gclab.snapshots.paths import describe, to_dot, why


def distances_to(n: int, strong: list[tuple[int, int]], target: int) -> list[int]:
    """Fewest strong references from each node to ``target`` (-1: none), by a plain
    breadth-first search over the edges turned round."""
    holders: dict[int, list[int]] = {}
    for a, b in strong:
        holders.setdefault(b, []).append(a)
    distance = [-1] * n
    distance[target] = 0
    queue = deque([target])
    while queue:
        node = queue.popleft()
        for holder in holders.get(node, []):
            if distance[holder] < 0:
                distance[holder] = distance[node] + 1
                queue.append(holder)
    return distance


@st.composite
def snapshots(draw: st.DrawFn) -> tuple[Snapshot, list[tuple[int, int, int]], int, int]:
    n = draw(st.integers(1, 20))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                    st.sampled_from([STRONG, STRONG, WEAK])), max_size=3 * n))
    roots = draw(st.lists(st.tuples(st.integers(0, n - 1), st.sampled_from(list(RootKind)),
                                    st.sampled_from(["m.a", "m.b", ""])), max_size=6))
    snap = Snapshot.from_edges(types=["t0", "t1"], type_index=[i % 2 for i in range(n)],
                               edges=[(a, b, k, f"e{a}_{b}") for a, b, k in edges],
                               roots=roots)
    return snap, edges, draw(st.integers(0, n - 1)), draw(st.integers(1, 4))


@settings(max_examples=300, deadline=None)
@given(snapshots())
def test_paths_are_shortest_strong_and_from_distinct_roots(
        case: tuple[Snapshot, list[tuple[int, int, int]], int, int]) -> None:
    snap, edges, target, limit = case
    strong = [(a, b) for a, b, k in edges if k == STRONG]
    distance = distances_to(snap.n, strong, target)
    paths = why(snap, target, limit=limit)
    root_nodes = snap.root_node.tolist()
    reaching = {r for r in root_nodes if distance[r] >= 0}
    assert len(paths) == min(limit, len(reaching))
    starts = [int(p.nodes[0]) for p in paths]
    assert len(set(starts)) == len(starts)
    lengths = [len(p) for p in paths]
    assert lengths == sorted(lengths)
    for path in paths:
        nodes = path.nodes.tolist()
        assert root_nodes[path.root] == nodes[0] and nodes[-1] == target
        assert len(path) == distance[nodes[0]]             # shortest from its root
        assert len(path.names) == len(path)
        for a, b, name in zip(nodes, nodes[1:], path.names, strict=False):
            assert (a, b) in strong                        # never a weak reference
            assert name == f"e{a}_{b}"
    if paths and len(paths) == limit:
        left_out = reaching - set(starts)
        assert all(distance[r] >= lengths[-1] for r in left_out)
    elif paths:
        assert set(starts) == reaching


def test_hand_worked_weak_shortcut_and_ties() -> None:
    # module m.x -> 0 -> 1 -> 2 -> 3 (the object); 0 -> 3 weakly; frame local 4 -> 3 (1 hop);
    # class attr on 2 (one hop); 5 is a second root entry of node 4
    snap = Snapshot.from_edges(
        types=["builtins.dict", "app.Node"], type_index=[0, 1, 1, 1, 1],
        edges=[(0, 1, STRONG, "['a']"), (1, 2, STRONG, "next"), (2, 3, STRONG, "next"),
               (0, 3, WEAK, "w"), (4, 3, STRONG, "item")],
        roots=[(0, RootKind.MODULE, "m.x"), (4, RootKind.FRAME, "main / f:3 / y"),
               (2, RootKind.CLASS, "app.Node.last"), (4, RootKind.THREAD, "thread main")])
    paths = why(snap, 3, limit=5)
    assert [(p.root, p.nodes.tolist()) for p in paths] == [
        (1, [4, 3]), (2, [2, 3]), (0, [0, 1, 2, 3])]
    assert describe(snap, paths[0]) == "frame main / f:3 / y → Node.item → Node"
    assert describe(snap, paths[2]) == "module m.x → dict['a'] → Node.next → Node.next → Node"
    assert [p.root for p in why(snap, 3, limit=1)] == [1]
    assert [(p.root, len(p)) for p in why(snap, 4)] == [(1, 0)]   # itself a root
    lone = Snapshot.from_edges(types=["t"], type_index=[0, 0], edges=[(0, 1, WEAK)],
                               roots=[(0, RootKind.MODULE, "m.only")])
    assert why(lone, 1) == []                                       # held only weakly


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_to_dot_renders() -> None:
    snap = Snapshot.from_edges(types=["builtins.dict", 'a"b.Q'], type_index=[0, 1, 1],
                               edges=[(0, 1, STRONG, "['k\"ey']"), (1, 2, STRONG, None),
                                      (0, 2, STRONG, "[1]")],
                               roots=[(0, RootKind.MODULE, "m.x")],
                               labels=["m", None, "a\nb"])
    source = to_dot(snap, why(snap, 2, limit=3))
    done = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True,
                          timeout=60, check=True)
    assert b"<svg" in done.stdout and b"m.x" in done.stdout


def test_bad_input() -> None:
    snap = Snapshot.from_edges(types=["t"], type_index=[0, 0])
    for bad_node in (2, -1, True, "0", 1.0):
        with pytest.raises(SnapshotError):
            why(snap, bad_node)  # type: ignore[arg-type]
    for bad_limit in (0, -1, 1.5, True):
        with pytest.raises(SnapshotError):
            why(snap, 0, limit=bad_limit)  # type: ignore[arg-type]
    with pytest.raises(SnapshotError):
        why(None, 0)  # type: ignore[arg-type]
    assert snap.why(0) == [] and snap.why(0x1010, address=True) == []
