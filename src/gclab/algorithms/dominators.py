"""Dominator trees and retained sizes on a graph view: the readable oracle.

A node ``d`` *dominates* ``v`` when every path from the roots to ``v`` passes through ``d``;
the *immediate dominator* ``idom(v)`` is the dominator of ``v`` closest to it. The roots hang
below one *virtual root*, node id ``n`` (one past the last node), so every reachable node has
exactly one immediate dominator and the relation is a tree: the **dominator tree**. Freeing a
node frees exactly its dominator subtree, so a node's **retained size** is the sum of the
shallow sizes over its subtree (Eclipse MAT's "retained heap").

The algorithm is semi-NCA (Georgiadis's variant of Lengauer–Tarjan; LLVM builds its dominator
trees the same way), in four steps, each a function here:

1. :func:`dfs_numbering`: number the nodes reachable from the virtual root in depth-first
   preorder (an explicit stack: no recursion, so a chain of 10M nodes is fine) and record each
   node's parent in the depth-first spanning tree;
2. :func:`predecessors`: the reverse edges, in preorder numbers;
3. :func:`semidominators`: in reverse preorder, ``semi(w)`` is the smallest number from which
   a path reaches ``w`` through nodes numbered above ``w`` only; a link-eval forest with path
   compression finds it;
4. :func:`nca_idoms`: in preorder, ``idom(w)`` is the nearest common ancestor of ``parent(w)``
   and ``semi(w)`` in the dominator tree built so far: climb from ``parent(w)`` while above
   ``semi(w)``.

Then :func:`dominator_order` lists the tree in preorder, :func:`retained_sizes` adds the sizes
up from the leaves, and :func:`type_retained` sums the retained size by type without counting
a node twice (see there). The compiled twins with the same names and signatures are in
:mod:`gclab.kernels.dominators`.

>>> from gclab.graphview import GraphView
>>> g = GraphView.from_edges(4, [0, 0, 1, 2], [1, 2, 3, 3])   # a diamond 0 -> 1, 2 -> 3
>>> idom = immediate_dominators(g, [0])
>>> idom.tolist()                                             # 4 is the virtual root
[4, 0, 0, 0]
>>> order = dominator_order(idom)
>>> order.tolist()
[0, 1, 2, 3]
>>> retained, count = retained_sizes(idom, order, [10, 1, 2, 100])
>>> retained.tolist(), count.tolist()
([113, 1, 2, 100], [4, 1, 1, 1])
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..errors import InvalidGraphError
from ..graphview import GraphView, as_graph

I64 = npt.NDArray[np.int64]

#: The number of a node not reached from the virtual root.
UNNUMBERED = -1


# -- step 1: depth-first numbering ----------------------------------------------------------------


def out_edges_of(graph: GraphView, roots: I64, node: int) -> list[int]:
    """The out-edges of ``node``; the virtual root ``graph.n``'s out-edges are the roots."""
    return roots.tolist() if node == graph.n else graph.out_edges(node).tolist()


def dfs_numbering(graph: GraphView, roots: I64) -> tuple[list[int], list[int], list[int]]:
    """Depth-first search from the virtual root ``graph.n``, whose out-edges are ``roots``.

    Returns ``(vertex, parent, number)``: ``vertex[i]`` is the node numbered ``i`` in
    preorder (``vertex[0] == graph.n``), ``parent[i]`` the number of its parent in the
    depth-first spanning tree (``-1`` for the virtual root) and ``number[v]`` the number of
    node ``v`` (:data:`UNNUMBERED` when no root reaches it; ``number[graph.n] == 0``).
    A node's out-edges are followed in slot order; the search keeps its own stack.
    """
    n = graph.n
    number = [UNNUMBERED] * (n + 1)
    vertex, parent = [n], [-1]
    number[n] = 0
    stack = [(n, out_edges_of(graph, roots, n), 0)]
    while stack:
        node, edges, k = stack[-1]
        while k < len(edges) and number[edges[k]] != UNNUMBERED:
            k += 1  # skip the targets already numbered
        if k == len(edges):
            stack.pop()  # every out-edge followed: the node is finished
            continue
        stack[-1] = (node, edges, k + 1)
        target = edges[k]
        number[target] = len(vertex)
        vertex.append(target)
        parent.append(number[node])
        stack.append((target, out_edges_of(graph, roots, target), 0))
    return vertex, parent, number


# -- step 2: predecessors ------------------------------------------------------------------------


def predecessors(graph: GraphView, roots: I64, vertex: list[int],
                 number: list[int]) -> list[list[int]]:
    """``preds[i]``: the numbers of the nodes with an edge to the node numbered ``i`` (one
    entry per edge; the virtual root, number 0, precedes every root)."""
    preds: list[list[int]] = [[] for _ in vertex]
    for i, node in enumerate(vertex):
        for target in out_edges_of(graph, roots, node):
            preds[number[target]].append(i)  # a numbered node's targets are numbered too
    return preds


# -- step 3: semidominators ----------------------------------------------------------------------


def semidominators(parent: list[int], preds: list[list[int]]) -> list[int]:
    """The semidominator number of every numbered node (``semi[0] == 0``).

    ``semi(w)`` is the smallest number ``u`` from which some path reaches ``w`` through nodes
    numbered above ``w``: over the predecessors ``v`` of ``w``, the least of ``v`` itself (when
    ``v < w``) and of ``semi`` on the processed forest path above ``v`` (when ``v > w``).
    Nodes are processed in reverse preorder; after ``w`` it is linked below its parent.
    """
    size = len(parent)
    semi = list(range(size))
    label = list(range(size))
    ancestor = [-1] * size  # the link-eval forest: -1 is a tree root (not linked yet)

    def evaluate(v: int) -> int:
        """The node of least ``semi`` on the forest path from ``v`` up to, not including,
        its tree root (``v`` itself when ``v`` is a root); compresses the path."""
        if ancestor[v] == -1:
            return v
        path = []
        while ancestor[ancestor[v]] != -1:  # climb to just below the tree root
            path.append(v)
            v = ancestor[v]
        for x in reversed(path):  # top-down: each ancestor is already compressed
            a = ancestor[x]
            if semi[label[a]] < semi[label[x]]:
                label[x] = label[a]
            ancestor[x] = ancestor[a]
        return label[path[0]] if path else label[v]

    for w in range(size - 1, 0, -1):
        for v in preds[w]:
            semi[w] = min(semi[w], semi[evaluate(v)])
        ancestor[w] = parent[w]  # link w below its parent
    return semi


# -- step 4: immediate dominators -----------------------------------------------------------------


def nca_idoms(parent: list[int], semi: list[int]) -> list[int]:
    """The immediate dominator number of every numbered node (``-1`` for the virtual root).

    In preorder, ``idom(w)`` starts at ``parent(w)`` and climbs the dominator tree (already
    final for smaller numbers) while it is numbered above ``semi(w)``."""
    idom = list(parent)
    for w in range(1, len(parent)):
        while idom[w] > semi[w]:
            idom[w] = idom[idom[w]]
    return idom


def immediate_dominators(graph: GraphView, roots: object) -> I64:
    """The immediate dominator of every node of ``graph`` below the virtual root ``graph.n``,
    whose children are ``roots`` (an int or 1-D ints: live nodes; repeats allowed).

    Afterwards the returned int64 array of ``graph.n`` values holds, for each node, its
    immediate dominator (a node id, or ``graph.n`` for the virtual root), and ``-1`` for the
    nodes no root reaches. Invalid roots raise :class:`~gclab.errors.InvalidRootError`.
    """
    graph = as_graph(graph)
    roots_a = graph.check_roots(roots)
    vertex, parent, number = dfs_numbering(graph, roots_a)
    preds = predecessors(graph, roots_a, vertex, number)
    idom_number = nca_idoms(parent, semidominators(parent, preds))
    idom = np.full(graph.n, -1, np.int64)
    for i in range(1, len(vertex)):
        idom[vertex[i]] = vertex[idom_number[i]]
    return idom


# -- the tree in preorder, retained sizes ---------------------------------------------------------


def check_idom(idom: object) -> I64:
    """``idom`` as an int64 array of ``n`` values in ``-1 .. n`` (InvalidGraphError else)."""
    array = np.asarray(idom)
    if array.dtype.kind not in "iu" or array.ndim != 1:
        raise InvalidGraphError(f"idom must be a 1-D integer array, not {array.dtype} of "
                                f"shape {array.shape}")
    array = array.astype(np.int64)
    n = len(array)
    if n and (int(array.min()) < -1 or int(array.max()) > n):
        raise InvalidGraphError(f"idom holds values outside -1 .. {n}")
    return array


def dominator_order(idom: object) -> I64:
    """The nodes of the dominator tree ``idom`` (as :func:`immediate_dominators` returns it)
    in preorder, without the virtual root: each node before its children, children in
    increasing node id, each subtree contiguous. Unreached nodes (``-1``) are not listed.

    :class:`~gclab.errors.InvalidGraphError` when ``idom`` is not a tree below ``n`` (a
    dominator cycle leaves nodes unlisted)."""
    idom_a = check_idom(idom)
    n = len(idom_a)
    children: list[list[int]] = [[] for _ in range(n + 1)]
    for v in range(n):
        if idom_a[v] >= 0:
            children[int(idom_a[v])].append(v)
    order: list[int] = []
    stack = list(reversed(children[n]))
    while stack:
        v = stack.pop()
        order.append(v)
        stack.extend(reversed(children[v]))
    if len(order) != int(np.count_nonzero(idom_a >= 0)):
        raise InvalidGraphError("idom is not a tree below the virtual root: a cycle of "
                                "immediate dominators")
    return np.array(order, np.int64)


def retained_sizes(idom: object, order: object, size: object) -> tuple[I64, I64]:
    """``(retained, count)`` per node: the sum of ``size`` and the number of nodes over each
    node's dominator subtree (itself included); 0 for nodes not in ``order``.

    ``order`` must list the tree in preorder (:func:`dominator_order`): walking it backwards,
    every node comes after its descendants and adds its total to its immediate dominator."""
    idom_a, order_a, size_a = _tree_arrays(idom, order, size, "size")
    n = len(idom_a)
    retained = np.zeros(n, np.int64)
    count = np.zeros(n, np.int64)
    for v in order_a.tolist():
        retained[v] = size_a[v]
        count[v] = 1
    for v in reversed(order_a.tolist()):
        parent = int(idom_a[v])
        if parent != n:
            retained[parent] += retained[v]
            count[parent] += count[v]
    return retained, count


def type_retained(order: object, count: object, type_index: object, retained: object,
                  n_types: int) -> I64:
    """Retained bytes by type, without double counting (MAT's "minimum retained size" of a
    class).

    A node's retained size counts for its type only when no node above it on its dominator
    chain has the same type: a list inside a list adds nothing to ``list`` beyond its
    outermost list, whose retained size already holds it. So each type's total is the size
    of the union of its instances' retained sets, and no total exceeds the heap.

    ``order`` is the preorder of the tree and ``count`` its subtree sizes
    (:func:`retained_sizes`): the subtree of ``order[k]`` is ``order[k : k + count]``. The
    walk keeps the open subtrees on a stack and how many of each type are open.
    """
    order_a, count_a = _int64("order", order), _int64("count", count)
    types_a, retained_a = _int64("type_index", type_index), _int64("retained", retained)
    if len(types_a) and (int(types_a.min()) < 0 or int(types_a.max()) >= n_types):
        raise InvalidGraphError(f"type_index holds values outside 0 .. {n_types - 1}")
    out = np.zeros(n_types, np.int64)
    open_of_type = [0] * n_types
    stack: list[tuple[int, int]] = []  # (end position of an open subtree, its type)
    for k, v in enumerate(order_a.tolist()):
        while stack and stack[-1][0] <= k:
            open_of_type[stack.pop()[1]] -= 1
        t = int(types_a[v])
        if open_of_type[t] == 0:
            out[t] += retained_a[v]
        open_of_type[t] += 1
        stack.append((k + int(count_a[v]), t))
    return out


def _int64(name: str, value: object) -> I64:
    """``value`` as a 1-D int64 array (InvalidGraphError for anything else)."""
    array = np.asarray(value)
    if array.size == 0 and not isinstance(value, np.ndarray):
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu" or array.ndim != 1:
        raise InvalidGraphError(f"{name} must be a 1-D integer array, not {array.dtype} of "
                                f"shape {array.shape}")
    return array.astype(np.int64)


def _tree_arrays(idom: object, order: object, values: object,
                 name: str) -> tuple[I64, I64, I64]:
    """``idom``, ``order`` and a per-node column, checked against each other."""
    idom_a = check_idom(idom)
    order_a, values_a = _int64("order", order), _int64(name, values)
    n = len(idom_a)
    if len(values_a) != n:
        raise InvalidGraphError(f"{name} has {len(values_a)} values, idom {n}")
    if len(order_a) and (int(order_a.min()) < 0 or int(order_a.max()) >= n):
        raise InvalidGraphError(f"order holds values outside 0 .. {n - 1}")
    return idom_a, order_a, values_a


__all__ = ["UNNUMBERED", "dfs_numbering", "dominator_order", "immediate_dominators",
           "nca_idoms", "predecessors", "retained_sizes", "semidominators", "type_retained"]
