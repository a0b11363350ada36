"""Shortest paths from many sources at once: a breadth-first search over a graph view that
leaves parent pointers and distances (the readable oracle; the compiled twin is
:func:`gclab.kernels.paths.breadth_first`).

The retainer paths of a captured heap (``gclab why``) are shortest paths in the strong graph,
whose weak references are no edges (:meth:`gclab.snapshots.Snapshot.graph`), so a search over
it skips weak references by construction. Searching from every root at once is a search from
a virtual root over them; searching the reversed graph from one object finds its nearest roots.

The search takes the sources in the order given and scans each node's out-edges in slot order,
first in, first out; a node's parent is the node that reached it first. Both twins do exactly
this, so their parents agree, not only their distances.

>>> from gclab.graphview import GraphView
>>> g = GraphView.from_edges(5, [0, 0, 1, 2, 3], [1, 2, 3, 3, 4])   # 0 -> 1, 2 -> 3 -> 4
>>> parent, distance = breadth_first(g, [0])
>>> parent.tolist(), distance.tolist()
([-1, 0, 0, 1, 3], [0, 1, 1, 2, 3])
>>> path_to(parent, 4)
[0, 1, 3, 4]
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt

from ..errors import InvalidRootError
from ..graphview import GraphView, as_graph

I64 = npt.NDArray[np.int64]


def breadth_first(graph: GraphView, sources: object) -> tuple[I64, I64]:
    """Search ``graph`` breadth-first from all of ``sources`` (an int or 1-D ints: live nodes;
    repeats are allowed) at once.

    Afterwards the returned ``(parent, distance)`` int64 arrays of ``graph.n`` values hold,
    for each node some source reaches, the fewest edges from any source (0 at a source) and
    the node it was first reached from (-1 at a source); unreached and dead nodes have both
    -1. Following ``parent`` from a reached node gives a shortest path back to a source.
    Invalid sources raise :class:`~gclab.errors.InvalidRootError` before anything is searched.
    """
    graph = as_graph(graph)
    starts = graph.check_roots(sources)
    parent = np.full(graph.n, -1, np.int64)
    distance = np.full(graph.n, -1, np.int64)
    queue: deque[int] = deque()
    for source in starts.tolist():
        if distance[source] < 0:
            distance[source] = 0
            queue.append(source)
    while queue:
        node = queue.popleft()
        for target in graph.out_edges(node).tolist():
            if distance[target] < 0:  # first reached now, from node: one edge further
                distance[target] = distance[node] + 1
                parent[target] = node
                queue.append(target)
    return parent, distance


def path_to(parent: I64, node: int) -> list[int]:
    """The nodes from a source to ``node`` along ``parent`` pointers (from
    :func:`breadth_first`), source first; ``[node]`` when ``node`` is a source.

    The caller checks that ``node`` was reached (its distance is not -1); a parent chain that
    does not end (not a search's parents) raises :class:`~gclab.errors.InvalidRootError`."""
    path = [int(node)]
    while parent[path[-1]] >= 0:
        path.append(int(parent[path[-1]]))
        if len(path) > len(parent):
            raise InvalidRootError(f"the parent pointers from {node} form a cycle")
    path.reverse()
    return path


__all__ = ["breadth_first", "path_to"]
