"""Strongly connected components, compiled: the twin of :mod:`gclab.algorithms.scc`.

:func:`strongly_connected_components` has the oracle's name, signature and results (the same
labels: the same search order); it validates the view and calls :func:`_tarjan`, which works
on the view's arrays. No recursion: the call stack is two arrays (node, next slot), so a chain
of 10M nodes is fine; the memory is five int arrays of ``n``.

>>> from gclab.graphview import GraphView
>>> g = GraphView.from_csr([0, 1, 2, 3], [1, 2, 0])     # a 3-cycle
>>> strongly_connected_components(g).tolist()
[0, 0, 0]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._jit import at, jit
from ..errors import InvalidGraphError
from ..graphview import GraphView, as_graph

I64 = npt.NDArray[np.int64]


@jit
def _tarjan(start, length, targets, alive, check_alive, label):
    """Tarjan's search from every undiscovered live node in id order (the oracle's loop);
    ``label`` (all -1) receives the labels. Returns the number of components."""
    n = len(label)
    order = np.full(n, -1, np.int64)
    low = np.zeros(n, np.int64)
    stack = np.empty(n, np.int32)       # Tarjan's stack
    call_node = np.empty(n, np.int32)   # the call stack: node, next slot to follow
    call_slot = np.empty(n, np.int64)
    discovered = 0
    components = 0
    top = 0
    for root in range(n):
        if order[root] >= 0 or (check_alive and not alive[root]):
            continue
        order[root] = discovered
        low[root] = discovered
        discovered += 1
        stack[top] = root
        top += 1
        depth = 1
        call_node[0] = root
        call_slot[0] = start[root]
        while depth > 0:
            node = at(call_node[depth - 1])
            slot = call_slot[depth - 1]
            end = np.int64(start[node]) + np.int64(length[node])
            descended = False
            while slot < end:
                target = targets[slot]
                slot += 1
                if target < 0:
                    continue
                t = at(target)
                if check_alive and not alive[t]:
                    continue
                if order[t] < 0:  # a tree edge: descend
                    call_slot[depth - 1] = slot
                    order[t] = discovered
                    low[t] = discovered
                    discovered += 1
                    stack[top] = t
                    top += 1
                    call_node[depth] = t
                    call_slot[depth] = start[t]
                    depth += 1
                    descended = True
                    break
                if label[t] < 0 and order[t] < low[node]:
                    low[node] = order[t]
            if descended:
                continue
            depth -= 1
            if depth > 0:
                parent = at(call_node[depth - 1])
                if low[node] < low[parent]:
                    low[parent] = low[node]
            if low[node] == order[node]:
                while True:
                    top -= 1
                    member = stack[top]
                    label[member] = components
                    if member == node:
                        break
                components += 1
    return components


def strongly_connected_components(graph: GraphView) -> I64:
    """Label every node of ``graph`` with its strongly connected component.

    Afterwards the returned int64 array of ``graph.n`` values holds, for each live node, the
    index ``0 .. c-1`` of its component, numbered in completion order (a referenced component
    before its referrers); dead nodes are labelled -1 (the oracle's post-conditions,
    :func:`gclab.algorithms.scc.strongly_connected_components`).
    """
    graph = as_graph(graph)
    label = np.full(graph.n, -1, np.int64)
    alive = graph.alive if graph.alive is not None else np.ones(0, np.bool_)
    _tarjan(graph.start, graph.length, graph.targets, alive, graph.alive is not None, label)
    return label


def _check_labels(graph: GraphView, labels: object) -> I64:
    """``labels`` as int64 (``graph.n`` values, each -1 or more), or InvalidGraphError (the
    oracle's check: kernels never import an oracle)."""
    label = np.asarray(labels)
    if label.shape != (graph.n,) or label.dtype.kind not in "iu":
        raise InvalidGraphError(f"labels must be {graph.n} integers, not {label.dtype} of "
                                f"shape {label.shape}")
    label = label.astype(np.int64)
    if len(label) and int(label.min()) < -1:
        raise InvalidGraphError(f"labels must be -1 or more, not {int(label.min())}")
    return label


@jit
def _referenced(start, length, targets, alive, check_alive, label, referenced):
    """Mark in ``referenced`` every label an edge from another label enters (the oracle's
    loop)."""
    for node in range(len(label)):
        own = label[node]
        if own < 0 or (check_alive and not alive[node]):
            continue
        first = np.int64(start[node])
        for k in range(first, first + np.int64(length[node])):
            target = targets[k]
            if target < 0:
                continue
            t = at(target)
            if check_alive and not alive[t]:
                continue
            other = label[t]
            if other >= 0 and other != own:
                referenced[other] = True


def source_components(graph: GraphView, labels: object) -> npt.NDArray[np.bool_]:
    """Which components no other component references: true exactly for the labels that no
    edge from a node with another label enters (the oracle's post-conditions,
    :func:`gclab.algorithms.scc.source_components`)."""
    graph = as_graph(graph)
    label = _check_labels(graph, labels)
    referenced = np.zeros(int(label.max()) + 1 if len(label) else 0, np.bool_)
    alive = graph.alive if graph.alive is not None else np.ones(0, np.bool_)
    _referenced(graph.start, graph.length, graph.targets, alive, graph.alive is not None,
                label, referenced)
    return ~referenced


__all__ = ["source_components", "strongly_connected_components"]
