"""SQL over a snapshot with DuckDB: the query language Eclipse MAT's users have (OQL).

:func:`query` registers three Arrow tables, built on the snapshot's arrays without copying
the numeric columns, and runs the SQL on them:

* ``objects(node, address, type, size, refcount, generation, flags, label)``: one row an
  object; ``type`` is the type's name (``'builtins.list'``), ``label`` the object's label text
  or NULL; plus the **computed columns** ``retained`` (bytes freed if the object were freed),
  ``dominator`` (its immediate dominator's node; NULL for a root's object held by nothing
  else, or when unreachable), ``scc`` (its strongly connected component's id in the strong
  reference graph) and ``reachable`` (a named root reaches it along strong references);
* ``references(source, target, kind, name)`` (also named ``refs``; REFERENCES is an SQL
  keyword: write ``"references"`` except right after FROM or JOIN, where :func:`query`
  quotes it): ``kind`` is ``'strong'`` or ``'weak'``, ``name`` the attribute, key or index
  text or NULL;
* ``roots(node, kind, name)``: ``kind`` is ``'module'``, ``'frame'``, ``'class'``,
  ``'gc_garbage'``, ``'external'`` or ``'thread'``.

A computed column is computed only when the SQL names it (``SELECT count(*) FROM objects``
computes nothing), once per snapshot, by the function in :data:`COMPUTED`; ``SELECT *``
returns the stored columns and the computed ones the SQL names elsewhere. In the ``.gcsnap``
file itself ``type``, ``label``, ``kind`` and ``name`` are integer codes
(``docs/design/snapshot-format.md``); here they are resolved to text.

>>> from gclab.snapshots.model import RootKind, Snapshot
>>> snap = Snapshot.from_edges(types=["builtins.list", "builtins.dict"], type_index=[0, 0, 1],
...                            size=[56, 56, 64], edges=[(0, 1), (2, 0, 1, "w")],
...                            roots=[(0, RootKind.MODULE, "m.x")])
>>> query(snap, "SELECT type, count(*) AS n, sum(size) AS bytes FROM objects "
...             "GROUP BY type ORDER BY n DESC").to_pylist()
[{'type': 'builtins.list', 'n': 2, 'bytes': 112}, {'type': 'builtins.dict', 'n': 1, 'bytes': 64}]
>>> query(snap, "SELECT node FROM objects WHERE NOT reachable").column("node").to_pylist()
[2]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from ..errors import SnapshotError
from .model import RootKind, Snapshot
from .store import text_columns

#: ``ref_kind`` and ``root_kind`` codes as SQL text.
REFERENCE_KINDS = ("strong", "weak")
ROOT_KINDS = tuple(kind.name.lower() for kind in RootKind)


class NotAvailableError(SnapshotError):
    """A computed column whose analysis is not part of this gclab (yet)."""


def _reachable(snap: Snapshot) -> np.ndarray:
    """bool per node: some root's node reaches it along strong references (``mark_from``)."""
    from ..kernels.closure import mark_from

    return mark_from(snap.graph(), np.unique(snap.root_node)).astype(np.bool_)


def _dominator_tree(snap: Snapshot, column: str) -> Any:
    """``snap.dominators()``, or :class:`NotAvailableError` when that module is missing."""
    try:
        return snap.dominators()
    except ModuleNotFoundError:
        raise NotAvailableError(f"the computed column {column} is not available yet: "
                                "gclab.snapshots.dominators is missing") from None


def _retained(snap: Snapshot) -> np.ndarray:
    """int64 per node: the bytes freed if the node were freed (0 when unreachable)."""
    return np.asarray(_dominator_tree(snap, "retained").retained)


def _dominator(snap: Snapshot) -> pa.Array:
    """The immediate dominator per node; NULL for the virtual root and unreachable nodes."""
    idom = np.asarray(_dominator_tree(snap, "dominator").idom, dtype=np.int64)
    return pa.array(idom, mask=(idom < 0) | (idom >= snap.n))


def _scc(snap: Snapshot) -> np.ndarray:
    """int64 per node: the id of its strongly connected component (strong references)."""
    try:
        from ..kernels.scc import strongly_connected_components  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:
        raise NotAvailableError("the computed column scc is not available yet: "
                                "gclab.kernels.scc is missing") from None
    return np.asarray(strongly_connected_components(snap.graph()))


#: The computed columns of ``objects``: name -> function of the snapshot giving one value a
#: node (a numpy array or an Arrow array with nulls). The integrator may replace entries.
COMPUTED: dict[str, Callable[[Snapshot], Any]] = {
    "retained": _retained, "dominator": _dominator, "scc": _scc, "reachable": _reachable}


def mentioned(sql: str) -> list[str]:
    """The computed columns that ``sql`` names (as whole words, any case), in COMPUTED order.

    >>> mentioned("SELECT Retained, scc_count FROM objects ORDER BY retained")
    ['retained']
    """
    words = {word.lower() for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql)}
    return [name for name in COMPUTED if name in words]


def _text(codes: np.ndarray, texts: pa.Array) -> pa.DictionaryArray:
    """``codes`` into ``texts`` as a dictionary array; a negative code is NULL."""
    indices = pa.array(codes.astype(np.int32, copy=False), mask=codes < 0) if (
        len(codes) and codes.min() < 0) else pa.array(codes.astype(np.int32, copy=False))
    return pa.DictionaryArray.from_arrays(indices, texts)


def _strings(snap: Snapshot) -> pa.Array:
    """The snapshot's strings as one Arrow array (built once per snapshot)."""
    return snap.cached("query.strings", lambda: text_columns(snap.strings)[0])


def objects_table(snap: Snapshot, computed: list[str]) -> pa.Table:
    """The ``objects`` table with these computed columns."""
    columns: dict[str, Any] = {
        "node": pa.array(np.arange(snap.n, dtype=np.int32)),
        "address": pa.array(snap.address),
        "type": _text(snap.type_index, text_columns(snap.types)[0]),
        "size": pa.array(snap.size), "refcount": pa.array(snap.refcount),
        "generation": pa.array(snap.generation), "flags": pa.array(snap.flags),
        "label": _text(snap.label, _strings(snap))}
    for name in computed:
        values = snap.cached(f"query.{name}", lambda name=name: COMPUTED[name](snap))
        columns[name] = values if isinstance(values, pa.Array) else pa.array(values)
        if len(columns[name]) != snap.n:
            raise SnapshotError(f"the computed column {name} has {len(columns[name])} values, "
                                f"not one per object ({snap.n})")
    return pa.table(columns)


def references_table(snap: Snapshot) -> pa.Table:
    """The ``references`` table (one row a reference, in source order)."""
    source = np.repeat(np.arange(snap.n, dtype=np.int32), np.diff(snap.ref_start))
    return pa.table({"source": source, "target": pa.array(snap.ref_target),
                     "kind": _text(snap.ref_kind, pa.array(REFERENCE_KINDS)),
                     "name": _text(snap.ref_name, _strings(snap))})


def roots_table(snap: Snapshot) -> pa.Table:
    """The ``roots`` table (one row a root: a node may be several roots)."""
    return pa.table({"node": pa.array(snap.root_node),
                     "kind": _text(snap.root_kind, pa.array(ROOT_KINDS)),
                     "name": _text(snap.root_name, _strings(snap))})


def _quote_references(sql: str) -> str:
    """``sql`` with the table name ``references`` quoted right after FROM and JOIN
    (REFERENCES is an SQL keyword, so DuckDB wants ``"references"``).

    >>> _quote_references("SELECT * FROM references r JOIN references s ON r.target = s.source")
    'SELECT * FROM "references" r JOIN "references" s ON r.target = s.source'
    """
    return re.sub(r"(?i)\b(from|join)(\s+)references\b", r'\1\2"references"', sql)


def _integers(table: pa.Table) -> pa.Table:
    """``table`` with its whole-number decimal columns (DuckDB's ``sum`` of integers is a
    128-bit HUGEINT) as int64 where every value fits; the others as they are."""
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type) and field.type.scale == 0:
            try:
                table = table.set_column(i, field.name, table.column(i).cast(pa.int64()))
            except pa.ArrowInvalid:
                pass  # a value beyond int64: keep the exact decimal
    return table


def query(snap: Snapshot, sql: str) -> pa.Table:
    """The result of ``sql`` (DuckDB's dialect) over ``snap``'s ``objects``, ``references``
    and ``roots`` tables (see the module docstring), as an Arrow table.

    Afterwards nothing of ``snap`` has changed except its cache of computed columns. A
    statement without a result (``SET``, ``CREATE``) gives an empty table. SQL errors, and
    computed columns whose analysis is missing, raise :class:`~gclab.errors.SnapshotError`
    with DuckDB's message.
    """
    if not isinstance(snap, Snapshot):
        raise SnapshotError(f"query needs a Snapshot, not {type(snap).__name__}")
    if not isinstance(sql, str) or not sql.strip():
        raise SnapshotError("query needs an SQL statement (a non-empty str)")
    lowered = sql.lower()
    tables = {"objects": lambda: objects_table(snap, mentioned(sql)),
              "references": lambda: references_table(snap), "roots": lambda: roots_table(snap)}
    connection = duckdb.connect()
    try:
        for name, build in tables.items():
            if re.search(rf"\b{name}\b", lowered) or (name == "references" and "refs" in lowered):
                table = build()
                connection.register(name, table)
                if name == "references":
                    connection.register("refs", table)
        result = connection.sql(_quote_references(sql))
        return _integers(result.to_arrow_table()) if result is not None else pa.table({})
    except duckdb.Error as error:
        raise SnapshotError(f"SQL error: {error}") from None
    finally:
        connection.close()


__all__ = ["COMPUTED", "REFERENCE_KINDS", "ROOT_KINDS", "NotAvailableError", "mentioned",
           "objects_table", "query", "references_table", "roots_table"]
