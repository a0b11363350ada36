"""``gclab info FILE``: what a snapshot holds (process facts, counts, top types, warnings)."""

from __future__ import annotations

import argparse
import datetime
from typing import Any

import numpy as np

from ..snapshots.model import (
    FINALIZER,
    FROZEN,
    PARTIAL,
    TRACKED,
    WEAK,
    RootKind,
    Snapshot,
)
from .common import Command, emit_json

_DESCRIPTION = """\
Summarise a snapshot file: the process it was taken from (Python version,
pid, time, gc thresholds and counts), how many objects, references and roots
it holds and their bytes, the types with the most bytes, and what the capture
could not read (warnings). The file is checked whole (its checksum) first."""

_EPILOG = """\
examples:
  gclab info after.gcsnap
  gclab info after.gcsnap --top 25
  gclab info after.gcsnap --json | jq .counts

--json prints {"file", "meta", "counts": {objects, bytes, tracked, references,
weak_references, roots, roots_by_kind, ...}, "types": [{type, count, size}],
"warnings": [...]}."""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a snapshot file (.gcsnap)")
    parser.add_argument("--top", type=int, default=10, metavar="N",
                        help="how many types to list, most bytes first (default 10)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def summary(snap: Snapshot, *, top: int = 10) -> dict[str, Any]:
    """The facts ``gclab info`` prints, as JSON-ready values.

    >>> from gclab.snapshots.model import Snapshot
    >>> s = summary(Snapshot.from_edges(types=["t", "u"], type_index=[0, 1, 1],
    ...                                 size=[10, 20, 30], edges=[(0, 1), (1, 2, 1)]))
    >>> s["counts"]["objects"], s["counts"]["weak_references"], s["types"][0]
    (3, 1, {'type': 'u', 'count': 2, 'size': 50})
    """
    k = len(snap.types)
    counts = np.bincount(snap.type_index, minlength=k)
    sizes = np.zeros(k, np.int64)
    np.add.at(sizes, snap.type_index, snap.size)
    ranked = sorted(range(k), key=lambda t: (-int(sizes[t]), -int(counts[t]), snap.types[t]))
    kinds = np.bincount(snap.root_kind, minlength=len(RootKind))
    flags = snap.flags
    return {
        "meta": dict(snap.meta),
        "counts": {
            "objects": snap.n, "bytes": int(snap.size.sum()),
            "tracked": int(((flags & TRACKED) != 0).sum()),
            "frozen": int(((flags & FROZEN) != 0).sum()),
            "with_finalizer": int(((flags & FINALIZER) != 0).sum()),
            "partial": int(((flags & PARTIAL) != 0).sum()),
            "references": snap.m, "weak_references": int((snap.ref_kind == WEAK).sum()),
            "roots": len(snap.root_node),
            "roots_by_kind": {kind.name.lower(): int(kinds[kind]) for kind in RootKind},
            "types": k, "strings": len(snap.strings)},
        "types": [{"type": snap.types[t], "count": int(counts[t]), "size": int(sizes[t])}
                  for t in ranked[:max(top, 0)] if counts[t]],
        "warnings": list(snap.warnings)}


def _run(args: argparse.Namespace) -> int:
    from ._snapfile import human_bytes, load_snapshot, print_table

    facts = summary(load_snapshot(args.file), top=args.top)
    facts["file"] = args.file
    if args.json:
        emit_json(facts)
        return 0
    meta, counts = facts["meta"], facts["counts"]
    print(f"{args.file}")
    when = meta.get("time")
    if isinstance(when, int | float):
        when = datetime.datetime.fromtimestamp(when, datetime.UTC).strftime(
            "%Y-%m-%d %H:%M:%S UTC")
    for label, value in [("python", meta.get("python")), ("pid", meta.get("pid")),
                         ("taken", when), ("argv", meta.get("argv")),
                         ("gc threshold", meta.get("gc_threshold")),
                         ("gc count", meta.get("gc_count")),
                         ("capture", meta.get("capture_seconds"))]:
        if value is not None:
            print(f"  {label:<13} {' '.join(map(str, value)) if isinstance(value, list) else value}"
                  f"{' s' if label == 'capture' else ''}")
    print(f"  objects       {counts['objects']:,} ({human_bytes(counts['bytes'])}), "
          f"{counts['tracked']:,} tracked, {counts['frozen']:,} frozen, "
          f"{counts['with_finalizer']:,} with a finalizer")
    print(f"  references    {counts['references']:,} ({counts['weak_references']:,} weak)")
    kinds = ", ".join(f"{n:,} {k}" for k, n in counts["roots_by_kind"].items() if n)
    print(f"  roots         {counts['roots']:,}{f' ({kinds})' if kinds else ''}")
    rows = [[t["type"], t["count"], human_bytes(t["size"])] for t in facts["types"]]
    print_table(f"top {len(rows)} types by bytes", ["type", "objects", "bytes"], rows,
                numeric=[False, True, True])
    for line in facts["warnings"]:
        print(f"warning: {line}")
    if counts["partial"]:
        print(f"warning: {counts['partial']:,} objects were read only in part")
    return 0


COMMAND = Command("info", "summarise a snapshot file: process, counts, top types, warnings",
                  _add_arguments, _run, description=_DESCRIPTION, epilog=_EPILOG, order=30)
