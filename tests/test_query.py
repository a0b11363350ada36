"""gclab.snapshots.query: SQL over a snapshot, checked against hand-worked answers, numpy and
networkx; computed columns only when named; errors typed."""

from __future__ import annotations

import importlib.util

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gclab.errors import SnapshotError
from gclab.snapshots import WEAK, RootKind, Snapshot
from gclab.snapshots import query as query_module
from gclab.snapshots.query import query


def service() -> Snapshot:
    """A module holding a cache dict of two sessions; session 3 holds a weak reference to a
    list 4; 5 and 6 are a cycle nobody holds; 7 is a frame local.

        0 module --> 1 dict --['a']--> 2 Session --> 4 list
                           --['b']--> 3 Session ~~weak~~> 4
        5 list <--> 6 list            7 str (frame root)
    """
    return Snapshot.from_edges(
        types=["builtins.module", "builtins.dict", "app.Session", "builtins.list",
               "builtins.str"],
        type_index=[0, 1, 2, 2, 3, 3, 3, 4], size=[72, 232, 48, 48, 88, 56, 56, 53],
        edges=[(0, 1, 0, "cache"), (1, 2, 0, "['a']"), (1, 3, 0, "['b']"), (2, 4),
               (3, 4, WEAK, "__callback__"), (5, 6), (6, 5)],
        roots=[(0, RootKind.MODULE, "sys.modules['app']"), (7, RootKind.FRAME, "main / f:3 / s"),
               (0, RootKind.CLASS, "app.Holder.m")],
        labels=["app", None, None, None, None, None, None, "hello"])


def rows(sql: str, snap: Snapshot | None = None) -> list[tuple[object, ...]]:
    table = query(snap or service(), sql)
    return [tuple(row.values()) for row in table.to_pylist()]


def test_histogram_by_hand() -> None:
    got = rows("SELECT type, count(*), sum(size) FROM objects GROUP BY 1 ORDER BY 3 DESC")
    assert got == [("builtins.dict", 1, 232), ("builtins.list", 3, 200),
                   ("app.Session", 2, 96), ("builtins.module", 1, 72), ("builtins.str", 1, 53)]


def test_references_and_roots_as_text() -> None:
    assert rows("SELECT source, target, kind, name FROM references WHERE source = 3") == [
        (3, 4, "weak", "__callback__")]
    assert rows("SELECT r.kind, r.name, o.label FROM roots r JOIN objects o ON o.node = r.node "
                "ORDER BY r.kind") == [("class", "app.Holder.m", "app"),
                                       ("frame", "main / f:3 / s", "hello"),
                                       ("module", "sys.modules['app']", "app")]
    assert rows("SELECT count(*) FROM references WHERE name IS NULL") == [(3,)]
    assert rows('SELECT count(*) FROM refs, "references" r2 WHERE refs.target = r2.source') == [
        (6,)]  # two-step paths: 0-1-2, 0-1-3, 1-2-4, 1-3-4 (weak), 5-6-5, 6-5-6


def test_reachable_by_hand() -> None:
    """4 is reachable through 2 (strongly); the 5-6 cycle is not; 7 is a root itself."""
    assert rows("SELECT node FROM objects WHERE NOT reachable ORDER BY node") == [(5,), (6,)]


def test_results_are_arrow_with_exact_integers() -> None:
    table = query(service(), "SELECT address, sum(size) AS s FROM objects GROUP BY 1 "
                             "ORDER BY 1 LIMIT 1")
    assert table.column("address").to_pylist() == [0x1000]
    assert str(table.schema.field("s").type) == "int64"


@st.composite
def graphs(draw: st.DrawFn) -> Snapshot:
    n = draw(st.integers(1, 30))
    node = st.integers(0, n - 1)
    edges = draw(st.lists(st.tuples(node, node, st.integers(0, 1)), max_size=3 * n))
    roots = draw(st.lists(node, max_size=4))
    return Snapshot.from_edges(
        types=["a", "b", "c"], type_index=draw(st.lists(st.integers(0, 2), min_size=n,
                                                         max_size=n)),
        size=draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n)), edges=edges,
        roots=[(r, RootKind.MODULE, f"m.v{r}") for r in roots])


def strong_graph(snap: Snapshot) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(range(snap.n))
    for source in range(snap.n):
        for k in range(snap.ref_start[source], snap.ref_start[source + 1]):
            if snap.ref_kind[k] != WEAK:
                g.add_edge(source, int(snap.ref_target[k]))
    return g


@settings(max_examples=60, deadline=None)
@given(snap=graphs())
def test_reachable_and_counts_match_networkx_and_numpy(snap: Snapshot) -> None:
    g = strong_graph(snap)
    expected = set()
    for root in snap.root_node.tolist():
        expected |= {root} | nx.descendants(g, root)
    got = {r[0] for r in rows("SELECT node FROM objects WHERE reachable", snap)}
    assert got == expected
    by_type = dict(rows("SELECT type, sum(size) FROM objects GROUP BY type", snap))
    for index, name in enumerate(snap.types):
        mask = snap.type_index == index
        if mask.any():
            assert by_type[name] == int(snap.size[mask].sum())
    weak = rows("SELECT count(*) FROM references WHERE kind = 'weak'", snap)[0][0]
    assert weak == int((snap.ref_kind == WEAK).sum())
    indegree = rows("SELECT target, count(*) FROM references GROUP BY 1", snap)
    counts = np.bincount(snap.ref_target, minlength=snap.n)
    assert {t: c for t, c in indegree} == {i: int(c) for i, c in enumerate(counts) if c}


@settings(max_examples=40, deadline=None)
@given(snap=graphs())
def test_scc_partition_matches_networkx(snap: Snapshot) -> None:
    if importlib.util.find_spec("gclab.kernels.scc") is None:
        with pytest.raises(SnapshotError, match="scc is not available yet"):
            query(snap, "SELECT scc FROM objects")
        return
    labels = [r[0] for r in rows("SELECT scc FROM objects ORDER BY node", snap)]
    ours = {frozenset(i for i, lab in enumerate(labels) if lab == x) for x in set(labels)}
    theirs = {frozenset(c) for c in nx.strongly_connected_components(strong_graph(snap))}
    assert ours == theirs


@settings(max_examples=40, deadline=None)
@given(snap=graphs())
def test_dominator_and_retained_match_networkx(snap: Snapshot) -> None:
    if importlib.util.find_spec("gclab.snapshots.dominators") is None:
        with pytest.raises(SnapshotError, match="retained is not available yet"):
            query(snap, "SELECT retained FROM objects")
        return
    g = strong_graph(snap)
    top = snap.n
    g.add_edges_from((top, int(r)) for r in snap.root_node)
    idom = nx.immediate_dominators(g, top) if snap.root_node.size else {}
    got = rows("SELECT node, dominator, retained FROM objects ORDER BY node", snap)
    children: dict[int, list[int]] = {}
    for v, d in idom.items():
        if v != top:
            children.setdefault(d, []).append(v)

    def retained(v: int) -> int:
        return int(snap.size[v]) + sum(retained(c) for c in children.get(v, []))

    for node, dominator, kept in got:
        expected = idom.get(node)
        assert dominator == (None if expected in (None, top) else expected)
        assert kept == (retained(node) if node in idom else 0)


def test_computed_columns_only_when_named(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counting(name: str):  # a stand-in analysis that records that it ran
        return lambda snap: calls.append(name) or np.arange(snap.n)

    for name in query_module.COMPUTED:
        monkeypatch.setitem(query_module.COMPUTED, name, counting(name))
    snap = service()
    assert rows("SELECT count(*) FROM objects", snap) == [(8,)]
    assert rows("SELECT * FROM objects LIMIT 0", snap) == []
    assert calls == []
    assert rows("SELECT max(SCC) FROM objects", snap) == [(7,)]
    assert rows("SELECT max(scc) FROM objects", snap) == [(7,)]  # cached per snapshot
    assert calls == ["scc"]


@pytest.mark.parametrize(("sql", "message"), [
    ("SELECT nope FROM objects", "SQL error: Binder Error"),
    ("SELEC 1", "SQL error: Parser Error"),
    ("SELECT * FROM nowhere", "SQL error: Catalog Error"),
    ("", "needs an SQL statement"),
])
def test_sql_errors_are_snapshot_errors(sql: str, message: str) -> None:
    with pytest.raises(SnapshotError, match=message):
        query(service(), sql)


def test_not_a_snapshot() -> None:
    with pytest.raises(SnapshotError, match="needs a Snapshot"):
        query("x", "SELECT 1")  # type: ignore[arg-type]


def test_statement_without_rows() -> None:
    assert query(service(), "SET threads = 1").num_rows == 0
