"""``gclab export``: write a snapshot in another tool's format (Chrome DevTools'
``.heapsnapshot``, which DevTools' Memory panel and memlab open)."""

from __future__ import annotations

import argparse
import os
import sys
import time

from ._heap import human_bytes, load_snapshot, progress
from .common import Command, emit_json

FORMATS = ("heapsnapshot",)

_DESCRIPTION = """\
Write a snapshot as a Chrome DevTools heap snapshot (.heapsnapshot), the file
that Chrome's and Edge's DevTools (Memory panel, "Load profile...") and memlab
open. Python objects become nodes named by their type (strings by their value,
functions and classes by their name), references become edges named by the
attribute, key or index, weak references become weak edges, and the named
roots hang under synthetic groups: "(Python modules)" for module globals,
"(thread NAME)" for each thread's frames, "(class attributes)", "(gc.garbage)"
and "(held from C)". DevTools then shows retained sizes, distances, retainer
paths and, between two exported snapshots, a comparison matched by object id
(derived from the address)."""

_EPILOG = """\
examples:
  gclab export after.gcsnap                      writes after.heapsnapshot
  gclab export after.gcsnap -o /tmp/after.heapsnapshot --force
  gclab export after.gcsnap --json               what was written, as JSON

Open the file in Chrome: DevTools > Memory > Load profile..., or load it with
memlab's getFullHeapFromFile (tools/memlab/retained.js prints its retained
sizes). With --json the output is one object: {"file", "output", "format",
"nodes", "edges", "strings", "bytes", "id_clashes", "synthetic"}: the
"synthetic" nodes (the root and its groups) come first; node ids come from the
objects' addresses (so DevTools' Comparison view matches objects across two
exports), but for "id_clashes" nodes that got a free id instead."""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a snapshot file (.gcsnap)")
    parser.add_argument("--format", choices=FORMATS, default="heapsnapshot",
                        help="the output format (default: heapsnapshot)")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="the file to write (default: FILE with the format's suffix)")
    parser.add_argument("--force", action="store_true",
                        help="replace OUT when it exists (never done otherwise)")
    parser.add_argument("--json", action="store_true",
                        help="print what was written as one JSON object")


def default_output(path: str, fmt: str) -> str:
    """``path`` with its suffix replaced by the format's.

    >>> default_output("runs/after.gcsnap", "heapsnapshot")
    'runs/after.heapsnapshot'
    """
    return os.path.splitext(path)[0] + "." + fmt


def _run(args: argparse.Namespace) -> int:
    from ..snapshots.devtools import export_heapsnapshot

    output = args.output or default_output(args.file, args.format)
    snap = load_snapshot("export", args.file)
    started = time.perf_counter()
    summary = export_heapsnapshot(snap, output, overwrite=args.force,
                                  progress=lambda line: progress("export", line))
    seconds = time.perf_counter() - started
    progress("export", f"wrote {output} ({seconds:.2f} s)")
    if args.json:
        emit_json({"file": args.file, "output": output, "format": args.format,
                   "nodes": summary.nodes, "edges": summary.edges, "strings": summary.strings,
                   "bytes": summary.bytes, "id_clashes": summary.id_clashes,
                   "synthetic": summary.synthetic})
    else:
        sys.stdout.write(
            f"{output}: Chrome DevTools heap snapshot, {summary.nodes:,} nodes "
            f"({summary.synthetic} synthetic roots), {summary.edges:,} edges, "
            f"{human_bytes(summary.bytes)}; node ids from addresses"
            f"{f' ({summary.id_clashes:,} clashes renumbered)' if summary.id_clashes else ''}\n"
            f"open it in DevTools > Memory > Load profile..., or with memlab\n")
    return 0


COMMAND = Command("export", "write a snapshot as a Chrome DevTools .heapsnapshot (memlab too)",
                  _add_arguments, _run, description=_DESCRIPTION, epilog=_EPILOG, order=40)
