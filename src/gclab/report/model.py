"""The report model: what ``gclab report`` shows, as plain JSON-ready values.

:func:`model_from_results` turns a snapshot and the results of its analyses (the contract of
``docs/design/snapshots.md``: ``GarbageReport``, ``DominatorTree``, ``Suspect``,
``TypeHistogram``, ``SnapshotDiff``, ``Growth``) into a :class:`ReportModel`;
:func:`build_model` runs those analyses first. The model holds only str, int, float, bool,
None, lists and str-keyed dicts, so the renderer embeds ``model.as_dict()`` as one JSON blob.

**Size bound.** The page must open for a 10,000,000-object snapshot, so the model never holds
a row per object. The dominator tree keeps the ``Limits.expanded`` (2,000) nodes with children
that retain the most (with their dominators, so each is reachable from the virtual root) and,
for each of them, its ``Limits.children`` (50) children that retain the most plus how many
more there are and what they retain: at most ``expanded * (children + 1)`` node rows (about
100,000, a few MB of JSON) and usually far fewer. The type histogram keeps the
``Limits.types`` (1,000) types that retain the most and sums the rest into one row; suspects,
paths, garbage components and diff rows are capped likewise (:class:`Limits`).

A hand-worked example: a module global ``m.cache`` (a dict, 64 bytes) holding two lists of
100 bytes each; the dominator tree is the virtual root 3 → 0 → {1, 2}.

>>> from types import SimpleNamespace as NS
>>> import numpy as np
>>> from gclab.snapshots import RootKind, Snapshot
>>> snap = Snapshot.from_edges(types=["builtins.dict", "builtins.list"],
...     type_index=[0, 1, 1], size=[64, 100, 100],
...     edges=[(0, 1, 0, "['a']"), (0, 2, 0, "['b']")], roots=[(0, RootKind.MODULE, "m.cache")])
>>> tree = NS(idom=np.array([3, 0, 0]), retained=np.array([264, 100, 100]),
...           order=np.array([0, 1, 2]), reachable=np.array([True, True, True]))
>>> garbage = NS(unreachable=np.array([], dtype=np.int64), finalizers=np.array([], dtype=np.int64),
...              frozen=np.array([], dtype=np.int64), components=[], sources=[])
>>> model = model_from_results(snap, garbage=garbage, tree=tree, suspects=[],
...                            histogram=None)
>>> model.summary["objects"], model.summary["bytes"], model.summary["roots"]
(3, 264, 1)
>>> model.tree["children"]["3"], model.tree["children"]["0"]
([[0], 0, 0], [[1, 2], 0, 0])
>>> model.tree["nodes"]["0"]
[0, 64, 264, None, '0x1000', 2, 'module m.cache']
>>> model.histogram["rows"]          # computed here when no histogram result is given
[['builtins.dict', 1, 64, 264], ['builtins.list', 2, 200, 200]]
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..errors import SnapshotError
from ..snapshots.model import RootKind, Snapshot


class ReportInputError(SnapshotError):
    """An input of a report cannot be used: not a snapshot, a monitor file that is missing or
    not a GC monitor's JSON, limits that are not positive. Nothing was written."""


@dataclass(frozen=True)
class Limits:
    """How much of each analysis the report keeps (see the module docstring)."""

    expanded: int = 2000      # dominator-tree nodes whose children lists the page carries
    children: int = 50        # children listed per expanded node, by retained size
    types: int = 1000         # histogram rows (the rest summed into one)
    suspects: int = 20        # leak suspects
    path_steps: int = 40      # steps of a retainer path (the middle is elided)
    components: int = 50      # garbage source components listed
    diff_types: int = 500     # diff rows by type, by size change
    growth: int = 100         # growth rows
    warnings: int = 200       # capture warnings listed
    events: int = 20000       # GC events drawn on the timeline (evenly thinned)
    label_chars: int = 80     # characters of a label

    def check(self) -> None:
        """Raise :class:`ReportInputError` unless every limit is a positive int."""
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ReportInputError(f"report limit {name} must be a positive int, "
                                       f"not {value!r}")


@dataclass
class ReportModel:
    """Everything the page shows; each field is JSON-ready (see :meth:`as_dict`).

    ``summary``: the process and the heap. ``suspects``: leak suspects with their retainer
    paths. ``tree``: the bounded dominator tree (``root``: the virtual root's id;
    ``nodes[id] = [type, shallow, retained, label, address, children, root name]``, type an
    index into ``types``; ``children[id] = [[child ids by retained], more, more_retained]``).
    ``types``: type names. ``histogram``: ``rows`` ``[type, count, shallow, retained]`` and
    ``other`` (the types past the limit, summed). ``garbage``: the dry run's counts and source
    components. ``diff``, ``growth``, ``timeline``: None unless two snapshots or a monitor
    file were given.
    """

    summary: dict[str, Any]
    suspects: list[dict[str, Any]]
    tree: dict[str, Any]
    types: list[str]
    histogram: dict[str, Any]
    garbage: dict[str, Any]
    diff: dict[str, Any] | None = None
    growth: list[dict[str, Any]] | None = None
    timeline: dict[str, Any] | None = None
    limits: dict[str, int] = field(default_factory=lambda: asdict(Limits()))

    def as_dict(self) -> dict[str, Any]:
        """The model as one JSON-ready dict (the page's data blob)."""
        return asdict(self)


# -- building -------------------------------------------------------------------------------

def build_model(snaps: Sequence[Snapshot], *, monitor: Mapping[str, Any] | None = None,
                limits: Limits | None = None,
                progress: Callable[[str], None] | None = None) -> ReportModel:
    """The report of ``snaps`` (in time order): the last one analysed in full, the first
    compared with the last (``diff``) and growth across all of them when there are several,
    and the GC pause timeline of ``monitor`` (a GC monitor's JSON, see
    :func:`gclab.report.timeline.read_monitor`).

    Afterwards each analysis has run once on the snapshots (cached on them).
    """
    snaps = list(snaps)
    if not snaps or not all(isinstance(s, Snapshot) for s in snaps):
        raise ReportInputError("a report needs one or more snapshots (gclab.snapshots."
                               "Snapshot), in time order")
    limits = limits or Limits()
    limits.check()
    say = progress or (lambda message: None)
    from ..snapshots import leaks

    snap = snaps[-1]
    say("garbage dry run")
    garbage = snap.garbage()
    say("dominator tree and retained sizes")
    tree = snap.dominators()
    say("leak suspects")
    found = leaks.suspects(snap)
    say("type histogram")
    histogram = snap.histogram()
    diff = growth = None
    if len(snaps) > 1:
        from ..snapshots.diff import diff as diff_of

        say("diff of the first and last snapshots, growth across all")
        diff = diff_of(snaps[0], snap)
        growth = leaks.growth(snaps)
    return model_from_results(snap, garbage=garbage, tree=tree, suspects=found,
                              histogram=histogram, diff=diff, before=snaps[0],
                              growth=growth, monitor=monitor, limits=limits,
                              snapshots=len(snaps))


def model_from_results(snap: Snapshot, *, garbage: Any, tree: Any, suspects: Sequence[Any],
                       histogram: Any, diff: Any = None, before: Snapshot | None = None,
                       growth: Sequence[Any] | None = None,
                       monitor: Mapping[str, Any] | None = None,
                       limits: Limits | None = None, snapshots: int = 1) -> ReportModel:
    """The model of ``snap`` from its analyses' results (the contract's dataclasses, or
    anything with the same attributes). ``histogram`` None computes one from ``tree``'s
    retained sizes (a type's retained = the sum over its nodes with no same-type dominator).

    Afterwards nothing of ``snap`` or the results has changed.
    """
    limits = limits or Limits()
    limits.check()
    names = _TypeNames(snap)
    idom = np.asarray(tree.idom, dtype=np.int64)
    retained = np.asarray(tree.retained, dtype=np.int64)
    if len(idom) != snap.n or len(retained) != snap.n:
        raise ReportInputError(f"the dominator tree has {len(idom)} nodes, the snapshot "
                               f"{snap.n}")
    model = ReportModel(
        summary=summary(snap, idom, retained, garbage, limits, snapshots),
        suspects=[suspect_row(snap, s, retained, limits) for s in suspects[:limits.suspects]],
        tree=tree_rows(snap, idom, retained, names, limits),
        types=[],
        histogram=histogram_rows(snap, histogram, idom, retained, limits),
        garbage=garbage_rows(snap, garbage, limits),
        diff=diff_rows(before, snap, diff, limits) if diff is not None and before else None,
        growth=[growth_row(g) for g in growth[:limits.growth]] if growth is not None else None,
        timeline=_timeline(monitor, limits),
        limits=asdict(limits))
    model.types = names.names
    return model


class _TypeNames:
    """The type names the tree's rows use, numbered in order of first use."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.names: list[str] = []
        self.index: dict[int, int] = {}

    def __call__(self, type_index: int) -> int:
        """The report's index of the snapshot's type ``type_index``."""
        if type_index not in self.index:
            self.index[type_index] = len(self.names)
            self.names.append(self.snap.types[type_index])
        return self.index[type_index]


# -- summary --------------------------------------------------------------------------------

def summary(snap: Snapshot, idom: np.ndarray, retained: np.ndarray, garbage: Any,
            limits: Limits, snapshots: int = 1) -> dict[str, Any]:
    """The process and heap facts of the page's first section."""
    meta = dict(snap.meta)
    reachable = idom >= 0
    roots = snap.root_node
    by_kind: Any = np.bincount(snap.root_kind, minlength=len(RootKind)) if len(roots) else []
    captured = meta.get("time")
    when = None
    if isinstance(captured, (int, float)) and math.isfinite(captured):
        when = datetime.datetime.fromtimestamp(captured, datetime.UTC).strftime(
            "%Y-%m-%d %H:%M:%S UTC")
    argv = meta.get("argv")
    unreachable = np.asarray(getattr(garbage, "unreachable", ()), dtype=np.int64)
    return {
        "process": " ".join(str(a) for a in argv) if isinstance(argv, list) else None,
        "pid": _plain(meta.get("pid")),
        "python": _plain(meta.get("python")),
        "implementation": _plain(meta.get("implementation")),
        "platform": _plain(meta.get("platform")),
        "time": when,
        "capture_seconds": _plain(meta.get("capture_seconds")),
        "gc_threshold": _plain(meta.get("gc_threshold")),
        "gc_count": _plain(meta.get("gc_count")),
        "gc_enabled": _plain(meta.get("gc_enabled")),
        "objects": snap.n,
        "references": snap.m,
        "bytes": int(snap.size.sum()),
        "roots": len(roots),
        "roots_by_kind": {kind.name.lower(): int(by_kind[kind]) for kind in RootKind
                          if len(roots) and by_kind[kind]},
        "reachable": int(reachable.sum()),
        "reachable_bytes": int(snap.size[reachable].sum()),
        "garbage": len(unreachable),
        "garbage_bytes": int(snap.size[unreachable].sum()) if len(unreachable) else 0,
        "warnings": [_clip(w, 300) for w in snap.warnings[:limits.warnings]],
        "more_warnings": max(0, len(snap.warnings) - limits.warnings),
        "snapshots": snapshots,
    }


# -- one object, one path -------------------------------------------------------------------

def node_row(snap: Snapshot, node: int, retained: np.ndarray | None,
             limits: Limits) -> dict[str, Any]:
    """One object as the page names it: id, type, label, address, shallow and retained."""
    return {"node": int(node), "type": snap.type_name(node),
            "label": _label(snap, node, limits), "address": f"{int(snap.address[node]):#x}",
            "shallow": int(snap.size[node]),
            "retained": int(retained[node]) if retained is not None else None}


def path_row(snap: Snapshot, path: Any, limits: Limits) -> dict[str, Any] | None:
    """A retainer path (``RetainerPath``: ``root``, ``nodes``, ``names``) as the root's name
    and kind and one step per object (the reference's name into it); a path longer than
    ``limits.path_steps`` keeps its two ends and counts the elided middle."""
    if path is None:
        return None
    nodes = [int(v) for v in np.asarray(path.nodes).tolist()]
    edge_names: list[str | None] = [None, *list(path.names)]
    steps = [dict(node_row(snap, v, None, limits), edge=_plain(edge_names[i]) if i <
                  len(edge_names) else None) for i, v in enumerate(nodes)]
    elided = 0
    if len(steps) > limits.path_steps:
        head = limits.path_steps // 2
        tail = limits.path_steps - head
        elided = len(steps) - limits.path_steps
        steps = steps[:head] + steps[-tail:]
    root = int(path.root)
    names = snap.root_names()
    return {"root": names[root] if 0 <= root < len(names) else None,
            "root_kind": (RootKind(int(snap.root_kind[root])).name.lower()
                          if 0 <= root < len(names) else None),
            "steps": steps, "elided": elided}


def suspect_row(snap: Snapshot, suspect: Any, retained: np.ndarray,
                limits: Limits) -> dict[str, Any]:
    """A leak suspect (``Suspect``): the object (or a type's instances together), its share
    of the heap, its accumulation point, its retainer path and the types it holds, by shallow
    bytes."""
    row = node_row(snap, int(suspect.node), retained, limits)
    row["retained"] = int(suspect.retained)
    row["kind"] = str(getattr(suspect, "kind", "object"))   # "object", or "type": its instances
    row["count"] = int(getattr(suspect, "count", 1))
    row["share"] = float(suspect.share)
    point = getattr(suspect, "accumulation", None)
    row["accumulation"] = (node_row(snap, int(point), retained, limits)
                           if point is not None and int(point) >= 0 else None)
    row["path"] = path_row(snap, getattr(suspect, "path", None), limits)
    kinds = [_top_type(snap, t) for t in getattr(suspect, "top_types", ())]
    row["top_types"] = sorted(kinds, key=lambda t: (-t[2], t[0]))[:10]
    return row


def _top_type(snap: Snapshot, entry: Any) -> list[Any]:
    """One ``top_types`` entry (a ``TypeRow``) as ``[type name, objects, shallow bytes,
    retained bytes]``: the suspect's composition (the page lists them by shallow bytes)."""
    return [_type_name(snap, entry.type), int(entry.count), int(entry.shallow),
            int(entry.retained)]


# -- the dominator tree ---------------------------------------------------------------------

def expanded_nodes(idom: np.ndarray, retained: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` nodes with children that retain the most, with their dominators up to
    the virtual root ``n`` (so every one is reachable by expanding from the root); sorted.

    >>> expanded_nodes(np.array([3, 0, 0]), np.array([264, 100, 100]), 5).tolist()
    [0, 3]
    """
    n = len(idom)
    parents = idom[idom >= 0]
    has_children = np.bincount(parents, minlength=n + 1)[:n] > 0
    candidates = np.flatnonzero(has_children)
    if len(candidates) > count:         # the top `count` first (linear), then sorted
        candidates = candidates[np.argpartition(-retained[candidates], count - 1)[:count]]
    top = candidates[np.lexsort((candidates, -retained[candidates]))]
    chosen = set(top.tolist())
    chosen.add(n)
    for node in top.tolist():
        parent = int(idom[node])
        while parent not in chosen and parent >= 0:
            chosen.add(parent)
            parent = int(idom[parent])
    return np.array(sorted(chosen), dtype=np.int64)


def tree_rows(snap: Snapshot, idom: np.ndarray, retained: np.ndarray, names: _TypeNames,
              limits: Limits) -> dict[str, Any]:
    """The bounded dominator tree (see :class:`ReportModel` and the module docstring)."""
    n = snap.n
    expanded = expanded_nodes(idom, retained, limits.expanded)
    is_expanded = np.zeros(n + 1, dtype=bool)
    is_expanded[expanded] = True
    child_count = np.bincount(idom[idom >= 0], minlength=n + 1)
    members = np.flatnonzero((idom >= 0) & is_expanded[np.maximum(idom, 0)])
    members = members[np.lexsort((members, -retained[members], idom[members]))]
    groups = np.searchsorted(idom[members], expanded)
    children: dict[str, list[Any]] = {}
    listed = [int(v) for v in expanded.tolist() if v < n]
    for k, parent in enumerate(expanded.tolist()):
        start = int(groups[k])
        stop = start + int(child_count[parent])
        shown = members[start:min(stop, start + limits.children)]
        rest = members[start + len(shown):stop]
        children[str(parent)] = [shown.tolist(), len(rest), int(retained[rest].sum())]
        listed.extend(shown.tolist())
    roots = _first_root_names(snap, listed)
    nodes: dict[str, list[Any]] = {}
    for node in sorted(set(listed)):
        nodes[str(node)] = [names(int(snap.type_index[node])), int(snap.size[node]),
                            int(retained[node]), _label(snap, node, limits),
                            f"{int(snap.address[node]):#x}", int(child_count[node]),
                            roots.get(node)]
    reachable = idom >= 0
    nodes[str(n)] = [None, 0, int(snap.size[reachable].sum()), "all objects reachable from "
                     "the named roots", None, int(child_count[n]), None]
    return {"root": n, "nodes": nodes, "children": children}


def _first_root_names(snap: Snapshot, nodes: Iterable[int]) -> dict[int, str]:
    """The first root name of each of ``nodes`` that is a root."""
    wanted = np.asarray(sorted(set(nodes)), dtype=np.int64)
    found: dict[int, str] = {}
    if not len(wanted) or not len(snap.root_node):
        return found
    hits = np.flatnonzero(np.isin(snap.root_node, wanted))
    for r in hits.tolist():
        node = int(snap.root_node[r])
        if node not in found:
            index = int(snap.root_name[r])
            kind = RootKind(int(snap.root_kind[r])).name.lower()
            found[node] = f"{kind} {snap.strings[index]}" if index >= 0 else kind
    return found


# -- histogram, garbage, diff, growth ------------------------------------------------------

def histogram_rows(snap: Snapshot, histogram: Any, idom: np.ndarray, retained: np.ndarray,
                   limits: Limits) -> dict[str, Any]:
    """``[type, count, shallow, retained]`` rows by retained size (the ``TypeHistogram``'s
    rows, or computed from the tree when ``histogram`` is None), capped at ``limits.types``
    with the rest summed in ``other``."""
    rows: list[list[Any]]
    if histogram is not None:
        rows = [[_type_name(snap, r.type), int(r.count), int(r.shallow), int(r.retained)]
                if hasattr(r, "type") else
                [_type_name(snap, r[0]), int(r[1]), int(r[2]), int(r[3])]
                for r in histogram.rows]
    else:
        rows = _histogram_of(snap, idom, retained)
    rows.sort(key=lambda r: (-r[3], -r[2], r[0]))
    kept, rest = rows[:limits.types], rows[limits.types:]
    other = ([len(rest), sum(r[1] for r in rest), sum(r[2] for r in rest),
              sum(r[3] for r in rest)] if rest else None)
    return {"rows": kept, "other": other}


def _histogram_of(snap: Snapshot, idom: np.ndarray, retained: np.ndarray) -> list[list[Any]]:
    """Count, shallow and retained bytes by type; a node's retained counts for its type only
    when no dominator of it has the same type (no double counting)."""
    t = snap.type_index.astype(np.int64)
    counts = np.bincount(t, minlength=len(snap.types))
    shallow = np.bincount(t, weights=snap.size, minlength=len(snap.types))
    outermost = idom >= 0
    node = np.flatnonzero(outermost)
    above = idom[node]
    while len(node):                 # walk every node's dominators up, all nodes at once
        inside = above < snap.n      # above is a node (not the virtual root)
        node, above = node[inside], above[inside]
        same = t[above] == t[node]
        outermost[node[same]] = False
        node, above = node[~same], idom[above[~same]]
    held = np.bincount(t[outermost], weights=retained[outermost], minlength=len(snap.types))
    return [[snap.types[k], int(counts[k]), int(shallow[k]), int(held[k])]
            for k in np.flatnonzero(counts).tolist()]


def garbage_rows(snap: Snapshot, garbage: Any, limits: Limits) -> dict[str, Any]:
    """The garbage dry run (``GarbageReport``): counts and bytes of what a full collection
    would free (with the untracked objects freed with it), its finalizers, uncollectable and
    frozen objects, and its source components (those no other unreachable component
    references) by size, each with its most common types."""
    unreachable = np.asarray(garbage.unreachable, dtype=np.int64)
    start, members = _components_csr(garbage)
    count = np.diff(start)
    weight = np.add.reduceat(snap.size[members], start[:-1]) if len(members) else count
    sources = np.asarray(garbage.sources, dtype=np.int64)
    biggest = sources[np.lexsort((sources, -weight[sources]))][:limits.components]
    rows: list[dict[str, Any]] = []
    for index in biggest.tolist():
        nodes = members[start[index]:start[index + 1]]
        rows.append({"index": index, "objects": len(nodes), "bytes": int(weight[index]),
                     "types": _common_types(snap, nodes, 5),
                     "sample": [node_row(snap, int(v), None, limits)
                                for v in nodes[:5].tolist()]})
    frozen = np.asarray(garbage.frozen, dtype=np.int64)
    freed = np.asarray(getattr(garbage, "freed", ()), dtype=np.int64)
    return {"objects": len(unreachable), "bytes": int(snap.size[unreachable].sum()),
            "freed_with": len(freed), "freed_bytes": int(snap.size[unreachable].sum()
                                                         + snap.size[freed].sum()),
            "uncollectable": len(getattr(garbage, "uncollectable", ())),
            "warnings": [_clip(str(w), 300) for w in getattr(garbage, "warnings", ())][:20],
            "finalizers": len(garbage.finalizers), "frozen": len(frozen),
            "frozen_bytes": int(snap.size[frozen].sum()), "components": len(count),
            "cycles": int(np.sum(count > 1)), "sources": len(sources), "source_rows": rows,
            "types": _common_types(snap, unreachable, 10)}


def _components_csr(garbage: Any) -> tuple[np.ndarray, np.ndarray]:
    """The dry run's components as CSR (``component_start``, ``component_nodes``), built from
    its list of ``components`` when it has no CSR form."""
    if hasattr(garbage, "component_start"):
        return (np.asarray(garbage.component_start, dtype=np.int64),
                np.asarray(garbage.component_nodes, dtype=np.int64))
    parts = [np.asarray(c, dtype=np.int64) for c in garbage.components]
    start = np.concatenate([[0], np.cumsum([len(c) for c in parts], dtype=np.int64)])
    return start, np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def diff_rows(before: Snapshot, after: Snapshot, diff: Any, limits: Limits) -> dict[str, Any]:
    """The diff of two snapshots (``SnapshotDiff``): new, freed and common objects with their
    bytes, rows by type ``[type, count_before, count_after, size_before, size_after]``
    ordered by the largest change in size, and why identities may mean little (warnings)."""
    new = np.asarray(diff.new, dtype=np.int64)
    freed = np.asarray(diff.freed, dtype=np.int64)
    rows: list[list[Any]] = [
        [r.type, int(r.count_before), int(r.count_after), int(r.size_before),
         int(r.size_after)] if hasattr(r, "count_before") else
        [_type_name(before, r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4])]
        for r in diff.by_type]
    rows.sort(key=lambda r: (-abs(r[4] - r[3]), -abs(r[2] - r[1]), r[0]))
    return {"before": _snap_facts(before), "after": _snap_facts(after),
            "new": len(new), "new_bytes": int(after.size[new].sum()),
            "freed": len(freed), "freed_bytes": int(before.size[freed].sum()),
            "common": len(diff.common), "by_type": rows[:limits.diff_types],
            "more_types": max(0, len(rows) - limits.diff_types),
            "warnings": [_clip(str(w), 300) for w in getattr(diff, "warnings", ())][:20]}


def growth_row(growth: Any) -> dict[str, Any]:
    """One ``Growth``: what grows (a type or an accumulation point), counts and sizes."""
    return {"kind": _plain(growth.kind), "key": _plain(growth.key),
            "node": int(getattr(growth, "node", -1)),
            "counts": [int(c) for c in growth.counts], "sizes": [int(s) for s in growth.sizes]}


def _snap_facts(snap: Snapshot) -> dict[str, Any]:
    return {"objects": snap.n, "bytes": int(snap.size.sum()), "time": _plain(snap.meta.get(
        "time")), "pid": _plain(snap.meta.get("pid"))}


def _common_types(snap: Snapshot, nodes: np.ndarray, count: int) -> list[list[Any]]:
    """``[type, objects, bytes]`` of the ``count`` most common types among ``nodes``."""
    if not len(nodes):
        return []
    t = snap.type_index[nodes].astype(np.int64)
    counts = np.bincount(t, minlength=len(snap.types))
    sizes = np.bincount(t, weights=snap.size[nodes], minlength=len(snap.types))
    top = sorted(np.flatnonzero(counts).tolist(), key=lambda k: (-counts[k], -sizes[k], k))
    return [[snap.types[k], int(counts[k]), int(sizes[k])] for k in top[:count]]


# -- small helpers --------------------------------------------------------------------------

def _timeline(monitor: Mapping[str, Any] | None, limits: Limits) -> dict[str, Any] | None:
    """The pause timeline of ``monitor`` (:mod:`gclab.report.timeline`), None without one."""
    from .timeline import timeline_from_monitor  # it builds on this module's Limits

    return None if monitor is None else timeline_from_monitor(monitor, limits)


def _label(snap: Snapshot, node: int, limits: Limits) -> str | None:
    text = snap.label_of(node)
    return None if text is None else _clip(text, limits.label_chars)


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"


def _type_name(snap: Snapshot, value: Any) -> str:
    """A type given as a name or an index into ``snap.types``."""
    if isinstance(value, str):
        return value
    return snap.types[int(value)]


def _plain(value: Any) -> Any:
    """``value`` as JSON-ready data (numpy scalars and arrays, tuples, enums converted)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
