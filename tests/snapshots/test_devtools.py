"""The Chrome DevTools ``.heapsnapshot`` export (``gclab.snapshots.devtools``).

* The file is JSON whose arrays have the sizes its ``meta`` implies, and it holds what DevTools
  requires (node 0 the root, edge counts summing to the edges, ``to_node`` offsets of nodes,
  unsigned 32-bit numbers, unique ids); decoding it gives back the snapshot's references.
* memlab (npm, ``tools/memlab``) loads it with its own parser and computes dominators and
  retained sizes itself; they equal an independent computation in this file (networkx's
  ``immediate_dominators`` over the strong references from a virtual root to the named roots,
  then subtree sums), on a hand-worked heap and on Hypothesis heaps, and gclab's own
  ``dominator_tree`` when it is there.

memlab's deliberate differences, found in its source (``@memlab/core`` ``TraceFinder``): it
gives objects that no root reaches a retained size of their own (it hangs them under the root,
where gclab says 0 and idom -1), so they are compared only for nodes a root reaches; and it
ignores edges from such objects into reachable ones (they only flag "page-owned" nodes), which
is gclab's rule too: garbage keeps nothing alive. Weak edges are skipped by both.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gclab.errors import SnapshotError, SnapshotFileError
from gclab.snapshots import WEAK, RootKind, Snapshot
from gclab.snapshots.devtools import (
    EDGE_FIELDS,
    EDGE_TYPES,
    NODE_FIELDS,
    NODE_TYPES,
    export_heapsnapshot,
    format_rows,
    node_ids,
)

try:  # the domin part's analysis, when it is there
    from gclab.snapshots import dominators as gclab_dominators
except ImportError:  # pragma: no cover
    gclab_dominators = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[2]
MEMLAB_DIR = ROOT / "tools" / "memlab"
SCRIPT = MEMLAB_DIR / "retained.js"


def _memlab_available() -> bool:
    return shutil.which("node") is not None and (
        MEMLAB_DIR / "node_modules" / "@memlab" / "heap-analysis").is_dir()


needs_memlab = pytest.mark.skipif(not _memlab_available(),
                                  reason="node or tools/memlab's npm packages missing "
                                         "(./run tests runs npm ci there)")


def memlab(*files: Path) -> list[dict[str, Any]]:
    """memlab's answer for each file: ids, retained sizes, dominator ids."""
    done = subprocess.run(["node", str(SCRIPT), *map(str, files)], capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def expected_retained(snap: Snapshot) -> dict[int, int]:
    """Retained bytes of every node a root reaches, computed independently: networkx's
    dominators of the strong reference graph under a virtual root whose children are the
    roots' nodes, then each node's size plus its dominator-tree children's retained sizes."""
    graph = nx.DiGraph()
    graph.add_node("R")
    for node in snap.root_node.tolist():
        graph.add_edge("R", node)
    for source in range(snap.n):
        lo, hi = int(snap.ref_start[source]), int(snap.ref_start[source + 1])
        for k in range(lo, hi):
            if snap.ref_kind[k] != WEAK:
                graph.add_edge(source, int(snap.ref_target[k]))
    idom = nx.immediate_dominators(graph, "R")
    children: dict[Any, list[Any]] = {}
    for node, parent in idom.items():
        if node != parent:
            children.setdefault(parent, []).append(node)
    retained: dict[int, int] = {}

    def total(node: Any) -> int:  # iterative post-order: deep chains must not recurse
        stack, order = [node], []
        while stack:
            current = stack.pop()
            order.append(current)
            stack.extend(children.get(current, []))
        sums: dict[Any, int] = {}
        for current in reversed(order):
            own = 0 if current == "R" else int(snap.size[current])
            sums[current] = own + sum(sums[c] for c in children.get(current, []))
        retained.update({k: v for k, v in sums.items() if k != "R"})
        return sums[node]

    total("R")
    return retained


def decode(document: dict[str, Any]) -> dict[str, Any]:
    """The file's nodes and edges as Python lists, read by the rules of the format alone."""
    meta = document["snapshot"]["meta"]
    nf, ef = len(meta["node_fields"]), len(meta["edge_fields"])
    nodes, edges = document["nodes"], document["edges"]
    rows = [dict(zip(meta["node_fields"], nodes[i:i + nf], strict=True))
            for i in range(0, len(nodes), nf)]
    out_edges: list[list[tuple[str, Any, int]]] = []
    cursor = 0
    for row in rows:
        mine = []
        for _ in range(row["edge_count"]):
            kind, name, to = edges[cursor:cursor + ef]
            kind_name = meta["edge_types"][0][kind]
            label = name if kind_name in ("element", "hidden") else document["strings"][name]
            mine.append((kind_name, label, to // nf))
            cursor += ef
        out_edges.append(mine)
    return {"rows": rows, "edges": out_edges, "edge_cursor": cursor}


def export_to_json(snap: Snapshot) -> dict[str, Any]:
    out = io.BytesIO()
    export_heapsnapshot(snap, out)
    document: dict[str, Any] = json.loads(out.getvalue())
    return document


# -- a hand-worked heap ----------------------------------------------------------------------

def hand_heap() -> Snapshot:
    """A module dict (100 B) holding a str (50 B) and a Node (10 B) in a two-Node cycle (20 B);
    a frame's weakref (30 B) to the dict; an unreachable cycle (40 B + 40 B) that points into
    the Node cycle.

    By hand: the roots hold 100+50+10+20+30 = 210 (memlab's root retains 290: it hangs the
    garbage under the root too); the dict 180 (the str, both Nodes: the weak
    reference does not count and the garbage cycle keeps nothing alive); Node 3 retains 30,
    Node 4 20, the weakref 30."""
    return Snapshot.from_edges(
        types=["builtins.dict", "builtins.str", "weakref.ReferenceType", "app.Node",
               "app.Junk"],
        type_index=[0, 1, 2, 3, 3, 4, 4],
        size=[100, 50, 30, 10, 20, 40, 40],
        edges=[(0, 1, 0, "['name']"), (2, 0, WEAK), (0, 3, 0, "x"), (3, 4), (4, 3),
               (5, 6), (6, 5), (5, 4, 0, "oops")],
        labels=[None, "ada", None, None, None, None, None],
        roots=[(0, RootKind.MODULE, "app.users"), (2, RootKind.FRAME, "MainThread / main:3 / r"),
               (0, RootKind.FRAME, "MainThread / main:3 / d")])


def test_hand_heap_file_holds_the_groups_names_and_kinds() -> None:
    document = export_to_json(hand_heap())
    decoded = decode(document)
    strings = document["strings"]
    names = [strings[row["name"]] for row in decoded["rows"]]
    types = [NODE_TYPES[row["type"]] for row in decoded["rows"]]
    assert names == ["", "(Python modules)", "(thread MainThread)", "dict", "ada",
                     "weakref.ReferenceType", "app.Node", "app.Node", "app.Junk", "app.Junk"]
    assert types[:3] == ["synthetic"] * 3
    assert types[3:] == ["object", "string", "object", "object", "object", "object", "object"]
    assert decoded["edges"][0] == [("element", 0, 1), ("element", 1, 2)]
    assert decoded["edges"][1] == [("property", "app.users", 3)]
    assert decoded["edges"][2] == [("context", "main:3 / r", 5), ("context", "main:3 / d", 3)]
    assert decoded["edges"][3] == [("property", "name", 4), ("property", "x", 6)]
    assert decoded["edges"][5] == [("weak", "referent", 3)]
    assert decoded["edges"][6] == [("hidden", 0, 7)]


@needs_memlab
def test_memlab_retained_sizes_of_the_hand_heap(tmp_path: Path) -> None:
    snap = hand_heap()
    summary = export_heapsnapshot(snap, tmp_path / "hand.heapsnapshot")
    (answer,) = memlab(tmp_path / "hand.heapsnapshot")
    retained = dict(zip(answer["ids"], answer["retained"], strict=True))
    ids = node_ids(snap, summary.synthetic)[0].tolist()
    assert retained[1] == 290
    assert [retained[ids[i]] for i in range(5)] == [180, 50, 30, 30, 20]
    assert expected_retained(snap) == {0: 180, 1: 50, 2: 30, 3: 30, 4: 20}
    dominator = dict(zip(answer["ids"], answer["dominators"], strict=True))
    assert dominator[ids[4]] == ids[3]  # Node 4's idom is Node 3, not the garbage cycle


# -- invariants on Hypothesis heaps ------------------------------------------------------------

KINDS = [RootKind.MODULE, RootKind.FRAME, RootKind.CLASS, RootKind.GC_GARBAGE,
         RootKind.EXTERNAL, RootKind.THREAD]
TYPES = ["builtins.dict", "builtins.list", "builtins.str", "builtins.int", "builtins.function",
         "builtins.code", "builtins.cell", "app.Node", "weakref.ReferenceType"]
NAMES = [None, "x", "[0]", "[7]", "['k']", "__dict__", "[\"q\"]", "nodes", "a\"b", "\udc80"]


@st.composite
def snapshots(draw: Any, max_nodes: int = 24) -> Snapshot:
    n = draw(st.integers(1, max_nodes))
    node = st.integers(0, n - 1)
    edges = draw(st.lists(st.tuples(node, node, st.sampled_from([0, 0, 0, WEAK]),
                                    st.sampled_from(NAMES)), max_size=3 * n))
    roots = draw(st.lists(st.tuples(node, st.sampled_from(KINDS),
                                    st.sampled_from(["m.x", "T1 / f:1 / v", "thread T1",
                                                     "MainThread / g:2 / w", ""])),
                          max_size=4))
    return Snapshot.from_edges(
        types=TYPES, type_index=draw(st.lists(st.integers(0, len(TYPES) - 1), min_size=n,
                                              max_size=n)),
        size=draw(st.lists(st.integers(0, 5000), min_size=n, max_size=n)),
        edges=[(s, t, k) if name is None else (s, t, k, name) for s, t, k, name in edges],
        roots=roots,
        labels=draw(st.lists(st.sampled_from([None, "v", "fn", "é\n]"]), min_size=n,
                             max_size=n)),
        address=draw(st.one_of(
            st.just(None),
            st.lists(st.integers(0, 2**64 - 1), min_size=n, max_size=n).map(
                lambda a: np.array(a, dtype=np.uint64)))))


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(snapshots())
def test_file_is_what_devtools_requires(snap: Snapshot) -> None:
    document = export_to_json(snap)
    header, meta = document["snapshot"], document["snapshot"]["meta"]
    assert meta["node_fields"] == list(NODE_FIELDS)
    assert meta["edge_fields"] == list(EDGE_FIELDS)
    assert meta["edge_types"][0] == list(EDGE_TYPES)
    nf, ef = len(NODE_FIELDS), len(EDGE_FIELDS)
    nodes, edges = document["nodes"], document["edges"]
    assert len(nodes) == nf * header["node_count"]
    assert len(edges) == ef * header["edge_count"]
    assert all(isinstance(v, int) and 0 <= v < 2**32 for v in nodes + edges)
    assert sum(nodes[4::nf]) == header["edge_count"]            # edge counts sum to edges
    assert all(to % nf == 0 and to < len(nodes) for to in edges[2::ef])
    assert all(t < len(meta["node_types"][0]) for t in nodes[0::nf])
    assert all(t < len(meta["edge_types"][0]) for t in edges[0::ef])
    assert all(name < len(document["strings"]) for name in nodes[1::nf])
    ids = nodes[2::nf]
    assert len(set(ids)) == len(ids)
    decoded = decode(document)
    rows = decoded["rows"]
    assert NODE_TYPES[rows[0]["type"]] == "synthetic" and ids[0] == 1   # node 0 is the root
    groups = [to for _, _, to in decoded["edges"][0]]
    assert groups == list(range(1, len(groups) + 1))
    offset = 1 + len(groups)
    assert all(NODE_TYPES[rows[g]["type"]] == "synthetic" for g in groups)
    # every named root is one edge from its group to its node
    held = sorted(to - offset for g in groups for _, _, to in decoded["edges"][g])
    assert held == sorted(snap.root_node.tolist())
    # the snapshot's references come back, in order, weak ones as weak edges
    for i in range(snap.n):
        mine = decoded["edges"][offset + i]
        assert [to - offset for _, _, to in mine] == snap.referents(i).tolist()
        kinds = snap.ref_kind[snap.ref_start[i]:snap.ref_start[i + 1]].tolist()
        assert [k == "weak" for k, _, _ in mine] == [k == WEAK for k in kinds]
        assert rows[offset + i]["self_size"] == int(snap.size[i])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=9), max_size=40))
def test_format_rows_equals_str(rows: list[list[int]]) -> None:
    width = len(rows[0]) if rows else 1
    rows = [(row * width)[:width] for row in rows]
    array = np.array(rows, dtype=np.uint64).reshape(len(rows), width)
    expected = "\n,".join(",".join(str(v) for v in row) for row in rows)
    assert format_rows(array).decode() == expected


@needs_memlab
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(snapshots(max_nodes=40), min_size=1, max_size=10))
def test_memlab_retained_sizes_equal_networkx(tmp_path_factory: Any,
                                              snaps: list[Snapshot]) -> None:
    folder = tmp_path_factory.mktemp("memlab")
    files, synthetic = [], []
    for k, snap in enumerate(snaps):
        files.append(folder / f"{k}.heapsnapshot")
        synthetic.append(export_heapsnapshot(snap, files[-1]).synthetic)
    for snap, answer, extra in zip(snaps, memlab(*files), synthetic, strict=True):
        assert answer["nodes"] == snap.n + extra
        by_id = dict(zip(answer["ids"], answer["retained"], strict=True))
        ids = node_ids(snap, extra)[0].tolist()
        expected = expected_retained(snap)
        got = {i: by_id[ids[i]] for i in expected}
        assert got == expected
        # memlab hangs what no root reaches under the root as well: the root retains all
        assert by_id[1] == int(snap.size.sum())
        if gclab_dominators is not None:  # and gclab's own dominator tree agrees
            tree = gclab_dominators.dominator_tree(snap)
            reachable = np.flatnonzero(tree.reachable).tolist()
            assert sorted(reachable) == sorted(expected)
            assert {i: int(tree.retained[i]) for i in reachable} == got


def test_gclab_dominator_tree_equals_memlab(tmp_path: Path) -> None:
    dominators = pytest.importorskip("gclab.snapshots.dominators")
    if not _memlab_available():
        pytest.skip("node or tools/memlab's npm packages missing")
    snap = hand_heap()
    extra = export_heapsnapshot(snap, tmp_path / "h.heapsnapshot").synthetic
    (answer,) = memlab(tmp_path / "h.heapsnapshot")
    by_id = dict(zip(answer["ids"], answer["retained"], strict=True))
    tree = dominators.dominator_tree(snap)
    ids = node_ids(snap, extra)[0].tolist()
    reachable = np.flatnonzero(tree.reachable).tolist()
    assert {i: int(tree.retained[i]) for i in reachable} == {i: by_id[ids[i]] for i in reachable}


# -- bad input ---------------------------------------------------------------------------------

def test_refuses_to_overwrite_and_leaves_the_file(tmp_path: Path) -> None:
    target = tmp_path / "out.heapsnapshot"
    target.write_bytes(b"keep me")
    with pytest.raises(SnapshotFileError, match="exists"):
        export_heapsnapshot(hand_heap(), target)
    assert target.read_bytes() == b"keep me"
    summary = export_heapsnapshot(hand_heap(), target, overwrite=True)
    assert json.loads(target.read_bytes())["snapshot"]["node_count"] == summary.nodes == 10
    assert summary.bytes == os.path.getsize(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.heapsnapshot"]  # no temp left


def test_bad_targets_raise_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(SnapshotFileError, match="directory"):
        export_heapsnapshot(hand_heap(), tmp_path)
    with pytest.raises(SnapshotFileError, match="does not exist"):
        export_heapsnapshot(hand_heap(), tmp_path / "missing" / "x.heapsnapshot")
    with pytest.raises(SnapshotFileError, match="binary"):
        export_heapsnapshot(hand_heap(), io.StringIO())
    with pytest.raises(SnapshotError, match="Snapshot"):
        export_heapsnapshot("not a snapshot", tmp_path / "y.heapsnapshot")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_ids_come_from_addresses_and_clashes_get_free_ids() -> None:
    addresses = [0x7F00_0000_1000, 0x7F00_0000_1010, 0x5500_0000_0020]
    snap = Snapshot.from_edges(types=["t"], type_index=[0, 0, 0], address=addresses)
    ids, clashes = node_ids(snap, synthetic=2)
    assert clashes == 0
    assert ids.tolist() == [((a >> 4) % 2**31) * 2 + 1 for a in addresses]
    # 32 GiB apart: the same id; the second node gets the smallest free odd id above the
    # synthetic nodes' 1 and 3, and so does a node whose address gives 3
    clash = Snapshot.from_edges(types=["t"], type_index=[0, 0, 0, 0],
                                address=[0x1000, 0x1000 + (2**31 << 4), 0x10, 0x20])
    ids, clashes = node_ids(clash, synthetic=2)
    assert clashes == 2 and ids.tolist() == [513, 7, 9, 5]
