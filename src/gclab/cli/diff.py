"""``gclab diff BEFORE AFTER``: new, freed and grown objects between two snapshots."""

from __future__ import annotations

import argparse

from .common import Command, emit_json

_DESCRIPTION = """\
Compare two snapshots of one process. By identity: an object is the same in
both when its address (id()) and type are the same; an address that another
type took since counts as one freed object and one new one. By type: count
and shallow bytes before and after, biggest growth first. New objects are
grouped by type with a few examples (address, label) to look up with
`gclab why AFTER ADDRESS`."""

_EPILOG = """\
examples:
  gclab diff before.gcsnap after.gcsnap
  gclab diff before.gcsnap after.gcsnap --top 5 --examples 5
  gclab diff before.gcsnap after.gcsnap --json | jq '.types[0]'

--json prints {"before", "after": {objects, bytes, pid, time}, "new", "freed":
{objects, bytes}, "common", "types": [{type, count_before, count_after,
count_delta, size_before, size_after, size_delta}], "new_by_type",
"freed_by_type": [{type, count, size, examples: [{node, address, label}]}],
"warnings"}; --top limits the lists."""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("before", metavar="BEFORE", help="the earlier snapshot (.gcsnap)")
    parser.add_argument("after", metavar="AFTER", help="the later snapshot (.gcsnap)")
    parser.add_argument("--top", type=int, default=10, metavar="N",
                        help="rows of each list: types by growth, new and freed objects by "
                             "type (default 10)")
    parser.add_argument("--examples", type=int, default=3, metavar="K",
                        help="example objects for each type of new objects (default 3)")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")


def _signed(value: int, text: str) -> str:
    return f"+{text}" if value > 0 else text


def _run(args: argparse.Namespace) -> int:
    from ..snapshots.diff import diff
    from ._snapfile import human_bytes, load_snapshot, print_table

    if args.top < 0 or args.examples < 0:
        from ..errors import SnapshotError

        raise SnapshotError("--top and --examples must not be negative")
    result = diff(load_snapshot(args.before), load_snapshot(args.after))
    facts = result.to_json(top=args.top, examples=args.examples)
    if args.json:
        emit_json(facts)
        return 0
    before, after = facts["before"], facts["after"]
    print(f"before  {args.before}: {before['objects']:,} objects, "
          f"{human_bytes(before['bytes'])}")
    print(f"after   {args.after}: {after['objects']:,} objects, {human_bytes(after['bytes'])}")
    print(f"new {facts['new']['objects']:,} ({human_bytes(facts['new']['bytes'])}), "
          f"freed {facts['freed']['objects']:,} ({human_bytes(facts['freed']['bytes'])}), "
          f"in both {facts['common']:,}")
    for line in facts["warnings"]:
        print(f"warning: {line}")
    rows = [[t["type"], t["count_before"], t["count_after"],
             _signed(t["count_delta"], f"{t['count_delta']:,}"),
             human_bytes(t["size_before"]), human_bytes(t["size_after"]),
             _signed(t["size_delta"], human_bytes(t["size_delta"]))] for t in facts["types"]]
    print_table(f"types by growth (top {len(rows)})",
                ["type", "before", "after", "Δ objects", "bytes before", "bytes after",
                 "Δ bytes"], rows, numeric=[False] + [True] * 6)
    rows = [[g["type"], g["count"], human_bytes(g["size"]),
             ", ".join(f"{e['address']}" + (f" {e['label']!r}" if e["label"] is not None
                                            else "") for e in g["examples"])]
            for g in facts["new_by_type"]]
    print_table(f"new objects by type (top {len(rows)})", ["type", "objects", "bytes",
                                                           "examples"], rows,
                numeric=[False, True, True, False])
    return 0


COMMAND = Command("diff", "compare two snapshots: new, freed and grown, by identity and type",
                  _add_arguments, _run, description=_DESCRIPTION, epilog=_EPILOG, order=45)
