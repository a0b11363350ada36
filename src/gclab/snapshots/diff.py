"""What changed between two snapshots of one process: by identity and by type.

*By identity*, an object of ``before`` and an object of ``after`` are the same object when they
have the same address (``id()``) and the same type name; an address that another type now
occupies was freed and reused, so it counts as one freed object and one new object (the
address alone would call a freed list and the dict that took its memory "the same"). When
several nodes share an address and type (synthetic nodes of address 0), the k-th of
``before`` matches the k-th of ``after`` in node order.

*By type*, every type name of either snapshot gets its count and shallow bytes before and
after; rows are sorted by growth (bytes, then count), as Chrome DevTools' comparison view and
Eclipse MAT's histogram delta sort them.

>>> from gclab.snapshots.model import Snapshot
>>> before = Snapshot.from_edges(types=["builtins.list", "builtins.dict"], type_index=[0, 0, 1],
...                              size=[56, 56, 64], address=[0x10, 0x20, 0x30])
>>> after = Snapshot.from_edges(types=["builtins.dict", "builtins.list"], type_index=[1, 0, 0],
...                             size=[56, 64, 64], address=[0x10, 0x20, 0x40])
>>> d = diff(before, after)
>>> d.new.tolist(), d.freed.tolist(), d.common.tolist()   # 0x20 was a list, now a dict
([1, 2], [1, 2], [[0, 0]])
>>> [(t.type, t.count_before, t.count_after, t.size_delta) for t in d.by_type]
[('builtins.dict', 1, 2, 64), ('builtins.list', 2, 1, -56)]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import SnapshotError
from .model import Snapshot

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class TypeChange:
    """One type's count and shallow bytes in both snapshots."""

    type: str
    count_before: int
    count_after: int
    size_before: int
    size_after: int

    @property
    def count_delta(self) -> int:
        """Objects gained (negative: lost)."""
        return self.count_after - self.count_before

    @property
    def size_delta(self) -> int:
        """Shallow bytes gained (negative: lost)."""
        return self.size_after - self.size_before


@dataclass(frozen=True)
class TypeGroup:
    """The new (or freed) objects of one type: how many, their bytes, a few examples
    ``(node, address, label)``, the lowest nodes first."""

    type: str
    count: int
    size: int
    examples: tuple[tuple[int, int, str | None], ...]


@dataclass(frozen=True, eq=False)
class SnapshotDiff:
    """The difference from ``before`` to ``after`` (see the module docstring).

    ``new``: node ids of ``after`` that ``before`` does not have (ascending); ``freed``: node
    ids of ``before`` that ``after`` does not have; ``common``: ``(k, 2)`` pairs (node in
    ``before``, node in ``after``) of the same object; ``by_type``: one :class:`TypeChange` a
    type name, biggest growth first; ``warnings``: why the identities may mean little (two
    processes).
    """

    before: Snapshot = field(repr=False)
    after: Snapshot = field(repr=False)
    new: I64
    freed: I64
    common: I64
    by_type: tuple[TypeChange, ...]
    warnings: tuple[str, ...] = ()

    @property
    def new_bytes(self) -> int:
        """Shallow bytes of the new objects."""
        return int(self.after.size[self.new].sum())

    @property
    def freed_bytes(self) -> int:
        """Shallow bytes of the freed objects."""
        return int(self.before.size[self.freed].sum())

    def new_by_type(self, examples: int = 3) -> list[TypeGroup]:
        """The new objects grouped by type, most bytes first (then most objects, then name),
        with up to ``examples`` examples each."""
        return _groups(self.after, self.new, examples)

    def freed_by_type(self, examples: int = 3) -> list[TypeGroup]:
        """The freed objects grouped by type, as :meth:`new_by_type`."""
        return _groups(self.before, self.freed, examples)

    def to_json(self, *, top: int | None = None, examples: int = 3) -> dict[str, Any]:
        """A JSON-ready summary: totals, the first ``top`` type rows (all when None) and the
        new and freed objects by type (``top`` groups each)."""
        def group(g: TypeGroup) -> dict[str, Any]:
            return {"type": g.type, "count": g.count, "size": g.size,
                    "examples": [{"node": node, "address": f"{address:#x}", "label": label}
                                 for node, address, label in g.examples]}

        return {
            "before": {"objects": self.before.n, "bytes": int(self.before.size.sum()),
                       "pid": self.before.meta.get("pid"), "time": self.before.meta.get("time")},
            "after": {"objects": self.after.n, "bytes": int(self.after.size.sum()),
                      "pid": self.after.meta.get("pid"), "time": self.after.meta.get("time")},
            "new": {"objects": len(self.new), "bytes": self.new_bytes},
            "freed": {"objects": len(self.freed), "bytes": self.freed_bytes},
            "common": len(self.common),
            "types": [{"type": t.type, "count_before": t.count_before,
                       "count_after": t.count_after, "count_delta": t.count_delta,
                       "size_before": t.size_before, "size_after": t.size_after,
                       "size_delta": t.size_delta} for t in self.by_type[:top]],
            "new_by_type": [group(g) for g in self.new_by_type(examples)[:top]],
            "freed_by_type": [group(g) for g in self.freed_by_type(examples)[:top]],
            "warnings": list(self.warnings)}


def _groups(snap: Snapshot, nodes: I64, examples: int) -> list[TypeGroup]:
    """``nodes`` of ``snap`` grouped by type name (see :meth:`SnapshotDiff.new_by_type`)."""
    names = np.asarray(snap.types, dtype=object)
    kinds = snap.type_index[nodes]
    groups = []
    for t in np.unique(kinds).tolist():
        members = nodes[kinds == t]
        shown = tuple((int(v), int(snap.address[v]), snap.label_of(int(v)))
                      for v in members[:max(examples, 0)])
        groups.append(TypeGroup(str(names[t]), len(members), int(snap.size[members].sum()),
                                shown))
    groups.sort(key=lambda g: (-g.size, -g.count, g.type))
    return groups


def _global_types(before: Snapshot, after: Snapshot) -> tuple[list[str], I64, I64]:
    """Every type name of either snapshot (sorted), and each node's index into it."""
    names = sorted(set(before.types) | set(after.types))
    index = {name: i for i, name in enumerate(names)}
    remap_b = np.array([index[t] for t in before.types], dtype=np.int64)
    remap_a = np.array([index[t] for t in after.types], dtype=np.int64)
    return names, remap_b[before.type_index], remap_a[after.type_index]


def match(address_b: npt.NDArray[np.uint64], type_b: I64, address_a: npt.NDArray[np.uint64],
          type_a: I64) -> tuple[I64, I64]:
    """The pairs ``(i, j)`` of ``before`` node i and ``after`` node j with equal
    ``(address, type)``, the k-th of a key in ``before`` with the k-th in ``after``.

    Afterwards every node is in at most one pair, and the number of pairs of a key is the
    smaller of its two counts.

    >>> a = np.array([5, 5, 7], np.uint64)
    >>> [x.tolist() for x in match(a, np.array([0, 0, 1]), a[[1, 2]], np.array([0, 0]))]
    [[0], [0]]
    """
    nb = len(address_b)
    address = np.concatenate([address_b, address_a])
    kind = np.concatenate([type_b, type_a])
    side = np.concatenate([np.zeros(nb, np.int8), np.ones(len(address_a), np.int8)])
    node = np.concatenate([np.arange(nb), np.arange(len(address_a))])
    order = np.lexsort((node, side, kind, address))  # by key, before's nodes first
    address, kind, side, node = address[order], kind[order], side[order], node[order]
    boundary = np.ones(len(order), np.bool_)
    boundary[1:] = (address[1:] != address[:-1]) | (kind[1:] != kind[:-1])
    group = np.cumsum(boundary) - 1
    starts = np.flatnonzero(boundary)
    before_count = np.bincount(group, weights=side == 0).astype(np.int64)
    after_count = np.bincount(group, weights=side == 1).astype(np.int64)
    position = np.arange(len(order)) - starts[group]
    rank = np.where(side == 0, position, position - before_count[group])
    paired = np.where(side == 0, rank < after_count[group], rank < before_count[group])
    left = node[paired & (side == 0)]
    right = node[paired & (side == 1)]
    return left.astype(np.int64), right.astype(np.int64)


def diff(before: Snapshot, after: Snapshot) -> SnapshotDiff:
    """What changed from ``before`` to ``after`` (see the module docstring).

    Afterwards ``new``, ``freed`` and ``common`` partition the nodes: every node of ``after``
    is in ``new`` or in exactly one pair of ``common``, every node of ``before`` in ``freed``
    or in one pair; ``by_type`` has a row for every type name of either snapshot.
    """
    if not isinstance(before, Snapshot) or not isinstance(after, Snapshot):
        raise SnapshotError(f"diff needs two Snapshots, not {type(before).__name__} and "
                            f"{type(after).__name__}")
    names, type_b, type_a = _global_types(before, after)
    left, right = match(before.address, type_b, after.address, type_a)
    order = np.argsort(left, kind="stable")
    common = np.stack([left[order], right[order]], axis=1).reshape(-1, 2)
    kept_b = np.zeros(before.n, np.bool_)
    kept_b[left] = True
    kept_a = np.zeros(after.n, np.bool_)
    kept_a[right] = True
    k = len(names)
    count_b, count_a = np.bincount(type_b, minlength=k), np.bincount(type_a, minlength=k)
    size_b = _sums(type_b, before.size, k)
    size_a = _sums(type_a, after.size, k)
    rows = [TypeChange(names[t], int(count_b[t]), int(count_a[t]), int(size_b[t]),
                       int(size_a[t])) for t in range(k) if count_b[t] or count_a[t]]
    rows.sort(key=lambda r: (-r.size_delta, -r.count_delta, r.type))
    return SnapshotDiff(before, after, np.flatnonzero(~kept_a).astype(np.int64),
                        np.flatnonzero(~kept_b).astype(np.int64), common, tuple(rows),
                        _warnings(before, after))


def _sums(kind: I64, size: npt.NDArray[np.int64], k: int) -> I64:
    """The exact int64 sum of ``size`` per kind (``np.add.at``, not float weights)."""
    sums = np.zeros(k, np.int64)
    np.add.at(sums, kind, size)
    return sums


def _warnings(before: Snapshot, after: Snapshot) -> tuple[str, ...]:
    """Why identities across these two snapshots may mean little."""
    pid_b, pid_a = before.meta.get("pid"), after.meta.get("pid")
    if pid_b is not None and pid_a is not None and pid_b != pid_a:
        return (f"the snapshots come from different processes (pid {pid_b} and {pid_a}): "
                f"addresses do not identify objects across processes, only the by-type "
                f"comparison is meaningful",)
    return ()


__all__ = ["SnapshotDiff", "TypeChange", "TypeGroup", "diff", "match"]
