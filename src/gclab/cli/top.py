"""``gclab top``: the biggest objects and types of a snapshot by retained size, and its
dominator tree."""

from __future__ import annotations

import argparse
from typing import Any

from ..snapshots.dominators import DominatorTree
from ..snapshots.model import Snapshot
from ._heap import describe, dominators, human_bytes, load_snapshot, one_line, parse_object
from .common import Command, emit_json

_DESCRIPTION = """\
Rank the objects and the types of a snapshot by the memory they keep alive.
An object's retained size is the bytes that would be freed if it were freed:
the sum of the shallow sizes of every object it dominates (every chain of
strong references from a root to them passes through it; weak references keep
nothing alive). A type's retained size counts each object once: an instance
below another instance of the same type adds nothing (Eclipse MAT's minimum
retained size of a class). Each object is shown with the root that keeps it
alive, found up its dominator chain."""

_EPILOG = """\
examples:
  gclab top after.gcsnap                       top 10 objects and top 10 types
  gclab top after.gcsnap --types --by count -n 20
  gclab top after.gcsnap --objects --by shallow
  gclab top after.gcsnap --tree                the dominator tree, 3 levels
  gclab top after.gcsnap --tree 0x7f3a9c0d1e40 --depth 5
  gclab top after.gcsnap --json | jq '.objects[0]'

With --json the output is one object: {"file", "objects": n, "reachable_bytes",
"top_objects": [{"node", "address", "type", "label", "shallow", "retained",
"retained_objects", "root"}], "top_types": [{"type", "count", "shallow",
"retained"}], "tree": {... "children": [...]}} (each part only when asked)."""

BY = ("retained", "shallow", "count")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a snapshot file (.gcsnap)")
    parser.add_argument("--by", choices=BY, default="retained",
                        help="rank by retained bytes, shallow bytes, or count (objects: the "
                             "objects each retains; types: instances) (default: retained)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--types", action="store_true", help="only the top types")
    which.add_argument("--objects", action="store_true", help="only the top objects")
    which.add_argument("--tree", nargs="?", const="", metavar="NODE",
                       help="print the dominator tree below NODE (an address, 0x... or decimal "
                            "as id() prints it, or node:ID), or below the roots when NODE is "
                            "left out; children sorted by retained size")
    parser.add_argument("-n", type=int, default=10, metavar="N",
                        help="rows to show (tree: children per node) (default: 10)")
    parser.add_argument("--depth", type=int, default=3, metavar="D",
                        help="levels of the tree to show (default: 3)")
    parser.add_argument("--json", action="store_true",
                        help="print one compact JSON object instead of text")


def top_objects(snap: Snapshot, tree: DominatorTree, by: str, k: int) -> list[dict[str, Any]]:
    """The ``k`` reachable objects biggest by ``by`` (ties: lower node id)."""
    import numpy as np

    key = {"retained": tree.retained, "shallow": snap.size, "count": tree.retained_count}[by]
    reached = np.flatnonzero(tree.reachable)
    if k < len(reached):  # partial selection first: 10M nodes, 10 rows
        reached = reached[np.argpartition(-key[reached], k)[:k]]
    ranked = reached[np.lexsort((reached, -key[reached]))][:max(k, 0)]
    return [describe(snap, tree, int(v)) for v in ranked.tolist()]


def subtree(snap: Snapshot, tree: DominatorTree, node: int, depth: int,
            width: int) -> dict[str, Any]:
    """``node``'s part of the dominator tree as nested JSON-ready data, ``depth`` levels
    below it, ``width`` children a node (the rest summed in ``more``); ``node`` may be the
    virtual root ``snap.n``."""
    if node == snap.n:
        item: dict[str, Any] = {"node": node, "type": "(roots)", "retained": tree.total}
    else:
        item = describe(snap, tree, node)
    if depth > 0:
        kids = tree.children(node)
        item["children"] = [subtree(snap, tree, int(v), depth - 1, width)
                            for v in kids[:width].tolist()]
        rest = kids[width:]
        if len(rest):
            item["more"] = {"objects": len(rest), "retained": int(tree.retained[rest].sum())}
    return item


def _print_tree(item: dict[str, Any], total: int, indent: str = "") -> None:
    share = 100.0 * item["retained"] / total if total else 0.0
    name = "(roots)" if item["type"] == "(roots)" else one_line(item)
    print(f"{human_bytes(item['retained']):>10}  {share:5.1f} %  {indent}{name}")
    for child in item.get("children", []):
        _print_tree(child, total, indent + "  ")
    if "more" in item:
        more = item["more"]
        share = 100.0 * more["retained"] / total if total else 0.0
        print(f"{human_bytes(more['retained']):>10}  {share:5.1f} %  {indent}  ... "
              f"{more['objects']:,} more")


def _run(args: argparse.Namespace) -> int:
    from ..errors import SnapshotError

    if args.n < 0 or args.depth < 0:
        raise SnapshotError("-n and --depth must not be negative")
    snap = load_snapshot("top", args.file)
    tree = dominators("top", snap)
    out: dict[str, Any] = {"file": args.file, "objects": snap.n, "reachable_bytes": tree.total}
    if args.tree is not None:
        node = snap.n if args.tree == "" else parse_object(snap, args.tree)
        out["tree"] = subtree(snap, tree, node, args.depth, args.n)
    else:
        if not args.types:
            out["top_objects"] = top_objects(snap, tree, args.by, args.n)
        if not args.objects:
            out["top_types"] = [row.__dict__ for row in snap.histogram().top(args.n, by=args.by)]
    if args.json:
        emit_json(out)
        return 0
    print(f"{args.file}: {snap.n:,} objects, {human_bytes(tree.total)} reachable from "
          f"{len(snap.root_node):,} roots")
    if "tree" in out:
        print(f"\nDominator tree (children by retained size, {args.depth} levels):")
        _print_tree(out["tree"], tree.total)
    if "top_objects" in out:
        print(f"\nTop objects by {args.by}:")
        print(f"{'retained':>10} {'shallow':>10} {'objects':>9}  object  (root)")
        for item in out["top_objects"]:
            print(f"{human_bytes(item['retained']):>10} {human_bytes(item['shallow']):>10} "
                  f"{item['retained_objects']:>9,}  {one_line(item)}  ({item['root']})")
    if "top_types" in out:
        print(f"\nTop types by {args.by}:")
        print(f"{'retained':>10} {'shallow':>10} {'count':>9}  type")
        for row in out["top_types"]:
            print(f"{human_bytes(row['retained']):>10} {human_bytes(row['shallow']):>10} "
                  f"{row['count']:>9,}  {row['type']}")
    return 0


COMMAND = Command("top", "the biggest objects and types by retained size; the dominator tree",
                  _add_arguments, _run, description=_DESCRIPTION, epilog=_EPILOG, order=30)
