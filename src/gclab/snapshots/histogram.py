"""The type histogram of a snapshot: count, shallow and retained bytes by type.

``count`` and ``shallow`` sum over every node of the type (reachable or not, as MAT's and
DevTools' histograms do). ``retained`` is the bytes the type's instances keep alive without
double counting: a node's retained size counts for its type only when no node above it on
its dominator chain has the same type. A list inside a list adds nothing to
``builtins.list`` beyond the outer list, whose retained size already holds it; so a type's
retained bytes are the size of the union of its instances' retained sets and never exceed
the heap. This is Eclipse MAT's "minimum retained size" of a class: objects that only
several instances *together* keep alive (a node two instances both refer to) are in no
instance's retained set and not counted.

>>> from gclab.snapshots.model import RootKind, Snapshot
>>> snap = Snapshot.from_edges(           # a list holding a list holding a dict; a str alone
...     types=["builtins.list", "builtins.dict", "builtins.str"], type_index=[0, 0, 1, 2],
...     size=[56, 72, 232, 50], edges=[(0, 1), (1, 2)],
...     roots=[(0, RootKind.MODULE, "m.x"), (3, RootKind.MODULE, "m.s")])
>>> for row in histogram(snap).rows:
...     print(row)
TypeRow(type='builtins.list', count=2, shallow=128, retained=360)
TypeRow(type='builtins.dict', count=1, shallow=232, retained=232)
TypeRow(type='builtins.str', count=1, shallow=50, retained=50)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..errors import SnapshotError
from ..kernels.dominators import type_retained
from .model import Snapshot

#: The orders :meth:`TypeHistogram.top` knows.
SORT_KEYS = ("retained", "shallow", "count")


@dataclass(frozen=True)
class TypeRow:
    """One type's line: instances, their shallow bytes, the bytes they retain."""

    type: str
    count: int
    shallow: int
    retained: int


@dataclass(frozen=True)
class TypeHistogram:
    """Rows by type (only types with instances), biggest retained first (ties: bigger
    shallow, then type name); the totals of every node (``retained``: the reachable bytes)."""

    rows: tuple[TypeRow, ...]
    total_count: int
    total_shallow: int
    total_retained: int

    def top(self, k: int | None = None, *, by: str = "retained") -> list[TypeRow]:
        """The ``k`` first rows (all when None) by ``by`` (one of :data:`SORT_KEYS`),
        biggest first; ties keep the default order."""
        if by not in SORT_KEYS:
            raise SnapshotError(f"cannot sort a histogram by {by!r}: use one of "
                                f"{', '.join(SORT_KEYS)}")
        rows = sorted(self.rows, key=lambda row: -getattr(row, by))
        return rows if k is None else rows[:max(k, 0)]

    def row(self, type_name: str) -> TypeRow:
        """The row of ``type_name`` (SnapshotError when the snapshot has no instance)."""
        for row in self.rows:
            if row.type == type_name:
                return row
        raise SnapshotError(f"no instance of {type_name} in this snapshot")

    def to_json(self) -> dict[str, Any]:
        """The histogram as JSON-ready data (rows as objects, in order)."""
        return {"total_count": self.total_count, "total_shallow": self.total_shallow,
                "total_retained": self.total_retained,
                "rows": [asdict(row) for row in self.rows]}


def histogram(snap: Snapshot) -> TypeHistogram:
    """Count, shallow and retained bytes by type of ``snap`` (see the module docstring).

    Computes (or reuses) ``snap.dominators()``. A ``snap`` that is not a
    :class:`~gclab.snapshots.model.Snapshot` raises :class:`~gclab.errors.SnapshotError`."""
    if not isinstance(snap, Snapshot):
        raise SnapshotError(f"histogram needs a Snapshot, not {type(snap).__name__}")
    tree = snap.dominators()
    n_types = len(snap.types)
    types = snap.type_index.astype(np.int64)
    count = np.bincount(types, minlength=n_types)
    # float64 sums of integers are exact below 2**53 bytes (8 PiB)
    shallow = np.bincount(types, weights=snap.size, minlength=n_types).astype(np.int64)
    retained = type_retained(tree.order, tree.retained_count, types, tree.retained, n_types)
    present = np.flatnonzero(count)
    ranked = present[np.lexsort((np.array(snap.types, dtype=object)[present].astype(str),
                                 -shallow[present], -retained[present]))]
    rows = tuple(TypeRow(snap.types[t], int(count[t]), int(shallow[t]), int(retained[t]))
                 for t in ranked.tolist())
    return TypeHistogram(rows, snap.n, int(snap.size.sum()), tree.total)


__all__ = ["SORT_KEYS", "TypeHistogram", "TypeRow", "histogram"]
