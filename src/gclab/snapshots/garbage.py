"""The garbage dry run: what a full ``gc.collect()`` would free now, computed on a captured
heap with gclab's own copy of CPython's collector phases (``docs/design/snapshots.md``).

:func:`dry_run` does what ``gc.collect()`` does up to the point where it would free anything:

1. the *candidates* are the tracked objects not frozen, in the order CPython's full collection
   links its lists: generation 0, 1, 2, each in capture order (``gc.get_objects()``'s order);
2. ``update_refs``, ``subtract_refs`` and ``move_unreachable`` run on them
   (:func:`gclab.kernels.cycles.unreachable_in`) with the captured reference counts: references
   from untracked or frozen objects, from C and from frames are references from outside, as in
   CPython, because only candidates' references are subtracted;
3. what it could not free, or what may change, is named: the unreachable objects with a
   finalizer that has not run yet (PEP 442: their ``__del__`` runs first and may resurrect
   what it reaches), the frozen objects (``gc.freeze()``: never collected), and on Python
   before 3.4 the ``uncollectable`` (objects with ``__del__`` and all they reach: CPython 2.7
   leaves them in ``gc.garbage``);
4. the unreachable objects are grouped into strongly connected components
   (:func:`gclab.kernels.scc.strongly_connected_components`): a reference cycle is one; the
   *sources* are the components no other unreachable component references: they keep the
   rest alive, and breaking their cycles frees everything below them;
5. what else would be freed: the objects only garbage refers to (strings, ints, untracked
   tuples) that reference counting frees with it (:func:`gclab.kernels.cascade.freed_with`).

>>> from gclab.snapshots import Snapshot, RootKind
>>> snap = Snapshot.from_edges(      # a cycle 0 <-> 1 held by 2; a garbage cycle 3 <-> 4 -> 5
...     types=["m.A", "m.B", "builtins.dict", "builtins.str"], type_index=[0, 1, 2, 0, 1, 3],
...     edges=[(0, 1, 0, "b"), (1, 0, 0, "a"), (2, 0, 0, "['x']"), (3, 4, 0, "b"),
...            (4, 3, 0, "a"), (4, 5, 0, "name")],
...     roots=[(2, RootKind.MODULE, "m.registry")],
...     flags=[3, 1, 1, 1, 1, 0])     # 0 has a finalizer; 5 is untracked (a str)
>>> report = dry_run(snap)
>>> report.unreachable.tolist(), report.freed.tolist(), report.freed_bytes
([3, 4], [5], 192)
>>> [c.tolist() for c in report.components], report.sources.tolist()
([[3, 4]], [0])
>>> describe_cycle(snap, report, 0)
'A.b → B.a → A'
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .._jit import jit
from ..errors import SnapshotError
from ..graphview import GraphView
from ..kernels.cascade import freed_with
from ..kernels.closure import mark_from
from ..kernels.cycles import unreachable_in
from ..kernels.paths import breadth_first
from ..kernels.scc import source_components, strongly_connected_components
from .model import FINALIZED, FINALIZER, FROZEN, IMMORTAL, PERMANENT, STRONG, TRACKED, Snapshot
from .paths import edge_name, short_type

I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

#: The first CPython whose collector runs ``__del__`` in cycles (PEP 442); before it an
#: unreachable object with ``__del__`` and all it reaches are uncollectable.
PEP442 = (3, 4)


@dataclass(frozen=True, eq=False)
class GarbageReport:
    """What a full collection would do to a snapshot's heap (:func:`dry_run`).

    * ``unreachable``: node ids, in the order CPython's ``move_unreachable`` leaves them;
    * ``finalizers``: unreachable nodes with a finalizer not yet run (``__del__`` may
      resurrect what it reaches), in node order;
    * ``frozen``: the nodes in the permanent generation (never collected), in node order;
    * ``uncollectable``: before Python 3.4, the unreachable nodes a collection leaves alive
      (those with ``__del__`` and all they reach); empty on 3.4+;
    * ``component``: per node, the index of its component in :attr:`components` (-1 for nodes
      not unreachable); ``component_start``/``component_nodes``: the components in CSR form,
      largest first (ties: by smallest node), each's nodes in node order;
    * ``sources``: indices of the components no other unreachable component references;
    * ``freed``: the nodes that are not unreachable but that reference counting frees with
      the garbage (only garbage refers to them), in node order;
    * ``bytes``: the shallow bytes of the unreachable nodes; ``freed_bytes``: those plus the
      bytes of ``freed`` (what the collection would return);
    * ``warnings``: what made the answer uncertain (unknown or inconsistent reference counts).
    """

    unreachable: I64
    finalizers: I64
    frozen: I64
    uncollectable: I64
    component: I64
    component_start: I64
    component_nodes: I64
    sources: I64
    freed: I64
    bytes: int
    freed_bytes: int
    warnings: tuple[str, ...] = ()

    @functools.cached_property
    def components(self) -> list[I64]:
        """The strongly connected components of the unreachable nodes, largest first: one
        int64 array of node ids each (node order)."""
        if len(self.component_start) < 2:
            return []
        return np.split(self.component_nodes, self.component_start[1:-1])

    def component_size(self) -> I64:
        """The number of nodes of each component, in component order."""
        return np.diff(self.component_start)

    def __repr__(self) -> str:
        return (f"<GarbageReport unreachable={len(self.unreachable)} "
                f"components={len(self.component_start) - 1} sources={len(self.sources)} "
                f"freed_bytes={self.freed_bytes}>")


def python_version(snap: Snapshot) -> tuple[int, ...]:
    """The snapshot's ``meta["python"]`` as a tuple of ints (``(3, 11, 7)``); ``(3, 99)``
    when absent. A version that is not ``X.Y...`` raises :class:`~gclab.errors.SnapshotError`.

    >>> python_version(Snapshot.from_edges(types=["t"], type_index=[0], meta={"python": "2.7.18"}))
    (2, 7, 18)
    """
    text = snap.meta.get("python")
    if text is None:
        return (3, 99)
    parts = str(text).split(".")
    try:
        return tuple(int("".join(ch for ch in part if ch.isdigit()) or "0") if i >= 2
                     else int(part) for i, part in enumerate(parts[:3]))
    except ValueError:
        raise SnapshotError(f"meta['python'] = {text!r} is not a version such as 3.11.7") \
            from None


def candidates(snap: Snapshot) -> I64:
    """The nodes a full collection examines: tracked, not frozen, generation 0 to 2; ordered
    by generation (0 first, as CPython merges the younger generations into the oldest), then
    by node id (capture order)."""
    flags, generation = snap.flags, snap.generation
    chosen = ((flags & TRACKED) != 0) & ((flags & FROZEN) == 0) & (generation >= 0) \
        & (generation < PERMANENT)
    nodes = np.flatnonzero(chosen)
    return nodes[np.argsort(generation[nodes], kind="stable")].astype(np.int64)


def effective_refcounts(snap: Snapshot) -> tuple[I64, list[str]]:
    """The reference counts the collector phases use, and warnings about them.

    Afterwards each count is at least the strong references the snapshot holds to the node
    (a count below that means the heap changed during the capture: it is raised, and warned
    about); an unknown count (-1) or an immortal object's is the strong references plus one
    (held from outside: never claimed as garbage)."""
    strong = snap.ref_target[snap.ref_kind == STRONG]
    held = np.bincount(strong, minlength=snap.n).astype(np.int64)
    counts = snap.refcount.astype(np.int64)
    unknown = (counts < 0) | ((snap.flags & IMMORTAL) != 0)
    low = ~unknown & (counts < held)
    warnings = []
    tracked_unknown = int(np.count_nonzero(unknown & ((snap.flags & TRACKED) != 0)
                                           & ((snap.flags & IMMORTAL) == 0)))
    if tracked_unknown:
        warnings.append(f"{tracked_unknown} tracked objects have an unknown reference count: "
                        f"taken as held from outside")
    if low.any():
        warnings.append(f"{int(np.count_nonzero(low))} objects have fewer references than the "
                        f"snapshot shows (the heap changed during the capture): raised to "
                        f"the references seen")
    counts = np.where(unknown, held + 1, np.maximum(counts, held))
    return counts, warnings


def dry_run(snap: Snapshot) -> GarbageReport:
    """What a full ``gc.collect()`` would free from ``snap``'s heap now (see the module
    docstring for the steps and :class:`GarbageReport` for the result).

    The snapshot is unchanged; a snapshot that is not one raises
    :class:`~gclab.errors.SnapshotError`."""
    if not isinstance(snap, Snapshot):
        raise SnapshotError(f"dry_run needs a Snapshot, not {type(snap).__name__}")
    graph = snap.graph()
    counts, warnings = effective_refcounts(snap)
    unreachable = unreachable_in(graph, counts, candidates(snap))
    dead = np.zeros(snap.n, np.bool_)
    dead[unreachable] = True
    frozen = np.flatnonzero(((snap.flags & FROZEN) != 0) | (snap.generation == PERMANENT))
    pending = (snap.flags & FINALIZER) != 0
    if python_version(snap) >= PEP442:
        pending &= (snap.flags & FINALIZED) == 0
    finalizers = np.flatnonzero(dead & pending)
    inside = GraphView(graph.start, graph.length, graph.targets, graph.n, alive=dead)
    uncollectable = np.zeros(0, np.int64)
    if python_version(snap) < PEP442 and len(finalizers):
        uncollectable = np.flatnonzero(mark_from(inside, finalizers)).astype(np.int64)
    component, start, nodes, sources = _components(inside, dead)
    eligible = ~dead & ((snap.flags & TRACKED) == 0) & (snap.refcount >= 0) \
        & ((snap.flags & IMMORTAL) == 0)
    freed = np.flatnonzero(freed_with(graph, counts, dead, eligible)).astype(np.int64)
    size = int(snap.size[unreachable].sum())
    return GarbageReport(
        unreachable=unreachable, finalizers=finalizers.astype(np.int64),
        frozen=frozen.astype(np.int64), uncollectable=uncollectable, component=component,
        component_start=start, component_nodes=nodes, sources=sources, freed=freed,
        bytes=size, freed_bytes=size + int(snap.size[freed].sum()), warnings=tuple(warnings))


@jit
def _group(keys, items, count):
    """``items`` grouped by ``keys`` (each in ``0 .. count-1``), keeping their order within a
    group (a counting sort): ``(grouped items, count + 1 offsets)``."""
    start = np.zeros(count + 1, np.int64)
    for k in range(len(keys)):
        start[keys[k] + 1] += 1
    for g in range(count):
        start[g + 1] += start[g]
    fill = start[:-1].copy()
    grouped = np.empty(len(items), np.int64)
    for k in range(len(keys)):
        grouped[fill[keys[k]]] = items[k]
        fill[keys[k]] += 1
    return grouped, start


def _components(inside: GraphView, dead: Bools) -> tuple[I64, I64, I64, I64]:
    """The strongly connected components of the view ``inside`` (the unreachable nodes alive):
    ``(component per node, CSR offsets, nodes, source component indices)``, components
    largest first, ties by smallest node, each's nodes in node order."""
    labels = strongly_connected_components(inside)
    members = np.flatnonzero(dead).astype(np.int64)        # node order
    count = int(labels.max()) + 1 if len(members) else 0
    by_label, offsets = _group(labels[members], members, count)
    size = np.diff(offsets)
    first = by_label[offsets[:-1]]                         # each label's smallest node
    rank = np.lexsort((first, -size))                      # component index -> label
    index_of = np.empty(count, np.int64)
    index_of[rank] = np.arange(count)
    component = np.full(len(dead), -1, np.int64)
    component[members] = index_of[labels[members]]
    nodes, start = _group(component[members], members, count)
    sources = np.flatnonzero(source_components(inside, labels)[rank]).astype(np.int64)
    return component, start, nodes, sources


def shortest_cycle(snap: Snapshot, report: GarbageReport, index: int) -> list[int]:
    """A shortest cycle through the smallest node of component ``index``, as its nodes from
    that node round to it again (``[a, b, a]``); ``[a]`` when the component is one node that
    does not refer to itself."""
    nodes = report.components[index]
    head = int(nodes[0])
    graph = snap.graph()
    mask = report.component == index
    inside = GraphView(graph.start, graph.length, graph.targets, graph.n, alive=mask)
    parent, distance = breadth_first(inside, [head])
    best = -1
    for node in nodes.tolist():  # the predecessor of head nearest to it closes the cycle
        if head in inside.out_edges(node).tolist() and \
                (best < 0 or distance[node] < distance[best]):
            best = node
    if best < 0:
        return [head]
    path = [best]
    while path[-1] != head:
        path.append(int(parent[path[-1]]))
    return [*path[::-1], head]


def describe_cycle(snap: Snapshot, report: GarbageReport, index: int) -> str:
    """Component ``index``'s shortest cycle in words: each node's type and the name of the
    reference it follows, ``"A.b → B.a → A"`` (``?`` for an unnamed reference); a one-node
    component with no self-reference is just its type."""
    cycle = shortest_cycle(snap, report, index)
    parts = []
    for source, target in itertools.pairwise(cycle):
        name = edge_name(snap, source, target)
        joiner = "" if name is not None and name.startswith("[") else "."
        parts.append(f"{short_type(snap, source)}{joiner}{name if name is not None else '?'}")
    parts.append(short_type(snap, cycle[-1]))
    return " → ".join(parts)


def by_type(snap: Snapshot, nodes: I64) -> list[tuple[str, int, int]]:
    """``(type, count, shallow bytes)`` of ``nodes``, most bytes first (ties: by name)."""
    types = snap.type_index[nodes]
    count = np.bincount(types, minlength=len(snap.types))
    size = np.bincount(types, weights=snap.size[nodes], minlength=len(snap.types))
    rows = [(snap.types[t], int(count[t]), int(size[t])) for t in np.flatnonzero(count)]
    return sorted(rows, key=lambda row: (-row[2], row[0]))


__all__ = ["PEP442", "GarbageReport", "by_type", "candidates", "describe_cycle", "dry_run",
           "effective_refcounts", "python_version", "shortest_cycle"]
