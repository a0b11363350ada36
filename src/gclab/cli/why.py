"""``gclab why``: the shortest retainer paths from named roots to an object of a snapshot,
weak references skipped (:mod:`gclab.snapshots.paths`), as text, JSON or a graphviz picture."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ..errors import SnapshotError
from ..snapshots.model import RootKind, Snapshot
from ..snapshots.paths import RetainerPath, describe, root_text, to_dot, why
from ._objects import load_snapshot, parse_object, progress
from .common import Command, emit_json

#: Seconds ``dot`` may take to draw a picture.
DOT_TIMEOUT = 60

_DESCRIPTION = """\
Explain why an object is alive: the shortest chains of strong references from
named roots (module globals, frames' locals, class attributes, gc.garbage,
threads, or "held from C" for references the capture could not see) to it.
Weak references keep nothing alive and are never followed. Each path starts at
a different root object, shortest first. With --dot the paths are drawn with
graphviz (objects as boxes with type, label and address; references named)."""

_EPILOG = """\
examples:
  gclab why after.gcsnap 0x7f3a9c0d1e40          by address (as id() prints it: 0x... or decimal)
  gclab why after.gcsnap node:1234 --limit 5     by node id
  gclab why after.gcsnap 0x7f3a9c0d1e40 --dot why.svg     also .png or .dot (the source)
  gclab why after.gcsnap 0x7f3a9c0d1e40 --json

With --json the output is one object: {"file", "object": {"node", "address",
"type", "label"}, "paths": [{"root": {"index", "kind", "name"}, "length",
"nodes": [{"node", "address", "type", "label"}], "names": [...], "text"}]};
"paths" is empty when no root reaches the object (it is garbage)."""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a snapshot file (.gcsnap)")
    parser.add_argument("object", metavar="ADDRESS|NODE",
                        help="the object: its address (0x7f3a... or decimal) or node:ID")
    parser.add_argument("--limit", type=int, default=3, metavar="K",
                        help="at most K paths, each from a different root (default: 3)")
    parser.add_argument("--dot", metavar="OUT",
                        help="also draw the paths with graphviz into OUT: .svg, .png, .pdf, "
                             "or .dot for the source")
    parser.add_argument("--json", action="store_true",
                        help="print one compact JSON object instead of text")


def _node(snap: Snapshot, node: int) -> dict[str, Any]:
    return {"node": node, "address": f"{int(snap.address[node]):#x}",
            "type": snap.type_name(node), "label": snap.label_of(node)}


def path_data(snap: Snapshot, path: RetainerPath) -> dict[str, Any]:
    """One path as JSON-ready data."""
    name = int(snap.root_name[path.root])
    return {"root": {"index": path.root, "kind": RootKind(int(snap.root_kind[path.root])).name,
                     "name": snap.strings[name] if name >= 0 else ""},
            "length": len(path), "nodes": [_node(snap, v) for v in path.nodes.tolist()],
            "names": path.names, "text": describe(snap, path)}


def write_dot(source: str, out: str) -> None:
    """Write graphviz ``source`` to ``out``: as it is for ``.dot``/``.gv``, else drawn by
    ``dot`` in the format the suffix names. A missing ``dot`` or a failed drawing raises
    :class:`~gclab.errors.SnapshotError` and writes nothing."""
    target = Path(out)
    fmt = target.suffix.lower().lstrip(".")
    if fmt in ("dot", "gv"):
        target.write_text(source + "\n", encoding="utf-8")
        return
    if fmt not in ("svg", "png", "pdf"):
        raise SnapshotError(f"--dot {out}: the name must end in .svg, .png, .pdf or .dot")
    dot = shutil.which("dot")
    if dot is None:
        raise SnapshotError("graphviz's dot is not installed (Debian: apt-get install "
                            "graphviz); write the source with --dot OUT.dot instead")
    try:
        done = subprocess.run([dot, f"-T{fmt}"], input=source.encode(), capture_output=True,
                              timeout=DOT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise SnapshotError(f"dot took more than {DOT_TIMEOUT} s to draw {out}") from None
    if done.returncode != 0:
        raise SnapshotError(f"dot could not draw {out}: "
                            f"{done.stderr.decode(errors='replace').strip()}")
    target.write_bytes(done.stdout)


def _print(snap: Snapshot, node: int, paths: list[RetainerPath]) -> None:
    label = snap.label_of(node)
    named = f"{int(snap.address[node]):#x} ({snap.type_name(node)}" + \
        (f" {label!r})" if label is not None else ")")
    if not paths:
        print(f"No root reaches {named} through strong references: it is garbage a "
              f"collection would free (see gclab garbage), or held only weakly.")
        return
    plural = "s" if len(paths) > 1 else ""
    print(f"Why is {named} alive? {len(paths)} shortest retainer path{plural} "
          f"(weak references skipped):")
    for k, path in enumerate(paths, 1):
        hops = f"{len(path)} reference{'s' if len(path) != 1 else ''}"
        print(f"{k:>3}. [{hops}, {root_text(snap, path.root)}]")
        print(f"     {describe(snap, path)}")


def _run(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise SnapshotError("--limit must be 1 or more")
    snap = load_snapshot("why", args.file)
    node = parse_object(snap, args.object)
    paths = why(snap, node, limit=args.limit)
    if args.dot:
        write_dot(to_dot(snap, paths), args.dot)
        progress("why", f"wrote {args.dot}")
    if args.json:
        emit_json({"file": args.file, "object": _node(snap, node),
                   "paths": [path_data(snap, p) for p in paths]})
    else:
        _print(snap, node, paths)
    return 0


COMMAND = Command("why", "why an object of a snapshot is alive: shortest paths from roots",
                  _add_arguments, _run, description=_DESCRIPTION, epilog=_EPILOG, order=33)
