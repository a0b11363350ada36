"""The report model (gclab.report.model) against hand-worked numbers and independent answers
(networkx dominators, a breadth-first search), and its size bounds."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gclab.report.model import (
    Limits,
    ReportInputError,
    build_model,
    model_from_results,
)
from gclab.report.timeline import read_monitor, timeline_from_monitor
from gclab.snapshots import RootKind, Snapshot
from gclab.snapshots.dominators import dominator_tree
from gclab.snapshots.garbage import dry_run
from gclab.snapshots.histogram import histogram
from gclab.snapshots.leaks import suspects
from report_support import (
    SIZES,
    TYPES,
    bfs_path,
    independent_garbage,
    independent_tree,
    leaky_snapshot,
)


def leaky_model(sessions: int = 300, limits: Limits | None = None):
    """The model of the leaky heap from gclab's analyses, and networkx's dominator tree to
    check it against."""
    snap = leaky_snapshot(sessions=sessions)
    model = model_from_results(
        snap, garbage=dry_run(snap), tree=dominator_tree(snap), suspects=suspects(snap),
        histogram=histogram(snap), limits=limits)
    return snap, independent_tree(snap), model


def test_summary_counts_by_hand():
    sessions, cycles = 300, 40
    snap, _, model = leaky_model(sessions)
    s = model.summary
    # module, namespace, cache, by_id, handle, per session 3 nodes, weakref, 3 per cycle, os + dict
    assert s["objects"] == 5 + 3 * sessions + 1 + 3 * cycles + 2
    garbage_bytes = cycles * (SIZES["leaky_service.Request"] + SIZES["leaky_service.Response"]
                              + SIZES["builtins.str"])
    assert s["garbage"] == 3 * cycles and s["garbage_bytes"] == garbage_bytes
    assert s["bytes"] == int(np.sum(snap.size))
    assert s["reachable_bytes"] == s["bytes"] - garbage_bytes
    assert s["roots"] == 2 and s["roots_by_kind"] == {"module": 2}
    assert s["python"] == "3.11.7" and s["pid"] == 4242
    assert s["time"] == "2026-01-01 00:00:00 UTC"
    assert s["process"] == "examples/leaky_service.py --requests 300"


def test_suspect_is_the_cache_with_its_path():
    snap, tree, model = leaky_model()
    [suspect] = model.suspects
    assert suspect["type"] == "builtins.module" and suspect["label"] == "leaky_service"
    point = suspect["accumulation"]
    assert point["type"] == "builtins.dict" and point["node"] == 3     # CACHE._by_id
    path = suspect["path"]
    assert path["root"] == "sys.modules['leaky_service']" and path["root_kind"] == "module"
    assert [step["node"] for step in path["steps"]] == [0, 1, 2, 3]
    assert [step["edge"] for step in path["steps"]] == [None, "__dict__", "['CACHE']", "_by_id"]
    lists = snap.type_index == TYPES.index("builtins.list")        # the payloads weigh most
    assert suspect["top_types"][0] == ["builtins.list", 300, int(snap.size[lists].sum()),
                                       int(tree.retained[lists].sum())]
    assert suspect["retained"] == int(tree.retained[0])
    reachable = tree.retained[tree.idom == snap.n].sum()     # the virtual root's children
    assert suspect["share"] == pytest.approx(tree.retained[0] / reachable)
    assert len(path["steps"]) == len(bfs_path(snap, 3).nodes)      # a shortest path


def test_tree_children_sorted_and_complete():
    snap, tree, model = leaky_model()
    nodes, children = model.tree["nodes"], model.tree["children"]
    assert model.tree["root"] == snap.n
    for parent, (shown, more, more_retained) in children.items():
        kids = np.flatnonzero(tree.idom == int(parent))
        assert len(shown) + more == len(kids)
        retained = [nodes[str(c)][2] for c in shown]
        assert retained == sorted(retained, reverse=True)
        assert set(shown) <= set(kids.tolist())
        rest = sorted(tree.retained[kids].tolist(), reverse=True)
        assert retained == rest[:len(shown)] and more_retained == sum(rest[len(shown):])
    for key, row in nodes.items():
        node = int(key)
        if node < snap.n:
            assert model.types[row[0]] == snap.type_name(node)
            assert row[1:3] == [int(snap.size[node]), int(tree.retained[node])]
            assert row[5] == int(np.sum(tree.idom == node))
    assert nodes["0"][6] == "module sys.modules['leaky_service']"
    assert nodes[str(snap.n)][2] == model.summary["reachable_bytes"]


def test_histogram_rows_and_cap():
    snap, _, model = leaky_model()
    real = {r.type: [r.count, r.shallow, r.retained] for r in histogram(snap).rows}
    assert {r[0]: r[1:] for r in model.histogram["rows"]} == real
    assert model.histogram["other"] is None
    _, _, capped = leaky_model(limits=Limits(types=3))
    assert len(capped.histogram["rows"]) == 3
    other = capped.histogram["other"]
    assert other[0] == len(real) - 3
    assert other[1] + sum(r[1] for r in capped.histogram["rows"]) == snap.n


def test_garbage_section():
    snap, _, model = leaky_model()
    g = model.garbage
    expected = independent_garbage(snap)
    assert g["bytes"] == int(snap.size[expected.unreachable].sum())
    assert g["objects"] == 120 and g["components"] == 80 and g["cycles"] == 40
    assert g["sources"] == 40                       # each request/response pair feeds a str
    assert {t[0] for t in g["types"]} == {"leaky_service.Request", "leaky_service.Response",
                                          "builtins.str"}
    assert all(row["objects"] == 2 and row["bytes"] == 96 for row in g["source_rows"])


def test_long_path_is_elided_at_the_middle():
    n = 100
    snap = Snapshot.from_edges(types=["builtins.list"], type_index=[0] * n,
                               edges=[(i, i + 1, 0, "[0]") for i in range(n - 1)],
                               roots=[(0, RootKind.FRAME, "main / f:3 / head")])
    tree = independent_tree(snap)
    path = bfs_path(snap, n - 1)
    suspect = SimpleNamespace(node=0, retained=64 * n, share=1.0, accumulation=n - 1,
                              path=path, top_types=[])
    model = model_from_results(snap, garbage=independent_garbage(snap), tree=tree,
                               suspects=[suspect], histogram=None,
                               limits=Limits(path_steps=10))
    row = model.suspects[0]["path"]
    assert row["elided"] == 90 and len(row["steps"]) == 10
    assert row["steps"][0]["node"] == 0 and row["steps"][-1]["node"] == n - 1
    assert row["root_kind"] == "frame"


@st.composite
def random_snapshots(draw):
    n = draw(st.integers(1, 60))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                    st.sampled_from([0, 0, 0, 1])), max_size=3 * n))
    roots = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4))
    sizes = draw(st.lists(st.integers(0, 500), min_size=n, max_size=n))
    return Snapshot.from_edges(types=["a", "b", "c"], type_index=[i % 3 for i in range(n)],
                               size=sizes, edges=edges,
                               roots=[(r, RootKind.MODULE, f"m.x{r}") for r in roots])


@settings(max_examples=60, deadline=None)
@given(random_snapshots(), st.integers(1, 6), st.integers(1, 4))
def test_bounded_tree_against_networkx(snap, expanded, per_level):
    tree = independent_tree(snap)
    model = model_from_results(snap, garbage=independent_garbage(snap), tree=tree,
                               suspects=[], histogram=None,
                               limits=Limits(expanded=expanded, children=per_level))
    nodes, children = model.tree["nodes"], model.tree["children"]
    assert str(snap.n) in children
    assert len(nodes) <= 1 + len(children) * (per_level + 1)
    for parent, (shown, more, _) in children.items():
        assert len(shown) <= per_level
        assert len(shown) + more == int(np.sum(tree.idom == int(parent)))
        node = int(parent)
        while node != snap.n:                     # every expanded node hangs from the root
            node = int(tree.idom[node])
            assert str(node) in children
    # the nodes with children that retain the most are expanded (ties aside)
    with_kids = [v for v in range(snap.n) if np.any(tree.idom == v)]
    expanded_nodes = [int(k) for k in children if int(k) < snap.n]
    if len(with_kids) > len(expanded_nodes):
        least = min(tree.retained[v] for v in expanded_nodes) if expanded_nodes else 0
        assert all(tree.retained[v] <= least for v in with_kids if v not in expanded_nodes)
    json.dumps(model.as_dict(), allow_nan=False)


def test_timeline_by_hand():
    ms = 1_000_000
    data = {"wall_ns": 1_000_000_000,
            "events": {"generation": [0, 0, 2, 0, 0], "start_ns": [0, 10 * ms, 20 * ms,
                                                                   30 * ms, 40 * ms],
                       "pause_ns": [1 * ms, 2 * ms, 10 * ms, 3 * ms, 4 * ms],
                       "collected": [1, 2, 3, 4, 5], "uncollectable": [0, 0, 1, 0, 0]}}
    line = timeline_from_monitor(data, Limits())
    assert line["total"] == 5 and line["wall_seconds"] == 1.0
    assert line["gc_seconds"] == pytest.approx(0.020) and line["gc_share"] == pytest.approx(0.02)
    assert line["stats"]["0"]["count"] == 4 and line["stats"]["0"]["max"] == pytest.approx(4.0)
    assert line["stats"]["2"]["p50"] == pytest.approx(10.0)
    assert line["events"][2] == [0.02, 2, 10.0, 3, 1]
    # the monitor's own statistics (exact totals) win over what the events kept
    data["generations"] = [{"generation": 0, "collections": 9, "pause_total_ns": 20 * ms,
                            "pause_p50_ns": 2 * ms, "pause_p95_ns": 4 * ms,
                            "pause_p99_ns": 4 * ms, "pause_max_ns": 4 * ms}]
    assert timeline_from_monitor(data, Limits())["stats"]["0"]["count"] == 9


def test_timeline_thinning_keeps_the_longest_pause():
    k = 50_000
    pauses = np.full(k, 1000)
    pauses[31_337] = 9_000_000
    data = {"events": [{"generation": 0, "start": i * 1e-3, "pause": p * 1e-9}
                       for i, p in enumerate(pauses.tolist())]}
    line = timeline_from_monitor(data, Limits(events=1000))
    assert line["shown"] <= 1000 and line["total"] == k
    assert max(e[2] for e in line["events"]) == pytest.approx(9.0)


@pytest.mark.parametrize("content, message", [
    ("not json", "cannot read it as JSON"), ("[1, 2]", "not a GC monitor"),
    ('{"runs": 3}', "no 'events'"),
    ('{"events": {"generation": [0], "start_ns": [0], "pause_ns": [-5]}}', "negative"),
    ('{"events": {"generation": [0, 1], "start_ns": [0]}}', "no stop"),
])
def test_bad_monitor_files(tmp_path, content, message):
    path = tmp_path / "gc.json"
    path.write_text(content)
    with pytest.raises(ReportInputError, match=message):
        read_monitor(path)
    with pytest.raises(ReportInputError, match="cannot read"):
        read_monitor(tmp_path / "missing.json")


def test_bad_inputs():
    snap = leaky_snapshot(sessions=3)
    with pytest.raises(ReportInputError, match="one or more snapshots"):
        build_model([])
    with pytest.raises(ReportInputError, match="one or more snapshots"):
        build_model(["after.gcsnap"])  # type: ignore[list-item]
    with pytest.raises(ReportInputError, match="expanded must be a positive int"):
        Limits(expanded=0).check()
    tree = independent_tree(snap)
    short = SimpleNamespace(idom=tree.idom[:-1], retained=tree.retained[:-1])
    with pytest.raises(ReportInputError, match="dominator tree has"):
        model_from_results(snap, garbage=independent_garbage(snap), tree=short, suspects=[],
                           histogram=None)


def test_empty_snapshot():
    snap = Snapshot.from_edges(types=[], type_index=[])
    empty = SimpleNamespace(idom=np.zeros(0, np.int64), retained=np.zeros(0, np.int64))
    model = model_from_results(snap, garbage=independent_garbage(snap), tree=empty,
                               suspects=[], histogram=None)
    assert model.summary["objects"] == 0 and model.tree["children"] == {"0": [[], 0, 0]}
    assert model.histogram == {"rows": [], "other": None}
