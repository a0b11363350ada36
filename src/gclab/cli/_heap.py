"""What the heap-analysis commands (``top``, ``leaks``) share: loading a snapshot file with
progress on stderr, naming an object, formatting bytes. Not a command (the name starts with
an underscore).

>>> human_bytes(512), human_bytes(1536), human_bytes(5 * 2**30)
('512 B', '1.5 KiB', '5.0 GiB')
"""

from __future__ import annotations

import sys
import time
from typing import Any

from ..errors import SnapshotError
from ..snapshots.dominators import DominatorTree
from ..snapshots.model import Snapshot


def progress(command: str, message: str) -> None:
    """One line of progress on stderr (``gclab COMMAND: message``)."""
    sys.stderr.write(f"gclab {command}: {message}\n")
    sys.stderr.flush()


def load_snapshot(command: str, path: str) -> Snapshot:
    """The snapshot in ``path`` (a :class:`~gclab.errors.SnapshotFileError` when it cannot
    be read), with progress on stderr."""
    from ..snapshots.store import load

    started = time.perf_counter()
    snap = load(path)
    progress(command, f"loaded {path}: {snap.n:,} objects, {snap.m:,} references "
                      f"({time.perf_counter() - started:.2f} s)")
    return snap


def dominators(command: str, snap: Snapshot) -> DominatorTree:
    """``snap.dominators()`` with its time on stderr."""
    started = time.perf_counter()
    tree: DominatorTree = snap.dominators()
    progress(command, f"dominator tree and retained sizes ({time.perf_counter() - started:.2f} s)")
    return tree


def human_bytes(count: int) -> str:
    """``count`` bytes in binary units, one decimal past KiB."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def parse_node(snap: Snapshot, text: str) -> int:
    """A node named on the command line: an address (``0x7f3a...``) or a node id (``#12``
    or ``12``); a :class:`~gclab.errors.SnapshotError` when there is no such object."""
    text = text.strip()
    try:
        if text.lower().startswith("0x"):
            return snap.node_of(int(text, 16))
        node = int(text.removeprefix("#"))
    except ValueError:
        raise SnapshotError(f"{text!r} is neither an address (0x...) nor a node id") from None
    if not 0 <= node < snap.n:
        raise SnapshotError(f"no node {node}: the snapshot has nodes 0 .. {snap.n - 1}")
    return node


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
