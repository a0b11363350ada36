"""``gclab snapshot --pid PID -o FILE``: snapshot a running Python process without restarting it.

>>> import numpy as np
>>> from gclab.snapshots import Snapshot, RootKind
>>> snap = Snapshot.from_edges(types=["builtins.list", "__main__.Leak"],
...     type_index=[0, 1, 1], size=[72, 48, 48], edges=[(0, 1), (0, 2)],
...     roots=[(0, RootKind.MODULE, "__main__.leaks")])
>>> s = summary(snap, top=1)
>>> s["objects"], s["references"], s["roots"], s["by_count"], s["by_size"]
(3, 2, 1, [['__main__.Leak', 2, 96]], [['__main__.Leak', 2, 96]])
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from .common import Command, emit_json

_DESCRIPTION = """\
Snapshot the heap of a running Python process (CPython 3.8 or newer) without
restarting it, and save it as a .gcsnap file. Nothing needs to be installed in
the target: gclab injects a small standard-library agent that dumps the heap
and converts the dump here. Python 3.14+ targets are entered through
sys.remote_exec when gclab itself runs on 3.14+; older ones through gdb (the
Debian package gdb), which needs permission to ptrace the process: the same
user with kernel.yama.ptrace_scope = 0, or root. The target pauses only while
the agent walks its heap (reported as "pause")."""

_EPILOG = """\
examples:
  gclab snapshot --pid 12345 -o before.gcsnap
  gclab snapshot --pid 12345 -o after.gcsnap --collect     gc.collect() first
  gclab snapshot --pid 12345 -o s.gcsnap --json            summary as JSON

To snapshot a program from its start, at its exit, on a signal or every N
seconds, use gclab run -- python prog.py ...

--json prints {"path", "pid", "python", "objects", "references", "roots",
"attach_method", "attach_seconds", "pause_seconds", "by_count": [[type, count,
bytes], ...], "by_size": [...]}."""


def summary(snap: Any, *, top: int = 10) -> dict[str, Any]:
    """One screen of facts about ``snap``: node, reference and root counts, and the ``top``
    types by count and by shallow size (each ``[type, count, bytes]``, largest first)."""
    types = np.asarray(snap.type_index)
    count = np.bincount(types, minlength=len(snap.types)) if len(types) else np.zeros(0, int)
    size = (np.bincount(types, weights=snap.size, minlength=len(snap.types))
            if len(types) else np.zeros(0))

    def rows(order: Any) -> list[list[Any]]:
        return [[snap.types[i], int(count[i]), int(size[i])] for i in order[:top]
                if count[i] > 0]

    by_count = np.lexsort((np.arange(len(count)), -count))
    by_size = np.lexsort((np.arange(len(size)), -size))
    return {"objects": int(snap.n), "references": int(snap.m),
            "roots": len(snap.root_node), "bytes": int(np.sum(snap.size)),
            "by_count": rows(by_count), "by_size": rows(by_size)}


def print_summary(facts: dict[str, Any]) -> None:
    """``summary``'s facts (with the attach's) as a few readable lines on stdout."""
    write = sys.stdout.write
    write(f"{facts['objects']:,} objects ({facts['bytes']:,} bytes), "
          f"{facts['references']:,} references, {facts['roots']:,} roots\n")
    for title, key in (("by count", "by_count"), ("by size", "by_size")):
        write(f"\ntop types {title}:\n")
        width = max((len(row[0]) for row in facts[key]), default=4)
        for name, count, size in facts[key]:
            write(f"  {name:<{width}}  {count:>10,}  {size:>14,} B\n")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pid", type=int, required=True, help="the process to snapshot")
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="the .gcsnap file to write")
    parser.add_argument("--force", "--overwrite", dest="overwrite", action="store_true",
                        help="replace FILE if it exists (it is kept otherwise); the same "
                             "flag as export's and report's")
    parser.add_argument("--collect", action="store_true",
                        help="run gc.collect() in the target before the snapshot")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="give up after this long (default 60)")
    parser.add_argument("--method", choices=["auto", "gdb", "remote_exec"], default="auto",
                        help="how to enter the target (default auto: sys.remote_exec on "
                             "3.14+, gdb otherwise)")
    parser.add_argument("--top", type=int, default=10, metavar="N",
                        help="types listed in the summary (default 10)")
    parser.add_argument("--json", action="store_true",
                        help="print the summary as one JSON object")


def _run(args: argparse.Namespace) -> int:
    from ..snapshots.attach import attach

    if not args.json:
        sys.stderr.write(f"gclab: attaching to process {args.pid}...\n")
    snap = attach(args.pid, args.output, collect=args.collect, timeout=args.timeout,
                  method=args.method, overwrite=args.overwrite)
    facts = summary(snap, top=args.top)
    meta = snap.meta
    facts.update(path=str(args.output), pid=args.pid, python=meta.get("python"),
                 attach_method=meta.get("attach_method"),
                 attach_seconds=meta.get("attach_seconds"),
                 pause_seconds=meta.get("pause_seconds"))
    if args.json:
        emit_json(facts)
        return 0
    sys.stdout.write(f"wrote {args.output}: process {args.pid}, Python {facts['python']}, "
                     f"{facts['attach_method']}, {facts['attach_seconds']:.2f} s "
                     f"(target paused {facts['pause_seconds']:.3f} s)\n")
    print_summary(facts)
    return 0


COMMAND = Command("snapshot", "snapshot a running Python process by its pid", _add_arguments,
                  _run, description=_DESCRIPTION, epilog=_EPILOG, order=10)
