"""``gclab report``: one self-contained HTML page with every analysis of a snapshot.

>>> from gclab.cli import build_parser
>>> args = build_parser().parse_args(["report", "a.gcsnap", "b.gcsnap", "-o", "r.html"])
>>> args.files, args.output, args.force, args.monitor
(['a.gcsnap', 'b.gcsnap'], 'r.html', False, None)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..errors import SnapshotFileError
from .common import Command, emit_json

_EPILOG = """\
examples:
  gclab report after.gcsnap -o report.html
      summary, leak suspects with their paths, dominator tree, types, garbage
  gclab report before.gcsnap after.gcsnap -o report.html
      the same for after.gcsnap, plus the diff of the two and what grew
  gclab report a.gcsnap b.gcsnap c.gcsnap --monitor gc.json -o report.html --force
      growth across three snapshots and the GC pause timeline of `gclab monitor -o gc.json`

Snapshots are given in time order; the last one is analysed in full. The page needs no
network: open it from the file. Its size is bounded whatever the heap's size (the dominator
tree keeps the 2,000 objects that retain the most with their top 50 children each)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``FILE [MORE...] [--monitor JSON] -o OUT [--force] [--json]``."""
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="snapshot files (.gcsnap) in time order; the last is analysed")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="the HTML file to write")
    parser.add_argument("--monitor", metavar="JSON",
                        help="a GC monitor's JSON (gclab monitor -o FILE): the pause timeline")
    parser.add_argument("--force", action="store_true",
                        help="replace OUT if it exists")
    parser.add_argument("--json", action="store_true",
                        help="print what was written as one line of JSON")


def run(args: argparse.Namespace) -> int:
    """Load, analyse, write the page; print what it holds. Nothing is written on an error."""
    from ..report import build_model, read_monitor, write_html
    from ..snapshots.store import load

    out = Path(args.output)
    if out.exists() and not args.force:
        raise SnapshotFileError(f"{out} exists; pass --force to replace it")
    began = time.perf_counter()
    monitor = read_monitor(args.monitor) if args.monitor else None
    snaps = []
    for name in args.files:
        _progress(f"loading {name}")
        snaps.append(load(name))
    model = build_model(snaps, monitor=monitor, progress=_progress)
    _progress(f"writing {out}")
    size = write_html(model, out, overwrite=args.force)
    facts = {
        "output": str(out), "bytes": size, "objects": model.summary["objects"],
        "suspects": [s["type"] for s in model.suspects],
        "tree_nodes": len(model.tree["nodes"]), "types": len(model.histogram["rows"]),
        "garbage": model.garbage["objects"], "diff": model.diff is not None,
        "timeline": model.timeline is not None, "snapshots": len(snaps),
    }
    if args.json:
        emit_json(facts)
        return 0
    sections = ["summary", "leak suspects", "dominator tree", "types", "garbage"]
    sections += ["diff"] * facts["diff"] + ["GC pauses"] * facts["timeline"]
    print(f"wrote {out} ({size / 1024:,.0f} KiB) in {time.perf_counter() - began:.2f} s: "
          f"{', '.join(sections)}")
    print(f"  {facts['objects']:,} objects; {len(facts['suspects'])} leak suspect(s)"
          + (f": {', '.join(facts['suspects'])}" if facts["suspects"] else "")
          + f"; {facts['garbage']:,} objects of garbage")
    print(f"  open it in a browser: file://{out.resolve()}")
    return 0


def _progress(message: str) -> None:
    sys.stderr.write(f"gclab report: {message}\n")
    sys.stderr.flush()


COMMAND = Command(
    name="report", help="write one self-contained HTML page of a snapshot's analyses",
    description="Write one self-contained HTML page (no network needed) with a snapshot's "
                "summary, leak suspects and their retainer paths, a browsable dominator "
                "tree, the type histogram, the garbage dry run, the diff of two snapshots and "
                "the GC pause timeline of a monitor file.",
    add_arguments=add_arguments, run=run, epilog=_EPILOG, order=60)
