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
    walked = agent.walk(collect, _SKIP_CODES)
    header, arrays = _walk_header(walked), _walk_arrays(walked, take=True)
    del walked
    return _build(header, arrays)


def from_walk(walk: agent.Walk) -> Snapshot:
    """The snapshot of a finished in-process walk (its arrays are read in place and left)."""
    return _build(_walk_header(walk), _walk_arrays(walk, take=False))


def _walk_header(walk: agent.Walk) -> dict[str, Any]:
    """The walk's header, as a raw dump's JSON header holds it."""
    return {"meta": walk.meta, "types": [[a, i[0], i[1], i[2]] for a, i in walk.types.items()],
              "label_text": walk.label_text, "name_text": walk.name_text,
              "root_text": walk.root_text, "warnings": walk.warnings}


def _walk_arrays(walk: agent.Walk, *, take: bool) -> dict[str, Array]:
    """The walk's arrays as numpy views of its buffers; ``take`` removes them from the walk
    (then each buffer lives only as long as its view)."""
    names = list(walk.arrays)
    out = {}
    for name in names:
        data = walk.arrays.pop(name) if take else walk.arrays[name]
        out[name] = (np.frombuffer(data, dtype=_DTYPES[data.typecode]) if len(data)
                     else np.zeros(0, _DTYPES[data.typecode]))
    return out


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


#: Addresses looked up per ``np.searchsorted`` call: bounds the int64 temporaries of a lookup.
LOOKUP_CHUNK = 1 << 18


def _lookup(sorted_addresses: Array, ids: Array, wanted: Array) -> Array:
    """``ids[i]`` where ``sorted_addresses[i]`` equals each wanted address, -1 where absent
    (in ``ids``' dtype; looked up in chunks, so no int64 temporary of ``len(wanted)`` exists).

    >>> _lookup(np.array([5, 9], np.uint64), np.array([1, 0], np.int32),
    ...         np.array([9, 7, 5], np.uint64)).tolist()
    [0, -1, 1]
    """
    found = np.full(len(wanted), -1, dtype=ids.dtype)
    if not len(sorted_addresses):
        return found
    last = len(sorted_addresses) - 1
    for low in range(0, len(wanted), LOOKUP_CHUNK):
        part = wanted[low:low + LOOKUP_CHUNK]
        at = np.searchsorted(sorted_addresses, part)
        np.minimum(at, last, out=at)
        hit = sorted_addresses[at] == part
        found[low:low + len(part)][hit] = ids[at[hit]]
    return found


def _index_dtype(size: int) -> Any:
    """int32 when every index below ``size`` (and -1) fits, else int64."""
    return np.int32 if size < 2 ** 31 - 1 else np.int64


def build(header: Mapping[str, Any], arrays: Mapping[str, Array]) -> Snapshot:
    """The snapshot of a walk's header and arrays (see the module docstring); ``arrays`` is
    left as it was."""
    return _build(header, dict(arrays))


def _build(header: Mapping[str, Any], arrays: dict[str, Array]) -> Snapshot:
    """:func:`build` that consumes ``arrays``: each one is removed from the dict once used,
    so that it is freed then when the caller holds no other reference (the in-process path)."""
    meta = dict(header.get("meta", {}))
    warnings = list(header.get("warnings", []))
    n_all = len(arrays["address"])
    if any(len(arrays[k]) != n_all for k in ("type", "size", "refcount")):
        raise SnapshotFileError("the raw dump's node columns disagree in length")
    index = _index_dtype(n_all)

    # nodes kept: not the capture's own, each address once; sorted addresses -> old row, new id
    address = arrays.pop("address")
    order = np.argsort(address, kind="stable").astype(index)
    sorted_address = address[order]
    keep = np.ones(n_all, dtype=bool)
    keep[order[1:][sorted_address[1:] == sorted_address[:-1]]] = False
    own = _lookup(sorted_address, order, arrays.pop("exclude"))
    keep[own[own >= 0]] = False
    new_id = np.cumsum(keep, dtype=index) - 1
    new_id[~keep] = -1
    n = int(keep.sum())
    sorted_new = new_id[order]
    address = address[keep]

    ids = (sorted_address, sorted_new)  # _lookup(*ids, addresses): new node ids, or -1

    # references: the flat runs split on the sentinel, targets as old rows
    targets = arrays.pop("targets")
    is_sentinel = targets == np.uint64(meta["sentinel"])
    ends = np.flatnonzero(is_sentinel)
    if len(ends) != n_all:
        raise SnapshotFileError("the raw dump's node columns and references disagree "
                                f"({n_all} nodes, {len(ends)} reference runs)")
    counts = (np.diff(ends, prepend=-1) - 1).astype(index)
    del ends
    old_start = np.concatenate([[0], np.cumsum(counts)])
    target_old = _lookup(sorted_address, order, targets)
    del targets
    target_old = target_old[~is_sentinel]
    del is_sentinel
    source_old = np.repeat(np.arange(n_all, dtype=index), counts)

    # the types: one row per type object, interned by name
    type_rows = header.get("types", [])
    type_address = np.array([row[0] for row in type_rows], dtype=np.uint64)
    row_order = np.argsort(type_address).astype(np.int32)
    names = [str(row[1]) for row in type_rows] + ["?"]
    type_bits = np.array([int(row[2]) for row in type_rows] + [0], dtype=np.int32)
    node_type_address = arrays.pop("type")
    node_row = _lookup(type_address[row_order], row_order, node_type_address)
    node_row[node_row < 0] = len(type_rows)
    types, type_of_row = np.unique(np.array(names, dtype=object), return_inverse=True)
    type_of_row = type_of_row.astype(np.int32)
    node_bits = type_bits[node_row]
    node_type = type_of_row[node_row]
    del node_row

    # reference names: the agent's, then the ones the layout makes certain
    strings = _Strings()
    name = np.full(len(target_old), -1, dtype=np.int32)
    if len(arrays["name_src"]):
        src_old = _lookup(sorted_address, order, arrays["name_src"])
        pos = arrays["name_pos"]
        ok = (src_old >= 0) & (pos >= 0) & (pos < counts[np.maximum(src_old, 0)])
        text_ids = strings.indices(header.get("name_text", []))
        name[old_start[src_old[ok]] + pos[ok]] = text_ids[ok]
    type_old = _lookup(sorted_address, order, node_type_address)
    del node_type_address
    _name_slots(name, target_old, source_old, counts, old_start, type_old, node_type, types,
                node_bits, strings, meta)
    del type_old, old_start

    # (source, target) node pairs kept, in source order, then the weak ones merged in
    source = new_id[source_old]
    del source_old
    target = np.append(new_id, -1)[target_old]
    del target_old
    weak_source = _lookup(*ids, arrays.pop("weak_src"))
    weak_target = _lookup(*ids, arrays.pop("weak_dst"))
    good = (source >= 0) & (target >= 0)
    weak_good = (weak_source >= 0) & (weak_target >= 0)
    meta["dropped_references"] = int((source >= 0).sum() - good.sum()
                                     + len(weak_source) - weak_good.sum())
    source, ref_target, ref_name = source[good], target[good], name[good]
    del target, name, good
    ref_kind = np.full(len(ref_target), STRONG, np.uint8)
    per_node = np.bincount(source, minlength=n)
    if weak_good.any():
        weak_source, weak_target = weak_source[weak_good], weak_target[weak_good]
        at = np.searchsorted(source, weak_source, side="right")
        ref_target = np.insert(ref_target, at, weak_target)
        ref_kind = np.insert(ref_kind, at, WEAK)
        ref_name = np.insert(ref_name, at, -1)
        per_node += np.bincount(weak_source, minlength=n)
    del source
    ref_start = np.concatenate([[0], np.cumsum(per_node)])
    del per_node

    # node columns
    n_tracked = int(meta.get("nodes_tracked", n_all))
    n_tracked_kept = int(keep[:n_tracked].sum())
    tracked = np.concatenate([np.ones(n_tracked, dtype=bool),
                              arrays.pop("tracked").astype(bool)])[:n_all][keep]
    refcount = arrays.pop("refcount")[keep].astype(np.int64)  # less the capture's own refs:
    overhead = [*meta.get("refcount_overhead", []), 0, 0]
    refcount[:n_tracked_kept] -= overhead[0]
    refcount[n_tracked_kept:] -= overhead[1]
    size = arrays.pop("size")[keep]
    node_bits, node_type = node_bits[keep], node_type[keep]
    del keep
    generation = np.where(tracked, 2, UNTRACKED).astype(np.int8)
    generation[n_tracked_kept:][tracked[n_tracked_kept:]] = PERMANENT
    for g in (1, 0):
        hit = _lookup(*ids, arrays.pop(f"gen{g}"))
        generation[hit[hit >= 0]] = g
    flags = np.where(tracked, TRACKED, 0).astype(np.uint8)
    del tracked
    flags[generation == PERMANENT] |= FROZEN
    flags[(node_bits & agent.T_FINALIZER) != 0] |= FINALIZER
    flags[(node_bits & agent.T_GC) != 0] |= GC_TYPE
    del node_bits
    for column, bit in (("finalized", FINALIZED), ("partial", PARTIAL)):
        hit = _lookup(*ids, arrays.pop(column))
        flags[hit[hit >= 0]] |= bit
    if tuple(map(int, str(meta.get("python", "0.0")).split(".")[:2])) >= (3, 12):
        if "_is_immortal" in meta.get("immortal_rule", "") or len(arrays["immortal"]):
            hit = _lookup(*ids, arrays["immortal"])
            flags[hit[hit >= 0]] |= IMMORTAL
        else:
            flags[refcount >= IMMORTAL_COUNT] |= IMMORTAL
    label = np.full(n, -1, dtype=np.int32)
    label_node = _lookup(*ids, arrays.pop("label_node"))
    label_ids = strings.indices(header.get("label_text", []))
    label[label_node[label_node >= 0]] = label_ids[label_node >= 0]
    del label_node, label_ids

    # roots: the named ones, then EXTERNAL for the rest held from outside
    root_node = _lookup(*ids, arrays["root_node"])
    del ids, sorted_address, order, sorted_new, new_id
    root_ok = root_node >= 0
    root_name = strings.indices(header.get("root_text", []))[root_ok]
    root_node, root_kind = root_node[root_ok], arrays["root_kind"][root_ok]
    external = external_roots(ref_start, ref_target, ref_kind, refcount, flags, root_node)
    meta["dropped_roots"] = int((~root_ok).sum())
    meta["excluded_nodes"] = int(n_all - n)
    return Snapshot.from_arrays(
        address=address, type_index=node_type, size=size, refcount=refcount,
        generation=generation, flags=flags, label=label,
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
    counted = (ref_kind == STRONG) & np.repeat(tracked, np.diff(ref_start))
    gc_refs = refcount - np.bincount(ref_target[counted], minlength=n)
    held = tracked & ((flags & IMMORTAL) == 0) & (gc_refs > 0)
    held[named] = False
    return np.flatnonzero(held)


def _name_slots(name: Array, target_old: Array, source: Array, counts: Array,
                start: Array, type_old: Array, node_type: Array, types: Array, bits: Array,
                strings: _Strings, meta: Mapping[str, Any]) -> None:
    """Fill the names the layout makes certain where the agent gave none: ``"[i]"`` for list
    and tuple items, ``"__class__"`` for an instance's type, ``"__dict__"`` for an instance's
    dict (a heap type without ``__slots__`` or 3.11+ inline values: the dict is visited just
    before the type) and a module's dict (its first referent). References are in the old
    frame: ``source``/``target_old`` are rows of the walk (-1: not a node), ``start`` and
    ``counts`` each row's run; ``type_old`` is the row of each row's type (or -1)."""
    if not len(name):
        return

    def of_type(*names: str) -> Array:  # per node: is its type one of these?
        return np.isin(node_type, [i for i, t in enumerate(types) if t in names])

    unnamed = name < 0
    sequence = np.flatnonzero(unnamed & np.repeat(of_type("builtins.list", "builtins.tuple"),
                                                  counts))
    if len(sequence):  # list_traverse and tupletraverse visit the last item first
        pos = start[source[sequence] + 1] - 1 - sequence
        labels = [f"[{i}]" for i in range(int(pos.max()) + 1)]
        name[sequence] = strings.indices(labels)[pos]
    del sequence
    heap = (bits & agent.T_HEAP) != 0
    klass = unnamed & np.repeat(heap, counts) & (target_old == type_old[source])
    klass &= target_old >= 0
    del unnamed  # from here on name < 0 marks the same references where it matters
    name[klass] = strings.index("__class__")
    plain = heap & ((bits & agent.T_SLOTS) == 0)
    python = tuple(map(int, str(meta.get("python", "0.0")).split(".")[:2]))
    if python >= (3, 11):
        plain &= (bits & agent.T_MANAGED_DICT) == 0
    chosen = np.zeros(len(name), dtype=bool)
    chosen[:-1] = klass[1:] & (source[:-1] == source[1:])
    del klass
    chosen &= np.repeat(plain, counts)
    module = np.flatnonzero(((bits & agent.T_MODULE) != 0) & (counts > 0))
    chosen[start[module]] = True
    chosen &= name < 0
    chosen &= np.append(of_type("builtins.dict"), False)[target_old]
    name[chosen] = strings.index("__dict__")
