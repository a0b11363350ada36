"""Shortest paths from many sources, compiled: the twin of :mod:`gclab.algorithms.paths`.

:func:`breadth_first` has the oracle's name, signature and results (the same parents: the
same queue order); it validates the sources and calls :func:`_breadth_first`, which works on
the view's arrays, with the queue in one array of ``n`` node ids (each enters once).

>>> from gclab.graphview import GraphView
>>> g = GraphView.from_csr([0, 1, 2, 2], [1, 2])   # 0 -> 1 -> 2
>>> [a.tolist() for a in breadth_first(g, [1])]
[[-1, -1, 1], [-1, 0, 1]]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._jit import at, jit
from ..graphview import GraphView, as_graph

I64 = npt.NDArray[np.int64]


@jit
def _breadth_first(start, length, targets, alive, check_alive, sources, parent, distance):
    """Enqueue the sources (first occurrence), then scan the queue in order: a target not yet
    reached gets distance + 1 and its parent (the oracle's loop). Returns how many were
    reached."""
    queue = np.empty(len(parent), np.int32)
    tail = 0
    for k in range(len(sources)):
        source = at(sources[k])
        if distance[source] < 0:
            distance[source] = 0
            queue[tail] = source
            tail += 1
    head = 0
    while head < tail:
        node = at(queue[head])
        head += 1
        step = distance[node] + 1
        first = np.int64(start[node])
        for k in range(first, first + np.int64(length[node])):
            target = targets[k]
            if target < 0:  # NULL or an atom
                continue
            t = at(target)
            if distance[t] >= 0 or (check_alive and not alive[t]):
                continue
            distance[t] = step
            parent[t] = node
            queue[tail] = t
            tail += 1
    return tail


def breadth_first(graph: GraphView, sources: object) -> tuple[I64, I64]:
    """Search ``graph`` breadth-first from all of ``sources`` at once.

    Afterwards ``(parent, distance)`` hold, for each reached node, the fewest edges from any
    source (0 at a source) and the node it was first reached from (-1 at a source); unreached
    and dead nodes have both -1 (the oracle's post-conditions,
    :func:`gclab.algorithms.paths.breadth_first`)."""
    graph = as_graph(graph)
    starts = graph.check_roots(sources)
    parent = np.full(graph.n, -1, np.int64)
    distance = np.full(graph.n, -1, np.int64)
    alive = graph.alive if graph.alive is not None else np.ones(0, np.bool_)
    _breadth_first(graph.start, graph.length, graph.targets, alive, graph.alive is not None,
                   starts, parent, distance)
    return parent, distance


__all__ = ["breadth_first"]
