"""Why is it alive: the shortest retainer paths from named roots to an object, weak references
skipped (``docs/design/snapshots.md``; ``gclab why``).

A *retainer path* runs from a root's node (a module global, a frame's local, a class attribute,
``gc.garbage``, or "held from C or by an untracked object") along strong references to the
object. :func:`why` searches the reversed strong graph breadth-first from the object
(:func:`gclab.kernels.paths.breadth_first`; weak references are no edges of the strong graph,
so no path goes through one) and so finds every root's distance to it at once.

**Distinct paths.** The paths :func:`why` returns start at *different root nodes*: for each
root node that reaches the object, one shortest path from it (the breadth-first search's
choice among equally short ones). They are sorted shortest first, ties by the root's index; a
node that is several roots (a module global and a frame's local, say) gives one path, named by
its first root entry. So ``limit=3`` answers "the three nearest things that keep it alive".

:func:`to_dot` draws paths as a graphviz graph: one box per object (its type, label and
address), one edge per reference (named by its attribute, key or index), and the root entries
as ellipses with the root kind and name.

>>> from gclab.snapshots import Snapshot, RootKind
>>> snap = Snapshot.from_edges(
...     types=["builtins.dict", "builtins.list", "app.Session"], type_index=[0, 1, 2, 2],
...     edges=[(0, 1, 0, "['sessions']"), (1, 2, 0, "[0]"), (3, 2, 1, "weak")],
...     roots=[(0, RootKind.MODULE, "app.cache"), (3, RootKind.FRAME, "main / run:9 / s")])
>>> paths = why(snap, 2)
>>> [(p.root, p.nodes.tolist(), p.names) for p in paths]    # the weak reference holds nothing
[(0, [0, 1, 2], ["['sessions']", '[0]'])]
>>> describe(snap, paths[0])
"module app.cache → dict['sessions'] → list[0] → Session"
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .._jit import jit
from ..errors import SnapshotError
from ..graphview import GraphView
from ..kernels.paths import breadth_first
from .model import STRONG, RootKind, Snapshot

I64 = npt.NDArray[np.int64]

#: How a root kind reads in a path's text.
ROOT_WORDS = {RootKind.MODULE: "module", RootKind.FRAME: "frame", RootKind.CLASS: "class",
              RootKind.GC_GARBAGE: "gc.garbage", RootKind.EXTERNAL: "held from C",
              RootKind.THREAD: "thread"}


@dataclass(frozen=True, eq=False)
class RetainerPath:
    """One shortest path from a root to an object: ``root`` (an index into the snapshot's
    roots), ``nodes`` (the node ids from the root's node to the object, both included) and
    ``names`` (one per reference along it: its attribute, key or index, None if unnamed)."""

    root: int
    nodes: I64
    names: list[str | None]

    def __len__(self) -> int:
        """The number of references along the path (0: the object is the root's node)."""
        return len(self.nodes) - 1


def reversed_graph(snap: Snapshot) -> GraphView:
    """The strong graph with every edge turned round (cached on the snapshot): node ``v``'s
    out-edges are the nodes that hold ``v``, in source order."""

    def build() -> GraphView:
        indptr = np.zeros(snap.n + 1, np.int64)
        holders = np.empty(int(np.count_nonzero(snap.ref_kind == STRONG)), np.int32)
        _transpose(snap.ref_start, snap.ref_target, snap.ref_kind, indptr, holders)
        return GraphView.from_csr(indptr, holders)

    return snap.cached("graph.strong.reversed", build)


@jit
def _transpose(ref_start, ref_target, ref_kind, indptr, holders):
    """The strong references turned round, in CSR form (a counting sort): afterwards
    ``holders[indptr[v]:indptr[v + 1]]`` are the sources of the strong references to ``v``,
    in source order (a source once per reference)."""
    n = len(indptr) - 1
    for k in range(len(ref_target)):
        if ref_kind[k] == STRONG:
            indptr[ref_target[k] + 1] += 1
    for v in range(n):
        indptr[v + 1] += indptr[v]
    fill = indptr[:-1].copy()
    for source in range(n):
        for k in range(ref_start[source], ref_start[source + 1]):
            if ref_kind[k] == STRONG:
                target = ref_target[k]
                holders[fill[target]] = source
                fill[target] += 1


def check_node(snap: Snapshot, node: object) -> int:
    """``node`` as a node id of ``snap``, or :class:`~gclab.errors.SnapshotError`."""
    if isinstance(node, bool | np.bool_):
        raise SnapshotError(f"a node is an integer, not {node!r}")
    try:
        index = operator.index(node)  # type: ignore[arg-type]
    except TypeError:
        raise SnapshotError(f"a node is an integer, not {type(node).__name__}") from None
    if not 0 <= index < snap.n:
        raise SnapshotError(f"node {index} is not in this snapshot (nodes 0 .. {snap.n - 1})")
    return index


def why(snap: Snapshot, node: int, *, limit: int = 3) -> list[RetainerPath]:
    """Up to ``limit`` shortest retainer paths from named roots to ``node``, shortest first,
    each from a different root node (see the module docstring); weak references are skipped.

    Afterwards the snapshot is unchanged (the reversed graph is cached on it). An empty list
    means no root reaches ``node``: it is garbage (``gclab garbage``). A node that is not in
    the snapshot or a ``limit`` below 1 raises :class:`~gclab.errors.SnapshotError`."""
    if not isinstance(snap, Snapshot):
        raise SnapshotError(f"why needs a Snapshot, not {type(snap).__name__}")
    target = check_node(snap, node)
    if isinstance(limit, bool) or not isinstance(limit, int | np.integer) or limit < 1:
        raise SnapshotError(f"limit must be a positive integer, not {limit!r}")
    toward, distance = breadth_first(reversed_graph(snap), [target])
    roots = snap.root_node.astype(np.int64)
    reach = distance[roots] if len(roots) else np.zeros(0, np.int64)
    entries = np.flatnonzero(reach >= 0)
    entries = entries[np.argsort(reach[entries], kind="stable")]   # shortest, then root order
    _, first = np.unique(roots[entries], return_index=True)        # one entry per root node
    chosen = entries[np.sort(first)][:limit]
    return [_path(snap, int(r), toward, target) for r in chosen]


def _path(snap: Snapshot, root: int, toward: I64, target: int) -> RetainerPath:
    """The path from root entry ``root``'s node to ``target`` along ``toward`` (each node's
    next hop, from the reversed search)."""
    nodes = [int(snap.root_node[root])]
    while nodes[-1] != target:
        nodes.append(int(toward[nodes[-1]]))
    names = [edge_name(snap, a, b) for a, b in itertools.pairwise(nodes)]
    return RetainerPath(root=root, nodes=np.array(nodes, np.int64), names=names)


def edge_name(snap: Snapshot, source: int, target: int) -> str | None:
    """The name of the first strong reference from ``source`` to ``target`` (None: unnamed or
    no such reference)."""
    first, last = int(snap.ref_start[source]), int(snap.ref_start[source + 1])
    hits = np.flatnonzero((snap.ref_target[first:last] == target)
                          & (snap.ref_kind[first:last] == STRONG))
    if not len(hits):
        return None
    name = int(snap.ref_name[first + hits[0]])
    return snap.strings[name] if name >= 0 else None


def short_type(snap: Snapshot, node: int) -> str:
    """The type's name without its module (``Session`` for ``app.Session``)."""
    return snap.type_name(node).rsplit(".", 1)[-1]


def root_text(snap: Snapshot, root: int) -> str:
    """A root entry in words: its kind and name (``module app.cache``)."""
    kind = RootKind(int(snap.root_kind[root]))
    name = int(snap.root_name[root])
    text = snap.strings[name] if name >= 0 else ""
    return f"{ROOT_WORDS[kind]} {text}".strip()


def describe(snap: Snapshot, path: RetainerPath) -> str:
    """A path in one line: the root, then each object's short type and the name of the
    reference it follows, ending with the object's type
    (``module app.cache → dict['sessions'] → list[0] → Session``)."""
    parts = [root_text(snap, path.root)]
    for node, name in zip(path.nodes.tolist(), path.names, strict=False):
        joiner = "" if name is not None and name.startswith("[") else "."
        parts.append(f"{short_type(snap, node)}{joiner}{name if name is not None else '?'}")
    parts.append(short_type(snap, int(path.nodes[-1])))
    return " → ".join(parts)


def _quote(text: str) -> str:
    """``text`` as a graphviz double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def node_text(snap: Snapshot, node: int) -> str:
    """A node's box: its type, its label when it has one (shortened), its address."""
    lines = [snap.type_name(node)]
    label = snap.label_of(node)
    if label is not None:
        lines.append(label if len(label) <= 40 else label[:37] + "...")
    lines.append(f"{int(snap.address[node]):#x}")
    return "\n".join(lines)


def to_dot(snap: Snapshot, paths: list[RetainerPath]) -> str:
    """Graphviz source of ``paths``: objects as boxes (the paths' last object filled), each
    reference once with its name, each root entry as an ellipse with its kind and name and an
    edge to its node. Deterministic for the same input.

    >>> from gclab.snapshots import Snapshot, RootKind
    >>> snap = Snapshot.from_edges(types=["builtins.list"], type_index=[0, 0],
    ...     edges=[(0, 1, 0, "[0]")], roots=[(0, RootKind.MODULE, "m.items")])
    >>> print(to_dot(snap, why(snap, 1)))   # doctest: +NORMALIZE_WHITESPACE
    digraph retainers {
      rankdir=LR; node [shape=box, fontname="Helvetica", fontsize=10];
      edge [fontname="Helvetica", fontsize=9];
      r0 [shape=ellipse, style=dashed, label="module m.items"];
      n0 [label="builtins.list\\n0x1000"];
      n1 [label="builtins.list\\n0x1010", style=filled, fillcolor="#ffd9a0"];
      r0 -> n0;
      n0 -> n1 [label="[0]"];
    }
    """
    lines = ["digraph retainers {",
             '  rankdir=LR; node [shape=box, fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    targets = {int(p.nodes[-1]) for p in paths}
    nodes: dict[int, None] = {}
    edges: dict[tuple[int, int], str | None] = {}
    for path in paths:
        lines.append(f"  r{path.root} [shape=ellipse, style=dashed, "
                     f"label={_quote(root_text(snap, path.root))}];")
        for node in path.nodes.tolist():
            nodes.setdefault(node)
        for a, b, name in zip(path.nodes.tolist(), path.nodes.tolist()[1:], path.names,
                              strict=False):
            edges.setdefault((a, b), name)
    for node in nodes:
        fill = ', style=filled, fillcolor="#ffd9a0"' if node in targets else ""
        lines.append(f"  n{node} [label={_quote(node_text(snap, node))}{fill}];")
    for path in paths:
        lines.append(f"  r{path.root} -> n{int(path.nodes[0])};")
    for (a, b), name in edges.items():
        label = f" [label={_quote(name)}]" if name is not None else ""
        lines.append(f"  n{a} -> n{b}{label};")
    lines.append("}")
    return "\n".join(lines)


__all__ = ["ROOT_WORDS", "RetainerPath", "check_node", "describe", "edge_name", "node_text",
           "reversed_graph", "root_text", "short_type", "to_dot", "why"]
