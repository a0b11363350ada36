"""The reference-counting cascade, compiled: the twin of :mod:`gclab.algorithms.cascade`.

:func:`freed_with` has the oracle's name, signature and result (a set, so the order the work
is done in does not show); it checks the inputs and calls :func:`_freed_with` on the view's
arrays, with the pending nodes in one array of ``n`` ids (each enters once).

>>> from gclab.graphview import GraphView
>>> g = GraphView.from_csr([0, 2, 3, 3], [1, 1, 2])   # 0 -> 1 twice, 1 -> 2
>>> freed_with(g, [0, 2, 1], [True, False, False], [False, True, True]).tolist()
[False, True, True]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._jit import at, jit
from ..errors import InvalidGraphError
from ..graphview import GraphView, as_graph

Bools = npt.NDArray[np.bool_]


def _check_masks(graph: GraphView, refcounts: object, dead: object,
                 eligible: object) -> tuple[npt.NDArray[np.int64], Bools, Bools]:
    """The inputs as arrays of ``graph.n`` values (int64, bool, bool), or InvalidGraphError
    (the oracle's check: kernels never import an oracle)."""
    arrays = []
    for name, value, kind in (("refcounts", refcounts, "iu"), ("dead", dead, "bui"),
                              ("eligible", eligible, "bui")):
        array = np.asarray(value)
        if array.shape != (graph.n,) or array.dtype.kind not in kind:
            raise InvalidGraphError(f"{name} must be {graph.n} integers or booleans, not "
                                    f"{array.dtype} of shape {array.shape}")
        arrays.append(array)
    return (arrays[0].astype(np.int64), arrays[1].astype(np.bool_),
            arrays[2].astype(np.bool_))


@jit
def _freed_with(start, length, targets, alive, check_alive, counts, dead, eligible, freed):
    """Free the dead nodes' referents whose references all came from freed nodes, until none
    is left (the oracle's loop, in queue order). Returns how many were freed."""
    n = len(freed)
    pending = np.empty(n, np.int32)
    lost = np.zeros(n, np.int64)
    tail = 0
    for node in range(n):
        if dead[node]:
            pending[tail] = node
            tail += 1
    head = 0
    released = 0
    while head < tail:
        node = at(pending[head])
        head += 1
        if check_alive and not alive[node]:  # a dead node of the view has no edges
            continue
        first = np.int64(start[node])
        for k in range(first, first + np.int64(length[node])):
            target = targets[k]
            if target < 0:
                continue
            t = at(target)
            if dead[t] or freed[t] or not eligible[t] or (check_alive and not alive[t]):
                continue
            lost[t] += 1
            if lost[t] >= counts[t]:
                freed[t] = True
                released += 1
                pending[tail] = t
                tail += 1
    return released


def freed_with(graph: GraphView, refcounts: object, dead: object, eligible: object) -> Bools:
    """The nodes freed by reference counting when the ``dead`` nodes are freed: the eligible,
    not dead nodes all of whose references come from dead or returned nodes (the oracle's
    post-conditions, :func:`gclab.algorithms.cascade.freed_with`)."""
    graph = as_graph(graph)
    counts, dead_a, eligible_a = _check_masks(graph, refcounts, dead, eligible)
    freed = np.zeros(graph.n, np.bool_)
    alive = graph.alive if graph.alive is not None else np.ones(0, np.bool_)
    _freed_with(graph.start, graph.length, graph.targets, alive, graph.alive is not None,
                counts, dead_a, eligible_a, freed)
    return freed


__all__ = ["freed_with"]
