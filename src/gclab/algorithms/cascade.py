"""What reference counting frees once a set of objects is freed: the cascade of deallocations
that follows a collection (the readable oracle; the compiled twin is
:func:`gclab.kernels.cascade.freed_with`).

When the collector clears the unreachable objects, every object they referenced loses those
references; an object whose every reference came from freed objects drops to a reference count
of zero and is freed too, and so on. On a captured heap this is how the untracked objects that
only garbage refers to (its strings, ints, untracked tuples) are freed with it: the garbage dry
run counts their bytes.

>>> from gclab.graphview import GraphView
>>> g = GraphView.from_edges(5, [0, 1, 1, 2, 4], [1, 0, 2, 3, 3])  # 0 <-> 1 -> 2 -> 3 <- 4
>>> freed_with(g, [1, 1, 1, 2, 1], [True, True, False, False, False],
...            [False, False, True, True, True]).tolist()         # 3 is still held by 4
[False, False, True, False, False]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..errors import InvalidGraphError
from ..graphview import GraphView, as_graph

Bools = npt.NDArray[np.bool_]


def check_masks(graph: GraphView, refcounts: object, dead: object,
                eligible: object) -> tuple[npt.NDArray[np.int64], Bools, Bools]:
    """The inputs of :func:`freed_with` as arrays of ``graph.n`` values (int64, bool, bool),
    or :class:`~gclab.errors.InvalidGraphError` naming the one of the wrong shape or kind."""
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


def freed_with(graph: GraphView, refcounts: object, dead: object, eligible: object) -> Bools:
    """The nodes freed by reference counting when the ``dead`` nodes are freed.

    ``refcounts``: every reference to each node; ``dead``: the nodes freed first (a mask);
    ``eligible``: the nodes whose ``refcounts`` are to be trusted (others are never freed:
    unknown or immortal counts, or nodes the collector itself decides on). Afterwards the
    returned mask holds exactly the eligible, not dead nodes all of whose references come from
    dead or returned nodes, counting each edge (a node referenced twice by one freed node
    loses two references).
    """
    graph = as_graph(graph)
    counts, dead_a, eligible_a = check_masks(graph, refcounts, dead, eligible)
    freed = np.zeros(graph.n, np.bool_)
    lost = np.zeros(graph.n, np.int64)  # references lost to freed nodes so far
    pending = np.flatnonzero(dead_a).tolist()
    while pending:
        node = pending.pop()
        for target in graph.out_edges(node).tolist():
            if dead_a[target] or freed[target] or not eligible_a[target]:
                continue
            lost[target] += 1
            if lost[target] >= counts[target]:  # its last reference is gone: freed too
                freed[target] = True
                pending.append(target)
    return freed


__all__ = ["check_masks", "freed_with"]
