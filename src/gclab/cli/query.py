"""``gclab query FILE SQL``: SQL (DuckDB) over a snapshot's objects, references and roots."""

from __future__ import annotations

import argparse
import sys

from .common import Command, emit_json

_DESCRIPTION = """\
Run one SQL statement (DuckDB's dialect) over a snapshot and print the result.

Tables:
  objects(node, address, type, size, refcount, generation, flags, label)
      one row an object; type is the type's name ('builtins.list'), label its
      label text or NULL. Computed columns, computed only when the SQL names
      them: retained (bytes freed if the object were freed), dominator (its
      immediate dominator's node, NULL below the virtual root), scc (its
      strongly connected component), reachable (a named root reaches it).
  references(source, target, kind, name)      also named refs
      kind is 'strong' or 'weak'; name the attribute, key or index, or NULL.
  roots(node, kind, name)
      kind is 'module', 'frame', 'class', 'gc_garbage', 'external', 'thread'.
REFERENCES is an SQL keyword: write "references" (or refs) except right
after FROM or JOIN, where gclab quotes it for you."""

_EPILOG = """\
examples:
  gclab query after.gcsnap \
      "SELECT type, count(*), sum(size) FROM objects GROUP BY 1 ORDER BY 3 DESC LIMIT 10"
  gclab query after.gcsnap \
      "SELECT type, count(*), sum(retained) FROM objects GROUP BY 1 ORDER BY 3 DESC LIMIT 10"
  gclab query after.gcsnap "SELECT r.name, o.type, o.size FROM roots r
      JOIN objects o ON o.node = r.node WHERE r.kind = 'module' ORDER BY o.size DESC"
  gclab query after.gcsnap "SELECT count(*) FROM objects WHERE NOT reachable" --json
  gclab query after.gcsnap "SELECT * FROM references WHERE kind = 'weak'" --csv > weak.csv

--json prints {"columns": [names], "rows": [[values]]}; --csv prints a header
line and the rows (RFC 4180)."""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a snapshot file (.gcsnap)")
    parser.add_argument("sql", metavar="SQL", help="one SQL statement (quote it for the shell)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                        help='print {"columns": [...], "rows": [[...]]} as compact JSON')
    output.add_argument("--csv", action="store_true", help="print the result as CSV")


def _run(args: argparse.Namespace) -> int:
    from ..snapshots.query import query
    from ._snapfile import jsonable, load_snapshot, print_table

    table = query(load_snapshot(args.file), args.sql)
    if args.csv:
        import pyarrow.csv

        pyarrow.csv.write_csv(table, sys.stdout.buffer)
        return 0
    rows = [[jsonable(value) for value in row.values()] for row in table.to_pylist()]
    if args.json:
        emit_json({"columns": table.column_names, "rows": rows})
    else:
        numeric = [_is_number(t) for t in table.schema.types]
        print_table(None, table.column_names, rows, numeric=numeric)
        sys.stderr.write(f"({table.num_rows:,} row{'s' if table.num_rows != 1 else ''})\n")
    return 0


def _is_number(kind: object) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind)
                or pa.types.is_decimal(kind))


COMMAND = Command("query", "run SQL (DuckDB) over a snapshot's objects, references and roots",
                  _add_arguments, _run, description=_DESCRIPTION, epilog=_EPILOG, order=40)
