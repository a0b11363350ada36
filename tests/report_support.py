"""Snapshots for the report's tests, and independent answers to check the report against.

``leaky_snapshot`` builds, by hand, the heap of ``examples/leaky_service.py`` after some
requests: a module global ``leaky_service.CACHE`` (a ``SessionCache``) whose ``_by_id`` dict
holds every ``Session`` with its 16-item payload list (the planted leak), plus
request/response cycles that only the collector frees (garbage), a few other module globals,
and a weak reference to one session.

The ``independent_*`` functions answer the analyses' questions with networkx and a
breadth-first search written here, for the tests to compare the report's model with.
"""

from __future__ import annotations

from collections import deque
from types import SimpleNamespace

import networkx as nx
import numpy as np

from gclab.snapshots import STRONG, WEAK, RootKind, Snapshot

TYPES = ["builtins.module", "builtins.dict", "leaky_service.SessionCache",
         "leaky_service.Session", "builtins.list", "builtins.int", "leaky_service.Request",
         "leaky_service.Response", "builtins.str", "builtins.function", "weakref.ReferenceType"]
T = {name: i for i, name in enumerate(TYPES)}
SIZES = {"builtins.module": 72, "builtins.dict": 232, "leaky_service.SessionCache": 48,
         "leaky_service.Session": 48, "builtins.list": 184, "builtins.int": 28,
         "leaky_service.Request": 48, "leaky_service.Response": 48, "builtins.str": 53,
         "builtins.function": 136, "weakref.ReferenceType": 80}


def leaky_snapshot(sessions: int = 300, cycles: int = 40, seed: int = 0) -> Snapshot:
    """The heap described in the module docstring (node 0 is the module)."""
    rng = np.random.default_rng(seed)
    types: list[int] = []
    labels: list[str | None] = []
    sizes: list[int] = []
    edges: list[tuple[int, int, int, str]] = []

    def new(type_name: str, label: str | None = None, size: int | None = None) -> int:
        types.append(T[type_name])
        labels.append(label)
        sizes.append(size if size is not None else SIZES[type_name])
        return len(types) - 1

    module = new("builtins.module", "leaky_service")
    namespace = new("builtins.dict")
    edges.append((module, namespace, STRONG, "__dict__"))
    cache = new("leaky_service.SessionCache")
    edges.append((namespace, cache, STRONG, "['CACHE']"))
    by_id = new("builtins.dict", size=36_968)
    edges.append((cache, by_id, STRONG, "_by_id"))
    handle = new("builtins.function", "handle")
    edges.append((namespace, handle, STRONG, "['handle']"))
    first_session = -1
    for k in range(sessions):
        session = new("leaky_service.Session")
        first_session = session if first_session < 0 else first_session
        edges.append((by_id, session, STRONG, f"[{k}]"))
        payload = new("builtins.list", size=184 + 8 * int(rng.integers(0, 4)))
        edges.append((session, payload, STRONG, "payload"))
        number = new("builtins.int", str(k))
        edges.append((payload, number, STRONG, "[0]"))
    weak = new("weakref.ReferenceType")
    edges.append((weak, first_session, WEAK, "__callback__referent"))
    edges.append((namespace, weak, STRONG, "['last_session']"))
    for k in range(cycles):
        request = new("leaky_service.Request")
        response = new("leaky_service.Response")
        body = new("builtins.str", f"ok {k}")
        edges += [(request, response, STRONG, "response"), (response, request, STRONG, "request"),
                  (response, body, STRONG, "body")]
    other = new("builtins.module", "os", size=72)
    other_dict = new("builtins.dict", size=4_696)
    edges.append((other, other_dict, STRONG, "__dict__"))
    roots = [(module, RootKind.MODULE, "sys.modules['leaky_service']"),
             (other, RootKind.MODULE, "sys.modules['os']")]
    return Snapshot.from_edges(
        types=TYPES, type_index=types, size=sizes, edges=edges, roots=roots, labels=labels,
        address=[0x7F3A_0000_0000 + 64 * i for i in range(len(types))],
        meta={"python": "3.11.7", "implementation": "cpython", "pid": 4242,
              "time": 1_767_225_600.0, "argv": ["examples/leaky_service.py", "--requests",
                                               str(sessions)],
              "gc_threshold": [700, 10, 10], "gc_count": [5, 2, 1], "gc_enabled": True,
              "capture_seconds": 0.012, "platform": "linux"})


def strong_digraph(snap: Snapshot) -> nx.DiGraph:
    """The strong references as a networkx graph with the virtual root ``n`` over the roots."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(snap.n + 1))
    for v in range(snap.n):
        for k in range(int(snap.ref_start[v]), int(snap.ref_start[v + 1])):
            if snap.ref_kind[k] == STRONG:
                graph.add_edge(v, int(snap.ref_target[k]))
    for r in snap.root_node.tolist():
        graph.add_edge(snap.n, int(r))
    return graph


def independent_tree(snap: Snapshot) -> SimpleNamespace:
    """idom and retained sizes from ``networkx.immediate_dominators`` (-1 unreachable)."""
    graph = strong_digraph(snap)
    idoms = nx.immediate_dominators(graph, snap.n)
    idom = np.full(snap.n, -1, dtype=np.int64)
    for v, d in idoms.items():
        if v != snap.n:
            idom[v] = d
    tree = nx.DiGraph([(d, v) for v, d in idoms.items() if v != d])
    retained = np.zeros(snap.n, dtype=np.int64)
    for v in range(snap.n):
        if idom[v] >= 0:
            retained[v] = sum(int(snap.size[u]) for u in nx.descendants(tree, v) | {v})
    return SimpleNamespace(idom=idom, retained=retained, order=np.flatnonzero(idom >= 0),
                           reachable=idom >= 0)


def independent_garbage(snap: Snapshot) -> SimpleNamespace:
    """The nodes no root reaches by strong references, their strongly connected components
    (networkx) and the source components (no edge in from another unreachable component)."""
    graph = strong_digraph(snap)
    reached = nx.descendants(graph, snap.n)
    unreachable = sorted(set(range(snap.n)) - reached)
    sub = graph.subgraph(unreachable)
    components = [np.array(sorted(c), dtype=np.int64)
                  for c in sorted(nx.strongly_connected_components(sub), key=min)]
    where = {v: i for i, c in enumerate(components) for v in c.tolist()}
    entered = {where[b] for a, b in sub.edges() if where[a] != where[b]}
    sources = [i for i in range(len(components)) if i not in entered]
    return SimpleNamespace(unreachable=np.array(unreachable, dtype=np.int64),
                           finalizers=np.array([], dtype=np.int64),
                           frozen=np.array([], dtype=np.int64), components=components,
                           sources=sources)


def bfs_path(snap: Snapshot, target: int) -> SimpleNamespace | None:
    """A shortest strong path from some root to ``target`` (a breadth-first search)."""
    parent: dict[int, tuple[int, str | None]] = {}
    queue: deque[int] = deque()
    first_root: dict[int, int] = {}
    for r, node in enumerate(snap.root_node.tolist()):
        if node not in first_root:
            first_root[node] = r
            parent[node] = (-1, None)
            queue.append(node)
    while queue:
        v = queue.popleft()
        if v == target:
            break
        for k in range(int(snap.ref_start[v]), int(snap.ref_start[v + 1])):
            w = int(snap.ref_target[k])
            if snap.ref_kind[k] == STRONG and w not in parent:
                name = snap.ref_name[k]
                parent[w] = (v, snap.strings[name] if name >= 0 else None)
                queue.append(w)
    if target not in parent:
        return None
    nodes, names = [target], []
    while parent[nodes[-1]][0] >= 0:
        previous, name = parent[nodes[-1]]
        names.append(name)
        nodes.append(previous)
    nodes.reverse()
    names.reverse()
    return SimpleNamespace(root=first_root[nodes[0]], nodes=np.array(nodes), names=names)


def independent_diff(before: Snapshot, after: Snapshot) -> SimpleNamespace:
    """Objects matched by (address, type): new in ``after``, freed from ``before``, common
    pairs, and rows by type (type, count before, count after, size before, size after)."""
    def keys(snap: Snapshot) -> dict[tuple[int, str], int]:
        return {(int(a), snap.type_name(i)): i for i, a in enumerate(snap.address.tolist())}

    old, new = keys(before), keys(after)
    rows = {}
    for snap, column in ((before, 0), (after, 1)):
        for i in range(snap.n):
            row = rows.setdefault(snap.type_name(i), [0, 0, 0, 0])
            row[column] += 1
            row[2 + column] += int(snap.size[i])
    return SimpleNamespace(
        new=np.array(sorted(i for k, i in new.items() if k not in old), dtype=np.int64),
        freed=np.array(sorted(i for k, i in old.items() if k not in new), dtype=np.int64),
        common=[(old[k], new[k]) for k in old if k in new],
        by_type=[(name, *row) for name, row in sorted(rows.items())])


def monitor_events(collections: int = 400, seed: int = 1) -> dict:
    """A GC monitor's JSON (``GcReport.to_json()`` shape) of a service running 60 s."""
    rng = np.random.default_rng(seed)
    generation = rng.choice([0, 1, 2], size=collections, p=[0.86, 0.11, 0.03])
    start = np.sort(rng.uniform(0, 60e9, size=collections)).astype(np.int64)
    base = np.array([0.05e6, 0.4e6, 6e6])[generation]
    pause = (base * rng.lognormal(0, 0.5, size=collections)).astype(np.int64)
    return {"wall_ns": 60_000_000_000,
            "events": {"generation": generation.tolist(), "start_ns": start.tolist(),
                       "pause_ns": pause.tolist(),
                       "collected": rng.integers(0, 500, size=collections).tolist(),
                       "uncollectable": [0] * collections}}
