"""Leak suspects by Eclipse MAT's rules, and growth across snapshots.

**Suspects** (:func:`suspects`, MAT's "Leak Suspects" report, its ``find_leaks`` query):

* the *top-level dominators* are the children of the virtual root in the dominator tree
  (:mod:`gclab.snapshots.dominators`): the objects that nothing else keeps alive alone;
* a single object is a suspect when its retained size is at least ``share`` (10 %) of the
  heap (the bytes reachable from the roots);
* a type is a suspect when its top-level instances *together* retain at least ``share`` of
  the heap (many small objects of one type, held from several places), unless an object of
  that type is already a suspect on its own;
* the **accumulation point** of a single suspect: walk down the dominator tree from it,
  always into the child with the biggest retained size, while that child retains at least
  0.7 of its parent (``BIG_DROP``); the node whose biggest child drops below 0.7 of it (or
  that has no child) is where the memory accumulates, usually a collection: the cache
  dict, not the module that owns it. For a type suspect: the shortest retainer paths of its
  instances are followed from the roots while more than 80 % of the instances share the
  next node and the retained bytes below it do not drop below 0.7; the last shared node is
  the accumulation point (-1 when the instances share no node: each is a root);
* each suspect has a retainer path from a root to its accumulation point (shortest, weak
  references skipped) and the types it retains most (the histogram of its subtree).

**Growth** (:func:`growth`): across two or more snapshots of one process (ordered by their
``meta["time"]``), the types whose instance count or shallow bytes grow at every step, and
the accumulation points (matched by address and type) whose retained size grows at every
step; ranked by how much they grew.

>>> from gclab.snapshots.model import RootKind, Snapshot
>>> snap = Snapshot.from_edges(     # a module -> its dict -> a cache dict -> 8 sessions
...     types=["builtins.module", "builtins.dict", "app.Session"],
...     type_index=[0, 1, 1] + [2] * 8, size=[72, 1000, 600] + [500] * 8,
...     edges=[(0, 1), (1, 2)] + [(2, 3 + k, 0, f"['s{k}']") for k in range(8)],
...     roots=[(0, RootKind.MODULE, "sys.modules['app']")])
>>> [(s.node, s.accumulation, round(s.share, 2)) for s in suspects(snap)]
[(0, 2, 1.0)]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from .._jit import jit
from ..errors import SnapshotError
from ..kernels.dominators import type_retained
from .dominators import DominatorTree
from .histogram import TypeRow
from .model import STRONG, Snapshot

I64 = npt.NDArray[np.int64]

#: A child retaining less than this share of its parent ends the walk (MAT's big drop ratio).
BIG_DROP = 0.7
#: A type suspect's common path goes on while more than this share of its instances share it.
COMMON_PATH = 0.8
#: The longest walk down the dominator tree (as MAT's).
MAX_DEPTH = 1000
#: How many types a suspect lists in ``top_types``.
TOP_TYPES = 5
#: How many of the last snapshot's biggest top-level dominators :func:`growth` follows.
GROWTH_CANDIDATES = 50


@dataclass(frozen=True)
class RetainerPath:
    """A chain of strong references from a root to a node (``docs/design/snapshots.md``):
    ``root`` indexes the snapshot's roots, ``nodes`` runs from the root's node to the
    target, ``names[k]`` names the reference from ``nodes[k]`` to ``nodes[k + 1]``."""

    root: int
    nodes: I64
    names: list[str | None]


@dataclass(frozen=True)
class Suspect:
    """One leak suspect.

    ``node``: the suspect object (for a type suspect, its biggest top-level instance);
    ``retained``: the bytes it (or the type's top-level instances) retains; ``share``:
    ``retained`` over the heap's reachable bytes; ``accumulation``: the accumulation point
    (-1 when none); ``path``: the shortest retainer path from a root to the accumulation
    point (to ``node`` when there is none); ``top_types``: the types it retains most, by
    retained bytes. ``kind`` is ``"object"`` or ``"type"``; ``type`` the suspect's type;
    ``count`` how many objects the suspect is (1 for an object).
    """

    node: int
    retained: int
    share: float
    accumulation: int
    path: RetainerPath | None
    top_types: list[TypeRow]
    kind: str = "object"
    type: str = ""
    count: int = 1


@dataclass(frozen=True)
class Growth:
    """Something that grew at every step across snapshots: ``kind`` ``"type"`` (``key`` a
    type name; ``counts``, ``sizes``: its instances and shallow bytes per snapshot) or
    ``"accumulation"`` (``key`` "type at 0xaddress"; ``counts``, ``sizes``: the objects and
    bytes it retained per snapshot). ``node`` is its node in the last snapshot (-1 for a
    type)."""

    kind: str
    key: str
    counts: list[int]
    sizes: list[int]
    node: int = -1

    @property
    def grown(self) -> int:
        """Bytes gained from the first snapshot to the last."""
        return self.sizes[-1] - self.sizes[0]


# -- suspects -------------------------------------------------------------------------------------


def suspects(snap: Snapshot, *, share: float = 0.10) -> list[Suspect]:
    """The leak suspects of ``snap`` by MAT's rules (see the module docstring): single
    objects first, biggest first, then types. ``share`` is the threshold (0 < share <= 1).

    Computes (or reuses) ``snap.dominators()``. Bad input (not a snapshot, a share outside
    (0, 1]) raises :class:`~gclab.errors.SnapshotError`."""
    _check_snapshot(snap)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise SnapshotError(f"share must be a number in (0, 1], not {share!r}")
    tree: DominatorTree = snap.dominators()
    total = tree.total
    if total == 0:
        return []
    threshold = share * total
    top = tree.top_level_nodes()
    top = top[np.lexsort((top, -tree.retained[top]))]
    singles = [int(v) for v in top.tolist() if tree.retained[v] >= threshold]
    found = [_single_suspect(snap, tree, v, total) for v in singles]
    named = {int(snap.type_index[v]) for v in singles}
    by_type = np.bincount(snap.type_index[top], weights=tree.retained[top],
                          minlength=len(snap.types))
    for t in np.argsort(-by_type, kind="stable").tolist():
        if by_type[t] < threshold:
            break
        if t not in named:
            members = top[snap.type_index[top] == t]
            found.append(_type_suspect(snap, tree, members, total))
    return found


def accumulation_point(tree: DominatorTree, node: int) -> int:
    """MAT's accumulation point below ``node``: follow the child with the biggest retained
    size while it retains at least :data:`BIG_DROP` of its parent; the last node reached
    (at most :data:`MAX_DEPTH` steps down)."""
    for _ in range(MAX_DEPTH):
        children = tree.children(node)
        if not len(children) or tree.retained[children[0]] < BIG_DROP * tree.retained[node]:
            return node
        node = int(children[0])
    return node


def _single_suspect(snap: Snapshot, tree: DominatorTree, node: int, total: int) -> Suspect:
    """A suspect for one top-level dominator."""
    point = accumulation_point(tree, node)
    return Suspect(node=node, retained=int(tree.retained[node]),
                   share=float(tree.retained[node]) / total, accumulation=point,
                   path=retainer_path(snap, point), top_types=_top_types(snap, tree, [node]),
                   kind="object", type=snap.type_name(node), count=1)


def _type_suspect(snap: Snapshot, tree: DominatorTree, members: I64, total: int) -> Suspect:
    """A suspect for the top-level instances of one type together."""
    retained = int(tree.retained[members].sum())
    biggest = int(members[np.argmax(tree.retained[members])])
    point = _common_accumulation(snap, tree, members)
    return Suspect(node=biggest, retained=retained, share=retained / total,
                   accumulation=point, path=retainer_path(snap, point if point >= 0 else biggest),
                   top_types=_top_types(snap, tree, members.tolist()), kind="type",
                   type=snap.type_name(biggest), count=len(members))


def _common_accumulation(snap: Snapshot, tree: DominatorTree, members: I64) -> int:
    """The last node of the instances' common retainer path (MAT's rule for a group: more
    than :data:`COMMON_PATH` of the instances pass through it and the retained bytes below
    it have not dropped below :data:`BIG_DROP`), or -1."""
    parent = _bfs_parents(snap)
    paths = {int(v): _walk_up(parent, int(v)) for v in members.tolist()}
    current = [v for v in paths if paths[v]]  # members reached at all
    below = int(tree.retained[current].sum()) if current else 0
    point, depth = -1, 0
    while current:
        groups = Counter(paths[v][depth] for v in current if len(paths[v]) > depth + 1)
        if not groups:
            break
        node, carried = min(groups.items(), key=lambda item: (-item[1], item[0]))
        if carried <= COMMON_PATH * len(members):
            break
        current = [v for v in current if len(paths[v]) > depth + 1 and paths[v][depth] == node]
        retained = int(tree.retained[current].sum())
        if retained < BIG_DROP * below:
            break
        point, below, depth = node, retained, depth + 1
    return point


def _top_types(snap: Snapshot, tree: DominatorTree, nodes: list[int]) -> list[TypeRow]:
    """The :data:`TOP_TYPES` types retaining most below ``nodes`` (disjoint subtrees)."""
    parts = [tree.subtree(v) for v in nodes]
    sub = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    types = snap.type_index[sub].astype(np.int64)
    n_types = len(snap.types)
    retained = type_retained(sub, tree.retained_count, snap.type_index, tree.retained,
                             n_types)
    count = np.bincount(types, minlength=n_types)
    shallow = np.bincount(types, weights=snap.size[sub], minlength=n_types).astype(np.int64)
    ranked = np.lexsort((np.arange(n_types), -retained))[:TOP_TYPES]
    return [TypeRow(snap.types[t], int(count[t]), int(shallow[t]), int(retained[t]))
            for t in ranked.tolist() if count[t]]


# -- retainer paths (a breadth-first search from the roots, kept private to this module) ---------


@jit
def _bfs(start, length, targets, roots, parent):
    """Breadth-first search over the strong references from the roots, in root order:
    ``parent[v]`` is the node ``v`` was first reached from (``n`` for a root), -1 if none."""
    n = len(parent)
    queue = np.empty(n, np.int64)
    head = tail = 0
    for k in range(len(roots)):
        r = roots[k]
        if parent[r] == -1:
            parent[r] = n
            queue[tail] = r
            tail += 1
    while head < tail:
        v = queue[head]
        head += 1
        first = np.int64(start[v])
        for k in range(first, first + np.int64(length[v])):
            t = np.int64(targets[k])
            if t >= 0 and parent[t] == -1:
                parent[t] = v
                queue[tail] = t
                tail += 1


def _bfs_parents(snap: Snapshot) -> I64:
    """The breadth-first parents of every node (computed once per snapshot)."""
    def compute() -> I64:
        graph = snap.graph()
        parent = np.full(snap.n, -1, np.int64)
        _bfs(graph.start, graph.length, graph.targets, snap.root_node.astype(np.int64), parent)
        return parent
    return snap.cached("leaks.bfs_parents", compute)


def _walk_up(parent: I64, node: int) -> list[int]:
    """The breadth-first path from a root's node to ``node`` (empty when unreached)."""
    if parent[node] < 0:
        return []
    path = [node]
    while parent[path[-1]] != len(parent):
        path.append(int(parent[path[-1]]))
    return path[::-1]


def retainer_path(snap: Snapshot, node: int) -> RetainerPath | None:
    """A shortest chain of strong references from a named root to ``node``, or None when
    no root reaches it."""
    nodes = _walk_up(_bfs_parents(snap), node)
    if not nodes:
        return None
    root = int(np.flatnonzero(snap.root_node == nodes[0])[0])
    names: list[str | None] = []
    for a, b in pairwise(nodes):
        lo, hi = int(snap.ref_start[a]), int(snap.ref_start[a + 1])
        slots = np.flatnonzero((snap.ref_target[lo:hi] == b) & (snap.ref_kind[lo:hi] == STRONG))
        name = int(snap.ref_name[lo + int(slots[0])])
        names.append(snap.strings[name] if name >= 0 else None)
    return RetainerPath(root, np.array(nodes, np.int64), names)


# -- growth across snapshots ----------------------------------------------------------------------


def growth(snaps: Sequence[Snapshot]) -> list[Growth]:
    """What grew at every step across ``snaps`` (two or more snapshots of one process; in
    ``meta["time"]`` order when every one has a time, else in the order given): types by
    count or shallow bytes, and the accumulation points of the last snapshot's biggest
    top-level dominators, matched by address and type in every snapshot, by retained bytes.
    Ranked by bytes gained, biggest first (ties: objects gained, then key).

    Fewer than two snapshots, or anything that is not a snapshot, raises
    :class:`~gclab.errors.SnapshotError`."""
    snaps = list(snaps)
    if len(snaps) < 2:
        raise SnapshotError(f"growth needs two or more snapshots, not {len(snaps)}")
    for snap in snaps:
        _check_snapshot(snap)
    times = [snap.meta.get("time") for snap in snaps]
    if all(isinstance(t, int | float) for t in times):
        snaps = [s for _, _, s in sorted(zip(times, range(len(snaps)), snaps, strict=True),
                                         key=lambda item: (item[0], item[1]))]
    found = _type_growth(snaps) + _accumulation_growth(snaps)
    return sorted(found, key=lambda g: (-g.grown, -(g.counts[-1] - g.counts[0]), g.kind, g.key))


def _increasing(values: list[int]) -> bool:
    """True when every value is larger than the one before."""
    return all(b > a for a, b in pairwise(values))


def _type_growth(snaps: list[Snapshot]) -> list[Growth]:
    """Types whose count or shallow bytes grow at every step."""
    tables = []
    for snap in snaps:
        by_count = np.bincount(snap.type_index, minlength=len(snap.types))
        by_size = np.bincount(snap.type_index, weights=snap.size, minlength=len(snap.types))
        tables.append({name: (int(by_count[t]), int(by_size[t]))
                       for t, name in enumerate(snap.types) if by_count[t]})
    out = []
    for name in sorted(tables[-1]):
        counts = [table.get(name, (0, 0))[0] for table in tables]
        sizes = [table.get(name, (0, 0))[1] for table in tables]
        if _increasing(counts) or _increasing(sizes):
            out.append(Growth("type", name, counts, sizes))
    return out


def _accumulation_growth(snaps: list[Snapshot]) -> list[Growth]:
    """Accumulation points of the last snapshot's biggest top-level dominators whose
    retained bytes grow at every step (matched by address and type)."""
    last = snaps[-1]
    tree: DominatorTree = last.dominators()
    top = tree.top_level_nodes()
    top = top[np.lexsort((top, -tree.retained[top]))][:GROWTH_CANDIDATES]
    points = sorted({accumulation_point(tree, int(v)) for v in top.tolist()})
    out = []
    for point in points:
        address, type_name = int(last.address[point]), last.type_name(point)
        counts, sizes = [], []
        for snap in snaps:
            match = _node_at(snap, address, type_name)
            other: DominatorTree = snap.dominators()
            counts.append(int(other.retained_count[match]) if match >= 0 else 0)
            sizes.append(int(other.retained[match]) if match >= 0 else 0)
        if _increasing(sizes):
            out.append(Growth("accumulation", f"{type_name} at {address:#x}", counts, sizes,
                              node=point))
    return out


def _node_at(snap: Snapshot, address: int, type_name: str) -> int:
    """The node of ``snap`` at ``address`` with type ``type_name``, or -1."""
    for node in np.flatnonzero(snap.address == np.uint64(address)).tolist():
        if snap.type_name(node) == type_name:
            return int(node)
    return -1


def _check_snapshot(snap: object) -> None:
    """SnapshotError unless ``snap`` is a snapshot."""
    if not isinstance(snap, Snapshot):
        raise SnapshotError(f"a Snapshot is needed, not {type(snap).__name__}")


__all__ = ["BIG_DROP", "COMMON_PATH", "Growth", "RetainerPath", "Suspect", "accumulation_point",
           "growth", "retainer_path", "suspects"]
