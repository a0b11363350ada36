"""Dominator trees and retained sizes, compiled: the twin of :mod:`gclab.algorithms.dominators`.

The public functions have the oracle's names, signatures and post-conditions; each validates
its input and calls a compiled helper that works on flat arrays only. The semi-NCA steps are
the oracle's (depth-first numbering, predecessors, semidominators, nearest common ancestors),
with every per-node list an array indexed by preorder number, so the passes after the
depth-first search read memory in order:

* the search keeps its stack in two arrays (the node, the next slot to follow): no recursion,
  a chain of any length is fine;
* the predecessors are a CSR in preorder numbers (a counting pass, then a filling pass);
* ``evaluate`` compresses paths with an explicit stack, as the oracle does.

Memory: about 40 bytes a reachable node plus 4 a reference (10M nodes, 25M references: 0.5 GB).

>>> from gclab.graphview import GraphView
>>> g = GraphView.from_edges(5, [0, 1, 2, 0], [1, 2, 1, 3])   # 0 -> 1 <-> 2, 0 -> 3; 4 alone
>>> idom = immediate_dominators(g, [0])
>>> idom.tolist()
[5, 0, 1, 0, -1]
>>> order = dominator_order(idom)
>>> order.tolist()
[0, 1, 2, 3]
>>> retained_sizes(idom, order, [1, 10, 100, 1000, 5])[0].tolist()
[1111, 110, 100, 1000, 0]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._jit import at, jit
from ..errors import InvalidGraphError
from ..graphview import GraphView, as_graph

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

#: The number of a node not reached from the virtual root.
UNNUMBERED = -1


@jit
def _dfs_numbering(start, length, targets, alive, check_alive, roots, number, vertex, parent,
                   stack_node, stack_next):
    """Number the nodes the virtual root ``n`` reaches in preorder (``number``, ``vertex``,
    ``parent`` as in the oracle); return how many (the virtual root included).

    The virtual root's slots are ``roots``; a stack entry is a node and its next slot."""
    n = len(number) - 1
    number[n] = 0
    vertex[0] = n
    parent[0] = -1
    count = 1
    depth = 1
    stack_node[0] = n
    stack_next[0] = 0
    while depth > 0:
        node = stack_node[depth - 1]
        k = stack_next[depth - 1]
        if node == n:
            end = len(roots)
        else:
            k = max(k, np.int64(start[node]))
            end = np.int64(start[node]) + np.int64(length[node])
        found = -1
        while k < end:
            target = roots[k] if node == n else np.int64(targets[k])
            k += 1
            if target < 0 or number[at(target)] != -1:
                continue
            if check_alive and not alive[at(target)]:
                continue
            found = target
            break
        if found < 0:
            depth -= 1
            continue
        stack_next[depth - 1] = k
        number[at(found)] = count
        vertex[count] = found
        parent[count] = number[node]
        count += 1
        stack_node[depth] = found
        stack_next[depth] = 0
        depth += 1
    return count


@jit
def _predecessors(start, length, targets, alive, check_alive, roots, number, vertex, size,
                  pred_start, preds):
    """Fill the predecessor CSR in preorder numbers: ``preds[pred_start[i]:pred_start[i+1]]``
    are the numbers of the nodes with an edge to the node numbered ``i``. ``pred_start`` is
    zeros of ``size + 1`` on entry; ``preds`` is large enough (return: how many)."""
    n = len(number) - 1
    for i in range(size):  # count the in-edges of every numbered node
        node = vertex[i]
        if node == n:
            for k in range(len(roots)):
                pred_start[number[at(roots[k])] + 1] += 1
            continue
        first = np.int64(start[node])
        for k in range(first, first + np.int64(length[node])):
            target = np.int64(targets[k])
            if target < 0 or (check_alive and not alive[at(target)]):
                continue
            pred_start[number[at(target)] + 1] += 1
    for i in range(size):
        pred_start[i + 1] += pred_start[i]
    fill = pred_start[:size].copy()
    for i in range(size):
        node = vertex[i]
        if node == n:
            for k in range(len(roots)):
                w = number[at(roots[k])]
                preds[fill[w]] = i
                fill[w] += 1
            continue
        first = np.int64(start[node])
        for k in range(first, first + np.int64(length[node])):
            target = np.int64(targets[k])
            if target < 0 or (check_alive and not alive[at(target)]):
                continue
            w = number[at(target)]
            preds[fill[w]] = i
            fill[w] += 1
    return pred_start[size]


@jit
def _semi_nca(parent, pred_start, preds, size, idom):
    """Semidominators in reverse preorder (link-eval with path compression), then immediate
    dominators in preorder (climb from the parent while above the semidominator): the
    oracle's steps 3 and 4, in preorder numbers. Writes ``idom`` (numbers)."""
    semi = np.arange(size).astype(np.int32)
    label = np.arange(size).astype(np.int32)
    ancestor = np.full(size, -1, np.int32)
    path = np.empty(size, np.int32)
    for w in range(size - 1, 0, -1):
        best = semi[w]
        for k in range(pred_start[w], pred_start[w + 1]):
            v = preds[k]
            if ancestor[v] != -1:  # evaluate(v): compress the path, then read its label
                depth = 0
                x = v
                while ancestor[ancestor[x]] != -1:
                    path[depth] = x
                    depth += 1
                    x = ancestor[x]
                for j in range(depth - 1, -1, -1):
                    y = path[j]
                    a = ancestor[y]
                    if semi[label[a]] < semi[label[y]]:
                        label[y] = label[a]
                    ancestor[y] = ancestor[a]
                v = label[v]
            if semi[v] < best:
                best = semi[v]
        semi[w] = best
        ancestor[w] = parent[w]
    idom[0] = -1
    for w in range(1, size):
        d = parent[w]
        while d > semi[w]:
            d = idom[d]
        idom[w] = d


@jit
def _idom_of_nodes(vertex, idom_number, size, idom):
    """``idom[vertex[i]] = vertex[idom_number[i]]`` for the numbered nodes but the root."""
    for i in range(1, size):
        idom[vertex[i]] = vertex[idom_number[i]]


def immediate_dominators(graph: GraphView, roots: object) -> I64:
    """The immediate dominator of every node of ``graph`` below the virtual root ``graph.n``,
    whose children are ``roots`` (an int or 1-D ints: live nodes; repeats allowed).

    Afterwards the returned int64 array of ``graph.n`` values holds, for each node, its
    immediate dominator (a node id, or ``graph.n`` for the virtual root), and ``-1`` for the
    nodes no root reaches. Invalid roots raise :class:`~gclab.errors.InvalidRootError`.
    """
    graph = as_graph(graph)
    roots_a = graph.check_roots(roots)
    n = graph.n
    alive = graph.alive if graph.alive is not None else np.ones(0, np.bool_)
    check_alive = graph.alive is not None
    number = np.full(n + 1, UNNUMBERED, np.int32)
    vertex = np.empty(n + 1, np.int32)
    parent = np.empty(n + 1, np.int32)
    stack_node = np.empty(n + 1, np.int32)
    stack_next = np.empty(n + 1, np.int64)
    size = _dfs_numbering(graph.start, graph.length, graph.targets, alive, check_alive,
                          roots_a, number, vertex, parent, stack_node, stack_next)
    del stack_node, stack_next
    pred_start = np.zeros(size + 1, np.int64)
    preds = np.empty(int(graph.length.sum()) + len(roots_a), np.int32)
    _predecessors(graph.start, graph.length, graph.targets, alive, check_alive, roots_a,
                  number, vertex, size, pred_start, preds)
    del number
    idom_number = np.empty(size, np.int32)
    _semi_nca(parent, pred_start, preds, size, idom_number)
    del preds, pred_start
    idom = np.full(n, -1, np.int64)
    _idom_of_nodes(vertex, idom_number, size, idom)
    return idom


@jit
def _children(idom, child_start, children):
    """The dominator tree's children CSR by a counting sort: the children of ``v`` (``n``
    the virtual root) are ``children[child_start[v]:child_start[v + 1]]``, in increasing node
    id. ``child_start`` is zeros of ``n + 2`` on entry; return how many nodes are in the tree."""
    n = len(idom)
    for v in range(n):
        if idom[v] >= 0:
            child_start[idom[v] + 1] += 1
    for v in range(n + 1):
        child_start[v + 1] += child_start[v]
    fill = child_start[: n + 1].copy()
    for v in range(n):
        p = idom[v]
        if p >= 0:
            children[fill[p]] = v
            fill[p] += 1
    return child_start[n + 1]


@jit
def _dominator_order(idom, child_start, children, order):
    """Write the tree's preorder into ``order`` (children CSR given); return its length."""
    n = len(idom)
    stack = np.empty(len(children) + 1, np.int64)
    top = 0
    for k in range(child_start[n + 1] - 1, child_start[n] - 1, -1):
        stack[top] = children[k]
        top += 1
    count = 0
    while top > 0:
        top -= 1
        v = stack[top]
        order[count] = v
        count += 1
        for k in range(child_start[v + 1] - 1, child_start[v] - 1, -1):
            stack[top] = children[k]
            top += 1
    return count


def dominator_order(idom: object) -> I64:
    """The nodes of the dominator tree ``idom`` (as :func:`immediate_dominators` returns it)
    in preorder, without the virtual root: each node before its children, children in
    increasing node id, each subtree contiguous. Unreached nodes (``-1``) are not listed.

    :class:`~gclab.errors.InvalidGraphError` when ``idom`` is not a tree below ``n`` (a
    dominator cycle leaves nodes unlisted)."""
    idom_a = check_idom(idom)
    n = len(idom_a)
    child_start = np.zeros(n + 2, np.int64)
    children = np.empty(n, np.int64)
    reached = _children(idom_a, child_start, children)
    children = children[:reached]
    order = np.empty(reached, np.int64)
    count = _dominator_order(idom_a, child_start, children, order)
    if count != reached:
        raise InvalidGraphError("idom is not a tree below the virtual root: a cycle of "
                                "immediate dominators")
    return order


@jit
def _retained_sizes(idom, order, size, retained, count):
    """Sizes up the tree: walking ``order`` backwards, each node adds to its dominator."""
    n = len(idom)
    for k in range(len(order)):
        v = order[k]
        retained[v] = size[v]
        count[v] = 1
    for k in range(len(order) - 1, -1, -1):
        v = order[k]
        p = idom[v]
        if p != n:
            retained[p] += retained[v]
            count[p] += count[v]


def retained_sizes(idom: object, order: object, size: object) -> tuple[I64, I64]:
    """``(retained, count)`` per node: the sum of ``size`` and the number of nodes over each
    node's dominator subtree (itself included); 0 for nodes not in ``order``.

    ``order`` must list the tree in preorder (:func:`dominator_order`): walking it backwards,
    every node comes after its descendants and adds its total to its immediate dominator."""
    idom_a = check_idom(idom)
    n = len(idom_a)
    order_a, size_a = _int64("order", order), _int64("size", size)
    if len(size_a) != n:
        raise InvalidGraphError(f"size has {len(size_a)} values, idom {n}")
    if len(order_a) and (int(order_a.min()) < 0 or int(order_a.max()) >= n):
        raise InvalidGraphError(f"order holds values outside 0 .. {n - 1}")
    retained = np.zeros(n, np.int64)
    count = np.zeros(n, np.int64)
    _retained_sizes(idom_a, order_a, size_a, retained, count)
    return retained, count


@jit
def _type_retained(order, count, type_index, retained, out):
    """The oracle's walk: open subtrees on a stack (end position, type), open counts by type;
    a node counts when no open subtree has its type."""
    open_of_type = np.zeros(len(out), np.int64)
    stack_end = np.empty(len(order), np.int64)
    stack_type = np.empty(len(order), np.int64)
    top = 0
    for k in range(len(order)):
        while top > 0 and stack_end[top - 1] <= k:
            top -= 1
            open_of_type[stack_type[top]] -= 1
        v = order[k]
        t = type_index[v]
        if open_of_type[t] == 0:
            out[t] += retained[v]
        open_of_type[t] += 1
        stack_end[top] = k + count[v]
        stack_type[top] = t
        top += 1


def type_retained(order: object, count: object, type_index: object, retained: object,
                  n_types: int) -> I64:
    """Retained bytes by type, without double counting (MAT's "minimum retained size" of a
    class).

    A node's retained size counts for its type only when no node above it on its dominator
    chain has the same type; ``order`` is the tree's preorder and ``count`` its subtree
    sizes (see the oracle, :func:`gclab.algorithms.dominators.type_retained`)."""
    order_a, count_a = _int64("order", order), _int64("count", count)
    types_a, retained_a = _int64("type_index", type_index), _int64("retained", retained)
    if len(types_a) and (int(types_a.min()) < 0 or int(types_a.max()) >= n_types):
        raise InvalidGraphError(f"type_index holds values outside 0 .. {n_types - 1}")
    out = np.zeros(n_types, np.int64)
    _type_retained(order_a, count_a, types_a, retained_a, out)
    return out


def check_idom(idom: object) -> I64:
    """``idom`` as an int64 array of ``n`` values in ``-1 .. n`` (InvalidGraphError else)."""
    array = _int64("idom", idom)
    n = len(array)
    if n and (int(array.min()) < -1 or int(array.max()) > n):
        raise InvalidGraphError(f"idom holds values outside -1 .. {n}")
    return array


def _int64(name: str, value: object) -> I64:
    """``value`` as a 1-D int64 array (InvalidGraphError for anything else)."""
    array = np.asarray(value)
    if array.size == 0 and not isinstance(value, np.ndarray):
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu" or array.ndim != 1:
        raise InvalidGraphError(f"{name} must be a 1-D integer array, not {array.dtype} of "
                                f"shape {array.shape}")
    return array.astype(np.int64, copy=False)


__all__ = ["UNNUMBERED", "dominator_order", "immediate_dominators", "retained_sizes",
           "type_retained"]
