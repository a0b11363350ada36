"""``gclab leaks``: leak suspects by Eclipse MAT's rules, and growth across snapshots."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import SnapshotError
from ..snapshots.leaks import Growth, Suspect, growth, suspects
from ..snapshots.model import Snapshot
from ._heap import describe, dominators, human_bytes, load_snapshot, one_line, progress
from .common import Command, emit_json

_DESCRIPTION = """\
Find what keeps memory alive, by Eclipse MAT's Leak Suspects rules. A suspect
is an object that alone keeps at least --share of the reachable heap alive (a
top-level dominator), or a type whose top-level instances together do. For
each: its accumulation point (walking down into the biggest retained child
while it keeps 70 % of its parent: usually the collection that grows, the
cache dict rather than the module that owns it), the shortest chain of strong
references from a root to it, and the types it retains most.

With several snapshots of the same process (ordered by capture time), also
what grew at every step: types by count or bytes, and accumulation points
(the same address and type) by retained bytes; the suspects are the last
snapshot's."""

_EPILOG = """\
examples:
  gclab leaks after.gcsnap
  gclab leaks after.gcsnap --share 0.05        smaller suspects too
  gclab leaks t1.gcsnap t2.gcsnap t3.gcsnap    suspects of the latest, and growth
  gclab leaks after.gcsnap --json | jq '.suspects[0].accumulation'

With --json the output is one object: {"files", "reachable_bytes", "share",
"suspects": [{"kind", "type", "count", "object", "retained", "share",
"accumulation", "path": {"root", "nodes", "names"}, "top_types"}], "growth":
[{"kind", "key", "counts", "sizes", "node"}]} ("growth" with 2+ files)."""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="snapshot files (.gcsnap); several: of one process over time")
    parser.add_argument("--share", type=float, default=0.10, metavar="S",
                        help="the share of the reachable heap a suspect keeps alive at least "
                             "(default: 0.1, MAT's 10 %%)")
    parser.add_argument("--json", action="store_true",
                        help="print one compact JSON object instead of text")


def suspect_json(snap: Snapshot, suspect: Suspect) -> dict[str, Any]:
    """A suspect as JSON-ready data (objects described, the path with root name)."""
    tree = snap.dominators()
    path = suspect.path
    return {
        "kind": suspect.kind, "type": suspect.type, "count": suspect.count,
        "object": describe(snap, tree, suspect.node), "retained": suspect.retained,
        "share": round(suspect.share, 6),
        "accumulation": (describe(snap, tree, suspect.accumulation)
                         if suspect.accumulation >= 0 else None),
        "path": None if path is None else {
            "root": snap.root_names()[path.root], "root_index": path.root,
            "nodes": [describe(snap, tree, int(v)) for v in path.nodes.tolist()],
            "names": path.names},
        "top_types": [row.__dict__ for row in suspect.top_types]}


def growth_json(item: Growth) -> dict[str, Any]:
    """A growth record as JSON-ready data."""
    return {"kind": item.kind, "key": item.key, "counts": item.counts, "sizes": item.sizes,
            "node": item.node}


def _path_text(item: dict[str, Any]) -> str:
    path = item["path"]
    if path is None:
        return "(no root reaches it)"
    steps = [path["root"] or "(held from C)"]
    for name, node in zip(path["names"], path["nodes"][1:], strict=True):
        steps.append(f"{name or '?'} ({node['type']})")
    return " -> ".join(steps)


def _print_text(result: dict[str, Any]) -> None:
    print(f"Leak suspects in {result['files'][-1]} ({human_bytes(result['reachable_bytes'])} "
          f"reachable; a suspect keeps >= {100 * result['share']:g} % alive):")
    if not result["suspects"]:
        print("  none")
    for k, item in enumerate(result["suspects"], 1):
        what = (one_line(item["object"]) if item["kind"] == "object"
                else f"{item['count']:,} instances of {item['type']}")
        print(f"\n{k}. {what} retains {human_bytes(item['retained'])} "
              f"({100 * item['share']:.1f} %)")
        point = item["accumulation"]
        if point is not None:
            print(f"   accumulation point: {one_line(point)}, retains "
                  f"{human_bytes(point['retained'])} in {point['retained_objects']:,} objects")
        print(f"   path: {_path_text(item)}")
        types = ", ".join(f"{row['type']} x{row['count']:,} {human_bytes(row['retained'])}"
                          for row in item["top_types"])
        print(f"   retains most: {types}")
    if "growth" in result:
        print(f"\nGrowing at every step across {len(result['files'])} snapshots:")
        if not result["growth"]:
            print("  nothing")
        for item in result["growth"]:
            sizes = " -> ".join(human_bytes(s) for s in item["sizes"])
            counts = " -> ".join(f"{c:,}" for c in item["counts"])
            print(f"  {item['kind']:<12} {item['key']}: {sizes} ({counts} objects)")


def _run(args: argparse.Namespace) -> int:
    if not 0 < args.share <= 1:
        raise SnapshotError(f"--share must be in (0, 1], not {args.share}")
    snaps = [load_snapshot("leaks", path) for path in args.files]
    files = list(args.files)
    times = [snap.meta.get("time") for snap in snaps]
    if all(isinstance(t, int | float) for t in times):
        ordered = sorted(range(len(snaps)), key=lambda k: (times[k], k))
        snaps, files = [snaps[k] for k in ordered], [files[k] for k in ordered]
    last = snaps[-1]
    tree = dominators("leaks", last)
    result: dict[str, Any] = {
        "files": files, "reachable_bytes": tree.total, "share": args.share,
        "suspects": [suspect_json(last, s) for s in suspects(last, share=args.share)]}
    if len(snaps) > 1:
        progress("leaks", f"growth across {len(snaps)} snapshots")
        result["growth"] = [growth_json(g) for g in growth(snaps)]
    if args.json:
        emit_json(result)
    else:
        _print_text(result)
    return 0


COMMAND = Command("leaks", "leak suspects (Eclipse MAT's rules) and growth across snapshots",
                  _add_arguments, _run, description=_DESCRIPTION, epilog=_EPILOG, order=20)
