"""``gclab garbage``: what a full ``gc.collect()`` would free from a snapshot's heap now,
computed with gclab's copy of CPython's collector phases (:mod:`gclab.snapshots.garbage`)."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

from ..errors import SnapshotError
from ..snapshots.garbage import GarbageReport, by_type, describe_cycle, dry_run
from ..snapshots.model import Snapshot
from ._objects import human_bytes, load_snapshot, progress
from .common import Command, emit_json

_DESCRIPTION = """\
Show what a full gc.collect() would free from a snapshot's heap now, without
running it: gclab runs CPython's own collector phases (update_refs,
subtract_refs, move_unreachable) on the captured objects and reference counts.
The unreachable objects are grouped into strongly connected components (a
reference cycle is one) with a shortest cycle of each in words; the "sources"
are the components no other garbage refers to: they keep the rest alive, and
breaking their cycles frees everything. Also shown: the untracked objects
(strings, numbers) freed with the garbage, the objects whose __del__ would run
first and may resurrect what it reaches, the frozen objects (gc.freeze) that
are never collected, and on Python before 3.4 the uncollectable objects."""

_EPILOG = """\
examples:
  gclab garbage after.gcsnap                  summary, types, top 10 components
  gclab garbage after.gcsnap -n 30            30 rows of each list
  gclab garbage after.gcsnap --json | jq '.components[0].cycle'

With --json the output is one object: {"file", "python", "unreachable",
"bytes", "freed_untracked", "freed_bytes", "by_type": [{"type", "count",
"bytes"}], "components_total", "sources_total", "components": [{"index",
"size", "bytes", "source", "cycle", "types": {type: count}, "addresses"}],
"finalizers": [{"address", "type"}], "frozen", "uncollectable": [{"address",
"type"}], "warnings"}; lists are cut to -n rows, totals are whole."""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a snapshot file (.gcsnap)")
    parser.add_argument("-n", type=int, default=10, metavar="N",
                        help="rows of each list: types, components, finalizers (default: 10)")
    parser.add_argument("--json", action="store_true",
                        help="print one compact JSON object instead of text")


def _objects(snap: Snapshot, nodes: Any, k: int) -> list[dict[str, Any]]:
    """The first ``k`` of ``nodes`` as ``{"address", "type"}``."""
    return [{"address": f"{int(snap.address[v]):#x}", "type": snap.type_name(int(v))}
            for v in nodes[:k].tolist()]


def _component(snap: Snapshot, report: GarbageReport, index: int,
               sources: set[int]) -> dict[str, Any]:
    """Component ``index`` as JSON-ready data: size, bytes, source or not, its shortest
    cycle in words, its types with counts, its first addresses."""
    nodes = report.components[index]
    types = Counter(snap.type_name(int(v)) for v in nodes[:1000].tolist())
    return {"index": index, "size": len(nodes), "bytes": int(snap.size[nodes].sum()),
            "source": index in sources, "cycle": describe_cycle(snap, report, index),
            "types": dict(sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))),
            "addresses": [f"{int(snap.address[v]):#x}" for v in nodes[:5].tolist()]}


def summary(snap: Snapshot, report: GarbageReport, k: int, path: str) -> dict[str, Any]:
    """The whole answer as JSON-ready data (lists cut to ``k`` rows)."""
    sources = set(report.sources[:].tolist())
    shown = min(k, len(report.component_start) - 1)
    return {
        "file": path, "python": snap.meta.get("python"),
        "unreachable": len(report.unreachable), "bytes": report.bytes,
        "freed_untracked": len(report.freed), "freed_bytes": report.freed_bytes,
        "by_type": [{"type": t, "count": c, "bytes": b}
                    for t, c, b in by_type(snap, report.unreachable)[:k]],
        "components_total": len(report.component_start) - 1,
        "sources_total": len(report.sources),
        "components": [_component(snap, report, i, sources) for i in range(shown)],
        "finalizers": _objects(snap, report.finalizers, k),
        "frozen": len(report.frozen),
        "uncollectable": _objects(snap, report.uncollectable, k),
        "warnings": list(report.warnings),
    }


def _print(out: dict[str, Any], report: GarbageReport) -> None:
    """The answer as text."""
    python = out["python"] or "?"
    print(f"What gc.collect() would free now (Python {python}, {out['file']}):")
    if not out["unreachable"]:
        print("  nothing: every tracked object is reachable from outside the collector's "
              "view")
    else:
        print(f"  {out['unreachable']:,} unreachable objects, {human_bytes(out['bytes'])}; "
              f"with the {out['freed_untracked']:,} untracked objects only they hold, "
              f"{human_bytes(out['freed_bytes'])}")
        print(f"  {out['components_total']:,} strongly connected components; "
              f"{out['sources_total']:,} sources keep the rest alive")
        print("\nBy type (shallow bytes):")
        for row in out["by_type"]:
            print(f"  {row['count']:>10,}  {human_bytes(row['bytes']):>10}  {row['type']}")
        print("\nComponents, largest first (* = source):")
        for c in out["components"]:
            mark = "*" if c["source"] else " "
            types = ", ".join(f"{t} ×{n}" for t, n in list(c["types"].items())[:3])
            noun = "object " if c["size"] == 1 else "objects"
            print(f" {mark}#{c['index']:<5} {c['size']:>8,} {noun} "
                  f"{human_bytes(c['bytes']):>10}  {c['cycle']}")
            print(f"          types: {types}")
        hidden = out["components_total"] - len(out["components"])
        if hidden > 0:
            print(f"   ... {hidden:,} more components")
    if len(report.finalizers):
        print(f"\nFinalizers: {len(report.finalizers):,} unreachable objects have a __del__ "
              f"that has not run; it runs first and may resurrect what it reaches:")
        for item in out["finalizers"]:
            print(f"  {item['address']}  {item['type']}")
    if len(report.uncollectable):
        print(f"\nUncollectable (Python before 3.4: __del__ in a cycle): "
              f"{len(report.uncollectable):,} objects stay in gc.garbage:")
        for item in out["uncollectable"]:
            print(f"  {item['address']}  {item['type']}")
    if out["frozen"]:
        print(f"\nFrozen: {out['frozen']:,} objects are in the permanent generation "
              f"(gc.freeze): never collected, garbage or not")
    for warning in out["warnings"]:
        print(f"\nwarning: {warning}")


def _run(args: argparse.Namespace) -> int:
    if args.n < 0:
        raise SnapshotError("-n must not be negative")
    snap = load_snapshot("garbage", args.file)
    started = time.perf_counter()
    report = dry_run(snap)
    progress("garbage", f"dry run: {len(report.unreachable):,} unreachable "
                        f"({time.perf_counter() - started:.2f} s)")
    out = summary(snap, report, args.n, args.file)
    if args.json:
        emit_json(out)
    else:
        _print(out, report)
    return 0


COMMAND = Command("garbage", "what gc.collect() would free from a snapshot now",
                  _add_arguments, _run, description=_DESCRIPTION, epilog=_EPILOG, order=34)
