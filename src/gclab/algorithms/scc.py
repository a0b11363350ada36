"""Strongly connected components of a graph view: Tarjan's algorithm without recursion (the
readable oracle; the compiled twin is :func:`gclab.kernels.scc.strongly_connected_components`).

A *strongly connected component* (SCC) is a largest set of nodes each of which reaches every
other along edges; a node on no cycle is a component of its own. The garbage dry run groups
unreachable objects into components: a reference cycle is one component, and the components
no other component references (the *sources*) are what keeps the rest of the garbage alive.

Labels are numbered in the order Tarjan's search completes components: a component is
completed only after every component it reaches, so when component ``a`` references component
``b != a``, ``label(b) < label(a)`` (a reverse topological order). The search starts at nodes
in id order and follows each node's out-edges in slot order, so the labels are deterministic,
and the kernel's are the same.

>>> from gclab.graphview import GraphView
>>> g = GraphView.from_edges(5, [0, 1, 1, 2, 3], [1, 0, 2, 3, 2])  # 0 <-> 1 -> 2 <-> 3; 4
>>> strongly_connected_components(g).tolist()
[1, 1, 0, 0, 2]
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from ..errors import InvalidGraphError
from ..graphview import GraphView, as_graph

I64 = npt.NDArray[np.int64]


def strongly_connected_components(graph: GraphView) -> I64:
    """Label every node of ``graph`` with its strongly connected component.

    Afterwards the returned int64 array of ``graph.n`` values holds, for each live node, the
    index ``0 .. c-1`` of its component (two nodes share a label exactly when each reaches the
    other), numbered in completion order (a referenced component before its referrers); dead
    nodes are labelled -1. The graph is unchanged.
    """
    graph = as_graph(graph)
    n = graph.n
    label = np.full(n, -1, np.int64)
    order = np.full(n, -1, np.int64)  # discovery index (Tarjan's "index")
    low = np.zeros(n, np.int64)       # lowest discovery index reachable through the tree
    stack: list[int] = []             # visited nodes whose component is not complete yet
    counters = [0, 0]                 # [next discovery index, next component label]
    for root in range(n):
        if order[root] < 0 and graph.is_alive(root):
            _search(graph, root, order, low, label, stack, counters)
    return label


def _search(graph: GraphView, root: int, order: I64, low: I64, label: I64, stack: list[int],
            counters: list[int]) -> None:
    """Tarjan's depth-first search from ``root`` with an explicit call stack.

    Afterwards every node ``root`` reaches is discovered, and labelled when its component is
    complete (all of them are: the search returns when ``root``'s component is)."""

    def discover(node: int) -> tuple[int, Iterator[int]]:
        order[node] = low[node] = counters[0]
        counters[0] += 1
        stack.append(node)
        return node, iter(graph.out_edges(node).tolist())

    calls = [discover(root)]
    while calls:
        node, edges = calls[-1]
        target = next(edges, None)
        if target is not None:
            if order[target] < 0:                     # a tree edge: descend
                calls.append(discover(target))
            elif label[target] < 0:                   # on the stack: a back or cross edge
                low[node] = min(low[node], order[target])
            continue
        calls.pop()                                   # every edge of node is done
        if calls:
            parent = calls[-1][0]
            low[parent] = min(low[parent], low[node])
        if low[node] == order[node]:                  # node is its component's first node
            _complete(node, stack, label, counters)


def _complete(head: int, stack: list[int], label: I64, counters: list[int]) -> None:
    """Pop ``head``'s component off the stack. Afterwards its nodes carry the next label."""
    while True:
        member = stack.pop()
        label[member] = counters[1]
        if member == head:
            break
    counters[1] += 1


def source_components(graph: GraphView, labels: object) -> npt.NDArray[np.bool_]:
    """Which components no other component references: the sources of the condensation.

    ``labels`` is a labelling of ``graph``'s nodes (``0 .. c-1``, -1 for nodes left out, as
    :func:`strongly_connected_components` returns). Afterwards the returned bool array of
    ``c`` values is true exactly for the labels that no edge from a node with another label
    (-1 excluded) enters.

    >>> from gclab.graphview import GraphView
    >>> g = GraphView.from_edges(4, [0, 1, 1, 2, 3], [1, 0, 2, 3, 2])   # {0, 1} -> {2, 3}
    >>> source_components(g, strongly_connected_components(g)).tolist()
    [False, True]
    """
    graph = as_graph(graph)
    label = check_labels(graph, labels)
    count = int(label.max()) + 1 if len(label) else 0
    referenced = np.zeros(count, np.bool_)
    for node in range(graph.n):
        if label[node] < 0:
            continue
        for target in graph.out_edges(node).tolist():
            if label[target] >= 0 and label[target] != label[node]:
                referenced[label[target]] = True
    return ~referenced


def check_labels(graph: GraphView, labels: object) -> I64:
    """``labels`` as an int64 array of ``graph.n`` values, each -1 or more, or
    :class:`~gclab.errors.InvalidGraphError`."""
    label = np.asarray(labels)
    if label.shape != (graph.n,) or label.dtype.kind not in "iu":
        raise InvalidGraphError(f"labels must be {graph.n} integers, not {label.dtype} of "
                                f"shape {label.shape}")
    label = label.astype(np.int64)
    if len(label) and int(label.min()) < -1:
        raise InvalidGraphError(f"labels must be -1 or more, not {int(label.min())}")
    return label


__all__ = ["check_labels", "source_components", "strongly_connected_components"]
