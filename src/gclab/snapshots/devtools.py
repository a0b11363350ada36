"""Export a snapshot as Chrome DevTools' ``.heapsnapshot`` (V8's heap snapshot JSON).

The file opens in Chrome DevTools' Memory panel ("Load profile") and in memlab. V8's format is
one JSON object: ``snapshot`` (the ``meta`` that names the fields, ``node_count``,
``edge_count``), then the flat number arrays ``nodes`` (7 numbers a node: :data:`NODE_FIELDS`)
and ``edges`` (3 numbers an edge: :data:`EDGE_FIELDS`; a node's edges follow the previous
node's, ``edge_count`` of them; ``to_node`` is the target's offset in ``nodes``, its index
times 7), the empty arrays of allocation traces, samples and locations, and ``strings`` last.
Every number is an unsigned 32-bit integer: DevTools and memlab parse the arrays into
``Uint32Array`` s.

How a Python heap maps onto it:

* Node 0 is the synthetic root. Its ``element`` edges lead to synthetic root groups, one for
  each kind of named root: ``(Python modules)`` (module globals), ``(thread NAME)`` (the locals
  of a thread's frames, and the thread itself), ``(class attributes)``, ``(gc.garbage)`` and
  ``(held from C)``. A group's edges lead to its roots' nodes and carry the root's name
  (``mymod.cache``, ``handle:12 / request``).
* Node types: ``object`` for instances, containers and modules (named by their type, without
  the ``builtins.`` prefix, so DevTools' Summary groups them by class: ``dict``, ``list``,
  ``mymod.Session``); ``string`` for ``str``/``bytes`` (named by their value when the capture
  kept it); ``number`` for ``int``/``float``/``complex``/``bool``; ``closure`` for functions,
  methods and classes (named by their name); ``code`` for code objects; ``hidden`` for the
  interpreter's internals (cells, frames, tracebacks, descriptors). A list is an ``object``
  named ``list`` with ``element`` edges, as V8 writes a JavaScript array (its ``array`` type is
  V8's internal backing store, shown as "(array)").
* Edge types: a dict key or attribute is a ``property`` (named by the key), an index
  (``[3]``) an ``element``, a slot such as ``__dict__`` or ``__class__`` an ``internal``, an
  unnamed reference ``hidden``; a weak reference to its referent is ``weak`` (DevTools and
  memlab skip weak edges for distances, dominators and retained sizes, as gclab does).
* Node ids: DevTools matches objects across snapshots by id (its Comparison view), so the id is
  derived from the object's address: ``(address >> 4) mod 2**31``, times 2, plus 1 (odd, as V8
  numbers JavaScript objects; the root is 1 and the groups 3, 5, ...). A node whose id is
  taken (addresses 32 GiB apart, synthetic nodes of address 0) gets the smallest free odd id;
  :attr:`HeapSnapshotExport.id_clashes` counts them.

The arrays are written in chunks of :data:`CHUNK_ROWS` rows formatted by a compiled helper,
never as one Python list: a 10,000,000-object snapshot does not build a giant Python structure.
A file path is written atomically (a temporary file beside it, renamed at the end) and never
over an existing file unless ``overwrite`` is true.

>>> import io, json
>>> from gclab.snapshots import RootKind, Snapshot, WEAK
>>> snap = Snapshot.from_edges(
...     types=["builtins.dict", "builtins.str", "weakref.ReferenceType"], type_index=[0, 1, 2],
...     edges=[(0, 1, 0, "['name']"), (2, 0, WEAK)], labels=[None, "ada", None],
...     roots=[(0, RootKind.MODULE, "app.users"), (2, RootKind.MODULE, "app.ref")])
>>> out = io.BytesIO()
>>> summary = export_heapsnapshot(snap, out)
>>> summary.nodes, summary.edges, summary.synthetic
(5, 5, 2)
>>> doc = json.loads(out.getvalue())
>>> doc["snapshot"]["node_count"], len(doc["nodes"]) == 7 * 5, len(doc["edges"]) == 3 * 5
(5, True, True)
>>> [doc["strings"][doc["nodes"][7 * i + 1]] for i in range(5)]
['', '(Python modules)', 'dict', 'ada', 'weakref.ReferenceType']
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from .._jit import jit
from ..errors import SnapshotError, SnapshotFileError
from .files import publish
from .model import WEAK, RootKind, Snapshot

Array = npt.NDArray[Any]

#: V8's node fields, in the order of each node's 7 numbers.
NODE_FIELDS = ("type", "name", "id", "self_size", "edge_count", "trace_node_id", "detachedness")
#: V8's node types (the ``type`` field indexes this list).
NODE_TYPES = ("hidden", "array", "string", "object", "code", "closure", "regexp", "number",
              "native", "synthetic", "concatenated string", "sliced string", "symbol", "bigint",
              "object shape", "wasm object")
#: V8's edge fields, in the order of each edge's 3 numbers.
EDGE_FIELDS = ("type", "name_or_index", "to_node")
#: V8's edge types (the ``type`` field indexes this list).
EDGE_TYPES = ("context", "element", "property", "internal", "hidden", "shortcut", "weak")

_N = {name: i for i, name in enumerate(NODE_TYPES)}
_E = {name: i for i, name in enumerate(EDGE_TYPES)}
_NODE_WIDTH, _EDGE_WIDTH = len(NODE_FIELDS), len(EDGE_FIELDS)
_UINT32_MAX = 2**32 - 1

#: Rows of ``nodes`` or ``edges`` formatted at a time.
CHUNK_ROWS = 1 << 18

_STRING_TYPES = {"builtins.str", "builtins.bytes", "builtins.bytearray"}
_NUMBER_TYPES = {"builtins.int", "builtins.float", "builtins.complex", "builtins.bool"}
_CODE_TYPES = {"builtins.code"}
_CLOSURE_TYPES = {"builtins.function", "builtins.method", "builtins.builtin_function_or_method",
                  "builtins.classmethod", "builtins.staticmethod", "builtins.type",
                  "abc.ABCMeta", "enum.EnumMeta", "enum.EnumType", "functools.partial"}
_HIDDEN_TYPES = {"builtins.cell", "builtins.frame", "builtins.traceback",
                 "builtins.getset_descriptor", "builtins.member_descriptor",
                 "builtins.wrapper_descriptor", "builtins.method_descriptor",
                 "builtins.classmethod_descriptor", "builtins.mappingproxy"}
#: The node types whose name is the node's label (a value or a function's name) when it has one.
_LABELLED = {_N["string"], _N["number"], _N["closure"], _N["code"]}

_GROUP_OF_KIND = {RootKind.MODULE: "(Python modules)", RootKind.CLASS: "(class attributes)",
                  RootKind.GC_GARBAGE: "(gc.garbage)", RootKind.EXTERNAL: "(held from C)"}
_EDGE_OF_KIND = {RootKind.MODULE: "property", RootKind.CLASS: "property",
                 RootKind.GC_GARBAGE: "property", RootKind.EXTERNAL: "internal",
                 RootKind.FRAME: "context", RootKind.THREAD: "internal"}

_INDEX = re.compile(r"\[(\d+)\]")
_KEY = re.compile(r"\[(['\"])(.*)\1\]", re.DOTALL)


@dataclass(frozen=True)
class HeapSnapshotExport:
    """What :func:`export_heapsnapshot` wrote: ``nodes`` and ``edges`` in the file (the
    synthetic root and groups included: snapshot node ``i`` is file node ``synthetic + i``),
    ``strings``, ``bytes`` written, ``id_clashes`` (nodes whose id could not be derived from
    their address: see :func:`node_ids`) and ``path`` (None for a file object)."""

    path: str | None
    nodes: int
    edges: int
    strings: int
    bytes: int
    id_clashes: int
    synthetic: int


class _Strings:
    """The file's string table: the snapshot's strings first (their indices are kept), then
    the strings the export adds, each once."""

    def __init__(self, base: tuple[str, ...]) -> None:
        self.table: list[str] = list(base)
        self._index: dict[str, int] = {}

    def intern(self, text: str) -> int:
        """The index of ``text`` in the table (appended when new)."""
        if text not in self._index:
            self._index[text] = len(self.table)
            self.table.append(text)
        return self._index[text]


@dataclass(frozen=True)
class _Layout:
    """Every column of the file except the strings, as arrays (one entry per snapshot node,
    reference, synthetic node or synthetic edge)."""

    synthetic_rows: Array     # (1 + groups, 7) uint64: the root and the groups
    synthetic_edges: Array    # (groups + roots, 3) uint64: root -> group, group -> node
    node_type: Array          # uint8 per snapshot node
    node_name: Array          # uint32 per snapshot node
    node_id: Array            # uint64 per snapshot node
    node_size: Array          # uint64 per snapshot node
    edge_type: Array          # uint8 per reference
    edge_name: Array          # uint32 per reference
    id_clashes: int           # nodes whose id is not their address's (see node_ids)


def _display_type(name: str) -> str:
    """A type's name as DevTools shows a class: without the ``builtins.`` prefix."""
    return name[len("builtins."):] if name.startswith("builtins.") else name


def _node_type_of(type_name: str) -> int:
    """The V8 node type of an object of this Python type."""
    for names, kind in ((_STRING_TYPES, "string"), (_NUMBER_TYPES, "number"),
                        (_CODE_TYPES, "code"), (_CLOSURE_TYPES, "closure"),
                        (_HIDDEN_TYPES, "hidden")):
        if type_name in names:
            return _N[kind]
    return _N["object"]


def _nodes(snap: Snapshot, strings: _Strings) -> tuple[Array, Array]:
    """Each node's V8 type and name (an index into ``strings``): afterwards labelled strings,
    numbers, functions and code objects are named by their label, every other node by its
    type."""
    kind_of_type = np.array([_node_type_of(t) for t in snap.types], dtype=np.uint8)
    name_of_type = np.array([strings.intern(_display_type(t)) for t in snap.types],
                            dtype=np.uint32)
    node_type = kind_of_type[snap.type_index] if snap.n else np.zeros(0, np.uint8)
    node_name = name_of_type[snap.type_index] if snap.n else np.zeros(0, np.uint32)
    labelled = np.isin(node_type, sorted(_LABELLED)) & (snap.label >= 0)
    node_name[labelled] = snap.label[labelled]
    return node_type, node_name


def _edge_kind_of_name(text: str, strings: _Strings, index: int) -> tuple[int, int]:
    """The V8 edge type and name-or-index of a reference named ``text`` (``index`` in the
    table): ``[3]`` an element 3, ``['k']`` a property k, ``__dict__`` internal, else a
    property of that name."""
    match = _INDEX.fullmatch(text)
    if match and int(match.group(1)) <= _UINT32_MAX:
        return _E["element"], int(match.group(1))
    match = _KEY.fullmatch(text)
    if match:
        return _E["property"], strings.intern(match.group(2))
    if len(text) > 4 and text.startswith("__") and text.endswith("__"):
        return _E["internal"], index
    return _E["property"], index


def _edges(snap: Snapshot, strings: _Strings) -> tuple[Array, Array]:
    """Each reference's V8 type and name-or-index: afterwards named references are typed by
    their name (:func:`_edge_kind_of_name`), unnamed ones are ``hidden`` with their position
    among the source's references, and weak references are ``weak`` with a string name."""
    m = snap.m
    edge_type = np.full(m, _E["hidden"], dtype=np.uint8)
    edge_name = np.zeros(m, dtype=np.uint32)
    named = snap.ref_name >= 0
    if named.any():
        used = _unique(snap.ref_name[named])
        kinds = np.zeros(len(snap.strings), dtype=np.uint8)
        values = np.zeros(len(snap.strings), dtype=np.uint32)
        for i in used.tolist():
            kinds[i], values[i] = _edge_kind_of_name(snap.strings[i], strings, i)
        edge_type[named] = kinds[snap.ref_name[named]]
        edge_name[named] = values[snap.ref_name[named]]
    unnamed = ~named
    if unnamed.any():
        position = np.arange(m, dtype=np.int64) - np.repeat(snap.ref_start[:-1],
                                                            np.diff(snap.ref_start))
        edge_name[unnamed] = np.minimum(position[unnamed], _UINT32_MAX)
    weak = snap.ref_kind == WEAK
    if weak.any():
        edge_type[weak] = _E["weak"]
        edge_name[weak & named] = snap.ref_name[weak & named]
        edge_name[weak & unnamed] = strings.intern("referent")
    return edge_type, edge_name


def _root_group(kind: int, name: str) -> tuple[str, str]:
    """The synthetic group of a root of this kind and name, and the name of the group's edge
    to the root's node: a frame's ``"thread / function:line / variable"`` is the edge
    ``"function:line / variable"`` of the group ``"(thread thread)"``."""
    if kind == RootKind.FRAME:
        thread, _, rest = name.partition(" / ")
        return f"(thread {thread or '?'})", rest or name
    if kind == RootKind.THREAD:
        thread = name[len("thread "):] if name.startswith("thread ") else name
        return f"(thread {thread or '?'})", name or "thread"
    return _GROUP_OF_KIND[RootKind(kind)], name


def _synthetic(snap: Snapshot, strings: _Strings) -> tuple[list[str], Array, Array]:
    """The root groups (names, in order), each group's edge rows (root -> group first, then
    group -> node, grouped by group, in root order within a group) and each group's number
    of edges. Afterwards every root of the snapshot is one group edge."""
    r = len(snap.root_node)
    key = snap.root_kind.astype(np.int64) * (len(snap.strings) + 1) + snap.root_name + 1
    unique, inverse = np.unique(key, return_inverse=True)
    group_names: list[str] = []
    group_index: dict[str, int] = {}
    group_of_unique = np.zeros(len(unique), dtype=np.int64)
    edge_type_of_unique = np.zeros(len(unique), dtype=np.uint64)
    edge_name_of_unique = np.zeros(len(unique), dtype=np.uint64)
    for u, value in enumerate(unique.tolist()):
        kind, name_index = divmod(value, len(snap.strings) + 1)
        name = snap.strings[name_index - 1] if name_index else ""
        group, edge = _root_group(kind, name)
        group_of_unique[u] = group_index.setdefault(group, len(group_index))
        if len(group_names) < len(group_index):
            group_names.append(group)
        edge_type_of_unique[u] = _E[_EDGE_OF_KIND[RootKind(kind)]]
        edge_name_of_unique[u] = strings.intern(edge or "(unnamed)")
    groups = len(group_names)
    group_of_root = group_of_unique[inverse.ravel()] if r else np.zeros(0, np.int64)
    order = np.argsort(group_of_root, kind="stable")
    rows = np.zeros((groups + r, _EDGE_WIDTH), dtype=np.uint64)
    rows[:groups, 0] = _E["element"]
    rows[:groups, 1] = np.arange(groups)
    rows[:groups, 2] = (1 + np.arange(groups)) * _NODE_WIDTH
    root_unique = inverse.ravel()[order] if r else np.zeros(0, np.int64)
    rows[groups:, 0] = edge_type_of_unique[root_unique]
    rows[groups:, 1] = edge_name_of_unique[root_unique]
    rows[groups:, 2] = (1 + groups + snap.root_node[order].astype(np.uint64)) * _NODE_WIDTH
    counts = np.bincount(group_of_root, minlength=groups)
    return group_names, rows, counts


def _unique(values: Array) -> Array:
    """The distinct values of ``values``, sorted (by sorting: numpy's hash-based ``unique``
    is many times slower on large integer arrays)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]


def node_ids(snap: Snapshot, synthetic: int = 1) -> tuple[Array, int]:
    """The V8 node id of every snapshot node (uint64, odd, below 2**32, unique, clear of the
    ``synthetic`` nodes' ids ``1, 3, ..., 2 * synthetic - 1``) and the number of nodes whose id
    is not their address's. A node's id is ``(address >> 4) mod 2**31``, times 2, plus 1;
    a node whose id is taken (by a synthetic node or an earlier node: addresses 32 GiB apart,
    or synthetic nodes of address 0) gets the smallest free odd id instead.

    >>> from gclab.snapshots import Snapshot
    >>> snap = Snapshot.from_edges(types=["t"], type_index=[0, 0], address=[0x1000, 0x1010])
    >>> ids, clashes = node_ids(snap)
    >>> ids.tolist(), clashes
    ([513, 515], 0)
    >>> same = Snapshot.from_edges(types=["t"], type_index=[0, 0, 0], address=[0, 0, 0x20])
    >>> ids, clashes = node_ids(same, synthetic=2)
    >>> ids.tolist(), clashes
    ([7, 9, 5], 2)
    """
    ids = ((snap.address >> np.uint64(4)) & np.uint64(0x7FFFFFFF)) * np.uint64(2) + np.uint64(1)
    clash = ids < np.uint64(2 * synthetic)
    used = np.sort(ids)  # (np.unique and np.isin hash: many times slower here)
    if (used[1:] == used[:-1]).any():
        order = np.argsort(ids, kind="stable")  # equal ids keep node order: the first wins
        ordered = ids[order]
        clash[order[1:][ordered[1:] == ordered[:-1]]] = True
    count = int(clash.sum())
    if count:  # ``used`` holds every id kept (and the clashing ones, which are taken anyway)
        candidates = 2 * synthetic + 1 + 2 * np.arange(count + snap.n, dtype=np.uint64)
        at = np.minimum(np.searchsorted(used, candidates), max(len(used) - 1, 0))
        taken = used[at] == candidates if len(used) else np.zeros(len(candidates), bool)
        ids[clash] = candidates[~taken][:count]
    return ids, count


def _layout(snap: Snapshot, strings: _Strings) -> _Layout:
    """Every column of the file (see :class:`_Layout`)."""
    strings.intern("")
    node_type, node_name = _nodes(snap, strings)
    edge_type, edge_name = _edges(snap, strings)
    group_names, synthetic_edges, group_counts = _synthetic(snap, strings)
    synthetic = 1 + len(group_names)
    ids, clashes = node_ids(snap, synthetic)
    rows = np.zeros((synthetic, _NODE_WIDTH), dtype=np.uint64)
    rows[:, 0] = _N["synthetic"]
    rows[0, 1] = strings.intern("")
    rows[1:, 1] = [strings.intern(name) for name in group_names]
    rows[:, 2] = 2 * np.arange(synthetic) + 1
    rows[0, 4] = len(group_names)
    rows[1:, 4] = group_counts
    size = np.clip(snap.size, 0, _UINT32_MAX).astype(np.uint64)
    return _Layout(rows, synthetic_edges, node_type, node_name, ids, size, edge_type,
                   edge_name, clashes)


@jit
def _format_rows(rows: Array, out: Array) -> int:  # pragma: no cover - compiled
    """Write ``rows`` (a 2-D uint64 array) into ``out`` as ASCII: a row's numbers joined by
    ``,``, rows joined by ``\\n,``; the number of bytes written."""
    count, width = rows.shape
    pos = 0
    digits = np.empty(20, np.uint8)
    ten = np.uint64(10)
    for i in range(count):
        if i:
            out[pos] = 10
            out[pos + 1] = 44
            pos += 2
        for j in range(width):
            if j:
                out[pos] = 44
                pos += 1
            value = rows[i, j]
            length = 0
            while True:
                digits[length] = np.uint8(value % ten) + np.uint8(48)
                value //= ten
                length += 1
                if value == np.uint64(0):
                    break
            for d in range(length):
                out[pos + d] = digits[length - 1 - d]
            pos += length
    return pos


def format_rows(rows: Array) -> bytes:
    """``rows`` (2-D, unsigned integers) as V8 writes its arrays: numbers joined by ``,``,
    rows by ``\\n,``.

    >>> format_rows(np.array([[9, 0, 1], [3, 12, 10]], dtype=np.uint64))
    b'9,0,1\\n,3,12,10'
    """
    rows = np.ascontiguousarray(rows, dtype=np.uint64)
    if rows.size == 0:
        return b""
    out = np.empty(rows.size * 22, dtype=np.uint8)
    return out[:_format_rows(rows, out)].tobytes()


def _chunks(layout: _Layout, snap: Snapshot) -> Iterator[bytes]:
    """The file's bytes, piece by piece (see the module docstring for the order)."""
    synthetic = len(layout.synthetic_rows)
    n_nodes, n_edges = synthetic + snap.n, len(layout.synthetic_edges) + snap.m
    header = {"meta": {"node_fields": list(NODE_FIELDS),
                       "node_types": [list(NODE_TYPES), "string", "number", "number",
                                      "number", "number", "number"],
                       "edge_fields": list(EDGE_FIELDS),
                       "edge_types": [list(EDGE_TYPES), "string_or_number", "node"],
                       "trace_function_info_fields": ["function_id", "name", "script_name",
                                                      "script_id", "line", "column"],
                       "trace_node_fields": ["id", "function_info_index", "count", "size",
                                             "children"],
                       "sample_fields": ["timestamp_us", "last_assigned_id"],
                       "location_fields": ["object_index", "script_id", "line", "column"]},
              "node_count": n_nodes, "edge_count": n_edges, "trace_function_count": 0}
    yield b'{"snapshot":' + json.dumps(header, separators=(",", ":")).encode() + b',\n"nodes":['
    yield format_rows(layout.synthetic_rows)
    edge_count = np.diff(snap.ref_start).astype(np.uint64)
    for start in range(0, snap.n, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, snap.n)
        rows = np.zeros((stop - start, _NODE_WIDTH), dtype=np.uint64)
        rows[:, 0] = layout.node_type[start:stop]
        rows[:, 1] = layout.node_name[start:stop]
        rows[:, 2] = layout.node_id[start:stop]
        rows[:, 3] = layout.node_size[start:stop]
        rows[:, 4] = edge_count[start:stop]
        yield b"\n," + format_rows(rows)
    yield b'],\n"edges":['
    yield format_rows(layout.synthetic_edges)
    sep = b"\n," if len(layout.synthetic_edges) else b""
    offset = np.uint64(synthetic)
    for start in range(0, snap.m, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, snap.m)
        rows = np.empty((stop - start, _EDGE_WIDTH), dtype=np.uint64)
        rows[:, 0] = layout.edge_type[start:stop]
        rows[:, 1] = layout.edge_name[start:stop]
        rows[:, 2] = (snap.ref_target[start:stop].astype(np.uint64) + offset) * np.uint64(
            _NODE_WIDTH)
        yield sep + format_rows(rows)
        sep = b"\n,"
    yield (b'],\n"trace_function_infos":[],\n"trace_tree":[],\n"samples":[],\n'
           b'"locations":[],\n"strings":[')


def _string_chunks(table: list[str]) -> Iterator[bytes]:
    """The string table as JSON array items (ASCII: lone surrogates are escaped), then the
    end of the document."""
    for start in range(0, len(table), 65536):
        part = ",\n".join(json.dumps(s, ensure_ascii=True) for s in table[start:start + 65536])
        yield (b",\n" if start else b"") + part.encode("ascii")
    yield b"]}\n"


def _write(snap: Snapshot, stream: IO[bytes], progress: Callable[[str], None] | None) -> tuple[
        _Layout, int, int]:
    """Write the document to ``stream``; the layout, the string count and the bytes written."""
    strings = _Strings(snap.strings)
    layout = _layout(snap, strings)
    written = 0
    for piece in _chunks(layout, snap):
        stream.write(piece)
        written += len(piece)
        if progress is not None and len(piece) > 1 << 20:
            progress(f"{written / 1e6:.0f} MB written")
    for piece in _string_chunks(strings.table):
        stream.write(piece)
        written += len(piece)
    return layout, len(strings.table), written


def export_heapsnapshot(snap: Snapshot, path_or_file: str | os.PathLike[str] | IO[bytes], *,
                        overwrite: bool = False,
                        progress: Callable[[str], None] | None = None) -> HeapSnapshotExport:
    """Write ``snap`` as a Chrome DevTools ``.heapsnapshot`` (see the module docstring) to a
    path or a binary file object; what was written.

    A path is written to a temporary file beside it and renamed at the end, so a reader never
    sees half a file; an existing file raises :class:`~gclab.errors.SnapshotFileError` (and is
    left as it was) unless ``overwrite``. ``progress`` receives a line now and then.
    """
    if not isinstance(snap, Snapshot):
        raise SnapshotError(f"export_heapsnapshot needs a Snapshot, not {type(snap).__name__}")
    if hasattr(path_or_file, "write"):
        stream: Any = path_or_file
        if isinstance(stream, io.TextIOBase):
            raise SnapshotFileError("export_heapsnapshot needs a binary file (open it 'wb')")
        layout, count, written = _write(snap, stream, progress)
        return _summary(None, layout, snap, count, written)
    path = os.fspath(path_or_file)
    if os.path.isdir(path):
        raise SnapshotFileError(f"{path}: is a directory")
    if os.path.exists(path) and not overwrite:
        raise SnapshotFileError(f"{path}: exists (pass overwrite=True, or --force, to replace it)")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise SnapshotFileError(f"{path}: the folder {folder} does not exist")
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".gclab-", suffix=".heapsnapshot.tmp")
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as stream:
            layout, count, written = _write(snap, stream, progress)
        publish(temp, path, overwrite)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return _summary(path, layout, snap, count, written)




def _summary(path: str | None, layout: _Layout, snap: Snapshot, strings: int,
             written: int) -> HeapSnapshotExport:
    synthetic = len(layout.synthetic_rows)
    return HeapSnapshotExport(path=path, nodes=synthetic + snap.n,
                              edges=len(layout.synthetic_edges) + snap.m, strings=strings,
                              bytes=written, id_clashes=layout.id_clashes,
                              synthetic=synthetic)


__all__ = ["CHUNK_ROWS", "EDGE_FIELDS", "EDGE_TYPES", "NODE_FIELDS", "NODE_TYPES",
           "HeapSnapshotExport", "export_heapsnapshot", "format_rows", "node_ids"]
