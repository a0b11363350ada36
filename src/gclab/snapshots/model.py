"""The snapshot model: a captured heap as flat arrays (``docs/design/snapshots.md``).

A :class:`Snapshot` holds ``n`` nodes (the objects of one process at one moment: every object
the collector tracks and the untracked objects they reference), their ``m`` references in CSR
form, and the roots that hold nodes from outside the graph. Node ``i`` is a row of every node
column; its references are ``ref_target[ref_start[i] : ref_start[i + 1]]``. Nothing here is a
Python object per node, so a 10,000,000-node snapshot costs about 40 bytes a node plus 10 a
reference.

The model is immutable: arrays are read-only and analyses return new arrays (cached per
snapshot by :meth:`Snapshot.cached`).

>>> snap = Snapshot.from_edges(
...     types=["builtins.list", "builtins.dict"], type_index=[0, 0, 1], size=[56, 56, 64],
...     edges=[(0, 1), (1, 0), (2, 0, WEAK, "w")], roots=[(2, RootKind.MODULE, "m.x")])
>>> snap.n, snap.m, snap.type_name(2), snap.referents(1).tolist()
(3, 3, 'builtins.dict', [0])
>>> snap.graph().out_edges(2).tolist()      # the strong graph: weak references are no edges
[]
>>> snap.root_names()
['m.x']
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import SnapshotError
from ..graphview import GraphView

Array = npt.NDArray[Any]

#: ``ref_kind`` values.
STRONG, WEAK = 0, 1

#: ``flags`` bits of a node.
TRACKED = 1        # the collector tracks it (gc.is_tracked)
FINALIZER = 2      # its type has a finalizer (__del__ / tp_finalize, tp_del on 2.7)
FINALIZED = 4      # PEP 442's finalized bit is set (gc.is_finalized, 3.9+)
FROZEN = 8         # in the permanent generation (gc.freeze)
GC_TYPE = 16       # its type supports the collector (a container), tracked or not
IMMORTAL = 32      # an immortal object (3.12+): its reference count means nothing
PARTIAL = 64       # the capture could not read all of it (see Snapshot.warnings)

#: ``generation`` of an object the collector does not track; 3 is the permanent generation.
UNTRACKED, PERMANENT = -1, 3


class RootKind(enum.IntEnum):
    """What holds a root node from outside the graph."""

    MODULE = 0      # a module global: name "module.name"
    FRAME = 1       # a local of a thread's frame: name "thread / function:line / variable"
    CLASS = 2       # a class attribute: name "module.Class.attr"
    GC_GARBAGE = 3  # an entry of gc.garbage: name "gc.garbage[i]"
    EXTERNAL = 4    # held from C or by an untracked object: its reference count is more
                    # than the references the capture saw (name "" or what is known)
    THREAD = 5      # a thread object or its state: name "thread <name>"


def _column(name: str, value: object, dtype: Any, length: int | None) -> Array:
    """``value`` as a read-only 1-D array of ``dtype`` (of ``length`` rows when given)."""
    try:
        array = np.asarray(value)
        if array.dtype.kind in "fO" and not isinstance(value, np.ndarray):
            # Python ints past int64 (addresses >= 2**63) make numpy guess float64 or object
            items = list(value)  # type: ignore[call-overload]
            if all(isinstance(item, int | np.integer) for item in items):
                array = np.array(items, dtype=dtype)
        if array.size == 0:
            array = array.astype(dtype)
        if array.dtype.kind not in "iub" or array.ndim != 1:
            raise SnapshotError(f"snapshot column {name} must be a 1-D integer array, "
                                f"not {array.dtype} of shape {array.shape}")
        if array.size and not np.can_cast(array.dtype, dtype):
            info = np.iinfo(dtype)
            if array.dtype.kind == "b" or int(array.min()) < info.min or \
                    int(array.max()) > info.max:
                raise SnapshotError(f"snapshot column {name} holds values outside "
                                    f"{info.min} .. {info.max}")
        array = np.ascontiguousarray(array, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as error:
        raise SnapshotError(f"snapshot column {name}: {error}") from None
    if length is not None and len(array) != length:
        raise SnapshotError(f"snapshot column {name} has {len(array)} rows, not {length}")
    view = array.view()
    view.setflags(write=False)
    return view


@dataclass(frozen=True, eq=False)
class Snapshot:
    """A captured heap (see the module docstring). Build with :meth:`from_arrays`,
    :meth:`from_edges`, the capture (:func:`gclab.snapshot`) or the store (``load``).

    Node columns (``n`` rows): ``address`` (``id()`` in the process, uint64; synthetic nodes
    0), ``type_index`` (into ``types``), ``size`` (shallow bytes, as ``sys.getsizeof``),
    ``refcount`` (the object's reference count without the capture's own references; -1
    unknown), ``generation`` (0, 1, 2, :data:`PERMANENT`, or :data:`UNTRACKED`), ``flags``
    (:data:`TRACKED` ...), ``label`` (into ``strings``, -1 for none: a module's or function's
    name, a short string's value; never a user ``__repr__``).

    References (``m`` rows, by source): ``ref_start`` (``n + 1`` offsets), ``ref_target``,
    ``ref_kind`` (:data:`STRONG` or :data:`WEAK`: a weak reference to its referent),
    ``ref_name`` (into ``strings``, -1 for none: an attribute, key or index).

    Roots (``r`` rows): ``root_node``, ``root_kind`` (:class:`RootKind`), ``root_name``.

    ``types`` and ``strings`` are tuples of str; ``meta`` holds the process's facts (python
    version, pid, time, gc thresholds and counts) and ``warnings`` what the capture could not
    read (hostile objects, objects that changed under it).
    """

    address: Array
    type_index: Array
    size: Array
    refcount: Array
    generation: Array
    flags: Array
    label: Array
    ref_start: Array
    ref_target: Array
    ref_kind: Array
    ref_name: Array
    root_node: Array
    root_kind: Array
    root_name: Array
    types: tuple[str, ...]
    strings: tuple[str, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def from_arrays(cls, *, address: object, type_index: object, size: object,
                    refcount: object, generation: object, flags: object, label: object,
                    ref_start: object, ref_target: object, ref_kind: object,
                    ref_name: object, root_node: object, root_kind: object,
                    root_name: object, types: Sequence[str], strings: Sequence[str],
                    meta: Mapping[str, Any] | None = None,
                    warnings: Sequence[str] = ()) -> Snapshot:
        """A snapshot of these columns, converted to their dtypes and checked
        (:meth:`validate`); a bad column raises :class:`~gclab.errors.SnapshotError`."""
        n = len(np.asarray(address))
        starts = _column("ref_start", ref_start, np.int64, n + 1)
        m = int(starts[-1]) if n + 1 == len(starts) else 0
        snap = cls(
            address=_column("address", address, np.uint64, n),
            type_index=_column("type_index", type_index, np.int32, n),
            size=_column("size", size, np.int64, n),
            refcount=_column("refcount", refcount, np.int64, n),
            generation=_column("generation", generation, np.int8, n),
            flags=_column("flags", flags, np.uint8, n),
            label=_column("label", label, np.int32, n),
            ref_start=starts,
            ref_target=_column("ref_target", ref_target, np.int32, m),
            ref_kind=_column("ref_kind", ref_kind, np.uint8, m),
            ref_name=_column("ref_name", ref_name, np.int32, m),
            root_node=_column("root_node", root_node, np.int32, None),
            root_kind=_column("root_kind", root_kind, np.uint8, None),
            root_name=_column("root_name", root_name, np.int32, None),
            types=tuple(types), strings=tuple(strings), meta=dict(meta or {}),
            warnings=tuple(warnings))
        snap.validate()
        return snap

    @classmethod
    def from_edges(cls, *, types: Sequence[str], type_index: Sequence[int],
                   size: Sequence[int] | None = None,
                   edges: Iterable[tuple[Any, ...]] = (),
                   roots: Iterable[tuple[int, int, str]] = (),
                   refcount: Sequence[int] | None = None,
                   flags: Sequence[int] | None = None,
                   labels: Sequence[str | None] | None = None,
                   address: Sequence[int] | None = None,
                   meta: Mapping[str, Any] | None = None) -> Snapshot:
        """A small snapshot for tests and examples. ``edges`` are ``(source, target)``,
        ``(source, target, kind)`` or ``(source, target, kind, name)``; ``roots`` are
        ``(node, RootKind, name)``. Defaults: every node tracked in generation 2, size 64,
        reference count = its incoming strong references + 1 for a root, address
        ``0x1000 + 16 * i``."""
        n = len(type_index)
        strings: list[str] = []
        index: dict[str, int] = {}

        def intern(text: str | None) -> int:
            if text is None:
                return -1
            if text not in index:
                index[text] = len(strings)
                strings.append(text)
            return index[text]

        rows = [(int(e[0]), int(e[1]), int(e[2]) if len(e) > 2 else STRONG,
                 intern(e[3]) if len(e) > 3 else -1) for e in edges]
        rows.sort(key=lambda row: row[0])  # stable: each source keeps its edges' order
        src = np.array([r[0] for r in rows], dtype=np.int64)
        tgt = np.array([r[1] for r in rows], dtype=np.int64)
        kind = np.array([r[2] for r in rows], dtype=np.uint8)
        if len(rows) and (src.min() < 0 or src.max() >= n or tgt.min() < 0 or tgt.max() >= n):
            raise SnapshotError(f"an edge names a node outside 0 .. {n - 1}")
        root_rows = [(int(node), int(k), intern(name)) for node, k, name in roots]
        if refcount is None:
            strong_in = np.bincount(tgt[kind == STRONG], minlength=n) if n else np.zeros(0)
            held = np.bincount([r[0] for r in root_rows], minlength=n) if root_rows else 0
            refcount = (strong_in + held).tolist() if n else []
        label_ids = [intern(t) for t in (labels or [None] * n)]
        return cls.from_arrays(
            address=address if address is not None else [0x1000 + 16 * i for i in range(n)],
            type_index=type_index, size=size if size is not None else [64] * n,
            refcount=refcount, generation=[2] * n,
            flags=flags if flags is not None else [TRACKED | GC_TYPE] * n, label=label_ids,
            ref_start=np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))]),
            ref_target=tgt, ref_kind=kind, ref_name=[r[3] for r in rows],
            root_node=[r[0] for r in root_rows], root_kind=[r[1] for r in root_rows],
            root_name=[r[2] for r in root_rows], types=types, strings=strings, meta=meta)

    def validate(self) -> None:
        """Raise :class:`~gclab.errors.SnapshotError` unless the columns are consistent:
        offsets start at 0 and never decrease, targets and root nodes are nodes, indices into
        ``types`` and ``strings`` are in range, kinds are known."""
        n, starts = self.n, self.ref_start
        if len(starts) != n + 1 or (n + 1 and starts[0] != 0):
            raise SnapshotError("ref_start must hold n + 1 offsets starting at 0")
        if n and (np.diff(starts) < 0).any():
            raise SnapshotError("ref_start must not decrease")
        checks = [("ref_target", self.ref_target, 0, n), ("root_node", self.root_node, 0, n),
                  ("type_index", self.type_index, 0, len(self.types)),
                  ("label", self.label, -1, len(self.strings)),
                  ("ref_name", self.ref_name, -1, len(self.strings)),
                  ("root_name", self.root_name, -1, len(self.strings)),
                  ("ref_kind", self.ref_kind, 0, 2),
                  ("root_kind", self.root_kind, 0, len(RootKind))]
        for name, column, low, high in checks:
            if len(column) and (int(column.min()) < low or int(column.max()) >= high):
                raise SnapshotError(f"snapshot column {name} holds values outside "
                                    f"{low} .. {high - 1}")
        if not len(self.root_node) == len(self.root_kind) == len(self.root_name):
            raise SnapshotError("root_node, root_kind and root_name differ in length")

    # -- reading ------------------------------------------------------------------------------

    @property
    def n(self) -> int:
        """The number of nodes."""
        return len(self.address)

    @property
    def m(self) -> int:
        """The number of references."""
        return len(self.ref_target)

    def __repr__(self) -> str:
        return (f"<Snapshot n={self.n} references={self.m} roots={len(self.root_node)} "
                f"python={self.meta.get('python', '?')}>")

    def type_name(self, node: int) -> str:
        """The qualified type name of ``node`` (``module.QualName``)."""
        return self.types[int(self.type_index[node])]

    def label_of(self, node: int) -> str | None:
        """``node``'s label (a module's name, a short string's value ...), or None."""
        index = int(self.label[node])
        return None if index < 0 else self.strings[index]

    def referents(self, node: int) -> Array:
        """The targets of ``node``'s references (strong and weak), in capture order."""
        return self.ref_target[self.ref_start[node]:self.ref_start[node + 1]]

    def node_of(self, address: int) -> int:
        """The node whose ``address`` is this, or :class:`~gclab.errors.SnapshotError`.

        >>> Snapshot.from_edges(types=["t"], type_index=[0]).node_of(0x1000)
        0
        """
        hits = np.flatnonzero(self.address == np.uint64(address))
        if not len(hits):
            raise SnapshotError(f"no object at address {address:#x} in this snapshot")
        return int(hits[0])

    def root_names(self) -> list[str]:
        """The roots' names, in root order."""
        return [self.strings[i] if i >= 0 else "" for i in self.root_name.tolist()]

    def graph(self, weak: bool = False) -> GraphView:
        """The reference graph as a :class:`~gclab.graphview.GraphView`: strong references
        only (weak ones are not edges), or every reference when ``weak`` is true."""
        key = "graph.weak" if weak else "graph.strong"
        if key not in self._cache:
            targets = self.ref_target.astype(np.int64)
            if not weak:
                targets[self.ref_kind != STRONG] = -1
            self._cache[key] = GraphView.from_csr(self.ref_start, targets)
        return self._cache[key]

    def cached(self, key: str, compute: Any) -> Any:
        """``compute()``, computed once per snapshot and key (analyses cache their results)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    # -- analyses (each computed once per snapshot; see docs/design/snapshots.md) -------------

    def garbage(self) -> Any:
        """What a full ``gc.collect()`` would free now (:func:`gclab.snapshots.garbage.dry_run`)."""
        from .garbage import dry_run

        return self.cached("garbage", lambda: dry_run(self))

    def dominators(self) -> Any:
        """The dominator tree and retained sizes
        (:func:`gclab.snapshots.dominators.dominator_tree`)."""
        from .dominators import dominator_tree

        return self.cached("dominators", lambda: dominator_tree(self))

    def why(self, target: int, *, limit: int = 3, address: bool = False) -> Any:
        """The shortest retainer paths from named roots to a node (an address when
        ``address`` is true) (:func:`gclab.snapshots.paths.why`)."""
        from .paths import why

        return why(self, self.node_of(target) if address else target, limit=limit)

    def leaks(self, *, share: float = 0.10) -> Any:
        """Leak suspects by Eclipse MAT's rules (:func:`gclab.snapshots.leaks.suspects`)."""
        from .leaks import suspects

        return suspects(self, share=share)

    def histogram(self) -> Any:
        """Count, shallow and retained bytes by type
        (:func:`gclab.snapshots.histogram.histogram`)."""
        from .histogram import histogram

        return self.cached("histogram", lambda: histogram(self))

    def diff(self, after: Snapshot) -> Any:
        """What changed from this snapshot to ``after`` (:func:`gclab.snapshots.diff.diff`)."""
        from .diff import diff

        return diff(self, after)
