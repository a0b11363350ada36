"""From the agent's raw dump to a :class:`~gclab.snapshots.Snapshot` (issue #9, parts 1-2).

:func:`snapshot` captures this process (the agent's walk without a file); :func:`convert` reads
a raw dump that :func:`gclab.snapshots.agent.dump` wrote in this or another process. Both end in
:func:`build`, which does with numpy what the target should not pay for:

* split the flat referent addresses on the sentinel's address into each node's references,
  map addresses to node ids (``argsort`` + ``searchsorted``) and drop references to objects the
  capture did not see (counted in ``meta["dropped_references"]``) and the capture's own objects;
* add the WEAK references (a weak reference object to its referent) and sort by source (CSR);
* name references: the agent's dict-key names, ``"[i]"`` for list and tuple items,
  ``"__class__"`` for an instance's reference to its type, ``"__dict__"`` for the instance dict
  where the layout makes it certain (no ``__slots__``, no 3.11+ inline values), and a module's
  dict;
* intern types and strings; flags and generations;
* EXTERNAL roots: CPython's ``update_refs``/``subtract_refs`` on the captured graph, the
  reference count minus the strong references from tracked nodes; a tracked node with a
  positive remainder and no named root is held from C or by an untracked object.

>>> snap = snapshot()
>>> snap.n > 1000 and snap.type_name(0).count(".") >= 1
True
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import SnapshotFileError
from . import agent
from .model import (
    FINALIZED,
    FINALIZER,
    FROZEN,
    GC_TYPE,
    IMMORTAL,
    PARTIAL,
    PERMANENT,
    STRONG,
    TRACKED,
    UNTRACKED,
    WEAK,
    RootKind,
    Snapshot,
)

Array = npt.NDArray[Any]

#: The agent's array typecodes as numpy dtypes.
_DTYPES = {"Q": np.uint64, "q": np.int64, "b": np.int8, "B": np.uint8}
#: On 3.12 and 3.13 a reference count at least this marks an immortal object.
IMMORTAL_COUNT = agent.IMMORTAL_COUNT


def snapshot(*, collect: bool = False) -> Snapshot:
    """Capture this process's heap (``collect``: run ``gc.collect()`` first).

    The agent walks in this process without a file; the capture's own objects (its walk,
    arrays and frames) are not in the result.
    """
    return from_walk(agent.walk(collect, _SKIP_CODES))


def from_walk(walk: agent.Walk) -> Snapshot:
    """The snapshot of a finished in-process walk (its arrays are read in place)."""
    header = {"meta": walk.meta, "types": [[a, i[0], i[1], i[2]] for a, i in walk.types.items()],
              "label_text": walk.label_text, "name_text": walk.name_text,
              "root_text": walk.root_text, "warnings": walk.warnings}
    arrays = {name: np.frombuffer(data, dtype=_DTYPES[data.typecode]) if len(data)
              else np.zeros(0, _DTYPES[data.typecode]) for name, data in walk.arrays.items()}
    return build(header, arrays)


_SKIP_CODES = (snapshot.__code__, from_walk.__code__)


def convert(raw_path: str | os.PathLike[str]) -> Snapshot:
    """The snapshot in the raw dump at ``raw_path``; a missing, truncated or corrupt dump
    raises :class:`~gclab.errors.SnapshotFileError` naming the file and the fault."""
    header, arrays = read_raw(raw_path)
    return build(header, arrays)


def read_raw(raw_path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Array]]:
    """The JSON header and the arrays (by section name) of a raw dump, checked: magic,
    format and version, every section's length and CRC-32, the end marker."""
    path = os.fspath(raw_path)

    def bad(what: str) -> SnapshotFileError:
        return SnapshotFileError(f"{path}: not a usable gclab raw dump: {what}")

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise SnapshotFileError(f"{path}: cannot read the raw dump: {error.strerror}") from None
    if not data.startswith(agent.MAGIC):
        raise bad("it does not start with the raw dump's magic bytes")
    at = len(agent.MAGIC)
    if len(data) < at + 8:
        raise bad("truncated inside the header")
    size = int.from_bytes(data[at:at + 8], "little")
    at += 8
    if len(data) < at + size:
        raise bad("truncated inside the header")
    try:
        header = json.loads(data[at:at + size])
    except ValueError:
        raise bad("its header is not valid JSON") from None
    if not isinstance(header, dict) or header.get("format") != agent.FORMAT:
        raise bad("its header does not name the gclab-raw format")
    if header.get("version") != agent.VERSION:
        raise bad(f"format version {header.get('version')!r}, this gclab reads "
                  f"{agent.VERSION}")
    at += size
    arrays: dict[str, Array] = {}
    for name, code, length, crc in header.get("sections", []):
        if code not in _DTYPES:
            raise bad(f"section {name} has an unknown typecode {code!r}")
        dtype = np.dtype(_DTYPES[code])
        end = at + int(length) * dtype.itemsize
        if end > len(data):
            raise bad(f"truncated in section {name}")
        if zlib.crc32(memoryview(data)[at:end]) & 0xFFFFFFFF != crc:
            raise bad(f"section {name} is corrupt (its CRC-32 does not match)")
        arrays[name] = np.frombuffer(data, dtype=dtype, count=int(length), offset=at)
        at = end
    if data[at:] != agent.END:
        raise bad("truncated or followed by extra bytes (no end marker where expected)")
    return header, arrays


class _Strings:
    """The strings table being built: ``index(text)`` interns one, ``indices(texts)`` many."""

    def __init__(self) -> None:
        self.table: dict[str, int] = {}

    def index(self, text: str) -> int:
        return self.table.setdefault(text, len(self.table))

    def indices(self, texts: Sequence[str]) -> Array:
        table = self.table
        for text in dict.fromkeys(texts):
            table.setdefault(text, len(table))
        return np.fromiter(map(table.__getitem__, texts), dtype=np.int64, count=len(texts))

    def tuple(self) -> tuple[str, ...]:
        return tuple(self.table)


def _lookup(sorted_addresses: Array, order: Array, wanted: Array) -> Array:
    """The node (position in ``order``'s frame) of each wanted address, -1 where absent."""
    if not len(sorted_addresses):
        return np.full(len(wanted), -1, dtype=np.int64)
    at = np.searchsorted(sorted_addresses, wanted)
    at[at >= len(sorted_addresses)] = 0
    hit = sorted_addresses[at] == wanted
    return np.where(hit, order[at], -1)


def build(header: Mapping[str, Any], arrays: Mapping[str, Array]) -> Snapshot:
    """The snapshot of a walk's header and arrays (see the module docstring)."""
    meta = dict(header.get("meta", {}))
    warnings = list(header.get("warnings", []))
    address = arrays["address"]
    n_all = len(address)
    n_tracked = int(meta.get("nodes_tracked", n_all))
    targets = arrays["targets"]
    is_sentinel = targets == np.uint64(meta["sentinel"])
    ends = np.flatnonzero(is_sentinel)
    if len(ends) != n_all or any(len(arrays[k]) != n_all for k in ("type", "size", "refcount")):
        raise SnapshotFileError("the raw dump's node columns and references disagree "
                                f"({n_all} nodes, {len(ends)} reference runs)")
    counts = np.diff(np.concatenate([[-1], ends])) - 1
    flat = targets[~is_sentinel]
    old_start = np.concatenate([[0], np.cumsum(counts)])

    # nodes kept: not the capture's own, each address once
    order = np.argsort(address, kind="stable")
    sorted_address = address[order]
    keep = np.ones(n_all, dtype=bool)
    keep[order[1:][sorted_address[1:] == sorted_address[:-1]]] = False
    own = _lookup(sorted_address, order, arrays["exclude"])
    keep[own[own >= 0]] = False
    new_id = np.cumsum(keep) - 1
    new_id[~keep] = -1
    n = int(keep.sum())

    def node_of(addresses: Array) -> Array:
        old = _lookup(sorted_address, order, addresses)
        return np.where(old >= 0, new_id[old], -1)

    # the types: one row per type object, interned by name
    type_rows = header.get("types", [])
    type_address = np.array([row[0] for row in type_rows], dtype=np.uint64)
    row_order = np.argsort(type_address)
    names = [str(row[1]) for row in type_rows] + ["?"]
    type_bits = np.array([int(row[2]) for row in type_rows] + [0], dtype=np.int64)
    node_row = _lookup(type_address[row_order], row_order, arrays["type"])
    node_row[node_row < 0] = len(type_rows)
    types, type_of_row = np.unique(np.array(names, dtype=object), return_inverse=True)
    node_bits = type_bits[node_row]

    # references: flat runs -> (source, target) node pairs, named, plus the weak ones
    strings = _Strings()
    edge_source_old = np.repeat(np.arange(n_all), counts)
    position = np.arange(len(flat)) - np.repeat(old_start[:-1], counts)
    name = np.full(len(flat), -1, dtype=np.int64)
    if len(arrays["name_src"]):
        src_old = _lookup(sorted_address, order, arrays["name_src"])
        pos = arrays["name_pos"]
        ok = (src_old >= 0) & (pos >= 0) & (pos < counts[np.maximum(src_old, 0)])
        text_ids = strings.indices(header.get("name_text", []))
        name[old_start[src_old[ok]] + pos[ok]] = text_ids[ok]
    target_old = _lookup(sorted_address, order, flat)
    _name_slots(name, flat, target_old, edge_source_old, position, counts, arrays["type"],
                type_of_row[node_row], types, node_bits, strings, meta)
    del position
    source = new_id[edge_source_old]
    del edge_source_old
    target = np.where(target_old >= 0, new_id[target_old], -1)
    del target_old
    weak_source = node_of(arrays["weak_src"])
    weak_target = node_of(arrays["weak_dst"])
    good = (source >= 0) & (target >= 0)
    weak_good = (weak_source >= 0) & (weak_target >= 0)
    meta["dropped_references"] = int((source >= 0).sum() - good.sum()
                                     + len(weak_source) - weak_good.sum())
    all_source = np.concatenate([source[good], weak_source[weak_good]])
    by_source = np.argsort(all_source, kind="stable")
    ref_target = np.concatenate([target[good], weak_target[weak_good]])[by_source]
    ref_kind = np.concatenate([np.full(int(good.sum()), STRONG, np.uint8),
                               np.full(int(weak_good.sum()), WEAK, np.uint8)])[by_source]
    ref_name = np.concatenate([name[good], np.full(int(weak_good.sum()), -1)])[by_source]
    ref_start = np.concatenate([[0], np.cumsum(np.bincount(all_source, minlength=n))])

    # node columns
    tracked = np.concatenate([np.ones(n_tracked, dtype=bool),
                              arrays["tracked"].astype(bool)])[:n_all]
    refcount = arrays["refcount"].astype(np.int64)  # less the capture's own references:
    overhead = [*meta.get("refcount_overhead", []), 0, 0]
    refcount[:n_tracked] -= overhead[0]
    refcount[n_tracked:] -= overhead[1]
    generation = np.where(tracked, 2, UNTRACKED).astype(np.int8)
    generation[n_tracked:][tracked[n_tracked:]] = PERMANENT
    for g in (1, 0):
        hit = _lookup(sorted_address, order, arrays[f"gen{g}"])
        generation[hit[hit >= 0]] = g
    flags = np.where(tracked, TRACKED, 0).astype(np.uint8)
    flags[generation == PERMANENT] |= FROZEN
    flags[(node_bits & agent.T_FINALIZER) != 0] |= FINALIZER
    flags[(node_bits & agent.T_GC) != 0] |= GC_TYPE
    for column, bit in (("finalized", FINALIZED), ("partial", PARTIAL)):
        hit = _lookup(sorted_address, order, arrays[column])
        flags[hit[hit >= 0]] |= bit
    if tuple(map(int, str(meta.get("python", "0.0")).split(".")[:2])) >= (3, 12):
        if "_is_immortal" in meta.get("immortal_rule", "") or len(arrays["immortal"]):
            hit = _lookup(sorted_address, order, arrays["immortal"])
            flags[hit[hit >= 0]] |= IMMORTAL
        else:
            flags[refcount >= IMMORTAL_COUNT] |= IMMORTAL
    label = np.full(n_all, -1, dtype=np.int64)
    label_node = _lookup(sorted_address, order, arrays["label_node"])
    label_ids = strings.indices(header.get("label_text", []))
    label[label_node[label_node >= 0]] = label_ids[label_node >= 0]

    # roots: the named ones, then EXTERNAL for the rest held from outside
    root_node = node_of(arrays["root_node"])
    root_ok = root_node >= 0
    root_name = strings.indices(header.get("root_text", []))[root_ok]
    root_node, root_kind = root_node[root_ok], arrays["root_kind"][root_ok]
    keep_rows = np.flatnonzero(keep)
    external = external_roots(ref_start, ref_target, ref_kind, refcount[keep_rows],
                              flags[keep_rows], root_node)
    meta["dropped_roots"] = int((~root_ok).sum())
    meta["excluded_nodes"] = int(n_all - n)
    return Snapshot.from_arrays(
        address=address[keep_rows], type_index=type_of_row[node_row][keep_rows],
        size=arrays["size"][keep_rows], refcount=refcount[keep_rows],
        generation=generation[keep_rows], flags=flags[keep_rows], label=label[keep_rows],
        ref_start=ref_start, ref_target=ref_target, ref_kind=ref_kind, ref_name=ref_name,
        root_node=np.concatenate([root_node, external]),
        root_kind=np.concatenate([root_kind, np.full(len(external), RootKind.EXTERNAL)]),
        root_name=np.concatenate([root_name, np.full(len(external), -1)]),
        types=[str(t) for t in types], strings=strings.tuple(), meta=meta,
        warnings=warnings)


def external_roots(ref_start: Array, ref_target: Array, ref_kind: Array, refcount: Array,
                   flags: Array, named: Array) -> Array:
    """The nodes CPython's collector would find held from outside the graph and that no
    named root holds: tracked, not immortal, with a reference count above the strong
    references from tracked nodes (``gc_refs`` after ``update_refs`` and ``subtract_refs``).

    >>> start, target = np.array([0, 1, 1]), np.array([1])
    >>> kind, flags = np.zeros(1, np.uint8), np.array([TRACKED, TRACKED], np.uint8)
    >>> external_roots(start, target, kind, np.array([1, 2]), flags, np.array([0])).tolist()
    [1]
    """
    n = len(refcount)
    tracked = (flags & TRACKED) != 0
    source = np.repeat(np.arange(n), np.diff(ref_start))
    counted = (ref_kind == STRONG) & tracked[source]
    gc_refs = refcount - np.bincount(ref_target[counted], minlength=n)
    held = tracked & ((flags & IMMORTAL) == 0) & (gc_refs > 0)
    held[named] = False
    return np.flatnonzero(held)


def _name_slots(name: Array, flat: Array, target_old: Array, source: Array, position: Array,
                counts: Array, type_address: Array, node_type: Array, types: Array, bits: Array,
                strings: _Strings, meta: Mapping[str, Any]) -> None:
    """Fill the names the layout makes certain where the agent gave none: ``"[i]"`` for list
    and tuple items, ``"__class__"`` for an instance's type, ``"__dict__"`` for an instance's
    dict (a heap type without ``__slots__`` or 3.11+ inline values: the dict is visited just
    before the type) and a module's dict (its first referent)."""
    if not len(flat):
        return

    def of_type(*names: str) -> Array:  # per node: is its type one of these?
        return np.isin(node_type, [i for i, t in enumerate(types) if t in names])

    unnamed = name < 0
    sequence = unnamed & of_type("builtins.list", "builtins.tuple")[source]
    if sequence.any():  # list_traverse and tupletraverse visit the last item first
        pos = (counts[source] - 1 - position)[sequence]
        labels = [f"[{i}]" for i in range(int(pos.max()) + 1)]
        name[sequence] = strings.indices(labels)[pos]
    heap = (bits[source] & agent.T_HEAP) != 0
    klass = unnamed & (flat == type_address[source]) & heap
    name[klass] = strings.index("__class__")
    plain = heap & ((bits[source] & agent.T_SLOTS) == 0)
    python = tuple(map(int, str(meta.get("python", "0.0")).split(".")[:2]))
    if python >= (3, 11):
        plain &= (bits[source] & agent.T_MANAGED_DICT) == 0
    before_class = np.zeros(len(flat), dtype=bool)
    before_class[:-1] = klass[1:] & (source[:-1] == source[1:])
    module_first = ((bits[source] & agent.T_MODULE) != 0) & (position == 0)
    is_dict = np.zeros(len(flat), dtype=bool)
    found = target_old >= 0
    is_dict[found] = of_type("builtins.dict")[target_old[found]]
    name[unnamed & is_dict & ((plain & before_class) | module_first)] = strings.index("__dict__")
