"""The dominator tree and retained sizes of a snapshot (``docs/design/snapshots.md``).

Object ``d`` *dominates* ``v`` when every chain of strong references from a named root to
``v`` passes through ``d``: freeing ``d`` (dropping the references to it) would free ``v``.
The roots hang below a virtual root, node id ``n``, so every reachable object has one
immediate dominator and the relation is a tree. An object's **retained size** is the sum of
the shallow sizes over its subtree: the bytes freed if it were freed (Eclipse MAT's "retained
heap"). Weak references are not edges: they keep nothing alive.

:func:`dominator_tree` runs the compiled semi-NCA kernel (:mod:`gclab.kernels.dominators`,
whose readable twin is :mod:`gclab.algorithms.dominators`) on ``snap.graph()``.

>>> from gclab.snapshots.model import RootKind, Snapshot
>>> snap = Snapshot.from_edges(
...     types=["builtins.module", "builtins.dict", "builtins.list"], type_index=[0, 1, 2, 2],
...     size=[72, 232, 56, 88], edges=[(0, 1), (1, 2), (1, 3), (2, 3)],
...     roots=[(0, RootKind.MODULE, "sys.modules['app']")])
>>> tree = dominator_tree(snap)
>>> tree.idom.tolist(), tree.retained.tolist()       # 4 is the virtual root
([4, 0, 1, 1], [448, 376, 56, 88])
>>> tree.order.tolist(), tree.children(1).tolist()   # children: biggest retained first
([0, 1, 2, 3], [3, 2])
>>> tree.subtree(1).tolist(), tree.chain(3)
([1, 2, 3], [3, 1, 0])
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import SnapshotError
from ..kernels import dominators as kernel
from .model import Snapshot

I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class DominatorTree:
    """A snapshot's dominator tree (``n`` nodes below the virtual root ``n``).

    * ``idom``: int64 per node: the immediate dominator, ``n`` for the virtual root, -1 when
      no root reaches the node;
    * ``retained``: int64 per node: the bytes freed if the node were freed (the sum of
      ``size`` over its subtree); 0 when unreachable;
    * ``order``: the reachable nodes in a preorder of the tree (each node before its
      children, every subtree contiguous: ``subtree(v)``), without the virtual root;
    * ``reachable``: bool per node: some root reaches it along strong references.

    Arrays are read-only. Methods answer questions about the tree; ``n`` may be passed as a
    node to mean the virtual root where it says so.
    """

    idom: I64
    retained: I64
    order: I64
    reachable: Bools
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n(self) -> int:
        """The number of nodes (and the virtual root's id)."""
        return len(self.idom)

    @property
    def total(self) -> int:
        """The bytes of every reachable node: the virtual root's retained size."""
        return int(self.retained[self.top_level_nodes()].sum())

    @property
    def retained_count(self) -> I64:
        """int64 per node: the number of nodes in its subtree (itself included); 0 when
        unreachable."""
        if "count" not in self._cache:
            self._cache["count"] = kernel.retained_sizes(self.idom, self.order,
                                                         np.ones(self.n, np.int64))[1]
        return self._cache["count"]

    @property
    def position(self) -> I64:
        """int64 per node: its index in ``order``; -1 when unreachable."""
        if "position" not in self._cache:
            position = np.full(self.n, -1, np.int64)
            position[self.order] = np.arange(len(self.order))
            self._cache["position"] = position
        return self._cache["position"]

    def _check(self, node: object, virtual: bool) -> int:
        """``node`` as a node id (the virtual root ``n`` too when ``virtual``)."""
        try:
            index = operator.index(node)  # type: ignore[arg-type]
        except TypeError:
            raise SnapshotError(f"a node is an integer, not {node!r}") from None
        high = self.n if virtual else self.n - 1
        if isinstance(node, bool) or not 0 <= index <= high:
            raise SnapshotError(f"{node!r} is not a node of 0 .. {high}")
        return index

    def children(self, node: int) -> I64:
        """The nodes ``node`` (or the virtual root ``n``) immediately dominates, biggest
        retained size first (ties: lower node id first)."""
        node = self._check(node, virtual=True)
        if "children" not in self._cache:
            reached = np.flatnonzero(self.idom >= 0)
            by_parent = reached[np.argsort(self.idom[reached], kind="stable")]
            starts = np.zeros(self.n + 2, np.int64)
            np.cumsum(np.bincount(self.idom[reached], minlength=self.n + 1), out=starts[1:])
            self._cache["children"] = (starts, by_parent)
        starts, by_parent = self._cache["children"]
        kids = by_parent[starts[node]:starts[node + 1]]
        return kids[np.lexsort((kids, -self.retained[kids]))]

    def top_level_nodes(self) -> I64:
        """The children of the virtual root, in node order (unsorted: cheap)."""
        return np.flatnonzero(self.idom == self.n)

    def subtree(self, node: int) -> I64:
        """The nodes ``node`` dominates, itself first, in preorder (empty when unreachable)."""
        node = self._check(node, virtual=False)
        if not self.reachable[node]:
            return np.zeros(0, np.int64)
        first = int(self.position[node])
        return self.order[first:first + int(self.retained_count[node])]

    def chain(self, node: int) -> list[int]:
        """``node`` and its dominators up to, not including, the virtual root (empty when
        unreachable); the last is the top-level dominator."""
        node = self._check(node, virtual=False)
        out: list[int] = []
        if not self.reachable[node]:
            return out
        while node != self.n:
            out.append(node)
            node = int(self.idom[node])
        return out


def dominator_tree(snap: Snapshot) -> DominatorTree:
    """The dominator tree and retained sizes of ``snap`` over its strong references, the
    virtual root ``snap.n`` over every named root's node.

    Afterwards ``idom``, ``retained``, ``order`` and ``reachable`` hold as
    :class:`DominatorTree` says; sizes below 0 (unknown) count as 0. A ``snap`` that is not
    a :class:`~gclab.snapshots.model.Snapshot` raises :class:`~gclab.errors.SnapshotError`.
    """
    if not isinstance(snap, Snapshot):
        raise SnapshotError(f"dominator_tree needs a Snapshot, not {type(snap).__name__}")
    idom = kernel.immediate_dominators(snap.graph(), snap.root_node)
    order = kernel.dominator_order(idom)
    retained, count = kernel.retained_sizes(idom, order, np.maximum(snap.size, 0))
    tree = DominatorTree(_readonly(idom), _readonly(retained), _readonly(order),
                         _readonly(idom >= 0))
    tree._cache["count"] = _readonly(count)
    return tree


def _readonly(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``array`` made read-only (it is ours: no copy)."""
    array.setflags(write=False)
    return array


__all__ = ["DominatorTree", "dominator_tree"]
