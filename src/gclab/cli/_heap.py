"""What the heap-analysis commands (``top``, ``leaks``, ``export``) share on top of
:mod:`gclab.cli._objects` (loading, naming an object, bytes): the dominator tree with its time
on stderr, and one object described as JSON-ready data. Not a command (the name starts with
an underscore).
"""

from __future__ import annotations

import time
from typing import Any

from ..snapshots.dominators import DominatorTree
from ..snapshots.model import Snapshot
from ._objects import human_bytes, load_snapshot, parse_object, progress


def dominators(command: str, snap: Snapshot) -> DominatorTree:
    """``snap.dominators()`` with its time on stderr."""
    started = time.perf_counter()
    tree: DominatorTree = snap.dominators()
    progress(command, f"dominator tree and retained sizes ({time.perf_counter() - started:.2f} s)")
    return tree


def root_name(snap: Snapshot, tree: DominatorTree, node: int) -> str | None:
    """The name of the root that keeps ``node`` alive, read up its dominator chain: the
    top-level dominator's root name; ``"(several roots)"`` when that object is reached from
    several roots without being one; None when ``node`` is unreachable."""
    chain = tree.chain(node)
    if not chain:
        return None
    top = chain[-1]
    for k in range(len(snap.root_node)):
        if int(snap.root_node[k]) == top:
            name = int(snap.root_name[k])
            return snap.strings[name] if name >= 0 else "(held from C)"
    return "(several roots)"


def describe(snap: Snapshot, tree: DominatorTree, node: int) -> dict[str, Any]:
    """One object as JSON-ready data: node, address, type, label, shallow, retained, the
    objects it retains, its root's name."""
    return {"node": node, "address": f"{int(snap.address[node]):#x}",
            "type": snap.type_name(node), "label": snap.label_of(node),
            "shallow": int(snap.size[node]), "retained": int(tree.retained[node]),
            "retained_objects": int(tree.retained_count[node]),
            "root": root_name(snap, tree, node)}


def one_line(item: dict[str, Any]) -> str:
    """An object from :func:`describe` as ``type 'label' at address``."""
    label = f" {item['label']!r}" if item.get("label") is not None else ""
    return f"{item['type']}{label} at {item['address']}"


__all__ = ["describe", "dominators", "human_bytes", "load_snapshot", "one_line", "parse_object",
           "progress", "root_name"]
