"""Transitive closure from roots on a graph view: ``mark_from``, the mark phase of every
tracing collector and of the analyses of captured heaps (the readable oracle).

The tri-colour vocabulary: a *white* node is not known to be reachable yet; a *gray* node is
known to be reachable and waits on the gray stack for its out-edges to be scanned; a *black*
node is reachable and scanned. Marking starts with the roots gray and ends when the gray stack
is empty; then every node is white or black, and black is exactly the set reachable from a
root. The compiled twin with the same name and signature is
:func:`gclab.kernels.closure.mark_from`.

>>> from gclab.graphview import GraphView
>>> g = GraphView.from_edges(5, [0, 1, 2, 3], [1, 2, 0, 4])   # a ring 0-1-2 and 3 -> 4
>>> mark_from(g, [1]).tolist()
[1, 1, 1, 0, 0]
>>> mark_from(g, [3, 3]).tolist()
[0, 0, 0, 1, 1]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..graphview import BLACK, GRAY, WHITE, GraphView, as_graph

U8 = npt.NDArray[np.uint8]


def mark_from(graph: GraphView, roots: object) -> U8:
    """Mark every node reachable from ``roots`` (an int or 1-D ints: live nodes of ``graph``).

    Afterwards the returned ``uint8`` array of ``graph.n`` values holds 1 (black) exactly at
    the nodes some root reaches along edges (the roots included) and 0 (white) everywhere
    else; dead nodes are 0. Invalid roots raise :class:`~gclab.errors.InvalidRootError` before
    anything is marked.
    """
    graph = as_graph(graph)
    roots_a = graph.check_roots(roots)
    colour = np.zeros(graph.n, np.uint8)  # every node starts white
    gray: list[int] = []
    for root in roots_a.tolist():
        shade(colour, gray, root)
    while gray:
        node = gray.pop()
        colour[node] = BLACK  # scanned now: every node it refers to becomes at least gray
        for target in graph.out_edges(node).tolist():
            shade(colour, gray, target)
    return colour


def shade(colour: U8, gray: list[int], node: int) -> None:
    """A white ``node`` turns gray and goes on the gray stack; gray and black stay as they are.

    Afterwards ``node`` is gray or black, and on the stack if it is gray."""
    if colour[node] == WHITE:
        colour[node] = GRAY
        gray.append(node)


__all__ = ["mark_from", "shade"]
